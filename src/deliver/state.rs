//! Cron safety on disk: a lock so overlapping runs do not both send, and one sent-state file per
//! account and ISO week so a re-run does not email twice.
//!
//! Both live in the state folder (`report.state_dir`): `<account>.lock` and
//! `<account>-<week>.sent.json`, where `<account>` is the account name reduced to lowercase
//! letters, digits and dashes. The lock is an advisory OS file lock (`File::try_lock`), released
//! when the process ends however it ends, so a crash never leaves a stale lock. The state file is
//! written to a temporary file in the same folder, flushed to disk, then renamed over the final
//! name: a reader sees the old state or the new one, never half of it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DeliverError;
use crate::types::IsoWeek;

/// The account name as a file-name fragment: lowercase ASCII letters and digits, other runs of
/// characters become one dash (`Demo store` → `demo-store`).
pub fn slug(account: &str) -> String {
    let mut out = String::new();
    for ch in account.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "account".into()
    } else {
        out
    }
}

/// A held run lock; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    /// The lock file.
    pub path: PathBuf,
}

/// Takes the account's run lock without waiting: `Ok(None)` when another run holds it.
pub fn try_lock(dir: &Path, account: &str) -> Result<Option<RunLock>, DeliverError> {
    std::fs::create_dir_all(dir).map_err(|source| DeliverError::State {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!("{}.lock", slug(account)));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| DeliverError::State {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(RunLock { _file: file, path })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => Err(DeliverError::State { path, source }),
    }
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

/// The sent-state file of an account and week.
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

/// Writes bytes to `path` atomically: temporary file in the same folder, fsync, rename, fsync of
/// the folder. On any error the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // Reports and state records are text: no configured secret is written into them.
    let redacted = std::str::from_utf8(bytes).map(crate::source::secret::redact);
    let bytes = match &redacted {
        Ok(t) => t.as_bytes(),
        Err(_) => bytes,
    };
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable; not all platforms can open a folder, so best effort.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Records a sent report atomically.
pub fn write_sent(path: &Path, record: &SentRecord) -> Result<(), DeliverError> {
    let json = serde_json::to_string_pretty(record).map_err(|e| DeliverError::StateCorrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(path, json.as_bytes()).map_err(|source| DeliverError::State {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_safe() {
        assert_eq!(slug("Demo store"), "demo-store");
        assert_eq!(slug("  Shop/../ÄÖ  "), "shop");
        assert_eq!(slug("???"), "account");
    }

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = try_lock(dir.path(), "x").unwrap().expect("first lock");
        assert!(try_lock(dir.path(), "x").unwrap().is_none());
        assert!(
            try_lock(dir.path(), "y").unwrap().is_some(),
            "other accounts are independent"
        );
        drop(a);
        assert!(try_lock(dir.path(), "x").unwrap().is_some());
    }

    #[test]
    fn state_round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let week: IsoWeek = "2026-W46".parse().unwrap();
        let p = state_path(dir.path(), "Demo store", week);
        assert!(read_sent(&p).unwrap().is_none());
        let rec = SentRecord {
            account: "Demo store".into(),
            week,
            sent_at: "2026-11-16T06:00:00Z".into(),
            message_id: "<a@b>".into(),
            recipients: vec!["x@example.com".into()],
            config_sha256: None,
            tool_version: "0.1.0".into(),
        };
        write_sent(&p, &rec).unwrap();
        assert_eq!(read_sent(&p).unwrap(), Some(rec));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["demo-store-2026-W46.sent.json"]);
    }
}
