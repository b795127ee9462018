//! The weekly report job behind `optsignal report`: render the report (Markdown, HTML, text, with
//! the chart), write it to disk, or email it over SMTP exactly once per account and ISO week.
//!
//! The job's week is the report's last complete ISO week of data ([`report_week`]): a Monday cron
//! run on data through Sunday reports that Sunday's week, and a re-run (or a run on stale data)
//! finds the week already sent and does nothing.
//!
//! Sending, in order: take the account's lock ([`state::try_lock`]; another run holds it →
//! nothing to do), read the week's sent-state (present → nothing to do, unless forced), build
//! the message, send it, then record the week as sent atomically. A failed send records nothing,
//! so the next run retries.

pub mod audit;
pub mod message;
pub mod smtp;
pub mod state;

use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::error::{EXIT_RUNTIME, EXIT_USAGE};
use crate::report::chart::{self, ChartError};
use crate::report::document::{self, DocFormat, RenderError};
use crate::report::view::{report_week, Provenance, ReportView};
use crate::report::Report;

/// Why the report job failed; each names the file, host or key.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// `--send` or `--dry-run` without an `[email]` section.
    #[error(
        "{origin}: email: no [email] section (from, to, host) to send or build the message with"
    )]
    NoEmailConfig {
        /// The config file, or "command line".
        origin: String,
    },
    /// A credential could not be read (the message names the variable or file, not the value).
    #[error("{0}")]
    Secret(String),
    /// `email.ca_file` is missing, unreadable or holds no usable PEM certificate.
    #[error("email.ca_file {}: {detail}", path.display())]
    CaFile {
        /// The file (resolved path).
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The data have no week at all.
    #[error("the data cover no ISO week: nothing to report")]
    NoWeek,
    /// Rendering a template failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Drawing the chart failed.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// The message could not be assembled.
    #[error("cannot build the email: {0}")]
    Message(String),
    /// The SMTP server refused the credentials.
    #[error("SMTP authentication failed at {host}:{port}: {detail}")]
    Auth {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The server's reply.
        detail: String,
    },
    /// The SMTP server could not be reached, or TLS failed.
    #[error("cannot connect to SMTP server {host}:{port}: {detail}")]
    Connection {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// What failed.
        detail: String,
    },
    /// The SMTP server answered with a temporary failure (4xx: greylisting, a full queue, a rate
    /// limit): the same message may well go through later.
    #[error("SMTP server {host}:{port} could not take the message now ({code}, a temporary failure): {detail}")]
    Transient {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// SMTP reply code (4xx).
        code: u16,
        /// The server's reply.
        detail: String,
    },
    /// The SMTP server did not answer within `email.timeout_secs`.
    #[error("SMTP server {host}:{port} timed out: no answer within {secs} s (email.timeout_secs)")]
    Timeout {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The timeout in force.
        secs: u64,
    },
    /// The connection was open, then closed before the server confirmed the message.
    #[error("the connection to SMTP server {host}:{port} dropped before the server confirmed the message: {detail}")]
    Dropped {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// What the client saw.
        detail: String,
    },
    /// The SMTP server refused the sender, a recipient or the message.
    #[error("SMTP server {host}:{port} refused the message ({code}): {detail}")]
    Refused {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// SMTP reply code.
        code: u16,
        /// The server's reply (names the refused recipient when the server does).
        detail: String,
    },
    /// The lock or sent-state file could not be read or written.
    #[error("state file {path}: {source}")]
    State {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A sent-state file is not what optsignal writes.
    #[error("state file {path} is unreadable ({message}); move it away to resend this week")]
    StateCorrupt {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Writing a report file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl DeliverError {
    /// The documented exit code: 2 for configuration problems (missing `[email]`, unreadable
    /// secret or CA file), 1 for everything that happens at run time.
    pub fn exit_code(&self) -> i32 {
        match self {
            DeliverError::NoEmailConfig { .. }
            | DeliverError::Secret(_)
            | DeliverError::CaFile { .. } => EXIT_USAGE,
            _ => EXIT_RUNTIME,
        }
    }

    /// A hint of what to do, when there is an obvious one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            DeliverError::Auth { .. } => Some("check the user name and the password source (email.username / username_env, password_env / password_file); the week is not marked sent, so the next run retries"),
            DeliverError::Connection { .. } => Some("check email.host, email.port and email.security (starttls: 587, tls: 465, plain: 25); the week is not marked sent, so the next run retries"),
            DeliverError::Refused { .. } => Some("check email.from and email.to; the week is not marked sent, so the next run retries"),
            DeliverError::Transient { .. } => Some("a temporary refusal: try again later (the week is not marked sent, so the next run retries)"),
            DeliverError::Timeout { .. } => Some("the server or the network is slow, or a firewall drops the packets: check email.host and email.port, or raise email.timeout_secs; the week is not marked sent, so the next run retries"),
            DeliverError::Dropped { .. } => Some("the server or something between closed the connection mid-message (a size limit, a content filter, a restart): try again later and check the server's log; the week is not marked sent, so the next run retries"),
            DeliverError::CaFile { .. } => Some("email.ca_file names a PEM file (relative to the config file) with the CA certificate(s) that signed the SMTP server's certificate"),
            DeliverError::NoEmailConfig { .. } => Some("add an [email] section; see the README's \"Weekly report by email\""),
            _ => None,
        }
    }
}

/// Exit code when the report was produced and a configured critical flag fired.
pub const EXIT_CRITICAL: i32 = 3;

/// What `optsignal report` was asked to do.
#[derive(Debug, Clone)]
pub struct ReportJob {
    /// The config file the settings came from (its bytes are hashed into the footer).
    pub config_path: Option<PathBuf>,
    /// Document format for stdout or `--out`.
    pub format: DocFormat,
    /// Folder to write the report (and chart, or the .eml with `dry_run`) into.
    pub out: Option<PathBuf>,
    /// Email the report.
    pub send: bool,
    /// Build the email but write it as .eml instead of sending; touches no state.
    pub dry_run: bool,
    /// Send even when this week was already sent.
    pub force: bool,
}

/// What the job did.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The document, for stdout.
    Printed(String),
    /// Files written.
    Wrote(Vec<PathBuf>),
    /// The email was sent, and recorded in this state file.
    Sent {
        /// The sent-state file.
        state: PathBuf,
        /// Recipients.
        recipients: Vec<String>,
    },
    /// This week was already sent (state file); nothing sent.
    AlreadySent {
        /// The sent-state file.
        state: PathBuf,
        /// When it was sent.
        sent_at: String,
    },
    /// Another run holds the lock; nothing sent.
    Busy {
        /// The lock file.
        lock: PathBuf,
    },
}

/// The job's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report's week.
    pub week: Option<crate::types::IsoWeek>,
    /// What happened.
    pub action: Action,
    /// Critical flags that fired (`event kind`), when the report was produced.
    pub critical: Vec<String>,
}

impl Outcome {
    /// The documented exit code of a successful job: 3 when a critical flag fired and the
    /// report went out (or was written), else 0.
    pub fn exit_code(&self) -> i32 {
        let produced = !matches!(
            self.action,
            Action::AlreadySent { .. } | Action::Busy { .. }
        );
        if produced && !self.critical.is_empty() {
            EXIT_CRITICAL
        } else {
            0
        }
    }
}

/// Lowercase hex SHA-256 of a file's bytes (aws-lc-rs, the TLS stack's own digest).
pub fn sha256_file(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    Some(d.as_ref().iter().map(|b| format!("{b:02x}")).collect())
}

fn provenance(job: &ReportJob) -> Provenance {
    Provenance {
        config_file: job
            .config_path
            .as_ref()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
        config_sha256: job.config_path.as_deref().and_then(sha256_file),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), DeliverError> {
    state::write_atomic(path, bytes).map_err(|source| DeliverError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The critical flags that fired, as `event kind`.
pub fn critical_flags(report: &Report, settings: &Settings) -> Vec<String> {
    report
        .proxies
        .iter()
        .flat_map(|p| {
            p.flags
                .iter()
                .filter(|f| settings.report.critical_flags.contains(&f.kind))
                .map(move |f| format!("{} {}", p.event, f.kind.name()))
        })
        .collect()
}

/// Builds the email for a report: subject, text, HTML with the inline chart.
pub fn build_email(
    report: &Report,
    settings: &Settings,
    prov: &Provenance,
    origin: &str,
) -> Result<lettre::Message, DeliverError> {
    let email = settings
        .email
        .as_ref()
        .ok_or_else(|| DeliverError::NoEmailConfig {
            origin: origin.to_string(),
        })?;
    let png = chart::render_png(report)?;
    let view = ReportView::new(
        report,
        prov,
        png.as_ref().map(|_| format!("cid:{}", message::CHART_CID)),
    );
    let parts = message::EmailParts {
        subject: document::render_line(&email.subject, &view)?,
        text: document::render(&view, DocFormat::Text)?,
        html: document::render(&view, DocFormat::Html)?,
        chart_png: png,
    };
    message::build(email, parts)
}

/// Runs the report job on an analysed report.
pub fn run(report: &Report, settings: &Settings, job: &ReportJob) -> Result<Outcome, DeliverError> {
    let week = report_week(report);
    let prov = provenance(job);
    let critical = critical_flags(report, settings);
    let slug = state::slug(&report.account);
    let stem = match week {
        Some(w) => format!("{slug}-{w}"),
        None => slug.clone(),
    };
    let origin = job
        .config_path
        .as_ref()
        .map_or_else(|| "command line".to_string(), |p| p.display().to_string());
    let done = |action| Outcome {
        week,
        action,
        critical: critical.clone(),
    };

    if job.dry_run {
        let msg = build_email(report, settings, &prov, &origin)?;
        let bytes = msg.formatted();
        return Ok(done(match &job.out {
            Some(dir) => {
                let path = dir.join(format!("{stem}.eml"));
                write_file(&path, &bytes)?;
                tracing::info!("dry run: wrote {} instead of sending", path.display());
                Action::Wrote(vec![path])
            }
            None => Action::Printed(String::from_utf8_lossy(&bytes).into_owned()),
        }));
    }

    if !job.send {
        let png = chart::render_png(report)?;
        return Ok(done(match &job.out {
            Some(dir) => {
                let mut files = Vec::new();
                let chart_name = format!("{stem}-chart.png");
                let src = match (&png, job.format) {
                    (Some(bytes), DocFormat::Markdown | DocFormat::Html) => {
                        let p = dir.join(&chart_name);
                        write_file(&p, bytes)?;
                        files.push(p);
                        Some(chart_name)
                    }
                    _ => None,
                };
                let view = ReportView::new(report, &prov, src);
                let path = dir.join(format!("{stem}.{}", job.format.extension()));
                write_file(&path, document::render(&view, job.format)?.as_bytes())?;
                files.insert(0, path);
                Action::Wrote(files)
            }
            None => {
                // On stdout there is nowhere to put an image: no chart reference.
                let view = ReportView::new(report, &prov, None);
                Action::Printed(document::render(&view, job.format)?)
            }
        }));
    }

    let email = settings
        .email
        .as_ref()
        .ok_or_else(|| DeliverError::NoEmailConfig {
            origin: origin.clone(),
        })?;
    let week = week.ok_or(DeliverError::NoWeek)?;
    let dir = &settings.report.state_dir;
    let Some(lock) = state::try_lock(dir, &report.account)? else {
        let lock = dir.join(format!("{slug}.lock"));
        tracing::info!(
            "another optsignal report run holds {}; nothing to do",
            lock.display()
        );
        return Ok(done(Action::Busy { lock }));
    };
    let state_file = state::state_path(dir, &report.account, week);
    if let Some(prev) = state::read_sent(&state_file)? {
        if !job.force {
            tracing::info!(
                "{week} already sent to {} at {} ({}); nothing to do (--force resends)",
                prev.recipients.join(", "),
                prev.sent_at,
                state_file.display()
            );
            return Ok(done(Action::AlreadySent {
                state: state_file,
                sent_at: prev.sent_at,
            }));
        }
        tracing::info!(
            "{week} already sent at {}; resending (--force)",
            prev.sent_at
        );
    }
    let msg = build_email(report, settings, &prov, &origin)?;
    if let Some(dir) = &job.out {
        write_file(&dir.join(format!("{stem}.eml")), &msg.formatted())?;
    }
    let message_id = msg
        .headers()
        .get_raw("Message-ID")
        .unwrap_or_default()
        .to_string();
    tracing::info!(
        "sending {week} to {} via {}:{}",
        email.to.len(),
        email.host,
        email.port
    );
    smtp::send(email, &msg)?;
    let recipients: Vec<String> = email.to.iter().map(|m| m.email.to_string()).collect();
    let record = state::SentRecord {
        account: report.account.clone(),
        week,
        sent_at: jiff::Timestamp::now().to_string(),
        message_id,
        recipients: recipients.clone(),
        config_sha256: prov.config_sha256.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    state::write_sent(&state_file, &record)?;
    drop(lock);
    tracing::info!("sent {week}; recorded in {}", state_file.display());
    Ok(done(Action::Sent {
        state: state_file,
        recipients,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_test_vector() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(sha256_file(&dir.path().join("missing")).is_none());
    }
}
