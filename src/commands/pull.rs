//! `optsignal pull`: saves a snapshot of the account's API sources for offline re-runs.

use std::path::PathBuf;

use optsignal::config::{load_settings, Overrides};
use optsignal::error::Error;

use super::{Global, Outcome};

/// The arguments of `pull`.
#[derive(clap::Args)]
pub struct Args {
    /// Config file with [meta], [ga4] and/or [google_ads].
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: PathBuf,
    /// The account, in a multi-account file.
    #[arg(long)]
    account: Option<String>,
    /// Folder for snapshots (<out>/<account>/<week>.json).
    #[arg(long, default_value = "snapshots")]
    out: PathBuf,
}

/// Pulls every configured API source and writes one snapshot file; says where.
pub fn exec(_global: &Global, a: Args) -> Result<Outcome, Error> {
    let overrides = Overrides {
        account: a.account,
        ..Overrides::default()
    };
    let settings = load_settings(Some(&a.config), &overrides)?;
    let path = optsignal::pipeline::pull_snapshot(&settings, &a.out)?;
    Ok(Outcome::ok(format!(
        "snapshot written to {}",
        path.display()
    )))
}
