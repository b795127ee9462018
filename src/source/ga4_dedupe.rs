//! Duplicate rows of a GA4 export, removed as dbt-ga4 removes them, so that neither a repeated
//! export row nor a reloaded thank-you page counts twice:
//! - an exact duplicate is a row with the same `stream_id`, `user_pseudo_id`, `ga_session_id`,
//!   `event_name`, `event_timestamp` and `event_params` as an earlier one (dbt-ga4's
//!   `base_ga4__events` key); the first in the file is kept;
//! - a purchase repeated with one `ecommerce.transaction_id` keeps only its earliest copy by
//!   `event_timestamp`, then GA4's batch order (dbt-ga4's `stg_ga4__event_purchase_deduplicated`):
//!   "purchase" is the event whose name, after `[source.aliases]`, is `purchase`.
//!
//! The pushdown SQL applies the same two rules (`sql.rs`), and `tests/it/pushdown.rs` checks both
//! give the same counts. Both removals are counted as skips (`duplicate_row`,
//! `duplicate_transaction`), never silently: the report shows how many.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};

use rustc_hash::{FxHashSet, FxHasher};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::log::LogSpec;
use super::SourceError;
use crate::types::EventName;

/// The canonical name whose repeats by transaction id are removed (GA4's recommended event).
pub const PURCHASE: &str = "purchase";

/// The fields of an exact-duplicate key, as written in the row.
pub(crate) struct RowKey<'a> {
    pub(crate) stream_id: &'a str,
    pub(crate) user: &'a str,
    pub(crate) session_id: &'a str,
    pub(crate) event: &'a str,
    pub(crate) timestamp: &'a str,
    pub(crate) params: &'a str,
}

/// What to do with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Read it.
    Keep,
    /// An exact duplicate of an earlier row.
    DuplicateRow,
    /// A later copy of a purchase with the same transaction id.
    DuplicateTransaction,
}

/// Remembers the rows seen (as 64-bit hashes: 8 bytes a row) and each transaction's kept line.
pub(crate) struct Dedupe {
    seen: FxHashSet<u64>,
    winners: HashMap<String, u64>,
}

/// The name after `[source.aliases]`, trimmed.
fn canonical<'a>(aliases: &'a HashMap<String, EventName>, raw: &'a str) -> &'a str {
    let t = raw.trim();
    aliases.get(t).map_or(t, EventName::as_str)
}

impl Dedupe {
    /// A deduplicator whose transactions keep the lines [`first_purchases`] found.
    pub(crate) fn new(winners: HashMap<String, u64>) -> Self {
        Dedupe {
            seen: FxHashSet::default(),
            winners,
        }
    }

    /// Whether the row at `line` is kept: not an exact duplicate of an earlier row, and, for a
    /// valid purchase with a transaction id, its transaction's earliest copy.
    pub(crate) fn check(
        &mut self,
        line: u64,
        key: &RowKey<'_>,
        aliases: &HashMap<String, EventName>,
        transaction: &str,
    ) -> Verdict {
        let mut h = FxHasher::default();
        for part in [
            key.stream_id,
            key.user.trim(),
            key.session_id,
            key.event.trim(),
            key.timestamp,
            key.params,
        ] {
            part.hash(&mut h);
        }
        if !self.seen.insert(h.finish()) {
            return Verdict::DuplicateRow;
        }
        let valid = !key.user.trim().is_empty() && key.timestamp.trim().parse::<i64>().is_ok();
        let t = transaction.trim();
        if valid && !t.is_empty() && canonical(aliases, key.event) == PURCHASE {
            if let Some(&kept) = self.winners.get(t) {
                if kept != line {
                    return Verdict::DuplicateTransaction;
                }
            }
        }
        Verdict::Keep
    }
}

/// The fields the first pass reads.
#[derive(Deserialize)]
struct PurchaseRow {
    event_timestamp: Option<Value>,
    event_name: Option<String>,
    user_pseudo_id: Option<String>,
    ecommerce: Option<Ecommerce>,
    batch_ordering_id: Option<Value>,
    batch_event_index: Option<Value>,
}

#[derive(Deserialize)]
struct Ecommerce {
    transaction_id: Option<String>,
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// A first pass over the export (only lines that mention `transaction_id` are parsed): for each
/// transaction id of a valid purchase, the line of its earliest copy by (`event_timestamp`,
/// `batch_ordering_id`, `batch_event_index`, line). Line numbers count as the main pass does.
pub(crate) fn first_purchases(spec: &LogSpec) -> Result<HashMap<String, u64>, SourceError> {
    let reader = super::ga4_export::open_shards(&spec.path, false)?;
    let mut buf = BufReader::with_capacity(1 << 16, reader);
    let mut bytes = Vec::new();
    let mut line = 0u64;
    type Rank = (i64, i64, i64, u64);
    let mut best: HashMap<String, Rank> = HashMap::new();
    loop {
        bytes.clear();
        let n = buf
            .read_until(b'\n', &mut bytes)
            .map_err(|source| SourceError::Io {
                path: spec.path.clone(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        if !bytes.windows(14).any(|w| w == b"transaction_id") {
            continue;
        }
        let Ok(row) = serde_json::from_slice::<PurchaseRow>(&bytes) else {
            continue; // the main pass reports it
        };
        let Some(t) = row
            .ecommerce
            .and_then(|e| e.transaction_id)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
        else {
            continue;
        };
        let name = row.event_name.unwrap_or_default();
        let user = row.user_pseudo_id.unwrap_or_default();
        let Some(ts) = int(row.event_timestamp.as_ref()) else {
            continue;
        };
        if user.trim().is_empty() || canonical(&spec.aliases, &name) != PURCHASE {
            continue;
        }
        // A missing batch position sorts first, as NULL does in an ascending ORDER BY.
        let rank = (
            ts,
            int(row.batch_ordering_id.as_ref()).unwrap_or(i64::MIN),
            int(row.batch_event_index.as_ref()).unwrap_or(i64::MIN),
            line,
        );
        let slot = best.entry(t).or_insert(rank);
        if rank < *slot {
            *slot = rank;
        }
    }
    Ok(best.into_iter().map(|(t, r)| (t, r.3)).collect())
}

/// The raw text of `event_params` (empty when absent), for the exact-duplicate key.
pub(crate) fn params_text(raw: Option<&RawValue>) -> &str {
    raw.map_or("", RawValue::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(ts: &'a str, params: &'a str) -> RowKey<'a> {
        RowKey {
            stream_id: "1",
            user: "u1",
            session_id: "77",
            event: "purchase",
            timestamp: ts,
            params,
        }
    }

    #[test]
    fn exact_duplicates_and_repeated_transactions_are_told_apart() {
        let aliases = HashMap::new();
        let winners = HashMap::from([("T1".to_string(), 2u64)]);
        let mut d = Dedupe::new(winners);
        // Line 1: a later reload of T1 (the winner is line 2, earlier in time).
        assert_eq!(
            d.check(1, &key("200", "[1]"), &aliases, "T1"),
            Verdict::DuplicateTransaction
        );
        assert_eq!(
            d.check(2, &key("100", "[1]"), &aliases, "T1"),
            Verdict::Keep
        );
        // The same row again: an exact duplicate, whatever its transaction.
        assert_eq!(
            d.check(3, &key("100", "[1]"), &aliases, "T1"),
            Verdict::DuplicateRow
        );
        // Other params: not the same row; no transaction id: kept.
        assert_eq!(d.check(4, &key("100", "[2]"), &aliases, ""), Verdict::Keep);
        // An invalid row (no user) is left to the reader's own checks.
        let mut k = key("300", "[1]");
        k.user = " ";
        assert_eq!(d.check(5, &k, &aliases, "T1"), Verdict::Keep);
    }
}
