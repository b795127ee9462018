//! Configuration in two stages: [`RawConfig`] is exactly what the user wrote (TOML file, then
//! `OPTSIGNAL_*` environment variables, then command-line flags), and [`Settings`] is the
//! validated form the pipeline trusts. Validation errors name the file and the key.
//!
//! Environment overrides use the prefix `OPTSIGNAL_` and `__` between levels, for example
//! `OPTSIGNAL_ANALYSIS__LABEL_WINDOW_DAYS=14`.

pub mod accounts;
pub mod remote;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::observe::{ObserveSpec, UnitKind, MAX_CANDIDATES};
use crate::platform::{FloorBasis, PlatformId, PlatformProfile};
use crate::source::log::{FieldNames, LogFormat, LogSpec};
use crate::source::timestamp::TimestampFormat;
use crate::types::EventName;

/// Candidate proxies used when the config names none: GA4's recommended e-commerce and lead
/// events that sit before purchase.
pub const DEFAULT_CANDIDATES: [&str; 8] = [
    "view_item",
    "add_to_wishlist",
    "add_to_cart",
    "begin_checkout",
    "add_shipping_info",
    "add_payment_info",
    "sign_up",
    "generate_lead",
];

/// A configuration problem, naming where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed.
    #[error("{path}: {message}")]
    Load {
        /// The config file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{origin}: {}{key}: {message}", account.as_ref().map(|a| format!("account {a:?}: ")).unwrap_or_default())]
    Invalid {
        /// The config file, or "command line".
        origin: String,
        /// The account, in a multi-account file.
        account: Option<String>,
        /// The key at fault, dotted (`platforms[0].ad_sets`).
        key: String,
        /// What is wrong and what would be right.
        message: String,
    },
}

/// `[source]`: where the events are and how they are written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// `log` (the canonical event log, default) or `ga4_export` (GA4's BigQuery export as
    /// newline-delimited JSON, optionally .gz).
    pub kind: Option<String>,
    /// Event log path, relative to the config file.
    pub path: Option<PathBuf>,
    /// `csv` or `jsonl`; default from the file name.
    pub format: Option<String>,
    /// CSV delimiter, one character.
    pub delimiter: Option<String>,
    /// Column names for a header-less file, in order.
    pub columns: Option<Vec<String>>,
    /// `auto`, `rfc3339`, `unix_s`, `unix_ms`, `unix_us` or a strftime pattern.
    pub timestamp_format: Option<String>,
    /// Column names of the canonical fields.
    #[serde(default)]
    pub fields: RawFields,
    /// Canonical name → raw names that mean it (`add_to_cart = ["cart"]`).
    #[serde(default)]
    pub aliases: BTreeMap<String, Vec<String>>,
}

/// `[source.fields]`: column names; an empty string marks an optional field as absent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFields {
    /// Timestamp column.
    pub timestamp: Option<String>,
    /// User id column.
    pub user_id: Option<String>,
    /// Session id column.
    pub session_id: Option<String>,
    /// Event name column.
    pub event_name: Option<String>,
    /// Device column.
    pub device: Option<String>,
    /// Channel column.
    pub channel: Option<String>,
    /// Order value column.
    pub value: Option<String>,
}

/// `[analysis]`: definitions and thresholds.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    /// `session` or `user`.
    pub unit: Option<UnitKind>,
    /// Candidate proxy events.
    pub candidates: Option<Vec<String>>,
    /// The macro-conversion.
    pub purchase_event: Option<String>,
    /// Label window in days (default 7).
    pub label_window_days: Option<u32>,
    /// Inactivity gap for inferred sessions, minutes (default 30).
    pub session_gap_minutes: Option<u32>,
    /// IANA time zone for ISO weeks (default UTC).
    pub time_zone: Option<String>,
    /// Weeks held out for out-of-time validation (default 1).
    pub holdout_weeks: Option<u32>,
    /// Confidence level of intervals (default 0.95).
    pub confidence: Option<f64>,
    /// Clearance probability an event needs (default 0.8).
    pub clearance_threshold: Option<f64>,
    /// Recent complete weeks used for volumes (default 4).
    pub volume_weeks: Option<u32>,
    /// Recent weeks compared with the baseline in drift flags (default 2).
    pub surge_weeks: Option<u32>,
    /// Significance level of flag tests (default 0.05).
    pub alpha: Option<f64>,
    /// Fewest units with the proxy for a verdict (default 30).
    pub min_units: Option<u64>,
}

/// `[[platforms]]`: one platform the account advertises on.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlatform {
    /// Platform id (`meta`, `tiktok`, `google_ads`, ...).
    pub id: String,
    /// Bidding units (ad sets / ad groups / campaigns) sharing the events (default 1).
    pub ad_sets: Option<u32>,
    /// Share of site events the platform sees, in (0, 1] (default 1).
    pub attributed_share: Option<f64>,
    /// The event the platform optimizes on today.
    pub optimizing_on: Option<String>,
    /// Override of the floor's event count.
    pub floor_events: Option<f64>,
    /// Override of the floor's window in days.
    pub floor_days: Option<u32>,
    /// Override of the events the platform can optimize on.
    pub optimizable: Option<Vec<String>>,
}

/// The whole configuration file as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Account name shown in reports.
    pub account: Option<String>,
    /// `[source]`.
    #[serde(default)]
    pub source: RawSource,
    /// `[analysis]`.
    #[serde(default)]
    pub analysis: RawAnalysis,
    /// `[[platforms]]`.
    #[serde(default)]
    pub platforms: Vec<RawPlatform>,
    /// Who receives this account's report (email addresses).
    pub recipients: Option<Vec<String>>,
    /// `[fetch]`: weeks, timeouts and retries of the API sources, or a snapshot to read.
    #[serde(default)]
    pub fetch: remote::RawFetch,
    /// `[meta]`: Meta Marketing API.
    pub meta: Option<remote::RawMeta>,
    /// `[ga4]`: GA4 Data API.
    pub ga4: Option<remote::RawGa4>,
    /// `[google_ads]`: Google Ads API.
    pub google_ads: Option<remote::RawGoogleAds>,
}

/// A platform as the recommendation uses it.
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    /// Floor and eligible events (built-in, with config overrides).
    pub profile: PlatformProfile,
    /// Bidding units sharing the events.
    pub ad_sets: u32,
    /// Share of site events the platform sees.
    pub attributed_share: f64,
    /// The event optimized on today, if known.
    pub optimizing_on: Option<EventName>,
}

/// Thresholds of the statistics and flags.
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisSettings {
    /// Weeks held out for out-of-time validation.
    pub holdout_weeks: u32,
    /// Confidence level of intervals.
    pub confidence: f64,
    /// Clearance probability an event needs.
    pub clearance_threshold: f64,
    /// Recent complete weeks used for volumes.
    pub volume_weeks: u32,
    /// Recent weeks compared with the baseline in drift flags.
    pub surge_weeks: u32,
    /// Significance level of the flag tests.
    pub alpha: f64,
    /// Fewest units with the proxy for a verdict.
    pub min_units: u64,
}

/// Validated settings of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Account name.
    pub account: String,
    /// How to read the log.
    pub source: LogSpec,
    /// How to form observations.
    pub observe: ObserveSpec,
    /// Thresholds.
    pub analysis: AnalysisSettings,
    /// Platforms to recommend for.
    pub platforms: Vec<PlatformSettings>,
    /// API sources (Meta, GA4 Data API, Google Ads) and how to pull them.
    pub remote: remote::RemoteSettings,
    /// No event-level data: volumes come from the GA4 Data API (`source.kind = "ga4_api"`).
    pub volumes_only: bool,
}

fn invalid(origin: &str, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin: origin.to_string(),
        account: None,
        key: key.into(),
        message: message.into(),
    }
}

/// Collects every validation error of one config (or one account) instead of stopping at the first,
/// so `config check` can list them all.
struct Check<'a> {
    origin: &'a str,
    account: Option<&'a str>,
    errors: Vec<ConfigError>,
}

impl Check<'_> {
    fn err(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::Invalid {
            origin: self.origin.to_string(),
            account: self.account.map(str::to_string),
            key: key.into(),
            message: message.into(),
        });
    }

    fn event(&mut self, key: &str, name: &str) -> Option<EventName> {
        let e = EventName::new(name);
        if e.is_none() {
            self.err(key, "an event name must not be empty");
        }
        e
    }

    fn fraction(&mut self, key: &str, v: f64) -> f64 {
        if !(v > 0.0 && v < 1.0) {
            self.err(key, format!("{v} must be strictly between 0 and 1"));
        }
        v
    }

    fn at_least_one(&mut self, key: &str, v: u32, what: &str) -> u32 {
        if v == 0 {
            self.err(key, format!("must be at least 1 {what}"));
        }
        v
    }
}

impl Settings {
    /// Validates a raw config. `origin` names it in errors (the file path, or "command line");
    /// `base_dir` resolves relative paths. Returns the first error; see [`Settings::validate`].
    pub fn from_raw(raw: &RawConfig, origin: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        Settings::validate(raw, origin, None, base_dir).map_err(|mut v| v.remove(0))
    }

    /// Validates a raw config and returns every error found, each naming the origin, the account
    /// (when given) and the key.
    pub fn validate(
        raw: &RawConfig,
        origin: &str,
        account: Option<&str>,
        base_dir: &Path,
    ) -> Result<Self, Vec<ConfigError>> {
        let mut c = Check {
            origin,
            account,
            errors: Vec::new(),
        };
        let a = &raw.analysis;
        let s = &raw.source;
        let volumes_only = s.kind.as_deref() == Some("ga4_api");
        let path = match &s.path {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => base_dir.join(p),
            None if volumes_only => PathBuf::new(),
            None => {
                c.err(
                    "source.path",
                    "no event log given (set source.path or pass --events FILE)",
                );
                PathBuf::new()
            }
        };
        let tz_name = a.time_zone.clone().unwrap_or_else(|| "UTC".into());
        let time_zone = TimeZone::get(&tz_name).unwrap_or_else(|e| {
            c.err(
                "analysis.time_zone",
                format!("{tz_name:?} is not an IANA time zone ({e})"),
            );
            TimeZone::UTC
        });
        let ga4_export = match s.kind.as_deref() {
            None | Some("log") | Some("ga4_api") => false,
            Some("ga4_export") => true,
            Some(other) => {
                c.err(
                    "source.kind",
                    format!("{other:?}: use \"log\" (canonical event log), \"ga4_export\" (GA4 BigQuery export files) or \"ga4_api\" (weekly volumes from the GA4 Data API)"),
                );
                false
            }
        };
        let format = match s.format.as_deref() {
            _ if ga4_export => LogFormat::Ga4Export,
            None => LogFormat::from_path(&path),
            Some("csv") => {
                let d = s.delimiter.as_deref().unwrap_or(",");
                match d.as_bytes() {
                    [b] if b.is_ascii() => LogFormat::Csv { delimiter: *b },
                    _ => {
                        c.err(
                            "source.delimiter",
                            format!("{d:?} must be one ASCII character"),
                        );
                        LogFormat::Csv { delimiter: b',' }
                    }
                }
            }
            Some("jsonl") | Some("ndjson") => LogFormat::JsonLines,
            Some(other) => {
                c.err(
                    "source.format",
                    format!("{other:?}: use \"csv\" or \"jsonl\""),
                );
                LogFormat::from_path(&path)
            }
        };
        let timestamp_format = match s.timestamp_format.as_deref() {
            _ if ga4_export => TimestampFormat::UnixMicros,
            None => TimestampFormat::Auto,
            Some(f) => TimestampFormat::parse(f).unwrap_or_else(|| {
                c.err(
                    "source.timestamp_format",
                    format!("{f:?}: use auto, rfc3339, unix_s, unix_ms, unix_us or a strftime pattern with %"),
                );
                TimestampFormat::Auto
            }),
        };
        let d = FieldNames::default();
        let f = &s.fields;
        let opt = |v: &Option<String>, dflt: Option<String>| match v.as_deref() {
            Some("") => None,
            Some(x) => Some(x.to_string()),
            None => dflt,
        };
        let fields = FieldNames {
            timestamp: f.timestamp.clone().unwrap_or(d.timestamp),
            user_id: f.user_id.clone().unwrap_or(d.user_id),
            session_id: opt(&f.session_id, d.session_id),
            event_name: f.event_name.clone().unwrap_or(d.event_name),
            device: opt(&f.device, d.device),
            channel: opt(&f.channel, d.channel),
            value: opt(&f.value, d.value),
        };
        let mut aliases = HashMap::new();
        for (canonical, raws) in &s.aliases {
            let key = format!("source.aliases.{canonical}");
            let Some(e) = c.event(&key, canonical) else {
                continue;
            };
            for r in raws {
                if let Some(prev) = aliases.insert(r.clone(), e.clone()) {
                    if prev != e {
                        c.err(&key, format!("{r:?} is already an alias of {prev}"));
                    }
                }
            }
        }
        let purchase = c
            .event(
                "analysis.purchase_event",
                a.purchase_event.as_deref().unwrap_or("purchase"),
            )
            .unwrap_or_else(|| EventName::new("purchase").expect("non-empty"));
        let names: Vec<String> = match &a.candidates {
            Some(list) => list.clone(),
            None => DEFAULT_CANDIDATES.iter().map(|s| s.to_string()).collect(),
        };
        let mut candidates: Vec<EventName> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let key = format!("analysis.candidates[{i}]");
            let Some(e) = c.event(&key, n) else { continue };
            if e == purchase {
                c.err(&key, "the purchase event cannot be its own proxy");
            } else if !candidates.contains(&e) {
                candidates.push(e);
            }
        }
        if candidates.is_empty() || candidates.len() > MAX_CANDIDATES {
            c.err(
                "analysis.candidates",
                format!("give 1 to {MAX_CANDIDATES} candidate events"),
            );
        }
        let confidence = c.fraction("analysis.confidence", a.confidence.unwrap_or(0.95));
        let clearance_threshold = c.fraction(
            "analysis.clearance_threshold",
            a.clearance_threshold.unwrap_or(0.8),
        );
        let alpha = c.fraction("analysis.alpha", a.alpha.unwrap_or(0.05));
        let label_window_days = c.at_least_one(
            "analysis.label_window_days",
            a.label_window_days.unwrap_or(7),
            "day",
        );
        let session_gap_minutes = c.at_least_one(
            "analysis.session_gap_minutes",
            a.session_gap_minutes.unwrap_or(30),
            "minute",
        );
        let holdout_weeks = a.holdout_weeks.unwrap_or(1);
        let volume_weeks =
            c.at_least_one("analysis.volume_weeks", a.volume_weeks.unwrap_or(4), "week");
        let surge_weeks =
            c.at_least_one("analysis.surge_weeks", a.surge_weeks.unwrap_or(2), "week");
        let mut platforms: Vec<PlatformSettings> = Vec::new();
        for (i, p) in raw.platforms.iter().enumerate() {
            let key = |k: &str| format!("platforms[{i}].{k}");
            let id: PlatformId = match p.id.parse() {
                Ok(id) => id,
                Err(e) => {
                    c.err(key("id"), e);
                    continue;
                }
            };
            let mut profile = id.profile();
            if let Some(ev) = p.floor_events {
                if !(ev.is_finite() && ev > 0.0) {
                    c.err(
                        key("floor_events"),
                        format!("{ev} must be a positive number of events"),
                    );
                }
                profile.floor.events = ev;
                profile.floor.basis = FloorBasis::Configured;
            }
            if let Some(days) = p.floor_days {
                profile.floor.days = c.at_least_one(&key("floor_days"), days, "day");
                profile.floor.basis = FloorBasis::Configured;
            }
            if let Some(list) = &p.optimizable {
                let v = list
                    .iter()
                    .enumerate()
                    .filter_map(|(j, n)| c.event(&key(&format!("optimizable[{j}]")), n))
                    .collect();
                profile.optimizable = Some(v);
            }
            let ad_sets = p.ad_sets.unwrap_or(1);
            if ad_sets == 0 {
                c.err(
                    key("ad_sets"),
                    "must be at least 1 (bidding units sharing the events)",
                );
            }
            let share = p.attributed_share.unwrap_or(1.0);
            if !(share > 0.0 && share <= 1.0) {
                c.err(
                    key("attributed_share"),
                    format!(
                        "{share} must be in (0, 1]: the share of site events the platform sees"
                    ),
                );
            }
            let optimizing_on = p
                .optimizing_on
                .as_ref()
                .and_then(|n| c.event(&key("optimizing_on"), n));
            if platforms.iter().any(|q| q.profile.id == id) {
                c.err(key("id"), format!("{id} is listed twice"));
            }
            platforms.push(PlatformSettings {
                profile,
                ad_sets,
                attributed_share: share,
                optimizing_on,
            });
        }
        if raw.platforms.is_empty() {
            c.err(
                "platforms",
                "name at least one platform ([[platforms]] id = \"meta\", or --platform meta)",
            );
        }
        let remote = remote::validate(
            remote::RawRemote {
                fetch: &raw.fetch,
                meta: raw.meta.as_ref(),
                ga4: raw.ga4.as_ref(),
                google_ads: raw.google_ads.as_ref(),
            },
            base_dir,
            &mut |k, m| c.err(k, m),
        );
        if volumes_only && remote.ga4.is_none() && remote.snapshot.is_none() {
            c.err(
                "source.kind",
                "\"ga4_api\" needs a [ga4] section (property_id, key_file)",
            );
        }
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        Ok(Settings {
            remote,
            volumes_only,
            account: raw.account.clone().unwrap_or_else(|| "account".into()),
            source: LogSpec {
                path,
                format,
                columns: s.columns.clone(),
                fields,
                timestamp_format,
                aliases,
                time_zone: time_zone.clone(),
                strict: false,
            },
            observe: ObserveSpec {
                unit: a.unit.unwrap_or(UnitKind::Session),
                candidates,
                purchase,
                label_window_days,
                session_gap_minutes,
                time_zone,
            },
            analysis: AnalysisSettings {
                holdout_weeks,
                confidence,
                clearance_threshold,
                volume_weeks,
                surge_weeks,
                alpha,
                min_units: a.min_units.unwrap_or(30),
            },
            platforms,
        })
    }
}

/// Command-line values that override (or, without a config file, replace) the config.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--events FILE`: the event log.
    pub events: Option<PathBuf>,
    /// `--platform ID`, repeatable; replaces the config's platforms when given.
    pub platforms: Vec<String>,
    /// `--ad-sets N`: one value for all platforms, or one per `--platform` in order.
    pub ad_sets: Vec<u32>,
    /// `--share F`: one value for all platforms, or one per `--platform` in order.
    pub shares: Vec<f64>,
    /// `--unit session|user`.
    pub unit: Option<UnitKind>,
    /// `--candidates a,b,c`.
    pub candidates: Option<Vec<String>>,
    /// `--account NAME`: picks the account of a multi-account file, or names a single one.
    pub account: Option<String>,
    /// `--strict`: stop at the first malformed row.
    pub strict: bool,
    /// `--snapshot FILE`: read API data from a snapshot written by `optsignal pull`.
    pub snapshot: Option<PathBuf>,
}

/// Picks the i-th of per-platform values: one value applies to all, else one per platform.
fn per_platform<T: Copy>(
    values: &[T],
    i: usize,
    n: usize,
    flag: &str,
) -> Result<Option<T>, ConfigError> {
    match values.len() {
        0 => Ok(None),
        1 => Ok(Some(values[0])),
        k if k == n => Ok(Some(values[i])),
        k => Err(invalid(
            "command line",
            flag,
            format!("{k} values for {n} platforms: give one for all, or one per --platform"),
        )),
    }
}

/// Loads settings from an optional config file plus command-line overrides. In a multi-account
/// file, `--account NAME` picks the account (required when there are several).
pub fn load_settings(config: Option<&Path>, o: &Overrides) -> Result<Settings, ConfigError> {
    let (mut raw, origin, base) = match config {
        Some(p) => {
            let file = accounts::load_file(p)?;
            if let Some(first) = file.problems.into_iter().next() {
                return Err(first);
            }
            let base = file
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let names: Vec<String> = file.accounts.iter().map(|a| a.name.clone()).collect();
            let pick = match (&o.account, file.multi) {
                (Some(name), true) => file.accounts.into_iter().find(|a| &a.name == name),
                (None, true) if names.len() > 1 => None,
                _ => file.accounts.into_iter().next(),
            };
            let Some(acc) = pick else {
                return Err(invalid(
                    &p.display().to_string(),
                    "accounts",
                    format!(
                        "pick one account with --account; the file has: {}",
                        names.join(", ")
                    ),
                ));
            };
            (acc.raw, p.display().to_string(), base)
        }
        None => (
            RawConfig::default(),
            "command line".to_string(),
            PathBuf::new(),
        ),
    };
    if let Some(e) = &o.events {
        // A path given on the command line is relative to the working directory, not the config.
        raw.source.path = Some(std::path::absolute(e).unwrap_or_else(|_| e.clone()));
    }
    if !o.platforms.is_empty() {
        let n = o.platforms.len();
        let mut list = Vec::new();
        for (i, id) in o.platforms.iter().enumerate() {
            let existing = raw.platforms.iter().find(|p| p.id == *id).cloned();
            let mut p = existing.unwrap_or(RawPlatform {
                id: id.clone(),
                ad_sets: None,
                attributed_share: None,
                optimizing_on: None,
                floor_events: None,
                floor_days: None,
                optimizable: None,
            });
            if let Some(k) = per_platform(&o.ad_sets, i, n, "--ad-sets")? {
                p.ad_sets = Some(k);
            }
            if let Some(s) = per_platform(&o.shares, i, n, "--share")? {
                p.attributed_share = Some(s);
            }
            list.push(p);
        }
        raw.platforms = list;
    } else {
        let n = raw.platforms.len();
        for (i, p) in raw.platforms.iter_mut().enumerate() {
            if let Some(k) = per_platform(&o.ad_sets, i, n, "--ad-sets")? {
                p.ad_sets = Some(k);
            }
            if let Some(s) = per_platform(&o.shares, i, n, "--share")? {
                p.attributed_share = Some(s);
            }
        }
    }
    if let Some(snap) = &o.snapshot {
        raw.fetch.snapshot = Some(std::path::absolute(snap).unwrap_or_else(|_| snap.clone()));
    }
    if let Some(u) = o.unit {
        raw.analysis.unit = Some(u);
    }
    if let Some(c) = &o.candidates {
        raw.analysis.candidates = Some(c.clone());
    }
    if let Some(a) = &o.account {
        raw.account = Some(a.clone());
    }
    let mut s = Settings::from_raw(&raw, &origin, &base)?;
    s.source.strict = o.strict;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawConfig {
        RawConfig {
            source: RawSource {
                path: Some("events.csv".into()),
                ..Default::default()
            },
            platforms: vec![RawPlatform {
                id: "meta".into(),
                ad_sets: Some(2),
                attributed_share: Some(0.5),
                optimizing_on: None,
                floor_events: None,
                floor_days: None,
                optimizable: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn defaults_fill_in_and_paths_resolve_against_the_config_dir() {
        let s = Settings::from_raw(&raw(), "x.toml", Path::new("/cfg")).unwrap();
        assert_eq!(s.source.path, PathBuf::from("/cfg/events.csv"));
        assert_eq!(s.observe.label_window_days, 7);
        assert_eq!(s.observe.candidates.len(), DEFAULT_CANDIDATES.len());
        assert_eq!(s.platforms[0].ad_sets, 2);
    }

    #[test]
    fn impossible_values_name_the_key() {
        let mut r = raw();
        r.platforms[0].attributed_share = Some(1.5);
        let e = Settings::from_raw(&r, "x.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml: platforms[0].attributed_share"), "{e}");
        let mut r = raw();
        r.platforms[0].ad_sets = Some(0);
        let e = Settings::from_raw(&r, "x.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("platforms[0].ad_sets"), "{e}");
        let mut r = raw();
        r.analysis.time_zone = Some("Mars/Olympus".into());
        let e = Settings::from_raw(&r, "x.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("analysis.time_zone"), "{e}");
        let mut r = raw();
        r.platforms[0].id = "myspace".into();
        let e = Settings::from_raw(&r, "x.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("platforms[0].id") && e.contains("google_ads"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[analysis]\nlabel_windw_days = 3\n").unwrap();
        let f = accounts::load_file(&p).unwrap();
        let e = f.problems[0].to_string();
        assert!(e.contains("label_windw_days"), "{e}");
    }
}
