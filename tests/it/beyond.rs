//! Beyond the bid, on the demo store through the real binary: funnel diagnosis (mix vs rate),
//! the test-metric advisor against the two-proportion formula, proxy values against precision ×
//! AOV computed here from the raw CSV, and audience-seed ranks.

use crate::util;

use std::collections::HashMap;
use std::io::Read;

use util::*;

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = optsignal().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn demo_cfg() -> String {
    fixture("demo/optsignal.toml").display().to_string()
}

fn change<'a>(f: &'a serde_json::Value, week: &str, step: &str) -> &'a serde_json::Value {
    f["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["week"] == week && c["step"] == step)
        .unwrap_or_else(|| panic!("no change {week} {step}"))
}

#[test]
fn funnel_explains_the_surge_as_mix_and_the_payment_break_as_rate() {
    let f = run_json(&["funnel", "--config", &demo_cfg(), "--format", "json"]);
    let surge = change(&f, "2026-W40", "add_to_cart");
    let d = &surge["decomposition"];
    let (mix, rate) = (
        d["mix"]["estimate"].as_f64().unwrap(),
        d["rate"]["estimate"].as_f64().unwrap(),
    );
    assert_eq!(surge["verdict"], "mix", "{surge}");
    assert!(d["change"].as_f64().unwrap() < -0.01, "{d}");
    assert!(mix < -0.01 && mix.abs() > 2.0 * rate.abs(), "{d}");
    // The rate part's interval covers 0: every segment's rate held.
    assert!(
        d["rate"]["ci"][0].as_f64().unwrap() < 0.0 && d["rate"]["ci"][1].as_f64().unwrap() > 0.0
    );
    assert!((mix + rate - d["change"].as_f64().unwrap()).abs() < 1e-12);
    assert_eq!(surge["driver"], "paid_social");

    let shop = change(&f, "2026-W42", "add_payment_info");
    let d = &shop["decomposition"];
    assert_eq!(shop["verdict"], "rate", "{shop}");
    assert!(d["rate"]["estimate"].as_f64().unwrap() < -0.15, "{d}");
    assert!(d["rate"]["ci"][1].as_f64().unwrap() < 0.0);
    assert!(d["cmh"]["p_value"].as_f64().unwrap() < 0.001);
    assert!(d["mix"]["ci"][0].as_f64().unwrap() < 0.0 && d["mix"]["ci"][1].as_f64().unwrap() > 0.0);

    // The same week's add_to_cart step did not move beyond noise.
    assert_eq!(change(&f, "2026-W42", "add_to_cart")["verdict"], "noise");
    // Step rates are each against their own denominator.
    let w = &f["overall"][5];
    assert_eq!(w["week"], "2026-W42");
    let steps = w["steps"].as_array().unwrap();
    assert_eq!(steps[0]["base"], w["units"]);
    for k in 1..steps.len() {
        assert_eq!(steps[k]["base"], steps[k - 1]["reached"]);
    }
    // Per device and per channel too.
    let dims: Vec<&str> = f["by_segment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["dimension"].as_str().unwrap())
        .collect();
    assert!(dims.contains(&"device") && dims.contains(&"channel"));
}

#[test]
fn funnel_runs_without_a_config_and_says_it_in_a_table() {
    let log = fixture("demo/events.csv.gz");
    let out = optsignal()
        .args(["funnel", "--events", log.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("WHAT MOVED") && text.contains("a traffic-mix story"),
        "{text}"
    );
    assert!(text.contains("FUNNEL BY SEGMENT"), "{text}");
    let bad = optsignal()
        .args([
            "funnel",
            "--events",
            log.to_str().unwrap(),
            "--steps",
            "view_item",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// Units per arm by the two-proportion formula, computed here with tabulated quantiles.
fn n_per_arm(p1: f64, p2: f64, z_alpha: f64, z_beta: f64) -> f64 {
    let pbar = (p1 + p2) / 2.0;
    let num = z_alpha * (2.0 * pbar * (1.0 - pbar)).sqrt()
        + z_beta * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    num * num / ((p2 - p1) * (p2 - p1))
}

#[test]
fn test_plan_weeks_match_the_two_proportion_formula() {
    let plan = run_json(&[
        "test-plan",
        "--config",
        &demo_cfg(),
        "--mde",
        "10%",
        "--format",
        "json",
    ]);
    let r = recommend_json(&["--config", &demo_cfg()]);
    // Base rates and traffic from the report's own weekly counts: the last 4 complete weeks.
    let weekly = r["weekly"].as_array().unwrap();
    let recent: Vec<usize> = (0..weekly.len())
        .filter(|&i| weekly[i]["complete"] == true)
        .collect();
    let recent = &recent[recent.len() - 4..];
    let units: f64 = recent
        .iter()
        .map(|&i| weekly[i]["units"].as_f64().unwrap())
        .sum();
    let weekly_units = units / 4.0;
    assert!((plan["weekly_units"].as_f64().unwrap() - weekly_units).abs() < 1e-9);
    let (z_a, z_b) = (1.959963984540054, 0.8416212335729143); // z_0.975, z_0.8
    let metrics = plan["metrics"].as_array().unwrap();
    assert_eq!(metrics[0]["event"], "purchase");
    for m in metrics {
        let event = m["event"].as_str().unwrap();
        let with: f64 = if event == "purchase" {
            recent
                .iter()
                .map(|&i| weekly[i]["purchase"]["units"].as_f64().unwrap())
                .sum()
        } else {
            let p = proxy(&r, event);
            recent
                .iter()
                .map(|&i| p["weekly"][i]["units"].as_f64().unwrap())
                .sum()
        };
        let p1 = with / units;
        let n = n_per_arm(p1, p1 * 1.1, z_a, z_b);
        let weeks = 2.0 * n / weekly_units;
        assert!(rel(m["base_rate"].as_f64().unwrap(), p1) < 1e-12, "{event}");
        assert!(
            rel(m["units_per_arm"].as_f64().unwrap(), n) < 1e-9,
            "{event}: {m}"
        );
        assert!(
            rel(m["weeks"].as_f64().unwrap(), weeks) < 1e-9,
            "{event}: {m}"
        );
    }
    // Purchase is slow; add_to_cart tracks purchase strongly and is several times faster.
    let weeks = |e: &str| {
        metrics.iter().find(|m| m["event"] == e).unwrap()["weeks"]
            .as_f64()
            .unwrap()
    };
    assert!(weeks("purchase") > 4.0 * weeks("add_to_cart"));
    assert_eq!(plan["suggested"], "add_to_cart");
    let signup = metrics.iter().find(|m| m["event"] == "sign_up").unwrap();
    assert_eq!(signup["tracking"], "broken");

    // Three arms: each treatment against control at α/2, so z_{1−0.0125}.
    let plan3 = run_json(&[
        "test-plan",
        "--config",
        &demo_cfg(),
        "--mde",
        "0.2",
        "--arms",
        "3",
        "--power",
        "0.9",
        "--format",
        "json",
    ]);
    assert!((plan3["alpha_per_comparison"].as_f64().unwrap() - 0.025).abs() < 1e-15);
    let m = &plan3["metrics"][0];
    let p1 = m["base_rate"].as_f64().unwrap();
    let n = n_per_arm(p1, p1 * 1.2, 2.241402727604947, 1.2815515655446004);
    assert!(rel(m["units_per_arm"].as_f64().unwrap(), n) < 1e-9, "{m}");
    assert!(rel(m["weeks"].as_f64().unwrap(), 3.0 * n / weekly_units) < 1e-9);

    let bad = optsignal()
        .args(["test-plan", "--config", &demo_cfg(), "--mde", "-5%"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// One session of the raw demo log.
#[derive(Default)]
struct Sess {
    user: String,
    start: i64,
    /// First time (and row) of each event in the session.
    first: HashMap<String, (i64, usize)>,
}

#[test]
fn proxy_values_match_precision_times_aov_from_the_raw_csv() {
    let mut gz =
        flate2::read::GzDecoder::new(std::fs::File::open(fixture("demo/events.csv.gz")).unwrap());
    let mut text = String::new();
    gz.read_to_string(&mut text).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut sessions: HashMap<(String, String), Sess> = HashMap::new();
    let mut purchases: HashMap<String, Vec<(i64, usize, f64)>> = HashMap::new();
    for (row, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        let t: jiff::Timestamp = rec[0].parse().unwrap();
        let t = t.as_second();
        let (user, sid, event) = (rec[1].to_string(), rec[2].to_string(), rec[3].to_string());
        if event == "purchase" {
            purchases
                .entry(user.clone())
                .or_default()
                .push((t, row, rec[6].parse().unwrap()));
        }
        let s = sessions.entry((user.clone(), sid)).or_insert_with(|| Sess {
            user,
            start: t,
            ..Sess::default()
        });
        s.start = s.start.min(t);
        s.first.entry(event).or_insert((t, row));
    }
    for p in purchases.values_mut() {
        p.sort_by_key(|x| (x.0, x.1));
    }
    let r = recommend_json(&["--config", &demo_cfg()]);
    let values = r["values"]["proxies"].as_array().unwrap();
    // Label rates are measured on the weeks whose labels are complete (docs/definitions.md,
    // "Measured weeks"): the demo's last week is left out. Weeks are cut in UTC.
    let measured: Vec<String> = r["input"]["measured_weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        measured.len() + 1,
        r["input"]["weeks"].as_array().unwrap().len(),
        "{measured:?}"
    );
    let week_of = |t: i64| {
        let d = jiff::Timestamp::from_second(t)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .iso_week_date();
        format!("{}-W{:02}", d.year(), d.week())
    };
    for v in values {
        let event = v["event"].as_str().unwrap();
        let (mut with, mut buyers, mut sum) = (0u64, 0u64, 0.0);
        for s in sessions
            .values()
            .filter(|s| measured.contains(&week_of(s.start)))
        {
            // The feature: fired before the cut, the user's first purchase at or after the
            // session's start in any session (or at all without one): docs/definitions.md.
            let Some(&(t, row)) = s.first.get(event) else {
                continue;
            };
            let cut = purchases
                .get(&s.user)
                .and_then(|p| p.iter().find(|&&(pt, _, _)| pt >= s.start));
            if let Some(&(pt, prow, _)) = cut {
                if (t, row) > (pt, prow) {
                    continue;
                }
            }
            with += 1;
            // The label purchase: the user's first purchase in [start, start + 7 days].
            let label = cut.filter(|&&(pt, _, _)| pt <= s.start + 7 * 86_400);
            if let Some(&(_, _, value)) = label {
                buyers += 1;
                sum += value;
            }
        }
        let precision = buyers as f64 / with as f64;
        let aov = sum / buyers as f64;
        let want = precision * aov;
        let got = v["value"].as_f64().unwrap();
        assert!(
            rel(got, want) < 1e-9,
            "{event}: {got} vs {want} ({with} units, {buyers} buyers)"
        );
        assert!(rel(v["aov"].as_f64().unwrap(), aov) < 1e-9, "{event}");
        let ci = &v["value_ci"];
        assert!(ci[0].as_f64().unwrap() < got && got < ci[1].as_f64().unwrap());
    }
    let by = |e: &str| values.iter().find(|v| v["event"] == e).unwrap();
    assert_eq!(by("add_to_cart")["usable"], true);
    assert!(by("add_to_cart")["conversion_value"].as_f64().unwrap() > 5.0);
    assert_eq!(by("sign_up")["usable"], false);
    assert!(by("sign_up")["note"]
        .as_str()
        .unwrap()
        .starts_with("do not use"));

    // Audience seeds: the deepest milestone is the densest retargeting seed; add_to_cart, big
    // enough, leads the lookalikes; the broken sign_up is not ranked.
    let s = &r["seeds"];
    assert_eq!(s["retargeting"][0], "add_payment_info");
    assert_eq!(s["lookalike"][0], "add_to_cart");
    assert!(!s["retargeting"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "sign_up"));
}
