//! The report's data notes: what was read, skipped, inferred or left out, what is provisional,
//! and what the API pulls said, in the order the report lists them.

use crate::advise::{Recommendation, ReportedCounts};
use crate::config::Settings;
use crate::observe::Observations;
use crate::platform::PlatformId;
use crate::report::WeekTotals;
use crate::settle::Source;
use crate::source::remote::Pulled;

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
pub(super) fn provisional(
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

/// Notes on what the source gave: aggregates only, the API pulls, the pushdown's cost, skipped
/// rows, and events the streaming observer met late or out of order.
pub(super) fn read_notes(
    settings: &Settings,
    read: &super::read::Read,
    pulled: Option<&Pulled>,
    recommendations: &[Recommendation],
    reported: &[ReportedCounts],
    notes: &mut Vec<String>,
) {
    if settings.volumes_only {
        notes.push("no event-level data: weekly volumes come from the GA4 Data API, whose aggregates hold no per-session or per-user outcomes, so the proxy model cannot be fitted (no precision, lift or odds ratio) and no proxy is recommended on volume alone; the funnel, audience densities and test metrics need event-level data too".to_string());
    }
    if let Some(p) = pulled {
        pulled_notes(p, recommendations, reported, notes);
    }
    if let Some(run) = &read.pushdown {
        notes.push(pushdown_note(run));
    }
    notes.extend(derived_note(settings, read.derived.as_ref()));
    notes.extend(read.predicted.as_ref().map(predicted_note));
    let summary = &read.summary;
    if summary.skipped_total() > 0 {
        let parts: Vec<String> = summary
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
            summary.skipped_total(),
            crate::format::count(summary.rows_read, "row", "rows"),
            parts.join("; ")
        ));
    }
    let stream = &read.stream;
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
}

/// Notes on the observations: censored labels, week coverage, empty weeks, the `--as-of`
/// cut, funnel steps never seen, inferred sessions, held-out weeks and absent candidates.
pub(super) fn observation_notes(
    settings: &Settings,
    obs: &Observations,
    weekly: &[WeekTotals],
    funnel: &crate::funnel::FunnelReport,
    after_cutoff: u64,
    absent_candidates: &[String],
    notes: &mut Vec<String>,
) {
    if obs.censored_units > 0 {
        notes.push(censoring_note(obs, settings.observe.label_window_days));
    }
    notes.extend(crate::report::coverage_note(weekly, obs.unit));
    notes.extend(empty_weeks_note(obs));
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
    notes.extend(sessions_note(settings, obs));
    let wanted = settings.analysis.holdout_weeks as usize;
    let held = crate::evidence::holdout_weeks(obs, settings.analysis.holdout_weeks).len();
    if held < wanted && !settings.volumes_only {
        let with_units = obs.weeks.iter().filter(|w| w.units > 0).count();
        notes.push(format!(
            "analysis.holdout_weeks = {wanted}, but the data has only {} with {}: {held} held out for validation (at least one week must remain to fit on)",
            crate::format::count(with_units as u64, "week", "weeks"),
            obs.unit.plural()
        ));
    }
    if !absent_candidates.is_empty() {
        notes.push(format!(
            "candidates never seen in the log: {}",
            absent_candidates.join(", ")
        ));
    }
    notes.extend(discovery_note(settings, obs));
}

/// What candidate discovery measured and left out, in one note (none when the candidates
/// were configured).
fn discovery_note(settings: &Settings, obs: &Observations) -> Option<String> {
    use crate::observe::LeftOutReason as R;
    let Some(d) = obs.discovery.as_ref() else {
        return (settings.observe.discover.is_some() && (settings.pushdown || settings.volumes_only))
            .then(|| "candidate discovery reads the event log: with this source the default candidates were measured (list yours in analysis.candidates)".to_string());
    };
    let names = |r: R| -> Vec<String> {
        d.left_out
            .iter()
            .filter(|l| l.reason == r)
            .map(|l| match (r, l.units) {
                (R::BelowMinUnits, Some(u)) => format!("{} ({})", l.event, u),
                _ => l.event.clone(),
            })
            .collect()
    };
    let mut text = format!(
        "candidates discovered in the log (analysis.candidates not set): {} measured{}",
        d.kept.len(),
        if d.kept.is_empty() {
            String::new()
        } else {
            let k: Vec<&str> = d.kept.iter().map(|f| f.event.as_str()).collect();
            format!(" ({})", k.join(", "))
        }
    );
    let parts = [
        (
            R::BelowMinUnits,
            format!(
                "in fewer than {} {} (analysis.discover_min_units)",
                d.min_units,
                obs.unit.plural()
            ),
        ),
        (
            R::Housekeeping,
            "housekeeping (analysis.housekeeping_events)".to_string(),
        ),
        (
            R::CandidateLimit,
            format!(
                "beyond the limit of {} candidates",
                crate::observe::MAX_CANDIDATES
            ),
        ),
    ];
    for (r, why) in parts {
        let n = names(r);
        if !n.is_empty() {
            text.push_str(&format!("; left out, {why}: {}", n.join(", ")));
        }
    }
    Some(text)
}

/// The weeks inside the data span with no events at all (a tracking gap, or stray timestamps).
fn empty_weeks_note(obs: &Observations) -> Option<String> {
    let empty: Vec<String> = obs
        .weeks
        .iter()
        .filter(|w| {
            w.units == 0 && w.purchase.events == 0 && w.candidates.iter().all(|c| c.events == 0)
        })
        .map(|w| w.week.to_string())
        .collect();
    if empty.is_empty() {
        return None;
    }
    let list = if empty.len() > 4 {
        format!("{} … {}", empty[0], empty[empty.len() - 1])
    } else {
        empty.join(", ")
    };
    Some(format!(
        "{} inside the data span {} no events at all ({list}): a tracking gap, or stray timestamps at the edges",
        crate::format::count(empty.len() as u64, "week", "weeks"),
        crate::format::noun(empty.len() as u64, "has", "have")
    ))
}

/// How sessions were formed when the log lacked session ids. When none joined a session the
/// short note stands (GA4's export, the pushdown and the equivalent CSV all report it alike).
fn sessions_note(settings: &Settings, obs: &Observations) -> Option<String> {
    let gap = settings.observe.session_gap_minutes;
    if obs.session_id_missing > 0 && obs.session_id_joined > 0 {
        let alone = obs.session_id_missing - obs.session_id_joined;
        Some(format!(
            "{} of {} events had no session id: {} joined their user's session (within {gap} minutes of it), the other {alone} formed {} cut at {gap} minutes of inactivity",
            obs.session_id_missing,
            obs.session_id_missing + obs.session_id_events,
            obs.session_id_joined,
            crate::format::count(obs.inferred_sessions, "session", "sessions")
        ))
    } else if obs.sessions_inferred {
        Some(format!(
            "no session ids: sessions were cut at {gap} minutes of inactivity"
        ))
    } else {
        None
    }
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

/// What the search over derived candidates did, or why it did not run.
fn derived_note(
    settings: &Settings,
    search: Option<&crate::derive::DerivedSearch>,
) -> Option<String> {
    let configured = settings.observe.derived.len();
    let span = |ws: &[crate::types::IsoWeek]| match (ws.first(), ws.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
        (Some(a), _) => a.to_string(),
        _ => "none".into(),
    };
    let Some(s) = search else {
        return (configured > 0).then(|| {
            format!("derived candidates: {configured} grid points not measured: derived rules need the event log (this source gives grouped counts only)")
        });
    };
    let families = crate::format::noun(s.families as u64, "family", "families");
    if s.too_few_weeks {
        return Some(format!(
            "derived candidates: {} grid points in {} {families} not searched: the data has {} measured weeks ({}), the search needs {} (half to search on, half held out)",
            s.searched,
            s.families,
            s.held_out_weeks.len(),
            span(&s.held_out_weeks),
            crate::derive::MIN_WEEKS
        ));
    }
    let kept: Vec<String> = s
        .kept
        .iter()
        .map(|k| {
            let on: Vec<&str> = k.selected_for.iter().map(|p| p.display_name()).collect();
            format!("{} for {}", k.rule.name, on.join(", "))
        })
        .collect();
    Some(format!(
        "derived candidates: {} grid points in {} {families} searched on {}; kept the best per platform ({}); every figure of a derived candidate comes from the held-out weeks {} only, so picking the best of many does not inflate it",
        s.searched,
        s.families,
        span(&s.search_weeks),
        if kept.is_empty() { "none: no platform takes derived events".to_string() } else { kept.join("; ") },
        span(&s.held_out_weeks),
    ))
}

/// What the predicted signal's model is and how it did on the held-out weeks, or why there is
/// none.
fn predicted_note(p: &crate::predict::PredictedSignal) -> String {
    use crate::predict::NotFitted as N;
    let (Some(m), Some(c)) = (&p.model, &p.calibration) else {
        let why = match &p.not_fitted {
            Some(N::TooFewWeeks { measured, needed }) => format!("the data has {measured} measured weeks, the model needs {needed} (half to fit on, half held out)"),
            Some(N::NoRoom { candidates }) => format!("{candidates} candidates already take every candidate bit: narrow analysis.candidates or the derived grids"),
            Some(N::NothingToFit) => "the training weeks have no purchase, no unit without one, or no candidate that varies".into(),
            Some(N::NoConvergence) => "the model's fit did not converge".into(),
            Some(N::NeedsEventLog) | None => "it is scored in a second pass over an event log (not grouped counts or standard input)".into(),
        };
        return format!("predicted signal: not built: {why}");
    };
    let span = |ws: &[crate::types::IsoWeek]| match (ws.first(), ws.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
        (Some(a), _) => a.to_string(),
        _ => "none".into(),
    };
    let opt = |x: Option<f64>, d: usize| x.map_or("–".into(), |v| format!("{v:.d$}"));
    format!(
        "predicted signal: one logistic model of purchase over {} terms ({}), fitted on {} ({} units, {} purchasing); {} thresholds searched like a derived family; on the held-out weeks {} the model expected {:.1} purchasing units and saw {} (observed/expected {}), calibration slope {} (1 = calibrated), AUC {}; only a server can send it",
        m.terms.len() - 1,
        m.method.replace('_', " "),
        span(&m.training_weeks),
        m.training_units,
        m.training_purchasers,
        m.grid.len(),
        span(&c.weeks),
        c.expected,
        c.purchasers,
        opt(c.observed_over_expected, 2),
        opt(c.slope, 2),
        opt(c.auc, 3),
    )
}
