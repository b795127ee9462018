//! The weekly report job end to end: the real binary, the demo store, and a real SMTP server on
//! loopback started by each test (tests/it/support/smtp.rs).

use crate::support;
use crate::util;

use std::path::{Path, PathBuf};
use std::time::Duration;

use optsignal::report::chart;
use support::mime::{self, Part};
use support::smtp::{Behaviour, SmtpSink};
use support::state::sent_files;
use util::{fixture, optsignal};

const SECRET: &str = "correct-horse-battery-staple-42";

/// The demo config with an absolute event path and the given [email] / [report] bodies.
fn config(dir: &Path, email: &str, report: &str) -> PathBuf {
    let demo = std::fs::read_to_string(fixture("demo/optsignal.toml")).unwrap();
    let head = demo.split("\n[email]").next().unwrap();
    let events = fixture("demo/events.csv.gz");
    let head = head.replace(
        "path = \"events.csv.gz\"",
        &format!("path = {:?}", events.display().to_string()),
    );
    let text = format!("{head}\n[email]\n{email}\n[report]\nstate_dir = \"state\"\n{report}\n");
    let p = dir.join("optsignal.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn smtp_email(port: u16, extra: &str) -> String {
    format!(
        "from = \"optsignal <reports@demo-store.example>\"\n\
         to = [\"buyer@demo-store.example\", \"Boss <boss@demo-store.example>\"]\n\
         host = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\ntimeout_secs = 10\n{extra}"
    )
}

fn run_report(cfg: &Path, args: &[&str]) -> std::process::Output {
    optsignal()
        .arg("report")
        .arg("--config")
        .arg(cfg)
        .args(args)
        .env_remove("TEST_SMTP_PASSWORD")
        .output()
        .expect("runs")
}

/// The structure every weekly email must have; returns (text, html, png) parts.
fn check_structure(msg: &Part) -> (String, String, Vec<u8>) {
    assert_eq!(
        msg.mime_type(),
        "multipart/alternative",
        "{:?}",
        msg.headers
    );
    assert_eq!(msg.parts.len(), 2);
    assert_eq!(msg.parts[0].mime_type(), "text/plain");
    let related = &msg.parts[1];
    assert_eq!(related.mime_type(), "multipart/related");
    assert_eq!(related.parts[0].mime_type(), "text/html");
    let img = &related.parts[1];
    assert_eq!(img.mime_type(), "image/png");
    assert_eq!(img.header("content-id"), Some("<weekly-chart@optsignal>"));
    assert!(img
        .header("content-disposition")
        .is_some_and(|d| d.starts_with("inline")));
    let html = related.parts[0].text();
    assert!(html.contains("src=\"cid:weekly-chart@optsignal\""));
    (msg.parts[0].text(), html, img.decoded())
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("PNG decodes");
    (info.width, info.height)
}

#[test]
fn dry_run_writes_an_eml_with_text_html_and_an_inline_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = optsignal()
        .args(["report", "--config"])
        .arg(fixture("demo/optsignal.toml"))
        .args(["--dry-run", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "quiet by default: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eml = dir.path().join("demo-store-d62b30b1-2026-W46.eml");
    let raw = std::fs::read_to_string(&eml).expect("eml written");
    let msg = mime::parse(&raw);
    let subject = msg.header("subject").unwrap();
    assert!(
        subject.contains("Demo store") && subject.contains("2026-W46"),
        "{subject}"
    );
    assert_eq!(msg.header("to").unwrap(), "media-buyer@demo-store.example");
    assert!(msg.header("message-id").is_some() && msg.header("date").is_some());
    let (text, html, png) = check_structure(&msg);
    let (w, h) = png_size(&png);
    assert_eq!(w, chart::DISPLAY_WIDTH * chart::SCALE);
    assert!(h >= 400, "{h}");
    assert!(text.contains("RECOMMENDATIONS") && text.contains("add_to_cart"));
    assert!(
        !text.contains("<strong") && !text.contains("<td") && !text.contains("<small"),
        "no markup in the text part"
    );
    assert!(html.contains("Optimize on <strong>add_to_cart</strong>"));
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(
        !fixture("demo/optsignal-state").exists(),
        "a dry run touches no state"
    );
}

#[test]
fn sends_once_per_week_to_every_recipient_and_force_resends() {
    let sink = SmtpSink::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &smtp_email(sink.port(), ""), "");
    let out = run_report(&cfg, &["--send"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "quiet for cron"
    );
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].mail_from, "reports@demo-store.example");
    assert_eq!(
        msgs[0].rcpt_to,
        vec!["buyer@demo-store.example", "boss@demo-store.example"]
    );
    let msg = mime::parse(&msgs[0].data);
    assert!(msg
        .header("to")
        .unwrap()
        .contains("boss@demo-store.example"));
    check_structure(&msg);
    assert_eq!(
        sent_files(dir.path()),
        vec!["demo-store-d62b30b1-2026-W46.sent.json"]
    );
    let state = std::fs::read_to_string(
        dir.path()
            .join("state/demo-store-d62b30b1-2026-W46.sent.json"),
    )
    .unwrap();
    assert!(state.contains("\"week\": \"2026-W46\""), "{state}");

    // The same week again: nothing to do.
    let out = run_report(&cfg, &["--send"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        sink.messages().len(),
        1,
        "a re-run in the same week sends nothing"
    );
    let out = run_report(&cfg, &["--send", "-v"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already sent"));
    assert_eq!(sink.messages().len(), 1);

    // --force resends.
    let out = run_report(&cfg, &["--send", "--force"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sink.messages().len(), 2);
}

#[test]
fn overlapping_runs_send_once() {
    let sink = SmtpSink::start(Behaviour {
        data_delay: Duration::from_millis(1500),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &smtp_email(sink.port(), ""), "");
    let bin = assert_cmd::cargo::cargo_bin("optsignal");
    let spawn = || {
        std::process::Command::new(&bin)
            .arg("report")
            .arg("--config")
            .arg(&cfg)
            .arg("--send")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let runs: Vec<_> = (0..3).map(|_| spawn()).collect();
    for r in runs {
        let out = r.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        sink.messages().len(),
        1,
        "three overlapping runs, one email"
    );
    assert_eq!(sent_files(dir.path()).len(), 1);
}

#[test]
fn authentication_with_a_password_from_the_environment() {
    let sink = SmtpSink::start(Behaviour {
        credentials: Some(("reports".into(), SECRET.into())),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &smtp_email(
            sink.port(),
            "username = \"reports\"\npassword_env = \"TEST_SMTP_PASSWORD\"\n",
        ),
        "",
    );
    let out = optsignal()
        .args(["report", "--send", "--config"])
        .arg(&cfg)
        .env("TEST_SMTP_PASSWORD", SECRET)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].auth_user.as_deref(), Some("reports"));
}

#[test]
fn refused_credentials_fail_cleanly_without_leaking_the_password_or_marking_the_week() {
    let sink = SmtpSink::start(Behaviour {
        credentials: Some(("reports".into(), "the-right-one".into())),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("smtp-password");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let cfg = config(
        dir.path(),
        &smtp_email(
            sink.port(),
            "username = \"reports\"\npassword_file = \"smtp-password\"\n",
        ),
        "",
    );
    let out = run_report(&cfg, &["--send", "-vv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SMTP authentication failed at 127.0.0.1"),
        "{stderr}"
    );
    assert!(stderr.contains("535"), "{stderr}");
    assert!(!stderr.contains(SECRET), "the password leaked: {stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));
    assert_eq!(sink.auth_failures(), 1);
    assert!(sink.messages().is_empty());
    assert!(sent_files(dir.path()).is_empty(), "state untouched");
}

#[test]
fn a_refused_recipient_is_named_and_the_week_stays_unsent() {
    let sink = SmtpSink::start(Behaviour {
        refuse: vec!["boss@demo-store.example".into()],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &smtp_email(sink.port(), ""), "");
    let out = run_report(&cfg, &["--send"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused") && stderr.contains("boss@demo-store.example"),
        "{stderr}"
    );
    assert!(sent_files(dir.path()).is_empty());
}

#[test]
fn an_unreachable_server_is_a_runtime_failure() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &smtp_email(port, ""), "");
    let out = run_report(&cfg, &["--send"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot connect to SMTP server 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(sent_files(dir.path()).is_empty());
}

#[test]
fn configuration_problems_exit_2_and_name_the_key_or_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &smtp_email(
            25,
            "username = \"reports\"\npassword_env = \"TEST_SMTP_PASSWORD\"\n",
        ),
        "",
    );
    let out = run_report(&cfg, &["--send"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("TEST_SMTP_PASSWORD is not set"), "{stderr}");

    let cfg = config(
        dir.path(),
        &smtp_email(25, "").replace("security = \"plain\"", "security = \"ssl\""),
        "",
    );
    let out = run_report(&cfg, &["--send"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("email.security"), "{stderr}");

    let cfg = config(dir.path(), &smtp_email(25, "password = \"hunter2\"\n"), "");
    let out = run_report(&cfg, &["--send"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("password"), "{stderr}");

    let cfg = config(
        dir.path(),
        &smtp_email(25, ""),
        "critical_flags = [\"broken\"]",
    );
    let out = run_report(&cfg, &["--send"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("report.critical_flags[0]"), "{stderr}");
}

#[test]
fn a_critical_flag_exits_3_when_the_report_goes_out_and_0_when_there_is_nothing_to_do() {
    let sink = SmtpSink::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &smtp_email(sink.port(), ""),
        "critical_flags = [\"broken_surge\"]",
    );
    let out = run_report(&cfg, &["--send"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("sign_up broken_surge"), "{stderr}");
    assert_eq!(sink.messages().len(), 1);
    let out = run_report(&cfg, &["--send"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn rendering_to_a_folder_writes_the_document_and_its_chart() {
    let dir = tempfile::tempdir().unwrap();
    for (format, ext) in [("md", "md"), ("html", "html"), ("text", "txt")] {
        let out = optsignal()
            .args(["report", "--config"])
            .arg(fixture("demo/optsignal.toml"))
            .args(["--format", format, "--out"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc = std::fs::read_to_string(
            dir.path()
                .join(format!("demo-store-d62b30b1-2026-W46.{ext}")),
        )
        .unwrap();
        if ext != "txt" {
            assert!(
                doc.contains("demo-store-d62b30b1-2026-W46-chart.png"),
                "{format}"
            );
        }
    }
    let png = std::fs::read(dir.path().join("demo-store-d62b30b1-2026-W46-chart.png")).unwrap();
    assert_eq!(png_size(&png).0, chart::DISPLAY_WIDTH * chart::SCALE);
}

#[test]
fn the_markdown_report_reads_in_the_documented_order_with_a_reproducible_footer() {
    let out = optsignal()
        .args(["report", "--config"])
        .arg(fixture("demo/optsignal.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).unwrap();
    let pos = |s: &str| md.find(s).unwrap_or_else(|| panic!("no {s:?} in\n{md}"));
    let order = [
        "## Recommendations",
        "### Meta: optimize on add_to_cart (change from sign_up)",
        "**Unlock:** begin_checkout would clear with at most 1 ad set",
        "### Google Ads: optimize on purchase (keep)",
        "## Proxy flags",
        "**sign_up** `broken_surge`",
        "## Proxy scorecard",
        "| event |",
        "## Weekly volumes",
        "| 2026-W46 |",
        "## Data notes",
        "data window: 2026-W37 … 2026-W46 (2026-09-07 – 2026-11-15)",
    ];
    for w in order.windows(2) {
        assert!(
            pos(w[0]) < pos(w[1]),
            "{:?} should come before {:?}",
            w[0],
            w[1]
        );
    }
    let config_bytes = std::fs::read(fixture("demo/optsignal.toml")).unwrap();
    let hash = optsignal::deliver::sha256_file(&fixture("demo/optsignal.toml")).unwrap();
    assert_eq!(hash.len(), 64);
    assert!(!config_bytes.is_empty());
    assert!(
        md.contains(&format!("config: optsignal.toml, sha256 {hash}")),
        "{md}"
    );
    assert!(md.contains(&format!("tool: optsignal {}", env!("CARGO_PKG_VERSION"))));
    assert!(!md.contains("chart.png"), "no image reference on stdout");
}
