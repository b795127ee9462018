//! Drift: has a proxy's weekly count, or a proportion of it, shifted against its own baseline?
//!
//! - [`rate_ratio_test`]: quasi-Poisson rate-ratio z-test of weekly counts, with a common
//!   dispersion factor φ ≥ 1 estimated from the baseline weeks, so that ordinary week-to-week
//!   noise (over-dispersion) is not mistaken for a change.
//! - [`stratified_change`]: a proportion (proxy units per unit, purchasers per proxy unit)
//!   compared within segments (Cochran–Mantel–Haenszel), with its effect as observed over expected
//!   from the baseline's segment rates, so that a change of traffic mix is not a change of rate.

use super::interval::normal_sf;

/// Result of the quasi-Poisson rate-ratio z-test of recent against baseline weekly volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateTest {
    /// Mean weekly count in the recent weeks over the mean in the baseline weeks.
    pub ratio: f64,
    /// `ln(ratio) / √(φ·(1/Σrecent + 1/Σbaseline))`.
    pub z: f64,
    /// One-sided p-value for an increase (`P(Z ≥ z)`).
    pub p_increase: f64,
    /// One-sided p-value for a decrease (`P(Z ≤ z)`).
    pub p_decrease: f64,
    /// The dispersion factor φ used (at least 1).
    pub dispersion: f64,
}

/// Quasi-Poisson rate-ratio z-test comparing the mean weekly count of `recent` with `baseline`.
///
/// The log rate ratio `ln((Σr/k_r)/(Σb/k_b))` has approximate variance `φ·(1/Σr + 1/Σb)` for
/// Poisson totals inflated by dispersion `φ = max(1, X²/(k−1))`, where `X² = Σ (b_i − b̄)²/b̄` is
/// the Pearson statistic of the `k` baseline weeks around their mean (φ = 1 when `k < 2`).
/// φ is floored at 1 so that under-dispersed baselines never make the test anti-conservative.
///
/// `None` when either slice is empty, a count is negative or non-finite, or either total is zero
/// (the log ratio is then infinite; a complete stop of volume should be caught before this test).
pub fn rate_ratio_test(recent: &[f64], baseline: &[f64]) -> Option<RateTest> {
    let ok = |v: &[f64]| !v.is_empty() && v.iter().all(|x| x.is_finite() && *x >= 0.0);
    if !ok(recent) || !ok(baseline) {
        return None;
    }
    let sum_r: f64 = recent.iter().sum();
    let sum_b: f64 = baseline.iter().sum();
    if sum_r <= 0.0 || sum_b <= 0.0 {
        return None;
    }
    let k = baseline.len();
    let mean_b = sum_b / k as f64;
    let dispersion = if k < 2 {
        1.0
    } else {
        let chi2: f64 = baseline.iter().map(|b| (b - mean_b).powi(2) / mean_b).sum();
        (chi2 / (k - 1) as f64).max(1.0)
    };
    let ratio = (sum_r / recent.len() as f64) / mean_b;
    let se = (dispersion * (1.0 / sum_r + 1.0 / sum_b)).sqrt();
    let z = ratio.ln() / se;
    let out = RateTest {
        ratio,
        z,
        p_increase: normal_sf(z),
        p_decrease: normal_sf(-z),
        dispersion,
    };
    [out.ratio, out.z, out.dispersion]
        .iter()
        .all(|v| v.is_finite())
        .then_some(out)
}

/// Trials and successes of one segment (stratum) over some weeks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Trials (units).
    pub n: u64,
    /// Successes among them.
    pub y: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.n += o.n;
        self.y += o.y;
    }
}

/// Result of [`stratified_change`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StratifiedTest {
    /// Recent successes over those expected at the baseline's rate in each segment (indirect
    /// standardization to the recent mix): the segment-adjusted rate ratio.
    pub ratio: f64,
    /// Recent successes (segments present in both periods).
    pub observed: f64,
    /// Recent successes expected at the baseline's segment rates.
    pub expected: f64,
    /// Pooled (unadjusted) baseline rate, over the segments used.
    pub baseline_rate: f64,
    /// Pooled (unadjusted) recent rate, over the segments used.
    pub recent_rate: f64,
    /// `(Σa − ΣE₀(a)) / √(φ·ΣVar₀(a))`, the Cochran–Mantel–Haenszel statistic (no continuity
    /// correction) scaled by the dispersion.
    pub z: f64,
    /// One-sided p-value for an increase (`P(Z ≥ z)`).
    pub p_increase: f64,
    /// One-sided p-value for a decrease (`P(Z ≤ z)`).
    pub p_decrease: f64,
    /// The dispersion factor φ used (at least 1).
    pub dispersion: f64,
    /// Segments present in both periods (the others are left out).
    pub strata: usize,
}

/// Compares a proportion between the recent weeks and the baseline weeks within segments.
///
/// `recent[s]` are the recent counts of segment `s`; `baseline[k][s]` those of baseline week `k`
/// (every vector indexed by the same segments). Segments with trials in both periods are used.
/// Per segment, `a` = recent successes, with the hypergeometric mean and variance given the
/// segment's margins, `E₀ = n₁m/N`, `Var₀ = n₁n₀m(N−m)/(N²(N−1))`; `z = (Σa − ΣE₀)/√(φ ΣVar₀)`.
/// φ is the Pearson dispersion of the baseline weeks' totals around their expectation at the
/// baseline segment rates, `X²/(K−1)`, floored at 1 (1 with fewer than two weeks): real
/// week-to-week variation of the rate widens the test instead of passing for a change.
/// `ratio = Σa / Σ n₁ p̂₀` with `p̂₀` the baseline rate of each segment.
///
/// `None` when no segment has trials in both periods, the variance is zero, or the baseline rate
/// is zero in every segment used.
pub fn stratified_change(recent: &[Counts], baseline: &[Vec<Counts>]) -> Option<StratifiedTest> {
    let (base, used) = pooled_baseline(recent, baseline);
    let (mut a, mut e0, mut v0, mut smr_e) = (0.0, 0.0, 0.0, 0.0);
    let (mut rn, mut bn, mut by) = (0.0, 0.0, 0.0);
    for &s in &used {
        let (n1, y1) = (recent[s].n as f64, recent[s].y as f64);
        let (n0, y0) = (base[s].n as f64, base[s].y as f64);
        let (m, big_n) = (y1 + y0, n1 + n0);
        a += y1;
        e0 += n1 * m / big_n;
        if big_n > 1.0 {
            v0 += n1 * n0 * m * (big_n - m) / (big_n * big_n * (big_n - 1.0));
        }
        smr_e += n1 * y0 / n0;
        rn += n1;
        bn += n0;
        by += y0;
    }
    if used.is_empty() || v0 <= 0.0 || smr_e <= 0.0 {
        return None;
    }
    let dispersion = baseline_dispersion(&used, &base, baseline);
    let z = (a - e0) / (dispersion * v0).sqrt();
    let out = StratifiedTest {
        ratio: a / smr_e,
        observed: a,
        expected: smr_e,
        baseline_rate: by / bn,
        recent_rate: a / rn,
        z,
        p_increase: normal_sf(z),
        p_decrease: normal_sf(-z),
        dispersion,
        strata: used.len(),
    };
    (out.ratio.is_finite() && out.z.is_finite()).then_some(out)
}

/// Tests whether a proportion fell (or rose) against the baseline's own segment rates: the
/// indirectly standardized ratio `R = O/E`, `O = Σa`, `E = Σ n₁p̂₀`, with a Wald z on `ln R`.
///
/// Unlike [`stratified_change`] (conditional on each segment's margins, so a segment whose
/// recent units outnumber its baseline carries little weight, and unaffected segments offset
/// the affected ones), the estimate is what the rule's effect size reads, and its variance
/// counts both sources of noise: `Var(ln R) ≈ φ/(O + ½) + Σ n₁² p̂₀(1 − p̂₀)/n₀ / E²` — the
/// recent count (quasi-Poisson, dispersion φ from the baseline weeks) and the baseline rates'
/// estimation. `O + ½` keeps a zero count finite. Segments with trials in both periods are used.
///
/// `None` when no segment is used, `E` is zero or the result is not finite.
pub fn standardized_ratio_test(
    recent: &[Counts],
    baseline: &[Vec<Counts>],
) -> Option<StratifiedTest> {
    let (base, used) = pooled_baseline(recent, baseline);
    let (mut o, mut e, mut var_e) = (0.0, 0.0, 0.0);
    let (mut rn, mut bn, mut by) = (0.0, 0.0, 0.0);
    for &s in &used {
        let (n1, y1) = (recent[s].n as f64, recent[s].y as f64);
        let (n0, y0) = (base[s].n as f64, base[s].y as f64);
        let p0 = y0 / n0;
        o += y1;
        e += n1 * p0;
        var_e += n1 * n1 * p0 * (1.0 - p0) / n0;
        rn += n1;
        bn += n0;
        by += y0;
    }
    if used.is_empty() || e <= 0.0 {
        return None;
    }
    let dispersion = baseline_dispersion(&used, &base, baseline);
    let se = (dispersion / (o + 0.5) + var_e / (e * e)).sqrt();
    let z = ((o + 0.5) / e).ln() / se;
    let out = StratifiedTest {
        ratio: o / e,
        observed: o,
        expected: e,
        baseline_rate: by / bn,
        recent_rate: o / rn,
        z,
        p_increase: normal_sf(z),
        p_decrease: normal_sf(-z),
        dispersion,
        strata: used.len(),
    };
    (out.ratio.is_finite() && out.z.is_finite()).then_some(out)
}

/// The baseline weeks summed per segment, and the segments with trials in both periods.
fn pooled_baseline(recent: &[Counts], baseline: &[Vec<Counts>]) -> (Vec<Counts>, Vec<usize>) {
    let mut base = vec![Counts::default(); recent.len()];
    for week in baseline {
        for (b, w) in base.iter_mut().zip(week) {
            *b += *w;
        }
    }
    let used = (0..recent.len())
        .filter(|&s| recent[s].n > 0 && base[s].n > 0)
        .collect();
    (base, used)
}

/// Pearson dispersion of the baseline weeks' totals around the baseline segment rates.
fn baseline_dispersion(used: &[usize], base: &[Counts], weeks: &[Vec<Counts>]) -> f64 {
    let mut chi2 = 0.0;
    let mut k = 0usize;
    for week in weeks {
        let (mut o, mut e, mut v) = (0.0, 0.0, 0.0);
        for &s in used {
            let p = base[s].y as f64 / base[s].n as f64;
            let n = week.get(s).map_or(0, |c| c.n) as f64;
            o += week.get(s).map_or(0, |c| c.y) as f64;
            e += n * p;
            v += n * p * (1.0 - p);
        }
        if v > 0.0 {
            chi2 += (o - e).powi(2) / v;
            k += 1;
        }
    }
    if k < 2 {
        1.0
    } else {
        (chi2 / (k - 1) as f64).max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: u64, y: u64) -> Counts {
        Counts { n, y }
    }

    /// One segment, one baseline week: the CMH statistic is the pooled 2×2 hypergeometric z, and
    /// the ratio is the plain rate ratio.
    #[test]
    fn one_segment_is_the_hypergeometric_z() {
        let t = stratified_change(&[c(100, 30)], &[vec![c(200, 20)]]).unwrap();
        let (n1, n0, m, n): (f64, f64, f64, f64) = (100.0, 200.0, 50.0, 300.0);
        let z = (30.0 - n1 * m / n) / (n1 * n0 * m * (n - m) / (n * n * (n - 1.0))).sqrt();
        assert!((t.z - z).abs() < 1e-12);
        assert!((t.ratio - 0.30 / 0.10).abs() < 1e-12);
        assert_eq!(t.dispersion, 1.0);
        assert!(t.p_increase < 1e-4);
    }

    /// A pure mix shift (more units in the low-rate segment, same rates) changes the pooled rate
    /// but not the adjusted ratio.
    #[test]
    fn mix_shift_is_not_a_change() {
        let base = vec![
            vec![c(1000, 100), c(1000, 10)],
            vec![c(1000, 100), c(1000, 10)],
        ];
        let t = stratified_change(&[c(1000, 100), c(4000, 40)], &base).unwrap();
        assert!((t.ratio - 1.0).abs() < 1e-12, "{t:?}");
        assert!(t.recent_rate < 0.6 * t.baseline_rate);
        assert!(t.z.abs() < 1e-9, "{t:?}");
    }

    /// Baseline weeks that swing more than binomially widen the test.
    #[test]
    fn overdispersed_weeks_widen_the_test() {
        let calm = vec![vec![c(1000, 100)], vec![c(1000, 101)], vec![c(1000, 99)]];
        let wild = vec![vec![c(1000, 60)], vec![c(1000, 140)], vec![c(1000, 100)]];
        let a = stratified_change(&[c(1000, 130)], &calm).unwrap();
        let b = stratified_change(&[c(1000, 130)], &wild).unwrap();
        assert_eq!(a.dispersion, 1.0);
        // X² = (40² + 40²)/(1000·0.1·0.9) = 35.56 over 2 df.
        assert!((b.dispersion - 3200.0 / 90.0 / 2.0).abs() < 1e-9, "{b:?}");
        assert!(b.p_increase > a.p_increase);
    }

    /// Against statsmodels `StratifiedTable.test_null_odds(correction=False)`
    /// (scripts/reference_drift.py, fixtures/reference/drift.json): z² is the CMH χ².
    /// One stratum's four counts.
    type Stratum = (u64, u64, u64, u64);

    #[test]
    fn cmh_matches_statsmodels() {
        let cases: [(&[Stratum], f64, f64); 2] = [
            (
                &[
                    (400, 52, 1200, 120),
                    (900, 45, 2500, 150),
                    (150, 30, 300, 51),
                ],
                0.6041036263187542,
                1.0627615062761506,
            ),
            (
                &[(1000, 20, 4000, 160), (500, 25, 1500, 90)],
                -2.847655477461527,
                0.6428571428571429,
            ),
        ];
        for (strata, z, ratio) in cases {
            let recent: Vec<Counts> = strata.iter().map(|s| c(s.0, s.1)).collect();
            let base: Vec<Counts> = strata.iter().map(|s| c(s.2, s.3)).collect();
            let t = stratified_change(&recent, &[base]).unwrap();
            assert!((t.z - z).abs() < 1e-9, "{t:?}");
            assert!((t.ratio - ratio).abs() < 1e-12, "{t:?}");
        }
    }

    #[test]
    fn standardized_ratio_matches_the_closed_form_reference() {
        // scripts/reference_drift.py -> fixtures/reference/drift.json "smr".
        let sweep: &[Stratum] = &[
            (9, 1, 49, 3),
            (631, 0, 54, 2),
            (11, 0, 42, 1),
            (11, 0, 111, 6),
            (3, 1, 19, 2),
            (1, 0, 42, 6),
            (294, 0, 30, 2),
            (6, 0, 38, 2),
            (12, 4, 67, 13),
            (1, 0, 14, 2),
            (3, 1, 9, 1),
            (72, 0, 10, 0),
            (1, 0, 9, 1),
        ];
        let cases: [(&[Stratum], f64, f64, f64); 3] = [
            (
                &[
                    (400, 52, 1200, 120),
                    (900, 45, 2500, 150),
                    (150, 30, 300, 51),
                ],
                1.0627615062761506,
                0.6263234797498916,
                0.7344486056437145,
            ),
            (
                &[(1000, 20, 4000, 160), (500, 25, 1500, 90)],
                0.6428571428571429,
                -2.6790535119630237,
                0.003691529688748418,
            ),
            (
                sweep,
                0.1456270707257587,
                -3.258291900371988,
                0.0005604252454204601,
            ),
        ];
        for (strata, ratio, z, p) in cases {
            let recent: Vec<Counts> = strata.iter().map(|s| c(s.0, s.1)).collect();
            let base: Vec<Counts> = strata.iter().map(|s| c(s.2, s.3)).collect();
            let t = standardized_ratio_test(&recent, &[base]).unwrap();
            assert!((t.ratio - ratio).abs() < 1e-12, "{t:?}");
            assert!((t.z - z).abs() < 1e-9, "{t:?}");
            assert!((t.p_decrease - p).abs() < 1e-9, "{t:?}");
        }
        // The conditional (CMH) test of the same sweepstakes counts is diluted: z ≈ −1.
        let recent: Vec<Counts> = sweep.iter().map(|s| c(s.0, s.1)).collect();
        let base: Vec<Counts> = sweep.iter().map(|s| c(s.2, s.3)).collect();
        assert!(stratified_change(&recent, &[base]).unwrap().z > -1.5);
        assert!(standardized_ratio_test(&[c(10, 1)], &[vec![c(10, 0)]]).is_none());
    }

    #[test]
    fn stratified_degenerate_inputs() {
        assert!(stratified_change(&[c(0, 0)], &[vec![c(10, 1)]]).is_none());
        assert!(stratified_change(&[c(10, 0)], &[vec![c(10, 0)]]).is_none());
        // A segment only in the recent weeks is left out.
        let t = stratified_change(&[c(100, 10), c(50, 50)], &[vec![c(100, 10), c(0, 0)]]).unwrap();
        assert_eq!(t.strata, 1);
        assert!((t.ratio - 1.0).abs() < 1e-12);
    }

    #[test]
    fn clear_surge_is_significant() {
        let t = rate_ratio_test(&[400.0, 420.0], &[100.0, 110.0, 95.0, 105.0]).unwrap();
        // Pearson X² = 125/102.5 over 3 df < 1, so φ = 1.
        assert_eq!(t.dispersion, 1.0);
        assert!((t.ratio - 4.0).abs() < 1e-12);
        let z = 4.0f64.ln() / (1.0f64 / 820.0 + 1.0 / 410.0).sqrt();
        assert!((t.z - z).abs() < 1e-9);
        assert!(t.p_increase < 1e-10 && t.p_decrease > 0.999);
    }

    #[test]
    fn flat_series_is_not_significant() {
        let t = rate_ratio_test(&[102.0, 98.0], &[100.0, 110.0, 95.0, 105.0]).unwrap();
        assert!(t.p_increase > 0.05 && t.p_decrease > 0.05, "{t:?}");
    }

    #[test]
    fn overdispersed_baseline_widens_the_test() {
        let base = [50.0, 150.0, 80.0, 120.0];
        let t = rate_ratio_test(&[160.0], &base).unwrap();
        // X² = (2500+2500+400+400)/100 = 58, φ = 58/3.
        assert!((t.dispersion - 58.0 / 3.0).abs() < 1e-12);
        assert!(t.p_increase > 0.05, "{t:?}");
    }

    #[test]
    fn degenerate_inputs() {
        assert!(rate_ratio_test(&[], &[1.0]).is_none());
        assert!(rate_ratio_test(&[0.0], &[10.0]).is_none());
        assert!(rate_ratio_test(&[5.0], &[-1.0, 3.0]).is_none());
        assert_eq!(rate_ratio_test(&[5.0], &[10.0]).unwrap().dispersion, 1.0);
    }
}
