//! Domain value types shared by every module: event names, ISO weeks, probabilities, intervals.
//!
//! They exist so that a week is never a bare string and a precision never a bare float: each type
//! validates once, at the boundary, and then travels through the pipeline as a trusted value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A canonical event name (`add_to_cart`, `purchase`, ...), after alias mapping.
///
/// Non-empty and free of surrounding white space; case is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventName(String);

impl EventName {
    /// Builds an event name, trimming white space; `None` when nothing is left.
    pub fn new(name: &str) -> Option<Self> {
        let t = name.trim();
        (!t.is_empty()).then(|| EventName(t.to_string()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Position in the standard e-commerce funnel, deeper = closer to purchase: 0 for events off
    /// the purchase path (search, unknown names), 1 for interest signals (view, wishlist,
    /// newsletter), 2 cart, 3 checkout, 4 shipping, 5 payment, 6 order, 7 purchase. Used to
    /// break ties between equally strong proxies and to find "the next deeper event".
    pub fn funnel_depth(&self) -> u8 {
        match self.0.as_str() {
            "view_item" | "view_item_list" | "select_item" | "add_to_wishlist" | "sign_up"
            | "generate_lead" | "subscribe" => 1,
            "add_to_cart" | "view_cart" => 2,
            "begin_checkout" => 3,
            "add_shipping_info" => 4,
            "add_payment_info" => 5,
            "place_order" => 6,
            "purchase" => 7,
            _ => 0,
        }
    }
}

impl TryFrom<String> for EventName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EventName::new(&s).ok_or_else(|| "an event name must not be empty".to_string())
    }
}

impl From<EventName> for String {
    fn from(e: EventName) -> String {
        e.0
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 8601 week (Monday to Sunday), written `2026-W37`.
///
/// Ordered by year then week, so sorting weeks sorts time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IsoWeek {
    year: i16,
    week: i8,
}

impl IsoWeek {
    /// Builds a week, checking that the week number exists in that ISO year (1..=52 or 53).
    pub fn new(year: i16, week: i8) -> Option<Self> {
        jiff::civil::ISOWeekDate::new(year, week, jiff::civil::Weekday::Monday)
            .ok()
            .map(|_| IsoWeek { year, week })
    }

    /// The ISO week that contains a civil date.
    pub fn of_date(date: jiff::civil::Date) -> Self {
        let w = date.iso_week_date();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    /// The ISO year (which can differ from the calendar year around New Year).
    pub fn year(self) -> i16 {
        self.year
    }

    /// The week number within the ISO year, 1 to 53.
    pub fn week(self) -> i8 {
        self.week
    }

    /// The Monday that starts this week.
    pub fn monday(self) -> jiff::civil::Date {
        jiff::civil::ISOWeekDate::new(self.year, self.week, jiff::civil::Weekday::Monday)
            .map(|d| d.date())
            .expect("IsoWeek is validated at construction")
    }

    /// The following week.
    pub fn next(self) -> Self {
        IsoWeek::of_date(
            self.monday()
                .checked_add(jiff::Span::new().days(7))
                .unwrap_or(self.monday()),
        )
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not an ISO week like 2026-W07");
        let (y, w) = s.split_once("-W").ok_or_else(bad)?;
        let year: i16 = y.parse().map_err(|_| bad())?;
        let week: i8 = w.parse().map_err(|_| bad())?;
        IsoWeek::new(year, week).ok_or_else(|| format!("{s:?}: ISO year {year} has no week {week}"))
    }
}

impl Serialize for IsoWeek {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoWeek {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A probability in [0, 1]; construction rejects NaN and values outside the range.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Probability(f64);

impl Probability {
    /// Checks the range; `None` for NaN or values outside [0, 1].
    pub fn new(p: f64) -> Option<Self> {
        (0.0..=1.0).contains(&p).then_some(Probability(p))
    }

    /// Clamps into [0, 1] (NaN becomes 0); for values that are probabilities by construction but
    /// may carry rounding error, such as a CDF complement.
    pub fn clamped(p: f64) -> Self {
        if p.is_nan() {
            Probability(0.0)
        } else {
            Probability(p.clamp(0.0, 1.0))
        }
    }

    /// The value as a float.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Probability {
    type Error = String;
    fn try_from(p: f64) -> Result<Self, Self::Error> {
        Probability::new(p).ok_or_else(|| format!("{p} is not a probability in [0, 1]"))
    }
}

impl From<Probability> for f64 {
    fn from(p: Probability) -> f64 {
        p.0
    }
}

impl fmt::Display for Probability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}", self.0)
    }
}

/// A two-sided confidence interval `[lo, hi]` on some estimate, serialised as `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 2]", into = "[f64; 2]")]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

impl Interval {
    /// Builds an interval, ordering the bounds.
    pub fn new(a: f64, b: f64) -> Self {
        if a <= b {
            Interval { lo: a, hi: b }
        } else {
            Interval { lo: b, hi: a }
        }
    }

    /// Whether `x` lies inside the closed interval.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

impl From<[f64; 2]> for Interval {
    fn from(v: [f64; 2]) -> Self {
        Interval::new(v[0], v[1])
    }
}

impl From<Interval> for [f64; 2] {
    fn from(i: Interval) -> Self {
        [i.lo, i.hi]
    }
}

/// How serious a finding is; ordered so that `max` is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Should be looked at this week.
    Warning,
    /// Money is being wasted now.
    Critical,
}

impl Severity {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_week_round_trips_and_handles_year_boundaries() {
        let d = jiff::civil::date(2027, 1, 1);
        assert_eq!(IsoWeek::of_date(d).to_string(), "2026-W53");
        let w: IsoWeek = "2026-W53".parse().unwrap();
        assert_eq!(w.monday(), jiff::civil::date(2026, 12, 28));
        assert_eq!(w.next().to_string(), "2027-W01");
        assert!("2025-W53".parse::<IsoWeek>().is_err());
        assert!("2025-53".parse::<IsoWeek>().is_err());
    }

    #[test]
    fn probability_rejects_out_of_range() {
        assert!(Probability::new(1.2).is_none());
        assert!(Probability::new(f64::NAN).is_none());
        assert_eq!(Probability::clamped(1.0 + 1e-12).get(), 1.0);
    }

    #[test]
    fn event_name_trims_and_rejects_empty() {
        assert_eq!(
            EventName::new(" add_to_cart ").unwrap().as_str(),
            "add_to_cart"
        );
        assert!(EventName::new("   ").is_none());
    }
}
