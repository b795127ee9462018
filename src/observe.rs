//! Observations: from a stream of events to units (sessions or users) with features and a
//! purchase label, counted while streaming into sufficient statistics.
//!
//! Definitions (see `docs/definitions.md` for the full text):
//! - **Unit**: a session (default; from the log's session id, or cut at `session_gap_minutes` of
//!   inactivity per user when the log has none) or a user. Its start is its earliest event.
//! - **Feature** of candidate `e`: `e` fired in the unit strictly before the unit's first purchase
//!   (events ordered by timestamp, ties by file order) — the leakage guard. For user units, only
//!   events inside the label window count, so purchasers and non-purchasers are observed alike.
//! - **Label**: the same user purchased at a time `t` with `start <= t <= start + label_window`.
//! - **Week** of a unit: the ISO week of its start in the analysis time zone.
//!
//! Everything downstream works from [`Observations`]: grouped pattern counts (week × device ×
//! channel × feature mask → units, purchasers) and weekly volumes. Memory grows with units and
//! distinct patterns, not with events.

use std::collections::{BTreeMap, HashMap};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::source::log::{Event, SkipReason};
use crate::types::{EventName, IsoWeek};

/// Microseconds in a minute and a day.
const MINUTE_US: i64 = 60_000_000;
const DAY_US: i64 = 86_400_000_000;

/// What one observation unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// A visit: the log's session id, or a run of events with gaps under the inactivity limit.
    Session,
    /// A person (user id) over the data window.
    User,
}

impl UnitKind {
    /// Plural noun for reports ("sessions", "users").
    pub fn plural(self) -> &'static str {
        match self {
            UnitKind::Session => "sessions",
            UnitKind::User => "users",
        }
    }
}

/// The most candidates one run can track (one bit each in a pattern mask).
pub const MAX_CANDIDATES: usize = 32;

/// Validated settings of the observation step.
#[derive(Debug, Clone)]
pub struct ObserveSpec {
    /// Session or user units.
    pub unit: UnitKind,
    /// Candidate proxy events, at most [`MAX_CANDIDATES`], without the purchase event.
    pub candidates: Vec<EventName>,
    /// The macro-conversion (`purchase`).
    pub purchase: EventName,
    /// Label window after the unit's start, in days.
    pub label_window_days: u32,
    /// Inactivity that ends an inferred session, in minutes.
    pub session_gap_minutes: u32,
    /// Zone in which ISO weeks are cut.
    pub time_zone: TimeZone,
}

/// Event, unit and user counts of one event in one week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// Times the event fired.
    pub events: u64,
    /// Units (starting that week) in which it fired at least once.
    pub units: u64,
    /// Distinct users who fired it that week.
    pub users: u64,
}

/// All volumes of one ISO week.
#[derive(Debug, Clone, Serialize)]
pub struct WeekVolumes {
    /// The week.
    pub week: IsoWeek,
    /// Whether the data covers the whole week (partial weeks are kept out of floor checks and
    /// drift tests).
    pub complete: bool,
    /// Units that started this week.
    pub units: u64,
    /// Distinct users active this week.
    pub users: u64,
    /// Per candidate, in the order of [`Observations::candidates`].
    pub candidates: Vec<Volume>,
    /// The purchase event.
    pub purchase: Volume,
    /// Sum of purchase values this week.
    pub revenue: f64,
}

/// Units sharing one covariate pattern, with how many of them purchased: a row of the grouped
/// (binomial) data the model is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    /// Index into [`Observations::weeks`].
    pub week: u16,
    /// Index into [`Observations::devices`] (0 when the log has no device).
    pub device: u16,
    /// Index into [`Observations::channels`] (0 when the log has no channel).
    pub channel: u16,
    /// Bit `j` set when candidate `j` is a feature of these units.
    pub mask: u32,
    /// Units with this pattern.
    pub units: u64,
    /// Of them, units whose label is 1.
    pub purchasers: u64,
}

/// Units sharing (week, device, channel, set of tracked events fired anywhere in the unit): the
/// counts behind funnel step rates, where an event after the purchase counts too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiredGroup {
    /// Index into [`Observations::weeks`].
    pub week: u16,
    /// Index into [`Observations::devices`].
    pub device: u16,
    /// Index into [`Observations::channels`].
    pub channel: u16,
    /// Bit `i` set when tracked event `i` fired in the unit (see [`Observations::tracked`]).
    pub mask: u64,
    /// Units with this combination.
    pub units: u64,
}

/// Order values of purchasing units (label 1) sharing a week and a feature mask: what their label
/// purchase (the user's first purchase inside the label window) was worth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueGroup {
    /// Index into [`Observations::weeks`].
    pub week: u16,
    /// Feature mask over candidates, as in [`Pattern::mask`].
    pub mask: u32,
    /// Purchasing units whose label purchase carries a value.
    pub valued: u64,
    /// Sum of those values.
    pub sum: f64,
    /// Sum of their squares (for the sample variance of order values).
    pub sum_sq: f64,
}

/// Among units with a purchase: did the candidate first fire before or only after it?
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ordering {
    /// Candidate first fired before the unit's first purchase.
    pub before_purchase: u64,
    /// Candidate fired in the unit, but only after its first purchase.
    pub after_purchase_only: u64,
}

/// The result of observing a log: everything later stages need, and nothing per event.
#[derive(Debug, Clone)]
pub struct Observations {
    /// Unit kind.
    pub unit: UnitKind,
    /// Candidate events, in bit order.
    pub candidates: Vec<EventName>,
    /// The purchase event.
    pub purchase: EventName,
    /// Weekly volumes, in time order, covering every week with events.
    pub weeks: Vec<WeekVolumes>,
    /// Device levels; empty when the log has no device column.
    pub devices: Vec<String>,
    /// Channel levels; empty when the log has no channel column.
    pub channels: Vec<String>,
    /// Grouped pattern counts.
    pub patterns: Vec<Pattern>,
    /// Per candidate: ordering relative to purchase within purchasing units.
    pub ordering: Vec<Ordering>,
    /// Units observed.
    pub units: u64,
    /// Distinct users.
    pub users: u64,
    /// Units whose label window runs past the end of the data (their label may be understated).
    pub censored_units: u64,
    /// Whether sessions came from the log or were cut at an inactivity gap.
    pub sessions_inferred: bool,
    /// Events whose (aliased) name is neither a candidate nor purchase, by name.
    pub other_events: BTreeMap<String, u64>,
    /// Earliest and latest event time, µs since the epoch.
    pub span_micros: (i64, i64),
    /// Events extra to candidates and purchase that were tracked (funnel steps), see
    /// [`ObservationBuilder::track_also`].
    pub extra_events: Vec<EventName>,
    /// Grouped counts by the events fired anywhere in the unit (bit order: [`Observations::tracked`]).
    pub fired: Vec<FiredGroup>,
    /// Grouped order values of purchasing units, by week and feature mask.
    pub values: Vec<ValueGroup>,
}

impl Observations {
    /// Every tracked event in bit order of [`FiredGroup::mask`]: the candidates, then purchase,
    /// then the extra events.
    pub fn tracked(&self) -> Vec<&EventName> {
        self.candidates
            .iter()
            .chain(std::iter::once(&self.purchase))
            .chain(self.extra_events.iter())
            .collect()
    }

    /// Bit of an event in [`FiredGroup::mask`], when it is tracked.
    pub fn fired_bit(&self, event: &EventName) -> Option<u32> {
        self.tracked()
            .iter()
            .position(|e| *e == event)
            .map(|i| i as u32)
    }

    /// Grouped 2×2 table for candidate `j`: (a, b, c, d) = (feature & label, feature & no label,
    /// no feature & label, no feature & no label), over the weeks selected by `keep`.
    pub fn table(&self, j: usize, keep: impl Fn(u16) -> bool) -> [u64; 4] {
        let bit = 1u32 << j;
        let mut t = [0u64; 4];
        for p in self.patterns.iter().filter(|p| keep(p.week)) {
            let off = if p.mask & bit != 0 { 0 } else { 2 };
            t[off] += p.purchasers;
            t[off + 1] += p.units - p.purchasers;
        }
        t
    }
}

/// State of one unit while the log is read.
struct UnitState {
    user: u32,
    start: (i64, u64),
    last: i64,
    device: u16,
    channel: u16,
    /// First occurrence (time, seq) of each tracked candidate that fired, by candidate index.
    firsts: Vec<(u8, i64, u64)>,
    /// First purchase, if any.
    purchase: Option<(i64, u64)>,
    /// Bit per tracked event (candidates, purchase, extras) that fired anywhere in the unit.
    fired: u64,
}

/// Interns strings into dense indices; index 0 is reserved for "(unknown)".
#[derive(Default)]
struct Levels {
    index: HashMap<Box<str>, u16>,
    names: Vec<String>,
    seen: bool,
}

impl Levels {
    fn get(&mut self, value: Option<&str>) -> u16 {
        if self.names.is_empty() {
            self.names.push("(unknown)".into());
        }
        let Some(v) = value else { return 0 };
        self.seen = true;
        if let Some(&i) = self.index.get(v) {
            return i;
        }
        // Beyond 65k levels the segment is not a segment: fold the rest into "(unknown)".
        let Ok(i) = u16::try_from(self.names.len()) else {
            return 0;
        };
        self.names.push(v.to_string());
        self.index.insert(v.into(), i);
        i
    }
}

/// Cached bounds of the ISO week of the last event, to avoid a time-zone conversion per event.
struct WeekCache {
    start: i64,
    end: i64,
    week: Option<IsoWeek>,
}

/// Streams events into [`Observations`]; feed it with [`ObservationBuilder::push`], then call
/// [`ObservationBuilder::finish`].
pub struct ObservationBuilder {
    spec: ObserveSpec,
    tracked: HashMap<String, u8>,
    purchase_idx: u8,
    users: HashMap<Box<str>, u32>,
    user_purchases: Vec<Vec<(i64, Option<f64>)>>,
    extra: HashMap<String, u8>,
    extra_events: Vec<EventName>,
    open_by_user: Vec<u32>,
    sessions: HashMap<Box<str>, Vec<(u32, u32)>>,
    units: Vec<UnitState>,
    devices: Levels,
    channels: Levels,
    week_events: BTreeMap<IsoWeek, (Vec<u64>, f64)>,
    user_weeks: HashMap<(u32, IsoWeek), u64>,
    week_cache: WeekCache,
    other_events: BTreeMap<String, u64>,
    span: Option<(i64, i64)>,
    inferred_sessions: u64,
}

const NO_UNIT: u32 = u32::MAX;

impl ObservationBuilder {
    /// Starts an empty builder; `spec.candidates` must hold at most [`MAX_CANDIDATES`] events
    /// (checked when settings are validated).
    pub fn new(spec: ObserveSpec) -> Self {
        let mut tracked = HashMap::new();
        for (i, c) in spec.candidates.iter().enumerate().take(MAX_CANDIDATES) {
            tracked.insert(c.as_str().to_string(), i as u8);
        }
        let purchase_idx = spec.candidates.len().min(MAX_CANDIDATES) as u8;
        tracked.insert(spec.purchase.as_str().to_string(), purchase_idx);
        ObservationBuilder {
            spec,
            tracked,
            purchase_idx,
            users: HashMap::new(),
            user_purchases: Vec::new(),
            extra: HashMap::new(),
            extra_events: Vec::new(),
            open_by_user: Vec::new(),
            sessions: HashMap::new(),
            units: Vec::new(),
            devices: Levels::default(),
            channels: Levels::default(),
            week_events: BTreeMap::new(),
            user_weeks: HashMap::new(),
            week_cache: WeekCache {
                start: 0,
                end: 0,
                week: None,
            },
            other_events: BTreeMap::new(),
            span: None,
            inferred_sessions: 0,
        }
    }

    /// Also tracks these events (funnel steps that are not candidates) in [`Observations::fired`];
    /// events already tracked, and any beyond 64 tracked events in all, are ignored.
    pub fn track_also(&mut self, events: &[EventName]) {
        for e in events {
            let next = self.purchase_idx as usize + 1 + self.extra_events.len();
            if self.tracked.contains_key(e.as_str()) || self.extra.contains_key(e.as_str()) {
                continue;
            }
            if next >= 64 {
                break;
            }
            self.extra.insert(e.as_str().to_string(), next as u8);
            self.extra_events.push(e.clone());
        }
    }

    fn week_of(&mut self, micros: i64) -> IsoWeek {
        let c = &self.week_cache;
        if let Some(w) = c.week {
            if c.start <= micros && micros < c.end {
                return w;
            }
        }
        let (week, start, end) = week_bounds(micros, &self.spec.time_zone);
        self.week_cache = WeekCache {
            start,
            end,
            week: Some(week),
        };
        week
    }

    /// Adds one event. Returns the reason when the event cannot be placed (an event older than
    /// its user's already-closed inferred session), so the reader counts it as a skipped row.
    pub fn push(&mut self, ev: &Event<'_>) -> Result<(), SkipReason> {
        let user = match self.users.get(ev.user) {
            Some(&u) => u,
            None => {
                let u = self.users.len() as u32;
                self.users.insert(ev.user.into(), u);
                self.user_purchases.push(Vec::new());
                self.open_by_user.push(NO_UNIT);
                u
            }
        };
        let tracked = self.tracked.get(ev.name).copied();
        let unit = self.unit_for(ev, user)?;
        let device = self.devices.get(ev.device);
        let channel = self.channels.get(ev.channel);
        let u = &mut self.units[unit as usize];
        let at = (ev.micros, ev.seq);
        // `<=`: the unit's own first event sets its segments too (start == at on creation).
        if at <= u.start {
            u.start = at;
            u.device = device;
            u.channel = channel;
        }
        u.last = u.last.max(ev.micros);
        if let Some(bit) = tracked.or_else(|| self.extra.get(ev.name).copied()) {
            u.fired |= 1u64 << bit;
        }
        if let Some(t) = tracked {
            if t == self.purchase_idx {
                if u.purchase.is_none_or(|p| at < p) {
                    u.purchase = Some(at);
                }
                self.user_purchases[user as usize].push((ev.micros, ev.value));
            } else {
                match u.firsts.iter_mut().find(|f| f.0 == t) {
                    Some(f) => {
                        if (f.1, f.2) > at {
                            (f.1, f.2) = at;
                        }
                    }
                    None => u.firsts.push((t, ev.micros, ev.seq)),
                }
            }
        } else {
            *self.other_events.entry(ev.name.to_string()).or_default() += 1;
        }
        let week = self.week_of(ev.micros);
        let k = self.purchase_idx as usize;
        let entry = self
            .week_events
            .entry(week)
            .or_insert_with(|| (vec![0; k + 1], 0.0));
        if let Some(t) = tracked {
            entry.0[t as usize] += 1;
            if t as usize == k {
                entry.1 += ev.value.unwrap_or(0.0);
            }
        }
        let bits = self.user_weeks.entry((user, week)).or_default();
        *bits |= 1 << 63;
        if let Some(t) = tracked {
            *bits |= 1 << t;
        }
        self.span = Some(match self.span {
            None => (ev.micros, ev.micros),
            Some((a, b)) => (a.min(ev.micros), b.max(ev.micros)),
        });
        Ok(())
    }

    /// Finds or opens the unit an event belongs to.
    fn unit_for(&mut self, ev: &Event<'_>, user: u32) -> Result<u32, SkipReason> {
        let new_unit = |units: &mut Vec<UnitState>| {
            units.push(UnitState {
                user,
                start: (ev.micros, ev.seq),
                last: ev.micros,
                device: 0,
                channel: 0,
                firsts: Vec::new(),
                purchase: None,
                fired: 0,
            });
            (units.len() - 1) as u32
        };
        let gap = i64::from(self.spec.session_gap_minutes) * MINUTE_US;
        match (self.spec.unit, ev.session) {
            (UnitKind::User, _) => {
                let open = self.open_by_user[user as usize];
                if open != NO_UNIT {
                    return Ok(open);
                }
                let id = new_unit(&mut self.units);
                self.open_by_user[user as usize] = id;
                Ok(id)
            }
            (UnitKind::Session, Some(sid)) => {
                if let Some(list) = self.sessions.get_mut(sid) {
                    if let Some(&(_, id)) = list.iter().find(|(u, _)| *u == user) {
                        return Ok(id);
                    }
                    let id = new_unit(&mut self.units);
                    list.push((user, id));
                    return Ok(id);
                }
                let id = new_unit(&mut self.units);
                self.sessions.insert(sid.into(), vec![(user, id)]);
                Ok(id)
            }
            (UnitKind::Session, None) => {
                let open = self.open_by_user[user as usize];
                if open != NO_UNIT {
                    let u = &self.units[open as usize];
                    if ev.micros <= u.last + gap && ev.micros >= u.start.0 - gap {
                        return Ok(open);
                    }
                    if ev.micros < u.start.0 - gap {
                        return Err(SkipReason::OutOfOrder);
                    }
                }
                let id = new_unit(&mut self.units);
                self.open_by_user[user as usize] = id;
                self.inferred_sessions += 1;
                Ok(id)
            }
        }
    }

    /// Closes every unit, resolves labels, and aggregates patterns and weekly volumes.
    pub fn finish(mut self) -> Observations {
        let k = self.purchase_idx as usize;
        let (lo, hi) = self.span.unwrap_or((0, 0));
        for p in &mut self.user_purchases {
            // Stable: equal times keep file order, so "the first purchase" is well defined.
            p.sort_by_key(|x| x.0);
        }
        // Weekly event counts define the weeks; units and users are added below.
        let week_list = fill_gaps(self.week_events.keys().copied().collect());
        let week_index: HashMap<IsoWeek, u16> = week_list
            .iter()
            .enumerate()
            .map(|(i, w)| (*w, i as u16))
            .collect();
        let mut weeks: Vec<WeekVolumes> = week_list
            .iter()
            .map(|&w| {
                let empty = (vec![0; k + 1], 0.0);
                let (counts, revenue) = self.week_events.get(&w).unwrap_or(&empty);
                let (start, end) = week_span(w, &self.spec.time_zone);
                WeekVolumes {
                    week: w,
                    complete: lo <= start + DAY_US && hi >= end - DAY_US,
                    units: 0,
                    users: 0,
                    candidates: (0..k)
                        .map(|j| Volume {
                            events: counts[j],
                            ..Volume::default()
                        })
                        .collect(),
                    purchase: Volume {
                        events: counts[k],
                        ..Volume::default()
                    },
                    revenue: *revenue,
                }
            })
            .collect();
        for ((_, w), bits) in &self.user_weeks {
            let wv = &mut weeks[week_index[w] as usize];
            wv.users += 1;
            for j in 0..k {
                if bits & (1 << j) != 0 {
                    wv.candidates[j].users += 1;
                }
            }
            if bits & (1 << k) != 0 {
                wv.purchase.users += 1;
            }
        }
        let window = i64::from(self.spec.label_window_days) * DAY_US;
        let mut ordering = vec![Ordering::default(); k];
        let mut patterns: HashMap<(u16, u16, u16, u32), (u64, u64)> = HashMap::new();
        let mut fired: HashMap<(u16, u16, u16, u64), u64> = HashMap::new();
        let mut values: HashMap<(u16, u32), (u64, f64, f64)> = HashMap::new();
        let mut censored = 0;
        let units = std::mem::take(&mut self.units);
        for u in &units {
            let start = u.start.0;
            let week = self.week_of(start);
            let wi = week_index[&week];
            let purchases = &self.user_purchases[u.user as usize];
            let first_after = purchases.partition_point(|&(t, _)| t < start);
            let label_purchase = purchases
                .get(first_after)
                .filter(|&&(t, _)| t <= start.saturating_add(window));
            let label = label_purchase.is_some();
            if start.saturating_add(window) > hi {
                censored += 1;
            }
            let mut mask = 0u32;
            let wv = &mut weeks[wi as usize];
            wv.units += 1;
            for &(j, t, s) in &u.firsts {
                let j = j as usize;
                wv.candidates[j].units += 1;
                let in_window = self.spec.unit == UnitKind::Session || t <= start + window;
                match u.purchase {
                    Some(p) if (t, s) > p => ordering[j].after_purchase_only += 1,
                    Some(_) => {
                        ordering[j].before_purchase += 1;
                        mask |= 1 << j;
                    }
                    None if in_window => mask |= 1 << j,
                    None => {}
                }
            }
            if u.purchase.is_some() {
                wv.purchase.units += 1;
            }
            let e = patterns.entry((wi, u.device, u.channel, mask)).or_default();
            e.0 += 1;
            e.1 += u64::from(label);
            *fired.entry((wi, u.device, u.channel, u.fired)).or_default() += 1;
            if let Some(&(_, Some(v))) = label_purchase {
                let g = values.entry((wi, mask)).or_default();
                g.0 += 1;
                g.1 += v;
                g.2 += v * v;
            }
        }
        let mut patterns: Vec<Pattern> = patterns
            .into_iter()
            .map(|((week, device, channel, mask), (n, y))| Pattern {
                week,
                device,
                channel,
                mask,
                units: n,
                purchasers: y,
            })
            .collect();
        patterns.sort_by_key(|p| (p.week, p.device, p.channel, p.mask));
        let mut fired: Vec<FiredGroup> = fired
            .into_iter()
            .map(|((week, device, channel, mask), units)| FiredGroup {
                week,
                device,
                channel,
                mask,
                units,
            })
            .collect();
        fired.sort_by_key(|g| (g.week, g.device, g.channel, g.mask));
        let mut values: Vec<ValueGroup> = values
            .into_iter()
            .map(|((week, mask), (valued, sum, sum_sq))| ValueGroup {
                week,
                mask,
                valued,
                sum,
                sum_sq,
            })
            .collect();
        values.sort_by_key(|g| (g.week, g.mask));
        let levels = |l: Levels| if l.seen { l.names } else { Vec::new() };
        Observations {
            unit: self.spec.unit,
            candidates: self.spec.candidates.clone(),
            purchase: self.spec.purchase.clone(),
            weeks,
            devices: levels(self.devices),
            channels: levels(self.channels),
            patterns,
            ordering,
            units: units.len() as u64,
            users: self.users.len() as u64,
            censored_units: censored,
            sessions_inferred: self.inferred_sessions > 0,
            other_events: self.other_events,
            span_micros: (lo, hi),
            extra_events: self.extra_events,
            fired,
            values,
        }
    }
}

/// Longest span of weeks whose empty weeks are filled in; a longer one (a stray timestamp decades
/// off) keeps only the weeks that have events.
const MAX_FILLED_WEEKS: usize = 260;

/// Inserts the weeks without events between the first and the last week, so that a week with no
/// events shows as zeros instead of vanishing.
fn fill_gaps(weeks: Vec<IsoWeek>) -> Vec<IsoWeek> {
    let (Some(&first), Some(&last)) = (weeks.first(), weeks.last()) else {
        return weeks;
    };
    let mut out = vec![first];
    let mut w = first;
    while w < last {
        w = w.next();
        out.push(w);
        if out.len() > MAX_FILLED_WEEKS {
            return weeks;
        }
    }
    out
}

/// The ISO week containing an instant in a zone, with its start and end (µs, end exclusive).
fn week_bounds(micros: i64, tz: &TimeZone) -> (IsoWeek, i64, i64) {
    let ts = Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH);
    let week = IsoWeek::of_date(ts.to_zoned(tz.clone()).date());
    let (s, e) = week_span(week, tz);
    (week, s, e)
}

/// Start and end (exclusive) of an ISO week in a zone, µs since the epoch.
pub fn week_span(week: IsoWeek, tz: &TimeZone) -> (i64, i64) {
    let at = |d: jiff::civil::Date| {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp().as_microsecond())
            .unwrap_or(0)
    };
    (at(week.monday()), at(week.next().monday()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(unit: UnitKind) -> ObserveSpec {
        ObserveSpec {
            unit,
            candidates: ["add_to_cart", "sign_up"]
                .iter()
                .map(|s| EventName::new(s).unwrap())
                .collect(),
            purchase: EventName::new("purchase").unwrap(),
            label_window_days: 7,
            session_gap_minutes: 30,
            time_zone: TimeZone::UTC,
        }
    }

    fn ev<'a>(
        seq: u64,
        t_min: i64,
        user: &'a str,
        session: Option<&'a str>,
        name: &'a str,
    ) -> Event<'a> {
        Event {
            line: seq + 2,
            seq,
            micros: 1_788_739_200_000_000 + t_min * MINUTE_US, // 2026-09-07T00:00Z, a Monday
            user,
            session,
            name,
            device: Some("mobile"),
            channel: None,
            value: None,
        }
    }

    #[test]
    fn leakage_guard_and_label_window() {
        let mut b = ObservationBuilder::new(spec(UnitKind::Session));
        // s1: purchase, then sign_up after it (must not be a feature); cart before it.
        for (i, e) in [
            ev(0, 0, "u1", Some("s1"), "add_to_cart"),
            ev(1, 1, "u1", Some("s1"), "purchase"),
            ev(2, 2, "u1", Some("s1"), "sign_up"),
            // s2: cart, no purchase in-session, but u2 buys 3 days later in s3 → label 1.
            ev(3, 10, "u2", Some("s2"), "add_to_cart"),
            ev(4, 3 * 24 * 60, "u2", Some("s3"), "purchase"),
            // s4: u3 buys 8 days later → outside the window → label 0.
            ev(5, 20, "u3", Some("s4"), "add_to_cart"),
            ev(6, 8 * 24 * 60 + 20, "u3", Some("s5"), "purchase"),
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(b.push(e), Ok(()), "event {i}");
        }
        let o = b.finish();
        assert_eq!(o.units, 5);
        // add_to_cart: s1 (y=1), s2 (y=1), s4 (y=0); the rest without: s3 (y=1), s5 (y=1).
        assert_eq!(o.table(0, |_| true), [2, 1, 2, 0]);
        // sign_up fired only after purchase → never a feature, counted as after-only.
        assert_eq!(o.table(1, |_| true), [0, 0, 4, 1]);
        assert_eq!(o.ordering[1].after_purchase_only, 1);
        assert_eq!(o.ordering[0].before_purchase, 1);
        assert_eq!(o.devices, vec!["(unknown)", "mobile"]);
        assert!(o.channels.is_empty());
        // Every unit takes the device of its first event (index 1 = "mobile"), none "(unknown)".
        assert!(o.patterns.iter().all(|p| p.device == 1), "{:?}", o.patterns);
    }

    #[test]
    fn fired_masks_count_events_after_purchase_and_values_follow_the_label() {
        let mut b = ObservationBuilder::new(spec(UnitKind::Session));
        b.track_also(&[
            EventName::new("view_item").unwrap(),
            EventName::new("add_to_cart").unwrap(), // already a candidate: ignored
        ]);
        let mut buy = ev(2, 2, "u1", Some("s1"), "purchase");
        buy.value = Some(40.0);
        for e in [
            ev(0, 0, "u1", Some("s1"), "view_item"),
            ev(1, 1, "u1", Some("s1"), "add_to_cart"),
            buy,
            ev(3, 3, "u1", Some("s1"), "sign_up"), // after the purchase: fired, not a feature
            ev(4, 10, "u2", Some("s2"), "view_item"),
        ] {
            b.push(&e).unwrap();
        }
        let o = b.finish();
        let names: Vec<&str> = o.tracked().iter().map(|e| e.as_str()).collect();
        assert_eq!(names, ["add_to_cart", "sign_up", "purchase", "view_item"]);
        let view = o.fired_bit(&EventName::new("view_item").unwrap()).unwrap();
        assert_eq!(view, 3);
        let masks: Vec<(u64, u64)> = o.fired.iter().map(|g| (g.mask, g.units)).collect();
        assert_eq!(masks, [(0b1000, 1), (0b1111, 1)]);
        // s1 bought (label 1) with add_to_cart as its only feature; its order was 40.
        assert_eq!(o.values.len(), 1);
        assert_eq!((o.values[0].mask, o.values[0].valued), (0b01, 1));
        assert_eq!((o.values[0].sum, o.values[0].sum_sq), (40.0, 1600.0));
    }

    #[test]
    fn sessions_are_cut_at_thirty_minutes_without_ids() {
        let mut b = ObservationBuilder::new(spec(UnitKind::Session));
        for e in [
            ev(0, 0, "u1", None, "add_to_cart"),
            ev(1, 29, "u1", None, "view_item"),
            ev(2, 58, "u1", None, "purchase"), // 29 min after the last: same session
            ev(3, 100, "u1", None, "view_item"), // 42 min gap: new session
        ] {
            b.push(&e).unwrap();
        }
        assert_eq!(
            b.push(&ev(4, -60, "u1", None, "view_item")),
            Err(SkipReason::OutOfOrder)
        );
        let o = b.finish();
        assert_eq!(o.units, 2);
        assert!(o.sessions_inferred);
        assert_eq!(o.table(0, |_| true), [1, 0, 0, 1]);
        assert_eq!(o.other_events["view_item"], 2);
    }

    #[test]
    fn ties_are_broken_by_file_order() {
        let mut b = ObservationBuilder::new(spec(UnitKind::Session));
        b.push(&ev(0, 0, "u1", Some("s"), "purchase")).unwrap();
        b.push(&ev(1, 0, "u1", Some("s"), "add_to_cart")).unwrap();
        let o = b.finish();
        assert_eq!(o.table(0, |_| true), [0, 0, 1, 0]);
    }

    #[test]
    fn user_units_only_count_features_inside_the_window() {
        let mut b = ObservationBuilder::new(spec(UnitKind::User));
        b.push(&ev(0, 0, "u1", None, "view_item")).unwrap();
        b.push(&ev(1, 9 * 24 * 60, "u1", None, "add_to_cart"))
            .unwrap();
        b.push(&ev(2, 0, "u2", None, "add_to_cart")).unwrap();
        let o = b.finish();
        assert_eq!(o.units, 2);
        assert_eq!(o.table(0, |_| true), [0, 1, 0, 1]);
        assert_eq!(o.weeks.len(), 2);
        assert_eq!(o.weeks[0].week.to_string(), "2026-W37");
        // Unit volumes belong to the week the unit started: u1 started in W37 and carted in W38.
        assert_eq!(
            o.weeks[0].candidates[0],
            Volume {
                events: 1,
                units: 2,
                users: 1
            }
        );
    }
}
