//! Validation of `[analysis]` (definitions and thresholds), `[[platforms]]` (with the rules
//! their floors come from) and `[funnel]`. Every problem is collected into the [`Check`].

use jiff::tz::TimeZone;

use super::{
    AnalysisSettings, Check, PlatformSettings, RawAnalysis, RawConfig, DEFAULT_CANDIDATES,
    DEFAULT_FUNNEL_STEPS, DEFAULT_HOUSEKEEPING, DEFAULT_LATENESS_MINUTES, MAX_DAYS,
    MAX_GAP_MINUTES, MAX_LATENESS_MINUTES, MAX_WEEKS,
};
use crate::core::flag::EffectSizes;
use crate::core::recommend;
use crate::observe::{DiscoverSpec, ObserveSpec, UnitKind, MAX_CANDIDATES};
use crate::platform::{FloorBasis, PlatformId};
use crate::types::{EventName, Probability};

/// Validates `[analysis]`: how units, features and labels are formed, and the thresholds.
pub(super) fn analysis(c: &mut Check<'_>, a: &RawAnalysis) -> (ObserveSpec, AnalysisSettings) {
    let tz_name = a.time_zone.clone().unwrap_or_else(|| "UTC".into());
    let time_zone = TimeZone::get(&tz_name).unwrap_or_else(|e| {
        c.err(
            "analysis.time_zone",
            format!("{tz_name:?} is not an IANA time zone ({e})"),
        );
        TimeZone::UTC
    });
    let purchase = c
        .event(
            "analysis.purchase_event",
            a.purchase_event.as_deref().unwrap_or("purchase"),
        )
        .unwrap_or_else(|| EventName::new("purchase").expect("non-empty"));
    let mut candidates = candidates(c, a, &purchase);
    let derived = super::derived::with_bases(c, a.derived.as_deref(), &purchase, &mut candidates);
    let confidence = c.fraction("analysis.confidence", a.confidence.unwrap_or(0.95));
    let clearance_threshold = c.fraction(
        "analysis.clearance_threshold",
        a.clearance_threshold.unwrap_or(0.8),
    );
    let alpha = c.fraction("analysis.alpha", a.alpha.unwrap_or(0.05));
    let mut within = |key: &str, v: Option<u32>, dflt: u32, lo: u32, hi: u32, what: &str| {
        c.within(key, v.unwrap_or(dflt), lo, hi, what)
    };
    let label_window_days = within(
        "analysis.label_window_days",
        a.label_window_days,
        7,
        1,
        MAX_DAYS,
        "days",
    );
    let session_gap_minutes = within(
        "analysis.session_gap_minutes",
        a.session_gap_minutes,
        30,
        1,
        MAX_GAP_MINUTES,
        "minutes",
    );
    let lateness_minutes = within(
        "analysis.lateness_minutes",
        a.lateness_minutes,
        DEFAULT_LATENESS_MINUTES,
        0,
        MAX_LATENESS_MINUTES,
        "minutes",
    );
    let weeks = "weeks";
    let holdout_weeks = within(
        "analysis.holdout_weeks",
        a.holdout_weeks,
        1,
        0,
        MAX_WEEKS,
        weeks,
    );
    let volume_weeks = within(
        "analysis.volume_weeks",
        a.volume_weeks,
        4,
        1,
        MAX_WEEKS,
        weeks,
    );
    let surge_weeks = within(
        "analysis.surge_weeks",
        a.surge_weeks,
        2,
        1,
        MAX_WEEKS,
        weeks,
    );
    let confirm_weeks = within(
        "analysis.confirm_weeks",
        a.confirm_weeks,
        2,
        1,
        MAX_WEEKS,
        "weeks (1 switches as soon as another event leads)",
    );
    let min_days = within("analysis.min_week_days", a.min_week_days, 6, 1, 7, "days") as u8;
    let coverage = crate::core::coverage::CoverageParams {
        min_days,
        min_share: c.fraction("analysis.min_week_share", a.min_week_share.unwrap_or(0.2)),
        ..crate::core::coverage::CoverageParams::default()
    };
    let observe = ObserveSpec {
        unit: a.unit.unwrap_or(UnitKind::Session),
        candidates,
        purchase,
        label_window_days,
        session_gap_minutes,
        time_zone,
        lateness_minutes,
        coverage,
        discover: discover(c, a),
        derived,
    };
    let decision = decision(c, a, clearance_threshold);
    let effects = effects(c, a);
    let settings = AnalysisSettings {
        holdout_weeks,
        confidence,
        clearance_threshold,
        volume_weeks,
        surge_weeks,
        alpha,
        min_units: a.min_units.unwrap_or(30),
        confirm_weeks,
        decision,
        effects,
    };
    (observe, settings)
}

/// `analysis.lift_floor`, `clearance_margin` and `score_margin`, checked by the stage itself.
fn decision(c: &mut Check<'_>, a: &RawAnalysis, threshold: f64) -> recommend::Params {
    let threshold = Probability::clamped(threshold);
    let dflt = recommend::Params::with_threshold(threshold);
    let lift_floor = a.lift_floor.unwrap_or(recommend::LIFT_FLOOR);
    let margin = a.clearance_margin.unwrap_or(dflt.margin().get());
    let score_margin = a.score_margin.unwrap_or(recommend::SCORE_MARGIN);
    let Some(margin_p) = Probability::new(margin).filter(|m| m.get() <= threshold.get()) else {
        c.err(
            "analysis.clearance_margin",
            format!(
                "{margin} must be from 0 to analysis.clearance_threshold ({})",
                threshold.get()
            ),
        );
        return dflt;
    };
    match recommend::Params::new(lift_floor, threshold, margin_p, score_margin) {
        Ok(p) => p,
        Err(e) => {
            let key = match e {
                recommend::ParamError::LiftFloor(_) => "analysis.lift_floor",
                recommend::ParamError::Margin { .. } => "analysis.clearance_margin",
                recommend::ParamError::ScoreMargin(_) => "analysis.score_margin",
            };
            c.err(key, e.to_string());
            dflt
        }
    }
}

/// The drift flags' effect sizes: a surge ratio above 1, precision and break ratios in (0, 1).
fn effects(c: &mut Check<'_>, a: &RawAnalysis) -> EffectSizes {
    let d = EffectSizes::default();
    let min_surge_ratio = a.surge_share_ratio.unwrap_or(d.min_surge_ratio);
    if !(min_surge_ratio.is_finite() && min_surge_ratio > 1.0) {
        c.err(
            "analysis.surge_share_ratio",
            format!("{min_surge_ratio} must be a number above 1"),
        );
    }
    let max_precision_ratio = c.fraction(
        "analysis.surge_precision_ratio",
        a.surge_precision_ratio.unwrap_or(d.max_precision_ratio),
    );
    let max_break_ratio = c.fraction(
        "analysis.break_share_ratio",
        a.break_share_ratio.unwrap_or(d.max_break_ratio),
    );
    EffectSizes {
        min_surge_ratio,
        max_precision_ratio,
        max_break_ratio,
    }
}

/// Discovery (when `analysis.candidates` is not set): `analysis.housekeeping_events` (default
/// [`DEFAULT_HOUSEKEEPING`]) and `analysis.discover_min_units` (default 30, at least 1).
fn discover(c: &mut Check<'_>, a: &RawAnalysis) -> Option<DiscoverSpec> {
    if a.candidates.is_some() {
        for key in [
            (
                "analysis.discover_min_units",
                a.discover_min_units.is_some(),
            ),
            (
                "analysis.housekeeping_events",
                a.housekeeping_events.is_some(),
            ),
        ]
        .iter()
        .filter(|k| k.1)
        {
            c.err(
                key.0,
                "only applies when candidates are discovered: remove it or analysis.candidates",
            );
        }
        return None;
    }
    let names: Vec<String> = match &a.housekeeping_events {
        Some(list) => list.clone(),
        None => DEFAULT_HOUSEKEEPING.iter().map(|s| s.to_string()).collect(),
    };
    let housekeeping = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| c.event(&format!("analysis.housekeeping_events[{i}]"), n))
        .collect();
    let min_units = a.discover_min_units.unwrap_or(30);
    if min_units == 0 {
        c.err("analysis.discover_min_units", "must be at least 1");
    }
    Some(DiscoverSpec {
        housekeeping,
        min_units: min_units.max(1),
    })
}

/// `analysis.candidates` (default [`DEFAULT_CANDIDATES`] as seeds of discovery): distinct, not the purchase event,
/// 1 to [`MAX_CANDIDATES`].
fn candidates(c: &mut Check<'_>, a: &RawAnalysis, purchase: &EventName) -> Vec<EventName> {
    let names: Vec<String> = match &a.candidates {
        Some(list) => list.clone(),
        None => DEFAULT_CANDIDATES.iter().map(|s| s.to_string()).collect(),
    };
    let mut candidates: Vec<EventName> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let key = format!("analysis.candidates[{i}]");
        let Some(e) = c.event(&key, n) else { continue };
        if &e == purchase {
            c.err(&key, "the purchase event cannot be its own proxy");
        } else if !candidates.contains(&e) {
            candidates.push(e);
        }
    }
    if candidates.is_empty() || candidates.len() > MAX_CANDIDATES {
        c.err(
            "analysis.candidates",
            format!("give 1 to {MAX_CANDIDATES} candidate events"),
        );
    }
    candidates
}

/// Validates `[[rule]]` and `[[platforms]]`; with `require_platforms`, at least one platform.
pub(super) fn platforms(
    c: &mut Check<'_>,
    raw: &RawConfig,
    require_platforms: bool,
) -> Vec<PlatformSettings> {
    let user_rules = crate::platform::Rules {
        rule: raw.rule.clone(),
    };
    if let Err(e) = user_rules.check("rule") {
        c.err("rule", e);
    }
    let rules = crate::platform::Rules::builtin().merged(&raw.rule);
    let mut platforms: Vec<PlatformSettings> = Vec::new();
    for (i, p) in raw.platforms.iter().enumerate() {
        let key = |k: &str| format!("platforms[{i}].{k}");
        let id: PlatformId = match p.id.parse() {
            Ok(id) => id,
            Err(e) => {
                c.err(key("id"), e);
                continue;
            }
        };
        let mut profile = match rules.floor(id, p.rule.as_deref()) {
            Some(r) => id.profile_with(Some(r.floor())),
            None => {
                let known: Vec<&str> = rules
                    .rule
                    .iter()
                    .filter(|r| r.platform == id)
                    .map(|r| r.id.as_str())
                    .collect();
                c.err(
                    key("rule"),
                    format!(
                        "no rule {:?} for {id}; known: {}",
                        p.rule.as_deref().unwrap_or(""),
                        known.join(", ")
                    ),
                );
                id.profile()
            }
        };
        if let Some(ev) = p.floor_events {
            if !(ev.is_finite() && ev > 0.0) {
                c.err(
                    key("floor_events"),
                    format!("{ev} must be a positive number of events"),
                );
            }
            profile.floor.events = ev;
            profile.floor.basis = FloorBasis::Configured;
        }
        if let Some(days) = p.floor_days {
            profile.floor.days = c.within(&key("floor_days"), days, 1, MAX_DAYS, "days");
            profile.floor.basis = FloorBasis::Configured;
        }
        if let Some(list) = &p.optimizable {
            let v = list
                .iter()
                .enumerate()
                .filter_map(|(j, n)| c.event(&key(&format!("optimizable[{j}]")), n))
                .collect();
            profile.optimizable = Some(v);
        }
        let ad_sets = p.ad_sets.unwrap_or(1);
        if ad_sets == 0 {
            c.err(
                key("ad_sets"),
                "must be at least 1 (bidding units sharing the events)",
            );
        }
        let share = p.attributed_share.unwrap_or(1.0);
        if !(share > 0.0 && share <= 1.0) {
            c.err(
                key("attributed_share"),
                format!("{share} must be in (0, 1]: the share of site events the platform sees"),
            );
        }
        let optimizing_on = p
            .optimizing_on
            .as_ref()
            .and_then(|n| c.event(&key("optimizing_on"), n));
        if platforms.iter().any(|q| q.profile.id == id) {
            c.err(key("id"), format!("{id} is listed twice"));
        }
        platforms.push(PlatformSettings {
            profile,
            ad_sets,
            attributed_share: share,
            optimizing_on,
        });
    }
    if raw.platforms.is_empty() && require_platforms {
        c.err(
            "platforms",
            "name at least one platform ([[platforms]] id = \"meta\", or --platform meta)",
        );
    }
    platforms
}

/// `[funnel] steps` (default [`DEFAULT_FUNNEL_STEPS`]): 2 to 16 distinct events.
pub(super) fn funnel_steps(c: &mut Check<'_>, raw: &RawConfig) -> Vec<EventName> {
    let step_names: Vec<String> = match &raw.funnel.steps {
        Some(v) => v.clone(),
        None => DEFAULT_FUNNEL_STEPS.iter().map(|s| s.to_string()).collect(),
    };
    let mut funnel_steps: Vec<EventName> = Vec::new();
    for (i, n) in step_names.iter().enumerate() {
        let key = format!("funnel.steps[{i}]");
        let Some(e) = c.event(&key, n) else { continue };
        if funnel_steps.contains(&e) {
            c.err(&key, format!("{e} is listed twice"));
        } else {
            funnel_steps.push(e);
        }
    }
    if funnel_steps.len() < 2 || funnel_steps.len() > 16 {
        c.err("funnel.steps", "give 2 to 16 steps");
    }
    funnel_steps
}
