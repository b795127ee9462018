//! `signal export --send`: posts each destination's requests with the shared HTTP layer
//! (retries, `Retry-After`, typed errors with secrets redacted), skipping every event the
//! sent-state says a destination already accepted, and recording each accepted request before
//! the next one ([`super::sent`]).
//!
//! What counts as accepted, per destination:
//! - Meta Conversions API: an answer `{"events_received": n, ...}` with `n` the events sent. Meta
//!   refuses a whole request when one event is invalid (HTTP 400): every row of it is rejected
//!   with Meta's message, and the next request goes on.
//! - Google Ads `uploadClickConversions` with `partialFailure`: `results[i]` non-empty is
//!   accepted; an empty one is rejected with the `partialFailureError` detail whose
//!   `location.fieldPathElements` names `conversions[i]` (an error naming no row applies to every
//!   failed row). `CLICK_CONVERSION_ALREADY_EXISTS` means Google has it: counted as a duplicate
//!   and recorded.
//! - GA4 Measurement Protocol: any 2xx (the endpoint validates nothing; use the debug endpoint
//!   by hand to check a body).
//!
//! An answer that is not the documented shape stops that destination without recording its
//! request: the re-run sends it again (Meta deduplicates on `event_id` and Google on the click
//! and time, so a repeat after an ambiguous answer is harmless there).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::payload::Item;
use super::sent::SentState;
use super::{batches, Destination, DestinationExport, Export, SignalError};
use crate::config::signal::SignalSettings;
use crate::secret::Secret;
use crate::source::google_ads::AdsClient;
use crate::source::http::{redact_url, Endpoint, Http, HttpError, HttpSettings};

/// A row a platform refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    /// The request, from 1.
    pub request: usize,
    /// The row in the request, from 0 (Google's `conversions[i]`).
    pub row: usize,
    /// The event id of the row.
    pub event_id: String,
    /// The platform's error code (`CLICK_NOT_FOUND`, `code 100`), when it gave one.
    pub code: Option<String>,
    /// The platform's message.
    pub message: String,
}

/// What one destination's send did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Delivery {
    /// Destination id (`meta`).
    pub destination: String,
    /// Where it went (no secret in it).
    pub endpoint: String,
    /// Requests answered.
    pub requests: usize,
    /// Events the platform accepted in this run.
    pub accepted: usize,
    /// Events the platform said it already had (recorded, not resent).
    pub duplicates: usize,
    /// Events left out because an earlier run delivered them.
    pub already_sent: usize,
    /// Events not sent because the destination stopped first.
    pub not_sent: usize,
    /// Refused rows, one by one.
    pub rejected: Vec<Rejected>,
    /// Why the destination stopped (auth, transport, an answer of the wrong shape).
    pub error: Option<String>,
}

/// The send of an export.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SendReport {
    /// The sent-state folder of the account.
    pub state_dir: String,
    /// Per destination that had something to send.
    pub deliveries: Vec<Delivery>,
}

impl SendReport {
    /// Whether any row was refused or any destination stopped: the run exits non-zero.
    pub fn failed(&self) -> bool {
        self.deliveries
            .iter()
            .any(|d| !d.rejected.is_empty() || d.error.is_some())
    }
}

/// What one request's answer said about its rows (indices into the request).
#[derive(Debug, Default, PartialEq)]
struct Answer {
    accepted: Vec<usize>,
    duplicates: Vec<usize>,
    rejected: Vec<(usize, Option<String>, String)>,
}

/// The credentials a destination posts with, loaded before anything is sent.
enum Credentials<'a> {
    Meta(Secret),
    GoogleAds(AdsClient<'a>),
    Ga4(Secret),
}

/// Loads every secret the export's destinations need: a missing one stops the run before any
/// request (exit 2).
fn credentials<'a>(
    export: &Export,
    s: &'a SignalSettings,
    http: &'a Http,
    account: &'a str,
) -> Result<Vec<Option<Credentials<'a>>>, SignalError> {
    let missing = |d: Destination, key: &'static str| SignalError::NoCredentials {
        destination: d,
        key,
    };
    let loaded = |d: Destination, e: crate::secret::SecretError| SignalError::Secret {
        destination: d,
        message: e.to_string(),
    };
    let mut out = Vec::new();
    for d in &export.destinations {
        if d.items.is_empty() {
            out.push(None);
            continue;
        }
        let c = match d.destination {
            Destination::Meta => {
                let m = s.meta.as_ref().expect("configured");
                let r = m.token.as_ref().ok_or(missing(
                    Destination::Meta,
                    "signal.meta.access_token_env (or [meta] access_token_env)",
                ))?;
                let t = r
                    .load("signal.meta.access_token")
                    .map_err(|e| loaded(Destination::Meta, e))?;
                Credentials::Meta(t)
            }
            Destination::GoogleAds => {
                let g = s.google_ads.as_ref().expect("configured");
                let spec = g.credentials.as_ref().ok_or(missing(
                    Destination::GoogleAds,
                    "[signal.google_ads.credentials] (or [google_ads])",
                ))?;
                let client =
                    AdsClient::new(http, account, spec).map_err(|e| SignalError::Secret {
                        destination: Destination::GoogleAds,
                        message: e.to_string(),
                    })?;
                Credentials::GoogleAds(client)
            }
            Destination::Ga4 => {
                let g = s.ga4.as_ref().expect("configured");
                let r = g
                    .api_secret
                    .as_ref()
                    .ok_or(missing(Destination::Ga4, "signal.ga4.api_secret_env"))?;
                let t = r
                    .load("signal.ga4.api_secret")
                    .map_err(|e| loaded(Destination::Ga4, e))?;
                Credentials::Ga4(t)
            }
        };
        out.push(Some(c));
    }
    Ok(out)
}

/// Sends every destination of `export` that has events, once each across runs.
pub fn send(
    export: &Export,
    s: &SignalSettings,
    http: &HttpSettings,
) -> Result<SendReport, SignalError> {
    let http = Http::new(http.clone()).map_err(SignalError::Runtime)?;
    let lock_path = crate::fsutil::lock_path(&s.state_dir, &format!("{}-signal", export.account));
    let _lock = match crate::fsutil::try_lock(&lock_path) {
        Ok(Some(l)) => l,
        Ok(None) => return Err(SignalError::Locked { path: lock_path }),
        Err(e) => {
            return Err(SignalError::State {
                path: lock_path,
                message: e.to_string(),
            })
        }
    };
    let mut state = SentState::open(
        &s.state_dir,
        &export.account,
        export.destinations.iter().flat_map(|d| &d.items),
    )?;
    let creds = credentials(export, s, &http, &export.account)?;
    let run = async {
        let mut deliveries = Vec::new();
        for (d, c) in export.destinations.iter().zip(creds) {
            let Some(mut c) = c else { continue };
            deliveries.push(deliver(&http, &export.account, d, &mut c, &mut state).await?);
        }
        Ok::<_, SignalError>(deliveries)
    };
    let deliveries = crate::source::http::block_on(run).map_err(SignalError::Runtime)??;
    Ok(SendReport {
        state_dir: super::sent::dir_of(&s.state_dir, &export.account)
            .display()
            .to_string(),
        deliveries,
    })
}

/// Sends one destination's events not sent before, request by request, recording each answer.
async fn deliver(
    http: &Http,
    account: &str,
    d: &DestinationExport,
    c: &mut Credentials<'_>,
    state: &mut SentState,
) -> Result<Delivery, SignalError> {
    let dest = d.destination;
    let fresh: Vec<Item> = d
        .items
        .iter()
        .filter(|i| !state.contains(dest, i))
        .cloned()
        .collect();
    let mut out = Delivery {
        destination: dest.id().to_string(),
        endpoint: redact_url(&d.endpoint),
        already_sent: d.items.len() - fresh.len(),
        ..Delivery::default()
    };
    let at = Endpoint {
        account: account.to_string(),
        api: dest.api(),
        what: format!("POST {}", redact_url(&d.endpoint)),
    };
    let all = batches(dest, &fresh, d.test_event_code.as_deref());
    let total = all.len();
    for (n, (body, rows)) in all.into_iter().enumerate() {
        let answer = match post(http, &at, &d.endpoint, c, &body, rows.len()).await {
            Ok(a) => a,
            Err(e) => {
                out.error = Some(e.to_string());
                out.not_sent = fresh.len() - n * super::batch_size(dest);
                tracing::warn!("{e}; {} of {total} requests not sent", total - n);
                break;
            }
        };
        out.requests += 1;
        let kept: Vec<&Item> = answer
            .accepted
            .iter()
            .chain(&answer.duplicates)
            .filter_map(|i| rows.get(*i))
            .collect();
        state.record(dest, kept)?;
        out.accepted += answer.accepted.len();
        out.duplicates += answer.duplicates.len();
        out.rejected
            .extend(answer.rejected.into_iter().map(|(row, code, message)| {
                Rejected {
                    request: n + 1,
                    row,
                    event_id: rows
                        .get(row)
                        .map(|i| i.event_id.clone())
                        .unwrap_or_default(),
                    code,
                    message,
                }
            }));
    }
    Ok(out)
}

/// One request to the destination of `c`; `Err` stops the destination.
async fn post(
    http: &Http,
    at: &Endpoint,
    url: &str,
    c: &mut Credentials<'_>,
    body: &Value,
    rows: usize,
) -> Result<Answer, HttpError> {
    let malformed = |message: String| HttpError::Malformed {
        at: at.clone(),
        message,
    };
    match c {
        Credentials::Meta(token) => {
            let sent = post_keyed(http, at, url, ("access_token", token), body).await;
            match sent {
                Ok(bytes) => meta_answer(&bytes, rows).map_err(malformed),
                Err(HttpError::Api {
                    status: 400,
                    message,
                    reason,
                    ..
                }) => Ok(all_rejected(
                    rows,
                    reason
                        .and_then(|r| r.meta)
                        .map(|m| format!("code {}", m.code)),
                    message,
                )),
                Err(e) => Err(e),
            }
        }
        Credentials::GoogleAds(client) => {
            let v: Value = client.post(at, url, body).await?;
            google_answer(&v, rows).map_err(malformed)
        }
        Credentials::Ga4(secret) => {
            let sent = post_keyed(http, at, url, ("api_secret", secret), body).await;
            match sent {
                Ok(_) => Ok(Answer {
                    accepted: (0..rows).collect(),
                    ..Answer::default()
                }),
                Err(HttpError::Api {
                    status, message, ..
                }) if (400..500).contains(&status) && ![401, 403, 404, 429].contains(&status) => {
                    Ok(all_rejected(rows, Some(format!("HTTP {status}")), message))
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// POSTs `body` with the secret as the query parameter `key` (Meta's `access_token`, GA4's
/// `api_secret`), through the shared retry policy.
async fn post_keyed(
    http: &Http,
    at: &Endpoint,
    url: &str,
    (key, secret): (&str, &Secret),
    body: &Value,
) -> Result<Vec<u8>, HttpError> {
    http.send(at, || {
        http.client()
            .post(url)
            .query(&[(key, secret.expose())])
            .json(body)
    })
    .await
}

fn all_rejected(rows: usize, code: Option<String>, message: String) -> Answer {
    Answer {
        rejected: (0..rows)
            .map(|i| (i, code.clone(), message.clone()))
            .collect(),
        ..Answer::default()
    }
}

/// Meta's `{"events_received": n, "messages": [], "fbtrace_id": "…"}`.
fn meta_answer(bytes: &[u8], rows: usize) -> Result<Answer, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let n = v
        .get("events_received")
        .and_then(Value::as_u64)
        .ok_or_else(|| "no events_received in the answer".to_string())?;
    if n != rows as u64 {
        return Err(format!(
            "Meta received {n} of the {rows} events sent; nothing of this request is recorded"
        ));
    }
    Ok(Answer {
        accepted: (0..rows).collect(),
        ..Answer::default()
    })
}

/// The `conversions[i]` index of a Google Ads error's `location`, if it names one.
fn google_row(error: &Value) -> Option<usize> {
    error
        .pointer("/location/fieldPathElements")?
        .as_array()?
        .iter()
        .find(|e| e.get("fieldName").and_then(Value::as_str) == Some("conversions"))?
        .get("index")?
        .as_u64()
        .and_then(|i| usize::try_from(i).ok())
}

/// The error code of a Google Ads error (`CLICK_NOT_FOUND`), from `errorCode`'s one value.
fn google_code(error: &Value) -> Option<String> {
    error
        .get("errorCode")?
        .as_object()?
        .values()
        .find_map(|v| v.as_str().map(str::to_string))
}

/// The errors of a `partialFailureError`: (row, code, message), the row `None` when the error
/// names none.
fn google_errors(v: &Value) -> Vec<(Option<usize>, Option<String>, String)> {
    let Some(pf) = v.get("partialFailureError") else {
        return Vec::new();
    };
    let details = pf.get("details").and_then(Value::as_array);
    let errors: Vec<&Value> = details
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("errors").and_then(Value::as_array))
        .flatten()
        .collect();
    if errors.is_empty() {
        let m = pf.get("message").and_then(Value::as_str).unwrap_or("");
        return vec![(None, None, m.to_string())];
    }
    errors
        .into_iter()
        .map(|e| {
            let m = e.get("message").and_then(Value::as_str).unwrap_or("");
            (google_row(e), google_code(e), m.to_string())
        })
        .collect()
}

/// Google Ads' `{"results": [...], "partialFailureError"?: {...}, "jobId"}`.
fn google_answer(v: &Value, rows: usize) -> Result<Answer, String> {
    let results = v
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| "no results[] in the answer".to_string())?;
    if results.len() != rows {
        return Err(format!(
            "{} results for {rows} conversions sent",
            results.len()
        ));
    }
    let errors = google_errors(v);
    let mut by_row: BTreeMap<usize, Vec<(Option<String>, String)>> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for (row, code, message) in errors {
        match row {
            Some(r) if r < rows => by_row.entry(r).or_default().push((code, message)),
            _ => unplaced.push((code, message)),
        }
    }
    let mut a = Answer::default();
    for (i, r) in results.iter().enumerate() {
        if r.as_object().is_some_and(|o| !o.is_empty()) {
            a.accepted.push(i);
            continue;
        }
        let reasons = by_row.remove(&i).unwrap_or_else(|| unplaced.clone());
        if reasons
            .iter()
            .any(|(c, _)| c.as_deref() == Some("CLICK_CONVERSION_ALREADY_EXISTS"))
        {
            a.duplicates.push(i);
            continue;
        }
        let code = reasons.iter().find_map(|(c, _)| c.clone());
        let message = if reasons.is_empty() {
            "refused; Google named no reason for this row".to_string()
        } else {
            reasons
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        a.rejected.push((i, code, message));
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn google_partial_failures_are_placed_row_by_row() {
        let v = json!({
            "results": [{"gclid": "a", "conversionAction": "x"}, {}, {}, {}],
            "partialFailureError": {
                "code": 3,
                "message": "Multiple errors in 'details'.",
                "details": [{
                    "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                    "errors": [
                        {"errorCode": {"conversionUploadError": "CLICK_NOT_FOUND"},
                         "message": "The click can't be found.",
                         "location": {"fieldPathElements": [
                             {"fieldName": "conversions", "index": 1},
                             {"fieldName": "gclid"}]}},
                        {"errorCode": {"conversionUploadError": "CLICK_CONVERSION_ALREADY_EXISTS"},
                         "message": "exists",
                         "location": {"fieldPathElements": [{"fieldName": "conversions", "index": 3}]}}
                    ]
                }]
            },
            "jobId": "123"
        });
        let a = google_answer(&v, 4).unwrap();
        assert_eq!(a.accepted, [0]);
        assert_eq!(a.duplicates, [3]);
        assert_eq!(
            a.rejected,
            [
                (
                    1,
                    Some("CLICK_NOT_FOUND".into()),
                    "The click can't be found.".into()
                ),
                (
                    2,
                    None,
                    "refused; Google named no reason for this row".into()
                )
            ]
        );
    }

    #[test]
    fn an_error_naming_no_row_applies_to_every_failed_row() {
        let v = json!({
            "results": [{}, {"gclid": "b"}],
            "partialFailureError": {"code": 3, "message": "Invalid conversion action."}
        });
        let a = google_answer(&v, 2).unwrap();
        assert_eq!(a.accepted, [1]);
        assert_eq!(
            a.rejected,
            [(0, None, "Invalid conversion action.".to_string())]
        );
    }

    #[test]
    fn answers_of_another_shape_are_refused() {
        assert!(google_answer(&json!({"jobId": "1"}), 1).is_err());
        assert!(google_answer(&json!({"results": [{}]}), 2).is_err());
        assert!(meta_answer(br#"{"events_received": 2}"#, 3).is_err());
        assert!(meta_answer(b"<html>", 1).is_err());
        let ok = meta_answer(br#"{"events_received": 2, "messages": []}"#, 2).unwrap();
        assert_eq!(ok.accepted, [0, 1]);
    }
}
