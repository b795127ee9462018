//! Ad platforms and their learning-phase floors, as dated data.
//!
//! A floor is "N optimization events per bidding unit within D days". The rules live in
//! `assets/platform_rules.toml`, compiled into the binary: each with its number, unit, window,
//! basis (official, or a labelled assumption where the vendor publishes no number), the vendor's
//! words, the source URL and the date it was last checked. A config's own `[[rule]]` entries
//! replace (or add to) them, and `[[platforms]] rule = "..."` picks a platform's rule other than
//! its first. `docs/platforms.md` lists every rule.

use std::sync::OnceLock;

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

    /// The built-in profile: the first built-in rule's floor, and the optimizable events.
    pub fn profile(self) -> PlatformProfile {
        self.profile_with(Rules::builtin().floor(self, None).map(Rule::floor))
    }

    /// The profile with a given floor (`None`: the legacy constants, never reached with the
    /// built-in rules, which cover every platform).
    pub fn profile_with(self, floor: Option<Floor>) -> PlatformProfile {
        let mut p = self.legacy_profile();
        if let Some(f) = floor {
            p.floor = f;
        }
        p
    }

    /// The constants the rules file replaced, kept as the fallback of [`Self::profile_with`].
    fn legacy_profile(self) -> PlatformProfile {
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
                url: None,
                checked: None,
                rule: None,
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
    /// The page the number is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the rule was last checked against that page (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
    /// The rule's id in the rules file (`learning_phase`, `troas_search`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// One learning-phase rule of the rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The platform.
    pub platform: PlatformId,
    /// The rule's id, unique within the platform (`learning_phase`, `troas_other`).
    pub id: String,
    /// Optimization events needed.
    pub events: f64,
    /// Window in days.
    pub days: u32,
    /// What learns.
    pub unit: BiddingUnit,
    /// `official` or `assumption`.
    pub basis: FloorBasis,
    /// The vendor's words (or why it is an assumption).
    pub text: String,
    /// The page.
    pub source: String,
    /// Last checked, `YYYY-MM-DD`.
    pub checked: String,
    /// A higher recommended volume.
    #[serde(default)]
    pub recommended: Option<f64>,
    /// A softer threshold.
    #[serde(default)]
    pub soft: Option<f64>,
}

impl Rule {
    /// The floor this rule sets.
    pub fn floor(&self) -> Floor {
        Floor {
            events: self.events,
            days: self.days,
            unit: self.unit,
            basis: self.basis,
            source: self.text.clone(),
            recommended: self.recommended,
            soft: self.soft,
            url: Some(self.source.clone()),
            checked: Some(self.checked.clone()),
            rule: Some(self.id.clone()),
        }
    }

    /// Why the rule is unusable, if it is.
    fn problem(&self) -> Option<String> {
        if !(self.events.is_finite() && self.events > 0.0) {
            return Some(format!(
                "events = {} must be a positive number",
                self.events
            ));
        }
        if self.days == 0 {
            return Some("days must be at least 1".into());
        }
        if self.source.trim().is_empty() || self.text.trim().is_empty() {
            return Some("give the source URL and the vendor's text".into());
        }
        if self.checked.parse::<jiff::civil::Date>().is_err() {
            return Some(format!(
                "checked = {:?} is not a date (YYYY-MM-DD)",
                self.checked
            ));
        }
        None
    }
}

/// The rules file: `[[rule]]` entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Every rule, in file order (a platform's first rule is its floor).
    #[serde(default)]
    pub rule: Vec<Rule>,
}

/// The built-in rules file.
pub const BUILTIN_RULES: &str = include_str!("../assets/platform_rules.toml");

impl Rules {
    /// Reads a rules file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Rules, String> {
        let rules: Rules = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| format!("{origin}: {e}"))?;
        rules.check(origin)?;
        Ok(rules)
    }

    /// Checks every rule, naming the first unusable one.
    pub fn check(&self, origin: &str) -> Result<(), String> {
        for (i, r) in self.rule.iter().enumerate() {
            if let Some(p) = r.problem() {
                return Err(format!(
                    "{origin}: rule[{i}] ({} {}): {p}",
                    r.platform, r.id
                ));
            }
        }
        Ok(())
    }

    /// The rules compiled into the binary.
    pub fn builtin() -> &'static Rules {
        static RULES: OnceLock<Rules> = OnceLock::new();
        RULES.get_or_init(|| {
            Rules::parse(BUILTIN_RULES, "assets/platform_rules.toml")
                .expect("the built-in rules file is valid (tested)")
        })
    }

    /// These rules with `user`'s: a user rule replaces the rule of the same platform and id, or
    /// is added (first for its platform, so it becomes the floor) when no rule has its id.
    pub fn merged(&self, user: &[Rule]) -> Rules {
        let mut out = self.rule.clone();
        for u in user {
            match out
                .iter_mut()
                .find(|r| r.platform == u.platform && r.id == u.id)
            {
                Some(r) => *r = u.clone(),
                None => out.insert(0, u.clone()),
            }
        }
        Rules { rule: out }
    }

    /// The rule `id` of a platform, or its first rule.
    pub fn floor(&self, platform: PlatformId, id: Option<&str>) -> Option<&Rule> {
        let mut of = self.rule.iter().filter(|r| r.platform == platform);
        match id {
            Some(id) => of.find(|r| r.id == id),
            None => of.next(),
        }
    }
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
    /// Whether the platform can optimize on a derived event (a rule over site events): through
    /// a custom conversion on Meta, as any site event where every event is eligible.
    pub fn can_optimize_derived(&self) -> bool {
        self.optimizable.is_none() || self.id == PlatformId::Meta
    }

    /// Whether the platform can be told to optimize on this event.
    pub fn can_optimize(&self, event: &EventName) -> bool {
        self.optimizable
            .as_ref()
            .is_none_or(|list| list.contains(event))
    }
}

/// A platform as the recommendation uses it (validated by [`crate::config`]).
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    /// Floor and eligible events (built-in, with config overrides).
    pub profile: PlatformProfile,
    /// Bidding units sharing the events.
    pub ad_sets: u32,
    /// Share of site events the platform sees.
    pub attributed_share: f64,
    /// The event optimized on today, if known.
    pub optimizing_on: Option<EventName>,
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
    fn the_rules_file_covers_every_platform_with_dated_sources() {
        let rules = Rules::builtin();
        for p in PlatformId::ALL {
            let r = rules
                .floor(p, None)
                .unwrap_or_else(|| panic!("no rule for {p}"));
            assert!(r.source.starts_with("https://"), "{p}");
            assert!(r.checked.parse::<jiff::civil::Date>().is_ok(), "{p}");
            let f = p.profile().floor;
            assert_eq!(f.url.as_deref(), Some(r.source.as_str()));
        }
        let g = rules
            .floor(PlatformId::GoogleAds, Some("troas_other"))
            .unwrap();
        assert_eq!((g.events, g.days, g.recommended), (20.0, 45, Some(50.0)));
        let ms = rules.floor(PlatformId::MicrosoftAds, None).unwrap();
        assert!(ms.text.contains("2025-08"), "{}", ms.text);
        let tt = rules.floor(PlatformId::Tiktok, None).unwrap();
        assert!(tt.text.contains("25 results or 7 days"), "{}", tt.text);
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

/// One canonical event's names on the platforms (docs/platforms.md §2.4, from Meta's Pixel
/// reference and SDK enums, TikTok's standard-event pages and the Google Ads category enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventNames {
    /// Meta Pixel / Conversions API standard event (`AddToCart`).
    pub meta: &'static str,
    /// Meta `custom_event_type` of that event (ad set `promoted_object`, custom conversions).
    pub meta_type: &'static str,
    /// TikTok pixel standard event and ad-group `optimization_event`, when TikTok has them.
    pub tiktok: Option<(&'static str, &'static str)>,
    /// Google Ads `conversion_action.category`.
    pub google_ads: &'static str,
}

/// The platforms' names of a canonical (GA4-style) event; `None` for an event none of them
/// has a standard name for (it is then sent as a custom event).
pub fn event_names(event: &EventName) -> Option<EventNames> {
    let n = |meta, meta_type, tiktok, google_ads| EventNames {
        meta,
        meta_type,
        tiktok,
        google_ads,
    };
    Some(match event.as_str() {
        "view_item" => n(
            "ViewContent",
            "CONTENT_VIEW",
            Some(("ViewContent", "ON_WEB_DETAIL")),
            "PAGE_VIEW",
        ),
        "add_to_wishlist" => n(
            "AddToWishlist",
            "ADD_TO_WISHLIST",
            Some(("AddToWishlist", "ON_WEB_ADD_TO_WISHLIST")),
            "DEFAULT",
        ),
        "add_to_cart" => n(
            "AddToCart",
            "ADD_TO_CART",
            Some(("AddToCart", "ON_WEB_CART")),
            "ADD_TO_CART",
        ),
        "begin_checkout" => n(
            "InitiateCheckout",
            "INITIATED_CHECKOUT",
            Some(("InitiateCheckout", "INITIATE_ORDER")),
            "BEGIN_CHECKOUT",
        ),
        "add_payment_info" => n(
            "AddPaymentInfo",
            "ADD_PAYMENT_INFO",
            Some(("AddPaymentInfo", "ADD_BILLING")),
            "DEFAULT",
        ),
        "purchase" => n(
            "Purchase",
            "PURCHASE",
            Some(("Purchase", "SHOPPING")),
            "PURCHASE",
        ),
        "sign_up" => n(
            "CompleteRegistration",
            "COMPLETE_REGISTRATION",
            Some(("CompleteRegistration", "ON_WEB_REGISTER")),
            "SIGNUP",
        ),
        "generate_lead" => n("Lead", "LEAD", Some(("Lead", "FORM")), "SUBMIT_LEAD_FORM"),
        "qualify_lead" => n("Lead", "LEAD", None, "CONVERTED_LEAD"),
        "search" => n(
            "Search",
            "SEARCH",
            Some(("Search", "ON_WEB_SEARCH")),
            "DEFAULT",
        ),
        "subscribe" => n(
            "Subscribe",
            "SUBSCRIBE",
            Some(("Subscribe", "ON_WEB_SUBSCRIBE")),
            "SUBSCRIBE_PAID",
        ),
        "start_trial" | "trial_start" => n("StartTrial", "START_TRIAL", None, "DEFAULT"),
        _ => return None,
    })
}

/// Google Ads categories whose Google-hosted goals are not biddable by default
/// (docs/platforms.md §5.6): optimizing on one means making its goal biddable first.
pub const GOOGLE_ADS_NOT_BIDDABLE_BY_DEFAULT: [&str; 4] =
    ["BEGIN_CHECKOUT", "SIGNUP", "PAGE_VIEW", "PURCHASE"];
