//! `optsignal signal export` on the demo store (issue 16 item 1): dry-run payload files for the
//! Meta Conversions API, Google Ads click conversions and the GA4 Measurement Protocol, with the
//! official field names and types, contact identifiers normalised and hashed (checked against
//! Python's hashlib), stable event ids, and a clear error when a required column is missing.

use std::path::Path;

use crate::util::*;
use serde_json::Value;

/// Runs `signal export` on `config` into `out`; returns (exit code, stdout, stderr).
fn export(config: &Path, out: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let o = optsignal()
        .args(["signal", "export", "-c"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn read(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn committed_identified_export_is_what_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    optsignal::demo::write_store(dir.path()).unwrap();
    let fresh = std::fs::read(dir.path().join("identified.csv.gz")).unwrap();
    let committed = std::fs::read(fixture("demo/identified.csv.gz")).unwrap();
    assert!(
        fresh == committed,
        "fixtures/demo/identified.csv.gz is stale: run `optsignal demo` and commit it"
    );
}

#[test]
fn the_demo_store_exports_payloads_for_all_three_platforms() {
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) =
        export(&fixture("demo/optsignal.toml"), out.path(), &["--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    let manifest: Value = serde_json::from_str(&stdout).unwrap();
    let dir = Path::new(manifest["out_dir"].as_str().unwrap()).to_path_buf();
    assert!(
        dir.ends_with("demo-store-d62b30b1/2026-11-15"),
        "{}",
        dir.display()
    );
    assert_eq!(
        read(&dir, "manifest.json")["destinations"],
        manifest["destinations"]
    );
    let d = |id: &str| {
        manifest["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["destination"] == id)
            .unwrap()
            .clone()
    };
    // The recommendations of the demo: Meta add_to_cart, Google Ads purchase (GA4 follows it).
    assert_eq!(d("meta")["event"], "add_to_cart");
    assert_eq!(d("google_ads")["event"], "purchase");
    assert_eq!(d("ga4")["event"], "purchase");

    // Meta Conversions API: POST /{pixel_id}/events with data[] (at most 1000 a request).
    assert_eq!(
        d("meta")["endpoint"],
        "https://graph.facebook.com/v25.0/1234567890123456/events"
    );
    let meta_text = std::fs::read_to_string(dir.join("meta-001.json")).unwrap();
    assert!(!meta_text.contains('@'), "no raw email leaves the machine");
    let meta: Value = serde_json::from_str(&meta_text).unwrap();
    let data = meta["data"].as_array().unwrap();
    assert_eq!(data.len() as u64, d("meta")["events"].as_u64().unwrap());
    assert!(!data.is_empty() && data.len() <= 1000);
    for e in data {
        assert_eq!(e["event_name"], "AddToCart");
        assert_eq!(e["action_source"], "website");
        assert!(e["event_time"].is_i64(), "{e}");
        assert!(e["event_id"].as_str().unwrap().starts_with("os-"));
        assert!(e["user_data"]["client_user_agent"].is_string());
        assert_eq!(e["custom_data"]["currency"], "EUR");
        assert!(e["custom_data"]["value"].is_f64());
        for k in ["em", "ph", "external_id"] {
            if let Some(h) = e["user_data"].get(k) {
                let h = h[0].as_str().unwrap();
                assert!(
                    h.len() == 64
                        && h.bytes()
                            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                    "{k}: {h}"
                );
            }
        }
    }
    // Session 3e0ff0d12968's user wrote " Shopper.e88ccda1@EXAMPLE.NET " and "0151 1891759":
    // normalised shopper.e88ccda1@example.net and 491511891759 (default_country_code 49),
    // hashlib.sha256 → 0caac199…5a9b and c20fa06a…fbcd3.
    let one = data
        .iter()
        .find(|e| {
            e["user_data"]["em"][0]
                == "0caac19913522c06b3b020b0293d5e7e4761af18b79233bbb9836f8d184f5a9b"
        })
        .expect("the mixed-case email, normalised and hashed");
    assert_eq!(
        one["user_data"]["ph"][0],
        "c20fa06a16499779e0e61c6b112c6437a6f883f32d22f1abf7f514cade7fbcd3"
    );
    assert!(data.iter().any(|e| e["user_data"]["fbc"].is_string()));
    assert!(data.iter().all(|e| e["user_data"]["fbp"].is_string()));

    // Google Ads: uploadClickConversions with partialFailure, gclid sessions only.
    let g = read(&dir, "google_ads-001.json");
    assert_eq!(g["partialFailure"], true);
    let convs = g["conversions"].as_array().unwrap();
    assert!(!convs.is_empty());
    assert!(d("google_ads")["left_out"]["no_gclid"].as_u64().unwrap() > 0);
    for c in convs {
        assert!(c["gclid"].as_str().unwrap().starts_with("Cj0KCQ"));
        assert_eq!(
            c["conversionAction"],
            "customers/1234567890/conversionActions/987654321"
        );
        let t = c["conversionDateTime"].as_str().unwrap();
        assert!(
            t.len() == 25 && t.ends_with("+00:00") && &t[10..11] == " ",
            "yyyy-mm-dd hh:mm:ss+00:00: {t}"
        );
        assert!(c["conversionValue"].is_f64());
        assert_eq!(c["currencyCode"], "EUR");
    }

    // GA4 Measurement Protocol: one body per unit with client_id and events[].
    let a = read(&dir, "ga4-001.json");
    let bodies = a.as_array().unwrap();
    assert!(!bodies.is_empty());
    for b in bodies {
        assert!(b["client_id"].as_str().unwrap().contains('.'));
        assert!(b["timestamp_micros"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .is_ok());
        assert_eq!(b["events"][0]["name"], "optsignal_purchase");
        assert_eq!(b["events"][0]["params"]["currency"], "EUR");
    }

    // Stable ids: a second run gives the same event ids.
    let again = tempfile::tempdir().unwrap();
    let (code, stdout, _) = export(&fixture("demo/optsignal.toml"), again.path(), &[]);
    assert_eq!(code, Some(0));
    let m2: Value = serde_json::from_str(&stdout).unwrap();
    let meta2 = read(Path::new(m2["out_dir"].as_str().unwrap()), "meta-001.json");
    assert_eq!(
        meta2, meta,
        "the same log gives the same payloads and event ids"
    );
}

#[test]
fn a_missing_identifier_column_is_a_clear_error() {
    // The analysis log has no gclid, fbp or client_id columns: signal.path pointing at it fails
    // with the destination, the key and the file, exit 2.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("demo/optsignal.toml"))
        .unwrap()
        .replace(
            "path = \"identified.csv.gz\"",
            &format!("path = {:?}", fixture("demo/events.csv.gz")),
        )
        .replace(
            "path = \"events.csv.gz\"",
            &format!("path = {:?}", fixture("demo/events.csv.gz")),
        );
    let cfg = dir.path().join("optsignal.toml");
    std::fs::write(&cfg, text).unwrap();
    let (code, stdout, stderr) = export(&cfg, dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("the Meta Conversions API needs client_user_agent")
            && stderr.contains("signal.columns.client_user_agent")
            && stderr.contains("events.csv.gz"),
        "{stderr}"
    );
    // A named column that is not there is named by its key.
    let named = std::fs::read_to_string(&cfg).unwrap().replace(
        "# [signal.columns]",
        "[signal.columns]\ngclid = \"click_id\"\n# ",
    );
    std::fs::write(&cfg, named).unwrap();
    let (code, _, stderr) = export(&cfg, dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("signal.columns.gclid = \"click_id\": no such column"),
        "{stderr}"
    );
}

/// `signal spec` on the demo: each recommended event's set-up, as steps on stdout and as JSON
/// in the file, matching the report's recommendations and values.
#[test]
fn signal_spec_writes_the_demo_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested").join("setup.json");
    let cfg = fixture("demo/optsignal.toml");
    let o = optsignal()
        .args(["signal", "spec", "-c"])
        .arg(&cfg)
        .arg("--out")
        .arg(&file)
        .args(["--width", "100"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("setup.json"));
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let report = recommend_json(&["-c", cfg.to_str().unwrap()]);
    assert_eq!(
        spec, report["setup"],
        "the file is the report's setup section"
    );
    let by = |p: &str| {
        spec["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["platform"] == p)
            .unwrap_or_else(|| panic!("no {p} in {spec}"))
            .clone()
    };
    // Meta: the recommended add_to_cart is Meta's standard AddToCart, with its value.
    let meta = by("meta");
    assert_eq!(meta["event"], rec(&report, "meta")["event"]);
    assert_eq!(meta["event"], "add_to_cart");
    assert_eq!(meta["destination"]["event_name"], "AddToCart");
    assert_eq!(meta["destination"]["custom_event_type"], "ADD_TO_CART");
    let value = report["values"]["proxies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["event"] == "add_to_cart")
        .unwrap()["conversion_value"]
        .clone();
    assert_eq!(meta["value"]["value"], value);
    // Google Ads bids on purchase itself: every conversion, at its own order value.
    let google = by("google_ads");
    assert_eq!(google["event"], "purchase");
    assert_eq!(google["value"]["kind"], "order_value");
    assert_eq!(google["destination"]["counting"], "every");
    // Google Ads already bids on purchase (optimizing_on): nothing to change there; Meta moves.
    assert_eq!(
        (google["in_place"].clone(), meta["in_place"].clone()),
        (Value::Bool(true), Value::Bool(false))
    );
    assert!(
        text.contains("Google Ads: optimize on purchase (already in place"),
        "{text}"
    );
    // TikTok has no recommended event: nothing to set up.
    assert!(spec["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["platform"] != "tiktok"));
    assert!(text.contains("Meta: optimize on add_to_cart"), "{text}");
    assert!(
        text.contains("promoted_object.custom_event_type = ADD_TO_CART"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    // --format json prints what the file holds; nothing half-written is left beside it.
    let o = optsignal()
        .args(["signal", "spec", "-c"])
        .arg(&cfg)
        .arg("--out")
        .arg(&file)
        .args(["-f", "json"])
        .output()
        .unwrap();
    let printed: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(printed, spec);
    let names: Vec<String> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["setup.json"]);
}
