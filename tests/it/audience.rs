//! `optsignal audience` and the report's audience comparisons on the demo store, through the
//! real binary. An audience "add_to_cart" against "all" is the proxy's own 2×2 table, so its
//! size, density and density ratio must equal the scorecard's a + b, precision, lift and lift
//! interval (interval.rs's multinomial delta method, itself checked by hand and against
//! statsmodels) — computed here by a different route (stats/cluster.rs's overlap sandwich).

use crate::util;

use serde_json::Value;
use util::*;

fn cfg() -> String {
    fixture("demo/optsignal.toml").display().to_string()
}

fn run(args: &[&str]) -> std::process::Output {
    optsignal()
        .args(["audience", "-c", &cfg()])
        .args(args)
        .output()
        .expect("runs")
}

fn json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let out = run(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[track_caller]
fn close(a: &Value, b: &Value, what: &str) {
    let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
    assert!(
        (x - y).abs() <= 1e-9 * y.abs().max(1.0),
        "{what}: {x} vs {y}"
    );
}

#[test]
fn an_event_against_all_visitors_is_the_scorecards_precision_and_lift() {
    let report = recommend_json(&["--config", &cfg()]);
    let c = json(&["--a", "add_to_cart", "--b", "all"]);
    let p = report["proxies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["event"] == "add_to_cart")
        .unwrap();
    let size = p["a"].as_u64().unwrap() + p["b"].as_u64().unwrap();
    assert_eq!(c["a"]["units"].as_u64().unwrap(), size);
    assert_eq!(c["a"]["purchasers"], p["a"]);
    assert_eq!(c["overlap"].as_u64().unwrap(), size);
    close(&c["a"]["density"], &p["precision"], "precision");
    close(&c["ratio"], &p["lift"], "lift");
    // The audience's interval treats units as independent (an arbitrary definition has no
    // per-user sums); the scorecard's is the same interval with its log-scale variance times the
    // lift's user-clustered design effect (docs/definitions.md, "User-clustered intervals").
    let k = p["design_effect"]["lift"].as_f64().unwrap().max(1.0).sqrt();
    let mid = p["lift"].as_f64().unwrap().ln();
    let widened = |x: &Value| serde_json::json!((mid + (x.as_f64().unwrap().ln() - mid) * k).exp());
    assert!(
        k > 1.0,
        "add_to_cart's lift design effect: {}",
        p["design_effect"]
    );
    close(&widened(&c["ratio_ci"][0]), &p["lift_ci"][0], "lift lo");
    close(&widened(&c["ratio_ci"][1]), &p["lift_ci"][1], "lift hi");
    close(&c["base_rate"], &p["base_rate"], "base rate");
}

#[test]
fn wishlist_against_newsletter_only_in_the_command_and_the_report() {
    let only = "sign_up & not add_to_wishlist & not add_to_cart";
    let c = json(&["--a", "add_to_wishlist", "--b", only]);
    assert_eq!(c["overlap"], 0);
    assert!(c["a"]["density"].as_f64().unwrap() > c["b"]["density"].as_f64().unwrap());
    assert!(c["p_value"].as_f64().unwrap() < 0.001);
    let report = recommend_json(&["--config", &cfg()]);
    let listed = report["seeds"]["comparisons"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1], c);
    assert_eq!(listed[0]["a"]["label"], report["seeds"]["retargeting"][0]);
    assert_eq!(listed[0]["b"]["label"], report["seeds"]["retargeting"][1]);
    let text = String::from_utf8(run(&["--a", "add_to_wishlist", "--b", only]).stdout).unwrap();
    assert!(
        text.contains("AUDIENCES  add_to_wishlist vs sign_up & not add_to_wishlist"),
        "{text}"
    );
    assert!(text.contains("overlap 0 sessions"), "{text}");
    let out = optsignal()
        .args(["recommend", "-c", &cfg()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("  compared: add_to_wishlist vs sign_up & not"),
        "{text}"
    );
}

#[test]
fn an_unknown_event_names_the_candidates_key() {
    let out = run(&["--a", "add_to_basket"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("add_to_basket") && err.contains("analysis.candidates"),
        "{err}"
    );
}
