//! Learning-phase clearance: will one bidding unit (ad set / campaign) collect enough events?
//!
//! Ad platforms leave the learning phase once a bidding unit has logged a floor of optimization
//! events inside a window (for example 50 in 7 days). A proxy event can only be optimized on if
//! the share of its site-wide volume that one unit receives clears that floor with high
//! probability.
//!
//! Model. The site's weekly count `N` has sample mean `m` and sample variance `v` (n−1
//! denominator; with fewer than two weeks `v = m`, i.e. Poisson). One unit receives each event
//! independently with probability `p` (binomial thinning, `p = attributed_share / units`), so its
//! weekly count has mean `μ = p·m` and variance `σ² = p²·v + p(1−p)·m` (law of total variance).
//! Over a window of `w` days both are multiplied by `w/7`, treating weeks as independent. The
//! count is then Poisson(μ) when `σ² ≤ μ(1+1e-9)` (no over-dispersion to model) and otherwise the
//! moment-matched negative binomial with `r = μ²/(σ²−μ)`, mean `μ`, variance `σ²`.

use statrs::distribution::{DiscreteCDF, NegativeBinomial, Poisson};

use crate::types::Probability;

/// The count distribution fitted to one unit's events in the floor's window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// Poisson with mean `per_unit_mean_window` (variance not above the mean).
    Poisson,
    /// Negative binomial counting failures before `r` successes with success probability `p`
    /// (statrs' parameterization: mean `r(1−p)/p`), here `p = r/(r+μ)`.
    NegativeBinomial {
        /// Shape (size) parameter `μ²/(σ²−μ)`.
        r: f64,
        /// Success probability `r/(r+μ) = μ/σ²`.
        p: f64,
    },
}

/// Probability that one bidding unit clears the learning floor, with the moments behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clearance {
    /// Expected events per unit per week, `p·m`.
    pub per_unit_mean_week: f64,
    /// Expected events per unit in the floor's window.
    pub per_unit_mean_window: f64,
    /// Variance of the per-unit count in the window.
    pub variance_window: f64,
    /// The distribution used for the tail probability.
    pub distribution: Distribution,
    /// `P(X ≥ ⌈floor⌉)` for the per-unit window count `X`.
    pub probability: Probability,
}

/// Probability that a bidding unit receiving a `thinning` share of the site's events collects at
/// least `floor_events` events within `window_days`.
///
/// `weekly_counts` are site-wide counts over complete weeks; `thinning` is
/// `attributed_share / units` in (0, 1]. `None` for empty or invalid counts (negative, non-finite),
/// thinning outside (0, 1], a non-positive window, or a negative / non-finite floor.
pub fn clearance(
    weekly_counts: &[f64],
    thinning: f64,
    window_days: f64,
    floor_events: f64,
) -> Option<Clearance> {
    let valid = !weekly_counts.is_empty()
        && weekly_counts.iter().all(|c| c.is_finite() && *c >= 0.0)
        && thinning > 0.0
        && thinning <= 1.0
        && window_days.is_finite()
        && window_days > 0.0
        && floor_events.is_finite()
        && floor_events >= 0.0;
    if !valid {
        return None;
    }
    let n = weekly_counts.len() as f64;
    let m = weekly_counts.iter().sum::<f64>() / n;
    let v = if weekly_counts.len() < 2 {
        m
    } else {
        weekly_counts.iter().map(|c| (c - m).powi(2)).sum::<f64>() / (n - 1.0)
    };
    let p = thinning;
    let mean_week = p * m;
    let var_week = p * p * v + p * (1.0 - p) * m;
    let scale = window_days / 7.0;
    let mu = mean_week * scale;
    let var = var_week * scale;
    // Need at least k events; P(X ≥ k) = sf(k − 1) for k ≥ 1 (sf(x) = P(X > x)).
    let k = floor_events.ceil();
    let (distribution, prob) = if var <= mu * (1.0 + 1e-9) {
        let prob = if k <= 0.0 {
            1.0
        } else if mu <= 0.0 {
            0.0
        } else {
            Poisson::new(mu).ok()?.sf(k as u64 - 1)
        };
        (Distribution::Poisson, prob)
    } else {
        // var > mu ≥ 0 here, and mu > 0 because var > 0 requires m > 0.
        let r = mu * mu / (var - mu);
        let q = r / (r + mu);
        let prob = if k <= 0.0 {
            1.0
        } else {
            NegativeBinomial::new(r, q).ok()?.sf(k as u64 - 1)
        };
        (Distribution::NegativeBinomial { r, p: q }, prob)
    };
    if !(mean_week.is_finite() && mu.is_finite() && var.is_finite() && prob.is_finite()) {
        return None;
    }
    if let Distribution::NegativeBinomial { r, p } = distribution {
        if !(r.is_finite() && p.is_finite()) {
            return None;
        }
    }
    Some(Clearance {
        per_unit_mean_week: mean_week,
        per_unit_mean_window: mu,
        variance_window: var,
        distribution,
        probability: Probability::clamped(prob),
    })
}

/// The largest number of bidding units `k` in `1..=current_units` such that each still clears the
/// floor with probability at least `threshold` when the `share` is split evenly (`thinning =
/// share/k`).
///
/// Capped at `current_units` because the question it answers is "how many of my units can I
/// keep?"; a result equal to `current_units` means all of them clear. Clearance falls as `k` grows
/// (less volume per unit), so the boundary is found by bisection. `None` when even `k = 1` fails,
/// `current_units` is 0, `threshold` is outside (0, 1], or the inputs are invalid for
/// [`clearance`].
pub fn max_units_that_clear(
    weekly_counts: &[f64],
    share: f64,
    window_days: f64,
    floor: f64,
    threshold: f64,
    current_units: u32,
) -> Option<u32> {
    if current_units == 0 || !(threshold > 0.0 && threshold <= 1.0) {
        return None;
    }
    let clears = |k: u32| -> Option<bool> {
        clearance(weekly_counts, share / f64::from(k), window_days, floor)
            .map(|c| c.probability.get() >= threshold)
    };
    if !clears(1)? {
        return None;
    }
    if clears(current_units)? {
        return Some(current_units);
    }
    // Invariant: clears(lo) and !clears(hi).
    let (mut lo, mut hi) = (1u32, current_units);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if clears(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// Largest multiple of volume tried by [`volume_multiple_needed`].
const MAX_VOLUME_MULTIPLE: f64 = 1000.0;

/// The smallest factor `f ≥ 1` by which every weekly count must grow for one unit at `thinning`
/// to clear the floor with probability at least `threshold`.
///
/// Found by bisection to 1 % relative precision and reported as the upper end (a factor that
/// does clear). `Some(1.0)` when the current volume already clears; `None` when even 1000× does
/// not, `threshold` is outside (0, 1], or the inputs are invalid for [`clearance`]. Scaling the
/// counts scales the mean by `f` and the variance by `f²`.
pub fn volume_multiple_needed(
    weekly_counts: &[f64],
    thinning: f64,
    window_days: f64,
    floor: f64,
    threshold: f64,
) -> Option<f64> {
    if !(threshold > 0.0 && threshold <= 1.0) {
        return None;
    }
    let clears = |f: f64| -> Option<bool> {
        let scaled: Vec<f64> = weekly_counts.iter().map(|c| c * f).collect();
        clearance(&scaled, thinning, window_days, floor).map(|c| c.probability.get() >= threshold)
    };
    if clears(1.0)? {
        return Some(1.0);
    }
    if !clears(MAX_VOLUME_MULTIPLE)? {
        return None;
    }
    let (mut lo, mut hi) = (1.0_f64, MAX_VOLUME_MULTIPLE);
    while hi / lo > 1.01 {
        let mid = (lo * hi).sqrt();
        if clears(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::Discrete;

    /// `P(X ≥ k)` for Poisson(μ) by summing the pmf directly.
    fn poisson_tail(mu: f64, k: u64) -> f64 {
        let mut pmf = (-mu).exp();
        let mut cdf = 0.0;
        for x in 0..k {
            cdf += pmf;
            pmf *= mu / (x + 1) as f64;
        }
        1.0 - cdf
    }

    #[test]
    fn poisson_case_matches_direct_pmf_sum() {
        // One week only: v = m, Poisson. m = 200, p = 0.25 → μ_week = 50, 7-day window.
        let c = clearance(&[200.0], 0.25, 7.0, 50.0).unwrap();
        assert_eq!(c.distribution, Distribution::Poisson);
        assert!((c.per_unit_mean_window - 50.0).abs() < 1e-12);
        // Poisson variance of thinned Poisson: p²m + p(1−p)m = pm.
        assert!((c.variance_window - 50.0).abs() < 1e-9);
        assert!((c.probability.get() - poisson_tail(50.0, 50)).abs() < 1e-10);
        // scipy.stats.poisson.sf(49, 50).
        assert!((c.probability.get() - 0.5188083154720433).abs() < 1e-10);
        // Non-integer floor rounds up; 3-day window scales the mean by 3/7.
        let c3 = clearance(&[200.0], 0.25, 3.0, 19.2).unwrap();
        assert!((c3.probability.get() - poisson_tail(50.0 * 3.0 / 7.0, 20)).abs() < 1e-10);
    }

    #[test]
    fn negative_binomial_case_matches_hand_moments_and_statrs() {
        // Weeks 100, 300: m = 200, v = 20000. p = 0.5: μ = 100, σ² = 0.25·20000 + 0.25·200 = 5050.
        let c = clearance(&[100.0, 300.0], 0.5, 7.0, 50.0).unwrap();
        assert!((c.per_unit_mean_week - 100.0).abs() < 1e-12);
        assert!((c.variance_window - 5050.0).abs() < 1e-9);
        let r = 100.0 * 100.0 / (5050.0 - 100.0);
        let q = r / (r + 100.0);
        match c.distribution {
            Distribution::NegativeBinomial { r: rr, p } => {
                assert!((rr - r).abs() < 1e-12 && (p - q).abs() < 1e-12);
                assert!((p - 100.0 / 5050.0).abs() < 1e-12);
            }
            Distribution::Poisson => panic!("expected negative binomial"),
        }
        // Direct pmf sum from statrs' pmf, independent of its sf.
        let nb = NegativeBinomial::new(r, q).unwrap();
        let cdf: f64 = (0..50).map(|x| nb.pmf(x)).sum();
        assert!((c.probability.get() - (1.0 - cdf)).abs() < 1e-9);
        // Independent reference: scipy.stats.nbinom.sf(49, r, q) (same failures-before-r form).
        assert!((c.probability.get() - 0.7375882084059296).abs() < 1e-9);
    }

    #[test]
    fn floor_zero_and_zero_volume() {
        assert_eq!(
            clearance(&[0.0, 0.0], 0.5, 7.0, 0.0)
                .unwrap()
                .probability
                .get(),
            1.0
        );
        assert_eq!(
            clearance(&[0.0, 0.0], 0.5, 7.0, 1.0)
                .unwrap()
                .probability
                .get(),
            0.0
        );
        assert!(clearance(&[], 0.5, 7.0, 1.0).is_none());
        assert!(clearance(&[10.0], 0.0, 7.0, 1.0).is_none());
        assert!(clearance(&[10.0], 1.5, 7.0, 1.0).is_none());
        assert!(clearance(&[f64::NAN], 0.5, 7.0, 1.0).is_none());
    }

    #[test]
    fn clearance_falls_with_more_units_and_max_units_finds_the_boundary() {
        let weeks = [900.0, 1100.0, 1000.0, 950.0, 1050.0];
        let mut last = 1.0;
        for k in 1..=40 {
            let c = clearance(&weeks, 0.8 / f64::from(k), 7.0, 50.0).unwrap();
            assert!(c.probability.get() <= last + 1e-12, "k = {k}");
            last = c.probability.get();
        }
        let k = max_units_that_clear(&weeks, 0.8, 7.0, 50.0, 0.8, 40).unwrap();
        let p = |k: u32| {
            clearance(&weeks, 0.8 / f64::from(k), 7.0, 50.0)
                .unwrap()
                .probability
                .get()
        };
        assert!(p(k) >= 0.8 && p(k + 1) < 0.8, "k = {k}");
        assert_eq!(
            max_units_that_clear(&weeks, 0.8, 7.0, 50.0, 0.8, 3),
            Some(3)
        );
        assert_eq!(max_units_that_clear(&[10.0], 0.8, 7.0, 50.0, 0.8, 3), None);
    }

    #[test]
    fn volume_multiple_brackets_the_threshold() {
        let weeks = [90.0, 110.0, 100.0];
        assert_eq!(
            volume_multiple_needed(&weeks, 1.0, 7.0, 50.0, 0.8),
            Some(1.0)
        );
        let f = volume_multiple_needed(&weeks, 0.1, 7.0, 50.0, 0.8).unwrap();
        let p = |f: f64| {
            let s: Vec<f64> = weeks.iter().map(|c| c * f).collect();
            clearance(&s, 0.1, 7.0, 50.0).unwrap().probability.get()
        };
        assert!(p(f) >= 0.8 && p(f / 1.01) < 0.8, "f = {f}");
        assert!(volume_multiple_needed(&[0.001], 0.001, 7.0, 50.0, 0.8).is_none());
    }
}
