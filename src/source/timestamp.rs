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
        let s = trim(value);
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

/// `str::trim`, without its Unicode scan when the ends are plain ASCII (the usual case: the
/// reader trims seven fields per row). Same result as `str::trim` for every input.
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    let plain = |b: u8| b > b' ' && b < 0x80;
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if plain(a) && plain(z) => s,
        (None, _) => s,
        _ => s.trim(),
    }
}

/// RFC 3339 and its common relatives: `T` or space between date and time, `Z`/offset, or a
/// trailing ` UTC`; a value without any zone is read in `tz`.
fn parse_rfc3339ish(s: &str, tz: &TimeZone) -> Option<i64> {
    if let Some(us) = fast_rfc3339(s.as_bytes()) {
        return Some(us);
    }
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

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

thread_local! {
    /// The date part (`YYYY-MM-DD`) of the last valid timestamp [`fast_rfc3339`] read on this
    /// thread, with its day number: consecutive rows of a log mostly share their date, so its
    /// digits are parsed and checked once per day instead of once per row. (All zero bytes, the
    /// initial value, is no date.)
    static LAST_DATE: std::cell::Cell<([u8; 10], i64)> = const { std::cell::Cell::new(([0; 10], 0)) };
}

/// The hot path of log reading: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` at fixed positions,
/// without allocation. Anything else (or any out-of-range field) returns `None` and falls back
/// to jiff's full parser, so this only ever accepts what jiff would accept the same way.
fn fast_rfc3339(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut date = [0u8; 10];
    date.copy_from_slice(&b[..10]);
    let (last, last_days) = LAST_DATE.get();
    let days = if date == last {
        last_days
    } else {
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        LAST_DATE.set((date, days));
        days
    };
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 9 {
            return None;
        }
        for _ in digits..6 {
            micros *= 10;
        }
    }
    let offset_s = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, c: u8| {
                (a.is_ascii_digit() && c.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(c - b'0'))
            };
            let (oh, om) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    #[test]
    fn fast_trim_is_str_trim() {
        for s in [
            "",
            " ",
            "x",
            " x",
            "x ",
            "\tx\n",
            "\u{a0}x",
            "x\u{a0}",
            "\u{3000}é\u{2009}",
            "é",
            "a b",
            "\u{85}",
            "\u{1f}x",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
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
    fn fast_path_agrees_with_jiff() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::default();
        let strat = (
            1900i64..2200,
            1i64..13,
            1i64..32,
            0i64..24,
            0i64..60,
            0i64..60,
            0u32..1_000_000,
            0usize..4,
            -14i64..15,
            0i64..60,
        );
        runner
            .run(&strat, |(y, mo, d, h, mi, s, frac, style, oh, om)| {
                let zone = match style {
                    0 => "Z".to_string(),
                    _ => format!(
                        "{}{:02}:{:02}",
                        if oh < 0 { '-' } else { '+' },
                        oh.abs(),
                        om
                    ),
                };
                let frac = match style {
                    2 => format!(".{frac:06}"),
                    3 => format!(".{:03}", frac % 1000),
                    _ => String::new(),
                };
                let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}");
                let jiff = text.parse::<Timestamp>().ok().map(|t| t.as_microsecond());
                let fast = fast_rfc3339(text.as_bytes());
                // The fast path may decline (None) but must never disagree.
                if let Some(f) = fast {
                    prop_assert_eq!(Some(f), jiff, "{}", text);
                } else {
                    prop_assert!(
                        jiff.is_none() || text.len() < 20,
                        "declined a valid {}",
                        text
                    );
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(fast_rfc3339(b"2026-02-29T00:00:00Z"), None);
        assert_eq!(
            fast_rfc3339(b"2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000_000)
        );
        // Rows sharing a date reuse its day number (cached): same answers as jiff in any order.
        for text in [
            "2024-02-29T23:59:59Z",
            "2024-02-29T24:00:00Z",
            "2024-02-29T12:30:00.250+01:00",
            "2026-02-29T12:00:00Z",
            "2024-02-29T00:00:01-05:30",
            "2024-03-01T00:00:00Z",
            "2024-02-29T00:60:00Z",
            "2024-03-01T23:00:00Z",
        ] {
            let jiff = text.parse::<Timestamp>().ok().map(|t| t.as_microsecond());
            assert_eq!(fast_rfc3339(text.as_bytes()), jiff, "{text}");
        }
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
