//! The GA4 BigQuery export fixture (fixtures/ga4/events.ndjson.gz, written by
//! `cargo run --example ga4_fixture` from a slice of the demo store) and the same events as a
//! canonical CSV (fixtures/ga4/events.csv.gz) give the same observations and the same report.

use crate::util;

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
        // Each source has its own settle time (GA4 72 h, a log 0 h), judged at the run's clock.
        r["input"]["settle"] = Value::Null;
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
        // The moment the settle time was judged is the run's clock.
        r["input"]["settle"]["judged_at"] = Value::Null;
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

/// Events of a user that share a microsecond are ordered by GA4's in-batch order
/// (`batch_ordering_id`, `batch_event_index`), not by where `bq extract` happened to write them:
/// swapping every tie in the file changes nothing. Without the batch columns the file's order
/// decides, and the same swap changes the leakage guard's answer (so the tie order matters).
#[test]
fn ties_follow_the_batch_order_not_the_file_order() {
    use std::collections::HashMap;
    use std::io::Read;
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(util::fixture("ga4/events.ndjson.gz")).unwrap(),
    )
    .read_to_string(&mut text)
    .unwrap();
    let mut rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Swap each pair of consecutive rows of one user at one microsecond.
    let key = |r: &Value| (r["user_pseudo_id"].clone(), r["event_timestamp"].clone());
    let mut swapped = 0;
    let mut i = 0;
    while i + 1 < rows.len() {
        if key(&rows[i]) == key(&rows[i + 1]) && rows[i]["user_pseudo_id"].is_string() {
            rows.swap(i, i + 1);
            swapped += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    assert!(swapped > 20, "the fixture has {swapped} ties");
    let dir = tempfile::tempdir().unwrap();
    let run = |rows: &[Value], name: &str| {
        let file = dir.path().join(name);
        let body: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        std::fs::write(&file, body.join("\n") + "\n").unwrap();
        let cfg = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "[source]\nkind = \"ga4_export\"\npath = \"{}\"\n[[platforms]]\nid = \"meta\"\n",
                file.display()
            ),
        )
        .unwrap();
        let r = report(&["-c", cfg.to_str().unwrap()]);
        let ordering: HashMap<String, Value> = r["proxies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["event"].as_str().unwrap().to_string(),
                    p["ordering"].clone(),
                )
            })
            .collect();
        (r["proxies"].clone(), ordering)
    };
    let original = report(&[
        "-c",
        {
            let cfg = dir.path().join("orig.toml");
            std::fs::write(
                &cfg,
                format!(
                    "[source]\nkind = \"ga4_export\"\npath = \"{}\"\n[[platforms]]\nid = \"meta\"\n",
                    util::fixture("ga4/events.ndjson.gz").display()
                ),
            )
            .unwrap();
            cfg
        }
        .to_str()
        .unwrap(),
    ]);
    let (batch, _) = run(&rows, "swapped.ndjson");
    assert_eq!(
        batch, original["proxies"],
        "ties must follow the batch order"
    );
    for r in &mut rows {
        let o = r.as_object_mut().unwrap();
        o.remove("batch_ordering_id");
        o.remove("batch_event_index");
    }
    let (file_order, ordering) = run(&rows, "swapped-no-batch.ndjson");
    assert_ne!(
        file_order, original["proxies"],
        "without batch columns, file order decides"
    );
    assert!(ordering.values().any(|o| !o.is_null()));
}
