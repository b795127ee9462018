//! `optsignal config check`: validates a config file and explains every problem.

use std::path::PathBuf;

use clap::Subcommand;

use optsignal::error::Error;
use optsignal::format::count;

use super::{Global, Outcome};

/// The `config` subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Validate a config file and explain every problem (unknown keys, types, values, files).
    Check {
        /// The config file.
        #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
        config: PathBuf,
    },
}

/// `ok` with the accounts' names, or one `error:` line per problem and exit 2.
pub fn exec(_global: &Global, c: Command) -> Result<Outcome, Error> {
    let Command::Check { config: path } = c;
    let (file, problems) = optsignal::config::accounts::check(&path)?;
    if problems.is_empty() {
        let names: Vec<&str> = file.names.iter().map(String::as_str).collect();
        return Ok(Outcome::ok(format!(
            "{}: ok ({}: {})",
            path.display(),
            count(names.len() as u64, "account", "accounts"),
            names.join(", ")
        )));
    }
    let mut out: Vec<String> = problems.iter().map(|p| format!("error: {p}")).collect();
    out.push(format!(
        "{} in {}",
        count(problems.len() as u64, "problem", "problems"),
        path.display()
    ));
    Ok(Outcome::with_code(
        out.join("\n"),
        optsignal::error::EXIT_USAGE,
    ))
}
