//! Shift-share (Kitagawa) decomposition of a change in a rate between two periods into a
//! traffic-mix part and a within-segment rate part, with delta-method intervals, and the
//! Cochran–Mantel–Haenszel test of a within-segment change.
//!
//! For segments `s` with weights `w_s` (share of the denominator in `s`) and rates `r_s`, the
//! overall rate is `R = Σ w_s r_s`, and from period 1 to period 2, exactly,
//!
//! ```text
//! R₂ − R₁ = Σ (w₂ₛ − w₁ₛ)·(r₁ₛ + r₂ₛ)/2   (mix)   +   Σ (r₂ₛ − r₁ₛ)·(w₁ₛ + w₂ₛ)/2   (rate).
//! ```
//!
//! A segment empty in one period takes the other period's rate (its whole term is then mix).
//! Variances: the weights of each period are multinomial proportions (`Var(Σ gₛ wₛ) =
//! (Σ gₛ² wₛ − (Σ gₛ wₛ)²)/N`), the rates binomial (`rₛ(1−rₛ)/nₛ`), independent of the weights
//! (the multinomial–binomial likelihood factorises), and the two periods independent; each part's
//! variance is `Σ (∂part/∂θ)² Var θ` over those estimates (first-order delta method).

use serde::Serialize;

use super::interval::{normal_sf, z_quantile};
use crate::types::Interval;

/// Denominator and numerator counts of one segment in the two periods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentCounts {
    /// Units at risk in period 1 (the denominator).
    pub base1: u64,
    /// Of them, units that reached the step in period 1.
    pub hit1: u64,
    /// Units at risk in period 2.
    pub base2: u64,
    /// Of them, units that reached the step in period 2.
    pub hit2: u64,
}

/// One part (mix or rate) of the change, with its interval and a two-sided z-test of zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Part {
    /// The part, in rate units (0.01 = one percentage point).
    pub estimate: f64,
    /// Delta-method standard error.
    pub std_error: f64,
    /// `estimate ± z·std_error`.
    pub ci: Interval,
    /// Two-sided p-value of H0: part = 0 (1 when the standard error is 0 and the part is 0).
    pub p_value: f64,
}

/// Cochran–Mantel–Haenszel test of "no change of the rate within segments" (strata = segments,
/// 2×2 = period × reached), without continuity correction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cmh {
    /// χ² statistic on 1 degree of freedom.
    pub statistic: f64,
    /// Its p-value.
    pub p_value: f64,
    /// Mantel–Haenszel common odds ratio of reaching the step, period 2 over period 1.
    pub odds_ratio: Option<f64>,
}

/// The decomposition of one change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decomposition {
    /// Overall rate in period 1.
    pub rate1: f64,
    /// Overall rate in period 2.
    pub rate2: f64,
    /// `rate2 − rate1` (= mix + rate).
    pub change: f64,
    /// Traffic-mix part.
    pub mix: Part,
    /// Within-segment rate part.
    pub rate: Part,
    /// CMH test of the within-segment change, when some segment has units in both periods.
    pub cmh: Option<Cmh>,
}

fn part(estimate: f64, var: f64, z: f64) -> Part {
    let se = var.max(0.0).sqrt();
    let p_value = if se > 0.0 {
        (2.0 * normal_sf((estimate / se).abs())).min(1.0)
    } else if estimate.abs() < 1e-12 {
        1.0
    } else {
        0.0
    };
    Part {
        estimate,
        std_error: se,
        ci: Interval::new(estimate - z * se, estimate + z * se),
        p_value,
    }
}

/// Variance of `Σ gₛ wₛ` when `w` are multinomial proportions out of `n`.
fn multinomial_var(g: &[f64], w: &[f64], n: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    let m1: f64 = g.iter().zip(w).map(|(g, w)| g * w).sum();
    let m2: f64 = g.iter().zip(w).map(|(g, w)| g * g * w).sum();
    ((m2 - m1 * m1) / n).max(0.0)
}

/// Decomposes the change of `Σ hit / Σ base` from period 1 to period 2 over `segments`.
/// `None` when either period has no units at risk or a count exceeds its base.
pub fn kitagawa(segments: &[SegmentCounts], confidence: f64) -> Option<Decomposition> {
    if segments
        .iter()
        .any(|s| s.hit1 > s.base1 || s.hit2 > s.base2)
    {
        return None;
    }
    let n1: u64 = segments.iter().map(|s| s.base1).sum();
    let n2: u64 = segments.iter().map(|s| s.base2).sum();
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let k = segments.len();
    let (mut w1, mut w2) = (vec![0.0; k], vec![0.0; k]);
    let (mut g_mix_w, mut g_rate_w) = (vec![0.0; k], vec![0.0; k]);
    let (mut mix, mut rate, mut var_mix_r, mut var_rate_r) = (0.0, 0.0, 0.0, 0.0);
    for (i, s) in segments.iter().enumerate() {
        w1[i] = s.base1 as f64 / n1f;
        w2[i] = s.base2 as f64 / n2f;
        let r = |h: u64, b: u64| (b > 0).then(|| h as f64 / b as f64);
        let bvar = |r: f64, b: u64| r * (1.0 - r) / b as f64;
        match (r(s.hit1, s.base1), r(s.hit2, s.base2)) {
            (Some(r1), Some(r2)) => {
                let rbar = (r1 + r2) / 2.0;
                let wbar = (w1[i] + w2[i]) / 2.0;
                mix += (w2[i] - w1[i]) * rbar;
                rate += (r2 - r1) * wbar;
                g_mix_w[i] = rbar;
                g_rate_w[i] = (r2 - r1) / 2.0;
                let dw = (w2[i] - w1[i]) / 2.0;
                var_mix_r += dw * dw * (bvar(r1, s.base1) + bvar(r2, s.base2));
                var_rate_r += wbar * wbar * (bvar(r1, s.base1) + bvar(r2, s.base2));
            }
            (Some(r1), None) => {
                mix += -w1[i] * r1;
                g_mix_w[i] = r1;
                var_mix_r += w1[i] * w1[i] * bvar(r1, s.base1);
            }
            (None, Some(r2)) => {
                mix += w2[i] * r2;
                g_mix_w[i] = r2;
                var_mix_r += w2[i] * w2[i] * bvar(r2, s.base2);
            }
            (None, None) => {}
        }
    }
    // ∂/∂w₂ₛ = gₛ and ∂/∂w₁ₛ = −gₛ, for both parts.
    let var_mix =
        var_mix_r + multinomial_var(&g_mix_w, &w1, n1f) + multinomial_var(&g_mix_w, &w2, n2f);
    let var_rate =
        var_rate_r + multinomial_var(&g_rate_w, &w1, n1f) + multinomial_var(&g_rate_w, &w2, n2f);
    let z = z_quantile(confidence);
    let rate1 = segments.iter().map(|s| s.hit1).sum::<u64>() as f64 / n1f;
    let rate2 = segments.iter().map(|s| s.hit2).sum::<u64>() as f64 / n2f;
    Some(Decomposition {
        rate1,
        rate2,
        change: rate2 - rate1,
        mix: part(mix, var_mix, z),
        rate: part(rate, var_rate, z),
        cmh: cmh(segments),
    })
}

/// Cochran–Mantel–Haenszel χ² (no continuity correction) over the segments with units in both
/// periods; `None` when no segment contributes variance.
pub fn cmh(segments: &[SegmentCounts]) -> Option<Cmh> {
    let (mut dev, mut var, mut num, mut den) = (0.0, 0.0, 0.0, 0.0);
    for s in segments.iter().filter(|s| s.base1 > 0 && s.base2 > 0) {
        let (a, b) = (s.hit2 as f64, (s.base2 - s.hit2) as f64);
        let (c, d) = (s.hit1 as f64, (s.base1 - s.hit1) as f64);
        let n = a + b + c + d;
        let hits = a + c;
        dev += a - s.base2 as f64 * hits / n;
        if n > 1.0 {
            var += s.base1 as f64 * s.base2 as f64 * hits * (n - hits) / (n * n * (n - 1.0));
        }
        num += a * d / n;
        den += b * c / n;
    }
    if var <= 0.0 {
        return None;
    }
    let statistic = dev * dev / var;
    Some(Cmh {
        statistic,
        p_value: (2.0 * normal_sf(statistic.sqrt())).min(1.0),
        odds_ratio: (num > 0.0 && den > 0.0).then(|| num / den),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn seg(base1: u64, hit1: u64, base2: u64, hit2: u64) -> SegmentCounts {
        SegmentCounts {
            base1,
            hit1,
            base2,
            hit2,
        }
    }

    #[test]
    fn pure_mix_and_pure_rate_by_hand() {
        // Segment A converts at 20%, B at 5%, in both periods; B's share grows from 50% to 75%.
        // R₁ = 0.125, R₂ = 0.0875; mix = (−0.25)(0.2) + (0.25)(0.05) = −0.0375, rate = 0.
        let d = kitagawa(&[seg(1000, 200, 500, 100), seg(1000, 50, 1500, 75)], 0.95).unwrap();
        assert!(close(d.rate1, 0.125, 1e-12) && close(d.rate2, 0.0875, 1e-12));
        assert!(close(d.mix.estimate, -0.0375, 1e-12), "{d:?}");
        assert!(close(d.rate.estimate, 0.0, 1e-12), "{d:?}");
        assert!(close(d.mix.estimate + d.rate.estimate, d.change, 1e-12));
        // Rate-part variance by hand: weights (0.375, 0.625); rate variances
        // 0.2·0.8/1000 + 0.2·0.8/500 = 4.8e-4 and 0.05·0.95/1000 + 0.05·0.95/1500 = 7.9167e-5;
        // the weight terms vanish (r₂ = r₁).
        let v = 0.375f64.powi(2) * 4.8e-4 + 0.625f64.powi(2) * (0.0475 / 1000.0 + 0.0475 / 1500.0);
        assert!(close(d.rate.std_error, v.sqrt(), 1e-12), "{d:?}");
        // Mix variance by hand: rate terms (Δw/2)²·(var r) = 0.125²·(4.8e-4 + 7.9167e-5), plus the
        // multinomial terms with g = (0.2, 0.05): period 1 (0.5·0.04+0.5·0.0025 − 0.125²)/2000,
        // period 2 (0.25·0.04 + 0.75·0.0025 − 0.0875²)/2000.
        let vm = 0.125f64.powi(2) * (4.8e-4 + 0.0475 / 1000.0 + 0.0475 / 1500.0)
            + (0.5 * 0.04 + 0.5 * 0.0025 - 0.125f64.powi(2)) / 2000.0
            + (0.25 * 0.04 + 0.75 * 0.0025 - 0.0875f64.powi(2)) / 2000.0;
        assert!(close(d.mix.std_error, vm.sqrt(), 1e-12), "{d:?}");
        assert!(d.mix.p_value < 1e-6 && d.rate.p_value > 0.99);

        // Same shares, both rates fall by a quarter: all of it is rate.
        let d = kitagawa(&[seg(1000, 200, 1000, 150), seg(1000, 40, 1000, 30)], 0.95).unwrap();
        assert!(close(d.mix.estimate, 0.0, 1e-12));
        assert!(close(d.rate.estimate, -0.03, 1e-12));
        assert!(d.rate.p_value < 0.01);
    }

    #[test]
    fn segment_missing_in_one_period_is_all_mix() {
        let d = kitagawa(&[seg(100, 10, 100, 10), seg(0, 0, 100, 50)], 0.95).unwrap();
        assert!(close(d.change, 0.3 - 0.1, 1e-12));
        assert!(close(d.mix.estimate, 0.2, 1e-12) && close(d.rate.estimate, 0.0, 1e-12));
        assert!(kitagawa(&[seg(0, 0, 10, 1)], 0.95).is_none());
        assert!(kitagawa(&[seg(5, 6, 10, 1)], 0.95).is_none());
    }

    #[test]
    fn cmh_matches_statsmodels() {
        // statsmodels 0.15: StratifiedTable([[[15,85],[25,75]], [[40,160],[60,140]]])
        // (rows: period 2, period 1; columns: reached, not) .test_null_odds(correction=False)
        // → statistic 8.383887, p 0.0037856; .oddsratio_pooled 0.566787. By hand: deviations
        // 15 − 20 and 40 − 50, variances 8.0402 and 18.797: 15² / 26.837 = 8.3839.
        let c = cmh(&[seg(100, 25, 100, 15), seg(200, 60, 200, 40)]).unwrap();
        assert!(close(c.statistic, 8.383887, 1e-5), "{c:?}");
        assert!(close(c.p_value, 0.0037856, 1e-6), "{c:?}");
        assert!(close(c.odds_ratio.unwrap(), 0.566787, 1e-5), "{c:?}");
    }
}
