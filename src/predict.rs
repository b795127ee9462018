//! The predicted high-intent signal: one grouped logistic model of purchase over every raw
//! candidate and the segments, fitted on the search weeks, and a grid of score thresholds that
//! turn it into an event, "predicted purchaser", a server can send.
//!
//! The model is `purchase ~ every candidate + device + channel` (raw events and every configured
//! derived grid point), fitted by grouped maximum
//! likelihood ([`GroupedLogistic`], Firth under separation) on the distinct (candidate features,
//! device, channel) patterns of the search weeks ([`crate::derive::split`]). A unit's score is
//! its fitted log odds ([`ScoreModel::log_odds`]); grid point `top = q` (named `..._top<q%>`,
//! the same every week) fires for the units whose
//! score is at least the highest cut that takes in `q` of the search weeks' units. The points
//! become derived candidates of one more family ([`rules`]): the observer scores each unit's
//! features when it folds it, [`crate::derive::select`] keeps the best point per platform on the
//! search weeks, and every figure of a kept point comes from the held-out weeks. The model's own
//! held-out calibration is [`calibrate`]'s.

use std::collections::BTreeMap;

use linfa::prelude::*;
use ndarray::Array2;
use serde::Serialize;

use crate::observe::{DerivedKind, DerivedRule, Observations, ScoreModel, ScoreTerm};
use crate::stats::auc::{brier, grouped_auc};
use crate::stats::interval::wilson;
use crate::stats::logistic::{GroupedLogistic, Method};
use crate::types::{EventName, Interval, IsoWeek};

/// Default grid: the top 2%, 5%, 10%, 15%, 20%, 30%, 40% and 50% of the search weeks' units.
pub const DEFAULT_TOPS: [f64; 8] = [0.02, 0.05, 0.10, 0.15, 0.20, 0.30, 0.40, 0.50];

/// Most grid points (they share the candidate bits with the raw and derived candidates).
pub const MAX_POINTS: usize = 8;

/// What to build (validated `[analysis.predicted]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictSpec {
    /// The grid: shares of the search weeks' units the signal takes in, each in (0, 1),
    /// increasing, at most [`MAX_POINTS`].
    pub tops: Vec<f64>,
}

/// One fitted term of the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FittedTerm {
    /// `intercept`, an event name, `device=<level>` or `channel=<level>`.
    pub term: String,
    /// Coefficient (log odds).
    pub coefficient: f64,
    /// Wald standard error.
    pub std_error: f64,
}

/// One grid point: the event it becomes and its cut.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridPoint {
    /// The event's name, e.g. `predicted_purchase_top10` (the top 10% asked for; stable from
    /// week to week).
    pub name: EventName,
    /// The share of the search weeks' units asked for.
    pub top: f64,
    /// The share taken in at the cut (ties at the cut can add more).
    pub training_share: f64,
    /// Smallest predicted purchase probability that fires the event.
    pub threshold: f64,
    /// The cut in log odds (what a server compares the score with).
    pub log_odds_cut: f64,
}

/// The fitted model and its grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictedModel {
    /// The score as a server computes it.
    pub model: ScoreModel,
    /// Every estimated term with its standard error, the intercept first (events that never
    /// vary on the search weeks, and reference levels, are not terms).
    pub terms: Vec<FittedTerm>,
    /// `maximum_likelihood`, or `firth` when separation forced the penalized fit.
    pub method: &'static str,
    /// The weeks it was fitted on (the search weeks).
    pub training_weeks: Vec<IsoWeek>,
    /// Units of those weeks.
    pub training_units: u64,
    /// Purchasing units of those weeks.
    pub training_purchasers: u64,
    /// The grid points, from the narrowest.
    pub grid: Vec<GridPoint>,
}

/// Why no model was fitted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotFitted {
    /// Too few measured weeks to fit on some and hold out others.
    TooFewWeeks {
        /// Measured weeks in the data.
        measured: usize,
        /// Weeks needed ([`crate::derive::MIN_WEEKS`]).
        needed: usize,
    },
    /// Raw and derived candidates already take every candidate bit.
    NoRoom {
        /// Candidates in all.
        candidates: usize,
    },
    /// The search weeks have no purchasing unit, no other unit, or no candidate that varies.
    NothingToFit,
    /// The fit did not converge.
    NoConvergence,
    /// The source is not an event log that can be read twice (grouped counts only, or standard
    /// input): the signal is scored in a second pass over the log.
    NeedsEventLog,
}

/// What the run did about the predicted signal, for the report (`input.predicted`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictedSignal {
    /// The model and its grid, when fitted.
    pub model: Option<PredictedModel>,
    /// Why not, when not.
    pub not_fitted: Option<NotFitted>,
    /// The model's figures on the held-out weeks, when fitted.
    pub calibration: Option<Calibration>,
}

impl PredictedSignal {
    /// A run that could not fit the model.
    pub fn not_fitted(why: NotFitted) -> Self {
        PredictedSignal {
            model: None,
            not_fitted: Some(why),
            calibration: None,
        }
    }
}

/// A distinct (features, device, channel) pattern over some weeks.
#[derive(Debug, Clone, Copy)]
struct Group {
    mask: u32,
    device: u16,
    channel: u16,
    units: u64,
    purchasers: u64,
}

/// The patterns of the weeks `keep` selects, features restricted to the candidates `columns`.
fn groups(obs: &Observations, keep: &dyn Fn(u16) -> bool, columns: &[usize]) -> Vec<Group> {
    let raw: u32 = columns
        .iter()
        .filter(|&&j| j < 32)
        .fold(0, |m, &j| m | (1u32 << j));
    let mut by: BTreeMap<(u32, u16, u16), (u64, u64)> = BTreeMap::new();
    for p in obs.patterns.iter().filter(|p| keep(p.week)) {
        let g = by.entry((p.mask & raw, p.device, p.channel)).or_default();
        g.0 += p.units;
        g.1 += p.purchasers;
    }
    by.into_iter()
        .map(|((mask, device, channel), (units, purchasers))| Group {
            mask,
            device,
            channel,
            units,
            purchasers,
        })
        .collect()
}

/// Levels with units in `gs`, most units first, then by name: the first is the reference.
fn levels(gs: &[Group], names: &[String], of: impl Fn(&Group) -> u16) -> Vec<u16> {
    let mut n: BTreeMap<u16, u64> = BTreeMap::new();
    for g in gs {
        *n.entry(of(g)).or_default() += g.units;
    }
    let mut v: Vec<(u16, u64)> = n.into_iter().filter(|x| x.1 > 0).collect();
    let name = |l: u16| names.get(usize::from(l)).map_or("", |s| s.as_str());
    v.sort_by(|x, y| y.1.cmp(&x.1).then(name(x.0).cmp(name(y.0))));
    v.into_iter().map(|x| x.0).collect()
}

/// Fits the model on the search weeks and lays out its grid, at most `room` points (the free
/// candidate bits); the points' names end the outcome's: `predicted_<outcome>_top<q>`.
pub fn fit(
    obs: &Observations,
    spec: &PredictSpec,
    room: usize,
) -> Result<PredictedModel, NotFitted> {
    let (search, _, too_few) = crate::derive::split(obs);
    if too_few {
        return Err(NotFitted::TooFewWeeks {
            measured: obs.measured_weeks().len(),
            needed: crate::derive::MIN_WEEKS,
        });
    }
    if room == 0 {
        return Err(NotFitted::NoRoom {
            candidates: obs.candidates.len(),
        });
    }
    let all: Vec<usize> = (0..obs.candidates.len()).collect();
    let train = groups(obs, &|w| search.contains(&w), &all);
    let n: u64 = train.iter().map(|g| g.units).sum();
    let y: u64 = train.iter().map(|g| g.purchasers).sum();
    let varies = |j: usize| {
        let with: u64 = train
            .iter()
            .filter(|g| g.mask & (1u32 << j) != 0)
            .map(|g| g.units)
            .sum();
        with > 0 && with < n
    };
    let events: Vec<usize> = all.into_iter().filter(|&j| varies(j)).collect();
    if y == 0 || y == n || events.is_empty() {
        return Err(NotFitted::NothingToFit);
    }
    let devs = levels(&train, &obs.devices, |g| g.device);
    let chs = levels(&train, &obs.channels, |g| g.channel);
    let fitted = fit_groups(&train, &events, &devs, &chs)?;
    let (model, terms, bits) = model_of(obs, &fitted, &events, &devs, &chs);
    let grid = grid(obs, &model, &bits, &train, spec, room);
    Ok(PredictedModel {
        model,
        terms,
        method: match fitted.method() {
            Method::MaximumLikelihood => "maximum_likelihood",
            Method::Firth => "firth",
        },
        training_weeks: search.iter().map(|&w| obs.weeks[w as usize].week).collect(),
        training_units: n,
        training_purchasers: y,
        grid,
    })
}

/// The grouped design (event columns, then device and channel dummies) fitted.
fn fit_groups(
    train: &[Group],
    events: &[usize],
    devs: &[u16],
    chs: &[u16],
) -> Result<GroupedLogistic, NotFitted> {
    let cols = events.len() + devs.len().saturating_sub(1) + chs.len().saturating_sub(1);
    let mut x = Array2::<f64>::zeros((train.len(), cols));
    let mut t = Array2::<f64>::zeros((train.len(), 2));
    for (r, g) in train.iter().enumerate() {
        for (c, &j) in events.iter().enumerate() {
            x[[r, c]] = f64::from(u8::from(g.mask & (1u32 << j) != 0));
        }
        let mut at = events.len();
        for (lv, l) in [(devs, g.device), (chs, g.channel)] {
            if let Some(k) = lv.iter().skip(1).position(|&v| v == l) {
                x[[r, at + k]] = 1.0;
            }
            at += lv.len().saturating_sub(1);
        }
        t[[r, 0]] = g.purchasers as f64;
        t[[r, 1]] = g.units as f64;
    }
    let params = GroupedLogistic::params()
        .check()
        .map_err(|_| NotFitted::NoConvergence)?;
    let m = params
        .fit(&DatasetBase::new(x, t))
        .map_err(|_| NotFitted::NoConvergence)?;
    if m.converged() {
        Ok(m)
    } else {
        Err(NotFitted::NoConvergence)
    }
}

/// The fitted coefficients as a [`ScoreModel`] and as terms; and the candidate bit of each of
/// the model's events. A column the fit could not estimate is left out (it adds nothing).
fn model_of(
    obs: &Observations,
    m: &GroupedLogistic,
    events: &[usize],
    devs: &[u16],
    chs: &[u16],
) -> (ScoreModel, Vec<FittedTerm>, Vec<usize>) {
    let mut terms = vec![FittedTerm {
        term: "intercept".into(),
        coefficient: m.intercept(),
        std_error: m.intercept_std_error(),
    }];
    let mut model = ScoreModel {
        intercept: m.intercept(),
        events: Vec::new(),
        devices: Vec::new(),
        channels: Vec::new(),
    };
    let mut bits = Vec::new();
    let mut col = 0;
    let mut take = |col: usize, term: String| {
        m.coefficient(col).map(|c| {
            terms.push(FittedTerm {
                term,
                coefficient: c.estimate,
                std_error: c.std_error,
            });
            c.estimate
        })
    };
    for &j in events {
        if let Some(c) = take(col, obs.candidates[j].to_string()) {
            model.events.push(ScoreTerm {
                name: obs.candidates[j].clone(),
                coefficient: c,
            });
            bits.push(j);
        }
        col += 1;
    }
    for (lv, names, key, out) in [
        (devs, &obs.devices, "device", &mut model.devices),
        (chs, &obs.channels, "channel", &mut model.channels),
    ] {
        for &l in lv.iter().skip(1) {
            let name = names.get(usize::from(l)).cloned().unwrap_or_default();
            if let Some(c) = take(col, format!("{key}={name}")) {
                out.push(ScoreTerm {
                    name,
                    coefficient: c,
                });
            }
            col += 1;
        }
    }
    (model, terms, bits)
}

/// The grid: for each share `q`, the highest cut that takes in at least `q` of the training
/// units; a cut already taken, or one that takes in every unit, adds no point.
fn grid(
    obs: &Observations,
    model: &ScoreModel,
    bits: &[usize],
    train: &[Group],
    spec: &PredictSpec,
    room: usize,
) -> Vec<GridPoint> {
    let mut scored: Vec<(f64, u64)> = train
        .iter()
        .map(|g| (score(model, bits, obs, g), g.units))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let n: u64 = scored.iter().map(|s| s.1).sum();
    let mut out: Vec<GridPoint> = Vec::new();
    for &q in &spec.tops {
        let mut cum = 0u64;
        let mut cut = None;
        for (k, s) in scored.iter().enumerate() {
            cum += s.1;
            let tie_next = scored.get(k + 1).is_some_and(|t| t.0 == s.0);
            if !tie_next && cum as f64 >= q * n as f64 {
                cut = Some((s.0, cum));
                break;
            }
        }
        let Some((cut, taken)) = cut else { continue };
        let share = taken as f64 / n as f64;
        // Named by the share asked for, so the name stays from week to week while the model is
        // refitted (a standing point must be found again); `training_share` says what it took.
        let name = point_name(&obs.purchase, q);
        let seen = out.iter().any(|p| p.log_odds_cut == cut || p.name == name);
        if taken >= n || seen || out.len() >= room {
            continue;
        }
        out.push(GridPoint {
            name,
            top: q,
            training_share: share,
            threshold: 1.0 / (1.0 + (-cut).exp()),
            log_odds_cut: cut,
        });
    }
    out
}

/// `predicted_<outcome>_top<percent>`, the percent of training units asked for (whole at 10
/// and above, else to a tenth; `predicted_top<percent>` when longer than an event name may be).
fn point_name(outcome: &EventName, share: f64) -> EventName {
    let pct = if share >= 0.1 {
        format!("{}", (share * 100.0).round())
    } else {
        format!("{}", (share * 1000.0).round() / 10.0).replace('.', "_")
    };
    let long = format!("predicted_{outcome}_top{pct}");
    let name = if long.len() <= 40 {
        long
    } else {
        format!("predicted_top{pct}")
    };
    EventName::new(&name).expect("a letter first, then letters, digits and _")
}

/// The grid points as derived rules of family `family`, for the observer.
pub fn rules(m: &PredictedModel, family: usize) -> Vec<DerivedRule> {
    m.grid
        .iter()
        .map(|p| DerivedRule {
            name: p.name.clone(),
            family,
            kind: DerivedKind::Predicted {
                model: m.model.clone(),
                top: p.top,
                threshold: p.threshold,
                log_odds_cut: p.log_odds_cut,
            },
        })
        .collect()
}

/// One grid point on the held-out weeks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldOutPoint {
    /// The grid point's event.
    pub name: EventName,
    /// Held-out units at or above the cut.
    pub units: u64,
    /// Of them, purchasing units.
    pub purchasers: u64,
    /// purchasers / units.
    pub precision: Option<f64>,
    /// Wilson interval of the precision (units taken as independent).
    pub precision_ci: Option<Interval>,
    /// Mean predicted probability of those units (calibrated: close to the precision).
    pub predicted: Option<f64>,
    /// Share of the held-out purchasing units it takes in.
    pub recall: Option<f64>,
}

/// The model scored on the held-out weeks: how well its probabilities match what happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The held-out weeks.
    pub weeks: Vec<IsoWeek>,
    /// Their units.
    pub units: u64,
    /// Their purchasing units.
    pub purchasers: u64,
    /// Purchasing units the model expected (the sum of its probabilities).
    pub expected: f64,
    /// purchasers / expected (1 when calibrated in the large).
    pub observed_over_expected: Option<f64>,
    /// Calibration intercept and slope: `logit P(purchase) = a + b · score` fitted on the
    /// held-out units (a = 0, b = 1 when calibrated; b < 1 when the model is overconfident).
    pub intercept: Option<f64>,
    /// See [`Calibration::intercept`].
    pub slope: Option<f64>,
    /// Brier score of the probabilities.
    pub brier: Option<f64>,
    /// AUC of the score (ties counted half).
    pub auc: Option<f64>,
    /// Each grid point's held-out figures.
    pub points: Vec<HeldOutPoint>,
}

/// The model's held-out calibration on the weeks `held`, at `confidence` for the intervals.
pub fn calibrate(
    obs: &Observations,
    m: &PredictedModel,
    held: &[u16],
    confidence: f64,
) -> Calibration {
    let bits: Vec<usize> = m
        .model
        .events
        .iter()
        .map(|t| {
            obs.candidates
                .iter()
                .position(|c| *c == t.name)
                .unwrap_or(usize::MAX)
        })
        .collect();
    let gs = groups(obs, &|w| held.contains(&w), &bits);
    let eta: Vec<f64> = gs.iter().map(|g| score(&m.model, &bits, obs, g)).collect();
    let p: Vec<f64> = eta.iter().map(|e| 1.0 / (1.0 + (-e).exp())).collect();
    let pos: Vec<f64> = gs.iter().map(|g| g.purchasers as f64).collect();
    let neg: Vec<f64> = gs.iter().map(|g| (g.units - g.purchasers) as f64).collect();
    let units: u64 = gs.iter().map(|g| g.units).sum();
    let purchasers: u64 = gs.iter().map(|g| g.purchasers).sum();
    let expected: f64 = gs.iter().zip(&p).map(|(g, p)| g.units as f64 * p).sum();
    let (intercept, slope) = recalibration(&gs, &eta).unzip();
    let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    let points = m
        .grid
        .iter()
        .map(|pt| {
            let at: Vec<usize> = (0..gs.len())
                .filter(|&i| eta[i] >= pt.log_odds_cut)
                .collect();
            let u: u64 = at.iter().map(|&i| gs[i].units).sum();
            let y: u64 = at.iter().map(|&i| gs[i].purchasers).sum();
            let mass: f64 = at.iter().map(|&i| gs[i].units as f64 * p[i]).sum();
            HeldOutPoint {
                name: pt.name.clone(),
                units: u,
                purchasers: y,
                precision: ratio(y, u),
                precision_ci: wilson(y, u, confidence),
                predicted: (u > 0).then(|| mass / u as f64),
                recall: ratio(y, purchasers),
            }
        })
        .collect();
    Calibration {
        weeks: held.iter().map(|&w| obs.weeks[w as usize].week).collect(),
        units,
        purchasers,
        expected,
        observed_over_expected: (expected > 0.0).then(|| purchasers as f64 / expected),
        intercept,
        slope,
        brier: brier(&p, &pos, &neg),
        auc: grouped_auc(&p, &pos, &neg),
        points,
    }
}

/// The score of group `g` under `m`, whose event `i` is candidate `bits[i]` (a model event
/// that is no longer a candidate, `usize::MAX`, counts as absent).
fn score(m: &ScoreModel, bits: &[usize], obs: &Observations, g: &Group) -> f64 {
    let name = |v: &[String], l: u16| v.get(usize::from(l)).map_or("", |s| s.as_str()).to_owned();
    m.log_odds(
        |i| bits[i] < 32 && g.mask & (1u32 << bits[i]) != 0,
        &name(&obs.devices, g.device),
        &name(&obs.channels, g.channel),
    )
}

/// The calibration intercept and slope: `purchase ~ score` on the held-out groups.
fn recalibration(gs: &[Group], eta: &[f64]) -> Option<(f64, f64)> {
    let mut x = Array2::<f64>::zeros((gs.len(), 1));
    let mut t = Array2::<f64>::zeros((gs.len(), 2));
    for (i, g) in gs.iter().enumerate() {
        x[[i, 0]] = eta[i];
        t[[i, 0]] = g.purchasers as f64;
        t[[i, 1]] = g.units as f64;
    }
    let params = GroupedLogistic::params()
        .firth_on_separation(false)
        .check()
        .ok()?;
    let m = params.fit(&DatasetBase::new(x, t)).ok()?;
    let slope = m.coefficient(0)?.estimate;
    (m.converged()).then_some((m.intercept(), slope))
}

#[cfg(test)]
mod tests;
