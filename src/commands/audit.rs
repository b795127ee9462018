//! `optsignal audit`: every account of a config file in one roll-up, failures isolated.

use std::path::PathBuf;

use clap::ValueEnum;

use optsignal::config::accounts::ConfigFile;
use optsignal::error::Error;

use super::common::{alert_run, merge_failures, print_failure};
use super::{Global, Outcome};

/// `audit --format`.
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

/// `audit --fail-on`.
#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    /// Exit 3 on any warning or critical finding.
    Warning,
    /// Exit 3 on a critical finding only.
    Critical,
}

/// The arguments of `audit`.
#[derive(clap::Args)]
pub struct Args {
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

/// Audits the accounts, renders the roll-up and, with `--send`, emails and alerts it; the exit
/// code is the worst sending failure, else 3 when a finding reaches `--fail-on`.
pub fn exec(global: &Global, a: Args) -> Result<Outcome, Error> {
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
        AuditFormat::Table => optsignal::report::audit::render_table(&audit, global.style()),
    };
    let failed = if a.send {
        send(&audit, &file, a.force)
    } else {
        None
    };
    let code = failed.unwrap_or_else(|| audit.exit_code(fail_on));
    Ok(Outcome::with_code(text, code))
}

/// Emails the audit and sends its alerts; the email and the alerts are independent, one failing
/// does not stop the other. Returns the exit code of the worst failure, if any.
fn send(audit: &optsignal::audit::Audit, file: &ConfigFile, force: bool) -> Option<i32> {
    use optsignal::deliver::Action;
    let mut failed: Option<i32> = None;
    match optsignal::deliver::audit::send(audit, file, force) {
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
        Err(e) if file.defaults.email.is_none() && has_alerts(file) => {
            tracing::info!("no [defaults.email]: the audit is not emailed ({e})")
        }
        Err(e) => {
            print_failure(&e.to_string(), e.hint());
            failed = Some(e.exit_code());
        }
    }
    let run = alert_run(force);
    let alerts = optsignal::deliver::alert::send_audit(audit, file, &run);
    merge_failures(failed, &alerts)
}

/// Whether any account of the file has an `[alerts]` section.
fn has_alerts(file: &ConfigFile) -> bool {
    file.accounts.iter().any(|a| a.raw.alerts.is_some())
}
