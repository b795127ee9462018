//! The findings of one account's report that alerts can carry: proxy flags (a broken proxy, a
//! tracking break) and recommendation changes, each with a stable id, so that "once per
//! account, week and finding" means the same finding on every run.

use serde::Serialize;

use crate::config::alerts::FindingKind;
use crate::flags::FlagKind;
use crate::history::RecommendationStatus;
use crate::report::Report;

/// One finding of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id within an account and week: `broken_surge sign_up`,
    /// `recommendation_change meta add_to_cart`.
    pub id: String,
    /// The finding's kind name (`broken_surge`, `tracking_break`, `recommendation_change`).
    pub kind: &'static str,
    /// The event it is about: the flagged proxy, or the newly recommended event.
    pub event: Option<String>,
    /// The platform (id), for a recommendation change.
    pub platform: Option<String>,
    /// The event optimized on today or recommended last week, for a recommendation change.
    pub previous: Option<String>,
    /// One sentence for people, with the key numbers.
    pub message: String,
    /// More for people: the recommendation's reasoning, for a recommendation change.
    pub detail: Option<String>,
    /// Which target filter it answers to.
    #[serde(skip)]
    pub what: FindingKind,
}

/// Most severe first: tracking breaks and surges before weak proxies, then recommendation
/// changes; the first finding is the headline.
fn rank(k: FindingKind) -> u8 {
    match k {
        FindingKind::Flag(FlagKind::TrackingBreak) => 0,
        FindingKind::Flag(FlagKind::BrokenSurge) => 1,
        FindingKind::Flag(FlagKind::Leaky) => 2,
        FindingKind::Flag(FlagKind::NotPredictive) => 3,
        FindingKind::RecommendationChange => 4,
        FindingKind::Flag(FlagKind::InsufficientData) => 5,
    }
}

/// Every finding of the report, most severe first (report order within a kind).
pub fn findings(report: &Report) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for p in &report.proxies {
        for f in &p.flags {
            out.push(Finding {
                id: format!("{} {}", f.kind.name(), p.event),
                kind: f.kind.name(),
                event: Some(p.event.to_string()),
                platform: None,
                previous: None,
                message: format!("{} {}: {}", p.event, f.kind.name(), f.message),
                detail: None,
                what: FindingKind::Flag(f.kind),
            });
        }
    }
    for rec in &report.recommendations {
        let (Some(event), Some(today), Some(true)) =
            (&rec.event, &rec.optimizing_on, rec.change_needed)
        else {
            continue;
        };
        let name = rec.platform.display_name();
        out.push(Finding {
            id: format!("recommendation_change {} {event}", rec.platform.id()),
            kind: "recommendation_change",
            event: Some(event.to_string()),
            platform: Some(rec.platform.id().to_string()),
            previous: Some(today.to_string()),
            message: format!("{name}: switch {today} → {event}"),
            detail: Some(rec.reason.clone()),
            what: FindingKind::RecommendationChange,
        });
    }
    for ch in &report.changes.recommendations {
        let switched = matches!(
            ch.status,
            RecommendationStatus::Switched | RecommendationStatus::Replaced
        );
        let Some(event) = ch.event.as_ref().filter(|_| switched) else {
            continue;
        };
        if out
            .iter()
            .any(|f| f.platform.as_deref() == Some(ch.platform.id()))
        {
            continue;
        }
        out.push(Finding {
            id: format!("recommendation_change {} {event}", ch.platform.id()),
            kind: "recommendation_change",
            event: Some(event.to_string()),
            platform: Some(ch.platform.id().to_string()),
            previous: ch.previous.as_ref().map(|e| e.to_string()),
            message: format!("{}: {}", ch.platform.display_name(), ch.message),
            detail: None,
            what: FindingKind::RecommendationChange,
        });
    }
    out.sort_by_key(|f| rank(f.what));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_put_breaks_first_and_insufficient_data_last() {
        let mut kinds: Vec<FindingKind> = FlagKind::ALL
            .iter()
            .map(|k| FindingKind::Flag(*k))
            .collect();
        kinds.push(FindingKind::RecommendationChange);
        kinds.sort_by_key(|k| rank(*k));
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            [
                "tracking_break",
                "broken_surge",
                "leaky",
                "not_predictive",
                "recommendation_change",
                "insufficient_data"
            ]
        );
    }
}
