//! Config-driven audits: every account of one config file analysed concurrently (bounded), one
//! roll-up, failures isolated per account, findings graded by severity.
//!
//! Severity rules (documented in `docs/audit.md`):
//! - **critical**: a platform bids today on a flagged proxy (`broken_surge`, `not_predictive`,
//!   `leaky`, `tracking_break`), or on an event that cannot clear its floor while another eligible
//!   event could;
//! - **warning**: the recommendation differs from today's event; today's event cannot be verified
//!   (`insufficient_data`, or not measured); nothing clears the floor; data gaps (more than 1% of
//!   rows skipped, empty weeks, no complete week);
//! - **info**: everything else worth saying (a broken proxy nobody bids on, today's event unknown).

use std::io::IsTerminal;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::config::accounts::ConfigFile;
use crate::config::{ConfigError, Settings};
use crate::flags::FlagKind;
use crate::format::percent;
use crate::platform::PlatformId;
use crate::report::Report;
use crate::types::EventName;
pub use crate::types::Severity;

/// One thing an audit found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// The platform concerned, if any.
    pub platform: Option<PlatformId>,
    /// A short machine-readable kind (`bidding_on_flagged_proxy`, ...).
    pub kind: &'static str,
    /// One sentence for people, with numbers.
    pub message: String,
}

/// One row of the roll-up: an account's platform.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformRow {
    /// The platform.
    pub platform: PlatformId,
    /// What it optimizes on today (from config).
    pub optimizing_today: Option<EventName>,
    /// What it should optimize on.
    pub recommended: Option<EventName>,
    /// Whether a change is needed (when today's event is known).
    pub change_needed: Option<bool>,
    /// Proxies carrying a disqualifying flag.
    pub broken_proxies: Vec<EventName>,
    /// P(a floor window of today's event does not clear): the learning-limited risk.
    pub learning_limited_risk: Option<f64>,
    /// The worst finding for this platform.
    pub severity: Severity,
}

/// The audit of one account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountAudit {
    /// Account name.
    pub account: String,
    /// `ok` or `failed`.
    pub status: &'static str,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Worst finding (none for a failed account).
    pub severity: Option<Severity>,
    /// Roll-up rows.
    pub platforms: Vec<PlatformRow>,
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// The full report.
    pub report: Option<Report>,
}

/// The audit of a whole config file.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// The config file.
    pub config: String,
    /// Accounts in file order.
    pub accounts: Vec<AccountAudit>,
    /// The worst finding over all accounts.
    pub worst: Option<Severity>,
    /// Accounts that could not be analysed.
    pub failed: usize,
}

/// Exit code when a finding reaches the `--fail-on` level.
pub const EXIT_FINDING: i32 = 3;

impl Audit {
    /// The documented exit code: 3 when a finding reaches `fail_on`, else 1 when an account
    /// failed, else 0.
    pub fn exit_code(&self, fail_on: Severity) -> i32 {
        if self.worst.is_some_and(|w| w >= fail_on) {
            EXIT_FINDING
        } else if self.failed > 0 {
            crate::error::EXIT_RUNTIME
        } else {
            0
        }
    }
}

/// Grades one account's report.
pub fn assess(report: &Report) -> (Vec<PlatformRow>, Vec<Finding>) {
    let broken: Vec<EventName> = report
        .proxies
        .iter()
        .filter(|p| p.flags.iter().any(|f| f.kind != FlagKind::InsufficientData))
        .map(|p| p.event.clone())
        .collect();
    let mut rows = Vec::new();
    let mut findings = Vec::new();
    for rec in &report.recommendations {
        let (row, here) = grade_platform(report, rec, &broken);
        rows.push(row);
        findings.extend(here);
    }
    findings.extend(unused_broken(report, &broken));
    findings.extend(data_findings(report));
    findings.extend(report.conversion_goals.iter().map(|g| Finding {
        severity: g.severity,
        platform: Some(g.platform),
        kind: g.kind,
        message: format!(
            "{}: {} Fix: {}",
            g.platform.display_name(),
            g.message,
            g.fix
        ),
    }));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    (rows, findings)
}

/// One platform's roll-up row and findings: today's event against its flags and floor.
fn grade_platform(
    report: &Report,
    rec: &crate::advise::Recommendation,
    broken: &[EventName],
) -> (PlatformRow, Vec<Finding>) {
    let mut here: Vec<Finding> = Vec::new();
    let at = |severity, kind, message: String| Finding {
        severity,
        platform: Some(rec.platform),
        kind,
        message,
    };
    let name = rec.platform.display_name();
    let today_check = rec
        .optimizing_on
        .as_ref()
        .and_then(|t| rec.checks.iter().find(|c| &c.event == t));
    match &rec.optimizing_on {
        None => here.push(at(Severity::Info, "today_unknown", format!("{name}: today's optimization event is not configured (optimizing_on); the audit cannot grade it"))),
        Some(today) => {
            let proxy = report.proxies.iter().find(|p| &p.event == today);
            let bad: Vec<&str> = proxy
                .map(|p| p.flags.iter().filter(|f| f.kind != FlagKind::InsufficientData).map(|f| f.kind.name()).collect())
                .unwrap_or_default();
            if !bad.is_empty() {
                here.push(at(Severity::Critical, "bidding_on_flagged_proxy", format!("{name} bids on {today}, which is flagged {}", bad.join(", "))));
            } else if proxy.is_some_and(|p| p.has(FlagKind::InsufficientData)) {
                here.push(at(Severity::Warning, "today_unverified", format!("{name} bids on {today}, which has too little data to verify")));
            }
            if proxy.is_none() && today.as_str() != purchase_name(report) {
                here.push(at(Severity::Warning, "today_not_measured", format!("{name} bids on {today}, which is not among the measured candidates; add it to analysis.candidates")));
            }
            if let Some(c) = today_check.filter(|c| !c.clears && rec.event.as_ref() != Some(today)) {
                // Learning-limited either way: a clearing event exists, or nothing useful
                // clears and the fix is consolidation or a deeper event (the reason says).
                let instead = rec.event.as_ref().map_or(
                    "and nothing useful clears either: consolidate or add a deeper event".to_string(),
                    |e| format!("while {e} would clear"),
                );
                here.push(at(Severity::Critical, "learning_limited", format!(
                    "{name} bids on {today}: {:.1} per {} per week against a floor of {}, clears only {} of windows, {instead}",
                    c.per_unit_weekly, rec.floor.unit.noun(1.0), rec.floor.events, percent(c.clearance)
                )));
            }
            if rec.change_needed == Some(true) && here.iter().all(|f| f.severity < Severity::Critical) {
                let to = rec.event.as_ref().map_or("nothing that clears".into(), |e| e.to_string());
                here.push(at(Severity::Warning, "change_recommended", format!("{name}: switch from {today} to {to}")));
            }
        }
    }
    if rec.event.is_none() {
        here.push(at(
            Severity::Warning,
            "nothing_clears",
            format!("{name}: {}", rec.reason),
        ));
    }
    let severity = here
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Info);
    let row = PlatformRow {
        platform: rec.platform,
        optimizing_today: rec.optimizing_on.clone(),
        recommended: rec.event.clone(),
        change_needed: rec.change_needed,
        broken_proxies: broken.to_vec(),
        learning_limited_risk: today_check.map(|c| 1.0 - c.clearance),
        severity,
    };
    (row, here)
}

/// Flagged proxies that no platform bids on (info).
fn unused_broken(report: &Report, broken: &[EventName]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for p in broken {
        let used = report
            .recommendations
            .iter()
            .any(|r| r.optimizing_on.as_ref() == Some(p));
        if !used {
            let kinds: Vec<&str> = report
                .proxies
                .iter()
                .filter(|x| &x.event == p)
                .flat_map(|x| x.flags.iter().map(|f| f.kind.name()))
                .collect();
            findings.push(Finding {
                severity: Severity::Info,
                platform: None,
                kind: "broken_proxy_unused",
                message: format!(
                    "{p} is flagged {} (no platform bids on it)",
                    kinds.join(", ")
                ),
            });
        }
    }
    findings
}

/// Findings about the data rather than a platform: skipped rows, no complete week, empty weeks.
fn data_findings(report: &Report) -> Vec<Finding> {
    let mut findings = Vec::new();
    let i = &report.input;
    let skipped: u64 = i.rows_skipped.values().map(|t| t.count).sum();
    if i.rows_read > 0 && skipped * 100 > i.rows_read {
        findings.push(Finding {
            severity: Severity::Warning,
            platform: None,
            kind: "rows_skipped",
            message: format!(
                "{skipped} of {} skipped ({})",
                crate::format::count(i.rows_read, "row", "rows"),
                percent(skipped as f64 / i.rows_read as f64)
            ),
        });
    }
    if i.complete_weeks.is_empty() {
        findings.push(Finding {
            severity: Severity::Warning,
            platform: None,
            kind: "no_complete_week",
            message: "the data cover no complete ISO week: floors cannot be checked".into(),
        });
    }
    let empty = report.weekly.iter().filter(|w| w.units == 0).count();
    if empty > 0 {
        findings.push(Finding {
            severity: Severity::Warning,
            platform: None,
            kind: "empty_weeks",
            message: format!(
                "{} without any event inside the data span",
                crate::format::count(empty as u64, "week", "weeks")
            ),
        });
    }
    findings
}

fn purchase_name(report: &Report) -> &str {
    report
        .recommendations
        .first()
        .and_then(|r| r.checks.first())
        .map_or("purchase", |c| c.event.as_str())
}

/// Runs every selected account, at most `jobs` at a time; one account's failure (bad data, even a
/// panic) becomes its failed row while the others complete. A progress bar is drawn on stderr
/// when it is a terminal.
pub fn run(
    file: &ConfigFile,
    select: Option<&[String]>,
    jobs: usize,
) -> Result<Audit, crate::config::ConfigError> {
    let base = file.base_dir();
    let origin = file.path.display().to_string();
    if let Some(names) = select {
        for n in names {
            if !file.names.contains(n) {
                let all: Vec<&str> = file.names.iter().map(String::as_str).collect();
                return Err(crate::config::ConfigError::Invalid {
                    origin,
                    account: Some(n.clone()),
                    key: "--accounts".into(),
                    message: format!("no such account; the file has: {}", all.join(", ")),
                });
            }
        }
    }
    let chosen: Vec<&String> = file
        .names
        .iter()
        .filter(|n| select.is_none_or(|s| s.contains(n)))
        .collect();
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(chosen.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} accounts  {msg}")
        {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<AccountAudit>>> =
        chosen.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, chosen.len().max(1)) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(name) = chosen.get(k) else { break };
                bar.set_message(name.to_string());
                let outcome =
                    catch_unwind(AssertUnwindSafe(|| audit_one(file, name, &origin, &base)))
                        .unwrap_or_else(|_| {
                            failed(
                        name,
                        "internal error while analysing this account (a bug: please report it)"
                            .into(),
                    )
                        });
                if let Ok(mut slot) = results[k].lock() {
                    *slot = Some(outcome);
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let accounts: Vec<AccountAudit> = results
        .into_iter()
        .zip(&chosen)
        .map(|(m, name)| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| failed(name, "not run".into()))
        })
        .collect();
    let worst = accounts.iter().filter_map(|a| a.severity).max();
    let failed_n = accounts.iter().filter(|a| a.status == "failed").count();
    Ok(Audit {
        config: file.path.display().to_string(),
        accounts,
        worst,
        failed: failed_n,
    })
}

fn failed(name: &str, error: String) -> AccountAudit {
    AccountAudit {
        account: name.to_string(),
        status: "failed",
        error: Some(error),
        severity: None,
        platforms: Vec::new(),
        findings: Vec::new(),
        report: None,
    }
}

/// One account's row: its config problems (the file's own, or found by validation) make it a
/// failed row without running it, like a log it cannot read.
fn audit_one(file: &ConfigFile, name: &str, origin: &str, base: &std::path::Path) -> AccountAudit {
    let problems = |errs: Vec<ConfigError>| {
        let text: Vec<String> = errs
            .into_iter()
            .map(|e| file.blame(e).to_string())
            .collect();
        failed(name, text.join("; "))
    };
    let own: Vec<ConfigError> = file.account_problems(name).cloned().collect();
    let raw = file
        .accounts
        .iter()
        .find(|a| a.name == name)
        .map(|a| &a.raw);
    let raw = match raw {
        Some(raw) if own.is_empty() => raw,
        _ if !own.is_empty() => return problems(own),
        _ => return failed(name, "its settings could not be read".into()),
    };
    let settings = match Settings::validate(raw, origin, Some(name), base) {
        Ok(s) => {
            crate::config::secrets::register_configured(&s);
            s
        }
        Err(errs) => return problems(errs),
    };
    match crate::pipeline::analyze(&settings) {
        Ok(report) => {
            let (platforms, findings) = assess(&report);
            let severity = Some(
                findings
                    .iter()
                    .map(|f| f.severity)
                    .max()
                    .unwrap_or(Severity::Info),
            );
            AccountAudit {
                account: name.to_string(),
                status: "ok",
                error: None,
                severity,
                platforms,
                findings,
                report: Some(report),
            }
        }
        Err(e) => failed(name, e.to_string()),
    }
}
