//! The main job, end to end: read the log (up to `--as-of`), observe, measure, flag, recommend,
//! hold or switch against the stored previous week, assemble the report.

use crate::advise::{damaged_weeks, recommend_standing, ReportedCounts};
use crate::config::Settings;
use crate::error::Error;
use crate::evidence::measure;
use crate::flags::assess;
use crate::history::{apply_hysteresis, changes, log_week_units, standing_facts, tracking_weeks};
use crate::observe::week_span;
use crate::observe::{ObservationBuilder, StreamStats};
use crate::platform::PlatformId;
use crate::report::{InputSummary, Report, Tool, WeekTotals, SCHEMA_VERSION};
use crate::settle::Source;
use crate::source::log::{read_log, LogFormat, ReadSummary};
use crate::source::remote::{pull, Pulled, RemoteError};
use crate::source::SourceError;
use crate::store::{Store, StoredWeek};
use crate::types::EventName;
use std::collections::BTreeMap;

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

/// The [`Window`](crate::source::window::Window) of weeks a pushdown reads: `[fetch]`'s weeks,
/// ending with `--as-of` when given.
fn pushdown_window(settings: &Settings) -> crate::source::window::Window {
    use crate::source::window::Window;
    let w = settings
        .remote
        .window
        .unwrap_or_else(|| Window::before(jiff::Zoned::now().date(), 8));
    match settings.as_of {
        Some(last) => Window::ending(last, w.weeks().len() as u32),
        None => w,
    }
}

/// A `[bigquery]` config's settings, its pushdown and that pushdown's GoogleSQL; `origin` names
/// the config in the error when the section is missing.
fn pushdown_of<'a>(
    settings: &'a Settings,
    origin: &str,
) -> Result<
    (
        &'a crate::source::bigquery::BigQuerySettings,
        crate::source::bigquery::sql::Pushdown<'a>,
        String,
    ),
    Error,
> {
    let bq = settings
        .remote
        .bigquery
        .as_ref()
        .ok_or_else(|| SourceError::NoBigQuery {
            origin: origin.to_string(),
        })?;
    let p = crate::source::bigquery::pushdown(
        bq,
        &settings.observe,
        &settings.funnel_steps,
        &settings.source.aliases,
        &pushdown_window(settings),
    );
    let sql = crate::source::bigquery::sql::pushdown_sql(&p).map_err(SourceError::from)?;
    Ok((bq, p, sql))
}

/// The GoogleSQL that a `[bigquery]` config pushes down (for `optsignal bigquery sql`: read it,
/// or run it in the BigQuery console).
pub fn bigquery_sql(settings: &Settings, origin: &str) -> Result<String, Error> {
    Ok(pushdown_of(settings, origin)?.2)
}

/// The dry-run estimate of a `[bigquery]` config's pushdown, with the limit in force (for
/// `optsignal bigquery estimate`).
pub fn bigquery_estimate(settings: &Settings, origin: &str) -> Result<(u64, Option<u64>), Error> {
    let (bq, _, sql) = pushdown_of(settings, origin)?;
    let bytes =
        crate::source::bigquery::estimate(bq, &settings.remote.http, &settings.account, &sql)
            .map_err(SourceError::from)?;
    Ok((bytes, bq.maximum_bytes_billed))
}

/// Runs the pushdown of a `source.kind = "bigquery"` config: the dry run's estimate is shown
/// on stderr when it is a terminal (and always logged), then the job runs.
fn run_pushdown(
    settings: &Settings,
) -> Result<
    (
        crate::observe::Observations,
        ReadSummary,
        crate::source::bigquery::PushdownRun,
    ),
    Error,
> {
    use crate::source::bigquery::{bytes, run};
    use std::io::IsTerminal;
    let (bq, p, sql) = pushdown_of(settings, "the config")?;
    let show = settings.source.progress && std::io::stderr().is_terminal();
    let mut on_estimate = |estimate: u64, limit: Option<u64>| {
        let limit = limit.map_or("no limit set".into(), |l| format!("limit {}", bytes(l)));
        tracing::info!(target: "optsignal::bigquery", "dry run: {} to process ({limit})", bytes(estimate));
        if show {
            eprintln!(
                "BigQuery: the query will process {} ({limit}); running it",
                bytes(estimate)
            );
        }
    };
    Ok(run(
        bq,
        &settings.remote.http,
        &settings.account,
        &p,
        &sql,
        &mut on_estimate,
    )
    .map_err(SourceError::from)?)
}

/// What a pushdown cost, as a report note.
fn pushdown_note(run: &crate::source::bigquery::PushdownRun) -> String {
    use crate::source::bigquery::bytes;
    let processed = run
        .processed_bytes
        .map_or("an unreported amount".into(), bytes);
    let billed = match (run.cache_hit, run.billed_bytes) {
        (true, _) => "nothing billed (cached)".to_string(),
        (false, Some(b)) => format!("{} billed", bytes(b)),
        (false, None) => "bytes billed not reported".to_string(),
    };
    let limit = run
        .limit_bytes
        .map_or(String::new(), |l| format!(", limit {}", bytes(l)));
    format!(
        "BigQuery pushdown on {} ({}–{}): {processed} processed (dry-run estimate {}{limit}), {billed}, job {}; {} grouped rows left the warehouse",
        run.table,
        run.days.0,
        run.days.1,
        bytes(run.estimated_bytes),
        run.job_id.as_deref().unwrap_or("(none)"),
        run.result_rows
    )
}

/// The settings that give this run's numbers their meaning (see [`crate::store::Basis`]).
fn run_basis(settings: &Settings, obs: &crate::observe::Observations) -> crate::store::Basis {
    let o = &settings.observe;
    crate::store::Basis::new(
        &o.purchase,
        &o.time_zone,
        obs.sessions_inferred.then_some(o.session_gap_minutes),
        settings
            .source
            .aliases
            .iter()
            .map(|(raw, canonical)| (raw.as_str(), canonical.as_str())),
    )
}

/// The sources that fed this run, each with its settle time ([`crate::settle`]).
fn settle_sources(settings: &Settings, pulled: Option<&Pulled>) -> Vec<(Source, u32)> {
    let main = if settings.pushdown {
        Source::Bigquery
    } else if settings.volumes_only {
        Source::Ga4Api
    } else if matches!(
        settings.source.format,
        crate::source::log::LogFormat::Ga4Export
    ) {
        Source::Ga4Export
    } else {
        Source::Log
    };
    let mut sources = vec![main];
    if let Some(p) = pulled {
        if p.ga4.is_some() && main != Source::Ga4Api {
            sources.push(Source::Ga4Api);
        }
        if p.meta.is_some() {
            sources.push(Source::Meta);
        }
        if p.google_ads.is_some() {
            sources.push(Source::GoogleAds);
        }
    }
    sources
        .into_iter()
        .map(|s| (s, settings.report.settle_hours(s)))
        .collect()
}

/// The complete weeks still inside their settle time, how that was judged, and a note naming
/// them (late data may still change them; they are never emailed as final).
fn provisional(
    settings: &Settings,
    obs: &crate::observe::Observations,
    pulled: Option<&Pulled>,
    notes: &mut Vec<String>,
) -> (Vec<crate::types::IsoWeek>, crate::report::Settle) {
    let sources = settle_sources(settings, pulled);
    let (source, hours) = crate::settle::governing(&sources).unwrap_or((Source::Log, 0));
    let tz = &settings.observe.time_zone;
    let mut weeks = Vec::new();
    for w in &obs.weeks {
        let f = crate::settle::finality(w.week, w.complete, tz, hours, settings.now);
        if let crate::settle::Finality::Provisional { until } = f {
            weeks.push(w.week);
            notes.push(format!(
                "{} is provisional until {until:.0}: late data may still change it ({} data settle {hours} h after the week ends, report.settle_hours.{}); it is not emailed as final before then",
                w.week,
                source.key(),
                source.key()
            ));
        }
    }
    let settle = crate::report::Settle {
        judged_at: format!("{:.0}", settings.now),
        hours,
        sources: sources
            .into_iter()
            .map(|(source, hours)| crate::report::SourceSettle { source, hours })
            .collect(),
    };
    (weeks, settle)
}

/// The weekly memory a run starts from.
struct Memory {
    /// The account's store.
    store: Store,
    /// The latest readable stored week before this run's week, whatever its settings: its
    /// recommendation is the standing one.
    latest: Option<StoredWeek>,
    /// The stored weeks before this run's week that were measured like this run, oldest first:
    /// the drift baseline and the week compared with.
    comparable: Vec<StoredWeek>,
    /// Why the weeks after the last comparable one are not compared (for CHANGES).
    not_compared: Vec<String>,
    /// Warnings naming the stored-week files that could not be read (for the data notes).
    unreadable: Vec<String>,
}

/// Reads the stored weeks before this run's week. A file that cannot be read is left as it is,
/// named in a warning, and the run goes on without it; weeks stored with other settings (unit,
/// label window, purchase event, time zone, session gap, aliases) are not compared with.
fn memory_before(
    settings: &Settings,
    obs: &crate::observe::Observations,
    basis: &crate::store::Basis,
) -> Result<Memory, Error> {
    let store = Store::new(&settings.store.dir, &settings.account);
    let loaded = match obs.weeks.last() {
        Some(w) => store.load_readable(Some(w.week))?,
        None => Default::default(),
    };
    let unreadable: Vec<String> = loaded
        .unreadable
        .iter()
        .map(|e| {
            let text = format!("{e}: this run goes on without that stored week (the file is left as it is; move it out of the store folder to silence this)");
            tracing::warn!("{text}");
            text
        })
        .collect();
    let latest = loaded.weeks.last().cloned();
    let (unit, days) = (obs.unit, settings.observe.label_window_days);
    let mut not_compared = Vec::new();
    let comparable: Vec<StoredWeek> = loaded
        .weeks
        .into_iter()
        .filter(|w| match w.differs_from(unit, days, basis) {
            Some(why) => {
                not_compared.push(why);
                false
            }
            None => true,
        })
        .collect();
    if !not_compared.is_empty() {
        let n = not_compared.len();
        let last = not_compared.pop().unwrap_or_default();
        let with = comparable.last().map_or(
            "no stored week was measured the same way, so nothing is compared".to_string(),
            |w| {
                format!(
                    "this week is compared with {}, the latest stored week measured the same way",
                    w.week
                )
            },
        );
        not_compared = vec![format!(
            "{} measured differently {} not compared (their numbers mean something else), latest: {last}; {with}",
            crate::format::count(n as u64, "stored week", "stored weeks"),
            crate::format::noun(n as u64, "is", "are")
        )];
    }
    Ok(Memory {
        store,
        latest,
        comparable,
        not_compared,
        unreadable,
    })
}

/// Runs the whole analysis and returns the report with the week to store: pulls the configured
/// API sources (or reads their snapshot), reads the event log (or, with `source.kind =
/// "ga4_api"`, takes GA4's weekly volumes), measures, flags and recommends.
pub fn analyze_full(settings: &Settings) -> Result<Analysis, Error> {
    let names = measured_events(settings);
    let pulled = pull(&settings.account, &settings.remote, &names).map_err(SourceError::from)?;
    let cutoff = settings
        .as_of
        .map(|w| week_span(w, &settings.observe.time_zone).1);
    let mut after_cutoff = 0u64;
    let mut stream = StreamStats::default();
    let mut pushdown = None;
    let (obs, mut read, file) = if settings.pushdown {
        let (obs, read, run) = run_pushdown(settings)?;
        let file = format!(
            "BigQuery {} (daily tables {}–{})",
            run.table, run.days.0, run.days.1
        );
        pushdown = Some(run);
        (obs, read, file)
    } else if settings.volumes_only {
        let ga4 = pulled
            .as_ref()
            .and_then(|p| p.ga4.as_ref())
            .ok_or_else(|| RemoteError::Snapshot {
                path: settings.remote.snapshot.clone().unwrap_or_default(),
                message: "holds no GA4 data, and source.kind = \"ga4_api\" needs it".into(),
            })
            .map_err(SourceError::from)?;
        let obs = crate::source::ga4_api::observations(ga4, &settings.observe);
        let file = format!("GA4 Data API, property {}", ga4.property_id);
        (obs, ReadSummary::default(), file)
    } else {
        let mut builder = ObservationBuilder::new(settings.observe.clone());
        builder.track_also(&settings.funnel_steps);
        builder.join_missing_sessions(settings.source.format != LogFormat::Ga4Export);
        let read = read_log(&settings.source, |e| {
            if cutoff.is_some_and(|c| e.micros >= c) {
                after_cutoff += 1;
                return Ok(());
            }
            builder.push(e)
        })?;
        let file = settings.source.path.display().to_string();
        stream = builder.stream_stats();
        (builder.finish(), read, file)
    };
    read.rows_accepted = read.rows_accepted.saturating_sub(after_cutoff);
    if let (Some(week), true) = (settings.as_of, obs.weeks.is_empty()) {
        return Err(Error::NothingAsOf {
            week,
            path: settings.source.path.clone(),
        });
    }
    // Weekly memory: the stored weeks before this one lengthen the drift baseline and decide
    // what recommendation stands.
    let basis = run_basis(settings, &obs);
    let memory = memory_before(settings, &obs, &basis)?;
    let (store, earlier) = (&memory.store, &memory.comparable);
    let mut proxies = measure(&obs, &settings.analysis);
    let a = &settings.analysis;
    let flag_params = crate::flags::FlagParams::new(
        a.alpha,
        a.confidence,
        a.min_units,
        a.surge_weeks,
        settings.observe.label_window_days,
        a.effects,
    );
    assess(&obs, &mut proxies, &flag_params, earlier);
    if settings.volumes_only {
        // Aggregates have no units at all: say so rather than "only 0 units with ...".
        for f in proxies.iter_mut().flat_map(|p| p.flags.iter_mut()) {
            if f.kind == crate::flags::FlagKind::InsufficientData {
                f.message = "no event-level data (GA4 Data API weekly aggregates): the proxy model cannot be fitted".into();
            }
        }
    }
    let mut platforms = settings.platforms.clone();
    let reported = reported_counts(pulled.as_ref(), &mut platforms, settings);
    let standing: BTreeMap<PlatformId, EventName> = memory
        .latest
        .as_ref()
        .map(|w| {
            w.recommendations
                .iter()
                .filter_map(|r| Some((r.platform, r.event.clone()?)))
                .collect()
        })
        .unwrap_or_default();
    let fresh = recommend_standing(
        &obs,
        &proxies,
        &platforms,
        &settings.analysis,
        &reported,
        &standing,
    );
    let (recommendations, rec_changes): (Vec<_>, Vec<_>) = fresh
        .into_iter()
        .map(|r| {
            // What stands is what the buyer was told last, whatever the settings measured.
            let prev = memory
                .latest
                .as_ref()
                .and_then(|p| p.recommendation(r.platform));
            let facts = standing.get(&r.platform).map(|s| {
                let damaged = obs
                    .candidates
                    .iter()
                    .position(|c| c == s)
                    .map_or(0, |j| damaged_weeks(&obs, j, settings.analysis.surge_weeks));
                standing_facts(
                    &r,
                    s,
                    &proxies,
                    tracking_weeks(s, &proxies, earlier, damaged),
                )
            });
            apply_hysteresis(r, prev, settings.analysis.confirm_weeks, facts.as_ref())
        })
        .unzip();
    let stored = StoredWeek::from_run(
        &settings.account,
        &obs,
        &proxies,
        &recommendations,
        settings.observe.label_window_days,
        basis,
        settings.analysis.confidence,
    );
    let mut changes = changes(
        stored.as_ref(),
        earlier,
        &log_week_units(&proxies),
        rec_changes,
        settings.analysis.alpha,
        settings.analysis.confidence,
        store.dir().display().to_string(),
    );
    changes
        .notes
        .splice(0..0, memory.not_compared.iter().cloned());
    changes.rules = crate::history::rule_changes(&recommendations, earlier.last());
    let purchasing_units = obs.patterns.iter().map(|p| p.purchasers).sum();
    let a = &settings.analysis;
    let funnel = crate::funnel::diagnose(&obs, &settings.funnel_steps, a.confidence, a.alpha);
    let weekly: Vec<WeekTotals> = obs
        .weeks
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
        .collect();
    let recent = crate::testplan::recent_complete(&weekly, a.volume_weeks);
    let mut seeds = crate::seeds::rank(&proxies, &recent);
    seeds.comparisons = crate::audience::report_comparisons(&obs, &seeds.retargeting, a.confidence);
    let values = crate::value::values(&obs, &proxies, a.confidence);
    let test_plan = crate::testplan::plan(
        &obs.purchase,
        &weekly,
        &proxies,
        &recent,
        crate::testplan::TestParams::default(),
    );
    let mut notes = memory.unreadable.clone();
    let settle_notes = provisional(settings, &obs, pulled.as_ref(), &mut notes);
    if settings.volumes_only {
        notes.push("no event-level data: weekly volumes come from the GA4 Data API, whose aggregates hold no per-session or per-user outcomes, so the proxy model cannot be fitted (no precision, lift or odds ratio) and no proxy is recommended on volume alone; the funnel, audience densities and test metrics need event-level data too".to_string());
    }
    if let Some(p) = &pulled {
        pulled_notes(p, &recommendations, &reported, &mut notes);
    }
    if let Some(run) = &pushdown {
        notes.push(pushdown_note(run));
    }
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
            "{} of {} skipped: {}",
            read.skipped_total(),
            crate::format::count(read.rows_read, "row", "rows"),
            parts.join("; ")
        ));
    }
    if stream.late_events > 0 {
        notes.push(format!(
            "{} more than {} minutes (analysis.lateness_minutes) behind the latest event, from users already counted: skipped as out of order",
            crate::format::count(stream.late_events, "event came", "events came"),
            settings.observe.lateness_minutes
        ));
    }
    if let Some(line) = stream.unordered_from_line {
        notes.push(format!(
            "the log is not in time order within {} minutes (analysis.lateness_minutes; first at line {line}): every unit was kept open until the end, so memory grew with units (the results are exact)",
            settings.observe.lateness_minutes
        ));
    }
    if obs.censored_units > 0 {
        notes.push(censoring_note(&obs, settings.observe.label_window_days));
    }
    notes.extend(crate::report::coverage_note(&weekly, obs.unit));
    let empty: Vec<String> = obs
        .weeks
        .iter()
        .filter(|w| {
            w.units == 0 && w.purchase.events == 0 && w.candidates.iter().all(|c| c.events == 0)
        })
        .map(|w| w.week.to_string())
        .collect();
    if !empty.is_empty() {
        let list = if empty.len() > 4 {
            format!("{} … {}", empty[0], empty[empty.len() - 1])
        } else {
            empty.join(", ")
        };
        notes.push(format!(
            "{} inside the data span {} no events at all ({list}): a tracking gap, or stray timestamps at the edges",
            crate::format::count(empty.len() as u64, "week", "weeks"),
            crate::format::noun(empty.len() as u64, "has", "have")
        ));
    }
    if let Some(w) = settings.as_of {
        notes.push(format!(
            "as of {w}: {after_cutoff} events dated after that week were left out"
        ));
    }
    if !funnel.absent_steps.is_empty() && !settings.volumes_only {
        let s: Vec<String> = funnel.absent_steps.iter().map(|e| e.to_string()).collect();
        notes.push(format!(
            "funnel steps never seen in the log: {} (their step rates are 0)",
            s.join(", ")
        ));
    }
    let gap = settings.observe.session_gap_minutes;
    // When none joined a session the short note stands (GA4's export, the pushdown and the
    // equivalent CSV all report it alike).
    if obs.session_id_missing > 0 && obs.session_id_joined > 0 {
        let alone = obs.session_id_missing - obs.session_id_joined;
        notes.push(format!(
            "{} of {} events had no session id: {} joined their user's session (within {gap} minutes of it), the other {alone} formed {} cut at {gap} minutes of inactivity",
            obs.session_id_missing,
            obs.session_id_missing + obs.session_id_events,
            obs.session_id_joined,
            crate::format::count(obs.inferred_sessions, "session", "sessions")
        ));
    } else if obs.sessions_inferred {
        notes.push(format!(
            "no session ids: sessions were cut at {gap} minutes of inactivity"
        ));
    }
    let wanted = settings.analysis.holdout_weeks as usize;
    let held = crate::evidence::holdout_weeks(&obs, settings.analysis.holdout_weeks).len();
    if held < wanted && !settings.volumes_only {
        let with_units = obs.weeks.iter().filter(|w| w.units > 0).count();
        notes.push(format!(
            "analysis.holdout_weeks = {wanted}, but the data has only {} with {}: {held} held out for validation (at least one week must remain to fit on)",
            crate::format::count(with_units as u64, "week", "weeks"),
            obs.unit.plural()
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
        file,
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
        measured_weeks: obs
            .measured_weeks()
            .iter()
            .map(|&w| obs.weeks[w as usize].week)
            .collect(),
        other_events: obs.other_events.clone(),
        absent_candidates,
        as_of: settings.as_of,
        rows_after_as_of: after_cutoff,
        provisional_weeks: settle_notes.0,
        settle: settle_notes.1,
    };
    let conversion_goals = pulled
        .as_ref()
        .map(|p| crate::goals::audit(p, &log_event_counts(&obs)))
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
        obs,
    })
}

/// Events of each canonical name in the analysed log: candidates, purchase and the others.
fn log_event_counts(obs: &crate::observe::Observations) -> std::collections::BTreeMap<String, u64> {
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

/// The events the API sources are asked about: the candidates, then purchase.
fn measured_events(settings: &Settings) -> Vec<String> {
    let o = &settings.observe;
    o.candidates
        .iter()
        .chain(std::iter::once(&o.purchase))
        .map(|e| e.to_string())
        .collect()
}

/// Pulls the account's API sources and saves them as a snapshot (`dir/<account>/<last
/// week>.json`) that `recommend` can re-read offline; returns the file written.
pub fn pull_snapshot(
    settings: &Settings,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, SourceError> {
    let names = measured_events(settings);
    let mut remote = settings.remote.clone();
    remote.snapshot = None;
    let pulled = pull(&settings.account, &remote, &names)?.ok_or_else(|| {
        RemoteError::Setup(format!(
            "account {:?}: no API source configured ([meta], [ga4] or [google_ads])",
            settings.account
        ))
    })?;
    Ok(crate::source::remote::write_snapshot(dir, &pulled)?)
}

/// Per-unit counts the platforms reported, for the floor check; also takes each platform's
/// optimization event from the pull when the config does not name it.
fn reported_counts(
    pulled: Option<&Pulled>,
    platforms: &mut [crate::config::PlatformSettings],
    settings: &Settings,
) -> Vec<ReportedCounts> {
    let mut out = Vec::new();
    let Some(p) = pulled else { return out };
    let weeks = settings.analysis.volume_weeks as usize;
    for ps in platforms.iter_mut() {
        match ps.profile.id {
            PlatformId::Meta => {
                let Some(m) = &p.meta else { continue };
                let units = m.bidding_units().len();
                if units == 0 {
                    continue;
                }
                if ps.optimizing_on.is_none() {
                    ps.optimizing_on = m
                        .optimizing_on()
                        .and_then(|e| crate::types::EventName::new(&e));
                }
                out.push(ReportedCounts {
                    platform: PlatformId::Meta,
                    units: units as u32,
                    per_unit_weekly: m.per_unit_weekly(weeks),
                    unreported: crate::source::meta::UNREPORTED.into(),
                    per_unit_weekly_spend: m.per_unit_weekly_spend(weeks),
                    currency: m.currency.clone(),
                });
            }
            PlatformId::GoogleAds => {
                let Some(g) = &p.google_ads else { continue };
                if g.campaigns.is_empty() && g.actions.is_empty() {
                    continue; // no conversion action at all: nothing to count
                }
                out.push(ReportedCounts {
                    platform: PlatformId::GoogleAds,
                    units: g.bidding_units() as u32,
                    per_unit_weekly: g.per_unit_weekly(weeks),
                    unreported: crate::source::google_ads::UNREPORTED.into(),
                    per_unit_weekly_spend: g.per_unit_weekly_spend(weeks),
                    currency: g.currency.clone(),
                });
            }
            _ => {}
        }
    }
    out
}

/// Report notes from the API pulls: where floor counts came from, GA4 data-quality flags,
/// Meta learning stages, and Google Ads goals that are not biddable.
fn pulled_notes(
    p: &Pulled,
    recs: &[crate::advise::Recommendation],
    reported: &[ReportedCounts],
    notes: &mut Vec<String>,
) {
    if let Some(g) = &p.ga4 {
        if g.subject_to_thresholding {
            notes.push(format!("GA4 property {}: the report is subject to thresholding: GA4 withheld small counts, so weekly volumes may be understated", g.property_id));
        }
        if g.data_loss_from_other_row {
            notes.push(format!("GA4 property {}: some rows were folded into \"(other)\" (data loss from the other row); volumes of rare events may be missing", g.property_id));
        }
    }
    if let Some(m) = &p.meta {
        if reported.iter().any(|r| r.platform == PlatformId::Meta) {
            let units = m.bidding_units();
            let list: Vec<String> = units
                .iter()
                .map(|u| {
                    let status = u
                        .learning
                        .as_ref()
                        .map_or("learning stage not reported", |l| l.label());
                    format!("{} ({status})", u.name)
                })
                .collect();
            notes.push(format!(
                "Meta floor check uses Meta's own events per ad set ({:?} action types, {} to {}) over {} ad set(s): {}",
                m.action_family,
                p.first_week,
                p.last_week,
                units.len(),
                list.join(", ")
            ));
        }
    }
    if let Some(g) = &p.google_ads {
        if reported.iter().any(|r| r.platform == PlatformId::GoogleAds) {
            notes.push(if g.campaigns.is_empty() {
                format!(
                    "Google Ads reported no conversions from {} to {} (it returns no all-zero rows): every conversion action counts 0",
                    p.first_week, p.last_week
                )
            } else {
                format!(
                    "Google Ads floor check uses Google Ads all_conversions per campaign ({} campaign(s), {} to {})",
                    g.campaigns.len(),
                    p.first_week,
                    p.last_week
                )
            });
        }
        for r in recs.iter().filter(|r| r.platform == PlatformId::GoogleAds) {
            if let Some(w) = r.event.as_ref().and_then(|e| g.bidding_warning(e.as_str())) {
                notes.push(w);
            }
        }
    }
}

/// The note on units whose label window runs past the data, and which weeks evidence is
/// measured on because of them ([`crate::observe::Observations::measured_weeks`]).
fn censoring_note(obs: &crate::observe::Observations, window_days: u32) -> String {
    let head = format!(
        "{} of {} started less than {window_days} days before the end of the data; a purchase after the data ends is not seen",
        obs.censored_units,
        crate::format::count(obs.units, obs.unit.singular(), obs.unit.plural()),
    );
    let measured = obs.measured_weeks();
    let span = match (measured.first(), measured.last()) {
        (Some(&a), Some(&b)) => format!(
            "{}–{}",
            obs.weeks[a as usize].week, obs.weeks[b as usize].week
        ),
        _ => String::new(),
    };
    if measured.iter().all(|&w| obs.labels_complete(w)) {
        format!("{head}, so precision, lift and the models are measured on the weeks whose labels are complete ({span}); volumes and clearance count every week")
    } else {
        format!("{head}, and no week's labels are complete yet: precision, lift and the models are measured on every week ({span}), so they may be understated")
    }
}
