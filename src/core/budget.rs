//! Stage "budget": what daily budget per bidding unit, or which consolidation, clears the
//! learning floor for an event (issue 16 item 2).
//!
//! **Cost per event** = spend ÷ events over the same (unit, week) cells the floor check counts,
//! from the platform's own spend and counts (Meta insights `spend`, Google Ads
//! `metrics.cost_micros`). Without spend (counts from a log or GA4) there is no cost: the plan
//! says what is missing ([`Missing`]) instead of inventing one.
//!
//! **Budget.** Assumption, stated in the report: a unit's events scale with its budget at today's
//! cost per event. A budget `f ×` today's scales the per-unit weekly counts by `f` (mean `f·m`,
//! variance `f²·v`, the operator of [`crate::stats::clearance::volume_multiple_needed`]), and the
//! smallest `f` whose window count clears the floor with probability ≥ the threshold
//! ([`crate::stats::clearance::clearance`]: Poisson, or negative binomial when overdispersed) is
//! found by bisection to 0.0001 %. The daily budget per unit is `f × today's weekly spend per unit
//! ÷ 7`.
//!
//! **Consolidation.** Merging `k` of `n` units into one: with the platform's per-unit counts the
//! merged unit is `k` typical units (the same scaling by `k`: their budgets summed); with site
//! counts it receives `k/n` of the attributed share (binomial thinning `share·k/n`). `k = 1` is
//! today's floor check in both cases, so the plan agrees with the recommendation's clearance.

use serde::Serialize;

use crate::stats::clearance::clearance;
use crate::types::{EventName, Probability};

/// Largest budget multiple tried (1000× today's spend).
pub const MAX_MULTIPLE: f64 = 1000.0;
/// Smallest budget multiple tried (a thousandth of today's spend).
const MIN_MULTIPLE: f64 = 1e-3;
/// Relative precision of the bisection on the multiple.
const PRECISION: f64 = 1.000_001;
/// Consolidations listed per event (`k = 1 ..= MAX_LISTED`; the smallest `k` that clears is
/// reported whatever its size).
pub const MAX_LISTED: u32 = 10;

/// Why the parameters were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The floor is not a finite number ≥ 0.
    #[error("floor {0} must be a number of at least 0")]
    Floor(f64),
    /// The window is not a positive number of days.
    #[error("window {0} must be a positive number of days")]
    Window(f64),
    /// No bidding unit.
    #[error("there must be at least one bidding unit")]
    Units,
    /// A site share outside (0, 1].
    #[error("attributed share {0} must be in (0, 1]")]
    Share(f64),
    /// Spend and counts are not aligned cell for cell.
    #[error("{spend} spend cells for {counts} count cells")]
    Misaligned {
        /// Spend cells.
        spend: usize,
        /// Count cells.
        counts: usize,
    },
}

/// Validated parameters: the floor, its window, the clearance threshold and today's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanParams {
    floor_events: f64,
    window_days: f64,
    threshold: Probability,
    units: u32,
}

impl PlanParams {
    /// Checks floor ≥ 0, window > 0 and at least one unit.
    pub fn new(
        floor_events: f64,
        window_days: f64,
        threshold: Probability,
        units: u32,
    ) -> Result<Self, PlanError> {
        if !(floor_events.is_finite() && floor_events >= 0.0) {
            return Err(PlanError::Floor(floor_events));
        }
        if !(window_days.is_finite() && window_days > 0.0) {
            return Err(PlanError::Window(window_days));
        }
        if units == 0 {
            return Err(PlanError::Units);
        }
        Ok(PlanParams {
            floor_events,
            window_days,
            threshold,
            units,
        })
    }
}

/// The counts of one event, as the floor check has them.
#[derive(Debug, Clone, Copy)]
pub enum Counts<'a> {
    /// The platform's own count of every (unit, week) cell.
    Reported {
        /// Counts per cell.
        per_unit: &'a [f64],
        /// Spend per cell, aligned with `per_unit`; `None` when the source reports no spend.
        spend: Option<&'a [f64]>,
    },
    /// Site weekly counts of which the platform sees `share`, split evenly over the units.
    SiteShare {
        /// Site events per week.
        site: &'a [f64],
        /// Attributed share in (0, 1].
        share: f64,
    },
}

/// What the plan lacks to price the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// The counts come from the site (log, GA4), which carries no ad spend.
    NoSpendSource,
    /// The platform's counts came without spend (or with zero spend in every cell).
    SpendNotReported,
    /// The platform counted no such event: no cost per event to scale.
    NoEvents,
}

/// The daily budget per unit that clears the floor, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Budget {
    /// `daily_per_unit` clears with `probability` ≥ the threshold.
    Clears {
        /// Daily budget per bidding unit, in the account's currency.
        daily_per_unit: f64,
        /// Its multiple of today's spend per unit.
        multiple: f64,
        /// P(clear) at that budget.
        probability: f64,
    },
    /// Even [`MAX_MULTIPLE`] × today's budget would not clear.
    BeyondRange {
        /// The largest multiple tried.
        max_multiple: f64,
    },
    /// Not priced: what is missing.
    Unpriced {
        /// What is missing.
        missing: Missing,
    },
}

/// Merging `merge` of `of` units into one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Merge {
    /// Units merged into one (1: today).
    pub merge: u32,
    /// Units today.
    pub of: u32,
    /// Units after the merge (`of − merge + 1`).
    pub units_after: u32,
    /// P(clear) of the merged unit.
    pub probability: f64,
    /// Whether it reaches the threshold.
    pub clears: bool,
}

/// The plan of one event on one platform.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventPlan {
    /// The event.
    pub event: EventName,
    /// Spend over the counted cells (`None` without spend).
    pub spend: Option<f64>,
    /// Events over the counted cells.
    pub events: f64,
    /// Spend ÷ events (`None` without spend or events).
    pub cost_per_event: Option<f64>,
    /// Today's spend per unit per day (`None` without spend).
    pub daily_spend_per_unit: Option<f64>,
    /// P(clear) today.
    pub probability_today: f64,
    /// The daily budget per unit that clears.
    pub budget: Budget,
    /// Merges of `k = 1 ..= min(units, MAX_LISTED)` units.
    pub consolidations: Vec<Merge>,
    /// The fewest units merged into one that clears (`None`: not even all of them).
    pub merge_to_clear: Option<u32>,
}

/// P(clear) of one unit whose weekly count is `scale ×` the typical unit's (reported counts)
/// or that receives `scale` units' share (site counts).
fn p_clear(counts: &Counts<'_>, p: &PlanParams, scale: f64) -> Option<f64> {
    let c = match counts {
        Counts::Reported { per_unit, .. } => {
            let scaled: Vec<f64> = per_unit.iter().map(|x| x * scale).collect();
            clearance(&scaled, 1.0, p.window_days, p.floor_events)
        }
        Counts::SiteShare { site, share } => clearance(
            site,
            (share * scale / f64::from(p.units)).min(1.0),
            p.window_days,
            p.floor_events,
        ),
    };
    c.map(|c| c.probability.get())
}

/// The smallest multiple in [[`MIN_MULTIPLE`], [`MAX_MULTIPLE`]] that clears, with its P(clear);
/// `None` when even the largest does not.
fn multiple_needed(counts: &Counts<'_>, p: &PlanParams) -> Option<(f64, f64)> {
    let t = p.threshold.get();
    let clears = |f: f64| p_clear(counts, p, f).filter(|q| *q >= t);
    if let Some(q) = clears(MIN_MULTIPLE) {
        return Some((MIN_MULTIPLE, q));
    }
    let mut best = (MAX_MULTIPLE, clears(MAX_MULTIPLE)?);
    let mut lo = MIN_MULTIPLE;
    while best.0 / lo > PRECISION {
        let mid = (lo * best.0).sqrt();
        match clears(mid) {
            Some(q) => best = (mid, q),
            None => lo = mid,
        }
    }
    Some(best)
}

/// Merges of `k = 1 ..= min(units, MAX_LISTED)` and the fewest `k ≤ units` that clears.
fn consolidations(counts: &Counts<'_>, p: &PlanParams) -> (Vec<Merge>, Option<u32>) {
    let t = p.threshold.get();
    let merge = |k: u32| {
        let q = p_clear(counts, p, f64::from(k)).unwrap_or(0.0);
        Merge {
            merge: k,
            of: p.units,
            units_after: p.units - k + 1,
            probability: q,
            clears: q >= t,
        }
    };
    let listed: Vec<Merge> = (1..=p.units.min(MAX_LISTED)).map(merge).collect();
    // Clearance grows with k: the first k that clears is the fewest.
    let first = listed
        .iter()
        .find(|m| m.clears)
        .map(|m| m.merge)
        .or_else(|| (MAX_LISTED + 1..=p.units).find(|&k| merge(k).clears));
    (listed, first)
}

/// The plan of one event: cost per event, the budget that clears, and the consolidations.
pub fn plan(event: EventName, counts: Counts<'_>, p: &PlanParams) -> Result<EventPlan, PlanError> {
    let (events, spend, missing) = match counts {
        Counts::Reported { per_unit, spend } => {
            if let Some(s) = spend.filter(|s| s.len() != per_unit.len()) {
                return Err(PlanError::Misaligned {
                    spend: s.len(),
                    counts: per_unit.len(),
                });
            }
            let events: f64 = per_unit.iter().sum();
            let total = spend.map(|s| s.iter().sum::<f64>()).filter(|t| *t > 0.0);
            let missing = match (total, events > 0.0) {
                (None, _) => Some(Missing::SpendNotReported),
                (Some(_), false) => Some(Missing::NoEvents),
                (Some(_), true) => None,
            };
            (events, total, missing)
        }
        Counts::SiteShare { site, share } => {
            if !(share > 0.0 && share <= 1.0) {
                return Err(PlanError::Share(share));
            }
            (site.iter().sum(), None, Some(Missing::NoSpendSource))
        }
    };
    let cells = match counts {
        Counts::Reported { per_unit, .. } => per_unit.len(),
        Counts::SiteShare { .. } => 0,
    };
    let daily = spend.filter(|_| cells > 0).map(|s| s / cells as f64 / 7.0);
    let budget = match (missing, daily) {
        (Some(missing), _) => Budget::Unpriced { missing },
        (None, Some(d)) => match multiple_needed(&counts, p) {
            Some((f, q)) => Budget::Clears {
                daily_per_unit: f * d,
                multiple: f,
                probability: q,
            },
            None => Budget::BeyondRange {
                max_multiple: MAX_MULTIPLE,
            },
        },
        (None, None) => Budget::Unpriced {
            missing: Missing::SpendNotReported,
        },
    };
    let (listed, merge_to_clear) = consolidations(&counts, p);
    Ok(EventPlan {
        event,
        spend,
        events,
        cost_per_event: spend.filter(|_| events > 0.0).map(|s| s / events),
        daily_spend_per_unit: daily,
        probability_today: p_clear(&counts, p, 1.0).unwrap_or(0.0),
        budget,
        consolidations: listed,
        merge_to_clear,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> EventName {
        EventName::new(s).unwrap()
    }

    fn params(floor: f64, units: u32) -> PlanParams {
        PlanParams::new(floor, 7.0, Probability::new(0.8).unwrap(), units).unwrap()
    }

    /// `P(X ≥ k)` for Poisson(μ), summing the pmf (independent of statrs).
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
    fn a_steady_unit_is_priced_by_hand() {
        // Two ad sets, two weeks, 20 events each cell, 140 spent per cell (20 a day): v = 0, so
        // the scaled count is Poisson(20 f). Cost per event 560 / 80 = 7.
        let counts = [20.0; 4];
        let spend = [140.0; 4];
        let c = Counts::Reported {
            per_unit: &counts,
            spend: Some(&spend),
        };
        let plan = plan(ev("add_to_cart"), c, &params(50.0, 2)).unwrap();
        assert_eq!(plan.cost_per_event, Some(7.0));
        assert_eq!(plan.daily_spend_per_unit, Some(20.0));
        assert!((plan.probability_today - poisson_tail(20.0, 50)).abs() < 1e-10);
        let Budget::Clears {
            daily_per_unit,
            multiple,
            probability,
        } = plan.budget
        else {
            panic!("{:?}", plan.budget)
        };
        // The multiple is the smallest f with P(Poisson(20 f) ≥ 50) ≥ 0.8, to 0.05 %.
        assert!(poisson_tail(20.0 * multiple, 50) >= 0.8);
        assert!(poisson_tail(20.0 * multiple / 1.001, 50) < 0.8);
        assert!((probability - poisson_tail(20.0 * multiple, 50)).abs() < 1e-9);
        assert!((daily_per_unit - 20.0 * multiple).abs() < 1e-9);
        // By hand: scipy brentq on poisson.sf(49, μ) = 0.8 gives μ* = 55.8334 events a week; at
        // 7 per event that is 390.83 a week, 55.83 a day per ad set (2.79× today's 20).
        assert!((daily_per_unit - 55.8334).abs() < 0.03, "{daily_per_unit}");
        // Merging both: Poisson(40), still short of 50.
        assert_eq!(plan.consolidations.len(), 2);
        let m2 = plan.consolidations[1];
        assert_eq!((m2.merge, m2.units_after), (2, 1));
        assert!((m2.probability - poisson_tail(40.0, 50)).abs() < 1e-10);
        // scipy.stats.poisson.sf(49, 40).
        assert!((m2.probability - 0.07033506665939494).abs() < 1e-9);
        assert_eq!(plan.merge_to_clear, None);
    }

    #[test]
    fn without_spend_or_events_the_plan_says_what_is_missing() {
        let counts = [10.0, 12.0];
        let none = Counts::Reported {
            per_unit: &counts,
            spend: None,
        };
        let p = plan(ev("purchase"), none, &params(50.0, 1)).unwrap();
        assert_eq!(
            p.budget,
            Budget::Unpriced {
                missing: Missing::SpendNotReported
            }
        );
        assert_eq!(p.cost_per_event, None);
        let zero = [0.0, 0.0];
        let p = plan(
            ev("purchase"),
            Counts::Reported {
                per_unit: &zero,
                spend: Some(&[5.0, 5.0]),
            },
            &params(50.0, 1),
        )
        .unwrap();
        assert_eq!(
            p.budget,
            Budget::Unpriced {
                missing: Missing::NoEvents
            }
        );
        let site = Counts::SiteShare {
            site: &[300.0, 320.0],
            share: 0.5,
        };
        let p = plan(ev("add_to_cart"), site, &params(50.0, 3)).unwrap();
        assert_eq!(
            p.budget,
            Budget::Unpriced {
                missing: Missing::NoSpendSource
            }
        );
        assert!(matches!(
            plan(
                ev("purchase"),
                Counts::Reported {
                    per_unit: &counts,
                    spend: Some(&[1.0])
                },
                &params(50.0, 1)
            ),
            Err(PlanError::Misaligned { .. })
        ));
    }

    #[test]
    fn site_share_consolidation_is_the_floor_check_at_k_equal_one() {
        // 3 ad groups seeing 25% of 400 a week: today each gets 400·0.25/3 ≈ 33.3; merging k of
        // them thins by 0.25·k/3. Poisson (one week: v = m).
        let site = [400.0];
        let c = Counts::SiteShare {
            site: &site,
            share: 0.25,
        };
        let p = plan(ev("add_to_cart"), c, &params(50.0, 3)).unwrap();
        for m in &p.consolidations {
            let mu = 400.0 * 0.25 * f64::from(m.merge) / 3.0;
            assert!((m.probability - poisson_tail(mu, 50)).abs() < 1e-9, "{m:?}");
        }
        assert!((p.probability_today - p.consolidations[0].probability).abs() < 1e-15);
        // Merging all three: Poisson(100) clears; two: Poisson(66.7) P ≈ 0.98 clears too.
        assert_eq!(p.merge_to_clear, Some(2));
    }

    #[test]
    fn parameters_are_checked() {
        let t = Probability::new(0.8).unwrap();
        assert_eq!(PlanParams::new(50.0, 7.0, t, 0), Err(PlanError::Units));
        assert!(matches!(
            PlanParams::new(f64::NAN, 7.0, t, 1),
            Err(PlanError::Floor(_))
        ));
        assert!(PlanParams::new(50.0, 0.0, t, 1).is_err());
    }
}
