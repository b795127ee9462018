//! `optsignal experiment`: reads an A/B test out, per variant, on a micro metric and the macro
//! outcome.

use std::path::PathBuf;

use clap::ValueEnum;

use optsignal::abtest::{AssignmentFrom, ExperimentOptions};
use optsignal::error::Error;
use optsignal::types::EventName;

use super::common::{data_settings, to_json, DataArgs, Format, Unit};
use super::{Global, Outcome};

/// `experiment --format`.
#[derive(Clone, Copy, ValueEnum)]
enum ExperimentFormat {
    /// Aligned text for people.
    Table,
    /// The documented JSON schema (docs/json-schema.md).
    Json,
    /// Markdown (tickets, wikis).
    Md,
}

/// The arguments of `experiment`.
#[derive(clap::Args)]
pub struct Args {
    /// TOML config file (see fixtures/experiment/optsignal.toml).
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: Option<PathBuf>,
    /// Canonical event log (CSV or JSON Lines, optionally .gz); overrides source.path.
    #[arg(short, long)]
    events: Option<PathBuf>,
    /// The log's column holding each user's variant.
    #[arg(
        long,
        conflicts_with = "variants",
        required_unless_present = "variants"
    )]
    variant_column: Option<String>,
    /// A user_id,variant CSV file instead of a log column.
    #[arg(long)]
    variants: Option<PathBuf>,
    /// First day of the test (YYYY-MM-DD, in the analysis time zone).
    #[arg(long)]
    from: jiff::civil::Date,
    /// Last day of the test, inclusive.
    #[arg(long)]
    to: jiff::civil::Date,
    /// The control variant (default: "control", else the first name in sort order).
    #[arg(long)]
    control: Option<String>,
    /// Configured split, one share per variant in name order (e.g. 50,50; default equal).
    #[arg(long, value_delimiter = ',')]
    split: Option<Vec<f64>>,
    /// The micro metric the test is read on.
    #[arg(long, default_value = "add_to_cart")]
    micro: String,
    /// The macro outcome (default: analysis.purchase_event).
    #[arg(long = "macro")]
    macro_outcome: Option<String>,
    /// Relative lift of the macro outcome the power is reported for: 10% or 0.1.
    #[arg(long, default_value = "10%", value_parser = optsignal::testplan::parse_relative)]
    mde: f64,
    /// Level of the sample-ratio-mismatch test.
    #[arg(long, default_value_t = 0.001)]
    srm_alpha: f64,
    /// Segments (device × channel) with fewer users per arm are pooled.
    #[arg(long, default_value_t = 50)]
    min_segment_users: u64,
    /// Observation unit.
    #[arg(long, value_enum)]
    unit: Option<Unit>,
    /// Stop at the first malformed row instead of skipping and counting it.
    #[arg(long)]
    strict: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: ExperimentFormat,
}

/// Reads the test's assignment and window from the flags, runs the read-out and renders it.
pub fn exec(global: &Global, a: Args) -> Result<Outcome, Error> {
    let data = DataArgs {
        config: a.config,
        events: a.events,
        unit: a.unit,
        strict: a.strict,
        format: Format::Table,
    };
    let settings = data_settings(global, &data, None)?;
    let options = ExperimentOptions {
        assignment: match (a.variant_column, a.variants) {
            (Some(c), _) => AssignmentFrom::Column(c),
            (None, Some(f)) => AssignmentFrom::File(f),
            (None, None) => AssignmentFrom::Column("variant".into()),
        },
        from: a.from,
        to: a.to,
        control: a.control,
        split: a.split,
        micro: event("--micro", &a.micro)?,
        macro_outcome: a.macro_outcome.map(|m| event("--macro", &m)).transpose()?,
        mde: a.mde,
        srm_alpha: a.srm_alpha,
        min_segment_users: a.min_segment_users,
    };
    let r = optsignal::abtest::run(&settings, &options)?;
    Ok(Outcome::ok(match a.format {
        ExperimentFormat::Json => to_json(&r),
        ExperimentFormat::Md => optsignal::report::experiment::render_markdown(&r),
        // Variant and event names come from the data: no control sequence reaches the terminal.
        ExperimentFormat::Table => optsignal::report::terminal::layout::finish(
            optsignal::report::experiment::render_text(&r, global.style()),
        ),
    }))
}

/// An event name from a flag, or a usage error naming the flag.
fn event(key: &str, s: &str) -> Result<EventName, Error> {
    EventName::new(s).ok_or_else(|| {
        Error::from(optsignal::config::ConfigError::Invalid {
            origin: "command line".into(),
            account: None,
            key: key.into(),
            message: "an event name must not be empty".into(),
        })
    })
}
