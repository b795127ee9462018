//! Files on disk, one way everywhere: the model store, the sent-state of the weekly email, report
//! files and API snapshots all name an account's files with [`slug`], write with
//! [`write_atomic`] and serialise runs with [`try_lock`].
//!
//! **One identity per account.** [`slug`] keeps Unicode letters and digits (lower-cased) and
//! turns every other run of characters into one dash. When that loses anything (case, spaces,
//! punctuation, length) it appends `-` and 8 hex digits of the SHA-256 of the exact name, so two
//! different names never share a folder or a state file: "東京" → `東京`, "大阪" → `大阪`,
//! "shop-a" → `shop-a`, "Shop A" → `shop-a-…`, "shop a" → `shop-a-…` (another suffix).
//! A name that is already a slug is its own slug, unless it ends like a suffix (`-` and 8 hex
//! digits), which would otherwise be ambiguous.
//!
//! Releases before this one used three lossy slugs; [`legacy_store_slug`] and
//! [`legacy_state_slug`] give the two that named files optsignal reads back, so that weeks and
//! sent-states written by an older optsignal are still found (their owner is checked from the
//! file's content, never from its name). Snapshots are read from the path the user names.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Longest readable part of a slug, in characters (file names are limited to 255 bytes and a
/// CJK character takes 3; the hash suffix, a week and an extension must still fit).
const MAX_READABLE: usize = 48;

/// The readable part of a slug: lower-cased letters and digits, other runs → one dash, trimmed
/// and cut to [`MAX_READABLE`] characters; empty when nothing is left.
fn readable(name: &str) -> String {
    let mut s = String::new();
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            s.push(ch);
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
    }
    let cut: String = s.chars().take(MAX_READABLE).collect();
    cut.trim_end_matches('-').to_string()
}

/// 8 lowercase hex digits of the SHA-256 of `name`'s UTF-8 bytes: stable across runs,
/// machines and releases.
fn short_hash(name: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, name.as_bytes());
    d.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `s` ends like a hash suffix: a dash and 8 lowercase hex digits.
fn ends_like_suffix(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 9
        && b[b.len() - 9] == b'-'
        && b[b.len() - 8..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// The account's file-name identity (see the module docs): safe as a folder or file-name
/// fragment on every platform, and different for different names.
pub fn slug(name: &str) -> String {
    let r = readable(name);
    if !r.is_empty() && r == name && !ends_like_suffix(&r) {
        return r;
    }
    let base = if r.is_empty() { "account" } else { r.as_str() };
    format!("{base}-{}", short_hash(name))
}

/// Reduces `name` as the slugs of older releases did: characters kept by `keep` (lower-cased),
/// other runs → one dash, trimmed; `account` when nothing is left. Lossy: different names
/// could share the result, which is why [`slug`] replaced it.
fn old_reduce(name: &str, keep: fn(char) -> bool) -> String {
    let mut s = String::new();
    for ch in name.trim().chars() {
        if keep(ch) {
            s.extend(ch.to_lowercase());
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "account".to_string()
    } else {
        s
    }
}

/// The model-store folder older releases gave `name` (Unicode letters kept, no suffix), when it
/// differs from [`slug`]. Weeks found there may belong to another account that reduced to the
/// same folder: the caller checks the `account` inside each file.
pub fn legacy_store_slug(name: &str) -> Option<String> {
    Some(old_reduce(name, char::is_alphanumeric)).filter(|s| *s != slug(name))
}

/// The sent-state prefix older releases gave `name` (ASCII letters and digits only: "東京" →
/// `account`), when it differs from [`slug`]. The caller checks the `account` inside the file.
pub fn legacy_state_slug(name: &str) -> Option<String> {
    Some(old_reduce(name, |c| c.is_ascii_alphanumeric())).filter(|s| *s != slug(name))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it (`.NAME.tmpPID`), flushed
/// and synced, renamed over `path`, then the folder synced where the platform allows. A reader
/// sees the old file or the new one, never half of one; on failure the temporary file is
/// removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, |from, to| std::fs::rename(from, to))
}

/// [`write_atomic`] with the final rename supplied by the caller, so tests can make it fail as
/// a crash between writing and renaming would.
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    rename: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    // Every file written this way is text for people or tools (stored weeks, sent-states,
    // snapshots, reports): no configured secret is written into any of them.
    let redacted = std::str::from_utf8(bytes).map(crate::secret::redact);
    let bytes = match &redacted {
        Ok(t) => t.as_bytes(),
        Err(_) => bytes,
    };
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        rename(&tmp, path)?;
        // Make the rename itself durable; not every platform can open a folder: best effort.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A held run lock; dropping it (or the process ending, however it ends) releases it.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    /// The lock file.
    pub path: PathBuf,
}

/// Takes the advisory OS lock on `path` (created when missing) without waiting: `Ok(None)`
/// when another process holds it. A crash never leaves a stale lock.
pub fn try_lock(path: &Path) -> io::Result<Option<Lock>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(Lock {
            _file: file,
            path: path.to_path_buf(),
        })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The lock file of an account in `dir`: `<slug>.lock` (the weekly report job's run lock, which
/// config check also uses to find two accounts that would share one).
pub fn lock_path(dir: &Path, account: &str) -> PathBuf {
    dir.join(format!("{}.lock", slug(account)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_names_never_share_a_slug() {
        let names = [
            "東京",
            "大阪",
            "Shop A",
            "shop a",
            "shop-a",
            "SHOP A",
            "Demo store",
            "demo store",
            "???",
            "!!!",
            "",
            "  Shop/../ÄÖ  ",
        ];
        let slugs: Vec<String> = names.iter().map(|n| slug(n)).collect();
        for (i, a) in slugs.iter().enumerate() {
            for (j, b) in slugs.iter().enumerate() {
                assert!(
                    i == j || a != b,
                    "{:?} and {:?} share {a}",
                    names[i],
                    names[j]
                );
            }
        }
    }

    #[test]
    fn slugs_keep_unicode_letters_and_are_stable_and_file_safe() {
        assert_eq!(slug("東京"), "東京");
        assert_eq!(slug("大阪"), "大阪");
        assert_eq!(slug("shop-a"), "shop-a");
        // Fixed value: the suffix must not change between releases (files are named by it).
        assert_eq!(slug("Demo store"), "demo-store-d62b30b1");
        assert!(slug("Shop A").starts_with("shop-a-"));
        assert!(slug("???").starts_with("account-"));
        for n in ["../..", "a/b\\c", "x\u{0}y", ".hidden", "con"] {
            let s = slug(n);
            assert!(
                s.chars().all(|c| c.is_alphanumeric() || c == '-') && !s.starts_with('-'),
                "{n:?} → {s}"
            );
        }
        let long = "Ä".repeat(300);
        assert!(slug(&long).len() < 200, "{}", slug(&long).len());
        // A name that looks like a suffixed slug is suffixed itself, so it cannot take the
        // folder of the name that produced that slug.
        let taken = slug("Shop A");
        assert_ne!(slug(&taken), taken);
    }

    #[test]
    fn legacy_slugs_are_what_older_releases_wrote() {
        assert_eq!(legacy_store_slug("Demo store").unwrap(), "demo-store");
        assert_eq!(legacy_state_slug("Demo store").unwrap(), "demo-store");
        assert_eq!(
            legacy_store_slug("東京"),
            None,
            "its store folder keeps its name"
        );
        assert_eq!(legacy_state_slug("東京").unwrap(), "account");
        assert_eq!(legacy_state_slug("大阪").unwrap(), "account");
        assert_eq!(legacy_store_slug("  ACME / EU  ").unwrap(), "acme-eu");
        assert_eq!(legacy_store_slug("Café Ü").unwrap(), "café-ü");
        assert_eq!(legacy_state_slug("Café Ü").unwrap(), "caf");
        assert_eq!(
            legacy_store_slug("shop-a"),
            None,
            "unchanged names have no legacy"
        );
    }

    #[test]
    fn atomic_writes_leave_old_or_new_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.json");
        write_atomic(&p, b"one").unwrap();
        let failed = write_atomic_with(&p, b"two", |_, _| Err(io::Error::other("crash")));
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.json")]);
    }

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (x, y) = (dir.path().join("x.lock"), dir.path().join("y.lock"));
        let a = try_lock(&x).unwrap().expect("first lock");
        assert!(try_lock(&x).unwrap().is_none());
        assert!(
            try_lock(&y).unwrap().is_some(),
            "other locks are independent"
        );
        drop(a);
        assert!(try_lock(&x).unwrap().is_some());
    }
}
