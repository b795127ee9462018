//! The BigQuery pushdown SQL, executed: `optsignal bigquery sql` prints the GoogleSQL, sqlglot
//! transpiles it to DuckDB, DuckDB runs it on the GA4 export fixture (fixtures/ga4, with
//! BigQuery's column types and a `_TABLE_SUFFIX`), and every grouped count must equal what the
//! local NDJSON reader builds from the same file: patterns, funnel masks, order values, weekly
//! volumes, distinct users, orderings, totals and skipped rows.
//!
//! Python with duckdb and sqlglot (pinned in scripts/requirements-pushdown.txt) comes from
//! `$PUSHDOWN_PYTHON` (set by .ci/run), else from a virtualenv this test creates once under
//! the target folder. A missing interpreter fails the test; it never skips.

use crate::util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use optsignal::config::{load_settings, Overrides, Settings};
use optsignal::observe::{ObservationBuilder, Observations};
use optsignal::source::log::{read_log, ReadSummary, SkipReason};
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A Python interpreter with duckdb and sqlglot.
fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        if let Some(p) = std::env::var_os("PUSHDOWN_PYTHON") {
            return PathBuf::from(p);
        }
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pushdown-venv");
        let py = venv.join("bin/python");
        let reqs = util::root().join("scripts/requirements-pushdown.txt");
        let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
        let ready = py.exists()
            && ok(Command::new(&py).args(["-c", "import duckdb, sqlglot"]))
            && std::fs::read(venv.join("requirements.txt")).ok() == std::fs::read(&reqs).ok();
        if !ready {
            assert!(
                ok(Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv)),
                "python3 -m venv {} failed: Python 3 with venv is needed (or set PUSHDOWN_PYTHON)",
                venv.display()
            );
            assert!(
                ok(Command::new(&py)
                    .args(["-m", "pip", "install", "--quiet", "-r"])
                    .arg(&reqs)),
                "pip install -r {} failed (the package index must be reachable, or set PUSHDOWN_PYTHON)",
                reqs.display()
            );
            std::fs::copy(&reqs, venv.join("requirements.txt")).unwrap();
        }
        py
    })
    .clone()
}

/// Writes a config for the fixture; `kind` is "bigquery" or "ga4_export".
fn config(dir: &Path, kind: &str, extra: &str) -> PathBuf {
    config_with(dir, kind, extra, "")
}

/// The export fixture most tests read.
const EVENTS: &str = "ga4/events.ndjson.gz";

/// [`config`] with more `[bigquery]` lines.
fn config_with(dir: &Path, kind: &str, extra: &str, bigquery: &str) -> PathBuf {
    config_on(dir, kind, extra, bigquery, EVENTS)
}

/// [`config_with`] on another export fixture.
fn config_on(dir: &Path, kind: &str, extra: &str, bigquery: &str, events: &str) -> PathBuf {
    let path = dir.join(format!("{kind}.toml"));
    // The local reader would discover candidates in the export, which the pushdown does not
    // (it measures the configured or default list): both are given the same list.
    let listed = "[analysis]\ncandidates = [\"view_item\", \"add_to_wishlist\", \"add_to_cart\", \"begin_checkout\", \"add_shipping_info\", \"add_payment_info\", \"sign_up\", \"generate_lead\"]\n";
    let extra = match extra.contains("[analysis]") {
        true => extra.replacen("[analysis]\n", listed, 1),
        false => format!("{listed}{extra}"),
    };
    let source = match kind {
        "bigquery" => "[source]\nkind = \"bigquery\"\n".to_string(),
        _ => format!(
            "[source]\nkind = \"ga4_export\"\npath = \"{}\"\n",
            util::fixture(events).display()
        ),
    };
    std::fs::write(
        &path,
        format!(
            "{source}
[source.aliases]
add_payment_info = [\"add_shipping_info\"]
[bigquery]
project = \"demo-project\"
dataset = \"analytics_1234\"
key_file = \"service-account.json\"
{bigquery}
[fetch]
weeks = 12
last_week = \"2026-W47\"
[funnel]
steps = [\"view_item\", \"add_to_cart\", \"add_to_wishlist\", \"begin_checkout\", \"purchase\"]
{extra}
"
        ),
    )
    .unwrap();
    path
}

fn settings(path: &Path) -> Settings {
    load_settings(
        Some(path),
        &Overrides {
            platforms_optional: true,
            ..Overrides::default()
        },
    )
    .unwrap()
}

/// Runs the pushdown SQL of `cfg` in DuckDB; returns the jobs.query-shaped response.
fn run_in_duckdb(cfg: &Path, dir: &Path) -> Value {
    run_in_duckdb_on(cfg, dir, EVENTS)
}

/// [`run_in_duckdb`] on another export fixture.
fn run_in_duckdb_on(cfg: &Path, dir: &Path, events: &str) -> Value {
    let out = util::optsignal()
        .args(["bigquery", "sql", "-c"])
        .arg(cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = dir.join("pushdown.sql");
    std::fs::write(&sql, &out.stdout).unwrap();
    let run = Command::new(python())
        .arg(util::root().join("scripts/pushdown_duckdb.py"))
        .arg("--sql")
        .arg(&sql)
        .arg("--events")
        .arg(util::fixture(events))
        .args(["--project", "demo-project", "--dataset", "analytics_1234"])
        .arg("--duckdb-sql")
        .arg(dir.join("pushdown.duckdb.sql"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "DuckDB run failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

/// The pushdown's observations from a jobs.query response.
fn from_response(resp: &Value, s: &Settings) -> (Observations, ReadSummary) {
    let columns: Vec<String> = resp["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    let rows: Vec<Vec<Option<String>>> = resp["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["f"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["v"].as_str().map(str::to_string))
                .collect()
        })
        .collect();
    optsignal::source::bigquery::observations(&columns, &rows, &s.observe, &s.funnel_steps).unwrap()
}

/// The local reader's observations of the same weeks.
fn local(s: &Settings, from: i64, until: i64) -> (Observations, ReadSummary) {
    let mut b = ObservationBuilder::new(s.observe.clone());
    b.track_also(&s.funnel_steps);
    let read = read_log(&s.source, |e| {
        if e.micros < from || e.micros >= until {
            return Ok(());
        }
        b.push(e)
    })
    .unwrap();
    (b.finish(), read)
}

/// Pattern-like rows keyed by names (levels may be numbered differently).
fn keyed<T: Copy>(
    o: &Observations,
    rows: &[T],
    key: impl Fn(&T) -> (u16, u16, u16, u64),
    val: impl Fn(&T) -> (u64, u64),
) -> BTreeMap<(String, String, String, u64), (u64, u64)> {
    let level = |names: &[String], i: u16| names.get(i as usize).cloned().unwrap_or_default();
    rows.iter()
        .map(|r| {
            let (w, d, c, m) = key(r);
            (
                (
                    o.weeks[w as usize].week.to_string(),
                    level(&o.devices, d),
                    level(&o.channels, c),
                    m,
                ),
                val(r),
            )
        })
        .collect()
}

fn assert_same(bq: &(Observations, ReadSummary), lo: &(Observations, ReadSummary)) {
    let (b, br) = bq;
    let (l, lr) = lo;
    let pat = |o: &Observations| {
        keyed(
            o,
            &o.patterns,
            |p| (p.week, p.device, p.channel, u64::from(p.mask)),
            |p| (p.units, p.purchasers),
        )
    };
    assert!(l.patterns.len() > 100, "the fixture has too few patterns");
    assert_eq!(pat(b), pat(l), "pattern counts");
    let fired = |o: &Observations| {
        keyed(
            o,
            &o.fired,
            |g| (g.week, g.device, g.channel, g.mask),
            |g| (g.units, 0),
        )
    };
    assert_eq!(fired(b), fired(l), "fired masks");
    assert_eq!(b.devices, l.devices);
    assert_eq!(b.channels, l.channels);
    assert_eq!(b.candidates, l.candidates);
    assert_eq!(b.extra_events, l.extra_events);
    assert_eq!(b.ordering, l.ordering, "orderings");
    assert_eq!(
        b.clusters, l.clusters,
        "per-user sums for clustered intervals"
    );
    assert!(
        l.unit != optsignal::observe::UnitKind::Session
            || l.clusters.as_ref().is_some_and(|c| c.all[0] > l.units),
        "the fixture has users with several units"
    );
    assert_eq!(
        (b.units, b.users, b.censored_units, b.sessions_inferred),
        (l.units, l.users, l.censored_units, l.sessions_inferred)
    );
    assert_eq!(b.span_micros, l.span_micros);
    assert_eq!(b.other_events, l.other_events);
    assert_eq!(b.weeks.len(), l.weeks.len());
    for (x, y) in b.weeks.iter().zip(&l.weeks) {
        assert_eq!(
            (
                x.week,
                x.complete,
                x.units,
                x.users,
                &x.candidates,
                x.purchase
            ),
            (
                y.week,
                y.complete,
                y.units,
                y.users,
                &y.candidates,
                y.purchase
            ),
            "week {}",
            y.week
        );
        assert!((x.revenue - y.revenue).abs() < 1e-6, "revenue {}", y.week);
    }
    assert_eq!(b.values.len(), l.values.len());
    for (x, y) in b.values.iter().zip(&l.values) {
        assert_eq!((x.week, x.mask, x.valued), (y.week, y.mask, y.valued));
        assert!((x.sum - y.sum).abs() < 1e-6 && (x.sum_sq - y.sum_sq).abs() < 1e-4);
    }
    assert_eq!(br.rows_read, lr.rows_read);
    assert_eq!(br.rows_accepted, lr.rows_accepted);
    let skips = |r: &ReadSummary| {
        r.rows_skipped
            .iter()
            .map(|(k, t)| (*k, t.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(skips(br), skips(lr));
    assert!(lr.skipped_total() > 0, "the fixture has consent-mode rows");
}

fn compare(extra: &str) -> (Observations, ReadSummary) {
    compare_on(extra, EVENTS)
}

/// [`compare`] on another export fixture.
fn compare_on(extra: &str, events: &str) -> (Observations, ReadSummary) {
    let dir = tempfile::tempdir().unwrap();
    let bq_cfg = config_on(dir.path(), "bigquery", extra, "", events);
    let resp = run_in_duckdb_on(&bq_cfg, dir.path(), events);
    let s = settings(&bq_cfg);
    let window = s.remote.window.unwrap();
    let from = optsignal::observe::week_span(window.first, &s.observe.time_zone).0;
    let until = optsignal::observe::week_span(window.last, &s.observe.time_zone).1;
    let bq = from_response(&resp, &s);
    let lo = local(
        &settings(&config_on(dir.path(), "ga4_export", extra, "", events)),
        from,
        until,
    );
    assert_same(&bq, &lo);
    lo
}

#[test]
fn duplicates_are_removed_the_same_in_duckdb_as_in_the_local_reader() {
    // scripts/ga4_duplicates_fixture.py: 22 exact duplicate rows, 10 purchases repeated with an
    // earlier transaction_id (one of them first in the file).
    for extra in ["", "[analysis]\nunit = \"user\""] {
        let (obs, read) = compare_on(extra, "ga4/duplicates.ndjson.gz");
        let count = |r: SkipReason| read.rows_skipped.get(&r).map_or(0, |t| t.count);
        assert_eq!(count(SkipReason::DuplicateRow), 22, "{extra}");
        assert_eq!(count(SkipReason::DuplicateTransaction), 10, "{extra}");
        // Purchases count as in the fixture without duplicates.
        let (clean, _) = compare(extra);
        let purchases = |o: &Observations| o.weeks.iter().map(|w| w.purchase.events).sum::<u64>();
        assert_eq!(purchases(&obs), purchases(&clean), "{extra}");
    }
}

#[test]
fn session_units_count_the_same_in_duckdb_as_in_the_local_reader() {
    let lo = compare("");
    assert!(lo.0.sessions_inferred, "the fixture has (not set) sessions");
    assert!(lo.0.ordering.iter().any(|o| o.after_purchase_only > 0));
}

#[test]
fn user_units_in_another_time_zone_count_the_same() {
    let lo = compare(
        "[analysis]\nunit = \"user\"\ntime_zone = \"America/New_York\"\nlabel_window_days = 3\n",
    );
    assert!(lo.0.censored_units > 0);
}

#[test]
fn a_narrower_window_reads_only_its_weeks() {
    // Weeks 40–44 only: units starting before are not there, and labels end with the window.
    let lo = compare("[analysis]\ntime_zone = \"Europe/Berlin\"\nsession_gap_minutes = 10\n")
        .0
        .weeks
        .len();
    assert!(lo >= 10);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "bigquery", "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "weeks = 12\nlast_week = \"2026-W47\"",
        "weeks = 5\nlast_week = \"2026-W44\"",
    );
    std::fs::write(&cfg, text).unwrap();
    let resp = run_in_duckdb(&cfg, dir.path());
    let s = settings(&cfg);
    let (bq, _) = from_response(&resp, &s);
    let weeks: Vec<String> = bq.weeks.iter().map(|w| w.week.to_string()).collect();
    assert_eq!(
        weeks,
        ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"]
    );
    let window = s.remote.window.unwrap();
    let from = optsignal::observe::week_span(window.first, &s.observe.time_zone).0;
    let until = optsignal::observe::week_span(window.last, &s.observe.time_zone).1;
    let lo = local(
        &settings(&config(dir.path(), "ga4_export", "")),
        from,
        until,
    );
    assert_eq!(bq.patterns.iter().map(|p| p.units).sum::<u64>(), lo.0.units);
    assert_eq!(bq.units, lo.0.units);
}

/// Differences between two JSON documents; numbers may differ by 1e-9 relative (order values are
/// summed in another order in the warehouse).
fn json_close(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let none = Value::Null;
                json_close(
                    x.get(k).unwrap_or(&none),
                    y.get(k).unwrap_or(&none),
                    &format!("{at}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                json_close(u, v, &format!("{at}[{i}]"), out);
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() > 1e-9 * x.abs().max(y.abs()).max(1.0) {
                out.push(format!("{at}: {x} vs {y}"));
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{at}: {a} vs {b}")),
    }
}

/// A mock BigQuery (and its OAuth token endpoint) that answers the dry run with `estimate` bytes
/// and the query with the DuckDB result `resp`.
async fn mock_bigquery(dir: &Path, resp: &Value, estimate: u64) -> (MockServer, String) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.pushdown-test", "expires_in": 3599, "token_type": "Bearer"
        })))
        .mount(&server)
        .await;
    let (_, pem, _) = util::fake_service_account(
        dir,
        &format!("{}/token", server.uri()),
        "pushdown@optsignal-test.iam.gserviceaccount.com",
    );
    Mock::given(method("POST"))
        .and(path("/projects/demo-project/queries"))
        .and(body_partial_json(
            json!({"dryRun": true, "useLegacySql": false}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "bigquery#queryResponse",
            "jobComplete": true,
            "jobReference": {"projectId": "demo-project", "location": "EU"},
            "schema": resp["schema"],
            "totalBytesProcessed": estimate.to_string(),
        })))
        .mount(&server)
        .await;
    let mut answer = resp.clone();
    answer["jobReference"]["jobId"] = json!("job_pushdown_1");
    answer["totalBytesProcessed"] = json!(estimate.to_string());
    answer["totalBytesBilled"] = json!(estimate.to_string());
    Mock::given(method("POST"))
        .and(path("/projects/demo-project/queries"))
        .and(|r: &Request| {
            serde_json::from_slice::<Value>(&r.body).is_ok_and(|b| b["dryRun"] != json!(true))
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    (server, pem)
}

const RECOMMEND: [&str; 7] = [
    "--platform",
    "meta",
    "--ad-sets",
    "1",
    "--share",
    "0.6",
    "--format",
];

/// `recommend` on `source.kind = "bigquery"`, against a mock BigQuery serving what DuckDB
/// computed from the fixture, gives the report of the local export reader on the same file.
#[tokio::test(flavor = "multi_thread")]
async fn recommend_on_bigquery_gives_the_report_of_the_local_export_reader() {
    let dir = tempfile::tempdir().unwrap();
    let plain = config(dir.path(), "bigquery", "");
    let resp = run_in_duckdb(&plain, dir.path());
    let (server, pem) = mock_bigquery(dir.path(), &resp, 2_345_678_901).await;
    let cfg = config_with(
        dir.path(),
        "bigquery",
        "",
        &format!(
            "base_url = \"{}\"\nmaximum_bytes_billed = 10_000_000_000\nlocation = \"EU\"",
            server.uri()
        ),
    );
    let estimate = util::optsignal()
        .args(["bigquery", "estimate", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&estimate.stdout).trim(),
        "the pushdown would process 2.3 GB (2345678901 bytes; limit 10.0 GB)"
    );
    let local_cfg = config(dir.path(), "ga4_export", "");
    let run = |cfg: PathBuf| {
        let out = util::optsignal()
            .arg("recommend")
            .arg("-c")
            .arg(cfg)
            .args(RECOMMEND)
            .arg("json")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let ((mut bq, stderr), (mut lo, _)) =
        tokio::task::spawn_blocking(move || (run(cfg), run(local_cfg)))
            .await
            .unwrap();
    assert!(!stderr.contains(&pem) && !stderr.contains("ya29."));
    let note = bq["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|n| n.as_str().filter(|n| n.starts_with("BigQuery pushdown")))
        .expect("a note on what the pushdown cost")
        .to_string();
    assert!(
        note.contains("2.3 GB processed (dry-run estimate 2.3 GB, limit 10.0 GB)")
            && note.contains("job job_pushdown_1"),
        "{note}"
    );
    assert_eq!(
        bq["input"]["file"],
        "BigQuery demo-project.analytics_1234.events_* (daily tables 20260830–20261123)"
    );
    for r in [&mut bq, &mut lo] {
        r["input"]["file"] = Value::Null;
        r["input"]["timestamp_format"] = Value::Null;
        // Each source names itself in its settle time, judged at the run's clock.
        r["input"]["settle"] = Value::Null;
        r["input"]["rows_skipped"]["missing_user_id"]["first_lines"] = Value::Null;
        r["changes"]["store"] = Value::Null;
        r["changes"]["notes"] = Value::Null;
        let notes = r["notes"].as_array_mut().unwrap();
        notes.retain(|n| {
            let n = n.as_str().unwrap();
            !n.starts_with("BigQuery pushdown") && !n.contains("rows skipped")
        });
    }
    let mut diffs = Vec::new();
    json_close(&bq, &lo, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "the reports differ:\n{}",
        diffs.join("\n")
    );
    // Two dry runs (`bigquery estimate`, then `recommend`'s) and one job reached BigQuery.
    let calls = server.received_requests().await.unwrap();
    let dry = |r: &&&Request| {
        serde_json::from_slice::<Value>(&r.body).is_ok_and(|b| b["dryRun"] == json!(true))
    };
    let queries: Vec<_> = calls
        .iter()
        .filter(|r| r.url.path() == "/projects/demo-project/queries")
        .collect();
    assert_eq!(queries.iter().filter(dry).count(), 2);
    assert_eq!(queries.len(), 3);
}

/// A dry run over `bigquery.maximum_bytes_billed` stops the run before any job starts.
#[tokio::test(flavor = "multi_thread")]
async fn an_estimate_over_the_limit_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty = json!({"schema": {"fields": []}, "rows": []});
    let (server, _) = mock_bigquery(dir.path(), &empty, 2_345_678_901).await;
    let cfg = config_with(
        dir.path(),
        "bigquery",
        "",
        &format!(
            "base_url = \"{}\"\nmaximum_bytes_billed = 1_000_000_000",
            server.uri()
        ),
    );
    let estimate_cfg = cfg.clone();
    let (out, estimate) = tokio::task::spawn_blocking(move || {
        let out = util::optsignal()
            .arg("recommend")
            .arg("-c")
            .arg(cfg)
            .args(RECOMMEND)
            .arg("json")
            .output()
            .unwrap();
        let estimate = util::optsignal()
            .args(["bigquery", "estimate", "-c"])
            .arg(estimate_cfg)
            .output()
            .unwrap();
        (out, estimate)
    })
    .await
    .unwrap();
    // `bigquery estimate` says the same, and fails the same way.
    assert_eq!(estimate.status.code(), Some(1));
    let said = String::from_utf8_lossy(&estimate.stderr);
    assert!(
        said.contains("2345678901") && said.contains("1000000000"),
        "{said}"
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2345678901") || err.contains("2.3 GB"),
        "{err}"
    );
    let calls = server.received_requests().await.unwrap();
    let jobs = calls.iter().filter(|r| {
        r.url.path() == "/projects/demo-project/queries"
            && serde_json::from_slice::<Value>(&r.body).is_ok_and(|b| b["dryRun"] != json!(true))
    });
    assert_eq!(jobs.count(), 0, "no job may start over the limit");
}
