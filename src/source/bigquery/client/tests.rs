use super::*;

fn at() -> Endpoint {
    Endpoint {
        account: "a".into(),
        api: API,
        what: "x".into(),
    }
}

#[test]
fn parameters_take_bigquerys_named_form() {
    let p = QueryParam::strings("events", ["add_to_cart", "purchase"]).to_json();
    assert_eq!(
        p,
        json!({"name": "events",
                   "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
                   "parameterValue": {"arrayValues": [{"value": "add_to_cart"}, {"value": "purchase"}]}})
    );
    let p = QueryParam::int64("n", -42).to_json();
    assert_eq!(p["parameterType"]["type"], "INT64");
    assert_eq!(p["parameterValue"]["value"], "-42");
    let p = QueryParam::string("start", "20240101").to_json();
    assert_eq!(p["parameterValue"]["value"], "20240101");
    assert_eq!(
        QueryParam::bool("b", true).to_json()["parameterValue"]["value"],
        "true"
    );
    let p = QueryParam::int64s("ids", [1, 2]).to_json();
    assert_eq!(p["parameterType"]["arrayType"]["type"], "INT64");
    assert_eq!(p["parameterValue"]["arrayValues"][1]["value"], "2");
}

#[test]
fn cells_are_scalars_or_refused() {
    assert_eq!(cell(Value::Null), Ok(None));
    assert_eq!(cell(json!("1532")), Ok(Some("1532".into())));
    assert_eq!(cell(json!(0.5)), Ok(Some("0.5".into())));
    assert_eq!(cell(json!([{"v": "a"}])), Err("REPEATED"));
    assert_eq!(cell(json!({"f": [{"v": "a"}]})), Err("RECORD"));
}

#[test]
fn int64_comes_as_a_string() {
    assert_eq!(int64(Some(&json!("123456")), "x"), Ok(Some(123_456)));
    assert_eq!(int64(Some(&json!(7)), "x"), Ok(Some(7)));
    assert_eq!(int64(None, "x"), Ok(None));
    assert!(int64(Some(&json!("12a")), "totalRows")
        .unwrap_err()
        .contains("totalRows"));
}

#[test]
fn nested_schemas_are_refused_naming_the_column() {
    let raw: RawSchema = serde_json::from_value(json!({"fields": [
            {"name": "user_pseudo_id", "type": "STRING"},
            {"name": "items", "type": "RECORD", "mode": "REPEATED", "fields": []}]}))
    .unwrap();
    let e = scalar_schema(Some(raw), &at()).unwrap_err();
    assert!(
        e.to_string()
            .contains("column \"items\" is REPEATED RECORD"),
        "{e}"
    );
}

#[test]
fn missing_columns_are_named_with_the_ones_there() {
    let schema = vec![
        Field {
            name: "iso_week".into(),
            field_type: "STRING".into(),
            mode: "NULLABLE".into(),
        },
        Field {
            name: "events".into(),
            field_type: "INTEGER".into(),
            mode: "NULLABLE".into(),
        },
    ];
    assert_eq!(column_of(&schema, "events", None).unwrap(), 1);
    let e = column_of(&schema, "users", Some("job_1")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no column \"users\" in the BigQuery result of job job_1; it has: iso_week, events"
    );
}

#[test]
fn request_ids_are_uuid_v4() {
    let a = request_id();
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "4");
    assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    assert_ne!(a, request_id());
}
