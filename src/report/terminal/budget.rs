//! BUDGET AND CONSOLIDATION: per platform and eligible event, the cost per event, the daily
//! budget per bidding unit that clears the floor, and the merge of units that would
//! ([`crate::core::budget`]); what is missing when the platform gave no spend.

use super::layout::escape;
use super::Style;
use crate::advise::{BudgetPlan, Recommendation};
use crate::core::budget::{Budget, EventPlan, Missing};
use crate::format::percent;
use crate::platform::BiddingUnit;

/// What a missing figure means, for people.
fn missing_text(m: Missing, platform: &str) -> String {
    match m {
        Missing::NoSpendSource => format!(
            "no spend: these counts come from the site (event log or GA4), which carries no ad spend, so no cost per event or budget is computed; {}",
            match platform {
                "Meta" => "configure [meta] (Marketing API insights) to price the floor",
                "Google Ads" => "configure [google_ads] (cost_micros) to price the floor",
                _ => "optsignal reads spend from the Meta and Google Ads APIs only",
            }
        ),
        Missing::SpendNotReported => format!("{platform} reported no spend for these units, so no cost per event or budget is computed"),
        Missing::NoEvents => format!("{platform} counted none in the weeks pulled: no cost per event"),
    }
}

/// The missing figure every event of the plan shares, if they all share one.
fn common_missing(plan: &BudgetPlan) -> Option<Missing> {
    let mut m = plan.events.iter().map(|e| match e.budget {
        Budget::Unpriced { missing } => Some(missing),
        _ => None,
    });
    let first = m.next()??;
    m.all(|x| x == Some(first)).then_some(first)
}

/// Money, two decimals.
fn money(x: f64) -> String {
    format!("{x:.2}")
}

/// The priced half of an event's line (`None` when the header already says it is unpriced).
fn price(
    e: &EventPlan,
    unit: BiddingUnit,
    platform: &str,
    common: Option<Missing>,
) -> Option<String> {
    let cpe = e
        .cost_per_event
        .map(|c| format!("{} per event; ", money(c)))
        .unwrap_or_default();
    match e.budget {
        Budget::Clears {
            daily_per_unit,
            multiple,
            probability,
        } => Some(format!(
            "{cpe}{}/day per {} clears {} of windows (today {}/day, {:.2}×)",
            money(daily_per_unit),
            unit.noun(1.0),
            percent(probability),
            e.daily_spend_per_unit.map_or("–".into(), money),
            multiple
        )),
        Budget::BeyondRange { max_multiple } => Some(format!(
            "{cpe}even {max_multiple:.0}× today's budget does not clear"
        )),
        Budget::Unpriced { missing } if Some(missing) != common => {
            Some(missing_text(missing, platform))
        }
        Budget::Unpriced { .. } => None,
    }
}

/// The consolidation half of an event's line.
fn merges(e: &EventPlan, unit: BiddingUnit, threshold: f64) -> String {
    let n = e.consolidations.first().map_or(1, |m| m.of);
    if e.probability_today >= threshold {
        return format!(
            "clears today with {n} {} ({})",
            unit.noun(f64::from(n)),
            percent(e.probability_today)
        );
    }
    let today = format!("clears {} of windows today", percent(e.probability_today));
    match (e.merge_to_clear, e.consolidations.last()) {
        (Some(k), _) => {
            let p = e
                .consolidations
                .iter()
                .find(|m| m.merge == k)
                .map(|m| format!(" ({})", percent(m.probability)))
                .unwrap_or_default();
            format!(
                "{today}; merge {k} of {n} {} into 1 to clear{p}, leaving {} {}",
                unit.noun(f64::from(n)),
                n - k + 1,
                unit.noun(f64::from(n - k + 1))
            )
        }
        (None, Some(last)) if n > 1 => format!(
            "{today}; even merging {} of {n} {} into 1 clears {}: no merge clears",
            last.merge,
            unit.noun(f64::from(n)),
            percent(last.probability)
        ),
        _ => format!("{today}; one {}, nothing to merge", unit.noun(1.0)),
    }
}

/// One platform's lines.
fn platform(o: &mut String, rec: &Recommendation, plan: &BudgetPlan, style: Style) {
    let name = rec.platform.display_name();
    let unit = rec.floor.unit;
    let common = common_missing(plan);
    let mut head = format!(
        "{} ({} {}{})",
        style.bold(name),
        rec.ad_sets,
        unit.noun(f64::from(rec.ad_sets)),
        plan.currency
            .as_ref()
            .map(|c| format!(", amounts in {}", escape(c)))
            .unwrap_or_default()
    );
    if let Some(m) = common {
        head.push_str(&format!(": {}", missing_text(m, name)));
    }
    if plan.events.is_empty() {
        head.push_str(": no eligible event");
    }
    style.line(o, "  ", "      ", &head);
    for e in &plan.events {
        let mut parts = vec![];
        if let Some(p) = price(e, unit, name, common) {
            parts.push(p);
        }
        parts.push(merges(e, unit, plan.threshold));
        let text = format!("{}: {}", escape(e.event.as_str()), parts.join("; "));
        style.line(o, "    ", "      ", &text);
    }
}

/// BUDGET AND CONSOLIDATION, after the flags.
pub fn section(o: &mut String, recs: &[Recommendation], style: Style) {
    let plans: Vec<(&Recommendation, &BudgetPlan)> = recs
        .iter()
        .filter_map(|r| r.budget.as_ref().map(|b| (r, b)))
        .collect();
    let Some(t) = plans.first().map(|(_, p)| p.threshold) else {
        return;
    };
    style.title(
        o,
        &format!(
            "BUDGET AND CONSOLIDATION (to clear {} of floor windows; budgets assume events grow with spend at today's cost per event)",
            percent(t)
        ),
    );
    for (rec, plan) in plans {
        platform(o, rec, plan, style);
    }
}
