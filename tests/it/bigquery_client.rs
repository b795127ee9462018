//! The BigQuery REST client (`source::bigquery::client`) against a protocol peer on loopback: a
//! wiremock server plays Google's OAuth token endpoint (the service-account JWT bearer grant),
//! `jobs.query` (`POST /projects/{p}/queries`), `jobs.getQueryResults`
//! (`GET /projects/{p}/queries/{jobId}`) and `jobs.cancel`. Nothing here reaches the internet.
//!
//! The service account is fake: its RSA key is generated at test time (aws-lc-rs), written to a
//! temporary key file whose `token_uri` points at the mock, and discarded with the test.

use crate::util;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use optsignal::source::bigquery::client::{
    BigQueryClient, BigQueryError, BigQuerySpec, QueryParam,
};
use optsignal::source::http::{Http, HttpSettings};
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ACCESS_TOKEN: &str = "ya29.bq-sa-token-must-never-leak";
const CLIENT_EMAIL: &str = "optsignal-bq-test@optsignal-test.iam.gserviceaccount.com";
const SCOPE: &str = "https://www.googleapis.com/auth/bigquery";
const PROJECT: &str = "bq-billing";
const QUERIES: &str = "/projects/bq-billing/queries";
const ACCOUNT: &str = "Demo store";
const SQL: &str = "SELECT iso_week, event_name, events, revenue FROM t WHERE _TABLE_SUFFIX BETWEEN @start AND @end AND event_name IN UNNEST(@events)";

/// A mock server with the token endpoint mounted, and a key file pointing at it.
struct Peer {
    server: MockServer,
    key: PathBuf,
    pem: String,
    _dir: tempfile::TempDir,
}

async fn peer() -> Peer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (key, pem, _) =
        util::fake_service_account(dir.path(), &format!("{}/token", server.uri()), CLIENT_EMAIL);
    Peer {
        server,
        key,
        pem,
        _dir: dir,
    }
}

impl Peer {
    /// Settings aimed at the mock: EU, 2 rows a page, quick polls, a 5 s deadline.
    fn spec(&self) -> BigQuerySpec {
        let mut s = BigQuerySpec::new(PROJECT, &self.key);
        s.base_url = self.server.uri();
        s.location = Some("EU".into());
        s.page_size = 2;
        s.wait = Duration::from_millis(1500);
        s.poll_interval = Duration::from_millis(10);
        s.job_timeout = Duration::from_secs(5);
        s
    }

    fn client(&self, spec: BigQuerySpec) -> BigQueryClient {
        let http = Http::new(HttpSettings {
            timeout: Duration::from_secs(10),
            retries: 2,
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            concurrency: 4,
            ..HttpSettings::default()
        })
        .expect("client");
        BigQueryClient::new(http, ACCOUNT, spec).expect("key file read")
    }

    async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.expect("recording")
    }

    /// Neither the access token nor any line of the private key appears in `text`.
    fn assert_no_secret(&self, text: &str) {
        assert!(
            !text.contains(ACCESS_TOKEN),
            "the access token leaked: {text}"
        );
        assert!(
            !text.contains("bq-sa-token"),
            "the access token leaked: {text}"
        );
        for line in self.pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "the private key leaked");
        }
    }

    /// The error's message and debug form, checked for secrets.
    fn text_of(&self, e: &BigQueryError) -> String {
        let text = e.to_string();
        self.assert_no_secret(&text);
        self.assert_no_secret(&format!("{e:?}"));
        text
    }
}

fn params() -> Vec<QueryParam> {
    vec![
        QueryParam::string("start", "20260101"),
        QueryParam::string("end", "20260131"),
        QueryParam::strings("events", ["add_to_cart", "purchase"]),
        QueryParam::int64("min_users", 5),
    ]
}

fn body_of(r: &Request) -> Value {
    serde_json::from_slice(&r.body).expect("JSON body")
}

fn is_dry(r: &Request) -> bool {
    body_of(r).get("dryRun") == Some(&json!(true))
}

/// Matches a `jobs.query` POST that is not a dry run.
fn not_dry(r: &Request) -> bool {
    serde_json::from_slice::<Value>(&r.body).is_ok_and(|b| b.get("dryRun").is_none())
}

fn has_no_page_token(r: &Request) -> bool {
    !r.url.query_pairs().any(|(k, _)| k == "pageToken")
}

fn query_of(r: &Request, key: &str) -> Option<String> {
    r.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn bearer(r: &Request) -> Option<String> {
    r.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn to(all: &[Request], p: &str) -> usize {
    all.iter().filter(|r| r.url.path() == p).count()
}

fn schema() -> Value {
    json!({"fields": [
        {"name": "iso_week", "type": "STRING", "mode": "NULLABLE"},
        {"name": "event_name", "type": "STRING", "mode": "NULLABLE"},
        {"name": "events", "type": "INTEGER", "mode": "NULLABLE"},
        {"name": "revenue", "type": "FLOAT", "mode": "NULLABLE"}]})
}

fn dry_answer(bytes: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "kind": "bigquery#queryResponse",
        "jobReference": {"projectId": PROJECT, "location": "EU"},
        "schema": schema(),
        "totalBytesProcessed": bytes,
        "jobComplete": true,
        "cacheHit": false
    }))
}

async fn mount_dry_run(p: &Peer, bytes: &str) {
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .and(body_partial_json(json!({"dryRun": true})))
        .respond_with(dry_answer(bytes))
        .expect(1)
        .mount(&p.server)
        .await;
}

/// A complete one-page answer with two rows.
fn complete_answer(job: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "kind": "bigquery#queryResponse",
        "jobComplete": true,
        "jobReference": {"projectId": PROJECT, "jobId": job, "location": "EU"},
        "schema": schema(),
        "rows": [
            {"f": [{"v": "2026-W02"}, {"v": "purchase"}, {"v": "58"}, {"v": "4120.5"}]},
            {"f": [{"v": "2026-W02"}, {"v": "add_to_cart"}, {"v": "1532"}, {"v": null}]}],
        "totalRows": "2",
        "totalBytesProcessed": "4096",
        "cacheHit": true
    }))
}

fn error_answer(status: u16, reason: &str, message: &str, gstatus: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason, "location": "query", "locationType": "other"}],
        "status": gstatus
    }}))
}

#[tokio::test]
async fn dry_run_sends_dry_run_and_standard_sql_and_returns_the_string_estimate() {
    let p = peer().await;
    mount_dry_run(&p, "1234567890").await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .and(not_dry)
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&p.server)
        .await;
    let client = p.client(p.spec());
    let dry = client.dry_run(SQL, &params()).await.expect("dry run");
    assert_eq!(dry.total_bytes_processed, 1_234_567_890);
    let names: Vec<&str> = dry.schema.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["iso_week", "event_name", "events", "revenue"]);

    let all = p.requests().await;
    let posts: Vec<&Request> = all.iter().filter(|r| r.url.path() == QUERIES).collect();
    assert_eq!(posts.len(), 1);
    let body = body_of(posts[0]);
    assert_eq!(body["dryRun"], true);
    assert_eq!(body["useLegacySql"], false);
    assert_eq!(body["query"], SQL);
    assert_eq!(body["location"], "EU");
    assert_eq!(body["parameterMode"], "NAMED");
    let qp = body["queryParameters"].as_array().expect("parameters");
    assert_eq!(qp.len(), 4);
    assert_eq!(
        qp[2],
        json!({"name": "events",
               "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
               "parameterValue": {"arrayValues": [{"value": "add_to_cart"}, {"value": "purchase"}]}})
    );
    assert_eq!(
        qp[3],
        json!({"name": "min_users", "parameterType": {"type": "INT64"}, "parameterValue": {"value": "5"}})
    );
    assert_eq!(
        bearer(posts[0]).as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    // The token is registered as a secret the moment it is fetched (as GA4's is): any output
    // that would show it shows a mask instead.
    let line = format!("debug: Authorization: Bearer {ACCESS_TOKEN}");
    assert!(!optsignal::secret::redact(&line).contains(ACCESS_TOKEN));

    // The token came from a JWT bearer grant asking for the BigQuery scope.
    let tokens: Vec<&Request> = all.iter().filter(|r| r.url.path() == "/token").collect();
    assert_eq!(tokens.len(), 1);
    let form = String::from_utf8_lossy(&tokens[0].body).to_string();
    assert!(form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"));
    let jwt = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("assertion="))
        .expect("assertion")
        .replace("%3D", "=");
    let claims = jwt.split('.').nth(1).expect("claims");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims: Value =
        serde_json::from_slice(&b64.decode(claims.trim_end_matches('=')).unwrap()).unwrap();
    assert_eq!(claims["scope"], SCOPE);
    assert_eq!(claims["iss"], CLIENT_EMAIL);
}

#[tokio::test]
async fn an_estimate_over_the_limit_is_refused_before_any_job_starts() {
    let p = peer().await;
    mount_dry_run(&p, "5000000000").await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .and(not_dry)
        .respond_with(complete_answer("job_should_not_run"))
        .expect(0)
        .mount(&p.server)
        .await;
    let mut spec = p.spec();
    spec.maximum_bytes_billed = Some(1_000_000_000);
    let e = p.client(spec).query(SQL, &params()).await.unwrap_err();
    match &e {
        BigQueryError::BytesBilledLimit {
            estimate,
            limit,
            message,
            ..
        } => {
            assert_eq!(*estimate, Some(5_000_000_000));
            assert_eq!(*limit, Some(1_000_000_000));
            assert_eq!(*message, None, "refused here, not by BigQuery");
        }
        other => panic!("expected BytesBilledLimit, got {other:?}"),
    }
    let text = p.text_of(&e);
    for needle in [
        "5000000000",
        "1000000000",
        "no job was started",
        "account \"Demo store\"",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
    let all = p.requests().await;
    let started = all
        .iter()
        .filter(|r| r.url.path() == QUERIES && !is_dry(r))
        .count();
    assert_eq!(started, 0, "no job may start over the limit");
    assert_eq!(to(&all, QUERIES), 1, "only the dry run");
}

#[tokio::test]
async fn an_unfinished_job_is_polled_then_paged_and_every_row_comes_back_in_order() {
    let p = peer().await;
    mount_dry_run(&p, "2048").await;
    let job = format!("{QUERIES}/job_abc");
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .and(not_dry)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "bigquery#queryResponse",
            "jobComplete": false,
            "jobReference": {"projectId": PROJECT, "jobId": "job_abc", "location": "EU"}
        })))
        .expect(1)
        .mount(&p.server)
        .await;
    // The first poll: still running. The second: done, first page and a token.
    Mock::given(method("GET"))
        .and(path(job.as_str()))
        .and(has_no_page_token)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "bigquery#getQueryResultsResponse",
            "jobComplete": false,
            "jobReference": {"projectId": PROJECT, "jobId": "job_abc", "location": "EU"}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&p.server)
        .await;
    Mock::given(method("GET"))
        .and(path(job.as_str()))
        .and(has_no_page_token)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "bigquery#getQueryResultsResponse",
            "jobComplete": true,
            "jobReference": {"projectId": PROJECT, "jobId": "job_abc", "location": "EU"},
            "schema": schema(),
            "rows": [
                {"f": [{"v": "2026-W01"}, {"v": "add_to_cart"}, {"v": "1532"}, {"v": null}]},
                {"f": [{"v": "2026-W01"}, {"v": "purchase"}, {"v": "58"}, {"v": "4120.5"}]}],
            "totalRows": "3",
            "pageToken": "tok-2",
            "totalBytesProcessed": "2048",
            "totalBytesBilled": "10485760",
            "cacheHit": false
        })))
        .with_priority(2)
        .mount(&p.server)
        .await;
    Mock::given(method("GET"))
        .and(path(job.as_str()))
        .and(query_param("pageToken", "tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "bigquery#getQueryResultsResponse",
            "jobComplete": true,
            "jobReference": {"projectId": PROJECT, "jobId": "job_abc", "location": "EU"},
            "schema": schema(),
            "rows": [{"f": [{"v": "2026-W02"}, {"v": "add_to_cart"}, {"v": "1610"}, {"v": null}]}],
            "totalRows": "3"
        })))
        .expect(1)
        .mount(&p.server)
        .await;
    let mut spec = p.spec();
    spec.maximum_bytes_billed = Some(10_000_000_000);
    let r = p.client(spec).query(SQL, &params()).await.expect("query");

    assert_eq!(r.job_id.as_deref(), Some("job_abc"));
    assert_eq!(r.location.as_deref(), Some("EU"));
    assert_eq!(r.total_rows, 3);
    assert_eq!(r.total_bytes_processed, Some(2048));
    assert_eq!(r.total_bytes_billed, Some(10_485_760));
    assert!(!r.cache_hit);
    let (week, event, events, revenue) = (
        r.column("iso_week").unwrap(),
        r.column("event_name").unwrap(),
        r.column("events").unwrap(),
        r.column("revenue").unwrap(),
    );
    assert_eq!(r.schema[events].field_type, "INTEGER");
    let got: Vec<(&str, &str, u64, Option<f64>)> = r
        .rows
        .iter()
        .map(|row| {
            (
                row[week].as_deref().unwrap(),
                row[event].as_deref().unwrap(),
                // INT64 arrives as a string; the caller parses it.
                row[events].as_deref().unwrap().parse().unwrap(),
                row[revenue].as_deref().map(|v| v.parse().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("2026-W01", "add_to_cart", 1532, None),
            ("2026-W01", "purchase", 58, Some(4120.5)),
            ("2026-W02", "add_to_cart", 1610, None),
        ]
    );
    let e = r.column("users").unwrap_err();
    assert!(matches!(e, BigQueryError::MissingColumn { .. }), "{e:?}");

    let all = p.requests().await;
    let calls: Vec<&Request> = all.iter().filter(|r| r.url.path() != "/token").collect();
    let shape: Vec<(String, bool)> = calls
        .iter()
        .map(|r| (r.method.to_string(), r.url.path() == QUERIES))
        .collect();
    assert_eq!(
        shape,
        [
            ("POST".to_string(), true),
            ("POST".to_string(), true),
            ("GET".to_string(), false),
            ("GET".to_string(), false),
            ("GET".to_string(), false),
        ],
        "dry run, jobs.query, two polls, one more page"
    );
    assert!(is_dry(calls[0]) && !is_dry(calls[1]));
    let body = body_of(calls[1]);
    assert_eq!(body["useLegacySql"], false);
    assert_eq!(
        body["maximumBytesBilled"], "10000000000",
        "int64 as a string"
    );
    assert_eq!(body["location"], "EU");
    assert_eq!(body["maxResults"], 2);
    assert_eq!(body["timeoutMs"], 1500);
    assert_eq!(body["formatOptions"]["useInt64Timestamp"], true);
    assert_eq!(body["parameterMode"], "NAMED");
    assert_eq!(body["queryParameters"].as_array().unwrap().len(), 4);
    assert!(body["requestId"].as_str().is_some_and(|s| s.len() == 36));
    for get in &calls[2..] {
        assert_eq!(
            query_of(get, "location").as_deref(),
            Some("EU"),
            "{}",
            get.url
        );
        assert_eq!(
            query_of(get, "maxResults").as_deref(),
            Some("2"),
            "{}",
            get.url
        );
        assert_eq!(
            query_of(get, "formatOptions.useInt64Timestamp").as_deref(),
            Some("true")
        );
        assert!(query_of(get, "timeoutMs").is_some(), "{}", get.url);
    }
    assert_eq!(query_of(calls[2], "pageToken"), None);
    assert_eq!(query_of(calls[3], "pageToken"), None);
    assert_eq!(query_of(calls[4], "pageToken").as_deref(), Some("tok-2"));
    for c in &calls {
        assert_eq!(
            bearer(c).as_deref(),
            Some(format!("Bearer {ACCESS_TOKEN}").as_str()),
            "{}",
            c.url
        );
    }
    assert_eq!(to(&all, "/token"), 1, "the token is cached across calls");
}

#[tokio::test]
async fn query_pages_hands_over_each_page_and_keeps_no_rows() {
    let p = peer().await;
    let job = format!("{QUERIES}/job_pages");
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "jobComplete": true,
            "jobReference": {"projectId": PROJECT, "jobId": "job_pages", "location": "EU"},
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]},
            "rows": [{"f": [{"v": "1"}]}, {"f": [{"v": "2"}]}],
            "totalRows": "3",
            "pageToken": "p2"
        })))
        .mount(&p.server)
        .await;
    Mock::given(method("GET"))
        .and(path(job.as_str()))
        .and(query_param("pageToken", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "jobComplete": true,
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]},
            "rows": [{"f": [{"v": "3"}]}],
            "totalRows": "3"
        })))
        .expect(1)
        .mount(&p.server)
        .await;
    let mut pages: Vec<Vec<String>> = Vec::new();
    let r = p
        .client(p.spec())
        .query_pages("SELECT n FROM t", &[], |schema, rows| {
            assert_eq!(schema[0].name, "n");
            pages.push(rows.into_iter().map(|r| r[0].clone().unwrap()).collect());
            Ok(())
        })
        .await
        .expect("query");
    assert_eq!(pages, [vec!["1", "2"], vec!["3"]]);
    assert!(r.rows.is_empty());
    assert_eq!(r.total_rows, 3);
    let all = p.requests().await;
    let post = all.iter().find(|r| r.url.path() == QUERIES).unwrap();
    let body = body_of(post);
    assert_eq!(body.get("parameterMode"), None, "no parameters, no mode");
    assert_eq!(body.get("maximumBytesBilled"), None, "no limit set");
}

#[tokio::test]
async fn bigquerys_bytes_billed_limit_is_the_same_typed_error_and_not_retried() {
    let p = peer().await;
    mount_dry_run(&p, "1000").await;
    let message = "Query exceeded limit for bytes billed: 20971520. 31457280 or higher required.";
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .and(not_dry)
        .respond_with(error_answer(
            400,
            "bytesBilledLimitExceeded",
            message,
            "INVALID_ARGUMENT",
        ))
        .mount(&p.server)
        .await;
    let mut spec = p.spec();
    spec.maximum_bytes_billed = Some(20_971_520);
    let e = p.client(spec).query(SQL, &params()).await.unwrap_err();
    match &e {
        BigQueryError::BytesBilledLimit {
            estimate,
            limit,
            message: Some(m),
            ..
        } => {
            assert_eq!(*estimate, Some(1000));
            assert_eq!(*limit, Some(20_971_520));
            assert!(m.contains(message), "{m}");
        }
        other => panic!("expected BytesBilledLimit from BigQuery, got {other:?}"),
    }
    assert_eq!(e.reason(), Some("bytesBilledLimitExceeded"));
    let text = p.text_of(&e);
    assert!(text.contains(message), "{text}");
    let all = p.requests().await;
    let posts = all
        .iter()
        .filter(|r| r.url.path() == QUERIES && !is_dry(r))
        .count();
    assert_eq!(posts, 1, "a 400 is not retried");
}

#[tokio::test]
async fn an_invalid_query_carries_bigquerys_message_and_location_and_is_not_retried() {
    let p = peer().await;
    let message = "Syntax error: Unexpected identifier \"SELEC\" at [1:1]";
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(error_answer(
            400,
            "invalidQuery",
            message,
            "INVALID_ARGUMENT",
        ))
        .mount(&p.server)
        .await;
    let e = p.client(p.spec()).query("SELEC 1", &[]).await.unwrap_err();
    match &e {
        BigQueryError::Rejected {
            status,
            reason,
            location,
            ..
        } => {
            assert_eq!(*status, Some(400));
            assert_eq!(reason, "invalidQuery");
            assert_eq!(location.as_deref(), Some("query"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    let text = p.text_of(&e);
    for needle in [
        message,
        "account \"Demo store\"",
        "BigQuery API",
        "project bq-billing",
        "HTTP 400",
        "invalidQuery",
        "(at query)",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
    assert_eq!(to(&p.requests().await, QUERIES), 1, "a 400 is not retried");
}

#[tokio::test]
async fn access_denied_is_not_retried_and_names_the_roles_needed() {
    let p = peer().await;
    let message =
        "Access Denied: Project bq-billing: User does not have bigquery.jobs.create permission in project bq-billing.";
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(error_answer(
            403,
            "accessDenied",
            message,
            "PERMISSION_DENIED",
        ))
        .mount(&p.server)
        .await;
    let e = p.client(p.spec()).query(SQL, &params()).await.unwrap_err();
    assert_eq!(e.reason(), Some("accessDenied"));
    let text = p.text_of(&e);
    assert!(text.contains(message), "{text}");
    assert!(text.contains("roles/bigquery.jobUser"), "{text}");
    assert_eq!(
        to(&p.requests().await, QUERIES),
        1,
        "a 403 accessDenied is not retried"
    );
}

#[tokio::test]
async fn a_503_is_retried_with_the_same_request_id_so_no_second_job_starts() {
    let p = peer().await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": {
            "code": 503, "message": "The service is currently unavailable.",
            "errors": [{"message": "The service is currently unavailable.", "domain": "global", "reason": "backendError"}],
            "status": "UNAVAILABLE"}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&p.server)
        .await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(complete_answer("job_retry"))
        .with_priority(2)
        .mount(&p.server)
        .await;
    // Run on another task: the client's futures are Send.
    let client = Arc::new(p.client(p.spec()));
    let task = {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.query(SQL, &params()).await })
    };
    let r = task.await.expect("joined").expect("retried");
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.rows[1][2].as_deref(), Some("1532"));
    assert_eq!(r.rows[1][3], None, "NULL is None");
    assert!(r.cache_hit);
    assert_eq!(r.total_bytes_processed, Some(4096));
    assert_eq!(r.total_bytes_billed, None, "not reported, not invented");
    let all = p.requests().await;
    let posts: Vec<Value> = all
        .iter()
        .filter(|r| r.url.path() == QUERIES)
        .map(body_of)
        .collect();
    assert_eq!(posts.len(), 2, "503, then the retry");
    assert_eq!(posts[0]["requestId"], posts[1]["requestId"]);
}

#[tokio::test]
async fn a_rate_limit_403_is_retried() {
    let p = peer().await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(error_answer(
            403,
            "rateLimitExceeded",
            "Exceeded rate limits: too many api requests per user per method for this user_method.",
            "PERMISSION_DENIED",
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&p.server)
        .await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(complete_answer("job_rate"))
        .with_priority(2)
        .mount(&p.server)
        .await;
    let r = p
        .client(p.spec())
        .query(SQL, &params())
        .await
        .expect("retried");
    assert_eq!(r.job_id.as_deref(), Some("job_rate"));
    assert_eq!(to(&p.requests().await, QUERIES), 2);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once() {
    let p = peer().await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError", "location": "Authorization", "locationType": "header"}],
            "status": "UNAUTHENTICATED"}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&p.server)
        .await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .and(header(
            "authorization",
            format!("Bearer {ACCESS_TOKEN}").as_str(),
        ))
        .respond_with(complete_answer("job_renewed"))
        .with_priority(2)
        .mount(&p.server)
        .await;
    let r = p
        .client(p.spec())
        .query(SQL, &params())
        .await
        .expect("renewed");
    assert_eq!(r.job_id.as_deref(), Some("job_renewed"));
    let all = p.requests().await;
    assert_eq!(to(&all, "/token"), 2, "a fresh token after the 401");
    assert_eq!(to(&all, QUERIES), 2);
}

#[tokio::test]
async fn a_job_past_its_deadline_times_out_naming_the_job_and_is_cancelled() {
    let p = peer().await;
    let running = json!({
        "jobComplete": false,
        "jobReference": {"projectId": PROJECT, "jobId": "job_slow", "location": "EU"}
    });
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(ResponseTemplate::new(200).set_body_json(running.clone()))
        .mount(&p.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{QUERIES}/job_slow").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(running))
        .mount(&p.server)
        .await;
    let cancel = "/projects/bq-billing/jobs/job_slow/cancel";
    Mock::given(method("POST"))
        .and(path(cancel))
        .and(query_param("location", "EU"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"kind": "bigquery#jobCancelResponse"})),
        )
        .expect(1)
        .mount(&p.server)
        .await;
    // The deadline is real time (the client's tokio clock), so it leaves room for a loaded
    // machine: a second of polls every 20 ms (it must poll more than once), and a bound
    // far below the 10-minute default to show the deadline binds.
    let mut spec = p.spec();
    spec.job_timeout = Duration::from_secs(1);
    spec.poll_interval = Duration::from_millis(20);
    let started = std::time::Instant::now();
    let e = p.client(spec).query(SQL, &params()).await.unwrap_err();
    let took = started.elapsed();
    match &e {
        BigQueryError::Timeout { job_id, .. } => assert_eq!(job_id, "job_slow"),
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(took >= Duration::from_secs(1), "gave up early: {took:?}");
    assert!(
        took < Duration::from_secs(30),
        "the deadline did not bind: {took:?}"
    );
    let text = p.text_of(&e);
    assert!(text.contains("job job_slow"), "{text}");
    let all = p.requests().await;
    assert!(to(&all, &format!("{QUERIES}/job_slow")) >= 2, "it polled");
    assert_eq!(to(&all, cancel), 1);
}

#[tokio::test]
async fn job_errors_in_a_200_answer_are_errors() {
    let p = peer().await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "jobComplete": true,
            "jobReference": {"projectId": PROJECT, "jobId": "job_failed", "location": "EU"},
            "errors": [{"reason": "resourcesExceeded", "location": "query",
                        "message": "Resources exceeded during query execution: The query could not be executed in the allotted memory."}]
        })))
        .mount(&p.server)
        .await;
    let e = p.client(p.spec()).query(SQL, &params()).await.unwrap_err();
    match &e {
        BigQueryError::Rejected {
            status,
            job_id,
            reason,
            ..
        } => {
            assert_eq!(*status, None);
            assert_eq!(job_id.as_deref(), Some("job_failed"));
            assert_eq!(reason, "resourcesExceeded");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    let text = p.text_of(&e);
    assert!(
        text.contains("job job_failed failed: Resources exceeded"),
        "{text}"
    );
}

#[tokio::test]
async fn rows_short_of_total_rows_are_refused() {
    let p = peer().await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "jobComplete": true,
            "jobReference": {"projectId": PROJECT, "jobId": "job_short", "location": "EU"},
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]},
            "rows": [{"f": [{"v": "1"}]}, {"f": [{"v": "2"}]}],
            "totalRows": "5"
        })))
        .mount(&p.server)
        .await;
    let e = p
        .client(p.spec())
        .query("SELECT n FROM t", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            BigQueryError::RowCount {
                read: 2,
                total: 5,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(p.text_of(&e).contains("job job_short"));
}

#[tokio::test]
async fn a_nested_cell_is_refused_naming_its_column() {
    let p = peer().await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "jobComplete": true,
            "jobReference": {"projectId": PROJECT, "jobId": "job_nested", "location": "EU"},
            "schema": {"fields": [{"name": "user_pseudo_id", "type": "STRING"},
                                  {"name": "event_params", "type": "STRING"}]},
            "rows": [{"f": [{"v": "u1"}, {"v": [{"v": {"f": [{"v": "ga_session_id"}]}}]}]}],
            "totalRows": "1"
        })))
        .mount(&p.server)
        .await;
    let e = p
        .client(p.spec())
        .query("SELECT * FROM t", &[])
        .await
        .unwrap_err();
    match &e {
        BigQueryError::Nested { column, kind, .. } => {
            assert_eq!(column, "event_params");
            assert_eq!(kind, "REPEATED");
        }
        other => panic!("expected Nested, got {other:?}"),
    }
    p.text_of(&e);
}

#[tokio::test]
async fn a_missing_key_file_fails_before_any_request() {
    let p = peer().await;
    let mut spec = p.spec();
    spec.key_file = p._dir.path().join("absent.json");
    let http = Http::new(HttpSettings::default()).expect("client");
    let e = BigQueryClient::new(http, ACCOUNT, spec).unwrap_err();
    let text = p.text_of(&e);
    assert!(
        text.contains("absent.json") && text.contains("authentication failed"),
        "{text}"
    );
    assert!(p.requests().await.is_empty());
}
