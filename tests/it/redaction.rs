//! Every configured secret is redacted from every output, whatever the path that carries it:
//! each test drives the real binary with a known secret through one path (a config the TOML
//! parser rejects, an API error body that echoes the token, debug logs, documents, emails, the
//! model store and snapshots) and greps everything it wrote: stdout, stderr and every file.

use crate::support;
use crate::util;

use std::path::Path;

use support::mime;
use support::smtp::{Behaviour, SmtpSink};
use util::{fixture, optsignal};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every file under `dir`, as text (lossy), with its path.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            let bytes = std::fs::read(&p).unwrap_or_default();
            out.push((
                p.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    out
}

/// Asserts that no output of a run, and no file under `dir` other than the test's own inputs
/// (the config and secret files, which hold the secret on purpose), holds any of `secrets`.
fn assert_clean(out: &std::process::Output, dir: &Path, secrets: &[&str]) {
    const INPUTS: [&str; 3] = ["bad.toml", "optsignal.toml", "pw"];
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for s in secrets {
        assert!(!stdout.contains(s), "{s} leaked on stdout:\n{stdout}");
        assert!(!stderr.contains(s), "{s} leaked on stderr:\n{stderr}");
        for (name, text) in files_under(dir) {
            if INPUTS.iter().any(|i| Path::new(&name).ends_with(i)) {
                continue;
            }
            assert!(!text.contains(s), "{s} leaked into {name}");
        }
    }
}

#[test]
fn a_toml_parse_error_names_line_and_key_but_never_echoes_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[email]\nhost = \"x\"\npassword = hunter2-very-secret\n",
    )
    .unwrap();
    for args in [
        vec!["recommend", "-c"],
        vec!["config", "check", "-c"],
        vec!["audit", "-c"],
        vec!["report", "-c"],
    ] {
        let out = optsignal().args(&args).arg(&cfg).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("line 3, column 12") && stderr.contains("key `password`"),
            "{args:?}: {stderr}"
        );
        assert_clean(&out, dir.path(), &["hunter2"]);
    }
}

const META_TOKEN: &str = "EAAB-redaction-test-token-0123456789";
const META_ENV: &str = "TEST_REDACTION_META_TOKEN";

fn meta_config(dir: &Path, base: &str) -> std::path::PathBuf {
    let text = format!(
        r#"account = "Demo store"
[source]
path = "{}"
[analysis]
candidates = ["view_item", "add_to_cart", "begin_checkout"]
[[platforms]]
id = "meta"
[fetch]
weeks = 4
last_week = "2026-W46"
retries = 0
[meta]
account_id = "act_1234567890"
access_token_env = "{META_ENV}"
base_url = "{base}"
"#,
        fixture("demo/events.csv.gz").display()
    );
    let p = dir.join("optsignal.toml");
    std::fs::write(&p, text).unwrap();
    p
}

async fn run(
    dir: &Path,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
) -> std::process::Output {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut c = optsignal();
        c.current_dir(&dir);
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(&args).output().expect("runs")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_error_body_that_echoes_the_token_is_redacted_everywhere() {
    let server = MockServer::start().await;
    let body = format!(
        r#"{{"error":{{"message":"Invalid OAuth access token: {META_TOKEN}","type":"OAuthException","code":190,"fbtrace_id":"x"}}}}"#
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = meta_config(dir.path(), &server.uri()).display().to_string();
    for args in [
        vec!["-vv", "recommend", "-c", &cfg],
        vec!["-vv", "pull", "-c", &cfg, "--out", "snaps"],
        vec!["-vv", "audit", "-c", &cfg, "-f", "json"],
    ] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let out = run(
            dir.path(),
            args.clone(),
            vec![(META_ENV, META_TOKEN.into())],
        )
        .await;
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            all.contains("Invalid OAuth access token: ***"),
            "{args:?}: the message is kept, the token masked: {all}"
        );
        assert_clean(&out, dir.path(), &[META_TOKEN]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_debug_level_every_secret_value_is_masked_not_only_access_token() {
    let server = MockServer::start().await;
    let secrets = [
        "dev-token-redaction-1",
        "client-secret-redaction-2",
        "refresh-redaction-3",
    ];
    // An OAuth server that quotes the whole request back in a plain-text error.
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            "bad request: client_secret={} refresh_token={} developer-token={}",
            secrets[1], secrets[2], secrets[0]
        )))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let base = server.uri();
    let cfg = dir.path().join("ads.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"account = "Demo store"
[source]
path = "{}"
[[platforms]]
id = "google_ads"
[fetch]
weeks = 4
last_week = "2026-W46"
retries = 0
[google_ads]
customer_id = "123-456-7890"
developer_token_env = "TEST_R_DEV"
client_id = "1234.apps.googleusercontent.com"
client_secret_env = "TEST_R_SECRET"
refresh_token_env = "TEST_R_REFRESH"
base_url = "{base}"
token_url = "{base}/token"
"#,
            fixture("demo/events.csv.gz").display()
        ),
    )
    .unwrap();
    let env = vec![
        ("TEST_R_DEV", secrets[0].to_string()),
        ("TEST_R_SECRET", secrets[1].to_string()),
        ("TEST_R_REFRESH", secrets[2].to_string()),
    ];
    let cfg = cfg.display().to_string();
    for args in [
        vec!["-vv", "recommend", "-c", &cfg],
        vec!["-vv", "pull", "-c", &cfg],
    ] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let out = run(dir.path(), args.clone(), env.clone()).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("client_secret=***"), "{args:?}: {stderr}");
        assert_clean(&out, dir.path(), &secrets);
    }
}

#[test]
fn documents_emails_store_and_logs_never_carry_a_configured_secret() {
    // A secret that also appears in the report's own text (here the account name): the report
    // renderers, the .eml, the sent email, the store and the terminal must all mask it.
    let secret = "Pw-known-secret-77";
    let sink = SmtpSink::start(Behaviour {
        credentials: Some(("u".into(), secret.into())),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(fixture("demo/optsignal.toml")).unwrap();
    let head = demo.split("\n[email]").next().unwrap().replace(
        "path = \"events.csv.gz\"",
        &format!(
            "path = {:?}",
            fixture("demo/events.csv.gz").display().to_string()
        ),
    );
    let head = head.replace(
        "account = \"Demo store\"",
        &format!("account = \"Shop {secret}\""),
    );
    assert!(head.contains(secret), "the demo config names its account");
    std::fs::write(dir.path().join("pw"), format!("{secret}\n")).unwrap();
    let cfg = dir.path().join("optsignal.toml");
    std::fs::write(
        &cfg,
        format!(
            "{head}\n[email]\nfrom = \"r@x.example\"\nto = [\"b@x.example\"]\n\
             host = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nusername = \"u\"\npassword_file = \"pw\"\n\
             [report]\nstate_dir = \"state\"\n",
            sink.port()
        ),
    )
    .unwrap();
    let runs: [&[&str]; 7] = [
        &["recommend", "--save", "-c"],
        &["recommend", "-f", "json", "-c"],
        &["report", "-f", "html", "-c"],
        &["report", "--out", "out", "-c"],
        &["report", "--dry-run", "--out", "eml", "-c"],
        &["-vv", "report", "--send", "-c"],
        &["audit", "-f", "md", "-c"],
    ];
    for args in runs {
        let out = optsignal()
            .current_dir(dir.path())
            .args(args)
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(&out, dir.path(), &[secret]);
    }
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1, "the email went out");
    let msg = mime::parse(&msgs[0].data);
    let text = String::from_utf8_lossy(&msg.find("text/plain").unwrap().decoded()).into_owned();
    let html = String::from_utf8_lossy(&msg.find("text/html").unwrap().decoded()).into_owned();
    for part in [&msgs[0].data, &text, &html] {
        assert!(!part.contains(secret), "the email carries the secret");
    }
    assert!(text.contains("Shop ***"), "{text}");
}
