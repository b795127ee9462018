//! The predicted signal's checks over many seeds of the intent stores, with the derived
//! families as well (the model reads every candidate, derived ones too).
//!
//! On the null store add_to_cart carries all the signal: a model over it and noise can only
//! rebuild it, so a predicted recommendation for Meta is a false discovery. On the views store
//! the model combines the view counts and add_to_cart: how often it is recommended is its
//! power. On both, the model's held-out observed / expected and calibration slope should be
//! near 1, and the kept point's held-out precision shows no selection bias while its search
//! weeks (where its cut was chosen) would flatter it.

use crate::derived::{mean, run_all, Reading, STORES};
use optsignal::demo::IntentStore;

/// Runs every (store, size, seed) on `jobs` threads and returns the markdown table.
pub fn table(seeds: u32, sizes: &[u32], jobs: usize) -> String {
    let results = run_all(seeds, sizes, jobs, "[analysis.predicted]");
    let mut out = String::from(
        "| store | sessions/week | runs | a raw event qualified | Meta told the predicted event | … while a raw event qualified | held-out observed ÷ expected − 1 | held-out calibration slope − 1 | kept point: held-out − search-week precision |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in STORES {
        for &z in sizes {
            let cell: Vec<_> = results
                .iter()
                .filter(|r| r.0 == s && r.1 == z)
                .filter_map(|r| r.2.as_ref().ok())
                .collect();
            let failed = results
                .iter()
                .filter(|r| r.0 == s && r.1 == z && r.2.is_err())
                .count();
            let is_told = |r: &&&Reading| {
                r.meta
                    .as_deref()
                    .is_some_and(|e| e.starts_with("predicted_"))
            };
            let told = cell.iter().filter(is_told).count();
            let qualified = cell.iter().filter(|r| r.raw_qualifies).count();
            let false_told = cell
                .iter()
                .filter(|r| r.raw_qualifies)
                .filter(is_told)
                .count();
            let pct = |k: usize, n: usize| format!("{:.1}%", 100.0 * k as f64 / n.max(1) as f64);
            let cal: Vec<(f64, f64)> = cell.iter().filter_map(|r| r.calibration).collect();
            let gap: Vec<f64> = cell
                .iter()
                .filter_map(|r| r.predicted_point)
                .map(|(held, search)| held - search)
                .collect();
            out.push_str(&format!(
                "| {} | {z} | {}{} | {} | {} | {} | {} | {} | {} |\n",
                match s {
                    IntentStore::Null => "null (add_to_cart is the signal)",
                    IntentStore::ViewsPredict => "views predict",
                },
                cell.len(),
                if failed > 0 {
                    format!(" ({failed} failed)")
                } else {
                    String::new()
                },
                pct(qualified, cell.len()),
                pct(told, cell.len()),
                if qualified == 0 {
                    "–".to_string()
                } else {
                    format!("{} of {qualified}", false_told)
                },
                mean(cal.iter().map(|c| c.0 - 1.0).collect()),
                mean(cal.iter().map(|c| c.1 - 1.0).collect()),
                mean(gap),
            ));
        }
    }
    out
}
