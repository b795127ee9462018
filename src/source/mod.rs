//! Data sources: where events come from. The canonical event log (CSV / JSON Lines, optionally
//! gzip) and GA4's BigQuery export files feed the same [`log::Event`] stream into the observation
//! builder.

pub mod assignment;
pub mod bigquery;
mod csv_fast;
pub mod ga4_api;
pub mod ga4_dedupe;
pub mod ga4_export;
mod gcp;
pub mod google_ads;
pub mod http;
pub mod identified;
pub mod log;
pub mod meta;
pub mod remote;
/// Secrets and their redaction, at [`crate::secret`] (kept here for the older path).
pub use crate::secret;
pub mod timestamp;
pub mod window;

use std::path::PathBuf;

/// Why a source could not be read. Each variant names the file (and line or column) at fault.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The BigQuery pushdown SQL could not be generated from the settings.
    #[error(transparent)]
    PushdownSql(#[from] bigquery::sql::SqlError),
    /// The BigQuery pushdown's result could not be read.
    #[error(transparent)]
    Pushdown(#[from] bigquery::PushdownError),
    /// A BigQuery command on a config without a `[bigquery]` section.
    #[error(
        "{origin}: no [bigquery] section (project, dataset, key_file) to push the analysis down to"
    )]
    NoBigQuery {
        /// The config file.
        origin: String,
    },
    /// The file could not be opened.
    #[error("cannot open event log {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Reading failed part-way (disk error, corrupt gzip).
    #[error("cannot read event log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The CSV reader failed in a way that is not one bad row.
    #[error("cannot read event log {path}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The CSV reader's message.
        message: String,
    },
    /// A row longer than `source.max_row_bytes` (a runaway quote, a corrupt or hostile file).
    #[error("{path}:{line}: a row longer than {limit} bytes (source.max_row_bytes); the file is corrupt or not an event log, or raise the limit")]
    RowTooLong {
        /// The file.
        path: PathBuf,
        /// The line the row starts on.
        line: u64,
        /// The limit in force.
        limit: usize,
    },
    /// The file holds no events.
    #[error("{path}: the event log is empty (no data rows)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A required column is not in the header (or the configured column list).
    #[error("{path}: no column {column:?} for the {field} field; the file has: {available} (set the column name under [source.fields])")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The canonical field that needs the column.
        field: &'static str,
        /// The column name looked for.
        column: String,
        /// The columns that are there.
        available: String,
    },
    /// The first timestamp fits no known format.
    #[error("{path}:{line}: cannot tell the timestamp format of {value:?}; supported: RFC 3339, Unix seconds/ms/µs, or set source.timestamp_format to a strftime pattern")]
    UnknownTimestamp {
        /// The file.
        path: PathBuf,
        /// The line of the value.
        line: u64,
        /// The value.
        value: String,
    },
    /// An API source (Meta, GA4 Data API, Google Ads) or a snapshot of one failed.
    #[error(transparent)]
    Remote(Box<remote::RemoteError>),
    /// In strict mode, the first malformed row.
    #[error("{path}:{line}: {reason}: {detail} (strict mode stops at the first bad row)")]
    Strict {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// Why the row is bad.
        reason: &'static str,
        /// The offending value.
        detail: String,
    },
}

impl From<remote::RemoteError> for SourceError {
    fn from(e: remote::RemoteError) -> Self {
        SourceError::Remote(Box::new(e))
    }
}
