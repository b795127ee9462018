//! Cluster-robust rates and segment-adjusted differences for experiments randomised by user.
//!
//! A test randomises users, but a rate such as "sessions with add_to_cart / sessions" counts
//! sessions, and the sessions of one user are not independent. Each user is a cluster
//! contributing `y_g` successes in `n_g` trials (`n_g = 1` when the unit is the user). The rate is
//! the ratio of sums `p = Σy / Σn` and its variance the linearised (sandwich, CR0) one,
//! `V(p) = Σ_g (y_g − p·n_g)² / (Σn)²`: exactly the cluster-robust variance statsmodels gives
//! the intercept of `OLS(y ~ 1)` with `cov_type="cluster"` and `use_correction=False`.
//!
//! The difference between two arms is post-stratified on segments (device × channel): with
//! stratum weights `w_s` (the stratum's share of all trials in both arms), each arm's adjusted
//! rate is `Σ w_s·p_{a,s}` and the difference `Σ w_s·(p_{1,s} − p_{0,s})`, with variance
//! `Σ w_s²·(V(p_{1,s}) + V(p_{0,s}))` because a user belongs to one arm and one stratum. That is
//! Lin's (2013) fully interacted regression `y ~ T·(S − S̄)`, so statsmodels checks it too.
//! This module keeps its own cluster-robust functions (rather than sharing interval.rs) so that
//! the experiment readout depends on nothing but these closed forms.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::interval::{normal_sf, std_normal, z_quantile};
use crate::types::Interval;

/// A ratio-of-sums rate over clusters with its cluster-robust (CR0) variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusteredRate {
    /// `Σy / Σn`.
    pub rate: f64,
    /// `Σ (y_g − p·n_g)² / (Σn)²`.
    pub variance: f64,
    /// `Σy`.
    pub successes: f64,
    /// `Σn`.
    pub trials: f64,
    /// Clusters (users) with at least one trial.
    pub clusters: u64,
}

impl ClusteredRate {
    /// Rate of `(successes, trials)` per cluster; clusters without trials are ignored. `None`
    /// when no cluster has a trial, or a count is negative, NaN, or above its trials.
    pub fn from_clusters(clusters: impl IntoIterator<Item = (f64, f64)> + Clone) -> Option<Self> {
        let (mut y, mut n, mut g) = (0.0, 0.0, 0u64);
        for (yi, ni) in clusters.clone() {
            if yi.is_nan() || ni.is_nan() || yi < 0.0 || yi > ni {
                return None;
            }
            if ni > 0.0 {
                y += yi;
                n += ni;
                g += 1;
            }
        }
        if n <= 0.0 {
            return None;
        }
        let p = y / n;
        let ss: f64 = clusters
            .into_iter()
            .filter(|&(_, ni)| ni > 0.0)
            .map(|(yi, ni)| (yi - p * ni).powi(2))
            .sum();
        Some(ClusteredRate {
            rate: p,
            variance: ss / (n * n),
            successes: y,
            trials: n,
            clusters: g,
        })
    }

    /// Kish design effect: the clustered variance over the binomial one `p(1−p)/n` (1 when the
    /// clusters are single trials; 1 also when `p` is 0 or 1 and both are zero).
    pub fn design_effect(&self) -> f64 {
        let binomial = self.rate * (1.0 - self.rate) / self.trials;
        if binomial > 0.0 {
            self.variance / binomial
        } else {
            1.0
        }
    }

    /// Wilson interval on the effective sample size `n / deff` (at least one cluster's worth):
    /// stays inside [0, 1] for rare events like the Wilson interval, while widening for the
    /// correlation between a user's sessions.
    pub fn interval(&self, confidence: f64) -> Interval {
        let n_eff = (self.trials / self.design_effect().max(1e-12)).max(1.0);
        wilson_real(self.rate, n_eff, confidence)
    }
}

/// Wilson score interval for a proportion `p` observed on a (possibly fractional) sample `n`.
pub fn wilson_real(p: f64, n: f64, confidence: f64) -> Interval {
    let z = z_quantile(confidence);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).max(0.0).sqrt();
    Interval::new(
        (centre - half).clamp(0.0, 1.0),
        (centre + half).clamp(0.0, 1.0),
    )
}

/// One stratum of a two-arm comparison: each arm's clustered rate in the stratum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StratumPair {
    /// The control arm.
    pub control: ClusteredRate,
    /// The treatment arm.
    pub treatment: ClusteredRate,
}

/// The post-stratified treatment-minus-control difference, its test and the relative lift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdjustedDifference {
    /// Control's adjusted rate `Σ w_s p_{0,s}`.
    pub control: f64,
    /// Treatment's adjusted rate `Σ w_s p_{1,s}`.
    pub treatment: f64,
    /// `Var` of the control's adjusted rate.
    pub var_control: f64,
    /// `Var` of the treatment's adjusted rate.
    pub var_treatment: f64,
    /// `treatment − control`.
    pub difference: f64,
    /// Standard error of the difference.
    pub se: f64,
    /// `difference ± z·se`.
    pub ci: Interval,
    /// Wald statistic `difference / se`.
    pub z: f64,
    /// Two-sided p-value of `z` (1 when `se` is 0 and the difference is 0).
    pub p_value: f64,
    /// `treatment / control − 1`, when the control rate is positive.
    pub relative: Option<f64>,
    /// Log-scale delta-method interval on the relative lift,
    /// `exp(ln(r₁/r₀) ± z·√(V₁/r₁² + V₀/r₀²)) − 1`, when both adjusted rates are positive.
    pub relative_ci: Option<Interval>,
}

/// Post-stratified difference of the pairs, weighting each stratum by its share of all trials.
/// `None` when there is no stratum or no trial.
pub fn stratified_difference(
    strata: &[StratumPair],
    confidence: f64,
) -> Option<AdjustedDifference> {
    let total: f64 = strata
        .iter()
        .map(|s| s.control.trials + s.treatment.trials)
        .sum();
    if strata.is_empty() || total <= 0.0 {
        return None;
    }
    let (mut r0, mut r1, mut v0, mut v1) = (0.0, 0.0, 0.0, 0.0);
    for s in strata {
        let w = (s.control.trials + s.treatment.trials) / total;
        r0 += w * s.control.rate;
        r1 += w * s.treatment.rate;
        v0 += w * w * s.control.variance;
        v1 += w * w * s.treatment.variance;
    }
    let difference = r1 - r0;
    let se = (v0 + v1).sqrt();
    let z_crit = z_quantile(confidence);
    let (z, p_value) = if se > 0.0 {
        let z = difference / se;
        (z, (2.0 * normal_sf(z.abs())).min(1.0))
    } else {
        (0.0, if difference == 0.0 { 1.0 } else { 0.0 })
    };
    let relative = (r0 > 0.0).then(|| r1 / r0 - 1.0);
    let relative_ci = (r0 > 0.0 && r1 > 0.0).then(|| {
        let log_ratio = (r1 / r0).ln();
        let se_log = (v1 / (r1 * r1) + v0 / (r0 * r0)).sqrt();
        Interval::new(
            (log_ratio - z_crit * se_log).exp() - 1.0,
            (log_ratio + z_crit * se_log).exp() - 1.0,
        )
    });
    Some(AdjustedDifference {
        control: r0,
        treatment: r1,
        var_control: v0,
        var_treatment: v1,
        difference,
        se,
        ci: Interval::new(difference - z_crit * se, difference + z_crit * se),
        z,
        p_value,
        relative,
        relative_ci,
    })
}

/// Power of a two-sided level-`alpha` Wald test to detect a true difference `delta` when the
/// difference is estimated with standard error `se`: `Φ(δ/se − z) + Φ(−δ/se − z)`.
/// `None` when `se` is not positive or `alpha` is outside (0, 1).
pub fn wald_power(delta: f64, se: f64, alpha: f64) -> Option<f64> {
    if se <= 0.0 || !se.is_finite() || !(alpha > 0.0 && alpha < 1.0) {
        return None;
    }
    let z = z_quantile(1.0 - alpha);
    let d = delta.abs() / se;
    Some((normal_sf(z - d) + normal_sf(z + d)).min(1.0))
}

/// The smallest true difference a two-sided level-`alpha` Wald test with standard error `se`
/// detects with probability `power` (ignoring the far tail): `(z_{1−α/2} + z_{power})·se`.
pub fn detectable_difference(se: f64, alpha: f64, power: f64) -> Option<f64> {
    if se <= 0.0 || !(alpha > 0.0 && alpha < 1.0) || !(power > 0.0 && power < 1.0) {
        return None;
    }
    Some((z_quantile(1.0 - alpha) + std_normal().inverse_cdf(power)) * se)
}

/// Units and purchasers of two possibly overlapping audiences, by membership: `(units,
/// purchasers)` in the first only, the second only, and both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OverlapCells {
    /// In the first audience only.
    pub a_only: (u64, u64),
    /// In the second only.
    pub b_only: (u64, u64),
    /// In both.
    pub both: (u64, u64),
}

impl OverlapCells {
    /// Adds `units` units (`purchasers` of them purchasing) by membership; units in neither are
    /// not counted.
    pub fn add(&mut self, in_a: bool, in_b: bool, units: u64, purchasers: u64) {
        let cell = match (in_a, in_b) {
            (true, true) => &mut self.both,
            (true, false) => &mut self.a_only,
            (false, true) => &mut self.b_only,
            (false, false) => return,
        };
        cell.0 += units;
        cell.1 += purchasers;
    }

    /// `(units, purchasers)` of the first audience.
    pub fn a_totals(&self) -> (u64, u64) {
        (self.a_only.0 + self.both.0, self.a_only.1 + self.both.1)
    }

    /// `(units, purchasers)` of the second audience.
    pub fn b_totals(&self) -> (u64, u64) {
        (self.b_only.0 + self.both.0, self.b_only.1 + self.both.1)
    }
}

/// Density difference of two overlapping audiences, with its test and the density ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlapDifference {
    /// `p_A − p_B`.
    pub difference: f64,
    /// Its standard error.
    pub se: f64,
    /// `difference ± z·se`.
    pub difference_ci: Interval,
    /// Two-sided p-value of the Wald test.
    pub p_value: f64,
    /// `p_A / p_B`, when `p_B > 0`.
    pub ratio: Option<f64>,
    /// Log-scale interval of the ratio, when both densities are positive.
    pub ratio_ci: Option<Interval>,
}

/// Difference in purchase density `p_A − p_B` of two audiences that may share units.
///
/// Each unit is one observation; a unit in both audiences enters both densities, so the
/// linearised (sandwich) variance sums, over units, the square of
/// `[in A](y − p_A)/n_A − [in B](y − p_B)/n_B` — what statsmodels gives for the group coefficient
/// of `OLS(y ~ group)` on the stacked memberships with errors clustered by unit. The ratio uses
/// the same with each term divided by its density (log scale). `None` when an audience is empty.
pub fn overlap_difference(c: &OverlapCells, confidence: f64) -> Option<OverlapDifference> {
    let ((na, ya), (nb, yb)) = (c.a_totals(), c.b_totals());
    if na == 0 || nb == 0 {
        return None;
    }
    let (na, nb) = (na as f64, nb as f64);
    let (pa, pb) = (ya as f64 / na, yb as f64 / nb);
    // Σ over the cells of count × (linearised contribution)², for y = 1 and y = 0.
    let var = |wa: f64, wb: f64| {
        let sq = |(units, buyers): (u64, u64), in_a: bool, in_b: bool| {
            let z = |y: f64| {
                f64::from(u8::from(in_a)) * (y - pa) / (na * wa)
                    - f64::from(u8::from(in_b)) * (y - pb) / (nb * wb)
            };
            buyers as f64 * z(1.0).powi(2) + (units - buyers) as f64 * z(0.0).powi(2)
        };
        sq(c.a_only, true, false) + sq(c.b_only, false, true) + sq(c.both, true, true)
    };
    let difference = pa - pb;
    let se = var(1.0, 1.0).max(0.0).sqrt();
    let z = z_quantile(confidence);
    let p_value = if se > 0.0 {
        (2.0 * normal_sf((difference / se).abs())).min(1.0)
    } else if difference == 0.0 {
        1.0
    } else {
        0.0
    };
    let ratio_ci = (pa > 0.0 && pb > 0.0).then(|| {
        let (l, s) = ((pa / pb).ln(), var(pa, pb).max(0.0).sqrt());
        Interval::new((l - z * s).exp(), (l + z * s).exp())
    });
    Some(OverlapDifference {
        difference,
        se,
        difference_ci: Interval::new(difference - z * se, difference + z * se),
        p_value,
        ratio: (pb > 0.0).then(|| pa / pb),
        ratio_ci,
    })
}

/// Pearson's chi-square goodness-of-fit test of observed counts against expected shares.
#[derive(Debug, Clone, PartialEq)]
pub struct GoodnessOfFit {
    /// Counts expected under the shares, `N·share_i`.
    pub expected: Vec<f64>,
    /// `Σ (O − E)² / E`.
    pub chi2: f64,
    /// Degrees of freedom, categories − 1.
    pub df: u32,
    /// Upper-tail probability of `chi2`.
    pub p_value: f64,
}

/// Chi-square test of `observed` against `shares` (normalised to sum to 1). `None` when the
/// lengths differ, there are fewer than two categories, a share is not positive or nothing was
/// observed.
pub fn chi_square_gof(observed: &[u64], shares: &[f64]) -> Option<GoodnessOfFit> {
    if observed.len() != shares.len() || observed.len() < 2 {
        return None;
    }
    let total_share: f64 = shares.iter().sum();
    if shares.iter().any(|s| !s.is_finite() || *s <= 0.0) {
        return None;
    }
    let n: u64 = observed.iter().sum();
    if n == 0 {
        return None;
    }
    let expected: Vec<f64> = shares.iter().map(|s| n as f64 * s / total_share).collect();
    let chi2: f64 = observed
        .iter()
        .zip(&expected)
        .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
        .sum();
    let df = (observed.len() - 1) as u32;
    let p_value = ChiSquared::new(df as f64).ok()?.sf(chi2);
    Some(GoodnessOfFit {
        expected,
        chi2,
        df,
        p_value,
    })
}

/// Holm's step-down adjustment of p-values (family-wise error control), in input order.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let adj = ((m - rank) as f64 * p_values[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Per-user sums of a 2×2 table's counts, from which the user-clustered (CR0) variances of its
/// precision, odds ratio and lift follow. Over users `g` with `N_g` units of which `Y_g`
/// purchased, and `n_g` units with the proxy of which `y_g` purchased.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TableClusterSums {
    /// `[Σ N_g², Σ N_g·Y_g, Σ Y_g²]`.
    pub all: [f64; 3],
    /// `[Σ n_g², Σ n_g·y_g, Σ y_g², Σ n_g·N_g, Σ n_g·Y_g, Σ y_g·N_g, Σ y_g·Y_g]`.
    pub proxy: [f64; 7],
}

/// User-clustered (CR0) variances of a proxy's 2×2 table `(a, b, c, d)`, with the design effect
/// of each (the clustered variance over the one that treats units as independent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusteredTable {
    /// Precision `a / (a + b)`.
    pub precision: f64,
    /// Its clustered variance `Σ_g (y_g − p·n_g)² / (a + b)²`.
    pub precision_variance: f64,
    /// That over the binomial `p(1 − p)/(a + b)`; 1 when the binomial variance is 0.
    pub precision_design_effect: f64,
    /// Clustered variance of `ln OR` (the delta method on the two arms' logits, with their
    /// covariance), when no cell is empty.
    pub log_odds_ratio_variance: Option<f64>,
    /// That over Woolf's `1/a + 1/b + 1/c + 1/d`.
    pub odds_ratio_design_effect: Option<f64>,
    /// Clustered variance of `ln lift` (precision over the base rate, with their covariance),
    /// when `a > 0`.
    pub log_lift_variance: Option<f64>,
    /// That over the multinomial delta-method variance.
    pub lift_design_effect: Option<f64>,
}

/// `Σ_g (y_g − p·n_g)(v_g − q·m_g)` from the sums `Σ y·v`, `Σ y·m`, `Σ n·v`, `Σ n·m`.
fn cross(yv: f64, ym: f64, nv: f64, nm: f64, p: f64, q: f64) -> f64 {
    yv - q * ym - p * nv + p * q * nm
}

/// Clustered variances of the table `(a, b, c, d)` from its per-user sums (CR0: statsmodels'
/// `cov_type="cluster"` with `use_correction=False`; checked against
/// `fixtures/reference/clustered_table.json`). `None` when no unit has the proxy.
pub fn clustered_table(
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    s: &TableClusterSums,
) -> Option<ClusteredTable> {
    let (a, b, c, d) = (a as f64, b as f64, c as f64, d as f64);
    let n1 = a + b;
    let n = a + b + c + d;
    if n1 <= 0.0 || n <= 0.0 {
        return None;
    }
    let [nn, ny, yy, n_nn, n_yy, y_nn, y_yy] = s.proxy;
    let [aa_nn, aa_ny, aa_yy] = s.all;
    let p1 = a / n1;
    let v1 = cross(yy, ny, ny, nn, p1, p1).max(0.0) / (n1 * n1);
    let binomial = p1 * (1.0 - p1) / n1;
    let precision_design_effect = if binomial > 0.0 { v1 / binomial } else { 1.0 };
    // The units without the proxy: N − n and Y − y per user.
    let n0 = c + d;
    let p0 = if n0 > 0.0 { c / n0 } else { 0.0 };
    let s0_nn = aa_nn - 2.0 * n_nn + nn;
    let s0_ny = aa_ny - y_nn - n_yy + ny;
    let s0_yy = aa_yy - 2.0 * y_yy + yy;
    // Σ y1·y0, Σ y1·n0, Σ n1·y0, Σ n1·n0.
    let x_yy = y_yy - yy;
    let x_yn = y_nn - ny;
    let x_ny = n_yy - ny;
    let x_nn = n_nn - nn;
    let (log_odds_ratio_variance, odds_ratio_design_effect) =
        if a > 0.0 && b > 0.0 && c > 0.0 && d > 0.0 {
            let v0 = cross(s0_yy, s0_ny, s0_ny, s0_nn, p0, p0).max(0.0) / (n0 * n0);
            let c10 = cross(x_yy, x_yn, x_ny, x_nn, p1, p0) / (n1 * n0);
            let (g1, g0) = (1.0 / (p1 * (1.0 - p1)), 1.0 / (p0 * (1.0 - p0)));
            let v = (g1 * g1 * v1 + g0 * g0 * v0 - 2.0 * g1 * g0 * c10).max(0.0);
            let woolf = 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d;
            (Some(v), Some(v / woolf))
        } else {
            (None, None)
        };
    let (log_lift_variance, lift_design_effect) = if a > 0.0 {
        let base = (a + c) / n;
        let vb = cross(aa_yy, aa_ny, aa_ny, aa_nn, base, base).max(0.0) / (n * n);
        let c1b = cross(y_yy, y_nn, n_yy, n_nn, p1, base) / (n1 * n);
        let v = (v1 / (p1 * p1) + vb / (base * base) - 2.0 * c1b / (p1 * base)).max(0.0);
        // The multinomial variance of ln lift (stats::interval::lift).
        let (pa, pb, pc) = (a / n, b / n, c / n);
        let (row, col) = (pa + pb, pa + pc);
        let ga = 1.0 / pa - 1.0 / row - 1.0 / col;
        let (gb, gc) = (-1.0 / row, -1.0 / col);
        let naive = ((ga * ga * pa + gb * gb * pb + gc * gc * pc) - 1.0) / n;
        (Some(v), (naive > 0.0).then(|| v / naive))
    } else {
        (None, None)
    };
    Some(ClusteredTable {
        precision: p1,
        precision_variance: v1,
        precision_design_effect,
        log_odds_ratio_variance,
        odds_ratio_design_effect,
        log_lift_variance,
        lift_design_effect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn single_trial_clusters_give_the_binomial_variance() {
        // 30 successes in 100 one-trial clusters: Σ(y − p)² = 30·0.49 + 70·0.09 = 21,
        // V = 21 / 100² = p(1 − p)/n = 0.0021.
        let c = (0..100).map(|i| (if i < 30 { 1.0 } else { 0.0 }, 1.0));
        let r = ClusteredRate::from_clusters(c).unwrap();
        assert!(close(r.rate, 0.3, 1e-12));
        assert!(close(r.variance, 0.0021, 1e-12));
        assert!(close(r.design_effect(), 1.0, 1e-12));
        // With one trial per cluster the interval is the plain Wilson interval.
        let w = crate::stats::interval::wilson(30, 100, 0.95).unwrap();
        let i = r.interval(0.95);
        assert!(close(i.lo, w.lo, 1e-12) && close(i.hi, w.hi, 1e-12));
    }

    #[test]
    fn clustered_variance_by_hand() {
        // Clusters (y, n): (2, 2), (0, 2), (1, 1), (0, 1): p = 3/6 = 0.5;
        // residuals 1, −1, 0.5, −0.5 → Σ² = 2.5, V = 2.5/36.
        let r =
            ClusteredRate::from_clusters([(2.0, 2.0), (0.0, 2.0), (1.0, 1.0), (0.0, 1.0)]).unwrap();
        assert!(close(r.rate, 0.5, 1e-12));
        assert!(close(r.variance, 2.5 / 36.0, 1e-12));
        assert!(r.design_effect() > 1.0);
        assert!(ClusteredRate::from_clusters([(0.0, 0.0)]).is_none());
        assert!(ClusteredRate::from_clusters([(2.0, 1.0)]).is_none());
    }

    #[test]
    fn one_stratum_difference_is_the_unpooled_wald_test() {
        let arm = |x: u32, n: u32| {
            ClusteredRate::from_clusters((0..n).map(move |i| (f64::from(u8::from(i < x)), 1.0)))
                .unwrap()
        };
        let d = stratified_difference(
            &[StratumPair {
                control: arm(20, 100),
                treatment: arm(30, 100),
            }],
            0.95,
        )
        .unwrap();
        let se = (0.2f64 * 0.8 / 100.0 + 0.3 * 0.7 / 100.0).sqrt();
        assert!(close(d.difference, 0.1, 1e-12) && close(d.se, se, 1e-12));
        assert!(close(d.relative.unwrap(), 0.5, 1e-12));
        let ci = d.relative_ci.unwrap();
        assert!(ci.lo < 0.5 && ci.hi > 0.5);
        assert!(close(d.p_value, 2.0 * normal_sf(0.1 / se), 1e-12));
    }

    #[test]
    fn strata_weight_by_their_share_of_trials() {
        let arm = |x: u32, n: u32| {
            ClusteredRate::from_clusters((0..n).map(move |i| (f64::from(u8::from(i < x)), 1.0)))
                .unwrap()
        };
        // Stratum A: 300 trials, rates 0.1 → 0.2; B: 100 trials, 0.5 → 0.5.
        let d = stratified_difference(
            &[
                StratumPair {
                    control: arm(15, 150),
                    treatment: arm(30, 150),
                },
                StratumPair {
                    control: arm(25, 50),
                    treatment: arm(25, 50),
                },
            ],
            0.95,
        )
        .unwrap();
        assert!(close(d.difference, 0.75 * 0.1, 1e-12));
        assert!(close(d.control, 0.75 * 0.1 + 0.25 * 0.5, 1e-12));
    }

    #[test]
    fn chi_square_matches_scipy() {
        // scipy.stats.chisquare([480, 520], [500, 500]) = (1.6, 0.20590321073206466).
        let g = chi_square_gof(&[480, 520], &[0.5, 0.5]).unwrap();
        assert!(close(g.chi2, 1.6, 1e-12));
        assert!(close(g.p_value, 0.20590321073206466, 1e-9), "{g:?}");
        // scipy.stats.chisquare([100, 200, 330], [105, 210, 315]) = (1.4285714285714284,
        // 0.48954165955695306).
        let g = chi_square_gof(&[100, 200, 330], &[1.0, 2.0, 3.0]).unwrap();
        assert!(close(g.chi2, 1.4285714285714284, 1e-12));
        assert!(close(g.p_value, 0.48954165955695306, 1e-9), "{g:?}");
        assert!(chi_square_gof(&[1], &[1.0]).is_none());
        assert!(chi_square_gof(&[1, 2], &[0.0, 1.0]).is_none());
    }

    #[test]
    fn overlap_difference_matches_statsmodels_stacked_cluster_ols() {
        let want: serde_json::Value = serde_json::from_str(include_str!(
            "../../fixtures/reference/audience_overlap.json"
        ))
        .unwrap();
        let cell = |k: &str| {
            let v = &want["cells"][k];
            (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())
        };
        let c = OverlapCells {
            a_only: cell("a_only"),
            b_only: cell("b_only"),
            both: cell("both"),
        };
        let d = overlap_difference(&c, 0.95).unwrap();
        let f = |k: &str| want[k].as_f64().unwrap();
        let pair = |k: &str| (want[k][0].as_f64().unwrap(), want[k][1].as_f64().unwrap());
        assert!(close(d.difference, f("difference"), 1e-12));
        assert!(close(d.se, f("se"), 1e-12), "{} vs {}", d.se, f("se"));
        assert!(close(d.p_value, f("p_value"), 1e-9));
        let (lo, hi) = pair("difference_ci");
        assert!(close(d.difference_ci.lo, lo, 1e-9) && close(d.difference_ci.hi, hi, 1e-9));
        assert!(close(d.ratio.unwrap(), f("ratio"), 1e-12));
        let (lo, hi) = pair("ratio_ci");
        let r = d.ratio_ci.unwrap();
        assert!(close(r.lo, lo, 1e-9) && close(r.hi, hi, 1e-9), "{r:?}");
        // Disjoint audiences: the unpooled two-proportion variance.
        let dj = OverlapCells {
            a_only: (100, 30),
            b_only: (200, 40),
            both: (0, 0),
        };
        let d = overlap_difference(&dj, 0.95).unwrap();
        let se = (0.3f64 * 0.7 / 100.0 + 0.2 * 0.8 / 200.0).sqrt();
        assert!(close(d.se, se, 1e-12));
        assert!(overlap_difference(&OverlapCells::default(), 0.95).is_none());
    }

    #[test]
    fn holm_steps_down_and_stays_monotone() {
        let h = holm(&[0.01, 0.04, 0.03]);
        assert!(close(h[0], 0.03, 1e-12));
        assert!(close(h[2], 0.06, 1e-12));
        assert!(close(h[1], 0.06, 1e-12));
    }

    #[test]
    fn power_and_detectable_difference_agree() {
        let se = 0.01;
        let d = detectable_difference(se, 0.05, 0.8).unwrap();
        assert!(close(
            d,
            (1.959963984540054 + 0.8416212335729143) * se,
            1e-9
        ));
        // At that difference the power is 0.8 plus the far tail (tiny).
        let p = wald_power(d, se, 0.05).unwrap();
        assert!(close(p, 0.8, 1e-4), "{p}");
        assert!(close(wald_power(0.0, se, 0.05).unwrap(), 0.05, 1e-9));
        // statsmodels.stats.power.normal_power(effect_size, nobs=1, alpha=0.05), two-sided:
        // 0.7054180011138002 at δ/se = 2.5, 0.17007504575308746 at 1.0.
        assert!(close(
            wald_power(0.025, se, 0.05).unwrap(),
            0.7054180011138002,
            1e-9
        ));
        assert!(close(
            wald_power(-0.01, se, 0.05).unwrap(),
            0.17007504575308746,
            1e-9
        ));
        assert!(wald_power(0.1, 0.0, 0.05).is_none());
    }

    #[test]
    fn clustered_table_matches_statsmodels_cluster_robust_fits() {
        // scripts/reference_clustered.py: OLS(y ~ 1) on the proxy's units, Logit(y ~ x) and the
        // stacked OLS(y ~ g), all with errors clustered by user (use_correction=False).
        let want: serde_json::Value = serde_json::from_str(include_str!(
            "../../fixtures/reference/clustered_table.json"
        ))
        .unwrap();
        let mut s = TableClusterSums::default();
        let mut t = [0u64; 4];
        for user in want["users"].as_array().unwrap() {
            let (mut nn, mut yy, mut n, mut y) = (0.0, 0.0, 0.0, 0.0);
            for unit in user.as_array().unwrap() {
                let (x, l) = (unit[0].as_u64().unwrap(), unit[1].as_u64().unwrap());
                t[(2 * (1 - x) + (1 - l)) as usize] += 1;
                nn += 1.0;
                yy += l as f64;
                n += x as f64;
                y += (x * l) as f64;
            }
            for (slot, v) in s.all.iter_mut().zip([nn * nn, nn * yy, yy * yy]) {
                *slot += v;
            }
            let terms = [n * n, n * y, y * y, n * nn, n * yy, y * nn, y * yy];
            for (slot, v) in s.proxy.iter_mut().zip(terms) {
                *slot += v;
            }
        }
        let table: Vec<u64> = want["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(t.to_vec(), table);
        let c = clustered_table(t[0], t[1], t[2], t[3], &s).unwrap();
        let f = |k: &str| want[k].as_f64().unwrap();
        assert!(close(c.precision, f("precision"), 1e-12));
        for (ours, key) in [
            (c.precision_variance, "precision_variance"),
            (c.precision_design_effect, "precision_design_effect"),
            (
                c.log_odds_ratio_variance.unwrap(),
                "log_odds_ratio_variance",
            ),
            (
                c.odds_ratio_design_effect.unwrap(),
                "odds_ratio_design_effect",
            ),
            (c.log_lift_variance.unwrap(), "log_lift_variance"),
            (c.lift_design_effect.unwrap(), "lift_design_effect"),
        ] {
            assert!(
                (ours - f(key)).abs() <= 1e-6 * f(key).abs(),
                "{key}: ours {ours}, statsmodels {}",
                f(key)
            );
        }
        // Units that are their own clusters: every design effect is 1.
        let (a, b, c0, d) = (30u64, 70u64, 20u64, 180u64);
        let single = TableClusterSums {
            all: [300.0, 50.0, 50.0],
            proxy: [100.0, 30.0, 30.0, 100.0, 30.0, 30.0, 30.0],
        };
        let one = clustered_table(a, b, c0, d, &single).unwrap();
        assert!(close(one.precision_design_effect, 1.0, 1e-12));
        assert!(close(one.odds_ratio_design_effect.unwrap(), 1.0, 1e-12));
        assert!(close(one.lift_design_effect.unwrap(), 1.0, 1e-12));
    }
}
