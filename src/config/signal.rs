//! `[signal]`: where `optsignal signal export` reads the identifiers a platform matches on, how
//! its columns are named, and the three destinations (Meta Conversions API, Google Ads offline
//! click conversions, GA4 Measurement Protocol). Secrets (Meta access token, GA4 api_secret) are
//! named by `*_env` / `*_file`, never written in the config; Google Ads credentials are those of
//! `[google_ads]`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::source::google_ads::AdsSpec;
use crate::source::secret::SecretRef;

/// `[signal]` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSignal {
    /// Log with the identifier columns (relative to the config; default `source.path`). It is
    /// read with `[source]`'s column names for timestamp, user, session, event and value.
    pub path: Option<PathBuf>,
    /// Days before the log's last event whose qualifying units are exported (default 7, Meta's
    /// limit for website events; at most 90).
    pub days: Option<u32>,
    /// Folder of the dry-run payload files (default `signal` beside the config).
    pub out_dir: Option<PathBuf>,
    /// Folder of the sent-state files (default `state` beside the config).
    pub state_dir: Option<PathBuf>,
    /// ISO 4217 code of the values sent (`EUR`).
    pub currency: Option<String>,
    /// Country calling code put before national phone numbers (`49`), digits.
    pub default_country_code: Option<String>,
    /// `[signal.columns]`: which column holds each identifier.
    #[serde(default)]
    pub columns: RawColumns,
    /// `[signal.meta]`.
    pub meta: Option<RawMetaSignal>,
    /// `[signal.google_ads]`.
    pub google_ads: Option<RawGoogleAdsSignal>,
    /// `[signal.ga4]`.
    pub ga4: Option<RawGa4Signal>,
}

/// `[signal.columns]`: column names (default: the parameter's own name).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumns {
    /// Email (hashed before it leaves: Meta `em`).
    pub email: Option<String>,
    /// Phone number (hashed: Meta `ph`).
    pub phone: Option<String>,
    /// Meta browser id cookie `_fbp`.
    pub fbp: Option<String>,
    /// Meta click id cookie `_fbc`.
    pub fbc: Option<String>,
    /// Client IP address.
    pub client_ip_address: Option<String>,
    /// Client user agent.
    pub client_user_agent: Option<String>,
    /// Google click id.
    pub gclid: Option<String>,
    /// GA4 client id (the `_ga` cookie's id).
    pub client_id: Option<String>,
    /// The site's own event id (the pixel's `eventID`), for Meta's deduplication.
    pub event_id: Option<String>,
}

/// `[signal.meta]`: a pixel (dataset) of the Conversions API.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetaSignal {
    /// Pixel (dataset) id, digits.
    pub pixel_id: Option<String>,
    /// Event name sent (default the Meta standard event of the signal: `AddToCart`).
    pub event_name: Option<String>,
    /// Test events code from Events Manager: events go to the Test Events tab only.
    pub test_event_code: Option<String>,
    /// Environment variable holding the access token (default: `[meta]`'s).
    pub access_token_env: Option<String>,
    /// File holding the access token (default: `[meta]`'s).
    pub access_token_file: Option<PathBuf>,
    /// API root (default `https://graph.facebook.com/v25.0`).
    pub base_url: Option<String>,
}

/// `[signal.google_ads]`: a conversion action taking offline click conversions.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGoogleAdsSignal {
    /// Customer id (default `[google_ads].customer_id`).
    pub customer_id: Option<String>,
    /// Conversion action id (digits) or resource name (`customers/123/conversionActions/456`).
    pub conversion_action: Option<String>,
    /// `[signal.google_ads.credentials]`: the OAuth client, refresh token and developer token
    /// `--send` uploads with, as in `[google_ads]` (default: `[google_ads]`'s own).
    pub credentials: Option<crate::config::remote::RawGoogleAds>,
}

/// `[signal.ga4]`: a GA4 web data stream of the Measurement Protocol.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGa4Signal {
    /// Measurement id (`G-XXXXXXX`).
    pub measurement_id: Option<String>,
    /// Environment variable holding the stream's Measurement Protocol api_secret.
    pub api_secret_env: Option<String>,
    /// File holding the api_secret.
    pub api_secret_file: Option<PathBuf>,
    /// Event name sent (default `optsignal_<event>`, so the site's own events are not counted
    /// twice).
    pub event_name: Option<String>,
    /// Root (default `https://www.google-analytics.com`).
    pub base_url: Option<String>,
}

/// Identifier column names, each with its config key for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// (parameter, column, set in config) for email, phone, fbp, fbc, client_ip_address,
    /// client_user_agent, gclid, client_id, event_id.
    pub names: Vec<(&'static str, String, bool)>,
}

impl Columns {
    /// The column of a parameter (`gclid`).
    pub fn get<'a>(&'a self, param: &'a str) -> &'a str {
        self.names
            .iter()
            .find(|(p, _, _)| *p == param)
            .map_or(param, |(_, c, _)| c.as_str())
    }
}

/// Validated `[signal.meta]`.
#[derive(Debug, Clone)]
pub struct MetaSignal {
    /// Pixel id.
    pub pixel_id: String,
    /// Event name override.
    pub event_name: Option<String>,
    /// Test events code.
    pub test_event_code: Option<String>,
    /// Access token (`None`: neither here nor in `[meta]`; dry runs only).
    pub token: Option<SecretRef>,
    /// API root.
    pub base_url: String,
}

/// Validated `[signal.google_ads]`.
#[derive(Debug, Clone)]
pub struct GoogleAdsSignal {
    /// Customer id, digits.
    pub customer_id: String,
    /// Conversion action resource name.
    pub conversion_action: String,
    /// The credentials `--send` uploads with (`None`: neither here nor in `[google_ads]`; dry
    /// runs only).
    pub credentials: Option<AdsSpec>,
}

/// Validated `[signal.ga4]`.
#[derive(Debug, Clone)]
pub struct Ga4Signal {
    /// Measurement id.
    pub measurement_id: String,
    /// The api_secret (`None`: dry runs only).
    pub api_secret: Option<SecretRef>,
    /// Event name override.
    pub event_name: Option<String>,
    /// Root.
    pub base_url: String,
}

/// Validated `[signal]`.
#[derive(Debug, Clone)]
pub struct SignalSettings {
    /// The log with identifiers (`None`: `source.path`).
    pub path: Option<PathBuf>,
    /// Days exported.
    pub days: u32,
    /// Dry-run folder.
    pub out_dir: PathBuf,
    /// Sent-state folder.
    pub state_dir: PathBuf,
    /// Currency of values.
    pub currency: String,
    /// Country code for national phone numbers.
    pub country_code: Option<String>,
    /// Identifier columns.
    pub columns: Columns,
    /// Meta destination.
    pub meta: Option<MetaSignal>,
    /// Google Ads destination.
    pub google_ads: Option<GoogleAdsSignal>,
    /// GA4 destination.
    pub ga4: Option<Ga4Signal>,
}

/// A path relative to the config's folder.
fn beside(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Validates `[signal]`; every problem goes to `err(key, message)`. `meta_token` and
/// `ads` are `[meta]`'s token and `[google_ads]`'s customer and credentials, the defaults.
pub fn validate(
    raw: Option<&RawSignal>,
    base: &Path,
    meta_token: Option<SecretRef>,
    ads: Option<&AdsSpec>,
    err: &mut dyn FnMut(&str, String),
) -> Option<SignalSettings> {
    let r = raw?;
    let days = r.days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        err("signal.days", format!("{days} must be from 1 to 90"));
    }
    let currency = r.currency.clone().unwrap_or_default();
    if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
        err(
            "signal.currency",
            format!("{currency:?} must be an ISO 4217 code of three capital letters (EUR, USD)"),
        );
    }
    let country_code = r.default_country_code.clone();
    if let Some(cc) = &country_code {
        if cc.is_empty() || cc.len() > 3 || !cc.bytes().all(|b| b.is_ascii_digit()) {
            err(
                "signal.default_country_code",
                format!("{cc:?} must be 1 to 3 digits (49, 1, 44), without + or 00"),
            );
        }
    }
    let c = &r.columns;
    let names = [
        ("email", &c.email),
        ("phone", &c.phone),
        ("fbp", &c.fbp),
        ("fbc", &c.fbc),
        ("client_ip_address", &c.client_ip_address),
        ("client_user_agent", &c.client_user_agent),
        ("gclid", &c.gclid),
        ("client_id", &c.client_id),
        ("event_id", &c.event_id),
    ]
    .into_iter()
    .map(|(p, v)| {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            err(&format!("signal.columns.{p}"), "must name a column".into());
        }
        (p, v.clone().unwrap_or_else(|| p.to_string()), v.is_some())
    })
    .collect();
    let meta = r
        .meta
        .as_ref()
        .map(|m| meta_signal(m, base, meta_token, err));
    let google_ads = r
        .google_ads
        .as_ref()
        .map(|g| google_ads_signal(g, base, ads, err));
    let ga4 = r.ga4.as_ref().map(|g| ga4_signal(g, base, err));
    if meta.is_none() && google_ads.is_none() && ga4.is_none() {
        err(
            "signal",
            "configure at least one destination: [signal.meta], [signal.google_ads] or [signal.ga4]".into(),
        );
    }
    Some(SignalSettings {
        path: r.path.as_deref().map(|p| beside(base, p)),
        days,
        out_dir: beside(base, r.out_dir.as_deref().unwrap_or(Path::new("signal"))),
        state_dir: beside(base, r.state_dir.as_deref().unwrap_or(Path::new("state"))),
        currency,
        country_code,
        columns: Columns { names },
        meta,
        google_ads,
        ga4,
    })
}

fn meta_signal(
    m: &RawMetaSignal,
    base: &Path,
    default_token: Option<SecretRef>,
    err: &mut dyn FnMut(&str, String),
) -> MetaSignal {
    let pixel_id = m.pixel_id.clone().unwrap_or_default();
    if pixel_id.is_empty() || !pixel_id.bytes().all(|b| b.is_ascii_digit()) {
        err(
            "signal.meta.pixel_id",
            format!("{pixel_id:?} must be the pixel (dataset) id, digits"),
        );
    }
    let token = SecretRef::from_config(
        m.access_token_env.as_deref(),
        m.access_token_file.as_deref(),
        base,
    )
    .or(default_token);
    MetaSignal {
        pixel_id,
        event_name: m.event_name.clone(),
        test_event_code: m.test_event_code.clone(),
        token,
        base_url: m
            .base_url
            .clone()
            .unwrap_or_else(|| crate::source::meta::DEFAULT_BASE_URL.to_string()),
    }
}

fn google_ads_signal(
    g: &RawGoogleAdsSignal,
    base: &Path,
    default: Option<&AdsSpec>,
    err: &mut dyn FnMut(&str, String),
) -> GoogleAdsSignal {
    let customer_id: String = g
        .customer_id
        .as_deref()
        .or(default.map(|d| d.customer_id.as_str()))
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != '-')
        .collect();
    if customer_id.is_empty() || !customer_id.bytes().all(|b| b.is_ascii_digit()) {
        err(
            "signal.google_ads.customer_id",
            format!(
                "{customer_id:?} must be the customer id, digits (or set [google_ads].customer_id)"
            ),
        );
    }
    let action = g.conversion_action.clone().unwrap_or_default();
    let conversion_action = if !action.is_empty() && action.bytes().all(|b| b.is_ascii_digit()) {
        format!("customers/{customer_id}/conversionActions/{action}")
    } else {
        action
    };
    let ok = conversion_action
        .strip_prefix(&format!("customers/{customer_id}/conversionActions/"))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        err(
            "signal.google_ads.conversion_action",
            format!("{conversion_action:?} must be the conversion action id or customers/{customer_id}/conversionActions/<id>"),
        );
    }
    let credentials = match &g.credentials {
        Some(raw) => {
            let mut raw = raw.clone();
            raw.customer_id.get_or_insert_with(|| customer_id.clone());
            crate::config::remote::google_ads_spec(
                &raw,
                base,
                "signal.google_ads.credentials",
                &mut |k, m| err(&k, m),
            )
        }
        None => default.cloned(),
    }
    .map(|mut spec| {
        spec.customer_id = customer_id.clone();
        spec
    });
    GoogleAdsSignal {
        customer_id,
        conversion_action,
        credentials,
    }
}

fn ga4_signal(g: &RawGa4Signal, base: &Path, err: &mut dyn FnMut(&str, String)) -> Ga4Signal {
    let measurement_id = g.measurement_id.clone().unwrap_or_default();
    if !measurement_id.starts_with("G-") || measurement_id.len() < 4 {
        err(
            "signal.ga4.measurement_id",
            format!("{measurement_id:?} must be the web stream's measurement id (G-XXXXXXX)"),
        );
    }
    if let Some(n) = &g.event_name {
        let valid = n.len() <= 40
            && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            err(
                "signal.ga4.event_name",
                format!("{n:?} must start with a letter and hold at most 40 letters, digits and underscores"),
            );
        }
    }
    Ga4Signal {
        measurement_id,
        api_secret: SecretRef::from_config(
            g.api_secret_env.as_deref(),
            g.api_secret_file.as_deref(),
            base,
        ),
        event_name: g.event_name.clone(),
        base_url: g
            .base_url
            .clone()
            .unwrap_or_else(|| "https://www.google-analytics.com".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> (Option<SignalSettings>, Vec<(String, String)>) {
        let raw: RawSignal = toml_like(text);
        let mut errors = Vec::new();
        let s = validate(
            Some(&raw),
            Path::new("/cfg"),
            None,
            Some(&ads()),
            &mut |k, m| errors.push((k.to_string(), m)),
        );
        (s, errors)
    }

    fn ads() -> AdsSpec {
        AdsSpec {
            customer_id: "1234567890".into(),
            login_customer_id: None,
            developer_token: SecretRef::Env("DEV".into()),
            client_id: "client".into(),
            client_secret: SecretRef::Env("SECRET".into()),
            refresh_token: SecretRef::Env("REFRESH".into()),
            base_url: "https://ads.example".into(),
            token_url: "https://token.example".into(),
        }
    }

    fn toml_like(text: &str) -> RawSignal {
        config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .unwrap()
    }

    #[test]
    fn a_valid_section_resolves_defaults() {
        let (s, errors) = check(
            "currency = \"EUR\"\ndefault_country_code = \"49\"\n[columns]\ngclid = \"click_id\"\n[meta]\npixel_id = \"998877\"\n[google_ads]\nconversion_action = \"456\"\n[ga4]\nmeasurement_id = \"G-TEST1\"\napi_secret_env = \"X\"\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let s = s.unwrap();
        assert_eq!(s.days, 7);
        assert_eq!(s.columns.get("gclid"), "click_id");
        assert_eq!(s.columns.get("fbp"), "fbp");
        assert_eq!(s.out_dir, PathBuf::from("/cfg/signal"));
        assert_eq!(
            s.google_ads.unwrap().conversion_action,
            "customers/1234567890/conversionActions/456"
        );
        assert!(s.meta.unwrap().token.is_none());
    }

    #[test]
    fn every_problem_is_named_by_key() {
        let (_, errors) = check(
            "days = 0\ncurrency = \"euro\"\ndefault_country_code = \"+49\"\n[columns]\nemail = \"\"\n[meta]\npixel_id = \"px\"\n[google_ads]\nconversion_action = \"customers/9/conversionActions/1\"\n[ga4]\nmeasurement_id = \"UA-1\"\nevent_name = \"1bad name\"\n",
        );
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "signal.days",
                "signal.currency",
                "signal.default_country_code",
                "signal.columns.email",
                "signal.meta.pixel_id",
                "signal.google_ads.conversion_action",
                "signal.ga4.measurement_id",
                "signal.ga4.event_name"
            ]
        );
        let (_, errors) = check("currency = \"EUR\"\n");
        assert_eq!(errors[0].0, "signal");
    }
}
