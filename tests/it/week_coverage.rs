//! Week completeness from each week's own coverage (issue 12, item 8): a stray row months before
//! the bulk, a week emptied in the middle, a week of stray rows and a partial first week are set
//! aside, the floor volume does not move, and every report format names the set-aside weeks.

use crate::util;

use std::path::Path;

use util::*;

/// Floor volumes over 12 weeks (more than the demo's 10), so that any empty week counted as
/// complete would enter the mean.
const VOLUME_WEEKS: &str = "12";

/// `recommend --format json` on the demo config with another event log.
fn report(events: &Path) -> serde_json::Value {
    let cfg = fixture("demo/optsignal.toml");
    let out = optsignal()
        .env("OPTSIGNAL_ANALYSIS__VOLUME_WEEKS", VOLUME_WEEKS)
        .args(["recommend", "--format", "json", "-c"])
        .arg(&cfg)
        .arg("--events")
        .arg(events)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every platform's floor volume per event: (platform, event, per unit per week, clearance).
fn floor_volumes(r: &serde_json::Value) -> Vec<(String, String, f64, f64)> {
    let mut v = Vec::new();
    for rec in r["recommendations"].as_array().unwrap() {
        for c in rec["checks"].as_array().unwrap() {
            v.push((
                rec["platform"].to_string(),
                c["event"].as_str().unwrap().to_string(),
                c["per_unit_weekly"].as_f64().unwrap(),
                c["clearance"].as_f64().unwrap(),
            ));
        }
    }
    assert!(!v.is_empty());
    v
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// The week entry of `weekly` for `week`.
fn week<'a>(r: &'a serde_json::Value, week: &str) -> &'a serde_json::Value {
    r["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["week"] == week)
        .unwrap_or_else(|| panic!("{week} not in weekly"))
}

fn coverage_note(r: &serde_json::Value) -> String {
    strings(&r["notes"])
        .into_iter()
        .find(|n| n.starts_with("complete weeks used"))
        .unwrap_or_else(|| panic!("no coverage note: {}", r["notes"]))
}

#[test]
fn a_stray_row_months_before_the_bulk_moves_no_floor_and_is_named_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    let lines = demo_lines();
    let base = report(&write_lines(d.path(), "base.csv", &lines));
    let mut stray = lines.clone();
    // Inside the plausible range (after source.min_date, before the bulk, not a forward jump):
    // 2026-05-13 is in 2026-W20, 16 weeks before the bulk's 2026-W37.
    stray.insert(
        1,
        "2026-05-13T10:00:00Z,stray,stray-s,view_item,mobile,email,".into(),
    );
    let path = write_lines(d.path(), "stray.csv", &stray);
    let r = report(&path);
    assert!(r["input"]["rows_skipped"]["implausible_timestamp"].is_null());
    assert_eq!(r["input"]["weeks"].as_array().unwrap().len(), 27);
    assert_eq!(
        r["input"]["complete_weeks"], base["input"]["complete_weeks"],
        "only the bulk's weeks are complete"
    );
    assert_eq!(floor_volumes(&r), floor_volumes(&base));
    let w20 = week(&r, "2026-W20");
    assert_eq!(w20["complete"], false);
    assert_eq!(w20["days_with_data"], 1);
    assert_eq!(
        w20["set_aside"],
        serde_json::json!({"reason": "few_days", "days": 1, "needed": 6})
    );
    assert_eq!(week(&r, "2026-W30")["set_aside"]["days"], 0);
    assert!(week(&r, "2026-W37")["set_aside"].is_null());
    assert_eq!(week(&r, "2026-W37")["days_with_data"], 7);
    let note = coverage_note(&r);
    assert!(
        note.contains("2026-W37 … 2026-W46 (10 weeks)")
            && note.contains("2026-W20 (data on 1 of 7 days; 6 needed)")
            && note.contains("2026-W21 … 2026-W36 (16 weeks, no data)"),
        "{note}"
    );
    assert!(strings(&base["notes"])
        .iter()
        .all(|n| !n.starts_with("complete weeks used")));

    // The terminal and the Markdown report say the same.
    let cfg = fixture("demo/optsignal.toml");
    let term = optsignal()
        .env("OPTSIGNAL_ANALYSIS__VOLUME_WEEKS", VOLUME_WEEKS)
        .env("COLUMNS", "100")
        .args(["recommend", "-c"])
        .arg(&cfg)
        .arg("--events")
        .arg(&path)
        .output()
        .unwrap();
    let term = String::from_utf8(term.stdout).unwrap();
    let flat = term.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("set aside by their own coverage: 2026-W20 (data on 1 of 7 days; 6 needed)"),
        "{term}"
    );
    assert!(term.contains("2026-W20*"), "{term}");
    let md = optsignal()
        .env("OPTSIGNAL_ANALYSIS__VOLUME_WEEKS", VOLUME_WEEKS)
        .env("OPTSIGNAL_SOURCE__PATH", &path)
        .args(["report", "--format", "md", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        md.status.success(),
        "{}",
        String::from_utf8_lossy(&md.stderr)
    );
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains("* set aside by its own coverage, kept out of floor checks and drift tests: 2026-W20 (data on 1 of 7 days; 6 needed); 2026-W21 … 2026-W36 (16 weeks, no data)."),
        "{md}"
    );
}

#[test]
fn an_emptied_week_a_week_of_stray_rows_and_a_partial_first_week_are_set_aside() {
    let d = tempfile::tempdir().unwrap();
    let lines = demo_lines();
    let day = |l: &str| l.get(..10).unwrap_or("").to_string();
    // 2026-W37 starts on Thursday 2026-09-10 (4 days); 2026-W41 (2026-10-05 .. 11) has no data;
    // 2026-W43 (2026-10-19 .. 25) keeps one session a day (7 days, a sliver of its volume).
    let mut kept = vec![lines[0].clone()];
    let mut per_day: std::collections::BTreeMap<String, String> = Default::default();
    for l in &lines[1..] {
        let dd = day(l);
        let session = l.split(',').nth(2).unwrap_or("").to_string();
        if dd.as_str() < "2026-09-10" || ("2026-10-05".."2026-10-12").contains(&dd.as_str()) {
            continue;
        }
        if ("2026-10-19".."2026-10-26").contains(&dd.as_str()) {
            let first = per_day.entry(dd).or_insert(session.clone());
            if *first != session {
                continue;
            }
        }
        kept.push(l.clone());
    }
    let r = report(&write_lines(d.path(), "holes.csv", &kept));
    assert_eq!(
        week(&r, "2026-W37")["set_aside"],
        serde_json::json!({"reason": "few_days", "days": 4, "needed": 6})
    );
    assert_eq!(week(&r, "2026-W41")["days_with_data"], 0);
    let w43 = week(&r, "2026-W43");
    assert_eq!(w43["days_with_data"], 7);
    assert_eq!(w43["set_aside"]["reason"], "low_volume", "{w43}");
    assert_eq!(w43["set_aside"]["volume"], w43["units"]);
    assert!(w43["set_aside"]["share"].as_f64().unwrap() < 0.2, "{w43}");
    let complete = strings(&r["input"]["complete_weeks"]);
    assert_eq!(
        complete,
        ["2026-W38", "2026-W39", "2026-W40", "2026-W42", "2026-W44", "2026-W45", "2026-W46"]
    );
    // The floor volume is the mean over exactly those weeks.
    let meta = &r["recommendations"][0];
    assert_eq!(meta["platform"], "meta");
    let purchase = meta["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["event"] == "purchase")
        .unwrap();
    let events: Vec<f64> = complete
        .iter()
        .map(|w| week(&r, w)["purchase"]["events"].as_f64().unwrap())
        .collect();
    let mean = events.iter().sum::<f64>() / events.len() as f64;
    let share = 0.6 / 2.0; // Meta in the demo config: 60% of events seen, 2 ad sets
    assert!(
        (purchase["per_unit_weekly"].as_f64().unwrap() - share * mean).abs() < 1e-9,
        "{purchase} vs {}",
        share * mean
    );
    let note = coverage_note(&r);
    assert!(
        note.contains("2026-W37 (data on 4 of 7 days; 6 needed)")
            && note.contains("2026-W41 (no data)")
            && note.contains("2026-W43 (")
            && note.contains("of its neighbouring weeks' median"),
        "{note}"
    );
}
