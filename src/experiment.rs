//! A/B test readout, the pure stage: per variant step rates, the micro metric and the macro
//! outcome with intervals, each treatment's segment-adjusted, user-clustered difference from
//! control, the sample-ratio-mismatch check and the divergence verdict.
//!
//! Input is one [`UserRow`] per assigned user (the cluster of randomisation), built from the
//! log's events by [`Collector`]; nothing here reads files, knows the config or writes English.
//! The statistics are in [`crate::stats::cluster`]. Two tests per treatment make the verdict
//! (micro and macro), Holm-adjusted over all treatments so that an A/A test finds nothing in
//! 95% of runs; the other funnel steps are described with unadjusted p-values.

use std::collections::HashMap;

use serde::Serialize;

use crate::event::Event;
use crate::observe::UnitKind;
use crate::stats::cluster::{
    chi_square_gof, detectable_difference, holm, stratified_difference, wald_power,
    AdjustedDifference, ClusteredRate, StratumPair,
};
use crate::types::{EventName, Interval};

/// One assigned user in the test window: the cluster every rate's variance is computed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Index into [`ExperimentData::variants`].
    pub variant: u16,
    /// Index into [`ExperimentData::strata`] (device × channel of the user's first event).
    pub stratum: u32,
    /// Units (sessions, or 1 for the user unit) of this user in the window.
    pub units: u32,
    /// Per metric (in [`ExperimentData::metrics`] order): units in which it fired.
    pub with: Vec<u32>,
}

/// Everything the readout needs, as plain values.
#[derive(Debug, Clone, Default)]
pub struct ExperimentData {
    /// Variant names, in index order.
    pub variants: Vec<String>,
    /// Segment names (`device × channel`), in index order.
    pub strata: Vec<String>,
    /// Metric events, in index order.
    pub metrics: Vec<EventName>,
    /// One row per assigned user seen in the window.
    pub users: Vec<UserRow>,
}

/// Validated parameters of the readout.
#[derive(Debug, Clone)]
pub struct ReadoutParams {
    /// The control variant's index.
    pub control: usize,
    /// Configured traffic split, one positive share per variant (any scale).
    pub split: Vec<f64>,
    /// Metric index of the micro-conversion (e.g. add_to_cart).
    pub micro: usize,
    /// Metric index of the macro outcome (purchase).
    pub macro_outcome: usize,
    /// Metric indices of the funnel steps, in funnel order.
    pub steps: Vec<usize>,
    /// Confidence of every interval.
    pub confidence: f64,
    /// Family-wise significance level of the verdict's tests.
    pub alpha: f64,
    /// Significance level of the sample-ratio-mismatch test (0.001 is usual: an SRM check runs
    /// on every test, and a false alarm discards a whole test).
    pub srm_alpha: f64,
    /// Relative lift of the macro outcome the power is reported for (0.1 = +10%).
    pub mde: f64,
    /// Segments with fewer users than this in either arm are pooled into one "other" segment,
    /// so that no stratum's variance rests on a handful of users.
    pub min_stratum_users: u64,
}

/// Which way a metric moved, at the test's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// Significantly higher than control.
    Up,
    /// Significantly lower than control.
    Down,
    /// No significant difference.
    Flat,
}

/// The divergence verdict of one treatment against control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// The split differs from the configured one: the comparison is not trustworthy.
    SampleRatioMismatch,
    /// The micro metric rose, the macro outcome did not move: interest without resolving the
    /// final objection.
    InterestWithoutResolution,
    /// The micro metric fell, the macro outcome did not move.
    MicroDownOnly,
    /// The macro outcome moved without the micro metric.
    MacroOnly,
    /// Both rose.
    BothUp,
    /// Both fell.
    BothDown,
    /// They moved in opposite directions.
    Opposite,
    /// Neither moved.
    NoDifference,
}

/// The role of a metric in the readout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The micro-conversion the test is read on.
    Micro,
    /// The macro outcome.
    Macro,
    /// Another funnel step (described, not part of the verdict).
    Step,
}

/// Users per variant against the configured split.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRatio {
    /// Users per variant.
    pub users: Vec<u64>,
    /// Configured shares, normalised to 1.
    pub expected_share: Vec<f64>,
    /// Users expected per variant under the split.
    pub expected_users: Vec<f64>,
    /// Pearson chi-square statistic.
    pub chi2: f64,
    /// Degrees of freedom.
    pub df: u32,
    /// p-value.
    pub p_value: f64,
    /// Level of the test.
    pub alpha: f64,
    /// Whether `p_value < alpha`.
    pub mismatch: bool,
}

/// One metric's rate in one variant.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRate {
    /// The event.
    pub event: EventName,
    /// Units in which it fired.
    pub units_with: u64,
    /// `units_with / units`.
    pub rate: f64,
    /// Design-effect-adjusted Wilson interval (clustered by user).
    pub ci: Interval,
    /// Variance inflation from clustering sessions by user (1 = none).
    pub design_effect: f64,
    /// For funnel steps after the first: this step's units over the previous step's.
    pub step_rate: Option<f64>,
}

/// One variant's sizes and rates.
#[derive(Debug, Clone, Serialize)]
pub struct VariantSummary {
    /// The variant.
    pub name: String,
    /// Users.
    pub users: u64,
    /// Units (sessions or users).
    pub units: u64,
    /// Every metric, in data order.
    pub metrics: Vec<MetricRate>,
}

/// One metric's treatment-minus-control difference.
#[derive(Debug, Clone, Serialize)]
pub struct MetricDiff {
    /// The event.
    pub event: EventName,
    /// Micro, macro or a described step.
    pub role: Role,
    /// Control's segment-adjusted rate.
    pub control_rate: f64,
    /// Treatment's segment-adjusted rate.
    pub treatment_rate: f64,
    /// Absolute difference in rate.
    pub difference: f64,
    /// Its interval.
    pub ci: Interval,
    /// Relative lift (treatment / control − 1).
    pub relative: Option<f64>,
    /// Interval of the relative lift (log-scale delta method).
    pub relative_ci: Option<Interval>,
    /// Standard error of the difference (user-clustered).
    pub se: f64,
    /// Wald statistic.
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Holm-adjusted p-value over the verdict's family (micro and macro of every treatment);
    /// `None` for described steps.
    pub p_holm: Option<f64>,
    /// Direction at `alpha` (Holm-adjusted for micro and macro, unadjusted for steps).
    pub moved: Movement,
}

/// The macro outcome's power as the test ran.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PowerReached {
    /// The relative lift it is computed for.
    pub mde: f64,
    /// Probability the test detects that lift at `alpha` with the standard error it reached.
    pub power: f64,
    /// Relative lift detectable with 80% power at that standard error.
    pub detectable_at_80: f64,
}

/// One treatment against control.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The treatment.
    pub variant: String,
    /// The control.
    pub control: String,
    /// Every metric's difference, micro and macro first.
    pub metrics: Vec<MetricDiff>,
    /// Segments adjusted for.
    pub segments_used: Vec<String>,
    /// Segments pooled into "other" for having too few users in an arm.
    pub segments_pooled: Vec<String>,
    /// Users left out because their (pooled) segment lacked one arm entirely.
    pub users_unmatched: u64,
    /// The micro metric's direction.
    pub micro: Movement,
    /// The macro outcome's direction.
    pub macro_outcome: Movement,
    /// The verdict.
    pub verdict: VerdictKind,
    /// Power reached for the macro outcome.
    pub macro_power: Option<PowerReached>,
}

/// The readout of a whole test.
#[derive(Debug, Clone, Serialize)]
pub struct Readout {
    /// Sample-ratio-mismatch check (`None` with a single variant).
    pub srm: Option<SampleRatio>,
    /// Per variant, in data order.
    pub variants: Vec<VariantSummary>,
    /// Each treatment against control.
    pub comparisons: Vec<Comparison>,
    /// Confidence of the intervals.
    pub confidence: f64,
    /// Family-wise level of the verdict.
    pub alpha: f64,
}

/// Why a readout cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadoutError {
    /// The split has the wrong length or a share that is not positive.
    #[error(
        "the split has {got} share(s) for {variants} variant(s), or a share that is not positive"
    )]
    Split {
        /// Shares given.
        got: usize,
        /// Variants found.
        variants: usize,
    },
    /// An index is out of range.
    #[error("{what} index {index} is out of range")]
    Index {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        index: usize,
    },
    /// The micro metric or the macro outcome never fired in the window.
    #[error("{0} never fired in the test window")]
    NeverFired(EventName),
    /// Fewer than two variants have users in the window.
    #[error("{0} variant(s) with users in the window; a test needs two")]
    TooFewVariants(usize),
}

/// Reads the test out.
pub fn readout(data: &ExperimentData, p: &ReadoutParams) -> Result<Readout, ReadoutError> {
    let nv = data.variants.len();
    if p.split.len() != nv || p.split.iter().any(|s| s.is_nan() || *s <= 0.0) {
        return Err(ReadoutError::Split {
            got: p.split.len(),
            variants: nv,
        });
    }
    let nm = data.metrics.len();
    for (what, index, bound) in [
        ("control", p.control, nv),
        ("micro", p.micro, nm),
        ("macro", p.macro_outcome, nm),
    ] {
        if index >= bound {
            return Err(ReadoutError::Index { what, index });
        }
    }
    if let Some(&s) = p.steps.iter().find(|&&s| s >= nm) {
        return Err(ReadoutError::Index {
            what: "step",
            index: s,
        });
    }
    let cells = cells(data);
    let variants: Vec<VariantSummary> = (0..nv).map(|v| summarise(data, p, &cells, v)).collect();
    let with_users = variants.iter().filter(|v| v.users > 0).count();
    if with_users < 2 {
        return Err(ReadoutError::TooFewVariants(with_users));
    }
    for m in [p.micro, p.macro_outcome] {
        if variants.iter().all(|v| v.metrics[m].units_with == 0) {
            return Err(ReadoutError::NeverFired(data.metrics[m].clone()));
        }
    }
    let srm = srm(&variants, p);
    let mismatch = srm.as_ref().is_some_and(|s| s.mismatch);
    let mut comparisons: Vec<Comparison> = (0..nv)
        .filter(|&v| v != p.control)
        .map(|v| compare(data, p, &cells, v))
        .collect();
    apply_holm(&mut comparisons, p, mismatch);
    Ok(Readout {
        srm,
        variants,
        comparisons,
        confidence: p.confidence,
        alpha: p.alpha,
    })
}

/// Users by variant, then stratum.
type Cells<'a> = Vec<Vec<Vec<&'a UserRow>>>;

fn cells(data: &ExperimentData) -> Cells<'_> {
    let mut out = vec![vec![Vec::new(); data.strata.len().max(1)]; data.variants.len()];
    for u in &data.users {
        if let Some(v) = out.get_mut(u.variant as usize) {
            if let Some(cell) = v.get_mut(u.stratum as usize) {
                cell.push(u);
            }
        }
    }
    out
}

/// A metric's clustered rate over some users.
fn rate_of<'a>(
    users: impl Iterator<Item = &'a UserRow> + Clone,
    m: usize,
) -> Option<ClusteredRate> {
    ClusteredRate::from_clusters(users.map(move |u| (f64::from(u.with[m]), f64::from(u.units))))
}

fn summarise(
    data: &ExperimentData,
    p: &ReadoutParams,
    cells: &Cells<'_>,
    v: usize,
) -> VariantSummary {
    let users = || cells[v].iter().flatten().copied();
    let units: u64 = users().map(|u| u64::from(u.units)).sum();
    let metrics = (0..data.metrics.len())
        .map(|m| {
            let units_with: u64 = users().map(|u| u64::from(u.with[m])).sum();
            let r = rate_of(users(), m);
            let prev = p
                .steps
                .iter()
                .position(|&s| s == m)
                .filter(|&i| i > 0)
                .map(|i| p.steps[i - 1]);
            let step_rate = prev.and_then(|pm| {
                let before: u64 = users().map(|u| u64::from(u.with[pm])).sum();
                (before > 0).then(|| units_with as f64 / before as f64)
            });
            MetricRate {
                event: data.metrics[m].clone(),
                units_with,
                rate: r.map_or(0.0, |r| r.rate),
                ci: r.map_or(Interval::new(0.0, 1.0), |r| r.interval(p.confidence)),
                design_effect: r.map_or(1.0, |r| r.design_effect()),
                step_rate,
            }
        })
        .collect();
    VariantSummary {
        name: data.variants[v].clone(),
        users: users().count() as u64,
        units,
        metrics,
    }
}

fn srm(variants: &[VariantSummary], p: &ReadoutParams) -> Option<SampleRatio> {
    let users: Vec<u64> = variants.iter().map(|v| v.users).collect();
    let g = chi_square_gof(&users, &p.split)?;
    let total: f64 = p.split.iter().sum();
    Some(SampleRatio {
        expected_share: p.split.iter().map(|s| s / total).collect(),
        expected_users: g.expected,
        chi2: g.chi2,
        df: g.df,
        p_value: g.p_value,
        alpha: p.srm_alpha,
        mismatch: g.p_value < p.srm_alpha,
        users,
    })
}

/// The strata of one comparison: (segment names, control users, treatment users) per stratum,
/// small segments pooled into one; also the pooled names and the users of strata lacking an arm.
struct Strata<'a> {
    used: Vec<String>,
    pooled: Vec<String>,
    groups: Vec<(Vec<&'a UserRow>, Vec<&'a UserRow>)>,
    unmatched: u64,
}

fn strata<'a>(data: &ExperimentData, p: &ReadoutParams, cells: &Cells<'a>, t: usize) -> Strata<'a> {
    let (c, tr) = (&cells[p.control], &cells[t]);
    let mut out = Strata {
        used: Vec::new(),
        pooled: Vec::new(),
        groups: Vec::new(),
        unmatched: 0,
    };
    let mut other = (Vec::new(), Vec::new());
    for s in 0..c.len() {
        let name = data.strata.get(s).cloned().unwrap_or_default();
        let least = p.min_stratum_users.max(1);
        let small = (c[s].len() as u64) < least || (tr[s].len() as u64) < least;
        if c[s].is_empty() && tr[s].is_empty() {
            continue;
        }
        if small {
            out.pooled.push(name);
            other.0.extend(c[s].iter().copied());
            other.1.extend(tr[s].iter().copied());
        } else {
            out.used.push(name);
            out.groups.push((c[s].clone(), tr[s].clone()));
        }
    }
    if !other.0.is_empty() && !other.1.is_empty() {
        out.groups.push(other);
    } else {
        out.unmatched = (other.0.len() + other.1.len()) as u64;
    }
    out
}

fn diff_of(
    groups: &[(Vec<&UserRow>, Vec<&UserRow>)],
    m: usize,
    conf: f64,
) -> Option<AdjustedDifference> {
    let pairs: Option<Vec<StratumPair>> = groups
        .iter()
        .map(|(c, t)| {
            Some(StratumPair {
                control: rate_of(c.iter().copied(), m)?,
                treatment: rate_of(t.iter().copied(), m)?,
            })
        })
        .collect();
    stratified_difference(&pairs?, conf)
}

fn compare(data: &ExperimentData, p: &ReadoutParams, cells: &Cells<'_>, t: usize) -> Comparison {
    let st = strata(data, p, cells, t);
    let mut order = vec![(p.micro, Role::Micro), (p.macro_outcome, Role::Macro)];
    for &s in &p.steps {
        if s != p.micro && s != p.macro_outcome {
            order.push((s, Role::Step));
        }
    }
    let metrics: Vec<MetricDiff> = order
        .iter()
        .filter_map(|&(m, role)| {
            let d = diff_of(&st.groups, m, p.confidence)?;
            Some(MetricDiff {
                event: data.metrics[m].clone(),
                role,
                control_rate: d.control,
                treatment_rate: d.treatment,
                difference: d.difference,
                ci: d.ci,
                relative: d.relative,
                relative_ci: d.relative_ci,
                se: d.se,
                z: d.z,
                p_value: d.p_value,
                p_holm: None,
                moved: movement(d.difference, d.p_value, p.alpha),
            })
        })
        .collect();
    let macro_power = metrics
        .iter()
        .find(|m| m.role == Role::Macro)
        .and_then(|m| power_reached(m, p));
    Comparison {
        variant: data.variants[t].clone(),
        control: data.variants[p.control].clone(),
        metrics,
        segments_used: st.used,
        segments_pooled: st.pooled,
        users_unmatched: st.unmatched,
        micro: Movement::Flat,
        macro_outcome: Movement::Flat,
        verdict: VerdictKind::NoDifference,
        macro_power,
    }
}

fn power_reached(m: &MetricDiff, p: &ReadoutParams) -> Option<PowerReached> {
    if m.control_rate <= 0.0 {
        return None;
    }
    Some(PowerReached {
        mde: p.mde,
        power: wald_power(p.mde * m.control_rate, m.se, p.alpha)?,
        detectable_at_80: detectable_difference(m.se, p.alpha, 0.8)? / m.control_rate,
    })
}

fn movement(difference: f64, p_value: f64, alpha: f64) -> Movement {
    if p_value >= alpha || difference == 0.0 {
        Movement::Flat
    } else if difference > 0.0 {
        Movement::Up
    } else {
        Movement::Down
    }
}

/// Holm over micro and macro of every comparison, then each comparison's verdict.
fn apply_holm(comparisons: &mut [Comparison], p: &ReadoutParams, srm: bool) {
    let mut at = Vec::new();
    let mut raw = Vec::new();
    for (ci, c) in comparisons.iter().enumerate() {
        for (mi, m) in c.metrics.iter().enumerate() {
            if m.role != Role::Step {
                at.push((ci, mi));
                raw.push(m.p_value);
            }
        }
    }
    for ((ci, mi), adj) in at.into_iter().zip(holm(&raw)) {
        let m = &mut comparisons[ci].metrics[mi];
        m.p_holm = Some(adj);
        m.moved = movement(m.difference, adj, p.alpha);
    }
    for c in comparisons.iter_mut() {
        let of = |role| {
            c.metrics
                .iter()
                .find(|m| m.role == role)
                .map_or(Movement::Flat, |m| m.moved)
        };
        c.micro = of(Role::Micro);
        c.macro_outcome = if p.micro == p.macro_outcome {
            c.micro
        } else {
            of(Role::Macro)
        };
        c.verdict = verdict(c.micro, c.macro_outcome, srm);
    }
}

/// The verdict from the two movements (an SRM overrides them).
pub fn verdict(micro: Movement, macro_outcome: Movement, srm: bool) -> VerdictKind {
    use Movement::*;
    if srm {
        return VerdictKind::SampleRatioMismatch;
    }
    match (micro, macro_outcome) {
        (Up, Flat) => VerdictKind::InterestWithoutResolution,
        (Down, Flat) => VerdictKind::MicroDownOnly,
        (Flat, Up | Down) => VerdictKind::MacroOnly,
        (Up, Up) => VerdictKind::BothUp,
        (Down, Down) => VerdictKind::BothDown,
        (Up, Down) | (Down, Up) => VerdictKind::Opposite,
        (Flat, Flat) => VerdictKind::NoDifference,
    }
}

/// Plain parameters of [`Collector`].
#[derive(Debug, Clone)]
pub struct CollectSpec {
    /// First instant of the test, microseconds since the epoch (inclusive).
    pub start_us: i64,
    /// End of the test (exclusive).
    pub end_us: i64,
    /// Session or user units.
    pub unit: UnitKind,
    /// Inactivity that ends an inferred session (rows without a session id), microseconds.
    pub session_gap_us: i64,
    /// Metric events.
    pub metrics: Vec<EventName>,
}

/// One user's units while collecting.
#[derive(Debug, Default)]
struct Acc {
    variant: u16,
    stratum: u32,
    /// Session id (or inferred-session key) → metric bit mask.
    units: HashMap<Box<str>, u64>,
    gap_session: u32,
    last_us: Option<i64>,
}

/// What the collector saw besides the users it kept.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CollectCounts {
    /// Events inside the test window.
    pub events_in_window: u64,
    /// Events outside it (ignored).
    pub events_outside: u64,
    /// Events in the window from users without an assignment (ignored).
    pub events_unassigned: u64,
    /// Distinct users with such events.
    pub users_unassigned: u64,
}

/// Turns the log's events into [`UserRow`]s for the assigned users, inside the test window.
#[derive(Debug)]
pub struct Collector<'a> {
    spec: CollectSpec,
    assignment: &'a HashMap<String, u16>,
    bits: HashMap<String, u64>,
    users: HashMap<Box<str>, Acc>,
    strata: HashMap<String, u32>,
    unassigned: std::collections::HashSet<Box<str>>,
    counts: CollectCounts,
}

impl<'a> Collector<'a> {
    /// A collector for users assigned by `assignment` (user id → variant index).
    pub fn new(spec: CollectSpec, assignment: &'a HashMap<String, u16>) -> Self {
        let bits = spec
            .metrics
            .iter()
            .enumerate()
            .take(64)
            .map(|(i, e)| (e.as_str().to_string(), 1u64 << i))
            .collect();
        Collector {
            spec,
            assignment,
            bits,
            users: HashMap::new(),
            strata: HashMap::new(),
            unassigned: Default::default(),
            counts: CollectCounts::default(),
        }
    }

    /// Takes one event (in file order).
    pub fn push(&mut self, ev: &Event<'_>) {
        if ev.micros < self.spec.start_us || ev.micros >= self.spec.end_us {
            self.counts.events_outside += 1;
            return;
        }
        self.counts.events_in_window += 1;
        let Some(&variant) = self.assignment.get(ev.user) else {
            self.counts.events_unassigned += 1;
            if !self.unassigned.contains(ev.user) {
                self.unassigned.insert(ev.user.into());
            }
            return;
        };
        if !self.users.contains_key(ev.user) {
            let name = format!(
                "{} × {}",
                ev.device.filter(|s| !s.is_empty()).unwrap_or("unknown"),
                ev.channel.filter(|s| !s.is_empty()).unwrap_or("unknown")
            );
            let next = self.strata.len() as u32;
            let stratum = *self.strata.entry(name).or_insert(next);
            let acc = Acc {
                variant,
                stratum,
                ..Acc::default()
            };
            self.users.insert(ev.user.into(), acc);
        }
        let bit = self.bits.get(ev.name).copied().unwrap_or(0);
        let (unit, gap) = (self.spec.unit, self.spec.session_gap_us);
        let Some(acc) = self.users.get_mut(ev.user) else {
            return;
        };
        let key: Box<str> = match (unit, ev.session.filter(|s| !s.is_empty())) {
            (UnitKind::User, _) => "".into(),
            (UnitKind::Session, Some(s)) => s.into(),
            (UnitKind::Session, None) => {
                if acc.last_us.is_some_and(|t| ev.micros - t > gap) {
                    acc.gap_session += 1;
                }
                format!("\u{0}{}", acc.gap_session).into()
            }
        };
        acc.last_us = Some(acc.last_us.map_or(ev.micros, |t| t.max(ev.micros)));
        *acc.units.entry(key).or_insert(0) |= bit;
    }

    /// The rows, with `variants` as the variant names, and what was ignored.
    pub fn finish(self, variants: Vec<String>) -> (ExperimentData, CollectCounts) {
        let mut strata = vec![String::new(); self.strata.len()];
        for (name, i) in self.strata {
            strata[i as usize] = name;
        }
        let nm = self.spec.metrics.len();
        let mut users: Vec<(Box<str>, UserRow)> = self
            .users
            .into_iter()
            .map(|(id, acc)| {
                let with = (0..nm)
                    .map(|m| acc.units.values().filter(|&&b| b >> m & 1 == 1).count() as u32)
                    .collect();
                let row = UserRow {
                    variant: acc.variant,
                    stratum: acc.stratum,
                    units: acc.units.len() as u32,
                    with,
                };
                (id, row)
            })
            .collect();
        // Deterministic order: sums are then bit-for-bit the same on every run.
        users.sort_by(|a, b| a.0.cmp(&b.0));
        let mut counts = self.counts;
        counts.users_unassigned = self.unassigned.len() as u64;
        let data = ExperimentData {
            variants,
            strata,
            metrics: self.spec.metrics,
            users: users.into_iter().map(|(_, r)| r).collect(),
        };
        (data, counts)
    }
}

#[cfg(test)]
mod tests;
