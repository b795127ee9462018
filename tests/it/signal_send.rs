//! `optsignal signal export --send` on the demo store against protocol peers on loopback
//! (issue 16 item 3): a wiremock server plays the Meta Conversions API (`POST
//! /{pixel}/events`, answering `events_received`, with one HTTP 429 first), Google's OAuth token
//! endpoint and `customers/{id}:uploadClickConversions` (partial failure: every conversion
//! whose orderId ends in `0` is refused with CLICK_NOT_FOUND, as a real unmatched click would be
//! on every try), and the GA4 Measurement Protocol. Two runs: every accepted event is delivered
//! once across both, the refused rows are reported row by row each time (exit 1), and no secret
//! appears in any output or state file.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::util::{fixture, optsignal};

const META_TOKEN: &str = "EAAB-send-test-token-never-shown";
const GA4_SECRET: &str = "ga4-mp-secret-never-shown";
const DEV_TOKEN: &str = "dev-token-never-shown";
const CLIENT_SECRET: &str = "client-secret-never-shown";
const REFRESH: &str = "refresh-token-never-shown";
const BEARER: &str = "ya29.upload-bearer-never-shown";
const SECRETS: [&str; 6] = [
    META_TOKEN,
    GA4_SECRET,
    DEV_TOKEN,
    CLIENT_SECRET,
    REFRESH,
    BEARER,
];

/// The demo config with absolute data paths and every destination pointed at `base`.
fn config(dir: &Path, base: &str) -> PathBuf {
    let demo = fixture("demo");
    let text = std::fs::read_to_string(demo.join("optsignal.toml")).unwrap();
    let abs = |name: &str| demo.join(name).display().to_string().replace('\\', "/");
    let text = text
        .replace(
            "path = \"events.csv.gz\"",
            &format!("path = \"{}\"", abs("events.csv.gz")),
        )
        .replace(
            "path = \"identified.csv.gz\"",
            &format!("path = \"{}\"", abs("identified.csv.gz")),
        )
        .replace(
            "[signal.meta]\n",
            &format!("[signal.meta]\nbase_url = \"{base}/v25.0\"\n"),
        )
        .replace(
            "[signal.ga4]\n",
            &format!("[signal.ga4]\nbase_url = \"{base}\"\n"),
        );
    let text = format!(
        "{text}\n[fetch]\nretries = 2\nbackoff_ms = 1\n[signal.google_ads.credentials]\nclient_id = \"client.apps.googleusercontent.com\"\ndeveloper_token_env = \"SEND_DEV\"\nclient_secret_env = \"SEND_CLIENT_SECRET\"\nrefresh_token_env = \"SEND_REFRESH\"\nbase_url = \"{base}/v26\"\ntoken_url = \"{base}/token\"\n"
    );
    let p = dir.join("optsignal.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn meta_answer(req: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    let n = body["data"].as_array().map_or(0, Vec::len);
    ResponseTemplate::new(200)
        .set_body_json(json!({"events_received": n, "messages": [], "fbtrace_id": "AbCdEfGh"}))
}

fn google_answer(req: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    let convs = body["conversions"].as_array().unwrap();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, c) in convs.iter().enumerate() {
        if c["orderId"].as_str().unwrap().ends_with('0') {
            results.push(json!({}));
            errors.push(json!({
                "errorCode": {"conversionUploadError": "CLICK_NOT_FOUND"},
                "message": "The click can't be found.",
                "location": {"fieldPathElements": [
                    {"fieldName": "conversions", "index": i},
                    {"fieldName": "gclid"}
                ]}
            }));
        } else {
            results.push(json!({
                "gclid": c["gclid"],
                "conversionAction": c["conversionAction"],
                "conversionDateTime": c["conversionDateTime"]
            }));
        }
    }
    let mut answer = json!({"results": results, "jobId": "7"});
    if !errors.is_empty() {
        answer["partialFailureError"] = json!({
            "code": 3,
            "message": "Multiple errors in ‘details’. First error: The click can't be found.",
            "details": [{
                "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                "errors": errors
            }]
        });
    }
    ResponseTemplate::new(200).set_body_json(answer)
}

async fn peers() -> MockServer {
    let server = MockServer::start().await;
    // The first Conversions API request is throttled once, then answered.
    Mock::given(method("POST"))
        .and(path("/v25.0/1234567890123456/events"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/1234567890123456/events"))
        .respond_with(meta_answer)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": BEARER, "expires_in": 3599})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            r"^/v26/customers/1234567890:uploadClickConversions$",
        ))
        .respond_with(google_answer)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/mp/collect"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

fn run(config: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let o = optsignal()
        .args(["--quiet", "signal", "export", "-c"])
        .arg(config)
        .args(extra)
        .env("DEMO_META_CAPI_TOKEN", META_TOKEN)
        .env("DEMO_GA4_API_SECRET", GA4_SECRET)
        .env("SEND_DEV", DEV_TOKEN)
        .env("SEND_CLIENT_SECRET", CLIENT_SECRET)
        .env("SEND_REFRESH", REFRESH)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    for s in SECRETS {
        assert!(!stdout.contains(s) && !stderr.contains(s), "{s} shown");
    }
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (o.status.code(), v, stderr)
}

fn delivery<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["delivery"]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == id)
        .unwrap_or_else(|| panic!("no {id} delivery in {v}"))
}

/// Requests the peer received on `p`, with their bodies.
async fn bodies(server: &MockServer, p: &str) -> Vec<(String, Value)> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .map(|r| {
            (
                r.url.query().unwrap_or("").to_string(),
                serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_delivers_each_event_once_and_reports_refused_rows() {
    let server = peers().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server.uri());

    let (code, first, stderr) = run(&cfg, &["--send"]);
    assert_eq!(code, Some(1), "a refused row exits 1:\n{stderr}");
    let events = |id: &str| {
        first["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["destination"] == id)
            .unwrap()["events"]
            .as_u64()
            .unwrap() as usize
    };
    let (n_meta, n_ads, n_ga4) = (events("meta"), events("google_ads"), events("ga4"));
    // The demo's 422 Meta events fit one request; the 1,000 limit is checked on 2,500 items in
    // deliver::signal's unit tests.
    assert!(n_meta > 100, "{n_meta}");
    assert!(n_ads > 10 && n_ga4 > 10, "{n_ads} {n_ga4}");

    // Meta: batches of at most 1000, the token as access_token, the 429 retried.
    let meta = delivery(&first, "meta");
    assert_eq!(meta["accepted"], n_meta);
    assert_eq!(meta["requests"], n_meta.div_ceil(1000));
    assert!(meta["rejected"].as_array().unwrap().is_empty());
    let got = bodies(&server, "/v25.0/1234567890123456/events").await;
    assert_eq!(got.len(), n_meta.div_ceil(1000) + 1, "one 429 retried");
    assert!(got
        .iter()
        .all(|(q, b)| q.contains(META_TOKEN) && b["data"].as_array().unwrap().len() <= 1000));

    // Google Ads: refused rows reported one by one, with their code and row.
    let ads = delivery(&first, "google_ads");
    let refused = ads["rejected"].as_array().unwrap();
    assert!(!refused.is_empty(), "{ads}");
    assert_eq!(
        ads["accepted"].as_u64().unwrap() as usize + refused.len(),
        n_ads
    );
    for r in refused {
        assert_eq!(r["code"], "CLICK_NOT_FOUND");
        assert!(r["event_id"].as_str().unwrap().ends_with('0'));
        assert_eq!(r["request"], 1);
    }
    assert!(stderr.contains("refused: request 1 row"), "{stderr}");
    let calls = bodies(&server, "/v26/customers/1234567890:uploadClickConversions").await;
    assert_eq!(calls[0].1["partialFailure"], true);

    // GA4: one Measurement Protocol body per unit, api_secret in the query only.
    let ga4 = delivery(&first, "ga4");
    assert_eq!(ga4["accepted"], n_ga4);
    let mp = bodies(&server, "/mp/collect").await;
    assert_eq!(mp.len(), n_ga4);
    assert!(mp[0].0.contains("measurement_id=G-DEMO12345") && mp[0].0.contains(GA4_SECRET));

    // Second run: nothing accepted before is sent again; the refused rows are tried again.
    let (code, second, stderr) = run(&cfg, &["--send"]);
    assert_eq!(code, Some(1), "{stderr}");
    let meta2 = delivery(&second, "meta");
    assert_eq!(meta2["already_sent"], n_meta);
    assert_eq!(meta2["requests"], 0);
    let ads2 = delivery(&second, "google_ads");
    assert_eq!(ads2["already_sent"], ads["accepted"]);
    assert_eq!(ads2["rejected"].as_array().unwrap().len(), refused.len());
    assert_eq!(delivery(&second, "ga4")["already_sent"], n_ga4);
    let meta_events: usize = bodies(&server, "/v25.0/1234567890123456/events")
        .await
        .iter()
        .map(|(_, b)| b["data"].as_array().unwrap().len())
        .sum();
    // The 429'd request carried a batch that was not accepted: received = sent + that batch.
    assert_eq!(meta_events, n_meta + n_meta.min(1000));
    assert_eq!(bodies(&server, "/mp/collect").await.len(), n_ga4);

    // The sent-state names every accepted id and no secret.
    let state = dir.path().join("state/signal-sent");
    let mut ids = 0;
    for account in std::fs::read_dir(&state).unwrap() {
        for f in std::fs::read_dir(account.unwrap().path()).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            for s in SECRETS {
                assert!(!text.contains(s));
            }
            let v: Value = serde_json::from_str(&text).unwrap();
            ids += v["sent"]["meta"].as_array().map_or(0, Vec::len);
        }
    }
    assert_eq!(ids, n_meta);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_without_a_secret_stops_before_any_request() {
    let server = peers().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server.uri());
    let o = optsignal()
        .args(["--quiet", "signal", "export", "-c"])
        .arg(&cfg)
        .arg("--send")
        .env("DEMO_GA4_API_SECRET", GA4_SECRET)
        .env_remove("DEMO_META_CAPI_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("DEMO_META_CAPI_TOKEN") && stderr.contains("nothing was sent"),
        "{stderr}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
