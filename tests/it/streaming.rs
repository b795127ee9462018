//! Streaming with bounded memory: a log shuffled within the allowed lateness gives the same
//! answer as the time-ordered one, and events later than the lateness are counted and reported.

use crate::util;

use std::io::{Read, Write};

use util::*;

fn demo_rows() -> (String, Vec<String>) {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture("demo/events.csv.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines().map(String::from);
    let header = lines.next().unwrap();
    (header, lines.collect())
}

fn write_csv(dir: &tempfile::TempDir, name: &str, header: &str, rows: &[String]) -> String {
    let p = dir.path().join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    writeln!(f, "{header}").unwrap();
    for r in rows {
        writeln!(f, "{r}").unwrap();
    }
    p.to_str().unwrap().to_string()
}

/// What must not depend on the order of the rows: counts, tables, volumes, recommendations.
fn essentials(r: &serde_json::Value) -> serde_json::Value {
    let proxies: Vec<serde_json::Value> = r["proxies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            serde_json::json!([
                p["event"],
                p["a"],
                p["b"],
                p["c"],
                p["d"],
                p["flags"],
                p["weekly"]
            ])
        })
        .collect();
    serde_json::json!({
        "input": [r["input"]["rows_read"], r["input"]["rows_accepted"], r["input"]["units"],
                  r["input"]["users"], r["input"]["censored_units"], r["input"]["rows_skipped"],
                  r["input"]["other_events"]],
        "weekly": r["weekly"],
        "proxies": proxies,
        "recommendations": r["recommendations"].as_array().unwrap().iter()
            .map(|x| serde_json::json!([x["platform"], x["event"]])).collect::<Vec<_>>(),
    })
}

#[test]
fn a_log_shuffled_within_the_lateness_gives_the_same_answer() {
    let (header, rows) = demo_rows();
    let cols: Vec<&str> = header.split(',').collect();
    let sid = cols.iter().position(|c| *c == "session_id").unwrap();
    // Delay whole sessions by up to 50 minutes (a session's own rows keep their order, as an
    // exporter writing session by session would): sessions interleave out of time order.
    let mut keyed: Vec<(i64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f: Vec<&str> = r.split(',').collect();
            let h = f[sid]
                .bytes()
                .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            let ts: jiff::Timestamp = f[0].parse().unwrap();
            (ts.as_second() + (h % 3000) as i64, i)
        })
        .collect();
    keyed.sort();
    let shuffled: Vec<String> = keyed.iter().map(|(_, i)| rows[*i].clone()).collect();
    assert_ne!(shuffled, rows);
    let d = tempfile::tempdir().unwrap();
    let ordered = write_csv(&d, "ordered.csv", &header, &rows);
    let mixed = write_csv(&d, "mixed.csv", &header, &shuffled);
    let args = |f: &str| -> Vec<String> {
        [
            "--events",
            f,
            "--platform",
            "meta",
            "--ad-sets",
            "2",
            "--share",
            "0.6",
        ]
        .map(String::from)
        .to_vec()
    };
    let a = recommend_json(
        &args(&ordered)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let b = recommend_json(&args(&mixed).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(a["input"]["rows_skipped"], serde_json::json!({}));
    assert_eq!(essentials(&a), essentials(&b));
    let notes = b["notes"].to_string();
    assert!(!notes.contains("lateness"), "{notes}");
}

#[test]
fn events_beyond_the_lateness_are_skipped_counted_and_noted() {
    let header = "timestamp,user_id,session_id,event_name,device,channel,value";
    let rows: Vec<String> = [
        "2026-09-07T10:00:00Z,u1,s1,add_to_cart,mobile,email,",
        "2026-09-07T10:05:00Z,u3,s3,view_item,mobile,email,",
        "2026-09-16T10:00:00Z,u2,s2,view_item,desktop,email,",
        // Nine days behind the latest event, from u1 whose session is already folded.
        "2026-09-07T10:10:00Z,u1,s1,purchase,mobile,email,20",
        "2026-09-16T11:00:00Z,u2,s2,add_to_cart,desktop,email,",
    ]
    .map(String::from)
    .to_vec();
    let d = tempfile::tempdir().unwrap();
    let f = write_csv(&d, "late.csv", header, &rows);
    let r = recommend_json(&["--events", &f, "--platform", "meta"]);
    assert_eq!(r["input"]["rows_skipped"]["out_of_order"]["count"], 1);
    assert_eq!(
        r["input"]["rows_skipped"]["out_of_order"]["first_lines"],
        serde_json::json!([5])
    );
    assert_eq!(r["input"]["rows_accepted"], 4);
    let notes = r["notes"].to_string();
    assert!(
        notes.contains("1 event came more than 1440 minutes (analysis.lateness_minutes)"),
        "{notes}"
    );
}

/// `--threads 1` (one thread does all) and `--threads 2` (parse and number users, observe,
/// tally on three) give the same report, byte for byte, on the demo, on a shuffled demo log,
/// on the predicted fixture (two passes) and on the two logs of [`awkward_logs`].
#[test]
fn one_thread_and_two_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let (header, mut rows) = demo_rows();
    // Shuffle within the hour: well inside the lateness, so every event is placed exactly.
    for chunk in rows.chunks_mut(97) {
        chunk.reverse();
    }
    let shuffled = write_csv(&dir, "shuffled.csv", &header, &rows);
    let (stragglers, by_user) = awkward_logs(&dir, &header);
    let demo = fixture("demo/optsignal.toml");
    let predicted = fixture("predicted/optsignal.toml");
    let runs: [Vec<&str>; 5] = [
        vec!["-c", demo.to_str().unwrap()],
        vec!["-c", demo.to_str().unwrap(), "--events", &shuffled],
        vec!["-c", predicted.to_str().unwrap()],
        vec!["-c", demo.to_str().unwrap(), "--events", &stragglers],
        vec!["-c", demo.to_str().unwrap(), "--events", &by_user],
    ];
    for args in runs {
        let run = |threads: &str| {
            let o = optsignal()
                .arg("recommend")
                .args(&args)
                .args([
                    "--threads",
                    threads,
                    "--now",
                    "2026-11-20T00:00:00Z",
                    "--format",
                    "json",
                ])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            o.stdout
        };
        let (one, two) = (run("1"), run("2"));
        assert!(one == two, "--threads 1 and 2 differ on {args:?}");
        if args.contains(&stragglers.as_str()) {
            // The awkward paths were taken: late events skipped, session-less events joined.
            let r: serde_json::Value = serde_json::from_slice(&one).unwrap();
            assert!(r["input"]["rows_skipped"]["out_of_order"]["count"].as_u64() > Some(0));
        }
    }
}

/// Two demo logs that take the reader's rarer paths. `stragglers`: time order, but every 400th
/// row moved to the end (days late: skipped, or kept when nothing of its user is folded), every
/// 9th row without its session id (it joins its user's session or starts an inferred one),
/// and one session id given to a second user. `by_user`: sorted by user, as the Taobao log is
/// (each new user's events are late; they are kept and folding stops).
fn awkward_logs(dir: &tempfile::TempDir, header: &str) -> (String, String) {
    let (_, rows) = demo_rows();
    let field = |r: &str, i: usize| r.split(',').nth(i).unwrap_or("").to_string();
    let with_field = |r: &str, i: usize, v: &str| {
        let mut f: Vec<&str> = r.split(',').collect();
        f[i] = v;
        f.join(",")
    };
    let shared_sid = field(&rows[10], 2);
    let mut kept = Vec::new();
    let mut moved = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let r = match i {
            _ if i % 9 == 4 => with_field(r, 2, ""),
            20 => with_field(r, 2, &shared_sid),
            _ => r.clone(),
        };
        if i % 400 == 399 {
            moved.push(r);
        } else {
            kept.push(r);
        }
    }
    kept.extend(moved);
    let stragglers = write_csv(dir, "stragglers.csv", header, &kept);
    let mut sorted = rows.clone();
    sorted.sort_by_key(|r| field(r, 1));
    let by_user = write_csv(dir, "by_user.csv", header, &sorted);
    (stragglers, by_user)
}
