//! Named query parameters (@name in the SQL) and their JSON form.

use super::*;

/// The value of a named query parameter (`@name` in the SQL), with its BigQuery type.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// `STRING`.
    String(String),
    /// `INT64` (sent as a string, as BigQuery expects).
    Int64(i64),
    /// `BOOL`.
    Bool(bool),
    /// `ARRAY<STRING>` (for `IN UNNEST(@events)`).
    StringArray(Vec<String>),
    /// `ARRAY<INT64>`.
    Int64Array(Vec<i64>),
}

/// A named query parameter: values never get spliced into the SQL text.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryParam {
    /// The name, without `@`.
    pub name: String,
    /// The typed value.
    pub value: ParamValue,
}

impl QueryParam {
    /// A `STRING` parameter.
    pub fn string(name: impl Into<String>, value: impl Into<String>) -> Self {
        QueryParam {
            name: name.into(),
            value: ParamValue::String(value.into()),
        }
    }

    /// An `INT64` parameter.
    pub fn int64(name: impl Into<String>, value: i64) -> Self {
        QueryParam {
            name: name.into(),
            value: ParamValue::Int64(value),
        }
    }

    /// A `BOOL` parameter.
    pub fn bool(name: impl Into<String>, value: bool) -> Self {
        QueryParam {
            name: name.into(),
            value: ParamValue::Bool(value),
        }
    }

    /// An `ARRAY<STRING>` parameter.
    pub fn strings<S: Into<String>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        QueryParam {
            name: name.into(),
            value: ParamValue::StringArray(values.into_iter().map(Into::into).collect()),
        }
    }

    /// An `ARRAY<INT64>` parameter.
    pub fn int64s(name: impl Into<String>, values: impl IntoIterator<Item = i64>) -> Self {
        QueryParam {
            name: name.into(),
            value: ParamValue::Int64Array(values.into_iter().collect()),
        }
    }

    /// The REST form: `{name, parameterType, parameterValue}`.
    pub(super) fn to_json(&self) -> Value {
        let scalar = |t: &str, v: String| json!({"name": self.name, "parameterType": {"type": t}, "parameterValue": {"value": v}});
        let array = |t: &str, vs: Vec<String>| {
            let values: Vec<Value> = vs.into_iter().map(|v| json!({"value": v})).collect();
            json!({
                "name": self.name,
                "parameterType": {"type": "ARRAY", "arrayType": {"type": t}},
                "parameterValue": {"arrayValues": values},
            })
        };
        match &self.value {
            ParamValue::String(s) => scalar("STRING", s.clone()),
            ParamValue::Int64(i) => scalar("INT64", i.to_string()),
            ParamValue::Bool(b) => scalar("BOOL", b.to_string()),
            ParamValue::StringArray(v) => array("STRING", v.clone()),
            ParamValue::Int64Array(v) => array("INT64", v.iter().map(i64::to_string).collect()),
        }
    }
}
