//! Which findings each target was sent, per account and ISO week:
//! `<state_dir>/<account>-<week>.alerts.json`, beside the email's sent-state and under the same
//! account lock, written atomically ([`crate::fsutil::write_atomic`]) right after a target took
//! a message. A failed send records nothing, so the next run sends those findings again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil;
use crate::types::IsoWeek;

/// A finding a target was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentFinding {
    /// The finding's id ([`super::finding::Finding::id`]).
    pub id: String,
    /// When the target took the message (RFC 3339, UTC).
    pub sent_at: String,
}

/// The alert state of one account and week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    /// Account name.
    pub account: String,
    /// The week.
    pub week: IsoWeek,
    /// Per target name, the findings it was sent.
    pub targets: BTreeMap<String, Vec<SentFinding>>,
    /// Tool version that last wrote the file.
    pub tool_version: String,
}

impl AlertState {
    /// Nothing sent yet.
    pub fn empty(account: &str, week: IsoWeek) -> Self {
        AlertState {
            account: account.to_string(),
            week,
            targets: BTreeMap::new(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Whether `target` was sent finding `id`.
    pub fn was_sent(&self, target: &str, id: &str) -> bool {
        self.targets
            .get(target)
            .is_some_and(|l| l.iter().any(|f| f.id == id))
    }

    /// Records findings as sent to `target` at `at` (replacing an earlier record of the same id).
    pub fn record(&mut self, target: &str, ids: &[String], at: &str) {
        let list = self.targets.entry(target.to_string()).or_default();
        list.retain(|f| !ids.contains(&f.id));
        list.extend(ids.iter().map(|id| SentFinding {
            id: id.clone(),
            sent_at: at.to_string(),
        }));
        self.tool_version = env!("CARGO_PKG_VERSION").to_string();
    }
}

/// The alert state file of an account and week.
pub fn path(dir: &Path, account: &str, week: IsoWeek) -> PathBuf {
    dir.join(format!("{}-{week}.alerts.json", fsutil::slug(account)))
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("alert state file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not what optsignal writes (or names another account).
    #[error("alert state file {} is unreadable ({message}); move it away to send this week's alerts again", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Reads the state; an empty one when there is no file.
pub fn read(dir: &Path, account: &str, week: IsoWeek) -> Result<AlertState, StateError> {
    let p = path(dir, account, week);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(AlertState::empty(account, week))
        }
        Err(source) => return Err(StateError::Io { path: p, source }),
    };
    let s: AlertState = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
        path: p.clone(),
        message: e.to_string(),
    })?;
    if s.account != account || s.week != week {
        return Err(StateError::Corrupt {
            path: p,
            message: format!("it is for {:?} {}", s.account, s.week),
        });
    }
    Ok(s)
}

/// Writes the state atomically.
pub fn write(dir: &Path, state: &AlertState) -> Result<PathBuf, StateError> {
    let p = path(dir, &state.account, state.week);
    let json = serde_json::to_string_pretty(state).unwrap_or_default();
    fsutil::write_atomic(&p, json.as_bytes()).map_err(|source| StateError::Io {
        path: p.clone(),
        source,
    })?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_per_target_and_refuses_another_accounts_file() {
        let dir = tempfile::tempdir().unwrap();
        let week: IsoWeek = "2026-W46".parse().unwrap();
        let mut s = read(dir.path(), "Demo store", week).unwrap();
        assert!(!s.was_sent("slack", "broken_surge sign_up"));
        s.record(
            "slack",
            &["broken_surge sign_up".into()],
            "2026-11-16T07:00:00Z",
        );
        let p = write(dir.path(), &s).unwrap();
        assert!(p.ends_with("demo-store-d62b30b1-2026-W46.alerts.json"));
        let back = read(dir.path(), "Demo store", week).unwrap();
        assert_eq!(back, s);
        assert!(back.was_sent("slack", "broken_surge sign_up"));
        assert!(!back.was_sent("ops", "broken_surge sign_up"));
        std::fs::copy(&p, path(dir.path(), "Other", week)).unwrap();
        assert!(matches!(
            read(dir.path(), "Other", week),
            Err(StateError::Corrupt { .. })
        ));
        std::fs::write(&p, "{\"account\": ").unwrap();
        assert!(matches!(
            read(dir.path(), "Demo store", week),
            Err(StateError::Corrupt { .. })
        ));
    }
}
