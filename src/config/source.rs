//! Validation of `[source]`: where the events are, how they are written and the reader's limits
//! (row size, the plausible timestamp window).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;

use super::{Check, RawSource, DEFAULT_MAX_ROW_BYTES, MAX_ROW_BYTES_LIMIT};
use crate::source::log::{FieldNames, LogFormat, LogSpec, Plausible};
use crate::source::timestamp::TimestampFormat;

/// A validated `[source]`.
pub(super) struct SourceParts {
    /// How to read the log; its time zone is the analysis's, set by the caller.
    pub spec: LogSpec,
    /// `kind = "ga4_api"`: weekly volumes only.
    pub volumes_only: bool,
    /// `kind = "bigquery"`: read by pushdown.
    pub pushdown: bool,
}

/// Validates `[source]`, reporting every problem into `c`.
pub(super) fn source(c: &mut Check<'_>, s: &RawSource, base_dir: &Path) -> SourceParts {
    let volumes_only = s.kind.as_deref() == Some("ga4_api");
    let pushdown = s.kind.as_deref() == Some("bigquery");
    let path = match &s.path {
        // `-` (standard input) and absolute paths are taken as they are.
        Some(p) if p.is_absolute() || p == Path::new("-") => p.clone(),
        Some(p) => base_dir.join(p),
        None if volumes_only || pushdown => PathBuf::new(),
        None => {
            c.err(
                "source.path",
                "no event log given (set source.path or pass --events FILE)",
            );
            PathBuf::new()
        }
    };
    let ga4_export = match s.kind.as_deref() {
        None | Some("log") | Some("ga4_api") | Some("bigquery") => false,
        Some("ga4_export") => true,
        Some(other) => {
            c.err(
                "source.kind",
                format!("{other:?}: use \"log\" (canonical event log), \"ga4_export\" (GA4 BigQuery export files), \"bigquery\" (the GA4 export in BigQuery, by pushdown) or \"ga4_api\" (weekly volumes from the GA4 Data API)"),
            );
            false
        }
    };
    let format = log_format(c, s, &path, ga4_export);
    let timestamp_format = match s.timestamp_format.as_deref() {
        _ if ga4_export => TimestampFormat::UnixMicros,
        None => TimestampFormat::Auto,
        Some(f) => TimestampFormat::parse(f).unwrap_or_else(|| {
            c.err(
                "source.timestamp_format",
                format!("{f:?}: use auto, rfc3339, unix_s, unix_ms, unix_us or a strftime pattern with %"),
            );
            TimestampFormat::Auto
        }),
    };
    let aliases = aliases(c, s);
    let reading = read_limits(c, s);
    SourceParts {
        spec: LogSpec {
            path,
            format,
            columns: s.columns.clone(),
            fields: fields(s),
            timestamp_format,
            aliases,
            time_zone: TimeZone::UTC,
            strict: false,
            threads: None,
            progress: false,
            max_row_bytes: reading.max_row_bytes,
            plausible: reading.plausible,
        },
        volumes_only,
        pushdown,
    }
}

/// `source.format` and `source.delimiter` (default: from the file name).
fn log_format(c: &mut Check<'_>, s: &RawSource, path: &Path, ga4_export: bool) -> LogFormat {
    match s.format.as_deref() {
        _ if ga4_export => LogFormat::Ga4Export,
        None => LogFormat::from_path(path),
        Some("csv") => {
            let d = s.delimiter.as_deref().unwrap_or(",");
            match d.as_bytes() {
                [b] if b.is_ascii() => LogFormat::Csv { delimiter: *b },
                _ => {
                    c.err(
                        "source.delimiter",
                        format!("{d:?} must be one ASCII character"),
                    );
                    LogFormat::Csv { delimiter: b',' }
                }
            }
        }
        Some("jsonl") | Some("ndjson") => LogFormat::JsonLines,
        Some(other) => {
            c.err(
                "source.format",
                format!("{other:?}: use \"csv\" or \"jsonl\""),
            );
            LogFormat::from_path(path)
        }
    }
}

/// `[source.fields]`: column names, an empty string marking an optional field absent.
fn fields(s: &RawSource) -> FieldNames {
    let d = FieldNames::default();
    let f = &s.fields;
    let opt = |v: &Option<String>, dflt: Option<String>| match v.as_deref() {
        Some("") => None,
        Some(x) => Some(x.to_string()),
        None => dflt,
    };
    FieldNames {
        timestamp: f.timestamp.clone().unwrap_or(d.timestamp),
        user_id: f.user_id.clone().unwrap_or(d.user_id),
        session_id: opt(&f.session_id, d.session_id),
        event_name: f.event_name.clone().unwrap_or(d.event_name),
        device: opt(&f.device, d.device),
        channel: opt(&f.channel, d.channel),
        value: opt(&f.value, d.value),
    }
}

/// `[source.aliases]`: raw name → canonical event; a raw name may mean only one event.
fn aliases(c: &mut Check<'_>, s: &RawSource) -> HashMap<String, crate::types::EventName> {
    let mut aliases = HashMap::new();
    for (canonical, raws) in &s.aliases {
        let key = format!("source.aliases.{canonical}");
        let Some(e) = c.event(&key, canonical) else {
            continue;
        };
        for r in raws {
            if let Some(prev) = aliases.insert(r.clone(), e.clone()) {
                if prev != e {
                    c.err(&key, format!("{r:?} is already an alias of {prev}"));
                }
            }
        }
    }
    aliases
}

/// The reader's limits from `[source]`: row size and the plausible timestamp window.
struct ReadLimits {
    max_row_bytes: usize,
    plausible: Plausible,
}

/// Validates `source.max_row_bytes`, `max_future_days`, `min_date` and `max_jump_days`; the
/// window's upper end is the run date (now) plus `max_future_days`.
fn read_limits(c: &mut Check<'_>, s: &RawSource) -> ReadLimits {
    let rows = s.max_row_bytes.unwrap_or(DEFAULT_MAX_ROW_BYTES);
    if !(1024..=MAX_ROW_BYTES_LIMIT).contains(&rows) {
        c.err(
            "source.max_row_bytes",
            format!("{rows} must be 1024 to {MAX_ROW_BYTES_LIMIT} bytes"),
        );
    }
    let future = c.within(
        "source.max_future_days",
        s.max_future_days.unwrap_or(1),
        0,
        3660,
        "days",
    );
    let jump = c.within(
        "source.max_jump_days",
        s.max_jump_days.unwrap_or(28),
        1,
        3660,
        "days",
    );
    let min_text = s.min_date.as_deref().unwrap_or("2000-01-01");
    let not_before = match min_text.parse::<jiff::civil::Date>() {
        Ok(d) => d
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp().as_microsecond())
            .unwrap_or(i64::MIN),
        Err(e) => {
            c.err(
                "source.min_date",
                format!("{min_text:?} is not a date like 2000-01-01 ({e})"),
            );
            i64::MIN
        }
    };
    let day = 86_400_000_000i64;
    let not_after = jiff::Timestamp::now()
        .as_microsecond()
        .saturating_add(i64::from(future) * day);
    ReadLimits {
        max_row_bytes: usize::try_from(rows.min(MAX_ROW_BYTES_LIMIT)).unwrap_or(usize::MAX),
        plausible: Plausible {
            not_before,
            not_after,
            max_jump: i64::from(jump) * day,
        },
    }
}
