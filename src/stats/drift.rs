//! Volume drift: has a proxy event's weekly count shifted against its own baseline?
//!
//! Uses a quasi-Poisson rate-ratio z-test: weekly counts are treated as Poisson with a common
//! dispersion factor φ ≥ 1 estimated from the baseline weeks, so that ordinary week-to-week
//! noise (over-dispersion) is not mistaken for a change.

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

#[cfg(test)]
mod tests {
    use super::*;

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
