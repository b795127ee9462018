//! Outcomes other than purchase (issue 15 item 5): a qualified lead, a trial start and a first
//! recurring charge as `analysis.purchase_event`, on the lead-gen fixture
//! (fixtures/leadgen/generate.py). The floors and the recommendation treat the outcome exactly
//! as they treat purchase: the same log with the outcome renamed `purchase` gives the same
//! numbers and answers.

use std::io::{Read, Write};

use crate::util::*;
use serde_json::Value;

/// The lead-gen log's lines.
fn leadgen_lines() -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture("leadgen/events.csv.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(str::to_string).collect()
}

/// A config like fixtures/leadgen/optsignal.toml on `events`, with `analysis` lines.
fn config(dir: &std::path::Path, events: &std::path::Path, analysis: &str) -> std::path::PathBuf {
    let path = dir.join("optsignal.toml");
    std::fs::write(
        &path,
        format!(
            "account = \"Lead-gen demo\"\n[source]\npath = {:?}\n[analysis]\n{analysis}\n\
             [[platforms]]\nid = \"meta\"\nad_sets = 1\nattributed_share = 1.0\n\
             [[platforms]]\nid = \"google_ads\"\nad_sets = 1\nattributed_share = 1.0\n",
            events.display().to_string()
        ),
    )
    .unwrap();
    path
}

fn rec<'a>(r: &'a Value, platform: &str) -> &'a Value {
    crate::util::rec(r, platform)
}

/// What the floor check and the recommendation decided, without their wording.
fn decisions(r: &Value) -> Vec<Value> {
    r["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let checks: Vec<Value> = x["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    serde_json::json!([
                        c["event"],
                        c["per_unit_weekly"],
                        c["clearance"],
                        c["clears"],
                        c["useful"],
                        c["score"]
                    ])
                })
                .collect();
            serde_json::json!([
                x["platform"],
                x["event"],
                x["runner_up"],
                x["clearance"],
                x["verdict"],
                checks
            ])
        })
        .collect()
}

#[test]
fn a_qualified_lead_is_an_outcome_like_purchase() {
    let lines = leadgen_lines();
    let outcomes = lines
        .iter()
        .filter(|l| l.contains(",qualify_lead,"))
        .count() as u64;
    let r = recommend_json(&["-c", fixture("leadgen/optsignal.toml").to_str().unwrap()]);
    let weekly: u64 = r["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["purchase"]["events"].as_u64().unwrap())
        .sum();
    assert_eq!(
        weekly, outcomes,
        "every qualify_lead of the log is an outcome event"
    );
    // Meta's floor (50 a week per ad set) is out of reach for qualified leads: the demo
    // request that predicts them is recommended; Google's 15 per 30 days is not.
    assert_eq!(rec(&r, "meta")["event"], "generate_lead");
    assert_eq!(rec(&r, "google_ads")["event"], "qualify_lead");
    let scroll = proxy(&r, "scroll");
    let flag = scroll["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "not_predictive")
        .expect("the random scroll is flagged");
    let message = flag["message"].as_str().unwrap();
    assert!(
        message.contains("qualify_lead") && !message.contains("purchase"),
        "{message}"
    );
    assert!(rec(&r, "meta")["reason"]
        .as_str()
        .unwrap()
        .contains("go on to reach qualify_lead"));
    // The set-up names the platforms' lead events.
    let setup = &r["setup"];
    assert_eq!(setup["outcome"], "qualify_lead");
    let meta = &setup["platforms"][0];
    assert_eq!(meta["destination"]["event_name"], "Lead");
    let google = &setup["platforms"][1];
    assert_eq!(google["destination"]["category"], "CONVERTED_LEAD");
    assert_eq!(google["value"]["kind"], "order_value");
}

#[test]
fn the_outcome_named_purchase_gives_the_same_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("renamed.csv");
    let mut f = std::fs::File::create(&renamed).unwrap();
    for l in leadgen_lines() {
        writeln!(f, "{}", l.replace(",qualify_lead,", ",purchase,")).unwrap();
    }
    drop(f);
    let lead = recommend_json(&["-c", fixture("leadgen/optsignal.toml").to_str().unwrap()]);
    let cfg = config(dir.path(), &renamed, "label_window_days = 7");
    let purchase = recommend_json(&["-c", cfg.to_str().unwrap()]);
    let text = serde_json::to_string(&decisions(&lead))
        .unwrap()
        .replace("qualify_lead", "purchase");
    assert_eq!(text, serde_json::to_string(&decisions(&purchase)).unwrap());
    for p in purchase["proxies"].as_array().unwrap() {
        let e = p["event"].as_str().unwrap();
        let q = proxy(&lead, e);
        for k in ["a", "b", "c", "d", "precision", "lift", "odds_ratio"] {
            assert_eq!(p[k], q[k], "{e} {k}");
        }
    }
}

#[test]
fn a_trial_start_and_a_first_charge_are_outcomes_too() {
    let cfg = fixture("leadgen/optsignal.toml");
    let run = |envs: &[(&str, &str)]| -> Value {
        let mut c = optsignal();
        c.args(["recommend", "-c"]).arg(&cfg).args(["-f", "json"]);
        for (k, v) in envs {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let trial = run(&[("OPTSIGNAL_ANALYSIS__PURCHASE_EVENT", "trial_start")]);
    assert_eq!(trial["setup"]["outcome"], "trial_start");
    assert_eq!(rec(&trial, "meta")["event"], "generate_lead");
    assert_eq!(rec(&trial, "google_ads")["event"], "trial_start");
    // The first charge comes 14 days after the trial: a 30-day label window sees it.
    let charge = run(&[
        ("OPTSIGNAL_ANALYSIS__PURCHASE_EVENT", "first_charge"),
        ("OPTSIGNAL_ANALYSIS__LABEL_WINDOW_DAYS", "30"),
    ]);
    assert_eq!(charge["label_window_days"], 30);
    assert_eq!(rec(&charge, "google_ads")["event"], "first_charge");
    let t = proxy(&charge, "trial_start");
    assert!(t["lift"].as_f64().unwrap() > 5.0, "{t}");
    // Too rare for Meta, and nothing useful clears in its place: said, not papered over.
    assert!(rec(&charge, "meta")["event"].is_null());
    assert_eq!(rec(&charge, "meta")["verdict"], "nothing_useful_clears");
}
