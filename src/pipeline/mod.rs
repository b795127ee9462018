//! The main job, end to end: read the log (up to `--as-of`), observe, measure, flag, recommend,
//! hold or switch against the stored previous week, assemble the report.

mod memory;
mod notes;
mod predicted;
mod read;

pub use read::{bigquery_estimate, bigquery_sql, pull_snapshot};

use crate::config::Settings;
use crate::error::Error;
use crate::history::{changes, log_week_units};
use crate::observe::Observations;
use crate::report::{InputSummary, Report, Tool, WeekTotals, SCHEMA_VERSION};
use crate::store::{Store, StoredWeek};

/// A run's report and the week it would store.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The report.
    pub report: Report,
    /// This run's week for the model store (`None` when the data have no week).
    pub week: Option<StoredWeek>,
    /// The grouped observations the report was measured on (audience comparisons read them).
    pub obs: crate::observe::Observations,
}

/// Runs the whole analysis for one account (reading, never writing, the model store).
pub fn analyze(settings: &Settings) -> Result<Report, Error> {
    analyze_full(settings).map(|a| a.report)
}

/// Runs the analysis and, when `settings.store.save` is set, writes the week to the store.
pub fn run(settings: &Settings) -> Result<Report, Error> {
    let a = analyze_full(settings)?;
    if settings.store.save {
        if let Some(w) = &a.week {
            let saved = Store::new(&settings.store.dir, &settings.account).save(w)?;
            if let Some(aside) = saved.set_aside {
                let text = format!(
                    "model store: {} could not be read, so it was moved to {} (never overwritten) and this week stored in its place",
                    saved.path.display(),
                    aside.display()
                );
                tracing::warn!("{text}");
                let mut report = a.report;
                report.notes.push(text);
                return Ok(report);
            }
        }
    }
    Ok(a.report)
}

/// Runs the whole analysis and returns the report with the week to store: pulls the configured
/// API sources (or reads their snapshot), reads the event log (or, with `source.kind =
/// "ga4_api"`, takes GA4's weekly volumes), measures, flags and recommends.
pub fn analyze_full(settings: &Settings) -> Result<Analysis, Error> {
    let (pulled, read) = read::pull_and_read(settings)?;
    // Weekly memory: the stored weeks before this one lengthen the drift baseline and decide
    // what recommendation stands (a standing derived point stays among the candidates).
    let basis = memory::run_basis(settings, &read.obs);
    let memory = memory::memory_before(settings, &read.obs, &basis)?;
    let read = read::select_derived(read, settings, &memory::standing(&memory));
    let obs = &read.obs;
    let decision = memory::decide(settings, obs, &memory, pulled.as_ref());
    let stored = StoredWeek::from_run(
        &settings.account,
        obs,
        &decision.proxies,
        &decision.recommendations,
        settings.observe.label_window_days,
        basis,
        settings.analysis.confidence,
    );
    let mut changes = changes(
        stored.as_ref(),
        &memory.comparable,
        &log_week_units(&decision.proxies),
        decision.changes,
        settings.analysis.alpha,
        settings.analysis.confidence,
        memory.store.dir().display().to_string(),
    );
    changes
        .notes
        .splice(0..0, memory.not_compared.iter().cloned());
    changes.rules =
        crate::history::rule_changes(&decision.recommendations, memory.comparable.last());
    let a = &settings.analysis;
    let funnel = crate::funnel::diagnose(obs, &settings.funnel_steps, a.confidence, a.alpha);
    let weekly = weekly_totals(obs);
    let recent = crate::testplan::recent_complete(&weekly, a.volume_weeks);
    let proxies = decision.proxies;
    let mut seeds = crate::seeds::rank(&proxies, &recent);
    seeds.comparisons = crate::audience::report_comparisons(obs, &seeds.retargeting, a.confidence);
    let values = crate::value::values(obs, &proxies, a.confidence);
    let test_plan = crate::testplan::plan(
        &obs.purchase,
        &weekly,
        &proxies,
        &recent,
        crate::testplan::TestParams::default(),
    );
    let absent = absent_candidates(&proxies);
    let mut notes = memory.unreadable.clone();
    let settle = notes::provisional(settings, obs, pulled.as_ref(), &mut notes);
    let (recommendations, reported) = (decision.recommendations, decision.reported);
    let setup = crate::setup::plan(&recommendations, &values, &obs.purchase, &obs.derived);
    notes::read_notes(
        settings,
        &read,
        pulled.as_ref(),
        &recommendations,
        &reported,
        &mut notes,
    );
    let after = read.after_cutoff;
    notes::observation_notes(settings, obs, &weekly, &funnel, after, &absent, &mut notes);
    let input = input_summary(settings, &read, absent, settle);
    let conversion_goals = pulled
        .as_ref()
        .map(|p| crate::goals::audit(p, &log_event_counts(obs)))
        .unwrap_or_default();
    let report = Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "optsignal",
            version: env!("CARGO_PKG_VERSION"),
        },
        account: settings.account.clone(),
        recommendations,
        proxies,
        weekly,
        funnel,
        seeds,
        test_plan,
        values,
        setup,
        input,
        settings: settings.analysis.clone(),
        label_window_days: settings.observe.label_window_days,
        notes,
        changes,
        pulled,
        conversion_goals,
    };
    Ok(Analysis {
        report,
        week: stored,
        obs: read.obs,
    })
}

/// Each week's totals, as the report shows them (revenue to the cent).
fn weekly_totals(obs: &Observations) -> Vec<WeekTotals> {
    obs.weeks
        .iter()
        .map(|w| WeekTotals {
            week: w.week,
            complete: w.complete,
            days_with_data: crate::observe::days_with_data(w.days),
            set_aside: w.set_aside,
            units: w.units,
            users: w.users,
            purchase: w.purchase,
            revenue: (w.revenue * 100.0).round() / 100.0,
        })
        .collect()
}

/// The candidates with no event in any week.
fn absent_candidates(proxies: &[crate::evidence::ProxyEvidence]) -> Vec<String> {
    proxies
        .iter()
        .filter(|p| p.weekly.iter().all(|w| w.events == 0))
        .map(|p| p.event.to_string())
        .collect()
}

/// The report's input section: what was read, accepted and skipped, the units and weeks, and
/// how final each week is.
fn input_summary(
    settings: &Settings,
    read: &read::Read,
    absent_candidates: Vec<String>,
    settle: (Vec<crate::types::IsoWeek>, crate::report::Settle),
) -> InputSummary {
    let (obs, summary) = (&read.obs, &read.summary);
    InputSummary {
        file: read.file.clone(),
        rows_read: summary.rows_read,
        rows_accepted: summary.rows_accepted,
        rows_skipped: summary
            .rows_skipped
            .iter()
            .map(|(r, t)| {
                (
                    serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    t.clone(),
                )
            })
            .collect(),
        timestamp_format: summary.timestamp_format.clone(),
        absent_fields: summary.absent_fields.clone(),
        unit: obs.unit,
        units: obs.units,
        users: obs.users,
        purchasing_units: obs.patterns.iter().map(|p| p.purchasers).sum(),
        censored_units: obs.censored_units,
        sessions_inferred: obs.sessions_inferred,
        weeks: obs.weeks.iter().map(|w| w.week).collect(),
        complete_weeks: obs
            .weeks
            .iter()
            .filter(|w| w.complete)
            .map(|w| w.week)
            .collect(),
        measured_weeks: obs
            .measured_weeks()
            .iter()
            .map(|&w| obs.weeks[w as usize].week)
            .collect(),
        other_events: obs.other_events.clone(),
        absent_candidates,
        discovery: obs.discovery.clone(),
        derived: read.derived.clone(),
        predicted: read.predicted.clone(),
        as_of: settings.as_of,
        rows_after_as_of: read.after_cutoff,
        provisional_weeks: settle.0,
        settle: settle.1,
    }
}

/// Events of each canonical name in the analysed log: candidates, purchase and the others.
fn log_event_counts(obs: &Observations) -> std::collections::BTreeMap<String, u64> {
    let mut out = obs.other_events.clone();
    for (j, c) in obs.candidates.iter().enumerate() {
        let n = obs
            .weeks
            .iter()
            .map(|w| w.candidates.get(j).map_or(0, |v| v.events))
            .sum();
        out.insert(c.to_string(), n);
    }
    out.insert(
        obs.purchase.to_string(),
        obs.weeks.iter().map(|w| w.purchase.events).sum(),
    );
    out
}
