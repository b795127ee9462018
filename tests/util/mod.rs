//! Shared helpers for the integration tests: the real binary, the repository's fixtures, and the
//! read-only real logs in `../shared/data/real`.

#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture path under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// The shared real data sets (beside the repository, as on developer machines and in CI).
pub fn real(rel: &str) -> PathBuf {
    root().join("../shared/data/real").join(rel)
}

/// The `optsignal` binary, with a clean environment for config overrides.
pub fn optsignal() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("optsignal").expect("binary built");
    c.env_remove("OPTSIGNAL_CONFIG").env("NO_COLOR", "1");
    c
}

/// Runs `recommend --format json` with the given extra arguments and parses the report.
pub fn recommend_json(args: &[&str]) -> serde_json::Value {
    let out = optsignal()
        .arg("recommend")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "recommend failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    serde_json::from_str(&text).expect("valid JSON")
}

/// Finds the proxy entry of an event in a JSON report.
pub fn proxy<'a>(report: &'a serde_json::Value, event: &str) -> &'a serde_json::Value {
    report["proxies"]
        .as_array()
        .expect("proxies")
        .iter()
        .find(|p| p["event"] == event)
        .unwrap_or_else(|| panic!("no proxy {event}"))
}

/// Finds a platform's recommendation in a JSON report.
pub fn rec<'a>(report: &'a serde_json::Value, platform: &str) -> &'a serde_json::Value {
    report["recommendations"]
        .as_array()
        .expect("recommendations")
        .iter()
        .find(|x| x["platform"] == platform)
        .unwrap_or_else(|| panic!("no recommendation for {platform}"))
}

/// Relative difference |a − b| / |b|.
pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}
