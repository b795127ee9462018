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
    /// Candidate discovery (`analysis.candidates` not set): `candidates` are then only seeds,
    /// and every other event name of the log may become one ([`discover`]).
    pub discover: Option<DiscoverSpec>,
    /// Derived candidates (every grid point of every `[[analysis.derived]]` family), each a
    /// candidate bit of its own after the raw candidates; their raw events must be candidates.
    pub derived: Vec<DerivedRule>,
}

/// How candidates are discovered in the log: which names never count, and how much an event
/// must fire to be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverSpec {
    /// Housekeeping events (session_start, page_view, ...) that are never candidates.
    pub housekeeping: Vec<EventName>,
    /// Fewest units (over all weeks) in which an event must fire to stay a candidate.
    pub min_units: u64,
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
    /// What candidate discovery found and left out (`None` when the candidates were configured).
    pub discovery: Option<Discovery>,
    /// The candidates that are derived rules, in candidate order (empty when none is configured).
    pub derived: Vec<DerivedCandidate>,
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

/// Asks the CPU to start loading the cache line holding `p`: a hint, with no effect on what
/// the program computes. Used a few units ahead of the fold, whose units and users were last
/// touched long ago and so are out of every cache.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes no state the program can see, whatever the
    // address (`wrapping_add` pointers past the end included).
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
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
    /// Most units fire at most one candidate, which is kept inline; a longer list is freed
    /// when the unit is folded, so that idle slots hold no buffers.
    firsts: Firsts,
    /// Occurrence times kept for derived rules, as `(rule, time, seq)` ([`derive::record`]);
    /// kept (cleared) when the slot is reused.
    /// Boxed (8 bytes in the unit) because only derived rules that count or weigh use it.
    #[expect(clippy::box_collection, reason = "8 bytes in every open unit, not 24")]
    occ: Option<Box<Vec<(u8, i64, u64)>>>,
    /// First purchase (time, seq), or [`NO_PURCHASE`] (later than any event).
    purchase: (i64, u64),
    /// Bit per tracked event (candidates, purchase, extras) that fired anywhere in the unit.
    fired: u64,
    /// Whether the unit is a log session, with an entry in [`ObservationBuilder::sessions`]
    /// (its key `sid` is hashed again to find it when the unit is folded).
    logged: bool,
    /// Next open unit with the same session id (a session id used by two users), or [`NO_UNIT`].
    next: u32,
    /// The log's session id (empty without one): the key of [`ObservationBuilder::sessions`],
    /// kept here so that the table is 4 bytes an entry and a lookup reads the unit it finds.
    sid: Id,
    /// The week slot whose tracked-event bits (for the week's distinct users) are pending in
    /// `week_bits`, or [`NO_WEEK`]: a unit's events mostly fall in one week, so the week's
    /// distinct-user set is touched once per unit and week instead of once per event.
    week: u32,
    week_bits: u64,
    /// Events without a session id in this unit (an inferred session, or a log session that
    /// adopted one).
    blank: u32,
}

/// A unit's first times per candidate, as (candidate, time, seq).
type Firsts = smallvec::SmallVec<[(u8, i64, u64); 1]>;

/// No purchase in [`UnitState::purchase`]: compares after every event.
const NO_PURCHASE: (i64, u64) = (i64::MAX, u64::MAX);

impl UnitState {
    /// The unit's first purchase, if any.
    fn purchase(&self) -> Option<(i64, u64)> {
        (self.purchase != NO_PURCHASE).then_some(self.purchase)
    }
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
    /// Users active this week with their candidate bits; `None` once the week is closed.
    active: Option<WeekUsers>,
}

/// A week's distinct users while it is open: the candidates each fired (8 bytes an entry), and
/// apart the few who purchased, so that the purchase bit (bit 32 with 32 candidates) needs no
/// 64-bit value for every user.
#[derive(Default)]
struct WeekUsers {
    candidates: FxHashMap<u32, u32>,
    buyers: rustc_hash::FxHashSet<u32>,
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
    /// The user ids of events given to [`ObservationBuilder::push`] (with
    /// [`ObservationBuilder::push_user`] the caller numbers them).
    users: UserIds,
    /// Users (by index) first seen before the last fold or week close: something of theirs
    /// may be folded, so an event of theirs beyond the lateness is skipped. A user first seen
    /// after it has nothing folded: a late event of theirs is kept (and folding stops).
    users_before_fold: u32,
    /// Per user (by index): open units.
    user_state: Vec<UserState>,
    /// Purchases of users who may still need them.
    purchases: FxHashMap<u32, Purchases>,
    extra_events: Vec<EventName>,
    /// Funnel steps given to [`ObservationBuilder::track_also`]: with discovery, a step that is
    /// left out as a candidate stays tracked as an extra.
    funnel_steps: Vec<EventName>,
    /// Candidates given before the first event (configured seeds and funnel steps): with
    /// discovery they keep their order, ahead of the candidates found in the log.
    seeded: usize,
    /// Open log sessions: session id → first open unit with it (more are chained by
    /// [`UnitState::next`] when several users share the id).
    sessions: HashTable<u32>,
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
    /// Where folded units are counted (grouped counts, ordering, cluster sums).
    tally: TallySink,
    /// Derived rules compiled to candidate bits, the rules keeping occurrences per candidate
    /// bit (empty without such rules), the first derived bit and a scratch list of the moments
    /// a unit met them.
    rules: Vec<derive::Compiled>,
    occ_rules: Vec<Vec<u8>>,
    derived_from: u8,
    moments: Vec<(u8, i64, u64)>,
    censored: u64,
    stats: StreamStats,
}

const NO_UNIT: u32 = u32::MAX;

mod aggregate;
mod builder;
pub mod derive;
pub mod discover;
mod finish;
mod fold;
mod tally;
mod users;

use tally::{Folded, Tally, TallySink};
pub use users::UserIds;
use users::UserState;

pub use derive::{DerivedCandidate, DerivedKind, DerivedRule, ScoreModel, ScoreTerm};
pub use discover::{Discovery, LeftOut, LeftOutReason};

/// Adds a user's tracked-event bits to a week's distinct-user set.
fn flush_user_week(w: &mut WeekAcc, user: u32, bits: u64, k: u8) {
    let active = w.active.get_or_insert_with(WeekUsers::default);
    // Candidates are the bits below the purchase's `k` (at most 32 of them).
    let candidates = bits & ((1u64 << k) - 1);
    *active.candidates.entry(user).or_default() |= candidates as u32;
    if bits >> k & 1 != 0 {
        active.buyers.insert(user);
    }
}

/// Counts a week's distinct users (in all and per tracked event) from its open set, and drops
/// the set.
fn close_week(w: &mut WeekAcc) {
    let Some(active) = w.active.take() else {
        return;
    };
    w.users += active.candidates.len() as u64;
    w.purchase_users += active.buyers.len() as u64;
    for &bits in active.candidates.values() {
        // Only the bits set (a user fires few of the up to 32 candidates).
        let mut cand = bits;
        while cand != 0 {
            w.cand_users[cand.trailing_zeros() as usize] += 1;
            cand &= cand - 1;
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
mod tests;
