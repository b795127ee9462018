//! Segment-adjusted precision and lift by direct standardization: what the proxy's precision
//! would be if its units had the overall device × channel mix, so that an event which loses
//! inside every channel cannot win on a pooled figure inflated by where it happens to fire.
//!
//! With segments `s` (device × channel), `N_s` units, `B_s` purchasing units, `n_s` units with the
//! proxy and `y_s` of them purchasing, over the segments where the proxy occurs (`n_s > 0`), with
//! weights `w_s = N_s / Σ N_s`:
//!
//! - standardized precision `P = Σ w_s · y_s / n_s`, standardized base `b = Σ w_s · B_s / N_s`,
//!   lift `L = P / b`;
//! - interval on `ln L` by the delta method, `Var ln L ≈ deff · (Var P / P² + Var b / b²)` with
//!   `Var P = Σ w_s² p̃_s(1 − p̃_s)/n_s`, `p̃_s = (y_s + ½)/(n_s + 1)` (never zero), and `Var b` the
//!   same on `B_s / N_s`. The covariance of `P` and `b` (positive: the proxy's purchasers are among
//!   the site's) is left out, which widens the interval: the lift floor is applied conservatively.
//!   `deff` ≥ 1 is the design effect of clustered units (1 when none is known).

use crate::types::Interval;

/// One segment's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// Units in the segment.
    pub units: u64,
    /// Units in the segment that purchased.
    pub purchasers: u64,
    /// Units in the segment with the proxy.
    pub with: u64,
    /// Of those, units that purchased.
    pub with_purchasers: u64,
}

/// Standardized precision and lift of one proxy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standardized {
    /// Standardized precision `P`.
    pub precision: f64,
    /// Standardized lift `P / b`.
    pub lift: f64,
    /// Interval of the lift at the confidence of `z`.
    pub lift_ci: Interval,
    /// Share of all units in the segments where the proxy occurs (the weights' support).
    pub coverage: f64,
}

/// Standardizes one proxy's precision and lift over `segments`; `z` is the normal quantile of the
/// interval, `deff` the design effect (≥ 1). `None` when the proxy occurs nowhere or no unit in
/// its segments purchased.
pub fn standardize(segments: &[Segment], z: f64, deff: f64) -> Option<Standardized> {
    let total: u64 = segments.iter().map(|s| s.units).sum();
    let support: Vec<&Segment> = segments
        .iter()
        .filter(|s| s.with > 0 && s.units > 0)
        .collect();
    let n: u64 = support.iter().map(|s| s.units).sum();
    if n == 0 || total == 0 {
        return None;
    }
    let (mut p, mut b, mut var_p, mut var_b) = (0.0, 0.0, 0.0, 0.0);
    for s in &support {
        let w = s.units as f64 / n as f64;
        p += w * s.with_purchasers as f64 / s.with as f64;
        b += w * s.purchasers as f64 / s.units as f64;
        let pt = (s.with_purchasers as f64 + 0.5) / (s.with as f64 + 1.0);
        let bt = (s.purchasers as f64 + 0.5) / (s.units as f64 + 1.0);
        var_p += w * w * pt * (1.0 - pt) / s.with as f64;
        var_b += w * w * bt * (1.0 - bt) / s.units as f64;
    }
    if b <= 0.0 {
        return None;
    }
    let lift = p / b;
    // On the log scale, with the zero-free variance; a zero precision has no log, so its interval
    // is taken around the half-count precision instead.
    let p_for_log = p.max(0.5 / n as f64);
    let se = (deff.max(1.0) * (var_p / (p_for_log * p_for_log) + var_b / (b * b))).sqrt();
    let centre = (p_for_log / b).ln();
    Some(Standardized {
        precision: p,
        lift,
        lift_ci: Interval::new((centre - z * se).exp(), (centre + z * se).exp()),
        coverage: n as f64 / total as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(units: u64, purchasers: u64, with: u64, with_purchasers: u64) -> Segment {
        Segment {
            units,
            purchasers,
            with,
            with_purchasers,
        }
    }

    #[test]
    fn an_event_that_loses_inside_every_channel_loses_standardized() {
        // Simpson: `search` fires mostly in the converting channel (email), and inside each
        // channel its units buy *less* than the channel's average.
        let email = seg(1000, 200, 900, 170); // channel rate 20%, with search 18.9%
        let social = seg(9000, 180, 100, 1); // channel rate 2%, with search 1%
        let pooled_precision = 171.0 / 1000.0;
        let pooled_lift = pooled_precision / (380.0 / 10000.0);
        assert!(pooled_lift > 4.0, "pooled lift {pooled_lift}");
        let s = standardize(&[email, social], 1.96, 1.0).unwrap();
        // Closed form: P = 0.1·170/900 + 0.9·1/100, b = 0.1·0.2 + 0.9·0.02 = 0.038.
        let p = 0.1 * 170.0 / 900.0 + 0.9 * 0.01;
        assert!((s.precision - p).abs() < 1e-12);
        assert!((s.lift - p / 0.038).abs() < 1e-12);
        assert!(s.lift < 1.0, "standardized lift {}", s.lift);
        assert!(s.lift_ci.lo < s.lift && s.lift < s.lift_ci.hi);
        assert_eq!(s.coverage, 1.0);
    }

    #[test]
    fn one_segment_is_the_plain_lift_and_its_interval_widens_with_the_design_effect() {
        let s = standardize(&[seg(10_000, 300, 1000, 120)], 1.96, 1.0).unwrap();
        assert!((s.precision - 0.12).abs() < 1e-12);
        assert!((s.lift - 4.0).abs() < 1e-12);
        // Closed form of the log-scale standard error with the half-count variance terms.
        let pt: f64 = 120.5 / 1001.0;
        let bt: f64 = 300.5 / 10_001.0;
        let se =
            (pt * (1.0 - pt) / 1000.0 / (0.12 * 0.12) + bt * (1.0 - bt) / 10_000.0 / 0.0009).sqrt();
        assert!((s.lift_ci.lo - (4.0f64.ln() - 1.96 * se).exp()).abs() < 1e-9);
        let wide = standardize(&[seg(10_000, 300, 1000, 120)], 1.96, 1.8).unwrap();
        assert!(wide.lift_ci.lo < s.lift_ci.lo && wide.lift_ci.hi > s.lift_ci.hi);
    }

    #[test]
    fn segments_without_the_proxy_are_left_out_of_the_weights() {
        let s = standardize(&[seg(1000, 100, 100, 50), seg(3000, 30, 0, 0)], 1.96, 1.0).unwrap();
        assert!((s.precision - 0.5).abs() < 1e-12);
        assert!((s.lift - 5.0).abs() < 1e-12);
        assert!((s.coverage - 0.25).abs() < 1e-12);
        assert!(standardize(&[seg(1000, 0, 10, 0)], 1.96, 1.0).is_none());
        assert!(standardize(&[seg(1000, 10, 0, 0)], 1.96, 1.0).is_none());
    }
}
