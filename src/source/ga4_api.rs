//! GA4 Data API (v1beta) `runReport`: weekly volumes per event (`isoYearIsoWeek` × `eventName` →
//! `eventCount`, `totalUsers`, `sessions`), paged by `limit`/`offset` until `rowCount`, every value
//! parsed from its string. Auth: a service-account key file → signed JWT → OAuth token
//! (`gcp_auth`, which honours the key's `token_uri` and caches the token until it expires); an
//! HTTP 401 rebuilds the provider (a fresh token) and retries once.
//!
//! Aggregates only: no user or session-level joint outcomes, so the proxy model cannot be fitted
//! from this source. `subjectToThresholding` and `dataLossFromOtherRow` are kept for the report.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::http::{Endpoint, Http, HttpError};
use super::window::Window;
use crate::types::{EventName, IsoWeek};

/// Default API root.
pub const DEFAULT_BASE_URL: &str = "https://analyticsdata.googleapis.com/v1beta";
/// OAuth scope of the Data API (read-only).
pub const SCOPE: &str = "https://www.googleapis.com/auth/analytics.readonly";

/// What to pull from one GA4 property.
#[derive(Debug, Clone)]
pub struct Ga4Spec {
    /// Property id, digits.
    pub property_id: String,
    /// Service-account key file.
    pub key_file: PathBuf,
    /// API root.
    pub base_url: String,
    /// Rows per page.
    pub page_size: u32,
    /// `[source.aliases]`, raw event name → canonical: the filter asks GA4 for the raw names
    /// too, and their rows count under the canonical name (a property logging `signup`).
    pub aliases: HashMap<String, EventName>,
}

impl Ga4Spec {
    /// The event names to ask GA4 for: each canonical event and every raw name aliased to it,
    /// sorted.
    pub fn filter_names(&self, events: &[String]) -> Vec<String> {
        let mut names: Vec<String> = events.to_vec();
        names.extend(
            self.aliases
                .iter()
                .filter(|(_, canon)| events.iter().any(|e| e == canon.as_str()))
                .map(|(raw, _)| raw.clone()),
        );
        names.sort();
        names.dedup();
        names
    }

    /// The canonical name of an event name GA4 reported.
    pub fn canonical<'a>(&'a self, raw: &'a str) -> &'a str {
        self.aliases.get(raw).map_or(raw, EventName::as_str)
    }
}

/// One event's volume in one week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ga4Row {
    /// The ISO week.
    pub week: IsoWeek,
    /// The event name.
    pub event: String,
    /// Times it fired.
    pub event_count: u64,
    /// Users who fired it.
    pub total_users: u64,
    /// Sessions in which it fired.
    pub sessions: u64,
}

/// Everything pulled from one property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ga4Pull {
    /// Property id.
    pub property_id: String,
    /// The weeks asked for, in order.
    pub weeks: Vec<IsoWeek>,
    /// Rows, in the API's order.
    pub rows: Vec<Ga4Row>,
    /// GA4 withheld small counts (thresholding) in at least one page.
    pub subject_to_thresholding: bool,
    /// Some rows were folded into "(other)".
    pub data_loss_from_other_row: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cell {
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    #[serde(default)]
    dimension_values: Vec<Cell>,
    #[serde(default)]
    metric_values: Vec<Cell>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    subject_to_thresholding: bool,
    #[serde(default)]
    data_loss_from_other_row: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    dimension_headers: Vec<Header>,
    #[serde(default)]
    metric_headers: Vec<Header>,
    #[serde(default)]
    rows: Vec<Row>,
    row_count: Option<Value>,
    #[serde(default)]
    metadata: Metadata,
}

/// `202402` → 2024-W02.
fn iso_week(s: &str) -> Option<IsoWeek> {
    if s.len() != 6 {
        return None;
    }
    IsoWeek::new(s[..4].parse().ok()?, s[4..].parse().ok()?)
}

fn count(s: &str) -> Option<u64> {
    let t = s.trim();
    t.parse::<u64>().ok().or_else(|| {
        t.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .map(|x| x.round() as u64)
    })
}

fn provider(spec: &Ga4Spec, at: &Endpoint) -> Result<gcp_auth::CustomServiceAccount, HttpError> {
    crate::source::gcp::service_account(&spec.key_file, at)
}

/// Pulls weekly volumes of `events` for the weeks of `window`.
pub async fn fetch(
    http: &Http,
    account: &str,
    spec: &Ga4Spec,
    window: &Window,
    events: &[String],
) -> Result<Ga4Pull, HttpError> {
    let url = format!(
        "{}/properties/{}:runReport",
        spec.base_url.trim_end_matches('/'),
        spec.property_id
    );
    let at = Endpoint {
        account: account.to_string(),
        api: "GA4 Data API",
        what: format!("POST {url} (property {})", spec.property_id),
    };
    let mut auth = provider(spec, &at)?;
    let mut bearer = crate::source::gcp::token(&auth, SCOPE, &at).await?;
    let mut refreshed = false;
    let mut out = Ga4Pull {
        property_id: spec.property_id.clone(),
        weeks: window.weeks(),
        rows: Vec::new(),
        subject_to_thresholding: false,
        data_loss_from_other_row: false,
    };
    let mut offset: u64 = 0;
    let filter = spec.filter_names(events);
    loop {
        let body = json!({
            "dateRanges": [{"startDate": window.since().to_string(), "endDate": window.until().to_string()}],
            "dimensions": [{"name": "isoYearIsoWeek"}, {"name": "eventName"}],
            "metrics": [{"name": "eventCount"}, {"name": "totalUsers"}, {"name": "sessions"}],
            "dimensionFilter": {"filter": {"fieldName": "eventName", "inListFilter": {"values": filter}}},
            "orderBys": [{"dimension": {"dimensionName": "isoYearIsoWeek", "orderType": "NUMERIC"}}],
            "limit": spec.page_size.to_string(),
            "offset": offset.to_string(),
        });
        let page_at = Endpoint {
            what: format!(
                "POST {url} (property {}, offset {offset})",
                spec.property_id
            ),
            ..at.clone()
        };
        let sent: Result<Response, HttpError> = http
            .json(&page_at, || {
                http.client().post(&url).bearer_auth(&bearer).json(&body)
            })
            .await;
        let page = match sent {
            Err(e) if e.is_unauthorized() && !refreshed => {
                // The cached token expired or was revoked: a fresh provider gets a new one.
                tracing::info!(target: "optsignal::http", "{page_at}: HTTP 401, renewing the token once");
                refreshed = true;
                auth = provider(spec, &at)?;
                bearer = crate::source::gcp::token(&auth, SCOPE, &at).await?;
                continue;
            }
            r => r?,
        };
        let malformed = |message: String| HttpError::Malformed {
            at: page_at.clone(),
            message,
        };
        let pos = |hs: &[Header], n: &str| hs.iter().position(|h| h.name == n);
        let (Some(wi), Some(ei)) = (
            pos(&page.dimension_headers, "isoYearIsoWeek"),
            pos(&page.dimension_headers, "eventName"),
        ) else {
            if page.rows.is_empty() {
                break; // an empty report carries no headers
            }
            return Err(malformed(
                "no isoYearIsoWeek / eventName dimension headers".into(),
            ));
        };
        let mi = ["eventCount", "totalUsers", "sessions"].map(|m| pos(&page.metric_headers, m));
        let [Some(ci), Some(ui), Some(si)] = mi else {
            return Err(malformed(
                "missing eventCount / totalUsers / sessions headers".into(),
            ));
        };
        out.subject_to_thresholding |= page.metadata.subject_to_thresholding;
        out.data_loss_from_other_row |= page.metadata.data_loss_from_other_row;
        let n = page.rows.len() as u64;
        for (i, r) in page.rows.iter().enumerate() {
            let d = |k: usize| r.dimension_values.get(k).map(|c| c.value.as_str());
            let m = |k: usize| r.metric_values.get(k).and_then(|c| count(&c.value));
            let bad = || malformed(format!("row {}: unreadable values", offset + i as u64));
            let week = d(wi).and_then(iso_week).ok_or_else(bad)?;
            out.rows.push(Ga4Row {
                week,
                event: spec.canonical(d(ei).ok_or_else(bad)?).to_string(),
                event_count: m(ci).ok_or_else(bad)?,
                total_users: m(ui).ok_or_else(bad)?,
                sessions: m(si).ok_or_else(bad)?,
            });
        }
        let total = match &page.row_count {
            None => 0,
            Some(v) => count(&v.to_string().replace('"', ""))
                .ok_or_else(|| malformed(format!("rowCount {v}")))?,
        };
        offset += n;
        if n == 0 || offset >= total {
            break;
        }
    }
    Ok(out)
}

/// Observations from GA4 volumes alone: weekly event, session and user counts per event, no
/// units or patterns (so no model). Every pulled week is whole, hence complete.
pub fn observations(
    pull: &Ga4Pull,
    spec: &crate::observe::ObserveSpec,
) -> crate::observe::Observations {
    use crate::observe::{Observations, UnitKind, Volume, WeekVolumes};
    let volume = |week: IsoWeek, name: &str| {
        pull.rows
            .iter()
            .filter(|r| r.week == week && r.event == name)
            .fold(Volume::default(), |v, r| Volume {
                events: v.events + r.event_count,
                units: v.units
                    + match spec.unit {
                        UnitKind::Session => r.sessions,
                        UnitKind::User => r.total_users,
                    },
                users: v.users + r.total_users,
            })
    };
    let mut other = std::collections::BTreeMap::new();
    for r in &pull.rows {
        if r.event != spec.purchase.as_str()
            && !spec.candidates.iter().any(|c| c.as_str() == r.event)
        {
            *other.entry(r.event.clone()).or_insert(0) += r.event_count;
        }
    }
    let weeks: Vec<WeekVolumes> = pull
        .weeks
        .iter()
        .map(|&w| {
            let candidates: Vec<Volume> = spec
                .candidates
                .iter()
                .map(|c| volume(w, c.as_str()))
                .collect();
            let purchase = volume(w, spec.purchase.as_str());
            WeekVolumes {
                week: w,
                complete: true,
                days: 0x7f,
                set_aside: None,
                units: 0,
                users: 0,
                candidates,
                purchase,
                revenue: 0.0,
            }
        })
        .collect();
    let micros = |d: jiff::civil::Date| {
        d.to_zoned(spec.time_zone.clone())
            .map(|z| z.timestamp().as_microsecond())
            .unwrap_or(0)
    };
    let span = match (pull.weeks.first(), pull.weeks.last()) {
        (Some(a), Some(b)) => (
            micros(a.monday()),
            micros(b.monday()) + 7 * 86_400_000_000 - 1,
        ),
        _ => (0, 0),
    };
    Observations::from_volumes(spec, weeks, other, span)
}
