//! BigQuery's JSON shapes (jobs.query, getQueryResults, errors) and turning their pages into typed rows.

use super::*;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct JobReference {
    pub(super) job_id: Option<String>,
    pub(super) location: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RawField {
    pub(super) name: String,
    #[serde(rename = "type")]
    pub(super) field_type: String,
    pub(super) mode: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawSchema {
    #[serde(default)]
    pub(super) fields: Vec<RawField>,
}

#[derive(Deserialize)]
pub(super) struct RawCell {
    #[serde(default)]
    pub(super) v: Value,
}

#[derive(Deserialize)]
pub(super) struct RawRow {
    #[serde(default)]
    pub(super) f: Vec<RawCell>,
}

#[derive(Deserialize, Clone)]
pub(super) struct ErrorProto {
    #[serde(default)]
    pub(super) reason: String,
    pub(super) location: Option<String>,
    #[serde(default)]
    pub(super) message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JobStatus {
    pub(super) error_result: Option<ErrorProto>,
}

/// `jobs.query` and `jobs.getQueryResults` answers share this shape.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Response {
    #[serde(default)]
    pub(super) job_complete: bool,
    #[serde(default)]
    pub(super) job_reference: JobReference,
    pub(super) schema: Option<RawSchema>,
    #[serde(default)]
    pub(super) rows: Vec<RawRow>,
    pub(super) total_rows: Option<Value>,
    pub(super) page_token: Option<String>,
    pub(super) total_bytes_processed: Option<Value>,
    pub(super) total_bytes_billed: Option<Value>,
    pub(super) cache_hit: Option<bool>,
    #[serde(default)]
    pub(super) errors: Vec<ErrorProto>,
    pub(super) status: Option<JobStatus>,
}

/// An int64 that BigQuery sends as a JSON string (or, leniently, a number).
pub(super) fn int64(v: Option<&Value>, what: &str) -> Result<Option<u64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{what} {s:?} is not a count")),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{what} {n} is not a count")),
        Some(other) => Err(format!("{what} {other} is not a count")),
    }
}

/// A scalar cell: NULL → `None`; strings as they are; numbers and booleans leniently as text.
/// `Err` names what the cell holds when it is not a scalar.
pub(super) fn cell(v: Value) -> Result<Option<String>, &'static str> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) => Err("REPEATED"),
        Value::Object(_) => Err("RECORD"),
    }
}

/// The schema, refusing RECORD / STRUCT / REPEATED columns.
pub(super) fn scalar_schema(
    raw: Option<RawSchema>,
    at: &Endpoint,
) -> Result<Vec<Field>, BigQueryError> {
    let fields = raw.unwrap_or_default().fields;
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let mode = f.mode.unwrap_or_else(|| "NULLABLE".to_string());
        let nested = matches!(f.field_type.as_str(), "RECORD" | "STRUCT");
        if nested || mode == "REPEATED" {
            let kind = if mode == "REPEATED" {
                format!("REPEATED {}", f.field_type)
            } else {
                f.field_type
            };
            return Err(BigQueryError::Nested {
                at: Box::new(at.clone()),
                column: f.name,
                kind,
            });
        }
        out.push(Field {
            name: f.name,
            field_type: f.field_type,
            mode,
        });
    }
    Ok(out)
}

/// Rows of one page, each checked against the schema.
pub(super) fn page_rows(
    raw: Vec<RawRow>,
    schema: &[Field],
    at: &Endpoint,
) -> Result<Vec<Row>, BigQueryError> {
    let mut rows = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        if r.f.len() != schema.len() {
            return Err(malformed(
                at,
                format!(
                    "row {i} of the page has {} cells for {} columns",
                    r.f.len(),
                    schema.len()
                ),
            ));
        }
        let mut row = Vec::with_capacity(schema.len());
        for (c, field) in r.f.into_iter().zip(schema) {
            row.push(cell(c.v).map_err(|kind| BigQueryError::Nested {
                at: Box::new(at.clone()),
                column: field.name.clone(),
                kind: kind.to_string(),
            })?);
        }
        rows.push(row);
    }
    Ok(rows)
}

pub(super) fn malformed(at: &Endpoint, message: String) -> BigQueryError {
    BigQueryError::Http(HttpError::Malformed {
        at: at.clone(),
        message,
    })
}

/// A random UUID (v4) for `requestId`, so a retried `jobs.query` POST does not start a second job.
pub(super) fn request_id() -> String {
    let mut x: u128 = rand::random();
    x = (x & !(0xF << 76)) | (0x4 << 76);
    x = (x & !(0x3 << 62)) | (0x2 << 62);
    let h = format!("{x:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
