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
use payload::{Common, Items, Skip};

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
}

impl SignalError {
    /// 2 for a configuration problem (no section, a missing column), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            SignalError::NotConfigured { .. }
            | SignalError::MissingIdentifier { .. }
            | SignalError::Read(IdentifiedError::MissingColumn { .. }) => crate::error::EXIT_USAGE,
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
    /// Request bodies, in order (each one POST).
    #[serde(skip)]
    pub bodies: Vec<Value>,
    /// The event id of every conversion of each body, in order.
    #[serde(skip)]
    pub ids: Vec<Vec<String>>,
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
    /// Per destination.
    pub destinations: Vec<DestinationExport>,
}

fn rfc3339(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The event of a destination: `--event`, else the platform's recommendation.
fn event_for(
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

/// One destination's bodies from its conversions.
fn build(
    d: Destination,
    s: &SignalSettings,
    convs: &[Conversion],
    common: &Common<'_>,
    event: &EventName,
) -> (String, String, Items, Vec<Value>, Vec<Vec<String>>) {
    let (name, endpoint, items, batch) = match d {
        Destination::Meta => {
            let m = s.meta.as_ref().expect("configured");
            let name = m
                .event_name
                .clone()
                .or_else(|| payload::meta_event_name(event).map(String::from))
                .unwrap_or_else(|| event.to_string());
            let items = payload::meta_items(convs, common, Some(&name));
            let url = format!("{}/{}/events", m.base_url.trim_end_matches('/'), m.pixel_id);
            (name, url, items, payload::META_BATCH)
        }
        Destination::GoogleAds => {
            let g = s.google_ads.as_ref().expect("configured");
            let items = payload::google_items(convs, common, &g.conversion_action);
            let url = format!("customers/{}:uploadClickConversions", g.customer_id);
            (
                g.conversion_action.clone(),
                url,
                items,
                payload::GOOGLE_BATCH,
            )
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
            (name, url, items, 1)
        }
    };
    let test_code = s.meta.as_ref().and_then(|m| m.test_event_code.as_deref());
    let (bodies, ids) = items
        .items
        .chunks(batch.max(1))
        .map(|chunk| {
            let body = match d {
                Destination::Meta => payload::meta_body(chunk, test_code),
                Destination::GoogleAds => payload::google_body(chunk),
                Destination::Ga4 => chunk[0].body.clone(),
            };
            (body, chunk.iter().map(|i| i.event_id.clone()).collect())
        })
        .unzip();
    (name, endpoint, items, bodies, ids)
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
                    bodies: Vec::new(),
                    ids: Vec::new(),
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
        let (name, endpoint, items, bodies, ids) = build(d, s, &convs, &common, &event);
        out.push(DestinationExport {
            destination: d,
            event: Some(event),
            event_name: Some(name),
            endpoint,
            skipped_because: None,
            events: items.items.len(),
            left_out: items.skipped,
            bodies,
            ids,
            files: Vec::new(),
        });
    }
    Ok(Export {
        account: settings.account.clone(),
        log: path.display().to_string(),
        window: (rfc3339(read.window.0), rfc3339(read.window.1)),
        rows_read: read.rows_read,
        out_dir: None,
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
        let chunks: Vec<Value> = match d.destination {
            Destination::Ga4 => d
                .bodies
                .chunks(payload::META_BATCH)
                .map(|c| Value::Array(c.to_vec()))
                .collect(),
            _ => d.bodies.clone(),
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
