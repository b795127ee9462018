//! `optsignal audience`: compares two audiences' size, overlap and purchase density.

use optsignal::error::Error;

use super::common::{data_settings, to_json, DataArgs, Format};
use super::{Global, Outcome};

/// The arguments of `audience`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// First audience: `add_to_wishlist`, `sign_up & not add_to_cart`, `add_to_cart &
    /// device=mobile`, `all` (events must be candidates).
    #[arg(long = "a")]
    a: String,
    /// Second audience, same syntax.
    #[arg(long = "b", default_value = "all")]
    b: String,
    /// Markdown instead of the table format.
    #[arg(long)]
    md: bool,
}

/// Analyses the log, parses both audiences (a bad one is a usage error naming `--a/--b`) and
/// renders the comparison.
pub fn exec(global: &Global, a: Args) -> Result<Outcome, Error> {
    let settings = data_settings(global, &a.data, None)?;
    let analysis = optsignal::pipeline::analyze_full(&settings)?;
    let c =
        optsignal::audience::compare_text(&analysis.obs, &a.a, &a.b, settings.analysis.confidence)
            .map_err(|e| {
                Error::from(optsignal::config::ConfigError::Invalid {
                    origin: "command line".into(),
                    account: None,
                    key: "--a/--b".into(),
                    message: e.to_string(),
                })
            })?;
    Ok(Outcome::ok(match (a.data.format, a.md) {
        (Format::Json, _) => to_json(&c),
        (Format::Table, true) => optsignal::report::audience::render_markdown(&c),
        (Format::Table, false) => optsignal::report::audience::render_text(&c, global.style()),
    }))
}
