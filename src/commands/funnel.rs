//! `optsignal funnel`: step rates per week, device and channel, with mix-or-step attribution.

use optsignal::error::Error;

use super::common::{data_settings, to_json, DataArgs, Format};
use super::{Global, Outcome};

/// The arguments of `funnel`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Funnel steps in order, comma-separated (default view_item, add_to_cart, begin_checkout,
    /// add_payment_info, purchase).
    #[arg(long, value_delimiter = ',')]
    steps: Option<Vec<String>>,
}

/// Analyses the log with the given steps and renders the funnel.
pub fn exec(global: &Global, a: Args) -> Result<Outcome, Error> {
    let settings = data_settings(global, &a.data, a.steps)?;
    let report = optsignal::pipeline::analyze(&settings)?;
    Ok(Outcome::ok(match a.data.format {
        Format::Json => to_json(&report.funnel),
        Format::Table => optsignal::report::terminal::render_funnel(&report, global.style()),
    }))
}
