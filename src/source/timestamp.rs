//! Timestamp formats of event logs: RFC 3339, Unix seconds/milliseconds/microseconds, common
//! `YYYY-MM-DD HH:MM:SS[ UTC]` layouts and strftime patterns; detected from the first value or
//! configured.
//!
//! Every timestamp becomes microseconds since the Unix epoch (UTC), the unit the rest of the
//! pipeline works in.

use std::fmt;

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// How the timestamp column is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampFormat {
    /// Decide from the first non-empty value, then keep that format for the whole file.
    Auto,
    /// RFC 3339 with an offset (`2026-09-07T08:15:02Z`); a space instead of `T` and a trailing
    /// ` UTC` (as in REES46) are accepted too.
    Rfc3339,
    /// Unix seconds, possibly with a fractional part.
    UnixSeconds,
    /// Unix milliseconds.
    UnixMillis,
    /// Unix microseconds (GA4's `event_timestamp`).
    UnixMicros,
    /// A strftime pattern (`%Y-%m-%d %H:%M:%S`); without `%z`/`%Z` it is read in the analysis
    /// time zone.
    Pattern(String),
}

impl TimestampFormat {
    /// Parses the configuration spelling: `auto`, `rfc3339`, `unix_s`, `unix_ms`, `unix_us`, or a
    /// strftime pattern containing `%`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "auto" | "" => TimestampFormat::Auto,
            "rfc3339" => TimestampFormat::Rfc3339,
            "unix_s" | "unix" | "unix_seconds" => TimestampFormat::UnixSeconds,
            "unix_ms" | "unix_millis" => TimestampFormat::UnixMillis,
            "unix_us" | "unix_micros" => TimestampFormat::UnixMicros,
            p if p.contains('%') => TimestampFormat::Pattern(p.to_string()),
            _ => return None,
        })
    }

    /// Detects the format of one sample value; `None` when no supported format reads it.
    pub fn detect(sample: &str, tz: &TimeZone) -> Option<Self> {
        let s = sample.trim();
        if s.is_empty() {
            return None;
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            // Magnitude decides the unit: seconds until the year 5138, then ms, then µs.
            let v: u128 = s.parse().ok()?;
            return Some(if v < 100_000_000_000 {
                TimestampFormat::UnixSeconds
            } else if v < 100_000_000_000_000 {
                TimestampFormat::UnixMillis
            } else if v < 100_000_000_000_000_000 {
                TimestampFormat::UnixMicros
            } else {
                return None;
            });
        }
        if s.parse::<f64>().is_ok() {
            return Some(TimestampFormat::UnixSeconds);
        }
        if parse_rfc3339ish(s, tz).is_some() {
            return Some(TimestampFormat::Rfc3339);
        }
        None
    }

    /// Parses one value into microseconds since the epoch; `None` when it does not fit the format.
    pub fn parse_micros(&self, value: &str, tz: &TimeZone) -> Option<i64> {
        let s = value.trim();
        match self {
            TimestampFormat::Auto => {
                TimestampFormat::detect(s, tz).and_then(|f| f.parse_micros(s, tz))
            }
            TimestampFormat::Rfc3339 => parse_rfc3339ish(s, tz),
            TimestampFormat::UnixSeconds => {
                if let Ok(v) = s.parse::<i64>() {
                    v.checked_mul(1_000_000)
                } else {
                    let f: f64 = s.parse().ok()?;
                    let us = (f * 1e6).round();
                    (us.is_finite() && us.abs() < 9.0e18).then_some(us as i64)
                }
            }
            TimestampFormat::UnixMillis => s.parse::<i64>().ok()?.checked_mul(1_000),
            TimestampFormat::UnixMicros => s.parse::<i64>().ok(),
            TimestampFormat::Pattern(p) => {
                let tm = jiff::fmt::strtime::parse(p, s).ok()?;
                if let Ok(ts) = tm.to_timestamp() {
                    return Some(ts.as_microsecond());
                }
                let dt = tm.to_datetime().ok()?;
                Some(dt.to_zoned(tz.clone()).ok()?.timestamp().as_microsecond())
            }
        }
    }
}

impl fmt::Display for TimestampFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimestampFormat::Auto => f.write_str("auto"),
            TimestampFormat::Rfc3339 => f.write_str("rfc3339"),
            TimestampFormat::UnixSeconds => f.write_str("unix_s"),
            TimestampFormat::UnixMillis => f.write_str("unix_ms"),
            TimestampFormat::UnixMicros => f.write_str("unix_us"),
            TimestampFormat::Pattern(p) => f.write_str(p),
        }
    }
}

/// RFC 3339 and its common relatives: `T` or space between date and time, `Z`/offset, or a
/// trailing ` UTC`; a value without any zone is read in `tz`.
fn parse_rfc3339ish(s: &str, tz: &TimeZone) -> Option<i64> {
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts.as_microsecond());
    }
    let (body, utc) = match s.strip_suffix(" UTC").or_else(|| s.strip_suffix(" GMT")) {
        Some(b) => (b, true),
        None => (s, false),
    };
    let dt: jiff::civil::DateTime = body.parse().ok()?;
    let zone = if utc { TimeZone::UTC } else { tz.clone() };
    Some(dt.to_zoned(zone).ok()?.timestamp().as_microsecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    #[test]
    fn detects_unix_units_by_magnitude() {
        let tz = utc();
        assert_eq!(
            TimestampFormat::detect("1511658000", &tz),
            Some(TimestampFormat::UnixSeconds)
        );
        assert_eq!(
            TimestampFormat::detect("1511658000123", &tz),
            Some(TimestampFormat::UnixMillis)
        );
        assert_eq!(
            TimestampFormat::detect("1511658000123456", &tz),
            Some(TimestampFormat::UnixMicros)
        );
        for (v, f) in [
            ("1511658000", TimestampFormat::UnixSeconds),
            ("1511658000000", TimestampFormat::UnixMillis),
            ("1511658000000000", TimestampFormat::UnixMicros),
        ] {
            assert_eq!(f.parse_micros(v, &tz), Some(1_511_658_000_000_000));
        }
    }

    #[test]
    fn reads_rfc3339_and_rees46_layouts() {
        let tz = utc();
        let want = Some(1_569_888_001_000_000);
        assert_eq!(
            TimestampFormat::Rfc3339.parse_micros("2019-10-01T00:00:01Z", &tz),
            want
        );
        assert_eq!(
            TimestampFormat::Rfc3339.parse_micros("2019-10-01T02:00:01+02:00", &tz),
            want
        );
        assert_eq!(
            TimestampFormat::Auto.parse_micros("2019-10-01 00:00:01 UTC", &tz),
            want
        );
        let p = TimestampFormat::parse("%Y-%m-%d %H:%M:%S UTC").unwrap();
        assert_eq!(p.parse_micros("2019-10-01 00:00:01 UTC", &tz), want);
    }

    #[test]
    fn naive_values_use_the_analysis_zone() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(
            TimestampFormat::Rfc3339.parse_micros("2019-10-01 02:00:01", &berlin),
            Some(1_569_888_001_000_000)
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let tz = utc();
        for v in [
            "",
            "yesterday",
            "99999999999999999999999",
            "2019-13-45T00:00:00Z",
            "-",
        ] {
            assert_eq!(TimestampFormat::Auto.parse_micros(v, &tz), None, "{v}");
        }
        assert_eq!(
            TimestampFormat::UnixSeconds.parse_micros("1e300", &tz),
            None
        );
    }
}
