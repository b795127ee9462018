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
    /// Funnel step rates per week, device and channel, and whether each week's change is traffic
    /// mix or the step itself.
    Funnel(FunnelArgs),
    /// Weeks of traffic an A/B test needs on purchase and on each proxy.
    TestPlan(TestPlanArgs),
}

/// Where the events come from, for the commands that recommend nothing.
#[derive(clap::Args)]
struct DataArgs {
    /// TOML config file (see fixtures/demo/optsignal.toml).
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: Option<PathBuf>,
    /// Canonical event log (CSV or JSON Lines, optionally .gz); overrides source.path.
    #[arg(short, long)]
    events: Option<PathBuf>,
    /// Observation unit.
    #[arg(long, value_enum)]
    unit: Option<Unit>,
    /// Stop at the first malformed row instead of skipping and counting it.
    #[arg(long)]
    strict: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(clap::Args)]
struct FunnelArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Funnel steps in order, comma-separated (default view_item, add_to_cart, begin_checkout,
    /// add_payment_info, purchase).
    #[arg(long, value_delimiter = ',')]
    steps: Option<Vec<String>>,
}

#[derive(clap::Args)]
struct TestPlanArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Relative lift to detect: 10% or 0.1.
    #[arg(long, default_value = "10%", value_parser = optsignal::testplan::parse_relative)]
    mde: f64,
    /// Two-sided significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Power.
    #[arg(long, default_value_t = 0.8)]
    power: f64,
    /// Arms, control included.
    #[arg(long, default_value_t = 2)]
    arms: u32,
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
        ..Overrides::default()
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

fn data_settings(
    d: &DataArgs,
    steps: Option<Vec<String>>,
) -> Result<optsignal::config::Settings, Error> {
    let overrides = Overrides {
        events: d.events.clone(),
        unit: d.unit.map(|u| match u {
            Unit::Session => UnitKind::Session,
            Unit::User => UnitKind::User,
        }),
        strict: d.strict,
        platforms_optional: true,
        funnel_steps: steps,
        ..Overrides::default()
    };
    Ok(load_settings(d.config.as_deref(), &overrides)?)
}

fn funnel(a: FunnelArgs) -> Result<String, Error> {
    let settings = data_settings(&a.data, a.steps)?;
    let report = optsignal::pipeline::analyze(&settings)?;
    Ok(match a.data.format {
        Format::Json => to_json(&report.funnel),
        Format::Table => optsignal::report::terminal::render_funnel(&report, style()),
    })
}

fn test_plan(a: TestPlanArgs) -> Result<String, Error> {
    let params = optsignal::testplan::TestParams {
        mde: a.mde,
        alpha: a.alpha,
        power: a.power,
        arms: a.arms,
    };
    params.validate()?;
    let settings = data_settings(&a.data, None)?;
    let report = optsignal::pipeline::analyze(&settings)?;
    let plan = optsignal::testplan::replan(&report, params);
    Ok(match a.data.format {
        Format::Json => to_json(&plan),
        Format::Table => optsignal::report::terminal::render_test_plan(&report, &plan, style()),
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn style() -> Style {
    Style::new(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Recommend(a) => recommend(a),
        Command::Demo(a) => demo(a),
        Command::Funnel(a) => funnel(a),
        Command::TestPlan(a) => test_plan(a),
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
