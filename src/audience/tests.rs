//! Audiences on a hand-made log, counted by hand.

use super::*;
use crate::event::Event;
use crate::observe::{ObservationBuilder, ObserveSpec};

fn obs() -> Observations {
    let spec = ObserveSpec {
        unit: UnitKind::User,
        candidates: ["add_to_wishlist", "sign_up", "add_to_cart"]
            .iter()
            .filter_map(|e| EventName::new(e))
            .collect(),
        purchase: EventName::new("purchase").unwrap(),
        label_window_days: 7,
        session_gap_minutes: 30,
        time_zone: jiff::tz::TimeZone::UTC,
        lateness_minutes: 1440,
        coverage: crate::core::coverage::CoverageParams::default(),
        discover: None,
        derived: Vec::new(),
    };
    let mut b = ObservationBuilder::new(spec);
    // (user, event, minute, device)
    let rows = [
        ("u1", "add_to_wishlist", 0, "mobile"),
        ("u1", "purchase", 5, "mobile"),
        ("u2", "sign_up", 1, "desktop"),
        ("u3", "sign_up", 2, "mobile"),
        ("u3", "add_to_wishlist", 3, "mobile"),
        ("u4", "view_item", 4, "desktop"),
        ("u5", "sign_up", 6, "mobile"),
        ("u5", "purchase", 7, "mobile"),
        ("u6", "purchase", 8, "desktop"),
        ("u6", "add_to_wishlist", 9, "desktop"), // after the purchase: not a feature
    ];
    let base = 1_790_000_000_000_000i64; // a Monday in 2026, µs
    for (i, (user, name, minute, device)) in rows.iter().enumerate() {
        b.push(&Event {
            line: i as u64 + 2,
            seq: i as u64,
            micros: base + minute * 60_000_000,
            user,
            session: None,
            name,
            device: Some(device),
            channel: Some("email"),
            value: None,
        })
        .unwrap();
    }
    b.finish()
}

#[test]
fn wishlist_against_newsletter_only_counted_by_hand() {
    let o = obs();
    let c = compare_text(&o, "add_to_wishlist", "sign_up & not add_to_wishlist", 0.95).unwrap();
    // Wishlist before any purchase: u1 (bought), u3. Newsletter only: u2, u5 (bought).
    assert_eq!((c.a.units, c.a.purchasers), (2, 1));
    assert_eq!((c.b.units, c.b.purchasers), (2, 1));
    assert_eq!(c.overlap, 0);
    assert_eq!(c.units_total, 6);
    assert_eq!(c.base_rate, Some(0.5));
    assert_eq!(c.a.lift, Some(1.0));
    assert_eq!(c.difference, Some(0.0));
    assert_eq!(c.b.label, "sign_up & not add_to_wishlist");
}

#[test]
fn overlap_segments_and_all() {
    let o = obs();
    let c = compare_text(&o, "sign_up", "add_to_wishlist", 0.95).unwrap();
    assert_eq!(c.overlap, 1); // u3
    assert_eq!(c.jaccard, Some(1.0 / 4.0)); // u1, u2, u3, u5
    let c = compare_text(&o, "-sign_up & device=desktop", "all", 0.95).unwrap();
    assert_eq!((c.a.units, c.a.purchasers), (2, 1)); // u4, u6
    assert_eq!((c.b.units, c.overlap), (6, 2));
    let c = compare_text(&o, "channel=email", "channel=paid_social", 0.95).unwrap();
    assert_eq!((c.a.units, c.b.units), (6, 0));
    assert!(c.difference.is_none() && c.b.density.is_none());
}

#[test]
fn definitions_that_cannot_be_read_are_errors() {
    let o = obs();
    let e = compare_text(&o, "purchase", "all", 0.95).unwrap_err();
    assert!(matches!(e, AudienceError::NotCandidate { .. }), "{e}");
    assert!(e.to_string().contains("analysis.candidates"));
    assert!(AudienceDef::parse("sign_up & & all").is_err());
    assert!(AudienceDef::parse("not a thing").is_err());
    let d = AudienceDef::parse(" sign_up&not add_to_cart ").unwrap();
    assert_eq!(d.label, "sign_up & not add_to_cart");
    assert_eq!(d.terms.len(), 2);
}
