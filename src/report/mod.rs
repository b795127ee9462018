//! One report model, many renderers: [`Report`] is the JSON schema (`--format json`), and
//! [`terminal`] renders it for people.
//!
//! The schema is versioned by [`SCHEMA_VERSION`]; fields are only added, never renamed, within a
//! version. `docs/json-schema.md` documents every field.

pub mod audit;
pub mod terminal;

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
    /// What was read.
    pub input: InputSummary,
    /// Settings that shape the numbers (confidence, thresholds, windows).
    pub settings: crate::config::AnalysisSettings,
    /// Label window in days.
    pub label_window_days: u32,
    /// Notes on the data a reader should know (censoring, partial weeks, skipped rows).
    pub notes: Vec<String>,
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
