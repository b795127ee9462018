//! Stage "recommend": from each candidate's floor check and segment-adjusted evidence, the event a
//! platform should optimize on this week, before hysteresis.
//!
//! **Objective.** A bidder learns from the optimization events it gets; what it learns is worth
//! the purchasers behind them. The score of an event is
//! `P(clear) × P_std(purchase | event)`: expected purchasers per optimization event (the
//! segment-standardized precision, [`super::standardize`]; 1 for purchase itself), weighted by
//! the probability that a floor window reaches the learning floor (volume). Signal and volume are
//! traded explicitly: a deeper event that clears less often wins only when its precision makes up
//! for the windows in which the bidder stays in learning.
//!
//! **Rules.** An event is a contender when it is eligible (no flag, the platform can optimize on
//! and counts it), it clears (`P(clear) ≥ threshold`; for the standing event
//! `≥ threshold − margin`, the clearance band) and it is useful (purchase, or the lower bound of
//! its segment-adjusted lift interval ≥ `lift_floor`, default 1.5). The best is the contender with
//! the highest score (ties: the deeper event), except that the standing event stays best while no
//! contender beats its score by more than `score_margin` (default 30%). No contender: nothing
//! useful clears ([`Verdict::NothingUsefulClears`] when some event clears or is useful on its
//! own, [`Verdict::NothingClears`] otherwise). A derived event (a rule over site events,
//! [`crate::derive`]) is a contender only when its score beats every raw contender's by more than
//! `score_margin`: it has to be built and sent before a bidder learns on it.

use crate::core::flag::FlagKind;
use crate::types::{EventName, Interval, Probability};

/// Lowest lower bound of a proxy's lift interval that is worth optimizing on: below 1.5× the base
/// rate the bidder is optimizing on traffic, not on buyers.
pub const LIFT_FLOOR: f64 = 1.5;
/// Clearance band below the threshold within which the standing event keeps clearing (0.8 − 0.4
/// = 0.4). The 4-week clearance estimate has a standard deviation of 0.13–0.16 near the cut and
/// overlapping windows keep its errors for weeks: a narrower band (0.3) let a store whose event
/// truly clears 75% of windows drop it about once a year in the stability simulation
/// (`core/stability.rs`), each drop a learning reset and usually a return.
pub const CLEARANCE_MARGIN: f64 = 0.4;
/// Relative score a challenger must exceed the standing event's by to lead (30%): the score
/// carries the clearance estimate's noise (sd 0.15 on 0.75 is 20%), and 15% let ordinary dips of
/// the standing event hand the lead to a weaker challenger (0.45 switches per store-year in the
/// stability simulation, against 0.23 at 30%).
pub const SCORE_MARGIN: f64 = 0.3;

/// Why the parameters were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// The lift floor is not a finite number ≥ 1.
    #[error("lift floor {0} must be a number of at least 1")]
    LiftFloor(f64),
    /// The margin exceeds the threshold.
    #[error("clearance margin {margin} must not exceed the clearance threshold {threshold}")]
    Margin {
        /// The margin.
        margin: f64,
        /// The threshold.
        threshold: f64,
    },
    /// The score margin is negative or not finite.
    #[error("score margin {0} must be a number of at least 0")]
    ScoreMargin(f64),
}

/// Validated parameters of the stage.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Params {
    lift_floor: f64,
    threshold: Probability,
    margin: Probability,
    score_margin: f64,
}

impl Params {
    /// Checks the parameters: lift floor ≥ 1, margin ≤ threshold, score margin ≥ 0.
    pub fn new(
        lift_floor: f64,
        threshold: Probability,
        margin: Probability,
        score_margin: f64,
    ) -> Result<Params, ParamError> {
        if !(lift_floor.is_finite() && lift_floor >= 1.0) {
            return Err(ParamError::LiftFloor(lift_floor));
        }
        if margin.get() > threshold.get() {
            return Err(ParamError::Margin {
                margin: margin.get(),
                threshold: threshold.get(),
            });
        }
        if !(score_margin.is_finite() && score_margin >= 0.0) {
            return Err(ParamError::ScoreMargin(score_margin));
        }
        Ok(Params {
            lift_floor,
            threshold,
            margin,
            score_margin,
        })
    }

    /// The clearance band below the threshold within which the standing event still clears.
    pub fn margin(&self) -> Probability {
        self.margin
    }

    /// The documented defaults around a clearance threshold.
    pub fn with_threshold(threshold: Probability) -> Params {
        let margin = Probability::clamped(CLEARANCE_MARGIN.min(threshold.get()));
        Params::new(LIFT_FLOOR, threshold, margin, SCORE_MARGIN)
            .expect("the defaults are valid for every threshold")
    }

    /// The lift floor.
    pub fn lift_floor(&self) -> f64 {
        self.lift_floor
    }

    /// Clearance a challenger needs.
    pub fn threshold(&self) -> f64 {
        self.threshold.get()
    }

    /// Clearance the standing event needs (threshold − margin).
    pub fn standing_cut(&self) -> f64 {
        self.threshold.get() - self.margin.get()
    }

    /// The relative score margin.
    pub fn score_margin(&self) -> f64 {
        self.score_margin
    }
}

/// Why an event cannot be chosen on a platform, whatever its numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// The platform cannot optimize on this event.
    NotOptimizable,
    /// A derived grid point the search picked for other platforms, not this one.
    NotPicked,
    /// The platform reports counts but does not count this event; the text says why.
    NotCounted(String),
    /// The proxy carries flags.
    Flagged(Vec<FlagKind>),
}

/// What the stage needs to know about one candidate (purchase included).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The event.
    pub event: EventName,
    /// Funnel depth, for ties.
    pub depth: u8,
    /// Whether this is the purchase event itself.
    pub is_purchase: bool,
    /// Probability that a floor window reaches the floor.
    pub clearance: Probability,
    /// Segment-standardized precision (1 for purchase).
    pub precision: Option<f64>,
    /// Segment-standardized lift interval (none for purchase).
    pub lift_ci: Option<Interval>,
    /// Why it cannot be chosen, if it cannot.
    pub exclusion: Option<Exclusion>,
    /// A derived event (a rule over site events): it must beat every raw contender by more
    /// than the score margin, since it has to be built and sent before a bidder can learn on it.
    pub derived: bool,
}

/// How the stage judged one candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// `P(clear) × precision` (0 without a precision).
    pub score: f64,
    /// Clears at the cut that applies to it (the band for the standing event).
    pub clears: bool,
    /// Purchase, or its lift interval's lower bound reaches the lift floor.
    pub useful: bool,
    /// Whether it is the standing event.
    pub standing: bool,
}

/// The outcome, as a reason code (the report turns it into text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Purchase itself clears: optimize on the real outcome.
    Purchase,
    /// A proxy clears and is useful.
    Proxy,
    /// The standing event stays best: no contender beats it by the score margin.
    StandingWithinMargin,
    /// Some event clears or is useful, but none is both.
    NothingUsefulClears,
    /// No eligible event clears and none is useful.
    NothingClears,
}

/// The stage's result: indices into the candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The best event this week (before hysteresis).
    pub best: Option<usize>,
    /// The next contender.
    pub runner_up: Option<usize>,
    /// The reason code.
    pub verdict: Verdict,
    /// Per candidate, in input order.
    pub assessed: Vec<Assessment>,
}

/// Judges one candidate.
pub fn assess(c: &Candidate, standing: Option<&EventName>, p: &Params) -> Assessment {
    let is_standing = standing == Some(&c.event);
    let cut = if is_standing {
        p.standing_cut()
    } else {
        p.threshold()
    };
    Assessment {
        score: c.clearance.get() * c.precision.unwrap_or(0.0),
        clears: c.clearance.get() >= cut,
        useful: c.is_purchase || c.lift_ci.is_some_and(|l| l.lo >= p.lift_floor),
        standing: is_standing,
    }
}

/// Chooses the best candidate (see the module documentation). `standing` is the event the
/// platform was told to optimize on last week, if any.
pub fn recommend(cands: &[Candidate], standing: Option<&EventName>, p: &Params) -> Choice {
    let assessed: Vec<Assessment> = cands.iter().map(|c| assess(c, standing, p)).collect();
    let eligible = |i: usize| cands[i].exclusion.is_none();
    let mut contenders: Vec<usize> = (0..cands.len())
        .filter(|&i| eligible(i) && assessed[i].clears && assessed[i].useful)
        .collect();
    let best_raw = contenders
        .iter()
        .filter(|&&i| !cands[i].derived)
        .map(|&i| assessed[i].score)
        .max_by(f64::total_cmp);
    contenders.retain(|&i| {
        !cands[i].derived || best_raw.is_none_or(|b| assessed[i].score > b * (1.0 + p.score_margin))
    });
    contenders.sort_by(|&x, &y| {
        assessed[y]
            .score
            .total_cmp(&assessed[x].score)
            .then(cands[y].depth.cmp(&cands[x].depth))
    });
    let Some(&leader) = contenders.first() else {
        let partial = (0..cands.len()).any(|i| {
            eligible(i) && !cands[i].is_purchase && (assessed[i].clears || assessed[i].useful)
        });
        return Choice {
            best: None,
            runner_up: None,
            verdict: if partial {
                Verdict::NothingUsefulClears
            } else {
                Verdict::NothingClears
            },
            assessed,
        };
    };
    let held = contenders
        .iter()
        .copied()
        .find(|&i| assessed[i].standing)
        .filter(|&s| s != leader)
        .filter(|&s| assessed[leader].score <= assessed[s].score * (1.0 + p.score_margin));
    let (best, runner_up, verdict) = match held {
        Some(s) => (s, Some(leader), Verdict::StandingWithinMargin),
        None => {
            let verdict = if cands[leader].is_purchase {
                Verdict::Purchase
            } else {
                Verdict::Proxy
            };
            (leader, contenders.get(1).copied(), verdict)
        }
    };
    Choice {
        best: Some(best),
        runner_up,
        verdict,
        assessed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> EventName {
        EventName::new(s).unwrap()
    }

    fn cand(event: &str, clearance: f64, precision: f64, lift_lo: f64) -> Candidate {
        let e = name(event);
        Candidate {
            depth: e.funnel_depth(),
            is_purchase: event == "purchase",
            event: e,
            clearance: Probability::new(clearance).unwrap(),
            precision: Some(precision),
            lift_ci: (event != "purchase").then(|| Interval::new(lift_lo, lift_lo * 1.3)),
            exclusion: None,
            derived: false,
        }
    }

    fn params() -> Params {
        Params::with_threshold(Probability::new(0.8).unwrap())
    }

    fn best<'a>(cands: &'a [Candidate], c: &Choice) -> Option<&'a str> {
        c.best.map(|i| cands[i].event.as_str())
    }

    #[test]
    fn the_objective_trades_precision_against_clearance() {
        // Both clear: the deeper event's precision wins (0.9 × 0.40 > 1.0 × 0.18).
        let c = [
            cand("purchase", 0.0, 1.0, 0.0),
            cand("add_to_cart", 1.0, 0.18, 7.0),
            cand("begin_checkout", 0.9, 0.40, 16.0),
        ];
        let r = recommend(&c, None, &params());
        assert_eq!(best(&c, &r), Some("begin_checkout"));
        assert_eq!(r.verdict, Verdict::Proxy);
        assert_eq!(
            r.runner_up.map(|i| c[i].event.as_str()),
            Some("add_to_cart")
        );
        assert!((r.assessed[2].score - 0.36).abs() < 1e-12);
        // Purchase, when it clears, scores P(clear) × 1 and wins.
        let c = [
            cand("purchase", 0.85, 1.0, 0.0),
            cand("add_payment_info", 1.0, 0.67, 28.0),
        ];
        let r = recommend(&c, None, &params());
        assert_eq!(
            (best(&c, &r), r.verdict),
            (Some("purchase"), Verdict::Purchase)
        );
    }

    #[test]
    fn nothing_below_the_lift_floor_is_recommended() {
        // view_item clears easily but its lift interval starts at 1.22: nothing useful clears.
        let c = [
            cand("purchase", 0.0, 1.0, 0.0),
            cand("view_item", 1.0, 0.028, 1.22),
            cand("add_to_cart", 0.03, 0.18, 7.5),
        ];
        let r = recommend(&c, None, &params());
        assert_eq!(r.best, None);
        assert_eq!(r.verdict, Verdict::NothingUsefulClears);
        assert!(r.assessed[1].clears && !r.assessed[1].useful);
        // Exactly at the floor is useful.
        let c = [cand("view_item", 1.0, 0.05, LIFT_FLOOR)];
        assert_eq!(recommend(&c, None, &params()).best, Some(0));
        // Nothing clears and nothing is useful.
        let c = [cand("view_item", 0.1, 0.028, 1.0)];
        assert_eq!(
            recommend(&c, None, &params()).verdict,
            Verdict::NothingClears
        );
    }

    #[test]
    fn the_standing_event_keeps_clearing_inside_the_band() {
        let c = [
            cand("add_to_cart", 0.79, 0.18, 7.0),
            cand("view_cart", 0.95, 0.10, 4.0),
        ];
        // A newcomer at 0.79 does not clear ...
        let fresh = recommend(&c, None, &params());
        assert_eq!(best(&c, &fresh), Some("view_cart"));
        // ... the standing event at 0.79 (and down to 0.4) does.
        let standing = name("add_to_cart");
        let r = recommend(&c, Some(&standing), &params());
        assert_eq!(best(&c, &r), Some("add_to_cart"));
        let low = [cand("add_to_cart", 0.39, 0.18, 7.0)];
        assert_eq!(recommend(&low, Some(&standing), &params()).best, None);
        let edge = [cand("add_to_cart", 0.4, 0.18, 7.0)];
        assert_eq!(recommend(&edge, Some(&standing), &params()).best, Some(0));
    }

    #[test]
    fn a_challenger_must_beat_the_standing_score_by_the_margin() {
        let standing = name("add_to_cart");
        // 0.23 vs 0.18: +28%, inside the 30% margin: the standing event stays best.
        let c = [
            cand("add_to_cart", 1.0, 0.18, 7.0),
            cand("begin_checkout", 1.0, 0.23, 8.0),
        ];
        let r = recommend(&c, Some(&standing), &params());
        assert_eq!(best(&c, &r), Some("add_to_cart"));
        assert_eq!(r.verdict, Verdict::StandingWithinMargin);
        assert_eq!(r.runner_up, Some(1));
        // 0.24 vs 0.18: +33%: the challenger leads.
        let c = [
            cand("add_to_cart", 1.0, 0.18, 7.0),
            cand("begin_checkout", 1.0, 0.24, 8.0),
        ];
        assert_eq!(
            best(&c, &recommend(&c, Some(&standing), &params())),
            Some("begin_checkout")
        );
    }

    #[test]
    fn excluded_events_never_win() {
        let mut c = [
            cand("add_to_cart", 1.0, 0.18, 7.0),
            cand("sign_up", 1.0, 0.5, 9.0),
        ];
        c[1].exclusion = Some(Exclusion::Flagged(vec![FlagKind::BrokenSurge]));
        assert_eq!(
            best(&c, &recommend(&c, None, &params())),
            Some("add_to_cart")
        );
        c[0].exclusion = Some(Exclusion::NotOptimizable);
        let r = recommend(&c, None, &params());
        assert_eq!((r.best, r.verdict), (None, Verdict::NothingClears));
    }

    #[test]
    fn parameters_are_validated() {
        let p = |x: f64| Probability::new(x).unwrap();
        assert_eq!(
            Params::new(0.9, p(0.8), p(0.3), 0.15),
            Err(ParamError::LiftFloor(0.9))
        );
        assert!(matches!(
            Params::new(1.5, p(0.2), p(0.3), 0.15),
            Err(ParamError::Margin { .. })
        ));
        assert_eq!(
            Params::new(1.5, p(0.8), p(0.3), -1.0),
            Err(ParamError::ScoreMargin(-1.0))
        );
        // The default band never reaches below zero.
        assert_eq!(Params::with_threshold(p(0.2)).standing_cut(), 0.0);
    }
}
