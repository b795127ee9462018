//! `optsignal report`: the weekly report, printed, written to a folder, or emailed once per
//! ISO week, with its alerts.

use std::path::PathBuf;

use clap::ValueEnum;

use optsignal::config::{load_settings, Overrides, Settings};
use optsignal::deliver::{Action, ReportJob};
use optsignal::error::Error;
use optsignal::report::document::DocFormat;

use super::common::{alert_run, merge_failures, parse_time, print_failure};
use super::{Global, Outcome};

/// The arguments of `report`.
#[derive(clap::Args)]
pub struct Args {
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

/// `report --format`.
#[derive(Clone, Copy, ValueEnum)]
enum DocFormatArg {
    /// Markdown.
    Md,
    /// Email-safe HTML.
    Html,
    /// Plain text.
    Text,
}

/// Analyses the account, then prints, writes or emails the report and sends its alerts. The
/// email and the alerts are independent: one failing does not stop the other, and both show in
/// the exit code (the worst failure wins over 5 and 3).
pub fn exec(_global: &Global, a: Args) -> Result<Outcome, Error> {
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
    let alerts_only = a.send && settings.email.is_none() && settings.alerts.is_some();
    let mut failed: Option<i32> = None;
    let mut printed = String::new();
    let mut code = 0;
    if !alerts_only {
        match deliver(&report, &settings, &job) {
            Ok((text, c)) => (printed, code) = (text, c),
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
    Ok(Outcome::with_code(printed, failed.unwrap_or(code)))
}

/// Prints, writes or emails the report as the job says; returns what to print on stdout and the
/// exit code (3 when a configured critical flag fired).
fn deliver(
    report: &optsignal::report::Report,
    settings: &Settings,
    job: &ReportJob,
) -> Result<(String, i32), Error> {
    // A missed week's email carries the report as it would have been at the end of that week.
    let mut as_of = |week| {
        let mut s = settings.clone();
        s.as_of = Some(week);
        optsignal::pipeline::analyze(&s)
    };
    let outcome = optsignal::deliver::run(report, settings, job, &mut as_of)?;
    if !outcome.critical.is_empty() {
        tracing::warn!("critical flags: {}", outcome.critical.join("; "));
    }
    let code = outcome.exit_code();
    let printed = match outcome.action {
        Action::Printed(s) => s,
        _ => String::new(),
    };
    Ok((printed, code))
}
