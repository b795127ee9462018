use super::*;
use crate::observe::{ObserveSpec, UnitKind};
use crate::observe::{Volume, WeekVolumes};
use crate::types::{Interval, IsoWeek};
use std::collections::BTreeMap;

fn name(s: &str) -> EventName {
    EventName::new(s).unwrap()
}

/// Four weeks of site volumes, with proxies made eligible by hand (a precision interval, no
/// flag), so only the platform's counts decide.
fn setup(site: &[(&str, u64)]) -> (Observations, Vec<ProxyEvidence>, AnalysisSettings) {
    let spec = ObserveSpec {
        unit: UnitKind::Session,
        candidates: vec![name("add_to_cart"), name("add_payment_info")],
        purchase: name("purchase"),
        label_window_days: 7,
        session_gap_minutes: 30,
        lateness_minutes: 1440,
        coverage: crate::core::coverage::CoverageParams::default(),
        discover: None,
        derived: Vec::new(),
        time_zone: jiff::tz::TimeZone::UTC,
    };
    // What GA4's Data API gives: per week and event, events = sessions = users.
    let volume = |e: &str| {
        let n = site.iter().find(|(s, _)| *s == e).map_or(0, |x| x.1);
        Volume {
            events: n,
            units: n,
            users: n,
        }
    };
    let weeks = (43..=46)
        .map(|w| WeekVolumes {
            week: IsoWeek::new(2026, w).unwrap(),
            complete: true,
            days: 0x7f,
            set_aside: None,
            units: 0,
            users: 0,
            candidates: spec.candidates.iter().map(|c| volume(c.as_str())).collect(),
            purchase: volume("purchase"),
            revenue: 0.0,
        })
        .collect();
    let other = site
        .iter()
        .filter(|(e, _)| !["add_to_cart", "add_payment_info", "purchase"].contains(e))
        .map(|(e, n)| (e.to_string(), n * 4))
        .collect();
    let obs = Observations::from_volumes(&spec, weeks, other, (0, 0));
    let a = AnalysisSettings {
        holdout_weeks: 1,
        confidence: 0.95,
        clearance_threshold: 0.8,
        volume_weeks: 4,
        surge_weeks: 2,
        alpha: 0.05,
        min_units: 30,
        confirm_weeks: 1,
        decision: Params::with_threshold(Probability::clamped(0.8)),
        effects: Default::default(),
    };
    let mut evidence = crate::evidence::measure(&obs, &a);
    // add_payment_info is the stronger signal: it would win wherever it is eligible.
    for (e, lo) in evidence.iter_mut().zip([0.10, 0.40]) {
        e.precision_ci = Some(Interval { lo, hi: lo + 0.1 });
        e.precision = Some(lo + 0.05);
        e.lift = Some(5.0);
        e.lift_ci = Some(Interval { lo: 4.0, hi: 6.0 });
        e.flags.clear();
    }
    (obs, evidence, a)
}

fn google_ads() -> PlatformSettings {
    PlatformSettings {
        profile: PlatformId::GoogleAds.profile(),
        ad_sets: 1,
        attributed_share: 1.0,
        optimizing_on: None,
    }
}

fn reported(counts: &[(&str, f64)]) -> ReportedCounts {
    ReportedCounts {
        platform: PlatformId::GoogleAds,
        units: 1,
        per_unit_weekly: counts
            .iter()
            .map(|(e, n)| (e.to_string(), vec![*n; 4]))
            .collect::<BTreeMap<_, _>>(),
        unreported: "not a conversion action in Google Ads".into(),
        per_unit_weekly_spend: None,
        currency: None,
    }
}

fn check<'a>(r: &'a Recommendation, e: &str) -> &'a EventCheck {
    r.checks.iter().find(|c| c.event.as_str() == e).unwrap()
}

#[test]
fn events_the_platform_does_not_count_are_not_eligible_on_it() {
    let (obs, ev, a) = setup(&[
        ("add_to_cart", 900),
        ("add_payment_info", 400),
        ("purchase", 2),
    ]);
    // Google Ads counts add_to_cart and purchase, but has no add_payment_info action: the
    // site-share estimate (400 a week) would clear and win on precision; it must not.
    let r = &recommend_reported(
        &obs,
        &ev,
        &[google_ads()],
        &a,
        &[reported(&[("add_to_cart", 30.0), ("purchase", 1.0)])],
    )[0];
    assert_eq!(r.event, Some(name("add_to_cart")), "{}", r.reason);
    let api = check(r, "add_payment_info");
    assert_eq!(
        api.excluded.as_deref(),
        Some("not a conversion action in Google Ads")
    );
    assert_eq!(api.basis, CountBasis::SiteShare);
    assert_eq!(check(r, "add_to_cart").basis, CountBasis::PlatformReported);
    assert_eq!(check(r, "add_to_cart").per_unit_weekly, 30.0);
    assert!(check(r, "purchase").excluded.is_none());
    assert!(r.runner_up.is_none());

    // Without platform counts, both are judged on site share and the stronger one wins.
    let r = &recommend_reported(&obs, &ev, &[google_ads()], &a, &[])[0];
    assert_eq!(r.event, Some(name("add_payment_info")));
    assert!(r.checks.iter().all(|c| c.basis == CountBasis::SiteShare));
    // A platform that reports no event at all is the same as no platform counts.
    let r = &recommend_reported(&obs, &ev, &[google_ads()], &a, &[reported(&[])])[0];
    assert_eq!(r.event, Some(name("add_payment_info")));
}

#[test]
fn purchase_without_a_conversion_action_is_not_recommended() {
    // Site purchases alone would clear 15 per 30 days; Google Ads has no purchase action.
    let (obs, ev, a) = setup(&[
        ("add_to_cart", 900),
        ("add_payment_info", 400),
        ("purchase", 60),
    ]);
    let r = &recommend_reported(
        &obs,
        &ev,
        &[google_ads()],
        &a,
        &[reported(&[("add_to_cart", 30.0)])],
    )[0];
    let p = check(r, "purchase");
    assert!(p.clears && p.excluded.is_some());
    assert_eq!(r.event, Some(name("add_to_cart")), "{}", r.reason);
    assert!(
        r.reason
            .starts_with("purchase cannot be optimized on here (not a conversion action"),
        "{}",
        r.reason
    );
    assert!(r.unlock.is_none(), "no unlock towards an excluded purchase");
}

/// Weekly site counts per event (one entry per week, weeks 43-46).
fn weekly_setup(site: &[(&str, [u64; 4])]) -> (Observations, Vec<ProxyEvidence>, AnalysisSettings) {
    let (mut obs, ev, a) = setup(&[("add_to_cart", 1), ("add_payment_info", 1), ("purchase", 1)]);
    for (w, week) in obs.weeks.iter_mut().enumerate() {
        for (e, counts) in site {
            match obs.candidates.iter().position(|c| c.as_str() == *e) {
                Some(j) => {
                    week.candidates[j].events = counts[w];
                    week.candidates[j].units = counts[w];
                }
                None => {
                    week.purchase.events = counts[w];
                    week.purchase.units = counts[w];
                }
            }
        }
    }
    (obs, ev, a)
}

fn flag(kind: crate::flags::FlagKind) -> crate::flags::Flag {
    crate::flags::Flag {
        kind,
        message: String::new(),
        evidence: BTreeMap::new(),
    }
}

#[test]
fn a_tracking_suspect_is_judged_on_its_counts_before_the_break() {
    use crate::flags::FlagKind;
    // add_to_cart loses 80% in the last week; add_payment_info is flagged, so add_to_cart is
    // the only proxy left. Meta, one ad set seeing everything: 50 per 7 days.
    let (obs, mut ev, mut a) = weekly_setup(&[
        ("add_to_cart", [70, 70, 70, 14]),
        ("add_payment_info", [40; 4]),
        ("purchase", [5; 4]),
    ]);
    assert_eq!(damaged_weeks(&obs, 0, 2), 1);
    ev[1].flags = vec![flag(FlagKind::NotPredictive)];
    a.confirm_weeks = 2;
    let meta = PlatformSettings {
        profile: PlatformId::Meta.profile(),
        ad_sets: 1,
        attributed_share: 1.0,
        optimizing_on: None,
    };
    // Unflagged, its damaged counts make it miss the floor.
    let r = &recommend(&obs, &ev, std::slice::from_ref(&meta), &a)[0];
    assert!(check(r, "add_to_cart").clearance < 0.8, "{}", r.reason);
    assert_eq!(r.event, None);
    // Flagged tracking_break (one damaged week of two to confirm): judged on the weeks before
    // the break, kept, with a warning.
    ev[0].flags = vec![flag(FlagKind::TrackingBreak)];
    let r = &recommend(&obs, &ev, std::slice::from_ref(&meta), &a)[0];
    assert_eq!(r.event, Some(name("add_to_cart")), "{}", r.reason);
    let c = check(r, "add_to_cart");
    assert_eq!((c.tracking_suspect_weeks, c.excluded.as_deref()), (1, None));
    assert!(c.clearance > 0.95);
    assert_eq!(
        r.warnings,
        vec![Warning::TrackingSuspect {
            event: name("add_to_cart"),
            weeks: 1,
            confirm_weeks: 2
        }]
    );
    assert!(
        r.reason.contains("add_to_cart is flagged tracking_break"),
        "{}",
        r.reason
    );
    // A break as long as confirm_weeks is lasting: excluded like any flag.
    a.confirm_weeks = 1;
    let r = &recommend(&obs, &ev, std::slice::from_ref(&meta), &a)[0];
    assert_eq!(r.event, None);
    assert_eq!(
        check(r, "add_to_cart").excluded.as_deref(),
        Some("flagged tracking_break")
    );
}
