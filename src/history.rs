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

/// A platform whose learning-phase rule differs from the one the previous stored week used.
#[derive(Debug, Clone, Serialize)]
pub struct RuleChange {
    /// The platform.
    pub platform: PlatformId,
    /// The stored previous week.
    pub since: IsoWeek,
    /// The rule that week used.
    pub previous: StoredRule,
    /// The rule this week used.
    pub current: StoredRule,
    /// One sentence for people.
    pub message: String,
}

/// Each platform whose floor rule this run (`current`) differs from the one recorded in the
/// previous stored week (another rule, number, window, unit or basis, or the same rule checked
/// on another date). Weeks stored before rules were recorded (version 2 and older) say nothing.
pub fn rule_changes(current: &[Recommendation], previous: Option<&StoredWeek>) -> Vec<RuleChange> {
    let Some(prev) = previous else {
        return Vec::new();
    };
    current
        .iter()
        .filter_map(|r| {
            let old = prev.recommendation(r.platform)?.rule.clone()?;
            let now = StoredRule::of(&r.floor);
            old.changed_to(&now).then(|| RuleChange {
                platform: r.platform,
                since: prev.week,
                message: rule_message(r.platform, &old, &now),
                previous: old,
                current: now,
            })
        })
        .collect()
}

/// "rule changed since last week: Meta floor 50 → 25 results in 7 days (source, checked date)".
fn rule_message(platform: PlatformId, old: &StoredRule, now: &StoredRule) -> String {
    let n = |x: f64| crate::format::amount(x);
    let what = if old.days == now.days && old.events != now.events {
        format!(
            "{} → {} results in {} days",
            n(old.events),
            n(now.events),
            now.days
        )
    } else if old.events != now.events || old.days != now.days {
        format!(
            "{} results in {} days → {} in {} days",
            n(old.events),
            old.days,
            n(now.events),
            now.days
        )
    } else {
        format!("{} results in {} days", n(now.events), now.days)
    };
    let mut also = Vec::new();
    if old.unit != now.unit {
        also.push(format!(
            "per {} (was per {})",
            now.unit.noun(1.0),
            old.unit.noun(1.0)
        ));
    }
    if old.basis != now.basis {
        also.push(format!(
            "{} (was {})",
            basis_name(now.basis),
            basis_name(old.basis)
        ));
    }
    if old.id != now.id {
        let id = |i: &Option<String>| i.clone().unwrap_or_else(|| "configured".into());
        also.push(format!("rule {} (was {})", id(&now.id), id(&old.id)));
    }
    let also = if also.is_empty() {
        String::new()
    } else {
        format!(", {}", also.join(", "))
    };
    let checked = match (&old.checked, &now.checked) {
        (Some(a), Some(b)) if a != b => format!("checked {b}, was {a}"),
        (_, Some(b)) => format!("checked {b}"),
        _ => "not dated".into(),
    };
    let source = now.url.as_deref().unwrap_or("configured");
    format!(
        "rule changed since last week: {} floor {what}{also} ({source}, {checked})",
        platform.display_name()
    )
}

/// The rules file's word for a basis.
fn basis_name(b: FloorBasis) -> &'static str {
    match b {
        FloorBasis::Official => "official",
        FloorBasis::Assumption => "assumption",
        FloorBasis::Configured => "configured",
    }
}

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
    if !no_counts.is_empty() {
        out.notes.push(format!(
            "{} was stored in an older format without per-week purchaser counts: no precision test for {}",
            prev.week,
            no_counts.join(", ")
        ));
    }
    out.precision = precision;

    // Volume: this week against the previous one, with the dispersion of the earlier series.
    if !cur.complete {
        out.notes.push(format!(
            "{} is a partial week: its volume is not compared",
            cur.week
        ));
    } else {
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
        out.volume = volume;
        if short {
            out.notes.push(format!(
                "volume not tested where fewer than {MIN_DISPERSION_WEEKS} complete earlier weeks (stored or in the log) show its week-to-week noise"
            ));
        }
    }

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
            out.flags.push(FlagChange {
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

/// Loads the trail of one account from the store root `root`. Without `account`, the root must
/// hold exactly one account folder.
pub fn load_trail(
    root: &std::path::Path,
    account: Option<&str>,
    event: Option<&EventName>,
) -> Result<Trail, crate::store::StoreError> {
    use crate::store::{Store, StoreError};
    let store = match account {
        Some(a) => Store::new(root, a),
        None => {
            let mut dirs: Vec<String> = std::fs::read_dir(root)
                .map_err(|source| StoreError::Io {
                    action: "list",
                    path: root.to_path_buf(),
                    source,
                })?
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(String::from))
                .filter(|n| !n.starts_with('.'))
                .collect();
            dirs.sort();
            match dirs.as_slice() {
                [one] => Store::at(&root.join(one)),
                _ => {
                    return Err(StoreError::Parse {
                        path: root.to_path_buf(),
                        message: format!(
                            "{} account folders ({}): name one with --account",
                            dirs.len(),
                            dirs.join(", ")
                        ),
                    })
                }
            }
        }
    };
    let loaded = store.load_readable(None)?;
    for e in &loaded.unreadable {
        tracing::warn!("{e}; the trail goes on without that week (the file is left as it is)");
    }
    let weeks = loaded.weeks;
    let name = weeks
        .last()
        .map(|w| w.account.clone())
        .or_else(|| account.map(String::from))
        .unwrap_or_default();
    Ok(Trail::new(
        &name,
        store.dir().display().to_string(),
        &weeks,
        event,
    ))
}

/// One stored week in the trail.
#[derive(Debug, Clone, Serialize)]
pub struct TrailWeek {
    /// The week.
    pub week: IsoWeek,
    /// Format version of its file.
    pub schema_version: u32,
    /// Whether the data covered the whole week.
    pub complete: bool,
    /// Per platform: the standing recommendation, the week's best and whether it was held.
    pub recommendations: Vec<StoredRecommendation>,
    /// Per proxy (all, or the one asked for): the week's precision, interval, volume and flags.
    pub proxies: Vec<TrailProxy>,
}

/// One proxy in one week of the trail.
#[derive(Debug, Clone, Serialize)]
pub struct TrailProxy {
    /// The proxy.
    pub event: EventName,
    /// Precision of units that started that week.
    pub precision: Option<f64>,
    /// Its Wilson interval.
    pub precision_ci: Option<Interval>,
    /// Units with the proxy starting that week (feature before purchase).
    pub units_with: Option<u64>,
    /// Units with the event that week (anywhere in the unit).
    pub units: u64,
    /// Events that week.
    pub events: u64,
    /// Flags that week.
    pub flags: Vec<FlagKind>,
}

/// The weekly trail of one account (`optsignal history`).
#[derive(Debug, Clone, Serialize)]
pub struct Trail {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// Account name.
    pub account: String,
    /// The account's store folder.
    pub store: String,
    /// Stored weeks, oldest first.
    pub weeks: Vec<TrailWeek>,
}

impl Trail {
    /// Builds the trail from stored weeks, keeping only `event` when given.
    pub fn new(
        account: &str,
        store: String,
        weeks: &[StoredWeek],
        event: Option<&EventName>,
    ) -> Self {
        Trail {
            schema_version: 1,
            account: account.to_string(),
            store,
            weeks: weeks
                .iter()
                .map(|w| TrailWeek {
                    week: w.week,
                    schema_version: w.schema_version,
                    complete: w.complete,
                    recommendations: w.recommendations.clone(),
                    proxies: w
                        .proxies
                        .iter()
                        .filter(|p| event.is_none_or(|e| &p.event == e))
                        .map(|p| TrailProxy {
                            event: p.event.clone(),
                            precision: p.week.precision,
                            precision_ci: p.week.precision_ci,
                            units_with: p.week.with_proxy,
                            units: p.week.units,
                            events: p.week.events,
                            flags: p.flags.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The trail as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The trail as text tables: recommendations per week and platform, then per proxy the
    /// week's precision with its interval and its volume.
    pub fn to_table(&self) -> String {
        use comfy_table::presets::UTF8_BORDERS_ONLY;
        use comfy_table::{Cell, ContentArrangement, Table};
        let mut o = String::new();
        let _ = writeln!(
            o,
            "optsignal history — {} · {} in {}\n",
            self.account,
            crate::format::count(self.weeks.len() as u64, "stored week", "stored weeks"),
            self.store
        );
        if self.weeks.is_empty() {
            let _ = writeln!(
                o,
                "  nothing stored yet: run `optsignal recommend --save` (or set [store] enabled = true) once a week"
            );
            return o;
        }
        let mut platforms: Vec<PlatformId> = Vec::new();
        for w in &self.weeks {
            for r in &w.recommendations {
                if !platforms.contains(&r.platform) {
                    platforms.push(r.platform);
                }
            }
        }
        let new_table = |head: Vec<String>| {
            let mut t = Table::new();
            t.load_preset(UTF8_BORDERS_ONLY)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(head.into_iter().map(Cell::new));
            t
        };
        let _ = writeln!(
            o,
            "RECOMMENDATION PER WEEK (held = kept against a leader not yet confirmed)"
        );
        let mut head = vec!["week".to_string()];
        head.extend(platforms.iter().map(|p| p.display_name().to_string()));
        let mut t = new_table(head);
        for w in &self.weeks {
            let mut row = vec![format!("{}{}", w.week, if w.complete { "" } else { "*" })];
            for p in &platforms {
                let cell = match w.recommendations.iter().find(|r| r.platform == *p) {
                    None => "–".to_string(),
                    Some(r) => {
                        let ev = r
                            .event
                            .as_ref()
                            .map_or("nothing clears".into(), |e| e.to_string());
                        match (&r.best, r.held) {
                            (Some(b), true) => format!("{ev} (held; {b} leads {}w)", r.best_weeks),
                            _ => ev,
                        }
                    }
                };
                row.push(cell);
            }
            t.add_row(row);
        }
        let _ = writeln!(o, "{t}");
        let mut events: Vec<EventName> = Vec::new();
        for w in &self.weeks {
            for p in &w.proxies {
                if !events.contains(&p.event) {
                    events.push(p.event.clone());
                }
            }
        }
        let _ = writeln!(
            o,
            "\nPRECISION OF THE WEEK'S UNITS [interval] · units with the event (! = flagged)"
        );
        let mut head = vec!["week".to_string()];
        head.extend(events.iter().map(|e| e.to_string()));
        let mut t = new_table(head);
        for w in &self.weeks {
            let mut row = vec![w.week.to_string()];
            for e in &events {
                let cell = match w.proxies.iter().find(|p| &p.event == e) {
                    None => "–".to_string(),
                    Some(p) => {
                        let prec = p.precision.map_or("–".into(), percent);
                        let ci = p.precision_ci.map_or(String::new(), |c| {
                            format!(" [{}–{}]", percent(c.lo), percent(c.hi))
                        });
                        let flag = if p.flags.is_empty() { "" } else { " !" };
                        format!("{prec}{ci} · {}{flag}", p.units)
                    }
                };
                row.push(cell);
            }
            t.add_row(row);
        }
        let _ = writeln!(o, "{t}");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::EventCheck;

    fn ev(s: &str) -> Option<EventName> {
        EventName::new(s)
    }

    fn check(e: &str, clearance: f64) -> EventCheck {
        EventCheck {
            basis: crate::advise::CountBasis::SiteShare,
            event: EventName::new(e).unwrap(),
            per_unit_weekly: 100.0,
            per_unit_window: 100.0,
            clearance,
            clears: clearance >= 0.8,
            excluded: None,
            precision_adjusted: Some(0.2),
            lift_adjusted: Some(7.0),
            lift_adjusted_ci: Some(Interval::new(6.0, 8.0)),
            useful: true,
            score: 0.2 * clearance,
            exclusion: None,
            tracking_suspect_weeks: 0,
        }
    }

    /// A fresh recommendation whose best is `best`, with view_item's clearance `standing`.
    fn rec(best: &str, standing: f64) -> Recommendation {
        Recommendation {
            platform: PlatformId::Meta,
            event: ev(best),
            runner_up: None,
            per_unit_weekly: Some(120.0),
            floor: PlatformId::Meta.profile().floor,
            clearance: Some(1.0),
            reason: "fresh".into(),
            ad_sets: 1,
            attributed_share: 1.0,
            optimizing_on: ev("view_item"),
            change_needed: None,
            unlock: None,
            checks: vec![check("view_item", standing), check(best, 0.99)],
            best: ev(best),
            held: false,
            best_weeks: 1,
            verdict: None,
            lift_floor: 1.5,
            derived_weekly_needed: None,
            warnings: Vec::new(),
            budget: None,
        }
    }

    fn stored(r: &Recommendation) -> StoredRecommendation {
        StoredRecommendation {
            platform: r.platform,
            event: r.event.clone(),
            best: r.best.clone(),
            best_weeks: r.best_weeks,
            held: r.held,
            clearance: r.clearance,
            per_unit_weekly: r.per_unit_weekly,
            rule: Some(crate::store::StoredRule::of(&r.floor)),
        }
    }

    /// Hysteresis with the standing event's facts read from the recommendation itself.
    fn step(
        r: Recommendation,
        prev: Option<&StoredRecommendation>,
        n: u32,
    ) -> (Recommendation, RecommendationChange) {
        let facts = prev
            .and_then(|p| p.event.clone())
            .map(|s| standing_facts(&r, &s, &[], 0));
        apply_hysteresis(r, prev, n, facts.as_ref())
    }

    #[test]
    fn a_noisy_week_is_held_and_forgotten_and_a_steady_leader_switches() {
        let (w0, _) = step(rec("view_item", 0.99), None, 3);
        // Week 1: add_to_cart leads once; view_item is held.
        let (w1, c) = step(rec("add_to_cart", 0.99), Some(&stored(&w0)), 3);
        assert_eq!(c.status, RecommendationStatus::Held);
        assert_eq!(w1.event, ev("view_item"));
        assert!(w1
            .reason
            .starts_with("Holding view_item; add_to_cart leads for 1 of 3 weeks"));
        assert_eq!(w1.change_needed, Some(false));
        // Week 2: view_item is best again: kept, and the leader's count starts over.
        let (w2, c) = step(rec("view_item", 0.99), Some(&stored(&w1)), 3);
        assert_eq!(c.status, RecommendationStatus::Kept);
        // Weeks 3-5: add_to_cart leads three weeks in a row: held, held, switched.
        let mut prev = stored(&w2);
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let (w, c) = step(rec("add_to_cart", 0.99), Some(&prev), 3);
            statuses.push(c.status);
            prev = stored(&w);
        }
        use RecommendationStatus::*;
        assert_eq!(statuses, vec![Held, Held, Switched]);
        assert_eq!(prev.event, ev("add_to_cart"));
    }

    #[test]
    fn a_clearance_dip_is_held_and_a_collapse_replaces_at_once() {
        let (w0, _) = step(rec("view_item", 0.99), None, 2);
        // Below the band (0.2 < 0.5) but not collapsed: the dip goes through hysteresis.
        let (w, c) = step(rec("add_to_cart", 0.2), Some(&stored(&w0)), 2);
        assert_eq!(
            (c.status, w.event.clone()),
            (RecommendationStatus::Held, ev("view_item"))
        );
        // Collapsed (0.1 < 0.2): replaced at once, with the cause.
        let (w, c) = step(rec("add_to_cart", 0.1), Some(&stored(&w0)), 2);
        assert_eq!(c.status, RecommendationStatus::Replaced);
        assert_eq!(c.cause, Some(Cause::VolumeCollapse));
        assert_eq!(w.event, ev("add_to_cart"));
        assert!(
            c.message.contains("no longer clears its floor (clears 10%"),
            "{}",
            c.message
        );
    }

    #[test]
    fn a_tracking_suspect_is_held_with_a_warning() {
        let (w0, _) = step(rec("view_item", 0.99), None, 2);
        let fresh = rec("add_to_cart", 0.0);
        let mut facts = standing_facts(&fresh, &EventName::new("view_item").unwrap(), &[], 1);
        facts.flags = vec![FlagKind::TrackingBreak];
        let (w, c) = apply_hysteresis(fresh.clone(), Some(&stored(&w0)), 2, Some(&facts));
        assert_eq!(c.status, RecommendationStatus::HeldTracking);
        assert_eq!(w.event, ev("view_item"));
        assert!(w.held);
        assert!(
            w.reason
                .starts_with("Holding view_item: it is flagged tracking_break (1 of 2 weeks)"),
            "{}",
            w.reason
        );
        assert_eq!(
            w.warnings,
            vec![Warning::TrackingSuspect {
                event: EventName::new("view_item").unwrap(),
                weeks: 1,
                confirm_weeks: 2
            }]
        );
        // The second flagged week: the break lasts, the standing event is replaced.
        facts.tracking_weeks = 2;
        let (w, c) = apply_hysteresis(fresh, Some(&stored(&w0)), 2, Some(&facts));
        assert_eq!(
            (c.status, c.cause),
            (
                RecommendationStatus::Replaced,
                Some(Cause::LastingTrackingBreak)
            )
        );
        assert_eq!(w.event, ev("add_to_cart"));
    }
}
