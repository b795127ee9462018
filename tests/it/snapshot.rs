//! Behaviour snapshot: what the real binary prints on the bundled demo store (fixtures/demo, with
//! its model store), compared byte for byte with the files in `fixtures/snapshot/`.
//!
//! A restructuring must leave every snapshot unchanged. A commit that changes an answer on
//! purpose rewrites them with `UPDATE_SNAPSHOTS=1 cargo test --test it snapshot::` and says in
//! its message what changed and why; `git diff fixtures/snapshot` shows exactly that.
//!
//! Covered: `recommend` at `--width 80`, in the full layout (what a pipe gets) and as JSON;
//! `history`, `funnel` (table and JSON); `test-plan`, `audience`, `report --format md`,
//! `config check`; `demo` on a fresh folder; a few usage and config errors (stderr
//! and exit code); `--help` of the program and of every command.
//!
//! Normalised, and nothing else (each checked to occur exactly where expected):
//! - JSON `/input/settle/judged_at`: the run's clock (`<judged_at>`);
//! - JSON `/tool/version` and the Markdown report's `tool: optsignal X` line: the crate version
//!   (`<version>`);
//! - the `demo` run's temporary folder, wherever its path appears (`<tmp>`).
//!
//! The binary runs in the repository root with relative paths, so other paths print as
//! `fixtures/demo/...` and need no normalising.

use crate::util;

use std::path::Path;

use util::*;

/// The demo config, relative to the repository root (the binary's working directory here).
const DEMO: &str = "fixtures/demo/optsignal.toml";

/// What one run printed.
struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

/// Runs the binary in the repository root.
fn run(args: &[&str]) -> Run {
    let out = optsignal()
        .current_dir(root())
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        code: out.status.code().expect("exited, not killed"),
    }
}

/// Runs the binary and returns its stdout, failing unless it exited 0.
fn stdout_of(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code, 0, "optsignal {args:?} failed:\n{}", r.stderr);
    r.stdout
}

/// Replaces the one occurrence of `from` in `text` by `to`; fails when it is not exactly one.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    let n = text.matches(from).count();
    assert_eq!(
        n, 1,
        "expected {from:?} exactly once in the output, found {n}"
    );
    text.replacen(from, to, 1)
}

/// Normalises a JSON report's run clock and crate version: the values at `/input/settle/judged_at`
/// and `/tool/version` are read with a JSON parser, then their one text occurrence is replaced,
/// so the rest of the text (key order, number formatting) stays exactly as the binary wrote it.
fn normalise_report_json(text: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
    let judged = v
        .pointer("/input/settle/judged_at")
        .and_then(|j| j.as_str())
        .expect("input.settle.judged_at");
    let version = v
        .pointer("/tool/version")
        .and_then(|j| j.as_str())
        .expect("tool.version");
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let text = replace_once(
        text,
        &format!("\"judged_at\": \"{judged}\""),
        "\"judged_at\": \"<judged_at>\"",
    );
    replace_once(
        &text,
        &format!("\"version\": \"{version}\""),
        "\"version\": \"<version>\"",
    )
}

/// Compares `actual` with `fixtures/snapshot/<name>`, or rewrites the file when
/// `UPDATE_SNAPSHOTS=1`. On a difference the message shows the first differing lines.
fn check(name: &str, actual: &str) {
    let path = fixture("snapshot").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run UPDATE_SNAPSHOTS=1 cargo test --test it snapshot:: to write it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} differs from the binary's output (UPDATE_SNAPSHOTS=1 rewrites it if the change is \
             meant):\n{}",
            path.display(),
            diff(&expected, actual)
        );
    }
}

/// A readable difference: the lines common to both ends are cut, the rest is shown with line
/// numbers, `-` expected and `+` actual, with three lines of context (at most 40 lines a side).
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.split('\n').collect();
    let a: Vec<&str> = actual.split('\n').collect();
    let head = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let tail = e[head..]
        .iter()
        .rev()
        .zip(a[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let from = head.saturating_sub(3);
    let mut out = String::new();
    for (i, l) in e.iter().enumerate().take(head).skip(from) {
        out.push_str(&format!("{:>6}   {l}\n", i + 1));
    }
    let show = |lines: &[&str], sign: char, out: &mut String| {
        let changed = &lines[head..lines.len() - tail];
        for (i, l) in changed.iter().enumerate().take(40) {
            out.push_str(&format!("{:>6} {sign} {l:?}\n", head + i + 1));
        }
        if changed.len() > 40 {
            out.push_str(&format!("       {sign} ... {} more\n", changed.len() - 40));
        }
    };
    show(&e, '-', &mut out);
    show(&a, '+', &mut out);
    for (i, l) in a.iter().enumerate().skip(a.len() - tail).take(3) {
        out.push_str(&format!("{:>6}   {l}\n", i + 1));
    }
    out
}

#[test]
fn recommend_on_the_demo_store() {
    check(
        "recommend-width-80.txt",
        &stdout_of(&["recommend", "--width", "80", "-c", DEMO]),
    );
    // A pipe gets the full layout, whatever the terminal.
    check("recommend-full.txt", &stdout_of(&["recommend", "-c", DEMO]));
    check(
        "recommend.json",
        &normalise_report_json(&stdout_of(&["recommend", "-c", DEMO, "--format", "json"])),
    );
}

#[test]
fn history_and_funnel_on_the_demo_store() {
    check("history.txt", &stdout_of(&["history", "-c", DEMO]));
    check(
        "history.json",
        &stdout_of(&["history", "-c", DEMO, "--format", "json"]),
    );
    check("funnel.txt", &stdout_of(&["funnel", "-c", DEMO]));
    check(
        "funnel.json",
        &stdout_of(&["funnel", "-c", DEMO, "--format", "json"]),
    );
}

#[test]
fn other_commands_on_the_demo_store() {
    check("test-plan.txt", &stdout_of(&["test-plan", "-c", DEMO]));
    check(
        "audience.txt",
        &stdout_of(&["audience", "-c", DEMO, "--a", "add_to_cart", "--b", "all"]),
    );
    let version = format!("tool: optsignal {}\n", env!("CARGO_PKG_VERSION"));
    check(
        "report.md",
        &replace_once(
            &stdout_of(&["report", "-c", DEMO, "--format", "md"]),
            &version,
            "tool: optsignal <version>\n",
        ),
    );
    check(
        "config-check.txt",
        &stdout_of(&["config", "check", "-c", DEMO]),
    );
}

#[test]
fn demo_on_a_fresh_folder() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().to_str().expect("UTF-8 temp path");
    let r = run(&["demo", "--out", tmp]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, format!("demo store written to {tmp}\n"));
    assert!(Path::new(tmp).join("optsignal.toml").is_file());
    // The fresh folder has no stored weeks, and the note saying so names it.
    assert!(r.stdout.contains(tmp), "{}", r.stdout);
    check("demo.txt", &r.stdout.replace(tmp, "<tmp>"));
}

#[test]
fn errors_are_rendered_for_people() {
    let cases: &[&[&str]] = &[
        &["recommend", "-c", "fixtures/demo/no-such.toml"],
        &["recommend", "-c", DEMO, "--as-of", "2026-W99"],
        &["recommend", "-c", DEMO, "--width", "80", "--wide"],
        &["history", "--store", "fixtures/demo/no-such-store"],
        &["test-plan", "-c", DEMO, "--alpha", "2"],
        &["audience", "-c", DEMO, "--a", "no_such_event"],
        &["no-such-command"],
    ];
    let mut text = String::new();
    for args in cases {
        let r = run(args);
        text.push_str(&format!(
            "$ optsignal {}\nexit {}\n--- stdout\n{}--- stderr\n{}\n",
            args.join(" "),
            r.code,
            r.stdout,
            r.stderr
        ));
    }
    check("errors.txt", &text);
}

#[test]
fn help_texts() {
    let commands: &[&[&str]] = &[
        &[],
        &["recommend"],
        &["audit"],
        &["config"],
        &["config", "check"],
        &["demo"],
        &["history"],
        &["funnel"],
        &["test-plan"],
        &["experiment"],
        &["audience"],
        &["report"],
        &["pull"],
        &["bigquery"],
        &["bigquery", "sql"],
        &["bigquery", "estimate"],
    ];
    let mut text = String::new();
    for c in commands {
        let mut args = c.to_vec();
        args.push("--help");
        text.push_str(&format!(
            "$ optsignal {}\n{}\n",
            args.join(" "),
            stdout_of(&args)
        ));
    }
    check("help.txt", &text);
}
