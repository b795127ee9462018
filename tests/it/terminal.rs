//! The terminal report as a person sees it: names from the data cannot drive the terminal
//! (control sequences are shown escaped, JSON keeps them exact), output fits a given width, and
//! messages say what they mean (excluded events explained, singular nouns for one thing).

use crate::util;

use std::io::Read;
use std::path::{Path, PathBuf};

use util::{fixture, optsignal};

/// Display columns of a line (the report's box drawing, `×`, `…` and `–` are one column each).
fn columns(line: &str) -> usize {
    line.chars().count()
}

fn stdout_of(args: &[&str], config: &Path) -> String {
    let out = optsignal().args(args).arg(config).output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn widest(text: &str) -> (usize, String) {
    text.lines()
        .map(|l| (columns(l), l.to_string()))
        .max_by_key(|(w, _)| *w)
        .unwrap_or_default()
}

const EVIL_EVENT: &str = "add\x1b[2J_to_cart\u{9b}1A";
const EVIL_DEVICE: &str = "mob\x1b]0;pwned\x07ile";
const EVIL_CHANNEL: &str = "paid\x1b[31m_social\r";

/// The demo log with one event, one device and one channel renamed to hold control sequences.
fn evil_log(dir: &Path) -> PathBuf {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture("demo/events.csv.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let text = text
        .replace(",add_to_cart,", &format!(",{EVIL_EVENT},"))
        .replace(",mobile,", &format!(",{EVIL_DEVICE},"))
        .replace(",paid_social,", &format!(",\"{EVIL_CHANNEL}\","));
    let p = dir.join("events.csv");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn control_sequences_in_names_are_escaped_in_the_terminal_and_exact_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let log = evil_log(dir.path());
    let candidates = format!("view_item,{EVIL_EVENT},begin_checkout,add_payment_info");
    let base = [
        "--events",
        log.to_str().unwrap(),
        "--candidates",
        &candidates,
        "-p",
        "meta",
        "--ad-sets",
        "2",
    ];
    for cmd in [["recommend", "-f", "table"], ["funnel", "-f", "table"]] {
        let mut c = optsignal();
        c.args(cmd);
        if cmd[0] == "recommend" {
            c.args(base);
        } else {
            c.args(["--events", log.to_str().unwrap(), "--steps"])
                .arg(format!("view_item,{EVIL_EVENT},begin_checkout,purchase"));
        }
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for bad in ['\x1b', '\x07', '\r', '\u{9b}'] {
            assert!(
                !text.contains(bad),
                "{cmd:?}: raw {bad:?} reached the terminal:\n{text}"
            );
        }
        assert!(
            text.contains("add\\x1b[2J_to_cart\\u{9b}1A"),
            "{cmd:?}: {text}"
        );
        assert!(
            text.contains("mob\\x1b]0;pwned\\x07ile"),
            "{cmd:?}: the device is shown escaped:\n{text}"
        );
    }
    let json = util::recommend_json(&base);
    assert!(
        json["proxies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["event"] == EVIL_EVENT),
        "JSON keeps the exact name"
    );
}

#[test]
fn recommend_and_audit_fit_a_100_column_terminal_and_pipes_keep_the_full_layout() {
    let demo = fixture("demo/optsignal.toml");
    let agency = fixture("audit/agency.toml");
    for (args, cfg) in [
        (&["--width", "100", "recommend", "-c"][..], &demo),
        (&["--width", "100", "demo", "--out"][..], &fixture("demo")),
        (&["--width", "100", "audit", "-c"][..], &agency),
        (&["--width", "100", "funnel", "-c"][..], &demo),
        (&["--width", "100", "test-plan", "-c"][..], &demo),
    ] {
        let text = stdout_of(args, cfg);
        let (w, line) = widest(&text);
        assert!(w <= 100, "{args:?}: a line of {w} columns:\n{line}");
        assert!(text.contains("PROXY SCORECARD") || !args.contains(&"recommend"));
    }
    // Not a terminal, COLUMNS or not: the full layout, as before (cron mail and pipes are stable).
    let full = stdout_of(&["recommend", "-c"], &demo);
    let (w, _) = widest(&full);
    assert!(w > 150, "the full scorecard is one wide table ({w})");
    let out = optsignal()
        .env("COLUMNS", "80")
        .args(["recommend", "-c"])
        .arg(&demo)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), full);
    let wide = stdout_of(&["--wide", "recommend", "-c"], &demo);
    assert_eq!(wide, full);
}

#[test]
fn excluded_events_are_explained_in_the_terminal_and_markdown_reports() {
    let demo = fixture("demo/optsignal.toml");
    let text = stdout_of(&["recommend", "-c"], &demo);
    assert!(
        text.contains("not eligible: add_to_wishlist (flagged not_predictive); add_shipping_info (Meta cannot optimize on add_shipping_info)"),
        "{text}"
    );
    let md = stdout_of(&["report", "-f", "md", "-c"], &demo);
    assert!(
        md.contains("- **Not eligible:** add_to_wishlist (flagged not_predictive); add_shipping_info (Meta cannot optimize on add_shipping_info)"),
        "{md}"
    );
    let txt = stdout_of(&["report", "-f", "text", "-c"], &demo);
    assert!(txt.contains("  Not eligible: "), "{txt}");
}

#[test]
fn one_thing_is_named_in_the_singular() {
    let agency = fixture("audit/agency.toml");
    let out = optsignal()
        .args(["audit", "--accounts", "Northwind Outfitters", "-c"])
        .arg(&agency)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 account audited, 0 failed"), "{text}");
    let check = stdout_of(&["config", "check", "-c"], &fixture("demo/optsignal.toml"));
    assert!(check.contains("ok (1 account: Demo store)"), "{check}");
    // A log of one session by one user.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("one.csv");
    std::fs::write(
        &log,
        "timestamp,user_id,session_id,event_name\n\
         2026-11-02T10:00:00Z,u1,s1,view_item\n\
         2026-11-02T10:01:00Z,u1,s1,add_to_cart\n\
         2026-11-02T10:02:00Z,u1,s1,purchase\n",
    )
    .unwrap();
    let out = optsignal()
        .args(["funnel", "--events"])
        .arg(&log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 session, 1 user, 1 purchasing"), "{text}");
    // One week of data cannot hold one out: the note counts it in the singular.
    let out = optsignal()
        .args([
            "recommend",
            "--platform",
            "meta",
            "--format",
            "json",
            "--events",
        ])
        .arg(&log)
        .output()
        .unwrap();
    let notes = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .map(|r| r["notes"].to_string())
        .unwrap_or_else(|_| String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(
        notes.contains("the data has only 1 week with sessions"),
        "{notes}"
    );
}
