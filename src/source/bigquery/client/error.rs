//! Why a BigQuery call failed, in words that name the endpoint, the job and what to do.

use super::*;

/// Why a BigQuery call failed.
#[derive(Debug, thiserror::Error)]
pub enum BigQueryError {
    /// Transport, auth, malformed JSON, or an API error without a BigQuery reason.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The query would bill (dry-run estimate), or did try to bill, more than the limit; when
    /// the dry run refused it, no job was started.
    #[error("{at}: {}", bytes_limit_text(*estimate, *limit, message.as_deref()))]
    BytesBilledLimit {
        /// Where.
        at: Box<Endpoint>,
        /// The dry run's `totalBytesProcessed`, when one ran.
        estimate: Option<u64>,
        /// `maximum_bytes_billed`, when set here (BigQuery may enforce a project default).
        limit: Option<u64>,
        /// BigQuery's message, when BigQuery itself refused.
        message: Option<String>,
    },
    /// BigQuery refused the request or the job failed: `invalidQuery`, `notFound`,
    /// `accessDenied`, … with BigQuery's message and the location of the fault.
    #[error("{at}: {}", rejected_text(*status, job_id.as_deref(), reason, location.as_deref(), message))]
    Rejected {
        /// Where.
        at: Box<Endpoint>,
        /// HTTP status, or `None` when a 200 answer reported the job's errors.
        status: Option<u16>,
        /// The job, when known.
        job_id: Option<String>,
        /// BigQuery's reason code.
        reason: String,
        /// Where in the request the fault is (`query`), when given.
        location: Option<String>,
        /// BigQuery's message.
        message: String,
    },
    /// The job did not finish before the deadline; it was asked to cancel.
    #[error("{at}: job {job_id} did not finish within {:.0} s and was asked to cancel (raise the job timeout, or query fewer days)", waited.as_secs_f64())]
    Timeout {
        /// Where.
        at: Box<Endpoint>,
        /// The job.
        job_id: String,
        /// The deadline that passed.
        waited: Duration,
    },
    /// A column holds RECORD or REPEATED values; this client reads scalars only.
    #[error("{at}: column {column:?} is {kind}: only scalar columns can be read (flatten or aggregate it in the SQL)")]
    Nested {
        /// Where.
        at: Box<Endpoint>,
        /// The column.
        column: String,
        /// What it is (`REPEATED RECORD`).
        kind: String,
    },
    /// Fewer or more rows arrived than `totalRows` announced: the result is not used.
    #[error(
        "{at}: job {job_id}: read {read} rows but totalRows is {total}; the result was not used"
    )]
    RowCount {
        /// Where (the last page).
        at: Box<Endpoint>,
        /// The job.
        job_id: String,
        /// Rows read across pages.
        read: u64,
        /// `totalRows`.
        total: u64,
    },
    /// A column the caller needs is not in the result.
    #[error("no column {column:?} in the BigQuery result{}; it has: {available}", job_id.as_ref().map(|j| format!(" of job {j}")).unwrap_or_default())]
    MissingColumn {
        /// The column looked for.
        column: String,
        /// The job.
        job_id: Option<String>,
        /// The columns there are.
        available: String,
    },
}

impl BigQueryError {
    /// BigQuery's reason code (`invalidQuery`, `notFound`, …), when the error carries one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            BigQueryError::Rejected { reason, .. } => Some(reason),
            BigQueryError::BytesBilledLimit { .. } => Some("bytesBilledLimitExceeded"),
            BigQueryError::Http(HttpError::Api {
                reason: Some(r), ..
            }) => Some(&r.reason),
            _ => None,
        }
    }
}

pub(super) fn bytes_limit_text(
    estimate: Option<u64>,
    limit: Option<u64>,
    message: Option<&str>,
) -> String {
    let mut t = match (estimate, limit) {
        (Some(e), Some(l)) if message.is_none() => format!(
            "the dry run estimates {e} bytes processed, over maximum_bytes_billed = {l}; no job was started"
        ),
        _ => "BigQuery refused to bill more than the bytes limit".to_string(),
    };
    if let Some(m) = message {
        t.push_str(&format!(": {m}"));
        if let Some(l) = limit {
            t.push_str(&format!(" (maximum_bytes_billed = {l}"));
            if let Some(e) = estimate {
                t.push_str(&format!(", dry-run estimate {e}"));
            }
            t.push(')');
        }
    }
    t.push_str(" — raise maximum_bytes_billed, or query fewer days or events");
    t
}

pub(super) fn rejected_text(
    status: Option<u16>,
    job_id: Option<&str>,
    reason: &str,
    location: Option<&str>,
    message: &str,
) -> String {
    let mut t = match (status, job_id) {
        (Some(s), _) => format!("HTTP {s}: "),
        (None, Some(j)) => format!("job {j} failed: "),
        (None, None) => "the job failed: ".to_string(),
    };
    t.push_str(message);
    // The HTTP layer already tags the message with the reason; a job's errors are not tagged.
    if !message.contains(reason) {
        t.push_str(&format!(" [{reason}]"));
    }
    if let Some(l) = location.filter(|l| !l.is_empty()) {
        t.push_str(&format!(" (at {l})"));
    }
    let hint = match reason {
        "notFound" => Some("check the project, dataset and table names, and the location"),
        "accessDenied" => Some(
            "the service account needs roles/bigquery.jobUser on the billing project and roles/bigquery.dataViewer on the dataset",
        ),
        _ => None,
    };
    if let Some(h) = hint {
        t.push_str(&format!(" ({h})"));
    }
    t
}
