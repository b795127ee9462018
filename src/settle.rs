//! Late data: when a week's numbers are final.
//!
//! A week's data keep changing after the week ends: GA4's daily export tables are rewritten for
//! up to 72 hours, and ad platforms keep attributing conversions to past days through their
//! attribution or conversion window. A complete week is therefore **provisional** until its end
//! plus the settle time of every source that fed the report, and **final** after that; a week the
//! data do not cover whole is **partial**. Only final weeks are emailed as final and recorded as
//! sent. Pure: the clock is a parameter.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::types::IsoWeek;

/// A source of the report's numbers, with its own settle time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An event log file in the canonical layout or mapped by config (CSV, JSON Lines).
    Log,
    /// GA4's BigQuery export read from files (`source.kind = "ga4_export"`).
    Ga4Export,
    /// GA4's BigQuery export read in BigQuery (`source.kind = "bigquery"`).
    Bigquery,
    /// The GA4 Data API (`[ga4]`).
    Ga4Api,
    /// The Meta Marketing API (`[meta]`).
    Meta,
    /// The Google Ads API (`[google_ads]`).
    GoogleAds,
}

impl Source {
    /// Every source, in key order.
    pub const ALL: [Source; 6] = [
        Source::Log,
        Source::Ga4Export,
        Source::Bigquery,
        Source::Ga4Api,
        Source::Meta,
        Source::GoogleAds,
    ];

    /// The key under `[report.settle_hours]`.
    pub fn key(self) -> &'static str {
        match self {
            Source::Log => "log",
            Source::Ga4Export => "ga4_export",
            Source::Bigquery => "bigquery",
            Source::Ga4Api => "ga4_api",
            Source::Meta => "meta",
            Source::GoogleAds => "google_ads",
        }
    }

    /// The source of a `[report.settle_hours]` key.
    pub fn from_key(key: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.key() == key)
    }

    /// The default settle time in hours, and why (docs/email.md cites the references):
    /// GA4's export tables are updated for up to 72 hours after the day; the Data API reads the
    /// same processed data; Meta attributes by default up to 7 days after the click; Google Ads
    /// counts conversions up to its default 30-day conversion window after the click. A log
    /// file you export yourself is taken as final when written.
    pub fn default_hours(self) -> u32 {
        match self {
            Source::Log => 0,
            Source::Ga4Export | Source::Bigquery | Source::Ga4Api => 72,
            Source::Meta => 7 * 24,
            Source::GoogleAds => 30 * 24,
        }
    }
}

/// How final one week's numbers are at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finality {
    /// The data do not cover the whole week.
    Partial,
    /// Complete, but late data may still change it until `until`.
    Provisional {
        /// When it becomes final.
        until: Timestamp,
    },
    /// Complete and settled.
    Final,
}

/// When a complete week becomes final: the end of the week (in `tz`) plus `settle_hours`.
pub fn final_at(week: IsoWeek, tz: &TimeZone, settle_hours: u32) -> Timestamp {
    let end = crate::observe::week_span(week, tz).1;
    let at = end.saturating_add(i64::from(settle_hours) * 3_600_000_000);
    Timestamp::from_microsecond(at).unwrap_or(Timestamp::MAX)
}

/// How final `week` is at `now`, given whether the data cover it whole.
pub fn finality(
    week: IsoWeek,
    complete: bool,
    tz: &TimeZone,
    settle_hours: u32,
    now: Timestamp,
) -> Finality {
    if !complete {
        return Finality::Partial;
    }
    let until = final_at(week, tz, settle_hours);
    if now < until {
        Finality::Provisional { until }
    } else {
        Finality::Final
    }
}

/// The settle time that applies to a report: the longest of its sources' (a week is final
/// only when every number in it is), with the source that sets it. `None` without sources.
pub fn governing(sources: &[(Source, u32)]) -> Option<(Source, u32)> {
    sources.iter().copied().max_by_key(|(s, h)| (*h, *s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_complete_week_is_provisional_until_its_end_plus_the_settle_time() {
        let w: IsoWeek = "2026-W46".parse().unwrap(); // Mon 2026-11-09 … Sun 2026-11-15
        let utc = TimeZone::UTC;
        assert_eq!(final_at(w, &utc, 72), at("2026-11-19T00:00:00Z"));
        let just_before = at("2026-11-18T23:59:59Z");
        assert_eq!(
            finality(w, true, &utc, 72, just_before),
            Finality::Provisional {
                until: at("2026-11-19T00:00:00Z")
            }
        );
        assert_eq!(
            finality(w, true, &utc, 72, at("2026-11-19T00:00:00Z")),
            Finality::Final
        );
        assert_eq!(
            finality(w, false, &utc, 0, at("2027-01-01T00:00:00Z")),
            Finality::Partial
        );
        // With no settle time, the Monday after is final at midnight of the week's zone.
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(final_at(w, &tokyo, 0), at("2026-11-15T15:00:00Z"));
    }

    #[test]
    fn the_slowest_source_governs() {
        assert_eq!(governing(&[]), None);
        let s = [(Source::Log, 0), (Source::Meta, 168), (Source::Ga4Api, 72)];
        assert_eq!(governing(&s), Some((Source::Meta, 168)));
        for s in Source::ALL {
            assert_eq!(Source::from_key(s.key()), Some(s));
        }
    }
}
