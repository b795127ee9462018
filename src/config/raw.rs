//! The configuration as written: every section and key, deserialised as it is, before validation.

use super::*;

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

/// One `[[analysis.derived]]` family: exactly one shape (`event` with `min_count`,
/// `min_value`, `device` or `channel`; `any_of`; `first` with `then`), its grid the listed
/// thresholds.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDerived {
    /// Name of the derived event (default from the rule, e.g. `add_to_cart_value_40`); with a
    /// grid, each point's threshold is appended.
    pub name: Option<String>,
    /// The raw event the rule counts, values or restricts.
    pub event: Option<String>,
    /// Grid of fewest firings (each at least 2).
    pub min_count: Option<Vec<u32>>,
    /// Grid of smallest values (the log's value column).
    pub min_value: Option<Vec<f64>>,
    /// Events any of which counts.
    pub any_of: Option<Vec<String>>,
    /// The earlier event of a sequence.
    pub first: Option<String>,
    /// The later event of a sequence.
    pub then: Option<String>,
    /// Device level the unit must have.
    pub device: Option<String>,
    /// Channel level the unit must have.
    pub channel: Option<String>,
}

/// `[analysis.predicted]`: the predicted high-intent signal (a model over every candidate,
/// scored server-side); the table turns it on.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPredicted {
    /// Whether to build it (default true when the table is there).
    pub enabled: Option<bool>,
    /// The grid: percents of the training weeks' units the signal takes in (default 2, 5, 10,
    /// 15, 20, 30, 40, 50), increasing, at most 8.
    pub top_percent: Option<Vec<f64>>,
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
    /// Derived candidates (`[[analysis.derived]]`), each a family of grid points searched on
    /// training weeks.
    pub derived: Option<Vec<RawDerived>>,
    /// The predicted signal (`[analysis.predicted]`).
    pub predicted: Option<RawPredicted>,
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
