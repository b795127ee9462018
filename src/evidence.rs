//! Per-proxy evidence: how well each candidate event predicts purchase.
//!
//! For candidate `j`, from the grouped observations: the 2×2 table (a, b, c, d), precision
//! P(purchase | proxy) with a Wilson interval, recall, lift over the base rate (delta-method
//! interval), the raw odds ratio (Woolf interval; Haldane–Anscombe ½ correction on a zero cell),
//! the segment-adjusted odds ratio from `purchase ~ proxy + device + channel` fitted by grouped
//! maximum likelihood (Firth-penalized under separation), out-of-time AUC and Brier score (fit on
//! all but the last `holdout_weeks`, score those), the AUC of the proxy's own ranking on the last
//! `holdout_weeks` uncensored weeks (with a DeLong interval), and Benjamini–Hochberg q-values
//! across proxies.
//!
//! Sessions of one user are not independent: with per-user sums ([`Observations::clusters`]) the
//! intervals are user-clustered (CR0 sandwich, `stats::cluster::clustered_table`) and never
//! narrower than the independent-units ones: precision is Wilson's on `n / max(1, deff)`; the raw
//! odds ratio and the lift take `max(1, deff)` times their variance on the log scale; the
//! adjusted odds ratio (and its p-value) takes the raw odds ratio's design effect.

use std::collections::BTreeMap;

use linfa::prelude::*;
use ndarray::{Array1, Array2};
use serde::Serialize;

use crate::observe::{Observations, Ordering};
use crate::stats::auc::{binary_auc_interval, brier, grouped_auc};
use crate::stats::cluster::{clustered_table, wilson_real};
use crate::stats::fdr::benjamini_hochberg;
use crate::stats::interval::{lift, normal_sf, odds_ratio, wilson, z_quantile};
use crate::stats::logistic::{GroupedLogistic, Method};
use crate::types::{EventName, Interval, IsoWeek};

/// Fewest units on each side (with and without the proxy) for its effect to be estimable: below
/// this the proxy is (nearly) constant and its coefficient is confounded with the intercept.
pub const MIN_UNITS_PER_SIDE: u64 = 10;

/// The segment-adjusted model of one proxy.
#[derive(Debug, Clone, Serialize)]
pub struct AdjustedModel {
    /// exp(β) of the proxy, holding device and channel fixed.
    pub odds_ratio: f64,
    /// Wald interval of the odds ratio at the configured confidence.
    pub odds_ratio_ci: Interval,
    /// Two-sided Wald p-value of H0: β = 0.
    pub p_value: f64,
    /// Segment columns adjusted for (`device`, `channel`), with their reference levels.
    pub adjusted_for: Vec<String>,
    /// `maximum_likelihood`, or `firth` when separation forced the penalized fit.
    pub method: String,
    /// Whether (quasi-)separation was detected: a zero cell, so the plain MLE does not exist.
    pub separation: bool,
    /// The whole fitted model (every term, its covariance), kept for the weekly model store and
    /// left out of the report JSON.
    #[serde(skip)]
    pub fit: ModelFit,
}

/// The AUC of the proxy's own ranking, the binary indicator "the unit has the event", scored
/// against purchase on held-out weeks whose labels are complete: `(TPR + TNR) / 2`, ties counted
/// half. An event unrelated to purchase scores about 0.5 whatever the segments do (the model's AUC
/// carries device and channel, so it can look good for an event that adds nothing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyAuc {
    /// The AUC.
    pub estimate: f64,
    /// DeLong interval at the configured confidence, `AUC ± z·SE` clipped to [0, 1].
    pub ci: Interval,
    /// The held-out weeks scored.
    pub weeks: Vec<IsoWeek>,
    /// Purchasing units in those weeks.
    pub purchasers: u64,
    /// Units in those weeks that did not purchase.
    pub non_purchasers: u64,
}

/// A fitted logistic model as numbers: term names, coefficients and their covariance, so a
/// stored week can be re-read, compared or pooled without refitting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ModelFit {
    /// Term names in coefficient order: `intercept`, the proxy, then `device=<level>` and
    /// `channel=<level>` dummies (reference levels are left out).
    pub terms: Vec<String>,
    /// Coefficients (log odds), one per term.
    pub coefficients: Vec<f64>,
    /// Covariance matrix of the coefficients (inverse information), rows in term order.
    pub covariance: Vec<Vec<f64>>,
    /// Binomial log-likelihood at the estimate (unpenalized for Firth fits).
    pub log_likelihood: f64,
}

/// Whether the proxy's effect can be estimated from these data.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Estimability {
    /// The model estimated the proxy's coefficient.
    Estimable,
    /// It could not, and why.
    NotEstimable {
        /// Human-readable reason, with the counts.
        reason: String,
    },
}

/// Design effects of a proxy's user-clustered intervals: each clustered variance over the one
/// that treats units as independent (1 for user units; above 1 when a user's sessions go
/// together).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DesignEffect {
    /// Of the precision: CR0 variance over `p(1 − p)/(a + b)`.
    pub precision: f64,
    /// Of the log odds ratio: over Woolf's variance; `None` with an empty cell.
    pub odds_ratio: Option<f64>,
    /// Of the log lift: over the multinomial delta-method variance; `None` when `a = 0`.
    pub lift: Option<f64>,
}

/// The design effects of candidate `j` over all weeks, when the observations carry per-user
/// sums and some unit has the proxy.
pub fn design_effects(obs: &Observations, j: usize) -> Option<DesignEffect> {
    let [a, b, c, d] = obs.table(j, |_| true);
    let t = clustered_table(a, b, c, d, &obs.table_clusters(j)?)?;
    Some(DesignEffect {
        precision: t.precision_design_effect,
        odds_ratio: t.odds_ratio_design_effect,
        lift: t.lift_design_effect,
    })
}

/// A log-scale interval around `estimate` with its variance multiplied by `factor`.
fn widen(ci: Interval, estimate: f64, factor: f64) -> Interval {
    if factor <= 1.0 {
        // Never narrower than independent units: the interval as computed, exactly.
        return ci;
    }
    let (mid, k) = (estimate.ln(), factor.sqrt());
    Interval::new(
        (mid - (mid - ci.lo.ln()) * k).exp(),
        (mid + (ci.hi.ln() - mid) * k).exp(),
    )
}

/// One week of a proxy's volume.
#[derive(Debug, Clone, Serialize)]
pub struct WeeklyVolume {
    /// ISO week.
    pub week: IsoWeek,
    /// Whether the data cover the whole week.
    pub complete: bool,
    /// Times the event fired.
    pub events: u64,
    /// Units (starting that week) with the event.
    pub units: u64,
    /// Distinct users with the event that week.
    pub users: u64,
    /// Precision of the units that started this week: purchasers / units with the feature.
    pub precision: Option<f64>,
}

/// Everything measured about one candidate proxy.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyEvidence {
    /// The candidate event.
    pub event: EventName,
    /// Funnel depth (see [`EventName::funnel_depth`]).
    pub funnel_depth: u8,
    /// Weekly volumes.
    pub weekly: Vec<WeeklyVolume>,
    /// Units with the proxy that purchased (label 1).
    pub a: u64,
    /// Units with the proxy that did not purchase.
    pub b: u64,
    /// Units without the proxy that purchased.
    pub c: u64,
    /// Units without the proxy that did not purchase.
    pub d: u64,
    /// P(purchase | proxy) = a / (a + b).
    pub precision: Option<f64>,
    /// Wilson interval of the precision (on the effective sample with user-clustered units).
    pub precision_ci: Option<Interval>,
    /// Share of purchasing units that did the proxy first: a / (a + c).
    pub recall: Option<f64>,
    /// Purchase rate over all units: (a + c) / N.
    pub base_rate: Option<f64>,
    /// precision / base rate.
    pub lift: Option<f64>,
    /// Delta-method interval of the lift.
    pub lift_ci: Option<Interval>,
    /// Raw odds ratio ad / bc (Haldane-corrected on a zero cell).
    pub odds_ratio: Option<f64>,
    /// Woolf interval of the raw odds ratio (user-clustered variance when larger).
    pub odds_ratio_ci: Option<Interval>,
    /// Design effects of the clustered intervals; `None` without user-level data.
    pub design_effect: Option<DesignEffect>,
    /// Segment-adjusted model, when estimable.
    pub adjusted: Option<AdjustedModel>,
    /// Whether the proxy's effect is estimable.
    pub estimability: Estimability,
    /// AUC of the proxy's model on the held-out weeks (fitted on the earlier ones).
    pub auc_out_of_time: Option<f64>,
    /// Brier score on the held-out weeks.
    pub brier_out_of_time: Option<f64>,
    /// AUC of the proxy's own ranking on the held-out uncensored weeks (none with fewer than 2
    /// purchasing or 2 other units there).
    pub proxy_auc_out_of_time: Option<ProxyAuc>,
    /// Benjamini–Hochberg q-value of the adjusted Wald test across proxies.
    pub q_value: Option<f64>,
    /// Before / after-purchase ordering within purchasing units.
    pub ordering: Ordering,
    /// Proxy flags, filled in by [`crate::flags`].
    pub flags: Vec<crate::core::flag::Flag>,
}

impl ProxyEvidence {
    /// Units with the proxy.
    pub fn units_with(&self) -> u64 {
        self.a + self.b
    }
}

/// Held-out weeks for out-of-time validation: the last `holdout` of the measured weeks
/// ([`Observations::measured_weeks`]: labels complete), at least one left to fit on.
pub fn holdout_weeks(obs: &Observations, holdout: u32) -> Vec<u16> {
    let measured = obs.measured_weeks();
    let h = (holdout as usize).min(measured.len().saturating_sub(1));
    measured[measured.len() - h..].to_vec()
}

/// Held-out weeks for the proxy's own AUC: the last `holdout` weeks that have units and whose
/// labels are complete (a censored week's late buyers are not seen yet, which would score a
/// good proxy low). No fit is involved, so no week needs to remain before them.
pub fn proxy_holdout_weeks(obs: &Observations, holdout: u32) -> Vec<u16> {
    let ok: Vec<u16> = (0..obs.weeks.len() as u16)
        .filter(|&w| obs.weeks[w as usize].units > 0 && obs.labels_complete(w))
        .collect();
    let h = (holdout as usize).min(ok.len());
    ok[ok.len() - h..].to_vec()
}

/// The proxy's own AUC for candidate `j` on the weeks `held` (see [`ProxyAuc`]).
fn proxy_auc(obs: &Observations, j: usize, held: &[u16], z: f64) -> Option<ProxyAuc> {
    let [a, b, c, d] = obs.table(j, |w| held.contains(&w));
    let (estimate, lo, hi) = binary_auc_interval(a, b, c, d, z)?;
    Some(ProxyAuc {
        estimate,
        ci: Interval { lo, hi },
        weeks: held.iter().map(|&w| obs.weeks[w as usize].week).collect(),
        purchasers: a + c,
        non_purchasers: b + d,
    })
}

/// Grouped design for candidate `j` over the weeks `keep` selects: rows (proxy, device dummies,
/// channel dummies) with (successes, trials) targets. Levels are given for scoring held-out
/// weeks with the training design; a level unseen in training falls on the reference level.
struct Design {
    records: Array2<f64>,
    targets: Array2<f64>,
}

/// Segment levels present in the fitting data, most frequent first (the reference level).
fn levels(counts: &BTreeMap<u16, u64>) -> Vec<u16> {
    let mut v: Vec<(u16, u64)> = counts
        .iter()
        .map(|(&l, &n)| (l, n))
        .filter(|x| x.1 > 0)
        .collect();
    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    v.into_iter().map(|x| x.0).collect()
}

fn design(
    obs: &Observations,
    j: usize,
    keep: &dyn Fn(u16) -> bool,
    fit_levels: Option<(&[u16], &[u16])>,
) -> (Design, Vec<u16>, Vec<u16>) {
    let bit = 1u32 << j;
    let mut groups: BTreeMap<(bool, u16, u16), (f64, f64)> = BTreeMap::new();
    let mut dev_n: BTreeMap<u16, u64> = BTreeMap::new();
    let mut ch_n: BTreeMap<u16, u64> = BTreeMap::new();
    for p in obs.patterns.iter().filter(|p| keep(p.week)) {
        let g = groups
            .entry((p.mask & bit != 0, p.device, p.channel))
            .or_default();
        g.0 += p.purchasers as f64;
        g.1 += p.units as f64;
        *dev_n.entry(p.device).or_default() += p.units;
        *ch_n.entry(p.channel).or_default() += p.units;
    }
    let (devs, chs) = match fit_levels {
        Some((d, c)) => (d.to_vec(), c.to_vec()),
        None => (levels(&dev_n), levels(&ch_n)),
    };
    let p = 1 + devs.len().saturating_sub(1) + chs.len().saturating_sub(1);
    let n = groups.len();
    let mut records = Array2::<f64>::zeros((n, p));
    let mut targets = Array2::<f64>::zeros((n, 2));
    for (i, (&(x, dv, ch), &(y, t))) in groups.iter().enumerate() {
        records[[i, 0]] = f64::from(u8::from(x));
        if let Some(k) = devs.iter().skip(1).position(|&l| l == dv) {
            records[[i, 1 + k]] = 1.0;
        }
        if let Some(k) = chs.iter().skip(1).position(|&l| l == ch) {
            records[[i, devs.len().saturating_sub(1) + 1 + k]] = 1.0;
        }
        targets[[i, 0]] = y;
        targets[[i, 1]] = t;
    }
    (Design { records, targets }, devs, chs)
}

fn fit(d: &Design) -> Option<GroupedLogistic> {
    let params = GroupedLogistic::params().check().ok()?;
    let ds = DatasetBase::new(d.records.clone(), d.targets.clone());
    params.fit(&ds).ok()
}

/// Measures every candidate on the weeks whose labels are complete
/// ([`Observations::measured_weeks`]). [`crate::flags::assess`] returns it flagged.
pub fn measure(obs: &Observations, a: &AnalysisSettings) -> Vec<ProxyEvidence> {
    let z = z_quantile(a.confidence);
    let holdout = holdout_weeks(obs, a.holdout_weeks);
    let held = proxy_holdout_weeks(obs, a.holdout_weeks);
    let measured = obs.measured_weeks();
    let mut out: Vec<ProxyEvidence> = (0..obs.candidates.len())
        .map(|j| {
            // A searched derived candidate is measured on its held-out weeks only.
            let from = obs.measured_from(j);
            let only =
                |ws: &[u16]| -> Vec<u16> { ws.iter().copied().filter(|&w| w >= from).collect() };
            ProxyEvidence {
                proxy_auc_out_of_time: proxy_auc(obs, j, &only(&held), z),
                ..measure_one(obs, j, a, z, (&only(&measured), &only(&holdout)))
            }
        })
        .collect();
    let p: Vec<Option<f64>> = out
        .iter()
        .map(|e| e.adjusted.as_ref().map(|m| m.p_value))
        .collect();
    for (e, q) in out.iter_mut().zip(benjamini_hochberg(&p)) {
        e.q_value = q;
    }
    out
}

fn measure_one(
    obs: &Observations,
    j: usize,
    a: &AnalysisSettings,
    z: f64,
    (measured, holdout): (&[u16], &[u16]),
) -> ProxyEvidence {
    let in_measured = |w: u16| measured.contains(&w);
    let [ta, tb, tc, td] = obs.table(j, in_measured);
    let n = ta + tb + tc + td;
    let ratio = |x: u64, y: u64| (y > 0).then(|| x as f64 / y as f64);
    let deff = design_effects(obs, j);
    let or_factor = deff.map_or(1.0, |d| d.odds_ratio.unwrap_or(d.precision));
    let orr = odds_ratio(ta, tb, tc, td, a.confidence).map(|mut o| {
        o.ci = widen(o.ci, o.estimate, or_factor);
        o
    });
    let lf = lift(ta, tb, tc, td, a.confidence).map(|mut l| {
        l.ci = widen(
            l.ci,
            l.estimate,
            deff.map_or(1.0, |d| d.lift.unwrap_or(d.precision)),
        );
        l
    });
    let precision_ci = match deff {
        Some(d) if ta + tb > 0 => Some(wilson_real(
            ta as f64 / (ta + tb) as f64,
            (ta + tb) as f64 / d.precision.max(1.0),
            a.confidence,
        )),
        _ => wilson(ta, ta + tb, a.confidence),
    };
    let weekly = weekly_volumes(obs, j);
    let (estimability, adjusted) =
        adjusted_model(obs, j, &in_measured, z, or_factor, (ta, tb, tc, td));
    let (auc, brier_score) = if estimability == Estimability::Estimable {
        out_of_time(obs, j, measured, holdout)
    } else {
        (None, None)
    };
    ProxyEvidence {
        event: obs.candidates[j].clone(),
        funnel_depth: obs.candidates[j].funnel_depth(),
        weekly,
        a: ta,
        b: tb,
        c: tc,
        d: td,
        precision: ratio(ta, ta + tb),
        precision_ci,
        recall: ratio(ta, ta + tc),
        base_rate: ratio(ta + tc, n),
        lift: lf.as_ref().map(|l| l.estimate),
        lift_ci: lf.as_ref().map(|l| l.ci),
        odds_ratio: orr.as_ref().map(|o| o.estimate),
        odds_ratio_ci: orr.as_ref().map(|o| o.ci),
        design_effect: deff,
        adjusted,
        estimability,
        auc_out_of_time: auc,
        brier_out_of_time: brier_score,
        proxy_auc_out_of_time: None,
        q_value: None,
        ordering: obs.ordering[j],
        flags: Vec::new(),
    }
}

/// A candidate's weekly volumes and the precision among the units that did it each week.
fn weekly_volumes(obs: &Observations, j: usize) -> Vec<WeeklyVolume> {
    let ratio = |x: u64, y: u64| (y > 0).then(|| x as f64 / y as f64);
    let bit = 1u32 << j;
    obs.weeks
        .iter()
        .enumerate()
        .map(|(wi, w)| {
            let (mut y, mut t) = (0u64, 0u64);
            for p in obs
                .patterns
                .iter()
                .filter(|p| p.week as usize == wi && p.mask & bit != 0)
            {
                y += p.purchasers;
                t += p.units;
            }
            let v = w.candidates[j];
            WeeklyVolume {
                week: w.week,
                complete: w.complete,
                events: v.events,
                units: v.units,
                users: v.users,
                precision: ratio(y, t),
            }
        })
        .collect()
}

/// Whether a candidate's effect can be estimated and, when it can, the segment-adjusted
/// logistic model (its odds ratio user-clustered by `or_factor`).
fn adjusted_model(
    obs: &Observations,
    j: usize,
    in_measured: &dyn Fn(u16) -> bool,
    z: f64,
    or_factor: f64,
    (ta, tb, tc, td): (u64, u64, u64, u64),
) -> (Estimability, Option<AdjustedModel>) {
    let n = ta + tb + tc + td;
    let unit_word = obs.unit.plural();
    let (with, without) = (ta + tb, tc + td);
    let mut estimability = Estimability::Estimable;
    let mut adjusted = None;
    if with < MIN_UNITS_PER_SIDE || without < MIN_UNITS_PER_SIDE {
        let reason = if with < MIN_UNITS_PER_SIDE {
            format!("present in only {with} of {n} {unit_word} (fewer than {MIN_UNITS_PER_SIDE}): too rare to estimate")
        } else {
            format!("present in {with} of {n} {unit_word}, absent in only {without} (fewer than {MIN_UNITS_PER_SIDE}): (nearly) constant, its effect cannot be separated from the base rate")
        };
        estimability = Estimability::NotEstimable { reason };
    } else {
        let (d, devs, chs) = design(obs, j, &in_measured, None);
        match fit(&d) {
            Some(m) if !m.not_estimable().contains(&0) => {
                if let Some(c) = m.coefficient(0) {
                    let mut adjusted_for = Vec::new();
                    if devs.len() > 1 {
                        adjusted_for.push(format!(
                            "device (reference {})",
                            obs.devices[devs[0] as usize]
                        ));
                    }
                    if chs.len() > 1 {
                        adjusted_for.push(format!(
                            "channel (reference {})",
                            obs.channels[chs[0] as usize]
                        ));
                    }
                    // The model's standard error, user-clustered by the raw design effect.
                    let se = c.std_error * or_factor.max(1.0).sqrt();
                    adjusted = Some(AdjustedModel {
                        odds_ratio: c.estimate.exp(),
                        odds_ratio_ci: Interval::new(
                            (c.estimate - z * se).exp(),
                            (c.estimate + z * se).exp(),
                        ),
                        p_value: if or_factor > 1.0 {
                            2.0 * normal_sf((c.estimate / se).abs())
                        } else {
                            c.p_value
                        },
                        adjusted_for,
                        method: match m.method() {
                            Method::Firth => "firth".into(),
                            Method::MaximumLikelihood => "maximum_likelihood".into(),
                        },
                        separation: m.separation(),
                        fit: model_fit(&m, obs, j, &devs, &chs),
                    });
                }
            }
            Some(_) => {
                estimability = Estimability::NotEstimable {
                    reason: format!(
                        "{} is collinear with the device/channel segments in these data",
                        obs.candidates[j]
                    ),
                }
            }
            None => {
                estimability = Estimability::NotEstimable {
                    reason: "the model could not be fitted (no purchases, or no variation)".into(),
                }
            }
        }
    }
    (estimability, adjusted)
}

/// The numbers of a fitted model with its term names (see [`ModelFit`]).
fn model_fit(
    m: &GroupedLogistic,
    obs: &Observations,
    j: usize,
    devs: &[u16],
    chs: &[u16],
) -> ModelFit {
    let mut terms = vec!["intercept".to_string(), obs.candidates[j].to_string()];
    for &d in devs.iter().skip(1) {
        terms.push(format!("device={}", obs.devices[d as usize]));
    }
    for &c in chs.iter().skip(1) {
        terms.push(format!("channel={}", obs.channels[c as usize]));
    }
    let mut coefficients = vec![m.intercept()];
    coefficients.extend(m.coefficients().iter().copied());
    let covariance = m
        .covariance()
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect();
    ModelFit {
        terms,
        coefficients,
        covariance,
        log_likelihood: m.log_likelihood(),
    }
}

/// Fits on the weeks before the holdout and scores the holdout weeks.
/// Fits on the measured weeks before `holdout`, scores `holdout`: the model's out-of-time AUC and
/// Brier score.
fn out_of_time(
    obs: &Observations,
    j: usize,
    measured: &[u16],
    holdout: &[u16],
) -> (Option<f64>, Option<f64>) {
    if holdout.is_empty() {
        return (None, None);
    }
    let is_test = |w: u16| holdout.contains(&w);
    let (train, devs, chs) = design(obs, j, &|w| measured.contains(&w) && !is_test(w), None);
    let Some(model) = fit(&train) else {
        return (None, None);
    };
    if model.not_estimable().contains(&0) {
        return (None, None);
    }
    let (test, _, _) = design(obs, j, &is_test, Some((&devs, &chs)));
    let scores: Array1<f64> = model.predict_proba(&test.records);
    let pos: Vec<f64> = test.targets.column(0).to_vec();
    let neg: Vec<f64> = test
        .targets
        .column(0)
        .iter()
        .zip(test.targets.column(1))
        .map(|(y, t)| t - y)
        .collect();
    let s = scores.to_vec();
    (grouped_auc(&s, &pos, &neg), brier(&s, &pos, &neg))
}

/// Thresholds of the statistics and flags: the `[analysis]` settings every stage reads, from
/// the measurement here on (validated by [`crate::config`]).
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisSettings {
    /// Weeks held out for out-of-time validation.
    pub holdout_weeks: u32,
    /// Confidence level of intervals.
    pub confidence: f64,
    /// Clearance probability an event needs.
    pub clearance_threshold: f64,
    /// Recent complete weeks used for volumes.
    pub volume_weeks: u32,
    /// Recent weeks compared with the baseline in drift flags.
    pub surge_weeks: u32,
    /// Significance level of the flag tests.
    pub alpha: f64,
    /// Fewest units with the proxy for a verdict.
    pub min_units: u64,
    /// Consecutive weeks a new best event must lead before it replaces the standing one.
    pub confirm_weeks: u32,
    /// The recommendation's validated lift floor, clearance band and score margin.
    pub decision: crate::core::recommend::Params,
    /// The drift flags' practical effect sizes.
    pub effects: crate::core::flag::EffectSizes,
}

/// Shared builders for unit tests of the stages that read evidence (here and in `flags`).
#[cfg(test)]
pub(crate) mod fixture {
    use super::AnalysisSettings;
    use crate::observe::{ObserveSpec, UnitKind};
    use crate::types::{EventName, IsoWeek};

    /// Session units of a UTC log, purchase as the outcome, a 7-day label window.
    pub fn spec(candidates: &[&str]) -> ObserveSpec {
        ObserveSpec {
            unit: UnitKind::Session,
            candidates: candidates
                .iter()
                .map(|c| EventName::new(c).unwrap())
                .collect(),
            purchase: EventName::new("purchase").unwrap(),
            label_window_days: 7,
            session_gap_minutes: 30,
            time_zone: jiff::tz::TimeZone::UTC,
            lateness_minutes: 1440,
            coverage: crate::core::coverage::CoverageParams::default(),
            discover: None,
            derived: Vec::new(),
        }
    }

    /// Monday 00:00 UTC of the ISO week, µs since the epoch.
    pub fn monday_micros(year: i16, week: i8) -> i64 {
        IsoWeek::new(year, week)
            .unwrap()
            .monday()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_microsecond()
    }

    /// The default analysis settings with one held-out week.
    pub fn settings() -> AnalysisSettings {
        AnalysisSettings {
            holdout_weeks: 1,
            confidence: 0.95,
            clearance_threshold: 0.8,
            volume_weeks: 4,
            surge_weeks: 2,
            alpha: 0.05,
            min_units: 30,
            confirm_weeks: 2,
            decision: crate::core::recommend::Params::with_threshold(
                crate::types::Probability::clamped(0.8),
            ),
            effects: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::observe::ObservationBuilder;

    /// Four weeks of 40 sessions a day (one user each). Paid sessions (every 4th) buy half the
    /// time, organic ones 1 in 20. `search` fires in every session of even days, whatever the
    /// channel or outcome: unrelated to purchase. `add_to_cart` fires before every purchase and in
    /// 1 in 10 other sessions.
    fn obs() -> Observations {
        let spec = fixture::spec(&["search", "add_to_cart"]);
        let monday = fixture::monday_micros(2026, 10);
        let mut b = ObservationBuilder::new(spec);
        let (mut seq, minute) = (0u64, 60_000_000i64);
        for day in 0..28i64 {
            for k in 0..40i64 {
                let paid = k % 4 == 0;
                let buys = if paid { (k / 4) % 2 == 0 } else { k % 20 == 1 };
                let t0 = monday + day * 1440 * minute + 8 * 60 * minute + k * 10 * minute;
                let user = format!("u{day}-{k}");
                let mut names = vec!["view_item"];
                if day % 2 == 0 {
                    names.push("search");
                }
                if buys || k % 10 == 3 {
                    names.push("add_to_cart");
                }
                if buys {
                    names.push("purchase");
                }
                for (i, name) in names.iter().enumerate() {
                    b.push(&Event {
                        line: seq + 2,
                        seq,
                        micros: t0 + i as i64 * minute,
                        user: &user,
                        session: Some(&user),
                        name,
                        device: None,
                        channel: Some(if paid { "paid" } else { "organic" }),
                        value: None,
                    })
                    .unwrap();
                    seq += 1;
                }
            }
        }
        b.finish()
    }

    fn settings() -> AnalysisSettings {
        fixture::settings()
    }

    #[test]
    fn an_unrelated_event_scores_half_on_its_own_ranking_though_its_model_scores_well() {
        let o = obs();
        let ev = measure(&o, &settings());
        let (search, cart) = (&ev[0], &ev[1]);
        // The model carries the channel, which predicts purchase: its AUC looks good.
        let model = search.auc_out_of_time.unwrap();
        assert!(model > 0.75, "model AUC {model}");
        // The proxy's own ranking: search fires alike in buyers and others, AUC exactly 0.5.
        let own = search.proxy_auc_out_of_time.as_ref().unwrap();
        assert!((own.estimate - 0.5).abs() < 1e-12, "{own:?}");
        assert!(own.ci.lo < 0.5 && own.ci.hi > 0.5, "{own:?}");
        // Held out: the last week whose labels are complete (W13 is the log's censored last week).
        assert_eq!(own.weeks, vec![IsoWeek::new(2026, 12).unwrap()]);
        // W12: 7 days × 40 sessions; paid buyers 5 a day, organic 2 a day.
        assert_eq!(own.purchasers + own.non_purchasers, 280);
        assert_eq!(own.purchasers, 49);
        // add_to_cart: TPR 1, FPR = 4 per day of 33 others (k = 3, 13, 23, 33) → (1 + 29/33) / 2.
        let c = cart.proxy_auc_out_of_time.as_ref().unwrap();
        assert!(
            (c.estimate - (1.0 + 29.0 / 33.0) / 2.0).abs() < 1e-12,
            "{c:?}"
        );
        assert!(c.ci.lo > 0.9, "{c:?}");
    }

    #[test]
    fn without_an_uncensored_week_or_with_holdout_zero_there_is_no_proxy_auc() {
        let mut o = obs();
        assert_eq!(proxy_holdout_weeks(&o, 1).len(), 1);
        assert_eq!(proxy_holdout_weeks(&o, 2).len(), 2);
        assert!(proxy_holdout_weeks(&o, 0).is_empty());
        // A 28-day label window leaves no week with complete labels.
        o.label_window_days = 28;
        assert!(proxy_holdout_weeks(&o, 1).is_empty());
        let ev = measure(&o, &settings());
        assert!(ev.iter().all(|e| e.proxy_auc_out_of_time.is_none()));
    }

    /// The log ends with W13, whose sessions' 7-day label windows run past the data: the 2×2
    /// table counts W10–W12 only; with no complete week (a 28-day window) every week counts.
    #[test]
    fn evidence_is_measured_on_the_weeks_whose_labels_are_complete() {
        let mut o = obs();
        assert_eq!(o.measured_weeks(), vec![0, 1, 2]);
        let ev = measure(&o, &settings());
        let cart = ev
            .iter()
            .find(|e| e.event.as_str() == "add_to_cart")
            .unwrap();
        assert_eq!(cart.a + cart.b + cart.c + cart.d, 21 * 40);
        // Volumes still count every week.
        assert_eq!(cart.weekly.len(), 4);
        o.label_window_days = 28;
        assert_eq!(o.measured_weeks(), vec![0, 1, 2, 3]);
        let ev = measure(&o, &settings());
        let cart = ev
            .iter()
            .find(|e| e.event.as_str() == "add_to_cart")
            .unwrap();
        assert_eq!(cart.a + cart.b + cart.c + cart.d, 28 * 40);
    }
}
