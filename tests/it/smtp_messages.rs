//! SMTP failures say what happened and what to do: a temporary refusal says try later, a timeout
//! says it timed out (with the host and port), a connection dropped mid-message says so — none
//! of them blames email.from / email.to or claims the server could not be reached. Each drives
//! the real binary against the SMTP sink on loopback.

use crate::support;
use crate::util;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::smtp::{Behaviour, SmtpSink};
use util::{fixture, optsignal};

/// The demo config with an [email] section for the sink on `port`.
fn config(dir: &Path, port: u16, timeout_secs: u64) -> PathBuf {
    let demo = std::fs::read_to_string(fixture("demo/optsignal.toml")).unwrap();
    let head = demo.split("\n[email]").next().unwrap().replace(
        "path = \"events.csv.gz\"",
        &format!(
            "path = {:?}",
            fixture("demo/events.csv.gz").display().to_string()
        ),
    );
    let p = dir.join("optsignal.toml");
    std::fs::write(
        &p,
        format!(
            "{head}\n[email]\nfrom = \"r@x.example\"\nto = [\"b@x.example\"]\nhost = \"127.0.0.1\"\n\
             port = {port}\nsecurity = \"plain\"\ntimeout_secs = {timeout_secs}\n\
             [report]\nstate_dir = \"state\"\n"
        ),
    )
    .unwrap();
    p
}

/// `report --send` against a sink behaving as `b`; returns (exit code, stderr, port).
fn send(b: Behaviour, timeout_secs: u64) -> (Option<i32>, String, u16) {
    let sink = SmtpSink::start(b);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), sink.port(), timeout_secs);
    let out = optsignal()
        .args(["report", "--send", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(sink.messages().is_empty(), "nothing was accepted");
    assert!(!dir
        .path()
        .join("state")
        .join("demo-store-2026-W46.sent.json")
        .exists());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        sink.port(),
    )
}

#[test]
fn a_451_says_try_later_not_check_the_addresses() {
    let (code, stderr, port) = send(
        Behaviour {
            data_reply: Some("451 4.3.0 Mail server temporarily rejected message".into()),
            ..Default::default()
        },
        10,
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "SMTP server 127.0.0.1:{port} could not take the message now (451, a temporary failure)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("try again later"), "{stderr}");
    assert!(!stderr.contains("check email.from"), "{stderr}");
}

#[test]
fn a_timeout_says_it_timed_out_with_host_and_port() {
    let (code, stderr, port) = send(
        Behaviour {
            data_delay: Duration::from_secs(4),
            ..Default::default()
        },
        1,
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "SMTP server 127.0.0.1:{port} timed out: no answer within 1 s (email.timeout_secs)"
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Resource temporarily unavailable"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot connect"), "{stderr}");
}

#[test]
fn a_connection_dropped_during_data_says_so_not_cannot_connect() {
    let (code, stderr, port) = send(
        Behaviour {
            drop_after_data: true,
            ..Default::default()
        },
        10,
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the connection to SMTP server 127.0.0.1:{port} dropped before the server confirmed the message"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot connect"), "{stderr}");
}
