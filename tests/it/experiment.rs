//! `optsignal experiment` through the real binary on the simulated A/B tests in
//! fixtures/experiment/, against statsmodels' figures in fixtures/reference/experiment_*.json
//! (scripts/reference_experiment.py).

use crate::util;

use serde_json::Value;
use util::*;

fn reference(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("reference/{name}"))).expect("reference");
    serde_json::from_str(&text).expect("reference JSON")
}

fn cfg() -> String {
    fixture("experiment/optsignal.toml").display().to_string()
}

const DATES: [&str; 4] = ["--from", "2026-10-05", "--to", "2026-10-18"];

fn run(extra: &[&str]) -> std::process::Output {
    optsignal()
        .args(["experiment", "-c", &cfg()])
        .args(DATES)
        .args(extra)
        .output()
        .expect("runs")
}

fn json(extra: &[&str]) -> Value {
    let mut args = extra.to_vec();
    args.extend(["--format", "json", "--min-segment-users", "100"]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[track_caller]
fn close(got: &Value, want: &Value, tol: f64, what: &str) {
    let (g, w) = (got.as_f64().expect(what), want.as_f64().expect(what));
    assert!(
        (g - w).abs() <= tol * w.abs().max(1e-3),
        "{what}: {g} vs statsmodels {w}"
    );
}

#[track_caller]
fn close_pair(got: &Value, want: &Value, tol: f64, what: &str) {
    close(&got[0], &want[0], tol, what);
    close(&got[1], &want[1], tol, what);
}

fn metric<'a>(list: &'a Value, event: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|m| m["event"] == event)
        .unwrap_or_else(|| panic!("no {event}"))
}

#[test]
fn a_cart_only_lift_matches_statsmodels_and_reads_as_interest_without_resolution() {
    let want = reference("experiment_ab.json");
    let got = json(&["--variant-column", "variant"]);
    let r = &got["readout"];
    assert_eq!(
        got["assignment"]["crossover_users"],
        want["crossover_users"]
    );
    for v in r["variants"].as_array().unwrap() {
        let w = &want["variants"][v["name"].as_str().unwrap()];
        assert_eq!(v["users"], w["users"]);
        assert_eq!(v["units"], w["units"]);
        for (event, wm) in w["metrics"].as_object().unwrap() {
            let m = metric(&v["metrics"], event);
            assert_eq!(m["units_with"], wm["units_with"], "{event}");
            close(&m["rate"], &wm["rate"], 1e-9, event);
            close_pair(&m["ci"], &wm["ci"], 1e-7, event);
        }
    }
    let c = &r["comparisons"][0];
    assert_eq!(
        c["segments_used"].as_array().unwrap().len() as u64,
        want["segments_used"]
    );
    assert_eq!(
        c["segments_pooled"].as_array().unwrap().len() as u64,
        want["segments_pooled"]
    );
    assert!(
        want["segments_pooled"].as_u64().unwrap() > 0,
        "pooling not exercised"
    );
    for (event, w) in want["comparison"].as_object().unwrap() {
        let m = metric(&c["metrics"], event);
        for key in [
            "control_rate",
            "treatment_rate",
            "difference",
            "se",
            "p_value",
            "relative",
        ] {
            close(&m[key], &w[key], 1e-7, &format!("{event}.{key}"));
        }
        close_pair(&m["ci"], &w["ci"], 1e-7, event);
        close_pair(&m["relative_ci"], &w["relative_ci"], 1e-7, event);
        if let Some(h) = w.get("p_holm") {
            close(&m["p_holm"], h, 1e-7, event);
        }
    }
    close(&r["srm"]["chi2"], &want["srm"]["chi2"], 1e-9, "chi2");
    close(&r["srm"]["p_value"], &want["srm"]["p_value"], 1e-7, "srm p");
    assert_eq!(r["srm"]["mismatch"], false);
    close(
        &c["macro_power"]["power"],
        &want["macro_power"]["power"],
        1e-7,
        "power",
    );
    close(
        &c["macro_power"]["detectable_at_80"],
        &want["macro_power"]["detectable_at_80"],
        1e-5,
        "detectable",
    );
    assert_eq!(c["micro"], "up");
    assert_eq!(c["macro_outcome"], "flat");
    assert_eq!(c["verdict"], "interest_without_resolution");
}

#[test]
fn a_mapping_file_gives_the_same_readout_as_the_log_column() {
    let file = fixture("experiment/variants.csv").display().to_string();
    let by_file = json(&["--variants", &file]);
    let by_column = json(&["--variant-column", "variant"]);
    assert_eq!(by_file["readout"], by_column["readout"]);
    assert_eq!(by_file["assignment"]["crossover_users"], 4);
}

#[test]
fn the_text_and_markdown_say_it_in_words() {
    let out = run(&["--variant-column", "variant"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("VERDICT: treatment lifts add_to_cart +23% [+14%, +32%] but not purchase −2.3% [−15%, +12%]: interest without resolving the final objection."),
        "{text}"
    );
    assert!(
        text.contains("power reached on purchase: 31% to detect +10%"),
        "{text}"
    );
    assert!(
        text.contains("sample ratio:") && text.contains("— ok"),
        "{text}"
    );
    let out = run(&["--variant-column", "variant", "--format", "md"]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.contains("**Verdict:** treatment lifts add_to_cart"),
        "{md}"
    );
    assert!(md.contains("| add_to_cart (micro) |"), "{md}");
}

#[test]
fn a_sample_ratio_mismatch_is_caught() {
    let want = reference("experiment_srm.json");
    let log = fixture("experiment/srm.csv.gz").display().to_string();
    let got = json(&["--variant-column", "variant", "-e", &log]);
    let s = &got["readout"]["srm"];
    assert_eq!(s["users"], want["users"]);
    close(&s["chi2"], &want["chi2"], 1e-9, "chi2");
    close(&s["p_value"], &want["p_value"], 1e-6, "p");
    assert_eq!(s["mismatch"], true);
    assert_eq!(
        got["readout"]["comparisons"][0]["verdict"],
        "sample_ratio_mismatch"
    );
    let out = run(&["--variant-column", "variant", "-e", &log]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("MISMATCH (p < 0.001)"), "{text}");
}

#[test]
fn bad_arguments_name_what_is_wrong() {
    let out = run(&["--variant-column", "variant", "--control", "B"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--control") && err.contains("control, treatment"),
        "{err}"
    );
    let out = run(&["--variant-column", "variant", "--split", "50,30,20"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--split"));
    let out = run(&["--variant-column", "arm"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no column \"arm\"") && err.contains("ab_cart_only.csv.gz"),
        "{err}"
    );
    let out = run(&["--variant-column", "variant", "--micro", "add_to_wishlist"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add_to_wishlist never fired"));
}
