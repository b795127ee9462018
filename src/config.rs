//! Configuration in two stages: [`RawConfig`] is exactly what the user wrote (TOML file, then
//! `OPTSIGNAL_*` environment variables, then command-line flags), and [`Settings`] is the
//! validated form the pipeline trusts. Validation errors name the file and the key.
//!
//! Environment overrides use the prefix `OPTSIGNAL_` and `__` between levels, for example
//! `OPTSIGNAL_ANALYSIS__LABEL_WINDOW_DAYS=14`.

pub mod accounts;
pub mod alerts;
mod analysis;
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
    /// Longest row (CSV record or JSON line) read, in bytes (default 1 MiB): a longer one stops
    /// the read with an error naming the line, so memory stays bounded whatever the input.
    pub max_row_bytes: Option<u64>,
    /// Timestamps later than the run date plus this many days are set aside as implausible
    /// (default 1).
    pub max_future_days: Option<u32>,
    /// Timestamps before this date (`YYYY-MM-DD`, default 2000-01-01) are set aside as
    /// implausible.
    pub min_date: Option<String>,
    /// A timestamp more than this many days after every event so far is set aside unless the
    /// rows after it confirm the jump (default 28).
    pub max_jump_days: Option<u32>,
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
    /// Candidate proxy events; when not set, they are discovered in the log.
    pub candidates: Option<Vec<String>>,
    /// With discovery: fewest units an event must fire in to be measured (default 30).
    pub discover_min_units: Option<u64>,
    /// With discovery: events never taken as candidates (default [`DEFAULT_HOUSEKEEPING`]).
    pub housekeeping_events: Option<Vec<String>>,
    /// The macro-conversion.
    pub purchase_event: Option<String>,
    /// Label window in days (default 7).
    pub label_window_days: Option<u32>,
    /// Inactivity gap for inferred sessions, minutes (default 30).
    pub session_gap_minutes: Option<u32>,
    /// How late (behind the latest event time) an event may arrive and still be placed exactly,
    /// minutes (default 1440, one day).
    pub lateness_minutes: Option<u32>,
    /// IANA time zone for ISO weeks (default UTC).
    pub time_zone: Option<String>,
    /// Weeks held out for out-of-time validation (default 1).
    pub holdout_weeks: Option<u32>,
    /// Fewest days (of 7) with data for a complete week (default 6).
    pub min_week_days: Option<u32>,
    /// A week below this share of its neighbouring weeks' median units is set aside (default
    /// 0.2).
    pub min_week_share: Option<f64>,
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
    /// Consecutive weeks a new best event must lead before it replaces the standing
    /// recommendation (default 2; 1 switches at once).
    pub confirm_weeks: Option<u32>,
    /// Lowest lower bound of the adjusted lift interval worth optimizing on (default 1.5).
    pub lift_floor: Option<f64>,
    /// Band below `clearance_threshold` within which the standing event still clears (default 0.4).
    pub clearance_margin: Option<f64>,
    /// Relative score a challenger must beat the standing event's by (default 0.3: 30%).
    pub score_margin: Option<f64>,
    /// `broken_surge`: least factor by which the share of units with the proxy rises (default 1.5).
    pub surge_share_ratio: Option<f64>,
    /// `broken_surge`: most fraction its precision falls to (default 0.7).
    pub surge_precision_ratio: Option<f64>,
    /// `tracking_break`: most fraction the share of units with the proxy falls to (default 0.5).
    pub break_share_ratio: Option<f64>,
}

/// `[store]`: the weekly model store.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// Store folder, relative to the config file (default `models`).
    pub path: Option<PathBuf>,
    /// Write this run's week to the store (default false; `--save` turns it on).
    pub enabled: Option<bool>,
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
    /// The rule (by id, in the rules file) whose floor applies, when not the platform's first
    /// (`google_ads`: `troas_other` for campaigns other than Search).
    pub rule: Option<String>,
}

/// `[funnel]`: the steps of the funnel diagnosis.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFunnel {
    /// Funnel steps in order (default view_item, add_to_cart, begin_checkout, add_payment_info,
    /// purchase).
    pub steps: Option<Vec<String>>,
}

/// `[email]`: where `optsignal report --send` delivers the weekly report, and how. Secrets are
/// never written here: `password_env` names an environment variable and `password_file` a file
/// that hold the password.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    /// Sender mailbox (`optsignal <reports@shop.example>`).
    pub from: Option<String>,
    /// Recipient mailboxes.
    pub to: Option<Vec<String>>,
    /// Subject template (minijinja: `{{ account }}`, `{{ week }}`, `{{ headline }}`).
    pub subject: Option<String>,
    /// SMTP server host name.
    pub host: Option<String>,
    /// SMTP port (default: 587 for starttls, 465 for tls, 25 for plain).
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS) or `plain` (a local relay, no encryption).
    pub security: Option<String>,
    /// SMTP user name.
    pub username: Option<String>,
    /// Environment variable holding the SMTP user name (instead of `username`).
    pub username_env: Option<String>,
    /// Environment variable holding the SMTP password.
    pub password_env: Option<String>,
    /// File holding the SMTP password (relative to the config file; trailing newline ignored).
    pub password_file: Option<PathBuf>,
    /// PEM file of extra root certificate(s) to trust for the SMTP server, added to the
    /// platform's roots (relative to the config file): a private or company CA.
    pub ca_file: Option<PathBuf>,
    /// Connection and command timeout in seconds (default 30).
    pub timeout_secs: Option<u64>,
}

/// `[report]`: the weekly report job (`optsignal report`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    /// Folder for the lock and sent-state files (default: `optsignal-state` beside the config).
    pub state_dir: Option<PathBuf>,
    /// Flag kinds that make `optsignal report` exit with code 3 when any proxy raises them.
    pub critical_flags: Option<Vec<String>>,
    /// Most missed weeks `report --send` catches up in one run, oldest first (default 4).
    pub catch_up_weeks: Option<u32>,
    /// Also email the latest week while it is partial or provisional, labelled so and never
    /// recorded as sent (default false).
    pub send_partial: Option<bool>,
    /// Hours after a week's end before its data are final, per source (`log`, `ga4_export`,
    /// `bigquery`, `ga4_api`, `meta`, `google_ads`); unset sources keep their defaults.
    pub settle_hours: Option<std::collections::BTreeMap<String, u32>>,
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
    /// `[store]`.
    #[serde(default)]
    pub store: RawStore,
    /// `[funnel]`.
    #[serde(default)]
    pub funnel: RawFunnel,
    /// `[email]`, optional.
    #[serde(default)]
    pub email: Option<RawEmail>,
    /// `[report]`, optional.
    #[serde(default)]
    pub report: RawReport,
    /// `[alerts]`: Slack and webhook targets notified by `report --send` and `audit --send`.
    #[serde(default)]
    pub alerts: Option<alerts::RawAlerts>,
    /// `[fetch]`: weeks, timeouts and retries of the API sources, or a snapshot to read.
    #[serde(default)]
    pub fetch: remote::RawFetch,
    /// `[meta]`: Meta Marketing API.
    pub meta: Option<remote::RawMeta>,
    /// `[ga4]`: GA4 Data API.
    pub ga4: Option<remote::RawGa4>,
    /// `[google_ads]`: Google Ads API.
    pub google_ads: Option<remote::RawGoogleAds>,
    /// `[bigquery]`: a GA4 export in BigQuery, read by pushdown.
    pub bigquery: Option<remote::RawBigQuery>,
    /// `[[rule]]`: learning-phase rules replacing (same platform and id) or adding to the
    /// built-in ones (`assets/platform_rules.toml`).
    #[serde(default)]
    pub rule: Vec<crate::platform::Rule>,
    /// `[signal]`: identifiers and destinations of `optsignal signal export`.
    #[serde(default)]
    pub signal: Option<signal::RawSignal>,
}

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
