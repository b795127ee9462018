//! The real event logs load through configuration alone, and the statistics on them match the
//! committed statsmodels reference (fixtures/reference/).
//!
//! The real data sets are not in the repository: they are read from `$OPTSIGNAL_REAL_DATA`,
//! default `../shared/data/real` beside the crate. When they are absent, each test that needs
//! them prints "skipped: ..." and returns (the demo test here needs nothing and always runs).

use crate::util;

use util::*;

/// The REES46 head, relative to the real data folder.
const REES46: &str = "rees46_multicategory/2019-Oct_head.csv";

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("reference/rees46_session.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn rees46_add_to_cart_matches_statsmodels_within_one_percent() {
    let Some(log) = real_or_skip(
        "rees46_add_to_cart_matches_statsmodels_within_one_percent",
        REES46,
    ) else {
        return;
    };
    let cfg = fixture("rees46/optsignal.toml");
    let r = recommend_json(&[
        "--config",
        cfg.to_str().unwrap(),
        "--events",
        log.to_str().unwrap(),
    ]);
    let want = reference();
    assert_eq!(r["input"]["units"], want["units"]);
    assert_eq!(r["input"]["rows_read"], 17434);
    let atc = proxy(&r, "add_to_cart");
    let t = &want["candidates"]["add_to_cart"]["table"];
    for (ours, theirs) in [
        ("a", "a_feature_label"),
        ("b", "b_feature_nolabel"),
        ("c", "c_nofeature_label"),
        ("d", "d_nofeature_nolabel"),
    ] {
        assert_eq!(atc[ours], t[theirs], "cell {ours}");
    }
    let close = |ours: &serde_json::Value, theirs: &serde_json::Value, what: &str| {
        let (a, b) = (ours.as_f64().unwrap(), theirs.as_f64().unwrap());
        assert!(rel(a, b) < 0.01, "{what}: ours {a}, statsmodels {b}");
    };
    close(&atc["precision"], &t["precision"], "precision");
    // Wilson's interval on the user-clustered effective sample (statsmodels' design effect).
    let deff = &want["candidates"]["add_to_cart"]["design_effect"];
    close(
        &atc["precision_ci"][0],
        &deff["precision_ci95"][0],
        "precision CI low",
    );
    close(
        &atc["precision_ci"][1],
        &deff["precision_ci95"][1],
        "precision CI high",
    );
    close(
        &atc["design_effect"]["precision"],
        &deff["precision"],
        "design effect",
    );
    close(&atc["recall"], &t["recall"], "recall");
    close(&atc["lift"], &t["lift"], "lift");
    let m = &want["candidates"]["add_to_cart"]["model"]["feature"];
    let cl = &want["candidates"]["add_to_cart"]["adjusted_clustered"];
    close(
        &atc["adjusted"]["odds_ratio"],
        &m["odds_ratio"],
        "odds ratio",
    );
    close(
        &atc["adjusted"]["odds_ratio_ci"][0],
        &cl["odds_ratio_ci95"][0],
        "OR CI low",
    );
    close(
        &atc["adjusted"]["odds_ratio_ci"][1],
        &cl["odds_ratio_ci95"][1],
        "OR CI high",
    );
    close(&atc["adjusted"]["p_value"], &cl["p_value"], "p-value");
    // With one binary feature, the raw odds ratio is the model's: the closed form agrees.
    close(
        &atc["odds_ratio"],
        &m["odds_ratio"],
        "closed-form odds ratio",
    );
}

#[test]
fn rees46_view_item_is_not_estimable_and_nothing_is_nan() {
    let Some(log) = real_or_skip(
        "rees46_view_item_is_not_estimable_and_nothing_is_nan",
        REES46,
    ) else {
        return;
    };
    let cfg = fixture("rees46/optsignal.toml");
    let out = optsignal()
        .args([
            "recommend",
            "--config",
            cfg.to_str().unwrap(),
            "--events",
            log.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains("NaN") && !text.contains("Infinity"),
        "{text}"
    );
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    let v = proxy(&r, "view_item");
    // serde_json writes a non-finite float as null: the measured fields must be real numbers.
    for f in ["precision", "recall", "lift", "odds_ratio", "base_rate"] {
        assert!(v[f].as_f64().is_some_and(f64::is_finite), "{f} = {}", v[f]);
    }
    for f in ["precision_ci", "lift_ci", "odds_ratio_ci"] {
        for k in 0..2 {
            assert!(
                v[f][k].as_f64().is_some_and(f64::is_finite),
                "{f} = {}",
                v[f]
            );
        }
    }
    assert_eq!(v["estimability"]["status"], "not_estimable");
    assert!(v["estimability"]["reason"]
        .as_str()
        .unwrap()
        .contains("5066 of 5067"));
    assert!(v["adjusted"].is_null());
    let flags: Vec<&str> = v["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(flags.contains(&"insufficient_data"), "{flags:?}");
    // The terminal report says it in words, without inf or NaN either.
    let table = optsignal()
        .args(["recommend", "--config", cfg.to_str().unwrap()])
        .args(["--events", log.to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("not estimable"), "{table}");
    assert!(!table.contains("NaN") && !table.contains("inf "), "{table}");
    // Only 2.8 hours of data: the floor is not checked rather than extrapolated.
    assert!(r["recommendations"][0]["event"].is_null());
    assert!(r["recommendations"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("no complete ISO week"));
}

#[test]
fn taobao_header_less_logs_load_with_inferred_sessions() {
    const TEST: &str = "taobao_header_less_logs_load_with_inferred_sessions";
    let Some(log) = real_or_skip(
        TEST,
        "taobao_userbehavior/UserBehavior_usersorted_fattydelivery.csv",
    ) else {
        return;
    };
    let Some(slice) = real_or_skip(
        TEST,
        "taobao_userbehavior/UserBehavior_timeslice_jason-wang1.csv",
    ) else {
        return;
    };
    let cfg = fixture("taobao/optsignal.toml");
    let r = recommend_json(&[
        "--config",
        cfg.to_str().unwrap(),
        "--events",
        log.to_str().unwrap(),
    ]);
    assert_eq!(r["input"]["rows_read"], 4321);
    assert_eq!(r["input"]["rows_accepted"], 4321);
    assert_eq!(r["input"]["users"], 43);
    assert_eq!(r["input"]["sessions_inferred"], true);
    assert_eq!(r["input"]["timestamp_format"], "unix_s");
    // The same config reads the two-hour slice of 66k users when pointed at it.
    let r = recommend_json(&[
        "--config",
        cfg.to_str().unwrap(),
        "--events",
        slice.to_str().unwrap(),
    ]);
    assert_eq!(r["input"]["rows_read"], 110300);
    assert_eq!(r["input"]["users"], 66454);
    let buys = r["weekly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["purchase"]["events"].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(buys, 2493);
}

#[test]
fn demo_segment_adjusted_odds_ratios_match_statsmodels() {
    // fixtures/reference/demo_session.json: statsmodels Logit(label ~ proxy + C(device) +
    // C(channel)) on the demo log, one row per session (scripts/reference_statsmodels.py).
    let text = std::fs::read_to_string(fixture("reference/demo_session.json")).unwrap();
    let want: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cfg = fixture("demo/optsignal.toml");
    let r = recommend_json(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(r["input"]["units"], want["units"]);
    // Label rates and models count the weeks whose labels are complete (the last one is not).
    assert_eq!(r["input"]["measured_weeks"], want["measured_weeks"]);
    let cands = want["candidates"].as_object().unwrap();
    assert_eq!(cands.len(), 7);
    for (event, w) in cands {
        let ours = &proxy(&r, event)["adjusted"];
        assert_eq!(
            ours["adjusted_for"].as_array().unwrap().len(),
            2,
            "{event}: device and channel"
        );
        let m = &w["model"]["feature"];
        // The interval and p-value as widened by the user-clustered design effect.
        let cl = &w["adjusted_clustered"];
        for (o, t) in [
            (&ours["odds_ratio"], &m["odds_ratio"]),
            (&ours["odds_ratio_ci"][0], &cl["odds_ratio_ci95"][0]),
            (&ours["odds_ratio_ci"][1], &cl["odds_ratio_ci95"][1]),
        ] {
            let (a, b) = (o.as_f64().unwrap(), t.as_f64().unwrap());
            assert!(rel(a, b) < 1e-6, "{event}: ours {a}, statsmodels {b}");
        }
        // Design effects: statsmodels' cluster-robust fits (by user) over the plain ones.
        let deff = &proxy(&r, event)["design_effect"];
        for k in ["precision", "odds_ratio", "lift"] {
            let (a, b) = (
                deff[k].as_f64().unwrap(),
                w["design_effect"][k].as_f64().unwrap(),
            );
            assert!(
                rel(a, b) < 1e-6,
                "{event} design effect of {k}: ours {a}, statsmodels {b}"
            );
        }
        let (pa, pb) = (
            ours["p_value"].as_f64().unwrap(),
            cl["p_value"].as_f64().unwrap(),
        );
        assert!(
            pb < 1e-300 && pa < 1e-300 || rel(pa, pb) < 1e-4,
            "{event}: p {pa} vs {pb}"
        );
    }
}

/// The REES46 head as it is (raw names `view`, `cart`, `purchase`, no aliases), with a `scroll`
/// event added at the first event of half the sessions, chosen by a hash of the session id:
/// high volume, no relation to purchase by construction.
fn rees46_with_random_scroll(log: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(log).unwrap();
    let mut out = String::with_capacity(text.len() * 2);
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        let session = line.rsplit(',').next().unwrap_or("");
        if i == 0 || !seen.insert(session.to_string()) {
            continue;
        }
        let h = session.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        if h % 2 == 0 {
            let (ts, rest) = line.split_once(',').unwrap();
            let (_, tail) = rest.split_once(',').unwrap();
            out.push_str(&format!("{ts},scroll,{tail}\n"));
        }
    }
    let path = dir.join("rees46_scroll.csv");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn zero_config_discovers_real_events_and_a_random_scroll_is_flagged() {
    let Some(log) = real_or_skip(
        "zero_config_discovers_real_events_and_a_random_scroll_is_flagged",
        REES46,
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let events = rees46_with_random_scroll(&log, dir.path());
    // Only the column mapping: no candidates, no aliases.
    let cfg = dir.path().join("optsignal.toml");
    std::fs::write(
        &cfg,
        format!(
            "account = \"rees46 raw\"\n[source]\npath = {:?}\ntimestamp_format = \"%Y-%m-%d %H:%M:%S UTC\"\n\
             [source.fields]\ntimestamp = \"event_time\"\nevent_name = \"event_type\"\nuser_id = \"user_id\"\n\
             session_id = \"user_session\"\nvalue = \"price\"\ndevice = \"\"\nchannel = \"\"\n\
             [[platforms]]\nid = \"meta\"\nad_sets = 2\nattributed_share = 0.5\n",
            events.display().to_string()
        ),
    )
    .unwrap();
    let r = recommend_json(&["--config", cfg.to_str().unwrap()]);
    let kept: Vec<&str> = r["input"]["discovery"]["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["event"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["cart", "scroll", "view"], "discovered by name");
    let flags = |e: &str| -> Vec<String> {
        proxy(&r, e)["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let scroll = proxy(&r, "scroll");
    let share = scroll["a"].as_f64().unwrap() + scroll["b"].as_f64().unwrap();
    let units = r["input"]["units"].as_f64().unwrap();
    assert!(
        (0.45..0.55).contains(&(share / units)),
        "scroll in {share} of {units}"
    );
    assert!(
        flags("scroll").contains(&"not_predictive".to_string()),
        "{:?}",
        flags("scroll")
    );
    // The real proxy is measured as the configured run measures it: the statsmodels cells.
    let cart = proxy(&r, "cart");
    let t = &reference()["candidates"]["add_to_cart"]["table"];
    for (ours, theirs) in [("a", "a_feature_label"), ("b", "b_feature_nolabel")] {
        assert_eq!(cart[ours], t[theirs], "cell {ours}");
    }
    assert!(
        !flags("cart").contains(&"not_predictive".to_string()),
        "{:?}",
        flags("cart")
    );
    assert!(cart["lift_ci"][0].as_f64().unwrap() > scroll["lift_ci"][1].as_f64().unwrap());
    assert!(flags("view").contains(&"insufficient_data".to_string()));
}
