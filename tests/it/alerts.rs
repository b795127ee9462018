//! Slack and webhook alerts end to end: the real binary on the demo store (sign_up breaks in
//! 2026-W45, so W46's report flags it), against a loopback HTTP peer started by each test.

use crate::support;
use crate::util;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::smtp::{Behaviour, SmtpSink};
use util::{fixture, optsignal};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SLACK_PATH: &str = "/services/T0TEST/B0TEST/slack-secret-XYZ123";
const HOOK_PATH: &str = "/hooks/ops-secret-ABC789";
const TOKEN: &str = "bearer-secret-QWE456";
const SLACK_ENV: &str = "TEST_ALERTS_SLACK_URL";
const TOKEN_ENV: &str = "TEST_ALERTS_OPS_TOKEN";

/// The demo config (absolute event path, no `[email]` unless given) with `[report]` state in
/// `state/` and the given `[alerts]` text.
fn config(dir: &Path, email: Option<&str>, alerts: &str) -> PathBuf {
    let demo = std::fs::read_to_string(fixture("demo/optsignal.toml")).unwrap();
    let head = demo.split("\n[email]").next().unwrap();
    let events = fixture("demo/events.csv.gz");
    let head = head.replace(
        "path = \"events.csv.gz\"",
        &format!("path = {:?}", events.display().to_string()),
    );
    let email = email.map_or(String::new(), |e| format!("[email]\n{e}\n"));
    let text = format!("{head}\n{email}[report]\nstate_dir = \"state\"\n\n{alerts}\n");
    let p = dir.join("optsignal.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// A Slack target (URL from the environment) and a webhook target (URL from a file, bearer
/// token from the environment) that wants only breaks; quick retries.
fn both_targets(dir: &Path, server: &MockServer, report_url: bool) -> String {
    std::fs::write(
        dir.join("ops-url"),
        format!("{}{HOOK_PATH}\n", server.uri()),
    )
    .unwrap();
    format!(
        "[alerts]\n{}retries = 2\nbackoff_ms = 1\n\n\
         [[alerts.targets]]\nname = \"agency-slack\"\nkind = \"slack\"\nurl_env = \"{SLACK_ENV}\"\n\n\
         [[alerts.targets]]\nname = \"ops\"\nkind = \"webhook\"\nurl_file = \"ops-url\"\n\
         token_env = \"{TOKEN_ENV}\"\nfindings = [\"broken_surge\", \"tracking_break\"]\n",
        if report_url {
            "report_url = \"https://reports.example/{{ slug }}/{{ week }}.html\"\n"
        } else {
            ""
        }
    )
}

fn slack_url(server: &MockServer) -> String {
    format!("{}{SLACK_PATH}", server.uri())
}

async fn run(dir: &Path, server: &MockServer, args: &[&str]) -> std::process::Output {
    let dir = dir.to_path_buf();
    let url = slack_url(server);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        optsignal()
            .current_dir(&dir)
            .env(SLACK_ENV, url)
            .env(TOKEN_ENV, TOKEN)
            .args(&args)
            .output()
            .expect("runs")
    })
    .await
    .unwrap()
}

async fn report_send(dir: &Path, server: &MockServer, extra: &[&str]) -> std::process::Output {
    let cfg = dir.join("optsignal.toml").display().to_string();
    let mut args = vec!["report", "--config", &cfg, "--send"];
    args.extend_from_slice(extra);
    run(dir, server, &args).await
}

async fn ok_at(server: &MockServer, p: &str) {
    Mock::given(method("POST"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(server)
        .await;
}

async fn bodies(server: &MockServer, p: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn alert_state(dir: &Path) -> Option<Value> {
    let p = dir.join("state/demo-store-d62b30b1-2026-W46.alerts.json");
    let text = std::fs::read_to_string(p).ok()?;
    Some(serde_json::from_str(&text).unwrap())
}

/// The ids recorded for a target in the alert state.
fn recorded(state: &Value, target: &str) -> Vec<String> {
    state["targets"][target]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|f| f["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_of_the_same_week_send_each_finding_once() {
    let server = MockServer::start().await;
    ok_at(&server, SLACK_PATH).await;
    ok_at(&server, HOOK_PATH).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), None, &both_targets(dir.path(), &server, true));

    let out = report_send(dir.path(), &server, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "quiet for cron: {}",
        stderr(&out)
    );
    let slack = bodies(&server, SLACK_PATH).await;
    let hook = bodies(&server, HOOK_PATH).await;
    assert_eq!((slack.len(), hook.len()), (1, 1));
    let state = alert_state(dir.path()).expect("alert state written");
    let sent_slack = recorded(&state, "agency-slack");
    assert!(
        sent_slack.contains(&"broken_surge sign_up".to_string()),
        "{sent_slack:?}"
    );
    assert!(
        sent_slack.contains(&"recommendation_change meta add_to_cart".to_string()),
        "{sent_slack:?}"
    );
    // The webhook asked only for breaks: no not_predictive, no recommendation change.
    let sent_hook = recorded(&state, "ops");
    assert!(sent_hook.contains(&"broken_surge sign_up".to_string()));
    assert!(
        sent_hook
            .iter()
            .all(|id| id.starts_with("broken_surge ") || id.starts_with("tracking_break ")),
        "{sent_hook:?}"
    );

    // The generic body: documented fields, names exact, the token as a bearer header.
    let b = &hook[0];
    assert_eq!(b["schema"], "optsignal.alert/1");
    assert_eq!(
        (b["account"].as_str(), b["week"].as_str()),
        (Some("Demo store"), Some("2026-W46"))
    );
    assert_eq!(b["target"], "ops");
    assert_eq!(
        b["report_url"],
        "https://reports.example/demo-store-d62b30b1/2026-W46.html"
    );
    assert_eq!(b["findings"][0]["id"], "broken_surge sign_up");
    assert_eq!(b["findings"][0]["event"], "sign_up");
    assert!(b["headline"]
        .as_str()
        .unwrap()
        .starts_with("sign_up broken_surge: "));
    let req = server.received_requests().await.unwrap();
    let hook_req = req.iter().find(|r| r.url.path() == HOOK_PATH).unwrap();
    assert_eq!(
        hook_req
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("Bearer {TOKEN}")
    );

    // The same week again: every finding was sent, nothing goes out.
    let out = report_send(dir.path(), &server, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(alert_state(dir.path()).unwrap(), state, "state untouched");

    // --force sends the week's findings again.
    let out = report_send(dir.path(), &server, &["--force"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slack_message_is_block_kit_with_the_headline_finding_and_the_link() {
    let server = MockServer::start().await;
    ok_at(&server, SLACK_PATH).await;
    ok_at(&server, HOOK_PATH).await;
    for link in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        config(dir.path(), None, &both_targets(dir.path(), &server, link));
        server.reset().await;
        ok_at(&server, SLACK_PATH).await;
        ok_at(&server, HOOK_PATH).await;
        let out = report_send(dir.path(), &server, &[]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let slack = bodies(&server, SLACK_PATH).await;
        assert_eq!(slack.len(), 1);
        let m = &slack[0];
        let blocks = m["blocks"].as_array().expect("a blocks array");
        let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "section", "context"]);
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        assert_eq!(
            blocks[0]["text"]["text"],
            "optsignal · Demo store · 2026-W46"
        );
        assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
        let section = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(
            section.starts_with("*sign_up broken_surge: since 2026-W45"),
            "{section}"
        );
        // Data text is escaped for mrkdwn: the only `<` opens the report link.
        assert_eq!(section.matches('<').count(), usize::from(link), "{section}");
        assert!(
            section.contains("Meta: switch sign_up → add_to_cart"),
            "{section}"
        );
        let link_text =
            "<https://reports.example/demo-store-d62b30b1/2026-W46.html|Open the report>";
        assert_eq!(section.ends_with(link_text), link, "{section}");
        let context = blocks[2]["elements"][0]["text"].as_str().unwrap();
        assert!(
            context.starts_with("2026-W46 · account Demo store · "),
            "{context}"
        );
        assert!(m["text"].as_str().unwrap().contains("sign_up broken_surge"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_as_retry_after_says_and_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "0")
                .set_body_string("rate_limited"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    ok_at(&server, SLACK_PATH).await;
    ok_at(&server, HOOK_PATH).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), None, &both_targets(dir.path(), &server, false));
    let out = report_send(dir.path(), &server, &["-v"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("HTTP 429 (rate limited): rate_limited; retry 1 in 0.0 s"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        bodies(&server, SLACK_PATH).await.len(),
        2,
        "one 429, one 200"
    );
    assert!(!recorded(&alert_state(dir.path()).unwrap(), "agency-slack").is_empty());
    let out = report_send(dir.path(), &server, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(bodies(&server, SLACK_PATH).await.len(), 2, "sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_leave_the_findings_unsent_and_the_next_run_sends_them() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_string("rollup_error"))
        .mount(&server)
        .await;
    ok_at(&server, HOOK_PATH).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), None, &both_targets(dir.path(), &server, false));
    let out = report_send(dir.path(), &server, &[]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed alert shows in the exit code"
    );
    let err = stderr(&out);
    assert!(
        err.contains("alert target \"agency-slack\" did not take the message after 3 attempt(s)")
            && err.contains("HTTP 500: rollup_error")
            && err.contains("the next run retries"),
        "{err}"
    );
    assert_eq!(
        bodies(&server, SLACK_PATH).await.len(),
        3,
        "first try and 2 retries"
    );
    let state = alert_state(dir.path()).expect("the webhook's send is recorded");
    assert!(
        recorded(&state, "agency-slack").is_empty(),
        "Slack not marked sent"
    );
    assert!(
        !recorded(&state, "ops").is_empty(),
        "the other target is not held back"
    );

    server.reset().await;
    ok_at(&server, SLACK_PATH).await;
    ok_at(&server, HOOK_PATH).await;
    let out = report_send(dir.path(), &server, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        bodies(&server, SLACK_PATH).await.len(),
        1,
        "the next run sends"
    );
    assert!(
        bodies(&server, HOOK_PATH).await.is_empty(),
        "ops was sent already"
    );
    assert!(!recorded(&alert_state(dir.path()).unwrap(), "agency-slack").is_empty());
}

/// Every file under `dir`, as text, with its name.
fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            out.push((p, text));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_webhook_url_or_token_appears_in_any_output_even_at_debug_level() {
    let server = MockServer::start().await;
    // Slack refuses, echoing the URL it was called on; the webhook echoes the token it got.
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(
            ResponseTemplate::new(404).set_body_string(format!("no_service: {SLACK_PATH}")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(503).set_body_string(format!("down; you sent Bearer {TOKEN}")),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), None, &both_targets(dir.path(), &server, true));
    let out = report_send(dir.path(), &server, &["-vv"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "alert target \"agency-slack\" refused the message (HTTP 404): no_service: ***"
        ),
        "{err}"
    );
    assert!(
        err.contains("alert target \"ops\" did not take the message"),
        "{err}"
    );
    assert!(err.lines().count() > 10, "-vv logs: {err}");
    // A second run whose URL names a closed port: the transport error names no URL either.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::write(
        dir.path().join("ops-url"),
        format!("http://127.0.0.1:{closed}{HOOK_PATH}"),
    )
    .unwrap();
    let out2 = report_send(dir.path(), &server, &["-vv"]).await;
    assert_eq!(out2.status.code(), Some(1));
    let secrets = [
        SLACK_PATH,
        HOOK_PATH,
        TOKEN,
        "slack-secret-XYZ123",
        "ops-secret-ABC789",
    ];
    for o in [&out, &out2] {
        let (so, se) = (String::from_utf8_lossy(&o.stdout), stderr(o));
        for s in secrets {
            assert!(!so.contains(s), "{s} on stdout: {so}");
            assert!(!se.contains(s), "{s} on stderr: {se}");
        }
    }
    for (p, text) in files_under(dir.path()) {
        if p.ends_with("optsignal.toml") || p.ends_with("ops-url") {
            continue;
        }
        for s in secrets {
            assert!(!text.contains(s), "{s} in {}", p.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_failure_does_not_stop_the_alerts_nor_an_alert_failure_the_email() {
    let server = MockServer::start().await;
    ok_at(&server, SLACK_PATH).await;
    ok_at(&server, HOOK_PATH).await;
    // No SMTP server on this port: the email fails.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let email = |port: u16| {
        format!(
            "from = \"optsignal <reports@demo-store.example>\"\nto = [\"buyer@demo-store.example\"]\n\
             host = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\ntimeout_secs = 5"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let alerts = both_targets(dir.path(), &server, false);
    config(dir.path(), Some(&email(closed)), &alerts);
    let out = report_send(dir.path(), &server, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot connect to SMTP server"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        bodies(&server, SLACK_PATH).await.len(),
        1,
        "alerts went out"
    );
    assert!(!dir
        .path()
        .join("state/demo-store-d62b30b1-2026-W46.sent.json")
        .exists());

    // The reverse: the email goes through, Slack refuses.
    let sink = SmtpSink::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let alerts = both_targets(dir.path(), &server, false);
    config(dir.path(), Some(&email(sink.port())), &alerts);
    server.reset().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(410).set_body_string("channel_is_archived"))
        .mount(&server)
        .await;
    ok_at(&server, HOOK_PATH).await;
    let out = report_send(dir.path(), &server, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(HTTP 410): channel_is_archived"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sink.messages().len(), 1, "the email went out");
    assert!(dir
        .path()
        .join("state/demo-store-d62b30b1-2026-W46.sent.json")
        .exists());
    assert_eq!(
        bodies(&server, SLACK_PATH).await.len(),
        1,
        "a 410 is not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_send_alerts_each_account_once() {
    let server = MockServer::start().await;
    ok_at(&server, HOOK_PATH).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ops-url"),
        format!("{}{HOOK_PATH}", server.uri()),
    )
    .unwrap();
    let events = fixture("demo/events.csv.gz").display().to_string();
    let text = format!(
        "[defaults.report]\nstate_dir = \"state\"\n\
         [defaults.alerts]\nbackoff_ms = 1\n\
         [[defaults.alerts.targets]]\nname = \"ops\"\nkind = \"webhook\"\nurl_file = \"ops-url\"\nfindings = [\"broken_surge\"]\n\
         [[defaults.platforms]]\nid = \"meta\"\nad_sets = 2\nattributed_share = 0.6\noptimizing_on = \"sign_up\"\n\
         [[accounts]]\nname = \"Bluebird Candles\"\n[accounts.source]\npath = {events:?}\n\
         [[accounts]]\nname = \"Northwind Outfitters\"\n[accounts.source]\npath = {events:?}\n"
    );
    let cfg = dir.path().join("agency.toml");
    std::fs::write(&cfg, text).unwrap();
    let cfg = cfg.display().to_string();
    let args = ["audit", "--config", cfg.as_str(), "--send"];
    let out = run(dir.path(), &server, &args).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "critical findings: {}",
        stderr(&out)
    );
    let mut accounts: Vec<String> = bodies(&server, HOOK_PATH)
        .await
        .iter()
        .map(|b| b["account"].as_str().unwrap().to_string())
        .collect();
    accounts.sort();
    assert_eq!(accounts, ["Bluebird Candles", "Northwind Outfitters"]);
    let out = run(dir.path(), &server, &args).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        bodies(&server, HOOK_PATH).await.len(),
        2,
        "once per account and week"
    );
}

#[test]
fn config_check_names_every_alerts_problem() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = "[alerts]\nreport_url = \"reports.example/x\"\nretries = 99\ncolour = \"red\"\n\n\
        [[alerts.targets]]\nkind = \"teams\"\nurl = \"https://hooks.slack.com/services/T/B/literal-secret\"\n\n\
        [[alerts.targets]]\nkind = \"slack\"\nurl_env = \"TEST_ALERTS_SURELY_UNSET\"\ntoken_env = \"X\"\nfindings = [\"broken_surge\", \"weather\"]\n\n\
        [[alerts.targets]]\nkind = \"webhook\"\nurl_file = \"no-such-file\"\n\n\
        [[alerts.targets]]\nkind = \"webhook\"\n";
    let cfg = config(dir.path(), None, alerts);
    let out = optsignal()
        .args(["config", "check", "--config"])
        .arg(&cfg)
        .env_remove("TEST_ALERTS_SURELY_UNSET")
        .env_remove("X")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "alerts.colour",
        "alerts.report_url",
        "alerts.retries",
        "alerts.targets[0].kind",
        "alerts.targets[0].url:",
        "alerts.targets[1].token_env",
        "alerts.targets[1].findings[1]",
        "alerts.targets[1].url_env: the environment variable TEST_ALERTS_SURELY_UNSET is not set",
        "alerts.targets[2].url_file",
        "alerts.targets[3].url_env",
    ] {
        assert!(text.contains(key), "{key} not named:\n{text}");
    }
    assert!(!text.contains("literal-secret"), "{text}");
}
