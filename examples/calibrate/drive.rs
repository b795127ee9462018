//! Drives the real decision path on a simulated store: writes the log and a config into a
//! temporary folder and runs `optsignal::pipeline::run` exactly as `optsignal recommend
//! --config ... [--as-of W --save]` does, then reads the report's JSON.
//!
//! The report is read as JSON (the documented schema, docs/json-schema.md), not through Rust
//! structs, so the harness keeps measuring whatever the report prints while its types evolve.

use std::io::BufWriter;
use std::path::Path;

use serde_json::Value;

use optsignal::config::{load_settings, Overrides};
use optsignal::types::IsoWeek;

use crate::sim::{self, Row, Scenario, START, WEEK};

/// The platforms of every simulated account: Meta 2 ad sets seeing 60%, Google Ads 1 campaign
/// seeing everything, TikTok 3 ad groups seeing 25%.
pub const PLATFORMS: [(&str, u32, f64); 3] = [
    ("meta", 2, 0.6),
    ("google_ads", 1, 1.0),
    ("tiktok", 3, 0.25),
];

/// Candidates configured for a scenario (the leakage store also has its thank-you page).
pub fn candidates(scenario: Scenario) -> Vec<&'static str> {
    let mut c = vec![
        "view_item",
        "search",
        "sign_up",
        "add_to_cart",
        "begin_checkout",
        "add_payment_info",
    ];
    if scenario == Scenario::Leakage {
        c.push("view_receipt");
    }
    c
}

/// The ISO week of log-week index `k`.
pub fn week(k: i64) -> IsoWeek {
    let t = jiff::Timestamp::from_second(START + k * WEEK).expect("in range");
    IsoWeek::of_date(t.to_zoned(jiff::tz::TimeZone::UTC).date())
}

/// A temporary account folder with the log and the config written.
pub struct Account {
    dir: tempfile::TempDir,
}

impl Account {
    /// Writes `rows` and a config for `scenario` into a new temporary folder.
    pub fn new(rows: &[Row], scenario: Scenario) -> std::io::Result<Account> {
        let dir = tempfile::tempdir()?;
        let mut out = BufWriter::new(std::fs::File::create(dir.path().join("events.csv"))?);
        sim::write_csv(rows, &mut out)?;
        std::io::Write::flush(&mut out)?;
        std::fs::write(dir.path().join("optsignal.toml"), config(scenario))?;
        Ok(Account { dir })
    }

    /// Runs the pipeline (as of `as_of`, saving the week when `save`) and returns the report.
    pub fn run(&self, as_of: Option<IsoWeek>, save: bool) -> Result<Value, String> {
        let cfg = self.dir.path().join("optsignal.toml");
        let o = Overrides {
            as_of,
            save,
            ..Default::default()
        };
        let settings = load_settings(Some(Path::new(&cfg)), &o).map_err(|e| e.to_string())?;
        let report = optsignal::pipeline::run(&settings).map_err(|e| e.to_string())?;
        serde_json::to_value(&report).map_err(|e| e.to_string())
    }
}

fn config(scenario: Scenario) -> String {
    let cands: Vec<String> = candidates(scenario)
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect();
    let mut s = format!(
        "account = \"sim\"\n[source]\npath = \"events.csv\"\n[analysis]\ncandidates = [{}]\n[store]\npath = \"models\"\n",
        cands.join(", ")
    );
    for (id, ad_sets, share) in PLATFORMS {
        s.push_str(&format!(
            "[[platforms]]\nid = \"{id}\"\nad_sets = {ad_sets}\nattributed_share = {share}\n"
        ));
    }
    s
}

/// What one report says, reduced to what the tables need.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// (event, flag kind) of every raised flag.
    pub flags: Vec<(String, String)>,
    /// Per platform (in [`PLATFORMS`] order): the recommended event (or "none") and its lift.
    pub recs: Vec<(String, Option<f64>)>,
    /// view_item's precision interval as printed.
    pub view_ci: Option<(f64, f64)>,
    /// The plain Wilson interval of the same precision (units treated as independent), from the
    /// report's a and b: the interval printed before user-clustered variances.
    pub view_ci_independent: Option<(f64, f64)>,
    /// view_item's design effect of the precision, as reported.
    pub view_deff: Option<f64>,
}

/// Reads a report's JSON.
pub fn read(report: &Value) -> Reading {
    let empty = Vec::new();
    let proxies = report["proxies"].as_array().unwrap_or(&empty);
    let mut r = Reading::default();
    for p in proxies {
        let event = p["event"].as_str().unwrap_or("?").to_string();
        for f in p["flags"].as_array().unwrap_or(&empty) {
            let kind = f["kind"].as_str().unwrap_or("?").to_string();
            r.flags.push((event.clone(), kind));
        }
        if event == "view_item" {
            let ci = &p["precision_ci"];
            if let (Some(lo), Some(hi)) = (ci[0].as_f64(), ci[1].as_f64()) {
                r.view_ci = Some((lo, hi));
            }
            if let (Some(a), Some(b)) = (p["a"].as_u64(), p["b"].as_u64()) {
                r.view_ci_independent =
                    optsignal::stats::interval::wilson(a, a + b, 0.95).map(|c| (c.lo, c.hi));
            }
            r.view_deff = p["design_effect"]["precision"].as_f64();
        }
    }
    let lift = |e: &str| {
        proxies
            .iter()
            .find(|p| p["event"] == e)
            .and_then(|p| p["lift"].as_f64())
    };
    for (id, _, _) in PLATFORMS {
        let rec = report["recommendations"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .find(|x| x["platform"] == id);
        let event = rec
            .and_then(|x| x["event"].as_str())
            .unwrap_or("none")
            .to_string();
        let l = lift(&event);
        r.recs.push((event, l));
    }
    r
}
