//! The canonical event log, the default source: CSV or JSON Lines (optionally gzip-compressed),
//! read in one streaming pass.
//!
//! Column names, a header-less column list, the timestamp format and event-name aliases are
//! configurable, so exports such as REES46 (`event_type` view/cart/purchase) or Taobao
//! (header-less, Unix seconds, pv/cart/fav/buy) load with configuration alone. Malformed rows are
//! skipped and counted by reason with their first line numbers; `strict` stops at the first one.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use serde::Serialize;

use super::timestamp::{trim, TimestampFormat};
use super::SourceError;
use crate::types::EventName;

/// File layout of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Delimited text with the given delimiter byte.
    Csv {
        /// Field delimiter, usually `,`.
        delimiter: u8,
    },
    /// One JSON object per line.
    JsonLines,
    /// GA4's BigQuery export as newline-delimited JSON (`bq extract`), read by
    /// [`super::ga4_export`]; column names and timestamp format are fixed by the schema.
    Ga4Export,
}

impl LogFormat {
    /// Guesses the format from the file name (`.jsonl`, `.ndjson`, `.json`, `.tsv`, else CSV),
    /// looking through a trailing `.gz`.
    pub fn from_path(path: &Path) -> Self {
        let name = path.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
            LogFormat::JsonLines
        } else if name.ends_with(".tsv") {
            LogFormat::Csv { delimiter: b'\t' }
        } else {
            LogFormat::Csv { delimiter: b',' }
        }
    }
}

/// Which column (CSV header name, position name in a header-less list, or JSON key) holds each
/// canonical field. Optional fields that are absent from the file are simply not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNames {
    /// Event time.
    pub timestamp: String,
    /// Person (or device/cookie) id.
    pub user_id: String,
    /// Session id; when absent or empty, sessions are cut at an inactivity gap.
    pub session_id: Option<String>,
    /// Event name, mapped through the aliases.
    pub event_name: String,
    /// Device segment (mobile/desktop/tablet).
    pub device: Option<String>,
    /// Channel segment (paid_social, organic_search, ...).
    pub channel: Option<String>,
    /// Order value (read on purchases).
    pub value: Option<String>,
}

impl Default for FieldNames {
    fn default() -> Self {
        FieldNames {
            timestamp: "timestamp".into(),
            user_id: "user_id".into(),
            session_id: Some("session_id".into()),
            event_name: "event_name".into(),
            device: Some("device".into()),
            channel: Some("channel".into()),
            value: Some("value".into()),
        }
    }
}

/// Everything needed to read one log file.
#[derive(Debug, Clone)]
pub struct LogSpec {
    /// The file (a `.gz` suffix means gzip).
    pub path: PathBuf,
    /// CSV or JSON Lines.
    pub format: LogFormat,
    /// For header-less CSV: the column names in order; `None` reads them from the first row.
    pub columns: Option<Vec<String>>,
    /// Where each canonical field lives.
    pub fields: FieldNames,
    /// How timestamps are written.
    pub timestamp_format: TimestampFormat,
    /// Raw event name → canonical name (`cart` → `add_to_cart`).
    pub aliases: HashMap<String, EventName>,
    /// Zone for timestamps written without one.
    pub time_zone: TimeZone,
    /// Stop at the first malformed row instead of skipping it.
    pub strict: bool,
    /// Threads to read with (`--threads`; `None`: the machine's cores). Two or more parse on
    /// one thread, observe on the calling one and count folded units on a third (the caller
    /// asks the observer for that, see [`LogSpec::pipelined`]); more are not used yet.
    pub threads: Option<usize>,
    /// Draw a progress bar on stderr while reading (only shown when stderr is a terminal).
    pub progress: bool,
    /// Longest row (CSV record, JSON line) in bytes; a longer one stops the read with
    /// [`SourceError::RowTooLong`], so memory stays bounded whatever the input.
    pub max_row_bytes: usize,
    /// Which timestamps are believable; the others are set aside as
    /// [`SkipReason::ImplausibleTimestamp`] and never reach the sink.
    pub plausible: Plausible,
}

/// The window of believable timestamps (µs since the epoch), so one stray row (a year-2100
/// clock, a zero epoch) cannot move the stream's watermark or the weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plausible {
    /// Earliest believable time.
    pub not_before: i64,
    /// Latest believable time (the run date plus a margin).
    pub not_after: i64,
    /// A row later than every row so far by more than this is held back until the rows after
    /// it confirm the jump (a real gap in the data), else set aside.
    pub max_jump: i64,
}

impl Plausible {
    /// The defaults: not before 2000-01-01, not after now + 1 day, jumps of 28 days.
    pub fn defaults() -> Self {
        const DAY: i64 = 86_400_000_000;
        Plausible {
            not_before: 946_684_800_000_000,
            not_after: jiff::Timestamp::now().as_microsecond().saturating_add(DAY),
            max_jump: 28 * DAY,
        }
    }

    /// No limits at all (every parsed timestamp is believed).
    pub fn unbounded() -> Self {
        Plausible {
            not_before: i64::MIN,
            not_after: i64::MAX,
            max_jump: i64::MAX,
        }
    }
}

impl LogSpec {
    /// Whether the read is spread over threads: `threads` (default the cores) is 2 or more
    /// and the read is not `strict` (which reads on the calling thread alone).
    pub fn pipelined(&self) -> bool {
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        threads > 1 && !self.strict
    }

    /// A spec with the canonical column names and automatic format detection.
    pub fn canonical(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        LogSpec {
            format: LogFormat::from_path(&path),
            path,
            columns: None,
            fields: FieldNames::default(),
            timestamp_format: TimestampFormat::Auto,
            aliases: HashMap::new(),
            time_zone: TimeZone::UTC,
            strict: false,
            threads: None,
            progress: false,
            max_row_bytes: DEFAULT_MAX_ROW_BYTES,
            plausible: Plausible::defaults(),
        }
    }
}

/// Default [`LogSpec::max_row_bytes`]: 1 MiB.
pub const DEFAULT_MAX_ROW_BYTES: usize = 1 << 20;

pub use crate::event::{Event, SkipReason};

/// Count of skipped rows for one reason, with the first few line numbers to look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SkipTally {
    /// Rows skipped for this reason.
    pub count: u64,
    /// Up to five line numbers, in file order.
    pub first_lines: Vec<u64>,
}

/// What reading the file did: rows read, rows skipped by reason, formats in force.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadSummary {
    /// Data rows seen (excluding a header).
    pub rows_read: u64,
    /// Rows accepted and passed on.
    pub rows_accepted: u64,
    /// Skipped rows by reason.
    pub rows_skipped: BTreeMap<SkipReason, SkipTally>,
    /// The timestamp format used (detected or configured).
    pub timestamp_format: String,
    /// Optional canonical fields the file does not have.
    pub absent_fields: Vec<String>,
}

impl ReadSummary {
    /// Records a skipped row.
    pub fn skip(&mut self, reason: SkipReason, line: u64) {
        let t = self.rows_skipped.entry(reason).or_default();
        t.count += 1;
        // The five first lines, whatever order the skips were found in.
        if t.first_lines.len() < 5 || t.first_lines.last().is_some_and(|&l| l > line) {
            let at = t.first_lines.partition_point(|&l| l < line);
            t.first_lines.insert(at, line);
            t.first_lines.truncate(5);
        }
    }

    /// Total rows skipped over all reasons.
    pub fn skipped_total(&self) -> u64 {
        self.rows_skipped.values().map(|t| t.count).sum()
    }
}

/// Positions of the canonical fields in a CSV record.
struct Slots {
    timestamp: usize,
    user: usize,
    session: Option<usize>,
    event: usize,
    device: Option<usize>,
    channel: Option<usize>,
    value: Option<usize>,
    width: usize,
}

/// Opens the log: `-` is standard input; FIFOs, `/dev/stdin` and `<(...)` read like files.
/// Gzip is recognised by its magic bytes (whatever the name). A progress bar over the file's
/// bytes is drawn when `progress` is set and the size is known.
pub(crate) fn open(path: &Path, progress: bool) -> Result<Box<dyn Read + Send>, SourceError> {
    let (raw, len): (Box<dyn Read + Send>, u64) = if path == Path::new("-") {
        (Box::new(std::io::stdin()), 0)
    } else {
        let file = File::open(path).map_err(|source| SourceError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let meta = file.metadata().ok();
        // Only a regular file's size means anything: a pipe or FIFO reports 0.
        let len = meta.as_ref().filter(|m| m.is_file()).map_or(0, |m| m.len());
        if meta.is_some_and(|m| m.is_file() && m.len() == 0) {
            return Err(SourceError::Empty {
                path: path.to_path_buf(),
            });
        }
        (Box::new(file), len)
    };
    let mut buffered = BufReader::with_capacity(1 << 16, progress::wrap(raw, len, path, progress));
    let head = buffered.fill_buf().map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// A reader that fails with [`RowTooLong`] once more than `limit` bytes have been read past the
/// last row boundary the parser reported (through the shared counter): the CSV reader's record
/// buffer can then never grow beyond the limit plus one read.
struct Bounded<R> {
    inner: R,
    read: u64,
    boundary: std::sync::Arc<std::sync::atomic::AtomicU64>,
    limit: u64,
}

/// The error a [`Bounded`] reader (or [`bounded_line`]) returns for an over-long row.
#[derive(Debug)]
struct RowTooLong;

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("row too long")
    }
}

impl std::error::Error for RowTooLong {}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let since = self.read - self.boundary.load(std::sync::atomic::Ordering::Relaxed);
        if since > self.limit {
            return Err(std::io::Error::other(RowTooLong));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The error for a failed line read: the row-size limit's (naming the line), else I/O.
pub(crate) fn line_error(spec: &LogSpec, e: std::io::Error, line: u64) -> SourceError {
    if is_too_long(&e) {
        SourceError::RowTooLong {
            path: spec.path.clone(),
            line,
            limit: spec.max_row_bytes,
        }
    } else {
        SourceError::Io {
            path: spec.path.clone(),
            source: e,
        }
    }
}

/// Whether an I/O error is the row-size limit's.
fn is_too_long(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<RowTooLong>())
}

/// Reads one line (up to and including `\n`) into `out`, at most `limit` bytes: a longer line
/// is an error ([`RowTooLong`]) before more than `limit` plus one buffer is held.
pub(crate) fn bounded_line(
    buf: &mut impl BufRead,
    out: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    let start = out.len();
    loop {
        let chunk = match buf.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(out.len() - start);
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if out.len() - start + take > limit {
            return Err(std::io::Error::other(RowTooLong));
        }
        out.extend_from_slice(&chunk[..take]);
        buf.consume(take);
        if done {
            return Ok(out.len() - start);
        }
    }
}

/// A progress bar on stderr over the bytes of the file read so far.
mod progress;

/// Reads the log, calling `sink` for every accepted event, and returns what was read and skipped.
///
/// With more than one thread ([`LogSpec::threads`], default the cores; not with `strict`), the
/// file is parsed on a second
/// thread while `sink` runs on the calling one: rows travel in batches over a bounded channel, in
/// file order, so `sink` sees exactly the events (and sequence numbers) of a serial read.
///
/// Errors (not skips): missing or empty file, a required column that is not there, a timestamp
/// format that cannot be detected, and, with `strict`, the first malformed row.
pub fn read_log(
    spec: &LogSpec,
    mut sink: impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
) -> Result<ReadSummary, SourceError> {
    read_log_prepared(spec, |_| Some(()), |e, ()| sink(e))
}

/// [`read_log`] with a first step on the parsing thread: `prepare` sees every accepted event in
/// file order and returns a tag for it (`None`: the event goes no further, still counted as
/// accepted), and `sink` gets the event with its tag, in the same order, on the calling thread.
/// Work that only depends on the events so far (numbering users, say) can so move off the
/// calling thread; with one thread both run there, one after the other.
pub fn read_log_prepared<T: Send>(
    spec: &LogSpec,
    mut prepare: impl FnMut(&Event<'_>) -> Option<T> + Send,
    mut sink: impl FnMut(&Event<'_>, T) -> Result<(), SkipReason>,
) -> Result<ReadSummary, SourceError> {
    let reader = match spec.format {
        // A folder or a pattern of `bq extract` shards reads as one stream.
        LogFormat::Ga4Export => super::ga4_export::open_shards(&spec.path, spec.progress)?,
        _ => open(&spec.path, spec.progress)?,
    };
    let mut summary = if spec.pipelined() {
        read_pipelined(spec, reader, &mut prepare, &mut sink)?
    } else {
        let mut state = RowState::new(spec);
        let mut both = |e: &Event<'_>| match prepare(e) {
            Some(tag) => sink(e, tag),
            None => Ok(()),
        };
        parse_into(spec, reader, &mut state, &mut both)?;
        state.summary.timestamp_format = state.format.to_string();
        state.summary
    };
    if summary.rows_read == 0 {
        return Err(SourceError::Empty {
            path: spec.path.clone(),
        });
    }
    summary.rows_accepted = summary.rows_accepted.min(summary.rows_read);
    Ok(summary)
}

/// Parses the whole file in its format, handing each valid row to `sink`.
fn parse_into(
    spec: &LogSpec,
    reader: Box<dyn Read + Send>,
    state: &mut RowState<'_>,
    sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
) -> Result<(), SourceError> {
    match spec.format {
        LogFormat::Csv { delimiter } if !spec.strict => {
            read_csv_fast(spec, reader, delimiter, state, sink)
        }
        LogFormat::Csv { delimiter } => read_csv(spec, reader, delimiter, state, sink),
        LogFormat::JsonLines => read_jsonl(spec, reader, state, sink),
        LogFormat::Ga4Export => super::ga4_export::read(spec, reader, state, sink),
    }
}

mod pipelined;
use pipelined::*;
/// Rows buffered at the start of a file: the timestamp format is detected on them (the one that
/// reads most of them), and their median anchors the believable range.
const SAMPLE_ROWS: usize = 200;
/// Rows past a jump that confirm it (a real gap in the data): they are then all released.
const CONFIRM_ROWS: usize = 16;
/// Ordinary rows after a held-back jump that show it was a stray row: it is then set aside.
const JUMP_WINDOW: u64 = 1000;

/// Per-file reading state shared by the CSV, JSON and GA4 export paths.
///
/// Rows pass three stages: the first [`SAMPLE_ROWS`] are buffered to detect the timestamp
/// format and the log's bulk; then every row's timestamp is checked against the believable
/// window ([`Plausible`]); a row far beyond every row so far is held back until later rows
/// confirm the jump. Only then are the remaining fields checked and the row handed on.
pub(crate) struct RowState<'s> {
    spec: &'s LogSpec,
    format: TimestampFormat,
    pub(crate) summary: ReadSummary,
    seq: u64,
    /// The first rows, until the format is known (`None` once released).
    sample: Option<Vec<OwnedRow>>,
    /// Latest timestamp handed on so far: the reader's own watermark.
    hi: Option<i64>,
    /// Rows held back beyond a jump, with their times.
    held: Vec<(OwnedRow, i64)>,
    /// Ordinary rows read since the first held-back row.
    since_held: u64,
}

/// A row's fields copied out of the reader's buffers (sampled or held-back rows only).
#[derive(Debug, Clone)]
struct OwnedRow {
    line: u64,
    order: Option<u64>,
    text: [String; 7],
}

impl OwnedRow {
    fn of(r: &RawRow<'_>) -> Self {
        OwnedRow {
            line: r.line,
            order: r.order,
            text: [
                r.timestamp,
                r.user,
                r.session,
                r.event,
                r.device,
                r.channel,
                r.value,
            ]
            .map(String::from),
        }
    }

    fn raw(&self) -> RawRow<'_> {
        let [timestamp, user, session, event, device, channel, value] = &self.text;
        RawRow {
            line: self.line,
            order: self.order,
            timestamp,
            user,
            session,
            event,
            device,
            channel,
            value,
        }
    }
}

/// The raw text of one row's canonical fields.
pub(crate) struct RawRow<'a> {
    pub(crate) line: u64,
    /// Order among events of the same user at the same microsecond, when the source has one of
    /// its own (GA4's in-batch order); `None` is file order.
    pub(crate) order: Option<u64>,
    pub(crate) timestamp: &'a str,
    pub(crate) user: &'a str,
    pub(crate) session: &'a str,
    pub(crate) event: &'a str,
    pub(crate) device: &'a str,
    pub(crate) channel: &'a str,
    pub(crate) value: &'a str,
}

impl<'s> RowState<'s> {
    pub(crate) fn new(spec: &'s LogSpec) -> Self {
        RowState {
            spec,
            format: spec.timestamp_format.clone(),
            summary: ReadSummary::default(),
            seq: 0,
            sample: Some(Vec::new()),
            hi: None,
            held: Vec::new(),
            since_held: 0,
        }
    }

    pub(crate) fn reject(
        &mut self,
        reason: SkipReason,
        line: u64,
        detail: String,
    ) -> Result<(), SourceError> {
        if self.spec.strict {
            return Err(SourceError::Strict {
                path: self.spec.path.clone(),
                line,
                reason: reason.describe(),
                detail,
            });
        }
        self.summary.skip(reason, line);
        Ok(())
    }

    /// Takes one row: buffered while sampling, else checked and handed to the sink.
    pub(crate) fn row(
        &mut self,
        r: RawRow<'_>,
        sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
    ) -> Result<(), SourceError> {
        self.summary.rows_read += 1;
        if let Some(sample) = &mut self.sample {
            sample.push(OwnedRow::of(&r));
            // Strict mode stops at the first bad row, in file order: a sample of one.
            let cap = if self.spec.strict { 1 } else { SAMPLE_ROWS };
            if sample.len() >= cap {
                self.end_sample(sink)?;
            }
            return Ok(());
        }
        self.timed(&r, sink)
    }

    /// Releases what is still buffered at the end of the file: the sample, and rows held back
    /// beyond a jump that nothing confirmed (set aside). Every reader calls it once, last.
    pub(crate) fn finish(
        &mut self,
        sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
    ) -> Result<(), SourceError> {
        if self.sample.is_some() {
            self.end_sample(sink)?;
        }
        self.set_aside_held()
    }

    /// Fixes the timestamp format on the sample (the detected format that reads most of its
    /// rows), sets aside sample rows far beyond its median, and hands the rest on in order.
    fn end_sample(
        &mut self,
        sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
    ) -> Result<(), SourceError> {
        let sample = self.sample.take().unwrap_or_default();
        let tz = &self.spec.time_zone;
        if self.format == TimestampFormat::Auto {
            let mut tried: Vec<(TimestampFormat, usize)> = Vec::new();
            for r in &sample {
                if let Some(f) = TimestampFormat::detect(&r.text[0], tz) {
                    if !tried.iter().any(|(g, _)| *g == f) {
                        let n = sample
                            .iter()
                            .filter(|x| f.parse_micros(&x.text[0], tz).is_some())
                            .count();
                        tried.push((f, n));
                    }
                }
            }
            // The most rows read; ties go to the format seen first.
            let best = tried.iter().rev().max_by_key(|(_, n)| *n).cloned();
            match best {
                Some((f, _)) => self.format = f,
                None => {
                    if let Some(r) = sample.iter().find(|r| !trim(&r.text[0]).is_empty()) {
                        return Err(SourceError::UnknownTimestamp {
                            path: self.spec.path.clone(),
                            line: r.line,
                            value: r.text[0].clone(),
                        });
                    }
                }
            }
        }
        let mut times: Vec<i64> = sample
            .iter()
            .filter_map(|r| self.format.parse_micros(&r.text[0], tz))
            .filter(|&t| self.believable(t))
            .collect();
        if !times.is_empty() {
            times.sort_unstable();
            let median = times[times.len() / 2];
            let bound = median.saturating_add(self.spec.plausible.max_jump);
            // The watermark starts at the sample's latest believable time, so no sample row
            // counts as a jump.
            self.hi = times.iter().copied().filter(|&t| t <= bound).max();
        }
        for r in &sample {
            self.timed(&r.raw(), sink)?;
        }
        Ok(())
    }

    /// Within the configured window (not before `min_date`, not after the run date's margin).
    #[inline(always)]
    fn believable(&self, t: i64) -> bool {
        let p = &self.spec.plausible;
        t >= p.not_before && t <= p.not_after
    }

    /// Parses the timestamp and places the row: set aside when implausible, held back when
    /// far beyond every row so far, else checked and handed on.
    #[inline(always)]
    fn timed(
        &mut self,
        r: &RawRow<'_>,
        sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
    ) -> Result<(), SourceError> {
        let tz = &self.spec.time_zone;
        let Some(micros) = self.format.parse_micros(r.timestamp, tz) else {
            let f = &self.spec.fields;
            let d = if trim(r.timestamp) == f.timestamp && trim(r.event) == f.event_name {
                "a repeated header row (files joined together?)".to_string()
            } else {
                format!("timestamp {:?} is not {}", r.timestamp, self.format)
            };
            return self.reject(SkipReason::BadTimestamp, r.line, d);
        };
        if !self.believable(micros) {
            let d = format!(
                "timestamp {:?} is outside the believable window",
                r.timestamp
            );
            return self.reject(SkipReason::ImplausibleTimestamp, r.line, d);
        }
        match self.hi {
            Some(hi) if micros > hi.saturating_add(self.spec.plausible.max_jump) => {
                self.held.push((OwnedRow::of(r), micros));
                if self.held.len() >= CONFIRM_ROWS {
                    // Enough rows beyond the jump: a real gap in the data. Release them.
                    for (row, t) in std::mem::take(&mut self.held) {
                        self.accept(&row.raw(), t, sink)?;
                    }
                    self.since_held = 0;
                }
                return Ok(());
            }
            _ => {}
        }
        if !self.held.is_empty() {
            self.since_held += 1;
            if self.since_held >= JUMP_WINDOW {
                self.set_aside_held()?;
            }
        }
        self.accept(r, micros, sink)
    }

    /// Sets aside the rows held back beyond a jump that the rows after did not confirm.
    fn set_aside_held(&mut self) -> Result<(), SourceError> {
        for (row, _) in std::mem::take(&mut self.held) {
            let d = format!(
                "timestamp {:?} is far beyond the rest of the log (source.max_jump_days)",
                row.text[0]
            );
            self.reject(SkipReason::ImplausibleTimestamp, row.line, d)?;
        }
        self.since_held = 0;
        Ok(())
    }

    /// Checks the other fields of a timed row and hands it to the sink.
    #[inline(always)]
    fn accept(
        &mut self,
        r: &RawRow<'_>,
        micros: i64,
        sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
    ) -> Result<(), SourceError> {
        self.hi = Some(self.hi.map_or(micros, |h| h.max(micros)));
        let user = trim(r.user);
        if user.is_empty() {
            return self.reject(SkipReason::MissingUserId, r.line, "empty user id".into());
        }
        let raw_name = trim(r.event);
        if raw_name.is_empty() {
            return self.reject(
                SkipReason::MissingEventName,
                r.line,
                "empty event name".into(),
            );
        }
        let name = self
            .spec
            .aliases
            .get(raw_name)
            .map(EventName::as_str)
            .unwrap_or(raw_name);
        let value = match trim(r.value) {
            "" => None,
            v => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Some(x),
                _ => {
                    let d = format!("value {v:?} is not a number");
                    return self.reject(SkipReason::BadValue, r.line, d);
                }
            },
        };
        let ev = Event {
            line: r.line,
            seq: r.order.unwrap_or(self.seq),
            micros,
            user,
            session: non_empty(r.session),
            name,
            device: non_empty(r.device),
            channel: non_empty(r.channel),
            value,
        };
        match sink(&ev) {
            Ok(()) => {
                self.seq += 1;
                self.summary.rows_accepted += 1;
                Ok(())
            }
            Err(reason) => {
                let d = format!("event at {}", ev.micros);
                self.reject(reason, r.line, d)
            }
        }
    }
}

mod delimited;
use delimited::*;

mod jsonl;
use jsonl::*;

#[cfg(test)]
mod tests;
