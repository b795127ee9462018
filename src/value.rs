//! Value per proxy for value-based bidding: the expected purchase value of one unit with the proxy.
//!
//! `value = precision × AOV`, where precision = P(purchase | proxy) (the evidence's `a / (a + b)`)
//! and AOV is the mean order value of the label purchases (the user's first purchase inside the
//! label window) of the purchasing units with the proxy. Its standard error by the delta method,
//! with the binomial variance of the precision and the sample variance `s²` of those order values
//! (independent to first order): `SE² = AOV²·p(1−p)/n + p²·s²/m`, `n = a + b` units with the proxy,
//! `m` purchasing units with a valued purchase. The value is marked **do not use** when the
//! interval's half-width exceeds half the value, the proxy is flagged, or fewer than
//! [`MIN_VALUED`] purchases carry a value.

use serde::Serialize;

use crate::evidence::ProxyEvidence;
use crate::observe::Observations;
use crate::stats::interval::z_quantile;
use crate::types::{EventName, Interval};

/// Fewest valued purchases behind a usable value.
pub const MIN_VALUED: u64 = 10;
/// Largest relative half-width (half the interval over the value) of a usable value.
pub const MAX_RELATIVE_HALF_WIDTH: f64 = 0.5;

/// The value of one proxy.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyValue {
    /// The proxy event.
    pub event: EventName,
    /// P(purchase | proxy).
    pub precision: Option<f64>,
    /// Mean order value of the proxy units' label purchases.
    pub aov: Option<f64>,
    /// Sample standard deviation of those order values.
    pub aov_sd: Option<f64>,
    /// Purchasing units with a valued label purchase.
    pub valued_purchases: u64,
    /// precision × AOV: expected purchase value of one unit with the proxy.
    pub value: Option<f64>,
    /// Delta-method interval of the value (clamped at 0).
    pub value_ci: Option<Interval>,
    /// Half the interval over the value.
    pub relative_half_width: Option<f64>,
    /// Whether the value is precise and trustworthy enough to send to a platform.
    pub usable: bool,
    /// The value rounded to cents, ready for Meta value optimization (the event's `value`) or a
    /// Google Ads conversion action value; null when not usable.
    pub conversion_value: Option<f64>,
    /// Why not usable, or how to use it.
    pub note: String,
}

/// Values of every proxy, plus the site's average order value for reference.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyValues {
    /// Mean value of all purchase events with a value (revenue / purchase events).
    pub site_aov: Option<f64>,
    /// One per proxy, in candidate order.
    pub proxies: Vec<ProxyValue>,
}

/// Computes each proxy's value from the grouped order values and its evidence, both on the
/// measured weeks ([`Observations::measured_weeks`]).
pub fn values(obs: &Observations, proxies: &[ProxyEvidence], confidence: f64) -> ProxyValues {
    let z = z_quantile(confidence);
    let revenue: f64 = obs.weeks.iter().map(|w| w.revenue).sum();
    let events: u64 = obs.weeks.iter().map(|w| w.purchase.events).sum();
    let site_aov = (events > 0 && revenue > 0.0).then(|| revenue / events as f64);
    // The AOV of the same units as the evidence's precision: the measured weeks.
    let measured = obs.measured_weeks();
    let out = proxies
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let bit = 1u32 << j;
            let (mut m, mut sum, mut sq) = (0u64, 0.0, 0.0);
            for g in obs
                .values
                .iter()
                .filter(|g| g.mask & bit != 0 && measured.contains(&g.week))
            {
                m += g.valued;
                sum += g.sum;
                sq += g.sum_sq;
            }
            let n = p.a + p.b;
            let aov = (m > 0).then(|| sum / m as f64);
            let var_v = (m > 1).then(|| ((sq - sum * sum / m as f64) / (m - 1) as f64).max(0.0));
            let value = match (p.precision, aov) {
                (Some(pr), Some(a)) => Some(pr * a),
                _ => None,
            };
            let se = match (p.precision, aov, var_v) {
                (Some(pr), Some(a), Some(v)) if n > 0 => {
                    Some((a * a * pr * (1.0 - pr) / n as f64 + pr * pr * v / m as f64).sqrt())
                }
                _ => None,
            };
            let value_ci = value
                .zip(se)
                .map(|(v, s)| Interval::new((v - z * s).max(0.0), v + z * s));
            let rel = value
                .zip(se)
                .and_then(|(v, s)| (v > 0.0).then(|| z * s / v));
            let flags: Vec<&str> = p.flags.iter().map(|f| f.kind.name()).collect();
            let (usable, note) = if value.is_none() {
                (
                    false,
                    if events == 0 || revenue <= 0.0 {
                        "do not use: the log has no purchase values".to_string()
                    } else {
                        "do not use: no purchasing units with this proxy".to_string()
                    },
                )
            } else if !flags.is_empty() {
                (
                    false,
                    format!("do not use: the proxy is flagged {}", flags.join(", ")),
                )
            } else if m < MIN_VALUED {
                (
                    false,
                    format!("do not use: only {m} valued purchases (fewer than {MIN_VALUED})"),
                )
            } else if rel.is_none_or(|r| r > MAX_RELATIVE_HALF_WIDTH) {
                (
                    false,
                    format!(
                        "do not use: the interval is ±{:.0}% of the value (more than ±{:.0}%)",
                        rel.unwrap_or(f64::INFINITY).min(99_999.0) * 100.0,
                        MAX_RELATIVE_HALF_WIDTH * 100.0
                    ),
                )
            } else {
                (
                    true,
                    format!(
                        "send {:.2} as the value of {} (Meta: the event's value; Google Ads: the conversion action's value)",
                        value.unwrap_or(0.0),
                        p.event
                    ),
                )
            };
            ProxyValue {
                event: p.event.clone(),
                precision: p.precision,
                aov,
                aov_sd: var_v.map(f64::sqrt),
                valued_purchases: m,
                value,
                value_ci,
                relative_half_width: rel,
                usable,
                conversion_value: usable
                    .then(|| value.map(|v| (v * 100.0).round() / 100.0))
                    .flatten(),
                note,
            }
        })
        .collect();
    ProxyValues {
        site_aov,
        proxies: out,
    }
}
