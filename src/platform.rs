//! Ad platforms and their learning-phase floors: the built-in table, with sources.
//!
//! A floor is "N optimization events per bidding unit within D days". Official numbers come from
//! the vendors' help pages; where no vendor number exists the default is a labelled assumption
//! (50 per 7 days, by analogy with Meta). Every number can be overridden in config. Sources are
//! collected in `../shared/platforms.md` §1 and repeated in `docs/platforms.md`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::types::EventName;

/// The ad platforms optsignal knows, by their command-line / config ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformId {
    /// Meta (Facebook, Instagram).
    Meta,
    /// TikTok.
    Tiktok,
    /// Google Ads Smart Bidding.
    GoogleAds,
    /// Microsoft Advertising.
    MicrosoftAds,
    /// Snapchat.
    Snapchat,
    /// Pinterest.
    Pinterest,
    /// LinkedIn.
    Linkedin,
    /// Reddit.
    Reddit,
}

impl PlatformId {
    /// Every platform, in display order.
    pub const ALL: [PlatformId; 8] = [
        PlatformId::Meta,
        PlatformId::Tiktok,
        PlatformId::GoogleAds,
        PlatformId::MicrosoftAds,
        PlatformId::Snapchat,
        PlatformId::Pinterest,
        PlatformId::Linkedin,
        PlatformId::Reddit,
    ];

    /// The id as written on the command line and in config.
    pub fn id(self) -> &'static str {
        match self {
            PlatformId::Meta => "meta",
            PlatformId::Tiktok => "tiktok",
            PlatformId::GoogleAds => "google_ads",
            PlatformId::MicrosoftAds => "microsoft_ads",
            PlatformId::Snapchat => "snapchat",
            PlatformId::Pinterest => "pinterest",
            PlatformId::Linkedin => "linkedin",
            PlatformId::Reddit => "reddit",
        }
    }

    /// The name people use.
    pub fn display_name(self) -> &'static str {
        match self {
            PlatformId::Meta => "Meta",
            PlatformId::Tiktok => "TikTok",
            PlatformId::GoogleAds => "Google Ads",
            PlatformId::MicrosoftAds => "Microsoft Ads",
            PlatformId::Snapchat => "Snapchat",
            PlatformId::Pinterest => "Pinterest",
            PlatformId::Linkedin => "LinkedIn",
            PlatformId::Reddit => "Reddit",
        }
    }

    /// The built-in profile: floor, bidding unit and optimizable events.
    pub fn profile(self) -> PlatformProfile {
        use BiddingUnit::*;
        use FloorBasis::*;
        let (events, days, unit, basis, source, recommended): (f64, u32, _, _, &str, _) =
            match self {
                PlatformId::Meta => (
                    50.0,
                    7,
                    AdSet,
                    Official,
                    "Meta Business Help 'About the learning phase' (about 50 results in the week after the last significant edit)",
                    None,
                ),
                PlatformId::Tiktok => (
                    50.0,
                    7,
                    AdGroup,
                    Official,
                    "TikTok Ads help 'Learning phase' (older text: 50 conversions; current text: volatility declines after about 25 results, a soft floor)",
                    None,
                ),
                PlatformId::GoogleAds => (
                    15.0,
                    30,
                    Campaign,
                    Official,
                    "Google Ads help 6268637 (Target ROAS on Search: at least 15 conversions in the past 30 days; 50 recommended)",
                    Some(50.0),
                ),
                PlatformId::MicrosoftAds => (
                    15.0,
                    30,
                    Campaign,
                    Official,
                    "Microsoft Advertising TargetRoasBiddingScheme (stops optimizing below 15 conversions in any 30-day period)",
                    None,
                ),
                PlatformId::Snapchat => (50.0, 7, AdSet, Assumption, "no vendor number found; assumed by analogy with Meta", None),
                PlatformId::Pinterest => (50.0, 7, AdGroup, Assumption, "no vendor number found; assumed by analogy with Meta", None),
                PlatformId::Linkedin => (50.0, 7, Campaign, Assumption, "no vendor number found; assumed by analogy with Meta", None),
                PlatformId::Reddit => (50.0, 7, AdGroup, Assumption, "no vendor number found; assumed by analogy with Meta", None),
            };
        let soft = (self == PlatformId::Tiktok).then_some(25.0);
        let names: Option<&[&str]> = match self {
            // Meta standard events; there is no add_shipping_info (platforms.md §2.4).
            PlatformId::Meta => Some(&[
                "view_item",
                "add_to_wishlist",
                "add_to_cart",
                "begin_checkout",
                "add_payment_info",
                "purchase",
                "sign_up",
                "generate_lead",
                "search",
                "subscribe",
            ]),
            PlatformId::Tiktok => Some(&[
                "view_item",
                "add_to_wishlist",
                "add_to_cart",
                "begin_checkout",
                "add_payment_info",
                "place_order",
                "purchase",
                "sign_up",
                "generate_lead",
                "search",
                "subscribe",
            ]),
            PlatformId::Snapchat => Some(&[
                "view_item",
                "add_to_wishlist",
                "add_to_cart",
                "begin_checkout",
                "add_payment_info",
                "purchase",
                "sign_up",
                "search",
                "subscribe",
            ]),
            // Conversions campaigns: Checkout, Add to Cart, Signup, Lead (Pinterest help).
            PlatformId::Pinterest => Some(&["add_to_cart", "purchase", "sign_up", "generate_lead"]),
            PlatformId::Reddit => Some(&[
                "view_item",
                "search",
                "add_to_cart",
                "add_to_wishlist",
                "purchase",
                "generate_lead",
                "sign_up",
            ]),
            // Google Ads, Microsoft Ads and LinkedIn accept any site event as a conversion action.
            PlatformId::GoogleAds | PlatformId::MicrosoftAds | PlatformId::Linkedin => None,
        };
        PlatformProfile {
            id: self,
            floor: Floor {
                events,
                days,
                unit,
                basis,
                source: source.to_string(),
                recommended,
                soft,
            },
            optimizable: names.map(|n| n.iter().filter_map(|s| EventName::new(s)).collect()),
        }
    }
}

impl fmt::Display for PlatformId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for PlatformId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace('-', "_");
        PlatformId::ALL
            .into_iter()
            .find(|p| p.id() == t || (t == "google" && *p == PlatformId::GoogleAds))
            .ok_or_else(|| {
                let ids: Vec<&str> = PlatformId::ALL.iter().map(|p| p.id()).collect();
                format!("unknown platform {s:?}; known: {}", ids.join(", "))
            })
    }
}

/// The entity whose learning the floor is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiddingUnit {
    /// Meta / Snapchat ad set.
    AdSet,
    /// TikTok / Pinterest / Reddit ad group.
    AdGroup,
    /// Google / Microsoft / LinkedIn campaign (or portfolio strategy).
    Campaign,
}

impl BiddingUnit {
    /// Noun for reports, singular and plural.
    pub fn noun(self, n: f64) -> &'static str {
        let one = (n - 1.0).abs() < 1e-9;
        match (self, one) {
            (BiddingUnit::AdSet, true) => "ad set",
            (BiddingUnit::AdSet, false) => "ad sets",
            (BiddingUnit::AdGroup, true) => "ad group",
            (BiddingUnit::AdGroup, false) => "ad groups",
            (BiddingUnit::Campaign, true) => "campaign",
            (BiddingUnit::Campaign, false) => "campaigns",
        }
    }
}

/// How much to trust a floor number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloorBasis {
    /// Stated on a vendor page.
    Official,
    /// Not published by the vendor: a labelled default.
    Assumption,
    /// Set by the user in config.
    Configured,
}

/// A learning-phase floor: `events` per bidding unit within `days`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Floor {
    /// Optimization events needed.
    pub events: f64,
    /// Window in days the events must fall in.
    pub days: u32,
    /// What learns.
    pub unit: BiddingUnit,
    /// Official, assumed or configured.
    pub basis: FloorBasis,
    /// Where the number comes from.
    pub source: String,
    /// A higher vendor-recommended volume, when one is published (Google: 50 per 30 days).
    pub recommended: Option<f64>,
    /// A softer threshold the vendor also mentions (TikTok: 25).
    pub soft: Option<f64>,
}

/// A platform as optsignal sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformProfile {
    /// Which platform.
    pub id: PlatformId,
    /// Its learning-phase floor.
    pub floor: Floor,
    /// Canonical events it can optimize on; `None` = any site event (custom conversions).
    pub optimizable: Option<Vec<EventName>>,
}

impl PlatformProfile {
    /// Whether the platform can be told to optimize on this event.
    pub fn can_optimize(&self, event: &EventName) -> bool {
        self.optimizable
            .as_ref()
            .is_none_or(|list| list.contains(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ids_list_the_known_ones() {
        for p in PlatformId::ALL {
            assert_eq!(p.id().parse::<PlatformId>().unwrap(), p);
        }
        let e = "facebook".parse::<PlatformId>().unwrap_err();
        assert!(e.contains("meta, tiktok, google_ads"), "{e}");
    }

    #[test]
    fn built_in_floors_match_the_fact_sheet() {
        let m = PlatformId::Meta.profile();
        assert_eq!((m.floor.events, m.floor.days), (50.0, 7));
        assert!(!m.can_optimize(&EventName::new("add_shipping_info").unwrap()));
        assert!(m.can_optimize(&EventName::new("begin_checkout").unwrap()));
        let g = PlatformId::GoogleAds.profile();
        assert_eq!(
            (g.floor.events, g.floor.days, g.floor.recommended),
            (15.0, 30, Some(50.0))
        );
        assert!(g.can_optimize(&EventName::new("add_shipping_info").unwrap()));
        assert_eq!(PlatformId::Tiktok.profile().floor.soft, Some(25.0));
        assert_eq!(
            PlatformId::Reddit.profile().floor.basis,
            FloorBasis::Assumption
        );
    }
}
