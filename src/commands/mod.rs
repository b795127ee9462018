//! The commands of the binary, one file each (as cargo's `commands/` and xsv's `cmd/`): its clap
//! `Args` and an `exec(&Global, Args)` that turns them into library calls and returns an
//! [`Outcome`]. The global flags are read once into [`Global`] and passed down.

pub mod audience;
pub mod audit;
pub mod bigquery;
mod common;
pub mod config;
pub mod demo;
pub mod experiment;
pub mod funnel;
pub mod history;
pub mod pull;
pub mod recommend;
pub mod report;
pub mod signal;
pub mod test_plan;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

use optsignal::report::terminal::Style;

pub use common::print_failure;

/// Which conversion event should your ad campaigns optimize on?
#[derive(Parser)]
#[command(name = "optsignal", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress bar on stderr (it is only drawn when stderr is a terminal anyway).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Fit tables and text to this many columns (default: the terminal's width, from COLUMNS
    /// or the terminal itself, when stdout is a terminal; else the full layout).
    #[arg(long, global = true, value_name = "COLUMNS", conflicts_with = "wide")]
    width: Option<u16>,
    /// The full layout whatever the terminal's width (what pipes and files get by default).
    #[arg(long, global = true)]
    wide: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands, each with its own file in this folder.
#[derive(Subcommand)]
pub enum Command {
    /// Recommend the event each platform should optimize on.
    Recommend(recommend::Args),
    /// Audit every account of a config file: one roll-up, failures isolated, exit 3 on critical.
    Audit(audit::Args),
    /// Configuration tools.
    #[command(subcommand)]
    Config(config::Command),
    /// Write the bundled demo store (10 weeks of a small shop, with a giveaway) and recommend on it.
    Demo(demo::Args),
    /// The weekly trail from the model store: recommendation, precision and volume per week.
    History(history::Args),
    /// Funnel step rates per week, device and channel, and whether each week's change is traffic
    /// mix or the step itself.
    Funnel(funnel::Args),
    /// Weeks of traffic an A/B test needs on purchase and on each proxy.
    TestPlan(test_plan::Args),
    /// Read an A/B test out: per variant the funnel's step rates, the micro metric and the macro
    /// outcome with intervals, the segment-adjusted difference, the sample-ratio check, the
    /// divergence verdict and the power reached.
    Experiment(experiment::Args),
    /// Compare two audiences (events done or not, device, channel): size, overlap, purchase
    /// density with intervals and the difference.
    Audience(audience::Args),
    /// The weekly report: print it, write it (with its chart) to a folder, or email it once per
    /// ISO week (for cron). Exit codes: 0 done or nothing to do, 1 runtime failure, 2 usage or
    /// config error, 3 done and a configured critical flag fired.
    Report(report::Args),
    /// Pull the account's API sources (Meta, GA4, Google Ads) and save a snapshot per account and
    /// ISO week, for `recommend --snapshot FILE` to re-run offline.
    Pull(pull::Args),
    /// The GA4 export in BigQuery (`source.kind = "bigquery"`): show the pushdown SQL.
    #[command(subcommand)]
    Bigquery(bigquery::Command),
    /// Deliver the recommended signal to Meta (Conversions API), Google Ads (click conversions)
    /// and GA4 (Measurement Protocol): payload files by default.
    #[command(subcommand)]
    Signal(signal::Command),
}

/// The global flags, read once from the command line and passed to every command.
pub struct Global {
    /// `-v` count: 0 warnings only, 1 info, 2 or more debug.
    pub verbose: u8,
    /// `--quiet`: no progress bar on stderr.
    pub quiet: bool,
    /// The width terminal output is fitted to; `None` is the full layout (`--wide`, a pipe).
    pub width: Option<usize>,
    /// Colour in terminal output: stdout is a terminal and `NO_COLOR` is unset.
    pub colour: bool,
}

impl Global {
    /// Reads the global flags, the terminal and the environment once.
    pub fn from_cli(cli: &Cli) -> Global {
        Global {
            verbose: cli.verbose,
            quiet: cli.quiet,
            width: output_width(cli).filter(|w| *w > 0),
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// The terminal style: colour as decided at start, fitted to the width.
    pub fn style(&self) -> Style {
        Style::new(self.colour).with_width(self.width)
    }
}

/// The width to fit: `--wide` none; `--width N` N; else, when stdout is a terminal, `COLUMNS`
/// or the terminal's own width. Output to a pipe or file keeps the full layout, so cron mail and
/// scripts do not change with whoever's terminal started them.
fn output_width(cli: &Cli) -> Option<usize> {
    if cli.wide {
        return None;
    }
    if let Some(w) = cli.width {
        return Some(usize::from(w));
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok());
    columns
        .filter(|c| *c > 0)
        .or_else(|| comfy_table::Table::new().width())
        .map(usize::from)
}

/// What a command produced: the text for stdout (empty: nothing is printed) and the exit code.
pub struct Outcome {
    /// The text printed on stdout, redacted, with a final newline.
    pub stdout: String,
    /// The process's exit code (see `optsignal::error` and `optsignal::deliver`).
    pub code: i32,
}

impl Outcome {
    /// Text to print, exit code 0.
    pub fn ok(stdout: String) -> Outcome {
        Outcome { stdout, code: 0 }
    }

    /// Text to print (may be empty) and an exit code.
    pub fn with_code(stdout: String, code: i32) -> Outcome {
        Outcome { stdout, code }
    }
}
