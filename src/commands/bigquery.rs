//! `optsignal bigquery sql|estimate`: the GA4 export's pushdown query, shown or dry-run.

use std::path::PathBuf;

use clap::Subcommand;

use optsignal::config::{load_settings, Overrides};
use optsignal::error::Error;

use super::common::{parse_week, Unit};
use super::{Global, Outcome};

/// Which pushdown a `bigquery` command is about.
#[derive(clap::Args)]
pub struct Args {
    /// Config file with [bigquery].
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: PathBuf,
    /// The account, in a multi-account file.
    #[arg(long)]
    account: Option<String>,
    /// Candidate proxy events, comma-separated.
    #[arg(long, value_delimiter = ',')]
    candidates: Option<Vec<String>>,
    /// Observation unit.
    #[arg(long, value_enum)]
    unit: Option<Unit>,
    /// Last ISO week of the analysis (default: [fetch] last_week, else the last complete week).
    #[arg(long = "as-of", value_parser = parse_week)]
    as_of: Option<optsignal::types::IsoWeek>,
}

/// The `bigquery` subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Print the GoogleSQL that computes the grouped counts inside BigQuery (what `recommend`
    /// runs), to read or to run in the BigQuery console.
    Sql(Args),
    /// Dry-run the pushdown: the bytes it would process (and bill), against
    /// bigquery.maximum_bytes_billed; exit 1 when over it. Costs nothing.
    Estimate(Args),
}

/// Prints the pushdown SQL, or the bytes its dry run would process against the configured limit.
pub fn exec(_global: &Global, c: Command) -> Result<Outcome, Error> {
    let (a, estimate) = match c {
        Command::Sql(a) => (a, false),
        Command::Estimate(a) => (a, true),
    };
    let overrides = Overrides {
        account: a.account,
        candidates: a.candidates,
        unit: a.unit.map(Unit::kind),
        as_of: a.as_of,
        platforms_optional: true,
        ..Overrides::default()
    };
    let settings = load_settings(Some(&a.config), &overrides)?;
    let origin = a.config.display().to_string();
    if !estimate {
        return Ok(Outcome::ok(optsignal::pipeline::bigquery_sql(
            &settings, &origin,
        )?));
    }
    let (bytes, limit) = optsignal::pipeline::bigquery_estimate(&settings, &origin)?;
    let b = optsignal::source::bigquery::bytes;
    let limit = limit.map_or("no limit set (bigquery.maximum_bytes_billed)".into(), |l| {
        format!("limit {}", b(l))
    });
    Ok(Outcome::ok(format!(
        "the pushdown would process {} ({bytes} bytes; {limit})",
        b(bytes)
    )))
}
