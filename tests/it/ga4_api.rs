//! The GA4 Data API source (`source.kind = "ga4_api"`) end to end against a protocol peer on
//! loopback: a wiremock server plays Google's OAuth token endpoint (the service-account JWT
//! bearer grant) and `properties/{id}:runReport`, and the real `optsignal` binary reads its weekly
//! volumes through `[ga4] base_url`. Nothing here reaches the internet.
//!
//! The service account is fake: its RSA key is generated at test time (aws-lc-rs), written to a
//! temporary key file whose `token_uri` points at the mock, and discarded with the test. It grants
//! nothing anywhere.

use crate::util;

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ACCESS_TOKEN: &str = "ya29.ga4-sa-token-must-never-leak";
const CLIENT_EMAIL: &str = "optsignal-test@optsignal-test.iam.gserviceaccount.com";
const REPORT: &str = "/properties/123456789:runReport";
const SCOPE: &str = "https://www.googleapis.com/auth/analytics.readonly";

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(util::fixture(&format!("http/{name}"))).expect("fixture")
}

fn json_response(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(fixture_text(name), "application/json")
}

/// A config with `source.kind = "ga4_api"` (no event log) and a Meta platform to recommend for.
fn config(dir: &Path, base: &str, key: &Path, page_size: u32) -> PathBuf {
    let text = format!(
        r#"account = "Demo store"
[source]
kind = "ga4_api"
[analysis]
candidates = ["add_to_cart", "begin_checkout", "add_payment_info", "sign_up"]
[[platforms]]
id = "meta"
ad_sets = 2
attributed_share = 0.6
[fetch]
weeks = 4
last_week = "2026-W46"
retries = 2
backoff_ms = 10
[ga4]
property_id = "123456789"
key_file = "{}"
base_url = "{base}"
page_size = {page_size}
"#,
        key.display()
    );
    let p = dir.join("optsignal.toml");
    std::fs::write(&p, text).expect("config written");
    p
}

async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
        ))
        .and(body_string_contains("assertion="))
        .respond_with(json_response(200, "ga4_sa_token.json"))
        .mount(server)
        .await;
}

/// The two report pages: offset 0 (12 rows, thresholded) and offset 12 (9 rows, one of them
/// "(other)"), `rowCount` 21.
async fn mount_pages(server: &MockServer) {
    for (offset, file) in [
        ("0", "ga4_report_page1.json"),
        ("12", "ga4_report_page2.json"),
    ] {
        Mock::given(method("POST"))
            .and(path(REPORT))
            .and(header(
                "authorization",
                format!("Bearer {ACCESS_TOKEN}").as_str(),
            ))
            .and(body_string_contains(
                format!(r#""offset":"{offset}""#).as_str(),
            ))
            .and(body_string_contains(r#""limit":"12""#))
            .respond_with(json_response(200, file))
            .mount(server)
            .await;
    }
}

/// Runs the binary (blocking) off the async runtime that serves the mock.
async fn run(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || util::optsignal().args(&args).output().expect("runs"))
        .await
        .expect("joined")
}

fn recommend_args(cfg: &Path, json: bool) -> Vec<String> {
    let mut a = vec!["-vv".to_string(), "recommend".into(), "-c".into()];
    a.push(cfg.display().to_string());
    if json {
        a.extend(["-f".to_string(), "json".to_string()]);
    }
    a
}

fn requests_to<'a>(all: &'a [Request], p: &str) -> Vec<&'a Request> {
    all.iter().filter(|r| r.url.path() == p).collect()
}

/// Neither the access token nor any line of the private key appears in `text`.
fn assert_no_secret(text: &str, pem: &str) {
    assert!(!text.contains(ACCESS_TOKEN), "the access token leaked");
    assert!(!text.contains("ga4-sa-token"), "the access token leaked");
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(line), "the private key leaked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_volumes_from_two_pages_with_thresholding_notes_and_no_model() {
    let server = MockServer::start().await;
    let base = server.uri();
    mount_token(&server).await;
    mount_pages(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let (key, pem, keypair) =
        util::fake_service_account(dir.path(), &format!("{base}/token"), CLIENT_EMAIL);
    let cfg = config(dir.path(), &base, &key, 12);
    let out = run(recommend_args(&cfg, true)).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_no_secret(&stdout, &pem);
    assert_no_secret(&stderr, &pem);
    let report: Value = serde_json::from_str(&stdout).unwrap();

    // Both pages were read, in order, with one token (cached across pages).
    let all = server.received_requests().await.unwrap();
    let pages = requests_to(&all, REPORT);
    assert_eq!(
        pages.len(),
        2,
        "offset 0 then offset 12, then stop at rowCount 21"
    );
    let first: Value = serde_json::from_slice(&pages[0].body).unwrap();
    assert_eq!(first["offset"], "0");
    assert_eq!(first["dateRanges"][0]["startDate"], "2026-10-19");
    assert_eq!(first["dateRanges"][0]["endDate"], "2026-11-15");
    assert_eq!(first["dimensions"][0]["name"], "isoYearIsoWeek");
    let asked: Vec<&str> = first["dimensionFilter"]["filter"]["inListFilter"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(asked.contains(&"purchase") && asked.contains(&"add_to_cart"));
    let tokens = requests_to(&all, "/token");
    assert_eq!(tokens.len(), 1, "the token is cached across pages");

    // The token request is a JWT bearer grant signed with the service account's key.
    let form = String::from_utf8_lossy(&tokens[0].body).to_string();
    // Form-encoded; gcp_auth pads its base64url segments ("=" → "%3D").
    let jwt = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("assertion="))
        .expect("assertion")
        .replace("%3D", "=");
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims: Value =
        serde_json::from_slice(&b64.decode(parts[1].trim_end_matches('=')).unwrap()).unwrap();
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(claims["scope"], SCOPE);
    assert_eq!(claims["aud"], format!("{base}/token"));
    {
        use aws_lc_rs::signature::{KeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
        let public = UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            keypair.public_key().as_ref().to_vec(),
        );
        let signature = b64.decode(parts[2].trim_end_matches('=')).unwrap();
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the JWT is signed with the service account's key");
    }

    // Weekly volumes parsed from the API's strings, both pages complete.
    assert_eq!(report["input"]["file"], "GA4 Data API, property 123456789");
    let weekly = report["weekly"].as_array().unwrap();
    let weeks: Vec<&str> = weekly.iter().map(|w| w["week"].as_str().unwrap()).collect();
    assert_eq!(weeks, ["2026-W43", "2026-W44", "2026-W45", "2026-W46"]);
    let purchases: Vec<u64> = weekly
        .iter()
        .map(|w| w["purchase"]["events"].as_u64().unwrap())
        .collect();
    assert_eq!(purchases, [58, 61, 55, 63]);
    let atc = util::proxy(&report, "add_to_cart");
    let atc_weeks: Vec<u64> = atc["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["events"].as_u64().unwrap())
        .collect();
    assert_eq!(atc_weeks, [1532, 1610, 1498, 1575]);
    // sign_up of W46 is on the second page (rows 12.. of 21).
    let su = util::proxy(&report, "sign_up");
    assert_eq!(su["weekly"][3]["events"], 388);
    // "(other)" is kept apart, never added to an event.
    assert_eq!(report["input"]["other_events"]["(other)"], 17);

    // GA4's data-quality flags from either page become notes.
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("GA4 property 123456789: the report is subject to thresholding"),
        "{notes}"
    );
    assert!(notes.contains("folded into \\\"(other)\\\""), "{notes}");
    assert!(
        notes.contains("the proxy model cannot be fitted"),
        "{notes}"
    );
    // Aggregates are not "weeks without events" nor "funnel steps never seen".
    assert!(!notes.contains("have no events at all"), "{notes}");
    assert!(!notes.contains("funnel steps never seen"), "{notes}");

    // No invented precision: aggregates hold no per-unit outcomes.
    for p in report["proxies"].as_array().unwrap() {
        assert_eq!(p["precision"], Value::Null, "{}", p["event"]);
        assert_eq!(p["lift"], Value::Null, "{}", p["event"]);
        assert_eq!(p["adjusted"], Value::Null, "{}", p["event"]);
        assert_eq!(
            p["estimability"]["status"], "not_estimable",
            "{}",
            p["event"]
        );
        assert_eq!(p["flags"][0]["kind"], "insufficient_data");
        assert!(
            p["flags"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("no event-level data"),
            "{}",
            p["flags"][0]
        );
    }
    // ...so no proxy is recommended on volume alone; purchase does not clear 50 a week per ad
    // set at 59 × 0.6 / 2.
    let rec = &report["recommendations"][0];
    assert_eq!(rec["event"], Value::Null, "{rec}");
    assert_eq!(report["pulled"]["ga4"]["subject_to_thresholding"], true);
    assert_eq!(report["pulled"]["ga4"]["data_loss_from_other_row"], true);
    assert_eq!(
        report["pulled"]["ga4"]["rows"].as_array().unwrap().len(),
        21
    );

    // The table says the same for people.
    let out = run(recommend_args(&cfg, false)).await;
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(table.contains("cannot be fitted"), "{table}");
    assert!(table.contains("thresholding"), "{table}");
    assert_no_secret(&table, &pem);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_renewed_once_and_a_429_is_retried() {
    let server = MockServer::start().await;
    let base = server.uri();
    mount_token(&server).await;
    // First call: the token is rejected (as if it expired). Second: quota exhausted, retry
    // after 1 s. Then the pages.
    Mock::given(method("POST"))
        .and(path(REPORT))
        .respond_with(json_response(401, "google_unauthenticated.json"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(REPORT))
        .respond_with(
            json_response(429, "ga4_resource_exhausted.json").insert_header("Retry-After", "1"),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    mount_pages(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let (key, pem, _) =
        util::fake_service_account(dir.path(), &format!("{base}/token"), CLIENT_EMAIL);
    let cfg = config(dir.path(), &base, &key, 12);
    let started = std::time::Instant::now();
    let out = run(recommend_args(&cfg, true)).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert!(stderr.contains("RESOURCE_EXHAUSTED"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_no_secret(&stdout, &pem);
    assert_no_secret(&stderr, &pem);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let purchases: Vec<u64> = report["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["purchase"]["events"].as_u64().unwrap())
        .collect();
    assert_eq!(purchases, [58, 61, 55, 63]);
    let all = server.received_requests().await.unwrap();
    assert_eq!(
        requests_to(&all, "/token").len(),
        2,
        "renewed once after the 401"
    );
    assert_eq!(
        requests_to(&all, REPORT).len(),
        4,
        "401, 429, then the two pages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_denied_names_the_property_and_the_api_message_and_is_not_retried() {
    let server = MockServer::start().await;
    let base = server.uri();
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path(REPORT))
        .respond_with(json_response(403, "ga4_permission_denied.json"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (key, pem, _) =
        util::fake_service_account(dir.path(), &format!("{base}/token"), CLIENT_EMAIL);
    let cfg = config(dir.path(), &base, &key, 12);
    let out = run(recommend_args(&cfg, false)).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for needle in [
        "account \"Demo store\"",
        "GA4 Data API",
        "property 123456789",
        "HTTP 403",
        "User does not have sufficient permissions for this property",
        "PERMISSION_DENIED",
    ] {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
    assert_no_secret(&stdout, &pem);
    assert_no_secret(&stderr, &pem);
    let all = server.received_requests().await.unwrap();
    assert_eq!(requests_to(&all, REPORT).len(), 1, "a 403 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_aliases_reach_the_data_api_filter() {
    let server = MockServer::start().await;
    let base = server.uri();
    mount_token(&server).await;
    // The property logs `signup`; [source.aliases] says it is sign_up. The filter must ask for
    // it, and its rows count as sign_up.
    for (offset, file) in [
        ("0", "ga4_report_page1.json"),
        ("12", "ga4_report_page2.json"),
    ] {
        let body = fixture_text(file).replace(r#""sign_up""#, r#""signup""#);
        Mock::given(method("POST"))
            .and(path(REPORT))
            .and(body_string_contains(
                format!(r#""offset":"{offset}""#).as_str(),
            ))
            .and(body_string_contains(r#""signup""#))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, _pem, _keypair) =
        util::fake_service_account(dir.path(), &format!("{base}/token"), CLIENT_EMAIL);
    let cfg = config(dir.path(), &base, &key, 12);
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("[source.aliases]\nsign_up = [\"signup\"]\n");
    std::fs::write(&cfg, text).unwrap();
    let out = run(recommend_args(&cfg, true)).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let su = util::proxy(&report, "sign_up");
    assert_eq!(su["weekly"][3]["events"], 388, "{su}");
    assert!(report["input"]["other_events"].get("signup").is_none());
}
