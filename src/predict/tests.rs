use super::*;
use crate::event::Event;
use crate::evidence::fixture;
use crate::observe::ObservationBuilder;

/// `weeks` weeks of 100 one-session users a week: 20 add to cart (8 of them buy), 80 do not
/// (2 of them buy). No device, no channel.
fn obs(weeks: i64) -> Observations {
    let mut b = ObservationBuilder::new(fixture::spec(&["add_to_cart"]));
    let monday = fixture::monday_micros(2026, 10);
    let (mut seq, minute) = (0u64, 60_000_000i64);
    for w in 0..weeks {
        for k in 0..100i64 {
            let cart = k < 20;
            let buys = if cart { k < 8 } else { k < 22 };
            let t0 = monday + (w * 7 + k % 7) * 1440 * minute + k * 10 * minute;
            let user = format!("u{w}-{k}");
            let mut names = vec!["view_item"];
            if cart {
                names.push("add_to_cart");
            }
            if buys {
                names.push("purchase");
            }
            for (i, name) in names.iter().enumerate() {
                b.push(&Event {
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
    b.finish()
}

fn spec(tops: &[f64]) -> PredictSpec {
    PredictSpec {
        tops: tops.to_vec(),
    }
}

#[test]
fn one_event_gives_the_closed_form_log_odds_and_one_cut_at_its_units() {
    let o = obs(6);
    let m = fit(&o, &spec(&[0.1, 0.2, 0.5]), 8).unwrap();
    // Saturated: the intercept is the log odds without the event, the coefficient the log odds
    // ratio (8 of 20 against 2 of 80).
    let (p1, p0) = (8.0 / 20.0, 2.0 / 80.0);
    let logit = |p: f64| (p / (1.0 - p)).ln();
    assert!((m.model.intercept - logit(p0)).abs() < 1e-8, "{m:?}");
    assert!((m.model.events[0].coefficient - (logit(p1) - logit(p0))).abs() < 1e-8);
    // Woolf: the coefficient's standard error over the training weeks' cells.
    let weeks = m.training_weeks.len() as f64;
    let woolf = (1.0 / 8.0 + 1.0 / 12.0 + 1.0 / 2.0 + 1.0 / 78.0_f64).sqrt() / weeks.sqrt();
    assert!((m.terms[1].std_error - woolf).abs() < 1e-6, "{:?}", m.terms);
    // Top 10% takes in the whole cart group (20%); top 20% repeats that cut; top 50% would take
    // in everyone: one point.
    assert_eq!(m.grid.len(), 1, "{:?}", m.grid);
    let g = &m.grid[0];
    assert_eq!(g.name.as_str(), "predicted_purchase_top10");
    assert!((g.training_share - 0.2).abs() < 1e-12);
    assert!((g.threshold - p1).abs() < 1e-8);
    // The held-out weeks have the same proportions: calibrated exactly.
    let (_, held, _) = crate::derive::split(&o);
    let c = calibrate(&o, &m, &held, 0.95);
    assert!(
        (c.observed_over_expected.unwrap() - 1.0).abs() < 1e-8,
        "{c:?}"
    );
    assert!((c.slope.unwrap() - 1.0).abs() < 1e-6, "{c:?}");
    assert!(c.intercept.unwrap().abs() < 1e-6, "{c:?}");
    let pt = &c.points[0];
    assert_eq!(
        (pt.units, pt.purchasers),
        (20 * held.len() as u64, 8 * held.len() as u64)
    );
    assert!((pt.recall.unwrap() - 0.8).abs() < 1e-12);
    // AUC of a two-level score, ties counted half: (TPR + TNR) / 2.
    let (tpr, tnr) = (8.0 / 10.0, 78.0 / 90.0);
    assert!((c.auc.unwrap() - (tpr + tnr) / 2.0).abs() < 1e-12, "{c:?}");
}

#[test]
fn too_few_weeks_or_no_free_bit_fits_nothing() {
    assert!(matches!(
        fit(&obs(3), &spec(&DEFAULT_TOPS), 8),
        Err(NotFitted::TooFewWeeks { .. })
    ));
    assert_eq!(
        fit(&obs(6), &spec(&DEFAULT_TOPS), 0),
        Err(NotFitted::NoRoom { candidates: 1 })
    );
}

#[test]
fn the_grid_stops_at_the_free_bits_and_names_the_share_taken_in() {
    assert_eq!(
        point_name(&EventName::new("purchase").unwrap(), 0.044).as_str(),
        "predicted_purchase_top4_4"
    );
    assert_eq!(
        point_name(&EventName::new("purchase").unwrap(), 0.1).as_str(),
        "predicted_purchase_top10"
    );
    let long = EventName::new("a_very_long_outcome_name_of_thirty_chars").unwrap();
    assert_eq!(point_name(&long, 0.25).as_str(), "predicted_top25");
    let m = fit(&obs(6), &spec(&[0.1]), 1).unwrap();
    assert_eq!(m.grid.len(), 1);
}
