//! The once-only sent-state of `signal export --send`: per account and per day (the UTC date of
//! the event), the event ids each destination accepted, in
//! `<signal.state_dir>/signal-sent/<account slug>/<yyyy-mm-dd>.json`. A file is rewritten
//! atomically after every accepted request, so a re-run, a crash or an overlapping window never
//! sends an event twice; an unreadable file stops the run instead of being overwritten.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::payload::Item;
use super::{Destination, SignalError};

/// Version of the sent-state format.
pub const SENT_VERSION: u32 = 1;

/// One day's file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SentDay {
    /// Format version.
    pub version: u32,
    /// Account name.
    pub account: String,
    /// The UTC date of the events (`2026-11-14`).
    pub day: String,
    /// Accepted event ids by destination id (`meta`, `google_ads`, `ga4`).
    pub sent: BTreeMap<String, BTreeSet<String>>,
}

/// The sent-state of one account, for the days of one export.
#[derive(Debug)]
pub struct SentState {
    dir: PathBuf,
    account: String,
    days: BTreeMap<String, SentDay>,
}

/// The UTC date of `micros` (`2026-11-14`).
pub fn day_of(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "undated".into())
}

/// The folder of an account's sent-state files.
pub fn dir_of(state_dir: &Path, account: &str) -> PathBuf {
    state_dir
        .join("signal-sent")
        .join(crate::fsutil::slug(account))
}

impl SentState {
    /// Reads the files of every day of `items` (a missing file is an empty day).
    pub fn open<'a>(
        state_dir: &Path,
        account: &str,
        items: impl IntoIterator<Item = &'a Item>,
    ) -> Result<Self, SignalError> {
        let dir = dir_of(state_dir, account);
        let wanted: BTreeSet<String> = items.into_iter().map(|i| day_of(i.micros)).collect();
        let mut days = BTreeMap::new();
        for day in wanted {
            let path = dir.join(format!("{day}.json"));
            let d = match std::fs::read_to_string(&path) {
                Ok(text) => {
                    serde_json::from_str::<SentDay>(&text).map_err(|e| SignalError::State {
                        path: path.clone(),
                        message: format!("not a sent-state file ({e}); move it away to resend"),
                    })?
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => SentDay {
                    version: SENT_VERSION,
                    account: account.to_string(),
                    day: day.clone(),
                    sent: BTreeMap::new(),
                },
                Err(e) => {
                    return Err(SignalError::State {
                        path,
                        message: e.to_string(),
                    })
                }
            };
            days.insert(day, d);
        }
        Ok(SentState {
            dir,
            account: account.to_string(),
            days,
        })
    }

    /// Whether `d` already accepted `item`.
    pub fn contains(&self, d: Destination, item: &Item) -> bool {
        self.days
            .get(&day_of(item.micros))
            .and_then(|day| day.sent.get(d.id()))
            .is_some_and(|ids| ids.contains(&item.event_id))
    }

    /// Records that `d` accepted `items` and rewrites the files of their days atomically.
    pub fn record<'a>(
        &mut self,
        d: Destination,
        items: impl IntoIterator<Item = &'a Item>,
    ) -> Result<(), SignalError> {
        let mut touched = BTreeSet::new();
        for item in items {
            let day = day_of(item.micros);
            let entry = self.days.entry(day.clone()).or_insert_with(|| SentDay {
                version: SENT_VERSION,
                account: self.account.clone(),
                day: day.clone(),
                sent: BTreeMap::new(),
            });
            entry
                .sent
                .entry(d.id().to_string())
                .or_default()
                .insert(item.event_id.clone());
            touched.insert(day);
        }
        for day in touched {
            let path = self.dir.join(format!("{day}.json"));
            let text = serde_json::to_string_pretty(&self.days[&day]).unwrap_or_default();
            crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| {
                SignalError::SentNotRecorded {
                    destination: d,
                    path: path.clone(),
                    message: e.to_string(),
                }
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, micros: i64) -> Item {
        Item {
            event_id: id.into(),
            micros,
            body: serde_json::Value::Null,
        }
    }

    #[test]
    fn recorded_ids_survive_a_reopen_per_day_and_destination() {
        let dir = tempfile::tempdir().unwrap();
        // 2026-11-14 00:00:00 UTC and a day later.
        let a = item("a", 1_794_614_400_000_000);
        let b = item("b", 1_794_700_800_000_000);
        let mut s = SentState::open(dir.path(), "Shop", [&a, &b]).unwrap();
        assert!(!s.contains(Destination::Meta, &a));
        s.record(Destination::Meta, [&a, &b]).unwrap();
        s.record(Destination::Ga4, [&a]).unwrap();
        let again = SentState::open(dir.path(), "Shop", [&a, &b]).unwrap();
        assert!(again.contains(Destination::Meta, &a) && again.contains(Destination::Meta, &b));
        assert!(again.contains(Destination::Ga4, &a) && !again.contains(Destination::Ga4, &b));
        assert!(!again.contains(Destination::GoogleAds, &a));
        let files = dir_of(dir.path(), "Shop");
        assert!(files.join("2026-11-14.json").is_file());
        assert!(files.join("2026-11-15.json").is_file());
    }

    #[test]
    fn a_damaged_file_stops_the_run_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = item("a", 1_794_614_400_000_000);
        let path = dir_of(dir.path(), "Shop").join("2026-11-14.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{not json").unwrap();
        let e = SentState::open(dir.path(), "Shop", [&a]).unwrap_err();
        assert!(e.to_string().contains("2026-11-14.json"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
    }
}
