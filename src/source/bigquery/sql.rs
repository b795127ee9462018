//! GoogleSQL for the BigQuery pushdown: one statement that computes, inside BigQuery, everything
//! [`Observations`](crate::observe::Observations) holds — grouped pattern counts (week × device ×
//! channel × feature mask → units, purchasers), funnel masks, order values, weekly volumes,
//! distinct users, totals and skip counts — from the GA4 export tables, so only a table of a few
//! hundred rows leaves the warehouse.
//!
//! The definitions are the local reader's (`docs/definitions.md`, [`crate::observe`] and
//! [`crate::source::ga4_export`]):
//! - rows without `event_timestamp`, `user_pseudo_id` or `event_name` are skipped and counted;
//! - session units are `user_pseudo_id` + the `ga_session_id` event parameter; a user's events
//!   without it are cut into sessions at `session_gap_minutes` of inactivity; user units are
//!   `user_pseudo_id`;
//! - events are ordered per user by `event_timestamp`, ties by GA4's own in-batch order
//!   (`batch_ordering_id`, then `batch_event_index`), as the local NDJSON reader does;
//! - a unit's start, device and channel are its first event's; the channel is the session's last
//!   click (`session_traffic_source_last_click.manual_campaign`), else the user's first touch
//!   (`traffic_source`), mapped exactly as [`channel_of`](super::super::ga4_export::channel_of);
//! - feature = the candidate's first firing precedes the user's first purchase at or after the
//!   unit's start, in any unit (or, without such a purchase, it fired — for user units, inside
//!   the label window); the ordering counts purchasing units (a purchase in the unit, or label 1);
//! - label = the user purchased within `[start, start + label window]`; its value is that first
//!   purchase's `ecommerce.purchase_revenue`;
//! - weeks are ISO weeks (`%G-W%V`) in the analysis time zone.
//!
//! The SQL is checked by running it in DuckDB (transpiled by sqlglot) on the GA4 fixture and
//! comparing every count with the local reader (`tests/it/pushdown.rs`).

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::observe::{tracked_order, ObserveSpec, UnitKind};
use crate::types::EventName;

/// Result columns, in order: every row is one `kind` of count (see [`RowKind`]).
pub const COLUMNS: [&str; 11] = [
    "kind", "week", "device", "channel", "name", "mask", "n1", "n2", "n3", "x1", "x2",
];

/// What one result row holds (the `kind` column), and what its numeric columns mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// Units by (unit week, device, channel, feature mask): `n1` units, `n2` purchasers.
    Pattern,
    /// Units by (unit week, device, channel, fired mask over tracked events): `n1` units.
    Fired,
    /// Purchasing units with a valued label purchase by (unit week, mask): `n1` count, `x1` sum,
    /// `x2` sum of squares.
    Value,
    /// Units starting in a week: `n1` units, `n2` units with a purchase.
    Units,
    /// Per (unit week, candidate `name`): `n1` units where it fired, `n2` of purchasing units
    /// where it fired first before the purchase, `n3` only after.
    Candidate,
    /// Per (event week, event `name`): `n1` events, `n2` distinct users, `x1` purchase revenue.
    Events,
    /// Per event week: `n1` distinct users active.
    WeekUsers,
    /// Device (`device`) or channel (`channel`) level `name`, first seen at `n1` (µs).
    Level,
    /// All units: `n1` units, `n2` censored units, `n3` inferred sessions.
    Totals,
    /// All accepted events: `n1` earliest and `n2` latest time (µs), `n3` distinct users.
    Span,
    /// All rows read: `n1` rows, `n2` without timestamp, `n3` without user, `mask` without event
    /// name, `x1` exact duplicates, `x2` repeated transactions.
    Read,
    /// Per-user sums for clustered intervals ([`ClusterSums`](crate::observe::ClusterSums)):
    /// without `name`, over users' units `N` and labels `Y`: `n1` Σ N², `n2` Σ N·Y, `n3` Σ Y²;
    /// with candidate `name`, over users' feature units `n` and their labels `y`: `mask` 0:
    /// Σ n², Σ n·y, Σ y²; `mask` 1: Σ n·N, Σ n·Y, Σ y·N; `mask` 2: `n1` Σ y·Y.
    Cluster,
}

impl RowKind {
    /// The `kind` value in the SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Pattern => "pattern",
            RowKind::Fired => "fired",
            RowKind::Value => "value",
            RowKind::Units => "units",
            RowKind::Candidate => "candidate",
            RowKind::Events => "events",
            RowKind::WeekUsers => "week_users",
            RowKind::Level => "level",
            RowKind::Totals => "totals",
            RowKind::Span => "span",
            RowKind::Read => "read",
            RowKind::Cluster => "cluster",
        }
    }

    /// The kind named by a `kind` cell.
    pub fn parse(s: &str) -> Option<Self> {
        [
            RowKind::Pattern,
            RowKind::Fired,
            RowKind::Value,
            RowKind::Units,
            RowKind::Candidate,
            RowKind::Events,
            RowKind::WeekUsers,
            RowKind::Level,
            RowKind::Totals,
            RowKind::Span,
            RowKind::Read,
            RowKind::Cluster,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A GA4 export's daily tables: `` `project.dataset.events_*` ``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTable {
    /// Project holding the export dataset.
    pub project: String,
    /// The export dataset (`analytics_<property id>`).
    pub dataset: String,
    /// Table name prefix before the `YYYYMMDD` suffix (`events_`).
    pub prefix: String,
}

impl ExportTable {
    /// The wildcard table as a quoted GoogleSQL path.
    pub fn wildcard(&self) -> String {
        format!("`{}.{}.{}*`", self.project, self.dataset, self.prefix)
    }
}

/// What to compute and over which data.
#[derive(Debug, Clone)]
pub struct Pushdown<'a> {
    /// Where the export is.
    pub table: &'a ExportTable,
    /// Units, candidates, purchase, windows, time zone.
    pub observe: &'a ObserveSpec,
    /// Funnel steps tracked in the fired masks besides candidates and purchase (as given to
    /// [`ObservationBuilder::track_also`](crate::observe::ObservationBuilder::track_also)).
    pub extras: &'a [EventName],
    /// Raw event name → canonical name.
    pub aliases: &'a HashMap<String, EventName>,
    /// First and last daily table read, `YYYYMMDD` (`_TABLE_SUFFIX` range).
    pub days: (String, String),
    /// Only events in `[from, until)` (µs since the epoch) count: the analysis weeks exactly, as
    /// the daily tables are cut in the property's time zone.
    pub micros: Option<(i64, i64)>,
}

/// Why no SQL could be generated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SqlError {
    /// A project, dataset or prefix with characters a table path cannot hold.
    #[error("bigquery.{field} = {value:?}: only letters, digits, '_', '-' and '.' (project) are allowed")]
    BadName {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// A day bound that is not `YYYYMMDD`.
    #[error("{value:?} is not a day as YYYYMMDD")]
    BadDay {
        /// The value.
        value: String,
    },
    /// More tracked events than a 63-bit mask holds.
    #[error("{count} tracked events (candidates, purchase and funnel steps): the pushdown holds at most 63")]
    TooManyEvents {
        /// Events tracked.
        count: usize,
    },
    /// The analysis time zone has no IANA name BigQuery would know.
    #[error("the analysis time zone has no IANA name")]
    TimeZone,
}

/// Events tracked in the fired mask, in bit order ([`tracked_order`]).
pub fn tracked_events(observe: &ObserveSpec, extras: &[EventName]) -> Vec<EventName> {
    tracked_order(&observe.candidates, &observe.purchase, extras)
}

/// A GoogleSQL string literal.
fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn check_name(field: &'static str, value: &str, dots: bool) -> Result<(), SqlError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || (dots && c == '.'));
    if ok || (field == "prefix" && value.is_empty()) {
        Ok(())
    } else {
        Err(SqlError::BadName {
            field,
            value: value.to_string(),
        })
    }
}

/// `CASE <expr> WHEN 'a' THEN v ... END` over events, `NULL` for the rest.
fn case_of(expr: &str, pairs: &[(String, String)], otherwise: &str) -> String {
    if pairs.is_empty() {
        return otherwise.to_string();
    }
    let mut s = format!("CASE {expr}");
    for (k, v) in pairs {
        let _ = write!(s, " WHEN {k} THEN {v}");
    }
    let _ = write!(s, " ELSE {otherwise} END");
    s
}

/// The channel of a lower-cased, trimmed (source, medium) pair: the rules of
/// [`channel_of`](super::super::ga4_export::channel_of), in SQL.
fn channel_sql(s: &str, m: &str) -> String {
    use super::super::ga4_export::{EMAIL_MEDIA, SEARCH, SOCIAL, SOCIAL_MEDIA, SOCIAL_SHORT};
    let list = |xs: &[&str]| xs.iter().map(|x| lit(x)).collect::<Vec<_>>().join(", ");
    let contains_any = |col: &str, xs: &[&str]| {
        xs.iter()
            .map(|x| format!("STRPOS({col}, {}) > 0", lit(x)))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let unset = |c: &str| format!("{c} IN ('', '(not set)', '(none)')");
    let search = contains_any(s, &SEARCH);
    let social = format!(
        "{s} IN ({}) OR {}",
        list(&SOCIAL_SHORT),
        contains_any(s, &SOCIAL)
    );
    format!(
        "CASE
        WHEN {us} AND {um} THEN NULL
        WHEN {s} = '(direct)' AND {um} THEN 'direct'
        WHEN {m} IN ({email}) THEN 'email'
        WHEN {m} IN ('display', 'banner', 'expandable', 'interstitial', 'cpm') THEN 'display'
        WHEN STRPOS({m}, 'cp') > 0 OR {m} IN ('ppc', 'retargeting') OR STARTS_WITH({m}, 'paid') THEN
          CASE WHEN {social} OR STRPOS({m}, 'social') > 0 THEN 'paid_social'
               WHEN {search} THEN 'paid_search' ELSE 'paid_other' END
        WHEN {m} = 'organic' AND ({search}) THEN 'organic_search'
        WHEN {social} OR {m} IN ({social_media}) THEN 'organic_social'
        WHEN {m} = 'referral' THEN 'referral'
        WHEN {m} = 'affiliate' THEN 'affiliate'
        WHEN {m} = 'organic' THEN 'organic_search'
        ELSE 'other' END",
        us = unset(s),
        um = unset(m),
        email = list(&EMAIL_MEDIA),
        social_media = list(&SOCIAL_MEDIA),
    )
}

/// The CTEs `dd` and `ev_ranked` that remove duplicates as dbt-ga4 does (and as
/// [`crate::source::ga4_dedupe`] does locally): `dd.dup_k > 1` marks an exact duplicate (same
/// stream, user, session, event name, timestamp and parameters) of an earlier row; among valid
/// rows, `ev_ranked.txn_k > 1` marks a later copy, by (timestamp, batch order), of a `purchase`
/// with the same transaction id.
fn dedupe_sql(name: &str, last_click: &str, first_touch: &str) -> String {
    let purchase = lit(super::super::ga4_dedupe::PURCHASE);
    format!(
        "dd AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY stream_id, user_id, sid, raw_name, ts, params ORDER BY bo, bi) AS dup_k
  FROM src
),
ev_all AS (
  SELECT ts, user_id, sid, device, value, bo, bi, txn,
    {name} AS name,
    COALESCE({last_click},
      {first_touch}) AS channel
  FROM dd
  WHERE dup_k = 1 AND ts IS NOT NULL AND user_id IS NOT NULL AND raw_name IS NOT NULL
),
ev_ranked AS (
  SELECT *,
    CASE WHEN name = {purchase} AND txn IS NOT NULL
      THEN ROW_NUMBER() OVER (PARTITION BY name, txn ORDER BY ts, bo, bi) ELSE 1 END AS txn_k
  FROM ev_all
),"
    )
}

/// A table of the candidates' names and mask bits, `(name, bit)` (one row of NULL, 0 without
/// candidates, which matches no mask).
fn cand_bits_sql(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return "SELECT CAST(NULL AS STRING) AS name, 0 AS bit".to_string();
    }
    pairs
        .iter()
        .map(|(name, bit)| format!("SELECT {name} AS name, {bit} AS bit"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The GoogleSQL statement of a pushdown. Deterministic: the same settings give the same text.
pub fn pushdown_sql(p: &Pushdown<'_>) -> Result<String, SqlError> {
    check_inputs(p)?;
    let o = p.observe;
    let tracked = tracked_events(o, p.extras);
    if tracked.len() > 63 {
        return Err(SqlError::TooManyEvents {
            count: tracked.len(),
        });
    }
    let tz = lit(o.time_zone.iana_name().ok_or(SqlError::TimeZone)?);
    let window = i64::from(o.label_window_days) * 86_400_000_000;
    let gap = i64::from(o.session_gap_minutes) * 60_000_000;
    let purchase = lit(o.purchase.as_str());
    let week = |col: &str| format!("FORMAT_DATE('%G-W%V', DATE(TIMESTAMP_MICROS({col}), {tz}))");

    let mut aliases: Vec<(&String, &EventName)> = p.aliases.iter().collect();
    aliases.sort();
    let alias_pairs: Vec<(String, String)> = aliases
        .iter()
        .map(|(raw, canon)| (lit(raw), lit(canon.as_str())))
        .collect();
    let name = case_of("raw_name", &alias_pairs, "raw_name");
    let fired_pairs: Vec<(String, String)> = tracked
        .iter()
        .enumerate()
        .map(|(i, e)| (lit(e.as_str()), (1i64 << i).to_string()))
        .collect();
    let fired = case_of("name", &fired_pairs, "NULL");
    let cand_pairs: Vec<(String, String)> = fired_pairs[..o.candidates.len()].to_vec();
    let cand_bit = case_of("f.name", &cand_pairs, "0");
    let cand_list = if o.candidates.is_empty() {
        "NULL".to_string()
    } else {
        o.candidates
            .iter()
            .map(|c| lit(c.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (unit, in_window, inferred) = match o.unit {
        UnitKind::Session => (
            format!(
                "CASE WHEN sid IS NOT NULL THEN CONCAT('s', CAST(sid AS STRING))
              ELSE CONCAT('g', CAST(SUM(CASE WHEN prev_ts IS NULL OR ts - prev_ts > {gap} THEN 1 ELSE 0 END)
                OVER (PARTITION BY user_id, sid ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS STRING)) END"
            ),
            "TRUE".to_string(),
            "COUNTIF(inferred)",
        ),
        UnitKind::User => (
            "''".to_string(),
            format!("f.f_ts <= u.start_ts + {window}"),
            "CAST(0 AS INT64)",
        ),
    };
    let before = p
        .micros
        .map(|(a, b)| format!("\n    AND event_timestamp >= {a} AND event_timestamp < {b}"))
        .unwrap_or_default();
    let (first_day, last_day) = (lit(&p.days.0), lit(&p.days.1));
    let table = p.table.wildcard();
    let last_click = channel_sql("lc_s", "lc_m");
    let first_touch = channel_sql("ft_s", "ft_m");
    let week_ts = week("ts");
    let unit_kind = match o.unit {
        UnitKind::Session => "session",
        UnitKind::User => "user",
    };
    let candidates_note = o
        .candidates
        .iter()
        .map(EventName::as_str)
        .collect::<Vec<_>>()
        .join(", ");

    Ok(format!(
        "-- optsignal pushdown (GoogleSQL), generated: grouped counts of a GA4 export.
-- units: {unit_kind}; purchase: {purchase_name}; candidates: {candidates_note};
-- label window {days} days; session gap {gap_min} minutes; weeks: ISO, {tz_name}.
-- Result: one row per count, columns {columns} (see optsignal's src/source/bigquery/sql.rs).
WITH {src_cte}{dedupe_rows}
ev AS (
  SELECT ts, user_id, sid, device, value, bo, bi, name, channel
  FROM ev_ranked
  WHERE txn_k = 1
),
seqd AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts, bo, bi) AS seq,
    LAG(ts) OVER (PARTITION BY user_id, sid ORDER BY ts, bo, bi) AS prev_ts
  FROM ev
),
{unit_ctes}{row_ctes}{result_rows}",
        dedupe_rows = dedupe_sql(&name, &last_click, &first_touch),
        purchase_name = o.purchase.as_str(),
        days = o.label_window_days,
        gap_min = o.session_gap_minutes,
        tz_name = o.time_zone.iana_name().unwrap_or("UTC"),
        columns = COLUMNS.join(", "),
        unit_ctes = unit_ctes(&UnitSql {
            unit: &unit,
            week_start_min: &week("MIN(ts)"),
            purchase: &purchase,
            fired: &fired,
            cand_list: &cand_list,
            window,
            cand_bit: &cand_bit,
            in_window: &in_window,
        }),
        result_rows = result_rows(&purchase, inferred),
        row_ctes = row_ctes(window, &week_ts, &cand_bits_sql(&cand_pairs)),
        src_cte = src_cte(&table, (&first_day, &last_day), &before),
    ))
}

/// The `src` CTE: the export's columns the pushdown reads, for the days (and, with
/// `--as-of`, the microseconds) of the window.
fn src_cte(table: &str, (first_day, last_day): (&str, &str), before: &str) -> String {
    format!(
        "src AS (
  SELECT
    event_timestamp AS ts,
    NULLIF(TRIM(user_pseudo_id), '') AS user_id,
    (SELECT ep.value.int_value FROM UNNEST(event_params) AS ep WHERE ep.key = 'ga_session_id' LIMIT 1) AS sid,
    NULLIF(TRIM(event_name), '') AS raw_name,
    NULLIF(TRIM(device.category), '') AS device,
    LOWER(TRIM(IFNULL(session_traffic_source_last_click.manual_campaign.source, ''))) AS lc_s,
    LOWER(TRIM(IFNULL(session_traffic_source_last_click.manual_campaign.medium, ''))) AS lc_m,
    LOWER(TRIM(IFNULL(traffic_source.source, ''))) AS ft_s,
    LOWER(TRIM(IFNULL(traffic_source.medium, ''))) AS ft_m,
    ecommerce.purchase_revenue AS value,
    NULLIF(TRIM(ecommerce.transaction_id), '') AS txn,
    stream_id,
    TO_JSON_STRING(event_params) AS params,
    batch_ordering_id AS bo,
    batch_event_index AS bi
  FROM {table}
  WHERE _TABLE_SUFFIX BETWEEN {first_day} AND {last_day}{before}
),
"
    )
}

/// The CTEs behind the result rows: the data's span, the units with their masks and labels,
/// weekly events, and the per-user sums of the clustered intervals.
fn row_ctes(window: i64, week_ts: &str, cand_bits: &str) -> String {
    format!(
        "span AS (
  SELECT MIN(ts) AS lo, MAX(ts) AS hi, COUNT(DISTINCT user_id) AS users FROM ev
),
unit_rows AS (
  SELECT u.user_id, u.week, u.device, u.channel, u.fired, u.inferred,
    IFNULL(m.mask, 0) AS mask,
    l.l_seq IS NOT NULL AS label,
    pv.value AS l_value,
    u.p_seq IS NOT NULL AS has_purchase,
    u.start_ts + {window} > s.hi AS censored
  FROM units AS u
  LEFT JOIN masks AS m ON m.user_id = u.user_id AND m.unit = u.unit
  LEFT JOIN labels AS l ON l.user_id = u.user_id AND l.unit = u.unit
  LEFT JOIN purchases AS pv ON pv.user_id = l.user_id AND pv.seq = l.l_seq
  CROSS JOIN span AS s
),
ev_weeks AS (
  SELECT {week_ts} AS week, user_id, name, value, ts, device, channel FROM ev
),
cand_bits AS (
  {cand_bits}
),
user_tot AS (
  SELECT user_id, COUNT(*) AS nn, COUNTIF(label) AS yy FROM unit_rows GROUP BY user_id
),
user_cand AS (
  SELECT r.user_id, b.name, COUNT(*) AS n1, COUNTIF(r.label) AS y1
  FROM unit_rows AS r JOIN cand_bits AS b ON (r.mask & b.bit) != 0
  GROUP BY r.user_id, b.name
),
user_cand_tot AS (
  SELECT c.name, c.n1, c.y1, t.nn, t.yy
  FROM user_cand AS c JOIN user_tot AS t ON t.user_id = c.user_id
)
"
    )
}

/// The table names and the day range of a pushdown are safe to splice into SQL.
fn check_inputs(p: &Pushdown<'_>) -> Result<(), SqlError> {
    check_name("project", &p.table.project, true)?;
    check_name("dataset", &p.table.dataset, false)?;
    check_name("prefix", &p.table.prefix, false)?;
    for d in [&p.days.0, &p.days.1] {
        if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SqlError::BadDay { value: d.clone() });
        }
    }
    Ok(())
}

/// What the unit CTEs of the pushdown are built from (see [`unit_ctes`]).
struct UnitSql<'a> {
    unit: &'a str,
    week_start_min: &'a str,
    purchase: &'a str,
    fired: &'a str,
    cand_list: &'a str,
    window: i64,
    cand_bit: &'a str,
    in_window: &'a str,
}

/// The CTEs from events to units: each unit's start, week, segments, purchase and fired
/// mask; the candidates' first firings; labels and the leakage cut; features and masks.
fn unit_ctes(u: &UnitSql<'_>) -> String {
    let UnitSql {
        unit,
        week_start_min,
        purchase,
        fired,
        cand_list,
        window,
        cand_bit,
        in_window,
    } = u;
    format!(
        "units_ev AS (
  SELECT *,
    {unit} AS unit
  FROM seqd
),
ranked AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY user_id, unit ORDER BY seq) AS k
  FROM units_ev
),
units AS (
  SELECT user_id, unit,
    MIN(ts) AS start_ts,
    {week_start_min} AS week,
    MAX(CASE WHEN k = 1 THEN device END) AS device,
    MAX(CASE WHEN k = 1 THEN channel END) AS channel,
    MIN(CASE WHEN name = {purchase} THEN seq END) AS p_seq,
    IFNULL(BIT_OR({fired}), 0) AS fired,
    LOGICAL_OR(sid IS NULL) AS inferred
  FROM ranked
  GROUP BY user_id, unit
),
firsts AS (
  SELECT user_id, unit, name, MIN(seq) AS f_seq, MIN(ts) AS f_ts
  FROM units_ev
  WHERE name IN ({cand_list})
  GROUP BY user_id, unit, name
),
purchases AS (
  SELECT user_id, ts, seq, value FROM units_ev WHERE name = {purchase}
),
labels AS (
  SELECT u.user_id, u.unit, MIN(p.seq) AS l_seq
  FROM units AS u
  JOIN purchases AS p ON p.user_id = u.user_id AND p.ts >= u.start_ts AND p.ts <= u.start_ts + {window}
  GROUP BY u.user_id, u.unit
),
cuts AS (
  SELECT u.user_id, u.unit, MIN(p.seq) AS c_seq
  FROM units AS u
  JOIN purchases AS p ON p.user_id = u.user_id AND p.ts >= u.start_ts
  GROUP BY u.user_id, u.unit
),
feats AS (
  SELECT u.week, f.name,
    f.user_id, f.unit,
    {cand_bit} AS bit,
    (u.p_seq IS NOT NULL OR l.l_seq IS NOT NULL) AND f.f_seq < c.c_seq AS before_p,
    (u.p_seq IS NOT NULL OR l.l_seq IS NOT NULL) AND f.f_seq > c.c_seq AS after_p,
    (c.c_seq IS NULL AND {in_window}) OR (c.c_seq IS NOT NULL AND f.f_seq < c.c_seq) AS feature
  FROM firsts AS f
  JOIN units AS u ON u.user_id = f.user_id AND u.unit = f.unit
  LEFT JOIN cuts AS c ON c.user_id = f.user_id AND c.unit = f.unit
  LEFT JOIN labels AS l ON l.user_id = f.user_id AND l.unit = f.unit
),
masks AS (
  SELECT user_id, unit, SUM(CASE WHEN feature THEN bit ELSE 0 END) AS mask
  FROM feats
  GROUP BY user_id, unit
),
"
    )
}

/// The result's rows, one `kind` per count (see [`RowKind`]).
fn result_rows(purchase: &str, inferred: &str) -> String {
    format!(
        "SELECT 'pattern' AS kind, week, device, channel, CAST(NULL AS STRING) AS name, mask,
  COUNT(*) AS n1, COUNTIF(label) AS n2, CAST(NULL AS INT64) AS n3,
  CAST(NULL AS FLOAT64) AS x1, CAST(NULL AS FLOAT64) AS x2
FROM unit_rows GROUP BY week, device, channel, mask
UNION ALL
SELECT 'fired', week, device, channel, NULL, fired, COUNT(*), NULL, NULL, NULL, NULL
FROM unit_rows GROUP BY week, device, channel, fired
UNION ALL
SELECT 'value', week, NULL, NULL, NULL, mask, COUNT(*), NULL, NULL, SUM(l_value), SUM(l_value * l_value)
FROM unit_rows WHERE label AND l_value IS NOT NULL GROUP BY week, mask
UNION ALL
SELECT 'units', week, NULL, NULL, NULL, NULL, COUNT(*), COUNTIF(has_purchase), NULL, NULL, NULL
FROM unit_rows GROUP BY week
UNION ALL
SELECT 'candidate', week, NULL, NULL, name, NULL, COUNT(*), COUNTIF(before_p), COUNTIF(after_p), NULL, NULL
FROM feats GROUP BY week, name
UNION ALL
SELECT 'events', week, NULL, NULL, name, NULL, COUNT(*), COUNT(DISTINCT user_id), NULL,
  SUM(CASE WHEN name = {purchase} THEN IFNULL(value, 0) ELSE 0 END), NULL
FROM ev_weeks GROUP BY week, name
UNION ALL
SELECT 'week_users', week, NULL, NULL, NULL, NULL, COUNT(DISTINCT user_id), NULL, NULL, NULL, NULL
FROM ev_weeks GROUP BY week
UNION ALL
SELECT 'level', NULL, 'device', NULL, device, NULL, MIN(ts), NULL, NULL, NULL, NULL
FROM ev WHERE device IS NOT NULL GROUP BY device
UNION ALL
SELECT 'level', NULL, NULL, 'channel', channel, NULL, MIN(ts), NULL, NULL, NULL, NULL
FROM ev WHERE channel IS NOT NULL GROUP BY channel
UNION ALL
SELECT 'totals', NULL, NULL, NULL, NULL, NULL, COUNT(*), COUNTIF(censored), {inferred}, NULL, NULL
FROM unit_rows
UNION ALL
SELECT 'span', NULL, NULL, NULL, NULL, NULL, lo, hi, users, NULL, NULL
FROM span
UNION ALL
SELECT 'read', NULL, NULL, NULL, NULL,
  COUNTIF(dup_k = 1 AND ts IS NOT NULL AND user_id IS NOT NULL AND raw_name IS NULL),
  COUNT(*), COUNTIF(dup_k = 1 AND ts IS NULL), COUNTIF(dup_k = 1 AND ts IS NOT NULL AND user_id IS NULL),
  COUNTIF(dup_k > 1), (SELECT COUNTIF(txn_k > 1) FROM ev_ranked)
FROM dd
UNION ALL
SELECT 'cluster', NULL, NULL, NULL, NULL, 0,
  IFNULL(SUM(nn * nn), 0), IFNULL(SUM(nn * yy), 0), IFNULL(SUM(yy * yy), 0), NULL, NULL
FROM user_tot
UNION ALL
SELECT 'cluster', NULL, NULL, NULL, name, 0, SUM(n1 * n1), SUM(n1 * y1), SUM(y1 * y1), NULL, NULL
FROM user_cand_tot GROUP BY name
UNION ALL
SELECT 'cluster', NULL, NULL, NULL, name, 1, SUM(n1 * nn), SUM(n1 * yy), SUM(y1 * nn), NULL, NULL
FROM user_cand_tot GROUP BY name
UNION ALL
SELECT 'cluster', NULL, NULL, NULL, name, 2, SUM(y1 * yy), NULL, NULL, NULL, NULL
FROM user_cand_tot GROUP BY name
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn spec(unit: UnitKind) -> ObserveSpec {
        ObserveSpec {
            unit,
            candidates: ["add_to_cart", "sign_up"]
                .iter()
                .map(|s| EventName::new(s).unwrap())
                .collect(),
            purchase: EventName::new("purchase").unwrap(),
            label_window_days: 7,
            session_gap_minutes: 30,
            time_zone: TimeZone::get("Europe/Berlin").unwrap(),
            lateness_minutes: 1440,
            coverage: crate::core::coverage::CoverageParams::default(),
            discover: None,
            derived: Vec::new(),
        }
    }

    fn table() -> ExportTable {
        ExportTable {
            project: "my-project".into(),
            dataset: "analytics_123".into(),
            prefix: "events_".into(),
        }
    }

    #[test]
    fn the_statement_names_the_table_days_zone_and_events() {
        let o = spec(UnitKind::Session);
        let t = table();
        let aliases = HashMap::from([("cart".to_string(), EventName::new("add_to_cart").unwrap())]);
        let sql = pushdown_sql(&Pushdown {
            table: &t,
            observe: &o,
            extras: &[EventName::new("begin_checkout").unwrap()],
            aliases: &aliases,
            days: ("20260901".into(), "20261130".into()),
            micros: Some((7, 42)),
        })
        .unwrap();
        assert!(sql.contains("FROM `my-project.analytics_123.events_*`"));
        assert!(sql.contains("_TABLE_SUFFIX BETWEEN '20260901' AND '20261130'"));
        assert!(sql.contains("AND event_timestamp >= 7 AND event_timestamp < 42"));
        assert!(sql.contains("DATE(TIMESTAMP_MICROS(ts), 'Europe/Berlin')"));
        assert!(sql.contains("WHEN 'cart' THEN 'add_to_cart'"));
        // Bits: candidates 1, 2; purchase 4; the funnel step 8.
        assert!(sql.contains("WHEN 'purchase' THEN 4 WHEN 'begin_checkout' THEN 8"));
        assert!(sql.contains("ts - prev_ts > 1800000000"));
        assert!(sql.contains("u.start_ts + 604800000000"));
    }

    #[test]
    fn user_units_check_the_label_window_for_features() {
        let o = spec(UnitKind::User);
        let t = table();
        let sql = pushdown_sql(&Pushdown {
            table: &t,
            observe: &o,
            extras: &[],
            aliases: &HashMap::new(),
            days: ("20260901".into(), "20261130".into()),
            micros: None,
        })
        .unwrap();
        assert!(sql.contains("f.f_ts <= u.start_ts + 604800000000"));
        assert!(sql.contains("'' AS unit"));
        assert!(!sql.contains("event_timestamp <"));
    }

    #[test]
    fn names_that_could_break_out_of_the_path_or_a_literal_are_refused_or_escaped() {
        let o = spec(UnitKind::Session);
        let mut t = table();
        t.dataset = "x` ; DROP".into();
        let p = |t: &ExportTable| {
            pushdown_sql(&Pushdown {
                table: t,
                observe: &o,
                extras: &[],
                aliases: &HashMap::new(),
                days: ("20260901".into(), "20261130".into()),
                micros: None,
            })
        };
        assert!(matches!(
            p(&t),
            Err(SqlError::BadName {
                field: "dataset",
                ..
            })
        ));
        assert_eq!(lit("it's \\"), "'it\\'s \\\\'");
        let t = table();
        let bad_days = pushdown_sql(&Pushdown {
            table: &t,
            observe: &o,
            extras: &[],
            aliases: &HashMap::new(),
            days: ("2026-09-01".into(), "20261130".into()),
            micros: None,
        });
        assert!(matches!(bad_days, Err(SqlError::BadDay { .. })));
    }

    #[test]
    fn tracked_events_follow_track_also() {
        let o = spec(UnitKind::Session);
        let extras: Vec<EventName> = ["sign_up", "begin_checkout", "purchase", "view_item"]
            .iter()
            .map(|s| EventName::new(s).unwrap())
            .collect();
        let names: Vec<String> = tracked_events(&o, &extras)
            .iter()
            .map(|e| e.as_str().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "add_to_cart",
                "sign_up",
                "purchase",
                "begin_checkout",
                "view_item"
            ]
        );
    }
}
