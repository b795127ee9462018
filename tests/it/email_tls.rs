//! `optsignal report --send` over STARTTLS and implicit TLS, end to end: the real binary, the
//! demo store, and the loopback SMTP server of tests/it/support/smtp.rs securing its sessions with
//! the throwaway certificate in fixtures/tls/ (signed by fixtures/tls/ca.pem, which no platform
//! trusts, so only `[email] ca_file` makes it trusted).

use crate::support;
use crate::util;

use std::path::{Path, PathBuf};

use support::smtp::{test_ca, Behaviour, Security, SmtpSink};
use support::state::sent_files;
use util::{fixture, optsignal};

const SECRET: &str = "tls-only-correct-horse-battery-staple";

/// The demo config with an absolute event path, the given `[email]` body and a state folder
/// in `dir`.
fn config(dir: &Path, email: &str) -> PathBuf {
    let demo = std::fs::read_to_string(fixture("demo/optsignal.toml")).unwrap();
    let head = demo.split("\n[email]").next().unwrap();
    let events = fixture("demo/events.csv.gz");
    let head = head.replace(
        "path = \"events.csv.gz\"",
        &format!("path = {:?}", events.display().to_string()),
    );
    let text = format!("{head}\n[email]\n{email}\n[report]\nstate_dir = \"state\"\n");
    let p = dir.join("optsignal.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `[email]` for the sink at `port` with `security`, authenticating with the password from
/// `TEST_SMTP_TLS_PASSWORD`, plus `extra` lines.
fn email(port: u16, security: &str, extra: &str) -> String {
    format!(
        "from = \"optsignal <reports@demo-store.example>\"\n\
         to = [\"buyer@demo-store.example\"]\n\
         host = \"127.0.0.1\"\nport = {port}\nsecurity = \"{security}\"\ntimeout_secs = 10\n\
         username = \"reports\"\npassword_env = \"TEST_SMTP_TLS_PASSWORD\"\n{extra}"
    )
}

fn sink(security: Security) -> SmtpSink {
    SmtpSink::start(Behaviour {
        credentials: Some(("reports".into(), SECRET.into())),
        security,
        ..Default::default()
    })
}

/// `optsignal report --send -vv` with the password in the environment; (exit code, stdout,
/// stderr).
fn send(cfg: &Path) -> (Option<i32>, String, String) {
    let out = optsignal()
        .args(["report", "--send", "-vv", "--config"])
        .arg(cfg)
        .env("TEST_SMTP_TLS_PASSWORD", SECRET)
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn position(verbs: &[String], verb: &str) -> usize {
    verbs
        .iter()
        .position(|v| v == verb || v.starts_with(&format!("{verb} ")))
        .unwrap_or_else(|| panic!("no {verb} in {verbs:?}"))
}

#[test]
fn starttls_with_the_test_ca_delivers_inside_tls_and_marks_the_week_sent() {
    let sink = sink(Security::StartTls);
    let dir = tempfile::tempdir().unwrap();
    // Relative to the config file, like the other paths.
    std::fs::copy(test_ca(), dir.path().join("test-ca.pem")).unwrap();
    let cfg = config(
        dir.path(),
        &email(sink.port(), "starttls", "ca_file = \"test-ca.pem\"\n"),
    );
    let (code, stdout, stderr) = send(&cfg);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains(SECRET) && !stdout.contains(SECRET));

    let verbs = sink.verbs();
    let starttls = position(&verbs, "STARTTLS");
    assert!(starttls < position(&verbs, "AUTH"), "{verbs:?}");
    assert!(starttls < position(&verbs, "MAIL"), "{verbs:?}");
    assert_eq!(
        verbs.get(starttls + 1).map(String::as_str),
        Some("EHLO"),
        "lettre greets again inside TLS: {verbs:?}"
    );
    for (i, c) in sink.commands().iter().enumerate() {
        assert_eq!(c.encrypted, i > starttls, "{c:?} in {verbs:?}");
    }
    assert!(sink.tls_failures().is_empty(), "{:?}", sink.tls_failures());

    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].encrypted, "the message crossed inside TLS");
    assert_eq!(msgs[0].auth_encrypted, Some(true), "AUTH inside TLS");
    assert_eq!(msgs[0].auth_user.as_deref(), Some("reports"));
    assert_eq!(msgs[0].rcpt_to, vec!["buyer@demo-store.example"]);
    assert!(msgs[0].data.contains("multipart/alternative"));
    assert_eq!(
        sent_files(dir.path()),
        vec!["demo-store-d62b30b1-2026-W46.sent.json"]
    );

    // The sent-state works as for plain SMTP: the same week again sends nothing.
    let (code, _, stderr) = send(&cfg);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn implicit_tls_with_the_test_ca_delivers_encrypted_from_the_first_byte() {
    let sink = sink(Security::Implicit);
    let dir = tempfile::tempdir().unwrap();
    let ca = format!("ca_file = {:?}\n", test_ca().display().to_string());
    let cfg = config(dir.path(), &email(sink.port(), "tls", &ca));
    let (code, _, stderr) = send(&cfg);
    assert_eq!(code, Some(0), "{stderr}");
    let commands = sink.commands();
    assert!(!commands.is_empty());
    assert!(
        commands.iter().all(|c| c.encrypted),
        "every command inside TLS: {commands:?}"
    );
    assert!(
        !sink.verbs().contains(&"STARTTLS".to_string()),
        "{commands:?}"
    );
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].encrypted);
    assert_eq!(msgs[0].auth_encrypted, Some(true));
    assert_eq!(
        sent_files(dir.path()),
        vec!["demo-store-d62b30b1-2026-W46.sent.json"]
    );
}

#[test]
fn an_untrusted_certificate_fails_cleanly_naming_the_host_and_sends_nothing() {
    let sink = sink(Security::StartTls);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &email(sink.port(), "starttls", ""));
    let (code, stdout, stderr) = send(&cfg);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot connect to SMTP server 127.0.0.1:{}",
            sink.port()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("TLS") && stderr.contains("certificate"),
        "{stderr}"
    );
    assert!(
        stderr.contains("email.ca_file"),
        "points at the fix: {stderr}"
    );
    assert!(!stderr.contains(SECRET), "the password leaked: {stderr}");
    assert!(!stdout.contains(SECRET));
    // The client got as far as the handshake and aborted it: no credentials, no message.
    assert!(sink.verbs().contains(&"STARTTLS".to_string()));
    assert!(!sink.tls_failures().is_empty(), "the handshake was refused");
    let verbs = sink.verbs();
    assert!(
        !verbs.iter().any(|v| v.starts_with("AUTH") || v == "MAIL"),
        "{verbs:?}"
    );
    assert_eq!(sink.auth_failures(), 0);
    assert!(sink.messages().is_empty());
    assert!(sent_files(dir.path()).is_empty(), "the week stays unsent");
}

#[test]
fn starttls_is_never_downgraded_when_the_server_does_not_offer_it() {
    // A plain server that would accept AUTH and the message without TLS.
    let sink = sink(Security::Plain);
    let dir = tempfile::tempdir().unwrap();
    let ca = format!("ca_file = {:?}\n", test_ca().display().to_string());
    let cfg = config(dir.path(), &email(sink.port(), "starttls", &ca));
    let (code, stdout, stderr) = send(&cfg);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot connect to SMTP server 127.0.0.1:{}",
            sink.port()
        )) && stderr.contains("STARTTLS is not supported")
            && stderr.contains("never falls back"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET) && !stdout.contains(SECRET));
    let verbs = sink.verbs();
    assert!(
        !verbs.iter().any(|v| v.starts_with("AUTH") || v == "MAIL"),
        "nothing sent in plain text: {verbs:?}"
    );
    assert!(sink.messages().is_empty());
    assert!(sent_files(dir.path()).is_empty());
}

#[test]
fn an_unusable_ca_file_is_a_configuration_error_naming_it() {
    let sink = sink(Security::StartTls);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("garbage.pem"), "not a certificate\n").unwrap();
    std::fs::write(
        dir.path().join("broken.pem"),
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    for (file, words) in [
        ("missing.pem", "cannot read it"),
        ("garbage.pem", "no PEM certificate"),
        ("broken.pem", "not a valid PEM certificate file"),
    ] {
        let cfg = config(
            dir.path(),
            &email(sink.port(), "starttls", &format!("ca_file = \"{file}\"\n")),
        );
        let (code, _, stderr) = send(&cfg);
        assert_eq!(code, Some(2), "{file}: {stderr}");
        let path = dir.path().join(file);
        assert!(
            stderr.contains("email.ca_file") && stderr.contains(&path.display().to_string()),
            "{file}: {stderr}"
        );
        assert!(stderr.contains(words), "{file}: {stderr}");
    }
    assert_eq!(
        sink.connections(),
        0,
        "no connection with an unusable CA file"
    );
    assert!(sent_files(dir.path()).is_empty());

    // A misspelt key is caught with a suggestion.
    let cfg = config(
        dir.path(),
        &email(sink.port(), "starttls", "ca_fil = \"ca.pem\"\n"),
    );
    let (code, _, stderr) = send(&cfg);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("did you mean \"ca_file\""), "{stderr}");
}
