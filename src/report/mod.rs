//! One report model, many renderers: [`Report`] is the JSON schema (`--format json`),
//! [`terminal`] renders it for people, and [`document`] renders the weekly report (Markdown, HTML
//! email, plain text) from a [`view`] of it, with the [`chart`] as a PNG.
//!
//! The schema is versioned by [`SCHEMA_VERSION`]; fields are only added, never renamed, within a
//! version. `docs/json-schema.md` documents every field.

pub mod audience;
pub mod audit;
pub mod chart;
pub mod document;
pub mod experiment;
pub mod setup;
pub mod terminal;
pub mod view;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::advise::Recommendation;
use crate::evidence::ProxyEvidence;
use crate::observe::UnitKind;
pub use crate::observe::WeekTotals;
use crate::source::log::SkipTally;
use crate::testplan::{TestParams, TestPlan};
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
    /// The weeks precision, lift, odds ratios, the models, values and audiences are measured on:
    /// those with units whose label windows end inside the data (every week with units when none
    /// does); volumes and clearance count every week.
    pub measured_weeks: Vec<IsoWeek>,
    /// Events that are neither candidates nor purchase, by name.
    pub other_events: BTreeMap<String, u64>,
    /// Candidates never seen in the log.
    pub absent_candidates: Vec<String>,
    /// What candidate discovery measured and left out, and why (`null` when
    /// `analysis.candidates` named them).
    pub discovery: Option<crate::observe::Discovery>,
    /// What the search over derived candidates did: grids, search and held-out weeks, the
    /// points kept and for which platforms (`null` without `[[analysis.derived]]`).
    pub derived: Option<crate::derive::DerivedSearch>,
    /// The predicted signal: its model, grid and held-out calibration, or why it was not
    /// built (`null` without `[analysis.predicted]`).
    pub predicted: Option<crate::predict::PredictedSignal>,
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

/// Recomputes a report's test plan with other parameters (the `test-plan` command).
pub fn replan(r: &Report, params: TestParams) -> TestPlan {
    let recent = crate::testplan::recent_complete(&r.weekly, r.settings.volume_weeks);
    let Some(purchase) = r.test_plan.metrics.first().map(|m| m.event.clone()) else {
        return r.test_plan.clone();
    };
    crate::testplan::plan(&purchase, &r.weekly, &r.proxies, &recent, params)
}
/// Consecutive runs of weeks as `W1 … W4, W7` (a lone week stands alone).
fn week_runs(weeks: &[IsoWeek]) -> String {
    let mut runs: Vec<(IsoWeek, IsoWeek)> = Vec::new();
    for &w in weeks {
        match runs.last_mut() {
            Some((_, last)) if last.next() == w => *last = w,
            _ => runs.push((w, w)),
        }
    }
    runs.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a} … {b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why one week was set aside, in words (`data on 4 of 7 days; 6 needed`).
pub fn set_aside_reason(s: &crate::core::coverage::SetAside, unit: UnitKind) -> String {
    use crate::core::coverage::SetAside;
    match *s {
        SetAside::FewDays { days: 0, .. } => "no data".to_string(),
        SetAside::FewDays { days, needed } => {
            format!("data on {days} of 7 days; {needed} needed")
        }
        SetAside::LowVolume {
            volume,
            neighbour_median,
            share,
            needed,
        } => format!(
            "{}, {} of its neighbouring weeks' median {}; {} needed",
            crate::format::count(volume, unit.singular(), unit.plural()),
            crate::format::percent(share),
            crate::format::amount(neighbour_median),
            crate::format::percent(needed)
        ),
    }
}

/// The set-aside weeks with their reasons, runs of consecutive weeks with the same reason
/// grouped (`2026-W21 … 2026-W29 (9 weeks, no data)`).
pub fn set_aside_list(weekly: &[WeekTotals], unit: UnitKind) -> Vec<String> {
    let mut groups: Vec<(Vec<IsoWeek>, String)> = Vec::new();
    for w in weekly {
        let Some(s) = &w.set_aside else { continue };
        let why = set_aside_reason(s, unit);
        match groups.last_mut() {
            Some((ws, last)) if *last == why && ws.last().map(|x| x.next()) == Some(w.week) => {
                ws.push(w.week)
            }
            _ => groups.push((vec![w.week], why)),
        }
    }
    groups
        .iter()
        .map(|(ws, why)| {
            if ws.len() == 1 {
                format!("{} ({why})", ws[0])
            } else {
                format!("{} ({} weeks, {why})", week_runs(ws), ws.len())
            }
        })
        .collect()
}

/// The data note naming the complete weeks used for floor checks and drift tests and every
/// set-aside week with its reason (runs of weeks with the same reason grouped); `None` when every
/// week is complete.
pub fn coverage_note(weekly: &[WeekTotals], unit: UnitKind) -> Option<String> {
    if weekly.iter().all(|w| w.complete) {
        return None;
    }
    let used: Vec<IsoWeek> = weekly
        .iter()
        .filter(|w| w.complete)
        .map(|w| w.week)
        .collect();
    let aside = set_aside_list(weekly, unit);
    let used_text = if used.is_empty() {
        "none".to_string()
    } else {
        format!(
            "{} ({})",
            week_runs(&used),
            crate::format::count(used.len() as u64, "week", "weeks")
        )
    };
    Some(format!(
        "complete weeks used for floor checks and drift tests: {used_text}; set aside by their own coverage: {}",
        aside.join("; ")
    ))
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
    /// How to set up each platform's recommended event ([`crate::setup`]).
    pub setup: crate::setup::Setup,
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
    /// Conversion-goal set-ups that feed a bidder the wrong signal ([`crate::goals`]), from the
    /// API sources; empty when none is configured or nothing is wrong.
    pub conversion_goals: Vec<crate::goals::GoalFinding>,
}

impl Report {
    /// How the headers name the units that reached the outcome: "purchasing", or "with
    /// qualify_lead" when the outcome is not a purchase.
    pub fn reached(&self) -> String {
        match self.setup.outcome.as_str() {
            "purchase" => "purchasing".to_string(),
            o => format!("with {o}"),
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
