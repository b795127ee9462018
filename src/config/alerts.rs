//! `[alerts]`: Slack incoming-webhook and generic JSON webhook targets that `report --send` and
//! `audit --send` notify when a configured finding fires (a broken-proxy flag, a tracking break,
//! a recommendation change), once per account, ISO week, target and finding.
//!
//! A webhook URL is a credential (Slack's URL is the whole secret), so it is never written in
//! the config: `url_env` names an environment variable and `url_file` a file that hold it, as
//! `email.password_env` / `password_file` do for the SMTP password. A literal `url` is
//! rejected. Every URL and token read is registered for redaction ([`register_configured`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::flags::FlagKind;
use crate::secret::{register, SecretRef};

/// `[alerts]` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// Link to the account's report, put in the Slack message and the webhook body: a
    /// template with `{{ account }}`, `{{ slug }}` and `{{ week }}` (values percent-encoded).
    pub report_url: Option<String>,
    /// Whole-request timeout in seconds (default 10).
    pub timeout_secs: Option<u64>,
    /// Retries after the first attempt on 429, 5xx and transport failures (default 4).
    pub retries: Option<u32>,
    /// First backoff delay in milliseconds (default 1000; doubles per retry, at most 60 s).
    pub backoff_ms: Option<u64>,
    /// Longest total wait between attempts to one target, in seconds (default 120): a
    /// `Retry-After` that would pass it ends the attempts at once.
    pub max_wait_secs: Option<u64>,
    /// `[[alerts.targets]]`: where alerts go.
    #[serde(default)]
    pub targets: Vec<RawTarget>,
}

/// One `[[alerts.targets]]` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// Name in messages and in the sent-state (default `<kind>-<n>`); keep it stable.
    pub name: Option<String>,
    /// `slack` (incoming webhook, Block Kit) or `webhook` (generic JSON, docs/json-schema.md).
    pub kind: Option<String>,
    /// Rejected: a webhook URL is a secret (use `url_env` or `url_file`).
    pub url: Option<String>,
    /// Environment variable holding the webhook URL.
    pub url_env: Option<String>,
    /// File holding the webhook URL (relative to the config file).
    pub url_file: Option<PathBuf>,
    /// Environment variable holding a bearer token (`webhook` only).
    pub token_env: Option<String>,
    /// File holding a bearer token (`webhook` only; relative to the config file).
    pub token_file: Option<PathBuf>,
    /// Findings this target wants: `broken_proxy` (not_predictive, broken_surge, leaky), any
    /// flag kind by name, `recommendation_change` (default: broken_proxy, tracking_break,
    /// recommendation_change).
    pub findings: Option<Vec<String>>,
}

/// The kind of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A Slack incoming webhook: a Block Kit message.
    Slack,
    /// Any HTTP endpoint taking the documented JSON body.
    Webhook,
}

impl TargetKind {
    /// The name used in the config.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Slack => "slack",
            TargetKind::Webhook => "webhook",
        }
    }
}

/// A kind of finding a target can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A proxy raised this flag.
    Flag(FlagKind),
    /// A platform's recommendation is to change the event optimized on, or it switched since
    /// last week.
    RecommendationChange,
}

/// Flag kinds that `broken_proxy` stands for.
pub const BROKEN_PROXY: [FlagKind; 3] = [
    FlagKind::NotPredictive,
    FlagKind::BrokenSurge,
    FlagKind::Leaky,
];

/// What `findings` defaults to.
pub const DEFAULT_FINDINGS: [&str; 3] = ["broken_proxy", "tracking_break", "recommendation_change"];

impl FindingKind {
    /// The snake_case name (`broken_surge`, `recommendation_change`).
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Flag(k) => k.name(),
            FindingKind::RecommendationChange => "recommendation_change",
        }
    }

    /// The kinds a `findings` entry names: `broken_proxy` stands for three flags.
    pub fn parse(name: &str) -> Option<Vec<FindingKind>> {
        match name {
            "broken_proxy" => Some(BROKEN_PROXY.iter().map(|k| FindingKind::Flag(*k)).collect()),
            "recommendation_change" => Some(vec![FindingKind::RecommendationChange]),
            other => FlagKind::from_name(other).map(|k| vec![FindingKind::Flag(k)]),
        }
    }
}

/// A validated target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Name in messages and in the sent-state.
    pub name: String,
    /// Slack or generic webhook.
    pub kind: TargetKind,
    /// Where the URL is read from at send time (never the URL itself).
    pub url: SecretRef,
    /// Where a bearer token is read from (`webhook` only).
    pub token: Option<SecretRef>,
    /// The findings it wants.
    pub findings: Vec<FindingKind>,
    /// The config key of this target (`alerts.targets[0]`), for messages.
    pub key: String,
}

/// Validated `[alerts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// Report link template.
    pub report_url: Option<String>,
    /// Targets, in config order.
    pub targets: Vec<Target>,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff delay.
    pub backoff: Duration,
    /// Longest total wait between attempts to one target.
    pub max_wait: Duration,
}

/// Longest backoff between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Validates `[alerts]`, reporting every problem through `err` (key, message); `None` when
/// there is no `[alerts]` section or it has errors.
pub fn validate(
    raw: Option<&RawAlerts>,
    base: &Path,
    err: &mut dyn FnMut(String, String),
) -> Option<AlertSettings> {
    let raw = raw?;
    let before = std::cell::Cell::new(0usize);
    let mut fail = |k: String, m: String| {
        before.set(before.get() + 1);
        err(k, m);
    };
    if let Some(t) = &raw.report_url {
        check_report_url(t, &mut fail);
    }
    let timeout = raw.timeout_secs.unwrap_or(10);
    if !(1..=300).contains(&timeout) {
        fail(
            "alerts.timeout_secs".into(),
            format!("{timeout} must be 1 to 300 seconds"),
        );
    }
    let retries = raw.retries.unwrap_or(4);
    if retries > 10 {
        fail(
            "alerts.retries".into(),
            format!("{retries} must be 0 to 10"),
        );
    }
    let backoff = raw.backoff_ms.unwrap_or(1000);
    if backoff > 60_000 {
        fail(
            "alerts.backoff_ms".into(),
            format!("{backoff} must be 0 to 60000 milliseconds"),
        );
    }
    let max_wait = raw.max_wait_secs.unwrap_or(120);
    if max_wait > 3600 {
        fail(
            "alerts.max_wait_secs".into(),
            format!("{max_wait} must be 0 to 3600 seconds"),
        );
    }
    if raw.targets.is_empty() {
        fail(
            "alerts.targets".into(),
            "give at least one [[alerts.targets]] (kind = \"slack\" or \"webhook\", url_env or url_file)".into(),
        );
    }
    let mut targets = Vec::new();
    for (i, t) in raw.targets.iter().enumerate() {
        if let Some(t) = target(i, t, base, &mut fail) {
            targets.push(t);
        }
    }
    for (i, t) in targets.iter().enumerate() {
        if targets[..i].iter().any(|o| o.name == t.name) {
            fail(
                format!("{}.name", t.key),
                format!("{:?} names another target too: each target needs its own name (it keys the sent-state)", t.name),
            );
        }
    }
    (before.get() == 0).then(|| AlertSettings {
        report_url: raw.report_url.clone(),
        targets,
        timeout: Duration::from_secs(timeout),
        retries,
        backoff: Duration::from_millis(backoff),
        max_wait: Duration::from_secs(max_wait),
    })
}

/// Checks the report link template: it must render, and to an http(s) URL.
fn check_report_url(t: &str, fail: &mut dyn FnMut(String, String)) {
    match render_report_url(t, "Account", "2026-W01") {
        Ok(u) if u.starts_with("https://") || u.starts_with("http://") => {}
        Ok(u) => fail(
            "alerts.report_url".into(),
            format!("{u:?} is not an http:// or https:// URL"),
        ),
        Err(e) => fail("alerts.report_url".into(), e),
    }
}

/// The report link for an account and week: the template with `{{ account }}`, `{{ slug }}`
/// and `{{ week }}` filled in, percent-encoded.
pub fn render_report_url(template: &str, account: &str, week: &str) -> Result<String, String> {
    let env = minijinja::Environment::new();
    let slug = crate::fsutil::slug(account);
    env.render_str(
        template,
        minijinja::context! {
            account => encode(account),
            slug => encode(&slug),
            week => encode(week),
        },
    )
    .map_err(|e| format!("not a valid template: {e}"))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `*_env` / `*_file` pair: exactly one of them, or neither when `required` is false.
fn secret_pair(
    key: &str,
    what: &str,
    env: &Option<String>,
    file: &Option<PathBuf>,
    required: bool,
    base: &Path,
    fail: &mut dyn FnMut(String, String),
) -> Option<SecretRef> {
    match (env, file) {
        (Some(_), Some(_)) => {
            fail(
                format!("{key}.{what}_file"),
                format!("give {what}_env or {what}_file, not both"),
            );
            None
        }
        (Some(v), None) if v.trim().is_empty() => {
            fail(
                format!("{key}.{what}_env"),
                "name an environment variable".into(),
            );
            None
        }
        (Some(v), None) => Some(SecretRef::Env(v.clone())),
        (None, Some(f)) if f.as_os_str().is_empty() => {
            fail(format!("{key}.{what}_file"), "name a file".into());
            None
        }
        (None, Some(f)) => SecretRef::from_config(None, Some(f), base),
        (None, None) => {
            if required {
                fail(
                    format!("{key}.{what}_env"),
                    format!("give the webhook URL by environment variable ({what}_env) or file ({what}_file)"),
                );
            }
            None
        }
    }
}

/// Validates one target; `None` when it has errors (all reported).
fn target(
    i: usize,
    t: &RawTarget,
    base: &Path,
    fail: &mut dyn FnMut(String, String),
) -> Option<Target> {
    let key = format!("alerts.targets[{i}]");
    let mut ok = true;
    let kind = match t.kind.as_deref() {
        Some("slack") => Some(TargetKind::Slack),
        Some("webhook") => Some(TargetKind::Webhook),
        Some(other) => {
            fail(
                format!("{key}.kind"),
                format!(
                    "{other:?}: use \"slack\" (incoming webhook) or \"webhook\" (generic JSON)"
                ),
            );
            None
        }
        None => {
            fail(
                format!("{key}.kind"),
                "give the kind: \"slack\" or \"webhook\"".into(),
            );
            None
        }
    };
    if t.url.is_some() {
        ok = false;
        fail(
            format!("{key}.url"),
            "a webhook URL is a credential and is never written in the config: put it in an environment variable (url_env) or a file (url_file)".into(),
        );
    }
    let url = secret_pair(
        &key,
        "url",
        &t.url_env,
        &t.url_file,
        t.url.is_none(),
        base,
        fail,
    );
    let token = secret_pair(
        &key,
        "token",
        &t.token_env,
        &t.token_file,
        false,
        base,
        fail,
    );
    let token_given = t.token_env.is_some() || t.token_file.is_some();
    if kind == Some(TargetKind::Slack) && token_given {
        ok = false;
        fail(
            format!("{key}.token_env"),
            "a Slack incoming webhook takes no token (its URL is the credential); drop token_env / token_file".into(),
        );
    }
    let names: Vec<String> = match &t.findings {
        Some(list) => list.clone(),
        None => DEFAULT_FINDINGS.iter().map(|s| s.to_string()).collect(),
    };
    if names.is_empty() {
        ok = false;
        fail(
            format!("{key}.findings"),
            "give at least one finding (broken_proxy, tracking_break, recommendation_change, or a flag name)".into(),
        );
    }
    let mut findings = Vec::new();
    for (j, n) in names.iter().enumerate() {
        match FindingKind::parse(n) {
            Some(kinds) => findings.extend(kinds),
            None => {
                ok = false;
                let flags: Vec<&str> = FlagKind::ALL.iter().map(|k| k.name()).collect();
                fail(
                    format!("{key}.findings[{j}]"),
                    format!(
                        "{n:?} is not a finding; known: broken_proxy, recommendation_change, {}",
                        flags.join(", ")
                    ),
                );
            }
        }
    }
    findings.sort();
    findings.dedup();
    let kind = kind?;
    let name = match &t.name {
        Some(n) if n.trim().is_empty() => {
            fail(format!("{key}.name"), "must not be empty".into());
            return None;
        }
        Some(n) => n.clone(),
        None => format!("{}-{}", kind.name(), i + 1),
    };
    let url = url?;
    if t.token_env.is_some() && t.token_file.is_some() {
        return None;
    }
    ok.then_some(Target {
        name,
        kind,
        url,
        token,
        findings,
        key,
    })
}

/// Registers every webhook URL and token the settings name, where readable, so that no output
/// shows them even on paths that fail before they are used.
pub fn register_configured(alerts: &AlertSettings) {
    for t in &alerts.targets {
        if let Ok(url) = t.url.load("") {
            register_url(url.expose());
        }
        if let Some(tok) = &t.token {
            let _ = tok.load("");
        }
    }
}

/// Registers a webhook URL for redaction in every form it may be printed in: as written, as
/// `reqwest` normalises it, and its path and query alone (where the secret part of a Slack or
/// token-in-query URL is).
pub fn register_url(url: &str) {
    let url = url.trim();
    register(url);
    register(url.trim_end_matches('/'));
    if let Ok(u) = reqwest::Url::parse(url) {
        register(u.as_str());
        let mut tail = u.path().to_string();
        if let Some(q) = u.query() {
            tail.push('?');
            tail.push_str(q);
        }
        // A bare or very short path ("/", "/hook") is not the secret part of anything.
        if tail.len() >= 8 {
            register(&tail);
        }
    }
}

/// The files and environment variables `[alerts]` names that are not there (for `config
/// check`): `(key, message)`.
pub fn unreadable(raw: &RawAlerts, base: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, t) in raw.targets.iter().enumerate() {
        let key = format!("alerts.targets[{i}]");
        for (what, env, file) in [
            ("url", &t.url_env, &t.url_file),
            ("token", &t.token_env, &t.token_file),
        ] {
            if let Some(v) = env.as_ref().filter(|v| !v.trim().is_empty()) {
                if std::env::var(v).map_or(true, |x| x.trim().is_empty()) {
                    out.push((
                        format!("{key}.{what}_env"),
                        format!("the environment variable {v} is not set (or empty)"),
                    ));
                }
            }
            if let Some(f) = file.as_ref().filter(|f| !f.as_os_str().is_empty()) {
                let full = if f.is_absolute() {
                    f.clone()
                } else {
                    base.join(f)
                };
                if !full.is_file() {
                    out.push((
                        format!("{key}.{what}_file"),
                        format!("{} is not a readable file", full.display()),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(raw: &RawAlerts) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let s = validate(Some(raw), Path::new("/cfg"), &mut |k, m| out.push((k, m)));
        assert_eq!(s.is_some(), out.is_empty());
        out
    }

    #[test]
    fn every_problem_of_every_target_is_named() {
        let raw = RawAlerts {
            report_url: Some("ftp://x/{{ week }}".into()),
            retries: Some(11),
            targets: vec![
                RawTarget {
                    kind: Some("teams".into()),
                    url: Some("https://hooks.example/x".into()),
                    ..Default::default()
                },
                RawTarget {
                    kind: Some("slack".into()),
                    url_env: Some("A".into()),
                    url_file: Some("b".into()),
                    token_env: Some("T".into()),
                    findings: Some(vec!["broken_surge".into(), "weather".into()]),
                    ..Default::default()
                },
                RawTarget {
                    kind: Some("webhook".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let keys: Vec<String> = problems(&raw).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            vec![
                "alerts.report_url",
                "alerts.retries",
                "alerts.targets[0].kind",
                "alerts.targets[0].url",
                "alerts.targets[1].url_file",
                "alerts.targets[1].token_env",
                "alerts.targets[1].findings[1]",
                "alerts.targets[2].url_env",
            ]
        );
    }

    #[test]
    fn a_valid_section_has_defaults_and_broken_proxy_stands_for_three_flags() {
        let raw = RawAlerts {
            report_url: Some("https://r.example/{{ slug }}/{{ week }}.html".into()),
            targets: vec![
                RawTarget {
                    kind: Some("slack".into()),
                    url_file: Some("slack-url".into()),
                    ..Default::default()
                },
                RawTarget {
                    name: Some("ops".into()),
                    kind: Some("webhook".into()),
                    url_env: Some("OPS_URL".into()),
                    token_env: Some("OPS_TOKEN".into()),
                    findings: Some(vec!["tracking_break".into()]),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert!(problems(&raw).is_empty());
        let s = validate(Some(&raw), Path::new("/cfg"), &mut |_, _| {}).unwrap();
        assert_eq!(s.targets[0].name, "slack-1");
        assert_eq!(s.targets[0].url, SecretRef::File("/cfg/slack-url".into()));
        assert_eq!(
            s.targets[0].findings.len(),
            5,
            "{:?}",
            s.targets[0].findings
        );
        assert_eq!(
            s.targets[1].findings,
            vec![FindingKind::Flag(FlagKind::TrackingBreak)]
        );
        assert_eq!((s.retries, s.max_wait), (4, Duration::from_secs(120)));
        assert_eq!(
            render_report_url(s.report_url.as_deref().unwrap(), "Demo store", "2026-W46").unwrap(),
            "https://r.example/demo-store-d62b30b1/2026-W46.html"
        );
    }

    #[test]
    fn duplicate_names_and_an_empty_target_list_are_errors() {
        let t = RawTarget {
            name: Some("x".into()),
            kind: Some("webhook".into()),
            url_env: Some("U".into()),
            ..Default::default()
        };
        let raw = RawAlerts {
            targets: vec![t.clone(), t],
            ..Default::default()
        };
        let p = problems(&raw);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "alerts.targets[1].name");
        let p = problems(&RawAlerts::default());
        assert_eq!(p[0].0, "alerts.targets");
    }
}
