//! A small store with known truth for derived candidates: where raw events fail and a derived
//! one ("view_item at least 3 times in the session") carries the signal, or where nothing
//! derived helps.
//!
//! Each week has about `sessions_per_week` one-session visitors (mobile or desktop, equally).
//! With [`IntentStore::ViewsPredict`], 15% of sessions are high-intent: they view 1 + Poisson(3.5)
//! items and buy with probability 8% (low-intent: 1 + Poisson(0.3) views, 0.3%), so purchase runs
//! at about 44 a week, add_to_cart (30% of buyers, 0.5% of the others: about 28 a week) is too rare for a
//! 50-a-week floor and view_item (every session) predicts nothing, while "view_item ≥ 3" fires in
//! about 16% of sessions with a lift near 4.5. With [`IntentStore::Null`] the number of views and
//! every cart's value are drawn independently of intent, add_to_cart fires in 12% of sessions and
//! carries the signal (bought by 10% of them, against 0.1% without): no derived rule on views or
//! values can beat it except by chance.

use std::io::{self, Write};

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::draws::{below, unif};

/// The derived families the intent stores are checked with (tests/it/derived.rs, the calibration
/// harness's `--derived` table, fixtures/derived/optsignal.toml): view_item at least 2–5 times,
/// add_to_cart worth at least 20–80 — 8 grid points.
pub const INTENT_DERIVED: &str = r#"
[[analysis.derived]]
event = "view_item"
min_count = [2, 3, 4, 5]

[[analysis.derived]]
event = "add_to_cart"
min_value = [20, 40, 60, 80]
"#;

/// Which truth the store is generated under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentStore {
    /// High intent shows as many item views; no raw event both clears and predicts.
    ViewsPredict,
    /// Views and cart values say nothing beyond add_to_cart itself.
    Null,
}

/// Unix seconds of Monday 2026-01-05 00:00 UTC (ISO 2026-W02), the first week.
const START: i64 = 1_767_571_200;

fn poisson(rng: &mut Xoshiro256PlusPlus, mean: f64) -> u32 {
    let (l, mut k, mut p) = ((-mean).exp(), 0u32, 1.0);
    loop {
        p *= unif(rng);
        if p <= l || k >= 60 {
            return k;
        }
        k += 1;
    }
}

/// Writes `weeks` weeks of the store as a canonical CSV event log (header included), seeded by
/// `seed`.
pub fn write_intent_store(
    store: IntentStore,
    seed: u64,
    weeks: u32,
    sessions_per_week: u32,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    writeln!(out, "{}", super::HEADER)?;
    let mut n = 0u64;
    for wk in 0..i64::from(weeks) {
        let mut rows: Vec<(i64, u64, String)> = Vec::new();
        for _ in 0..sessions_per_week {
            n += 1;
            let t0 = START + wk * 7 * 86_400 + below(&mut rng, 7 * 86_400 - 3_600) as i64;
            let device = if unif(&mut rng) < 0.5 {
                "mobile"
            } else {
                "desktop"
            };
            let high = unif(&mut rng) < 0.15;
            let (views, cart, buys) = match store {
                IntentStore::ViewsPredict => {
                    let views = 1 + poisson(&mut rng, if high { 3.5 } else { 0.3 });
                    let buys = unif(&mut rng) < if high { 0.08 } else { 0.003 };
                    // Most buyers use "buy now": the cart stays too rare to clear a floor.
                    let cart = unif(&mut rng) < if buys { 0.3 } else { 0.005 };
                    (views, cart, buys)
                }
                IntentStore::Null => {
                    let views = 1 + poisson(&mut rng, 0.8);
                    let cart = unif(&mut rng) < 0.12;
                    let buys = unif(&mut rng) < if cart { 0.10 } else { 0.001 };
                    (views, cart, buys)
                }
            };
            let mut row = |dt: i64, event: &str, value: String| {
                let ts = jiff::Timestamp::from_second(t0 + dt).expect("in range");
                let line = format!(
                    "{},u{n},s{n},{event},{device},organic,{value}",
                    ts.strftime("%Y-%m-%dT%H:%M:%SZ")
                );
                rows.push((t0 + dt, n, line));
            };
            row(0, "session_start", String::new());
            let mut dt = 0;
            for _ in 0..views {
                dt += 20 + below(&mut rng, 60) as i64;
                row(dt, "view_item", String::new());
            }
            if cart {
                dt += 30;
                let value = 5.0 + (unif(&mut rng) * 95.0).round();
                row(dt, "add_to_cart", format!("{value}"));
            }
            if buys {
                dt += 120;
                let value = 20.0 + (unif(&mut rng) * 80.0).round();
                row(dt, "purchase", format!("{value}"));
            }
        }
        // In time order (a session's own rows keep theirs: the sort is stable).
        rows.sort_by_key(|r| r.0);
        for (_, _, line) in rows {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
