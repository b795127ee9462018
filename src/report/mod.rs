//! One report model, many renderers: [`Report`] is the JSON schema (`--format json`),
//! [`terminal`] renders it for people, and [`document`] renders the weekly report (Markdown, HTML
//! email, plain text) from a [`view`] of it, with the [`chart`] as a PNG.
//!
//! The schema is versioned by [`SCHEMA_VERSION`]; fields are only added, never renamed, within a
//! version. `docs/json-schema.md` documents every field.

pub mod audit;
pub mod chart;
pub mod document;
pub mod experiment;
pub mod terminal;
pub mod view;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::advise::Recommendation;
use crate::evidence::ProxyEvidence;
use crate::observe::{UnitKind, Volume};
use crate::source::log::SkipTally;
use crate::types::IsoWeek;

/// Version of the JSON schema.
pub const SCHEMA_VERSION: u32 = 1;

/// What was read and how it became observations.
#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    /// The event log.
    pub file: String,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows accepted.
    pub rows_accepted: u64,
    /// Rows skipped, by reason, with their first line numbers.
    pub rows_skipped: BTreeMap<String, SkipTally>,
    /// Timestamp format in force.
    pub timestamp_format: String,
    /// Optional fields the log does not have.
    pub absent_fields: Vec<String>,
    /// Unit kind.
    pub unit: UnitKind,
    /// Units observed.
    pub units: u64,
    /// Distinct users.
    pub users: u64,
    /// Units that purchased within the label window.
    pub purchasing_units: u64,
    /// Units whose label window runs past the end of the data.
    pub censored_units: u64,
    /// Whether sessions were cut at an inactivity gap (no session ids).
    pub sessions_inferred: bool,
    /// ISO weeks with events.
    pub weeks: Vec<IsoWeek>,
    /// Of them, the ones the data cover completely.
    pub complete_weeks: Vec<IsoWeek>,
    /// Events that are neither candidates nor purchase, by name.
    pub other_events: BTreeMap<String, u64>,
    /// Candidates never seen in the log.
    pub absent_candidates: Vec<String>,
    /// `--as-of`: the last ISO week analysed, when events after it were left out.
    pub as_of: Option<IsoWeek>,
    /// Readable rows dated after the `--as-of` week, left out.
    pub rows_after_as_of: u64,
    /// Complete weeks whose data may still change (inside their settle time): reported as
    /// provisional, never emailed as final.
    pub provisional_weeks: Vec<IsoWeek>,
    /// How finality was judged: the sources and their settle times.
    pub settle: Settle,
}

/// When the report's weeks become final ([`crate::settle`]).
#[derive(Debug, Clone, Serialize)]
pub struct Settle {
    /// The time weeks were judged at (the clock, or `--now`), RFC 3339.
    pub judged_at: String,
    /// The settle time in force, hours: the longest of the sources'.
    pub hours: u32,
    /// Every source that fed the report, with its settle time in hours.
    pub sources: Vec<SourceSettle>,
}

/// One source's settle time.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSettle {
    /// The source (`log`, `ga4_export`, `bigquery`, `ga4_api`, `meta`, `google_ads`).
    pub source: crate::settle::Source,
    /// Hours after a week's end before its data are final.
    pub hours: u32,
}

/// Site-wide totals of one ISO week.
#[derive(Debug, Clone, Serialize)]
pub struct WeekTotals {
    /// The week.
    pub week: IsoWeek,
    /// Whether the data cover the whole week.
    pub complete: bool,
    /// Units that started this week.
    pub units: u64,
    /// Distinct users active this week.
    pub users: u64,
    /// Purchase events, purchasing units and purchasing users.
    pub purchase: Volume,
    /// Sum of purchase values.
    pub revenue: f64,
}

/// Name and version of the tool that made the report.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// `optsignal`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// The whole report of one account.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// JSON schema version.
    pub schema_version: u32,
    /// The tool.
    pub tool: Tool,
    /// Account name.
    pub account: String,
    /// Per platform, the event to optimize on and why.
    pub recommendations: Vec<Recommendation>,
    /// Per candidate proxy, the evidence and flags.
    pub proxies: Vec<ProxyEvidence>,
    /// Site-wide weekly totals.
    pub weekly: Vec<WeekTotals>,
    /// Funnel step rates by week and segment, and what moved week over week (mix or rate).
    pub funnel: crate::funnel::FunnelReport,
    /// Proxies as retargeting and lookalike seeds.
    pub seeds: crate::seeds::Seeds,
    /// Weeks an A/B test needs per metric (at the default +10%, α 0.05, power 0.8, 2 arms).
    pub test_plan: crate::testplan::TestPlan,
    /// Expected purchase value of one unit with each proxy, for value-based bidding.
    pub values: crate::value::ProxyValues,
    /// What was read.
    pub input: InputSummary,
    /// Settings that shape the numbers (confidence, thresholds, windows).
    pub settings: crate::config::AnalysisSettings,
    /// Label window in days.
    pub label_window_days: u32,
    /// Notes on the data a reader should know (censoring, partial weeks, skipped rows).
    pub notes: Vec<String>,
    /// What changed since the previous stored week (`crate::history`).
    pub changes: crate::history::Changes,
    /// What the API sources returned (Meta ad sets and learning stages, GA4 volumes, Google Ads
    /// conversions), when any is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pulled: Option<crate::source::remote::Pulled>,
}

impl Report {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
