//! A small BigQuery REST client: `jobs.query` (and its dry run) plus `jobs.getQueryResults`,
//! on the shared HTTP layer ([`Http`]: retries with jitter on 429/5xx and BigQuery's
//! `rateLimitExceeded`, `Retry-After`, redaction), so there is no second retry loop here.
//!
//! One query goes: optional dry run (the bytes-billed guard) → `POST /projects/{p}/queries` →
//! while `jobComplete` is false, `GET /projects/{p}/queries/{jobId}` until an overall deadline
//! (then the job is cancelled and a typed timeout names it) → follow `pageToken` until absent →
//! check the row count against `totalRows`. Cells come back as strings (BigQuery encodes every
//! scalar, INT64 included, as a JSON string; TIMESTAMP as int64 µs with `useInt64Timestamp`);
//! NULL is `None`. Nested (RECORD / REPEATED) columns are refused: the SQL returns scalars.
//!
//! Auth: service-account key file → signed JWT → OAuth token (`gcp_auth`, which honours the
//! key's `token_uri` and caches the token); an HTTP 401 rebuilds the provider and retries once.
//! The token travels only in the `Authorization` header and is never logged or shown.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::source::http::{Endpoint, Http, HttpError};

/// Default API root (`bigquery/v2`); tests point [`BigQuerySpec::base_url`] at a mock instead.
pub const DEFAULT_BASE_URL: &str = "https://bigquery.googleapis.com/bigquery/v2";

/// OAuth scope. `jobs.query` can run DML and DDL, so Google lists only the full `bigquery` (and
/// `cloud-platform`) scope for it and `bigquery.readonly` is not reliably accepted; the tool only
/// sends SELECTs it generated.
pub const SCOPE: &str = "https://www.googleapis.com/auth/bigquery";

/// The API's name in error messages.
const API: &str = "BigQuery API";

/// Where and how to run queries: billing project, credentials, limits and polling.
#[derive(Debug, Clone, PartialEq)]
pub struct BigQuerySpec {
    /// The project that runs (and pays for) the jobs; the data may live elsewhere.
    pub project_id: String,
    /// Dataset location (`EU`, `US`, `europe-west1`); jobs outside the US and EU multi-regions
    /// cannot be polled without it. `None` lets BigQuery infer it.
    pub location: Option<String>,
    /// Service-account key file (JSON, as the Cloud console downloads it).
    pub key_file: PathBuf,
    /// API root; [`DEFAULT_BASE_URL`] unless testing.
    pub base_url: String,
    /// Refuse queries estimated to process more bytes than this (dry run first), and have
    /// BigQuery enforce it too (`maximumBytesBilled`). `None`: no guard.
    pub maximum_bytes_billed: Option<u64>,
    /// Overall deadline for one query, from the first request to the last page.
    pub job_timeout: Duration,
    /// How long each request lets BigQuery wait for the job (`timeoutMs`); keep it below the
    /// HTTP timeout.
    pub wait: Duration,
    /// Pause between polls of an unfinished job.
    pub poll_interval: Duration,
    /// Rows per page (`maxResults`); pages are also capped at 10 MB by BigQuery.
    pub page_size: u32,
}

impl BigQuerySpec {
    /// Settings with the defaults: no location, no bytes guard, 10 min deadline, 10 s waits,
    /// 1 s poll pause, 10 000 rows a page.
    pub fn new(project_id: impl Into<String>, key_file: impl Into<PathBuf>) -> Self {
        BigQuerySpec {
            project_id: project_id.into(),
            location: None,
            key_file: key_file.into(),
            base_url: DEFAULT_BASE_URL.to_string(),
            maximum_bytes_billed: None,
            job_timeout: Duration::from_secs(600),
            wait: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            page_size: 10_000,
        }
    }
}

mod params;
pub use params::*;

/// A result column: its name and BigQuery type (`STRING`, `INTEGER`, `FLOAT`, `BOOLEAN`,
/// `TIMESTAMP`, …), as the schema says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// BigQuery type name (legacy spelling: `INTEGER`, `FLOAT`, `BOOLEAN`).
    pub field_type: String,
    /// `NULLABLE` or `REQUIRED` (`REPEATED` is refused).
    pub mode: String,
}

/// One result row: a cell per schema field, in schema order; NULL is `None`. Numbers stay
/// strings (INT64 does not fit JSON doubles); callers parse the columns they read.
pub type Row = Vec<Option<String>>;

/// What a dry run says about a query, before anything is billed.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRun {
    /// Bytes the query would process (the estimate shown before running).
    pub total_bytes_processed: u64,
    /// The result's columns.
    pub schema: Vec<Field>,
}

/// A finished query: its columns, rows and cost.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The job's id (absent only if BigQuery ran the query without creating a job).
    pub job_id: Option<String>,
    /// Where the job ran (`EU`), as BigQuery reports it.
    pub location: Option<String>,
    /// The columns, in cell order.
    pub schema: Vec<Field>,
    /// The rows, in BigQuery's order across all pages ([`BigQueryClient::query_pages`] leaves
    /// this empty and hands the rows over page by page).
    pub rows: Vec<Row>,
    /// Rows in the result (`totalRows`), checked against the rows read.
    pub total_rows: u64,
    /// Bytes processed, when reported.
    pub total_bytes_processed: Option<u64>,
    /// Bytes billed, when reported (BigQuery bills at least 10 MB per table).
    pub total_bytes_billed: Option<u64>,
    /// Served from the query cache (nothing billed).
    pub cache_hit: bool,
}

impl QueryResult {
    /// The index of the column `name` in each row, or a typed error listing the columns.
    pub fn column(&self, name: &str) -> Result<usize, BigQueryError> {
        column_of(&self.schema, name, self.job_id.as_deref())
    }
}

/// The index of column `name` in `schema` (for [`BigQueryClient::query_pages`] callbacks).
pub fn column_of(
    schema: &[Field],
    name: &str,
    job_id: Option<&str>,
) -> Result<usize, BigQueryError> {
    schema
        .iter()
        .position(|f| f.name == name)
        .ok_or_else(|| BigQueryError::MissingColumn {
            column: name.to_string(),
            job_id: job_id.map(str::to_string),
            available: schema
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

mod error;
pub use error::*;

mod wire;
use wire::*;

/// A BigQuery client for one billing project and service account. Cheap to share by
/// reference across tasks; the OAuth token is cached by the provider.
pub struct BigQueryClient {
    http: Http,
    account: String,
    spec: BigQuerySpec,
    auth: Mutex<Arc<gcp_auth::CustomServiceAccount>>,
}

impl std::fmt::Debug for BigQueryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BigQueryClient")
            .field("account", &self.account)
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

/// A running job: its id and location, for polls, pages and cancelling.
struct Job {
    id: String,
    location: Option<String>,
}

impl BigQueryClient {
    /// A client for `spec`, reading the key file now so a bad path fails before any query.
    /// `account` names the config's account in error messages.
    pub fn new(
        http: Http,
        account: impl Into<String>,
        spec: BigQuerySpec,
    ) -> Result<Self, BigQueryError> {
        let account = account.into();
        let at = Endpoint {
            account: account.clone(),
            api: API,
            what: format!("project {}", spec.project_id),
        };
        let provider = provider(&spec, &at)?;
        Ok(BigQueryClient {
            http,
            account,
            spec,
            auth: Mutex::new(Arc::new(provider)),
        })
    }

    /// The settings in use.
    pub fn spec(&self) -> &BigQuerySpec {
        &self.spec
    }

    fn base(&self) -> &str {
        self.spec.base_url.trim_end_matches('/')
    }

    fn queries_url(&self) -> String {
        format!("{}/projects/{}/queries", self.base(), self.spec.project_id)
    }

    fn endpoint(&self, what: String) -> Endpoint {
        Endpoint {
            account: self.account.clone(),
            api: API,
            what,
        }
    }

    /// Estimates the bytes `sql` would process, without running it or billing anything.
    pub async fn dry_run(&self, sql: &str, params: &[QueryParam]) -> Result<DryRun, BigQueryError> {
        let url = self.queries_url();
        let at = self.endpoint(format!(
            "POST {url} (project {}, dry run)",
            self.spec.project_id
        ));
        let body = self.body(sql, params, None);
        let resp: Response = self
            .call(&at, |bearer| {
                self.http
                    .client()
                    .post(&url)
                    .bearer_auth(bearer)
                    .json(&body)
            })
            .await
            .map_err(|e| self.classify(e, None, None))?;
        let total = int64(resp.total_bytes_processed.as_ref(), "totalBytesProcessed")
            .map_err(|m| malformed(&at, m))?
            .ok_or_else(|| malformed(&at, "the dry run has no totalBytesProcessed".into()))?;
        let schema = scalar_schema(resp.schema, &at)?;
        tracing::debug!(target: "optsignal::bigquery", bytes = total, "dry run");
        Ok(DryRun {
            total_bytes_processed: total,
            schema,
        })
    }

    /// Runs `sql` to completion and returns every row. With `maximum_bytes_billed` set, a dry
    /// run comes first and an estimate over the limit is refused before any job starts.
    pub async fn query(
        &self,
        sql: &str,
        params: &[QueryParam],
    ) -> Result<QueryResult, BigQueryError> {
        let mut rows = Vec::new();
        let mut result = self
            .query_pages(sql, params, |_, page| {
                rows.extend(page);
                Ok(())
            })
            .await?;
        result.rows = rows;
        Ok(result)
    }

    /// Like [`query`](Self::query), but hands each page's rows to `on_page` (with the schema)
    /// as it arrives, so a large result is never held whole; the returned result has no rows.
    pub async fn query_pages(
        &self,
        sql: &str,
        params: &[QueryParam],
        on_page: impl FnMut(&[Field], Vec<Row>) -> Result<(), BigQueryError>,
    ) -> Result<QueryResult, BigQueryError> {
        self.query_pages_after(sql, params, None, on_page).await
    }

    /// A dry run checked against `maximum_bytes_billed`: the estimate, or the typed refusal when
    /// it is over the limit. No job starts either way.
    pub async fn estimate(&self, sql: &str, params: &[QueryParam]) -> Result<u64, BigQueryError> {
        let dry = self.dry_run(sql, params).await?;
        if let Some(limit) = self.spec.maximum_bytes_billed {
            if dry.total_bytes_processed > limit {
                return Err(BigQueryError::BytesBilledLimit {
                    at: Box::new(self.endpoint(format!(
                        "POST {} (project {}, dry run)",
                        self.queries_url(),
                        self.spec.project_id
                    ))),
                    estimate: Some(dry.total_bytes_processed),
                    limit: Some(limit),
                    message: None,
                });
            }
        }
        Ok(dry.total_bytes_processed)
    }

    /// [`query_pages`](Self::query_pages) after the caller already ran [`estimate`](Self::estimate)
    /// (to show the estimate first): `estimate` skips the second dry run; `None` does it here
    /// when a limit is set.
    pub async fn query_pages_after(
        &self,
        sql: &str,
        params: &[QueryParam],
        estimate: Option<u64>,
        mut on_page: impl FnMut(&[Field], Vec<Row>) -> Result<(), BigQueryError>,
    ) -> Result<QueryResult, BigQueryError> {
        let started = Instant::now();
        let deadline = started + self.spec.job_timeout;
        let estimate = match (estimate, self.spec.maximum_bytes_billed) {
            (Some(e), _) => Some(e),
            (None, Some(_)) => Some(self.estimate(sql, params).await?),
            (None, None) => None,
        };

        let (at, page, job) = self.start_job(sql, params, estimate).await?;
        let job_id = job.as_ref().map(|j| j.id.clone());
        let clock = (started, deadline);
        let (at, mut page, bytes, cache_hit) = self
            .wait_job(job.as_ref(), at, page, clock, estimate)
            .await?;
        let schema = scalar_schema(page.schema.take(), &at)?;
        let total_rows =
            int64(page.total_rows.as_ref(), "totalRows").map_err(|m| malformed(&at, m))?;
        let (at, read) = self
            .read_pages(
                job.as_ref(),
                (at, page),
                &schema,
                clock,
                estimate,
                &mut on_page,
            )
            .await?;
        if let Some(total) = total_rows {
            if total != read {
                return Err(BigQueryError::RowCount {
                    at: Box::new(at),
                    job_id: job_id.unwrap_or_default(),
                    read,
                    total,
                });
            }
        }
        let processed =
            int64(bytes.0.as_ref(), "totalBytesProcessed").map_err(|m| malformed(&at, m))?;
        let billed = int64(bytes.1.as_ref(), "totalBytesBilled").map_err(|m| malformed(&at, m))?;
        tracing::debug!(target: "optsignal::bigquery", job = ?job_id, rows = read, bytes = ?processed, "query done");
        Ok(QueryResult {
            job_id,
            location: job.and_then(|j| j.location),
            schema,
            rows: Vec::new(),
            total_rows: total_rows.unwrap_or(read),
            total_bytes_processed: processed,
            total_bytes_billed: billed,
            cache_hit: cache_hit.unwrap_or(false),
        })
    }

    /// Posts the query (`jobs.query`, with a request id so a retry does not run it twice):
    /// its endpoint, first answer and job.
    async fn start_job(
        &self,
        sql: &str,
        params: &[QueryParam],
        estimate: Option<u64>,
    ) -> Result<(Endpoint, Response, Option<Job>), BigQueryError> {
        let url = self.queries_url();
        let at = self.endpoint(format!("POST {url} (project {})", self.spec.project_id));
        let rid = request_id();
        let body = self.body(sql, params, Some(&rid));
        let mut page: Response = self
            .call(&at, |bearer| {
                self.http
                    .client()
                    .post(&url)
                    .bearer_auth(bearer)
                    .json(&body)
            })
            .await
            .map_err(|e| self.classify(e, estimate, None))?;
        let job = match page.job_reference.job_id.take() {
            Some(id) => Some(Job {
                id,
                location: page
                    .job_reference
                    .location
                    .take()
                    .or_else(|| self.spec.location.clone()),
            }),
            None => None,
        };
        let job_id = job.as_ref().map(|j| j.id.as_str());
        tracing::debug!(target: "optsignal::bigquery", job = ?job_id, complete = page.job_complete, "jobs.query");
        self.job_errors(&page, &at, job_id, estimate)?;
        Ok((at, page, job))
    }

    /// Polls `jobs.getQueryResults` until the job is complete or the deadline passes
    /// (`clock`: started, deadline); the last answer, with the bytes and cache hit seen.
    #[allow(clippy::type_complexity)]
    async fn wait_job(
        &self,
        job: Option<&Job>,
        mut at: Endpoint,
        mut page: Response,
        clock: (Instant, Instant),
        estimate: Option<u64>,
    ) -> Result<
        (
            Endpoint,
            Response,
            (Option<Value>, Option<Value>),
            Option<bool>,
        ),
        BigQueryError,
    > {
        let mut bytes = (
            page.total_bytes_processed.take(),
            page.total_bytes_billed.take(),
        );
        let mut cache_hit = page.cache_hit;
        while !page.job_complete {
            let Some(job) = job else {
                return Err(malformed(
                    &at,
                    "jobComplete is false but there is no jobReference.jobId to poll".into(),
                ));
            };
            let left = clock.1.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.time_out(job, clock.0.elapsed()).await);
            }
            tokio::time::sleep(self.spec.poll_interval.min(left)).await;
            let left = clock.1.saturating_duration_since(Instant::now());
            (at, page) = self
                .results(job, None, self.spec.wait.min(left), estimate)
                .await?;
            bytes.0 = bytes.0.or(page.total_bytes_processed.take());
            bytes.1 = bytes.1.or(page.total_bytes_billed.take());
            cache_hit = cache_hit.or(page.cache_hit);
        }

        Ok((at, page, bytes, cache_hit))
    }

    /// Hands every result page to `on_page`, following page tokens: the last endpoint and the
    /// rows read.
    async fn read_pages(
        &self,
        job: Option<&Job>,
        (mut at, mut page): (Endpoint, Response),
        schema: &[Field],
        clock: (Instant, Instant),
        estimate: Option<u64>,
        on_page: &mut impl FnMut(&[Field], Vec<Row>) -> Result<(), BigQueryError>,
    ) -> Result<(Endpoint, u64), BigQueryError> {
        let mut read = 0u64;
        let mut seen_tokens = std::collections::HashSet::new();
        loop {
            let rows = page_rows(std::mem::take(&mut page.rows), schema, &at)?;
            read += rows.len() as u64;
            on_page(schema, rows)?;
            let Some(token) = page.page_token.take() else {
                break;
            };
            let Some(job) = job else {
                return Err(malformed(
                    &at,
                    "a pageToken came without a jobReference.jobId to page through".into(),
                ));
            };
            if !seen_tokens.insert(token.clone()) {
                return Err(malformed(
                    &at,
                    "BigQuery sent the same pageToken twice".into(),
                ));
            }
            let left = clock.1.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.time_out(job, clock.0.elapsed()).await);
            }
            (at, page) = self
                .results(job, Some(&token), self.spec.wait.min(left), estimate)
                .await?;
            if !page.job_complete {
                return Err(malformed(
                    &at,
                    "a result page says the job is not complete".into(),
                ));
            }
        }
        Ok((at, read))
    }

    /// The `jobs.query` body; `request_id` is `None` for a dry run.
    fn body(&self, sql: &str, params: &[QueryParam], request_id: Option<&str>) -> Value {
        let mut b = Map::new();
        b.insert("query".into(), json!(sql));
        b.insert("useLegacySql".into(), json!(false));
        match request_id {
            None => {
                b.insert("dryRun".into(), json!(true));
            }
            Some(rid) => {
                b.insert("requestId".into(), json!(rid));
                b.insert("timeoutMs".into(), json!(self.spec.wait.as_millis() as u64));
                b.insert("maxResults".into(), json!(self.spec.page_size));
                b.insert("formatOptions".into(), json!({"useInt64Timestamp": true}));
                if let Some(limit) = self.spec.maximum_bytes_billed {
                    // int64 fields go as strings in BigQuery's JSON.
                    b.insert("maximumBytesBilled".into(), json!(limit.to_string()));
                }
            }
        }
        if let Some(loc) = &self.spec.location {
            b.insert("location".into(), json!(loc));
        }
        if !params.is_empty() {
            b.insert("parameterMode".into(), json!("NAMED"));
            b.insert(
                "queryParameters".into(),
                Value::Array(params.iter().map(QueryParam::to_json).collect()),
            );
        }
        Value::Object(b)
    }

    /// One `jobs.getQueryResults` call: a poll (no token) or a page.
    async fn results(
        &self,
        job: &Job,
        page_token: Option<&str>,
        wait: Duration,
        estimate: Option<u64>,
    ) -> Result<(Endpoint, Response), BigQueryError> {
        let url = format!("{}/{}", self.queries_url(), job.id);
        let at = self.endpoint(match page_token {
            None => format!("GET {url} (job {}, waiting)", job.id),
            Some(_) => format!("GET {url} (job {}, next page)", job.id),
        });
        let mut query: Vec<(&str, String)> = vec![
            ("maxResults", self.spec.page_size.to_string()),
            ("timeoutMs", wait.as_millis().to_string()),
            ("formatOptions.useInt64Timestamp", "true".into()),
        ];
        if let Some(loc) = &job.location {
            query.push(("location", loc.clone()));
        }
        if let Some(t) = page_token {
            query.push(("pageToken", t.to_string()));
        }
        let resp: Response = self
            .call(&at, |bearer| {
                self.http
                    .client()
                    .get(&url)
                    .query(&query)
                    .bearer_auth(bearer)
            })
            .await
            .map_err(|e| self.classify(e, estimate, Some(&job.id)))?;
        self.job_errors(&resp, &at, Some(&job.id), estimate)?;
        Ok((at, resp))
    }

    /// Asks BigQuery to cancel a job past its deadline (best effort) and builds the timeout.
    async fn time_out(&self, job: &Job, waited: Duration) -> BigQueryError {
        let url = format!(
            "{}/projects/{}/jobs/{}/cancel",
            self.base(),
            self.spec.project_id,
            job.id
        );
        let at = self.endpoint(format!("POST {url}"));
        let location: Vec<(&str, &str)> = job
            .location
            .as_deref()
            .map(|l| vec![("location", l)])
            .unwrap_or_default();
        let cancelled: Result<Value, HttpError> = self
            .call(&at, |bearer| {
                self.http
                    .client()
                    .post(&url)
                    .query(&location)
                    .bearer_auth(bearer)
            })
            .await;
        if let Err(e) = cancelled {
            tracing::warn!(target: "optsignal::bigquery", "{e}");
        }
        BigQueryError::Timeout {
            at: Box::new(self.endpoint(format!(
                "GET {}/{} (job {})",
                self.queries_url(),
                job.id,
                job.id
            ))),
            job_id: job.id.clone(),
            waited,
        }
    }

    /// A 200 answer that reports the job failed (`status.errorResult`, or `errors` on a
    /// complete job; `errors` on a running job may be transient, Google says, so polling goes on).
    fn job_errors(
        &self,
        resp: &Response,
        at: &Endpoint,
        job_id: Option<&str>,
        estimate: Option<u64>,
    ) -> Result<(), BigQueryError> {
        let fatal = resp
            .status
            .as_ref()
            .and_then(|s| s.error_result.clone())
            .or_else(|| resp.errors.first().filter(|_| resp.job_complete).cloned());
        let Some(e) = fatal else {
            if !resp.errors.is_empty() {
                tracing::debug!(target: "optsignal::bigquery", n = resp.errors.len(), "errors reported while the job runs");
            }
            return Ok(());
        };
        if e.reason == "bytesBilledLimitExceeded" {
            return Err(BigQueryError::BytesBilledLimit {
                at: Box::new(at.clone()),
                estimate,
                limit: self.spec.maximum_bytes_billed,
                message: Some(e.message),
            });
        }
        Err(BigQueryError::Rejected {
            at: Box::new(at.clone()),
            status: None,
            job_id: job_id.map(str::to_string),
            reason: e.reason,
            location: e.location,
            message: e.message,
        })
    }

    /// Google's error envelope, typed: the bytes limit, or a BigQuery reason with its message.
    fn classify(&self, e: HttpError, estimate: Option<u64>, job_id: Option<&str>) -> BigQueryError {
        match e {
            HttpError::Api {
                at,
                status,
                message,
                reason: Some(r),
                ..
            } => {
                if r.reason == "bytesBilledLimitExceeded" {
                    BigQueryError::BytesBilledLimit {
                        at: Box::new(at),
                        estimate,
                        limit: self.spec.maximum_bytes_billed,
                        message: Some(message),
                    }
                } else {
                    BigQueryError::Rejected {
                        at: Box::new(at),
                        status: Some(status),
                        job_id: job_id.map(str::to_string),
                        reason: r.reason,
                        location: r.location,
                        message,
                    }
                }
            }
            e => BigQueryError::Http(e),
        }
    }

    /// Sends with a bearer token through the shared HTTP layer; on HTTP 401 renews the token
    /// once (a fresh provider) and sends again.
    async fn call<T: DeserializeOwned>(
        &self,
        at: &Endpoint,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<T, HttpError> {
        let mut renewed = false;
        loop {
            let auth = Arc::clone(&self.auth.lock().unwrap_or_else(PoisonError::into_inner));
            let bearer = crate::source::gcp::token(&auth, SCOPE, at).await?;
            match self.http.json(at, || build(&bearer)).await {
                Err(e) if e.is_unauthorized() && !renewed => {
                    tracing::info!(target: "optsignal::http", "{at}: HTTP 401, renewing the token once");
                    renewed = true;
                    let fresh = Arc::new(provider(&self.spec, at)?);
                    *self.auth.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
                }
                r => return r,
            }
        }
    }
}

fn provider(
    spec: &BigQuerySpec,
    at: &Endpoint,
) -> Result<gcp_auth::CustomServiceAccount, HttpError> {
    crate::source::gcp::service_account(&spec.key_file, at)
}

#[cfg(test)]
mod tests;
