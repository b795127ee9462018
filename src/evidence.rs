//! Per-proxy evidence: how well each candidate event predicts purchase.
//!
//! For candidate `j`, from the grouped observations: the 2×2 table (a, b, c, d), precision
//! P(purchase | proxy) with a Wilson interval, recall, lift over the base rate (delta-method
//! interval), the raw odds ratio (Woolf interval; Haldane–Anscombe ½ correction on a zero cell),
//! the segment-adjusted odds ratio from `purchase ~ proxy + device + channel` fitted by grouped
//! maximum likelihood (Firth-penalized under separation), out-of-time AUC and Brier score (fit on
//! all but the last `holdout_weeks`, score those), and Benjamini–Hochberg q-values across proxies.

use std::collections::BTreeMap;

use linfa::prelude::*;
use ndarray::{Array1, Array2};
use serde::Serialize;

use crate::config::AnalysisSettings;
use crate::observe::{Observations, Ordering};
use crate::stats::auc::{brier, grouped_auc};
use crate::stats::fdr::benjamini_hochberg;
use crate::stats::interval::{lift, odds_ratio, wilson, z_quantile};
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
    /// Wilson interval of the precision.
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
    /// Woolf interval of the raw odds ratio.
    pub odds_ratio_ci: Option<Interval>,
    /// Segment-adjusted model, when estimable.
    pub adjusted: Option<AdjustedModel>,
    /// Whether the proxy's effect is estimable.
    pub estimability: Estimability,
    /// AUC of the proxy's model on the held-out weeks (fitted on the earlier ones).
    pub auc_out_of_time: Option<f64>,
    /// Brier score on the held-out weeks.
    pub brier_out_of_time: Option<f64>,
    /// Benjamini–Hochberg q-value of the adjusted Wald test across proxies.
    pub q_value: Option<f64>,
    /// Before / after-purchase ordering within purchasing units.
    pub ordering: Ordering,
    /// Proxy flags, filled in by [`crate::flags`].
    pub flags: Vec<crate::flags::Flag>,
}

impl ProxyEvidence {
    /// Units with the proxy.
    pub fn units_with(&self) -> u64 {
        self.a + self.b
    }
}

/// Held-out weeks for out-of-time validation: the last `holdout` weeks that have units.
pub fn holdout_weeks(obs: &Observations, holdout: u32) -> Vec<u16> {
    let with_units: Vec<u16> = (0..obs.weeks.len() as u16)
        .filter(|&w| obs.weeks[w as usize].units > 0)
        .collect();
    let h = (holdout as usize).min(with_units.len().saturating_sub(1));
    with_units[with_units.len() - h..].to_vec()
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

/// Measures every candidate. Flags are added afterwards by [`crate::flags::assess`].
pub fn measure(obs: &Observations, a: &AnalysisSettings) -> Vec<ProxyEvidence> {
    let z = z_quantile(a.confidence);
    let holdout = holdout_weeks(obs, a.holdout_weeks);
    let mut out: Vec<ProxyEvidence> = (0..obs.candidates.len())
        .map(|j| measure_one(obs, j, a, z, &holdout))
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
    holdout: &[u16],
) -> ProxyEvidence {
    let [ta, tb, tc, td] = obs.table(j, |_| true);
    let n = ta + tb + tc + td;
    let ratio = |x: u64, y: u64| (y > 0).then(|| x as f64 / y as f64);
    let orr = odds_ratio(ta, tb, tc, td, a.confidence);
    let lf = lift(ta, tb, tc, td, a.confidence);
    let bit = 1u32 << j;
    let weekly = obs
        .weeks
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
        .collect();
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
        let (d, devs, chs) = design(obs, j, &|_| true, None);
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
                    adjusted = Some(AdjustedModel {
                        odds_ratio: c.estimate.exp(),
                        odds_ratio_ci: Interval::new(
                            (c.estimate - z * c.std_error).exp(),
                            (c.estimate + z * c.std_error).exp(),
                        ),
                        p_value: c.p_value,
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
    let (auc, brier_score) = if estimability == Estimability::Estimable {
        out_of_time(obs, j, holdout)
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
        precision_ci: wilson(ta, ta + tb, a.confidence),
        recall: ratio(ta, ta + tc),
        base_rate: ratio(ta + tc, n),
        lift: lf.as_ref().map(|l| l.estimate),
        lift_ci: lf.as_ref().map(|l| l.ci),
        odds_ratio: orr.as_ref().map(|o| o.estimate),
        odds_ratio_ci: orr.as_ref().map(|o| o.ci),
        adjusted,
        estimability,
        auc_out_of_time: auc,
        brier_out_of_time: brier_score,
        q_value: None,
        ordering: obs.ordering[j],
        flags: Vec::new(),
    }
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
fn out_of_time(obs: &Observations, j: usize, holdout: &[u16]) -> (Option<f64>, Option<f64>) {
    if holdout.is_empty() {
        return (None, None);
    }
    let is_test = |w: u16| holdout.contains(&w);
    let (train, devs, chs) = design(obs, j, &|w| !is_test(w), None);
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
