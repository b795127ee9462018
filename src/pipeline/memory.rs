//! The weekly memory a run starts from (the stored weeks before it) and the decision made
//! against it: measure, flag, recommend, then hold or switch.

use std::collections::BTreeMap;

use crate::advise::{damaged_weeks, recommend_standing, Recommendation, ReportedCounts};
use crate::config::Settings;
use crate::error::Error;
use crate::evidence::{measure, ProxyEvidence};
use crate::flags::assess;
use crate::history::{apply_hysteresis, standing_facts, tracking_weeks, RecommendationChange};
use crate::observe::Observations;
use crate::platform::PlatformId;
use crate::source::remote::Pulled;
use crate::store::{Store, StoredWeek};
use crate::types::EventName;

/// The settings that give this run's numbers their meaning (see [`crate::store::Basis`]).
pub(super) fn run_basis(
    settings: &Settings,
    obs: &crate::observe::Observations,
) -> crate::store::Basis {
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

/// The weekly memory a run starts from.
pub(super) struct Memory {
    /// The account's store.
    pub(super) store: Store,
    /// The latest readable stored week before this run's week, whatever its settings: its
    /// recommendation is the standing one.
    pub(super) latest: Option<StoredWeek>,
    /// The stored weeks before this run's week that were measured like this run, oldest first:
    /// the drift baseline and the week compared with.
    pub(super) comparable: Vec<StoredWeek>,
    /// Why the weeks after the last comparable one are not compared (for CHANGES).
    pub(super) not_compared: Vec<String>,
    /// Warnings naming the stored-week files that could not be read (for the data notes).
    pub(super) unreadable: Vec<String>,
}

/// Reads the stored weeks before this run's week. A file that cannot be read is left as it is,
/// named in a warning, and the run goes on without it; weeks stored with other settings (unit,
/// label window, purchase event, time zone, session gap, aliases) are not compared with.
pub(super) fn memory_before(
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

/// What the run decided: the evidence with its flags, the recommendations after hold or
/// switch, how each changed from the standing one, and the counts the platforms reported.
pub(super) struct Decision {
    /// Each candidate's evidence, flagged.
    pub(super) proxies: Vec<ProxyEvidence>,
    /// The recommendations per platform, after hysteresis.
    pub(super) recommendations: Vec<Recommendation>,
    /// How each recommendation relates to the standing one (for CHANGES).
    pub(super) changes: Vec<RecommendationChange>,
    /// The platforms' own per-unit counts, for the floor check.
    pub(super) reported: Vec<ReportedCounts>,
}

/// Measures and flags the candidates against the comparable stored weeks.
fn flagged_evidence(
    settings: &Settings,
    obs: &Observations,
    earlier: &[StoredWeek],
) -> Vec<ProxyEvidence> {
    let a = &settings.analysis;
    let flag_params = crate::flags::FlagParams::new(
        a.alpha,
        a.confidence,
        a.min_units,
        a.surge_weeks,
        settings.observe.label_window_days,
        a.effects,
    )
    .over_aggregates(settings.volumes_only);
    assess(obs, measure(obs, a), &flag_params, earlier)
}

/// Measures, flags and recommends, then holds or switches each platform's recommendation
/// against the one the buyer was told last (the latest stored week).
pub(super) fn decide(
    settings: &Settings,
    obs: &Observations,
    memory: &Memory,
    pulled: Option<&Pulled>,
) -> Decision {
    let earlier = &memory.comparable;
    let proxies = flagged_evidence(settings, obs, earlier);
    let mut platforms = settings.platforms.clone();
    let reported = reported_counts(pulled, &mut platforms, settings);
    let standing = standing(memory);
    let fresh = recommend_standing(
        obs,
        &proxies,
        &platforms,
        &settings.analysis,
        &reported,
        &standing,
    );
    let (recommendations, changes): (Vec<_>, Vec<_>) = fresh
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
                    .map_or(0, |j| damaged_weeks(obs, j, settings.analysis.surge_weeks));
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
    Decision {
        proxies,
        recommendations,
        changes,
        reported,
    }
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

/// What each platform was last told to optimize on (the latest stored week's recommendations).
pub(super) fn standing(memory: &Memory) -> BTreeMap<PlatformId, EventName> {
    memory
        .latest
        .as_ref()
        .map(|w| {
            w.recommendations
                .iter()
                .filter_map(|r| Some((r.platform, r.event.clone()?)))
                .collect()
        })
        .unwrap_or_default()
}
