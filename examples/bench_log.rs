//! Writes a demo-store canonical log of about N events (uncompressed CSV) for the benchmark
//! harness: the default demo store with the weekly traffic scaled up.
//!
//! `cargo run --release --example bench_log -- EVENTS OUT.csv`

use std::io::BufWriter;

use optsignal::demo::{self, DemoSpec};

/// Events per regular session in the default demo store (116,831 events / 37,324 sessions,
/// giveaway included); close enough to size the log.
const EVENTS_PER_SESSION: f64 = 3.13;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: f64 = args
        .next()
        .ok_or("usage: bench_log EVENTS OUT.csv")?
        .parse()?;
    let out = args.next().ok_or("usage: bench_log EVENTS OUT.csv")?;
    let mut spec = DemoSpec::default();
    let sessions = events / EVENTS_PER_SESSION;
    spec.sessions_per_week = (sessions / f64::from(spec.weeks)) as u32;
    if let Some(g) = spec.giveaway.as_mut() {
        g.sessions_per_week = spec.sessions_per_week * 3 / 7;
    }
    let file = std::fs::File::create(&out)?;
    let summary = demo::generate(&spec, BufWriter::with_capacity(1 << 20, file))?;
    eprintln!(
        "{out}: {} events, {} sessions, {} users",
        summary.rows, summary.sessions, summary.users
    );
    Ok(())
}
