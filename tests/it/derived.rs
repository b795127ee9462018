//! Derived candidates (issue 15 item 2) through the binary, on stores with known truth
//! (`optsignal::demo::write_intent_store`): where "view_item at least k times" carries the
//! signal no raw event can, it is found on the search weeks and recommended with figures from
//! the held-out weeks only; where nothing derived helps, nothing derived is recommended.

use std::io::BufWriter;

use crate::util::*;
use optsignal::demo::{write_intent_store, IntentStore, INTENT_DERIVED as DERIVED};
use serde_json::Value;

/// Generates the store and runs `recommend --format json` on it.
fn run(store: IntentStore, seed: u64, derived: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.csv");
    let mut out = BufWriter::new(std::fs::File::create(&log).unwrap());
    write_intent_store(store, seed, 8, 3_000, &mut out).unwrap();
    drop(out);
    let cfg = dir.path().join("optsignal.toml");
    std::fs::write(
        &cfg,
        format!(
            "account = \"Intent store\"\n[source]\npath = \"events.csv\"\n[analysis]\n\
             candidates = [\"view_item\", \"add_to_cart\"]\n{derived}\n\
             [[platforms]]\nid = \"meta\"\nad_sets = 1\nattributed_share = 1.0\n"
        ),
    )
    .unwrap();
    recommend_json(&["--config", cfg.to_str().unwrap()])
}

fn check<'a>(r: &'a Value, event: &str) -> &'a Value {
    rec(r, "meta")["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["event"] == event)
        .unwrap_or_else(|| panic!("no check of {event}"))
}

#[test]
fn a_derived_signal_no_raw_event_matches_is_found_and_measured_on_held_out_weeks() {
    let r = run(IntentStore::ViewsPredict, 7, DERIVED);
    // No raw event both clears and predicts: purchase and add_to_cart are too rare, view_item
    // fires in every session.
    for raw in ["purchase", "add_to_cart", "view_item"] {
        let c = check(&r, raw);
        assert!(
            !(c["clears"] == true && c["useful"] == true),
            "{raw} should not qualify: {c}"
        );
    }
    let m = rec(&r, "meta");
    let best = m["event"].as_str().expect("an event is recommended");
    assert!(
        [
            "view_item_2x",
            "view_item_3x",
            "view_item_4x",
            "view_item_5x"
        ]
        .contains(&best),
        "recommended {best}"
    );
    let s = &r["input"]["derived"];
    assert_eq!(s["families"], 2);
    assert_eq!(s["searched"], 8);
    let weeks = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect()
    };
    // The measured weeks (the last one's labels run past the data) split in time: the earlier
    // half (rounded down) searched, the rest held out.
    let (search, held, measured) = (
        weeks(&s["search_weeks"]),
        weeks(&s["held_out_weeks"]),
        weeks(&r["input"]["measured_weeks"]),
    );
    assert_eq!(measured.len(), 7);
    assert_eq!((search.len(), held.len()), (3, 4));
    assert_eq!([search.clone(), held.clone()].concat(), measured);
    let held: Vec<&str> = held.iter().map(String::as_str).collect();
    let kept = s["kept"].as_array().unwrap();
    assert!(kept
        .iter()
        .any(|k| k["rule"]["name"] == best && k["selected_for"][0] == "meta"));
    // Its 2×2 table counts the held-out weeks' sessions only; a raw event's counts them all.
    let p = proxy(&r, best);
    let n = |p: &Value| {
        ["a", "b", "c", "d"]
            .iter()
            .map(|k| p[k].as_u64().unwrap())
            .sum::<u64>()
    };
    let held_units: u64 = r["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| held.contains(&w["week"].as_str().unwrap()))
        .map(|w| w["units"].as_u64().unwrap())
        .sum();
    assert_eq!(n(p), held_units);
    assert_eq!(n(proxy(&r, "view_item")), 7 * 3_000);
    // The truth: high-intent sessions (15%) view more and buy at 8%; ≥ 3 views has lift ~4.5.
    let lift = p["lift"].as_f64().unwrap();
    assert!(lift > 2.5, "lift {lift}");
    assert!(check(&r, best)["clears"] == true && check(&r, best)["useful"] == true);
    // The set-up says how to build it: the rule, then Meta's custom conversion on it.
    let setup = &r["setup"]["platforms"][0];
    assert_eq!(setup["event"], best);
    assert_eq!(setup["derived"]["kind"], "at_least");
    assert_eq!(setup["derived"]["event"], "view_item");
    assert_eq!(setup["destination"]["custom_event_type"], "OTHER");
}

#[test]
fn where_nothing_derived_helps_the_raw_event_stands() {
    let r = run(IntentStore::Null, 11, DERIVED);
    assert_eq!(rec(&r, "meta")["event"], "add_to_cart");
    let s = &r["input"]["derived"];
    assert_eq!(s["searched"], 8);
    assert!(!s["kept"].as_array().unwrap().is_empty());
}

#[test]
fn too_few_weeks_to_search_is_said_and_nothing_derived_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.csv");
    let mut out = BufWriter::new(std::fs::File::create(&log).unwrap());
    write_intent_store(IntentStore::ViewsPredict, 3, 3, 3_000, &mut out).unwrap();
    drop(out);
    let cfg = dir.path().join("optsignal.toml");
    std::fs::write(
        &cfg,
        format!(
            "[source]\npath = \"events.csv\"\n[analysis]\ncandidates = [\"view_item\"]\n{DERIVED}\n\
             [[platforms]]\nid = \"meta\"\n"
        ),
    )
    .unwrap();
    let r = recommend_json(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(r["input"]["derived"]["too_few_weeks"], true);
    assert!(r["proxies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| !p["event"].as_str().unwrap().contains("_2x")));
    let text = String::from_utf8(
        optsignal()
            .args(["recommend", "--config", cfg.to_str().unwrap()])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("not searched: the data has 2 measured weeks"),
        "{text}"
    );
}

#[test]
fn a_derived_family_with_two_shapes_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("optsignal.toml");
    std::fs::write(
        &cfg,
        "[source]\npath = \"events.csv\"\n[analysis]\n\
         [[analysis.derived]]\nevent = \"view_item\"\nmin_count = [2]\nmin_value = [10]\n\
         [[platforms]]\nid = \"meta\"\n",
    )
    .unwrap();
    let out = optsignal()
        .args(["recommend", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("analysis.derived[0]") && err.contains("exactly one"),
        "{err}"
    );
}

/// The bundled fixture (fixtures/derived/) is exactly the generator's output, so the README's
/// example is the store these tests describe; `UPDATE_SNAPSHOTS=1` rewrites it.
#[test]
fn the_fixture_is_the_generators_output() {
    let mut csv = Vec::new();
    write_intent_store(IntentStore::ViewsPredict, 7, 8, 3_000, &mut csv).unwrap();
    let path = fixture("derived/events.csv.gz");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let mut gz = flate2::GzBuilder::new().mtime(0).write(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::best(),
        );
        std::io::Write::write_all(&mut gz, &csv).unwrap();
        gz.finish().unwrap();
    }
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()),
        &mut text,
    )
    .unwrap();
    assert!(
        text == csv,
        "fixtures/derived/events.csv.gz differs from the generator's output"
    );
    let r = recommend_json(&[
        "--config",
        fixture("derived/optsignal.toml").to_str().unwrap(),
    ]);
    assert!(rec(&r, "meta")["event"]
        .as_str()
        .is_some_and(|e| e.starts_with("view_item_")));
}

/// A derived point a platform was told to optimize on stays among its candidates the next
/// week, whatever that week's search picks, so the hysteresis decides a switch (before, a
/// point the search did not keep was "no longer a candidate" and replaced at once).
#[test]
fn the_standing_derived_point_stays_a_candidate_the_next_week() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["optsignal.toml", "events.csv.gz"] {
        std::fs::copy(fixture(&format!("derived/{f}")), dir.path().join(f)).unwrap();
    }
    let cfg = dir.path().join("optsignal.toml");
    let cfg = cfg.to_str().unwrap();
    recommend_json(&["-c", cfg, "--as-of", "2026-W08", "--save"]);
    let stored = walk(&dir.path().join("models"))
        .into_iter()
        .find(|p| p.ends_with("2026-W08.json"))
        .expect("the week is stored");
    // The buyer was told view_item_3x last week (not the point this week's search keeps).
    let mut week: Value = serde_json::from_str(&std::fs::read_to_string(&stored).unwrap()).unwrap();
    let r = &mut week["recommendations"][0];
    assert_eq!(r["platform"], "meta");
    r["event"] = "view_item_3x".into();
    r["best"] = "view_item_3x".into();
    std::fs::write(&stored, serde_json::to_string(&week).unwrap()).unwrap();
    let next = recommend_json(&["-c", cfg, "--as-of", "2026-W09"]);
    assert!(
        next["proxies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["event"] == "view_item_3x"),
        "the standing point is measured"
    );
    let change = &next["changes"]["recommendations"][0];
    assert_eq!(change["previous"], "view_item_3x");
    assert_ne!(change["cause"], "not_candidate", "{change}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
