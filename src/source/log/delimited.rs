//! CSV: the csv crate's reader, and a fast path for files without quotes; header slots for the configured fields.

use super::*;

/// The trimmed text, or `None` when nothing is left.
pub(super) fn non_empty(s: &str) -> Option<&str> {
    let t = trim(s);
    (!t.is_empty()).then_some(t)
}

/// The CSV reader's buffer.
pub(super) const CSV_BUFFER: usize = 1 << 16;

pub(super) fn read_csv(
    spec: &LogSpec,
    reader: Box<dyn Read + Send>,
    delimiter: u8,
    state: &mut RowState<'_>,
    sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
) -> Result<(), SourceError> {
    let boundary = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let bounded = Bounded {
        inner: reader,
        read: 0,
        boundary: boundary.clone(),
        // The CSV reader reads ahead by up to its buffer: allow that on top of the row.
        limit: spec.max_row_bytes as u64 + CSV_BUFFER as u64,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(CSV_BUFFER)
        .from_reader(bounded);
    // StringRecord: the csv crate checks UTF-8 once per record instead of once per field.
    let mut rec = csv::StringRecord::new();
    let mut line = 0u64;
    let csv_err = |e: csv::Error, line: u64| match e.kind() {
        csv::ErrorKind::Io(io) if is_too_long(io) => SourceError::RowTooLong {
            path: spec.path.clone(),
            line: line + 1,
            limit: spec.max_row_bytes,
        },
        _ => SourceError::Csv {
            path: spec.path.clone(),
            message: e.to_string(),
        },
    };
    let header: Vec<String> = match &spec.columns {
        Some(cols) => cols.clone(),
        None => {
            if !rdr.read_record(&mut rec).map_err(|e| csv_err(e, 0))? {
                return Err(SourceError::Empty {
                    path: spec.path.clone(),
                });
            }
            rec.iter()
                .map(|f| f.trim().trim_start_matches('\u{feff}').to_string())
                .collect()
        }
    };
    let slots = resolve_slots(spec, &header, &mut state.summary)?;
    loop {
        // Where the next record starts: the bounded reader measures the record from here.
        let at = rdr.position().byte();
        boundary.store(at, std::sync::atomic::Ordering::Relaxed);
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // An I/O error is fatal; a parse error (bad quoting, invalid UTF-8) skips the row.
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(csv_err(e, line));
                }
                line = e.position().map(|p| p.line()).unwrap_or(line + 1);
                state.summary.rows_read += 1;
                state.reject(SkipReason::MalformedRow, line, e.to_string())?;
                continue;
            }
        }
        line = rec.position().map(|p| p.line()).unwrap_or(line + 1);
        if rdr.position().byte() - at > spec.max_row_bytes as u64 {
            return Err(SourceError::RowTooLong {
                path: spec.path.clone(),
                line,
                limit: spec.max_row_bytes,
            });
        }
        csv_record(&slots, line, rec.len(), |i| rec.get(i), state, sink)?;
    }
    state.finish(sink)
}

/// Hands one CSV record (`len` fields, field `i` from `get`) to the row state: a record of one
/// empty field is a blank line (skipped), another width a malformed row.
#[inline(always)]
pub(super) fn csv_record<'r>(
    slots: &Slots,
    line: u64,
    len: usize,
    get: impl Fn(usize) -> Option<&'r str>,
    state: &mut RowState<'_>,
    sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
) -> Result<(), SourceError> {
    if len != slots.width {
        if len == 1 && get(0).is_some_and(str::is_empty) {
            return Ok(()); // a blank line
        }
        state.summary.rows_read += 1;
        let d = format!("{len} fields, expected {}", slots.width);
        return state.reject(SkipReason::MalformedRow, line, d);
    }
    let field = |i: Option<usize>| i.and_then(&get).unwrap_or("");
    let raw = RawRow {
        line,
        order: None,
        timestamp: field(Some(slots.timestamp)),
        user: field(Some(slots.user)),
        session: field(slots.session),
        event: field(Some(slots.event)),
        device: field(slots.device),
        channel: field(slots.channel),
        value: field(slots.value),
    };
    state.row(raw, sink)
}

/// [`read_csv`] on the quote-free fast path ([`crate::source::csv_fast`]): the same records, lines and
/// skips, with lines split in place. Not used with `strict`, whose messages quote the csv crate.
pub(super) fn read_csv_fast(
    spec: &LogSpec,
    reader: Box<dyn Read + Send>,
    delimiter: u8,
    state: &mut RowState<'_>,
    sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
) -> Result<(), SourceError> {
    use crate::source::csv_fast::{FastCsv, Step};
    let mut rdr = FastCsv::new(reader, delimiter);
    // I/O errors read as the csv crate reports them.
    let io = |e: std::io::Error| SourceError::Csv {
        path: spec.path.clone(),
        message: e.to_string(),
    };
    let too_long = |line: u64| SourceError::RowTooLong {
        path: spec.path.clone(),
        line,
        limit: spec.max_row_bytes,
    };
    let header: Vec<String> = match &spec.columns {
        Some(cols) => cols.clone(),
        // The csv path bounds the header by the limit plus its buffer.
        None => match rdr
            .next_record(spec.max_row_bytes + CSV_BUFFER)
            .map_err(io)?
        {
            Step::End => {
                return Err(SourceError::Empty {
                    path: spec.path.clone(),
                })
            }
            Step::Record(rec) => rec
                .iter()
                .map(|f| f.trim().trim_start_matches('\u{feff}').to_string())
                .collect(),
            Step::NotUtf8 {
                line,
                field,
                valid_up_to,
            } => {
                return Err(SourceError::Csv {
                    path: spec.path.clone(),
                    message: format!(
                        "CSV parse error: record 0 (line {line}, byte 0): invalid utf-8: \
                         invalid UTF-8 in field {field} near byte index {valid_up_to}"
                    ),
                })
            }
            Step::TooLong(_) => return Err(too_long(1)),
        },
    };
    let slots = resolve_slots(spec, &header, &mut state.summary)?;
    loop {
        match rdr.next_record(spec.max_row_bytes).map_err(io)? {
            Step::End => break,
            Step::Record(rec) => {
                csv_record(&slots, rec.line, rec.len(), |i| rec.get(i), state, sink)?
            }
            Step::NotUtf8 { line, .. } => {
                state.summary.rows_read += 1;
                state.reject(SkipReason::MalformedRow, line, "invalid UTF-8".into())?;
            }
            Step::TooLong(line) => return Err(too_long(line)),
        }
    }
    state.finish(sink)
}

pub(super) fn resolve_slots(
    spec: &LogSpec,
    header: &[String],
    summary: &mut ReadSummary,
) -> Result<Slots, SourceError> {
    let find = |name: &str| header.iter().position(|h| h == name);
    let required = |field: &'static str, name: &str| {
        find(name).ok_or_else(|| SourceError::MissingColumn {
            path: spec.path.clone(),
            field,
            column: name.to_string(),
            available: header.join(", "),
        })
    };
    let mut optional = |field: &str, name: &Option<String>| match name {
        None => None,
        Some(n) => {
            let pos = find(n);
            if pos.is_none() {
                summary.absent_fields.push(field.to_string());
            }
            pos
        }
    };
    let f = &spec.fields;
    Ok(Slots {
        timestamp: required("timestamp", &f.timestamp)?,
        user: required("user_id", &f.user_id)?,
        event: required("event_name", &f.event_name)?,
        session: optional("session_id", &f.session_id),
        device: optional("device", &f.device),
        channel: optional("channel", &f.channel),
        value: optional("value", &f.value),
        width: header.len(),
    })
}
