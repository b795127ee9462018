//! Observations: from a stream of events to units (sessions or users) with features and a
//! purchase label, counted while streaming into sufficient statistics.
//!
//! Definitions (see `docs/definitions.md` for the full text):
//! - **Unit**: a session (default; from the log's session id, or cut at `session_gap_minutes` of
//!   inactivity per user when the log has none) or a user. Its start is its earliest event.
//! - **Feature** of candidate `e`: `e` fired in the unit strictly before the user's first purchase
//!   at or after the unit's start, in this unit or another (events ordered by timestamp, ties by
//!   file order) — the leakage guard, across units. For user units, only
//!   events inside the label window count, so purchasers and non-purchasers are observed alike.
//! - **Label**: the same user purchased at a time `t` with `start <= t <= start + label_window`.
//! - **Week** of a unit: the ISO week of its start in the analysis time zone.
//!
//! Everything downstream works from [`Observations`]: grouped pattern counts (week × device ×
//! channel × feature mask → units, purchasers) and weekly volumes. Units are folded into them
//! as soon as their label is final, so memory grows with open units, distinct users and distinct
//! patterns, not with events (see [`ObservationBuilder`]).

use std::collections::{BTreeMap, VecDeque};
use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::core::coverage::{CoverageParams, SetAside, WeekCoverage};
use crate::event::{Event, SkipReason};
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

    /// One unit's name (`session`), for counts of exactly one.
    pub fn singular(self) -> &'static str {
        match self {
            UnitKind::Session => "session",
            UnitKind::User => "user",
        }
    }
}

/// Every tracked event in bit order of [`FiredGroup::mask`]: the candidates, the purchase, then
/// the extra events not already tracked, at most 64 in all. The local builder and the BigQuery
/// pushdown both number events by this rule.
pub fn tracked_order(
    candidates: &[EventName],
    purchase: &EventName,
    extras: &[EventName],
) -> Vec<EventName> {
    let mut out: Vec<EventName> = candidates.to_vec();
    out.push(purchase.clone());
    for e in extras {
        if out.len() >= 64 {
            break;
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    out
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
    /// How far behind the latest event time an event may arrive, in minutes
    /// (`analysis.lateness_minutes`, default 1440): within it, out-of-order events are placed
    /// exactly; a later one from a user first seen before something was folded is skipped as
    /// `out_of_order`.
    pub lateness_minutes: u32,
    /// Which weeks count as complete (`analysis.min_week_days`, `analysis.min_week_share`).
    pub coverage: CoverageParams,
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
    /// Whether the week is complete by its own coverage ([`crate::core::coverage`]): set-aside
    /// weeks are kept out of floor checks and drift tests.
    pub complete: bool,
    /// Days of the week with at least one event: bit 0 Monday … bit 6 Sunday (24-hour spans
    /// from the week's Monday 00:00 in the analysis zone).
    pub days: u8,
    /// Why the week is not complete (`None` when it is).
    pub set_aside: Option<SetAside>,
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

/// Among purchasing units (a purchase in the unit, or label 1): did the candidate first fire
/// before or only after the user's first purchase at or after the unit's start?
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ordering {
    /// Candidate first fired before the user's first purchase at or after the unit's start.
    pub before_purchase: u64,
    /// Candidate fired in the unit, but only after that purchase (in this unit or another).
    pub after_purchase_only: u64,
}

/// Per-user sums behind the user-clustered (CR0) variances of each candidate's 2×2 table: a
/// user's sessions are not independent, so the precision, odds ratio and lift intervals treat
/// the user as the cluster (`stats::cluster::clustered_table`). Over users `g` with `N_g` units
/// of which `Y_g` have label 1, and, per candidate, `n_g` units with it as a feature of which
/// `y_g` have label 1. The local reader and the BigQuery pushdown both compute them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSums {
    /// `[Σ N_g², Σ N_g·Y_g, Σ Y_g²]`.
    pub all: [u64; 3],
    /// Per candidate (bit order): `[Σ n², Σ n·y, Σ y², Σ n·N, Σ n·Y, Σ y·N, Σ y·Y]`.
    pub candidates: Vec<[u64; 7]>,
}

/// A user's units and labels so far, in all and per candidate feature (for [`ClusterSums`]).
#[derive(Default)]
struct UserSums {
    units: u32,
    labelled: u32,
    /// `(candidate, units with it as a feature, of them labelled)`, candidates that occurred.
    features: Vec<(u8, u32, u32)>,
}

impl ClusterSums {
    /// Sums over users of their `(units, labelled, per-candidate features)`.
    fn of_users(users: &[UserSums], k: usize) -> Self {
        let mut out = ClusterSums {
            all: [0; 3],
            candidates: vec![[0; 7]; k],
        };
        for u in users {
            let (nn, yy) = (u64::from(u.units), u64::from(u.labelled));
            out.all[0] += nn * nn;
            out.all[1] += nn * yy;
            out.all[2] += yy * yy;
            for &(j, n, y) in &u.features {
                let (n, y) = (u64::from(n), u64::from(y));
                let c = &mut out.candidates[j as usize];
                for (slot, v) in
                    c.iter_mut()
                        .zip([n * n, n * y, y * y, n * nn, n * yy, y * nn, y * yy])
                {
                    *slot += v;
                }
            }
        }
        out
    }
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
    /// The label window (days) the labels were resolved with: a week whose units' windows run
    /// past the end of the data has incomplete labels ([`Observations::measured_weeks`]).
    pub label_window_days: u32,
    /// Whether sessions came from the log or were cut at an inactivity gap.
    pub sessions_inferred: bool,
    /// With session units, events that had a session id (0: the log has none at all).
    pub session_id_events: u64,
    /// With session units, events without a session id in a log that has them: each joins its
    /// user's log session when within the inactivity gap of it, else an inferred session.
    pub session_id_missing: u64,
    /// Of [`Observations::session_id_missing`], the events that joined their user's session.
    pub session_id_joined: u64,
    /// Sessions cut at the inactivity gap (events without a session id that joined none).
    pub inferred_sessions: u64,
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
    /// Per-user sums for user-clustered intervals over all weeks; `None` for aggregate sources
    /// (no user-level data), whose intervals treat units as independent.
    pub clusters: Option<ClusterSums>,
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

    /// The per-user sums of candidate `j`'s table over all weeks, when known.
    pub fn table_clusters(&self, j: usize) -> Option<crate::stats::cluster::TableClusterSums> {
        let c = self.clusters.as_ref()?;
        let f = |x: u64| x as f64;
        Some(crate::stats::cluster::TableClusterSums {
            all: c.all.map(f),
            proxy: c.candidates.get(j)?.map(f),
        })
    }

    /// Whether every unit starting in week `w` (an index of [`Observations::weeks`]) had its
    /// whole label window inside the data (see [`labels_complete`]).
    pub fn labels_complete(&self, w: u16) -> bool {
        self.weeks
            .get(w as usize)
            .is_some_and(|wk| labels_complete(wk.week, self.span_micros.1, self.label_window_days))
    }

    /// The weeks evidence is measured on: those with units whose labels are complete, so that
    /// a purchase after the end of the data cannot pull precision, lift or odds ratios down;
    /// when no week's labels are complete (a log shorter than the label window and a week),
    /// every week with units. Volumes and floor clearance use every week regardless.
    pub fn measured_weeks(&self) -> Vec<u16> {
        let with_units = (0..self.weeks.len() as u16).filter(|&w| self.weeks[w as usize].units > 0);
        let labelled: Vec<u16> = with_units
            .clone()
            .filter(|&w| self.labels_complete(w))
            .collect();
        if labelled.is_empty() {
            with_units.collect()
        } else {
            labelled
        }
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

/// Whether every unit starting in `week` had its whole label window inside the data ending at
/// `data_end` (µs): the week's end (UTC Monday 00:00 after it) plus the label window lies at most
/// one day after the last event (the day's slack covers the analysis zone's offset). Evidence and
/// the drift tests judge censoring alike through this one rule.
pub fn labels_complete(week: IsoWeek, data_end: i64, label_window_days: u32) -> bool {
    let end_us = week
        .next()
        .monday()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(i64::MAX, |z| z.timestamp().as_microsecond());
    end_us.saturating_add(i64::from(label_window_days) * DAY_US) <= data_end.saturating_add(DAY_US)
}

/// Hashes an id with the builder's fast hasher (FxHash: the keys are the log's own ids, not
/// attacker-chosen input to a server, so a non-cryptographic hash is enough).
fn fx_hash(s: &[u8]) -> u64 {
    FxBuildHasher.hash_one(s)
}

/// Longest id stored inline in a hash table entry.
const INLINE_ID: usize = 22;

/// A user or session id as a hash table key: inline when short (the usual case), so a lookup
/// compares it without following a pointer to another cache line.
enum Id {
    Inline(u8, [u8; INLINE_ID]),
    Heap(Box<[u8]>),
}

impl Id {
    fn new(s: &str) -> Self {
        let b = s.as_bytes();
        if b.len() <= INLINE_ID {
            let mut a = [0u8; INLINE_ID];
            a[..b.len()].copy_from_slice(b);
            Id::Inline(b.len() as u8, a)
        } else {
            Id::Heap(b.into())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Id::Inline(n, a) => &a[..*n as usize],
            Id::Heap(b) => b,
        }
    }
}

/// State of one open unit while the log is read.
struct UnitState {
    user: u32,
    start: (i64, u64),
    last: i64,
    device: u16,
    channel: u16,
    /// First occurrence (time, seq) of each tracked candidate that fired, by candidate index.
    /// Kept (cleared) when the slot is reused, so a new unit rarely allocates.
    firsts: Vec<(u8, i64, u64)>,
    /// First purchase, if any.
    purchase: Option<(i64, u64)>,
    /// Bit per tracked event (candidates, purchase, extras) that fired anywhere in the unit.
    fired: u64,
    /// Hash of the log's session id (log sessions only), to find its entry in
    /// [`ObservationBuilder::sessions`] when the unit is folded.
    session: Option<u64>,
    /// Next open unit with the same session id (a session id used by two users), or [`NO_UNIT`].
    next: u32,
    /// The user's id, so that events of an open session find it without the user table.
    user_id: Id,
    /// The week slot whose tracked-event bits (for the week's distinct users) are pending in
    /// `week_bits`, or [`NO_WEEK`]: a unit's events mostly fall in one week, so the week's
    /// distinct-user set is touched once per unit and week instead of once per event.
    week: u32,
    week_bits: u64,
    /// Events without a session id in this unit (an inferred session, or a log session that
    /// adopted one).
    blank: u32,
}

/// What the builder keeps per user for the whole run: a few words. (Purchases are kept apart,
/// and only while a unit may still need them for its label.)
struct UserState {
    /// The open user unit or inferred session, or [`NO_UNIT`].
    open: u32,
    /// The user's latest open log session (with a session id), or [`NO_UNIT`]: an event of
    /// theirs without a session id joins it when within the inactivity gap.
    logged: u32,
}

/// No pending week in [`UnitState::week`].
const NO_WEEK: u32 = u32::MAX;

/// A user's purchases as (time, seq, value), sorted by (time, seq).
type Purchases = Vec<(i64, u64, Option<f64>)>;

/// Interns strings into dense indices; index 0 is reserved for "(unknown)".
#[derive(Default)]
struct Levels {
    index: FxHashMap<Box<str>, u16>,
    names: Vec<String>,
    seen: bool,
    /// The level returned last: consecutive events mostly share a segment.
    last: u16,
}

impl Levels {
    fn get(&mut self, value: Option<&str>) -> u16 {
        if self.names.is_empty() {
            self.names.push("(unknown)".into());
        }
        let Some(v) = value else { return 0 };
        self.seen = true;
        if self.last != 0 && self.names[self.last as usize] == v {
            return self.last;
        }
        if let Some(&i) = self.index.get(v) {
            self.last = i;
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

/// What an event name is to the builder, looked up once per event.
#[derive(Debug, Clone, Copy)]
enum NameKind {
    /// A candidate (bit < purchase index) or the purchase (bit = purchase index).
    Tracked(u8),
    /// A funnel step tracked only in the fired masks.
    Extra(u8),
    /// Anything else, counted by name in [`Observations::other_events`].
    Other(u32),
}

/// Per ISO week: event counts as they stream, unit counts as units are folded, and the week's
/// distinct users (a set kept only while the week is open).
struct WeekAcc {
    week: IsoWeek,
    start: i64,
    end: i64,
    /// Events per tracked candidate and purchase.
    events: Vec<u64>,
    /// Days with any event (bit 0 Monday), see [`WeekVolumes::days`].
    days: u8,
    revenue: f64,
    /// Units starting this week; per candidate, units where it fired; units with a purchase.
    units: u64,
    cand_units: Vec<u64>,
    purchase_units: u64,
    /// Distinct users counted so far (from closed sets), in all and per tracked event.
    users: u64,
    cand_users: Vec<u64>,
    purchase_users: u64,
    /// Users active this week with their tracked-event bits; `None` once the week is closed.
    active: Option<FxHashMap<u32, u64>>,
}

/// How the stream went: what bounded memory, and what did not fit the lateness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Most units open at once (units are folded into the counts once their label is final).
    pub peak_open_units: u64,
    /// Events skipped because they came later than the allowed lateness from a user first seen
    /// before something was folded, so they could change a folded unit or week (counted as
    /// `out_of_order`).
    pub late_events: u64,
    /// Line of the first event that came later than the lateness from a user first seen after
    /// the last fold (so nothing of theirs is folded): it was kept, and from then on every unit
    /// stays open until the end (memory grows with units, the results are exact).
    pub unordered_from_line: Option<u64>,
}

/// Streams events into [`Observations`]; feed it with [`ObservationBuilder::push`], then call
/// [`ObservationBuilder::finish`].
///
/// **Bounded memory.** With session units, a unit is folded into the grouped counts (and its
/// memory reused) once the stream's watermark (latest event time) passes
/// `max(start + label_window, last event + session_gap) + lateness`: no event within the
/// lateness can then change its features or its label. A user's purchases are kept only while
/// an open unit may need them, and a week's distinct-user set only until the watermark passes its
/// end + lateness. So memory grows with open units, distinct users and patterns, not with events.
/// User units span a user's whole history and stay open until the end.
pub struct ObservationBuilder {
    spec: ObserveSpec,
    names: FxHashMap<Box<str>, NameKind>,
    other_names: Vec<(String, u64)>,
    purchase_idx: u8,
    /// Every user id seen, as indices into `user_ids` (distinct users are counted exactly):
    /// 4 bytes per table entry, the ids packed back to back, since this is the one structure
    /// that grows with all users rather than open ones.
    users: HashTable<u32>,
    /// User ids, concatenated; user `u` is `user_ids[user_end[u - 1]..user_end[u]]`.
    user_ids: Vec<u8>,
    user_end: Vec<u64>,
    /// Users (by index) first seen before the last fold or week close: something of theirs
    /// may be folded, so an event of theirs beyond the lateness is skipped. A user first seen
    /// after it has nothing folded: a late event of theirs is kept (and folding stops).
    users_before_fold: u32,
    user_state: Vec<UserState>,
    /// Per user (by index): folded units and labels, for [`ClusterSums`].
    user_sums: Vec<UserSums>,
    /// Purchases of users who may still need them.
    purchases: FxHashMap<u32, Purchases>,
    extra_events: Vec<EventName>,
    /// Open log sessions: session id → first open unit with it (more are chained by
    /// [`UnitState::next`] when several users share the id).
    sessions: HashTable<(Id, u32)>,
    units: Vec<UnitState>,
    free: Vec<u32>,
    /// Open units in creation order: folding in this order keeps sums bit-identical.
    queue: VecDeque<u32>,
    devices: Levels,
    channels: Levels,
    weeks: Vec<WeekAcc>,
    week_slot: FxHashMap<IsoWeek, u32>,
    /// Bounds [start, end) of the cached week and its slot in `weeks`.
    week_cache: (i64, i64, u32),
    /// The same for folding (unit starts).
    fold_cache: (i64, i64, u32),
    /// Earliest end of an open week.
    next_week_close: i64,
    span: Option<(i64, i64)>,
    inferred_sessions: u64,
    /// Events with a session id, and events without one (session units), and of those the
    /// events that joined their user's log session.
    with_session_id: u64,
    missing_session_id: u64,
    joined_session: u64,
    /// See [`ObservationBuilder::join_missing_sessions`].
    join_missing: bool,
    lateness: i64,
    window: i64,
    gap: i64,
    /// Grouped counts of folded units.
    patterns: FxHashMap<(IsoWeek, u16, u16, u32), (u64, u64)>,
    fired: FxHashMap<(IsoWeek, u16, u16, u64), u64>,
    values: FxHashMap<(IsoWeek, u32), (u64, f64, f64)>,
    ordering: Vec<Ordering>,
    units_total: u64,
    censored: u64,
    stats: StreamStats,
}

const NO_UNIT: u32 = u32::MAX;

impl ObservationBuilder {
    /// Starts an empty builder; `spec.candidates` must hold at most [`MAX_CANDIDATES`] events
    /// (checked when settings are validated).
    pub fn new(spec: ObserveSpec) -> Self {
        let mut names = FxHashMap::default();
        for (i, c) in spec.candidates.iter().enumerate().take(MAX_CANDIDATES) {
            names.insert(c.as_str().into(), NameKind::Tracked(i as u8));
        }
        let purchase_idx = spec.candidates.len().min(MAX_CANDIDATES) as u8;
        names.insert(
            spec.purchase.as_str().into(),
            NameKind::Tracked(purchase_idx),
        );
        let k = purchase_idx as usize;
        ObservationBuilder {
            lateness: i64::from(spec.lateness_minutes) * MINUTE_US,
            window: i64::from(spec.label_window_days) * DAY_US,
            gap: i64::from(spec.session_gap_minutes) * MINUTE_US,
            spec,
            names,
            other_names: Vec::new(),
            purchase_idx,
            users: HashTable::new(),
            user_ids: Vec::new(),
            user_end: Vec::new(),
            users_before_fold: 0,
            user_state: Vec::new(),
            user_sums: Vec::new(),
            purchases: FxHashMap::default(),
            extra_events: Vec::new(),
            sessions: HashTable::new(),
            units: Vec::new(),
            free: Vec::new(),
            queue: VecDeque::new(),
            devices: Levels::default(),
            channels: Levels::default(),
            weeks: Vec::new(),
            week_slot: FxHashMap::default(),
            week_cache: (0, 0, u32::MAX),
            fold_cache: (0, 0, u32::MAX),
            next_week_close: i64::MAX,
            span: None,
            inferred_sessions: 0,
            with_session_id: 0,
            missing_session_id: 0,
            joined_session: 0,
            join_missing: true,
            patterns: FxHashMap::default(),
            fired: FxHashMap::default(),
            values: FxHashMap::default(),
            ordering: vec![Ordering::default(); k],
            units_total: 0,
            censored: 0,
            stats: StreamStats::default(),
        }
    }

    /// Also tracks these events (funnel steps that are not candidates) in [`Observations::fired`];
    /// events already tracked, and any beyond 64 tracked events in all, are ignored (see
    /// [`tracked_order`]).
    pub fn track_also(&mut self, events: &[EventName]) {
        let k = self.purchase_idx as usize;
        let known = [self.extra_events.as_slice(), events].concat();
        let all = tracked_order(&self.spec.candidates[..k], &self.spec.purchase, &known);
        for (bit, e) in all.iter().enumerate().skip(k + 1 + self.extra_events.len()) {
            self.names
                .insert(e.as_str().into(), NameKind::Extra(bit as u8));
            self.extra_events.push(e.clone());
        }
    }

    /// Whether an event without a session id joins its user's log session when within the
    /// inactivity gap of it (default true). Off, it always goes to an inferred session (GA4's
    /// export, whose session-less events the pushdown SQL treats that way).
    pub fn join_missing_sessions(&mut self, join: bool) {
        self.join_missing = join;
    }

    /// How the stream went so far (open units, late events); read it before
    /// [`ObservationBuilder::finish`].
    pub fn stream_stats(&self) -> StreamStats {
        self.stats
    }

    /// The slot in `weeks` of the ISO week containing `micros` (cached: one time-zone
    /// conversion per week, not per event).
    fn week_slot_of(&mut self, micros: i64) -> usize {
        let (s, e, slot) = self.week_cache;
        if slot != u32::MAX && s <= micros && micros < e {
            return slot as usize;
        }
        let slot = self.week_slot_uncached(micros);
        self.week_cache = (self.weeks[slot].start, self.weeks[slot].end, slot as u32);
        slot
    }

    /// [`Self::week_slot_of`] for unit starts, which trail the events by a label window: a cache
    /// of their own, so folding does not evict the events' week.
    fn fold_week_slot_of(&mut self, micros: i64) -> usize {
        let (s, e, slot) = self.fold_cache;
        if slot != u32::MAX && s <= micros && micros < e {
            return slot as usize;
        }
        let slot = self.week_slot_uncached(micros);
        self.fold_cache = (self.weeks[slot].start, self.weeks[slot].end, slot as u32);
        slot
    }

    fn week_slot_uncached(&mut self, micros: i64) -> usize {
        let (week, start, end) = week_bounds(micros, &self.spec.time_zone);
        let slot = match self.week_slot.get(&week) {
            Some(&i) => i,
            None => {
                let k = self.purchase_idx as usize;
                let i = self.weeks.len() as u32;
                self.weeks.push(WeekAcc {
                    week,
                    start,
                    end,
                    events: vec![0; k + 1],
                    days: 0,
                    revenue: 0.0,
                    units: 0,
                    cand_units: vec![0; k],
                    purchase_units: 0,
                    users: 0,
                    cand_users: vec![0; k],
                    purchase_users: 0,
                    active: Some(FxHashMap::default()),
                });
                self.week_slot.insert(week, i);
                self.next_week_close = self.next_week_close.min(end);
                i
            }
        };
        slot as usize
    }

    /// Adds one event. Returns the reason when the event cannot be placed: an event older than
    /// its user's already-closed inferred session, or one later than the allowed lateness that
    /// could change what was already folded. The reader counts it as a skipped row.
    pub fn push(&mut self, ev: &Event<'_>) -> Result<(), SkipReason> {
        let late = self
            .span
            .is_some_and(|(_, hi)| ev.micros < hi.saturating_sub(self.lateness));
        if late {
            let user = self.user_index(ev.user);
            if user < self.users_before_fold {
                self.stats.late_events += 1;
                return Err(SkipReason::OutOfOrder);
            }
            // Nothing of this user is folded yet: keep the event, and stop folding so that
            // nothing it (or a later straggler) touches can be folded too early.
            self.stats.unordered_from_line.get_or_insert(ev.line);
        }
        let kind = match self.names.get(ev.name) {
            Some(&k) => k,
            None => {
                let i = self.other_names.len() as u32;
                self.other_names.push((ev.name.to_string(), 0));
                self.names.insert(ev.name.into(), NameKind::Other(i));
                NameKind::Other(i)
            }
        };
        let (user, unit) = match (self.spec.unit, ev.session) {
            (UnitKind::Session, Some(sid)) => {
                self.with_session_id += 1;
                self.session_unit(ev, sid)
            }
            _ => {
                let user = self.user_index(ev.user);
                (user, self.unit_for(ev, user)?)
            }
        };
        let device = self.devices.get(ev.device);
        let channel = self.channels.get(ev.channel);
        let purchase_idx = self.purchase_idx;
        let u = &mut self.units[unit as usize];
        let at = (ev.micros, ev.seq);
        // `<=`: the unit's own first event sets its segments too (start == at on creation).
        if at <= u.start {
            u.start = at;
            u.device = device;
            u.channel = channel;
        }
        u.last = u.last.max(ev.micros);
        let tracked = match kind {
            NameKind::Tracked(t) => Some(t),
            _ => None,
        };
        match kind {
            NameKind::Tracked(bit) | NameKind::Extra(bit) => u.fired |= 1u64 << bit,
            NameKind::Other(i) => self.other_names[i as usize].1 += 1,
        }
        if let Some(t) = tracked {
            if t == purchase_idx {
                if u.purchase.is_none_or(|p| at < p) {
                    u.purchase = Some(at);
                }
                let p = self.purchases.entry(user).or_default();
                let pos = p.partition_point(|&(t, s, _)| (t, s) < at);
                p.insert(pos, (ev.micros, ev.seq, ev.value));
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
        }
        let slot = self.week_slot_of(ev.micros);
        let w = &mut self.weeks[slot];
        w.days |= 1 << ((ev.micros - w.start) / DAY_US).clamp(0, 6);
        let mut bits = 1u64 << 63;
        if let Some(t) = tracked {
            w.events[t as usize] += 1;
            if t == purchase_idx {
                w.revenue += ev.value.unwrap_or(0.0);
            }
            bits |= 1 << t;
        }
        let u = &mut self.units[unit as usize];
        if u.week != slot as u32 {
            if u.week != NO_WEEK {
                flush_user_week(&mut self.weeks[u.week as usize], user, u.week_bits);
            }
            u.week = slot as u32;
            u.week_bits = 0;
        }
        u.week_bits |= bits;
        let hi = match self.span {
            None => {
                self.span = Some((ev.micros, ev.micros));
                ev.micros
            }
            Some((a, b)) => {
                let hi = b.max(ev.micros);
                self.span = Some((a.min(ev.micros), hi));
                if hi == b {
                    return Ok(()); // the watermark did not move: nothing new can be folded
                }
                hi
            }
        };
        self.advance(hi);
        Ok(())
    }

    /// Whether nothing may be folded any more (user units, or input out of order).
    fn folding_stopped(&self) -> bool {
        self.spec.unit == UnitKind::User || self.stats.unordered_from_line.is_some()
    }

    /// Folds every unit, then closes every week, that no event within the lateness of watermark
    /// `hi` can change any more.
    fn advance(&mut self, hi: i64) {
        if self.folding_stopped() {
            return;
        }
        let horizon = hi.saturating_sub(self.lateness);
        while let Some(&id) = self.queue.front() {
            let u = &self.units[id as usize];
            let done = u
                .start
                .0
                .saturating_add(self.window)
                .max(u.last.saturating_add(self.gap));
            if done >= horizon {
                break;
            }
            self.queue.pop_front();
            self.fold(id, None);
            self.users_before_fold = self.user_end.len() as u32;
        }
        if horizon > self.next_week_close {
            self.users_before_fold = self.user_end.len() as u32;
            self.flush_user_weeks(|w| w.end < horizon);
            let mut next = i64::MAX;
            for w in &mut self.weeks {
                if w.active.is_none() {
                    continue;
                }
                if w.end < horizon {
                    close_week(w, self.purchase_idx as usize);
                } else {
                    next = next.min(w.end);
                }
            }
            self.next_week_close = next;
        }
    }

    /// The index of a user id, added when new.
    fn user_index(&mut self, user: &str) -> u32 {
        let h = fx_hash(user.as_bytes());
        let (ids, end) = (&self.user_ids, &self.user_end);
        let id_of = |u: u32| {
            let u = u as usize;
            let from = if u == 0 { 0 } else { end[u - 1] as usize };
            &ids[from..end[u] as usize]
        };
        if let Some(&u) = self.users.find(h, |&u| id_of(u) == user.as_bytes()) {
            return u;
        }
        let u = self.user_end.len() as u32;
        self.user_ids.extend_from_slice(user.as_bytes());
        self.user_end.push(self.user_ids.len() as u64);
        let (ids, end) = (&self.user_ids, &self.user_end);
        let id_of = |u: u32| {
            let u = u as usize;
            let from = if u == 0 { 0 } else { end[u - 1] as usize };
            &ids[from..end[u] as usize]
        };
        self.users.insert_unique(h, u, |&u| fx_hash(id_of(u)));
        self.user_state.push(UserState {
            open: NO_UNIT,
            logged: NO_UNIT,
        });
        self.user_sums.push(UserSums::default());
        u
    }

    /// The (user, unit) of an event with a log session id: the session table first, whose
    /// units carry their user's id, so an event of an open session never touches the (large)
    /// user table.
    fn session_unit(&mut self, ev: &Event<'_>, sid: &str) -> (u32, u32) {
        let h = fx_hash(sid.as_bytes());
        let head = self
            .sessions
            .find(h, |(id, _)| id.bytes() == sid.as_bytes())
            .map(|e| e.1);
        let Some(head) = head else {
            let user = self.user_index(ev.user);
            let id = self.log_unit(ev, user, h);
            self.sessions
                .insert_unique(h, (Id::new(sid), id), |(k, _)| fx_hash(k.bytes()));
            return (user, id);
        };
        let mut id = head;
        loop {
            let u = &self.units[id as usize];
            if u.user_id.bytes() == ev.user.as_bytes() {
                return (u.user, id);
            }
            if u.next == NO_UNIT {
                break;
            }
            id = u.next;
        }
        // A session id used by another user: another unit, chained after the head.
        let user = self.user_index(ev.user);
        let id = self.log_unit(ev, user, h);
        self.units[id as usize].next = self.units[head as usize].next;
        self.units[head as usize].next = id;
        (user, id)
    }

    /// Opens the unit of a new log session (id hash `h`). When the user's open inferred session
    /// (events without a session id) ends within the inactivity gap of this event, that unit
    /// becomes the log session instead: the session-less events before it join it.
    fn log_unit(&mut self, ev: &Event<'_>, user: u32, h: u64) -> u32 {
        let open = self.user_state[user as usize].open;
        if self.join_missing && open != NO_UNIT {
            let u = &mut self.units[open as usize];
            if ev.micros <= u.last + self.gap && ev.micros >= u.start.0 - self.gap {
                u.session = Some(h);
                self.joined_session += u64::from(u.blank);
                self.inferred_sessions -= 1;
                let state = &mut self.user_state[user as usize];
                state.open = NO_UNIT;
                state.logged = open;
                return open;
            }
        }
        let id = self.new_unit(ev, user, Some(h));
        self.user_state[user as usize].logged = id;
        id
    }

    /// Finds or opens the unit of an event without a log session (user units, inferred
    /// sessions).
    fn unit_for(&mut self, ev: &Event<'_>, user: u32) -> Result<u32, SkipReason> {
        match (self.spec.unit, ev.session) {
            (UnitKind::User, _) => {
                let open = self.user_state[user as usize].open;
                if open != NO_UNIT {
                    return Ok(open);
                }
                let id = self.new_unit(ev, user, None);
                self.user_state[user as usize].open = id;
                Ok(id)
            }
            (UnitKind::Session, _) => {
                self.missing_session_id += 1;
                let logged = self.user_state[user as usize].logged;
                if logged != NO_UNIT && self.join_missing {
                    let u = &self.units[logged as usize];
                    if ev.micros <= u.last + self.gap && ev.micros >= u.start.0 - self.gap {
                        self.joined_session += 1;
                        return Ok(logged);
                    }
                }
                let open = self.user_state[user as usize].open;
                if open != NO_UNIT {
                    let u = &mut self.units[open as usize];
                    if ev.micros <= u.last + self.gap && ev.micros >= u.start.0 - self.gap {
                        u.blank += 1;
                        return Ok(open);
                    }
                    if ev.micros < u.start.0 - self.gap {
                        return Err(SkipReason::OutOfOrder);
                    }
                }
                let id = self.new_unit(ev, user, None);
                self.units[id as usize].blank = 1;
                self.user_state[user as usize].open = id;
                self.inferred_sessions += 1;
                Ok(id)
            }
        }
    }

    /// Opens a unit in a free slot (reusing its `firsts` buffer) and queues it for folding.
    fn new_unit(&mut self, ev: &Event<'_>, user: u32, session: Option<u64>) -> u32 {
        let state = |firsts: Vec<(u8, i64, u64)>| UnitState {
            user,
            start: (ev.micros, ev.seq),
            last: ev.micros,
            device: 0,
            channel: 0,
            firsts,
            purchase: None,
            fired: 0,
            session,
            next: NO_UNIT,
            user_id: Id::new(ev.user),
            week: NO_WEEK,
            week_bits: 0,
            blank: 0,
        };
        let id = match self.free.pop() {
            Some(id) => {
                let slot = &mut self.units[id as usize];
                let mut firsts = std::mem::take(&mut slot.firsts);
                firsts.clear();
                *slot = state(firsts);
                id
            }
            None => {
                self.units.push(state(Vec::new()));
                (self.units.len() - 1) as u32
            }
        };
        self.queue.push_back(id);
        self.stats.peak_open_units = self.stats.peak_open_units.max(self.queue.len() as u64);
        id
    }

    /// Resolves a unit's label and features and adds it to the grouped counts; frees its slot.
    /// `hi` is the end of the data when folding at the end (for censoring); while streaming a
    /// unit is folded only after its label window has passed, so it is never censored.
    fn fold(&mut self, id: u32, hi: Option<i64>) {
        let window = self.window;
        let start = self.units[id as usize].start.0;
        let slot = self.fold_week_slot_of(start);
        let week = self.weeks[slot].week;
        let u = &mut self.units[id as usize];
        let purchases: &[(i64, u64, Option<f64>)] =
            self.purchases.get(&u.user).map_or(&[], |p| p.as_slice());
        let first_after = purchases.partition_point(|&(t, _, _)| t < start);
        let label_purchase = purchases
            .get(first_after)
            .filter(|&&(t, _, _)| t <= start.saturating_add(window));
        let label = label_purchase.is_some();
        let label_value = label_purchase.and_then(|p| p.2);
        // The guard's cut: the user's first purchase at or after the unit's start, wherever it
        // happened (this unit or another of the user's), so an event after the purchase never
        // becomes a feature, even in a separate session (a thank-you page's own session).
        let cut = purchases
            .get(first_after)
            .map(|&(t, s, _)| (t, s))
            .into_iter()
            .chain(u.purchase)
            .min();
        // Ordering is counted among purchasing units: a purchase in the unit, or a label.
        let purchasing = u.purchase.is_some() || label;
        if hi.is_some_and(|hi| start.saturating_add(window) > hi) {
            self.censored += 1;
        }
        let mut mask = 0u32;
        let wv = &mut self.weeks[slot];
        wv.units += 1;
        for &(j, t, s) in &u.firsts {
            let j = j as usize;
            wv.cand_units[j] += 1;
            let in_window = self.spec.unit == UnitKind::Session || t <= start + window;
            match cut {
                Some(p) if (t, s) > p => {
                    self.ordering[j].after_purchase_only += u64::from(purchasing);
                }
                Some(_) => {
                    self.ordering[j].before_purchase += u64::from(purchasing);
                    mask |= 1 << j;
                }
                None if in_window => mask |= 1 << j,
                None => {}
            }
        }
        if u.purchase.is_some() {
            wv.purchase_units += 1;
        }
        let e = self
            .patterns
            .entry((week, u.device, u.channel, mask))
            .or_default();
        e.0 += 1;
        e.1 += u64::from(label);
        let us = &mut self.user_sums[u.user as usize];
        us.units += 1;
        us.labelled += u32::from(label);
        let mut bits = mask;
        while bits != 0 {
            let j = bits.trailing_zeros() as u8;
            bits &= bits - 1;
            match us.features.iter_mut().find(|f| f.0 == j) {
                Some(f) => {
                    f.1 += 1;
                    f.2 += u32::from(label);
                }
                None => us.features.push((j, 1, u32::from(label))),
            }
        }
        *self
            .fired
            .entry((week, u.device, u.channel, u.fired))
            .or_default() += 1;
        if let Some(v) = label_value {
            let g = self.values.entry((week, mask)).or_default();
            g.0 += 1;
            g.1 += v;
            g.2 += v * v;
        }
        self.units_total += 1;
        // Release the unit: its user's bookkeeping, its session id, its slot.
        let user = &mut self.user_state[u.user as usize];
        if u.session.is_none() {
            if user.open == id {
                user.open = NO_UNIT;
            }
        } else if user.logged == id {
            user.logged = NO_UNIT;
        }
        if hi.is_none() {
            // Units fold in creation order, and none of this user's open or later units can
            // start more than the lateness before this one (each was opened by an event within
            // the lateness of a watermark at least this unit's start): older purchases are
            // never needed again.
            let keep_from = start.saturating_sub(self.lateness);
            if let Some(p) = self.purchases.get_mut(&u.user) {
                let cut = p.partition_point(|&(t, _, _)| t < keep_from);
                p.drain(..cut);
                if p.is_empty() {
                    self.purchases.remove(&u.user);
                }
            }
        }
        if u.week != NO_WEEK {
            flush_user_week(&mut self.weeks[u.week as usize], u.user, u.week_bits);
            u.week = NO_WEEK;
        }
        if let Some(h) = u.session.take() {
            let next = u.next;
            self.unlink_session(id, h, next);
        }
        self.free.push(id);
    }

    /// Removes unit `id` (whose session id hashes to `h`, followed by `next` in its chain)
    /// from the session table.
    fn unlink_session(&mut self, id: u32, h: u64, next: u32) {
        let units = &self.units;
        // The entry whose chain holds `id` (entries sharing a hash are rare; chains are short).
        let in_chain = |&(_, head): &(Id, u32)| {
            let mut p = head;
            while p != NO_UNIT {
                if p == id {
                    return true;
                }
                p = units[p as usize].next;
            }
            false
        };
        let Ok(entry) = self.sessions.find_entry(h, in_chain) else {
            return;
        };
        let head = entry.get().1;
        if head == id {
            if next == NO_UNIT {
                let _ = entry.remove();
            } else {
                entry.into_mut().1 = next;
            }
            return;
        }
        let mut p = head;
        while self.units[p as usize].next != NO_UNIT {
            if self.units[p as usize].next == id {
                self.units[p as usize].next = next;
                return;
            }
            p = self.units[p as usize].next;
        }
    }

    /// Moves the open units' pending week bits into the distinct-user sets of the weeks selected by
    /// `which` (before those weeks are closed).
    fn flush_user_weeks(&mut self, which: impl Fn(&WeekAcc) -> bool) {
        let pick: Vec<bool> = self.weeks.iter().map(which).collect();
        for &id in &self.queue {
            let u = &mut self.units[id as usize];
            if u.week != NO_WEEK && pick[u.week as usize] {
                flush_user_week(&mut self.weeks[u.week as usize], u.user, u.week_bits);
                u.week = NO_WEEK;
                u.week_bits = 0;
            }
        }
    }

    /// Closes every unit, resolves labels, and aggregates patterns and weekly volumes.
    pub fn finish(mut self) -> Observations {
        let k = self.purchase_idx as usize;
        let (lo, hi) = self.span.unwrap_or((0, 0));
        while let Some(id) = self.queue.pop_front() {
            self.fold(id, Some(hi));
        }
        self.flush_user_weeks(|_| true);
        for w in &mut self.weeks {
            close_week(w, k);
        }
        // Weekly event counts define the weeks; units and users are added below.
        let mut accs: BTreeMap<IsoWeek, WeekAcc> =
            self.weeks.drain(..).map(|w| (w.week, w)).collect();
        let week_list = fill_gaps(accs.keys().copied().collect());
        let week_index: FxHashMap<IsoWeek, u16> = week_list
            .iter()
            .enumerate()
            .map(|(i, w)| (*w, i as u16))
            .collect();
        let weeks: Vec<WeekVolumes> = week_list
            .iter()
            .map(|&w| {
                let Some(a) = accs.remove(&w) else {
                    return WeekVolumes {
                        week: w,
                        complete: false,
                        days: 0,
                        set_aside: None,
                        units: 0,
                        users: 0,
                        candidates: vec![Volume::default(); k],
                        purchase: Volume::default(),
                        revenue: 0.0,
                    };
                };
                WeekVolumes {
                    week: w,
                    complete: false,
                    days: a.days,
                    set_aside: None,
                    units: a.units,
                    users: a.users,
                    candidates: (0..k)
                        .map(|j| Volume {
                            events: a.events[j],
                            units: a.cand_units[j],
                            users: a.cand_users[j],
                        })
                        .collect(),
                    purchase: Volume {
                        events: a.events[k],
                        units: a.purchase_units,
                        users: a.purchase_users,
                    },
                    revenue: a.revenue,
                }
            })
            .collect();
        let weeks = judge_coverage(weeks, &self.spec.coverage);
        let wi = |w: &IsoWeek| week_index[w];
        let mut patterns: Vec<Pattern> = self
            .patterns
            .iter()
            .map(|(&(week, device, channel, mask), &(n, y))| Pattern {
                week: wi(&week),
                device,
                channel,
                mask,
                units: n,
                purchasers: y,
            })
            .collect();
        patterns.sort_by_key(|p| (p.week, p.device, p.channel, p.mask));
        let mut fired: Vec<FiredGroup> = self
            .fired
            .iter()
            .map(|(&(week, device, channel, mask), &units)| FiredGroup {
                week: wi(&week),
                device,
                channel,
                mask,
                units,
            })
            .collect();
        fired.sort_by_key(|g| (g.week, g.device, g.channel, g.mask));
        let mut values: Vec<ValueGroup> = self
            .values
            .iter()
            .map(|(&(week, mask), &(valued, sum, sum_sq))| ValueGroup {
                week: wi(&week),
                mask,
                valued,
                sum,
                sum_sq,
            })
            .collect();
        values.sort_by_key(|g| (g.week, g.mask));
        let levels = |l: Levels| if l.seen { l.names } else { Vec::new() };
        let clusters = ClusterSums::of_users(&self.user_sums, k);
        Observations {
            unit: self.spec.unit,
            candidates: self.spec.candidates.clone(),
            purchase: self.spec.purchase.clone(),
            weeks,
            devices: levels(self.devices),
            channels: levels(self.channels),
            patterns,
            ordering: self.ordering,
            units: self.units_total,
            users: self.user_end.len() as u64,
            censored_units: self.censored,
            label_window_days: self.spec.label_window_days,
            sessions_inferred: self.inferred_sessions > 0,
            session_id_events: self.with_session_id,
            // Counted only where such events may join a session (not GA4's export, whose
            // pushdown SQL has no per-event count to match).
            session_id_missing: if self.with_session_id > 0 && self.join_missing {
                self.missing_session_id
            } else {
                0
            },
            session_id_joined: self.joined_session,
            inferred_sessions: self.inferred_sessions,
            other_events: self
                .other_names
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect(),
            span_micros: (lo, hi),
            extra_events: self.extra_events,
            fired,
            values,
            clusters: Some(clusters),
        }
    }
}

/// Adds a user's tracked-event bits to a week's distinct-user set.
fn flush_user_week(w: &mut WeekAcc, user: u32, bits: u64) {
    *w.active
        .get_or_insert_with(FxHashMap::default)
        .entry(user)
        .or_default() |= bits;
}

/// Counts a week's distinct users (in all and per tracked event) from its open set, and drops
/// the set.
fn close_week(w: &mut WeekAcc, k: usize) {
    let Some(active) = w.active.take() else {
        return;
    };
    for &bits in active.values() {
        w.users += 1;
        for j in 0..k {
            if bits & (1 << j) != 0 {
                w.cand_users[j] += 1;
            }
        }
        if bits & (1 << k) != 0 {
            w.purchase_users += 1;
        }
    }
}

/// Longest span of weeks whose empty weeks are filled in; a longer one (a stray timestamp decades
/// off) keeps only the weeks that have events.
const MAX_FILLED_WEEKS: usize = 260;

/// Inserts the weeks without events between the first and the last week, so that a week with no
/// events shows as zeros instead of vanishing.
pub(crate) fn fill_gaps(weeks: Vec<IsoWeek>) -> Vec<IsoWeek> {
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

/// Days set in a [`WeekVolumes::days`] mask.
pub fn days_with_data(mask: u8) -> u8 {
    (mask & 0x7f).count_ones() as u8
}

/// The weeks with `complete` and `set_aside` decided by [`crate::core::coverage::judge`] from each
/// week's own days with data and its units against its neighbours'.
pub(crate) fn judge_coverage(weeks: Vec<WeekVolumes>, p: &CoverageParams) -> Vec<WeekVolumes> {
    let cover: Vec<WeekCoverage> = weeks
        .iter()
        .map(|w| WeekCoverage {
            days: days_with_data(w.days),
            volume: w.units,
        })
        .collect();
    let verdicts = crate::core::coverage::judge(&cover, p);
    weeks
        .into_iter()
        .zip(verdicts)
        .map(|(w, set_aside)| WeekVolumes {
            complete: set_aside.is_none(),
            set_aside,
            ..w
        })
        .collect()
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

/// Site-wide totals of one ISO week.
#[derive(Debug, Clone, Serialize)]
pub struct WeekTotals {
    /// The week.
    pub week: IsoWeek,
    /// Whether the week is complete by its own coverage (used for floor checks and drift
    /// tests); see `set_aside` when it is not.
    pub complete: bool,
    /// Days of the week (0–7) with at least one event.
    pub days_with_data: u8,
    /// Why the week was set aside (`null` for a complete week): `few_days` (data on fewer than
    /// `analysis.min_week_days` days) or `low_volume` (units below `analysis.min_week_share` of the
    /// median of its neighbouring weeks').
    pub set_aside: Option<crate::core::coverage::SetAside>,
    /// Units that started this week.
    pub units: u64,
    /// Distinct users active this week.
    pub users: u64,
    /// Purchase events, purchasing units and purchasing users.
    pub purchase: Volume,
    /// Sum of purchase values.
    pub revenue: f64,
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
            lateness_minutes: 60,
            coverage: CoverageParams::default(),
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
        // Purchasing units: s1 (its own purchase) and s2 (label 1: u2 buys in s3).
        assert_eq!(o.ordering[0].before_purchase, 2);
        assert_eq!(o.devices, vec!["(unknown)", "mobile"]);
        assert!(o.channels.is_empty());
        // Every unit takes the device of its first event (index 1 = "mobile"), none "(unknown)".
        assert!(o.patterns.iter().all(|p| p.device == 1), "{:?}", o.patterns);
    }

    #[test]
    fn an_event_after_the_purchase_in_another_session_is_no_feature() {
        let mut b = ObservationBuilder::new(spec(UnitKind::Session));
        for e in [
            // u1 checks out in s1 and buys at minute 5; the payment provider's redirect opened
            // s2 at minute 4, whose thank-you page (here sign_up) fires after the purchase.
            ev(0, 0, "u1", Some("s1"), "add_to_cart"),
            ev(1, 4, "u1", Some("s2"), "page_view"),
            ev(2, 5, "u1", Some("s1"), "purchase"),
            ev(3, 6, "u1", Some("s2"), "sign_up"),
            // u2: sign_up in a session of its own, before a purchase two days later.
            ev(4, 10, "u2", Some("s3"), "sign_up"),
            ev(5, 2 * 24 * 60, "u2", Some("s4"), "purchase"),
            // u3: sign_up, never buys.
            ev(6, 20, "u3", Some("s5"), "sign_up"),
        ] {
            b.push(&e).unwrap();
        }
        let o = b.finish();
        assert_eq!(o.units, 5);
        // s2 is labelled 1 (the purchase falls inside its window) but its sign_up follows the
        // purchase: no feature. Features: s3 (y=1), s5 (y=0).
        assert_eq!(o.table(1, |_| true), [1, 1, 3, 0]);
        // Among purchasing units, s2 fired sign_up only after the purchase; s3 before it.
        assert_eq!(o.ordering[1].after_purchase_only, 1);
        assert_eq!(o.ordering[1].before_purchase, 1);
        // add_to_cart in s1 precedes the purchase.
        assert_eq!(o.table(0, |_| true), [1, 0, 3, 1]);
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

    /// A comparable form of observations: segment indices replaced by names (levels are numbered
    /// in order of first appearance, which shuffling changes).
    fn normalized(o: &Observations) -> String {
        let dev = |i: u16| o.devices.get(i as usize).cloned().unwrap_or_default();
        let ch = |i: u16| o.channels.get(i as usize).cloned().unwrap_or_default();
        let mut pats: Vec<_> = o
            .patterns
            .iter()
            .map(|p| {
                (
                    p.week,
                    dev(p.device),
                    ch(p.channel),
                    p.mask,
                    p.units,
                    p.purchasers,
                )
            })
            .collect();
        pats.sort();
        let mut fired: Vec<_> = o
            .fired
            .iter()
            .map(|g| (g.week, dev(g.device), ch(g.channel), g.mask, g.units))
            .collect();
        fired.sort();
        format!(
            "{pats:?}\n{fired:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{} {} {} {:?}",
            o.weeks,
            o.values,
            o.ordering,
            o.other_events,
            o.units,
            o.users,
            o.censored_units,
            o.span_micros
        )
    }

    /// (time in thousandths of a minute, user, session, event, device, channel, value).
    type Row = (
        i64,
        String,
        Option<String>,
        &'static str,
        &'static str,
        &'static str,
        Option<f64>,
    );

    /// A time-ordered synthetic log over five weeks: users with several sessions, purchases with
    /// whole-number values (so sums are exact in any order), two devices and channels.
    fn synthetic(with_sessions: bool) -> Vec<Row> {
        let names = ["view_item", "add_to_cart", "sign_up", "purchase", "scroll"];
        let mut rng = 12345u64;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) as i64
        };
        let mut rows = Vec::new();
        for sess in 0..600i64 {
            let user = next() % 150;
            // Session starts spread over 5 weeks, each a few events minutes apart.
            let start = sess * 5 * 7 * 24 * 60 / 600 + next() % 600;
            let device = if next() % 3 == 0 { "desktop" } else { "mobile" };
            let channel = if next() % 2 == 0 {
                "email"
            } else {
                "paid_social"
            };
            for e in 0..(1 + next() % 6) {
                let name = names[(next() % 5) as usize];
                let value = (name == "purchase").then(|| (10 + next() % 90) as f64);
                // Distinct minutes: ties would be broken by file order, which shuffling changes.
                let t = (start + e * 3) * 1000 + sess;
                rows.push((
                    t,
                    format!("u{user}"),
                    with_sessions.then(|| format!("s{sess}")),
                    name,
                    device,
                    channel,
                    value,
                ));
            }
        }
        rows.sort_by_key(|r| r.0);
        rows
    }

    fn observe_rows(rows: &[Row], lateness_minutes: u32) -> (Observations, StreamStats) {
        let mut sp = spec(UnitKind::Session);
        sp.lateness_minutes = lateness_minutes;
        let mut b = ObservationBuilder::new(sp);
        b.track_also(&[EventName::new("view_item").unwrap()]);
        for (seq, r) in rows.iter().enumerate() {
            let e = Event {
                line: seq as u64 + 2,
                seq: seq as u64,
                // r.0 is in thousandths of a minute.
                micros: 1_788_739_200_000_000 + r.0 * MINUTE_US / 1000,
                user: &r.1,
                session: r.2.as_deref(),
                name: r.3,
                device: Some(r.4),
                channel: Some(r.5),
                value: r.6,
            };
            b.push(&e).unwrap();
        }
        let stats = b.stream_stats();
        (b.finish(), stats)
    }

    #[test]
    fn a_log_shuffled_within_the_lateness_gives_identical_observations() {
        for with_sessions in [true, false] {
            let rows = synthetic(with_sessions);
            // Keeping every unit to the end (today's unbounded reading) is the reference.
            let (all, all_stats) = observe_rows(&rows, u32::MAX / 2);
            let (ordered, stats) = observe_rows(&rows, 60);
            assert!(
                stats.peak_open_units < all.units / 2,
                "{stats:?} of {}",
                all.units
            );
            assert_eq!(all_stats.peak_open_units, all.units);
            assert_eq!(normalized(&ordered), normalized(&all));
            if !with_sessions {
                // Inferred sessions are cut in arrival order by definition: no shuffle test.
                continue;
            }
            // Shuffle: sort by time plus a jitter of up to 50 minutes (within the 60 allowed).
            let mut shuffled = rows.clone();
            let mut rng = 99u64;
            let mut keyed: Vec<(i64, usize)> = shuffled
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (r.0 + ((rng >> 33) % 50_000) as i64, i)
                })
                .collect();
            keyed.sort();
            shuffled = keyed.iter().map(|&(_, i)| rows[i].clone()).collect();
            assert_ne!(shuffled, rows);
            let (mixed, mixed_stats) = observe_rows(&shuffled, 60);
            assert_eq!(mixed_stats.late_events, 0);
            assert_eq!(mixed_stats.unordered_from_line, None);
            assert!(mixed_stats.peak_open_units < all.units / 2);
            assert_eq!(normalized(&mixed), normalized(&all));
        }
    }

    #[test]
    fn shared_and_reused_session_ids_survive_the_folding_of_their_sessions() {
        let mut sp = spec(UnitKind::Session);
        sp.lateness_minutes = 60;
        let mut b = ObservationBuilder::new(sp);
        // Two users share session id "s": two units.
        b.push(&ev(0, 0, "u1", Some("s"), "add_to_cart")).unwrap();
        b.push(&ev(1, 1, "u2", Some("s"), "view_item")).unwrap();
        b.push(&ev(2, 2, "u1", Some("s"), "purchase")).unwrap();
        // Thousands of one-event sessions over 40 days: units fold as the watermark moves.
        let ids: Vec<(String, String)> = (0..4000)
            .map(|i| (format!("v{}", i % 700), format!("x{i}")))
            .collect();
        for (i, (user, sid)) in ids.iter().enumerate() {
            let t = 3 + i as i64 * 15;
            b.push(&ev(3 + i as u64, t, user, Some(sid), "add_to_cart"))
                .unwrap();
        }
        // "s" again from u1, long after its session was folded: a new session; and u2 too.
        let t = 3 + 4000 * 15;
        b.push(&ev(5000, t, "u1", Some("s"), "sign_up")).unwrap();
        b.push(&ev(5001, t + 1, "u2", Some("s"), "sign_up"))
            .unwrap();
        b.push(&ev(5002, t + 2, "u1", Some("s"), "add_to_cart"))
            .unwrap();
        assert!(b.stream_stats().peak_open_units < 1000);
        let o = b.finish();
        assert_eq!(o.units, 4000 + 4);
        assert_eq!(o.users, 702);
        // add_to_cart: the 4000, u1's first "s" (which bought), u1's second "s".
        assert_eq!(o.table(0, |_| true), [1, 4001, 0, 2]);
        assert_eq!(o.table(1, |_| true)[1], 2);
    }

    #[test]
    fn events_beyond_the_lateness_are_skipped_and_counted() {
        let mut sp = spec(UnitKind::Session);
        sp.lateness_minutes = 60;
        let mut b = ObservationBuilder::new(sp);
        b.push(&ev(0, 0, "u1", Some("s1"), "add_to_cart")).unwrap();
        // Nine days later: u1's session (window 7 days) is folded and W37 is closed.
        b.push(&ev(1, 9 * 24 * 60, "u2", Some("s2"), "view_item"))
            .unwrap();
        // u1 comes back two hours behind the latest event: beyond the lateness, and u1 is folded.
        let late = ev(2, 9 * 24 * 60 - 120, "u1", Some("s1"), "purchase");
        assert_eq!(b.push(&late), Err(SkipReason::OutOfOrder));
        // Within the lateness: placed.
        b.push(&ev(3, 9 * 24 * 60 - 30, "u1", Some("s3"), "purchase"))
            .unwrap();
        let stats = b.stream_stats();
        assert_eq!(stats.late_events, 1);
        assert_eq!(stats.unordered_from_line, None);
        // A user never seen before may be late without harm: kept, and folding stops.
        b.push(&ev(4, 60, "u9", Some("s9"), "add_to_cart")).unwrap();
        assert_eq!(b.stream_stats().unordered_from_line, Some(6));
        let o = b.finish();
        assert_eq!(o.units, 4);
        assert_eq!(o.weeks[0].purchase.events, 0);
        assert_eq!(o.weeks[1].purchase.events, 1);
    }
}
