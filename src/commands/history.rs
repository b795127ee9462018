//! `optsignal history`: the weekly trail from the model store.

use std::path::PathBuf;

use optsignal::error::Error;

use super::common::Format;
use super::{Global, Outcome};

/// The arguments of `history`.
#[derive(clap::Args)]
pub struct Args {
    /// TOML config file: its account and [store] path.
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: Option<PathBuf>,
    /// Model store folder; overrides the config's [store] path (default: models).
    #[arg(long)]
    store: Option<PathBuf>,
    /// Account (default: the config's, or the only account in the store).
    #[arg(long)]
    account: Option<String>,
    /// Show only this proxy event.
    #[arg(long)]
    event: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
}

/// Loads the account's stored weeks and renders recommendation, precision and volume per week.
pub fn exec(_global: &Global, a: Args) -> Result<Outcome, Error> {
    let (root, config_account) =
        optsignal::config::store_location(a.config.as_deref(), a.store.as_deref())?;
    let account = a.account.or(config_account);
    let event = a
        .event
        .as_deref()
        .and_then(optsignal::types::EventName::new);
    let trail = optsignal::history::load_trail(&root, account.as_deref(), event.as_ref())?;
    Ok(Outcome::ok(match a.format {
        Format::Json => trail.to_json(),
        Format::Table => optsignal::report::terminal::layout::escape_text(&trail.to_table()),
    }))
}
