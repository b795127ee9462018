//! Stage "hold": hysteresis over the weekly history, so that a recommendation does not switch on
//! noise. Changing the optimization event restarts learning; every reason to leave the standing
//! event goes through the same confirmation as a change of leader, unless the evidence is
//! overwhelming ([`Overrides`]), and a standing event under suspicion of a tracking break is kept
//! (with a warning) rather than abandoned on its damaged counts.
//!
//! With `S` the standing event (last stored week's recommendation) and `B` this week's best,
//! `B` has led `k` consecutive stored weeks. In order:
//! 1. no stored week: `B` (first week); nothing stood: `B` (new); `B = S`: kept;
//! 2. `S` overwhelmingly unusable ([`Cause`]): `B` at once (replaced);
//! 3. `S` under tracking suspicion for fewer than `confirm_weeks` consecutive weeks: `S`, with a
//!    warning (held_tracking); from `confirm_weeks` weeks on, the break is lasting: `B` (replaced);
//! 4. `k ≥ confirm_weeks`: `B` (switched); otherwise `S` (held).

use crate::core::flag::FlagKind;
use crate::types::{EventName, Interval};

/// Thresholds beyond which the evidence against the standing event is overwhelming, so it is
/// replaced without waiting for confirmation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overrides {
    /// `broken_surge` counts as overwhelming when both its tests have p at most this...
    pub surge_p: f64,
    /// ... its volume ratio is at least this ...
    pub surge_volume_ratio: f64,
    /// ... and its precision fell to at most this fraction of the baseline.
    pub surge_precision_ratio: f64,
    /// Clearance below this is a collapse of volume, not a dip.
    pub collapse_clearance: f64,
    /// A lift interval wholly below this (its upper bound) is overwhelming (the lift floor).
    pub lift_floor: f64,
}

impl Default for Overrides {
    /// p ≤ 1e-3 on both one-sided tests (stricter than Bonferroni 0.05 over 7 proxies × 2 drift
    /// tests, 3.6e-3), volume ≥ 2×, precision ≤ ½ of baseline; clearance < 0.2; lift interval
    /// wholly below 1.5.
    fn default() -> Self {
        Overrides {
            surge_p: 1e-3,
            surge_volume_ratio: 2.0,
            surge_precision_ratio: 0.5,
            collapse_clearance: 0.2,
            lift_floor: crate::core::recommend::LIFT_FLOOR,
        }
    }
}

/// The numbers of a `broken_surge` flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Surge {
    /// p-value of the volume test.
    pub volume_p: f64,
    /// p-value of the precision test.
    pub precision_p: f64,
    /// Recent volume / baseline volume.
    pub volume_ratio: f64,
    /// Recent precision / baseline precision.
    pub precision_ratio: f64,
}

/// What is known about the standing event this week.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StandingFacts {
    /// It is still among the candidates checked.
    pub present: bool,
    /// The platform can optimize on it and counts it.
    pub usable_on_platform: bool,
    /// Its flags this week.
    pub flags: Vec<FlagKind>,
    /// Its broken_surge numbers, when flagged so.
    pub surge: Option<Surge>,
    /// Its segment-adjusted lift interval (none for purchase).
    pub lift_ci: Option<Interval>,
    /// Its clearance this week.
    pub clearance: f64,
    /// Consecutive stored weeks, this one included, in which it carried `tracking_break`.
    pub tracking_weeks: u32,
}

/// Why the standing event was replaced at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// No longer a candidate.
    NotCandidate,
    /// The platform cannot optimize on it or does not count it.
    NotUsable,
    /// It fires after purchase.
    Leaky,
    /// A sweepstakes-like surge beyond the override thresholds.
    BrokenSurge,
    /// Its whole lift interval is below the lift floor.
    BelowLiftFloor,
    /// Its clearance collapsed below the override threshold.
    VolumeCollapse,
    /// Its tracking break has lasted `confirm_weeks` weeks.
    LastingTrackingBreak,
}

/// How the standing event stands this week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandingState {
    /// Nothing overwhelming (it may still be flagged or dipped: hysteresis decides).
    Ordinary,
    /// Replace at once.
    Overwhelming(Cause),
    /// Under suspicion of a tracking break for this many consecutive weeks.
    TrackingSuspect(u32),
}

/// Classifies the standing event's facts against the override thresholds.
pub fn classify(f: &StandingFacts, o: &Overrides) -> StandingState {
    use StandingState::*;
    if !f.present {
        return Overwhelming(Cause::NotCandidate);
    }
    if !f.usable_on_platform {
        return Overwhelming(Cause::NotUsable);
    }
    if f.flags.contains(&FlagKind::Leaky) {
        return Overwhelming(Cause::Leaky);
    }
    let surge = f.surge.filter(|s| {
        s.volume_p <= o.surge_p
            && s.precision_p <= o.surge_p
            && s.volume_ratio >= o.surge_volume_ratio
            && s.precision_ratio <= o.surge_precision_ratio
    });
    if f.flags.contains(&FlagKind::BrokenSurge) && surge.is_some() {
        return Overwhelming(Cause::BrokenSurge);
    }
    if f.flags.contains(&FlagKind::TrackingBreak) {
        // Its counts are damaged: neither its clearance nor its lift can be trusted this week.
        return TrackingSuspect(f.tracking_weeks.max(1));
    }
    if f.lift_ci.is_some_and(|l| l.hi < o.lift_floor) {
        return Overwhelming(Cause::BelowLiftFloor);
    }
    if f.clearance < o.collapse_clearance {
        return Overwhelming(Cause::VolumeCollapse);
    }
    Ordinary
}

/// The hysteresis state stored for a platform last week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The standing recommendation (what the buyer was told).
    pub event: Option<EventName>,
    /// That week's best before hysteresis.
    pub best: Option<EventName>,
    /// Consecutive weeks that best had led.
    pub best_weeks: u32,
}

/// What hysteresis did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No stored week before this one: this week's best stands.
    FirstWeek,
    /// This week's best is the standing recommendation.
    Kept,
    /// Another event is best, but not yet for `confirm_weeks` weeks: the standing one is held.
    Held,
    /// The standing event is under suspicion of a tracking break: kept, with a warning.
    HeldTracking,
    /// Another event has been best for `confirm_weeks` weeks: it replaces the standing one.
    Switched,
    /// The evidence against the standing event is overwhelming: replaced at once.
    Replaced,
    /// Nothing stood last week (nothing cleared); this week's best is taken at once.
    New,
}

/// The stage's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The recommendation after hysteresis.
    pub event: Option<EventName>,
    /// What happened.
    pub status: Status,
    /// Why it was replaced at once, when it was.
    pub cause: Option<Cause>,
    /// Consecutive stored weeks `best` has led, this one included.
    pub best_weeks: u32,
}

/// Applies hysteresis to this week's `best` given last week's state `prev` and the standing
/// event's `state` (see the module documentation); `confirm_weeks` ≥ 1.
pub fn hold(
    best: Option<&EventName>,
    prev: Option<&Standing>,
    state: StandingState,
    confirm_weeks: u32,
) -> Hold {
    let best_weeks = match prev {
        Some(p) if p.best.as_ref() == best => p.best_weeks.saturating_add(1),
        _ => 1,
    };
    let out = |event: Option<&EventName>, status, cause| Hold {
        event: event.cloned(),
        status,
        cause,
        best_weeks,
    };
    let Some(p) = prev else {
        return out(best, Status::FirstWeek, None);
    };
    let Some(standing) = p.event.as_ref() else {
        return out(best, Status::New, None);
    };
    if best == Some(standing) {
        return out(best, Status::Kept, None);
    }
    match state {
        StandingState::Overwhelming(c) => out(best, Status::Replaced, Some(c)),
        StandingState::TrackingSuspect(w) if w < confirm_weeks.max(1) => {
            out(Some(standing), Status::HeldTracking, None)
        }
        StandingState::TrackingSuspect(_) => {
            out(best, Status::Replaced, Some(Cause::LastingTrackingBreak))
        }
        StandingState::Ordinary if best_weeks >= confirm_weeks => out(best, Status::Switched, None),
        StandingState::Ordinary => out(Some(standing), Status::Held, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> EventName {
        EventName::new(s).unwrap()
    }

    fn facts() -> StandingFacts {
        StandingFacts {
            present: true,
            usable_on_platform: true,
            flags: Vec::new(),
            surge: None,
            lift_ci: Some(Interval::new(6.0, 8.0)),
            clearance: 0.9,
            tracking_weeks: 0,
        }
    }

    fn standing(event: &str, best: &str, k: u32) -> Standing {
        Standing {
            event: Some(ev(event)),
            best: Some(ev(best)),
            best_weeks: k,
        }
    }

    #[test]
    fn a_new_leader_waits_for_confirmation_and_then_switches() {
        let cart = ev("add_to_cart");
        let prev = standing("view_item", "view_item", 3);
        let h = hold(Some(&cart), Some(&prev), StandingState::Ordinary, 2);
        assert_eq!(
            (h.status, h.event.as_ref(), h.best_weeks),
            (Status::Held, Some(&ev("view_item")), 1)
        );
        let prev = standing("view_item", "add_to_cart", 1);
        let h = hold(Some(&cart), Some(&prev), StandingState::Ordinary, 2);
        assert_eq!(
            (h.status, h.event.as_ref(), h.best_weeks),
            (Status::Switched, Some(&cart), 2)
        );
        // Leading "nothing" is confirmed the same way.
        let h = hold(
            None,
            Some(&standing("view_item", "view_item", 3)),
            StandingState::Ordinary,
            2,
        );
        assert_eq!((h.status, h.event), (Status::Held, Some(ev("view_item"))));
    }

    #[test]
    fn first_new_and_kept() {
        let cart = ev("add_to_cart");
        assert_eq!(
            hold(Some(&cart), None, StandingState::Ordinary, 2).status,
            Status::FirstWeek
        );
        let nothing = Standing {
            event: None,
            best: None,
            best_weeks: 4,
        };
        assert_eq!(
            hold(Some(&cart), Some(&nothing), StandingState::Ordinary, 2).status,
            Status::New
        );
        let h = hold(
            Some(&cart),
            Some(&standing("add_to_cart", "add_to_cart", 4)),
            StandingState::Ordinary,
            2,
        );
        assert_eq!((h.status, h.best_weeks), (Status::Kept, 5));
    }

    #[test]
    fn overwhelming_evidence_replaces_at_once() {
        let cart = ev("add_to_cart");
        let prev = standing("sign_up", "sign_up", 5);
        let h = hold(
            Some(&cart),
            Some(&prev),
            StandingState::Overwhelming(Cause::BrokenSurge),
            2,
        );
        assert_eq!(
            (h.status, h.cause, h.event),
            (Status::Replaced, Some(Cause::BrokenSurge), Some(cart))
        );
    }

    #[test]
    fn a_tracking_suspect_is_held_until_the_break_lasts() {
        let cart = ev("add_to_cart");
        let checkout = ev("begin_checkout");
        // Even with the leader confirmed, one week of suspicion holds.
        let prev = standing("add_to_cart", "begin_checkout", 5);
        let h = hold(
            Some(&checkout),
            Some(&prev),
            StandingState::TrackingSuspect(1),
            2,
        );
        assert_eq!(
            (h.status, h.event.as_ref()),
            (Status::HeldTracking, Some(&cart))
        );
        let h = hold(
            Some(&checkout),
            Some(&prev),
            StandingState::TrackingSuspect(2),
            2,
        );
        assert_eq!(
            (h.status, h.cause),
            (Status::Replaced, Some(Cause::LastingTrackingBreak))
        );
    }

    #[test]
    fn classify_applies_each_override_and_nothing_else() {
        let o = Overrides::default();
        assert_eq!(classify(&facts(), &o), StandingState::Ordinary);
        let with = |f: fn(&mut StandingFacts)| {
            let mut x = facts();
            f(&mut x);
            classify(&x, &o)
        };
        use StandingState::*;
        assert_eq!(
            with(|f| f.present = false),
            Overwhelming(Cause::NotCandidate)
        );
        assert_eq!(
            with(|f| f.usable_on_platform = false),
            Overwhelming(Cause::NotUsable)
        );
        assert_eq!(
            with(|f| f.flags = vec![FlagKind::Leaky]),
            Overwhelming(Cause::Leaky)
        );
        let strong = Surge {
            volume_p: 1e-9,
            precision_p: 1e-9,
            volume_ratio: 5.0,
            precision_ratio: 0.1,
        };
        assert_eq!(
            with(|f| {
                f.flags = vec![FlagKind::BrokenSurge];
                f.surge = Some(Surge {
                    volume_p: 1e-9,
                    precision_p: 1e-9,
                    volume_ratio: 5.0,
                    precision_ratio: 0.1,
                });
            }),
            Overwhelming(Cause::BrokenSurge)
        );
        assert!(strong.volume_ratio > o.surge_volume_ratio);
        // A marginal surge (p 0.01, precision 47% → 45%) goes through hysteresis.
        assert_eq!(
            with(|f| {
                f.flags = vec![FlagKind::BrokenSurge];
                f.surge = Some(Surge {
                    volume_p: 0.01,
                    precision_p: 0.02,
                    volume_ratio: 1.3,
                    precision_ratio: 0.96,
                });
            }),
            Ordinary
        );
        assert_eq!(with(|f| f.flags = vec![FlagKind::NotPredictive]), Ordinary);
        assert_eq!(
            with(|f| f.lift_ci = Some(Interval::new(0.9, 1.4))),
            Overwhelming(Cause::BelowLiftFloor)
        );
        assert_eq!(
            with(|f| f.lift_ci = Some(Interval::new(1.2, 1.6))),
            Ordinary
        );
        assert_eq!(
            with(|f| f.clearance = 0.1),
            Overwhelming(Cause::VolumeCollapse)
        );
        assert_eq!(with(|f| f.clearance = 0.4), Ordinary);
        // A tracking break is suspicion, and wins over what its damaged counts say.
        assert_eq!(
            with(|f| {
                f.flags = vec![FlagKind::TrackingBreak];
                f.clearance = 0.0;
                f.tracking_weeks = 1;
            }),
            TrackingSuspect(1)
        );
    }
}
