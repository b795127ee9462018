//! Emailing an audit roll-up: once per config file and ISO week, to the agency's own
//! `[defaults.email]` recipients, under the same lock and sent-state rules as the weekly report
//! (a re-run the same week sends nothing; `--force` resends; a failed send records nothing).

use super::{smtp, state, Action, DeliverError};
use crate::audit::Audit;
use crate::config::accounts::ConfigFile;
use crate::error::Error;
use crate::report::audit::{audit_week, render_html, render_markdown};

/// The state key of an audit: one per config file.
fn key(file: &ConfigFile) -> String {
    let stem = file
        .path
        .file_stem()
        .map_or("config".into(), |s| s.to_string_lossy().into_owned());
    format!("audit-{stem}")
}

/// Sends the audit by email (HTML with a plain-text alternative) unless this week's audit was
/// already sent from this config file.
pub fn send(audit: &Audit, file: &ConfigFile, force: bool) -> Result<Action, Error> {
    let origin = file.path.display().to_string();
    let base = file.base_dir();
    let raw = file
        .defaults
        .email
        .as_ref()
        .ok_or_else(|| DeliverError::NoEmailConfig {
            origin: format!("{origin} [defaults]"),
        })?;
    let email = crate::config::email_settings(raw, &origin, &base)?;
    let report = crate::config::report_settings(&file.defaults.report, &base, &origin)?;
    let week = audit_week(audit).ok_or(DeliverError::NoWeek)?;
    let key = key(file);
    let dir = &report.state_dir;
    let Some(lock) = state::try_lock(dir, &key)? else {
        return Ok(Action::Busy {
            lock: state::lock_path(dir, &key),
        });
    };
    let state_file = state::state_path(dir, &key, week);
    if let Some((prev, found)) = state::find_sent(dir, &key, week)? {
        if !force {
            return Ok(Action::AlreadySent {
                state: found,
                sent_at: prev.sent_at,
            });
        }
    }
    let worst = audit.worst.map_or("no findings", |w| w.name());
    let parts = super::message::EmailParts {
        subject: format!(
            "[optsignal] audit · {week}: {}, {} failed, worst {worst}",
            crate::format::count(audit.accounts.len() as u64, "account", "accounts"),
            audit.failed
        ),
        text: render_markdown(audit),
        html: render_html(audit).map_err(DeliverError::from)?,
        chart_png: None,
    };
    let msg = super::message::build(&email, parts)?;
    let message_id = msg
        .headers()
        .get_raw("Message-ID")
        .unwrap_or_default()
        .to_string();
    smtp::send(&email, &msg)?;
    let recipients: Vec<String> = email.to.iter().map(|m| m.email.to_string()).collect();
    state::write_sent(
        &state_file,
        &state::SentRecord {
            account: key,
            week,
            sent_at: jiff::Timestamp::now().to_string(),
            message_id,
            recipients: recipients.clone(),
            config_sha256: super::sha256_file(&file.path),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        },
    )?;
    drop(lock);
    Ok(Action::Sent {
        state: state_file,
        recipients,
    })
}
