//! Config of the live API sources: `[fetch]` (weeks, timeouts, retries, snapshots), `[meta]`,
//! `[ga4]` and `[google_ads]`. Secrets are named here (`*_env` / `*_file`), never written here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::SecretRef;
use crate::source::bigquery::sql::ExportTable;
use crate::source::bigquery::BigQuerySettings;
use crate::source::ga4_api::Ga4Spec;
use crate::source::google_ads::AdsSpec;
use crate::source::http::HttpSettings;
use crate::source::meta::{ActionFamily, MetaSpec};
use crate::source::window::Window;
use crate::types::IsoWeek;

pub use crate::source::remote::RemoteSettings;

/// `[fetch]`: which weeks API sources pull, and how patiently.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFetch {
    /// Whole ISO weeks to pull (default 8).
    pub weeks: Option<u32>,
    /// Last week to pull (`2026-W46`); default the last complete week.
    pub last_week: Option<String>,
    /// Whole-request timeout in seconds (default 60).
    pub timeout_secs: Option<u64>,
    /// Retries after the first attempt (default 4).
    pub retries: Option<u32>,
    /// First backoff delay in milliseconds (default 500; doubles per retry, with jitter).
    pub backoff_ms: Option<u64>,
    /// Requests in flight at once (default 4).
    pub concurrency: Option<usize>,
    /// Longest wait in seconds for a throttle to lift or an async report to finish, per request
    /// (default 900); past it the pull fails with a clear error.
    pub max_wait_secs: Option<u64>,
    /// First wait in milliseconds on a throttling error that says nothing of how long (default
    /// 60000; doubles per retry).
    pub throttle_backoff_ms: Option<u64>,
    /// Read API data from this snapshot (written by `optsignal pull`) instead of the network.
    pub snapshot: Option<PathBuf>,
}

/// `[meta]`: a Meta ad account.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    /// Ad account id (`act_123` or `123`).
    pub account_id: Option<String>,
    /// Environment variable holding the access token.
    pub access_token_env: Option<String>,
    /// File holding the access token.
    pub access_token_file: Option<PathBuf>,
    /// API root (default `https://graph.facebook.com/v25.0`).
    pub base_url: Option<String>,
    /// `pixel` (`offsite_conversion.fb_pixel_*`, default) or `omni` (`omni_*`).
    pub action_family: Option<ActionFamily>,
}

/// `[ga4]`: a GA4 property read through the Data API.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGa4 {
    /// Property id (digits).
    pub property_id: Option<String>,
    /// Service-account key file (JSON).
    pub key_file: Option<PathBuf>,
    /// API root (default `https://analyticsdata.googleapis.com/v1beta`).
    pub base_url: Option<String>,
    /// Rows per page (default 10000).
    pub page_size: Option<u32>,
}

/// `[bigquery]`: a GA4 export in BigQuery, read by pushdown (`source.kind = "bigquery"`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBigQuery {
    /// Project holding the export dataset.
    pub project: Option<String>,
    /// Export dataset (`analytics_<property id>`).
    pub dataset: Option<String>,
    /// Daily table prefix (default `events_`).
    pub table_prefix: Option<String>,
    /// Project the query runs and is billed in (default: `project`).
    pub billing_project: Option<String>,
    /// Dataset location (`EU`, `US`, a region).
    pub location: Option<String>,
    /// Service-account key file (JSON).
    pub key_file: Option<PathBuf>,
    /// API root (default `https://bigquery.googleapis.com/bigquery/v2`).
    pub base_url: Option<String>,
    /// Refuse queries estimated (dry run) to bill more bytes than this; also enforced by BigQuery.
    pub maximum_bytes_billed: Option<u64>,
}

/// `[google_ads]`: a Google Ads customer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGoogleAds {
    /// Customer id (digits; dashes are removed).
    pub customer_id: Option<String>,
    /// Manager (MCC) id, when acting through one.
    pub login_customer_id: Option<String>,
    /// Environment variable holding the developer token.
    pub developer_token_env: Option<String>,
    /// File holding the developer token.
    pub developer_token_file: Option<PathBuf>,
    /// OAuth client id (not a secret).
    pub client_id: Option<String>,
    /// Environment variable holding the OAuth client secret.
    pub client_secret_env: Option<String>,
    /// File holding the OAuth client secret.
    pub client_secret_file: Option<PathBuf>,
    /// Environment variable holding the OAuth refresh token.
    pub refresh_token_env: Option<String>,
    /// File holding the OAuth refresh token.
    pub refresh_token_file: Option<PathBuf>,
    /// API root (default `https://googleads.googleapis.com/v26`).
    pub base_url: Option<String>,
    /// OAuth token endpoint (default `https://oauth2.googleapis.com/token`).
    pub token_url: Option<String>,
}

/// The raw sections, as [`super::RawConfig`] holds them.
pub struct RawRemote<'a> {
    /// `[fetch]`.
    pub fetch: &'a RawFetch,
    /// `[meta]`.
    pub meta: Option<&'a RawMeta>,
    /// `[ga4]`.
    pub ga4: Option<&'a RawGa4>,
    /// `[google_ads]`.
    pub google_ads: Option<&'a RawGoogleAds>,
    /// `[bigquery]`.
    pub bigquery: Option<&'a RawBigQuery>,
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Something that records a problem: `err(key, message)`.
/// Where a validator reports a problem: (key, message).
pub type Err<'a> = dyn FnMut(String, String) + 'a;

/// Validates the API sections; `err(key, message)` records a problem.
pub fn validate(
    raw: RawRemote<'_>,
    base: &Path,
    err: &mut dyn FnMut(String, String),
) -> RemoteSettings {
    let f = raw.fetch;
    let (http, window) = fetch(f, err);
    let meta = raw.meta.and_then(|m| meta(m, base, err));
    let ga4 = raw.ga4.and_then(|g| ga4(g, base, err));
    let google_ads = raw.google_ads.and_then(|g| google_ads(g, base, err));
    let bigquery = raw.bigquery.and_then(|b| bigquery(b, base, err));
    let snapshot = f.snapshot.as_deref().map(|p| resolve(base, p));
    let any = meta.is_some() || ga4.is_some() || google_ads.is_some() || snapshot.is_some();
    RemoteSettings {
        http,
        window: (any || bigquery.is_some()).then_some(window),
        meta,
        ga4,
        google_ads,
        snapshot,
        bigquery,
    }
}

/// `[fetch]`: timeouts, retries and concurrency, and the weeks pulled.
fn fetch(f: &RawFetch, err: &mut Err<'_>) -> (HttpSettings, Window) {
    let d = HttpSettings::default();
    let http = HttpSettings {
        timeout: f.timeout_secs.map_or(d.timeout, Duration::from_secs),
        retries: f.retries.unwrap_or(d.retries),
        backoff: f.backoff_ms.map_or(d.backoff, Duration::from_millis),
        max_backoff: d.max_backoff,
        concurrency: f.concurrency.unwrap_or(d.concurrency).max(1),
        throttle_backoff: f
            .throttle_backoff_ms
            .map_or(d.throttle_backoff, Duration::from_millis),
        max_wait: f.max_wait_secs.map_or(d.max_wait, Duration::from_secs),
    };
    let weeks = f.weeks.unwrap_or(8);
    if weeks == 0 {
        err("fetch.weeks".into(), "must be at least 1 week".into());
    }
    let window = match f.last_week.as_deref() {
        Some(w) => match w.parse::<IsoWeek>() {
            Ok(last) => Window::ending(last, weeks),
            Err(e) => {
                err("fetch.last_week".into(), e);
                Window::before(jiff::Zoned::now().date(), weeks)
            }
        },
        None => Window::before(jiff::Zoned::now().date(), weeks),
    };
    (http, window)
}

/// `[meta]`: the ad account and its access token (by reference).
fn meta(m: &RawMeta, base: &Path, err: &mut Err<'_>) -> Option<MetaSpec> {
    let id = digits(m.account_id.as_deref().unwrap_or(""));
    if id.is_empty() {
        err(
            "meta.account_id".into(),
            "give the ad account id (act_123... or its digits)".into(),
        );
    }
    let token = SecretRef::from_config(
        m.access_token_env.as_deref(),
        m.access_token_file.as_deref(),
        base,
    );
    if token.is_none() {
        err(
            "meta.access_token_env".into(),
            "name the environment variable (or access_token_file) holding the access token; never put the token itself in the config".into(),
        );
    }
    Some(MetaSpec {
        account_id: id,
        token: token?,
        base_url: m
            .base_url
            .clone()
            .unwrap_or_else(|| crate::source::meta::DEFAULT_BASE_URL.into()),
        family: m.action_family.unwrap_or(ActionFamily::Pixel),
    })
}

/// `[ga4]`: the GA4 property and its service-account key file.
fn ga4(g: &RawGa4, base: &Path, err: &mut Err<'_>) -> Option<Ga4Spec> {
    let id = digits(g.property_id.as_deref().unwrap_or(""));
    if id.is_empty() {
        err("ga4.property_id".into(), "give the GA4 property id".into());
    }
    let Some(key) = &g.key_file else {
        err(
            "ga4.key_file".into(),
            "name the service-account key file (JSON)".into(),
        );
        return None;
    };
    Some(Ga4Spec {
        property_id: id,
        key_file: resolve(base, key),
        base_url: g
            .base_url
            .clone()
            .unwrap_or_else(|| crate::source::ga4_api::DEFAULT_BASE_URL.into()),
        page_size: g.page_size.unwrap_or(10_000).clamp(1, 250_000),
        // Filled from [source.aliases] once the source section is validated.
        aliases: Default::default(),
    })
}

/// `[google_ads]`: the customer, the OAuth client and its secrets (by reference).
fn google_ads(g: &RawGoogleAds, base: &Path, err: &mut Err<'_>) -> Option<AdsSpec> {
    google_ads_spec(g, base, "google_ads", err)
}

/// Validates a Google Ads customer's credentials written at `prefix` (`google_ads`, or
/// `signal.google_ads.credentials` for the account that uploads conversions).
pub fn google_ads_spec(
    g: &RawGoogleAds,
    base: &Path,
    prefix: &str,
    err: &mut Err<'_>,
) -> Option<AdsSpec> {
    let id = digits(g.customer_id.as_deref().unwrap_or(""));
    if id.is_empty() {
        err(
            format!("{prefix}.customer_id"),
            "give the customer id (123-456-7890)".into(),
        );
    }
    let mut secret = |key: &str, env: &Option<String>, file: &Option<PathBuf>| {
        let r = SecretRef::from_config(env.as_deref(), file.as_deref(), base);
        if r.is_none() {
            err(
                format!("{prefix}.{key}_env"),
                format!("name the environment variable (or {key}_file) holding the {key}"),
            );
        }
        r
    };
    let developer_token = secret(
        "developer_token",
        &g.developer_token_env,
        &g.developer_token_file,
    );
    let client_secret = secret("client_secret", &g.client_secret_env, &g.client_secret_file);
    let refresh_token = secret("refresh_token", &g.refresh_token_env, &g.refresh_token_file);
    let Some(client_id) = g.client_id.clone() else {
        err(
            format!("{prefix}.client_id"),
            "give the OAuth client id".into(),
        );
        return None;
    };
    Some(AdsSpec {
        customer_id: id,
        login_customer_id: g
            .login_customer_id
            .as_deref()
            .map(digits)
            .filter(|s| !s.is_empty()),
        developer_token: developer_token?,
        client_id,
        client_secret: client_secret?,
        refresh_token: refresh_token?,
        base_url: g
            .base_url
            .clone()
            .unwrap_or_else(|| crate::source::google_ads::DEFAULT_BASE_URL.into()),
        token_url: g
            .token_url
            .clone()
            .unwrap_or_else(|| crate::source::google_ads::DEFAULT_TOKEN_URL.into()),
    })
}

/// `[bigquery]`: the export's project and dataset, the key file and the cost limit.
fn bigquery(b: &RawBigQuery, base: &Path, err: &mut Err<'_>) -> Option<BigQuerySettings> {
    let mut name = |key: &str, v: &Option<String>| {
        let v = v.as_deref().unwrap_or("").trim().to_string();
        if v.is_empty() {
            err(format!("bigquery.{key}"), format!("give the {key}"));
        }
        v
    };
    let project = name("project", &b.project);
    let dataset = name("dataset", &b.dataset);
    let Some(key) = &b.key_file else {
        err(
            "bigquery.key_file".into(),
            "name the service-account key file (JSON)".into(),
        );
        return None;
    };
    if b.maximum_bytes_billed == Some(0) {
        err(
            "bigquery.maximum_bytes_billed".into(),
            "must be more than 0 bytes (leave it out for no limit)".into(),
        );
    }
    let table = ExportTable {
        project: project.clone(),
        dataset,
        prefix: b.table_prefix.clone().unwrap_or_else(|| "events_".into()),
    };
    Some(BigQuerySettings {
        table,
        billing_project: b
            .billing_project
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(project),
        location: b.location.clone().filter(|s| !s.trim().is_empty()),
        key_file: resolve(base, key),
        base_url: b
            .base_url
            .clone()
            .unwrap_or_else(|| crate::source::bigquery::DEFAULT_BASE_URL.into()),
        maximum_bytes_billed: b.maximum_bytes_billed,
    })
}
