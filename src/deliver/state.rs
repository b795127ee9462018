//! Cron safety on disk: a lock so overlapping runs do not both send, one sent-state file per
//! account and ISO week so a re-run does not email twice, and the first week a cron was asked
//! to send, so a missed week is caught up rather than forgotten.
//!
//! All live in the state folder (`report.state_dir`): `<account>.lock`,
//! `<account>-<week>.sent.json` and `<account>.since.json`, where `<account>` is the account's
//! [`crate::fsutil::slug`]. The lock is an advisory OS file lock, released when the process ends
//! however it ends, so a crash never leaves a stale lock. State files are written atomically
//! ([`crate::fsutil::write_atomic`]): a reader sees the old state or the new one, never half.
//! Sent-states written by older releases under their lossy prefix (`demo-store-2026-W46…`,
//! `account-2026-W46…` for "東京") still count, but only when the record names this account.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DeliverError;
use crate::fsutil;
use crate::types::IsoWeek;

/// The account name as a file-name fragment ([`crate::fsutil::slug`]).
pub fn slug(account: &str) -> String {
    fsutil::slug(account)
}

/// A held run lock; dropping it releases the lock.
pub type RunLock = fsutil::Lock;

pub use crate::fsutil::lock_path;

/// Takes the account's run lock without waiting: `Ok(None)` when another run holds it.
pub fn try_lock(dir: &Path, account: &str) -> Result<Option<RunLock>, DeliverError> {
    let path = lock_path(dir, account);
    fsutil::try_lock(&path).map_err(|source| DeliverError::State { path, source })
}

/// What was sent for one account and week.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SentRecord {
    /// Account name.
    pub account: String,
    /// The report's week.
    pub week: IsoWeek,
    /// When the server accepted the message (RFC 3339, UTC).
    pub sent_at: String,
    /// The message's `Message-ID`.
    pub message_id: String,
    /// Recipient addresses.
    pub recipients: Vec<String>,
    /// SHA-256 of the config file used.
    pub config_sha256: Option<String>,
    /// Tool version.
    pub tool_version: String,
}

/// The sent-state file of an account and week (where it is written).
pub fn state_path(dir: &Path, account: &str, week: IsoWeek) -> PathBuf {
    dir.join(format!("{}-{week}.sent.json", slug(account)))
}

/// Reads a sent-state file; `Ok(None)` when there is none.
pub fn read_sent(path: &Path) -> Result<Option<SentRecord>, DeliverError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DeliverError::State {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| DeliverError::StateCorrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Whether `account`'s report for `week` was sent: its sent-state file, or one an older
/// release wrote under its lossy prefix whose record names this very account. Returns the
/// record and the file it was found in.
pub fn find_sent(
    dir: &Path,
    account: &str,
    week: IsoWeek,
) -> Result<Option<(SentRecord, PathBuf)>, DeliverError> {
    let path = state_path(dir, account, week);
    if let Some(r) = read_sent(&path)? {
        return Ok(Some((r, path)));
    }
    let Some(old) = fsutil::legacy_state_slug(account) else {
        return Ok(None);
    };
    let path = dir.join(format!("{old}-{week}.sent.json"));
    // Another account may own the old name (both "東京" and "大阪" were `account`): only a
    // readable record that names this account counts, and nothing else is held against it.
    Ok(match read_sent(&path) {
        Ok(Some(r)) if r.account == account => Some((r, path)),
        _ => None,
    })
}

/// Records a sent report atomically.
pub fn write_sent(path: &Path, record: &SentRecord) -> Result<(), DeliverError> {
    let json = serde_json::to_string_pretty(record).map_err(|e| DeliverError::StateCorrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    fsutil::write_atomic(path, json.as_bytes()).map_err(|source| DeliverError::State {
        path: path.to_path_buf(),
        source,
    })
}

/// The first week a `report --send` cron was due to send for an account: weeks from it on
/// that are complete and settled are sent, oldest first, even when a run was missed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Since {
    /// Account name.
    pub account: String,
    /// The first due week.
    pub week: IsoWeek,
}

/// The file holding an account's [`Since`].
pub fn since_path(dir: &Path, account: &str) -> PathBuf {
    dir.join(format!("{}.since.json", slug(account)))
}

/// The first due week of an account, when recorded (and naming this account).
pub fn read_since(dir: &Path, account: &str) -> Result<Option<IsoWeek>, DeliverError> {
    let path = since_path(dir, account);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(DeliverError::State { path, source }),
    };
    let s: Since = serde_json::from_str(&text).map_err(|e| DeliverError::StateCorrupt {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok((s.account == account).then_some(s.week))
}

/// Records the first due week of an account atomically.
pub fn write_since(dir: &Path, account: &str, week: IsoWeek) -> Result<(), DeliverError> {
    let path = since_path(dir, account);
    let s = Since {
        account: account.to_string(),
        week,
    };
    let json = serde_json::to_string_pretty(&s).unwrap_or_default();
    fsutil::write_atomic(&path, json.as_bytes())
        .map_err(|source| DeliverError::State { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_the_sent_state_and_snapshots_name_an_account_alike() {
        for n in ["東京", "大阪", "Shop A", "shop a", "Demo store", "???"] {
            let one = crate::fsutil::slug(n);
            assert_eq!(crate::store::account_slug(n), one, "{n}");
            assert_eq!(crate::deliver::state::slug(n), one, "{n}");
            assert_eq!(crate::source::remote::slug(n), one, "{n}");
        }
    }

    fn record(account: &str, week: IsoWeek) -> SentRecord {
        SentRecord {
            account: account.into(),
            week,
            sent_at: "2026-11-16T06:00:00Z".into(),
            message_id: "<a@b>".into(),
            recipients: vec!["x@example.com".into()],
            config_sha256: None,
            tool_version: "0.1.0".into(),
        }
    }

    #[test]
    fn tokyo_and_osaka_have_their_own_state_and_lock() {
        let dir = tempfile::tempdir().unwrap();
        let week: IsoWeek = "2026-W46".parse().unwrap();
        assert_ne!(
            state_path(dir.path(), "東京", week),
            state_path(dir.path(), "大阪", week)
        );
        let tokyo = try_lock(dir.path(), "東京").unwrap().expect("lock");
        assert!(
            try_lock(dir.path(), "大阪").unwrap().is_some(),
            "Osaka runs beside Tokyo"
        );
        drop(tokyo);
        write_sent(&state_path(dir.path(), "東京", week), &record("東京", week)).unwrap();
        assert!(find_sent(dir.path(), "東京", week).unwrap().is_some());
        assert!(find_sent(dir.path(), "大阪", week).unwrap().is_none());
    }

    #[test]
    fn a_sent_state_of_an_older_release_counts_only_for_its_own_account() {
        let dir = tempfile::tempdir().unwrap();
        let week: IsoWeek = "2026-W46".parse().unwrap();
        // Written by the old ASCII-only slug: both cities were `account`.
        let old = dir.path().join("account-2026-W46.sent.json");
        write_sent(&old, &record("東京", week)).unwrap();
        let (r, p) = find_sent(dir.path(), "東京", week)
            .unwrap()
            .expect("still found");
        assert_eq!((r.account.as_str(), p), ("東京", old));
        assert!(
            find_sent(dir.path(), "大阪", week).unwrap().is_none(),
            "not Osaka's"
        );
        let demo = dir.path().join("demo-store-2026-W46.sent.json");
        write_sent(&demo, &record("Demo store", week)).unwrap();
        assert!(find_sent(dir.path(), "Demo store", week).unwrap().is_some());
    }

    #[test]
    fn state_round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let week: IsoWeek = "2026-W46".parse().unwrap();
        let p = state_path(dir.path(), "Demo store", week);
        assert!(read_sent(&p).unwrap().is_none());
        let rec = record("Demo store", week);
        write_sent(&p, &rec).unwrap();
        assert_eq!(read_sent(&p).unwrap(), Some(rec));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["demo-store-d62b30b1-2026-W46.sent.json"]);
    }
}
