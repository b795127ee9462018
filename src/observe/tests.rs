use super::*;

fn spec(unit: UnitKind) -> ObserveSpec {
    ObserveSpec {
        unit,
        candidates: ["add_to_cart", "sign_up"]
            .iter()
            .map(|s| EventName::new(s).unwrap())
            .collect(),
        purchase: EventName::new("purchase").unwrap(),
        label_window_days: 7,
        session_gap_minutes: 30,
        time_zone: TimeZone::UTC,
        lateness_minutes: 60,
        coverage: CoverageParams::default(),
        discover: None,
        derived: Vec::new(),
    }
}

fn ev<'a>(
    seq: u64,
    t_min: i64,
    user: &'a str,
    session: Option<&'a str>,
    name: &'a str,
) -> Event<'a> {
    Event {
        line: seq + 2,
        seq,
        micros: 1_788_739_200_000_000 + t_min * MINUTE_US, // 2026-09-07T00:00Z, a Monday
        user,
        session,
        name,
        device: Some("mobile"),
        channel: None,
        value: None,
    }
}

#[test]
fn leakage_guard_and_label_window() {
    let mut b = ObservationBuilder::new(spec(UnitKind::Session));
    // s1: purchase, then sign_up after it (must not be a feature); cart before it.
    for (i, e) in [
        ev(0, 0, "u1", Some("s1"), "add_to_cart"),
        ev(1, 1, "u1", Some("s1"), "purchase"),
        ev(2, 2, "u1", Some("s1"), "sign_up"),
        // s2: cart, no purchase in-session, but u2 buys 3 days later in s3 → label 1.
        ev(3, 10, "u2", Some("s2"), "add_to_cart"),
        ev(4, 3 * 24 * 60, "u2", Some("s3"), "purchase"),
        // s4: u3 buys 8 days later → outside the window → label 0.
        ev(5, 20, "u3", Some("s4"), "add_to_cart"),
        ev(6, 8 * 24 * 60 + 20, "u3", Some("s5"), "purchase"),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(b.push(e), Ok(()), "event {i}");
    }
    let o = b.finish();
    assert_eq!(o.units, 5);
    // add_to_cart: s1 (y=1), s2 (y=1), s4 (y=0); the rest without: s3 (y=1), s5 (y=1).
    assert_eq!(o.table(0, |_| true), [2, 1, 2, 0]);
    // sign_up fired only after purchase → never a feature, counted as after-only.
    assert_eq!(o.table(1, |_| true), [0, 0, 4, 1]);
    assert_eq!(o.ordering[1].after_purchase_only, 1);
    // Purchasing units: s1 (its own purchase) and s2 (label 1: u2 buys in s3).
    assert_eq!(o.ordering[0].before_purchase, 2);
    assert_eq!(o.devices, vec!["(unknown)", "mobile"]);
    assert!(o.channels.is_empty());
    // Every unit takes the device of its first event (index 1 = "mobile"), none "(unknown)".
    assert!(o.patterns.iter().all(|p| p.device == 1), "{:?}", o.patterns);
}

#[test]
fn an_event_after_the_purchase_in_another_session_is_no_feature() {
    let mut b = ObservationBuilder::new(spec(UnitKind::Session));
    for e in [
        // u1 checks out in s1 and buys at minute 5; the payment provider's redirect opened
        // s2 at minute 4, whose thank-you page (here sign_up) fires after the purchase.
        ev(0, 0, "u1", Some("s1"), "add_to_cart"),
        ev(1, 4, "u1", Some("s2"), "page_view"),
        ev(2, 5, "u1", Some("s1"), "purchase"),
        ev(3, 6, "u1", Some("s2"), "sign_up"),
        // u2: sign_up in a session of its own, before a purchase two days later.
        ev(4, 10, "u2", Some("s3"), "sign_up"),
        ev(5, 2 * 24 * 60, "u2", Some("s4"), "purchase"),
        // u3: sign_up, never buys.
        ev(6, 20, "u3", Some("s5"), "sign_up"),
    ] {
        b.push(&e).unwrap();
    }
    let o = b.finish();
    assert_eq!(o.units, 5);
    // s2 is labelled 1 (the purchase falls inside its window) but its sign_up follows the
    // purchase: no feature. Features: s3 (y=1), s5 (y=0).
    assert_eq!(o.table(1, |_| true), [1, 1, 3, 0]);
    // Among purchasing units, s2 fired sign_up only after the purchase; s3 before it.
    assert_eq!(o.ordering[1].after_purchase_only, 1);
    assert_eq!(o.ordering[1].before_purchase, 1);
    // add_to_cart in s1 precedes the purchase.
    assert_eq!(o.table(0, |_| true), [1, 0, 3, 1]);
}

#[test]
fn fired_masks_count_events_after_purchase_and_values_follow_the_label() {
    let mut b = ObservationBuilder::new(spec(UnitKind::Session));
    b.track_also(&[
        EventName::new("view_item").unwrap(),
        EventName::new("add_to_cart").unwrap(), // already a candidate: ignored
    ]);
    let mut buy = ev(2, 2, "u1", Some("s1"), "purchase");
    buy.value = Some(40.0);
    for e in [
        ev(0, 0, "u1", Some("s1"), "view_item"),
        ev(1, 1, "u1", Some("s1"), "add_to_cart"),
        buy,
        ev(3, 3, "u1", Some("s1"), "sign_up"), // after the purchase: fired, not a feature
        ev(4, 10, "u2", Some("s2"), "view_item"),
    ] {
        b.push(&e).unwrap();
    }
    let o = b.finish();
    let names: Vec<&str> = o.tracked().iter().map(|e| e.as_str()).collect();
    assert_eq!(names, ["add_to_cart", "sign_up", "purchase", "view_item"]);
    let view = o.fired_bit(&EventName::new("view_item").unwrap()).unwrap();
    assert_eq!(view, 3);
    let masks: Vec<(u64, u64)> = o.fired.iter().map(|g| (g.mask, g.units)).collect();
    assert_eq!(masks, [(0b1000, 1), (0b1111, 1)]);
    // s1 bought (label 1) with add_to_cart as its only feature; its order was 40.
    assert_eq!(o.values.len(), 1);
    assert_eq!((o.values[0].mask, o.values[0].valued), (0b01, 1));
    assert_eq!((o.values[0].sum, o.values[0].sum_sq), (40.0, 1600.0));
}

#[test]
fn sessions_are_cut_at_thirty_minutes_without_ids() {
    let mut b = ObservationBuilder::new(spec(UnitKind::Session));
    for e in [
        ev(0, 0, "u1", None, "add_to_cart"),
        ev(1, 29, "u1", None, "view_item"),
        ev(2, 58, "u1", None, "purchase"), // 29 min after the last: same session
        ev(3, 100, "u1", None, "view_item"), // 42 min gap: new session
    ] {
        b.push(&e).unwrap();
    }
    assert_eq!(
        b.push(&ev(4, -60, "u1", None, "view_item")),
        Err(SkipReason::OutOfOrder)
    );
    let o = b.finish();
    assert_eq!(o.units, 2);
    assert!(o.sessions_inferred);
    assert_eq!(o.table(0, |_| true), [1, 0, 0, 1]);
    assert_eq!(o.other_events["view_item"], 2);
}

#[test]
fn ties_are_broken_by_file_order() {
    let mut b = ObservationBuilder::new(spec(UnitKind::Session));
    b.push(&ev(0, 0, "u1", Some("s"), "purchase")).unwrap();
    b.push(&ev(1, 0, "u1", Some("s"), "add_to_cart")).unwrap();
    let o = b.finish();
    assert_eq!(o.table(0, |_| true), [0, 0, 1, 0]);
}

#[test]
fn user_units_only_count_features_inside_the_window() {
    let mut b = ObservationBuilder::new(spec(UnitKind::User));
    b.push(&ev(0, 0, "u1", None, "view_item")).unwrap();
    b.push(&ev(1, 9 * 24 * 60, "u1", None, "add_to_cart"))
        .unwrap();
    b.push(&ev(2, 0, "u2", None, "add_to_cart")).unwrap();
    let o = b.finish();
    assert_eq!(o.units, 2);
    assert_eq!(o.table(0, |_| true), [0, 1, 0, 1]);
    assert_eq!(o.weeks.len(), 2);
    assert_eq!(o.weeks[0].week.to_string(), "2026-W37");
    // Unit volumes belong to the week the unit started: u1 started in W37 and carted in W38.
    assert_eq!(
        o.weeks[0].candidates[0],
        Volume {
            events: 1,
            units: 2,
            users: 1
        }
    );
}

/// A comparable form of observations: segment indices replaced by names (levels are numbered
/// in order of first appearance, which shuffling changes).
fn normalized(o: &Observations) -> String {
    let dev = |i: u16| o.devices.get(i as usize).cloned().unwrap_or_default();
    let ch = |i: u16| o.channels.get(i as usize).cloned().unwrap_or_default();
    let mut pats: Vec<_> = o
        .patterns
        .iter()
        .map(|p| {
            (
                p.week,
                dev(p.device),
                ch(p.channel),
                p.mask,
                p.units,
                p.purchasers,
            )
        })
        .collect();
    pats.sort();
    let mut fired: Vec<_> = o
        .fired
        .iter()
        .map(|g| (g.week, dev(g.device), ch(g.channel), g.mask, g.units))
        .collect();
    fired.sort();
    format!(
        "{pats:?}\n{fired:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{} {} {} {:?}",
        o.weeks,
        o.values,
        o.ordering,
        o.other_events,
        o.units,
        o.users,
        o.censored_units,
        o.span_micros
    )
}

/// (time in thousandths of a minute, user, session, event, device, channel, value).
type Row = (
    i64,
    String,
    Option<String>,
    &'static str,
    &'static str,
    &'static str,
    Option<f64>,
);

/// A time-ordered synthetic log over five weeks: users with several sessions, purchases with
/// whole-number values (so sums are exact in any order), two devices and channels.
fn synthetic(with_sessions: bool) -> Vec<Row> {
    let names = ["view_item", "add_to_cart", "sign_up", "purchase", "scroll"];
    let mut rng = 12345u64;
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as i64
    };
    let mut rows = Vec::new();
    for sess in 0..600i64 {
        let user = next() % 150;
        // Session starts spread over 5 weeks, each a few events minutes apart.
        let start = sess * 5 * 7 * 24 * 60 / 600 + next() % 600;
        let device = if next() % 3 == 0 { "desktop" } else { "mobile" };
        let channel = if next() % 2 == 0 {
            "email"
        } else {
            "paid_social"
        };
        for e in 0..(1 + next() % 6) {
            let name = names[(next() % 5) as usize];
            let value = (name == "purchase").then(|| (10 + next() % 90) as f64);
            // Distinct minutes: ties would be broken by file order, which shuffling changes.
            let t = (start + e * 3) * 1000 + sess;
            rows.push((
                t,
                format!("u{user}"),
                with_sessions.then(|| format!("s{sess}")),
                name,
                device,
                channel,
                value,
            ));
        }
    }
    rows.sort_by_key(|r| r.0);
    rows
}

fn observe_rows(rows: &[Row], lateness_minutes: u32) -> (Observations, StreamStats) {
    let mut sp = spec(UnitKind::Session);
    sp.lateness_minutes = lateness_minutes;
    let mut b = ObservationBuilder::new(sp);
    b.track_also(&[EventName::new("view_item").unwrap()]);
    for (seq, r) in rows.iter().enumerate() {
        let e = Event {
            line: seq as u64 + 2,
            seq: seq as u64,
            // r.0 is in thousandths of a minute.
            micros: 1_788_739_200_000_000 + r.0 * MINUTE_US / 1000,
            user: &r.1,
            session: r.2.as_deref(),
            name: r.3,
            device: Some(r.4),
            channel: Some(r.5),
            value: r.6,
        };
        b.push(&e).unwrap();
    }
    let stats = b.stream_stats();
    (b.finish(), stats)
}

#[test]
fn a_log_shuffled_within_the_lateness_gives_identical_observations() {
    for with_sessions in [true, false] {
        let rows = synthetic(with_sessions);
        // Keeping every unit to the end (today's unbounded reading) is the reference.
        let (all, all_stats) = observe_rows(&rows, u32::MAX / 2);
        let (ordered, stats) = observe_rows(&rows, 60);
        assert!(
            stats.peak_open_units < all.units / 2,
            "{stats:?} of {}",
            all.units
        );
        assert_eq!(all_stats.peak_open_units, all.units);
        assert_eq!(normalized(&ordered), normalized(&all));
        if !with_sessions {
            // Inferred sessions are cut in arrival order by definition: no shuffle test.
            continue;
        }
        // Shuffle: sort by time plus a jitter of up to 50 minutes (within the 60 allowed).
        let mut shuffled = rows.clone();
        let mut rng = 99u64;
        let mut keyed: Vec<(i64, usize)> = shuffled
            .iter()
            .enumerate()
            .map(|(i, r)| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                (r.0 + ((rng >> 33) % 50_000) as i64, i)
            })
            .collect();
        keyed.sort();
        shuffled = keyed.iter().map(|&(_, i)| rows[i].clone()).collect();
        assert_ne!(shuffled, rows);
        let (mixed, mixed_stats) = observe_rows(&shuffled, 60);
        assert_eq!(mixed_stats.late_events, 0);
        assert_eq!(mixed_stats.unordered_from_line, None);
        assert!(mixed_stats.peak_open_units < all.units / 2);
        assert_eq!(normalized(&mixed), normalized(&all));
    }
}

#[test]
fn shared_and_reused_session_ids_survive_the_folding_of_their_sessions() {
    let mut sp = spec(UnitKind::Session);
    sp.lateness_minutes = 60;
    let mut b = ObservationBuilder::new(sp);
    // Two users share session id "s": two units.
    b.push(&ev(0, 0, "u1", Some("s"), "add_to_cart")).unwrap();
    b.push(&ev(1, 1, "u2", Some("s"), "view_item")).unwrap();
    b.push(&ev(2, 2, "u1", Some("s"), "purchase")).unwrap();
    // Thousands of one-event sessions over 40 days: units fold as the watermark moves.
    let ids: Vec<(String, String)> = (0..4000)
        .map(|i| (format!("v{}", i % 700), format!("x{i}")))
        .collect();
    for (i, (user, sid)) in ids.iter().enumerate() {
        let t = 3 + i as i64 * 15;
        b.push(&ev(3 + i as u64, t, user, Some(sid), "add_to_cart"))
            .unwrap();
    }
    // "s" again from u1, long after its session was folded: a new session; and u2 too.
    let t = 3 + 4000 * 15;
    b.push(&ev(5000, t, "u1", Some("s"), "sign_up")).unwrap();
    b.push(&ev(5001, t + 1, "u2", Some("s"), "sign_up"))
        .unwrap();
    b.push(&ev(5002, t + 2, "u1", Some("s"), "add_to_cart"))
        .unwrap();
    assert!(b.stream_stats().peak_open_units < 1000);
    let o = b.finish();
    assert_eq!(o.units, 4000 + 4);
    assert_eq!(o.users, 702);
    // add_to_cart: the 4000, u1's first "s" (which bought), u1's second "s".
    assert_eq!(o.table(0, |_| true), [1, 4001, 0, 2]);
    assert_eq!(o.table(1, |_| true)[1], 2);
}

#[test]
fn events_beyond_the_lateness_are_skipped_and_counted() {
    let mut sp = spec(UnitKind::Session);
    sp.lateness_minutes = 60;
    let mut b = ObservationBuilder::new(sp);
    b.push(&ev(0, 0, "u1", Some("s1"), "add_to_cart")).unwrap();
    // Nine days later: u1's session (window 7 days) is folded and W37 is closed.
    b.push(&ev(1, 9 * 24 * 60, "u2", Some("s2"), "view_item"))
        .unwrap();
    // u1 comes back two hours behind the latest event: beyond the lateness, and u1 is folded.
    let late = ev(2, 9 * 24 * 60 - 120, "u1", Some("s1"), "purchase");
    assert_eq!(b.push(&late), Err(SkipReason::OutOfOrder));
    // Within the lateness: placed.
    b.push(&ev(3, 9 * 24 * 60 - 30, "u1", Some("s3"), "purchase"))
        .unwrap();
    let stats = b.stream_stats();
    assert_eq!(stats.late_events, 1);
    assert_eq!(stats.unordered_from_line, None);
    // A user never seen before may be late without harm: kept, and folding stops.
    b.push(&ev(4, 60, "u9", Some("s9"), "add_to_cart")).unwrap();
    assert_eq!(b.stream_stats().unordered_from_line, Some(6));
    let o = b.finish();
    assert_eq!(o.units, 4);
    assert_eq!(o.weeks[0].purchase.events, 0);
    assert_eq!(o.weeks[1].purchase.events, 1);
}

/// Derived rules read the unit's own events and go through the same leakage guard: a count,
/// value, union, sequence or segment rule is a feature only when met before the purchase, and
/// the result does not depend on the order events arrive in (within the lateness).
#[test]
fn derived_rules_are_met_before_the_purchase_whatever_the_arrival_order() {
    let n = |s: &str| EventName::new(s).unwrap();
    let rule = |name: &str, kind: DerivedKind| DerivedRule {
        name: n(name),
        family: 0,
        kind,
    };
    let mut s = spec(UnitKind::Session);
    s.derived = vec![
        rule(
            "cart_2x",
            DerivedKind::AtLeast {
                event: n("add_to_cart"),
                times: 2,
            },
        ),
        rule(
            "cart_40",
            DerivedKind::ValueAtLeast {
                event: n("add_to_cart"),
                value: 40.0,
            },
        ),
        rule(
            "cart_or_sign",
            DerivedKind::AnyOf {
                events: vec![n("add_to_cart"), n("sign_up")],
            },
        ),
        rule(
            "sign_then_cart",
            DerivedKind::Then {
                first: n("sign_up"),
                then: n("add_to_cart"),
            },
        ),
        rule(
            "cart_desktop",
            DerivedKind::InSegment {
                event: n("add_to_cart"),
                device: Some("desktop".into()),
                channel: None,
            },
        ),
    ];
    let valued = |mut e: Event<'static>, v: f64| {
        e.value = Some(v);
        e
    };
    let events: Vec<Event<'static>> = vec![
        // s1: a cart of 30, a second cart of 50 only after the purchase: cart_2x and cart_40 are
        // met after it (not features); cart_or_sign is met before it.
        valued(ev(0, 0, "u1", Some("s1"), "add_to_cart"), 30.0),
        ev(1, 1, "u1", Some("s1"), "purchase"),
        valued(ev(2, 2, "u1", Some("s1"), "add_to_cart"), 50.0),
        // s2: sign_up, then two carts (the second 45): every rule but the device one, no buy.
        ev(3, 10, "u2", Some("s2"), "sign_up"),
        valued(ev(4, 11, "u2", Some("s2"), "add_to_cart"), 10.0),
        valued(ev(5, 12, "u2", Some("s2"), "add_to_cart"), 45.0),
        // s3: a cart then a sign_up (not sign_then_cart).
        ev(6, 20, "u3", Some("s3"), "add_to_cart"),
        ev(7, 21, "u3", Some("s3"), "sign_up"),
    ];
    let observe = |order: &[usize]| {
        let mut b = ObservationBuilder::new(s.clone());
        for &i in order {
            b.push(&events[i]).unwrap();
        }
        b.finish()
    };
    let o = observe(&[0, 1, 2, 3, 4, 5, 6, 7]);
    let names: Vec<&str> = o.candidates.iter().map(EventName::as_str).collect();
    assert_eq!(
        names,
        [
            "add_to_cart",
            "sign_up",
            "cart_2x",
            "cart_40",
            "cart_or_sign",
            "sign_then_cart",
            "cart_desktop"
        ]
    );
    assert_eq!(o.derived.len(), 5);
    assert_eq!(o.derived[0].candidate, 2);
    let with = |j: usize| {
        let [a, b, _, _] = o.table(j, |_| true);
        (a, b)
    };
    // (units with it as a feature that bought, that did not)
    assert_eq!(with(2), (0, 1)); // cart_2x: s2 only
    assert_eq!(with(3), (0, 1)); // cart_40: s2 only (s1's 50 came after its purchase)
    assert_eq!(with(4), (1, 2)); // cart_or_sign: all three
    assert_eq!(with(5), (0, 1)); // sign_then_cart: s2
    assert_eq!(with(6), (0, 0)); // cart_desktop: every unit is mobile
                                 // A derived event fires once per unit: s1 met cart_2x (after its purchase) and s2 did.
    assert_eq!(o.weeks[0].candidates[2].events, 2);
    assert_eq!(o.weeks[0].candidates[2].units, 2);
    assert_eq!(o.weeks[0].candidates[2].users, 2);
    // Shuffled within the lateness, every count is the same.
    let shuffled = observe(&[2, 0, 5, 3, 1, 7, 4, 6]);
    assert_eq!(shuffled.patterns, o.patterns);
    assert_eq!(shuffled.weeks[0].candidates, o.weeks[0].candidates);
}
