//! Reading the configured source: the event log (streamed through the observer), GA4's weekly
//! volumes, or the BigQuery pushdown; and the API pulls the floor check uses.

use crate::config::Settings;
use crate::error::Error;
use crate::observe::{week_span, ObservationBuilder, Observations, StreamStats, UserIds};
use crate::source::bigquery::PushdownRun;
use crate::source::log::{read_log_prepared, Event, LogFormat, ReadSummary};
use crate::source::remote::{pull, Pulled, RemoteError};
use crate::source::SourceError;

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

/// What reading the configured source gave the run.
pub(super) struct Read {
    /// The grouped observations.
    pub(super) obs: Observations,
    /// Rows read, accepted and skipped (accepted excludes rows after `--as-of`).
    pub(super) summary: ReadSummary,
    /// What was read, for the report's input section.
    pub(super) file: String,
    /// The streaming observer's own counts (late and unordered events).
    pub(super) stream: StreamStats,
    /// The pushdown's costs, when the source was BigQuery.
    pub(super) pushdown: Option<PushdownRun>,
    /// Events dated after the `--as-of` week, left out.
    pub(super) after_cutoff: u64,
    /// What the derived candidates' search did (`None` without derived candidates).
    pub(super) derived: Option<crate::derive::DerivedSearch>,
    /// The predicted signal's model and calibration (`None` unless asked for).
    pub(super) predicted: Option<crate::predict::PredictedSignal>,
}

/// Reads the configured source into observations: the BigQuery pushdown, GA4's weekly volumes
/// (`source.kind = "ga4_api"`, from `pulled`), or the event log up to the end of `--as-of`.
pub(super) fn read_source(settings: &Settings, pulled: Option<&Pulled>) -> Result<Read, Error> {
    let mut read = if settings.pushdown {
        let (obs, summary, run) = run_pushdown(settings)?;
        let file = format!(
            "BigQuery {} (daily tables {}–{})",
            run.table, run.days.0, run.days.1
        );
        Read {
            obs,
            summary,
            file,
            stream: StreamStats::default(),
            pushdown: Some(run),
            after_cutoff: 0,
            derived: None,
            predicted: not_read(settings),
        }
    } else if settings.volumes_only {
        let ga4 = pulled
            .and_then(|p| p.ga4.as_ref())
            .ok_or_else(|| RemoteError::Snapshot {
                path: settings.remote.snapshot.clone().unwrap_or_default(),
                message: "holds no GA4 data, and source.kind = \"ga4_api\" needs it".into(),
            })
            .map_err(SourceError::from)?;
        Read {
            obs: crate::source::ga4_api::observations(ga4, &settings.observe),
            summary: ReadSummary::default(),
            file: format!("GA4 Data API, property {}", ga4.property_id),
            stream: StreamStats::default(),
            pushdown: None,
            after_cutoff: 0,
            derived: None,
            predicted: not_read(settings),
        }
    } else {
        super::predicted::read_event_log_predicted(settings)?
    };
    read.summary.rows_accepted = read.summary.rows_accepted.saturating_sub(read.after_cutoff);
    if let (Some(week), true) = (settings.as_of, read.obs.weeks.is_empty()) {
        return Err(Error::NothingAsOf {
            week,
            path: settings.source.path.clone(),
        });
    }
    Ok(read)
}

/// The derived candidates' search ([`crate::derive::select`]) on what was read, keeping each
/// platform's `standing` point eligible.
pub(super) fn select_derived(
    mut read: Read,
    settings: &Settings,
    standing: &std::collections::BTreeMap<crate::platform::PlatformId, crate::types::EventName>,
) -> Read {
    let (obs, search) =
        crate::derive::select(read.obs, &settings.platforms, &settings.analysis, standing);
    read.obs = obs;
    read.derived = search;
    read
}

/// The predicted signal of a source that is not an event log: asked for, not built.
fn not_read(settings: &Settings) -> Option<crate::predict::PredictedSignal> {
    settings.predicted.as_ref().map(|_| {
        crate::predict::PredictedSignal::not_fitted(crate::predict::NotFitted::NeedsEventLog)
    })
}

/// Streams the event log through the observer, leaving out (and counting) the events after
/// the end of the `--as-of` week.
pub(super) fn read_event_log(settings: &Settings) -> Result<Read, Error> {
    let cutoff = settings
        .as_of
        .map(|w| week_span(w, &settings.observe.time_zone).1);
    let mut after_cutoff = 0u64;
    let mut builder = ObservationBuilder::new(settings.observe.clone());
    builder.track_also(&settings.funnel_steps);
    builder.join_missing_sessions(settings.source.format != LogFormat::Ga4Export);
    if settings.source.pipelined() {
        builder.tally_on_thread();
    }
    // Users are numbered on the parsing thread (when there is one): the observer gets a number.
    let mut users = UserIds::default();
    let prepare = |e: &Event<'_>| {
        if cutoff.is_some_and(|c| e.micros >= c) {
            after_cutoff += 1;
            return None;
        }
        Some(users.index(e.user))
    };
    let summary = read_log_prepared(&settings.source, prepare, |e, user| {
        builder.push_user(e, user)
    })?;
    // The user table is the read's largest structure after the open units: freed before
    // `finish` folds what is left.
    drop(users);
    let stream = builder.stream_stats();
    Ok(Read {
        obs: builder.finish(),
        summary,
        file: settings.source.path.display().to_string(),
        stream,
        pushdown: None,
        after_cutoff,
        derived: None,
        predicted: None,
    })
}

/// Pulls the API sources and reads the configured source. The event log is read first, so
/// that the APIs are asked about the candidates discovered in it; GA4's volumes and the
/// pushdown need the pull (or the configured candidates) first.
pub(super) fn pull_and_read(settings: &Settings) -> Result<(Option<Pulled>, Read), Error> {
    let pull_for = |names: &[String]| {
        pull(&settings.account, &settings.remote, names).map_err(SourceError::from)
    };
    if settings.pushdown || settings.volumes_only {
        let pulled = pull_for(&measured_events(settings))?;
        let read = read_source(settings, pulled.as_ref())?;
        return Ok((pulled, read));
    }
    let read = read_source(settings, None)?;
    // Derived candidates exist only here until they are set up: the APIs have no counts of them.
    let raw: Vec<crate::types::EventName> = (0..read.obs.candidates.len())
        .filter(|&j| read.obs.derived_of(j).is_none())
        .map(|j| read.obs.candidates[j].clone())
        .collect();
    let names = event_names(&raw, &read.obs.purchase);
    Ok((pull_for(&names)?, read))
}

/// The events the API sources are asked about: the candidates, then purchase.
pub(super) fn measured_events(settings: &Settings) -> Vec<String> {
    event_names(&settings.observe.candidates, &settings.observe.purchase)
}

/// The names of the candidates, then the purchase event.
fn event_names(
    candidates: &[crate::types::EventName],
    purchase: &crate::types::EventName,
) -> Vec<String> {
    candidates
        .iter()
        .chain(std::iter::once(purchase))
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
