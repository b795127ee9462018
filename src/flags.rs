//! Proxy flags: the ways a micro-conversion stops being a good optimization signal, each with the
//! numbers that triggered it.
//!
//! - `not_predictive`: the odds-ratio interval (segment-adjusted when estimable, raw otherwise) or
//!   the lift interval reaches down to 1 or below.
//! - `broken_surge` (the sweepstakes pattern): over the last `surge_weeks` complete weeks the
//!   proxy's unit volume rose significantly against the earlier complete weeks (quasi-Poisson
//!   rate-ratio z-test, one-sided) **and** its precision fell significantly (pooled
//!   two-proportion z-test, one-sided), both at `alpha`.
//! - `leaky`: the proxy fires mostly after purchase (more than half of the purchasing units that
//!   have it fire it only after buying), or precision and recall are both ≥ 0.95 — too good to be
//!   a cause, probably a consequence.
//! - `tracking_break`: the proxy's volume relative to purchases collapsed: its share of
//!   proxy-units among proxy-units + purchasing units fell significantly (two-proportion z-test)
//!   to less than half of the baseline ratio.
//! - `insufficient_data`: fewer than `min_units` units with the proxy, or fewer than 10
//!   purchasing units in all, or its effect is not estimable.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::AnalysisSettings;
use crate::evidence::{Estimability, ProxyEvidence};
use crate::format::{p_value, percent};
use crate::observe::Observations;
use crate::stats::drift::rate_ratio_test;
use crate::stats::interval::two_proportion_z;
use crate::store::StoredWeek;
use crate::types::IsoWeek;

pub use crate::core::flag::FlagKind;

/// A raised flag with its explanation and the numbers behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Flag {
    /// What kind.
    pub kind: FlagKind,
    /// One sentence for people, with the key numbers.
    pub message: String,
    /// The numbers and test names that triggered the flag.
    pub evidence: BTreeMap<String, Value>,
}

fn flag(kind: FlagKind, message: String, evidence: Value) -> Flag {
    let evidence = match evidence {
        Value::Object(m) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    Flag {
        kind,
        message,
        evidence,
    }
}

/// "= 0.012" or "< 1e-16", to follow "p".
fn p_eq(p: f64) -> String {
    let t = p_value(p);
    if t.starts_with('<') {
        t
    } else {
        format!("= {t}")
    }
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// One week of a proxy's drift series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriftWeek {
    /// The ISO week.
    pub week: IsoWeek,
    /// Units starting that week in which the proxy fired (its volume).
    pub volume: u64,
    /// Units starting that week with the proxy as a feature (precision denominator).
    pub with_proxy: u64,
    /// Of those, units that purchased within the label window.
    pub purchasers: u64,
    /// Units starting that week with a purchase in the unit.
    pub purchase_units: u64,
    /// Whether the week comes from the model store (before the log starts).
    pub stored: bool,
}

/// The complete weeks of candidate `j` for the drift flags: stored weeks from before the log's
/// first week (a longer baseline than one log), then the log's own complete weeks.
///
/// Stored weeks keep their labels as known when they were stored, so their precision can run a
/// little low; that makes a "precision fell" verdict harder to reach, never easier.
pub fn drift_series(obs: &Observations, j: usize, prior: &[StoredWeek]) -> Vec<DriftWeek> {
    let event = &obs.candidates[j];
    let first_log_week = obs.weeks.first().map(|w| w.week);
    let mut out: Vec<DriftWeek> = prior
        .iter()
        .filter(|w| w.complete && first_log_week.is_some_and(|f| w.week < f))
        .filter_map(|w| {
            let p = w.proxy(event)?;
            Some(DriftWeek {
                week: w.week,
                volume: p.week.units,
                with_proxy: p.week.with_proxy?,
                purchasers: p.week.purchasers?,
                purchase_units: w.site?.purchase_units,
                stored: true,
            })
        })
        .collect();
    out.sort_by_key(|w| w.week);
    out.dedup_by_key(|w| w.week);
    let bit = 1u32 << j;
    for (i, w) in obs.weeks.iter().enumerate().filter(|(_, w)| w.complete) {
        let (y, n) = obs
            .patterns
            .iter()
            .filter(|p| p.week as usize == i && p.mask & bit != 0)
            .fold((0, 0), |(y, n), p| (y + p.purchasers, n + p.units));
        out.push(DriftWeek {
            week: w.week,
            volume: w.candidates[j].units,
            with_proxy: n,
            purchasers: y,
            purchase_units: w.purchase.units,
            stored: false,
        });
    }
    out
}

/// Splits a series into (baseline, recent): the last `surge_weeks` weeks are recent; `None` when
/// fewer than two baseline weeks remain.
fn split(series: &[DriftWeek], surge_weeks: u32) -> Option<(&[DriftWeek], &[DriftWeek])> {
    let r = surge_weeks as usize;
    (series.len() >= r + 2).then(|| series.split_at(series.len() - r))
}

/// Adds flags to every proxy's evidence; `prior` are stored weeks from the model store, which
/// lengthen the drift flags' baseline.
pub fn assess(
    obs: &Observations,
    evidence: &mut [ProxyEvidence],
    a: &AnalysisSettings,
    prior: &[StoredWeek],
) {
    let total_purchasers: u64 = evidence.first().map_or(0, |e| e.a + e.c);
    for (j, e) in evidence.iter_mut().enumerate() {
        let series = drift_series(obs, j, prior);
        let mut flags = Vec::new();
        if let Some(f) = insufficient(e, a, total_purchasers) {
            flags.push(f);
        }
        if let Some(f) = not_predictive(e, a) {
            flags.push(f);
        }
        if let Some(f) = leaky(e) {
            flags.push(f);
        }
        if let Some((base, recent)) = split(&series, a.surge_weeks) {
            if let Some(f) = broken_surge(e, base, recent, a) {
                flags.push(f);
            }
            if let Some(f) = tracking_break(e, base, recent, a) {
                flags.push(f);
            }
        }
        e.flags = flags;
    }
}

fn insufficient(e: &ProxyEvidence, a: &AnalysisSettings, purchasers: u64) -> Option<Flag> {
    let with = e.units_with();
    if with < a.min_units {
        return Some(flag(
            FlagKind::InsufficientData,
            format!(
                "only {with} units with {} (need {} for a verdict)",
                e.event, a.min_units
            ),
            json!({"units_with_proxy": with, "min_units": a.min_units}),
        ));
    }
    if purchasers < 10 {
        return Some(flag(
            FlagKind::InsufficientData,
            format!("only {purchasers} purchasing units in the data (need 10)"),
            json!({"purchasing_units": purchasers}),
        ));
    }
    if let Estimability::NotEstimable { reason } = &e.estimability {
        return Some(flag(
            FlagKind::InsufficientData,
            format!("not estimable: {reason}"),
            json!({"units_with_proxy": with, "units_without_proxy": e.c + e.d}),
        ));
    }
    None
}

fn not_predictive(e: &ProxyEvidence, a: &AnalysisSettings) -> Option<Flag> {
    let pct = (a.confidence * 100.0).round();
    let lift_weak = e.lift_ci.is_some_and(|l| l.lo <= 1.0);
    let lift_txt = match (e.lift, e.lift_ci) {
        (Some(l), Some(c)) => format!("lift {:.2} [{:.2}, {:.2}]", l, c.lo, c.hi),
        _ => String::new(),
    };
    // A (nearly) constant proxy has no meaningful odds ratio: judge it by its lift alone.
    if let Estimability::NotEstimable { .. } = e.estimability {
        if !lift_weak {
            return None;
        }
        return Some(flag(
            FlagKind::NotPredictive,
            format!("{lift_txt} ({pct}% interval): buyers are no more common among units with it"),
            json!({"lift": e.lift.map(r3), "lift_ci": e.lift_ci.map(|c| [r3(c.lo), r3(c.hi)])}),
        ));
    }
    let (or, ci, which) = match &e.adjusted {
        Some(m) if !m.adjusted_for.is_empty() => {
            (m.odds_ratio, m.odds_ratio_ci, "segment-adjusted odds ratio")
        }
        Some(m) => (m.odds_ratio, m.odds_ratio_ci, "odds ratio"),
        None => (e.odds_ratio?, e.odds_ratio_ci?, "odds ratio"),
    };
    if !(ci.lo <= 1.0 || lift_weak) {
        return None;
    }
    let lift_txt = if lift_txt.is_empty() {
        lift_txt
    } else {
        format!(", {lift_txt}")
    };
    Some(flag(
        FlagKind::NotPredictive,
        format!(
            "{which} {:.2} with {pct}% interval [{:.2}, {:.2}]{lift_txt}: no evidence it predicts purchase",
            or, ci.lo, ci.hi
        ),
        json!({
            "odds_ratio": r3(or), "odds_ratio_ci": [r3(ci.lo), r3(ci.hi)], "odds_ratio_kind": which,
            "lift": e.lift.map(r3), "lift_ci": e.lift_ci.map(|c| [r3(c.lo), r3(c.hi)]),
        }),
    ))
}

fn leaky(e: &ProxyEvidence) -> Option<Flag> {
    let o = e.ordering;
    let both = o.before_purchase + o.after_purchase_only;
    if o.after_purchase_only >= 5 && o.after_purchase_only * 2 > both {
        let share = o.after_purchase_only as f64 / both as f64;
        return Some(flag(
            FlagKind::Leaky,
            format!(
                "fires only after the purchase in {} of {} purchasing units that have it ({:.0}%): a consequence of buying, not a signal before it",
                o.after_purchase_only, both, share * 100.0
            ),
            json!({"after_purchase_only": o.after_purchase_only, "before_purchase": o.before_purchase, "share_after": r3(share)}),
        ));
    }
    match (e.precision, e.recall) {
        (Some(p), Some(r)) if p >= 0.95 && r >= 0.95 && e.a >= 10 => Some(flag(
            FlagKind::Leaky,
            format!("precision {:.2} and recall {:.2}: too good to be true, check that it does not fire with or after purchase", p, r),
            json!({"precision": r3(p), "recall": r3(r)}),
        )),
        _ => None,
    }
}

/// Adds the baseline's description to a flag's evidence: its weeks, how many came from the
/// model store, and its first week (flat keys, so every renderer can print them).
fn with_baseline(mut evidence: Value, base: &[DriftWeek]) -> Value {
    if let Value::Object(m) = &mut evidence {
        m.insert("baseline_weeks".into(), json!(base.len()));
        m.insert(
            "baseline_from_store".into(),
            json!(base.iter().filter(|w| w.stored).count()),
        );
        m.insert(
            "baseline_first_week".into(),
            json!(base.first().map(|w| w.week.to_string())),
        );
    }
    evidence
}

fn broken_surge(
    e: &ProxyEvidence,
    base: &[DriftWeek],
    recent: &[DriftWeek],
    a: &AnalysisSettings,
) -> Option<Flag> {
    let vol = |w: &[DriftWeek]| -> Vec<f64> { w.iter().map(|x| x.volume as f64).collect() };
    let rate = rate_ratio_test(&vol(recent), &vol(base))?;
    let sums = |w: &[DriftWeek]| {
        w.iter()
            .fold((0, 0), |(y, n), x| (y + x.purchasers, n + x.with_proxy))
    };
    let (yb, nb) = sums(base);
    let (yr, nr) = sums(recent);
    let z = two_proportion_z(yb, nb, yr, nr)?;
    if !(rate.p_increase < a.alpha && z.p_greater < a.alpha) {
        return None;
    }
    let (pb, pr) = (yb as f64 / nb as f64, yr as f64 / nr as f64);
    let first_recent = recent[0].week;
    Some(flag(
        FlagKind::BrokenSurge,
        format!(
            "since {first_recent}, {} volume is {:.1}x its earlier weekly level (quasi-Poisson rate-ratio test p {}) while its precision fell from {} to {} (two-proportion z-test p {}): the extra events are not buyers",
            e.event, rate.ratio, p_eq(rate.p_increase), percent(pb), percent(pr), p_eq(z.p_greater)
        ),
        with_baseline(json!({
            "since_week": first_recent.to_string(),
            "volume_ratio": r3(rate.ratio), "volume_test": "quasi-Poisson rate-ratio z-test (one-sided, increase)",
            "volume_p": rate.p_increase, "dispersion": r3(rate.dispersion),
            "precision_before": r3(pb), "precision_after": r3(pr),
            "precision_test": "two-proportion z-test (one-sided, decrease)", "precision_p": z.p_greater,
        }), base),
    ))
}

fn tracking_break(
    e: &ProxyEvidence,
    base: &[DriftWeek],
    recent: &[DriftWeek],
    a: &AnalysisSettings,
) -> Option<Flag> {
    let sums = |w: &[DriftWeek]| {
        w.iter().fold((0u64, 0u64), |(x, p), d| {
            (x + d.volume, p + d.purchase_units)
        })
    };
    let (xb, pb) = sums(base);
    let (xr, pr) = sums(recent);
    if pb == 0 || pr == 0 || xb == 0 {
        return None;
    }
    let (rb, rr) = (xb as f64 / pb as f64, xr as f64 / pr as f64);
    let z = two_proportion_z(xb, xb + pb, xr, xr + pr)?;
    if !(rr < 0.5 * rb && z.p_greater < a.alpha) {
        return None;
    }
    Some(flag(
        FlagKind::TrackingBreak,
        format!(
            "{} per purchasing unit fell from {:.2} to {:.2} in the last {} weeks (two-proportion z-test p {}): check the tracking",
            e.event, rb, rr, recent.len(), p_eq(z.p_greater)
        ),
        with_baseline(json!({"per_purchase_before": r3(rb), "per_purchase_after": r3(rr),
               "test": "two-proportion z-test (one-sided, decrease)", "p": z.p_greater}), base),
    ))
}

impl ProxyEvidence {
    /// Whether any flag disqualifies the proxy as an optimization event.
    pub fn is_disqualified(&self) -> bool {
        !self.flags.is_empty()
    }

    /// Whether the proxy carries the given flag.
    pub fn has(&self, kind: FlagKind) -> bool {
        self.flags.iter().any(|f| f.kind == kind)
    }
}
