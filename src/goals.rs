//! Conversion-goal audit (issue 17 item 9): set-ups in the ad accounts that feed the bidder the
//! wrong signal, found in what the API sources returned ([`Pulled`]) and the event log.
//!
//! - Google Ads: an `ADD_TO_CART` or `BEGIN_CHECKOUT` conversion action set as *primary* (in a
//!   biddable goal) beside a primary purchase action: Smart Bidding then counts a cart as a sale
//!   (a common plugin default); two enabled primary actions in one biddable category count the
//!   same event twice.
//! - Meta: an active ad set whose `promoted_object.custom_event_type` names an event the site log
//!   has none of, or that the pixel reported none of over the pulled weeks.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::platform::PlatformId;
use crate::source::google_ads::{ActionInfo, AdsPull};
use crate::source::meta::MetaPull;
use crate::source::remote::Pulled;
use crate::types::Severity;

/// One conversion-goal set-up that misleads the bidder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalFinding {
    /// How serious.
    pub severity: Severity,
    /// The platform.
    pub platform: PlatformId,
    /// `micro_conversion_primary`, `double_counted` or `optimization_event_unseen`.
    pub kind: &'static str,
    /// The conversion actions or ad sets concerned.
    pub subjects: Vec<String>,
    /// What is wrong, with the names and numbers.
    pub message: String,
    /// What to change, in one sentence.
    pub fix: String,
}

/// The findings of every pulled source. `log_events` counts each canonical event in the
/// analysed log (events absent from it count 0).
pub fn audit(pulled: &Pulled, log_events: &BTreeMap<String, u64>) -> Vec<GoalFinding> {
    let mut out = Vec::new();
    if let Some(g) = &pulled.google_ads {
        out.extend(google_ads(g));
    }
    if let Some(m) = &pulled.meta {
        out.extend(meta(m, log_events));
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// Whether conversions of `category` feed bidding somewhere: in a campaign, by its own goals
/// (`campaign_conversion_goal`, which override the account's) or else the account's
/// (`customer_conversion_goal`); with no campaign known, by the account's goals; with no goal
/// reported at all, yes (the account default then applies).
fn goal_biddable(g: &AdsPull, category: &str) -> bool {
    let mut ids: Vec<&str> = g
        .campaigns
        .iter()
        .map(|c| c.id.as_str())
        .chain(g.campaign_goals.iter().map(|c| c.campaign_id.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        let account: Vec<bool> = g
            .goals
            .iter()
            .filter(|c| c.category == category)
            .map(|c| c.biddable)
            .collect();
        return g.goals.is_empty() || account.iter().any(|b| *b);
    }
    let none = g.goals.is_empty() && g.campaign_goals.is_empty();
    none || ids
        .iter()
        .any(|id| g.biddable_in(id, category) == Some(true))
}

/// `"Add to cart" (MANY_PER_CLICK)`.
fn action_label(a: &ActionInfo) -> String {
    match &a.counting {
        Some(c) => format!("\"{}\" ({c})", a.name),
        None => format!("\"{}\"", a.name),
    }
}

/// Google Ads: micro-conversions primary beside purchase, and one event counted twice.
fn google_ads(g: &AdsPull) -> Vec<GoalFinding> {
    let mut out = Vec::new();
    let bidding: Vec<&ActionInfo> = g
        .actions
        .iter()
        .filter(|a| a.primary && a.status_enabled() && goal_biddable(g, &a.category))
        .collect();
    let purchases: Vec<&&ActionInfo> = bidding
        .iter()
        .filter(|a| a.category == "PURCHASE")
        .collect();
    if !purchases.is_empty() {
        let micro: Vec<&&ActionInfo> = bidding
            .iter()
            .filter(|a| a.category == "ADD_TO_CART" || a.category == "BEGIN_CHECKOUT")
            .collect();
        if !micro.is_empty() {
            let names: Vec<String> = micro.iter().map(|a| action_label(a)).collect();
            let cats: Vec<&str> = {
                let mut c: Vec<&str> = micro.iter().map(|a| a.category.as_str()).collect();
                c.dedup();
                c
            };
            out.push(GoalFinding {
                severity: Severity::Critical,
                platform: PlatformId::GoogleAds,
                kind: "micro_conversion_primary",
                subjects: micro.iter().map(|a| a.name.clone()).collect(),
                message: format!(
                    "{} {} primary in a biddable {} goal beside the purchase action {}: Smart Bidding counts each as a conversion, so a cart is bid on like a sale",
                    names.join(", "),
                    if micro.len() == 1 { "is" } else { "are" },
                    cats.join(" / "),
                    action_label(purchases[0])
                ),
                fix: format!(
                    "In Goals > Conversions > Summary, set {} to secondary (observation only), or take the {} goal out of the account-default and campaign goals, so that only purchases are bid on.",
                    names.join(", "),
                    cats.join(" / ")
                ),
            });
        }
    }
    let mut by_category: BTreeMap<&str, Vec<&ActionInfo>> = BTreeMap::new();
    for a in &bidding {
        by_category.entry(a.category.as_str()).or_default().push(a);
    }
    for (cat, actions) in by_category.into_iter().filter(|(_, a)| a.len() > 1) {
        let names: Vec<String> = actions.iter().map(|a| action_label(a)).collect();
        out.push(GoalFinding {
            severity: if cat == "PURCHASE" {
                Severity::Critical
            } else {
                Severity::Warning
            },
            platform: PlatformId::GoogleAds,
            kind: "double_counted",
            subjects: actions.iter().map(|a| a.name.clone()).collect(),
            message: format!(
                "{} enabled primary {cat} actions count the same event: {}; each sale (or step) is reported, and bid on, {} times",
                actions.len(),
                names.join(", "),
                actions.len()
            ),
            fix: format!(
                "Keep one primary {cat} action (the one closest to the order system, e.g. the site tag or the GA4 import, not both) and set the others to secondary."
            ),
        });
    }
    out
}

/// Meta: active ad sets optimizing on an event the site log or the pixel does not see.
fn meta(m: &MetaPull, log_events: &BTreeMap<String, u64>) -> Vec<GoalFinding> {
    let mut out = Vec::new();
    for s in m.ad_sets.iter().filter(|s| s.active) {
        let Some(event) = s.optimizing_on.as_deref() else {
            continue;
        };
        let custom = s.custom_event_type.as_deref().unwrap_or(event);
        let pixel = s
            .pixel_id
            .as_deref()
            .map_or("its pixel".to_string(), |p| format!("pixel {p}"));
        let in_log = log_events.get(event).copied().unwrap_or(0);
        let reported: f64 = s.weekly.get(event).map_or(0.0, |w| w.iter().sum());
        let (severity, what) = if in_log == 0 {
            (
                Severity::Critical,
                format!("the event log has no {event} event at all"),
            )
        } else if reported == 0.0 {
            (
                Severity::Critical,
                format!(
                    "{pixel} reported no {custom} in the {} weeks pulled while the log has {in_log} {event} events",
                    m.weeks.len()
                ),
            )
        } else {
            continue;
        };
        out.push(GoalFinding {
            severity,
            platform: PlatformId::Meta,
            kind: "optimization_event_unseen",
            subjects: vec![s.name.clone()],
            message: format!(
                "ad set \"{}\" optimizes on {custom} ({pixel}) but {what}: the bidder gets no signal and stays in learning",
                s.name
            ),
            fix: format!(
                "Check in Events Manager that {pixel} receives {custom} (browser pixel and Conversions API), or move the ad set to an event the site sends."
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::google_ads::Goal;

    fn action(name: &str, category: &str, primary: bool) -> ActionInfo {
        ActionInfo {
            name: name.into(),
            category: category.into(),
            primary,
            status: Some("ENABLED".into()),
            counting: None,
        }
    }

    fn ads(actions: Vec<ActionInfo>, goals: Vec<(&str, bool)>) -> AdsPull {
        AdsPull {
            customer_id: "1".into(),
            weeks: Vec::new(),
            campaigns: Vec::new(),
            actions,
            goals: goals
                .into_iter()
                .map(|(c, b)| Goal {
                    category: c.into(),
                    origin: "WEBSITE".into(),
                    biddable: b,
                })
                .collect(),
            campaign_goals: Vec::new(),
            currency: None,
        }
    }

    #[test]
    fn a_secondary_or_non_biddable_add_to_cart_is_not_a_finding() {
        let secondary = ads(
            vec![
                action("Purchase", "PURCHASE", true),
                action("Add to cart", "ADD_TO_CART", false),
            ],
            vec![("PURCHASE", true), ("ADD_TO_CART", true)],
        );
        assert!(google_ads(&secondary).is_empty());
        let off = ads(
            vec![
                action("Purchase", "PURCHASE", true),
                action("Add to cart", "ADD_TO_CART", true),
            ],
            vec![("PURCHASE", true), ("ADD_TO_CART", false)],
        );
        assert!(google_ads(&off).is_empty());
        // Without a primary purchase the account does not optimise on purchase.
        let no_purchase = ads(
            vec![action("Add to cart", "ADD_TO_CART", true)],
            vec![("ADD_TO_CART", true)],
        );
        assert!(google_ads(&no_purchase).is_empty());
        let on = ads(
            vec![
                action("Purchase", "PURCHASE", true),
                action("Add to cart", "ADD_TO_CART", true),
            ],
            vec![("PURCHASE", true), ("ADD_TO_CART", true)],
        );
        let f = google_ads(&on);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].kind, f[0].severity),
            ("micro_conversion_primary", Severity::Critical)
        );
    }

    #[test]
    fn two_primary_add_to_cart_actions_are_a_warning_and_a_removed_one_is_ignored() {
        let mut removed = action("Cart (old tag)", "ADD_TO_CART", true);
        removed.status = Some("REMOVED".into());
        let g = ads(
            vec![
                action("Cart", "ADD_TO_CART", true),
                action("Cart (GA4)", "ADD_TO_CART", true),
                removed,
            ],
            vec![("ADD_TO_CART", true)],
        );
        let f = google_ads(&g);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].kind, f[0].severity),
            ("double_counted", Severity::Warning)
        );
        assert_eq!(f[0].subjects, vec!["Cart", "Cart (GA4)"]);
    }

    fn ad_set(
        name: &str,
        custom: &str,
        event: &str,
        reported: f64,
    ) -> crate::source::meta::AdSetPull {
        crate::source::meta::AdSetPull {
            id: name.into(),
            name: name.into(),
            campaign_id: None,
            active: true,
            optimization_goal: Some("OFFSITE_CONVERSIONS".into()),
            custom_event_type: Some(custom.into()),
            pixel_id: Some("42".into()),
            optimizing_on: Some(event.into()),
            learning: None,
            weekly: BTreeMap::from([(event.to_string(), vec![reported, 0.0])]),
            weekly_spend: Vec::new(),
        }
    }

    #[test]
    fn a_meta_event_the_pixel_reports_none_of_is_critical_and_a_seen_one_is_not() {
        let m = MetaPull {
            account_id: "1".into(),
            action_family: crate::source::meta::ActionFamily::Pixel,
            weeks: Vec::new(),
            ad_sets: vec![
                ad_set("Seen", "ADD_TO_CART", "add_to_cart", 12.0),
                ad_set("Unseen", "INITIATED_CHECKOUT", "begin_checkout", 0.0),
            ],
            currency: None,
        };
        let log = BTreeMap::from([
            ("add_to_cart".to_string(), 500),
            ("begin_checkout".to_string(), 200),
        ]);
        let f = meta(&m, &log);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].subjects, vec!["Unseen"]);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(
            f[0].message
                .contains("pixel 42 reported no INITIATED_CHECKOUT")
                && f[0]
                    .message
                    .contains("the log has 200 begin_checkout events"),
            "{}",
            f[0].message
        );
    }
}
