//! The leakage guard across sessions: a thank-you page that fires in a session of its own, after
//! the order recorded in the checkout session, is no feature of that session and is flagged
//! `leaky` (docs/definitions.md, Features and label).

use crate::util;

use std::fmt::Write as _;

use util::*;

/// A store of four weeks: 60 buyers who check out in one session while the payment provider's
/// redirect opens a second session 20 s before the order is recorded, whose `view_receipt` fires
/// 5 s after it; 300 visitors who view and leave. Returns the CSV text.
fn thank_you_store() -> String {
    let mut csv = String::from("timestamp,user_id,session_id,event_name,device,channel\n");
    // Monday 2026-09-07 00:00 UTC.
    let t0: i64 = 1_788_739_200;
    let row = |csv: &mut String, t: i64, user: &str, session: &str, event: &str| {
        let _ = writeln!(csv, "{t},{user},{session},{event},mobile,organic");
    };
    let mut rows: Vec<(i64, String, String, &str)> = Vec::new();
    for i in 0..60i64 {
        let t = t0 + i * 40_000;
        let (u, s1, s2) = (format!("b{i}"), format!("b{i}a"), format!("b{i}b"));
        rows.push((t, u.clone(), s1.clone(), "view_item"));
        rows.push((t + 60, u.clone(), s1.clone(), "add_to_cart"));
        rows.push((t + 280, u.clone(), s2.clone(), "session_start"));
        rows.push((t + 300, u.clone(), s1, "purchase"));
        rows.push((t + 305, u, s2, "view_receipt"));
    }
    for i in 0..300i64 {
        let t = t0 + 3_000 + i * 8_000;
        let (u, s) = (format!("v{i}"), format!("v{i}a"));
        rows.push((t, u.clone(), s.clone(), "view_item"));
        if i % 10 == 0 {
            rows.push((t + 30, u, s, "add_to_cart"));
        }
    }
    rows.sort_by_key(|r| r.0);
    for (t, u, s, e) in &rows {
        row(&mut csv, *t, u, s, e);
    }
    csv
}

#[test]
fn a_thank_you_page_in_a_session_of_its_own_is_no_feature_and_is_flagged_leaky() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.csv");
    std::fs::write(&log, thank_you_store()).unwrap();
    let r = recommend_json(&[
        "--events",
        log.to_str().unwrap(),
        "--candidates",
        "view_item,add_to_cart,view_receipt",
        "--platform",
        "meta",
        "--ad-sets",
        "1",
        "--share",
        "1",
    ]);
    let receipt = proxy(&r, "view_receipt");
    // Each redirect session is labelled 1 (the order falls in its window), but its view_receipt
    // follows the order: no feature anywhere, and every purchasing session fired it only after.
    assert_eq!(receipt["a"], 0, "{receipt}");
    assert_eq!(receipt["b"], 0, "{receipt}");
    assert_eq!(receipt["ordering"]["after_purchase_only"], 60, "{receipt}");
    assert_eq!(receipt["ordering"]["before_purchase"], 0, "{receipt}");
    let kinds: Vec<&str> = receipt["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"leaky"), "{kinds:?}");
    // add_to_cart precedes the order in the checkout session: a feature of every buying session.
    // Label rates count the weeks whose labels are complete (docs/definitions.md, "Measured
    // weeks"): the log ends in its fourth week, so W37–W39, t < 3 × 604,800 s after t0: buyers
    // i ≤ 45 (46 of them) and visitors i ≤ 226, of whom i = 0, 10, …, 220 (23) add to cart.
    let cart = proxy(&r, "add_to_cart");
    assert_eq!(
        r["input"]["measured_weeks"],
        serde_json::json!(["2026-W37", "2026-W38", "2026-W39"])
    );
    assert_eq!(cart["a"], 46, "{cart}");
    assert_eq!(cart["b"], 23, "{cart}");
}
