//! The recommendation: which event each platform should optimize on, and why.
//!
//! Rule (documented in `docs/definitions.md`):
//! 1. For every event, the expected weekly volume per bidding unit is
//!    `site weekly events × attributed_share / ad_sets`, over the last `volume_weeks` complete
//!    weeks; its clearance is the probability that one floor window (7 or 30 days) reaches the
//!    floor, from a negative binomial fitted to the weekly counts (Poisson when not overdispersed).
//!    An event clears at `clearance ≥ clearance_threshold` (default 0.8).
//! 2. If purchase clears, recommend purchase.
//! 3. Otherwise, among candidates the platform can optimize on, that carry no flag, and that
//!    clear: the one with the highest lower bound of precision (Wilson), ties broken by funnel
//!    depth. The next one by the same order is the runner-up.
//! 4. "Unlock": for the next deeper eligible event (or purchase) that does not clear, the most
//!    bidding units it would clear with, and the volume multiple it would need at today's count.
//! 5. When nothing clears, say so and what consolidation would let the best proxy clear.
//! 6. Platform-reported counts (Meta per ad set, Google Ads per campaign) replace the site-share
//!    estimate for the events the platform counts, zeros included. When a platform counts any
//!    event, an event it does not count at all (no conversion action, no standard event) is not
//!    eligible on it, purchase included ([`ReportedCounts::unreported`] says why): it cannot be
//!    bid on until it is set up there, and a site-share guess is not comparable with the
//!    platform's own counts. One recommendation never mixes the two bases.

use serde::Serialize;

use crate::config::{AnalysisSettings, PlatformSettings};
use crate::evidence::ProxyEvidence;
use crate::format::{amount, percent};
use crate::observe::Observations;
use crate::platform::{Floor, PlatformId};
use crate::stats::clearance::{clearance, max_units_that_clear, volume_multiple_needed};
use crate::types::EventName;

/// Where a floor check's per-unit counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountBasis {
    /// Site events × attributed share ÷ bidding units (the log or GA4).
    SiteShare,
    /// The platform's own per-unit counts (Meta insights per ad set, Google Ads per campaign).
    PlatformReported,
}

/// Counts a platform reported per bidding unit; when given, the floor check uses them instead of
/// site events × share ÷ units.
#[derive(Debug, Clone)]
pub struct ReportedCounts {
    /// The platform.
    pub platform: PlatformId,
    /// Bidding units the counts cover (active ad sets, campaigns).
    pub units: u32,
    /// Canonical event → every (unit, week) count over the recent weeks, for every event the
    /// platform counts (all zeros when it counted none of them).
    pub per_unit_weekly: std::collections::BTreeMap<String, Vec<f64>>,
    /// Why an event missing from `per_unit_weekly` is not eligible on this platform (`not a
    /// conversion action in Google Ads`); applies when `per_unit_weekly` is not empty.
    pub unreported: String,
}

/// The floor check of one event on one platform.
#[derive(Debug, Clone, Serialize)]
pub struct EventCheck {
    /// Where the per-unit counts come from.
    pub basis: CountBasis,
    /// The event.
    pub event: EventName,
    /// Expected events per bidding unit per week.
    pub per_unit_weekly: f64,
    /// Expected events per bidding unit in the floor's window.
    pub per_unit_window: f64,
    /// Probability that a window clears the floor.
    pub clearance: f64,
    /// Whether it clears at the threshold.
    pub clears: bool,
    /// Why it cannot be recommended, if it cannot (flags, platform support, no data).
    pub excluded: Option<String>,
}

/// What would let a deeper event clear.
#[derive(Debug, Clone, Serialize)]
pub struct Unlock {
    /// The deeper event.
    pub event: EventName,
    /// The most bidding units it would clear with (`None`: not even one).
    pub max_ad_sets: Option<u32>,
    /// The factor on today's volume it would need with today's bidding units.
    pub volume_multiple: Option<f64>,
}

/// The recommendation for one platform.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// Platform id.
    pub platform: PlatformId,
    /// Recommended event; `None` when nothing clears.
    pub event: Option<EventName>,
    /// The next best event by the same rule.
    pub runner_up: Option<EventName>,
    /// Expected events per bidding unit per week of the recommended event.
    pub per_unit_weekly: Option<f64>,
    /// The floor checked against.
    pub floor: Floor,
    /// Clearance probability of the recommended event.
    pub clearance: Option<f64>,
    /// Why, in one or two sentences with numbers.
    pub reason: String,
    /// Bidding units sharing the events.
    pub ad_sets: u32,
    /// Share of site events the platform sees.
    pub attributed_share: f64,
    /// The event optimized on today, when configured.
    pub optimizing_on: Option<EventName>,
    /// Whether the recommendation differs from today's event (when known).
    pub change_needed: Option<bool>,
    /// What would unlock the next deeper event.
    pub unlock: Option<Unlock>,
    /// The floor check of every event considered.
    pub checks: Vec<EventCheck>,
    /// This week's best event by the rule above, before hysteresis (`event` may hold last
    /// week's standing recommendation instead; see [`crate::history::apply_hysteresis`]).
    pub best: Option<EventName>,
    /// Whether `event` is a standing recommendation held against a not-yet-confirmed `best`.
    pub held: bool,
    /// Consecutive stored weeks, this one included, in which `best` has been the best.
    pub best_weeks: u32,
}

/// Weekly site counts (events) of an event over the last `volume_weeks` complete weeks; empty
/// when no week is complete (a partial week says nothing about a week's volume).
pub fn recent_weekly_counts(obs: &Observations, j: Option<usize>, volume_weeks: u32) -> Vec<f64> {
    let pool: Vec<usize> = (0..obs.weeks.len())
        .filter(|&i| obs.weeks[i].complete)
        .collect();
    let take = (volume_weeks as usize).min(pool.len());
    pool[pool.len() - take..]
        .iter()
        .map(|&i| {
            let w = &obs.weeks[i];
            match j {
                Some(j) => w.candidates[j].events as f64,
                None => w.purchase.events as f64,
            }
        })
        .collect()
}

/// Recommends for every configured platform.
pub fn recommend(
    obs: &Observations,
    evidence: &[ProxyEvidence],
    platforms: &[PlatformSettings],
    a: &AnalysisSettings,
) -> Vec<Recommendation> {
    recommend_reported(obs, evidence, platforms, a, &[])
}

/// [`recommend`], with per-unit counts some platforms reported themselves.
pub fn recommend_reported(
    obs: &Observations,
    evidence: &[ProxyEvidence],
    platforms: &[PlatformSettings],
    a: &AnalysisSettings,
    reported: &[ReportedCounts],
) -> Vec<Recommendation> {
    platforms
        .iter()
        .map(|p| {
            let r = reported.iter().find(|r| r.platform == p.profile.id);
            match r {
                Some(r) => {
                    let mut p = p.clone();
                    p.ad_sets = r.units.max(1);
                    recommend_one(obs, evidence, &p, a, Some(r))
                }
                None => recommend_one(obs, evidence, p, a, None),
            }
        })
        .collect()
}

fn recommend_one(
    obs: &Observations,
    evidence: &[ProxyEvidence],
    p: &PlatformSettings,
    a: &AnalysisSettings,
    reported: Option<&ReportedCounts>,
) -> Recommendation {
    let floor = p.profile.floor.clone();
    let thinning = p.attributed_share / f64::from(p.ad_sets);
    let window = f64::from(floor.days);
    let unit_noun = floor.unit.noun(1.0);
    let units_noun = floor.unit.noun(f64::from(p.ad_sets));
    // Rule 6: when the platform counts any event, the events it does not count are not eligible.
    let uncounted = |event: &EventName| -> Option<String> {
        let r = reported.filter(|r| !r.per_unit_weekly.is_empty())?;
        (!r.per_unit_weekly.contains_key(event.as_str())).then(|| r.unreported.clone())
    };
    let check = |event: &EventName, counts: &[f64], excluded: Option<String>| {
        let own = reported
            .and_then(|r| r.per_unit_weekly.get(event.as_str()))
            .filter(|c| !c.is_empty());
        let (basis, c) = match own {
            Some(own) => (
                CountBasis::PlatformReported,
                clearance(own, 1.0, window, floor.events),
            ),
            None => (
                CountBasis::SiteShare,
                clearance(counts, thinning, window, floor.events),
            ),
        };
        let (wk, win, prob) = c.map_or((0.0, 0.0, 0.0), |c| {
            (
                c.per_unit_mean_week,
                c.per_unit_mean_window,
                c.probability.get(),
            )
        });
        EventCheck {
            basis,
            event: event.clone(),
            per_unit_weekly: wk,
            per_unit_window: win,
            clearance: prob,
            clears: prob >= a.clearance_threshold,
            excluded,
        }
    };
    let purchase_counts = recent_weekly_counts(obs, None, a.volume_weeks);
    let mut rec = Recommendation {
        platform: p.profile.id,
        event: None,
        runner_up: None,
        per_unit_weekly: None,
        floor: floor.clone(),
        clearance: None,
        reason: String::new(),
        ad_sets: p.ad_sets,
        attributed_share: p.attributed_share,
        optimizing_on: p.optimizing_on.clone(),
        change_needed: None,
        unlock: None,
        checks: Vec::new(),
        best: None,
        held: false,
        best_weeks: 1,
    };
    if purchase_counts.is_empty() {
        let hours = (obs.span_micros.1 - obs.span_micros.0) as f64 / 3.6e9;
        rec.reason = format!(
            "Cannot check the learning-phase floor: the data cover no complete ISO week ({hours:.1} hours in all). Give at least one complete week, ideally {}.",
            a.volume_weeks
        );
        return rec;
    }
    let purchase_check = check(&obs.purchase, &purchase_counts, uncounted(&obs.purchase));
    let purchase_open = purchase_check.excluded.is_none();
    let mut checks = vec![purchase_check.clone()];
    let mut eligible: Vec<(usize, EventCheck)> = Vec::new();
    for (j, e) in evidence.iter().enumerate() {
        let counts = recent_weekly_counts(obs, Some(j), a.volume_weeks);
        let excluded = if !p.profile.can_optimize(&e.event) {
            Some(format!(
                "{} cannot optimize on {}",
                p.profile.id.display_name(),
                e.event
            ))
        } else if let Some(why) = uncounted(&e.event) {
            Some(why)
        } else if e.is_disqualified() {
            let names: Vec<&str> = e.flags.iter().map(|f| f.kind.name()).collect();
            Some(format!("flagged {}", names.join(", ")))
        } else {
            None
        };
        let c = check(&e.event, &counts, excluded);
        if c.excluded.is_none() {
            eligible.push((j, c.clone()));
        }
        checks.push(c);
    }
    // Strongest signal first: precision lower bound, then funnel depth.
    let strength = |j: usize| evidence[j].precision_ci.map_or(0.0, |c| c.lo);
    eligible.sort_by(|(x, _), (y, _)| {
        strength(*y)
            .total_cmp(&strength(*x))
            .then(evidence[*y].funnel_depth.cmp(&evidence[*x].funnel_depth))
    });
    let floor_txt = format!(
        "{} per {} per {} days",
        amount(floor.events),
        unit_noun,
        floor.days
    );
    let vol_txt = |c: &EventCheck| {
        let window_txt = if floor.days == 7 {
            String::new()
        } else {
            format!(" ({} per {} days)", amount(c.per_unit_window), floor.days)
        };
        format!(
            "{} per {} per week{}",
            amount(c.per_unit_weekly),
            unit_noun,
            window_txt
        )
    };
    let quality = |j: usize| {
        let e = &evidence[j];
        match (e.precision, e.precision_ci, e.lift) {
            (Some(pr), Some(ci), Some(l)) => format!(
                "{} of these {} go on to buy ({}–{}), {:.1}× the base rate",
                percent(pr),
                obs.unit.plural(),
                percent(ci.lo),
                percent(ci.hi),
                l
            ),
            _ => "no precision estimate".into(),
        }
    };
    let clearing: Vec<&(usize, EventCheck)> = eligible.iter().filter(|(_, c)| c.clears).collect();
    let unlock_for = |depth: u8| -> Option<Unlock> {
        // The next deeper event: the shallowest eligible candidate deeper than `depth`, else purchase.
        let mut deeper: Vec<&(usize, EventCheck)> = eligible
            .iter()
            .filter(|(j, c)| evidence[*j].funnel_depth > depth && !c.clears)
            .collect();
        deeper.sort_by_key(|(j, _)| evidence[*j].funnel_depth);
        let (event, counts) = match deeper.first() {
            Some((j, _)) => (
                evidence[*j].event.clone(),
                recent_weekly_counts(obs, Some(*j), a.volume_weeks),
            ),
            None if !purchase_check.clears && purchase_open => {
                (obs.purchase.clone(), purchase_counts.clone())
            }
            None => return None,
        };
        Some(Unlock {
            max_ad_sets: max_units_that_clear(
                &counts,
                p.attributed_share,
                window,
                floor.events,
                a.clearance_threshold,
                p.ad_sets,
            ),
            volume_multiple: volume_multiple_needed(
                &counts,
                thinning,
                window,
                floor.events,
                a.clearance_threshold,
            ),
            event,
        })
    };
    let unlock_txt = |u: &Unlock| {
        let mut parts = Vec::new();
        if let Some(k) = u.max_ad_sets {
            if k < p.ad_sets {
                parts.push(format!(
                    "with at most {k} {}",
                    floor.unit.noun(f64::from(k))
                ));
            }
        }
        if let Some(m) = u.volume_multiple {
            parts.push(format!("with {m:.1}× today's volume"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" {} would clear {}.", u.event, parts.join(", or "))
        }
    };
    if purchase_check.clears && purchase_open {
        rec.event = Some(obs.purchase.clone());
        rec.per_unit_weekly = Some(purchase_check.per_unit_weekly);
        rec.clearance = Some(purchase_check.clearance);
        rec.runner_up = clearing.first().map(|(j, _)| evidence[*j].event.clone());
        rec.reason = format!(
            "{} itself clears the floor: {} against {} (clears {} of windows); optimize on the real outcome.",
            obs.purchase,
            vol_txt(&purchase_check),
            floor_txt,
            percent(purchase_check.clearance)
        );
    } else if let Some((j, c)) = clearing.first() {
        rec.event = Some(evidence[*j].event.clone());
        rec.per_unit_weekly = Some(c.per_unit_weekly);
        rec.clearance = Some(c.clearance);
        rec.runner_up = clearing.get(1).map(|(k, _)| evidence[*k].event.clone());
        let purchase_txt = match &purchase_check.excluded {
            Some(why) => format!("{} cannot be optimized on here ({why})", obs.purchase),
            None => format!(
                "{} is too rare: {} against {} (clears {} of windows)",
                obs.purchase,
                vol_txt(&purchase_check),
                floor_txt,
                percent(purchase_check.clearance)
            ),
        };
        rec.reason = format!(
            "{purchase_txt}. {} clears the floor: {} (clears {}), and {}.",
            evidence[*j].event,
            vol_txt(c),
            percent(c.clearance),
            quality(*j)
        );
        rec.unlock = unlock_for(evidence[*j].funnel_depth);
        if let Some(u) = &rec.unlock {
            rec.reason.push_str(&unlock_txt(u));
        }
    } else {
        // Nothing clears: what consolidation would let the strongest eligible proxy clear?
        let best = eligible.first();
        rec.reason = format!(
            "No eligible event clears {} with {} {}: {} has {}.",
            floor_txt,
            p.ad_sets,
            units_noun,
            obs.purchase,
            vol_txt(&purchase_check)
        );
        if let Some((j, _)) = best {
            let counts = recent_weekly_counts(obs, Some(*j), a.volume_weeks);
            let k = max_units_that_clear(
                &counts,
                p.attributed_share,
                window,
                floor.events,
                a.clearance_threshold,
                p.ad_sets,
            );
            let m = volume_multiple_needed(
                &counts,
                thinning,
                window,
                floor.events,
                a.clearance_threshold,
            );
            rec.unlock = Some(Unlock {
                event: evidence[*j].event.clone(),
                max_ad_sets: k,
                volume_multiple: m,
            });
            match k {
                Some(k) => rec.reason.push_str(&format!(
                    " Consolidate into {k} {} and optimize on {} ({}).",
                    floor.unit.noun(f64::from(k)),
                    evidence[*j].event,
                    quality(*j)
                )),
                None => rec.reason.push_str(&format!(
                    " Even one {unit_noun} would not clear on {}; it needs {} its volume.",
                    evidence[*j].event,
                    m.map_or("far more than 10×".to_string(), |m| format!("{m:.1}×"))
                )),
            }
        }
    }
    if let Some(today) = &p.optimizing_on {
        if let Some(e) = evidence
            .iter()
            .find(|e| &e.event == today && e.is_disqualified())
        {
            let names: Vec<&str> = e.flags.iter().map(|f| f.kind.name()).collect();
            rec.reason.push_str(&format!(
                " Stop optimizing on {today}: it is flagged {}.",
                names.join(", ")
            ));
        }
    }
    rec.change_needed = match (&rec.optimizing_on, &rec.event) {
        (Some(today), Some(rec_ev)) => Some(today != rec_ev),
        (Some(_), None) => Some(true),
        _ => None,
    };
    rec.checks = checks;
    rec.best = rec.event.clone();
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{ObserveSpec, UnitKind};
    use crate::source::ga4_api::{Ga4Pull, Ga4Row};
    use crate::types::{Interval, IsoWeek};
    use std::collections::BTreeMap;

    fn name(s: &str) -> EventName {
        EventName::new(s).unwrap()
    }

    /// Four weeks of site volumes, with proxies made eligible by hand (a precision interval, no
    /// flag), so only the platform's counts decide.
    fn setup(site: &[(&str, u64)]) -> (Observations, Vec<ProxyEvidence>, AnalysisSettings) {
        let weeks: Vec<IsoWeek> = (43..=46).map(|w| IsoWeek::new(2026, w).unwrap()).collect();
        let rows = weeks
            .iter()
            .flat_map(|&week| {
                site.iter().map(move |(e, n)| Ga4Row {
                    week,
                    event: e.to_string(),
                    event_count: *n,
                    total_users: *n,
                    sessions: *n,
                })
            })
            .collect();
        let pull = Ga4Pull {
            property_id: "1".into(),
            weeks,
            rows,
            subject_to_thresholding: false,
            data_loss_from_other_row: false,
        };
        let spec = ObserveSpec {
            unit: UnitKind::Session,
            candidates: vec![name("add_to_cart"), name("add_payment_info")],
            purchase: name("purchase"),
            label_window_days: 7,
            session_gap_minutes: 30,
            lateness_minutes: 1440,
            time_zone: jiff::tz::TimeZone::UTC,
        };
        let obs = crate::source::ga4_api::observations(&pull, &spec);
        let a = AnalysisSettings {
            holdout_weeks: 1,
            confidence: 0.95,
            clearance_threshold: 0.8,
            volume_weeks: 4,
            surge_weeks: 2,
            alpha: 0.05,
            min_units: 30,
            confirm_weeks: 1,
        };
        let mut evidence = crate::evidence::measure(&obs, &a);
        // add_payment_info is the stronger signal: it would win wherever it is eligible.
        for (e, lo) in evidence.iter_mut().zip([0.10, 0.40]) {
            e.precision_ci = Some(Interval { lo, hi: lo + 0.1 });
            e.flags.clear();
        }
        (obs, evidence, a)
    }

    fn google_ads() -> PlatformSettings {
        PlatformSettings {
            profile: PlatformId::GoogleAds.profile(),
            ad_sets: 1,
            attributed_share: 1.0,
            optimizing_on: None,
        }
    }

    fn reported(counts: &[(&str, f64)]) -> ReportedCounts {
        ReportedCounts {
            platform: PlatformId::GoogleAds,
            units: 1,
            per_unit_weekly: counts
                .iter()
                .map(|(e, n)| (e.to_string(), vec![*n; 4]))
                .collect::<BTreeMap<_, _>>(),
            unreported: "not a conversion action in Google Ads".into(),
        }
    }

    fn check<'a>(r: &'a Recommendation, e: &str) -> &'a EventCheck {
        r.checks.iter().find(|c| c.event.as_str() == e).unwrap()
    }

    #[test]
    fn events_the_platform_does_not_count_are_not_eligible_on_it() {
        let (obs, ev, a) = setup(&[
            ("add_to_cart", 900),
            ("add_payment_info", 400),
            ("purchase", 2),
        ]);
        // Google Ads counts add_to_cart and purchase, but has no add_payment_info action: the
        // site-share estimate (400 a week) would clear and win on precision; it must not.
        let r = &recommend_reported(
            &obs,
            &ev,
            &[google_ads()],
            &a,
            &[reported(&[("add_to_cart", 30.0), ("purchase", 1.0)])],
        )[0];
        assert_eq!(r.event, Some(name("add_to_cart")), "{}", r.reason);
        let api = check(r, "add_payment_info");
        assert_eq!(
            api.excluded.as_deref(),
            Some("not a conversion action in Google Ads")
        );
        assert_eq!(api.basis, CountBasis::SiteShare);
        assert_eq!(check(r, "add_to_cart").basis, CountBasis::PlatformReported);
        assert_eq!(check(r, "add_to_cart").per_unit_weekly, 30.0);
        assert!(check(r, "purchase").excluded.is_none());
        assert!(r.runner_up.is_none());

        // Without platform counts, both are judged on site share and the stronger one wins.
        let r = &recommend_reported(&obs, &ev, &[google_ads()], &a, &[])[0];
        assert_eq!(r.event, Some(name("add_payment_info")));
        assert!(r.checks.iter().all(|c| c.basis == CountBasis::SiteShare));
        // A platform that reports no event at all is the same as no platform counts.
        let r = &recommend_reported(&obs, &ev, &[google_ads()], &a, &[reported(&[])])[0];
        assert_eq!(r.event, Some(name("add_payment_info")));
    }

    #[test]
    fn purchase_without_a_conversion_action_is_not_recommended() {
        // Site purchases alone would clear 15 per 30 days; Google Ads has no purchase action.
        let (obs, ev, a) = setup(&[
            ("add_to_cart", 900),
            ("add_payment_info", 400),
            ("purchase", 60),
        ]);
        let r = &recommend_reported(
            &obs,
            &ev,
            &[google_ads()],
            &a,
            &[reported(&[("add_to_cart", 30.0)])],
        )[0];
        let p = check(r, "purchase");
        assert!(p.clears && p.excluded.is_some());
        assert_eq!(r.event, Some(name("add_to_cart")), "{}", r.reason);
        assert!(
            r.reason
                .starts_with("purchase cannot be optimized on here (not a conversion action"),
            "{}",
            r.reason
        );
        assert!(r.unlock.is_none(), "no unlock towards an excluded purchase");
    }
}
