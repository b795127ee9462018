//! The Meta Marketing API client against a loopback peer (wiremock) answering in the Graph API's
//! documented shapes (fixtures/http/): both action-type families, throttling (Business Use Case
//! headers, codes 17/613/80000), the async-report fallback on sync timeouts, and range splitting
//! when Meta asks for less data. Waits go through a recording sleeper: nothing sleeps real time.

use crate::util;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use optsignal::source::http::{Http, HttpError, HttpSettings, Sleeper};
use optsignal::source::meta::{fetch, ActionFamily, MetaPull, MetaSpec};
use optsignal::source::secret::SecretRef;
use optsignal::source::window::Window;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "EAAB-meta-api-test-token-0001";
const ACCOUNT: &str = "Demo store";

/// Counts every wait instead of sleeping it.
#[derive(Default)]
struct Waits(Mutex<Vec<Duration>>);

impl Sleeper for Waits {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        self.0.lock().unwrap().push(d);
        Box::pin(async {})
    }
}

impl Waits {
    fn all(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

fn fixture(name: &str, base: &str) -> String {
    std::fs::read_to_string(util::fixture(&format!("http/{name}")))
        .expect("fixture")
        .replace("{{BASE}}", base)
        .replace("{{TOKEN}}", TOKEN)
}

fn ok(name: &str, base: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(name, base), "application/json")
}

fn status(code: u16, name: &str, base: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_raw(fixture(name, base), "application/json")
}

/// The account's synchronous insights endpoint.
const INSIGHTS: &str = "/act_1234567890/insights";

/// A GET request to `at`.
fn get(at: &str) -> MockBuilder {
    Mock::given(method("GET")).and(path(at))
}

/// A POST request to `at`.
fn post(at: &str) -> MockBuilder {
    Mock::given(method("POST")).and(path(at))
}

/// Which requests a mock answers.
#[derive(Clone, Copy)]
enum Times {
    /// Every matching one.
    Always,
    /// The first matching one only, ahead of every other mock of it.
    First,
}

/// Mounts `request` answered with `response` on `server`.
async fn answer(
    server: &MockServer,
    request: MockBuilder,
    response: ResponseTemplate,
    times: Times,
) {
    let mock = request.respond_with(response);
    match times {
        Times::Always => mock.mount(server).await,
        Times::First => mock.up_to_n_times(1).with_priority(1).mount(server).await,
    }
}

struct Peer {
    server: MockServer,
    waits: Arc<Waits>,
    _dir: tempfile::TempDir,
    token_file: std::path::PathBuf,
}

impl Peer {
    async fn start() -> Peer {
        let server = MockServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("meta.token");
        std::fs::write(&token_file, TOKEN).unwrap();
        answer(
            &server,
            get("/act_1234567890/adsets"),
            ok("meta_adsets.json", &server.uri()),
            Times::Always,
        )
        .await;
        Peer {
            server,
            waits: Arc::new(Waits::default()),
            _dir: dir,
            token_file,
        }
    }

    fn http(&self, settings: HttpSettings) -> Http {
        Http::new(settings)
            .unwrap()
            .with_sleeper(self.waits.clone())
    }

    fn spec(&self, family: ActionFamily) -> MetaSpec {
        MetaSpec {
            account_id: "1234567890".into(),
            token: SecretRef::File(self.token_file.clone()),
            base_url: self.server.uri(),
            family,
        }
    }

    async fn pull(&self, settings: HttpSettings, weeks: u32) -> Result<MetaPull, HttpError> {
        let window = Window::ending("2026-W46".parse().unwrap(), weeks);
        fetch(
            &self.http(settings),
            ACCOUNT,
            &self.spec(ActionFamily::Pixel),
            &window,
        )
        .await
    }

    /// Answers the first insights request with `first`, then every one with a week of rows.
    async fn insights_after(&self, first: ResponseTemplate) {
        answer(&self.server, get(INSIGHTS), first, Times::First).await;
        let rows = ok("meta_insights_families.json", &self.server.uri());
        answer(&self.server, get(INSIGHTS), rows, Times::Always).await;
    }

    async fn insights_requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path().ends_with("/insights"))
            .collect()
    }
}

fn quick() -> HttpSettings {
    HttpSettings {
        retries: 2,
        backoff: Duration::from_millis(10),
        ..HttpSettings::default()
    }
}

/// The week-by-week count of `event` in ad set `id`.
fn weekly(p: &MetaPull, id: &str, event: &str) -> Vec<f64> {
    p.ad_sets
        .iter()
        .find(|a| a.id == id)
        .and_then(|a| a.weekly.get(event))
        .cloned()
        .unwrap_or_else(|| vec![0.0; p.weeks.len()])
}

#[tokio::test]
async fn both_action_families_read_every_event_from_its_own_alias() {
    let peer = Peer::start().await;
    answer(
        &peer.server,
        get(INSIGHTS),
        ok("meta_insights_families.json", &peer.server.uri()),
        Times::Always,
    )
    .await;
    let window = Window::ending("2026-W46".parse().unwrap(), 1);
    let http = peer.http(quick());
    let set = "120210000000001";
    // Pixel: offsite_conversion.fb_pixel_*; omni: Ads Manager's roll-up column for each event,
    // which is the bare add_payment_info and lead (there is no omni_add_payment_info).
    let expect = [
        ("view_item", 300.0, 340.0),
        ("add_to_wishlist", 20.0, 22.0),
        ("add_to_cart", 64.0, 70.0),
        ("begin_checkout", 30.0, 33.0),
        ("add_payment_info", 12.0, 14.0),
        ("purchase", 9.0, 10.0),
        ("sign_up", 25.0, 27.0),
        ("generate_lead", 5.0, 6.0),
        ("search", 40.0, 44.0),
    ];
    let pixel = fetch(&http, ACCOUNT, &peer.spec(ActionFamily::Pixel), &window)
        .await
        .unwrap();
    let omni = fetch(&http, ACCOUNT, &peer.spec(ActionFamily::Omni), &window)
        .await
        .unwrap();
    for (event, px, om) in expect {
        assert_eq!(weekly(&pixel, set, event), vec![px], "pixel {event}");
        assert_eq!(weekly(&omni, set, event), vec![om], "omni {event}");
    }
    // Nothing outside the family is added in (onsite_web_*, lead_grouped, link clicks).
    assert_eq!(pixel.ad_sets[0].weekly.len(), 9);
    assert_eq!(omni.ad_sets[0].weekly.len(), 9);
}

#[tokio::test]
async fn a_buc_throttle_waits_as_long_as_meta_estimates() {
    let peer = Peer::start().await;
    let base = peer.server.uri();
    peer.insights_after(
            status(400, "meta_buc_throttled.json", &base)
                .insert_header(
                    "X-Business-Use-Case-Usage",
                    r#"{"1234567890":[{"type":"ads_insights","call_count":100,"total_cputime":41,"total_time":57,"estimated_time_to_regain_access":3,"ads_api_access_tier":"standard_access"}]}"#,
                )
                .insert_header(
                    "x-fb-ads-insights-throttle",
                    r#"{"app_id_util_pct":100,"acc_id_util_pct":100,"ads_api_access_tier":"standard_access"}"#,
                ),
        ).await;
    let pulled = peer.pull(quick(), 1).await.unwrap();
    assert_eq!(weekly(&pulled, "120210000000001", "purchase"), vec![9.0]);
    assert_eq!(
        peer.waits.all(),
        vec![Duration::from_secs(180)],
        "3 minutes, as estimated_time_to_regain_access said"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_on_a_429_without_sleeping() {
    let peer = Peer::start().await;
    let base = peer.server.uri();
    peer.insights_after(
        status(429, "meta_rate_limited.json", &base).insert_header("Retry-After", "7"),
    )
    .await;
    peer.pull(quick(), 1).await.unwrap();
    assert_eq!(peer.waits.all(), vec![Duration::from_secs(7)]);
}

#[tokio::test]
async fn throttling_backs_off_for_minutes_then_fails_clearly_at_the_maximum_wait() {
    let peer = Peer::start().await;
    answer(
        &peer.server,
        get(INSIGHTS),
        status(400, "meta_613_throttled.json", &peer.server.uri()),
        Times::Always,
    )
    .await;
    let settings = HttpSettings {
        max_wait: Duration::from_secs(300),
        ..quick()
    };
    let e = peer.pull(settings, 1).await.unwrap_err();
    // 60 s, then 120 s (180 s in all); 240 s more would pass the 300 s maximum.
    assert_eq!(
        peer.waits.all(),
        vec![Duration::from_secs(60), Duration::from_secs(120)]
    );
    assert!(matches!(e, HttpError::Throttled { .. }), "{e:?}");
    let text = e.to_string();
    for needle in [
        "account \"Demo store\"",
        "/act_1234567890/insights",
        "code 613",
        "still throttled after waiting 180 s",
        "max_wait_secs",
    ] {
        assert!(text.contains(needle), "{needle:?} missing: {text}");
    }
    assert!(!text.contains(TOKEN));
    assert_eq!(peer.insights_requests().await.len(), 3);
}

/// The async report job's id in the fixtures.
const JOB: &str = "/6123456789012";

/// Mounts the async report run: started, running once, then completed with two pages of rows.
async fn mount_async_run(server: &MockServer) {
    let base = server.uri();
    let rows = format!("{JOB}/insights");
    let mocks = [
        (post(INSIGHTS), "meta_async_run.json", Times::Always),
        (get(JOB), "meta_async_running.json", Times::First),
        (get(JOB), "meta_async_done.json", Times::Always),
        (
            get(&rows).and(query_param("after", "MQZDZD")),
            "meta_async_rows2.json",
            Times::Always,
        ),
        (get(&rows), "meta_async_rows1.json", Times::Always),
    ];
    for (request, body, times) in mocks {
        answer(server, request, ok(body, &base), times).await;
    }
}

#[tokio::test]
async fn sync_timeouts_fall_back_to_an_async_report_job() {
    for (code, fixture_name) in [
        (500, "meta_sync_timeout_100.json"),
        (500, "meta_sync_timeout_2.json"),
    ] {
        let peer = Peer::start().await;
        answer(
            &peer.server,
            get(INSIGHTS),
            status(code, fixture_name, &peer.server.uri()),
            Times::Always,
        )
        .await;
        mount_async_run(&peer.server).await;
        let pulled = peer.pull(quick(), 4).await.unwrap();
        assert_eq!(
            weekly(&pulled, "120210000000001", "purchase"),
            vec![0.0, 0.0, 9.0, 0.0],
            "{fixture_name}"
        );
        assert_eq!(
            weekly(&pulled, "120210000000002", "purchase"),
            vec![0.0, 0.0, 0.0, 4.0]
        );
        let reqs = peer.insights_requests().await;
        let sync = reqs
            .iter()
            .filter(|r| r.method.as_str() == "GET" && r.url.path().starts_with("/act_"))
            .count();
        assert_eq!(
            sync, 1,
            "{fixture_name}: a timed-out sync request is not retried unchanged"
        );
        let post = reqs
            .iter()
            .find(|r| r.method.as_str() == "POST")
            .expect("the async job was started");
        let form = String::from_utf8_lossy(&post.body);
        assert!(
            form.contains("level=adset") && form.contains("time_increment=7"),
            "{form}"
        );
        // One poll found it running, so one wait (the first poll interval) before the next.
        assert_eq!(peer.waits.all(), vec![Duration::from_secs(2)]);
    }
}

#[tokio::test]
async fn an_async_job_that_never_finishes_stops_at_the_maximum_wait() {
    let peer = Peer::start().await;
    let base = peer.server.uri();
    answer(
        &peer.server,
        get(INSIGHTS),
        status(500, "meta_sync_timeout_100.json", &base),
        Times::Always,
    )
    .await;
    answer(
        &peer.server,
        post(INSIGHTS),
        ok("meta_async_run.json", &base),
        Times::Always,
    )
    .await;
    answer(
        &peer.server,
        get(JOB),
        ok("meta_async_running.json", &base),
        Times::Always,
    )
    .await;
    let settings = HttpSettings {
        max_wait: Duration::from_secs(60),
        ..quick()
    };
    let e = peer.pull(settings, 4).await.unwrap_err().to_string();
    assert!(
        e.contains("async report 6123456789012 still \"Job Running\" at 40%"),
        "{e}"
    );
    let total: Duration = peer.waits.all().iter().sum();
    assert!(total <= Duration::from_secs(60), "{total:?}");
}

#[tokio::test]
async fn asked_for_less_data_the_range_is_split_at_week_boundaries() {
    let peer = Peer::start().await;
    let base = peer.server.uri();
    let range = |since: &str, until: &str| format!(r#"{{"since":"{since}","until":"{until}"}}"#);
    answer(
        &peer.server,
        get(INSIGHTS).and(query_param("time_range", range("2026-10-19", "2026-11-15"))),
        status(500, "meta_reduce_data.json", &base),
        Times::Always,
    )
    .await;
    answer(
        &peer.server,
        get(INSIGHTS).and(query_param("time_range", range("2026-10-19", "2026-11-01"))),
        ok("meta_insights_first_half.json", &base),
        Times::Always,
    )
    .await;
    answer(
        &peer.server,
        get(INSIGHTS).and(query_param("time_range", range("2026-11-02", "2026-11-15"))),
        ok("meta_insights_families.json", &base),
        Times::Always,
    )
    .await;
    let pulled = peer.pull(quick(), 4).await.unwrap();
    let atc = weekly(&pulled, "120210000000001", "add_to_cart");
    assert_eq!(
        atc,
        vec![64.0, 71.0, 0.0, 64.0],
        "both halves' rows, once each"
    );
    let full = peer
        .insights_requests()
        .await
        .iter()
        .filter(|r| {
            r.url.query_pairs().any(|(k, v)| {
                k == "time_range" && v.contains("2026-10-19") && v.contains("2026-11-15")
            })
        })
        .count();
    assert_eq!(
        full, 1,
        "the too-large range is asked once, not retried unchanged"
    );
    assert!(peer.waits.all().is_empty());
}
