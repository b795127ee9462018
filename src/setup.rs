//! How to set up each platform's recommended signal: the event GA4 must mark as a key event,
//! and per platform the event to optimize on (standard where the platform has one, else a
//! custom event or custom conversion), the value to send with it, and where it can be sent
//! from. Data only: `report::setup` words it for people; `signal spec` writes it as JSON.

use serde::Serialize;

use crate::advise::Recommendation;
use crate::platform::{event_names, PlatformId, GOOGLE_ADS_NOT_BIDDABLE_BY_DEFAULT};
use crate::types::EventName;
use crate::value::ProxyValues;

/// The set-up of every platform with a recommended event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setup {
    /// The outcome the signals stand in for (`analysis.purchase_event`).
    pub outcome: EventName,
    /// One per platform with a recommended event, in the recommendations' order.
    pub platforms: Vec<PlatformSetup>,
}

/// One platform's set-up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlatformSetup {
    /// The platform.
    pub platform: PlatformId,
    /// The recommended event, as the log names it.
    pub event: EventName,
    /// The platform already optimizes on it (`optimizing_on`): nothing to change, the steps
    /// are for checking.
    pub in_place: bool,
    /// Where the event can come from: a raw event of the log can be sent by the browser tag
    /// or the server; a modelled one only by the server (`signal export --send`).
    pub sending: Sending,
    /// The value to send with each event.
    pub value: ValueRule,
    /// GA4: the event to mark as a key event (Google Ads imports key events).
    pub ga4_key_event: EventName,
    /// What to create on the platform.
    pub destination: Destination,
    /// For a derived event: the rule that builds it from site events (`null` for a raw one).
    pub derived: Option<crate::observe::DerivedKind>,
}

/// What value goes with each event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValueRule {
    /// The outcome itself: each one's own order value.
    OrderValue,
    /// The same value with every event: precision × order value, in the log's currency (the
    /// report's `values`, when precise enough to use).
    PerEvent {
        /// The value, rounded to cents.
        value: f64,
    },
    /// No value: the estimate is too uncertain to bid on.
    None,
}

/// Where a signal can be sent from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sending {
    /// The browser tag (pixel, gtag) or the server (Conversions API, offline import).
    BrowserOrServer,
    /// Only the server: the signal exists only once optsignal has computed it.
    ServerOnly,
}

/// What to create on one platform.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// Meta: the ad set's conversion event (a standard event), or a custom conversion on a
    /// custom event (`custom_event_type` OTHER).
    Meta {
        /// Event name sent by the pixel or the Conversions API (`AddToCart`, or the log's name).
        event_name: String,
        /// Whether `event_name` is one of Meta's standard events.
        standard: bool,
        /// `promoted_object.custom_event_type` of the ad set (`ADD_TO_CART`, or `OTHER` for a
        /// custom conversion).
        custom_event_type: &'static str,
        /// For a custom event: the custom conversion to create on it (its name).
        custom_conversion: Option<String>,
    },
    /// Google Ads: a conversion action, primary in a goal the campaigns bid on.
    GoogleAds {
        /// Conversion action name to create or reuse.
        conversion_action: String,
        /// Its `category`.
        category: &'static str,
        /// Imported from GA4 (the key event), or uploaded as offline click conversions.
        source: &'static str,
        /// Counting: `one_per_click` for a proxy (it fires many times per visit), `every` for
        /// the outcome itself.
        counting: &'static str,
        /// Whether Google's own goal of this category is biddable by default (when not, it
        /// must be made biddable, or the action put in a custom goal).
        biddable_by_default: bool,
    },
    /// TikTok: the ad group's optimization event.
    Tiktok {
        /// Pixel / Events API event name (`AddToCart`, or the log's name as a custom event).
        event_name: String,
        /// Ad-group `optimization_event` (`ON_WEB_CART`), when TikTok has a standard one.
        optimization_event: Option<&'static str>,
    },
    /// Any other platform: a custom conversion on the event.
    Other {
        /// The event name to send.
        event_name: String,
    },
}

/// The set-up of each recommended event (platforms with no recommendation have none).
pub fn plan(
    recs: &[Recommendation],
    values: &ProxyValues,
    outcome: &EventName,
    derived: &[crate::observe::DerivedCandidate],
) -> Setup {
    let platforms = recs
        .iter()
        .filter_map(|r| {
            let event = r.event.clone()?;
            let per_event = values
                .proxies
                .iter()
                .find(|v| v.event == event)
                .and_then(|v| v.conversion_value);
            let value = match per_event {
                _ if &event == outcome => ValueRule::OrderValue,
                Some(value) => ValueRule::PerEvent { value },
                None => ValueRule::None,
            };
            let rule = derived
                .iter()
                .find(|d| d.rule.name == event)
                .map(|d| d.rule.kind.clone());
            let predicted = matches!(rule, Some(crate::observe::DerivedKind::Predicted { .. }));
            Some(PlatformSetup {
                platform: r.platform,
                destination: destination(r.platform, &event, &event == outcome),
                sending: if predicted {
                    Sending::ServerOnly
                } else {
                    Sending::BrowserOrServer
                },
                value,
                ga4_key_event: event.clone(),
                in_place: r.optimizing_on.as_ref() == Some(&event),
                derived: rule,
                event,
            })
        })
        .collect();
    Setup {
        outcome: outcome.clone(),
        platforms,
    }
}

/// What to create on `platform` to optimize on `event` (`is_outcome`: the event is the
/// outcome itself, counted at every occurrence).
fn destination(platform: PlatformId, event: &EventName, is_outcome: bool) -> Destination {
    let names = event_names(event);
    let custom = event.as_str().to_string();
    match platform {
        PlatformId::Meta => Destination::Meta {
            event_name: names.map_or(custom.clone(), |n| n.meta.to_string()),
            standard: names.is_some(),
            custom_event_type: names.map_or("OTHER", |n| n.meta_type),
            custom_conversion: names.is_none().then(|| format!("optsignal: {custom}")),
        },
        PlatformId::GoogleAds => {
            let category = names.map_or("DEFAULT", |n| n.google_ads);
            Destination::GoogleAds {
                conversion_action: format!("optsignal: {custom}"),
                category,
                source: "ga4_key_event",
                counting: if is_outcome { "every" } else { "one_per_click" },
                biddable_by_default: !GOOGLE_ADS_NOT_BIDDABLE_BY_DEFAULT.contains(&category),
            }
        }
        PlatformId::Tiktok => {
            let t = names.and_then(|n| n.tiktok);
            Destination::Tiktok {
                event_name: t.map_or(custom, |t| t.0.to_string()),
                optimization_event: t.map(|t| t.1),
            }
        }
        _ => Destination::Other {
            event_name: names.map_or(custom, |n| n.meta.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> EventName {
        EventName::new(s).unwrap()
    }

    #[test]
    fn standard_events_map_to_each_platforms_names() {
        match destination(PlatformId::Meta, &e("begin_checkout"), false) {
            Destination::Meta {
                event_name,
                standard,
                custom_event_type,
                custom_conversion,
            } => {
                assert_eq!(event_name, "InitiateCheckout");
                assert!(standard);
                assert_eq!(custom_event_type, "INITIATED_CHECKOUT");
                assert_eq!(custom_conversion, None);
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(
            destination(PlatformId::Tiktok, &e("add_to_cart"), false),
            Destination::Tiktok {
                event_name: "AddToCart".into(),
                optimization_event: Some("ON_WEB_CART"),
            }
        );
        match destination(PlatformId::GoogleAds, &e("sign_up"), false) {
            Destination::GoogleAds {
                category,
                biddable_by_default,
                ..
            } => assert_eq!((category, biddable_by_default), ("SIGNUP", false)),
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn a_custom_event_becomes_a_custom_conversion() {
        match destination(PlatformId::Meta, &e("video_complete"), false) {
            Destination::Meta {
                event_name,
                standard,
                custom_event_type,
                custom_conversion,
            } => {
                assert_eq!(event_name, "video_complete");
                assert!(!standard);
                assert_eq!(custom_event_type, "OTHER");
                assert_eq!(
                    custom_conversion.as_deref(),
                    Some("optsignal: video_complete")
                );
            }
            d => panic!("{d:?}"),
        }
        match destination(PlatformId::GoogleAds, &e("video_complete"), false) {
            Destination::GoogleAds {
                category,
                biddable_by_default,
                ..
            } => assert_eq!((category, biddable_by_default), ("DEFAULT", true)),
            d => panic!("{d:?}"),
        }
        assert_eq!(
            destination(PlatformId::Tiktok, &e("video_complete"), false),
            Destination::Tiktok {
                event_name: "video_complete".into(),
                optimization_event: None,
            }
        );
    }
}
