//! The main job, end to end: read the log (up to `--as-of`), observe, measure, flag, recommend,
//! hold or switch against the stored previous week, assemble the report.

use crate::advise::recommend;
use crate::config::Settings;
use crate::error::Error;
use crate::evidence::measure;
use crate::flags::assess;
use crate::history::{apply_hysteresis, changes, log_week_units};
use crate::observe::week_span;
use crate::observe::ObservationBuilder;
use crate::report::{InputSummary, Report, Tool, WeekTotals, SCHEMA_VERSION};
use crate::source::log::read_log;
use crate::store::{Store, StoredWeek};

/// A run's report and the week it would store.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The report.
    pub report: Report,
    /// This run's week for the model store (`None` when the data have no week).
    pub week: Option<StoredWeek>,
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
            Store::new(&settings.store.dir, &settings.account).save(w)?;
        }
    }
    Ok(a.report)
}

/// Runs the whole analysis and returns the report with the week to store.
pub fn analyze_full(settings: &Settings) -> Result<Analysis, Error> {
    let mut builder = ObservationBuilder::new(settings.observe.clone());
    builder.track_also(&settings.funnel_steps);
    let cutoff = settings
        .as_of
        .map(|w| week_span(w, &settings.observe.time_zone).1);
    let mut after_cutoff = 0u64;
    let mut read = read_log(&settings.source, |e| {
        if cutoff.is_some_and(|c| e.micros >= c) {
            after_cutoff += 1;
            return Ok(());
        }
        builder.push(e)
    })?;
    read.rows_accepted = read.rows_accepted.saturating_sub(after_cutoff);
    let obs = builder.finish();
    if let (Some(week), true) = (settings.as_of, obs.weeks.is_empty()) {
        return Err(Error::NothingAsOf {
            week,
            path: settings.source.path.clone(),
        });
    }
    // Weekly memory: the stored weeks before this one lengthen the drift baseline and decide
    // what recommendation stands.
    let store = Store::new(&settings.store.dir, &settings.account);
    let this_week = obs.weeks.last().map(|w| w.week);
    let earlier = match this_week {
        Some(w) => store.load_before(Some(w))?,
        None => Vec::new(),
    };
    let mut proxies = measure(&obs, &settings.analysis);
    assess(&obs, &mut proxies, &settings.analysis, &earlier);
    let mut recommendations = recommend(&obs, &proxies, &settings.platforms, &settings.analysis);
    let rec_changes: Vec<_> = recommendations
        .iter_mut()
        .map(|r| {
            let prev = earlier.last().and_then(|p| p.recommendation(r.platform));
            apply_hysteresis(r, prev, settings.analysis.confirm_weeks)
        })
        .collect();
    let stored = StoredWeek::from_run(
        &settings.account,
        &obs,
        &proxies,
        &recommendations,
        settings.observe.label_window_days,
        settings.analysis.confidence,
    );
    let changes = changes(
        stored.as_ref(),
        &earlier,
        &log_week_units(&proxies),
        rec_changes,
        settings.analysis.alpha,
        settings.analysis.confidence,
        store.dir().display().to_string(),
    );
    let purchasing_units = obs.patterns.iter().map(|p| p.purchasers).sum();
    let a = &settings.analysis;
    let funnel = crate::funnel::diagnose(&obs, &settings.funnel_steps, a.confidence, a.alpha);
    let weekly: Vec<WeekTotals> = obs
        .weeks
        .iter()
        .map(|w| WeekTotals {
            week: w.week,
            complete: w.complete,
            units: w.units,
            users: w.users,
            purchase: w.purchase,
            revenue: (w.revenue * 100.0).round() / 100.0,
        })
        .collect();
    let recent = crate::testplan::recent_complete(&weekly, a.volume_weeks);
    let seeds = crate::seeds::rank(&proxies, &recent);
    let values = crate::value::values(&obs, &proxies, a.confidence);
    let test_plan = crate::testplan::plan(
        &obs.purchase,
        &weekly,
        &proxies,
        &recent,
        crate::testplan::TestParams::default(),
    );
    let mut notes = Vec::new();
    if read.skipped_total() > 0 {
        let parts: Vec<String> = read
            .rows_skipped
            .iter()
            .map(|(r, t)| {
                format!(
                    "{} {} (first at line {})",
                    t.count,
                    r.describe(),
                    t.first_lines.first().copied().unwrap_or(0)
                )
            })
            .collect();
        notes.push(format!(
            "{} of {} rows skipped: {}",
            read.skipped_total(),
            read.rows_read,
            parts.join("; ")
        ));
    }
    if obs.censored_units > 0 {
        notes.push(format!(
            "{} of {} {} started less than {} days before the end of the data; a purchase after the data ends is not seen, so their labels may be understated",
            obs.censored_units,
            obs.units,
            obs.unit.plural(),
            settings.observe.label_window_days
        ));
    }
    let partial: Vec<String> = obs
        .weeks
        .iter()
        .filter(|w| !w.complete)
        .map(|w| w.week.to_string())
        .collect();
    if !partial.is_empty() {
        notes.push(format!(
            "partial weeks (kept out of floor checks and drift tests): {}",
            partial.join(", ")
        ));
    }
    let empty: Vec<String> = obs
        .weeks
        .iter()
        .filter(|w| w.units == 0)
        .map(|w| w.week.to_string())
        .collect();
    if !empty.is_empty() {
        let list = if empty.len() > 4 {
            format!("{} … {}", empty[0], empty[empty.len() - 1])
        } else {
            empty.join(", ")
        };
        notes.push(format!(
            "{} week(s) inside the data span have no events at all ({list}): a tracking gap, or stray timestamps at the edges",
            empty.len()
        ));
    }
    if let Some(w) = settings.as_of {
        notes.push(format!(
            "as of {w}: {after_cutoff} events dated after that week were left out"
        ));
    }
    if !funnel.absent_steps.is_empty() {
        let s: Vec<String> = funnel.absent_steps.iter().map(|e| e.to_string()).collect();
        notes.push(format!(
            "funnel steps never seen in the log: {} (their step rates are 0)",
            s.join(", ")
        ));
    }
    if obs.sessions_inferred {
        notes.push(format!(
            "no session ids: sessions were cut at {} minutes of inactivity",
            settings.observe.session_gap_minutes
        ));
    }
    let absent_candidates: Vec<String> = proxies
        .iter()
        .filter(|p| p.weekly.iter().all(|w| w.events == 0))
        .map(|p| p.event.to_string())
        .collect();
    if !absent_candidates.is_empty() {
        notes.push(format!(
            "candidates never seen in the log: {}",
            absent_candidates.join(", ")
        ));
    }
    let input = InputSummary {
        file: settings.source.path.display().to_string(),
        rows_read: read.rows_read,
        rows_accepted: read.rows_accepted,
        rows_skipped: read
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
        timestamp_format: read.timestamp_format.clone(),
        absent_fields: read.absent_fields.clone(),
        unit: obs.unit,
        units: obs.units,
        users: obs.users,
        purchasing_units,
        censored_units: obs.censored_units,
        sessions_inferred: obs.sessions_inferred,
        weeks: obs.weeks.iter().map(|w| w.week).collect(),
        complete_weeks: obs
            .weeks
            .iter()
            .filter(|w| w.complete)
            .map(|w| w.week)
            .collect(),
        other_events: obs.other_events.clone(),
        absent_candidates,
        as_of: settings.as_of,
        rows_after_as_of: after_cutoff,
    };
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
        input,
        settings: settings.analysis.clone(),
        label_window_days: settings.observe.label_window_days,
        notes,
        changes,
    };
    Ok(Analysis {
        report,
        week: stored,
    })
}
