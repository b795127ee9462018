//! The GA4 BigQuery export fixture (fixtures/ga4/events.ndjson.gz, written by
//! `cargo run --example ga4_fixture` from a slice of the demo store) and the same events as a
//! canonical CSV (fixtures/ga4/events.csv) give the same observations and the same report.

mod util;

use serde_json::Value;

fn report(source_args: &[&str]) -> Value {
    util::recommend_json(
        &[
            source_args,
            &[
                "--platform",
                "meta",
                "--ad-sets",
                "1",
                "--share",
                "0.6",
                "--candidates",
                "view_item,add_to_cart,begin_checkout,add_payment_info,sign_up",
            ],
        ]
        .concat(),
    )
}

#[test]
fn ga4_export_and_canonical_csv_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ga4.toml");
    std::fs::write(
        &cfg,
        format!(
            "[source]\nkind = \"ga4_export\"\npath = \"{}\"\n[[platforms]]\nid = \"meta\"\n",
            util::fixture("ga4/events.ndjson.gz").display()
        ),
    )
    .unwrap();
    let mut ga4 = report(&["-c", cfg.to_str().unwrap()]);
    let csv_path = util::fixture("ga4/events.csv");
    let mut csv = report(&["--events", csv_path.to_str().unwrap()]);
    assert!(ga4["input"]["rows_accepted"].as_u64().unwrap() > 2000);
    assert_eq!(ga4["input"]["rows_read"], csv["input"]["rows_read"]);
    assert_eq!(ga4["input"]["sessions_inferred"], false);
    for r in [&mut ga4, &mut csv] {
        // Only the file name, the detected timestamp format and where the (empty) model store
        // would be (beside the config, or in the working directory) may differ.
        r["input"]["file"] = Value::Null;
        r["input"]["timestamp_format"] = Value::Null;
        r["changes"]["store"] = Value::Null;
        r["changes"]["notes"] = Value::Null;
    }
    assert_eq!(ga4, csv);
}
