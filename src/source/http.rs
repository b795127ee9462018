//! The HTTP layer every API source shares: one `reqwest` client, timeouts, bounded concurrency,
//! retries with exponential backoff and jitter (honouring `Retry-After`), and typed errors that
//! name the account, the API, the endpoint and the API's own message — with secrets redacted
//! (secret query parameters by name, and every registered secret value wherever it appears:
//! [`super::secret::redact`]).
//!
//! Retried: transport failures and timeouts, HTTP 429 and 5xx, Meta's rate-limit error codes
//! (1, 2, 4, 17, 32, 341, 613, 80000–80014), Google's `RESOURCE_EXHAUSTED` and BigQuery's
//! `rateLimitExceeded` reason (sent with HTTP 403), whatever the status. Not retried: other 4xx (reported with the API's message), and bodies that are not
//! complete JSON (never read as a partial result).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::secret::redact;

/// Query parameters whose values are secrets and are replaced by `***` in any URL shown.
const SECRET_PARAMS: [&str; 5] = [
    "access_token",
    "client_secret",
    "refresh_token",
    "key",
    "fb_exchange_token",
];

/// Meta Graph API error codes that mean "slow down" or "try again".
const META_RETRY_CODES: [i64; 8] = [1, 2, 4, 17, 32, 341, 613, 80000];

/// Timeouts, retries and concurrency of API calls (`[fetch]` in config).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff delay; doubles per retry, with jitter.
    pub backoff: Duration,
    /// Longest backoff delay, and the longest `Retry-After` honoured.
    pub max_backoff: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(60),
            retries: 4,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            concurrency: 4,
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

/// Google's machine-readable reason for an error (`error.errors[0]` of the JSON envelope, as
/// BigQuery sends it), so a caller can tell `invalidQuery` from `notFound` without reading prose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiReason {
    /// The reason code (`invalidQuery`, `notFound`, `accessDenied`, `bytesBilledLimitExceeded`).
    pub reason: String,
    /// Where the fault is, when the API says (`query`, a parameter name).
    pub location: Option<String>,
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
}

/// One shared client plus the policy around it. Cheap to clone.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    settings: HttpSettings,
    permits: Arc<tokio::sync::Semaphore>,
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
        || (meta
            && code.is_some_and(|c| META_RETRY_CODES.contains(&c) || (80000..=80014).contains(&c)));
    (Some(text.trim().to_string()), retry, reason)
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
        })
    }

    /// The underlying client, to build requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
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
        loop {
            let verdict = {
                let _permit = self.permits.acquire().await.ok();
                tracing::debug!(target: "optsignal::http", attempt, "{at}");
                self.attempt(at, build()).await
            };
            let (after, error) = match verdict {
                Verdict::Done(b) => return Ok(b),
                Verdict::Fail(e) => return Err(e),
                Verdict::Retry { after, error } => (after, error),
            };
            let Some(backoff) = delays.next() else {
                return Err(error);
            };
            let wait = after.map_or(backoff, |a| a.min(self.settings.max_backoff));
            tracing::info!(
                target: "optsignal::http",
                "{error}; retry {attempt} of {} in {:.1} s",
                self.settings.retries,
                wait.as_secs_f64()
            );
            attempt += 1;
            sleep(wait).await;
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
        if (200..300).contains(&status) && !rate_limited {
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
        let error = HttpError::Api {
            at: at.clone(),
            status,
            message,
            // A 403 that only means "slow down" is not a permission problem.
            hint: if rate_limited { None } else { hint_for(status) },
            reason,
        };
        if status == 429 || status >= 500 || rate_limited {
            Verdict::Retry { after, error }
        } else {
            Verdict::Fail(error)
        }
    }
}

async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
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
mod tests {
    use super::*;

    #[test]
    fn secrets_in_query_strings_are_redacted() {
        let u = "https://graph.facebook.com/v25.0/act_1/insights?level=adset&access_token=EAAB123&after=MjQZD";
        let r = redact_url(u);
        assert_eq!(
            r,
            "https://graph.facebook.com/v25.0/act_1/insights?level=adset&access_token=***&after=MjQZD"
        );
    }

    #[test]
    fn api_messages_and_rate_limit_codes() {
        let meta = br#"{"error":{"message":"(#17) User request limit reached","type":"OAuthException","code":17,"error_subcode":2446079,"fbtrace_id":"x"}}"#;
        let (m, retry, _) = api_message(meta);
        assert!(retry);
        assert!(m.unwrap().contains("code 17, subcode 2446079"));
        let google = br#"{"error":{"code":429,"message":"Exhausted property tokens","status":"RESOURCE_EXHAUSTED"}}"#;
        assert!(api_message(google).1);
        let perm = br#"{"error":{"code":403,"message":"User does not have sufficient permissions for this property.","status":"PERMISSION_DENIED"}}"#;
        let (m, retry, reason) = api_message(perm);
        assert!(!retry);
        assert_eq!(reason, None);
        assert_eq!(
            m.unwrap(),
            "User does not have sufficient permissions for this property. [PERMISSION_DENIED]"
        );
    }

    #[test]
    fn bigquery_reasons_are_kept_and_rate_limits_retried() {
        let invalid = br#"{"error":{"code":400,"message":"Syntax error: Unexpected identifier SELEC at [1:1]","errors":[{"message":"Syntax error","domain":"global","reason":"invalidQuery","location":"query","locationType":"other"}],"status":"INVALID_ARGUMENT"}}"#;
        let (m, retry, reason) = api_message(invalid);
        assert!(!retry);
        assert_eq!(
            reason,
            Some(Box::new(ApiReason {
                reason: "invalidQuery".into(),
                location: Some("query".into())
            }))
        );
        assert_eq!(
            m.unwrap(),
            "Syntax error: Unexpected identifier SELEC at [1:1] [INVALID_ARGUMENT, invalidQuery]"
        );
        let rate = br#"{"error":{"code":403,"message":"Exceeded rate limits: too many api requests per user per method for this user_method.","errors":[{"message":"Exceeded rate limits","domain":"usageLimits","reason":"rateLimitExceeded"}],"status":"PERMISSION_DENIED"}}"#;
        assert!(api_message(rate).1);
        let denied = br#"{"error":{"code":403,"message":"Access Denied: Project p: User does not have bigquery.jobs.create permission in project p.","errors":[{"message":"Access Denied","domain":"global","reason":"accessDenied"}],"status":"PERMISSION_DENIED"}}"#;
        assert!(!api_message(denied).1);
    }
}
