//! The GA4 BigQuery export fixture (fixtures/ga4/events.ndjson.gz, written by
//! `cargo run --example ga4_fixture` from a slice of the demo store) and the same events as a
//! canonical CSV (fixtures/ga4/events.csv.gz) give the same observations and the same report.

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
    let csv_path = util::fixture("ga4/events.csv.gz");
    let mut csv = report(&["--events", csv_path.to_str().unwrap()]);
    assert!(ga4["input"]["rows_accepted"].as_u64().unwrap() > 2000);
    assert_eq!(ga4["input"]["rows_read"], csv["input"]["rows_read"]);
    // Users without ga_session_id get inactivity sessions; consent-mode rows without a user are
    // skipped and counted, by both readers alike.
    assert_eq!(ga4["input"]["sessions_inferred"], true);
    assert!(ga4["input"]["rows_skipped"]["missing_user_id"]["count"].as_u64() > Some(10));
    for r in [&mut ga4, &mut csv] {
        // Only the file name, the detected timestamp format and where the (empty) model store
        // would be (beside the config, or in the working directory) may differ.
        r["input"]["file"] = Value::Null;
        r["input"]["timestamp_format"] = Value::Null;
        r["changes"]["store"] = Value::Null;
        r["changes"]["notes"] = Value::Null;
        // Line numbers of skipped rows count the CSV's header line.
        r["input"]["rows_skipped"]["missing_user_id"]["first_lines"] = Value::Null;
        let notes = r["notes"].as_array_mut().unwrap();
        let before = notes.len();
        notes.retain(|n| !n.as_str().unwrap().contains("rows skipped"));
        assert_eq!(notes.len() + 1, before);
    }
    assert_eq!(ga4, csv);
}

/// `bq extract` writes shards (`events-000000000000.json.gz`, ...): a folder of them, or a
/// pattern matching them, reads as one stream in name order and gives the single file's report.
#[test]
fn a_folder_or_a_pattern_of_shards_reads_as_one_file() {
    use std::io::{Read, Write};
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(util::fixture("ga4/events.ndjson.gz")).unwrap(),
    )
    .read_to_string(&mut text)
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let shards = dir.path().join("export");
    std::fs::create_dir(&shards).unwrap();
    // Three shards, written out of name order; the middle one plain and without a final line
    // break, plus files that are not shards and must be left alone.
    let third = lines.len() / 3;
    let parts = [
        &lines[..third],
        &lines[third..2 * third],
        &lines[2 * third..],
    ];
    for (i, part) in parts.iter().enumerate().rev() {
        let body = part.join("\n");
        if i == 1 {
            std::fs::write(shards.join(format!("events-{i:012}.json")), body).unwrap();
        } else {
            let f = std::fs::File::create(shards.join(format!("events-{i:012}.json.gz"))).unwrap();
            let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            gz.write_all(body.as_bytes()).unwrap();
            gz.write_all(b"\n").unwrap();
            gz.finish().unwrap();
        }
    }
    std::fs::write(shards.join("README.txt"), "not a shard\n").unwrap();
    std::fs::write(shards.join(".events-000000000009.json.tmp"), "{broken\n").unwrap();
    let run = |path: &std::path::Path| {
        let cfg = dir.path().join("ga4.toml");
        std::fs::write(
            &cfg,
            format!(
                "[source]\nkind = \"ga4_export\"\npath = \"{}\"\n[[platforms]]\nid = \"meta\"\n",
                path.display()
            ),
        )
        .unwrap();
        let mut r = report(&["-c", cfg.to_str().unwrap()]);
        r["input"]["file"] = Value::Null;
        r["changes"]["store"] = Value::Null;
        r["changes"]["notes"] = Value::Null;
        r
    };
    let single = run(&util::fixture("ga4/events.ndjson.gz"));
    let folder = run(&shards);
    assert_eq!(
        folder["input"]["rows_read"].as_u64(),
        Some(lines.len() as u64)
    );
    assert_eq!(
        folder["input"]["rows_skipped"],
        single["input"]["rows_skipped"]
    );
    assert_eq!(folder, single);
    let pattern = run(&shards.join("events-*.json*"));
    assert_eq!(pattern, single);
    // A pattern that matches nothing is an error naming it.
    let out = util::optsignal()
        .args(["recommend", "--platform", "meta", "-c"])
        .arg({
            let cfg = dir.path().join("none.toml");
            std::fs::write(
                &cfg,
                format!(
                    "[source]\nkind = \"ga4_export\"\npath = \"{}\"\n[[platforms]]\nid = \"meta\"\n",
                    shards.join("nothing-*.json.gz").display()
                ),
            )
            .unwrap();
            cfg
        })
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("nothing-*.json.gz") && stderr.contains("no file matches"),
        "{stderr}"
    );
}
