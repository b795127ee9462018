//! `optsignal demo`: writes the bundled demo store and recommends on it.

use std::path::PathBuf;

use optsignal::config::{load_settings, Overrides};
use optsignal::error::Error;

use super::common::{render_report, Format};
use super::{Global, Outcome};

/// The arguments of `demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder for events.csv.gz and optsignal.toml (an existing optsignal.toml is kept).
    #[arg(long, default_value = "fixtures/demo")]
    out: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
}

/// Writes the store (keeping an existing config), then runs `recommend` on its config.
pub fn exec(global: &Global, a: Args) -> Result<Outcome, Error> {
    let config = optsignal::demo::write_store(&a.out)?;
    eprintln!("demo store written to {}", a.out.display());
    let settings = load_settings(Some(&config), &Overrides::default())?;
    render_report(global, &settings, a.format).map(Outcome::ok)
}
