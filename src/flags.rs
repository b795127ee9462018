//! Proxy flags: the ways a micro-conversion stops being a good optimization signal, each with the
//! numbers that triggered it.
//!
//! - `not_predictive`: the odds-ratio interval (segment-adjusted when estimable, raw otherwise) or
//!   the lift interval reaches down to 1 or below.
//! - `broken_surge` (the sweepstakes pattern): over the last `surge_weeks` complete weeks the
//!   share of units with the proxy rose against the earlier complete weeks **and** its precision
//!   fell, both within device × channel segments (a stratified test of the share, a
//!   standardized-ratio test of precision on weeks whose labels are complete), with a share at least 1.5× and a precision at most 0.7× the
//!   baseline's (the default [`EffectSizes`]).
//! - `leaky`: the proxy fires mostly after purchase (more than half of the purchasing units that
//!   have it fire it only after buying), or precision and recall are both ≥ 0.95 — too good to be
//!   a cause, probably a consequence.
//! - `tracking_break`: in the last complete week the share of units with the proxy fell, within
//!   segments, to at most 0.5× the baseline's (stratified test).
//! - `insufficient_data`: fewer than `min_units` units with the proxy, or fewer than 10
//!   purchasing units in all, or its effect is not estimable.
//!
//! The drift tests of all proxies are one family: their p-values are Holm-adjusted together, so
//! a healthy store raises any drift flag in at most `alpha` of runs (docs/calibration.md).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::evidence::{Estimability, ProxyEvidence};
use crate::format::{p_value, percent};
use crate::observe::Observations;
use crate::stats::drift::{standardized_ratio_test, stratified_change, Counts, StratifiedTest};
use crate::stats::fdr::holm;
use crate::types::EventName;
use crate::types::IsoWeek;

/// A week stored by an earlier run, as the drift flags read it: its grouped pattern counts
/// (implemented by [`crate::store::StoredWeek`]; the flags need nothing else of the store).
pub trait PriorWeek {
    /// The ISO week.
    fn week(&self) -> IsoWeek;
    /// Whether the data covered that whole week.
    fn complete(&self) -> bool;
    /// Candidate events in pattern-mask bit order.
    fn candidates(&self) -> &[EventName];
    /// Device levels (pattern column `device` indexes this).
    fn devices(&self) -> &[String];
    /// Channel levels (pattern column `channel` indexes this).
    fn channels(&self) -> &[String];
    /// Grouped counts: device, channel, candidate mask, units, purchasing units.
    fn patterns(&self) -> &[[u64; 5]];
}

pub use crate::core::flag::{EffectSizes, Flag, FlagKind};

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

/// Validated parameters of the flag rules, so that the rules read no settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagParams {
    /// Family-wise significance level of the drift tests (Holm across events × tests).
    pub alpha: f64,
    /// Confidence level of the intervals (for the messages).
    pub confidence: f64,
    /// Fewest units with the proxy for a verdict.
    pub min_units: u64,
    /// Recent complete weeks compared with the baseline by `broken_surge`.
    pub surge_weeks: u32,
    /// Label window in days: a week whose units' windows run past the end of the data is censored.
    pub label_window_days: u32,
    /// `broken_surge`: the segment-adjusted share of units with the proxy must rise at least this
    /// factor.
    pub min_surge_ratio: f64,
    /// `broken_surge`: the segment-adjusted precision must fall to at most this fraction.
    pub max_precision_ratio: f64,
    /// `tracking_break`: the segment-adjusted share of units with the proxy must fall to at most
    /// this fraction.
    pub max_break_ratio: f64,
    /// The observations are weekly aggregates with no units at all (GA4 Data API volumes): the
    /// insufficient-data flag says so rather than "only 0 units with ...".
    pub aggregates_only: bool,
}

impl FlagParams {
    /// The rules at the given effect sizes ([`EffectSizes::default`] unless configured).
    pub fn new(
        alpha: f64,
        confidence: f64,
        min_units: u64,
        surge_weeks: u32,
        label_window_days: u32,
        effects: EffectSizes,
    ) -> Self {
        FlagParams {
            alpha,
            confidence,
            min_units,
            surge_weeks,
            label_window_days,
            min_surge_ratio: effects.min_surge_ratio,
            max_precision_ratio: effects.max_precision_ratio,
            max_break_ratio: effects.max_break_ratio,
            aggregates_only: false,
        }
    }

    /// The same rules over weekly aggregates with no event-level data (`source.kind =
    /// "ga4_api"`), when `yes`.
    pub fn over_aggregates(self, yes: bool) -> Self {
        FlagParams {
            aggregates_only: yes,
            ..self
        }
    }
}

/// One complete week of a proxy's drift series, by segment (device × channel).
#[derive(Debug, Clone, PartialEq)]
pub struct DriftWeek {
    /// The ISO week.
    pub week: IsoWeek,
    /// Whether the week comes from the model store (before the log starts).
    pub stored: bool,
    /// Whether some of its units' label windows run past the end of the data (their precision
    /// is understated): the last week of the log, and every stored week (stored as the last
    /// week of its run).
    pub censored: bool,
    /// Per segment: units, and units with the proxy as a feature (`n`, `y`).
    pub share: Vec<Counts>,
    /// Per segment: units with the proxy, and of them purchasers (`n`, `y`).
    pub precision: Vec<Counts>,
}

/// Segments (device × channel, by name) across the log and the stored weeks.
#[derive(Debug, Default)]
struct Segments(Vec<(String, String)>);

impl Segments {
    fn index(&mut self, device: &str, channel: &str) -> usize {
        if let Some(i) = self.0.iter().position(|(d, c)| d == device && c == channel) {
            return i;
        }
        self.0.push((device.to_string(), channel.to_string()));
        self.0.len() - 1
    }
}

fn level(levels: &[String], i: u64) -> &str {
    levels.get(i as usize).map_or("", String::as_str)
}

fn add(v: &mut Vec<Counts>, s: usize, c: Counts) {
    if v.len() <= s {
        v.resize(s + 1, Counts::default());
    }
    v[s] += c;
}

/// Whether units starting in `week` may have label windows running past `data_end` (µs): the
/// complement of [`crate::observe::labels_complete`], the rule evidence uses too.
fn censored(week: IsoWeek, data_end: i64, label_window_days: u32) -> bool {
    !crate::observe::labels_complete(week, data_end, label_window_days)
}

/// The complete weeks of candidate `j` by segment: stored weeks from before the log's first
/// week (a longer baseline than one log), then the log's own complete weeks.
pub fn drift_series<W: PriorWeek>(
    obs: &Observations,
    j: usize,
    prior: &[W],
    label_window_days: u32,
) -> Vec<DriftWeek> {
    let event = &obs.candidates[j];
    let first_log_week = obs.weeks.first().map(|w| w.week);
    let mut seg = Segments::default();
    let mut stored: Vec<&W> = prior
        .iter()
        .filter(|w| w.complete() && first_log_week.is_some_and(|f| w.week() < f))
        .collect();
    stored.sort_by_key(|w| w.week());
    stored.dedup_by_key(|w| w.week());
    let mut out = Vec::new();
    for w in stored {
        let Some(bit) = w.candidates().iter().position(|c| c == event) else {
            continue;
        };
        let mut d = DriftWeek {
            week: w.week(),
            stored: true,
            censored: true,
            share: Vec::new(),
            precision: Vec::new(),
        };
        for &[dev, ch, mask, units, buyers] in w.patterns() {
            let s = seg.index(level(w.devices(), dev), level(w.channels(), ch));
            let with = mask >> bit & 1 == 1;
            add(
                &mut d.share,
                s,
                Counts {
                    n: units,
                    y: if with { units } else { 0 },
                },
            );
            if with {
                add(
                    &mut d.precision,
                    s,
                    Counts {
                        n: units,
                        y: buyers,
                    },
                );
            }
        }
        if !w.patterns().is_empty() {
            out.push(d);
        }
    }
    // A searched derived candidate drifts over its held-out weeks only (and has no stored past).
    let from = usize::from(obs.measured_from(j));
    if from > 0 {
        out.clear();
    }
    let mut log: Vec<Option<DriftWeek>> = obs
        .weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            (w.complete && i >= from).then(|| DriftWeek {
                week: w.week,
                stored: false,
                censored: censored(w.week, obs.span_micros.1, label_window_days),
                share: Vec::new(),
                precision: Vec::new(),
            })
        })
        .collect();
    let bit = 1u32 << j;
    for p in &obs.patterns {
        let Some(Some(d)) = log.get_mut(p.week as usize) else {
            continue;
        };
        let s = seg.index(
            level(&obs.devices, u64::from(p.device)),
            level(&obs.channels, u64::from(p.channel)),
        );
        let with = p.mask & bit != 0;
        add(
            &mut d.share,
            s,
            Counts {
                n: p.units,
                y: if with { p.units } else { 0 },
            },
        );
        if with {
            add(
                &mut d.precision,
                s,
                Counts {
                    n: p.units,
                    y: p.purchasers,
                },
            );
        }
    }
    out.extend(log.into_iter().flatten());
    let n = seg.0.len();
    for d in &mut out {
        d.share.resize(n, Counts::default());
        d.precision.resize(n, Counts::default());
    }
    out
}

/// Sums the per-segment counts of some weeks.
fn pooled(weeks: &[&DriftWeek], f: impl Fn(&DriftWeek) -> &Vec<Counts>) -> Vec<Counts> {
    let n = weeks.first().map_or(0, |w| f(w).len());
    let mut out = vec![Counts::default(); n];
    for w in weeks {
        for (o, c) in out.iter_mut().zip(f(w)) {
            *o += *c;
        }
    }
    out
}

/// A drift test that ran on one proxy, before the family's correction.
#[derive(Debug, Clone)]
enum Candidate {
    Surge {
        share: StratifiedTest,
        precision: StratifiedTest,
        since: IsoWeek,
        precision_weeks: (usize, usize),
        volume_ratio: f64,
    },
    Break {
        share: StratifiedTest,
        week: IsoWeek,
    },
}

impl Candidate {
    /// The test's p-value: for the surge, the intersection–union test of both parts (the larger
    /// one-sided p-value), which is level α when each part is.
    fn p(&self) -> f64 {
        match self {
            Candidate::Surge {
                share, precision, ..
            } => share.p_increase.max(precision.p_decrease),
            Candidate::Break { share, .. } => share.p_decrease,
        }
    }

    /// Whether the effect is at least the practical size.
    fn large(&self, p: &FlagParams) -> bool {
        match self {
            Candidate::Surge {
                share, precision, ..
            } => share.ratio >= p.min_surge_ratio && precision.ratio <= p.max_precision_ratio,
            Candidate::Break { share, .. } => share.ratio <= p.max_break_ratio,
        }
    }
}

/// The drift tests of one proxy: `broken_surge` on the last `surge_weeks` complete weeks and
/// `tracking_break` on the last complete week, each against the complete weeks before the last
/// `surge_weeks` (at least two). The surge's precision part uses uncensored weeks only.
fn drift_tests(series: &[DriftWeek], p: &FlagParams) -> Vec<Candidate> {
    let r = (p.surge_weeks as usize).max(1);
    if series.len() < r + 2 {
        return Vec::new();
    }
    let (base, recent) = series.split_at(series.len() - r);
    let base: Vec<&DriftWeek> = base.iter().collect();
    let recent: Vec<&DriftWeek> = recent.iter().collect();
    let mut out = Vec::new();
    let base_share: Vec<Vec<Counts>> = base.iter().map(|w| w.share.clone()).collect();
    let share = stratified_change(&pooled(&recent, |w| &w.share), &base_share);
    let unc = |w: &[&DriftWeek]| -> Vec<Vec<Counts>> {
        w.iter()
            .filter(|w| !w.censored)
            .map(|w| w.precision.clone())
            .collect()
    };
    let (base_prec, recent_prec) = (unc(&base), unc(&recent));
    let recent_prec_sum = recent_prec.iter().fold(
        vec![Counts::default(); recent.first().map_or(0, |w| w.precision.len())],
        |mut acc, w| {
            for (a, c) in acc.iter_mut().zip(w) {
                *a += *c;
            }
            acc
        },
    );
    let precision = (!base_prec.is_empty() && !recent_prec.is_empty())
        .then(|| standardized_ratio_test(&recent_prec_sum, &base_prec))
        .flatten();
    if let (Some(share), Some(precision)) = (share, precision) {
        let units = |w: &[&DriftWeek]| {
            w.iter()
                .map(|x| x.share.iter().map(|c| c.y).sum::<u64>())
                .sum::<u64>() as f64
                / w.len() as f64
        };
        out.push(Candidate::Surge {
            share,
            precision,
            since: recent[0].week,
            precision_weeks: (base_prec.len(), recent_prec.len()),
            volume_ratio: units(&recent) / units(&base).max(f64::MIN_POSITIVE),
        });
    }
    let last = recent[recent.len() - 1];
    if let Some(share) = stratified_change(&last.share, &base_share) {
        out.push(Candidate::Break {
            share,
            week: last.week,
        });
    }
    out
}

/// The proxies' evidence with its flags, as a new value; `prior` are stored weeks from the model store, which
/// lengthen the drift flags' baseline.
///
/// The drift tests of all proxies form one family: their p-values are Holm-adjusted together, and
/// a drift flag needs an adjusted p-value below `alpha` and an effect of the practical size.
pub fn assess<W: PriorWeek>(
    obs: &Observations,
    mut evidence: Vec<ProxyEvidence>,
    p: &FlagParams,
    prior: &[W],
) -> Vec<ProxyEvidence> {
    let total_purchasers: u64 = evidence.first().map_or(0, |e| e.a + e.c);
    let series: Vec<Vec<DriftWeek>> = (0..evidence.len())
        .map(|j| drift_series(obs, j, prior, p.label_window_days))
        .collect();
    let tests: Vec<Vec<Candidate>> = series.iter().map(|s| drift_tests(s, p)).collect();
    let flat: Vec<Option<f64>> = tests.iter().flatten().map(|c| Some(c.p())).collect();
    let family = flat.len();
    let adjusted = holm(&flat);
    let mut k = 0;
    for (j, e) in evidence.iter_mut().enumerate() {
        let base_len = series[j]
            .len()
            .saturating_sub(p.surge_weeks.max(1) as usize);
        let base = &series[j][..base_len];
        let mut flags = Vec::new();
        if let Some(f) = insufficient(e, p, total_purchasers) {
            flags.push(f);
        }
        if let Some(f) = not_predictive(e, p, &obs.purchase) {
            flags.push(f);
        }
        if let Some(f) = leaky(e) {
            flags.push(f);
        }
        for c in &tests[j] {
            let q = adjusted[k].unwrap_or(1.0);
            k += 1;
            if q < p.alpha && c.large(p) {
                flags.push(drift_flag(e, c, q, (family, p), base));
            }
        }
        e.flags = flags;
    }
    evidence
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

/// The name of the stratified test, for the evidence.
const STRATIFIED_TEST: &str =
    "Cochran–Mantel–Haenszel test within device × channel segments, quasi-binomial dispersion from the baseline weeks";

fn drift_flag(
    e: &ProxyEvidence,
    c: &Candidate,
    q: f64,
    (family, p): (usize, &FlagParams),
    base: &[DriftWeek],
) -> Flag {
    match c {
        Candidate::Surge {
            share,
            precision,
            since,
            precision_weeks,
            volume_ratio,
        } => flag(
            FlagKind::BrokenSurge,
            format!(
                "since {since}, {} fires in {} of units against {} before ({:.1}x within the same segments; weekly volume {:.1}x) while its precision fell from {} to {} ({:.2}x within segments; stratified tests, Holm-adjusted p {} across {family} drift tests): the extra events are not buyers",
                e.event,
                percent(share.recent_rate),
                percent(share.baseline_rate),
                share.ratio,
                volume_ratio,
                percent(precision.baseline_rate),
                percent(precision.recent_rate),
                precision.ratio,
                p_eq(q)
            ),
            with_baseline(
                json!({
                    "since_week": since.to_string(),
                    "volume_ratio": r3(*volume_ratio),
                    "share_before": r3(share.baseline_rate), "share_after": r3(share.recent_rate),
                    "share_ratio": r3(share.ratio),
                    "volume_test": format!("{STRATIFIED_TEST} (one-sided, increase of the share of units with the proxy)"),
                    "volume_p": share.p_increase, "dispersion": r3(share.dispersion),
                    "precision_before": r3(precision.baseline_rate),
                    "precision_after": r3(precision.recent_rate),
                    "precision_ratio": r3(precision.ratio),
                    "precision_test": "indirectly standardized ratio (observed over expected at the baseline's segment rates), one-sided Wald test on its log counting the baseline rates' estimation, on weeks whose labels are complete",
                    "precision_p": precision.p_decrease,
                    "precision_weeks": [precision_weeks.0, precision_weeks.1],
                    "p_holm": q, "family_tests": family,
                    "min_share_ratio": p.min_surge_ratio, "max_precision_ratio": p.max_precision_ratio,
                }),
                base,
            ),
        ),
        Candidate::Break { share, week } => flag(
            FlagKind::TrackingBreak,
            format!(
                "{} fired in {} of units in {week} against {} before ({:.2}x within the same segments; stratified test, Holm-adjusted p {} across {family} drift tests): check the tracking",
                e.event,
                percent(share.recent_rate),
                percent(share.baseline_rate),
                share.ratio,
                p_eq(q)
            ),
            with_baseline(
                json!({
                    "week": week.to_string(),
                    "share_before": r3(share.baseline_rate), "share_after": r3(share.recent_rate),
                    "share_ratio": r3(share.ratio),
                    "test": format!("{STRATIFIED_TEST} (one-sided, decrease of the share of units with the proxy)"),
                    "p": share.p_decrease, "dispersion": r3(share.dispersion),
                    "p_holm": q, "family_tests": family, "max_share_ratio": p.max_break_ratio,
                }),
                base,
            ),
        ),
    }
}

fn insufficient(e: &ProxyEvidence, p: &FlagParams, purchasers: u64) -> Option<Flag> {
    let with = e.units_with();
    if p.aggregates_only {
        return Some(flag(
            FlagKind::InsufficientData,
            "no event-level data (GA4 Data API weekly aggregates): the proxy model cannot be fitted".into(),
            json!({"units_with_proxy": with, "min_units": p.min_units}),
        ));
    }
    if with < p.min_units {
        return Some(flag(
            FlagKind::InsufficientData,
            format!(
                "only {with} units with {} (need {} for a verdict)",
                e.event, p.min_units
            ),
            json!({"units_with_proxy": with, "min_units": p.min_units}),
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

fn not_predictive(e: &ProxyEvidence, p: &FlagParams, outcome: &EventName) -> Option<Flag> {
    let pct = (p.confidence * 100.0).round();
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
    // Below 1 with its whole interval: the event marks units less likely to buy, which is
    // evidence too, against it (a sweepstakes sign-up), not the absence of evidence.
    let verdict = match (ci.hi < 1.0, outcome.as_str()) {
        (true, "purchase") => {
            "units with it buy less often than those without: it predicts against purchase".into()
        }
        (false, "purchase") => "no evidence it predicts purchase".to_string(),
        (true, o) => format!(
            "units with it reach {o} less often than those without: it predicts against {o}"
        ),
        (false, o) => format!("no evidence it predicts {o}"),
    };
    Some(flag(
        FlagKind::NotPredictive,
        format!(
            "{which} {:.2} with {pct}% interval [{:.2}, {:.2}]{lift_txt}: {verdict}",
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

#[cfg(test)]
mod tests;
