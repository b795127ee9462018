//! Bad input gets one clear error naming the file, line or column, and a documented exit code
//! (1 runtime, 2 usage/config); malformed rows are skipped and counted; nothing panics.

use crate::util;

use std::io::Write;

use predicates::prelude::*;
use proptest::prelude::*;
use util::*;

fn write(dir: &tempfile::TempDir, name: &str, body: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::File::create(&p).unwrap().write_all(body).unwrap();
    p
}

fn run(events: &std::path::Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    optsignal()
        .args(["recommend", "--platform", "meta", "--events"])
        .arg(events)
        .args(extra)
        .assert()
}

#[test]
fn missing_file_names_the_path_and_exits_1() {
    run(std::path::Path::new("/no/such/events.csv"), &[])
        .code(1)
        .stderr(predicate::str::contains("/no/such/events.csv"));
}

#[test]
fn empty_file_is_one_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let p = write(&d, "e.csv", b"");
    run(&p, &[])
        .code(1)
        .stderr(predicate::str::contains("empty"));
    let p = write(&d, "h.csv", b"timestamp,user_id,event_name\n");
    run(&p, &[])
        .code(1)
        .stderr(predicate::str::contains("empty"));
}

#[test]
fn missing_column_lists_what_is_there() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        &d,
        "e.csv",
        b"ts,user_id,event_name\n1511658000,u,view_item\n",
    );
    run(&p, &[]).code(1).stderr(
        predicate::str::contains("\"timestamp\"")
            .and(predicate::str::contains("ts, user_id, event_name")),
    );
}

#[test]
fn unknown_timestamp_format_names_line_and_value() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        &d,
        "e.csv",
        b"timestamp,user_id,event_name\n21/11/2026 10:00,u,view_item\n",
    );
    run(&p, &[]).code(1).stderr(
        predicate::str::contains("e.csv:2").and(predicate::str::contains("21/11/2026 10:00")),
    );
}

#[test]
fn malformed_rows_are_skipped_and_counted_or_stop_with_strict() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        &d,
        "e.csv",
        b"timestamp,user_id,session_id,event_name\n\
2026-09-07T08:00:00Z,u1,s1,add_to_cart\n\
garbage,u1,s1,add_to_cart\n\
2026-09-07T08:02:00Z,u1,s1\n\
2026-09-07T08:03:00Z,u1,s1,purchase\n",
    );
    let out = run(&p, &["--format", "json"]).success();
    let r: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(r["input"]["rows_read"], 4);
    assert_eq!(
        r["input"]["rows_skipped"]["bad_timestamp"]["first_lines"],
        serde_json::json!([3])
    );
    assert_eq!(
        r["input"]["rows_skipped"]["malformed_row"]["first_lines"],
        serde_json::json!([4])
    );
    assert!(r["notes"][0]
        .as_str()
        .unwrap()
        .contains("2 of 4 rows skipped"));
    run(&p, &["--strict"])
        .code(1)
        .stderr(predicate::str::contains("e.csv:3").and(predicate::str::contains("strict")));
}

#[test]
fn config_errors_exit_2_naming_file_and_key() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write(
        &d,
        "c.toml",
        b"[source]\npath = \"e.csv\"\n[[platforms]]\nid = \"meta\"\nattributed_share = 0\n",
    );
    optsignal()
        .args(["recommend", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "c.toml: platforms[0].attributed_share",
        ));
    let cfg = write(&d, "u.toml", b"[analysis]\nlabel_windw_days = 3\n");
    optsignal()
        .args(["recommend", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("label_windw_days"));
    optsignal()
        .args(["recommend", "--events", "x.csv", "--platform", "myspace"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown platform \"myspace\""));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Whatever bytes the file holds, reading and analysing it returns a report or an error,
    /// never a panic.
    #[test]
    fn the_pipeline_never_panics_on_arbitrary_input(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        header in prop_oneof![Just(&b"timestamp,user_id,session_id,event_name,device,channel,value\n"[..]), Just(&b""[..])],
        rows in proptest::collection::vec(
            (0i64..3_000_000, 0u8..4, 0u8..4, 0u8..6, proptest::option::of(-5.0f64..500.0)), 0..40),
    ) {
        let d = tempfile::tempdir().unwrap();
        let mut text = header.to_vec();
        let names = ["view_item", "add_to_cart", "purchase", "sign_up", "", "begin_checkout"];
        for (t, u, s, e, v) in &rows {
            let v = v.map(|x| x.to_string()).unwrap_or_default();
            text.extend_from_slice(format!("{},u{u},s{s},{},mobile,email,{v}\n", 1_788_739_200 + t, names[*e as usize]).as_bytes());
        }
        text.extend_from_slice(&body);
        let p = write(&d, "fuzz.csv", &text);
        let raw = optsignal::config::RawConfig {
            source: optsignal::config::RawSource { path: Some(p.clone()), ..Default::default() },
            platforms: vec![optsignal::config::RawPlatform {
                id: "meta".into(), ad_sets: Some(2), attributed_share: None, optimizing_on: None,
                floor_events: None, floor_days: None, optimizable: None, rule: None,
            }],
            ..Default::default()
        };
        let settings = optsignal::config::Settings::from_raw(&raw, "fuzz", d.path()).unwrap();
        if let Ok(report) = optsignal::pipeline::analyze(&settings) {
            // The temporary directory's random name can itself hold "NaN" (one CI run at
            // stop 29 failed so, not reproducible from its seed): it is taken out first.
            let dir = serde_json::to_string(&d.path().display().to_string()).unwrap();
            let json = report.to_json().replace(dir.trim_matches('"'), "<dir>");
            // Say where, so that a failure can be traced from the log alone.
            if let Some(at) = json.find("NaN") {
                let from = json.floor_char_boundary(at.saturating_sub(300));
                let to = json.ceil_char_boundary((at + 100).min(json.len()));
                prop_assert!(false, "NaN in the report: ...{}...", &json[from..to]);
            }
            let _ = optsignal::report::terminal::render(&report, optsignal::report::terminal::Style::new(false));
        }
        let mut jsonl = settings.clone();
        jsonl.source.format = optsignal::source::log::LogFormat::JsonLines;
        let _ = optsignal::pipeline::analyze(&jsonl);
    }
}
