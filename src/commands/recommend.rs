//! `optsignal recommend`: the event each platform should optimize on.

use std::path::PathBuf;

use optsignal::config::{load_settings, Overrides};
use optsignal::error::Error;

use super::common::{parse_time, parse_week, render_report, Format, Unit};
use super::{Global, Outcome};

/// The arguments of `recommend`.
#[derive(clap::Args)]
pub struct Args {
    /// TOML config file (see fixtures/demo/optsignal.toml).
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: Option<PathBuf>,
    /// Canonical event log (CSV or JSON Lines, optionally .gz); overrides source.path.
    #[arg(short, long)]
    events: Option<PathBuf>,
    /// Platform to recommend for (meta, tiktok, google_ads, microsoft_ads, snapchat, pinterest,
    /// linkedin, reddit); repeatable.
    #[arg(short, long = "platform")]
    platforms: Vec<String>,
    /// Bidding units (ad sets / ad groups / campaigns): one for all platforms, or one per
    /// --platform in order.
    #[arg(long = "ad-sets")]
    ad_sets: Vec<u32>,
    /// Share of site events the platform sees, in (0, 1]: one for all, or one per --platform.
    #[arg(long = "share")]
    shares: Vec<f64>,
    /// Observation unit.
    #[arg(long, value_enum)]
    unit: Option<Unit>,
    /// Candidate proxy events, comma-separated.
    #[arg(long, value_delimiter = ',')]
    candidates: Option<Vec<String>>,
    /// Account name shown in the report.
    #[arg(long)]
    account: Option<String>,
    /// Stop at the first malformed row instead of skipping and counting it.
    #[arg(long)]
    strict: bool,
    /// Threads to read the log with (default: the machine's cores). Two or more parse on one
    /// thread, observe on another and count folded units on a third; more are not used yet.
    /// Results are identical either way.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Analyse only events up to the end of this ISO week (e.g. 2026-W44), in the analysis time zone.
    #[arg(long = "as-of", value_parser = parse_week)]
    as_of: Option<optsignal::types::IsoWeek>,
    /// Write this run's week to the model store (also: [store] enabled = true).
    #[arg(long)]
    save: bool,
    /// Read API data (Meta, GA4, Google Ads) from a snapshot written by `optsignal pull`.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Judge which weeks are final (settle times) as at this time, RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    now: Option<jiff::Timestamp>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
}

/// Loads the settings with the flags as overrides, runs the analysis and renders the report.
pub fn exec(global: &Global, a: Args) -> Result<Outcome, Error> {
    let overrides = Overrides {
        events: a.events,
        platforms: a.platforms,
        ad_sets: a.ad_sets,
        shares: a.shares,
        unit: a.unit.map(Unit::kind),
        candidates: a.candidates,
        account: a.account,
        strict: a.strict,
        threads: a.threads.map(usize::from),
        progress: !global.quiet,
        as_of: a.as_of,
        save: a.save,
        snapshot: a.snapshot,
        now: a.now,
        ..Overrides::default()
    };
    let settings = load_settings(a.config.as_deref(), &overrides)?;
    render_report(global, &settings, a.format).map(Outcome::ok)
}
