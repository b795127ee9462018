//! Unit tests of the demo generator: calibration targets, determinism, the giveaway and the
//! identified export.

use super::*;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The default store, generated once for all tests that read it.
fn default_log() -> &'static (Vec<u8>, DemoSummary) {
    static LOG: OnceLock<(Vec<u8>, DemoSummary)> = OnceLock::new();
    LOG.get_or_init(|| {
        let mut csv = Vec::new();
        let summary = generate(&DemoSpec::default(), &mut csv).unwrap();
        (csv, summary)
    })
}

struct Parsed {
    ts: i64,
    user: String,
    session: String,
    event: String,
}

fn parse(csv: &[u8]) -> Vec<Parsed> {
    let mut reader = csv::Reader::from_reader(csv);
    assert_eq!(
        reader
            .headers()
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
            .join(","),
        HEADER
    );
    let events: Vec<&str> = EVENTS.iter().map(|e| e.as_str()).collect();
    let devices: Vec<&str> = DEVICES.iter().map(|d| d.as_str()).collect();
    let channels: Vec<&str> = CHANNELS.iter().map(|c| c.as_str()).collect();
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = rec.unwrap();
        assert_eq!(rec.len(), 7, "{rec:?}");
        let ts = &rec[0];
        assert_eq!(ts.len(), 20, "{ts}");
        assert!(ts.ends_with('Z'), "{ts}");
        let parsed: jiff::Timestamp = ts.parse().unwrap();
        assert_eq!(parsed.to_string(), ts, "RFC 3339 with whole seconds");
        assert!(rec[1].len() == 12 && rec[2].len() == 12, "{rec:?}");
        assert!(events.contains(&&rec[3]), "{rec:?}");
        assert!(devices.contains(&&rec[4]), "{rec:?}");
        assert!(channels.contains(&&rec[5]), "{rec:?}");
        let value = &rec[6];
        if &rec[3] == "purchase" {
            let (eur, cents) = value.split_once('.').unwrap();
            assert!(
                eur.parse::<u32>().unwrap() >= 5 && cents.len() == 2,
                "{value}"
            );
            assert!(cents.bytes().all(|b| b.is_ascii_digit()), "{value}");
        } else {
            assert!(value.is_empty(), "{rec:?}");
        }
        out.push(Parsed {
            ts: parsed.as_second(),
            user: rec[1].to_string(),
            session: rec[2].to_string(),
            event: rec[3].to_string(),
        });
    }
    out
}

fn small_spec() -> DemoSpec {
    DemoSpec {
        weeks: 3,
        sessions_per_week: 800,
        giveaway: Some(Giveaway {
            last_weeks: 1,
            sessions_per_week: 300,
            purchase_rate: 0.001,
        }),
        traffic_surge: None,
        storefront_change: None,
        ..DemoSpec::default()
    }
}

#[test]
fn same_spec_gives_identical_csv_and_gzip_bytes() {
    let (csv, summary) = default_log();
    let mut again = Vec::new();
    assert_eq!(
        &generate(&DemoSpec::default(), &mut again).unwrap(),
        summary
    );
    assert!(csv == &again, "two runs of the default spec differ");

    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec();
    let (a, b) = (dir.path().join("a.csv.gz"), dir.path().join("b.csv.gz"));
    let sa = write_gz(&spec, &a).unwrap();
    let sb = write_gz(&spec, &b).unwrap();
    assert_eq!(sa, sb);
    let (ga, gb) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    assert_eq!(ga, gb);
    // gzip header: no file name flag, zero mtime.
    assert_eq!(&ga[..4], &[0x1f, 0x8b, 8, 0]);
    assert_eq!(&ga[4..8], &[0, 0, 0, 0]);
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&ga[..]), &mut plain).unwrap();
    let mut direct = Vec::new();
    generate(&spec, &mut direct).unwrap();
    assert!(plain == direct, "gzip content differs from generate()");
    // Only the two outputs are left: no temporary files.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn rows_parse_are_sorted_and_match_the_summary() {
    let (csv, summary) = default_log();
    let rows = parse(csv);
    assert_eq!(rows.len() as u64, summary.rows);
    assert!(
        rows.windows(2).all(|w| w[0].ts <= w[1].ts),
        "rows not sorted"
    );
    let start = jiff::civil::date(2026, 9, 7)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap();
    let first = start.timestamp().as_second();
    assert!(rows[0].ts >= first && rows.last().unwrap().ts < first + 10 * WEEK);
    let sessions: HashSet<&str> = rows.iter().map(|r| r.session.as_str()).collect();
    let users: HashSet<&str> = rows.iter().map(|r| r.user.as_str()).collect();
    assert_eq!(sessions.len() as u64, summary.sessions);
    assert_eq!(users.len() as u64, summary.users);
    let purchases = rows.iter().filter(|r| r.event == "purchase").count() as u64;
    assert_eq!(purchases, summary.purchases);
    let weeks: Vec<String> = summary.weeks.iter().map(|w| w.week.to_string()).collect();
    assert_eq!(weeks.first().unwrap(), "2026-W37");
    assert_eq!(weeks.last().unwrap(), "2026-W46");
    assert_eq!(weeks.len(), 10);
    // Some users come back, some several times.
    assert!(summary.users * 10 < summary.sessions * 8);
}

#[test]
fn funnel_steps_follow_their_predecessors_in_every_session() {
    let (csv, _) = default_log();
    let order = [
        "view_item",
        "add_to_cart",
        "begin_checkout",
        "add_shipping_info",
        "add_payment_info",
        "purchase",
    ];
    let mut by_session: HashMap<&str, Vec<&Parsed>> = HashMap::new();
    let rows = parse(csv);
    for r in &rows {
        by_session.entry(&r.session).or_default().push(r);
    }
    for (id, events) in &by_session {
        assert_eq!(events[0].event, "session_start", "session {id}");
        assert!(
            events.iter().all(|e| e.user == events[0].user),
            "session {id}"
        );
        let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        let first = |n: &str| names.iter().position(|&x| x == n);
        for pair in order.windows(2) {
            if let Some(later) = first(pair[1]) {
                let earlier = first(pair[0]);
                assert!(
                    earlier.is_some_and(|e| e < later),
                    "session {id}: {} without an earlier {}: {names:?}",
                    pair[1],
                    pair[0]
                );
            }
        }
        if let Some(w) = first("add_to_wishlist") {
            assert!(first("view_item").is_some_and(|v| v < w), "{names:?}");
        }
        assert!(names.iter().filter(|&&n| n == "purchase").count() <= 1);
    }
}

#[test]
fn giveaway_floods_sign_up_and_collapses_its_precision() {
    let (csv, summary) = default_log();
    let sign_ups: Vec<u64> = summary
        .weeks
        .iter()
        .map(|w| w.sessions_with("sign_up"))
        .collect();
    let before = sign_ups[..8].iter().sum::<u64>() as f64 / 8.0;
    assert!((70.0..150.0).contains(&before), "{sign_ups:?}");
    for &n in &sign_ups[8..] {
        assert!(n as f64 > 5.0 * before, "{sign_ups:?}");
    }
    // P(purchase in the session | sign_up in the session), before and during the giveaway.
    let rows = parse(csv);
    let giveaway_start = rows[0].ts - rows[0].ts.rem_euclid(WEEK) + 8 * WEEK;
    let mut sessions: HashMap<&str, (bool, bool, bool)> = HashMap::new();
    for r in &rows {
        let s = sessions
            .entry(&r.session)
            .or_insert((r.ts >= giveaway_start, false, false));
        s.1 |= r.event == "sign_up";
        s.2 |= r.event == "purchase";
    }
    let precision = |late: bool| {
        let (n, k) = sessions
            .values()
            .filter(|s| s.0 == late && s.1)
            .fold((0, 0), |(n, k), s| (n + 1, k + usize::from(s.2)));
        k as f64 / n as f64
    };
    let (normal, giveaway) = (precision(false), precision(true));
    assert!(
        normal > 0.025,
        "sign_up precision before the giveaway {normal}"
    );
    assert!(giveaway < normal / 4.0, "{normal} -> {giveaway}");
}

#[test]
fn weekly_volumes_and_precisions_hit_their_targets() {
    let (_, summary) = default_log();
    for w in &summary.weeks {
        let p = w.sessions_with("purchase");
        assert!((40..=105).contains(&p), "{}: {p} purchases", w.week);
        assert_eq!(w.events["purchase"].rows, p, "one purchase per session");
    }
    let regular = &summary.weeks[..8];
    let total = |e: &str| regular.iter().map(|w| w.sessions_with(e)).sum::<u64>() as f64;
    let sessions = regular.iter().map(|w| w.sessions).sum::<u64>() as f64;
    let purchases = total("purchase");
    let rate = |e: &str| total(e) / sessions;
    assert!((0.80..0.90).contains(&rate("view_item")));
    assert!((0.10..0.14).contains(&rate("add_to_cart")));
    assert!(
        (0.016..0.024).contains(&rate("purchase")),
        "{}",
        rate("purchase")
    );
    let precision = |e: &str| purchases / total(e);
    assert!(
        (0.13..0.22).contains(&precision("add_to_cart")),
        "{}",
        precision("add_to_cart")
    );
    assert!((0.33..0.48).contains(&precision("begin_checkout")));
    assert!((0.55..0.75).contains(&precision("add_payment_info")));
    // Giveaway weeks: add_to_cart moves by traffic, not by the flood of sign-ups.
    let atc_before = total("add_to_cart") / 8.0;
    for w in &summary.weeks[8..] {
        let atc = w.sessions_with("add_to_cart") as f64;
        assert!((atc / atc_before - 1.0).abs() < 0.3, "{}: {atc}", w.week);
    }
}

#[test]
fn the_giveaway_only_adds_sessions() {
    let with = small_spec();
    let without = DemoSpec {
        giveaway: None,
        ..small_spec()
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let sa = generate(&with, &mut a).unwrap();
    let sb = generate(&without, &mut b).unwrap();
    assert!(sa.sessions > sb.sessions + 200);
    // Every line of the store without a giveaway appears, in order, in the one with it.
    let a = String::from_utf8(a).unwrap();
    let b = String::from_utf8(b).unwrap();
    let mut lines = a.lines();
    for line in b.lines() {
        assert!(lines.any(|l| l == line), "missing {line}");
    }
}

#[test]
fn invalid_specs_are_rejected() {
    let tuesday = DemoSpec {
        first_week_monday: jiff::civil::date(2026, 9, 8),
        ..DemoSpec::default()
    };
    let no_weeks = DemoSpec {
        weeks: 0,
        ..DemoSpec::default()
    };
    let long_giveaway = DemoSpec {
        weeks: 1,
        ..DemoSpec::default()
    };
    for spec in [tuesday, no_weeks, long_giveaway] {
        let err = generate(&spec, std::io::sink()).unwrap_err();
        assert!(matches!(err, DemoError::InvalidSpec(_)), "{err}");
    }
    let missing = Path::new("/nonexistent-dir-for-optsignal/demo.csv.gz");
    let err = write_gz(&small_spec(), missing).unwrap_err();
    assert!(matches!(err, DemoError::File { .. }), "{err}");
}

#[test]
fn samplers_have_the_right_means() {
    let mut rng = stream(1, 2);
    let n = 4_000;
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let p = mean((0..n).map(|_| poisson(&mut rng, 1_500.0) as f64).collect());
    assert!((p - 1_500.0).abs() < 5.0, "{p}");
    let p = mean((0..n).map(|_| poisson(&mut rng, 3.0) as f64).collect());
    assert!((p - 3.0).abs() < 0.15, "{p}");
    let g = mean((0..n).map(|_| gamma(&mut rng, 100.0) / 100.0).collect());
    assert!((g - 1.0).abs() < 0.01, "{g}");
    let g = mean((0..n).map(|_| gamma(&mut rng, 0.5)).collect());
    assert!((g - 0.5).abs() < 0.05, "{g}");
}
