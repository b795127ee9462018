//! Changes of a platform's learning-phase rule between the previous stored week and this run.

use super::*;

/// A platform whose learning-phase rule differs from the one the previous stored week used.
#[derive(Debug, Clone, Serialize)]
pub struct RuleChange {
    /// The platform.
    pub platform: PlatformId,
    /// The stored previous week.
    pub since: IsoWeek,
    /// The rule that week used.
    pub previous: StoredRule,
    /// The rule this week used.
    pub current: StoredRule,
    /// One sentence for people.
    pub message: String,
}

/// Each platform whose floor rule this run (`current`) differs from the one recorded in the
/// previous stored week (another rule, number, window, unit or basis, or the same rule checked
/// on another date). Weeks stored before rules were recorded (version 2 and older) say nothing.
pub fn rule_changes(current: &[Recommendation], previous: Option<&StoredWeek>) -> Vec<RuleChange> {
    let Some(prev) = previous else {
        return Vec::new();
    };
    current
        .iter()
        .filter_map(|r| {
            let old = prev.recommendation(r.platform)?.rule.clone()?;
            let now = StoredRule::of(&r.floor);
            old.changed_to(&now).then(|| RuleChange {
                platform: r.platform,
                since: prev.week,
                message: rule_message(r.platform, &old, &now),
                previous: old,
                current: now,
            })
        })
        .collect()
}

/// "rule changed since last week: Meta floor 50 → 25 results in 7 days (source, checked date)".
pub(super) fn rule_message(platform: PlatformId, old: &StoredRule, now: &StoredRule) -> String {
    let n = |x: f64| crate::format::amount(x);
    let what = if old.days == now.days && old.events != now.events {
        format!(
            "{} → {} results in {} days",
            n(old.events),
            n(now.events),
            now.days
        )
    } else if old.events != now.events || old.days != now.days {
        format!(
            "{} results in {} days → {} in {} days",
            n(old.events),
            old.days,
            n(now.events),
            now.days
        )
    } else {
        format!("{} results in {} days", n(now.events), now.days)
    };
    let mut also = Vec::new();
    if old.unit != now.unit {
        also.push(format!(
            "per {} (was per {})",
            now.unit.noun(1.0),
            old.unit.noun(1.0)
        ));
    }
    if old.basis != now.basis {
        also.push(format!(
            "{} (was {})",
            basis_name(now.basis),
            basis_name(old.basis)
        ));
    }
    if old.id != now.id {
        let id = |i: &Option<String>| i.clone().unwrap_or_else(|| "configured".into());
        also.push(format!("rule {} (was {})", id(&now.id), id(&old.id)));
    }
    let also = if also.is_empty() {
        String::new()
    } else {
        format!(", {}", also.join(", "))
    };
    let checked = match (&old.checked, &now.checked) {
        (Some(a), Some(b)) if a != b => format!("checked {b}, was {a}"),
        (_, Some(b)) => format!("checked {b}"),
        _ => "not dated".into(),
    };
    let source = now.url.as_deref().unwrap_or("configured");
    format!(
        "rule changed since last week: {} floor {what}{also} ({source}, {checked})",
        platform.display_name()
    )
}

/// The rules file's word for a basis.
pub(super) fn basis_name(b: FloorBasis) -> &'static str {
    match b {
        FloorBasis::Official => "official",
        FloorBasis::Assumption => "assumption",
        FloorBasis::Configured => "configured",
    }
}
