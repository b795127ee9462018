//! The event every source hands to the observation builder ([`crate::observe`]), and why a row
//! can be refused: the contract between the readers in [`crate::source`] and the stages, so
//! that neither depends on the other's module.

use serde::Serialize;

/// One event as read from the log, borrowed from the reader's buffers.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// 1-based line in the file, for messages.
    pub line: u64,
    /// Position among accepted events; breaks timestamp ties in file order.
    pub seq: u64,
    /// Microseconds since the Unix epoch, UTC.
    pub micros: i64,
    /// User id (non-empty).
    pub user: &'a str,
    /// Session id, if the log has one for this row.
    pub session: Option<&'a str>,
    /// Canonical event name after aliasing.
    pub name: &'a str,
    /// Device segment, if any.
    pub device: Option<&'a str>,
    /// Channel segment, if any.
    pub channel: Option<&'a str>,
    /// Order value, if any.
    pub value: Option<f64>,
}

/// Why a row was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Wrong number of fields, invalid UTF-8 or invalid JSON.
    MalformedRow,
    /// The timestamp is empty or does not fit the file's format.
    BadTimestamp,
    /// No user id.
    MissingUserId,
    /// No event name.
    MissingEventName,
    /// The value column holds something that is not a number.
    BadValue,
    /// An event older than its user's already-closed inferred session, or one later than
    /// `analysis.lateness_minutes` behind the latest event from a user already folded.
    OutOfOrder,
    /// A timestamp outside the believable window (before `source.min_date`, after the run date
    /// plus `source.max_future_days`, or a lone jump beyond `source.max_jump_days`).
    ImplausibleTimestamp,
    /// A GA4 export row identical to an earlier one (same stream, user, session, event name,
    /// timestamp and parameters): removed as dbt-ga4 does.
    DuplicateRow,
    /// A later copy of a GA4 purchase with the same `transaction_id` (a reloaded thank-you
    /// page): only the earliest counts, as in dbt-ga4.
    DuplicateTransaction,
}

impl SkipReason {
    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::MalformedRow => "malformed row",
            SkipReason::BadTimestamp => "unreadable timestamp",
            SkipReason::MissingUserId => "missing user id",
            SkipReason::MissingEventName => "missing event name",
            SkipReason::BadValue => "value is not a number",
            SkipReason::OutOfOrder => {
                "event out of order (older than its user's closed session, or beyond the lateness)"
            }
            SkipReason::ImplausibleTimestamp => {
                "implausible timestamp (far from the rest of the log, or after the run date)"
            }
            SkipReason::DuplicateRow => "exact duplicate of an earlier export row",
            SkipReason::DuplicateTransaction => "purchase repeated with an earlier transaction_id",
        }
    }
}
