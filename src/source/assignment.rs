//! Who saw which variant of an A/B test: a `user_id,variant` mapping file, or a variant column
//! of the event log itself (read in its own pass, so the log reader stays unchanged).
//!
//! A user found in two variants (a crossover: cookie reset, a bug in the split) is dropped from
//! the test and counted; rows without a user or a variant are skipped and counted with their
//! first line numbers.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::log::{LogFormat, LogSpec};

/// More distinct variant names than this means the wrong column was named.
pub const MAX_VARIANTS: usize = 20;

/// Users by variant.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    /// Variant names, sorted; a user's index points into it.
    pub variants: Vec<String>,
    /// User id → variant index.
    pub users: HashMap<String, u16>,
    /// What was read.
    pub summary: AssignmentSummary,
}

/// What reading the assignment did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AssignmentSummary {
    /// Where the assignment came from (`mapping file x.csv`, `column variant of events.csv`).
    pub source: String,
    /// Data rows read.
    pub rows: u64,
    /// Rows with an empty user id or variant (not an assignment; pre-test rows of a log).
    pub rows_without_assignment: u64,
    /// First line numbers of such rows (up to five).
    pub first_lines_without: Vec<u64>,
    /// Users found in more than one variant, left out of the test.
    pub crossover_users: u64,
    /// Users assigned (after dropping crossovers).
    pub users: u64,
}

/// Why the assignment could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AssignmentError {
    /// The file could not be opened or read.
    #[error("cannot read the variant assignment {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        message: String,
    },
    /// A needed column is missing.
    #[error("{path}: no column {column:?} ({what}); the file has: {available}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column looked for.
        column: String,
        /// What it was for.
        what: &'static str,
        /// The columns that are there.
        available: String,
    },
    /// No row assigned anyone.
    #[error("{path}: no row assigns a user to a variant ({source_kind})")]
    Nobody {
        /// The file.
        path: PathBuf,
        /// Mapping file or log column.
        source_kind: String,
    },
    /// Too many distinct variants: the wrong column.
    #[error("{path}: {count} distinct variants in {source_kind} (at most {MAX_VARIANTS}); is that the variant column?")]
    TooManyVariants {
        /// The file.
        path: PathBuf,
        /// Distinct values seen.
        count: usize,
        /// Mapping file or log column.
        source_kind: String,
    },
    /// The log's format has no free-form columns.
    #[error("{path}: a GA4 export has no variant column; give a --variants mapping file")]
    Unsupported {
        /// The file.
        path: PathBuf,
    },
}

/// Accumulates (user, variant) pairs, keeping crossovers apart.
#[derive(Default)]
struct Builder {
    seen: HashMap<String, Option<String>>,
    summary: AssignmentSummary,
}

impl Builder {
    fn row(&mut self, line: u64, user: &str, variant: &str) {
        self.summary.rows += 1;
        let (user, variant) = (user.trim(), variant.trim());
        if user.is_empty() || variant.is_empty() {
            self.summary.rows_without_assignment += 1;
            if self.summary.first_lines_without.len() < 5 {
                self.summary.first_lines_without.push(line);
            }
            return;
        }
        match self.seen.get_mut(user) {
            None => {
                self.seen
                    .insert(user.to_string(), Some(variant.to_string()));
            }
            Some(slot) => {
                if slot.as_deref().is_some_and(|v| v != variant) {
                    *slot = None;
                }
            }
        }
    }

    fn finish(self, path: &Path) -> Result<Assignment, AssignmentError> {
        let names: BTreeSet<&String> = self.seen.values().flatten().collect();
        let kind = self.summary.source.clone();
        if names.len() > MAX_VARIANTS {
            return Err(AssignmentError::TooManyVariants {
                path: path.to_path_buf(),
                count: names.len(),
                source_kind: kind,
            });
        }
        let variants: Vec<String> = names.into_iter().cloned().collect();
        let index: HashMap<&str, u16> = variants
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_str(), i as u16))
            .collect();
        let mut summary = self.summary;
        let mut users = HashMap::with_capacity(self.seen.len());
        for (user, v) in self.seen {
            match v {
                Some(v) => {
                    users.insert(user, index[v.as_str()]);
                }
                None => summary.crossover_users += 1,
            }
        }
        if users.is_empty() {
            return Err(AssignmentError::Nobody {
                path: path.to_path_buf(),
                source_kind: kind,
            });
        }
        summary.users = users.len() as u64;
        Ok(Assignment {
            variants,
            users,
            summary,
        })
    }
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> AssignmentError {
    AssignmentError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Reads a `user_id,variant` CSV (header required; other columns ignored; `.gz` is read through).
pub fn read_mapping(path: &Path) -> Result<Assignment, AssignmentError> {
    let reader = super::log::open(path, false).map_err(|e| read_err(path, e))?;
    let mut b = Builder::default();
    b.summary.source = format!("mapping file {}", path.display());
    let (header, rows) = csv_rows(path, reader, b',', None)?;
    let user = column(path, &header, "user_id", "user id")?;
    let variant = column(path, &header, "variant", "variant")?;
    for row in rows {
        let (line, rec) = row?;
        b.row(
            line,
            rec.get(user).unwrap_or(""),
            rec.get(variant).unwrap_or(""),
        );
    }
    b.finish(path)
}

/// Reads the variant from column `name` of the event log described by `spec`, with the user id
/// from the log's configured user column.
pub fn read_log_column(spec: &LogSpec, name: &str) -> Result<Assignment, AssignmentError> {
    let path = spec.path.as_path();
    let mut b = Builder::default();
    b.summary.source = format!("column {name:?} of {}", path.display());
    match spec.format {
        LogFormat::Ga4Export => {
            return Err(AssignmentError::Unsupported {
                path: path.to_path_buf(),
            })
        }
        LogFormat::Csv { delimiter } => {
            let reader = super::log::open(path, false).map_err(|e| read_err(path, e))?;
            let (header, rows) = csv_rows(path, reader, delimiter, spec.columns.clone())?;
            let user = column(path, &header, &spec.fields.user_id, "user id")?;
            let variant = column(path, &header, name, "variant")?;
            for row in rows {
                let (line, rec) = row?;
                b.row(
                    line,
                    rec.get(user).unwrap_or(""),
                    rec.get(variant).unwrap_or(""),
                );
            }
        }
        LogFormat::JsonLines => {
            let reader = super::log::open(path, false).map_err(|e| read_err(path, e))?;
            read_jsonl(path, reader, &spec.fields.user_id, name, &mut b)?;
        }
    }
    b.finish(path)
}

fn read_jsonl(
    path: &Path,
    reader: Box<dyn std::io::Read + Send>,
    user: &str,
    variant: &str,
    b: &mut Builder,
) -> Result<(), AssignmentError> {
    let text = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|e| read_err(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        // A malformed line is the log reader's to count; here it simply assigns nobody.
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&line).unwrap_or_default();
        b.row(i as u64 + 1, &text(obj.get(user)), &text(obj.get(variant)));
    }
    Ok(())
}

type Rows = Box<dyn Iterator<Item = Result<(u64, csv::StringRecord), AssignmentError>>>;

/// The header (from `columns` or the first row) and an iterator over the data rows with their
/// line numbers.
fn csv_rows(
    path: &Path,
    reader: Box<dyn std::io::Read + Send>,
    delimiter: u8,
    columns: Option<Vec<String>>,
) -> Result<(Vec<String>, Rows), AssignmentError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(reader);
    let header = match columns {
        Some(c) => c,
        None => {
            let mut rec = csv::StringRecord::new();
            if !rdr.read_record(&mut rec).map_err(|e| read_err(path, e))? {
                return Err(read_err(path, "the file is empty"));
            }
            rec.iter()
                .map(|f| f.trim().trim_start_matches('\u{feff}').to_string())
                .collect()
        }
    };
    let p = path.to_path_buf();
    let rows = rdr.into_records().map(move |r| match r {
        Ok(rec) => Ok((rec.position().map_or(0, |p| p.line()), rec)),
        Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => Err(read_err(&p, e)),
        // A malformed row assigns nobody; it is counted with the rows without an assignment.
        Err(e) => Ok((
            e.position().map_or(0, |p| p.line()),
            csv::StringRecord::new(),
        )),
    });
    Ok((header, Box::new(rows)))
}

fn column(
    path: &Path,
    header: &[String],
    name: &str,
    what: &'static str,
) -> Result<usize, AssignmentError> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| AssignmentError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            what,
            available: header.join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn mapping_file_drops_crossovers_and_counts_blank_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "v.csv",
            "user_id,variant\nu1,A\nu2,B\nu3,A\nu3,B\nu4,\nu1,A\n",
        );
        let a = read_mapping(&p).unwrap();
        assert_eq!(a.variants, vec!["A", "B"]);
        assert_eq!(a.users.len(), 2);
        assert_eq!(a.users["u2"], 1);
        assert_eq!(a.summary.crossover_users, 1);
        assert_eq!(a.summary.rows_without_assignment, 1);
        assert_eq!(a.summary.first_lines_without, vec![6]);
    }

    #[test]
    fn log_column_reads_csv_and_jsonl_and_names_missing_columns() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write(
            dir.path(),
            "e.csv",
            "timestamp,user_id,event_name,arm\nt,u1,view_item,\nt,u1,view_item,B\nt,u2,x,A\n",
        );
        let a = read_log_column(&LogSpec::canonical(&csv), "arm").unwrap();
        assert_eq!((a.users["u1"], a.users["u2"]), (1, 0));
        assert_eq!(a.summary.rows_without_assignment, 1);
        let e = read_log_column(&LogSpec::canonical(&csv), "variant").unwrap_err();
        assert!(e.to_string().contains("no column \"variant\""), "{e}");
        assert!(e.to_string().contains("e.csv"), "{e}");
        let jl = write(
            dir.path(),
            "e.jsonl",
            "{\"user_id\":\"u1\",\"arm\":\"A\"}\n{\"user_id\":7,\"arm\":\"B\"}\n",
        );
        let a = read_log_column(&LogSpec::canonical(&jl), "arm").unwrap();
        assert_eq!((a.users["u1"], a.users["7"]), (0, 1));
    }

    #[test]
    fn too_many_variants_means_the_wrong_column() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("user_id,variant\n");
        for i in 0..30 {
            text.push_str(&format!("u{i},v{i}\n"));
        }
        let p = write(dir.path(), "v.csv", &text);
        assert!(matches!(
            read_mapping(&p),
            Err(AssignmentError::TooManyVariants { count: 30, .. })
        ));
        let p = write(dir.path(), "w.csv", "user_id,variant\nu1,\n");
        assert!(matches!(
            read_mapping(&p),
            Err(AssignmentError::Nobody { .. })
        ));
    }
}
