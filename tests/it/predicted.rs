//! The predicted high-intent signal (issue 15 item 3) through the binary on the intent store
//! (fixtures/predicted, reading fixtures/derived's log): the model, its grid and its held-out
//! calibration against statsmodels on the same data (fixtures/reference/predicted.json, from
//! scripts/reference_predicted.py), the kept point measured like any event on the held-out
//! weeks, set up as a server-only signal, and the raw candidates untouched by it.

use crate::util::*;
use optsignal::demo::{write_intent_store, IntentStore};
use serde_json::Value;

fn report() -> Value {
    recommend_json(&["-c", fixture("predicted/optsignal.toml").to_str().unwrap()])
}

fn reference() -> Value {
    let text = std::fs::read_to_string(fixture("reference/predicted.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(what: &str, a: &Value, b: &Value, tol: f64) {
    let (x, y) = (f(a), f(b));
    assert!(
        (x - y).abs() <= tol * y.abs().max(1.0),
        "{what}: optsignal {x} vs statsmodels {y}"
    );
}

#[test]
fn the_model_its_grid_and_its_held_out_calibration_match_statsmodels() {
    let r = report();
    let (p, s) = (&r["input"]["predicted"], reference());
    let m = &p["model"];
    assert_eq!(m["training_weeks"], s["training_weeks"]);
    assert_eq!(p["calibration"]["weeks"], s["held_out_weeks"]);
    assert_eq!(m["training_units"], s["training_units"]);
    assert_eq!(m["training_purchasers"], s["training_purchasers"]);
    assert_eq!(m["method"], "maximum_likelihood");
    let (terms, want) = (
        m["terms"].as_array().unwrap(),
        s["terms"].as_array().unwrap(),
    );
    assert_eq!(terms.len(), want.len(), "{terms:?}");
    for (t, w) in terms.iter().zip(want) {
        assert_eq!(t["term"], w["term"]);
        close("coefficient", &t["coefficient"], &w["coefficient"], 1e-7);
        close("std error", &t["std_error"], &w["std_error"], 1e-6);
    }
    let (grid, want) = (m["grid"].as_array().unwrap(), s["grid"].as_array().unwrap());
    assert_eq!(grid.len(), want.len());
    assert!(grid.len() >= 5, "the grid keeps most points: {grid:?}");
    for (g, w) in grid.iter().zip(want) {
        assert_eq!(g["name"], w["name"]);
        assert_eq!(g["training_share"], w["training_share"]);
        close("cut", &g["log_odds_cut"], &w["log_odds_cut"], 1e-7);
    }
    let (c, w) = (&p["calibration"], &s["calibration"]);
    assert_eq!(c["units"], w["units"]);
    assert_eq!(c["purchasers"], w["purchasers"]);
    for k in ["expected", "observed_over_expected", "brier", "auc"] {
        close(k, &c[k], &w[k], 1e-9);
    }
    for k in ["intercept", "slope"] {
        close(k, &c[k], &w[k], 1e-6);
    }
    for (pt, wt) in c["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(w["points"].as_array().unwrap())
    {
        assert_eq!(pt["name"], wt["name"]);
        assert_eq!(pt["units"], wt["units"], "{}", pt["name"]);
        assert_eq!(pt["purchasers"], wt["purchasers"], "{}", pt["name"]);
        close("precision", &pt["precision"], &wt["precision"], 1e-12);
        close("mean predicted", &pt["predicted"], &wt["predicted"], 1e-9);
    }
    // Calibrated on weeks it never saw: observed / expected and the slope near 1.
    assert!((f(&c["observed_over_expected"]) - 1.0).abs() < 0.15, "{c}");
    assert!((f(&c["slope"]) - 1.0).abs() < 0.2, "{c}");
}

#[test]
fn the_kept_point_is_measured_on_the_held_out_weeks_and_set_up_server_side() {
    let r = report();
    let meta = rec(&r, "meta");
    let event = meta["event"].as_str().unwrap();
    assert!(event.starts_with("predicted_purchase_top"), "{meta}");
    // It beat every raw and derived contender by the score margin on the decision rule.
    let runner = meta["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["event"] != event && c["clears"] == true && c["useful"] == true)
        .map(|c| f(&c["score"]))
        .fold(0.0, f64::max);
    let own = meta["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["event"] == event)
        .unwrap();
    assert!(f(&own["score"]) > 1.3 * runner, "{own} vs {runner}");
    // Its evidence is the model's held-out figures: the same units, the same purchasers.
    let e = proxy(&r, event);
    let point = r["input"]["predicted"]["calibration"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == event)
        .unwrap()
        .clone();
    let (a, b) = (e["a"].as_u64().unwrap(), e["b"].as_u64().unwrap());
    assert_eq!(a + b, point["units"].as_u64().unwrap());
    assert_eq!(a, point["purchasers"].as_u64().unwrap());
    let kept = r["input"]["derived"]["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["rule"]["name"] == event)
        .unwrap()
        .clone();
    assert_eq!(kept["rule"]["kind"], "predicted");
    assert_eq!(kept["selected_for"], serde_json::json!(["meta"]));
    let setup = r["setup"]["platforms"].as_array().unwrap()[0].clone();
    assert_eq!(setup["event"], event);
    assert_eq!(setup["sending"], "server_only");
    assert_eq!(
        setup["derived"]["model"],
        r["input"]["predicted"]["model"]["model"]
    );
    let notes = r["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("predicted signal: one logistic model")),
        "{notes:?}"
    );
}

#[test]
fn the_raw_and_derived_candidates_are_measured_alike_with_or_without_it() {
    let with = report();
    let out = optsignal()
        .env("OPTSIGNAL_ANALYSIS__PREDICTED__ENABLED", "false")
        .args(["recommend", "--format", "json", "-c"])
        .arg(fixture("predicted/optsignal.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let without: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(without["input"]["predicted"], Value::Null);
    for e in ["view_item", "add_to_cart", "view_item_5x"] {
        let (x, y) = (proxy(&with, e), proxy(&without, e));
        for k in [
            "a",
            "b",
            "c",
            "d",
            "precision",
            "precision_ci",
            "lift_ci",
            "weekly",
            "design_effect",
        ] {
            assert_eq!(x[k], y[k], "{e}.{k}");
        }
    }
    assert_eq!(with["input"]["units"], without["input"]["units"]);
    assert_eq!(with["input"]["rows_read"], without["input"]["rows_read"]);
}

/// Where add_to_cart carries all the signal (views and values are noise), the model rebuilds
/// add_to_cart at best: it never beats it by the margin, so it is never recommended.
#[test]
fn where_one_raw_event_carries_the_signal_the_predicted_one_is_not_recommended() {
    for seed in [1, 2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.csv");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
        write_intent_store(IntentStore::Null, seed, 8, 3_000, &mut out).unwrap();
        drop(out);
        let cfg = dir.path().join("optsignal.toml");
        std::fs::write(
            &cfg,
            "[source]\npath = \"events.csv\"\n[analysis]\ncandidates = [\"view_item\", \"add_to_cart\"]\n\
             [analysis.predicted]\n[[platforms]]\nid = \"meta\"\nad_sets = 1\nattributed_share = 1.0\n",
        )
        .unwrap();
        let r = recommend_json(&["-c", cfg.to_str().unwrap()]);
        assert!(
            r["input"]["predicted"]["model"].is_object(),
            "seed {seed}: fitted"
        );
        assert_eq!(rec(&r, "meta")["event"], "add_to_cart", "seed {seed}");
    }
}

/// `signal export` cannot send the predicted event (no row of the log is one): the destination
/// is skipped and the manifest says why, instead of exporting nothing in silence.
#[test]
fn signal_export_says_the_predicted_event_is_the_servers_to_send() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("optsignal.toml");
    let log = fixture("derived/events.csv.gz");
    let text = std::fs::read_to_string(fixture("predicted/optsignal.toml"))
        .unwrap()
        .replace("../derived/events.csv.gz", log.to_str().unwrap());
    std::fs::write(
        &cfg,
        format!("{text}\n[signal]\ncurrency = \"EUR\"\n[signal.meta]\npixel_id = \"1234567890123456\"\naccess_token_env = \"NOT_SET_HERE\"\n"),
    )
    .unwrap();
    let o = optsignal()
        .args(["signal", "export", "--dry-run", "-c"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let manifest: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &manifest["destinations"][0];
    assert_eq!(meta["event"], Value::Null, "{manifest}");
    let why = meta["skipped_because"].as_str().unwrap();
    assert!(
        why.contains("is the predicted signal") && why.contains("server"),
        "{why}"
    );
}
