//! Random draws on raw 64-bit output of the seeded streams (their values do not change with
//! `rand`'s distribution code): traffic, session starts, order values and the samplers.

use super::*;

/// Regular sessions in one week: Poisson around a gamma-distributed weekly level, the level kept
/// within 1.5 coefficients of variation of the mean (modest swings, no freak weeks in a demo).
pub(super) fn weekly_traffic(rng: &mut Xoshiro256PlusPlus, spec: &DemoSpec) -> u64 {
    let cv = spec.weekly_traffic_cv;
    let level = if cv > 0.0 {
        let shape = 1.0 / (cv * cv);
        (gamma(rng, shape) / shape).clamp(1.0 - 1.5 * cv, 1.0 + 1.5 * cv)
    } else {
        1.0
    };
    poisson(rng, level * f64::from(spec.sessions_per_week))
}

/// An independent generator for one purpose (`tag`) under one seed.
pub(super) fn stream(seed: u64, tag: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(mix64(seed ^ mix64(tag.wrapping_add(0x5DEE_CE66_D1CE_4E5B))))
}

/// The SplitMix64 finaliser: a bijective 64-bit hash.
pub(super) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sorted session start times in a week, following the weekday and hour patterns.
pub(super) fn session_starts(rng: &mut Xoshiro256PlusPlus, week_start: i64, n: u64) -> Vec<i64> {
    let mut starts: Vec<i64> = (0..n)
        .map(|_| {
            let day = categorical(rng, &WEEKDAY_WEIGHT) as i64;
            let hour = categorical(rng, &HOUR_WEIGHT) as i64;
            week_start + day * DAY + hour * 3_600 + below(rng, 3_600) as i64
        })
        .collect();
    starts.sort_unstable();
    starts
}

pub(super) fn order_value_cents(rng: &mut Xoshiro256PlusPlus) -> u32 {
    let eur = funnel::ORDER_MEDIAN * (funnel::ORDER_SIGMA * normal(rng)).exp();
    (eur.clamp(5.0, 2_000.0) * 100.0).round() as u32
}

// ---------------------------------------------------------------------------------------------
// Samplers on raw 64-bit draws: their values do not change with `rand`'s distribution code.

/// Uniform in [0, 1) with 53 random bits.
pub(super) fn unif(rng: &mut Xoshiro256PlusPlus) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform integer in [0, n) by multiply-shift (bias below 2^-40 for the n used here).
pub(super) fn below(rng: &mut Xoshiro256PlusPlus, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// Index drawn with probability proportional to `weights`.
pub(super) fn categorical(rng: &mut Xoshiro256PlusPlus, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = unif(rng) * total;
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

pub(super) fn exponential(rng: &mut Xoshiro256PlusPlus, mean: f64) -> f64 {
    -mean * (1.0 - unif(rng)).ln()
}

/// Failures before the first success, success probability `p`.
pub(super) fn geometric(rng: &mut Xoshiro256PlusPlus, p: f64) -> u32 {
    let mut k = 0;
    while unif(rng) >= p && k < 50 {
        k += 1;
    }
    k
}

/// Seconds between two events: `min` plus an exponential with mean `mean`.
pub(super) fn gap(rng: &mut Xoshiro256PlusPlus, min: i64, mean: f64) -> i64 {
    min + exponential(rng, mean).min(1_800.0) as i64
}

/// Standard normal (Box-Muller, one value per call).
pub(super) fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1 = 1.0 - unif(rng);
    let u2 = unif(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Gamma with scale 1 (Marsaglia-Tsang; shape < 1 boosted).
pub(super) fn gamma(rng: &mut Xoshiro256PlusPlus, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - unif(rng);
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = 1.0 - unif(rng);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// Poisson: multiplication for small means, Hörmann's PTRS transformed rejection otherwise.
pub(super) fn poisson(rng: &mut Xoshiro256PlusPlus, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda < 10.0 {
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0, unif(rng));
        while p > limit {
            k += 1;
            p *= unif(rng);
        }
        return k;
    }
    let slam = lambda.sqrt();
    let loglam = lambda.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = unif(rng) - 0.5;
        let v = unif(rng);
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k as u64;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        let lhs = v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln();
        let rhs = -lambda + k * loglam - statrs::function::gamma::ln_gamma(k + 1.0);
        if lhs <= rhs {
            return k as u64;
        }
    }
}
