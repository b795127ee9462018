//! The search over derived candidates' grids, kept honest by splitting time.
//!
//! The measured weeks are split in two: the earlier half (rounded down) are **search weeks**,
//! the rest **held-out weeks**. On the search weeks alone, for every platform, each family's
//! grid points are scored with the decision rule's own objective (`P(clear) × precision`, among
//! points that clear and whose lift interval reaches the lift floor; the best score when none
//! does), and the best point per platform is kept; the others are projected out. Every figure
//! reported for a kept point — precision, lift, odds ratio, AUC, weekly volumes, clearance —
//! is then measured on the held-out weeks only ([`DerivedCandidate::measured_from`]), so picking
//! the best of many does not inflate it. A kept point is eligible only on the platforms it was
//! picked for.

use serde::Serialize;

use crate::core::recommend::{assess, Candidate};
use crate::evidence::AnalysisSettings;
use crate::observe::discover::project;
use crate::observe::{DerivedCandidate, Observations};
use crate::platform::{PlatformId, PlatformSettings};
use crate::stats::clearance::clearance;
use crate::stats::interval::lift;
use crate::types::{IsoWeek, Probability};

/// Fewest measured weeks the search needs: two to search on, two held out.
pub const MIN_WEEKS: usize = 4;

/// What the search did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedSearch {
    /// Families configured (`[[analysis.derived]]` entries).
    pub families: usize,
    /// Grid points searched in all.
    pub searched: usize,
    /// The points kept (the best of their family for at least one platform), as measured.
    pub kept: Vec<DerivedCandidate>,
    /// The weeks the grids were searched on.
    pub search_weeks: Vec<IsoWeek>,
    /// The weeks every kept point's figures come from.
    pub held_out_weeks: Vec<IsoWeek>,
    /// Whether the data had too few measured weeks ([`MIN_WEEKS`]) to search: then no derived
    /// candidate is measured.
    pub too_few_weeks: bool,
}

/// Searches every family's grid on the search weeks, keeps the best point per platform and
/// marks what is kept to be measured on the held-out weeks only. A point that is a platform's
/// `standing` recommendation stays eligible there too, so that hysteresis, not this week's
/// search, decides whether to leave it (its figures are held-out ones as well). Observations
/// without derived candidates come back as they were, with no search.
pub fn select(
    obs: Observations,
    platforms: &[PlatformSettings],
    a: &AnalysisSettings,
    standing: &std::collections::BTreeMap<PlatformId, crate::types::EventName>,
) -> (Observations, Option<DerivedSearch>) {
    if obs.derived.is_empty() {
        return (obs, None);
    }
    let (search_weeks, held_out, too_few_weeks) = split(&obs);
    let (search_weeks, held_out) = (&search_weeks[..], &held_out[..]);
    let families = obs
        .derived
        .iter()
        .map(|d| d.rule.family)
        .max()
        .map_or(0, |f| f + 1);
    let searched = obs.derived.len();
    let mut picked: Vec<Vec<PlatformId>> = vec![Vec::new(); searched];
    if !too_few_weeks {
        for f in 0..families {
            let points: Vec<usize> = (0..searched)
                .filter(|&i| obs.derived[i].rule.family == f)
                .collect();
            for p in platforms {
                let id = p.profile.id;
                let best = best_point(&obs, &points, search_weeks, p, a);
                let stands = points.iter().copied().find(|&i| {
                    standing.get(&id) == Some(&obs.derived[i].rule.name) && best.is_some()
                });
                for i in best.into_iter().chain(stands.filter(|s| Some(*s) != best)) {
                    picked[i].push(id);
                }
            }
        }
    }
    let n_raw = obs.candidates.len() - searched;
    let kept_points: Vec<usize> = (0..searched).filter(|&i| !picked[i].is_empty()).collect();
    let derived: Vec<DerivedCandidate> = kept_points
        .iter()
        .enumerate()
        .map(|(pos, &i)| DerivedCandidate {
            candidate: n_raw + pos,
            rule: obs.derived[i].rule.clone(),
            measured_from: held_out.first().copied(),
            selected_for: picked[i].clone(),
            searched: points_in(&obs, obs.derived[i].rule.family),
        })
        .collect();
    let week_names =
        |ws: &[u16]| -> Vec<IsoWeek> { ws.iter().map(|&w| obs.weeks[w as usize].week).collect() };
    let search = DerivedSearch {
        families,
        searched,
        kept: derived.clone(),
        search_weeks: week_names(search_weeks),
        held_out_weeks: week_names(held_out),
        too_few_weeks,
    };
    let keep: Vec<usize> = (0..n_raw)
        .chain(kept_points.iter().map(|&i| obs.derived[i].candidate))
        .collect();
    let k_old = obs.candidates.len();
    let mut out = project(obs, &keep, &[], k_old);
    out.derived = derived;
    (out, Some(search))
}

/// The measured weeks split in time: the search weeks (the earlier half, rounded down), the
/// held-out weeks (the rest), and whether there are too few ([`MIN_WEEKS`]) to split: then
/// nothing is searched and every measured week counts as held out.
pub fn split(obs: &Observations) -> (Vec<u16>, Vec<u16>, bool) {
    let measured = obs.measured_weeks();
    let too_few = measured.len() < MIN_WEEKS;
    let (s, h) = measured.split_at(if too_few { 0 } else { measured.len() / 2 });
    (s.to_vec(), h.to_vec(), too_few)
}

fn points_in(obs: &Observations, family: usize) -> usize {
    obs.derived
        .iter()
        .filter(|d| d.rule.family == family)
        .count()
}

/// The family point (an index of `obs.derived`) with the best objective for platform `p` on
/// the measured weeks `search` (volumes: the complete weeks before the first held-out one);
/// `None` when the platform cannot take a derived event.
fn best_point(
    obs: &Observations,
    points: &[usize],
    search: &[u16],
    p: &PlatformSettings,
    a: &AnalysisSettings,
) -> Option<usize> {
    if !p.profile.can_optimize_derived() {
        return None;
    }
    let split = search.last().map_or(0, |&w| usize::from(w) + 1);
    let thinning = p.attributed_share / f64::from(p.ad_sets.max(1));
    let floor = &p.profile.floor;
    let scored: Vec<(usize, bool, f64)> = points
        .iter()
        .map(|&i| {
            let j = obs.derived[i].candidate;
            let counts: Vec<f64> = obs.weeks[..split]
                .iter()
                .filter(|w| w.complete)
                .map(|w| w.candidates[j].events as f64)
                .collect();
            let prob = clearance(&counts, thinning, f64::from(floor.days), floor.events)
                .map_or(0.0, |c| c.probability.get());
            let [ta, tb, tc, td] = obs.table(j, |w| search.contains(&w));
            let cand = Candidate {
                event: obs.candidates[j].clone(),
                depth: 0,
                is_purchase: false,
                clearance: Probability::clamped(prob),
                precision: (ta + tb > 0).then(|| ta as f64 / (ta + tb) as f64),
                lift_ci: lift(ta, tb, tc, td, a.confidence).map(|l| l.ci),
                exclusion: None,
                derived: true,
            };
            let s = assess(&cand, None, &a.decision);
            (i, s.clears && s.useful, s.score)
        })
        .collect();
    // Qualifying points first, then the best score; ties go to the earlier grid point.
    scored
        .iter()
        .max_by(|x, y| {
            (x.1, x.2)
                .partial_cmp(&(y.1, y.2))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(y.0.cmp(&x.0))
        })
        .map(|s| s.0)
}
