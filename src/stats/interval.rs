//! Confidence intervals and tests for 2×2 tables: Wilson, Woolf odds ratio, lift, two-proportion z.
//!
//! Table convention used throughout (a proxy event against purchase):
//!
//! | | purchased | did not purchase |
//! |---|---|---|
//! | fired the proxy | `a` | `b` |
//! | did not fire it | `c` | `d` |
//!
//! All functions return `None` rather than an infinite or NaN number when the table is degenerate.

use statrs::distribution::{ContinuousCDF, Normal};

use crate::types::Interval;

/// Largest confidence accepted by [`z_quantile`]; higher values are clamped so the quantile
/// stays finite (z ≈ 6.1).
const MAX_CONFIDENCE: f64 = 1.0 - 1e-9;

/// The standard normal quantile `z` with `P(|Z| ≤ z) = confidence` (1.96 for 0.95).
///
/// Confidence outside (0, 1) is clamped into [0, 1 − 1e-9] (NaN counts as 0), so the result is
/// always finite and non-negative.
pub fn z_quantile(confidence: f64) -> f64 {
    let c = if confidence.is_nan() {
        0.0
    } else {
        confidence.clamp(0.0, MAX_CONFIDENCE)
    };
    std_normal().inverse_cdf(0.5 + c / 2.0).max(0.0)
}

/// Standard normal distribution (parameters are constants, so construction cannot fail).
pub(crate) fn std_normal() -> Normal {
    Normal::standard()
}

/// Upper tail `P(Z ≥ z)` of the standard normal, accurate far into the tail (uses `erfc`).
pub(crate) fn normal_sf(z: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(z / std::f64::consts::SQRT_2)
}

/// Wilson score interval for a binomial proportion `successes / trials`.
///
/// Chosen over the Wald interval because it stays inside [0, 1] and keeps its coverage for the
/// small counts and rare events typical of purchases: with `p̂ = x/n`,
/// centre `(p̂ + z²/2n) / (1 + z²/n)`, half-width `z/(1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²)`.
/// `None` when `trials == 0` or `successes > trials`.
pub fn wilson(successes: u64, trials: u64, confidence: f64) -> Option<Interval> {
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z = z_quantile(confidence);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(Interval::new(
        (centre - half).clamp(0.0, 1.0),
        (centre + half).clamp(0.0, 1.0),
    ))
}

/// An odds ratio `ad / bc` with its Woolf (log-scale Wald) confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OddsRatio {
    /// The odds ratio (Haldane-corrected when `haldane` is true).
    pub estimate: f64,
    /// Woolf interval `exp(ln OR ± z·√(1/a + 1/b + 1/c + 1/d))`.
    pub ci: Interval,
    /// True when a zero cell forced adding 0.5 to every cell (Haldane–Anscombe correction).
    pub haldane: bool,
}

/// Odds ratio of purchase for units that fired the proxy versus those that did not, with a Woolf
/// interval.
///
/// A zero cell would make the log odds ratio infinite, so then 0.5 is added to all four cells
/// (Haldane–Anscombe) and `haldane` is set. `None` when a row or column total is zero (the ratio
/// is then undefined, not merely extreme).
pub fn odds_ratio(a: u64, b: u64, c: u64, d: u64, confidence: f64) -> Option<OddsRatio> {
    if a + b == 0 || c + d == 0 || a + c == 0 || b + d == 0 {
        return None;
    }
    let haldane = a == 0 || b == 0 || c == 0 || d == 0;
    let k = if haldane { 0.5 } else { 0.0 };
    let (a, b, c, d) = (a as f64 + k, b as f64 + k, c as f64 + k, d as f64 + k);
    let log_or = (a.ln() + d.ln()) - (b.ln() + c.ln());
    let se = (1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d).sqrt();
    let z = z_quantile(confidence);
    let out = OddsRatio {
        estimate: log_or.exp(),
        ci: Interval::new((log_or - z * se).exp(), (log_or + z * se).exp()),
        haldane,
    };
    finite_or_none(&[out.estimate, out.ci.lo, out.ci.hi]).then_some(out)
}

/// Lift of a proxy: precision over base rate, with a log-scale delta-method interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lift {
    /// `P(purchase | proxy) / P(purchase) = a·N / ((a+b)(a+c))`.
    pub estimate: f64,
    /// `exp(ln lift ± z·SE)` with the multinomial delta-method SE.
    pub ci: Interval,
}

/// Lift `a·N / ((a+b)(a+c))` of purchase among units that fired the proxy, with a confidence
/// interval from the delta method on the log scale.
///
/// Under the multinomial model with cell proportions `p_i = cell/N`,
/// `ln lift = ln p_a − ln(p_a+p_b) − ln(p_a+p_c)` has gradient `g_a = 1/p_a − 1/(p_a+p_b) −
/// 1/(p_a+p_c)`, `g_b = −1/(p_a+p_b)`, `g_c = −1/(p_a+p_c)`, `g_d = 0`, and since `Σ g_i p_i = −1`,
/// `Var = (Σ g_i² p_i − 1)/N` (clamped at 0 against rounding).
///
/// `None` when `a = 0`: the lift is then 0 and its log-scale interval is undefined; we do not
/// Haldane-correct here because an invented purchaser would turn "never co-occurs" into a
/// positive lift. Also `None` when `N = 0`.
pub fn lift(a: u64, b: u64, c: u64, d: u64, confidence: f64) -> Option<Lift> {
    if a == 0 {
        return None;
    }
    let n = (a + b + c + d) as f64;
    let (pa, pb, pc, pd) = (a as f64 / n, b as f64 / n, c as f64 / n, d as f64 / n);
    let row = pa + pb;
    let col = pa + pc;
    let log_lift = pa.ln() - row.ln() - col.ln();
    let ga = 1.0 / pa - 1.0 / row - 1.0 / col;
    let gb = -1.0 / row;
    let gc = -1.0 / col;
    let var = ((ga * ga * pa + gb * gb * pb + gc * gc * pc + 0.0 * pd) - 1.0) / n;
    let se = var.max(0.0).sqrt();
    let z = z_quantile(confidence);
    let out = Lift {
        estimate: log_lift.exp(),
        ci: Interval::new((log_lift - z * se).exp(), (log_lift + z * se).exp()),
    };
    finite_or_none(&[out.estimate, out.ci.lo, out.ci.hi]).then_some(out)
}

/// Result of a two-sample z-test for proportions, with one- and two-sided p-values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZTest {
    /// `(p̂₁ − p̂₂) / SE` with the pooled standard error.
    pub z: f64,
    /// p-value for the alternative `p₁ > p₂`.
    pub p_greater: f64,
    /// p-value for the alternative `p₁ < p₂`.
    pub p_less: f64,
    /// p-value for the alternative `p₁ ≠ p₂`.
    pub p_two_sided: f64,
}

/// Pooled two-proportion z-test of `x1/n1` against `x2/n2`.
///
/// `SE = √(p̄(1−p̄)(1/n₁ + 1/n₂))` with `p̄ = (x₁+x₂)/(n₁+n₂)`, the standard score test of equal
/// proportions. `None` when a sample is empty, a count exceeds its total, or the pooled proportion
/// is 0 or 1 (SE = 0, no variation to test).
pub fn two_proportion_z(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<ZTest> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se <= 0.0 || !se.is_finite() {
        return None;
    }
    let z = (x1 as f64 / n1f - x2 as f64 / n2f) / se;
    let p_greater = normal_sf(z);
    let p_less = normal_sf(-z);
    Some(ZTest {
        z,
        p_greater,
        p_less,
        p_two_sided: (2.0 * normal_sf(z.abs())).min(1.0),
    })
}

/// True when every value is finite.
fn finite_or_none(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn z_quantile_matches_tables_and_stays_finite() {
        assert!(close(z_quantile(0.95), 1.959963984540054, 1e-9));
        assert!(close(z_quantile(0.90), 1.6448536269514722, 1e-9));
        assert!(z_quantile(1.0).is_finite());
        assert_eq!(z_quantile(f64::NAN), 0.0);
        assert_eq!(z_quantile(-1.0), 0.0);
    }

    #[test]
    fn wilson_matches_hand_values() {
        let w = wilson(10, 100, 0.95).unwrap();
        assert!(close(w.lo, 0.05522914, 1e-6), "{w:?}");
        assert!(close(w.hi, 0.17436566, 1e-6), "{w:?}");
        let w0 = wilson(0, 50, 0.95).unwrap();
        assert_eq!(w0.lo, 0.0);
        assert!(close(w0.hi, 0.07134759, 1e-6), "{w0:?}");
        let w1 = wilson(50, 50, 0.95).unwrap();
        assert!(close(w1.lo, 1.0 - 0.07134759, 1e-6) && w1.hi == 1.0);
        assert!(wilson(0, 0, 0.95).is_none());
        assert!(wilson(3, 2, 0.95).is_none());
    }

    #[test]
    fn odds_ratio_woolf_and_haldane() {
        // a=20, b=80, c=10, d=890: OR = 20*890/(80*10) = 22.25.
        let or = odds_ratio(20, 80, 10, 890, 0.95).unwrap();
        assert!(!or.haldane);
        assert!(close(or.estimate, 22.25, 1e-12));
        let se = (1.0f64 / 20.0 + 1.0 / 80.0 + 1.0 / 10.0 + 1.0 / 890.0).sqrt();
        let z = z_quantile(0.95);
        assert!(close(or.ci.lo, (22.25f64.ln() - z * se).exp(), 1e-10));
        assert!(close(or.ci.hi, (22.25f64.ln() + z * se).exp(), 1e-10));
        // Zero cell: every purchaser fired the proxy.
        let h = odds_ratio(30, 70, 0, 900, 0.95).unwrap();
        assert!(h.haldane);
        assert!(close(h.estimate, 30.5 * 900.5 / (70.5 * 0.5), 1e-9));
        assert!(h.ci.lo.is_finite() && h.ci.hi.is_finite());
        assert!(odds_ratio(0, 0, 5, 10, 0.95).is_none());
        assert!(odds_ratio(0, 5, 0, 10, 0.95).is_none());
    }

    #[test]
    fn lift_delta_method_matches_hand_computation() {
        // a=20, b=80, c=10, d=890, N=1000: lift = 20*1000/(100*30) = 6.6667.
        let l = lift(20, 80, 10, 890, 0.95).unwrap();
        assert!(close(l.estimate, 20.0 * 1000.0 / (100.0 * 30.0), 1e-12));
        // Independent check: the same multinomial delta-method variance expanded by hand into
        // counts, 1/a − 1/(a+b) − 1/(a+c) + 2a/((a+b)(a+c)) − 1/N = 0.019.
        let var: f64 = 1.0 / 20.0 - 1.0 / 100.0 - 1.0 / 30.0 + 40.0 / 3000.0 - 1.0 / 1000.0;
        assert!(close(var, 0.019, 1e-12));
        let z = z_quantile(0.95);
        assert!(close(
            l.ci.lo,
            (l.estimate.ln() - z * var.sqrt()).exp(),
            1e-10
        ));
        assert!(close(
            l.ci.hi,
            (l.estimate.ln() + z * var.sqrt()).exp(),
            1e-10
        ));
        assert!(lift(0, 10, 5, 100, 0.95).is_none());
        // Everyone purchased: lift exactly 1 with a degenerate but finite interval.
        let all = lift(5, 0, 5, 0, 0.95).unwrap();
        assert!(close(all.estimate, 1.0, 1e-12) && all.ci.lo.is_finite());
    }

    #[test]
    fn two_proportion_z_matches_hand_values() {
        // 30/100 vs 20/100: pooled 0.25, SE = sqrt(0.25*0.75*0.02) = 0.061237, z = 1.632993.
        let t = two_proportion_z(30, 100, 20, 100).unwrap();
        assert!(close(t.z, 1.6329931618554523, 1e-9));
        assert!(close(t.p_greater, 0.05123522, 1e-6), "{t:?}");
        assert!(close(t.p_two_sided, 0.10247044, 1e-6));
        assert!(close(t.p_greater + t.p_less, 1.0, 1e-12));
        assert!(two_proportion_z(0, 10, 0, 10).is_none());
        assert!(two_proportion_z(1, 0, 0, 10).is_none());
    }
}
