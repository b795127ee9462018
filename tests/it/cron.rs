//! The unattended weekly run (`report --send` from cron) never loses a report: one identity per
//! account, only final weeks sent as final, missed weeks caught up, late data settled, and a
//! sent-but-unrecorded email said out loud. Real binary, real SMTP server on loopback
//! (tests/it/support/smtp.rs), an injected clock (`--now`), no sleeps.

use crate::support;
use crate::util;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use support::mime;
use support::smtp::{Behaviour, SmtpSink};
use support::state::sent_files;
use util::{fixture, optsignal};

/// The demo's events with a timestamp before `until` (RFC 3339 sorts as text), as a CSV.
fn demo_until(dir: &Path, until: &str) -> PathBuf {
    let log = dir.join(format!("events-until-{until}.csv"));
    let gz = std::fs::File::open(fixture("demo/events.csv.gz")).unwrap();
    let rd = std::io::BufReader::new(flate2::read::GzDecoder::new(gz));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    for (i, line) in rd.lines().enumerate() {
        let line = line.unwrap();
        if i == 0 || line.as_str() < until {
            writeln!(out, "{line}").unwrap();
        }
    }
    log
}

/// The demo config for `account`, reading `events`, sending to the sink on `port`, with the
/// lock and sent-state in `dir/state` and `report` added to `[report]`.
fn config(
    dir: &Path,
    name: &str,
    account: &str,
    events: &Path,
    port: u16,
    report: &str,
) -> PathBuf {
    let demo = std::fs::read_to_string(fixture("demo/optsignal.toml")).unwrap();
    let head = demo.split("\n[email]").next().unwrap();
    let head = head
        .replace(
            "path = \"events.csv.gz\"",
            &format!("path = {:?}", events.display().to_string()),
        )
        .replace(
            "account = \"Demo store\"",
            &format!("account = {account:?}"),
        );
    let text = format!(
        "{head}\n[email]\nfrom = \"optsignal <reports@demo-store.example>\"\n\
         to = [\"buyer@demo-store.example\"]\nhost = \"127.0.0.1\"\nport = {port}\n\
         security = \"plain\"\ntimeout_secs = 10\n\
         [report]\nstate_dir = \"state\"\n{report}\n"
    );
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn send(cfg: &Path, extra: &[&str]) -> std::process::Output {
    optsignal()
        .args(["report", "--send", "--config"])
        .arg(cfg)
        .args(extra)
        .output()
        .unwrap()
}

fn subjects(sink: &SmtpSink) -> Vec<String> {
    sink.messages()
        .iter()
        .map(|m| mime::parse(&m.data).header("subject").unwrap().to_string())
        .collect()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Issue 13.1: "東京" and "大阪" both reduced to `account`, so Osaka's report was "already sent".
#[test]
fn tokyo_and_osaka_each_get_their_weekly_email() {
    let sink = SmtpSink::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let events = fixture("demo/events.csv.gz");
    let tokyo = config(dir.path(), "tokyo.toml", "東京", &events, sink.port(), "");
    let osaka = config(dir.path(), "osaka.toml", "大阪", &events, sink.port(), "");
    for cfg in [&tokyo, &osaka] {
        let out = send(cfg, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let s = subjects(&sink);
    assert_eq!(s.len(), 2, "both sent: {s:?}");
    assert_eq!(
        sent_files(dir.path()),
        vec!["大阪-2026-W46.sent.json", "東京-2026-W46.sent.json"]
    );
}

/// Issue 13.2: with Monday–Tuesday data, `report --send` sent "2026-W37" and marked it sent, so
/// the full week never went out.
#[test]
fn a_partial_week_is_never_sent_as_final_nor_marked_sent() {
    let sink = SmtpSink::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    // The demo starts on Monday 2026-09-07: keep Monday and Tuesday.
    let events = demo_until(dir.path(), "2026-09-09");
    let cfg = config(dir.path(), "a.toml", "Demo store", &events, sink.port(), "");
    let out = send(&cfg, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(sink.messages().is_empty(), "nothing final to send");
    assert!(
        stderr(&out).contains("2026-W37 is partial"),
        "{}",
        stderr(&out)
    );
    assert!(sent_files(dir.path()).is_empty());

    // Configured to: sent, labelled partial, and still not recorded.
    let cfg = config(
        dir.path(),
        "b.toml",
        "Demo store",
        &events,
        sink.port(),
        "send_partial = true",
    );
    let out = send(&cfg, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = subjects(&sink);
    assert_eq!(s.len(), 1);
    assert!(
        s[0].starts_with("[partial week]") && s[0].contains("2026-W37"),
        "{s:?}"
    );
    let text = mime::parse(&sink.messages()[0].data).parts[0].text();
    assert!(text.contains("NOT FINAL (partial week)"), "{text}");
    assert!(
        sent_files(dir.path()).is_empty(),
        "a partial week is never marked sent"
    );
}

/// Issue 13.3: W45 failed (451) and W46 was sent next Monday: W45 was never sent or mentioned.
#[test]
fn a_missed_week_is_caught_up_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    // Monday of W46: the cron run with data through Sunday of W45 hits a 451.
    let through_w45 = demo_until(dir.path(), "2026-11-09");
    let failing = SmtpSink::start(Behaviour {
        temp_fail_messages: 1,
        ..Behaviour::default()
    });
    let cfg = config(
        dir.path(),
        "a.toml",
        "Demo store",
        &through_w45,
        failing.port(),
        "",
    );
    let out = send(&cfg, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(sent_files(dir.path()).is_empty());

    // A week later, data through W46: W45 goes first, then W46.
    let sink = SmtpSink::start(Behaviour::default());
    let full = fixture("demo/events.csv.gz");
    let cfg = config(dir.path(), "b.toml", "Demo store", &full, sink.port(), "");
    let out = send(&cfg, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = subjects(&sink);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(
        s[0].contains("2026-W45") && s[1].contains("2026-W46"),
        "{s:?}"
    );
    // W45's email carries the report as of W45, not W46's.
    let w45 = mime::parse(&sink.messages()[0].data).parts[0].text();
    assert!(!w45.contains("2026-W46"), "{w45}");
    let slug = optsignal::fsutil::slug("Demo store");
    assert_eq!(
        sent_files(dir.path()),
        vec![
            format!("{slug}-2026-W45.sent.json"),
            format!("{slug}-2026-W46.sent.json")
        ]
    );
    assert_eq!(send(&cfg, &[]).status.code(), Some(0));
    assert_eq!(sink.messages().len(), 2, "nothing left to send");
}

/// Issue 13.3, without catch-up: the missed week is named and the run exits 5.
#[test]
fn missed_weeks_beyond_catch_up_are_named_and_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    let through_w45 = demo_until(dir.path(), "2026-11-09");
    let failing = SmtpSink::start(Behaviour {
        temp_fail_messages: 1,
        ..Behaviour::default()
    });
    let cfg = config(
        dir.path(),
        "a.toml",
        "Demo store",
        &through_w45,
        failing.port(),
        "",
    );
    assert_eq!(send(&cfg, &[]).status.code(), Some(1));
    let sink = SmtpSink::start(Behaviour::default());
    let full = fixture("demo/events.csv.gz");
    let cfg = config(
        dir.path(),
        "b.toml",
        "Demo store",
        &full,
        sink.port(),
        "catch_up_weeks = 0",
    );
    let out = send(&cfg, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not sent yet: 2026-W45"),
        "{}",
        stderr(&out)
    );
    let s = subjects(&sink);
    assert_eq!(s.len(), 1);
    assert!(s[0].contains("2026-W46"));
    let text = mime::parse(&sink.messages()[0].data).parts[0].text();
    assert!(
        text.contains("not sent yet: 2026-W45"),
        "named in the report: {text}"
    );
}

/// Issue 13.4: the server accepted the mail but the sent-state could not be written: say so
/// (a re-run would resend) and exit 4.
#[test]
fn a_sent_email_whose_state_cannot_be_written_is_said_and_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let moved = dir.path().join("state-moved");
    let (s, m) = (state.clone(), moved.clone());
    // At the instant the server accepts, the state folder disappears behind a plain file.
    let sink = SmtpSink::start(Behaviour {
        on_accept: Some(Arc::new(move || {
            if s.is_dir() {
                std::fs::rename(&s, &m).unwrap();
                std::fs::write(&s, "not a folder").unwrap();
            }
        })),
        ..Behaviour::default()
    });
    let full = fixture("demo/events.csv.gz");
    let cfg = config(dir.path(), "a.toml", "Demo store", &full, sink.port(), "");
    let out = send(&cfg, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(sink.messages().len(), 1);
    assert!(
        err.contains("2026-W46 report WAS SENT to buyer@demo-store.example"),
        "{err}"
    );
    assert!(err.contains("a re-run would send it again"), "{err}");
    assert!(err.contains(".sent.json"), "the file is named: {err}");
}

/// Issue 17.5: a week is final only after its settle time; before it, it is reported as
/// provisional and never sent as final.
#[test]
fn a_week_inside_its_settle_time_is_provisional_and_not_sent_as_final() {
    let sink = SmtpSink::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let full = fixture("demo/events.csv.gz");
    let settle = "[report.settle_hours]\nlog = 72";
    let cfg = config(
        dir.path(),
        "a.toml",
        "Demo store",
        &full,
        sink.port(),
        settle,
    );
    // W46 ends at 2026-11-16T00:00Z; with 72 h it is final at 2026-11-19T00:00Z.
    let monday = "2026-11-16T07:00:00Z";
    let json = optsignal()
        .args(["recommend", "--format", "json", "--now", monday, "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(json.status.success(), "{}", stderr(&json));
    let r: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        r["input"]["provisional_weeks"],
        serde_json::json!(["2026-W46"])
    );
    assert_eq!(r["input"]["settle"]["hours"], 72);
    assert!(r["notes"]
        .to_string()
        .contains("2026-W46 is provisional until 2026-11-19T00:00:00Z"));

    let out = send(&cfg, &["--now", monday]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = subjects(&sink);
    assert_eq!(s.len(), 1);
    assert!(s[0].contains("2026-W45"), "the latest final week: {s:?}");
    let slug = optsignal::fsutil::slug("Demo store");
    assert_eq!(
        sent_files(dir.path()),
        vec![format!("{slug}-2026-W45.sent.json")]
    );

    // Once settled, W46 goes out as final.
    let out = send(&cfg, &["--now", "2026-11-19T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = subjects(&sink);
    assert_eq!(s.len(), 2);
    assert!(s[1].contains("2026-W46"), "{s:?}");
}
