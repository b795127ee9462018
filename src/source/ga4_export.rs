//! GA4's BigQuery export, as the newline-delimited JSON files `bq extract` writes (optionally
//! gzip-compressed), read into the same [`Event`](super::log::Event) stream as the canonical log.
//!
//! Field mapping (schema: <https://support.google.com/analytics/answer/7029846>):
//! - time: `event_timestamp` (µs since the epoch, UTC; BigQuery writes INT64 as a JSON string);
//! - user: `user_pseudo_id`;
//! - session: `user_pseudo_id` + `.` + the `ga_session_id` event parameter (`int_value`), GA4's
//!   own session key; rows without it fall back to inactivity-gap sessions;
//! - event: `event_name` (through `[source.aliases]` like any log);
//! - device: `device.category`;
//! - channel: `session_traffic_source_last_click.manual_campaign` source/medium (the session's
//!   last click), else `traffic_source` (the user's first touch), mapped by [`channel_of`];
//! - value: `ecommerce.purchase_revenue`.
//!
//! Rows that are not JSON or lack a field are skipped and counted exactly like the canonical
//! reader's rows (same reasons, same first line numbers, same `strict` mode).

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::log::{Event, LogSpec, RawRow, RowState, SkipReason};
use super::SourceError;

/// One exported row; only the fields optsignal reads. Unknown fields are ignored.
#[derive(Deserialize)]
struct Row {
    event_timestamp: Option<Value>,
    event_name: Option<String>,
    user_pseudo_id: Option<String>,
    /// Kept as written: its text is part of the exact-duplicate key ([`super::ga4_dedupe`]).
    event_params: Option<Box<serde_json::value::RawValue>>,
    stream_id: Option<Value>,
    device: Option<Device>,
    session_traffic_source_last_click: Option<LastClick>,
    traffic_source: Option<SourceMedium>,
    ecommerce: Option<Ecommerce>,
    batch_ordering_id: Option<Value>,
    batch_event_index: Option<Value>,
}

/// Bits of the in-batch event index in [`batch_order`].
const EVENT_INDEX_BITS: u32 = 20;

/// GA4's order of events that share a microsecond: `batch_ordering_id`, then
/// `batch_event_index`, packed into one number (the pushdown SQL orders by the same two
/// columns). `None` when the export has no batch columns (before 2024) or they do not fit, and
/// the file's order decides.
fn batch_order(ordering: Option<&Value>, index: Option<&Value>) -> Option<u64> {
    let num = |v: Option<&Value>| match v? {
        Value::String(s) => s.parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let (o, i) = (num(ordering)?, num(index)?);
    (o < 1 << (64 - EVENT_INDEX_BITS) && i < 1 << EVENT_INDEX_BITS)
        .then_some(o << EVENT_INDEX_BITS | i)
}

#[derive(Deserialize)]
struct Param {
    key: Option<String>,
    value: Option<ParamValue>,
}

#[derive(Deserialize)]
struct ParamValue {
    int_value: Option<Value>,
}

#[derive(Deserialize)]
struct Device {
    category: Option<String>,
}

#[derive(Deserialize)]
struct LastClick {
    manual_campaign: Option<SourceMedium>,
}

#[derive(Deserialize)]
struct SourceMedium {
    source: Option<String>,
    medium: Option<String>,
}

#[derive(Deserialize)]
struct Ecommerce {
    purchase_revenue: Option<Value>,
    transaction_id: Option<String>,
}

/// A scalar cell as text: BigQuery writes INT64 as strings and FLOAT as numbers.
fn scalar(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

impl SourceMedium {
    fn channel(&self) -> Option<&'static str> {
        let s = self.source.as_deref().unwrap_or("");
        let m = self.medium.as_deref().unwrap_or("");
        channel_of(s, m)
    }
}

/// Sources that are search engines (matched as substrings).
pub(crate) const SEARCH: [&str; 10] = [
    "google",
    "bing",
    "yahoo",
    "duckduckgo",
    "baidu",
    "yandex",
    "ecosia",
    "naver",
    "msn",
    "ask",
];
/// Sources that are social networks (matched as substrings).
pub(crate) const SOCIAL: [&str; 11] = [
    "facebook",
    "instagram",
    "tiktok",
    "pinterest",
    "snapchat",
    "linkedin",
    "twitter",
    "reddit",
    "youtube",
    "threads",
    "meta",
];
/// Short social sources, matched whole.
pub(crate) const SOCIAL_SHORT: [&str; 4] = ["fb", "ig", "x", "t.co"];

/// Media that mean email.
pub(crate) const EMAIL_MEDIA: [&str; 5] = ["email", "e-mail", "e_mail", "e mail", "newsletter"];
/// Media that mean (organic) social.
pub(crate) const SOCIAL_MEDIA: [&str; 6] = [
    "social",
    "social-network",
    "social-media",
    "sm",
    "social network",
    "social media",
];

fn is_search(source: &str) -> bool {
    SEARCH.iter().any(|s| source.contains(s))
}

fn is_social(source: &str) -> bool {
    SOCIAL_SHORT.contains(&source) || SOCIAL.iter().any(|s| source.contains(s))
}

/// Maps a GA4 source/medium pair to optsignal's channel names, after GA4's default channel
/// grouping (simplified): `(direct)/(none)` → `direct`; email media → `email`; display media
/// (`display`, `banner`, `cpm`, ...) → `display`; paid media (`cpc`, `ppc`, `paid*`, `*cp*`,
/// `retargeting`) → `paid_social` from a social source or a `*social*` medium, `paid_search`
/// from a search engine, else `paid_other`; `organic` → `organic_search` from a search engine;
/// social sources or media → `organic_social`; `referral`, `affiliate` → themselves; anything
/// else → `other`. `None` when both are empty or `(not set)`.
pub fn channel_of(source: &str, medium: &str) -> Option<&'static str> {
    let source = source.trim().to_ascii_lowercase();
    let medium = medium.trim().to_ascii_lowercase();
    let unset = |x: &str| x.is_empty() || x == "(not set)" || x == "(none)";
    if unset(&source) && unset(&medium) {
        return None;
    }
    if source == "(direct)" && unset(&medium) {
        return Some("direct");
    }
    if EMAIL_MEDIA.contains(&medium.as_str()) {
        return Some("email");
    }
    if matches!(
        medium.as_str(),
        "display" | "banner" | "expandable" | "interstitial" | "cpm"
    ) {
        return Some("display");
    }
    let paid = medium.contains("cp")
        || medium == "ppc"
        || medium == "retargeting"
        || medium.starts_with("paid");
    if paid {
        return Some(if is_social(&source) || medium.contains("social") {
            "paid_social"
        } else if is_search(&source) {
            "paid_search"
        } else {
            "paid_other"
        });
    }
    if medium == "organic" && is_search(&source) {
        return Some("organic_search");
    }
    if is_social(&source) || SOCIAL_MEDIA.contains(&medium.as_str()) {
        return Some("organic_social");
    }
    match medium.as_str() {
        "referral" => Some("referral"),
        "affiliate" => Some("affiliate"),
        "organic" => Some("organic_search"),
        _ => Some("other"),
    }
}

/// Whether a file name looks like an export shard: `.json`, `.ndjson` or `.jsonl`, optionally
/// `.gz`, and not hidden.
fn is_shard_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n.strip_suffix(".gz").unwrap_or(&n);
    !name.starts_with('.')
        && (n.ends_with(".json") || n.ends_with(".ndjson") || n.ends_with(".jsonl"))
}

/// Whether `name` matches a file-name pattern with `*` (any run) and `?` (one character).
fn wildcard(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|k| wildcard(rest, &name[k..])),
        Some(('?', rest)) => !name.is_empty() && wildcard(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && wildcard(rest, &name[1..]),
    }
}

/// The files a GA4 export `source.path` names, in name order: the file itself; every shard
/// (`*.json`, `*.ndjson`, `*.jsonl`, optionally `.gz`) in a folder, as `bq extract` writes them
/// (`events-000000000000.json.gz`, `events-000000000001.json.gz`, ...); or the files a `*` / `?`
/// pattern in the last path component matches (`exports/events-*.json.gz`).
pub fn shards(path: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let none = |why: String| SourceError::Open {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, why),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let pattern = name.contains(['*', '?']);
    if !pattern && !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    type Keep = Box<dyn Fn(&str) -> bool>;
    let (folder, keep): (PathBuf, Keep) = if pattern {
        let p: Vec<char> = name.chars().collect();
        let parent = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        (
            parent,
            Box::new(move |n: &str| {
                !n.starts_with('.') && wildcard(&p, &n.chars().collect::<Vec<_>>())
            }),
        )
    } else {
        (path.to_path_buf(), Box::new(is_shard_name))
    };
    let entries = std::fs::read_dir(&folder).map_err(|source| SourceError::Open {
        path: folder.clone(),
        source,
    })?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .filter(|e| keep(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(none(if pattern {
            "no file matches the pattern".into()
        } else {
            "the folder holds no export shard (*.json, *.ndjson or *.jsonl, optionally .gz)".into()
        }));
    }
    Ok(out)
}

/// The shards of [`shards`] as one continuous stream: each opened (and un-gzipped) in turn when
/// the previous one ends, with a line break between two shards when the first does not end with
/// one. Empty (0-byte) shards are passed over; read errors name the shard.
pub(crate) fn open_shards(
    path: &Path,
    progress: bool,
) -> Result<Box<dyn Read + Send>, SourceError> {
    let files = shards(path)?;
    if files.len() == 1 {
        return super::log::open(&files[0], progress);
    }
    Ok(Box::new(Shards {
        files: files.into_iter().collect(),
        current: None,
        last: b'\n',
        pending_newline: false,
    }))
}

/// Reads export shards one after another.
struct Shards {
    files: std::collections::VecDeque<PathBuf>,
    current: Option<(PathBuf, Box<dyn Read + Send>)>,
    last: u8,
    pending_newline: bool,
}

impl Read for Shards {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.pending_newline {
                self.pending_newline = false;
                self.last = b'\n';
                out[0] = b'\n';
                return Ok(1);
            }
            let Some((name, reader)) = &mut self.current else {
                let Some(next) = self.files.pop_front() else {
                    return Ok(0);
                };
                if std::fs::metadata(&next).is_ok_and(|m| m.len() == 0) {
                    continue;
                }
                let r = super::log::open(&next, false)
                    .map_err(|e| std::io::Error::other(format!("shard {}: {e}", next.display())))?;
                self.current = Some((next, r));
                continue;
            };
            match reader.read(out) {
                Ok(0) => {
                    self.current = None;
                    self.pending_newline = self.last != b'\n';
                }
                Ok(n) => {
                    self.last = out[n - 1];
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("shard {}: {e}", name.display()),
                    ))
                }
            }
        }
    }
}

/// Reads a GA4 export file already opened (and un-gzipped) by the log reader.
pub(crate) fn read(
    spec: &LogSpec,
    reader: Box<dyn Read>,
    state: &mut RowState<'_>,
    sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
) -> Result<(), SourceError> {
    let mut dedupe = super::ga4_dedupe::Dedupe::new(super::ga4_dedupe::first_purchases(spec)?);
    let mut buf = BufReader::with_capacity(1 << 16, reader);
    let mut bytes = Vec::new();
    let mut line = 0u64;
    loop {
        bytes.clear();
        let n = super::log::bounded_line(&mut buf, &mut bytes, spec.max_row_bytes)
            .map_err(|e| super::log::line_error(spec, e, line + 1))?;
        if n == 0 {
            break;
        }
        line += 1;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            state.summary.rows_read += 1;
            state.reject(SkipReason::MalformedRow, line, "invalid UTF-8".into())?;
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let row: Row = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                state.summary.rows_read += 1;
                state.reject(SkipReason::MalformedRow, line, e.to_string())?;
                continue;
            }
        };
        let user = row.user_pseudo_id.unwrap_or_default();
        let params: Vec<Param> = match row.event_params.as_deref() {
            None => Vec::new(),
            Some(raw) => match serde_json::from_str(raw.get()) {
                Ok(p) => p,
                Err(e) => {
                    state.summary.rows_read += 1;
                    state.reject(SkipReason::MalformedRow, line, e.to_string())?;
                    continue;
                }
            },
        };
        let session_id = params
            .iter()
            .find(|p| p.key.as_deref() == Some("ga_session_id"))
            .and_then(|p| p.value.as_ref())
            .map(|v| scalar(v.int_value.as_ref()))
            .unwrap_or_default();
        let timestamp = scalar(row.event_timestamp.as_ref());
        let key = super::ga4_dedupe::RowKey {
            stream_id: &scalar(row.stream_id.as_ref()),
            user: &user,
            session_id: &session_id,
            event: row.event_name.as_deref().unwrap_or(""),
            timestamp: &timestamp,
            params: super::ga4_dedupe::params_text(row.event_params.as_deref()),
        };
        let transaction = row
            .ecommerce
            .as_ref()
            .and_then(|e| e.transaction_id.as_deref())
            .unwrap_or("");
        match dedupe.check(line, &key, &spec.aliases, transaction) {
            super::ga4_dedupe::Verdict::Keep => {}
            super::ga4_dedupe::Verdict::DuplicateRow => {
                state.summary.rows_read += 1;
                state.summary.skip(SkipReason::DuplicateRow, line);
                continue;
            }
            super::ga4_dedupe::Verdict::DuplicateTransaction => {
                state.summary.rows_read += 1;
                state.summary.skip(SkipReason::DuplicateTransaction, line);
                continue;
            }
        }
        let session = if session_id.is_empty() || user.trim().is_empty() {
            String::new()
        } else {
            format!("{}.{}", user.trim(), session_id)
        };
        let channel = row
            .session_traffic_source_last_click
            .as_ref()
            .and_then(|c| c.manual_campaign.as_ref())
            .and_then(SourceMedium::channel)
            .or_else(|| row.traffic_source.as_ref().and_then(SourceMedium::channel))
            .unwrap_or("");
        let raw = RawRow {
            line,
            order: batch_order(
                row.batch_ordering_id.as_ref(),
                row.batch_event_index.as_ref(),
            ),
            timestamp: &timestamp,
            user: &user,
            session: &session,
            event: row.event_name.as_deref().unwrap_or(""),
            device: row
                .device
                .as_ref()
                .and_then(|d| d.category.as_deref())
                .unwrap_or(""),
            channel,
            value: &scalar(
                row.ecommerce
                    .as_ref()
                    .and_then(|e| e.purchase_revenue.as_ref()),
            ),
        };
        state.row(raw, sink)?;
    }
    state.finish(sink)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::log::{read_log, LogFormat};
    use crate::source::timestamp::TimestampFormat;

    #[test]
    fn channels_follow_the_default_grouping() {
        assert_eq!(channel_of("(direct)", "(none)"), Some("direct"));
        assert_eq!(channel_of("google", "cpc"), Some("paid_search"));
        assert_eq!(channel_of("google", "organic"), Some("organic_search"));
        assert_eq!(channel_of("facebook", "cpc"), Some("paid_social"));
        assert_eq!(channel_of("ig", "paid_social"), Some("paid_social"));
        assert_eq!(
            channel_of("l.instagram.com", "referral"),
            Some("organic_social")
        );
        assert_eq!(channel_of("newsletter", "email"), Some("email"));
        assert_eq!(channel_of("partner", "affiliate"), Some("affiliate"));
        assert_eq!(channel_of("gdn", "cpm"), Some("display"));
        assert_eq!(channel_of("blog.example", "referral"), Some("referral"));
        assert_eq!(channel_of("crm", "sms"), Some("other"));
        assert_eq!(channel_of("", ""), None);
        assert_eq!(channel_of("(not set)", "(not set)"), None);
    }

    fn spec(path: &std::path::Path) -> LogSpec {
        let mut s = LogSpec::canonical(path);
        s.format = LogFormat::Ga4Export;
        s.timestamp_format = TimestampFormat::UnixMicros;
        s
    }

    #[test]
    fn reads_the_export_shape_and_counts_bad_rows() {
        let body = concat!(
            r#"{"event_date":"20260907","event_timestamp":"1788739200000000","event_name":"purchase","event_params":[{"key":"ga_session_id","value":{"int_value":"1788739100"}},{"key":"page_location","value":{"string_value":"https://x/"}}],"user_pseudo_id":"123.456","device":{"category":"mobile"},"traffic_source":{"name":"(direct)","medium":"(none)","source":"(direct)"},"session_traffic_source_last_click":{"manual_campaign":{"source":"google","medium":"cpc"}},"ecommerce":{"purchase_revenue":42.5,"transaction_id":"T1"}}"#,
            "\n",
            r#"{"event_timestamp":1788739300000000,"event_name":"view_item","user_pseudo_id":"123.456","traffic_source":{"source":"newsletter","medium":"email"}}"#,
            "\n",
            "{\"event_timestamp\":\"17887\n",
            r#"{"event_timestamp":"1788739400000000","event_name":"view_item"}"#,
            "\n",
            r#"{"event_timestamp":"1788739400000000","event_name":"purchase","user_pseudo_id":"u","ecommerce":{"purchase_revenue":"abc"}}"#,
            "\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.ndjson");
        std::fs::write(&p, body).unwrap();
        let mut got = Vec::new();
        let s = read_log(&spec(&p), |e| {
            got.push(format!(
                "{} {} {:?} {} {:?} {:?} {:?}",
                e.micros, e.user, e.session, e.name, e.device, e.channel, e.value
            ));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            vec![
                "1788739200000000 123.456 Some(\"123.456.1788739100\") purchase Some(\"mobile\") Some(\"paid_search\") Some(42.5)",
                "1788739300000000 123.456 None view_item None Some(\"email\") None",
            ]
        );
        assert_eq!(s.rows_read, 5);
        assert_eq!(
            s.rows_skipped[&SkipReason::MalformedRow].first_lines,
            vec![3]
        );
        assert_eq!(
            s.rows_skipped[&SkipReason::MissingUserId].first_lines,
            vec![4]
        );
        assert_eq!(s.rows_skipped[&SkipReason::BadValue].first_lines, vec![5]);
    }
}
