//! The identifiers a platform matches a conversion on (email, phone, Meta's `_fbp`/`_fbc`
//! cookies, IP address, user agent, Google's gclid, GA4's client id), read from a CSV event log
//! for `optsignal signal export`: per unit (session, or user) the first time it did each wanted
//! event in the last `days` days before the log's last event, with the first non-empty value of
//! each identifier the unit's rows carry.
//!
//! The analysis never needs these columns; a store can keep them in a separate, richer export
//! (`signal.path`). Units are pruned as the read goes once they are more than a day older than
//! the window, so memory follows the units of the last `days` days, not the whole file.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;

use super::timestamp::TimestampFormat;
use super::SourceError;
use crate::types::EventName;

/// The identifier parameters, in a fixed order.
pub const PARAMS: [&str; 9] = [
    "email",
    "phone",
    "fbp",
    "fbc",
    "client_ip_address",
    "client_user_agent",
    "gclid",
    "client_id",
    "event_id",
];

const DAY: i64 = 86_400_000_000;

/// What to read.
#[derive(Debug, Clone)]
pub struct IdentifiedSpec {
    /// The CSV file (`.gz` for gzip).
    pub path: PathBuf,
    /// Field delimiter.
    pub delimiter: u8,
    /// Timestamp column.
    pub timestamp: String,
    /// User id column.
    pub user_id: String,
    /// Session id column, if any.
    pub session_id: Option<String>,
    /// Event name column.
    pub event_name: String,
    /// Order value column, if any.
    pub value: Option<String>,
    /// How timestamps are written.
    pub timestamp_format: TimestampFormat,
    /// Zone of timestamps written without one.
    pub time_zone: TimeZone,
    /// Raw event name → canonical.
    pub aliases: HashMap<String, EventName>,
    /// Identifier parameter → (column, named in config): a column named in config must exist.
    pub columns: Vec<(&'static str, String, bool)>,
    /// Units are sessions (else users).
    pub by_session: bool,
}

/// The identifiers of one unit; `None` where its rows carry none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identifiers {
    /// One value per [`PARAMS`] entry.
    pub values: [Option<String>; 9],
}

impl Identifiers {
    /// The value of a parameter (`gclid`).
    pub fn get(&self, param: &str) -> Option<&str> {
        PARAMS
            .iter()
            .position(|p| *p == param)
            .and_then(|i| self.values[i].as_deref())
    }
}

/// A unit that did a wanted event in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// The unit's id (session id, or user id).
    pub unit: String,
    /// The user id.
    pub user: String,
    /// The canonical event.
    pub event: EventName,
    /// When the unit first did it, µs since the epoch (UTC).
    pub micros: i64,
    /// The value column on that row, when a number.
    pub value: Option<f64>,
    /// The row's own event id (`event_id` column), when present.
    pub row_event_id: Option<String>,
    /// The unit's identifiers.
    pub ids: Identifiers,
}

/// What the read found.
#[derive(Debug, Clone)]
pub struct IdentifiedRead {
    /// Qualifying units, ordered by time then unit.
    pub conversions: Vec<Conversion>,
    /// The window: (first µs included, last event's µs).
    pub window: (i64, i64),
    /// Data rows read.
    pub rows_read: u64,
    /// Rows skipped (no user, no event, unreadable timestamp).
    pub rows_skipped: u64,
    /// Identifier parameters whose column the file has.
    pub present: BTreeSet<&'static str>,
}

/// Why the identifiers could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IdentifiedError {
    /// The file could not be opened.
    #[error(transparent)]
    Open(#[from] SourceError),
    /// A column the config names (or a required field) is not in the file.
    #[error("{}: {key} = {column:?}: no such column (the file has: {})", path.display(), found.join(", "))]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The config key (`signal.columns.gclid`, `source.fields.timestamp`).
        key: String,
        /// The column looked for.
        column: String,
        /// The header.
        found: Vec<String>,
    },
    /// The CSV could not be parsed.
    #[error("{}: line {line}: {message}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// Line.
        line: u64,
        /// Parser's message.
        message: String,
    },
    /// No readable row.
    #[error("{}: no readable event row", path.display())]
    NoRows {
        /// The file.
        path: PathBuf,
    },
}

/// A unit being read.
struct Acc {
    user: String,
    last: i64,
    ids: Identifiers,
    /// Wanted events done, with (µs, value, row event id).
    done: Vec<(EventName, i64, Option<f64>, Option<String>)>,
}

/// Column positions of one file.
struct Layout {
    ts: usize,
    user: usize,
    session: Option<usize>,
    event: usize,
    value: Option<usize>,
    ids: Vec<(usize, usize)>,
}

fn layout(spec: &IdentifiedSpec, header: &csv::StringRecord) -> Result<Layout, IdentifiedError> {
    let found: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let pos = |name: &str| found.iter().position(|h| h == name);
    let need = |key: &str, name: &str| {
        pos(name).ok_or_else(|| IdentifiedError::MissingColumn {
            path: spec.path.clone(),
            key: key.to_string(),
            column: name.to_string(),
            found: found.clone(),
        })
    };
    let mut ids = Vec::new();
    for (param, column, named) in &spec.columns {
        let i = PARAMS.iter().position(|p| p == param).unwrap_or(0);
        match pos(column) {
            Some(c) => ids.push((i, c)),
            None if *named => {
                need(&format!("signal.columns.{param}"), column)?;
            }
            None => {}
        }
    }
    Ok(Layout {
        ts: need("source.fields.timestamp", &spec.timestamp)?,
        user: need("source.fields.user_id", &spec.user_id)?,
        session: spec.session_id.as_deref().and_then(pos),
        event: need("source.fields.event_name", &spec.event_name)?,
        value: spec.value.as_deref().and_then(pos),
        ids,
    })
}

/// Reads the units that did one of `wanted` in the last `days` days of the file.
pub fn read(
    spec: &IdentifiedSpec,
    wanted: &[EventName],
    days: u32,
) -> Result<IdentifiedRead, IdentifiedError> {
    let reader = super::log::open(&spec.path, false)?;
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .flexible(true)
        .from_reader(reader);
    let header = csv.headers().map_err(|e| csv_error(spec, 1, &e))?.clone();
    let lay = layout(spec, &header)?;
    let present: BTreeSet<&'static str> = lay.ids.iter().map(|(i, _)| PARAMS[*i]).collect();
    let span = i64::from(days) * DAY;
    let mut units: HashMap<String, Acc> = HashMap::new();
    let (mut max, mut rows, mut skipped) = (i64::MIN, 0u64, 0u64);
    let mut format = spec.timestamp_format.clone();
    let mut rec = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(spec, rows + 2, &e)),
        }
        rows += 1;
        let field = |i: usize| rec.get(i).map(str::trim).filter(|s| !s.is_empty());
        let (Some(ts), Some(user), Some(name)) = (field(lay.ts), field(lay.user), field(lay.event))
        else {
            skipped += 1;
            continue;
        };
        if format == TimestampFormat::Auto {
            if let Some(f) = TimestampFormat::detect(ts, &spec.time_zone) {
                format = f;
            }
        }
        let Some(micros) = format.parse_micros(ts, &spec.time_zone) else {
            skipped += 1;
            continue;
        };
        max = max.max(micros);
        let unit = match (spec.by_session, lay.session.and_then(field)) {
            (true, Some(s)) => s.to_string(),
            _ => user.to_string(),
        };
        let acc = units.entry(unit).or_insert_with(|| Acc {
            user: user.to_string(),
            last: micros,
            ids: Identifiers::default(),
            done: Vec::new(),
        });
        acc.last = acc.last.max(micros);
        for (i, c) in &lay.ids {
            if acc.ids.values[*i].is_none() {
                acc.ids.values[*i] = field(*c).map(str::to_string);
            }
        }
        let event = spec
            .aliases
            .get(name)
            .cloned()
            .or_else(|| EventName::new(name));
        if let Some(ev) = event.filter(|e| wanted.contains(e)) {
            if !acc.done.iter().any(|(e, ..)| *e == ev) {
                let value = lay
                    .value
                    .and_then(field)
                    .and_then(|v| v.parse::<f64>().ok());
                let own = lay
                    .ids
                    .iter()
                    .find(|(i, _)| PARAMS[*i] == "event_id")
                    .and_then(|(_, c)| field(*c).map(str::to_string));
                acc.done.push((ev, micros, value, own));
            }
        }
        if rows % 100_000 == 0 {
            let keep = max.saturating_sub(span + DAY);
            units.retain(|_, a| a.last >= keep);
        }
    }
    if max == i64::MIN {
        return Err(IdentifiedError::NoRows {
            path: spec.path.clone(),
        });
    }
    let from = max.saturating_sub(span);
    let mut conversions: Vec<Conversion> = units
        .into_iter()
        .flat_map(|(unit, a)| {
            let Acc {
                user, ids, done, ..
            } = a;
            done.into_iter().filter(|(_, t, ..)| *t > from).map(
                move |(event, micros, value, row_event_id)| Conversion {
                    unit: unit.clone(),
                    user: user.clone(),
                    event,
                    micros,
                    value,
                    row_event_id,
                    ids: ids.clone(),
                },
            )
        })
        .collect();
    conversions.sort_by(|a, b| {
        (a.micros, &a.unit, a.event.as_str()).cmp(&(b.micros, &b.unit, b.event.as_str()))
    });
    Ok(IdentifiedRead {
        conversions,
        window: (from + 1, max),
        rows_read: rows,
        rows_skipped: skipped,
        present,
    })
}

fn csv_error(spec: &IdentifiedSpec, line: u64, e: &csv::Error) -> IdentifiedError {
    IdentifiedError::Csv {
        path: spec.path.clone(),
        line: e.position().map_or(line, |p| p.line()),
        message: e.to_string(),
    }
}

/// The spec of `path` with the analysis log's column names and the signal's columns.
pub fn spec_for(
    path: &Path,
    log: &super::log::LogSpec,
    columns: Vec<(&'static str, String, bool)>,
    by_session: bool,
) -> IdentifiedSpec {
    let delimiter = match log.format {
        super::log::LogFormat::Csv { delimiter } => delimiter,
        _ => b',',
    };
    IdentifiedSpec {
        path: path.to_path_buf(),
        delimiter,
        timestamp: log.fields.timestamp.clone(),
        user_id: log.fields.user_id.clone(),
        session_id: log.fields.session_id.clone(),
        event_name: log.fields.event_name.clone(),
        value: log.fields.value.clone(),
        timestamp_format: log.timestamp_format.clone(),
        time_zone: log.time_zone.clone(),
        aliases: log.aliases.clone(),
        columns,
        by_session,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &Path, columns: Vec<(&'static str, String, bool)>) -> IdentifiedSpec {
        let log = super::super::log::LogSpec::canonical(path);
        spec_for(path, &log, columns, true)
    }

    #[test]
    fn units_in_the_window_carry_their_first_identifiers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ids.csv");
        std::fs::write(
            &p,
            "timestamp,user_id,session_id,event_name,value,gclid,email\n\
             2026-11-01T10:00:00Z,u1,s1,session_start,,,\n\
             2026-11-01T10:01:00Z,u1,s1,add_to_cart,,G-old,\n\
             2026-11-10T09:00:00Z,u2,s2,session_start,,Gabc,\n\
             2026-11-10T09:05:00Z,u2,s2,add_to_cart,,,a@b.co\n\
             2026-11-10T09:06:00Z,u2,s2,add_to_cart,,,\n\
             2026-11-10T09:09:00Z,u2,s2,purchase,12.50,,\n\
             2026-11-15T12:00:00Z,u3,s3,session_start,,,\n",
        )
        .unwrap();
        let cols = vec![
            ("gclid", "gclid".to_string(), true),
            ("email", "email".into(), false),
        ];
        let want = [
            EventName::new("add_to_cart").unwrap(),
            EventName::new("purchase").unwrap(),
        ];
        let r = read(&spec(&p, cols.clone()), &want, 7).unwrap();
        // The window is the 7 days before 2026-11-15T12:00: s1's add_to_cart is outside.
        assert_eq!(r.conversions.len(), 2, "{:?}", r.conversions);
        let atc = &r.conversions[0];
        assert_eq!(
            (atc.unit.as_str(), atc.event.as_str()),
            ("s2", "add_to_cart")
        );
        assert_eq!(atc.ids.get("gclid"), Some("Gabc"));
        assert_eq!(atc.ids.get("email"), Some("a@b.co"));
        assert_eq!(r.conversions[1].value, Some(12.5));
        assert_eq!(r.rows_read, 7);
        // A column the config names must exist; a default-named one may be absent.
        let named = vec![("fbp", "browser_id".to_string(), true)];
        let e = read(&spec(&p, named), &want, 7).unwrap_err().to_string();
        assert!(
            e.contains("signal.columns.fbp = \"browser_id\": no such column"),
            "{e}"
        );
        let unnamed = vec![("fbp", "fbp".to_string(), false)];
        assert!(read(&spec(&p, unnamed), &want, 7)
            .unwrap()
            .present
            .is_empty());
    }
}
