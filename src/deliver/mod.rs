//! The weekly report job behind `optsignal report`: render the report (Markdown, HTML, text, with
//! the chart), write it to disk, or email it over SMTP exactly once per account and ISO week.
//!
//! **Which week is sent.** Only *final* weeks are emailed as final and recorded as sent: weeks
//! the data cover whole (not partial) and whose settle time has passed ([`crate::settle`]; late
//! data may change a week until then, and it is reported as provisional). A Monday cron run on
//! data through Sunday sends the latest final week; a re-run finds it already sent and does
//! nothing. A partial or provisional latest week is sent only when `report.send_partial` is set,
//! labelled so in the subject and the notes, and never recorded.
//!
//! **A missed week is not forgotten.** The first week a cron was due to send is recorded
//! (`<account>.since.json`). Every later final week that has no sent-state is due: up to
//! `report.catch_up_weeks` missed weeks are sent oldest first before the latest one, each with
//! the report as of its own week ([`AsOf`]); missed weeks beyond that are named on stderr and
//! in the notes of what is sent, and the run exits 5.
//!
//! Sending, in order: take the account's lock ([`state::try_lock`]; another run holds it →
//! nothing to do), find the due weeks, then per week: build the message, send it, record the
//! week as sent atomically. A failed send records nothing, so the next run retries; when the
//! server accepted a message but its sent-state cannot be written, the run stops with
//! [`DeliverError::SentNotRecorded`] (exit 4), because a re-run would send it again.

pub mod alert;
pub mod audit;
pub mod message;
pub mod signal;
pub mod smtp;
pub mod state;

use std::path::{Path, PathBuf};

use crate::config::Settings;
pub use crate::error::{DeliverError, EXIT_SENT_UNRECORDED};
use crate::report::chart;
use crate::report::document::{self, DocFormat};
use crate::report::view::{report_week, Provenance, ReportView};
use crate::report::Report;

/// Exit code when the report was produced and a configured critical flag fired.
pub const EXIT_CRITICAL: i32 = 3;

/// Exit code when due weeks were left unsent (more missed weeks than `report.catch_up_weeks`);
/// takes precedence over [`EXIT_CRITICAL`].
pub const EXIT_WEEKS_LEFT: i32 = 5;

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
    /// No week is final yet (partial or still settling); nothing sent.
    NotFinal {
        /// The latest week of the data.
        week: crate::types::IsoWeek,
        /// Why it is not final, for people.
        why: String,
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
    /// Weeks emailed as final and recorded in this run, oldest first.
    pub sent: Vec<crate::types::IsoWeek>,
    /// A partial or provisional week emailed, labelled so, and not recorded.
    pub sent_unfinished: Option<crate::types::IsoWeek>,
    /// Due weeks left unsent (beyond `report.catch_up_weeks`), oldest first.
    pub left_unsent: Vec<crate::types::IsoWeek>,
}

impl Outcome {
    /// The documented exit code of a successful job: 5 when due weeks were left unsent, else 3
    /// when a critical flag fired and the report went out (or was written), else 0.
    pub fn exit_code(&self) -> i32 {
        let produced = !matches!(
            self.action,
            Action::AlreadySent { .. } | Action::Busy { .. } | Action::NotFinal { .. }
        );
        if !self.left_unsent.is_empty() {
            EXIT_WEEKS_LEFT
        } else if produced && !self.critical.is_empty() {
            EXIT_CRITICAL
        } else {
            0
        }
    }
}

/// Analyses the account as of the end of a week: the report a missed week's email carries.
pub type AsOf<'a> = dyn FnMut(crate::types::IsoWeek) -> Result<Report, crate::error::Error> + 'a;

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
    crate::fsutil::write_atomic(path, bytes).map_err(|source| DeliverError::Write {
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

/// Runs the report job on an analysed report; `as_of` re-analyses for a missed week.
pub fn run(
    report: &Report,
    settings: &Settings,
    job: &ReportJob,
    as_of: &mut AsOf,
) -> Result<Outcome, crate::error::Error> {
    let week = report_week(report);
    let critical = critical_flags(report, settings);
    let done = |action| Outcome {
        week,
        action,
        critical: critical.clone(),
        sent: Vec::new(),
        sent_unfinished: None,
        left_unsent: Vec::new(),
    };
    if job.dry_run {
        return Ok(done(dry_run(report, settings, job, as_of)?));
    }
    if !job.send {
        return Ok(done(print_or_write(report, job)?));
    }
    send(
        report,
        settings,
        job,
        as_of,
        done(Action::Wrote(Vec::new())),
    )
}

/// The file stem of a report's outputs: the account's slug and the week.
fn stem(report: &Report) -> String {
    let slug = state::slug(&report.account);
    match report_week(report) {
        Some(w) => format!("{slug}-{w}"),
        None => slug,
    }
}

fn origin(job: &ReportJob) -> String {
    job.config_path
        .as_ref()
        .map_or_else(|| "command line".to_string(), |p| p.display().to_string())
}

/// The report printed or written to `--out` (with its chart beside Markdown and HTML).
fn print_or_write(report: &Report, job: &ReportJob) -> Result<Action, DeliverError> {
    let prov = provenance(job);
    let stem = stem(report);
    let png = chart::render_png(report)?;
    Ok(match &job.out {
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
    })
}

/// Weeks the data cover whole and whose settle time has passed, oldest first.
pub fn final_weeks(report: &Report) -> Vec<crate::types::IsoWeek> {
    let i = &report.input;
    i.complete_weeks
        .iter()
        .filter(|w| !i.provisional_weeks.contains(w))
        .copied()
        .collect()
}

/// Why the report's latest week is not final (partial, or provisional until when), if it is not.
fn unfinished(report: &Report) -> Option<(crate::types::IsoWeek, &'static str, String)> {
    let last = *report.input.weeks.last()?;
    if !report.input.complete_weeks.contains(&last) {
        let why = format!("{last} is partial: the data do not cover the whole week yet");
        return Some((last, "partial week", why));
    }
    if report.input.provisional_weeks.contains(&last) {
        let s = &report.input.settle;
        let why = format!(
            "{last} is provisional: its data may change for {} h after the week ends (report.settle_hours; judged at {})",
            s.hours, s.judged_at
        );
        return Some((last, "provisional", why));
    }
    None
}

/// The report a week's email carries: `report` itself when it is that week's, else the
/// account analysed as of that week.
fn report_for(
    report: &Report,
    week: crate::types::IsoWeek,
    as_of: &mut AsOf,
) -> Result<Report, crate::error::Error> {
    if report_week(report) == Some(week) {
        return Ok(report.clone());
    }
    let r = as_of(week)?;
    match report_week(&r) {
        Some(w) if w == week => Ok(r),
        other => Err(DeliverError::Message(format!(
            "the analysis as of {week} reports {}",
            other.map_or("no week".into(), |w| w.to_string())
        ))
        .into()),
    }
}

/// `--dry-run`: the email `--send` would send for the latest final week (or, with none, for
/// the unfinished latest week, labelled), written as .eml or printed; touches no state.
fn dry_run(
    report: &Report,
    settings: &Settings,
    job: &ReportJob,
    as_of: &mut AsOf,
) -> Result<Action, crate::error::Error> {
    let prov = provenance(job);
    let (r, label) = match final_weeks(report).last() {
        Some(w) => (report_for(report, *w, as_of)?, None),
        None => (
            report.clone(),
            unfinished(report).map(|(_, l, why)| (l, why)),
        ),
    };
    let msg = build_labelled(&r, settings, &prov, &origin(job), label)?;
    let bytes = msg.formatted();
    Ok(match &job.out {
        Some(dir) => {
            let path = dir.join(format!("{}.eml", stem(&r)));
            write_file(&path, &bytes)?;
            tracing::info!("dry run: wrote {} instead of sending", path.display());
            Action::Wrote(vec![path])
        }
        None => Action::Printed(String::from_utf8_lossy(&bytes).into_owned()),
    })
}

/// [`build_email`], with the subject prefixed `[label]` and the reason first in the notes when
/// the week is not final.
fn build_labelled(
    report: &Report,
    settings: &Settings,
    prov: &Provenance,
    origin: &str,
    label: Option<(&str, String)>,
) -> Result<lettre::Message, DeliverError> {
    let Some((label, why)) = label else {
        return build_email(report, settings, prov, origin);
    };
    let mut r = report.clone();
    r.notes.insert(
        0,
        format!("NOT FINAL ({label}): {why}; this email is not recorded as sent"),
    );
    let mut s = settings.clone();
    if let Some(e) = s.email.as_mut() {
        e.subject = format!("[{label}] {}", e.subject);
    }
    build_email(&r, &s, prov, origin)
}

/// The weeks a `--send` run must email, oldest first, and those it must leave for later.
#[derive(Debug, Default, PartialEq)]
struct Due {
    /// Weeks to send now, oldest first (missed ones, then the latest final week).
    now: Vec<crate::types::IsoWeek>,
    /// Missed weeks beyond `report.catch_up_weeks`, oldest first.
    later: Vec<crate::types::IsoWeek>,
}

/// Plans the sends (pure): `finals` are the final weeks oldest first, `sent` says whether a
/// week has a sent-state, `since` is the first due week. The latest final week is always due
/// (unless sent; with `force`, even then); of the missed ones, the `catch_up` oldest go now.
fn plan(
    finals: &[crate::types::IsoWeek],
    since: crate::types::IsoWeek,
    sent: impl Fn(crate::types::IsoWeek) -> bool,
    catch_up: u32,
    force: bool,
) -> Due {
    let Some((&latest, before)) = finals.split_last() else {
        return Due::default();
    };
    let missed: Vec<_> = before
        .iter()
        .copied()
        .filter(|w| *w >= since && !sent(*w))
        .collect();
    let k = missed.len().min(catch_up as usize);
    let mut now = missed[..k].to_vec();
    if force || !sent(latest) {
        now.push(latest);
    }
    Due {
        now,
        later: missed[k..].to_vec(),
    }
}

/// `--send`: under the account's lock, email every due week oldest first and record each.
fn send(
    report: &Report,
    settings: &Settings,
    job: &ReportJob,
    as_of: &mut AsOf,
    mut out: Outcome,
) -> Result<Outcome, crate::error::Error> {
    let origin = origin(job);
    let email = settings
        .email
        .as_ref()
        .ok_or_else(|| DeliverError::NoEmailConfig {
            origin: origin.clone(),
        })?;
    let latest = report_week(report).ok_or(DeliverError::NoWeek)?;
    let (dir, account) = (&settings.report.state_dir, &report.account);
    let Some(lock) = state::try_lock(dir, account)? else {
        let lock = state::lock_path(dir, account);
        tracing::info!(
            "another optsignal report run holds {}; nothing to do",
            lock.display()
        );
        out.action = Action::Busy { lock };
        return Ok(out);
    };
    let finals = final_weeks(report);
    let mut sent_before = std::collections::BTreeMap::new();
    for w in &finals {
        if let Some(found) = state::find_sent(dir, account, *w)? {
            sent_before.insert(*w, found);
        }
    }
    let since = match state::read_since(dir, account)? {
        Some(w) => Some(w),
        None => {
            let first = sent_before.keys().next().or(finals.last()).copied();
            if let Some(w) = first {
                state::write_since(dir, account, w)?;
            }
            first
        }
    };
    let due = match since {
        Some(since) => plan(
            &finals,
            since,
            |w| sent_before.contains_key(&w),
            settings.report.catch_up_weeks,
            job.force,
        ),
        None => Due::default(),
    };
    let backlog = (!due.later.is_empty()).then(|| {
        let names: Vec<String> = due.later.iter().map(|w| w.to_string()).collect();
        let text = format!(
            "{} earlier week(s) not sent yet: {} (report.catch_up_weeks = {} per run; the next run sends them)",
            names.len(),
            names.join(", "),
            settings.report.catch_up_weeks
        );
        tracing::warn!("{text}");
        text
    });
    let prov = provenance(job);
    for w in &due.now {
        let mut r = report_for(report, *w, as_of)?;
        r.notes.extend(backlog.iter().cloned());
        if let Some((prev, _)) = sent_before.get(w) {
            tracing::info!("{w} already sent at {}; resending (--force)", prev.sent_at);
        }
        let msg = build_email(&r, settings, &prov, &origin)?;
        let state_file = send_one(&msg, *w, account, email, job, &stem(&r), &prov, dir)?;
        out.sent.push(*w);
        out.action = Action::Sent {
            state: state_file,
            recipients: email.to.iter().map(|m| m.email.to_string()).collect(),
        };
    }
    out.left_unsent = due.later;
    if let Some((week, label, why)) = unfinished(report) {
        if settings.report.send_partial {
            let msg = build_labelled(report, settings, &prov, &origin, Some((label, why)))?;
            tracing::info!("sending {week} labelled {label}; not recorded as sent");
            smtp::send(email, &msg)?;
            out.sent_unfinished = Some(week);
        } else if due.now.is_empty() && finals.is_empty() {
            tracing::warn!("nothing sent: {why}; only complete, settled weeks are emailed (report.send_partial = true also sends it, labelled)");
            out.action = Action::NotFinal { week, why };
        }
    }
    if out.sent.is_empty() && out.sent_unfinished.is_none() {
        if let Some((prev, path)) = finals.last().and_then(|w| sent_before.get(w)) {
            tracing::info!(
                "{} already sent to {} at {} ({}); nothing to do (--force resends)",
                prev.week,
                prev.recipients.join(", "),
                prev.sent_at,
                path.display()
            );
            out.action = Action::AlreadySent {
                state: path.clone(),
                sent_at: prev.sent_at.clone(),
            };
        }
    }
    drop(lock);
    out.week = Some(out.sent.last().copied().unwrap_or(latest));
    Ok(out)
}

/// Sends one final week's message and records it; returns the sent-state file.
#[allow(clippy::too_many_arguments)]
fn send_one(
    msg: &lettre::Message,
    week: crate::types::IsoWeek,
    account: &str,
    email: &crate::config::EmailSettings,
    job: &ReportJob,
    stem: &str,
    prov: &Provenance,
    dir: &Path,
) -> Result<PathBuf, DeliverError> {
    if let Some(out) = &job.out {
        write_file(&out.join(format!("{stem}.eml")), &msg.formatted())?;
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
    smtp::send(email, msg)?;
    let recipients: Vec<String> = email.to.iter().map(|m| m.email.to_string()).collect();
    let record = state::SentRecord {
        account: account.to_string(),
        week,
        sent_at: jiff::Timestamp::now().to_string(),
        message_id,
        recipients: recipients.clone(),
        config_sha256: prov.config_sha256.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let state_file = state::state_path(dir, account, week);
    match state::write_sent(&state_file, &record) {
        Ok(()) => {}
        Err(DeliverError::State { path, source }) => {
            return Err(DeliverError::SentNotRecorded {
                week,
                recipients: recipients.join(", "),
                path,
                source,
            })
        }
        Err(e) => return Err(e),
    }
    tracing::info!("sent {week}; recorded in {}", state_file.display());
    Ok(state_file)
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
