//! `optsignal signal export` (issue 16 item 1): the units of the last `signal.days` days that
//! did the recommended (or a named) event, as request bodies for the Meta Conversions API,
//! Google Ads offline click conversions and the GA4 Measurement Protocol ([`payload`]), with
//! email and phone normalised and hashed ([`hash`]). A dry run (the default) writes the bodies
//! to `<signal.out_dir>/<account>/<last day>/` with a `manifest.json`; nothing leaves the
//! machine.
//!
//! Which event: `--event`, else the account's recommendation for the platform (Meta for the
//! Conversions API; Google Ads for click conversions and GA4, whose key events feed Google Ads).
//! A destination whose platform has no recommendation is skipped, and the manifest says why.

pub mod hash;
pub mod payload;
pub mod send;
pub mod sent;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::config::signal::SignalSettings;
use crate::config::Settings;
use crate::platform::PlatformId;
use crate::report::Report;
use crate::source::identified::{self, Conversion, IdentifiedError};
use crate::types::EventName;
use payload::{Common, Item, Items, Skip};

/// A destination of the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// Meta Conversions API.
    Meta,
    /// Google Ads offline click conversions.
    GoogleAds,
    /// GA4 Measurement Protocol.
    Ga4,
}

impl Destination {
    /// The file-name and JSON id.
    pub fn id(self) -> &'static str {
        match self {
            Destination::Meta => "meta",
            Destination::GoogleAds => "google_ads",
            Destination::Ga4 => "ga4",
        }
    }

    /// The API's name, for messages.
    pub fn api(self) -> &'static str {
        match self {
            Destination::Meta => "Meta Conversions API",
            Destination::GoogleAds => "Google Ads uploadClickConversions",
            Destination::Ga4 => "GA4 Measurement Protocol",
        }
    }

    /// The identifier it cannot do without.
    fn required(self) -> &'static str {
        match self {
            Destination::Meta => "client_user_agent",
            Destination::GoogleAds => "gclid",
            Destination::Ga4 => "client_id",
        }
    }
}

impl crate::error::ExitError for SignalError {
    fn exit_code(&self) -> i32 {
        SignalError::exit_code(self)
    }
}

impl From<SignalError> for crate::error::Error {
    fn from(e: SignalError) -> Self {
        crate::error::Error::Signal(Box::new(e))
    }
}

/// Why the export failed; each names the file or key.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// No `[signal]` section.
    #[error(
        "{origin}: no [signal] section (destinations, identifier columns): see docs/delivery.md"
    )]
    NotConfigured {
        /// The config file.
        origin: String,
    },
    /// The identifiers could not be read.
    #[error(transparent)]
    Read(#[from] IdentifiedError),
    /// A destination's required identifier has no column in the log.
    #[error("{}: the {} needs {param}, but the log has no column {column:?} (signal.columns.{param}); map the column or remove [signal.{}]", path.display(), destination.api(), destination.id())]
    MissingIdentifier {
        /// The destination.
        destination: Destination,
        /// The parameter (`gclid`).
        param: &'static str,
        /// The column looked for.
        column: String,
        /// The log.
        path: PathBuf,
    },
    /// A payload file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `--send` to a destination whose credentials are not configured.
    #[error("--send to the {}: no credentials configured: set {key} (see docs/delivery.md); nothing was sent", destination.api())]
    NoCredentials {
        /// The destination.
        destination: Destination,
        /// The config key to set.
        key: &'static str,
    },
    /// A configured secret could not be read.
    #[error("--send to the {}: {message}; nothing was sent", destination.api())]
    Secret {
        /// The destination.
        destination: Destination,
        /// The variable or file at fault (never the value).
        message: String,
    },
    /// The sent-state could not be read (or its lock taken).
    #[error("sent-state {}: {message}; nothing was sent", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Another `--send` of this account holds the lock.
    #[error("another signal export --send of this account is running (lock {}); nothing was sent", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The platform accepted a request but its sent-state could not be written: a re-run would
    /// send it again, so the run stops.
    #[error("the {} accepted a request but its sent-state {} could not be written ({message}); stopped, so that nothing is sent twice: fix the folder before the next run", destination.api(), path.display())]
    SentNotRecorded {
        /// The destination.
        destination: Destination,
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The async runtime or HTTP client could not start.
    #[error("{0}")]
    Runtime(String),
}

impl SignalError {
    /// 2 for a configuration problem (no section, a missing column), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            SignalError::NotConfigured { .. }
            | SignalError::MissingIdentifier { .. }
            | SignalError::NoCredentials { .. }
            | SignalError::Secret { .. }
            | SignalError::Read(IdentifiedError::MissingColumn { .. }) => crate::error::EXIT_USAGE,
            SignalError::SentNotRecorded { .. } => crate::error::EXIT_SENT_UNRECORDED,
            _ => crate::error::EXIT_RUNTIME,
        }
    }
}

/// One destination's part of the export.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationExport {
    /// Which.
    pub destination: Destination,
    /// The canonical event exported (`None`: skipped, see `skipped_because`).
    pub event: Option<EventName>,
    /// The event name sent.
    pub event_name: Option<String>,
    /// Where the bodies go (no secret in it).
    pub endpoint: String,
    /// Why the destination was skipped.
    pub skipped_because: Option<String>,
    /// Conversions built.
    pub events: usize,
    /// Units left out, by reason.
    pub left_out: BTreeMap<Skip, u64>,
    /// The conversions, in order, each with its body part.
    #[serde(skip)]
    pub items: Vec<Item>,
    /// Meta's test events code, carried by every Conversions API body.
    #[serde(skip)]
    pub test_event_code: Option<String>,
    /// Files written (dry run).
    pub files: Vec<String>,
}

/// What the export built (and, for a dry run, wrote).
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    /// Account.
    pub account: String,
    /// The log read.
    pub log: String,
    /// First and last instant of the window (RFC 3339).
    pub window: (String, String),
    /// Rows read.
    pub rows_read: u64,
    /// The folder written (dry run).
    pub out_dir: Option<String>,
    /// What `--send` delivered (absent on a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<send::SendReport>,
    /// Per destination.
    pub destinations: Vec<DestinationExport>,
}

fn rfc3339(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The event of a destination: `--event`, else the platform's recommendation; a derived or
/// predicted event is refused with why (no row of the log is one: it must be built first).
fn event_for(
    d: Destination,
    named: Option<&EventName>,
    report: &Report,
) -> Result<EventName, String> {
    let e = recommended_or_named(d, named, report)?;
    let built = report.input.derived.as_ref().and_then(|s| {
        s.kept
            .iter()
            .find(|k| k.rule.name == e)
            .map(|k| &k.rule.kind)
    });
    match built {
        Some(crate::observe::DerivedKind::Predicted { .. }) => Err(format!(
            "{e} is the predicted signal, a model's score: signal export does not score sessions yet; your server scores and sends it (the model is in `optsignal signal spec`), or name a raw event with --event"
        )),
        Some(_) => Err(format!(
            "{e} is a derived event, not a row of the log: build it on the site as `optsignal signal spec` says (the platforms then receive it from the tags), or name a raw event with --event"
        )),
        None => Ok(e),
    }
}

fn recommended_or_named(
    d: Destination,
    named: Option<&EventName>,
    report: &Report,
) -> Result<EventName, String> {
    if let Some(e) = named {
        return Ok(e.clone());
    }
    let platform = match d {
        Destination::Meta => PlatformId::Meta,
        Destination::GoogleAds | Destination::Ga4 => PlatformId::GoogleAds,
    };
    let Some(rec) = report
        .recommendations
        .iter()
        .find(|r| r.platform == platform)
    else {
        return Err(format!(
            "{} is not a configured platform: name the event with --event",
            platform.display_name()
        ));
    };
    rec.event.clone().ok_or_else(|| {
        format!(
            "{} has no recommended event this week ({}): name one with --event",
            platform.display_name(),
            match rec.verdict {
                Some(crate::core::recommend::Verdict::NothingUsefulClears) =>
                    "nothing useful clears",
                Some(crate::core::recommend::Verdict::NothingClears) => "nothing clears the floor",
                _ => "the floor could not be checked",
            }
        )
    })
}

/// The value per event the bodies carry: each proxy's conversion value (precision × order
/// value), and the site's average order value for a purchase without its own value.
fn values(report: &Report) -> BTreeMap<EventName, f64> {
    let mut v: BTreeMap<EventName, f64> = report
        .values
        .proxies
        .iter()
        .filter_map(|p| Some((p.event.clone(), p.conversion_value?)))
        .collect();
    if let (Some(aov), Some(p)) = (report.values.site_aov, EventName::new("purchase")) {
        v.insert(p, aov);
    }
    v
}

/// The configured destinations, in order.
fn destinations(s: &SignalSettings) -> Vec<Destination> {
    let mut d = Vec::new();
    if s.meta.is_some() {
        d.push(Destination::Meta);
    }
    if s.google_ads.is_some() {
        d.push(Destination::GoogleAds);
    }
    if s.ga4.is_some() {
        d.push(Destination::Ga4);
    }
    d
}

/// One destination's event name, endpoint and items from its conversions.
fn build(
    d: Destination,
    s: &SignalSettings,
    convs: &[Conversion],
    common: &Common<'_>,
    event: &EventName,
) -> (String, String, Items) {
    match d {
        Destination::Meta => {
            let m = s.meta.as_ref().expect("configured");
            let name = m
                .event_name
                .clone()
                .or_else(|| payload::meta_event_name(event).map(String::from))
                .unwrap_or_else(|| event.to_string());
            let items = payload::meta_items(convs, common, Some(&name));
            let url = format!("{}/{}/events", m.base_url.trim_end_matches('/'), m.pixel_id);
            (name, url, items)
        }
        Destination::GoogleAds => {
            let g = s.google_ads.as_ref().expect("configured");
            let items = payload::google_items(convs, common, &g.conversion_action);
            let base = g
                .credentials
                .as_ref()
                .map_or(crate::source::google_ads::DEFAULT_BASE_URL, |c| {
                    c.base_url.as_str()
                });
            let url = format!(
                "{}/customers/{}:uploadClickConversions",
                base.trim_end_matches('/'),
                g.customer_id
            );
            (g.conversion_action.clone(), url, items)
        }
        Destination::Ga4 => {
            let g = s.ga4.as_ref().expect("configured");
            let name = g
                .event_name
                .clone()
                .unwrap_or_else(|| format!("optsignal_{event}"));
            let items = payload::ga4_items(convs, common, &name);
            let url = format!(
                "{}/mp/collect?measurement_id={}",
                g.base_url.trim_end_matches('/'),
                g.measurement_id
            );
            (name, url, items)
        }
    }
}

/// Most items in one request of `d`: Meta 1,000, Google Ads 2,000, GA4 one unit a request.
pub fn batch_size(d: Destination) -> usize {
    match d {
        Destination::Meta => payload::META_BATCH,
        Destination::GoogleAds => payload::GOOGLE_BATCH,
        Destination::Ga4 => 1,
    }
}

/// The request bodies of `items` for `d`, in order, each with the items it carries.
pub fn batches<'a>(
    d: Destination,
    items: &'a [Item],
    test_event_code: Option<&str>,
) -> Vec<(Value, &'a [Item])> {
    items
        .chunks(batch_size(d))
        .map(|chunk| {
            let body = match d {
                Destination::Meta => payload::meta_body(chunk, test_event_code),
                Destination::GoogleAds => payload::google_body(chunk),
                Destination::Ga4 => chunk[0].body.clone(),
            };
            (body, chunk)
        })
        .collect()
}

/// Builds every configured destination's bodies from the log of `settings` and the
/// recommendations of `report` (or `event`).
pub fn prepare(
    settings: &Settings,
    report: &Report,
    event: Option<&EventName>,
) -> Result<Export, SignalError> {
    let s = settings
        .signal
        .as_ref()
        .ok_or_else(|| SignalError::NotConfigured {
            origin: settings.account.clone(),
        })?;
    let dests = destinations(s);
    let chosen: Vec<(Destination, Result<EventName, String>)> = dests
        .iter()
        .map(|d| (*d, event_for(*d, event, report)))
        .collect();
    let mut wanted: Vec<EventName> = chosen.iter().filter_map(|(_, e)| e.clone().ok()).collect();
    wanted.sort();
    wanted.dedup();
    let path = s
        .path
        .clone()
        .unwrap_or_else(|| settings.source.path.clone());
    let by_session = settings.observe.unit == crate::observe::UnitKind::Session;
    let spec = identified::spec_for(&path, &settings.source, s.columns.names.clone(), by_session);
    let read = identified::read(&spec, &wanted, s.days)?;
    for (d, e) in &chosen {
        let p = d.required();
        if e.is_ok() && !read.present.contains(p) {
            return Err(SignalError::MissingIdentifier {
                destination: *d,
                param: p,
                column: s.columns.get(p).to_string(),
                path: path.clone(),
            });
        }
    }
    let values = values(report);
    let common = Common {
        account: &settings.account,
        values: &values,
        currency: &s.currency,
        country_code: s.country_code.as_deref(),
    };
    let mut out = Vec::new();
    for (d, e) in chosen {
        let event = match e {
            Ok(e) => e,
            Err(why) => {
                out.push(DestinationExport {
                    destination: d,
                    event: None,
                    event_name: None,
                    endpoint: String::new(),
                    skipped_because: Some(why),
                    events: 0,
                    left_out: BTreeMap::new(),
                    items: Vec::new(),
                    test_event_code: None,
                    files: Vec::new(),
                });
                continue;
            }
        };
        let convs: Vec<Conversion> = read
            .conversions
            .iter()
            .filter(|c| c.event == event)
            .cloned()
            .collect();
        let (name, endpoint, items) = build(d, s, &convs, &common, &event);
        out.push(DestinationExport {
            destination: d,
            event: Some(event),
            event_name: Some(name),
            endpoint,
            skipped_because: None,
            events: items.items.len(),
            left_out: items.skipped,
            items: items.items,
            test_event_code: match d {
                Destination::Meta => s.meta.as_ref().and_then(|m| m.test_event_code.clone()),
                _ => None,
            },
            files: Vec::new(),
        });
    }
    Ok(Export {
        account: settings.account.clone(),
        log: path.display().to_string(),
        window: (rfc3339(read.window.0), rfc3339(read.window.1)),
        rows_read: read.rows_read,
        out_dir: None,
        delivery: None,
        destinations: out,
    })
}

fn write(path: &Path, v: &Value) -> Result<(), SignalError> {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|source| SignalError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes every body of `export` as a file under `<out_dir>/<account>/<last day>/`
/// (`meta-001.json`: one Conversions API request; `google_ads-001.json`; `ga4-001.json`: an
/// array of Measurement Protocol bodies, one POST each), then `manifest.json`.
pub fn write_dry_run(export: &mut Export, out_dir: &Path) -> Result<PathBuf, SignalError> {
    let day = export.window.1.get(..10).unwrap_or("undated").to_string();
    let dir = out_dir.join(crate::fsutil::slug(&export.account)).join(day);
    for d in &mut export.destinations {
        let bodies: Vec<Value> = batches(d.destination, &d.items, d.test_event_code.as_deref())
            .into_iter()
            .map(|(b, _)| b)
            .collect();
        let chunks: Vec<Value> = match d.destination {
            Destination::Ga4 => bodies
                .chunks(payload::META_BATCH)
                .map(|c| Value::Array(c.to_vec()))
                .collect(),
            _ => bodies,
        };
        for (i, body) in chunks.iter().enumerate() {
            let name = format!("{}-{:03}.json", d.destination.id(), i + 1);
            write(&dir.join(&name), body)?;
            d.files.push(name);
        }
    }
    export.out_dir = Some(dir.display().to_string());
    let manifest = serde_json::to_value(&*export).unwrap_or(Value::Null);
    write(&dir.join("manifest.json"), &manifest)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_hold_at_most_each_platform_s_limit() {
        let items: Vec<Item> = (0..2500)
            .map(|i| Item {
                event_id: format!("e{i}"),
                micros: 0,
                body: serde_json::json!({"n": i}),
            })
            .collect();
        let meta = batches(Destination::Meta, &items, Some("TEST1"));
        let sizes: Vec<usize> = meta.iter().map(|(_, rows)| rows.len()).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
        assert_eq!(meta[2].0["data"].as_array().unwrap().len(), 500);
        assert_eq!(meta[2].0["data"][0]["n"], 2000);
        assert_eq!(meta[0].0["test_event_code"], "TEST1");
        let ads = batches(Destination::GoogleAds, &items, None);
        assert_eq!(ads.len(), 2);
        assert_eq!(ads[0].0["conversions"].as_array().unwrap().len(), 2000);
        assert_eq!(ads[0].0["partialFailure"], true);
        assert_eq!(batches(Destination::Ga4, &items, None).len(), 2500);
    }
}
