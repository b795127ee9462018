//! Configuration in two stages: [`RawConfig`] is exactly what the user wrote (TOML file, then
//! `OPTSIGNAL_*` environment variables, then command-line flags), and [`Settings`] is the
//! validated form the pipeline trusts. Validation errors name the file and the key.
//!
//! Environment overrides use the prefix `OPTSIGNAL_` and `__` between levels, for example
//! `OPTSIGNAL_ANALYSIS__LABEL_WINDOW_DAYS=14`.

pub mod accounts;
pub mod alerts;
mod analysis;
mod derived;
mod email;
pub mod remote;
pub mod secrets;
pub mod signal;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::evidence::AnalysisSettings;
use crate::observe::{ObserveSpec, UnitKind};
pub use crate::platform::PlatformSettings;
use crate::source::log::LogSpec;
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

/// Events that discovery never takes as candidates: GA4's automatically collected events,
/// which fire for everyone and say nothing of intent (`analysis.housekeeping_events`).
pub const DEFAULT_HOUSEKEEPING: [&str; 14] = [
    "session_start",
    "first_visit",
    "first_open",
    "page_view",
    "screen_view",
    "user_engagement",
    "app_update",
    "app_remove",
    "app_clear_data",
    "app_exception",
    "os_update",
    "notification_receive",
    "notification_dismiss",
    "firebase_campaign",
];

/// A configuration problem, naming where it is.
#[derive(Debug, Clone, thiserror::Error)]
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

impl ConfigError {
    /// The account a problem belongs to, in a multi-account file (`None`: the file as a whole).
    pub fn account(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { account, .. } => account.as_deref(),
            ConfigError::Load { .. } => None,
        }
    }
}

mod raw;
pub use raw::*;

/// Where the weekly model store is and whether this run writes to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// Store folder (resolved: relative to the config file, or to the working directory).
    pub dir: PathBuf,
    /// Whether this run writes its week to the store.
    pub save: bool,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine or a trusted network (port 25).
    Plain,
}

impl SmtpSecurity {
    /// The usual port of this kind of connection.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        }
    }
}

/// Where a credential is read from at send time. Never the value itself, so settings can be
/// logged and debug-printed without leaking a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the config (only allowed for the user name).
    Literal(String),
    /// An environment variable's name.
    Env(String),
    /// A file's path.
    File(PathBuf),
}

/// SMTP credentials, by source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpAuth {
    /// The user name.
    pub username: SecretSource,
    /// The password (environment variable or file, never literal).
    pub password: SecretSource,
}

/// Validated `[email]`.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// Sender.
    pub from: lettre::message::Mailbox,
    /// Recipients, at least one.
    pub to: Vec<lettre::message::Mailbox>,
    /// Subject template.
    pub subject: String,
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// Connection security.
    pub security: SmtpSecurity,
    /// Credentials, when the server needs them.
    pub auth: Option<SmtpAuth>,
    /// Extra trusted root certificate(s) for the server (PEM file, resolved path), read at send
    /// time.
    pub ca_file: Option<PathBuf>,
    /// Connection and command timeout.
    pub timeout: std::time::Duration,
}

/// The default email subject template.
pub const DEFAULT_SUBJECT: &str = "[optsignal] {{ account }} · {{ week }}: {{ headline }}";

/// Validated `[report]`.
#[derive(Debug, Clone, Default)]
pub struct ReportSettings {
    /// Folder for the lock and sent-state files.
    pub state_dir: PathBuf,
    /// Flag kinds that make the report job exit with code 3.
    pub critical_flags: Vec<crate::flags::FlagKind>,
    /// Most missed weeks one `report --send` run catches up, oldest first.
    pub catch_up_weeks: u32,
    /// Also email the latest week while partial or provisional (labelled, never recorded).
    pub send_partial: bool,
    /// Settle-time overrides per source, hours (`[report.settle_hours]`).
    pub settle_hours: Vec<(crate::settle::Source, u32)>,
}

/// Default of `report.catch_up_weeks`.
pub const DEFAULT_CATCH_UP_WEEKS: u32 = 4;

/// Longest settle time accepted, hours (90 days: Google Ads' longest conversion window).
pub const MAX_SETTLE_HOURS: u32 = 90 * 24;

impl ReportSettings {
    /// The settle time of a source: the configured one, else the source's default.
    pub fn settle_hours(&self, source: crate::settle::Source) -> u32 {
        self.settle_hours
            .iter()
            .find(|(s, _)| *s == source)
            .map_or(source.default_hours(), |(_, h)| *h)
    }
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
    /// The predicted high-intent signal, when `[analysis.predicted]` asks for it.
    pub predicted: Option<crate::predict::PredictSpec>,
    /// Platforms to recommend for.
    pub platforms: Vec<PlatformSettings>,
    /// The weekly model store.
    pub store: StoreSettings,
    /// Analyse only events up to the end of this ISO week (in the analysis time zone).
    pub as_of: Option<crate::types::IsoWeek>,
    /// The time the run judges settle times at (`--now`, else the clock).
    pub now: jiff::Timestamp,
    /// Funnel steps in order, at least two (the funnel diagnosis).
    pub funnel_steps: Vec<EventName>,
    /// Email delivery of the weekly report, when configured.
    pub email: Option<EmailSettings>,
    /// The weekly report job.
    pub report: ReportSettings,
    /// Slack and webhook alerts, when configured.
    pub alerts: Option<alerts::AlertSettings>,
    /// Signal delivery (`optsignal signal export`), when configured.
    pub signal: Option<signal::SignalSettings>,
    /// API sources (Meta, GA4 Data API, Google Ads) and how to pull them.
    pub remote: remote::RemoteSettings,
    /// No event-level data: volumes come from the GA4 Data API (`source.kind = "ga4_api"`).
    pub volumes_only: bool,
    /// Events are read by BigQuery pushdown (`source.kind = "bigquery"`, `[bigquery]`): only
    /// grouped counts leave the warehouse.
    pub pushdown: bool,
}

/// Default allowed lateness of events, minutes (`analysis.lateness_minutes`): one day, so a GA4
/// export's daily tables read in any order within the day are placed exactly.
pub const DEFAULT_LATENESS_MINUTES: u32 = 1440;

/// Longest label window, floor window (days): a year.
const MAX_DAYS: u32 = 366;
/// Longest inactivity gap of an inferred session (minutes): a day.
const MAX_GAP_MINUTES: u32 = 1440;
/// Longest allowed lateness (minutes): 30 days.
const MAX_LATENESS_MINUTES: u32 = 43_200;
/// Most weeks any week-count setting may name: a year.
const MAX_WEEKS: u32 = 52;
/// Default `source.max_row_bytes`: 1 MiB, far above any real event row.
pub const DEFAULT_MAX_ROW_BYTES: u64 = 1 << 20;
/// Largest `source.max_row_bytes` accepted: 1 GiB.
const MAX_ROW_BYTES_LIMIT: u64 = 1 << 30;

/// Funnel steps used when the config names none.
pub const DEFAULT_FUNNEL_STEPS: [&str; 5] = [
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "add_payment_info",
    "purchase",
];

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

    /// `v` when within `lo..=hi`; otherwise an error naming the key and the range.
    fn within(&mut self, key: &str, v: u32, lo: u32, hi: u32, what: &str) -> u32 {
        if v < lo || v > hi {
            self.err(key, format!("{v} must be {lo} to {hi} {what}"));
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

    /// As [`Settings::from_raw`]; with `require_platforms` false a config without platforms is
    /// accepted (commands that recommend nothing: `funnel`, `test-plan`).
    pub fn from_raw_with(
        raw: &RawConfig,
        origin: &str,
        base_dir: &Path,
        require_platforms: bool,
    ) -> Result<Self, ConfigError> {
        Settings::validate_with(raw, origin, None, base_dir, require_platforms)
            .map_err(|mut v| v.remove(0))
    }

    /// Validates a raw config and returns every error found, each naming the origin, the account
    /// (when given) and the key.
    pub fn validate(
        raw: &RawConfig,
        origin: &str,
        account: Option<&str>,
        base_dir: &Path,
    ) -> Result<Self, Vec<ConfigError>> {
        Settings::validate_with(raw, origin, account, base_dir, true)
    }

    /// As [`Settings::validate`]; `require_platforms` false accepts a config without platforms.
    /// Each section has its validator (`config/source.rs`, `analysis.rs`, `email.rs`,
    /// `remote.rs`); every one reports all its problems, so one pass finds them all.
    pub fn validate_with(
        raw: &RawConfig,
        origin: &str,
        account: Option<&str>,
        base_dir: &Path,
        require_platforms: bool,
    ) -> Result<Self, Vec<ConfigError>> {
        let mut c = Check {
            origin,
            account,
            errors: Vec::new(),
        };
        let source::SourceParts {
            spec: mut source,
            volumes_only,
            pushdown,
        } = source::source(&mut c, &raw.source, base_dir);
        let (observe, analysis) = analysis::analysis(&mut c, &raw.analysis);
        source.time_zone = observe.time_zone.clone();
        let platforms = analysis::platforms(&mut c, raw, require_platforms);
        let funnel_steps = analysis::funnel_steps(&mut c, raw);
        let mut email = raw
            .email
            .as_ref()
            .and_then(|e| email::email(&mut c, e, base_dir));
        if let (Some(_), Some(list)) = (&raw.email, &raw.recipients) {
            email::recipients(&mut c, email.as_mut(), list);
        }
        let report = email::report(&mut c, &raw.report, base_dir);
        let mut remote = remote::validate(
            remote::RawRemote {
                fetch: &raw.fetch,
                meta: raw.meta.as_ref(),
                ga4: raw.ga4.as_ref(),
                google_ads: raw.google_ads.as_ref(),
                bigquery: raw.bigquery.as_ref(),
            },
            base_dir,
            &mut |k, m| c.err(k, m),
        );
        let alerts = alerts::validate(raw.alerts.as_ref(), base_dir, &mut |k, m| c.err(k, m));
        let meta_token = raw.meta.as_ref().and_then(|m| {
            crate::source::secret::SecretRef::from_config(
                m.access_token_env.as_deref(),
                m.access_token_file.as_deref(),
                base_dir,
            )
        });
        let signal = signal::validate(
            raw.signal.as_ref(),
            base_dir,
            meta_token,
            remote.google_ads.as_ref(),
            &mut |k, m| c.err(k, m),
        );
        let predicted = derived::predicted(&mut c, raw.analysis.predicted.as_ref());
        if pushdown && remote.bigquery.is_none() {
            c.err(
                "source.kind",
                "\"bigquery\" needs a [bigquery] section (project, dataset, key_file)",
            );
        }
        if volumes_only && remote.ga4.is_none() && remote.snapshot.is_none() {
            c.err(
                "source.kind",
                "\"ga4_api\" needs a [ga4] section (property_id, key_file)",
            );
        }
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        if let Some(g) = remote.ga4.as_mut() {
            g.aliases = source.aliases.clone();
        }
        Ok(Settings {
            predicted,
            remote,
            volumes_only,
            pushdown,
            account: raw.account.clone().unwrap_or_else(|| "account".into()),
            source,
            observe,
            analysis,
            platforms,
            store: store_settings(&raw.store, base_dir),
            as_of: None,
            now: jiff::Timestamp::now(),
            funnel_steps,
            email,
            report,
            alerts,
            signal,
        })
    }
}

/// `[store]`: the folder (default `models` beside the config) and whether to write to it.
fn store_settings(s: &RawStore, base_dir: &Path) -> StoreSettings {
    let path = s.path.clone().unwrap_or_else(|| PathBuf::from("models"));
    StoreSettings {
        dir: if path.is_absolute() {
            path
        } else {
            base_dir.join(path)
        },
        save: s.enabled.unwrap_or(false),
    }
}

/// The first problem of a section checked on its own, or its settings.
fn first_problem<T>(c: Check<'_>, settings: Option<T>, section: &str) -> Result<T, ConfigError> {
    let origin = c.origin;
    match (c.errors.into_iter().next(), settings) {
        (None, Some(s)) => Ok(s),
        (Some(e), _) => Err(e),
        (None, None) => Err(invalid(origin, section, "is not valid")),
    }
}

/// Validates an `[email]` section on its own (the audit roll-up's): its first problem.
pub(crate) fn email_settings(
    e: &RawEmail,
    origin: &str,
    base_dir: &Path,
) -> Result<EmailSettings, ConfigError> {
    let mut c = Check {
        origin,
        account: None,
        errors: Vec::new(),
    };
    let s = email::email(&mut c, e, base_dir);
    first_problem(c, s, "email")
}

/// Validates a `[report]` section on its own (the audit roll-up's): its first problem.
pub(crate) fn report_settings(
    r: &RawReport,
    base_dir: &Path,
    origin: &str,
) -> Result<ReportSettings, ConfigError> {
    let mut c = Check {
        origin,
        account: None,
        errors: Vec::new(),
    };
    let s = email::report(&mut c, r, base_dir);
    first_problem(c, Some(s), "report")
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
    /// `--threads N`: threads to read the log with (default: the machine's cores).
    pub threads: Option<usize>,
    /// Draw a progress bar on stderr while reading a large log (when stderr is a terminal);
    /// off with `--quiet`.
    pub progress: bool,
    /// `--as-of WEEK`: analyse events up to the end of that ISO week only.
    pub as_of: Option<crate::types::IsoWeek>,
    /// `--save`: write this run's week to the model store.
    pub save: bool,
    /// Accept a run without platforms (commands that recommend nothing).
    pub platforms_optional: bool,
    /// `--steps a,b,c`: funnel steps.
    pub funnel_steps: Option<Vec<String>>,
    /// `--snapshot FILE`: read API data from a snapshot written by `optsignal pull`.
    pub snapshot: Option<PathBuf>,
    /// `--now TIME`: judge settle times as at this time instead of the clock.
    pub now: Option<jiff::Timestamp>,
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
    let (mut raw, origin, base, env_keys) = match config {
        Some(p) => {
            let file = accounts::load_file(p)?;
            // Another account's mistakes do not stop this one's run.
            let wanted = match (&o.account, file.multi) {
                (Some(name), true) => Some(name.as_str()),
                (None, true) if file.names.len() == 1 => Some(file.names[0].as_str()),
                _ => None,
            };
            if let Some(first) = file
                .problems
                .iter()
                .find(|e| e.account().is_none() || e.account() == wanted)
            {
                return Err(file.blame(first.clone()));
            }
            let base = file.base_dir();
            let names = file.names.clone();
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
            (acc.raw, p.display().to_string(), base, file.env_keys)
        }
        None => (
            RawConfig::default(),
            "command line".to_string(),
            PathBuf::new(),
            Vec::new(),
        ),
    };
    if let Some(e) = &o.events {
        // A path given on the command line is relative to the working directory, not the
        // config; `-` is standard input.
        raw.source.path = Some(if e == Path::new("-") {
            e.clone()
        } else {
            std::path::absolute(e).unwrap_or_else(|_| e.clone())
        });
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
                rule: None,
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
    if let Some(s) = &o.funnel_steps {
        raw.funnel.steps = Some(s.clone());
    }
    let mut s = Settings::from_raw_with(&raw, &origin, &base, !o.platforms_optional)
        .map_err(|e| accounts::blame_env(&env_keys, e))?;
    s.source.strict = o.strict;
    s.source.threads = o.threads;
    s.source.progress = o.progress;
    s.as_of = o.as_of;
    if let Some(now) = o.now {
        s.now = now;
    }
    s.store.save |= o.save;
    secrets::register_configured(&s);
    Ok(s)
}

/// Where the model store is and whose account, for commands that read only the store
/// (`optsignal history`): `[store] path` and `account` of the config file when given (env
/// overrides apply), the store folder relative to the config file; without a config, `models`
/// in the working directory. `store` (a `--store DIR` flag) wins over both.
pub fn store_location(
    config: Option<&Path>,
    store: Option<&Path>,
) -> Result<(PathBuf, Option<String>), ConfigError> {
    let (raw, base) = match config {
        Some(p) => {
            let mut file = accounts::load_file(p)?;
            if !file.problems.is_empty() {
                return Err(file.problems.swap_remove(0));
            }
            let base = file.base_dir();
            // A multi-account file names no single account: `--account` must pick it.
            let multi = file.multi;
            let mut raw = file
                .accounts
                .into_iter()
                .next()
                .map(|a| a.raw)
                .unwrap_or_default();
            if multi {
                raw.account = None;
            }
            (raw, base)
        }
        None => (RawConfig::default(), PathBuf::new()),
    };
    let dir = match store {
        Some(s) => s.to_path_buf(),
        None => {
            let p = raw.store.path.unwrap_or_else(|| PathBuf::from("models"));
            if p.is_absolute() {
                p
            } else {
                base.join(p)
            }
        }
    };
    Ok((dir, raw.account))
}

/// The `test-plan` command's parameters are validated here, with the other settings, so that
/// an error names the flag as every configuration error does.
impl crate::testplan::TestParams {
    /// Checks the ranges: mde > 0, α and power in (0, 1), at least 2 arms.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| ConfigError::Invalid {
            origin: "command line".into(),
            account: None,
            key: key.into(),
            message,
        };
        if !(self.mde.is_finite() && self.mde > 0.0) {
            return Err(bad(
                "--mde",
                format!("{} must be a positive relative lift", self.mde),
            ));
        }
        for (k, v) in [("--alpha", self.alpha), ("--power", self.power)] {
            if !(v > 0.0 && v < 1.0) {
                return Err(bad(k, format!("{v} must be strictly between 0 and 1")));
            }
        }
        if self.arms < 2 {
            return Err(bad("--arms", "a test needs at least 2 arms".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
