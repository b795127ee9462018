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

/// One result row, by column.
struct Row<'a> {
    index: usize,
    cells: &'a [Option<String>],
    at: &'a [usize; COLUMNS.len()],
}

impl Row<'_> {
    fn text(&self, c: usize) -> Option<&str> {
        self.cells.get(self.at[c]).and_then(|v| v.as_deref())
    }

    fn bad(&self, c: usize, message: String) -> PushdownError {
        PushdownError::BadCell {
            row: self.index,
            column: COLUMNS[c],
            message,
        }
    }

    /// An INT64 cell (BigQuery sends them as strings); NULL is 0 (an empty `COUNTIF`).
    fn int(&self, c: usize) -> Result<i64, PushdownError> {
        match self.text(c) {
            None => Ok(0),
            Some(s) => s
                .parse::<i64>()
                .or_else(|_| s.parse::<f64>().map(|f| f as i64))
                .map_err(|_| self.bad(c, format!("{s:?} is not an integer"))),
        }
    }

    fn count(&self, c: usize) -> Result<u64, PushdownError> {
        let v = self.int(c)?;
        u64::try_from(v).map_err(|_| self.bad(c, format!("{v} is not a count")))
    }

    fn float(&self, c: usize) -> Result<f64, PushdownError> {
        match self.text(c) {
            None => Ok(0.0),
            Some(s) => s
                .parse::<f64>()
                .map_err(|_| self.bad(c, format!("{s:?} is not a number"))),
        }
    }

    fn week(&self) -> Result<IsoWeek, PushdownError> {
        let s = self.text(WEEK).unwrap_or("");
        s.parse::<IsoWeek>().map_err(|e| self.bad(WEEK, e))
    }
}

const KIND: usize = 0;
const WEEK: usize = 1;
const DEVICE: usize = 2;
const CHANNEL: usize = 3;
const NAME: usize = 4;
const MASK: usize = 5;
const N1: usize = 6;
const N2: usize = 7;
const N3: usize = 8;
const X1: usize = 9;
const X2: usize = 10;

/// Interned levels, "(unknown)" first, then by first appearance (as the local reader interns).
fn levels(mut seen: Vec<(i64, String)>) -> Vec<String> {
    if seen.is_empty() {
        return Vec::new();
    }
    seen.sort();
    std::iter::once("(unknown)".to_string())
        .chain(seen.into_iter().map(|(_, n)| n))
        .collect()
}

/// Builds [`Observations`] and the read summary from the pushdown's result: `columns` are the
/// result's column names, `rows` its cells (NULL as `None`).
pub fn observations(
    columns: &[String],
    rows: &[Vec<Option<String>>],
    observe: &ObserveSpec,
    extras: &[EventName],
) -> Result<(Observations, ReadSummary), PushdownError> {
    let mut at = [0usize; COLUMNS.len()];
    for (i, name) in COLUMNS.iter().enumerate() {
        at[i] = columns
            .iter()
            .position(|c| c == name)
            .ok_or(PushdownError::MissingColumn(name))?;
    }
    let tracked = sql::tracked_events(observe, extras);
    let k = observe.candidates.len();
    let cand_index: HashMap<&str, usize> = observe
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let is_tracked = |n: &str| tracked.iter().any(|t| t.as_str() == n);

    // First pass: levels and weeks, so that indices are known.
    let mut devices = Vec::new();
    let mut channels = Vec::new();
    let mut week_set = std::collections::BTreeSet::new();
    let rows: Vec<Row<'_>> = rows
        .iter()
        .enumerate()
        .map(|(index, cells)| Row {
            index,
            cells,
            at: &at,
        })
        .collect();
    let mut kinds = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind = r
            .text(KIND)
            .and_then(RowKind::parse)
            .ok_or_else(|| r.bad(KIND, format!("unknown kind {:?}", r.text(KIND))))?;
        kinds.push(kind);
        match kind {
            RowKind::Level => {
                let name = r.text(NAME).unwrap_or("").to_string();
                let first = r.int(N1)?;
                if r.text(DEVICE).is_some() {
                    devices.push((first, name));
                } else {
                    channels.push((first, name));
                }
            }
            RowKind::WeekUsers => {
                week_set.insert(r.week()?);
            }
            _ => {}
        }
    }
    let devices = levels(devices);
    let channels = levels(channels);
    let level_index = |names: &[String], v: Option<&str>| -> u16 {
        v.and_then(|v| names.iter().position(|n| n == v))
            .map_or(0, |i| i as u16)
    };
    let week_list = crate::observe::fill_gaps(week_set.into_iter().collect());
    let week_index: FxHashMap<IsoWeek, u16> = week_list
        .iter()
        .enumerate()
        .map(|(i, w)| (*w, i as u16))
        .collect();
    let wi = |r: &Row<'_>| -> Result<u16, PushdownError> {
        let w = r.week()?;
        week_index
            .get(&w)
            .copied()
            .ok_or_else(|| r.bad(WEEK, format!("week {w} has no events")))
    };

    #[derive(Default, Clone)]
    struct WeekAcc {
        units: u64,
        users: u64,
        purchase_units: u64,
        revenue: f64,
        cand: Vec<Volume>,
        purchase: Volume,
    }
    let mut weeks: Vec<WeekAcc> = vec![
        WeekAcc {
            cand: vec![Volume::default(); k],
            ..WeekAcc::default()
        };
        week_list.len()
    ];
    let mut patterns = Vec::new();
    let mut fired = Vec::new();
    let mut values = Vec::new();
    let mut ordering = vec![Ordering::default(); k];
    let mut clusters = ClusterSums {
        all: [0; 3],
        candidates: vec![[0; 7]; k],
    };
    let mut other_events: BTreeMap<String, u64> = BTreeMap::new();
    let (mut units, mut censored, mut inferred) = (0u64, 0u64, 0u64);
    let (mut lo, mut hi, mut users) = (0i64, 0i64, 0u64);
    let mut read = ReadSummary {
        timestamp_format: "unix_us".into(),
        ..ReadSummary::default()
    };
    for (r, kind) in rows.iter().zip(kinds) {
        match kind {
            RowKind::Pattern => {
                let mask = r.int(MASK)?;
                patterns.push(Pattern {
                    week: wi(r)?,
                    device: level_index(&devices, r.text(DEVICE)),
                    channel: level_index(&channels, r.text(CHANNEL)),
                    mask: u32::try_from(mask)
                        .map_err(|_| r.bad(MASK, format!("{mask} is not a feature mask")))?,
                    units: r.count(N1)?,
                    purchasers: r.count(N2)?,
                });
            }
            RowKind::Fired => fired.push(FiredGroup {
                week: wi(r)?,
                device: level_index(&devices, r.text(DEVICE)),
                channel: level_index(&channels, r.text(CHANNEL)),
                mask: r.int(MASK)? as u64,
                units: r.count(N1)?,
            }),
            RowKind::Value => values.push(ValueGroup {
                week: wi(r)?,
                mask: r.int(MASK)? as u32,
                valued: r.count(N1)?,
                sum: r.float(X1)?,
                sum_sq: r.float(X2)?,
            }),
            RowKind::Units => {
                let w = &mut weeks[wi(r)? as usize];
                w.units = r.count(N1)?;
                w.purchase_units = r.count(N2)?;
            }
            RowKind::Candidate => {
                let name = r.text(NAME).unwrap_or("");
                let j = *cand_index
                    .get(name)
                    .ok_or_else(|| r.bad(NAME, format!("{name:?} is not a candidate")))?;
                weeks[wi(r)? as usize].cand[j].units = r.count(N1)?;
                ordering[j].before_purchase += r.count(N2)?;
                ordering[j].after_purchase_only += r.count(N3)?;
            }
            RowKind::Events => {
                let name = r.text(NAME).unwrap_or("");
                let w = &mut weeks[wi(r)? as usize];
                let (events, distinct) = (r.count(N1)?, r.count(N2)?);
                if let Some(&j) = cand_index.get(name) {
                    w.cand[j].events = events;
                    w.cand[j].users = distinct;
                } else if name == observe.purchase.as_str() {
                    w.purchase.events = events;
                    w.purchase.users = distinct;
                    w.revenue = r.float(X1)?;
                } else if !is_tracked(name) {
                    *other_events.entry(name.to_string()).or_default() += events;
                }
            }
            RowKind::WeekUsers => weeks[wi(r)? as usize].users = r.count(N1)?,
            RowKind::Level => {}
            RowKind::Cluster => cluster_row(r, &cand_index, &mut clusters)?,
            RowKind::Totals => {
                units = r.count(N1)?;
                censored = r.count(N2)?;
                inferred = r.count(N3)?;
            }
            RowKind::Span => {
                lo = r.int(N1)?;
                hi = r.int(N2)?;
                users = r.count(N3)?;
            }
            RowKind::Read => {
                read.rows_read = r.count(N1)?;
                for (reason, c) in [
                    (SkipReason::BadTimestamp, N2),
                    (SkipReason::MissingUserId, N3),
                    (SkipReason::MissingEventName, MASK),
                    (SkipReason::DuplicateRow, X1),
                    (SkipReason::DuplicateTransaction, X2),
                ] {
                    let count = r.count(c)?;
                    if count > 0 {
                        read.rows_skipped.insert(
                            reason,
                            SkipTally {
                                count,
                                first_lines: Vec::new(),
                            },
                        );
                    }
                }
            }
        }
    }
    read.rows_accepted = read.rows_read - read.skipped_total().min(read.rows_read);
    let day = 86_400_000_000i64;
    let weeks = week_list
        .iter()
        .zip(weeks)
        .map(|(&week, a)| {
            // The pushdown returns no per-day counts: a week with events is taken to have data
            // on every day of it inside the data span (a week of stray rows in the middle is
            // still set aside by its volume against its neighbours').
            let (start, _) = week_span(week, &observe.time_zone);
            let days = if a.users > 0 {
                (0..7).fold(0u8, |m, d| {
                    let (ds, de) = (start + d * day, start + (d + 1) * day);
                    if ds <= hi && de > lo {
                        m | (1 << d)
                    } else {
                        m
                    }
                })
            } else {
                0
            };
            WeekVolumes {
                week,
                complete: false,
                days,
                set_aside: None,
                units: a.units,
                users: a.users,
                candidates: a.cand,
                purchase: Volume {
                    units: a.purchase_units,
                    ..a.purchase
                },
                revenue: a.revenue,
            }
        })
        .collect();
    let weeks = crate::observe::judge_coverage(weeks, &observe.coverage);
    patterns.sort_by_key(|p: &Pattern| (p.week, p.device, p.channel, p.mask));
    fired.sort_by_key(|g: &FiredGroup| (g.week, g.device, g.channel, g.mask));
    values.sort_by_key(|g: &ValueGroup| (g.week, g.mask));
    let extra_events = tracked[k + 1..].to_vec();
    Ok((
        Observations {
            unit: observe.unit,
            candidates: observe.candidates.clone(),
            purchase: observe.purchase.clone(),
            weeks,
            devices,
            channels,
            patterns,
            ordering,
            units,
            users,
            censored_units: censored,
            label_window_days: observe.label_window_days,
            sessions_inferred: observe.unit == UnitKind::Session && inferred > 0,
            // The pushdown counts sessions, not the events behind them.
            session_id_events: 0,
            session_id_missing: 0,
            session_id_joined: 0,
            inferred_sessions: if observe.unit == UnitKind::Session {
                inferred
            } else {
                0
            },
            other_events,
            span_micros: (lo, hi),
            extra_events,
            fired,
            values,
            clusters: Some(clusters),
            discovery: None,
        },
        read,
    ))
}

/// Adds one `cluster` row of the result to the sums (see [`RowKind::Cluster`]).
fn cluster_row(
    r: &Row<'_>,
    cand_index: &HashMap<&str, usize>,
    sums: &mut ClusterSums,
) -> Result<(), PushdownError> {
    let Some(name) = r.text(NAME) else {
        sums.all = [r.count(N1)?, r.count(N2)?, r.count(N3)?];
        return Ok(());
    };
    let j = *cand_index
        .get(name)
        .ok_or_else(|| r.bad(NAME, format!("{name:?} is not a candidate")))?;
    let c = &mut sums.candidates[j];
    match r.int(MASK)? {
        0 => c[..3].copy_from_slice(&[r.count(N1)?, r.count(N2)?, r.count(N3)?]),
        1 => c[3..6].copy_from_slice(&[r.count(N1)?, r.count(N2)?, r.count(N3)?]),
        2 => c[6] = r.count(N1)?,
        m => return Err(r.bad(MASK, format!("{m} is not a cluster row part"))),
    }
    Ok(())
}
