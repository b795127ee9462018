//! Validation of `[[analysis.derived]]`: each family becomes its grid points, every point a
//! derived candidate with a name a platform can receive.

use super::{Check, RawDerived};
use crate::observe::{DerivedKind, DerivedRule, MAX_CANDIDATES};
use crate::types::EventName;

/// Most points one family's grid may have.
pub const MAX_GRID: usize = 8;

/// Longest event name GA4 accepts (and so the longest derived name).
const MAX_NAME: usize = 40;

/// The derived candidates of `families`, with their raw events appended to `candidates` (a
/// rule's raw events are measured too, and the observer needs their bits), checked to fit the
/// candidate bits together.
pub(super) fn with_bases(
    c: &mut Check<'_>,
    families: Option<&[RawDerived]>,
    purchase: &EventName,
    candidates: &mut Vec<EventName>,
) -> Vec<DerivedRule> {
    let derived = derived(c, families.unwrap_or(&[]), purchase);
    // A derived rule's raw events are measured too (and the observer needs their bits).
    for b in derived.iter().flat_map(|r| r.kind.bases()) {
        if !candidates.contains(b) {
            candidates.push(b.clone());
        }
    }
    if let Some(r) = derived.iter().find(|r| candidates.contains(&r.name)) {
        c.err(
            "analysis.derived",
            format!(
                "{} is a raw candidate's name: name the derived one otherwise",
                r.name
            ),
        );
    }
    if !derived.is_empty() && candidates.len() + derived.len() > MAX_CANDIDATES {
        c.err(
            "analysis.derived",
            format!(
                "{} raw and {} derived candidates: together at most {MAX_CANDIDATES}",
                candidates.len(),
                derived.len()
            ),
        );
    }
    derived
}

/// The grid points of every family, in order, with their raw events checked against
/// `purchase`; `raw` is how many raw candidates there are (raw and derived share the bits).
pub(super) fn derived(
    c: &mut Check<'_>,
    families: &[RawDerived],
    purchase: &EventName,
) -> Vec<DerivedRule> {
    let mut out: Vec<DerivedRule> = Vec::new();
    for (i, f) in families.iter().enumerate() {
        let family = format!("analysis.derived[{i}]");
        let key = |k: &str| format!("{family}.{k}");
        let Some(kinds) = kinds(c, f, &family) else {
            continue;
        };
        if kinds.len() > MAX_GRID {
            c.err(
                &family,
                format!("a grid of {} points: give at most {MAX_GRID}", kinds.len()),
            );
            continue;
        }
        for kind in &kinds {
            if kind.bases().contains(&purchase) {
                c.err(
                    &family,
                    format!("a derived candidate cannot be built from the outcome {purchase}"),
                );
                break;
            }
        }
        let grid = kinds.len() > 1;
        for kind in kinds {
            let name = match &f.name {
                Some(n) if grid => format!("{n}_{}", threshold(&kind)),
                Some(n) => n.clone(),
                None => default_name(&kind),
            };
            let Some(name) = valid_name(c, &key("name"), &name) else {
                continue;
            };
            if name == *purchase || out.iter().any(|r| r.name == name) {
                c.err(key("name"), format!("{name} is already a candidate's name"));
                continue;
            }
            out.push(DerivedRule {
                name,
                family: i,
                kind,
            });
        }
    }
    if out.len() >= MAX_CANDIDATES {
        c.err(
            "analysis.derived",
            format!(
                "{} grid points in all: raw and derived candidates share {MAX_CANDIDATES}",
                out.len()
            ),
        );
    }
    out
}

/// The rule of each grid point of one family, or `None` (with the error) when its shape is not
/// exactly one of the documented ones.
fn kinds(c: &mut Check<'_>, f: &RawDerived, family: &str) -> Option<Vec<DerivedKind>> {
    let key = |k: &str| format!("{family}.{k}");
    let mut ev = |k: &str, v: &str| c.event(&key(k), v);
    let shapes = [
        f.min_count.is_some(),
        f.min_value.is_some(),
        f.any_of.is_some(),
        f.then.is_some() || f.first.is_some(),
        f.device.is_some() || f.channel.is_some(),
    ];
    if shapes.iter().filter(|&&s| s).count() != 1 {
        c.err(
            family,
            "give exactly one of: event with min_count, event with min_value, any_of, first with then, event with device or channel",
        );
        return None;
    }
    let event = match (&f.event, f.any_of.is_some() || f.first.is_some()) {
        (Some(e), false) => Some(ev("event", e)?),
        (None, false) => {
            c.err(key("event"), "missing: the raw event the rule is about");
            return None;
        }
        (Some(_), true) => {
            c.err(
                key("event"),
                "not used with any_of or first/then: remove it",
            );
            return None;
        }
        (None, true) => None,
    };
    if let Some(grid) = &f.min_count {
        let event = event?;
        if grid.is_empty() || grid.iter().any(|&k| k < 2) {
            c.err(key("min_count"), "give one or more counts, each at least 2");
            return None;
        }
        return Some(
            grid.iter()
                .map(|&times| DerivedKind::AtLeast {
                    event: event.clone(),
                    times,
                })
                .collect(),
        );
    }
    if let Some(grid) = &f.min_value {
        let event = event?;
        if grid.is_empty() || grid.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            c.err(key("min_value"), "give one or more values, each above 0");
            return None;
        }
        return Some(
            grid.iter()
                .map(|&value| DerivedKind::ValueAtLeast {
                    event: event.clone(),
                    value,
                })
                .collect(),
        );
    }
    if let Some(list) = &f.any_of {
        let mut events: Vec<EventName> = Vec::new();
        for (j, n) in list.iter().enumerate() {
            let e = ev(&format!("any_of[{j}]"), n)?;
            if !events.contains(&e) {
                events.push(e);
            }
        }
        if events.len() < 2 {
            c.err(key("any_of"), "give at least two distinct events");
            return None;
        }
        return Some(vec![DerivedKind::AnyOf { events }]);
    }
    if f.first.is_some() || f.then.is_some() {
        let (Some(a), Some(b)) = (&f.first, &f.then) else {
            c.err(key("then"), "a sequence needs both first and then");
            return None;
        };
        let (first, then) = (ev("first", a)?, ev("then", b)?);
        if first == then {
            c.err(key("then"), "first and then must be different events");
            return None;
        }
        return Some(vec![DerivedKind::Then { first, then }]);
    }
    Some(vec![DerivedKind::InSegment {
        event: event?,
        device: f.device.clone(),
        channel: f.channel.clone(),
    }])
}

/// A grid point's threshold as a name part (`40`, `39_5`, `2x`).
fn threshold(k: &DerivedKind) -> String {
    match k {
        DerivedKind::AtLeast { times, .. } => format!("{times}x"),
        DerivedKind::ValueAtLeast { value, .. } => number(*value),
        _ => String::new(),
    }
}

fn number(v: f64) -> String {
    let s = format!("{v}");
    s.trim_end_matches(".0").replace(['.', '-'], "_")
}

/// Lower-case letters, digits and `_` only (a GA4 event name's alphabet).
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The name a rule gets when the family has none.
fn default_name(k: &DerivedKind) -> String {
    match k {
        DerivedKind::AtLeast { event, times } => format!("{event}_{times}x"),
        DerivedKind::ValueAtLeast { event, value } => format!("{event}_value_{}", number(*value)),
        DerivedKind::AnyOf { events } => {
            let names: Vec<&str> = events.iter().map(EventName::as_str).collect();
            names.join("_or_")
        }
        DerivedKind::Then { first, then } => format!("{first}_then_{then}"),
        DerivedKind::InSegment {
            event,
            device,
            channel,
        } => {
            let parts: Vec<String> = [device, channel]
                .iter()
                .filter_map(|x| x.as_deref())
                .map(slug)
                .collect();
            format!("{event}_{}", parts.join("_"))
        }
        // Not configured here: the predicted signal's stage names its own points.
        DerivedKind::Predicted { top, .. } => format!("predicted_top{}", number(top * 100.0)),
    }
}

fn valid_name(c: &mut Check<'_>, key: &str, name: &str) -> Option<EventName> {
    let ok = name.len() <= MAX_NAME
        && name.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if !ok {
        c.err(
            key,
            format!("{name:?}: a derived event's name must be a letter, then letters, digits or _, at most {MAX_NAME} characters (set name)"),
        );
        return None;
    }
    c.event(key, name)
}

/// Validates `[analysis.predicted]`: `None` when absent or `enabled = false`.
pub(super) fn predicted(
    c: &mut Check<'_>,
    p: Option<&super::raw::RawPredicted>,
) -> Option<crate::predict::PredictSpec> {
    let p = p.filter(|p| p.enabled != Some(false))?;
    let tops: Vec<f64> = match &p.top_percent {
        None => crate::predict::DEFAULT_TOPS.to_vec(),
        Some(v) => v.iter().map(|x| x / 100.0).collect(),
    };
    let key = "analysis.predicted.top_percent";
    if tops.is_empty() || tops.len() > crate::predict::MAX_POINTS {
        c.err(
            key,
            format!(
                "{} points: give 1 to {}",
                tops.len(),
                crate::predict::MAX_POINTS
            ),
        );
    } else if tops.iter().any(|q| !(*q > 0.0 && *q < 1.0)) {
        c.err(key, "each percent must be above 0 and below 100");
    } else if tops.windows(2).any(|w| w[0] >= w[1]) {
        c.err(key, "percents must increase");
    }
    Some(crate::predict::PredictSpec { tops })
}
