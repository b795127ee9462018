//! Unit tests of the drift tests and flag rules.

use super::*;

fn params() -> FlagParams {
    FlagParams::new(0.05, 0.95, 30, 2, 7, EffectSizes::default())
}

/// Two segments; `share` = proxy units per segment out of 1,000 units each, `buyers` =
/// purchasers among them.
fn week(i: i8, share: [u64; 2], buyers: [u64; 2], censored: bool) -> DriftWeek {
    DriftWeek {
        week: IsoWeek::new(2026, 10 + i).unwrap(),
        stored: false,
        censored,
        share: share.iter().map(|&y| Counts { n: 1000, y }).collect(),
        precision: share
            .iter()
            .zip(buyers)
            .map(|(&n, y)| Counts { n, y })
            .collect(),
    }
}

fn series(last: [u64; 2], before_last: [u64; 2], prec_before_last: [u64; 2]) -> Vec<DriftWeek> {
    let mut s: Vec<DriftWeek> = (0..8)
        .map(|i| week(i, [100 + (i as u64 % 3), 50], [20, 5], false))
        .collect();
    s.push(week(8, before_last, prec_before_last, false));
    s.push(week(9, last, [0, 0], true));
    s
}

#[test]
fn one_bad_week_is_a_tracking_break() {
    let t = drift_tests(&series([20, 10], [100, 50], [20, 5]), &params());
    let b = t
        .iter()
        .find(|c| matches!(c, Candidate::Break { .. }))
        .unwrap();
    assert!(b.large(&params()) && b.p() < 1e-6, "{b:?}");
    // A 30% dip is significant at this size but not a break.
    let t = drift_tests(&series([70, 35], [100, 50], [20, 5]), &params());
    let b = t
        .iter()
        .find(|c| matches!(c, Candidate::Break { .. }))
        .unwrap();
    assert!(!b.large(&params()), "{b:?}");
}

/// The censored last week's precision (no buyers yet) is never compared: a surge needs the
/// uncensored recent week's precision to fall.
#[test]
fn surge_reads_precision_from_uncensored_weeks_only() {
    let healthy = drift_tests(&series([300, 150], [300, 150], [60, 15]), &params());
    let s = healthy
        .iter()
        .find(|c| matches!(c, Candidate::Surge { .. }))
        .unwrap();
    assert!(!s.large(&params()), "{s:?}");
    let broken = drift_tests(&series([300, 150], [300, 150], [21, 5]), &params());
    let s = broken
        .iter()
        .find(|c| matches!(c, Candidate::Surge { .. }))
        .unwrap();
    assert!(s.large(&params()) && s.p() < 1e-6, "{s:?}");
}

#[test]
fn last_week_of_the_log_is_censored() {
    let w = IsoWeek::new(2026, 10).unwrap();
    // W10 ends Monday 2026-03-09 00:00 UTC = 1_773_014_400 s.
    let end_of = |s: i64| s * 1_000_000;
    assert!(censored(w, end_of(1_773_014_400), 7));
    assert!(!censored(w, end_of(1_773_014_400 + 7 * 86_400), 7));
    assert!(!censored(w, end_of(1_773_014_400 + 6 * 86_400 + 1), 7));
    assert!(censored(w, end_of(1_773_014_400 + 6 * 86_400 - 1), 7));
}

/// Four weeks of 20 sessions a day: `sweep` fires in the even ones, of which 1 in 10 buys;
/// half the others buy. Its odds ratio (about 0.11) lies wholly below 1.
fn against() -> crate::evidence::ProxyEvidence {
    use crate::evidence::fixture;
    use crate::observe::ObservationBuilder;
    let spec = fixture::spec(&["sweep"]);
    let monday = fixture::monday_micros(2026, 10);
    let mut b = ObservationBuilder::new(spec);
    let (mut seq, minute) = (0u64, 60_000_000i64);
    for day in 0..28i64 {
        for k in 0..20i64 {
            let user = format!("u{day}-{k}");
            let mut names = vec!["view_item"];
            if k % 2 == 0 {
                names.push("sweep");
            }
            if k % 4 == 1 || k % 20 == 0 {
                names.push("purchase");
            }
            let t0 = monday + (day * 1440 + 480 + k * 20) * minute;
            for (i, name) in names.iter().enumerate() {
                b.push(&crate::event::Event {
                    line: seq + 2,
                    seq,
                    micros: t0 + i as i64 * minute,
                    user: &user,
                    session: Some(&user),
                    name,
                    device: None,
                    channel: None,
                    value: None,
                })
                .unwrap();
                seq += 1;
            }
        }
    }
    let obs = b.finish();
    let a = fixture::settings();
    crate::evidence::measure(&obs, &a).remove(0)
}

/// An event whose whole interval lies below 1 is said to predict against purchase, not to
/// lack evidence.
#[test]
fn an_odds_ratio_below_one_predicts_against_purchase() {
    let e = against();
    let or = e.odds_ratio_ci.unwrap();
    assert!(or.hi < 1.0, "{or:?}");
    let purchase = EventName::new("purchase").unwrap();
    let f = not_predictive(&e, &params(), &purchase).unwrap();
    assert!(
        f.message.ends_with("it predicts against purchase"),
        "{}",
        f.message
    );
    // Another outcome is named in its place.
    let lead = EventName::new("qualify_lead").unwrap();
    let f = not_predictive(&e, &params(), &lead).unwrap();
    assert!(
        f.message.ends_with(
            "reach qualify_lead less often than those without: it predicts against qualify_lead"
        ),
        "{}",
        f.message
    );
}

/// Over weekly aggregates the flag says there is no event-level data, whatever the counts;
/// over event-level data the same evidence gets no insufficient-data flag.
#[test]
fn aggregates_get_their_own_insufficient_data_flag() {
    let e = against();
    assert!(insufficient(&e, &params(), 1_000).is_none());
    let f = insufficient(&e, &params().over_aggregates(true), 1_000).unwrap();
    assert_eq!(f.kind, FlagKind::InsufficientData);
    assert!(
        f.message.starts_with("no event-level data"),
        "{}",
        f.message
    );
}
