//! The recommendation: which event each platform should optimize on, and why.
//!
//! This module gathers each event's floor check and segment-adjusted evidence, hands them to the
//! pure stage [`crate::core::recommend`] (objective, lift floor, clearance band, score margin),
//! and writes the outcome with its numbers for people. Rules (documented in
//! `docs/definitions.md`):
//! 1. For every event, the expected weekly volume per bidding unit is
//!    `site weekly events × attributed_share / ad_sets`, over the last `volume_weeks` complete
//!    weeks; its clearance is the probability that one floor window (7 or 30 days) reaches the
//!    floor, from a negative binomial fitted to the weekly counts (Poisson when not overdispersed).
//! 2. The best event maximizes `P(clear) × segment-adjusted precision` among eligible events
//!    that clear (`≥ clearance_threshold`; the standing event within the band below it) and are
//!    useful (purchase, or lift interval's lower bound ≥ 1.5). Purchase scores P(clear) × 1.
//! 3. "Unlock": for the next deeper useful event (or purchase) that does not clear, the most
//!    bidding units it would clear with, the volume multiple and the attributed share it needs.
//! 4. When nothing useful clears, say so and what would: fewer bidding units, more volume or
//!    share for the most attainable useful event, or a deeper or derived event of a given volume.
//! 5. Platform-reported counts (Meta per ad set, Google Ads per campaign) replace the site-share
//!    estimate for the events the platform counts, zeros included. When a platform counts any
//!    event, an event it does not count at all (no conversion action, no standard event) is not
//!    eligible on it, purchase included ([`ReportedCounts::unreported`] says why): it cannot be
//!    bid on until it is set up there, and a site-share guess is not comparable with the
//!    platform's own counts. One recommendation never mixes the two bases.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::flag::FlagKind;
use crate::core::recommend::{self as stage, Candidate, Choice, Exclusion, Params, Verdict};
use crate::core::standardize::{standardize, Segment, Standardized};
use crate::evidence::AnalysisSettings;
use crate::evidence::ProxyEvidence;
use crate::format::{amount, percent};
use crate::observe::Observations;
use crate::platform::{Floor, PlatformId, PlatformSettings};
use crate::stats::clearance::{clearance, max_units_that_clear, volume_multiple_needed};
use crate::stats::interval::z_quantile;
use crate::types::{EventName, Interval, Probability};

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
    pub per_unit_weekly: BTreeMap<String, Vec<f64>>,
    /// Why an event missing from `per_unit_weekly` is not eligible on this platform (`not a
    /// conversion action in Google Ads`); applies when `per_unit_weekly` is not empty.
    pub unreported: String,
    /// Spend of every (unit, week) cell, aligned with each event's `per_unit_weekly`; `None`
    /// when the source reported no spend.
    pub per_unit_weekly_spend: Option<Vec<f64>>,
    /// The account's currency (ISO 4217), when the source said.
    pub currency: Option<String>,
}

/// The budget and consolidation plan of one platform ([`crate::core::budget`]): per eligible
/// event, the cost per event, the daily budget per bidding unit that clears the floor, and the
/// merges of units that would.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetPlan {
    /// The currency of every amount (ISO 4217), when the platform said; amounts are in the ad
    /// account's currency either way.
    pub currency: Option<String>,
    /// The clearance threshold the budgets and merges are sized for.
    pub threshold: f64,
    /// One plan per eligible event, in the order of `checks`.
    pub events: Vec<crate::core::budget::EventPlan>,
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
    /// Whether it clears: at the threshold, or for the standing event within the band below it.
    pub clears: bool,
    /// Why it cannot be recommended, if it cannot (flags, platform support, no data).
    pub excluded: Option<String>,
    /// Segment-standardized precision (1 for purchase).
    pub precision_adjusted: Option<f64>,
    /// Segment-standardized lift (none for purchase).
    pub lift_adjusted: Option<f64>,
    /// Its interval; the lift floor applies to its lower bound.
    pub lift_adjusted_ci: Option<Interval>,
    /// Purchase, or the adjusted lift interval's lower bound reaches the lift floor.
    pub useful: bool,
    /// The objective: clearance × adjusted precision.
    pub score: f64,
    /// Why it cannot be recommended, as a reason code (for the hold stage).
    #[serde(skip)]
    pub exclusion: Option<Exclusion>,
    /// Trailing complete weeks whose counts look damaged by a tracking break (the proxy carries
    /// only `tracking_break` and fewer than `confirm_weeks` weeks are damaged): its clearance is
    /// then judged on the weeks before them, and a warning says so. 0 otherwise.
    pub tracking_suspect_weeks: u32,
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
    /// The attributed share it would need with today's bidding units (`None`: not even 100%,
    /// or the counts are the platform's own).
    pub share_needed: Option<f64>,
}

/// The recommendation for one platform.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// Platform id.
    pub platform: PlatformId,
    /// Recommended event; `None` when nothing useful clears.
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
    /// The recommend stage's reason code (`None` when the floor could not be checked).
    pub verdict: Option<Verdict>,
    /// The lift floor applied (lower bound of the adjusted lift interval).
    pub lift_floor: f64,
    /// Site events a week a deeper or derived event with lift ≥ the floor would need to clear
    /// with today's bidding units and share (when nothing useful clears).
    pub derived_weekly_needed: Option<f64>,
    /// Warnings of the hold stage (a standing event under tracking suspicion).
    pub warnings: Vec<Warning>,
    /// What budget or consolidation clears the floor, per eligible event (`None` when the floor
    /// could not be checked).
    pub budget: Option<BudgetPlan>,
}

/// A warning attached to a recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// The standing event carries `tracking_break`: it is kept, its counts are not trusted.
    TrackingSuspect {
        /// The event.
        event: EventName,
        /// Consecutive weeks flagged.
        weeks: u32,
        /// Weeks after which the break counts as lasting.
        confirm_weeks: u32,
    },
}

/// Weekly site counts (events) of an event over the last `volume_weeks` complete weeks; empty
/// when no week is complete (a partial week says nothing about a week's volume).
pub fn recent_weekly_counts(obs: &Observations, j: Option<usize>, volume_weeks: u32) -> Vec<f64> {
    let from = j.map_or(0, |j| usize::from(obs.measured_from(j)));
    let pool: Vec<usize> = (from..obs.weeks.len())
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

/// Segment-standardized precision and lift of every candidate (device × channel segments over
/// the measured weeks, [`Observations::measured_weeks`], [`crate::core::standardize`]), in
/// candidate order.
pub fn adjusted_evidence(obs: &Observations, confidence: f64) -> Vec<Option<Standardized>> {
    let z = z_quantile(confidence);
    let measured = obs.measured_weeks();
    (0..obs.candidates.len())
        .map(|j| {
            let bit = 1u32 << j;
            let from = obs.measured_from(j);
            let mut segs: BTreeMap<(u16, u16), Segment> = BTreeMap::new();
            let in_weeks =
                |p: &&crate::observe::Pattern| p.week >= from && measured.contains(&p.week);
            for p in obs.patterns.iter().filter(in_weeks) {
                let s = segs.entry((p.device, p.channel)).or_default();
                s.units += p.units;
                s.purchasers += p.purchasers;
                if p.mask & bit != 0 {
                    s.with += p.units;
                    s.with_purchasers += p.purchasers;
                }
            }
            let deff = crate::evidence::design_effects(obs, j)
                .map_or(1.0, |d| d.lift.unwrap_or(d.precision).max(1.0));
            standardize(&segs.into_values().collect::<Vec<_>>(), z, deff)
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
    recommend_standing(obs, evidence, platforms, a, reported, &BTreeMap::new())
}

/// [`recommend_reported`], knowing the event each platform was told to optimize on last week
/// (`standing`, from the model store): it keeps clearing within the clearance band and stays
/// best within the score margin.
pub fn recommend_standing(
    obs: &Observations,
    evidence: &[ProxyEvidence],
    platforms: &[PlatformSettings],
    a: &AnalysisSettings,
    reported: &[ReportedCounts],
    standing: &BTreeMap<PlatformId, EventName>,
) -> Vec<Recommendation> {
    let adjusted = adjusted_evidence(obs, a.confidence);
    let params = a.decision;
    platforms
        .iter()
        .map(|p| {
            let r = reported.iter().find(|r| r.platform == p.profile.id);
            let mut p = p.clone();
            if let Some(r) = r {
                p.ad_sets = r.units.max(1);
            }
            let ctx = Ctx {
                obs,
                evidence,
                adjusted: &adjusted,
                p: &p,
                a,
                reported: r,
                params,
                standing: standing.get(&p.profile.id),
            };
            recommend_one(&ctx)
        })
        .collect()
}

/// Everything one platform's recommendation is computed from.
struct Ctx<'a> {
    obs: &'a Observations,
    evidence: &'a [ProxyEvidence],
    adjusted: &'a [Option<Standardized>],
    p: &'a PlatformSettings,
    a: &'a AnalysisSettings,
    reported: Option<&'a ReportedCounts>,
    params: Params,
    standing: Option<&'a EventName>,
}

impl Ctx<'_> {
    fn thinning(&self) -> f64 {
        self.p.attributed_share / f64::from(self.p.ad_sets)
    }

    fn window(&self) -> f64 {
        f64::from(self.p.profile.floor.days)
    }

    /// Site counts of candidate `j` (`None`: purchase).
    fn counts(&self, j: Option<usize>) -> Vec<f64> {
        recent_weekly_counts(self.obs, j, self.a.volume_weeks)
    }

    /// The counts the floor check uses: for a tracking suspect, the `volume_weeks` complete weeks
    /// before its damaged ones.
    fn site_counts(&self, j: Option<usize>) -> Vec<f64> {
        let d = j.map_or(0, |j| self.suspect_weeks(j)) as usize;
        if d == 0 {
            return self.counts(j);
        }
        let all = recent_weekly_counts(self.obs, j, u32::MAX);
        let kept = &all[..all.len().saturating_sub(d)];
        kept[kept.len().saturating_sub(self.a.volume_weeks as usize)..].to_vec()
    }

    /// Rule 5: when the platform counts any event, the events it does not count are excluded.
    fn uncounted(&self, event: &EventName) -> Option<Exclusion> {
        let r = self.reported.filter(|r| !r.per_unit_weekly.is_empty())?;
        (!r.per_unit_weekly.contains_key(event.as_str()))
            .then(|| Exclusion::NotCounted(r.unreported.clone()))
    }

    fn exclusion(&self, j: usize) -> Option<Exclusion> {
        let e = &self.evidence[j];
        match self.obs.derived_of(j) {
            Some(_) if !self.p.profile.can_optimize_derived() => {
                return Some(Exclusion::NotOptimizable)
            }
            Some(d) if !d.selected_for.contains(&self.p.profile.id) => {
                return Some(Exclusion::NotPicked)
            }
            Some(_) => {}
            None if !self.p.profile.can_optimize(&e.event) => {
                return Some(Exclusion::NotOptimizable)
            }
            None => {}
        }
        if let Some(x) = self.uncounted(&e.event) {
            return Some(x);
        }
        if self.suspect_weeks(j) > 0 {
            return None;
        }
        e.is_disqualified()
            .then(|| Exclusion::Flagged(e.flags.iter().map(|f| f.kind).collect()))
    }

    /// When `tracking_break` is the proxy's only flag and fewer than `confirm_weeks` trailing
    /// weeks are damaged ([`damaged_weeks`]), their number: the proxy stays eligible on its
    /// counts from before them (the recommendation does not move on damaged counts). 0 otherwise.
    fn suspect_weeks(&self, j: usize) -> u32 {
        let e = &self.evidence[j];
        let only_tracking = e.flags.iter().all(|f| f.kind == FlagKind::TrackingBreak);
        if !e.has(FlagKind::TrackingBreak) || !only_tracking {
            return 0;
        }
        let d = damaged_weeks(self.obs, j, self.a.surge_weeks).max(1);
        if d >= self.a.confirm_weeks.max(1) {
            0
        } else {
            d
        }
    }

    /// The floor check and the stage's candidate of one event (`j = None`: purchase).
    fn check(&self, j: Option<usize>, exclusion: Option<Exclusion>) -> (EventCheck, Candidate) {
        let event = j.map_or(&self.obs.purchase, |j| &self.evidence[j].event);
        let floor = &self.p.profile.floor;
        let own = self
            .reported
            .and_then(|r| r.per_unit_weekly.get(event.as_str()))
            .filter(|c| !c.is_empty());
        let (basis, c) = match own {
            Some(own) => (
                CountBasis::PlatformReported,
                clearance(own, 1.0, self.window(), floor.events),
            ),
            None => (
                CountBasis::SiteShare,
                clearance(
                    &self.site_counts(j),
                    self.thinning(),
                    self.window(),
                    floor.events,
                ),
            ),
        };
        let (wk, win, prob) = c.map_or((0.0, 0.0, Probability::clamped(0.0)), |c| {
            (c.per_unit_mean_week, c.per_unit_mean_window, c.probability)
        });
        // Segment-adjusted where the units have segments to adjust over; pooled otherwise.
        let adj = j.and_then(|j| self.adjusted.get(j).copied().flatten());
        let pooled = j.map(|j| &self.evidence[j]);
        let cand = Candidate {
            event: event.clone(),
            depth: event.funnel_depth(),
            is_purchase: j.is_none(),
            clearance: prob,
            precision: match pooled {
                None => Some(1.0),
                Some(e) => adj.map(|s| s.precision).or(e.precision),
            },
            lift_ci: adj.map(|s| s.lift_ci).or(pooled.and_then(|e| e.lift_ci)),
            exclusion,
            derived: j.is_some_and(|j| self.obs.derived_of(j).is_some()),
        };
        let a = stage::assess(&cand, self.standing, &self.params);
        let check = EventCheck {
            basis,
            event: event.clone(),
            per_unit_weekly: wk,
            per_unit_window: win,
            clearance: prob.get(),
            clears: a.clears,
            excluded: cand
                .exclusion
                .as_ref()
                .map(|x| self.exclusion_text(x, event)),
            precision_adjusted: cand.precision,
            lift_adjusted: adj.map(|s| s.lift).or(pooled.and_then(|e| e.lift)),
            lift_adjusted_ci: cand.lift_ci,
            useful: a.useful,
            score: a.score,
            exclusion: cand.exclusion.clone(),
            tracking_suspect_weeks: j.map_or(0, |j| self.suspect_weeks(j)),
        };
        (check, cand)
    }

    fn exclusion_text(&self, x: &Exclusion, event: &EventName) -> String {
        match x {
            Exclusion::NotOptimizable => format!(
                "{} cannot optimize on {event}",
                self.p.profile.id.display_name()
            ),
            Exclusion::NotCounted(why) => why.clone(),
            Exclusion::NotPicked => {
                "another point of its derived family was picked for this platform on the search weeks".into()
            }
            Exclusion::Flagged(kinds) => {
                let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                format!("flagged {}", names.join(", "))
            }
        }
    }

    /// The floor checks and candidates of purchase (index 0) and every proxy (index j + 1).
    fn candidates(&self) -> (Vec<EventCheck>, Vec<Candidate>) {
        let purchase = self.check(None, self.uncounted(&self.obs.purchase));
        let proxies = (0..self.evidence.len()).map(|j| self.check(Some(j), self.exclusion(j)));
        std::iter::once(purchase).chain(proxies).unzip()
    }

    /// Site counts behind candidate index `i` (0: purchase).
    fn counts_of(&self, i: usize) -> Vec<f64> {
        self.site_counts(i.checked_sub(1))
    }

    /// What would let candidate `i` clear: fewer bidding units, more volume, more share.
    fn unlock(&self, i: usize, checks: &[EventCheck]) -> Unlock {
        let counts = self.counts_of(i);
        let (floor, t) = (&self.p.profile.floor, self.params.threshold());
        let share_needed = (checks[i].basis == CountBasis::SiteShare)
            .then(|| share_needed(&counts, self.p.ad_sets, self.window(), floor.events, t))
            .flatten();
        Unlock {
            event: checks[i].event.clone(),
            max_ad_sets: max_units_that_clear(
                &counts,
                self.p.attributed_share,
                self.window(),
                floor.events,
                t,
                self.p.ad_sets,
            ),
            volume_multiple: volume_multiple_needed(
                &counts,
                self.thinning(),
                self.window(),
                floor.events,
                t,
            ),
            share_needed,
        }
    }

    /// The budget and consolidation plan of every eligible event (index 0 of `checks` is
    /// purchase, index `j + 1` proxy `j`), on the same counts as its floor check.
    fn budget(&self, checks: &[EventCheck]) -> BudgetPlan {
        use crate::core::budget::{plan, Counts, PlanParams};
        let floor = &self.p.profile.floor;
        let t = self.params.threshold();
        let params = PlanParams::new(
            floor.events,
            self.window(),
            Probability::clamped(t),
            self.p.ad_sets.max(1),
        );
        let spend = self
            .reported
            .and_then(|r| r.per_unit_weekly_spend.as_deref());
        let mut events = Vec::new();
        for (i, c) in checks.iter().enumerate() {
            let Ok(params) = &params else { break };
            if c.excluded.is_some() {
                continue;
            }
            let site = self.site_counts(i.checked_sub(1));
            let own = self
                .reported
                .and_then(|r| r.per_unit_weekly.get(c.event.as_str()))
                .filter(|v| c.basis == CountBasis::PlatformReported && !v.is_empty());
            let counts = match own {
                Some(v) => Counts::Reported {
                    per_unit: v,
                    spend: spend.filter(|s| s.len() == v.len()),
                },
                None => Counts::SiteShare {
                    site: &site,
                    share: self.p.attributed_share,
                },
            };
            if let Ok(p) = plan(c.event.clone(), counts, params) {
                events.push(p);
            }
        }
        BudgetPlan {
            currency: self.reported.and_then(|r| r.currency.clone()),
            threshold: t,
            events,
        }
    }

    /// Site events a week that a steady (Poisson) event needs to clear on this platform.
    fn derived_weekly_needed(&self) -> Option<f64> {
        let floor = &self.p.profile.floor;
        volume_multiple_needed(
            &[10.0; 4],
            self.thinning(),
            self.window(),
            floor.events,
            self.params.threshold(),
        )
        .map(|m| (m * 10.0).ceil())
    }
}

/// Trailing complete weeks (at most `recent`) in which candidate `j`'s units per purchasing unit
/// fell below half of its ratio over the complete weeks before the last `recent`: the weeks a
/// tracking break damaged.
pub fn damaged_weeks(obs: &Observations, j: usize, recent: u32) -> u32 {
    let weeks: Vec<_> = obs.weeks.iter().filter(|w| w.complete).collect();
    let r = (recent as usize).min(weeks.len().saturating_sub(1));
    let (base, tail) = weeks.split_at(weeks.len() - r);
    let (x, p) = base.iter().fold((0u64, 0u64), |(x, p), w| {
        (x + w.candidates[j].units, p + w.purchase.units)
    });
    if x == 0 || p == 0 {
        return 0;
    }
    let ratio = x as f64 / p as f64;
    tail.iter()
        .rev()
        .take_while(|w| {
            w.purchase.units > 0
                && (w.candidates[j].units as f64 / w.purchase.units as f64) < 0.5 * ratio
        })
        .count() as u32
}

/// The smallest attributed share in (0, 1] with which `counts` would clear across `units`
/// bidding units (bisection to 0.5 percentage points); `None` when even 100% would not.
fn share_needed(
    counts: &[f64],
    units: u32,
    window: f64,
    floor: f64,
    threshold: f64,
) -> Option<f64> {
    let clears = |s: f64| {
        clearance(counts, s / f64::from(units.max(1)), window, floor)
            .is_some_and(|c| c.probability.get() >= threshold)
    };
    if !clears(1.0) {
        return None;
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while hi - lo > 0.005 {
        let mid = 0.5 * (lo + hi);
        if clears(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some((hi * 200.0).ceil() / 200.0)
}

fn recommend_one(ctx: &Ctx) -> Recommendation {
    let p = ctx.p;
    let mut rec = Recommendation {
        platform: p.profile.id,
        event: None,
        runner_up: None,
        per_unit_weekly: None,
        floor: p.profile.floor.clone(),
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
        verdict: None,
        lift_floor: ctx.params.lift_floor(),
        derived_weekly_needed: None,
        warnings: Vec::new(),
        budget: None,
    };
    if ctx.counts(None).is_empty() {
        let hours = (ctx.obs.span_micros.1 - ctx.obs.span_micros.0) as f64 / 3.6e9;
        rec.reason = format!(
            "Cannot check the learning-phase floor: the data cover no complete ISO week ({hours:.1} hours in all). Give at least one complete week, ideally {}.",
            ctx.a.volume_weeks
        );
        return rec;
    }
    let (checks, cands) = ctx.candidates();
    let choice = stage::recommend(&cands, ctx.standing, &ctx.params);
    rec.verdict = Some(choice.verdict);
    if let Some(b) = choice.best {
        rec.event = Some(checks[b].event.clone());
        rec.per_unit_weekly = Some(checks[b].per_unit_weekly);
        rec.clearance = Some(checks[b].clearance);
        rec.runner_up = choice.runner_up.map(|i| checks[i].event.clone());
        rec.unlock = unlock_target(&cands, &choice, b).map(|i| ctx.unlock(i, &checks));
    } else {
        rec.unlock = attainable(&cands, &choice, &checks).map(|i| ctx.unlock(i, &checks));
        rec.derived_weekly_needed = ctx.derived_weekly_needed();
    }
    if let Some(c) = choice
        .best
        .map(|b| &checks[b])
        .filter(|c| c.tracking_suspect_weeks > 0)
    {
        rec.warnings.push(Warning::TrackingSuspect {
            event: c.event.clone(),
            weeks: c.tracking_suspect_weeks,
            confirm_weeks: ctx.a.confirm_weeks,
        });
    }
    rec.reason = explain::reason(ctx, &rec, &checks, &choice);
    rec.change_needed = match (&rec.optimizing_on, &rec.event) {
        (Some(today), Some(rec_ev)) => Some(today != rec_ev),
        (Some(_), None) => Some(true),
        _ => None,
    };
    rec.budget = Some(ctx.budget(&checks));
    rec.checks = checks;
    rec.best = rec.event.clone();
    rec
}

/// The next deeper useful eligible event than `b` that does not clear: the shallowest such proxy,
/// else purchase; `None` when `b` is purchase or purchase is excluded and no proxy qualifies.
fn unlock_target(cands: &[Candidate], choice: &Choice, b: usize) -> Option<usize> {
    if cands[b].is_purchase {
        return None;
    }
    let open = |i: usize| cands[i].exclusion.is_none() && !choice.assessed[i].clears;
    (1..cands.len())
        .filter(|&i| open(i) && choice.assessed[i].useful && cands[i].depth > cands[b].depth)
        .min_by_key(|&i| cands[i].depth)
        .or_else(|| open(0).then_some(0))
}

/// When nothing useful clears: the most attainable useful eligible proxy (the most volume per
/// bidding unit), else purchase when eligible.
fn attainable(cands: &[Candidate], choice: &Choice, checks: &[EventCheck]) -> Option<usize> {
    (1..cands.len())
        .filter(|&i| cands[i].exclusion.is_none() && choice.assessed[i].useful)
        .max_by(|&x, &y| {
            checks[x]
                .per_unit_weekly
                .total_cmp(&checks[y].per_unit_weekly)
        })
        .or_else(|| cands[0].exclusion.is_none().then_some(0))
}

/// The recommendation's sentences for people, from the stage's reason codes.
mod explain;

#[cfg(test)]
mod tests;
