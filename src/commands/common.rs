//! What several commands share: argument types and parsers, the data flags of the commands that
//! recommend nothing, the report renderer, and the failure and alert helpers of the sending ones.

use std::path::PathBuf;

use clap::ValueEnum;

use optsignal::config::{load_settings, Overrides, Settings};
use optsignal::error::Error;
use optsignal::observe::UnitKind;
use optsignal::secret::redact;

use super::Global;

/// `--as-of` and friends: an ISO week such as `2026-W44`.
pub fn parse_week(s: &str) -> Result<optsignal::types::IsoWeek, String> {
    s.parse()
}

/// `--now`: an RFC 3339 time.
pub fn parse_time(s: &str) -> Result<jiff::Timestamp, String> {
    s.parse()
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2026-11-16T07:00:00Z ({e})"))
}

/// `--unit`: the observation unit.
#[derive(Clone, Copy, ValueEnum)]
pub enum Unit {
    // No doc comments on the values: clap would print them in `--help`.
    Session,
    User,
}

impl Unit {
    /// The library's unit.
    pub fn kind(self) -> UnitKind {
        match self {
            Unit::Session => UnitKind::Session,
            Unit::User => UnitKind::User,
        }
    }
}

/// `--format` of the commands with a table and a JSON form.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// Aligned tables for people.
    Table,
    /// The documented JSON schema (docs/json-schema.md).
    Json,
}

/// Where the events come from, for the commands that recommend nothing.
#[derive(clap::Args)]
pub struct DataArgs {
    /// TOML config file (see fixtures/demo/optsignal.toml).
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Canonical event log (CSV or JSON Lines, optionally .gz); overrides source.path.
    #[arg(short, long)]
    pub events: Option<PathBuf>,
    /// Observation unit.
    #[arg(long, value_enum)]
    pub unit: Option<Unit>,
    /// Stop at the first malformed row instead of skipping and counting it.
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: Format,
}

/// The settings of a command that recommends nothing: no platform is required.
pub fn data_settings(
    global: &Global,
    d: &DataArgs,
    steps: Option<Vec<String>>,
) -> Result<Settings, Error> {
    let overrides = Overrides {
        events: d.events.clone(),
        unit: d.unit.map(Unit::kind),
        strict: d.strict,
        progress: !global.quiet,
        platforms_optional: true,
        funnel_steps: steps,
        ..Overrides::default()
    };
    Ok(load_settings(d.config.as_deref(), &overrides)?)
}

/// Pretty JSON of any result (serialising our types does not fail; if it did, say so in JSON).
pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Runs the full recommendation and renders it (`recommend`, `demo`).
pub fn render_report(
    global: &Global,
    settings: &Settings,
    format: Format,
) -> Result<String, Error> {
    let report = optsignal::pipeline::run(settings)?;
    Ok(match format {
        Format::Json => report.to_json(),
        Format::Table => optsignal::report::terminal::render(&report, global.style()),
    })
}

/// `error: ...` and `hint: ...` on stderr, redacted.
pub fn print_failure(message: &str, hint: Option<&str>) {
    eprintln!("error: {}", redact(message));
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
}

/// Alerts with the real clock and sleeper.
pub fn alert_run(force: bool) -> optsignal::deliver::alert::Run<'static> {
    optsignal::deliver::alert::Run {
        clock: &optsignal::deliver::alert::webhook::SystemClock,
        sleeper: &optsignal::source::http::TokioSleeper,
        force,
    }
}

/// Prints the alert failures on stderr and folds their exit codes into `failed`.
pub fn merge_failures(
    failed: Option<i32>,
    alerts: &optsignal::deliver::alert::AlertOutcome,
) -> Option<i32> {
    for e in &alerts.errors {
        print_failure(&e.to_string(), Some(e.hint()));
    }
    match (failed, alerts.failure()) {
        (Some(a), Some(b)) => Some(optsignal::deliver::alert::failure_code(a, b)),
        (a, b) => a.or(b),
    }
}
