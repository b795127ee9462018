//! The `optsignal` command: parses arguments, calls the library, renders errors for people.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use optsignal::config::{load_settings, Overrides};
use optsignal::error::Error;
use optsignal::observe::UnitKind;
use optsignal::report::terminal::{render, Style};

/// Which conversion event should your ad campaigns optimize on?
#[derive(Parser)]
#[command(name = "optsignal", version, about, long_about = None)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Recommend the event each platform should optimize on.
    Recommend(RecommendArgs),
    /// Audit every account of a config file: one roll-up, failures isolated, exit 3 on critical.
    Audit(AuditArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write the bundled demo store (10 weeks of a small shop, with a giveaway) and recommend on it.
    Demo(DemoArgs),
    /// Pull the account's API sources (Meta, GA4, Google Ads) and save a snapshot per account and
    /// ISO week, for `recommend --snapshot FILE` to re-run offline.
    Pull(PullArgs),
}

#[derive(clap::Args)]
struct PullArgs {
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

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a config file and explain every problem (unknown keys, types, values, files).
    Check {
        /// The config file.
        #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum AuditFormat {
    /// Roll-up table and findings for people.
    Table,
    /// Every account's audit and full report.
    Json,
    /// Markdown (tickets, wikis).
    Md,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    /// Exit 3 on any warning or critical finding.
    Warning,
    /// Exit 3 on a critical finding only.
    Critical,
}

#[derive(clap::Args)]
struct AuditArgs {
    /// Config file with [defaults] and [[accounts]] (see fixtures/audit/agency.toml).
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: PathBuf,
    /// Only these accounts (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    accounts: Option<Vec<String>>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: AuditFormat,
    /// Lowest severity that makes the exit code 3.
    #[arg(long, value_enum, default_value = "critical")]
    fail_on: FailOn,
    /// Accounts analysed at once.
    #[arg(short, long, default_value_t = 2)]
    jobs: usize,
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Folder for events.csv.gz and optsignal.toml (an existing optsignal.toml is kept).
    #[arg(long, default_value = "fixtures/demo")]
    out: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Aligned tables for people.
    Table,
    /// The documented JSON schema (docs/json-schema.md).
    Json,
}

#[derive(clap::Args)]
struct RecommendArgs {
    /// TOML config file (see fixtures/demo/optsignal.toml).
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: Option<PathBuf>,
    /// Canonical event log (CSV or JSON Lines, optionally .gz); overrides source.path.
    #[arg(short, long)]
    events: Option<PathBuf>,
    /// Platform to recommend for (meta, tiktok, google_ads, microsoft_ads, snapchat, pinterest,
    /// linkedin, reddit); repeatable.
    #[arg(short, long = "platform")]
    platforms: Vec<String>,
    /// Bidding units (ad sets / ad groups / campaigns): one for all platforms, or one per
    /// --platform in order.
    #[arg(long = "ad-sets")]
    ad_sets: Vec<u32>,
    /// Share of site events the platform sees, in (0, 1]: one for all, or one per --platform.
    #[arg(long = "share")]
    shares: Vec<f64>,
    /// Observation unit.
    #[arg(long, value_enum)]
    unit: Option<Unit>,
    /// Candidate proxy events, comma-separated.
    #[arg(long, value_delimiter = ',')]
    candidates: Option<Vec<String>>,
    /// Account name shown in the report.
    #[arg(long)]
    account: Option<String>,
    /// Stop at the first malformed row instead of skipping and counting it.
    #[arg(long)]
    strict: bool,
    /// Read API data (Meta, GA4, Google Ads) from a snapshot written by `optsignal pull`.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Unit {
    Session,
    User,
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPTSIGNAL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn recommend(a: RecommendArgs) -> Result<String, Error> {
    let overrides = Overrides {
        events: a.events,
        platforms: a.platforms,
        ad_sets: a.ad_sets,
        shares: a.shares,
        unit: a.unit.map(|u| match u {
            Unit::Session => UnitKind::Session,
            Unit::User => UnitKind::User,
        }),
        candidates: a.candidates,
        account: a.account,
        strict: a.strict,
        snapshot: a.snapshot,
    };
    let settings = load_settings(a.config.as_deref(), &overrides)?;
    render_report(&settings, a.format)
}

fn pull(a: PullArgs) -> Result<String, Error> {
    let overrides = Overrides {
        account: a.account,
        ..Overrides::default()
    };
    let settings = load_settings(Some(&a.config), &overrides)?;
    let path = optsignal::pipeline::pull_snapshot(&settings, &a.out)?;
    Ok(format!("snapshot written to {}", path.display()))
}

fn demo(a: DemoArgs) -> Result<String, Error> {
    let config = optsignal::demo::write_store(&a.out)?;
    eprintln!("demo store written to {}", a.out.display());
    let settings = load_settings(Some(&config), &Overrides::default())?;
    render_report(&settings, a.format)
}

fn audit(a: AuditArgs) -> Result<(String, i32), Error> {
    let mut file = optsignal::config::accounts::load_file(&a.config)?;
    if !file.problems.is_empty() {
        return Err(file.problems.swap_remove(0).into());
    }
    let audit = optsignal::audit::run(&file, a.accounts.as_deref(), a.jobs)?;
    let fail_on = match a.fail_on {
        FailOn::Warning => optsignal::audit::Severity::Warning,
        FailOn::Critical => optsignal::audit::Severity::Critical,
    };
    let text = match a.format {
        AuditFormat::Json => serde_json::to_string_pretty(&audit).unwrap_or_default(),
        AuditFormat::Md => optsignal::report::audit::render_markdown(&audit),
        AuditFormat::Table => optsignal::report::audit::render_table(&audit, Style::new(color())),
    };
    Ok((text, audit.exit_code(fail_on)))
}

fn config_check(path: PathBuf) -> Result<(String, i32), Error> {
    let (file, problems) = optsignal::config::accounts::check(&path)?;
    if problems.is_empty() {
        let names: Vec<&str> = file.accounts.iter().map(|a| a.name.as_str()).collect();
        return Ok((
            format!(
                "{}: ok ({} account(s): {})",
                path.display(),
                names.len(),
                names.join(", ")
            ),
            0,
        ));
    }
    let mut out: Vec<String> = problems.iter().map(|p| format!("error: {p}")).collect();
    out.push(format!(
        "{} problem(s) in {}",
        problems.len(),
        path.display()
    ));
    Ok((out.join("\n"), optsignal::error::EXIT_USAGE))
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn render_report(settings: &optsignal::config::Settings, format: Format) -> Result<String, Error> {
    let report = optsignal::pipeline::analyze(settings)?;
    Ok(match format {
        Format::Json => report.to_json(),
        Format::Table => render(&report, Style::new(color())),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Recommend(a) => recommend(a).map(|s| (s, 0)),
        Command::Demo(a) => demo(a).map(|s| (s, 0)),
        Command::Pull(a) => pull(a).map(|s| (s, 0)),
        Command::Audit(a) => audit(a),
        Command::Config(ConfigCommand::Check { config }) => config_check(config),
    };
    match result {
        Ok((out, code)) => {
            // A closed pipe (`| head`) is not an error worth a panic or a message.
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{out}").and_then(|_| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write the report to stdout: {e}");
                    ExitCode::from(optsignal::error::EXIT_RUNTIME as u8)
                }
                _ => ExitCode::from(code as u8),
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
