//! Weekly memory: what changed since the last stored week, and hysteresis so that a
//! recommendation does not flip-flop on one noisy week.
//!
//! - **Hysteresis** ([`apply_hysteresis`], over the pure stage [`crate::core::hold`]): a new best
//!   event replaces the standing recommendation (last stored week's) only when it has been the
//!   best for `confirm_weeks` consecutive stored weeks, or the evidence against the standing event
//!   is overwhelming; a standing event under suspicion of a tracking break is held with a warning.
//! - **Changes** ([`changes`]): per platform, kept / held / switched and why; per proxy, a
//!   two-proportion z-test of this week's precision against the previous stored week's (units that
//!   started in each week), a quasi-Poisson test of its unit volume, and raised or cleared flags.
//!   Both tests are two-sided with Benjamini–Hochberg q-values across proxies, significant at
//!   q ≤ `alpha`.
//! - **Trail** ([`Trail`]): the stored weeks as a table or JSON for `optsignal history`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::advise::{Recommendation, Warning};
use crate::core::hold::{
    classify, hold, Cause, Hold, Overrides, Standing, StandingFacts, StandingState, Surge,
};
use crate::core::recommend::Exclusion;
use crate::evidence::ProxyEvidence;
use crate::flags::FlagKind;
use crate::format::{p_value, percent};
use crate::platform::{FloorBasis, PlatformId};
use crate::stats::drift::rate_ratio_test;
use crate::stats::fdr::benjamini_hochberg;
use crate::stats::interval::{normal_sf, two_proportion_z, wilson};
use crate::store::{StoredRecommendation, StoredRule, StoredWeek};
use crate::types::{EventName, Interval, IsoWeek};

/// What hysteresis did with one platform's recommendation (see [`crate::core::hold::Status`]).
pub use crate::core::hold::Status as RecommendationStatus;

/// One platform's recommendation against last week's.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendationChange {
    /// The platform.
    pub platform: PlatformId,
    /// Standing recommendation of the previous stored week.
    pub previous: Option<EventName>,
    /// This week's best before hysteresis.
    pub best: Option<EventName>,
    /// The recommendation after hysteresis.
    pub event: Option<EventName>,
    /// What happened.
    pub status: RecommendationStatus,
    /// Why the standing event was replaced at once (status `replaced`).
    pub cause: Option<Cause>,
    /// Consecutive stored weeks `best` has led, this one included.
    pub best_weeks: u32,
    /// Weeks a new best must lead to replace the standing one.
    pub confirm_weeks: u32,
    /// One sentence for people.
    pub message: String,
}

/// Consecutive stored weeks, ending with this one, in which `event` carried `tracking_break`, or
/// the trailing weeks of this run's data that the break damaged (`damaged`), whichever is more
/// (0 when it does not carry the flag this week).
pub fn tracking_weeks(
    event: &EventName,
    now: &[ProxyEvidence],
    earlier: &[StoredWeek],
    damaged: u32,
) -> u32 {
    let flagged_now = now
        .iter()
        .any(|e| &e.event == event && e.has(FlagKind::TrackingBreak));
    if !flagged_now {
        return 0;
    }
    let before = earlier
        .iter()
        .rev()
        .take_while(|w| {
            w.proxy(event)
                .is_some_and(|p| p.flags.contains(&FlagKind::TrackingBreak))
        })
        .count();
    (1 + before as u32).max(damaged)
}

/// The numbers of a `broken_surge` flag as the override thresholds read them; `None` when the
/// flag does not carry them.
fn surge_numbers(e: &ProxyEvidence) -> Option<Surge> {
    let f = e.flags.iter().find(|f| f.kind == FlagKind::BrokenSurge)?;
    let num = |k: &str| f.evidence.get(k).and_then(serde_json::Value::as_f64);
    let (before, after) = (num("precision_before")?, num("precision_after")?);
    Some(Surge {
        volume_p: num("volume_p")?,
        precision_p: num("precision_p")?,
        volume_ratio: num("volume_ratio")?,
        precision_ratio: if before > 0.0 { after / before } else { 1.0 },
    })
}

/// What is known this week about the standing event `standing` of `rec`.
pub fn standing_facts(
    rec: &Recommendation,
    standing: &EventName,
    evidence: &[ProxyEvidence],
    tracking_weeks: u32,
) -> StandingFacts {
    let check = rec.checks.iter().find(|c| &c.event == standing);
    let e = evidence.iter().find(|e| &e.event == standing);
    StandingFacts {
        // Without any floor check (no complete week) nothing can be judged: keep it.
        present: check.is_some() || rec.checks.is_empty(),
        usable_on_platform: !check.is_some_and(|c| {
            matches!(
                c.exclusion,
                Some(Exclusion::NotOptimizable | Exclusion::NotCounted(_))
            )
        }),
        flags: e.map_or(Vec::new(), |e| e.flags.iter().map(|f| f.kind).collect()),
        surge: e.and_then(surge_numbers),
        lift_ci: check.and_then(|c| c.lift_adjusted_ci),
        clearance: check.map_or(1.0, |c| c.clearance),
        tracking_weeks,
    }
}

/// Applies hysteresis ([`crate::core::hold`]) to one platform's fresh recommendation, given the
/// previous stored week's record for that platform and the standing event's facts this week;
/// returns the recommendation after hysteresis and what was done. When the standing event is
/// held, the result carries it as `event`, `held`, its volume and clearance, `runner_up` (= the
/// leader), `change_needed` and a reason that starts with "Holding X".
pub fn apply_hysteresis(
    rec: Recommendation,
    prev: Option<&StoredRecommendation>,
    confirm_weeks: u32,
    facts: Option<&StandingFacts>,
) -> (Recommendation, RecommendationChange) {
    let standing = prev.map(|p| Standing {
        event: p.event.clone(),
        best: p.best.clone(),
        best_weeks: p.best_weeks,
    });
    let state = facts.map_or(StandingState::Ordinary, |f| {
        classify(f, &Overrides::default())
    });
    let h = hold(rec.best.as_ref(), standing.as_ref(), state, confirm_weeks);
    let change = RecommendationChange {
        platform: rec.platform,
        previous: prev.and_then(|p| p.event.clone()),
        best: rec.best.clone(),
        event: h.event.clone(),
        status: h.status,
        cause: h.cause,
        best_weeks: h.best_weeks,
        confirm_weeks,
        message: change_message(&h, &rec, prev, confirm_weeks, facts),
    };
    let mut out = rec;
    out.best_weeks = h.best_weeks;
    if matches!(
        h.status,
        RecommendationStatus::Held | RecommendationStatus::HeldTracking
    ) {
        out = held(out, &h, confirm_weeks, facts);
    }
    (out, change)
}

/// The fresh recommendation turned into "hold the standing event".
fn held(
    rec: Recommendation,
    h: &Hold,
    confirm_weeks: u32,
    facts: Option<&StandingFacts>,
) -> Recommendation {
    let Some(standing) = h.event.clone() else {
        return rec;
    };
    let mut out = rec;
    if let Some(c) = out.checks.iter().find(|c| c.event == standing) {
        out.per_unit_weekly = Some(c.per_unit_weekly);
        out.clearance = Some(c.clearance);
    }
    let leader = name(&out.best);
    let k = h.best_weeks;
    out.reason = if h.status == RecommendationStatus::HeldTracking {
        let weeks = facts.map_or(1, |f| f.tracking_weeks.max(1));
        out.warnings.push(Warning::TrackingSuspect {
            event: standing.clone(),
            weeks,
            confirm_weeks,
        });
        format!(
            "Holding {standing}: it is flagged tracking_break ({weeks} of {confirm_weeks} weeks), so its counts this week are not trusted and the recommendation does not move on them; check the {standing} tag. A break that lasts {confirm_weeks} weeks replaces it. This week's analysis: {}",
            out.reason
        )
    } else {
        format!(
            "Holding {standing}; {leader} leads for {k} of {confirm_weeks} weeks (changing the optimization event restarts learning, so a new leader must confirm first). This week's analysis: {}",
            out.reason
        )
    };
    out.runner_up = out.best.clone();
    out.event = Some(standing.clone());
    out.held = true;
    out.unlock = None;
    out.change_needed = out.optimizing_on.as_ref().map(|t| t != &standing);
    out
}

fn name(e: &Option<EventName>) -> String {
    e.as_ref().map_or("nothing".to_string(), |e| e.to_string())
}

/// The one-sentence message of what hysteresis did.
fn change_message(
    h: &Hold,
    rec: &Recommendation,
    prev: Option<&StoredRecommendation>,
    confirm_weeks: u32,
    facts: Option<&StandingFacts>,
) -> String {
    use RecommendationStatus::*;
    let best = name(&rec.best);
    let standing = name(&prev.and_then(|p| p.event.clone()));
    let k = h.best_weeks;
    match h.status {
        FirstWeek => format!("{best}: no stored week before this one, so this week's best stands"),
        New if rec.best.is_some() => {
            format!("nothing cleared last week; {best} clears now and is taken at once")
        }
        New => "nothing useful clears, as last week".into(),
        Kept => format!(
            "{standing} stays the best event ({} in a row)",
            crate::format::count(u64::from(k), "week", "weeks")
        ),
        Held => format!("holding {standing}; {best} leads for {k} of {confirm_weeks} weeks"),
        HeldTracking => format!(
            "holding {standing}: flagged tracking_break for {} of {confirm_weeks} weeks, its counts are not trusted; {best} leads",
            facts.map_or(1, |f| f.tracking_weeks.max(1))
        ),
        Switched => format!("{best} has led for {k} of {confirm_weeks} weeks: it replaces {standing}"),
        Replaced => format!(
            "{standing} {}: replaced by {best} at once",
            cause_text(h.cause, rec, prev, confirm_weeks)
        ),
    }
}

fn cause_text(
    cause: Option<Cause>,
    rec: &Recommendation,
    prev: Option<&StoredRecommendation>,
    confirm_weeks: u32,
) -> String {
    let check = prev
        .and_then(|p| p.event.as_ref())
        .and_then(|s| rec.checks.iter().find(|c| &c.event == s));
    match cause {
        Some(Cause::NotCandidate) => "is no longer a candidate".into(),
        Some(Cause::NotUsable) => format!(
            "can no longer be used ({})",
            check.and_then(|c| c.excluded.clone()).unwrap_or_default()
        ),
        Some(Cause::Leaky) => "is flagged leaky (it fires after purchase)".into(),
        Some(Cause::BrokenSurge) => "is flagged broken_surge beyond doubt (both tests p ≤ 1e-4, volume ≥ 2×, precision ≤ half)".into(),
        Some(Cause::BelowLiftFloor) => format!(
            "has its whole lift interval below {:.1}{}",
            rec.lift_floor,
            check
                .and_then(|c| c.lift_adjusted_ci)
                .map_or(String::new(), |i| format!(" ([{:.2}, {:.2}])", i.lo, i.hi))
        ),
        Some(Cause::VolumeCollapse) => format!(
            "no longer clears its floor (clears {} of windows)",
            percent(check.map_or(0.0, |c| c.clearance))
        ),
        Some(Cause::LastingTrackingBreak) => {
            format!("has been flagged tracking_break for {confirm_weeks} weeks: the break lasts")
        }
        None => "is unusable".into(),
    }
}

/// One week's precision of a proxy as compared.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WeekPrecision {
    /// The week.
    pub week: IsoWeek,
    /// Units starting that week that purchased, among those with the proxy.
    pub purchasers: u64,
    /// Units starting that week with the proxy.
    pub units: u64,
    /// purchasers / units.
    pub precision: f64,
    /// Wilson interval.
    pub ci: Option<Interval>,
}

/// A proxy's precision this week against the previous stored week.
#[derive(Debug, Clone, Serialize)]
pub struct PrecisionChange {
    /// The proxy.
    pub event: EventName,
    /// Previous stored week.
    pub previous: WeekPrecision,
    /// This week.
    pub current: WeekPrecision,
    /// The test: pooled two-proportion z-test, two-sided.
    pub test: &'static str,
    /// z statistic (previous − current; positive when precision fell).
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value across the proxies compared.
    pub q_value: f64,
    /// q ≤ alpha.
    pub significant: bool,
}

/// A proxy's unit volume this week against the previous stored week.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeChange {
    /// The proxy.
    pub event: EventName,
    /// Units with the event in the previous stored week.
    pub previous_units: u64,
    /// Units with the event this week.
    pub current_units: u64,
    /// current / previous.
    pub ratio: f64,
    /// The test: quasi-Poisson rate-ratio z-test, two-sided.
    pub test: &'static str,
    /// Dispersion φ ≥ 1 from the earlier weekly series (`dispersion_weeks` weeks).
    pub dispersion: f64,
    /// Weeks the dispersion was estimated from (stored weeks and the log's complete weeks).
    pub dispersion_weeks: usize,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value across the proxies compared.
    pub q_value: f64,
    /// q ≤ alpha.
    pub significant: bool,
}

/// Flags a proxy gained or lost since the previous stored week.
#[derive(Debug, Clone, Serialize)]
pub struct FlagChange {
    /// The proxy.
    pub event: EventName,
    /// Flags it has now and did not have.
    pub raised: Vec<FlagKind>,
    /// Flags it had and has no more.
    pub cleared: Vec<FlagKind>,
}

/// "Changes since last week": this week against the previous stored week.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Changes {
    /// This run's week (the last week of the analysed data).
    pub week: Option<IsoWeek>,
    /// The previous stored week compared with, if any.
    pub previous_week: Option<IsoWeek>,
    /// The account's store folder.
    pub store: String,
    /// Stored weeks before this one.
    pub stored_weeks: usize,
    /// Per platform, kept / held / switched / replaced and why.
    pub recommendations: Vec<RecommendationChange>,
    /// Per proxy with counts in both weeks, the precision test.
    pub precision: Vec<PrecisionChange>,
    /// Per proxy with volume in both weeks, the volume test.
    pub volume: Vec<VolumeChange>,
    /// Proxies whose flags changed.
    pub flags: Vec<FlagChange>,
    /// What could not be compared, and why.
    pub notes: Vec<String>,
    /// Learning-phase rules used this week that differ from the ones the previous stored week
    /// used (empty when none changed or the previous week did not record its rules).
    pub rules: Vec<RuleChange>,
}

mod rules;
pub use rules::*;

/// Most earlier weeks used to estimate the week-to-week dispersion of a proxy's volume.
pub const DISPERSION_WEEKS: usize = 8;
/// Fewest earlier weeks for a dispersion estimate: with fewer, ordinary traffic swings would
/// pass for shifts, so volume is not tested.
pub const MIN_DISPERSION_WEEKS: usize = 4;

/// Compares this week (`current`, built from this run) with the last of `earlier` (stored weeks
/// before it, oldest first). `log_weeks` adds the log's own complete weeks (week, per-candidate
/// units) to the series the volume dispersion is estimated from.
pub fn changes(
    current: Option<&StoredWeek>,
    earlier: &[StoredWeek],
    log_weeks: &[(IsoWeek, Vec<(EventName, u64)>)],
    recommendations: Vec<RecommendationChange>,
    alpha: f64,
    confidence: f64,
    store: String,
) -> Changes {
    let mut out = Changes {
        week: current.map(|c| c.week),
        previous_week: earlier.last().map(|p| p.week),
        store,
        stored_weeks: earlier.len(),
        recommendations,
        ..Changes::default()
    };
    let (Some(cur), Some(prev)) = (current, earlier.last()) else {
        out.notes.push(match current {
            None => "no week in the data to compare".into(),
            Some(c) => format!(
                "no stored week before {} in {}: nothing to compare yet (save weeks with --save or [store] enabled = true)",
                c.week, out.store
            ),
        });
        return out;
    };
    let (precision, note) = precision_changes(cur, prev, alpha, confidence);
    out.precision = precision;
    out.notes.extend(note);
    // Volume: this week against the previous one, with the dispersion of the earlier series.
    if cur.complete {
        let (volume, note) = volume_changes(cur, prev, earlier, log_weeks, alpha);
        out.volume = volume;
        out.notes.extend(note);
    } else {
        out.notes.push(format!(
            "{} is a partial week: its volume is not compared",
            cur.week
        ));
    }
    out.flags = flag_changes(cur, prev);
    out
}

/// Each proxy's precision this week against the previous stored week (a two-proportion test,
/// Benjamini–Hochberg across proxies), and a note naming those an older store format leaves
/// without counts.
fn precision_changes(
    cur: &StoredWeek,
    prev: &StoredWeek,
    alpha: f64,
    confidence: f64,
) -> (Vec<PrecisionChange>, Option<String>) {
    let mut precision = Vec::new();
    let mut no_counts = Vec::new();
    for p in &cur.proxies {
        let Some(q) = prev.proxy(&p.event) else {
            continue;
        };
        let counts = |w: &crate::store::ProxyWeek| w.purchasers.zip(w.with_proxy);
        let (Some((y1, n1)), Some((y2, n2))) = (counts(&q.week), counts(&p.week)) else {
            no_counts.push(p.event.to_string());
            continue;
        };
        let Some(z) = two_proportion_z(y1, n1, y2, n2) else {
            continue;
        };
        let wp = |week, y: u64, n: u64| WeekPrecision {
            week,
            purchasers: y,
            units: n,
            precision: y as f64 / n as f64,
            ci: wilson(y, n, confidence),
        };
        precision.push(PrecisionChange {
            event: p.event.clone(),
            previous: wp(prev.week, y1, n1),
            current: wp(cur.week, y2, n2),
            test: "pooled two-proportion z-test (two-sided)",
            z: z.z,
            p_value: z.p_two_sided,
            q_value: 1.0,
            significant: false,
        });
    }
    let qs = benjamini_hochberg(
        &precision
            .iter()
            .map(|c| Some(c.p_value))
            .collect::<Vec<_>>(),
    );
    for (c, q) in precision.iter_mut().zip(qs) {
        c.q_value = q.unwrap_or(1.0);
        c.significant = c.q_value <= alpha;
    }
    let note = (!no_counts.is_empty()).then(|| {
        format!(
            "{} was stored in an older format without per-week purchaser counts: no precision test for {}",
            prev.week,
            no_counts.join(", ")
        )
    });
    (precision, note)
}

/// Each proxy's units this week against the previous stored week: a quasi-Poisson rate-ratio
/// test whose dispersion comes from the earlier complete weeks (stored or in the log), with a
/// note when too few of them show the noise.
fn volume_changes(
    cur: &StoredWeek,
    prev: &StoredWeek,
    earlier: &[StoredWeek],
    log_weeks: &[(IsoWeek, Vec<(EventName, u64)>)],
    alpha: f64,
) -> (Vec<VolumeChange>, Option<String>) {
    let mut series: BTreeMap<IsoWeek, BTreeMap<EventName, u64>> = BTreeMap::new();
    for w in earlier.iter().filter(|w| w.complete) {
        let m = series.entry(w.week).or_default();
        for p in &w.proxies {
            m.insert(p.event.clone(), p.week.units);
        }
    }
    for (week, units) in log_weeks.iter().filter(|(w, _)| *w < prev.week) {
        let m = series.entry(*week).or_default();
        for (e, u) in units {
            m.insert(e.clone(), *u);
        }
    }
    let mut volume = Vec::new();
    let mut short = false;
    for p in &cur.proxies {
        let Some(q) = prev.proxy(&p.event) else {
            continue;
        };
        let (u1, u2) = (q.week.units, p.week.units);
        if u1 == 0 || u2 == 0 {
            continue;
        }
        // Series up to and including the previous week, the last DISPERSION_WEEKS of them.
        let hist: Vec<f64> = series
            .range(..=prev.week)
            .filter_map(|(_, m)| m.get(&p.event).map(|&u| u as f64))
            .collect();
        let hist = &hist[hist.len().saturating_sub(DISPERSION_WEEKS)..];
        if hist.len() < MIN_DISPERSION_WEEKS {
            short = true;
            continue;
        }
        let dispersion = rate_ratio_test(&[1.0], hist).map_or(1.0, |t| t.dispersion);
        let ratio = u2 as f64 / u1 as f64;
        let z = ratio.ln() / (dispersion * (1.0 / u1 as f64 + 1.0 / u2 as f64)).sqrt();
        volume.push(VolumeChange {
            event: p.event.clone(),
            previous_units: u1,
            current_units: u2,
            ratio,
            test: "quasi-Poisson rate-ratio z-test (two-sided)",
            dispersion,
            dispersion_weeks: hist.len(),
            p_value: (2.0 * normal_sf(z.abs())).min(1.0),
            q_value: 1.0,
            significant: false,
        });
    }
    let qs = benjamini_hochberg(&volume.iter().map(|c| Some(c.p_value)).collect::<Vec<_>>());
    for (c, q) in volume.iter_mut().zip(qs) {
        c.q_value = q.unwrap_or(1.0);
        c.significant = c.q_value <= alpha;
    }
    let note = short.then(|| {
        format!(
            "volume not tested where fewer than {MIN_DISPERSION_WEEKS} complete earlier weeks (stored or in the log) show its week-to-week noise"
        )
    });
    (volume, note)
}

/// The flags each proxy raised or cleared since the previous stored week.
fn flag_changes(cur: &StoredWeek, prev: &StoredWeek) -> Vec<FlagChange> {
    let mut out = Vec::new();
    for p in &cur.proxies {
        let before: Vec<FlagKind> = prev.proxy(&p.event).map_or(Vec::new(), |q| q.flags.clone());
        let raised: Vec<FlagKind> = p
            .flags
            .iter()
            .filter(|f| !before.contains(f))
            .copied()
            .collect();
        let cleared: Vec<FlagKind> = before
            .iter()
            .filter(|f| !p.flags.contains(f))
            .copied()
            .collect();
        if !raised.is_empty() || !cleared.is_empty() {
            out.push(FlagChange {
                event: p.event.clone(),
                raised,
                cleared,
            });
        }
    }
    out
}

/// The log's complete weeks as (week, per-candidate units) for [`changes`].
pub fn log_week_units(evidence: &[ProxyEvidence]) -> Vec<(IsoWeek, Vec<(EventName, u64)>)> {
    let Some(first) = evidence.first() else {
        return Vec::new();
    };
    (0..first.weekly.len())
        .filter(|&i| first.weekly[i].complete)
        .map(|i| {
            (
                first.weekly[i].week,
                evidence
                    .iter()
                    .filter_map(|e| e.weekly.get(i).map(|w| (e.event.clone(), w.units)))
                    .collect(),
            )
        })
        .collect()
}

/// Lines of the "changes since last week" section for people (no header).
pub fn describe(c: &Changes) -> Vec<String> {
    let mut lines: Vec<String> = c.rules.iter().map(|r| r.message.clone()).collect();
    for r in &c.recommendations {
        lines.push(format!("{}: {}", r.platform.display_name(), r.message));
    }
    let moved: Vec<&PrecisionChange> = c.precision.iter().filter(|x| x.significant).collect();
    for x in &moved {
        let dir = if x.current.precision < x.previous.precision {
            "fell"
        } else {
            "rose"
        };
        let ci = |w: &WeekPrecision| {
            w.ci.map_or(String::new(), |i| {
                format!(" [{}–{}]", percent(i.lo), percent(i.hi))
            })
        };
        lines.push(format!(
            "{} precision {dir} from {}{} ({} of {}) in {} to {}{} ({} of {}) in {} ({}, p {}, q {})",
            x.event,
            percent(x.previous.precision),
            ci(&x.previous),
            x.previous.purchasers,
            x.previous.units,
            x.previous.week,
            percent(x.current.precision),
            ci(&x.current),
            x.current.purchasers,
            x.current.units,
            x.current.week,
            x.test,
            p_value(x.p_value),
            p_value(x.q_value)
        ));
    }
    if !c.precision.is_empty() && moved.len() < c.precision.len() {
        let other = if moved.is_empty() { "" } else { " other" };
        lines.push(format!(
            "precision of {}{other} {}: no significant change",
            c.precision.len() - moved.len(),
            crate::format::noun((c.precision.len() - moved.len()) as u64, "proxy", "proxies")
        ));
    }
    let shifted: Vec<&VolumeChange> = c.volume.iter().filter(|x| x.significant).collect();
    for x in &shifted {
        lines.push(format!(
            "{} volume {:.2}× ({} → {} units; {}, dispersion {:.1} from {} weeks, p {})",
            x.event,
            x.ratio,
            x.previous_units,
            x.current_units,
            x.test,
            x.dispersion,
            x.dispersion_weeks,
            p_value(x.p_value)
        ));
    }
    if !c.volume.is_empty() && shifted.len() < c.volume.len() {
        let other = if shifted.is_empty() { "" } else { " other" };
        lines.push(format!(
            "volume of {}{other} {}: within week-to-week noise",
            c.volume.len() - shifted.len(),
            crate::format::noun((c.volume.len() - shifted.len()) as u64, "proxy", "proxies")
        ));
    }
    for f in &c.flags {
        let names = |v: &[FlagKind]| v.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
        let mut parts = Vec::new();
        if !f.raised.is_empty() {
            parts.push(format!("newly flagged {}", names(&f.raised)));
        }
        if !f.cleared.is_empty() {
            parts.push(format!("no longer {}", names(&f.cleared)));
        }
        lines.push(format!("{}: {}", f.event, parts.join("; ")));
    }
    lines.extend(c.notes.iter().cloned());
    lines
}

mod trail;
pub use trail::*;

#[cfg(test)]
mod tests;
