//! The derived candidates' selection-bias check: many seeds of the intent stores
//! (`optsignal::demo::write_intent_store`) through the real pipeline with 8 derived grid points
//! (view_item at least 2–5 times, add_to_cart worth at least 20–80).
//!
//! On the null store nothing derived carries signal beyond add_to_cart itself, so a derived
//! recommendation is a false discovery, and the kept add_to_cart value point's precision has a
//! known truth (0.10): its held-out figure should be unbiased, while the same point's precision
//! on the search weeks shows what picking the best of a grid inflates. On the views store
//! "view_item ≥ k" is the only qualifying signal: how often it is found is the power.

use std::io::BufWriter;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

use optsignal::config::{load_settings, Overrides};
use optsignal::demo::{write_intent_store, IntentStore, INTENT_DERIVED as DERIVED};

/// True precision of add_to_cart (and of every value point) on the null store.
const NULL_CART_PRECISION: f64 = 0.10;

/// One run's reading.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// Meta's recommended event.
    pub meta: Option<String>,
    /// The kept add_to_cart value point: (held-out precision, search-week precision).
    value_point: Option<(f64, f64)>,
    /// Lift of the kept view_item count point (held-out).
    views_lift: Option<f64>,
    /// The kept predicted point: (held-out precision, search-week precision).
    pub predicted_point: Option<(f64, f64)>,
    /// The predicted model's held-out observed / expected and calibration slope.
    pub calibration: Option<(f64, f64)>,
    /// Whether a raw event (purchase, view_item, add_to_cart) cleared Meta's floor and was
    /// useful: then a derived or predicted event can win only by its score.
    pub raw_qualifies: bool,
}

/// Runs one store through the pipeline with the derived families and `extra` config lines.
fn run_one(store: IntentStore, size: u32, seed: u64, extra: &str) -> Result<Reading, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let log = dir.path().join("events.csv");
    let mut out = BufWriter::new(std::fs::File::create(&log).map_err(|e| e.to_string())?);
    write_intent_store(store, seed, 8, size, &mut out).map_err(|e| e.to_string())?;
    drop(out);
    let cfg = dir.path().join("optsignal.toml");
    std::fs::write(
        &cfg,
        format!(
            "account = \"intent\"\n[source]\npath = \"events.csv\"\n[analysis]\n\
             candidates = [\"view_item\", \"add_to_cart\"]\n{DERIVED}\n{extra}\n\
             [[platforms]]\nid = \"meta\"\nad_sets = 2\nattributed_share = 0.6\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let settings =
        load_settings(Some(Path::new(&cfg)), &Overrides::default()).map_err(|e| e.to_string())?;
    let report = optsignal::pipeline::run(&settings).map_err(|e| e.to_string())?;
    let r = serde_json::to_value(&report).map_err(|e| e.to_string())?;
    Ok(read(&r))
}

fn read(r: &Value) -> Reading {
    let meta = r["recommendations"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["platform"] == "meta"))
        .and_then(|m| m["event"].as_str())
        .map(String::from);
    let search: Vec<&str> = r["input"]["derived"]["search_weeks"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let raw_qualifies = r["recommendations"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["platform"] == "meta"))
        .and_then(|m| m["checks"].as_array())
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                ["purchase", "view_item", "add_to_cart"]
                    .contains(&c["event"].as_str().unwrap_or(""))
                    && c["clears"] == true
                    && c["useful"] == true
            })
        });
    let mut reading = Reading {
        meta,
        raw_qualifies,
        ..Reading::default()
    };
    for k in r["input"]["derived"]["kept"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = k["rule"]["name"].as_str().unwrap_or("");
        let Some(p) = r["proxies"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["event"] == name))
        else {
            continue;
        };
        let (mut y, mut n) = (0.0, 0.0);
        for w in p["weekly"].as_array().into_iter().flatten() {
            if search.contains(&w["week"].as_str().unwrap_or("")) {
                let units = w["units"].as_f64().unwrap_or(0.0);
                y += w["precision"].as_f64().unwrap_or(0.0) * units;
                n += units;
            }
        }
        let point = p["precision"]
            .as_f64()
            .filter(|_| n > 0.0)
            .map(|held| (held, y / n));
        if name.starts_with("add_to_cart_value") {
            reading.value_point = point;
        } else if name.starts_with("predicted_") {
            reading.predicted_point = point;
        } else if name.starts_with("view_item_") {
            reading.views_lift = p["lift"].as_f64();
        }
    }
    let c = &r["input"]["predicted"]["calibration"];
    if let (Some(oe), Some(slope)) = (c["observed_over_expected"].as_f64(), c["slope"].as_f64()) {
        reading.calibration = Some((oe, slope));
    }
    reading
}

/// One finished run: its store, size and reading.
pub type Run = (IntentStore, u32, Result<Reading, String>);

fn is_derived(e: &str) -> bool {
    e.starts_with("view_item_") || e.starts_with("add_to_cart_value")
}

/// Both intent stores, the null one first.
pub const STORES: [IntentStore; 2] = [IntentStore::Null, IntentStore::ViewsPredict];

/// Runs every (store, size, seed) on `jobs` threads with the `extra` config lines.
pub fn run_all(seeds: u32, sizes: &[u32], jobs: usize, extra: &str) -> Vec<Run> {
    let stores = STORES;
    let tasks: Vec<(IntentStore, u32, u64)> = stores
        .iter()
        .flat_map(|&s| {
            sizes
                .iter()
                .flat_map(move |&z| (1..=u64::from(seeds)).map(move |k| (s, z, k)))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Run>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(s, z, k)) = tasks.get(i) else {
                    break;
                };
                let r = run_one(s, z, 1_000 * u64::from(z) + k, extra);
                results.lock().expect("not poisoned").push((s, z, r));
            });
        }
    });
    results.into_inner().expect("not poisoned")
}

/// Mean ± its standard error, signed, to 4 decimals ("–" for none).
pub fn mean(v: Vec<f64>) -> String {
    if v.is_empty() {
        return "–".into();
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let se = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>()
        / (v.len().max(2) - 1) as f64
        / v.len() as f64)
        .sqrt();
    format!("{m:+.4} ± {se:.4}")
}

/// Runs every (store, size, seed) on `jobs` threads and returns the markdown table.
pub fn table(seeds: u32, sizes: &[u32], jobs: usize) -> String {
    let stores = STORES;
    let results = run_all(seeds, sizes, jobs, "");
    let mut out = String::from(
        "| store | sessions/week | runs | Meta told a derived event | kept value point: held-out precision − truth | same point on its search weeks − truth | view_item count point's held-out lift |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for &s in &stores {
        for &z in sizes {
            let cell: Vec<&Reading> = results
                .iter()
                .filter(|r| r.0 == s && r.1 == z)
                .filter_map(|r| r.2.as_ref().ok())
                .collect();
            let failed = results
                .iter()
                .filter(|r| r.0 == s && r.1 == z && r.2.is_err())
                .count();
            let n = cell.len() as f64;
            let derived = cell
                .iter()
                .filter(|r| r.meta.as_deref().is_some_and(is_derived))
                .count() as f64;
            let (held, search) = if s == IntentStore::Null {
                let pts: Vec<(f64, f64)> = cell.iter().filter_map(|r| r.value_point).collect();
                (
                    mean(pts.iter().map(|p| p.0 - NULL_CART_PRECISION).collect()),
                    mean(pts.iter().map(|p| p.1 - NULL_CART_PRECISION).collect()),
                )
            } else {
                ("–".into(), "–".into())
            };
            let lifts: Vec<f64> = cell.iter().filter_map(|r| r.views_lift).collect();
            let lift = if lifts.is_empty() {
                "–".to_string()
            } else {
                format!("{:.2}", lifts.iter().sum::<f64>() / lifts.len() as f64)
            };
            out.push_str(&format!(
                "| {} | {z} | {}{} | {:.1}% | {held} | {search} | {lift} |\n",
                match s {
                    IntentStore::Null => "null (nothing derived helps)",
                    IntentStore::ViewsPredict => "views predict (view_item ≥ k is the signal)",
                },
                cell.len(),
                if failed > 0 {
                    format!(" ({failed} failed)")
                } else {
                    String::new()
                },
                100.0 * derived / n.max(1.0),
            ));
        }
    }
    out
}
