//! Alerts: `report --send` and `audit --send` tell Slack and JSON webhooks (`[alerts]`) about
//! the findings of an account's latest final week — a broken-proxy flag, a tracking break, a
//! recommendation change — once per account, ISO week, target and finding.
//!
//! Per account, in order: the week must be final (complete and settled, as for the email); take
//! the account's lock (another run holds it → nothing to do); read the alert state
//! ([`state`]); per target, the findings it wants that it was not sent yet go out in one
//! message, and once the target took it they are recorded atomically. A target that fails is
//! not recorded (the next run sends again) and does not stop the others; a target that took a
//! message whose state could not be written is reported as [`AlertError::SentNotRecorded`]
//! (exit 4, as for the email). Alerts and the email are independent: neither's failure stops
//! the other, and both show in the exit code ([`failure_code`]).

pub mod body;
pub mod finding;
pub mod state;
pub mod webhook;

use std::path::{Path, PathBuf};

use crate::config::alerts::{AlertSettings, Target, TargetKind, MAX_BACKOFF};
use crate::error::{EXIT_RUNTIME, EXIT_USAGE};
use crate::report::view::report_week;
use crate::report::Report;
use crate::source::http::Sleeper;
use crate::types::IsoWeek;

use super::EXIT_SENT_UNRECORDED;
use body::Alert;
use finding::Finding;
use webhook::{Clock, Patience, PostError};

/// Why an alert was not sent (or not recorded), naming the account and target, never a URL.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The target's URL or token could not be read (names the variable or file).
    #[error("account {account:?}: {source}")]
    Secret {
        /// Account.
        account: String,
        /// The reader's message.
        source: crate::secret::SecretError,
    },
    /// The target did not take the message.
    #[error("account {account:?}: {source}")]
    Post {
        /// Account.
        account: String,
        /// What failed.
        source: PostError,
    },
    /// The alert state could not be read or written before sending.
    #[error("account {account:?}: {source}")]
    State {
        /// Account.
        account: String,
        /// What failed.
        source: state::StateError,
    },
    /// The HTTP client or its runtime could not be built.
    #[error("alerts: {0}")]
    Client(String),
    /// The target took the message, but the state could not be written: a re-run would send
    /// these findings again.
    #[error("account {account:?}: the {week} alert WAS SENT to {target:?}, but the alert state could not be written ({source}): a re-run would send it again")]
    SentNotRecorded {
        /// Account.
        account: String,
        /// Week.
        week: IsoWeek,
        /// Target name.
        target: String,
        /// What failed.
        source: state::StateError,
    },
}

impl AlertError {
    /// The documented exit code: 2 for an unreadable URL or token, 4 when a sent alert could
    /// not be recorded, else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            AlertError::Secret { .. } => EXIT_USAGE,
            AlertError::SentNotRecorded { .. } => EXIT_SENT_UNRECORDED,
            _ => EXIT_RUNTIME,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            AlertError::Secret { .. } => "set the variable or create the file named by url_env / url_file (token_env / token_file) in [[alerts.targets]]; nothing was sent to this target",
            AlertError::Post { source: PostError::Refused { .. }, .. } => "the target refused the message: check the webhook (Slack: the app, the channel and that the URL is current); the findings are not marked sent, so the next run retries",
            AlertError::SentNotRecorded { .. } => "make report.state_dir writable (or free space on its disk) before the next run, or it sends these findings again",
            _ => "the findings are not marked sent, so the next run retries",
        }
    }
}

/// The most severe of two failure exit codes: 4 (sent but not recorded), then 2
/// (configuration), then 1 (runtime). Success codes (0, 3, 5) rank below every failure.
pub fn failure_code(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        EXIT_SENT_UNRECORDED => 3,
        EXIT_USAGE => 2,
        EXIT_RUNTIME => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// One message a target took.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// Account.
    pub account: String,
    /// Week.
    pub week: IsoWeek,
    /// Target name.
    pub target: String,
    /// The findings it carried.
    pub findings: Vec<String>,
    /// Attempts it took.
    pub attempts: u32,
}

/// What an alert run did.
#[derive(Debug, Default)]
pub struct AlertOutcome {
    /// Messages sent and recorded.
    pub sent: Vec<Sent>,
    /// Why accounts were passed over (not final, lock held, nothing new), for `-v`.
    pub skipped: Vec<String>,
    /// Failures, each for one account and target.
    pub errors: Vec<AlertError>,
}

impl AlertOutcome {
    /// The worst failure's exit code, when something failed.
    pub fn failure(&self) -> Option<i32> {
        self.errors
            .iter()
            .map(AlertError::exit_code)
            .reduce(failure_code)
    }

    fn skip(&mut self, why: String) {
        tracing::info!("alerts: {why}");
        self.skipped.push(why);
    }
}

/// The injected clock and sleeper, and `--force`.
pub struct Run<'a> {
    /// Judges `Retry-After` dates and stamps `sent_at`.
    pub clock: &'a dyn Clock,
    /// Waits between attempts.
    pub sleeper: &'a dyn Sleeper,
    /// Send this week's findings again, even those already sent.
    pub force: bool,
}

/// Sends the alerts of one account's report (`report --send`, and each account of
/// `audit --send`) into `out`.
pub fn send_account(
    report: &Report,
    alerts: &AlertSettings,
    state_dir: &Path,
    run: &Run,
    out: &mut AlertOutcome,
) {
    let account = report.account.as_str();
    let Some(week) = report_week(report) else {
        out.skip(format!("{account:?}: the data cover no week"));
        return;
    };
    if !super::final_weeks(report).contains(&week) {
        out.skip(format!("{account:?}: {week} is not final yet (partial or settling); only final weeks are alerted"));
        return;
    }
    let all = finding::findings(report);
    if all.is_empty() {
        out.skip(format!("{account:?}: no findings in {week}"));
        return;
    }
    let lock = match super::state::try_lock(state_dir, account) {
        Ok(Some(l)) => l,
        Ok(None) => {
            out.skip(format!("{account:?}: another optsignal run holds the lock"));
            return;
        }
        Err(e) => {
            out.errors.push(AlertError::Client(e.to_string()));
            return;
        }
    };
    let mut st = match state::read(state_dir, account, week) {
        Ok(s) => s,
        Err(source) => {
            out.errors.push(AlertError::State {
                account: account.to_string(),
                source,
            });
            return;
        }
    };
    let client = match client(alerts) {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(e);
            return;
        }
    };
    for target in &alerts.targets {
        let new: Vec<&Finding> = all
            .iter()
            .filter(|f| target.findings.contains(&f.what))
            .filter(|f| run.force || !st.was_sent(&target.name, &f.id))
            .collect();
        if new.is_empty() {
            out.skip(format!(
                "{account:?} {week}: nothing new for {:?}",
                target.name
            ));
            continue;
        }
        let alert = alert_for(report, week, target, alerts, new);
        match send_target(&client, target, &alert, alerts, run) {
            Ok(attempts) => {
                let ids: Vec<String> = alert.findings.iter().map(|f| f.id.clone()).collect();
                st.record(&target.name, &ids, &run.clock.now().to_string());
                if let Err(source) = state::write(state_dir, &st) {
                    out.errors.push(AlertError::SentNotRecorded {
                        account: account.to_string(),
                        week,
                        target: target.name.clone(),
                        source,
                    });
                    continue;
                }
                tracing::info!(
                    "alerts: {account:?} {week}: sent {} to {:?}",
                    ids.join(", "),
                    target.name
                );
                out.sent.push(Sent {
                    account: account.to_string(),
                    week,
                    target: target.name.clone(),
                    findings: ids,
                    attempts,
                });
            }
            Err(e) => out.errors.push(e),
        }
    }
    drop(lock);
}

/// The HTTP client of an alert run.
fn client(alerts: &AlertSettings) -> Result<reqwest::Client, AlertError> {
    reqwest::Client::builder()
        .timeout(alerts.timeout)
        .connect_timeout(alerts.timeout)
        .user_agent(concat!("optsignal/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            AlertError::Client(format!("cannot build the HTTP client: {}", e.without_url()))
        })
}

/// The alert of one account's new findings for one target.
fn alert_for(
    report: &Report,
    week: IsoWeek,
    target: &Target,
    alerts: &AlertSettings,
    new: Vec<&Finding>,
) -> Alert {
    let account = report.account.as_str();
    Alert {
        schema: body::WEBHOOK_SCHEMA,
        account: account.to_string(),
        week: week.to_string(),
        target: target.name.clone(),
        headline: new.first().map_or(String::new(), |f| f.message.clone()),
        report_url: alerts.report_url.as_deref().and_then(|t| {
            crate::config::alerts::render_report_url(t, account, &week.to_string()).ok()
        }),
        findings: new.into_iter().cloned().collect(),
        tool: crate::report::Tool {
            name: "optsignal",
            version: env!("CARGO_PKG_VERSION"),
        },
    }
}

/// Reads the target's secrets, builds its body and posts it.
fn send_target(
    client: &reqwest::Client,
    target: &Target,
    alert: &Alert,
    alerts: &AlertSettings,
    run: &Run,
) -> Result<u32, AlertError> {
    let secret = |e| AlertError::Secret {
        account: alert.account.clone(),
        source: e,
    };
    let what = format!("{}.url", target.key);
    let url = target.url.load(&what).map_err(secret)?;
    let token = match &target.token {
        Some(t) => Some(t.load(&format!("{}.token", target.key)).map_err(secret)?),
        None => None,
    };
    let body = match target.kind {
        TargetKind::Slack => body::slack(alert),
        TargetKind::Webhook => body::webhook(alert),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let patience = Patience {
        retries: alerts.retries,
        backoff: alerts.backoff,
        max_backoff: MAX_BACKOFF,
        max_wait: alerts.max_wait,
    };
    let posted = crate::source::http::block_on(webhook::post(
        client,
        &target.name,
        &url,
        token.as_ref(),
        &bytes,
        patience,
        run.clock,
        run.sleeper,
    ))
    .map_err(AlertError::Client)?;
    posted.map_err(|source| AlertError::Post {
        account: alert.account.clone(),
        source,
    })
}

/// Every account of an audit: its own `[alerts]` (inherited from `[defaults]`) and state
/// folder, with the report the audit made. Accounts that failed or have no `[alerts]` are
/// passed over.
pub fn send_audit(
    audit: &crate::audit::Audit,
    file: &crate::config::accounts::ConfigFile,
    run: &Run,
) -> AlertOutcome {
    let mut out = AlertOutcome::default();
    let origin = file.path.display().to_string();
    let base = file.base_dir();
    for acc in &audit.accounts {
        let Some(report) = &acc.report else { continue };
        let Some(raw) = file.accounts.iter().find(|a| a.name == acc.account) else {
            continue;
        };
        let name = file.multi.then_some(acc.account.as_str());
        let Ok(settings) = crate::config::Settings::validate(&raw.raw, &origin, name, &base) else {
            continue;
        };
        if let Some(alerts) = &settings.alerts {
            send_account(report, alerts, &settings.report.state_dir, run, &mut out);
        }
    }
    out
}

/// The alert state file of an account and week (for messages and tests).
pub fn state_file(dir: &Path, account: &str, week: IsoWeek) -> PathBuf {
    state::path(dir, account, week)
}
