//! BigQuery pushdown for GA4 exports that live in the warehouse: the grouped counts are computed
//! inside BigQuery by generated GoogleSQL ([`sql`]), run over REST ([`client`]: auth, dry-run
//! estimate and bytes-billed guard, polling, paging), and only that small table is fetched; this
//! module turns it into the same [`Observations`] the local reader builds.

pub mod client;
pub mod sql;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use rustc_hash::FxHashMap;

use crate::observe::{
    week_span, ClusterSums, FiredGroup, Observations, ObserveSpec, Ordering, Pattern, UnitKind,
    ValueGroup, Volume, WeekVolumes,
};
use crate::source::log::{ReadSummary, SkipReason, SkipTally};
use crate::source::window::Window;
use crate::types::{EventName, IsoWeek};

use sql::{ExportTable, Pushdown, RowKind, COLUMNS};

pub use client::DEFAULT_BASE_URL;

/// `[bigquery]`, validated: where the export is, who pays, and the spending guard.
#[derive(Debug, Clone, PartialEq)]
pub struct BigQuerySettings {
    /// The export's daily tables.
    pub table: ExportTable,
    /// Project the query job runs (and is billed) in.
    pub billing_project: String,
    /// Dataset location (`EU`, `US`, `europe-west3`), when not the default.
    pub location: Option<String>,
    /// Service-account key file (JSON).
    pub key_file: PathBuf,
    /// API root (tests point it at a mock server).
    pub base_url: String,
    /// Refuse to run a query estimated to bill more bytes than this; also sent to BigQuery as
    /// `maximumBytesBilled`.
    pub maximum_bytes_billed: Option<u64>,
}

/// The pushdown of one analysis: the weeks of `window` (in the analysis time zone), from daily
/// tables a day wider on each side (they are cut in the property's zone).
pub fn pushdown<'a>(
    bq: &'a BigQuerySettings,
    observe: &'a ObserveSpec,
    extras: &'a [EventName],
    aliases: &'a HashMap<String, EventName>,
    window: &Window,
) -> Pushdown<'a> {
    let from = week_span(window.first, &observe.time_zone).0;
    let until = week_span(window.last, &observe.time_zone).1;
    let day = |d: jiff::civil::Date| d.strftime("%Y%m%d").to_string();
    let one = jiff::Span::new().days(1);
    let first = window.since().checked_sub(one).unwrap_or(window.since());
    let last = window.until().checked_add(one).unwrap_or(window.until());
    Pushdown {
        table: &bq.table,
        observe,
        extras,
        aliases,
        days: (day(first), day(last)),
        micros: Some((from, until)),
    }
}

/// Why the pushdown failed: BigQuery refused or failed, or its result could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PushdownError {
    /// The query job (or its dry run) failed; the error names the endpoint and BigQuery's reason.
    #[error(transparent)]
    BigQuery(#[from] client::BigQueryError),
    /// The HTTP client or async runtime could not start.
    #[error("BigQuery: {0}")]
    Setup(String),
    /// The result lacks a column the SQL selects.
    #[error("the pushdown result has no column {0:?} (was the query edited?)")]
    MissingColumn(&'static str),
    /// A cell does not hold what its column should.
    #[error("pushdown result row {row}, column {column}: {message}")]
    BadCell {
        /// Row index (0-based) in the result.
        row: usize,
        /// Column name.
        column: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// What a pushdown cost and returned, for the report's notes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushdownRun {
    /// The wildcard table read.
    pub table: String,
    /// First and last daily table (`YYYYMMDD`).
    pub days: (String, String),
    /// The dry run's estimate of bytes processed.
    pub estimated_bytes: u64,
    /// The limit in force (`bigquery.maximum_bytes_billed`).
    pub limit_bytes: Option<u64>,
    /// Bytes the job processed, as BigQuery reports it.
    pub processed_bytes: Option<u64>,
    /// Bytes billed (0 on a cache hit).
    pub billed_bytes: Option<u64>,
    /// Whether BigQuery answered from its cache.
    pub cache_hit: bool,
    /// The job id, to find it in the console.
    pub job_id: Option<String>,
    /// Rows of the grouped result.
    pub result_rows: u64,
}

/// Bytes as people read them (`1.2 GB`, decimal units as BigQuery bills).
pub fn bytes(n: u64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1000.0 && u + 1 < units.len() {
        x /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{x:.1} {}", units[u])
    }
}

/// The client of a `[bigquery]` section.
fn client_of(
    bq: &BigQuerySettings,
    http: &crate::source::http::HttpSettings,
    account: &str,
) -> Result<client::BigQueryClient, PushdownError> {
    let spec = client::BigQuerySpec {
        location: bq.location.clone(),
        base_url: bq.base_url.clone(),
        maximum_bytes_billed: bq.maximum_bytes_billed,
        ..client::BigQuerySpec::new(bq.billing_project.clone(), bq.key_file.clone())
    };
    let http = crate::source::http::Http::new(http.clone()).map_err(PushdownError::Setup)?;
    Ok(client::BigQueryClient::new(http, account, spec)?)
}

/// A dry run of `sql`: the bytes it would process (free; no job starts). Over
/// `maximum_bytes_billed` it is the typed refusal that `run` would give.
pub fn estimate(
    bq: &BigQuerySettings,
    http: &crate::source::http::HttpSettings,
    account: &str,
    sql: &str,
) -> Result<u64, PushdownError> {
    let work = async {
        client_of(bq, http, account)?
            .estimate(sql, &[])
            .await
            .map_err(PushdownError::from)
    };
    crate::source::http::block_on(work).map_err(PushdownError::Setup)?
}

/// Runs a pushdown: a dry run (its estimate goes to `on_estimate` before anything is billed,
/// and one over `maximum_bytes_billed` stops here), then the job, polled and paged to the end;
/// returns the observations, the read summary and what it cost.
pub fn run(
    bq: &BigQuerySettings,
    http: &crate::source::http::HttpSettings,
    account: &str,
    p: &Pushdown<'_>,
    sql: &str,
    on_estimate: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(Observations, ReadSummary, PushdownRun), PushdownError> {
    let work = async {
        let c = client_of(bq, http, account)?;
        let estimate = c.estimate(sql, &[]).await?;
        on_estimate(estimate, bq.maximum_bytes_billed);
        let mut rows = Vec::new();
        let result = c
            .query_pages_after(sql, &[], Some(estimate), |_, page| {
                rows.extend(page);
                Ok(())
            })
            .await?;
        Ok::<_, PushdownError>((estimate, result, rows))
    };
    let (estimate, result, rows) =
        crate::source::http::block_on(work).map_err(PushdownError::Setup)??;
    let columns: Vec<String> = result.schema.iter().map(|f| f.name.clone()).collect();
    let (obs, read) = observations(&columns, &rows, p.observe, p.extras)?;
    let run = PushdownRun {
        table: p.table.wildcard().trim_matches('`').to_string(),
        days: p.days.clone(),
        estimated_bytes: estimate,
        limit_bytes: bq.maximum_bytes_billed,
        processed_bytes: result.total_bytes_processed,
        billed_bytes: result.total_bytes_billed,
        cache_hit: result.cache_hit,
        job_id: result.job_id.clone(),
        result_rows: rows.len() as u64,
    };
    Ok((obs, read, run))
}

mod result;
pub use result::observations;
