//! The `experiment` command's job: read who saw which variant, read the log inside the test's
//! dates, and hand plain rows and parameters to the pure [`crate::experiment`] stage.

use std::path::PathBuf;

use jiff::civil::Date;
use serde::Serialize;

use crate::config::{ConfigError, Settings};
pub use crate::error::ExperimentError;
use crate::experiment::{readout, CollectCounts, CollectSpec, Collector, Readout, ReadoutParams};
use crate::observe::UnitKind;
use crate::source::assignment::{read_log_column, read_mapping, AssignmentSummary};
use crate::source::log::{read_log, ReadSummary};
use crate::types::EventName;

/// Where the variant of each user comes from.
#[derive(Debug, Clone)]
pub enum AssignmentFrom {
    /// A column of the event log.
    Column(String),
    /// A `user_id,variant` CSV file.
    File(PathBuf),
}

/// What the command line asks of a readout.
#[derive(Debug, Clone)]
pub struct ExperimentOptions {
    /// The assignment.
    pub assignment: AssignmentFrom,
    /// First day of the test (in the analysis time zone).
    pub from: Date,
    /// Last day of the test, inclusive.
    pub to: Date,
    /// The control variant (default: one named `control`, else the first in name order).
    pub control: Option<String>,
    /// Configured split, one share per variant in name order (default: equal).
    pub split: Option<Vec<f64>>,
    /// The micro-conversion.
    pub micro: EventName,
    /// The macro outcome (default: the analysis purchase event).
    pub macro_outcome: Option<EventName>,
    /// Relative lift of the macro outcome to report power for.
    pub mde: f64,
    /// Level of the sample-ratio-mismatch test.
    pub srm_alpha: f64,
    /// Fewest users per arm for a segment to be adjusted for on its own.
    pub min_segment_users: u64,
}

/// The readout with everything needed to judge it: the JSON schema of `experiment`.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentReport {
    /// Schema version (the report's).
    pub schema_version: u32,
    /// Account.
    pub account: String,
    /// First day.
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// Sessions or users.
    pub unit: UnitKind,
    /// The event log.
    pub file: String,
    /// What the log reader read and skipped.
    pub input: ReadSummary,
    /// The assignment.
    pub assignment: AssignmentSummary,
    /// Events in and out of the window, and from unassigned users.
    pub collected: CollectCounts,
    /// The micro metric.
    pub micro: EventName,
    /// The macro outcome.
    pub macro_outcome: EventName,
    /// Funnel steps described.
    pub steps: Vec<EventName>,
    /// The readout.
    pub readout: Readout,
}

fn invalid(key: &str, message: String) -> crate::error::Error {
    ConfigError::Invalid {
        origin: "command line".into(),
        account: None,
        key: key.into(),
        message,
    }
    .into()
}

/// Reads the test out of the settings' log.
pub fn run(
    settings: &Settings,
    o: &ExperimentOptions,
) -> Result<ExperimentReport, crate::error::Error> {
    if o.to < o.from {
        return Err(invalid(
            "--to",
            format!("{} is before --from {}", o.to, o.from),
        ));
    }
    let spec = &settings.source;
    let assignment = match &o.assignment {
        AssignmentFrom::Column(c) => read_log_column(spec, c),
        AssignmentFrom::File(p) => read_mapping(p),
    }
    .map_err(ExperimentError::from)?;
    let control = match &o.control {
        Some(c) => assignment
            .variants
            .iter()
            .position(|v| v == c)
            .ok_or_else(|| {
                invalid(
                    "--control",
                    format!(
                        "no variant {c:?}; the assignment has {}",
                        assignment.variants.join(", ")
                    ),
                )
            })?,
        None => assignment
            .variants
            .iter()
            .position(|v| v == "control")
            .unwrap_or(0),
    };
    let split = match &o.split {
        None => vec![1.0; assignment.variants.len()],
        Some(s) if s.len() == assignment.variants.len() && s.iter().all(|x| *x > 0.0) => s.clone(),
        Some(s) => {
            return Err(invalid(
                "--split",
                format!(
                    "{} share(s) for {} variants ({}, in this order); give one positive share each",
                    s.len(),
                    assignment.variants.len(),
                    assignment.variants.join(", ")
                ),
            ))
        }
    };
    let macro_outcome = o
        .macro_outcome
        .clone()
        .unwrap_or_else(|| settings.observe.purchase.clone());
    let mut metrics: Vec<EventName> = settings.funnel_steps.clone();
    for e in [&o.micro, &macro_outcome] {
        if !metrics.contains(e) {
            metrics.push(e.clone());
        }
    }
    let idx = |e: &EventName| metrics.iter().position(|m| m == e).unwrap_or(0);
    let tz = &settings.observe.time_zone;
    let at = |d: Date| {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp().as_microsecond())
            .unwrap_or(0)
    };
    let end =
        o.to.tomorrow()
            .map_err(|e| invalid("--to", e.to_string()))?;
    let collect = CollectSpec {
        start_us: at(o.from),
        end_us: at(end),
        unit: settings.observe.unit,
        session_gap_us: i64::from(settings.observe.session_gap_minutes) * 60_000_000,
        metrics: metrics.clone(),
    };
    let mut collector = Collector::new(collect, &assignment.users);
    let input = read_log(spec, |ev| {
        collector.push(ev);
        Ok(())
    })?;
    let (data, collected) = collector.finish(assignment.variants.clone());
    let params = ReadoutParams {
        control,
        split,
        micro: idx(&o.micro),
        macro_outcome: idx(&macro_outcome),
        steps: (0..settings.funnel_steps.len()).collect(),
        confidence: settings.analysis.confidence,
        alpha: settings.analysis.alpha,
        srm_alpha: o.srm_alpha,
        mde: o.mde,
        min_stratum_users: o.min_segment_users,
    };
    let readout = readout(&data, &params).map_err(|source| ExperimentError::Readout {
        path: spec.path.clone(),
        source,
    })?;
    Ok(ExperimentReport {
        schema_version: crate::report::SCHEMA_VERSION,
        account: settings.account.clone(),
        from: o.from.to_string(),
        to: o.to.to_string(),
        unit: settings.observe.unit,
        file: spec.path.display().to_string(),
        input,
        assignment: assignment.summary,
        collected,
        micro: o.micro.clone(),
        macro_outcome,
        steps: settings.funnel_steps.clone(),
        readout,
    })
}
