//! Test-metric advisor: how many weeks of traffic a two-arm A/B test needs on purchase and on each
//! proxy to detect a given relative lift, and how strongly each proxy tracks purchase (a win on a
//! proxy that does not track purchase means little).
//!
//! Base rate of a metric = units with the event anywhere in the unit / all units, over the recent
//! complete weeks; weekly traffic = mean units per recent week. Units per arm come from
//! [`crate::stats::power::two_proportion_n`] with `p₂ = p₁·(1 + mde)`; the test needs
//! `weeks = n·arms / weekly units`. With more than two arms each treatment is compared with the
//! control at `α / (arms − 1)` (Bonferroni).

use serde::Serialize;

use crate::evidence::ProxyEvidence;
use crate::observe::WeekTotals;
use crate::stats::power::two_proportion_n;
use crate::types::{EventName, Interval};

/// Lowest lift (interval lower bound) of a proxy that tracks purchase strongly: its units are at
/// least twice as dense in buyers as all units, so it is not a near-universal event.
pub const STRONG_LIFT: f64 = 2.0;
/// Lowest recall of a proxy that tracks purchase strongly: most buyers pass through it.
pub const STRONG_RECALL: f64 = 0.5;

/// Parameters of the planned test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TestParams {
    /// Minimum detectable effect, relative (0.1 = +10%).
    pub mde: f64,
    /// Two-sided significance level.
    pub alpha: f64,
    /// Power (1 − β).
    pub power: f64,
    /// Arms, control included (at least 2).
    pub arms: u32,
}

impl Default for TestParams {
    fn default() -> Self {
        TestParams {
            mde: 0.10,
            alpha: 0.05,
            power: 0.80,
            arms: 2,
        }
    }
}

/// How strongly a proxy tracks purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tracking {
    /// Purchase itself.
    Outcome,
    /// Unflagged, lift interval above [`STRONG_LIFT`] and recall at least [`STRONG_RECALL`].
    Strong,
    /// Unflagged but weaker.
    Weak,
    /// Flagged: a win on it says nothing about purchase.
    Broken,
}

/// The plan for one metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricPlan {
    /// The event (purchase or a proxy).
    pub event: EventName,
    /// Units with the event / units, over the recent complete weeks.
    pub base_rate: Option<f64>,
    /// Rate to detect: base_rate × (1 + mde).
    pub target_rate: Option<f64>,
    /// Units per arm.
    pub units_per_arm: Option<f64>,
    /// Weeks of all traffic the test needs.
    pub weeks: Option<f64>,
    /// How it tracks purchase.
    pub tracking: Tracking,
    /// Odds ratio (segment-adjusted when estimable, else raw) and its interval.
    pub odds_ratio: Option<f64>,
    /// Interval of the odds ratio.
    pub odds_ratio_ci: Option<Interval>,
    /// Lift over the base purchase rate.
    pub lift: Option<f64>,
    /// Share of purchasing units that did the proxy first.
    pub recall: Option<f64>,
}

/// The whole test plan.
#[derive(Debug, Clone, Serialize)]
pub struct TestPlan {
    /// Parameters.
    pub params: TestParams,
    /// Level each comparison is tested at (α, or α/(arms−1)).
    pub alpha_per_comparison: f64,
    /// Recent complete weeks the rates and traffic come from.
    pub recent_weeks: u32,
    /// Mean units per recent week.
    pub weekly_units: f64,
    /// Purchase first, then the proxies in candidate order.
    pub metrics: Vec<MetricPlan>,
    /// The strong proxy needing the fewest weeks, when it is faster than purchase.
    pub suggested: Option<EventName>,
    /// One sentence for people.
    pub message: String,
}

/// Plans the test from the weekly totals, the proxies' evidence and the recent complete weeks.
pub fn plan(
    purchase: &EventName,
    weekly: &[WeekTotals],
    proxies: &[ProxyEvidence],
    recent: &[usize],
    params: TestParams,
) -> TestPlan {
    let arms = params.arms.max(2);
    let alpha_c = params.alpha / f64::from(arms - 1);
    let units: u64 = recent
        .iter()
        .filter_map(|&i| weekly.get(i))
        .map(|w| w.units)
        .sum();
    let weekly_units = if recent.is_empty() {
        0.0
    } else {
        units as f64 / recent.len() as f64
    };
    let sizing = |with: u64| {
        let p1 = (units > 0).then(|| with as f64 / units as f64);
        let p2 = p1.map(|p| p * (1.0 + params.mde));
        let n = p1
            .zip(p2)
            .and_then(|(a, b)| two_proportion_n(a, b, alpha_c, params.power));
        let weeks = n
            .filter(|_| weekly_units > 0.0)
            .map(|n| n * f64::from(arms) / weekly_units);
        (p1, p2, n, weeks)
    };
    let mut metrics = Vec::new();
    let with: u64 = recent
        .iter()
        .filter_map(|&i| weekly.get(i))
        .map(|w| w.purchase.units)
        .sum();
    let (p1, p2, n, weeks) = sizing(with);
    metrics.push(MetricPlan {
        event: purchase.clone(),
        base_rate: p1,
        target_rate: p2,
        units_per_arm: n,
        weeks,
        tracking: Tracking::Outcome,
        odds_ratio: None,
        odds_ratio_ci: None,
        lift: None,
        recall: None,
    });
    for p in proxies {
        let with: u64 = recent
            .iter()
            .filter_map(|&i| p.weekly.get(i))
            .map(|w| w.units)
            .sum();
        let (p1, p2, n, weeks) = sizing(with);
        let (or, ci) = match &p.adjusted {
            Some(m) => (Some(m.odds_ratio), Some(m.odds_ratio_ci)),
            None => (p.odds_ratio, p.odds_ratio_ci),
        };
        let tracking = tracking_of(p);
        metrics.push(MetricPlan {
            event: p.event.clone(),
            base_rate: p1,
            target_rate: p2,
            units_per_arm: n,
            weeks,
            tracking,
            odds_ratio: or,
            odds_ratio_ci: ci,
            lift: p.lift,
            recall: p.recall,
        });
    }
    let suggested = suggested(&metrics);
    let message = plan_message(&metrics, suggested.as_ref(), params.mde);
    TestPlan {
        params: TestParams { arms, ..params },
        alpha_per_comparison: alpha_c,
        recent_weeks: recent.len() as u32,
        weekly_units,
        metrics,
        suggested,
        message,
    }
}

/// How a proxy tracks purchase: broken when flagged, strong with a lift interval above
/// [`STRONG_LIFT`] and recall at least [`STRONG_RECALL`], else weak.
fn tracking_of(p: &ProxyEvidence) -> Tracking {
    if !p.flags.is_empty() {
        Tracking::Broken
    } else if p.lift_ci.is_some_and(|c| c.lo >= STRONG_LIFT)
        && p.recall.is_some_and(|r| r >= STRONG_RECALL)
    {
        Tracking::Strong
    } else {
        Tracking::Weak
    }
}

/// The strong proxy needing the fewest weeks, when it needs fewer than purchase (`metrics[0]`).
fn suggested(metrics: &[MetricPlan]) -> Option<EventName> {
    let purchase_weeks = metrics[0].weeks;
    metrics
        .iter()
        .filter(|m| m.tracking == Tracking::Strong)
        .filter_map(|m| m.weeks.map(|w| (w, m)))
        .filter(|(w, _)| purchase_weeks.is_none_or(|pw| *w < pw))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, m)| m.event.clone())
}

/// The plan in one sentence: weeks on purchase, and on the suggested proxy when there is one.
fn plan_message(metrics: &[MetricPlan], suggested: Option<&EventName>, mde: f64) -> String {
    let purchase_weeks = metrics[0].weeks;
    let fmt_weeks = |w: Option<f64>| w.map_or("–".to_string(), |w| format!("{w:.1}"));
    let mde = mde * 100.0;
    match suggested
        .and_then(|s| metrics.iter().find(|m| &m.event == s))
    {
        Some(m) => format!(
            "to detect +{mde:.0}% on purchase a test needs {} weeks of all traffic; on {} it needs {} weeks, and {} tracks purchase strongly (lift {}, recall {}): test on {}, and confirm the effect on purchase over a longer run",
            fmt_weeks(purchase_weeks),
            m.event,
            fmt_weeks(m.weeks),
            m.event,
            m.lift.map_or("–".into(), |x| format!("{x:.1}")),
            m.recall.map_or("–".into(), crate::format::percent),
            m.event
        ),
        None => format!(
            "to detect +{mde:.0}% on purchase a test needs {} weeks of all traffic; no proxy that tracks purchase strongly is faster",
            fmt_weeks(purchase_weeks)
        ),
    }
}

/// Indices of the last `n` complete weeks of the report's weekly totals (all weeks with units
/// when none is complete).
pub fn recent_complete(weekly: &[WeekTotals], n: u32) -> Vec<usize> {
    let complete: Vec<usize> = (0..weekly.len()).filter(|&i| weekly[i].complete).collect();
    let pool = if complete.is_empty() {
        (0..weekly.len()).filter(|&i| weekly[i].units > 0).collect()
    } else {
        complete
    };
    let k = (n as usize).min(pool.len());
    pool[pool.len() - k..].to_vec()
}

/// Why test parameters are unusable.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ParamError {
    /// The flag at fault.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Parses a relative amount: `10%` is 0.10, `0.1` is 0.1.
pub fn parse_relative(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a relative lift like 10% or 0.1"))?;
    let v = v / scale;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{s:?} must be a positive lift"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_amounts_parse_with_or_without_percent() {
        assert_eq!(parse_relative("10%"), Ok(0.10));
        assert_eq!(parse_relative(" 2.5 % "), Ok(0.025));
        assert_eq!(parse_relative("0.1"), Ok(0.1));
        assert!(parse_relative("-5%").is_err());
        assert!(parse_relative("ten").is_err());
        assert!(parse_relative("0").is_err());
    }
}
