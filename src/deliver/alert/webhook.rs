//! Posting one alert body to one target, patiently but not forever: retried on HTTP 429
//! (waiting what `Retry-After` says, in seconds or as an HTTP date), on 5xx and on transport
//! failures, with exponential backoff otherwise; never retried on other 4xx. The total wait is
//! bounded by `alerts.max_wait_secs`: a wait that would pass it ends the attempts at once. The
//! clock and the sleeper are injected ([`Clock`], [`Sleeper`]), so tests count waits instead of
//! sleeping them.
//!
//! The URL is a secret: no error or log line carries it (reqwest's messages are taken
//! `without_url`, bodies are redacted), only the target's name.

use std::time::Duration;

use crate::secret::{redact, Secret};
use crate::source::http::Sleeper;

/// The time now; injected so a `Retry-After` date is judged against a known clock in tests.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> jiff::Timestamp;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// How patiently a target is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patience {
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff delay (doubles per retry).
    pub backoff: Duration,
    /// Longest single backoff delay.
    pub max_backoff: Duration,
    /// Longest total wait between attempts.
    pub max_wait: Duration,
}

/// Why a post failed, naming the target (never its URL).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PostError {
    /// The target refused the body (4xx other than 429): retrying would not help.
    #[error("alert target {target:?} refused the message (HTTP {status}): {body}")]
    Refused {
        /// Target name.
        target: String,
        /// HTTP status.
        status: u16,
        /// The start of the answer's body, redacted.
        body: String,
    },
    /// Every attempt failed with a temporary error, or the next wait would pass the bound.
    #[error("alert target {target:?} did not take the message after {attempts} attempt(s) and {waited_secs:.1} s of waiting: {last}")]
    GaveUp {
        /// Target name.
        target: String,
        /// Attempts made.
        attempts: u32,
        /// Seconds waited between them.
        waited_secs: f64,
        /// The last failure.
        last: String,
    },
}

/// What one attempt came to.
enum Attempt {
    Done(u16),
    Permanent(u16, String),
    Temporary {
        after: Option<Duration>,
        what: String,
    },
}

/// `Retry-After` as a wait: delay-seconds, or an HTTP date (judged against `now`).
pub fn retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let d = at.duration_since(now);
    Some(if d.is_negative() {
        Duration::ZERO
    } else {
        d.unsigned_abs()
    })
}

/// The start of a body for a message: at most 200 characters, one line, redacted.
fn body_head(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let head: String = one.chars().take(200).collect();
    if head.is_empty() {
        "(empty body)".into()
    } else {
        redact(&head).into_owned()
    }
}

/// Sends `body` once and classifies the answer.
async fn attempt(
    client: &reqwest::Client,
    url: &Secret,
    token: Option<&Secret>,
    body: &[u8],
    now: jiff::Timestamp,
) -> Attempt {
    let mut req = client
        .post(url.expose())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec());
    if let Some(t) = token {
        req = req.bearer_auth(t.expose());
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            // reqwest's own message names the URL: drop it, and add the causes (connection
            // refused, timed out, TLS), which do not.
            let e = e.without_url();
            let mut what = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                what.push_str(&format!(": {c}"));
                cause = c.source();
            }
            return Attempt::Temporary {
                after: None,
                what: redact(&what).into_owned(),
            };
        }
    };
    let status = resp.status().as_u16();
    let after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, now));
    let bytes = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    match status {
        200..=299 => Attempt::Done(status),
        429 => Attempt::Temporary {
            after,
            what: format!("HTTP 429 (rate limited): {}", body_head(&bytes)),
        },
        500..=599 => Attempt::Temporary {
            after,
            what: format!("HTTP {status}: {}", body_head(&bytes)),
        },
        _ => Attempt::Permanent(status, body_head(&bytes)),
    }
}

/// Posts `body` to the target with retries; returns the attempts it took.
#[allow(clippy::too_many_arguments)]
pub async fn post(
    client: &reqwest::Client,
    target: &str,
    url: &Secret,
    token: Option<&Secret>,
    body: &[u8],
    patience: Patience,
    clock: &dyn Clock,
    sleeper: &dyn Sleeper,
) -> Result<u32, PostError> {
    // Whatever echoes the URL's path (a 404 page, a proxy's error) is masked too.
    crate::config::alerts::register_url(url.expose());
    let mut attempts = 0u32;
    let mut waited = Duration::ZERO;
    let mut backoff = patience.backoff;
    loop {
        attempts += 1;
        tracing::debug!("alert target {target:?}: attempt {attempts}");
        let (after, what) = match attempt(client, url, token, body, clock.now()).await {
            Attempt::Done(status) => {
                tracing::debug!("alert target {target:?}: HTTP {status}");
                return Ok(attempts);
            }
            Attempt::Permanent(status, body) => {
                return Err(PostError::Refused {
                    target: target.to_string(),
                    status,
                    body,
                })
            }
            Attempt::Temporary { after, what } => (after, what),
        };
        let gave_up = |last: String, waited: Duration| PostError::GaveUp {
            target: target.to_string(),
            attempts,
            waited_secs: waited.as_secs_f64(),
            last,
        };
        if attempts > patience.retries {
            return Err(gave_up(what, waited));
        }
        // Retry-After is honoured as given (never shortened); backoff otherwise.
        let wait = after.unwrap_or_else(|| backoff.min(patience.max_backoff));
        backoff = backoff.saturating_mul(2);
        if waited + wait > patience.max_wait {
            let why = format!(
                "{what}; waiting {:.1} s more would pass alerts.max_wait_secs ({} s)",
                wait.as_secs_f64(),
                patience.max_wait.as_secs()
            );
            return Err(gave_up(why, waited));
        }
        tracing::info!(
            "alert target {target:?}: {what}; retry {attempts} in {:.1} s",
            wait.as_secs_f64()
        );
        waited += wait;
        sleeper.sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[derive(Default)]
    struct Waits(Mutex<Vec<Duration>>);

    impl Sleeper for Waits {
        fn sleep(
            &self,
            d: Duration,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
            self.0.lock().unwrap().push(d);
            Box::pin(async {})
        }
    }

    struct Fixed(jiff::Timestamp);

    impl Clock for Fixed {
        fn now(&self) -> jiff::Timestamp {
            self.0
        }
    }

    fn patience() -> Patience {
        Patience {
            retries: 3,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_wait: Duration::from_secs(120),
        }
    }

    const NOW: &str = "2026-11-16T07:00:00Z";

    async fn run(server: &MockServer, p: Patience) -> (Result<u32, PostError>, Vec<Duration>) {
        let waits = Waits::default();
        let url = Secret::new(format!("{}/hook/unit-test-secret-path", server.uri()));
        let token = Secret::new("unit-test-bearer-token");
        let r = post(
            &reqwest::Client::new(),
            "t",
            &url,
            Some(&token),
            b"{}",
            p,
            &Fixed(NOW.parse().unwrap()),
            &waits,
        )
        .await;
        let w = waits.0.lock().unwrap().clone();
        (r, w)
    }

    fn at(status: u16) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_string("slow down")
    }

    #[tokio::test]
    async fn retry_after_in_seconds_and_as_a_date_is_waited_exactly() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hook/unit-test-secret-path"))
            .and(header("authorization", "Bearer unit-test-bearer-token"))
            .respond_with(at(429).insert_header("Retry-After", "7"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(at(429).insert_header("Retry-After", "Mon, 16 Nov 2026 07:00:30 GMT"))
            .up_to_n_times(1)
            .with_priority(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
            .with_priority(3)
            .mount(&server)
            .await;
        let (r, waits) = run(&server, patience()).await;
        assert_eq!(r, Ok(3));
        assert_eq!(waits, [Duration::from_secs(7), Duration::from_secs(30)]);
    }

    #[tokio::test]
    async fn server_errors_back_off_then_give_up_after_the_retries() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(at(503))
            .mount(&server)
            .await;
        let (r, waits) = run(&server, patience()).await;
        let Err(PostError::GaveUp { attempts, last, .. }) = r else {
            panic!("{r:?}")
        };
        assert_eq!(attempts, 4);
        assert!(last.contains("HTTP 503"), "{last}");
        assert_eq!(waits, [1, 2, 4].map(Duration::from_secs));
        assert_eq!(server.received_requests().await.unwrap().len(), 4);
    }

    #[tokio::test]
    async fn a_wait_past_the_bound_ends_at_once_and_other_4xx_are_not_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(at(429).insert_header("Retry-After", "3600"))
            .mount(&server)
            .await;
        let (r, waits) = run(&server, patience()).await;
        assert!(waits.is_empty(), "{waits:?}");
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("alerts.max_wait_secs (120 s)") && e.contains("1 attempt"),
            "{e}"
        );

        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(404)
                    .set_body_string("no_service for /hook/unit-test-secret-path"),
            )
            .mount(&server)
            .await;
        let (r, waits) = run(&server, patience()).await;
        assert!(waits.is_empty());
        let e = r.unwrap_err();
        assert!(matches!(e, PostError::Refused { status: 404, .. }), "{e:?}");
        let text = e.to_string();
        assert!(!text.contains("unit-test-secret-path"), "{text}");
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_and_never_names_the_url() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let waits = Waits::default();
        let url = Secret::new(format!(
            "http://127.0.0.1:{port}/hook/unit-test-refused-path"
        ));
        let r = post(
            &reqwest::Client::new(),
            "t",
            &url,
            None,
            b"{}",
            Patience {
                retries: 1,
                ..patience()
            },
            &SystemClock,
            &waits,
        )
        .await;
        let e = r.unwrap_err().to_string();
        assert!(e.contains("2 attempt(s)"), "{e}");
        assert!(
            !e.contains("unit-test-refused-path") && !e.contains(&port.to_string()),
            "{e}"
        );
        assert_eq!(waits.0.lock().unwrap().len(), 1);
    }

    #[test]
    fn retry_after_dates_in_the_past_mean_now() {
        let now: jiff::Timestamp = NOW.parse().unwrap();
        assert_eq!(
            retry_after("Mon, 16 Nov 2026 06:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(" 12 ", now), Some(Duration::from_secs(12)));
        assert_eq!(retry_after("soon", now), None);
    }
}
