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
    /// Write the bundled demo store (10 weeks of a small shop, with a giveaway) and recommend on it.
    Demo(DemoArgs),
    /// The weekly trail from the model store: recommendation, precision and volume per week.
    History(HistoryArgs),
}

#[derive(clap::Args)]
struct HistoryArgs {
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
    /// Analyse only events up to the end of this ISO week (e.g. 2026-W44), in the analysis time zone.
    #[arg(long = "as-of", value_parser = parse_week)]
    as_of: Option<optsignal::types::IsoWeek>,
    /// Write this run's week to the model store (also: [store] enabled = true).
    #[arg(long)]
    save: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
}

fn parse_week(s: &str) -> Result<optsignal::types::IsoWeek, String> {
    s.parse()
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
        as_of: a.as_of,
        save: a.save,
    };
    let settings = load_settings(a.config.as_deref(), &overrides)?;
    render_report(&settings, a.format)
}

fn demo(a: DemoArgs) -> Result<String, Error> {
    let config = optsignal::demo::write_store(&a.out)?;
    eprintln!("demo store written to {}", a.out.display());
    let settings = load_settings(Some(&config), &Overrides::default())?;
    render_report(&settings, a.format)
}

fn render_report(settings: &optsignal::config::Settings, format: Format) -> Result<String, Error> {
    let report = optsignal::pipeline::run(settings)?;
    Ok(match format {
        Format::Json => report.to_json(),
        Format::Table => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            render(&report, Style::new(color))
        }
    })
}

fn history(a: HistoryArgs) -> Result<String, Error> {
    let (root, config_account) =
        optsignal::config::store_location(a.config.as_deref(), a.store.as_deref())?;
    let account = a.account.or(config_account);
    let event = a
        .event
        .as_deref()
        .and_then(optsignal::types::EventName::new);
    let trail = optsignal::history::load_trail(&root, account.as_deref(), event.as_ref())?;
    Ok(match a.format {
        Format::Json => trail.to_json(),
        Format::Table => trail.to_table(),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Recommend(a) => recommend(a),
        Command::Demo(a) => demo(a),
        Command::History(a) => history(a),
    };
    match result {
        Ok(out) => {
            // A closed pipe (`| head`) is not an error worth a panic or a message.
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{out}").and_then(|_| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write the report to stdout: {e}");
                    ExitCode::from(optsignal::error::EXIT_RUNTIME as u8)
                }
                _ => ExitCode::SUCCESS,
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
