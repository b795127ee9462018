//! The predicted signal's two passes over the event log: the first observes the raw (and
//! configured derived) candidates, the model is fitted on its search weeks, and the second
//! observes again with the model's grid points as derived candidates, so that every figure of
//! a point (weekly volumes, distinct users, clustered intervals) is measured like any event's.

use super::read::{read_event_log, Read};
use crate::config::Settings;
use crate::error::Error;
use crate::observe::MAX_CANDIDATES;
use crate::predict::{calibrate, fit, rules, NotFitted, PredictSpec, PredictedSignal};

/// Reads the event log once, or twice when `[analysis.predicted]` asks for the signal.
pub(super) fn read_event_log_predicted(settings: &Settings) -> Result<Read, Error> {
    let first = read_event_log(settings)?;
    let Some(spec) = &settings.predicted else {
        return Ok(first);
    };
    if settings.source.path == std::path::Path::new("-") {
        return Ok(with(
            first,
            PredictedSignal::not_fitted(NotFitted::NeedsEventLog),
        ));
    }
    second_pass(settings, spec, first)
}

fn with(mut read: Read, p: PredictedSignal) -> Read {
    read.predicted = Some(p);
    read
}

/// Fits on the first pass's observations and, when a model comes out, reads the log again with
/// its grid; the discovery report stays the first pass's (the second measures its candidates).
fn second_pass(settings: &Settings, spec: &PredictSpec, mut first: Read) -> Result<Read, Error> {
    let obs = &first.obs;
    let room = MAX_CANDIDATES.saturating_sub(obs.candidates.len());
    let model = match fit(obs, spec, room) {
        Ok(m) if !m.grid.is_empty() => m,
        Ok(_) => {
            return Ok(with(
                first,
                PredictedSignal::not_fitted(NotFitted::NothingToFit),
            ))
        }
        Err(why) => return Ok(with(first, PredictedSignal::not_fitted(why))),
    };
    let family = settings
        .observe
        .derived
        .iter()
        .map(|r| r.family + 1)
        .max()
        .unwrap_or(0);
    let mut again = settings.clone();
    again.observe.candidates = (0..obs.candidates.len())
        .filter(|&j| obs.derived_of(j).is_none())
        .map(|j| obs.candidates[j].clone())
        .collect();
    again.observe.discover = None;
    again.observe.derived.extend(rules(&model, family));
    let mut second = read_event_log(&again)?;
    second.obs.discovery = first.obs.discovery.take();
    second.obs.other_events = std::mem::take(&mut first.obs.other_events);
    let (_, held, _) = crate::derive::split(&second.obs);
    let calibration = calibrate(&second.obs, &model, &held, settings.analysis.confidence);
    Ok(with(
        second,
        PredictedSignal {
            model: Some(model),
            not_fitted: None,
            calibration: Some(calibration),
        },
    ))
}
