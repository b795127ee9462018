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
    /// The weekly report: print it, write it (with its chart) to a folder, or email it once per
    /// ISO week (for cron). Exit codes: 0 done or nothing to do, 1 runtime failure, 2 usage or
    /// config error, 3 done and a configured critical flag fired.
    Report(ReportArgs),
}

#[derive(clap::Args)]
struct ReportArgs {
    /// TOML config file, with an [email] section for --send and --dry-run.
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: PathBuf,
    /// Document format on stdout or in --out.
    #[arg(short, long, value_enum, default_value = "md")]
    format: DocFormatArg,
    /// Folder to write into: the report and its chart PNG, or the .eml with --dry-run.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Email the report over SMTP, once per account and ISO week.
    #[arg(long)]
    send: bool,
    /// Build the email but write it as .eml (into --out, else stdout) instead of sending.
    #[arg(long)]
    dry_run: bool,
    /// Send even if this week's report was already sent.
    #[arg(long)]
    force: bool,
    /// Folder for the lock and sent-state files (overrides report.state_dir).
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum DocFormatArg {
    /// Markdown.
    Md,
    /// Email-safe HTML.
    Html,
    /// Plain text.
    Text,
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
    let report = optsignal::pipeline::analyze(settings)?;
    Ok(match format {
        Format::Json => report.to_json(),
        Format::Table => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            render(&report, Style::new(color))
        }
    })
}

fn report(a: ReportArgs) -> Result<(String, i32), Error> {
    use optsignal::deliver::{Action, ReportJob};
    use optsignal::report::document::DocFormat;
    let mut settings = load_settings(Some(&a.config), &Overrides::default())?;
    if let Some(d) = a.state_dir {
        settings.report.state_dir = d;
    }
    let report = optsignal::pipeline::analyze(&settings)?;
    let job = ReportJob {
        config_path: Some(a.config),
        format: match a.format {
            DocFormatArg::Md => DocFormat::Markdown,
            DocFormatArg::Html => DocFormat::Html,
            DocFormatArg::Text => DocFormat::Text,
        },
        out: a.out,
        send: a.send,
        dry_run: a.dry_run,
        force: a.force,
    };
    let outcome = optsignal::deliver::run(&report, &settings, &job)?;
    if !outcome.critical.is_empty() {
        tracing::warn!("critical flags: {}", outcome.critical.join("; "));
    }
    let code = outcome.exit_code();
    Ok(match outcome.action {
        Action::Printed(s) => (s, code),
        _ => (String::new(), code),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Recommend(a) => recommend(a).map(|s| (s, 0)),
        Command::Demo(a) => demo(a).map(|s| (s, 0)),
        Command::Report(a) => report(a),
    };
    match result {
        Ok((out, code)) if out.is_empty() => ExitCode::from(code as u8),
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
