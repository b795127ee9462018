//! The `optsignal` command: parses arguments, calls the library, renders errors for people.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use clap::{Parser, Subcommand, ValueEnum};

use optsignal::config::{load_settings, Overrides};
use optsignal::error::Error;
use optsignal::observe::UnitKind;
use optsignal::report::terminal::{render, Style};
use optsignal::source::secret::redact;

/// `--quiet`: set once from the command line, read where settings are built.
static QUIET: AtomicBool = AtomicBool::new(false);

/// The width terminal output is fitted to (0: the full layout); set once from the command line.
static WIDTH: AtomicUsize = AtomicUsize::new(0);

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

/// Which conversion event should your ad campaigns optimize on?
#[derive(Parser)]
#[command(name = "optsignal", version, about, long_about = None)]
struct Cli {
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
    /// The weekly trail from the model store: recommendation, precision and volume per week.
    History(HistoryArgs),
    /// Funnel step rates per week, device and channel, and whether each week's change is traffic
    /// mix or the step itself.
    Funnel(FunnelArgs),
    /// Weeks of traffic an A/B test needs on purchase and on each proxy.
    TestPlan(TestPlanArgs),
    /// Read an A/B test out: per variant the funnel's step rates, the micro metric and the macro
    /// outcome with intervals, the segment-adjusted difference, the sample-ratio check, the
    /// divergence verdict and the power reached.
    Experiment(ExperimentArgs),
    /// Compare two audiences (events done or not, device, channel): size, overlap, purchase
    /// density with intervals and the difference.
    Audience(AudienceArgs),
    /// The weekly report: print it, write it (with its chart) to a folder, or email it once per
    /// ISO week (for cron). Exit codes: 0 done or nothing to do, 1 runtime failure, 2 usage or
    /// config error, 3 done and a configured critical flag fired.
    Report(ReportArgs),
    /// Pull the account's API sources (Meta, GA4, Google Ads) and save a snapshot per account and
    /// ISO week, for `recommend --snapshot FILE` to re-run offline.
    Pull(PullArgs),
    /// The GA4 export in BigQuery (`source.kind = "bigquery"`): show the pushdown SQL.
    #[command(subcommand)]
    Bigquery(BigqueryCommand),
}

/// Which pushdown a `bigquery` command is about.
#[derive(clap::Args)]
struct PushdownArgs {
    /// Config file with [bigquery].
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: PathBuf,
    /// The account, in a multi-account file.
    #[arg(long)]
    account: Option<String>,
    /// Candidate proxy events, comma-separated.
    #[arg(long, value_delimiter = ',')]
    candidates: Option<Vec<String>>,
    /// Observation unit.
    #[arg(long, value_enum)]
    unit: Option<Unit>,
    /// Last ISO week of the analysis (default: [fetch] last_week, else the last complete week).
    #[arg(long = "as-of", value_parser = parse_week)]
    as_of: Option<optsignal::types::IsoWeek>,
}

#[derive(Subcommand)]
enum BigqueryCommand {
    /// Print the GoogleSQL that computes the grouped counts inside BigQuery (what `recommend`
    /// runs), to read or to run in the BigQuery console.
    Sql(PushdownArgs),
    /// Dry-run the pushdown: the bytes it would process (and bill), against
    /// bigquery.maximum_bytes_billed; exit 1 when over it. Costs nothing.
    Estimate(PushdownArgs),
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
    /// Email-safe HTML.
    Html,
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
    /// Email the audit to [defaults.email] once per ISO week (also printed as usual).
    #[arg(long)]
    send: bool,
    /// With --send: send even if this week's audit was already sent.
    #[arg(long)]
    force: bool,
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
struct ExperimentArgs {
    /// TOML config file (see fixtures/experiment/optsignal.toml).
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: Option<PathBuf>,
    /// Canonical event log (CSV or JSON Lines, optionally .gz); overrides source.path.
    #[arg(short, long)]
    events: Option<PathBuf>,
    /// The log's column holding each user's variant.
    #[arg(
        long,
        conflicts_with = "variants",
        required_unless_present = "variants"
    )]
    variant_column: Option<String>,
    /// A user_id,variant CSV file instead of a log column.
    #[arg(long)]
    variants: Option<PathBuf>,
    /// First day of the test (YYYY-MM-DD, in the analysis time zone).
    #[arg(long)]
    from: jiff::civil::Date,
    /// Last day of the test, inclusive.
    #[arg(long)]
    to: jiff::civil::Date,
    /// The control variant (default: "control", else the first name in sort order).
    #[arg(long)]
    control: Option<String>,
    /// Configured split, one share per variant in name order (e.g. 50,50; default equal).
    #[arg(long, value_delimiter = ',')]
    split: Option<Vec<f64>>,
    /// The micro metric the test is read on.
    #[arg(long, default_value = "add_to_cart")]
    micro: String,
    /// The macro outcome (default: analysis.purchase_event).
    #[arg(long = "macro")]
    macro_outcome: Option<String>,
    /// Relative lift of the macro outcome the power is reported for: 10% or 0.1.
    #[arg(long, default_value = "10%", value_parser = optsignal::testplan::parse_relative)]
    mde: f64,
    /// Level of the sample-ratio-mismatch test.
    #[arg(long, default_value_t = 0.001)]
    srm_alpha: f64,
    /// Segments (device × channel) with fewer users per arm are pooled.
    #[arg(long, default_value_t = 50)]
    min_segment_users: u64,
    /// Observation unit.
    #[arg(long, value_enum)]
    unit: Option<Unit>,
    /// Stop at the first malformed row instead of skipping and counting it.
    #[arg(long)]
    strict: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: ExperimentFormat,
}

#[derive(clap::Args)]
struct AudienceArgs {
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

#[derive(Clone, Copy, ValueEnum)]
enum ExperimentFormat {
    /// Aligned text for people.
    Table,
    /// The documented JSON schema (docs/json-schema.md).
    Json,
    /// Markdown (tickets, wikis).
    Md,
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
    /// The account, in a multi-account file (its `recipients` replace `[email] to`).
    #[arg(long)]
    account: Option<String>,
    /// Judge which weeks are final (settle times) as at this time, RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    now: Option<jiff::Timestamp>,
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
    /// Analyse only events up to the end of this ISO week (e.g. 2026-W44), in the analysis time zone.
    #[arg(long = "as-of", value_parser = parse_week)]
    as_of: Option<optsignal::types::IsoWeek>,
    /// Write this run's week to the model store (also: [store] enabled = true).
    #[arg(long)]
    save: bool,
    /// Read API data (Meta, GA4, Google Ads) from a snapshot written by `optsignal pull`.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Judge which weeks are final (settle times) as at this time, RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    now: Option<jiff::Timestamp>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
}

fn parse_week(s: &str) -> Result<optsignal::types::IsoWeek, String> {
    s.parse()
}

fn parse_time(s: &str) -> Result<jiff::Timestamp, String> {
    s.parse()
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2026-11-16T07:00:00Z ({e})"))
}

impl Unit {
    fn kind(self) -> UnitKind {
        match self {
            Unit::Session => UnitKind::Session,
            Unit::User => UnitKind::User,
        }
    }
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
        // Every log line is redacted: a debug line may quote a request or a server's answer.
        .with_writer(|| optsignal::source::secret::Redacting::new(std::io::stderr()))
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
        progress: !QUIET.load(Ordering::Relaxed),
        as_of: a.as_of,
        save: a.save,
        snapshot: a.snapshot,
        now: a.now,
        ..Overrides::default()
    };
    let settings = load_settings(a.config.as_deref(), &overrides)?;
    render_report(&settings, a.format)
}

fn bigquery(c: BigqueryCommand) -> Result<(String, i32), Error> {
    let (a, estimate) = match c {
        BigqueryCommand::Sql(a) => (a, false),
        BigqueryCommand::Estimate(a) => (a, true),
    };
    let overrides = Overrides {
        account: a.account,
        candidates: a.candidates,
        unit: a.unit.map(Unit::kind),
        as_of: a.as_of,
        platforms_optional: true,
        ..Overrides::default()
    };
    let settings = load_settings(Some(&a.config), &overrides)?;
    let origin = a.config.display().to_string();
    if !estimate {
        return Ok((optsignal::pipeline::bigquery_sql(&settings, &origin)?, 0));
    }
    let (bytes, limit) = optsignal::pipeline::bigquery_estimate(&settings, &origin)?;
    let b = optsignal::source::bigquery::bytes;
    let limit = limit.map_or("no limit set (bigquery.maximum_bytes_billed)".into(), |l| {
        format!("limit {}", b(l))
    });
    Ok((
        format!(
            "the pushdown would process {} ({bytes} bytes; {limit})",
            b(bytes)
        ),
        0,
    ))
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
    let file = optsignal::config::accounts::load_file(&a.config)?;
    // An account's own mistakes make it a failed row; only the file's stop the audit.
    if let Some(e) = file.file_problems().next() {
        return Err(e.clone().into());
    }
    let audit = optsignal::audit::run(&file, a.accounts.as_deref(), a.jobs)?;
    let fail_on = match a.fail_on {
        FailOn::Warning => optsignal::audit::Severity::Warning,
        FailOn::Critical => optsignal::audit::Severity::Critical,
    };
    let text = match a.format {
        AuditFormat::Json => serde_json::to_string_pretty(&audit).unwrap_or_default(),
        AuditFormat::Md => optsignal::report::audit::render_markdown(&audit),
        AuditFormat::Html => optsignal::report::audit::render_html(&audit)
            .map_err(optsignal::deliver::DeliverError::from)?,
        AuditFormat::Table => optsignal::report::audit::render_table(&audit, style()),
    };
    let mut failed: Option<i32> = None;
    if a.send {
        use optsignal::deliver::Action;
        // The email and the alerts are independent: one failing does not stop the other.
        match optsignal::deliver::audit::send(&audit, &file, a.force) {
            Ok(Action::Sent { recipients, .. }) => {
                tracing::info!("audit sent to {}", recipients.join(", "))
            }
            Ok(Action::AlreadySent { state, sent_at }) => tracing::info!(
                "this week's audit was already sent at {sent_at} ({}); --force resends",
                state.display()
            ),
            Ok(Action::Busy { lock }) => {
                tracing::info!("another run holds {}; not sent", lock.display())
            }
            Ok(Action::Printed(_) | Action::Wrote(_) | Action::NotFinal { .. }) => {}
            Err(e) if file.defaults.email.is_none() && has_alerts(&file) => {
                tracing::info!("no [defaults.email]: the audit is not emailed ({e})")
            }
            Err(e) => {
                print_failure(&e.to_string(), e.hint());
                failed = Some(e.exit_code());
            }
        }
        let run = alert_run(a.force);
        let alerts = optsignal::deliver::alert::send_audit(&audit, &file, &run);
        failed = merge_failures(failed, &alerts);
    }
    let code = failed.unwrap_or_else(|| audit.exit_code(fail_on));
    Ok((text, code))
}

/// Whether any account of the file has an `[alerts]` section.
fn has_alerts(file: &optsignal::config::accounts::ConfigFile) -> bool {
    file.accounts.iter().any(|a| a.raw.alerts.is_some())
}

/// Alerts with the real clock and sleeper.
fn alert_run(force: bool) -> optsignal::deliver::alert::Run<'static> {
    optsignal::deliver::alert::Run {
        clock: &optsignal::deliver::alert::webhook::SystemClock,
        sleeper: &optsignal::source::http::TokioSleeper,
        force,
    }
}

/// Prints the alert failures on stderr and folds their exit codes into `failed`.
fn merge_failures(
    failed: Option<i32>,
    alerts: &optsignal::deliver::alert::AlertOutcome,
) -> Option<i32> {
    for e in &alerts.errors {
        print_failure(&e.to_string(), Some(e.hint()));
    }
    match (failed, alerts.failure()) {
        (Some(a), Some(b)) => Some(optsignal::deliver::alert::failure_code(a, b)),
        (a, b) => a.or(b),
    }
}

/// `error: ...` and `hint: ...` on stderr, redacted.
fn print_failure(message: &str, hint: Option<&str>) {
    eprintln!("error: {}", redact(message));
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
}

fn config_check(path: PathBuf) -> Result<(String, i32), Error> {
    let (file, problems) = optsignal::config::accounts::check(&path)?;
    if problems.is_empty() {
        let names: Vec<&str> = file.names.iter().map(String::as_str).collect();
        return Ok((
            format!(
                "{}: ok ({}: {})",
                path.display(),
                optsignal::format::count(names.len() as u64, "account", "accounts"),
                names.join(", ")
            ),
            0,
        ));
    }
    let mut out: Vec<String> = problems.iter().map(|p| format!("error: {p}")).collect();
    out.push(format!(
        "{} in {}",
        optsignal::format::count(problems.len() as u64, "problem", "problems"),
        path.display()
    ));
    Ok((out.join("\n"), optsignal::error::EXIT_USAGE))
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
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
        progress: !QUIET.load(Ordering::Relaxed),
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

fn experiment(a: ExperimentArgs) -> Result<String, Error> {
    use optsignal::abtest::{AssignmentFrom, ExperimentOptions};
    let data = DataArgs {
        config: a.config,
        events: a.events,
        unit: a.unit,
        strict: a.strict,
        format: Format::Table,
    };
    let settings = data_settings(&data, None)?;
    let event = |key: &str, s: &str| {
        optsignal::types::EventName::new(s).ok_or_else(|| {
            Error::from(optsignal::config::ConfigError::Invalid {
                origin: "command line".into(),
                account: None,
                key: key.into(),
                message: "an event name must not be empty".into(),
            })
        })
    };
    let options = ExperimentOptions {
        assignment: match (a.variant_column, a.variants) {
            (Some(c), _) => AssignmentFrom::Column(c),
            (None, Some(f)) => AssignmentFrom::File(f),
            (None, None) => AssignmentFrom::Column("variant".into()),
        },
        from: a.from,
        to: a.to,
        control: a.control,
        split: a.split,
        micro: event("--micro", &a.micro)?,
        macro_outcome: a.macro_outcome.map(|m| event("--macro", &m)).transpose()?,
        mde: a.mde,
        srm_alpha: a.srm_alpha,
        min_segment_users: a.min_segment_users,
    };
    let r = optsignal::abtest::run(&settings, &options)?;
    Ok(match a.format {
        ExperimentFormat::Json => to_json(&r),
        ExperimentFormat::Md => optsignal::report::experiment::render_markdown(&r),
        // Variant and event names come from the data: no control sequence reaches the terminal.
        ExperimentFormat::Table => optsignal::report::terminal::layout::finish(
            optsignal::report::experiment::render_text(&r, style()),
        ),
    })
}

fn audience(a: AudienceArgs) -> Result<String, Error> {
    let settings = data_settings(&a.data, None)?;
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
    Ok(match (a.data.format, a.md) {
        (Format::Json, _) => to_json(&c),
        (Format::Table, true) => optsignal::report::audience::render_markdown(&c),
        (Format::Table, false) => optsignal::report::audience::render_text(&c, style()),
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Colour when stdout is a terminal and `NO_COLOR` is unset; the width from the command line.
fn style() -> Style {
    let width = WIDTH.load(Ordering::Relaxed);
    Style::new(color()).with_width((width > 0).then_some(width))
}

fn render_report(settings: &optsignal::config::Settings, format: Format) -> Result<String, Error> {
    let report = optsignal::pipeline::run(settings)?;
    Ok(match format {
        Format::Json => report.to_json(),
        Format::Table => render(&report, style()),
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
        Format::Table => optsignal::report::terminal::layout::escape_text(&trail.to_table()),
    })
}

fn report(a: ReportArgs) -> Result<(String, i32), Error> {
    use optsignal::deliver::{Action, ReportJob};
    use optsignal::report::document::DocFormat;
    let overrides = Overrides {
        account: a.account,
        now: a.now,
        ..Overrides::default()
    };
    let mut settings = load_settings(Some(&a.config), &overrides)?;
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
    // A missed week's email carries the report as it would have been at the end of that week.
    let mut as_of = |week| {
        let mut s = settings.clone();
        s.as_of = Some(week);
        optsignal::pipeline::analyze(&s)
    };
    // The email and the alerts are independent: one failing does not stop the other, and
    // both show in the exit code (the worst failure wins over 5 and 3).
    let alerts_only = a.send && settings.email.is_none() && settings.alerts.is_some();
    let mut failed: Option<i32> = None;
    let mut printed = String::new();
    let mut code = 0;
    if !alerts_only {
        match optsignal::deliver::run(&report, &settings, &job, &mut as_of) {
            Ok(outcome) => {
                if !outcome.critical.is_empty() {
                    tracing::warn!("critical flags: {}", outcome.critical.join("; "));
                }
                code = outcome.exit_code();
                if let Action::Printed(s) = outcome.action {
                    printed = s;
                }
            }
            Err(e) => {
                print_failure(&e.to_string(), e.hint());
                failed = Some(e.exit_code());
            }
        }
    }
    if let (true, false, Some(alerts)) = (a.send, a.dry_run, &settings.alerts) {
        let run = alert_run(a.force);
        let mut out = optsignal::deliver::alert::AlertOutcome::default();
        optsignal::deliver::alert::send_account(
            &report,
            alerts,
            &settings.report.state_dir,
            &run,
            &mut out,
        );
        let critical = optsignal::deliver::critical_flags(&report, &settings);
        if alerts_only && !out.sent.is_empty() && !critical.is_empty() {
            tracing::warn!("critical flags: {}", critical.join("; "));
            code = optsignal::deliver::EXIT_CRITICAL;
        }
        failed = merge_failures(failed, &out);
    }
    Ok((printed, failed.unwrap_or(code)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    QUIET.store(cli.quiet, Ordering::Relaxed);
    WIDTH.store(output_width(&cli).unwrap_or(0), Ordering::Relaxed);
    let result = match cli.command {
        Command::Recommend(a) => recommend(a).map(|s| (s, 0)),
        Command::Demo(a) => demo(a).map(|s| (s, 0)),
        Command::Pull(a) => pull(a).map(|s| (s, 0)),
        Command::Bigquery(c) => bigquery(c),
        Command::Audit(a) => audit(a),
        Command::Config(ConfigCommand::Check { config }) => config_check(config),
        Command::History(a) => history(a).map(|s| (s, 0)),
        Command::Funnel(a) => funnel(a).map(|s| (s, 0)),
        Command::TestPlan(a) => test_plan(a).map(|s| (s, 0)),
        Command::Experiment(a) => experiment(a).map(|s| (s, 0)),
        Command::Audience(a) => audience(a).map(|s| (s, 0)),
        Command::Report(a) => report(a),
    };
    match result {
        Ok((out, code)) if out.is_empty() => ExitCode::from(code as u8),
        Ok((out, code)) => {
            // A closed pipe (`| head`) is not an error worth a panic or a message.
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{}", redact(&out)).and_then(|_| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write the report to stdout: {e}");
                    ExitCode::from(optsignal::error::EXIT_RUNTIME as u8)
                }
                _ => ExitCode::from(code as u8),
            }
        }
        Err(e) => {
            print_failure(&e.to_string(), e.hint());
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
