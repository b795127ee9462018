//! Audience comparison: two audience definitions (events done or not done, segments) side by
//! side — their size, overlap, purchase density with intervals, and the difference in density.
//!
//! "A wishlist-add audience and a newsletter-only audience are different objects": this measures
//! them on the account's own units rather than trusting a published lift. It works on the grouped
//! patterns of [`Observations`] (the proxy model's data), so a unit is "in" an audience by the
//! events it did *before* its purchase (the leakage guard), and its density is the share of its
//! units that purchased within the label window — the same precision the scorecard reports. The
//! two audiences may overlap; the difference's variance accounts for units in both. Pure: no
//! I/O, no English beyond the definitions' own labels.

use serde::Serialize;

use crate::observe::{Observations, UnitKind};
use crate::stats::cluster::{overlap_difference, wilson_real, OverlapCells};
use crate::types::{EventName, Interval};

/// One condition of an audience definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Every unit.
    All,
    /// The unit did the event (before any purchase).
    Did(EventName),
    /// The unit did not do the event.
    DidNot(EventName),
    /// The unit's device is this.
    Device(String),
    /// The unit's channel is this.
    Channel(String),
}

/// An audience: units meeting every term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceDef {
    /// The definition as written (normalised spacing).
    pub label: String,
    /// The terms, all of which must hold.
    pub terms: Vec<Term>,
}

impl AudienceDef {
    /// Parses `all`, `add_to_cart`, `sign_up & not add_to_cart`, `add_to_cart & device=mobile`,
    /// `channel=email` (terms joined by `&`; `not EVENT` or `-EVENT` negates).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for raw in text.split('&') {
            let t = raw.trim();
            let term = if t.eq_ignore_ascii_case("all") {
                Term::All
            } else if let Some(v) = t.strip_prefix("device=") {
                Term::Device(v.trim().to_string())
            } else if let Some(v) = t.strip_prefix("channel=") {
                Term::Channel(v.trim().to_string())
            } else if let Some(e) = t.strip_prefix("not ").or_else(|| t.strip_prefix('-')) {
                Term::DidNot(event(e)?)
            } else {
                Term::Did(event(t)?)
            };
            terms.push(term);
        }
        let label = text
            .split('&')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" & ");
        Ok(AudienceDef { label, terms })
    }
}

fn event(s: &str) -> Result<EventName, String> {
    let s = s.trim();
    if s.contains(char::is_whitespace) || s.contains('=') {
        return Err(format!(
            "{s:?} is not an event name, `not EVENT`, device=..., channel=... or all"
        ));
    }
    EventName::new(s).ok_or_else(|| "an empty term (two & in a row?)".to_string())
}

/// Why two audiences cannot be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AudienceError {
    /// A term names an event the observations do not track as a candidate.
    #[error("audience {label:?}: {event} is not a candidate event (candidates: {candidates}); add it to analysis.candidates")]
    NotCandidate {
        /// The audience.
        label: String,
        /// The event.
        event: EventName,
        /// The candidates.
        candidates: String,
    },
    /// A definition does not parse.
    #[error("audience {label:?}: {message}")]
    Parse {
        /// The definition as given.
        label: String,
        /// What is wrong.
        message: String,
    },
}

/// One audience's size and density.
#[derive(Debug, Clone, Serialize)]
pub struct AudienceSide {
    /// The definition.
    pub label: String,
    /// Units in the audience.
    pub units: u64,
    /// Of them, units that purchased within the label window.
    pub purchasers: u64,
    /// `purchasers / units`.
    pub density: Option<f64>,
    /// Wilson interval of the density.
    pub density_ci: Option<Interval>,
    /// Density over the base rate of all units.
    pub lift: Option<f64>,
}

/// Two audiences compared.
#[derive(Debug, Clone, Serialize)]
pub struct AudienceComparison {
    /// Sessions or users.
    pub unit: UnitKind,
    /// All units observed.
    pub units_total: u64,
    /// Purchase rate of all units.
    pub base_rate: Option<f64>,
    /// The first audience.
    pub a: AudienceSide,
    /// The second audience.
    pub b: AudienceSide,
    /// Units in both.
    pub overlap: u64,
    /// Overlap over the union (0 = disjoint, 1 = the same units).
    pub jaccard: Option<f64>,
    /// Density of `a` minus density of `b`.
    pub difference: Option<f64>,
    /// Its interval (delta method, overlap-aware).
    pub difference_ci: Option<Interval>,
    /// Two-sided p-value of the difference.
    pub p_value: Option<f64>,
    /// Density of `a` over density of `b`.
    pub ratio: Option<f64>,
    /// Its log-scale interval.
    pub ratio_ci: Option<Interval>,
}

fn holds(
    term: &Term,
    obs: &Observations,
    bits: &[Option<u32>],
    i: usize,
    p: &crate::observe::Pattern,
) -> bool {
    let level = |levels: &[String], idx: u16, want: &str| {
        levels.get(idx as usize).is_some_and(|l| l == want)
    };
    match term {
        Term::All => true,
        Term::Did(_) => bits[i].is_some_and(|b| p.mask & (1 << b) != 0),
        Term::DidNot(_) => bits[i].is_some_and(|b| p.mask & (1 << b) == 0),
        Term::Device(d) => level(&obs.devices, p.device, d),
        Term::Channel(c) => level(&obs.channels, p.channel, c),
    }
}

fn candidate_bits(
    def: &AudienceDef,
    obs: &Observations,
) -> Result<Vec<Option<u32>>, AudienceError> {
    def.terms
        .iter()
        .map(|t| match t {
            Term::Did(e) | Term::DidNot(e) => obs
                .candidates
                .iter()
                .position(|c| c == e)
                .map(|i| Some(i as u32))
                .ok_or_else(|| AudienceError::NotCandidate {
                    label: def.label.clone(),
                    event: e.clone(),
                    candidates: obs
                        .candidates
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            _ => Ok(None),
        })
        .collect()
}

/// Compares audiences `a` and `b` over the observed units of the weeks `keep` accepts.
pub fn compare(
    obs: &Observations,
    a: &AudienceDef,
    b: &AudienceDef,
    keep: impl Fn(u16) -> bool,
    confidence: f64,
) -> Result<AudienceComparison, AudienceError> {
    let (bits_a, bits_b) = (candidate_bits(a, obs)?, candidate_bits(b, obs)?);
    let mut cells = OverlapCells::default();
    let (mut total, mut buyers) = (0u64, 0u64);
    for p in obs.patterns.iter().filter(|p| keep(p.week)) {
        let in_a = a
            .terms
            .iter()
            .enumerate()
            .all(|(i, t)| holds(t, obs, &bits_a, i, p));
        let in_b = b
            .terms
            .iter()
            .enumerate()
            .all(|(i, t)| holds(t, obs, &bits_b, i, p));
        total += p.units;
        buyers += p.purchasers;
        cells.add(in_a, in_b, p.units, p.purchasers);
    }
    let base = (total > 0).then(|| buyers as f64 / total as f64);
    let side = |label: &str, units: u64, purchasers: u64| {
        let density = (units > 0).then(|| purchasers as f64 / units as f64);
        AudienceSide {
            label: label.to_string(),
            units,
            purchasers,
            density,
            density_ci: density.map(|d| wilson_real(d, units as f64, confidence)),
            lift: density
                .zip(base)
                .filter(|(_, b)| *b > 0.0)
                .map(|(d, b)| d / b),
        }
    };
    let (na, ya) = cells.a_totals();
    let (nb, yb) = cells.b_totals();
    let union = na + nb - cells.both.0;
    let d = overlap_difference(&cells, confidence);
    Ok(AudienceComparison {
        unit: obs.unit,
        units_total: total,
        base_rate: base,
        a: side(&a.label, na, ya),
        b: side(&b.label, nb, yb),
        overlap: cells.both.0,
        jaccard: (union > 0).then(|| cells.both.0 as f64 / union as f64),
        difference: d.map(|d| d.difference),
        difference_ci: d.map(|d| d.difference_ci),
        p_value: d.map(|d| d.p_value),
        ratio: d.and_then(|d| d.ratio),
        ratio_ci: d.and_then(|d| d.ratio_ci),
    })
}

/// Parses two definitions and compares them on the measured weeks
/// ([`Observations::measured_weeks`]): the command's entry point.
pub fn compare_text(
    obs: &Observations,
    a: &str,
    b: &str,
    confidence: f64,
) -> Result<AudienceComparison, AudienceError> {
    let parse = |s: &str| {
        AudienceDef::parse(s).map_err(|message| AudienceError::Parse {
            label: s.to_string(),
            message,
        })
    };
    // Densities are label rates: measured on the weeks whose labels are complete, as the
    // scorecard's precision is.
    let measured = obs.measured_weeks();
    compare(
        obs,
        &parse(a)?,
        &parse(b)?,
        |w| measured.contains(&w),
        confidence,
    )
}

/// The comparisons the report's AUDIENCE SEEDS section shows: the best retargeting seed against
/// the runner-up (are they the same people, and is the first really denser?), and
/// `add_to_wishlist` against newsletter-only (`sign_up` without wishlist or cart) when both are
/// candidates.
pub fn report_comparisons(
    obs: &Observations,
    retargeting: &[EventName],
    confidence: f64,
) -> Vec<AudienceComparison> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let [first, second, ..] = retargeting {
        pairs.push((first.to_string(), second.to_string()));
    }
    let has = |e: &str| obs.candidates.iter().any(|c| c.as_str() == e);
    if has("add_to_wishlist") && has("sign_up") {
        let only = if has("add_to_cart") {
            "sign_up & not add_to_wishlist & not add_to_cart"
        } else {
            "sign_up & not add_to_wishlist"
        };
        pairs.push(("add_to_wishlist".into(), only.into()));
    }
    pairs
        .iter()
        .filter_map(|(a, b)| compare_text(obs, a, b, confidence).ok())
        .collect()
}

#[cfg(test)]
mod tests;
