//! Config-driven audits: the three-account agency fixture, exit codes, isolation, and
//! `config check` naming the account and key of every mistake.

use crate::support;
use crate::util;

use predicates::prelude::*;
use util::*;

fn agency() -> String {
    fixture("audit/agency.toml").display().to_string()
}

#[test]
fn agency_rollup_isolates_the_failed_account_and_exits_critical() {
    let out = optsignal()
        .args(["audit", "--config", &agency(), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["worst"], "critical");
    assert_eq!(a["failed"], 1);
    let acc = |n: &str| {
        a["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["account"] == n)
            .unwrap()
            .clone()
    };
    let healthy = acc("Northwind Outfitters");
    assert_eq!(healthy["status"], "ok");
    assert_eq!(healthy["severity"], "info");
    assert_eq!(healthy["platforms"][0]["recommended"], "add_to_cart");
    assert_eq!(healthy["platforms"][0]["change_needed"], false);
    let broken = acc("Bluebird Candles");
    assert_eq!(broken["severity"], "critical");
    let kinds: Vec<&str> = broken["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"bidding_on_flagged_proxy"), "{kinds:?}");
    assert!(kinds.contains(&"learning_limited"), "{kinds:?}");
    let meta = &broken["platforms"][0];
    assert_eq!(
        (
            meta["optimizing_today"].as_str(),
            meta["recommended"].as_str()
        ),
        (Some("sign_up"), Some("add_to_cart"))
    );
    assert!(meta["broken_proxies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "sign_up"));
    let tiktok = &broken["platforms"][1];
    assert!(tiktok["learning_limited_risk"].as_f64().unwrap() > 0.99);
    let harbor = acc("Harbor Tea");
    assert_eq!(harbor["status"], "failed");
    assert!(harbor["error"]
        .as_str()
        .unwrap()
        .contains("harbor-tea/events.csv"));
}

#[test]
fn table_and_markdown_show_the_rollup_first() {
    optsignal()
        .args(["audit", "--config", &agency()])
        .assert()
        .code(3)
        .stdout(
            predicate::str::contains("3 accounts audited, 1 failed; worst finding: critical")
                .and(predicate::str::contains("Bluebird Candles"))
                .and(predicate::str::contains("FAILED (see below)"))
                .and(predicate::str::contains(
                    "Meta bids on sign_up, which is flagged",
                )),
        );
    let out = optsignal()
        .args(["audit", "--config", &agency(), "--format", "md"])
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("# optsignal audit"), "{md}");
    assert!(
        md.contains("| Bluebird Candles | meta | sign_up | add_to_cart | yes |"),
        "{md}"
    );
}

#[test]
fn selecting_accounts_and_fail_on_set_the_exit_code() {
    optsignal()
        .args([
            "audit",
            "--config",
            &agency(),
            "--accounts",
            "Northwind Outfitters",
        ])
        .assert()
        .code(0);
    optsignal()
        .args([
            "audit",
            "--config",
            &agency(),
            "--accounts",
            "Northwind Outfitters",
            "--fail-on",
            "warning",
        ])
        .assert()
        .code(0);
    optsignal()
        .args(["audit", "--config", &agency(), "--accounts", "Harbor Tea"])
        .assert()
        .code(1);
    optsignal()
        .args(["audit", "--config", &agency(), "--accounts", "Nobody"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("Nobody")
                .and(predicate::str::contains("Northwind Outfitters")),
        );
}

#[test]
fn environment_overrides_apply_to_every_account() {
    // A clearance threshold no event can meet: nothing clears for anyone, which is a warning.
    let out = optsignal()
        .args([
            "audit",
            "--config",
            &agency(),
            "--accounts",
            "Northwind Outfitters",
            "--fail-on",
            "warning",
            "--format",
            "json",
        ])
        .env("OPTSIGNAL_ANALYSIS__CLEARANCE_THRESHOLD", "0.99999999999")
        .output()
        .unwrap();
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        a["accounts"][0]["report"]["settings"]["clearance_threshold"],
        0.99999999999
    );
}

/// An agency file beside `dir`'s demo log: a healthy account, then four whose own config is
/// wrong in four ways (unknown key, wrong type, not finite, out of range).
fn broken_agency(dir: &std::path::Path) -> std::path::PathBuf {
    let log = fixture("demo/events.csv.gz");
    let log = log.to_str().unwrap();
    let account = |name: &str, analysis: &str| {
        format!(
            "[[accounts]]\nname = {name:?}\n[accounts.source]\npath = {log:?}\n\
             [accounts.analysis]\n{analysis}\n[[accounts.platforms]]\nid = \"meta\"\n\
             ad_sets = 2\nattributed_share = 0.6\noptimizing_on = \"add_to_cart\"\n"
        )
    };
    let body = [
        account("Healthy", "label_window_days = 7"),
        account("Typo", "label_windw_days = 3"),
        account("Wrong type", "alpha = \"low\""),
        account("Not finite", "confidence = nan"),
        account("Out of range", "clearance_threshold = 2.0"),
    ]
    .concat();
    let p = dir.join("agency.toml");
    std::fs::write(&p, body).unwrap();
    p
}

/// The broken accounts' names and the key each one's error must name.
const BROKEN: [(&str, &str); 4] = [
    ("Typo", "analysis.label_windw_days"),
    ("Wrong type", "analysis.alpha"),
    ("Not finite", "analysis.confidence"),
    ("Out of range", "analysis.clearance_threshold"),
];

#[test]
fn one_accounts_config_error_fails_that_account_only() {
    let d = tempfile::tempdir().unwrap();
    let cfg = broken_agency(d.path());
    let out = optsignal()
        .args(["audit", "--format", "json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Some accounts failed, none is critical: exit 1 (docs/audit.md), not 2.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["failed"], 4);
    let rows = a["accounts"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["account"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Healthy",
            "Typo",
            "Wrong type",
            "Not finite",
            "Out of range"
        ]
    );
    assert_eq!(rows[0]["status"], "ok");
    assert_eq!(rows[0]["platforms"][0]["recommended"], "add_to_cart");
    for (row, (name, key)) in rows[1..].iter().zip(BROKEN) {
        assert_eq!(row["status"], "failed", "{name}");
        let error = row["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("account {name:?}: {key}")),
            "{name}: {error}"
        );
    }
    // Every format shows each broken account with its error.
    let only_broken = BROKEN.map(|(n, _)| n).join(",");
    for format in ["table", "md", "html"] {
        let out = optsignal()
            .args([
                "audit",
                "--format",
                format,
                "--accounts",
                &only_broken,
                "--config",
            ])
            .arg(&cfg)
            .env("COLUMNS", "400")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let text = String::from_utf8_lossy(&out.stdout);
        for (name, key) in BROKEN {
            assert!(
                text.contains(name) && text.contains(key),
                "{format}: {name} {key} in\n{text}"
            );
        }
    }
    // The other accounts' mistakes do not stop one account's own run.
    optsignal()
        .args(["recommend", "--account", "Healthy", "--config"])
        .arg(&cfg)
        .assert()
        .code(0);
    optsignal()
        .args(["recommend", "--account", "Typo", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("analysis.label_windw_days"));
}

#[test]
fn a_problem_of_the_whole_file_still_stops_the_audit() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("agency.toml");
    std::fs::write(&cfg, format!("[defults]\nx = 1\n{GOOD}")).unwrap();
    optsignal()
        .args(["audit", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("defults"));
    std::fs::write(&cfg, GOOD).unwrap();
    optsignal()
        .args(["audit", "--config"])
        .arg(&cfg)
        .env("OPTSIGNAL_ANALYSIS__ALPHA", "inf")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "environment variable OPTSIGNAL_ANALYSIS__ALPHA",
        ));
}

#[test]
fn accounts_that_would_share_folders_are_rejected() {
    // The same name twice: one model store folder and one sent-state file for both.
    let (code, out) = check(&format!("{GOOD}{GOOD}"));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("account \"Shop\": name: another account is also named \"Shop\"")
            && out.contains("model store folder")
            && out.contains("sent-state files"),
        "{out}"
    );
    // Names that differ only in case or spacing have folders of their own.
    let (code, out) = check(&format!(
        "{}{}{}",
        GOOD.replace("\"Shop\"", "\"Shop A\""),
        GOOD.replace("\"Shop\"", "\"shop a\""),
        GOOD.replace("\"Shop\"", "\"shop-a\"")
    ));
    assert_eq!(code, 0, "{out}");
    // An account without a name is "account N": naming another one so collides with it.
    let (code, out) = check(&format!(
        "{}{}",
        GOOD.replace("name = \"Shop\"\n", ""),
        GOOD.replace("\"Shop\"", "\"account 1\"")
    ));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("account \"account 1\": name:"), "{out}");
}

#[test]
fn config_check_blames_a_bad_value_on_the_variable_that_set_it() {
    let (code, out) = check_env(GOOD, &[("OPTSIGNAL_ANALYSIS__CONFIDENCE", "2")]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("environment variable OPTSIGNAL_ANALYSIS__CONFIDENCE: analysis.confidence:"),
        "{out}"
    );
    assert!(!out.contains("agency.toml: account"), "{out}");
}

fn check(body: &str) -> (i32, String) {
    check_env(body, &[])
}

/// `config check` on `body` (beside an events.csv), with these environment variables set.
fn check_env(body: &str, env: &[(&str, &str)]) -> (i32, String) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("agency.toml");
    std::fs::write(&p, body).unwrap();
    std::fs::write(
        d.path().join("events.csv"),
        "timestamp,user_id,event_name\n1,u,purchase\n",
    )
    .unwrap();
    let out = optsignal()
        .args(["config", "check", "--config"])
        .arg(&p)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
    )
}

const GOOD: &str = "[[accounts]]\nname = \"Shop\"\n[accounts.source]\npath = \"events.csv\"\n[[accounts.platforms]]\nid = \"meta\"\n";

#[test]
fn config_check_accepts_a_good_file() {
    let (code, out) = check(GOOD);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok (1 account: Shop)"), "{out}");
}

#[test]
fn config_check_names_account_and_key_for_each_mistake() {
    let cases: [(&str, &str, &[&str]); 7] = [
        (
            "[accounts.analysis]\nlabel_windw_days = 3\n",
            "analysis.label_windw_days",
            &["did you mean \"label_window_days\""],
        ),
        (
            "[accounts.analysis]\nlabel_window_days = \"a week\"\n",
            "analysis.label_window_days",
            &["invalid type"],
        ),
        (
            "[accounts.analysis]\nconfidence = 1.5\n",
            "analysis.confidence",
            &["strictly between 0 and 1"],
        ),
        (
            "[[accounts.platforms]]\nid = \"tiktok\"\nfloor_events = -50\n",
            "platforms[1].floor_events",
            &["positive"],
        ),
        (
            "[[accounts.platforms]]\nid = \"tiktok\"\nattributed_share = 1.5\n",
            "platforms[1].attributed_share",
            &["(0, 1]"],
        ),
        (
            "[[accounts.platforms]]\nid = \"tiktok\"\nad_sets = 0\n",
            "platforms[1].ad_sets",
            &["at least 1"],
        ),
        (
            "[[accounts.platforms]]\nid = \"tiktoc\"\n",
            "platforms[1].id",
            &["unknown platform", "tiktok"],
        ),
    ];
    for (extra, key, words) in cases {
        let (code, out) = check(&format!("{GOOD}{extra}"));
        assert_eq!(code, 2, "{extra}: {out}");
        assert!(
            out.contains(&format!("account \"Shop\": {key}")),
            "{extra}: {out}"
        );
        for w in words {
            assert!(out.contains(w), "{extra}: missing {w:?} in {out}");
        }
    }
    let (code, out) = check(&GOOD.replace("events.csv", "missing.csv"));
    assert_eq!(code, 2);
    assert!(
        out.contains("account \"Shop\": source.path") && out.contains("missing.csv does not exist"),
        "{out}"
    );
    let (code, out) = check(&format!("[defults]\nx = 1\n{GOOD}"));
    assert_eq!(code, 2);
    assert!(
        out.contains("defults") && out.contains("did you mean \"defaults\""),
        "{out}"
    );
    // Several mistakes in one file are all listed.
    let (_, out) = check(&format!(
        "{GOOD}[accounts.analysis]\nconfidence = 2.0\nalpha = 0\n"
    ));
    assert!(
        out.contains("analysis.confidence")
            && out.contains("analysis.alpha")
            && out.contains("2 problems"),
        "{out}"
    );
}

#[test]
fn html_rollup_is_email_safe() {
    let out = optsignal()
        .args(["audit", "--config", &agency(), "--format", "html"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    for want in [
        "Northwind Outfitters",
        "Bluebird Candles",
        "Harbor Tea",
        "Meta bids on sign_up",
        "<table",
    ] {
        assert!(html.contains(want), "missing {want}");
    }
    assert!(
        !html.contains("<script") && !html.contains("<style"),
        "inline CSS only"
    );
}

/// The agency fixture with absolute data paths and the SMTP relay on a loopback port.
fn agency_on(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture("audit/agency.toml"))
        .unwrap()
        .replace(
            "../demo/events.csv.gz",
            &fixture("demo/events.csv.gz").display().to_string(),
        )
        .replace(
            "host = \"localhost\"\nport = 25",
            &format!("host = \"127.0.0.1\"\nport = {port}"),
        )
        .replace(
            "[defaults.analysis]",
            "[defaults.report]\nstate_dir = \"state\"\n\n[defaults.analysis]",
        );
    let p = dir.join("agency.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn audit_send_mails_the_rollup_once_per_week() {
    let sink = support::smtp::SmtpSink::start(support::smtp::Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = agency_on(dir.path(), sink.port());
    let run = |extra: &[&str]| {
        optsignal()
            .args(["audit", "--config"])
            .arg(&cfg)
            .arg("--send")
            .args(extra)
            .output()
            .unwrap()
    };
    let first = run(&[]);
    assert_eq!(
        first.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert!(
        m.rcpt_to.iter().any(|r| r.contains("desk@agency.example")),
        "{:?}",
        m.rcpt_to
    );
    let parsed = support::mime::parse(&m.data);
    assert_eq!(parsed.mime_type(), "multipart/alternative");
    // The "·" makes the subject RFC 2047-encoded in part; the rest reads plainly.
    let subject = parsed.header("subject").unwrap();
    assert!(
        subject.contains("audit")
            && subject.contains("2026-W46: 3 accounts, 1 failed, worst critical"),
        "{subject}"
    );
    // Same week again: nothing sent; --force resends.
    run(&[]);
    assert_eq!(sink.messages().len(), 1);
    run(&["--force"]);
    assert_eq!(sink.messages().len(), 2);
}

#[test]
fn an_accounts_recipients_replace_the_default_to() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = agency_on(dir.path(), 2525);
    let out = optsignal()
        .args(["report", "--config"])
        .arg(&cfg)
        .args(["--account", "Bluebird Candles", "--dry-run"])
        .output()
        .unwrap();
    let eml = String::from_utf8_lossy(&out.stdout);
    let to = eml
        .lines()
        .find(|l| l.starts_with("To:"))
        .unwrap_or_default();
    assert!(
        to.contains("media@bluebird.example") && to.contains("founder@bluebird.example"),
        "{to}"
    );
    assert!(!to.contains("desk@agency.example"), "{to}");
}
