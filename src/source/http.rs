//! The HTTP layer every API source shares: one `reqwest` client, timeouts, bounded concurrency,
//! retries with exponential backoff and jitter (honouring `Retry-After`), and typed errors that
//! name the account, the API, the endpoint and the API's own message — with secrets redacted
//! (secret query parameters by name, and every registered secret value wherever it appears:
//! [`super::secret::redact`]).
//!
//! Retried: transport failures and timeouts, HTTP 429 and 5xx, Meta's transient codes (1, 2),
//! Google's `RESOURCE_EXHAUSTED` and BigQuery's `rateLimitExceeded` reason (sent with HTTP 403),
//! whatever the status. Meta's throttling codes (4, 17, 32, 341, 613, 80000–80014) last minutes:
//! they wait as long as `X-Business-Use-Case-Usage` (`estimated_time_to_regain_access`, minutes)
//! or `Retry-After` says, else back off from a minute, until a configured maximum wait, then fail
//! with a clear error. Meta's sync-timeout (code 100 subcode 1504018, code 2 subcode 1504038) and
//! "reduce the amount of data" (code 1) errors are not retried unchanged: the caller switches to
//! an async job or a shorter range ([`HttpError::meta_code`]). Not retried: other 4xx (reported
//! with the API's message), and bodies that are not complete JSON (never read as a partial
//! result). Every wait goes through an injected [`Sleeper`], so tests never sleep real time.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::BackoffBuilder;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::secret::redact;

/// Query parameters whose values are secrets and are replaced by `***` in any URL shown.
const SECRET_PARAMS: [&str; 6] = [
    "access_token",
    "api_secret",
    "client_secret",
    "refresh_token",
    "key",
    "fb_exchange_token",
];

/// Meta Graph API error codes that mean "try again" (transient).
const META_TRANSIENT_CODES: [i64; 2] = [1, 2];

/// Meta Graph API throttling codes (app, user, page, app limit, ad account); 80000–80014, the
/// Business Use Case limits, are added by range.
const META_THROTTLE_CODES: [i64; 5] = [4, 17, 32, 341, 613];

/// A Meta error's `code` and `error_subcode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaCode {
    /// `error.code`.
    pub code: i64,
    /// `error.error_subcode`.
    pub subcode: Option<i64>,
    /// The message asks for less data (code 1, "Please reduce the amount of data ...").
    pub reduce_data: bool,
}

impl MetaCode {
    /// A throttling code (4, 17, 32, 341, 613, 80000–80014): minutes of waiting, not seconds.
    pub fn is_throttle(&self) -> bool {
        META_THROTTLE_CODES.contains(&self.code) || (80000..=80014).contains(&self.code)
    }

    /// A synchronous insights request that timed out: Meta asks for an async job instead.
    pub fn is_sync_timeout(&self) -> bool {
        matches!(
            (self.code, self.subcode),
            (100, Some(1504018)) | (2, Some(1504038))
        )
    }

    /// Retrying the same request is pointless: a timeout (use async) or too much data (split).
    fn needs_another_request(&self) -> bool {
        self.is_sync_timeout() || (self.code == 1 && self.reduce_data)
    }
}

/// Waits between attempts and polls. Injected so that tests count the waits instead of sleeping.
pub trait Sleeper: Send + Sync {
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real sleeper: tokio's timer.
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Timeouts, retries and concurrency of API calls (`[fetch]` in config).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff delay; doubles per retry, with jitter.
    pub backoff: Duration,
    /// Longest backoff delay, and the longest `Retry-After` honoured on transient errors.
    pub max_backoff: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// First wait on a throttling error that says nothing of how long (doubles per retry).
    pub throttle_backoff: Duration,
    /// Longest a request waits in all for a throttle to lift (and for an async job); past it the
    /// pull fails with a clear error instead of hanging for hours.
    pub max_wait: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(60),
            retries: 4,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            concurrency: 4,
            throttle_backoff: Duration::from_secs(60),
            max_wait: Duration::from_secs(15 * 60),
        }
    }
}

/// Where a request went, for messages: account, API and endpoint (URL without secrets).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The account's name in the config.
    pub account: String,
    /// The API (`Meta Marketing API`).
    pub api: &'static str,
    /// The endpoint, redacted (`GET https://graph.facebook.com/v25.0/act_1/insights`).
    pub what: String,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "account {:?}: {} {}", self.account, self.api, self.what)
    }
}

/// An API's machine-readable reason for an error, so a caller can tell `invalidQuery` from
/// `notFound`, or a Meta sync timeout from a throttle, without reading prose: Google's
/// `error.errors[0]` (as BigQuery sends it), or Meta's `error.type` with its code and subcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiReason {
    /// The reason code (`invalidQuery`, `notFound`, `accessDenied`, `bytesBilledLimitExceeded`;
    /// Meta's `OAuthException`).
    pub reason: String,
    /// Where the fault is, when the API says (`query`, a parameter name).
    pub location: Option<String>,
    /// Meta's code and subcode, when the envelope is the Graph API's.
    pub meta: Option<MetaCode>,
}

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The API answered with an error (a 4xx, or a retryable error after the last retry).
    #[error("{at}: HTTP {status}: {message}{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    Api {
        /// Where.
        at: Endpoint,
        /// HTTP status.
        status: u16,
        /// The API's own message (and code), or the start of the body.
        message: String,
        /// What to do, when obvious.
        hint: Option<&'static str>,
        /// Google's reason code and location, when the envelope has `errors[]` (boxed: errors
        /// travel in every `Result`).
        reason: Option<Box<ApiReason>>,
    },
    /// The API kept throttling past the longest wait configured (`[fetch] max_wait_secs`).
    #[error("{at}: still throttled after waiting {waited_secs} s in all ({message}); the longest wait is {max_wait_secs} s ([fetch] max_wait_secs): try again later{}", regain.map(|m| format!(", Meta expects access back in about {m} minutes")).unwrap_or_default())]
    Throttled {
        /// Where.
        at: Endpoint,
        /// The API's last message.
        message: String,
        /// Seconds waited for this request.
        waited_secs: u32,
        /// The configured maximum.
        max_wait_secs: u32,
        /// Meta's `estimated_time_to_regain_access`, minutes, when it said.
        regain: Option<u32>,
    },
    /// No usable answer: connection, TLS or timeout failure (after retries).
    #[error("{at}: {message}")]
    Transport {
        /// Where.
        at: Endpoint,
        /// What happened (redacted).
        message: String,
    },
    /// The body is not the JSON expected (malformed, truncated, or of another shape).
    #[error("{at}: the response is not valid JSON of the expected shape ({message}); nothing from it was used")]
    Malformed {
        /// Where.
        at: Endpoint,
        /// The parser's message.
        message: String,
    },
    /// Credentials could not be obtained.
    #[error("{at}: authentication failed: {message}")]
    Auth {
        /// Where.
        at: Endpoint,
        /// What happened (never the secret).
        message: String,
    },
    /// A secret could not be read.
    #[error("account {account:?}: {source}")]
    Secret {
        /// The account.
        account: String,
        /// The variable or file at fault.
        source: super::secret::SecretError,
    },
}

impl HttpError {
    /// Whether this is an HTTP 401 (an expired or revoked token).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, HttpError::Api { status: 401, .. })
    }

    /// Meta's error code and subcode, when the API that answered is the Graph API.
    pub fn meta_code(&self) -> Option<MetaCode> {
        match self {
            HttpError::Api {
                reason: Some(r), ..
            } => r.meta,
            _ => None,
        }
    }
}

/// One shared client plus the policy around it. Cheap to clone.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    settings: HttpSettings,
    permits: Arc<tokio::sync::Semaphore>,
    sleeper: Arc<dyn Sleeper>,
    /// A wait Meta announced on a successful answer (`estimated_time_to_regain_access`), taken
    /// by the next request.
    pending: Arc<Mutex<Duration>>,
}

/// A URL with secret query parameters replaced by `***` (Meta sends `access_token` as a query
/// parameter, and its `paging.next` links carry it).
pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.contains(&k) => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

/// The retry decision for one answer.
enum Verdict {
    Done(Vec<u8>),
    Retry {
        after: Option<Duration>,
        error: HttpError,
    },
    /// Throttled: wait minutes (as the headers say, when they say), within `max_wait`.
    Throttle {
        after: Option<Duration>,
        regain: Option<u64>,
        error: HttpError,
    },
    Fail(HttpError),
}

/// Google's `errors[0].reason` / `.location` from an error object.
fn api_reason(e: &Value) -> Option<ApiReason> {
    let first = e.pointer("/errors/0")?;
    Some(ApiReason {
        reason: first.get("reason")?.as_str()?.to_string(),
        location: first
            .get("location")
            .and_then(Value::as_str)
            .map(str::to_string),
        meta: None,
    })
}

/// The API's own message from a Graph or Google error body, whether it asks to retry, and
/// Google's reason code when there is one.
fn api_message(body: &[u8]) -> (Option<String>, bool, Option<Box<ApiReason>>) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (None, false, None);
    };
    // Google Ads searchStream wraps errors in an array.
    let v = match v {
        Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
        v => v,
    };
    let Some(e) = v.get("error") else {
        return (None, false, None);
    };
    if let Some(code) = e.as_str() {
        // OAuth 2.0 token endpoints (RFC 6749 §5.2): {"error": "invalid_grant",
        // "error_description": "Token has been expired or revoked."}.
        let text = match v.get("error_description").and_then(Value::as_str) {
            Some(d) if !d.trim().is_empty() => format!("{code}: {}", d.trim()),
            _ => code.to_string(),
        };
        return (Some(text), false, None);
    }
    let message = e.get("message").and_then(Value::as_str).unwrap_or("");
    let status = e.get("status").and_then(Value::as_str);
    let code = e.get("code").and_then(Value::as_i64);
    let mut text = message.to_string();
    // Google Ads puts the specific reason in details[].errors[].message.
    if let Some(inner) = e
        .pointer("/details/0/errors/0/message")
        .and_then(Value::as_str)
    {
        text = format!("{text} {inner}");
    }
    let meta = e.get("type").is_some() || e.get("fbtrace_id").is_some();
    let reason = api_reason(e).map(Box::new);
    let mut tag = Vec::new();
    if let Some(s) = status {
        tag.push(s.to_string());
    }
    if let Some(r) = &reason {
        tag.push(r.reason.clone());
    }
    if meta {
        if let Some(c) = code {
            tag.push(format!("code {c}"));
        }
        if let Some(sc) = e.get("error_subcode").and_then(Value::as_i64) {
            tag.push(format!("subcode {sc}"));
        }
    }
    if !tag.is_empty() {
        text = format!("{text} [{}]", tag.join(", "));
    }
    let quota_detail = e.to_string().contains("quotaError");
    // BigQuery says "slow down" with HTTP 403 and reason rateLimitExceeded.
    let bq_rate = reason
        .as_ref()
        .is_some_and(|r| r.reason == "rateLimitExceeded");
    let retry = status == Some("RESOURCE_EXHAUSTED")
        || quota_detail
        || bq_rate
        || meta_error(&v).is_some_and(|m| {
            !m.needs_another_request()
                && (m.is_throttle() || META_TRANSIENT_CODES.contains(&m.code))
        });
    (Some(text.trim().to_string()), retry, reason)
}

/// Meta's code and subcode from a Graph API error envelope.
fn meta_error(v: &Value) -> Option<MetaCode> {
    let e = v.get("error")?;
    if e.get("type").is_none() && e.get("fbtrace_id").is_none() {
        return None;
    }
    let message = e.get("message").and_then(Value::as_str).unwrap_or("");
    Some(MetaCode {
        code: e.get("code").and_then(Value::as_i64)?,
        subcode: e.get("error_subcode").and_then(Value::as_i64),
        reduce_data: message
            .to_ascii_lowercase()
            .contains("reduce the amount of data"),
    })
}

/// Meta's `error.type` (`OAuthException`).
fn meta_type(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    Some(v.pointer("/error/type")?.as_str()?.to_string())
}

/// A hint for an OAuth token-endpoint error code.
fn oauth_hint(message: &str) -> Option<&'static str> {
    if message.starts_with("invalid_grant") {
        Some("the refresh token expired or was revoked: create a new one and store it where the config says")
    } else if message.starts_with("invalid_client") || message.starts_with("unauthorized_client") {
        Some("check the OAuth client id and client secret")
    } else {
        None
    }
}

/// Meta's `estimated_time_to_regain_access` (minutes), the largest over every business and use
/// case in `X-Business-Use-Case-Usage` (`{"<business id>": [{"type": "ads_insights",
/// "call_count": 100, ..., "estimated_time_to_regain_access": 15}]}`).
fn regain_minutes(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let v = headers.get("x-business-use-case-usage")?.to_str().ok()?;
    let usage: Value = serde_json::from_str(v).ok()?;
    usage
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|u| u.get("estimated_time_to_regain_access"))
        .filter_map(|m| m.as_u64().or_else(|| m.as_str()?.trim().parse().ok()))
        .max()
        .filter(|m| *m > 0)
}

/// The highest utilisation (percent) in `x-fb-ads-insights-throttle`
/// (`{"app_id_util_pct": 100, "acc_id_util_pct": 10, ...}`).
fn insights_util_pct(headers: &reqwest::header::HeaderMap) -> Option<f64> {
    let v = headers.get("x-fb-ads-insights-throttle")?.to_str().ok()?;
    let t: Value = serde_json::from_str(v).ok()?;
    ["app_id_util_pct", "acc_id_util_pct"]
        .iter()
        .filter_map(|k| t.get(k)?.as_f64())
        .reduce(f64::max)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn hint_for(status: u16) -> Option<&'static str> {
    match status {
        401 => Some("the token is invalid or expired: renew it"),
        403 => Some("the credentials lack permission on this account or property"),
        404 => Some("check the account / property / customer id and the base_url"),
        _ => None,
    }
}

impl Http {
    /// Builds the shared client.
    pub fn new(settings: HttpSettings) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(15)))
            .user_agent(concat!("optsignal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let permits = Arc::new(tokio::sync::Semaphore::new(settings.concurrency.max(1)));
        Ok(Http {
            client,
            settings,
            permits,
            sleeper: Arc::new(TokioSleeper),
            pending: Arc::new(Mutex::new(Duration::ZERO)),
        })
    }

    /// The same client with another sleeper (tests count waits instead of sleeping them).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The underlying client, to build requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The timeouts, retries and waits in force.
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Waits `d` through the injected sleeper (polling async jobs).
    pub async fn sleep(&self, d: Duration) {
        self.sleeper.sleep(d).await;
    }

    /// Sends the request `build` makes (re-built for each attempt), retrying per the policy,
    /// and parses the whole body as `T`.
    pub async fn json<T: DeserializeOwned>(
        &self,
        at: &Endpoint,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, HttpError> {
        let body = self.send(at, build).await?;
        serde_json::from_slice(&body).map_err(|e| HttpError::Malformed {
            at: at.clone(),
            message: e.to_string(),
        })
    }

    /// A wait announced by an earlier answer, taken once.
    fn take_pending(&self) -> Duration {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// Sends with retries and returns the raw body of the successful answer.
    pub async fn send(
        &self,
        at: &Endpoint,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, HttpError> {
        let mut delays = backon::ExponentialBuilder::default()
            .with_min_delay(self.settings.backoff)
            .with_max_delay(self.settings.max_backoff)
            .with_max_times(self.settings.retries as usize)
            .with_jitter()
            .build();
        let mut attempt = 1u32;
        let mut throttled = Duration::ZERO;
        let mut throttle_next = self.settings.throttle_backoff;
        let pending = self.take_pending().min(self.settings.max_wait);
        if !pending.is_zero() {
            tracing::info!(target: "optsignal::http", "{at}: waiting {:.0} s first, as Meta asked", pending.as_secs_f64());
            throttled += pending;
            self.sleeper.sleep(pending).await;
        }
        loop {
            let verdict = {
                let _permit = self.permits.acquire().await.ok();
                tracing::debug!(target: "optsignal::http", attempt, "{at}");
                self.attempt(at, build()).await
            };
            let (wait, error) = match verdict {
                Verdict::Done(b) => return Ok(b),
                Verdict::Fail(e) => return Err(e),
                Verdict::Retry { after, error } => {
                    let Some(backoff) = delays.next() else {
                        return Err(error);
                    };
                    (
                        after.map_or(backoff, |a| a.min(self.settings.max_backoff)),
                        error,
                    )
                }
                Verdict::Throttle {
                    after,
                    regain,
                    error,
                } => {
                    let wait = after.unwrap_or(throttle_next);
                    throttle_next = (throttle_next * 2).min(self.settings.max_wait);
                    if throttled + wait > self.settings.max_wait {
                        return Err(throttled_error(error, throttled, &self.settings, regain));
                    }
                    throttled += wait;
                    (wait, error)
                }
            };
            tracing::info!(
                target: "optsignal::http",
                "{error}; retry {attempt} in {:.1} s",
                wait.as_secs_f64()
            );
            attempt += 1;
            self.sleeper.sleep(wait).await;
        }
    }

    async fn attempt(&self, at: &Endpoint, req: reqwest::RequestBuilder) -> Verdict {
        let transport = |e: reqwest::Error| HttpError::Transport {
            at: at.clone(),
            // reqwest's message may include the URL: drop it, `at` names the endpoint.
            message: redact(&redact_url(&e.without_url().to_string())).into_owned(),
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Verdict::Retry {
                    after: None,
                    error: transport(e),
                }
            }
        };
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let regain = regain_minutes(resp.headers());
        let util = insights_util_pct(resp.headers());
        let body = match resp.bytes().await.map(|b| b.to_vec()) {
            Ok(b) => b,
            Err(e) => {
                return Verdict::Retry {
                    after: None,
                    error: transport(e),
                }
            }
        };
        let (message, rate_limited, reason) = api_message(&body);
        let meta = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| meta_error(&v));
        if (200..300).contains(&status) && !rate_limited && meta.is_none() {
            if let Some(m) = regain {
                // Meta answered but says the account is over its limit: the next call waits.
                tracing::info!(target: "optsignal::http", "{at}: Meta expects access back in {m} minutes");
                if let Ok(mut p) = self.pending.lock() {
                    *p = (*p).max(Duration::from_secs(m * 60));
                }
            }
            if let Some(u) = util.filter(|u| *u >= 90.0) {
                tracing::info!(target: "optsignal::http", "{at}: insights throttle at {u:.0} % of its limit");
            }
            return Verdict::Done(body);
        }
        let message = message.unwrap_or_else(|| {
            let head = String::from_utf8_lossy(&body[..body.len().min(200)]).to_string();
            if head.trim().is_empty() {
                "(empty body)".into()
            } else {
                redact_url(head.trim())
            }
        });
        // A server may echo what it was sent ("Invalid OAuth access token: EAAB…").
        let message = redact(&message).into_owned();
        let hint = if rate_limited {
            // A 403 that only means "slow down" is not a permission problem.
            None
        } else {
            oauth_hint(&message).or_else(|| hint_for(status))
        };
        let error = HttpError::Api {
            at: at.clone(),
            status,
            message,
            hint,
            reason: match meta {
                Some(m) => Some(Box::new(ApiReason {
                    reason: meta_type(&body).unwrap_or_else(|| "OAuthException".into()),
                    location: None,
                    meta: Some(m),
                })),
                None => reason,
            },
        };
        match meta {
            Some(m) if m.needs_another_request() => return Verdict::Fail(error),
            Some(m) if m.is_throttle() => {
                let after = regain.map(|m| Duration::from_secs(m * 60)).or(after);
                return Verdict::Throttle {
                    after,
                    regain,
                    error,
                };
            }
            _ => {}
        }
        if status == 429 || status >= 500 || rate_limited {
            Verdict::Retry { after, error }
        } else {
            Verdict::Fail(error)
        }
    }
}

/// Whole seconds, saturating at `u32::MAX` (136 years).
pub fn secs32(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

/// The clear error once throttling outlasts `max_wait`.
fn throttled_error(
    error: HttpError,
    waited: Duration,
    settings: &HttpSettings,
    regain: Option<u64>,
) -> HttpError {
    match error {
        HttpError::Api { at, message, .. } => HttpError::Throttled {
            at,
            message,
            waited_secs: secs32(waited),
            max_wait_secs: secs32(settings.max_wait),
            regain: regain.map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        },
        other => other,
    }
}

/// Runs async fetching to completion on a small runtime owned by the source layer, so the rest
/// of the program stays synchronous.
pub fn block_on<F: Future>(f: F) -> Result<F::Output, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    Ok(rt.block_on(f))
}

#[cfg(test)]
mod tests;
