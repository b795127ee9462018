use super::*;
use crate::advise::EventCheck;

fn ev(s: &str) -> Option<EventName> {
    EventName::new(s)
}

fn check(e: &str, clearance: f64) -> EventCheck {
    EventCheck {
        basis: crate::advise::CountBasis::SiteShare,
        event: EventName::new(e).unwrap(),
        per_unit_weekly: 100.0,
        per_unit_window: 100.0,
        clearance,
        clears: clearance >= 0.8,
        excluded: None,
        precision_adjusted: Some(0.2),
        lift_adjusted: Some(7.0),
        lift_adjusted_ci: Some(Interval::new(6.0, 8.0)),
        useful: true,
        score: 0.2 * clearance,
        exclusion: None,
        tracking_suspect_weeks: 0,
    }
}

/// A fresh recommendation whose best is `best`, with view_item's clearance `standing`.
fn rec(best: &str, standing: f64) -> Recommendation {
    Recommendation {
        platform: PlatformId::Meta,
        event: ev(best),
        runner_up: None,
        per_unit_weekly: Some(120.0),
        floor: PlatformId::Meta.profile().floor,
        clearance: Some(1.0),
        reason: "fresh".into(),
        ad_sets: 1,
        attributed_share: 1.0,
        optimizing_on: ev("view_item"),
        change_needed: None,
        unlock: None,
        checks: vec![check("view_item", standing), check(best, 0.99)],
        best: ev(best),
        held: false,
        best_weeks: 1,
        verdict: None,
        lift_floor: 1.5,
        derived_weekly_needed: None,
        warnings: Vec::new(),
        budget: None,
    }
}

fn stored(r: &Recommendation) -> StoredRecommendation {
    StoredRecommendation {
        platform: r.platform,
        event: r.event.clone(),
        best: r.best.clone(),
        best_weeks: r.best_weeks,
        held: r.held,
        clearance: r.clearance,
        per_unit_weekly: r.per_unit_weekly,
        rule: Some(crate::store::StoredRule::of(&r.floor)),
    }
}

/// Hysteresis with the standing event's facts read from the recommendation itself.
fn step(
    r: Recommendation,
    prev: Option<&StoredRecommendation>,
    n: u32,
) -> (Recommendation, RecommendationChange) {
    let facts = prev
        .and_then(|p| p.event.clone())
        .map(|s| standing_facts(&r, &s, &[], 0));
    apply_hysteresis(r, prev, n, facts.as_ref())
}

#[test]
fn a_noisy_week_is_held_and_forgotten_and_a_steady_leader_switches() {
    let (w0, _) = step(rec("view_item", 0.99), None, 3);
    // Week 1: add_to_cart leads once; view_item is held.
    let (w1, c) = step(rec("add_to_cart", 0.99), Some(&stored(&w0)), 3);
    assert_eq!(c.status, RecommendationStatus::Held);
    assert_eq!(w1.event, ev("view_item"));
    assert!(w1
        .reason
        .starts_with("Holding view_item; add_to_cart leads for 1 of 3 weeks"));
    assert_eq!(w1.change_needed, Some(false));
    // Week 2: view_item is best again: kept, and the leader's count starts over.
    let (w2, c) = step(rec("view_item", 0.99), Some(&stored(&w1)), 3);
    assert_eq!(c.status, RecommendationStatus::Kept);
    // Weeks 3-5: add_to_cart leads three weeks in a row: held, held, switched.
    let mut prev = stored(&w2);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (w, c) = step(rec("add_to_cart", 0.99), Some(&prev), 3);
        statuses.push(c.status);
        prev = stored(&w);
    }
    use RecommendationStatus::*;
    assert_eq!(statuses, vec![Held, Held, Switched]);
    assert_eq!(prev.event, ev("add_to_cart"));
}

#[test]
fn a_clearance_dip_is_held_and_a_collapse_replaces_at_once() {
    let (w0, _) = step(rec("view_item", 0.99), None, 2);
    // Below the band (0.2 < 0.5) but not collapsed: the dip goes through hysteresis.
    let (w, c) = step(rec("add_to_cart", 0.2), Some(&stored(&w0)), 2);
    assert_eq!(
        (c.status, w.event.clone()),
        (RecommendationStatus::Held, ev("view_item"))
    );
    // Collapsed (0.1 < 0.2): replaced at once, with the cause.
    let (w, c) = step(rec("add_to_cart", 0.1), Some(&stored(&w0)), 2);
    assert_eq!(c.status, RecommendationStatus::Replaced);
    assert_eq!(c.cause, Some(Cause::VolumeCollapse));
    assert_eq!(w.event, ev("add_to_cart"));
    assert!(
        c.message.contains("no longer clears its floor (clears 10%"),
        "{}",
        c.message
    );
}

#[test]
fn a_tracking_suspect_is_held_with_a_warning() {
    let (w0, _) = step(rec("view_item", 0.99), None, 2);
    let fresh = rec("add_to_cart", 0.0);
    let mut facts = standing_facts(&fresh, &EventName::new("view_item").unwrap(), &[], 1);
    facts.flags = vec![FlagKind::TrackingBreak];
    let (w, c) = apply_hysteresis(fresh.clone(), Some(&stored(&w0)), 2, Some(&facts));
    assert_eq!(c.status, RecommendationStatus::HeldTracking);
    assert_eq!(w.event, ev("view_item"));
    assert!(w.held);
    assert!(
        w.reason
            .starts_with("Holding view_item: it is flagged tracking_break (1 of 2 weeks)"),
        "{}",
        w.reason
    );
    assert_eq!(
        w.warnings,
        vec![Warning::TrackingSuspect {
            event: EventName::new("view_item").unwrap(),
            weeks: 1,
            confirm_weeks: 2
        }]
    );
    // The second flagged week: the break lasts, the standing event is replaced.
    facts.tracking_weeks = 2;
    let (w, c) = apply_hysteresis(fresh, Some(&stored(&w0)), 2, Some(&facts));
    assert_eq!(
        (c.status, c.cause),
        (
            RecommendationStatus::Replaced,
            Some(Cause::LastingTrackingBreak)
        )
    );
    assert_eq!(w.event, ev("add_to_cart"));
}
