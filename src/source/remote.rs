//! Pulling the API sources of one account (concurrently, on a runtime owned here so the rest of
//! the program stays synchronous), and snapshots of what was pulled: `optsignal pull` writes
//! one JSON file per account and ISO week (temp file + rename), and `recommend` can read it back
//! offline with `[fetch] snapshot` / `--snapshot`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::bigquery::BigQuerySettings;
use super::ga4_api::Ga4Pull;
use super::ga4_api::Ga4Spec;
use super::google_ads::AdsPull;
use super::google_ads::AdsSpec;
use super::http::HttpSettings;
use super::http::{block_on, Http, HttpError};
use super::meta::MetaPull;
use super::meta::MetaSpec;
use super::window::Window;
use crate::types::IsoWeek;

/// Validated settings of the API sources (validated by [`crate::config`]).
#[derive(Debug, Clone, Default)]
pub struct RemoteSettings {
    /// Timeouts, retries, concurrency.
    pub http: HttpSettings,
    /// Weeks to pull; `None` when no API source is configured.
    pub window: Option<Window>,
    /// Meta ad account.
    pub meta: Option<MetaSpec>,
    /// GA4 property.
    pub ga4: Option<Ga4Spec>,
    /// Google Ads customer.
    pub google_ads: Option<AdsSpec>,
    /// Snapshot to read instead of the network.
    pub snapshot: Option<PathBuf>,
    /// GA4 export in BigQuery (the event source with `source.kind = "bigquery"`).
    pub bigquery: Option<BigQuerySettings>,
}

impl RemoteSettings {
    /// Whether any API source (or a snapshot of one) is configured.
    pub fn any(&self) -> bool {
        self.meta.is_some()
            || self.ga4.is_some()
            || self.google_ads.is_some()
            || self.snapshot.is_some()
    }
}

/// Version of the snapshot format.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Everything pulled from the APIs for one account: the snapshot's content, and the report's
/// `pulled` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pulled {
    /// Snapshot format version.
    pub snapshot_version: u32,
    /// Account name.
    pub account: String,
    /// First week pulled.
    pub first_week: IsoWeek,
    /// Last week pulled.
    pub last_week: IsoWeek,
    /// Meta ad sets, learning stages and weekly events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<MetaPull>,
    /// GA4 weekly volumes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ga4: Option<Ga4Pull>,
    /// Google Ads weekly conversions, actions and goals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_ads: Option<AdsPull>,
}

/// Why pulling (or reading a snapshot) failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// An API call failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A snapshot could not be read or written.
    #[error("snapshot {path}: {message}")]
    Snapshot {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The HTTP client or runtime could not start.
    #[error("{0}")]
    Setup(String),
}

/// Pulls every configured API source of an account (or reads the configured snapshot);
/// `events` are the event names GA4 is asked about. `None` when no API source is configured.
pub fn pull(
    account: &str,
    remote: &RemoteSettings,
    events: &[String],
) -> Result<Option<Pulled>, RemoteError> {
    if let Some(path) = &remote.snapshot {
        return read_snapshot(path).map(Some);
    }
    let Some(window) = remote.window else {
        return Ok(None);
    };
    if remote.meta.is_none() && remote.ga4.is_none() && remote.google_ads.is_none() {
        return Ok(None);
    }
    let http = Http::new(remote.http.clone()).map_err(RemoteError::Setup)?;
    let work = async {
        let meta = async {
            match &remote.meta {
                Some(m) => super::meta::fetch(&http, account, m, &window)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let ga4 = async {
            match &remote.ga4 {
                Some(g) => super::ga4_api::fetch(&http, account, g, &window, events)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let ads = async {
            match &remote.google_ads {
                Some(a) => super::google_ads::fetch(&http, account, a, &window)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (meta, ga4, ads) = tokio::join!(meta, ga4, ads);
        Ok::<_, HttpError>(Pulled {
            snapshot_version: SNAPSHOT_VERSION,
            account: account.to_string(),
            first_week: window.first,
            last_week: window.last,
            meta: meta?,
            ga4: ga4?,
            google_ads: ads?,
        })
    };
    Ok(Some(block_on(work).map_err(RemoteError::Setup)??))
}

/// A file-name-safe form of an account name ([`crate::fsutil::slug`]: the same identity as the
/// model store and the sent-state).
pub fn slug(name: &str) -> String {
    crate::fsutil::slug(name)
}

/// Writes `dir/<account>/<last week>.json` atomically ([`crate::fsutil::write_atomic`]);
/// returns the path.
pub fn write_snapshot(dir: &Path, p: &Pulled) -> Result<PathBuf, RemoteError> {
    let path = dir
        .join(slug(&p.account))
        .join(format!("{}.json", p.last_week));
    let err = |message: String| RemoteError::Snapshot {
        path: path.clone(),
        message,
    };
    let text = serde_json::to_string_pretty(p).map_err(|e| err(e.to_string()))?;
    crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| err(e.to_string()))?;
    Ok(path)
}

/// Reads a snapshot written by [`write_snapshot`].
pub fn read_snapshot(path: &Path) -> Result<Pulled, RemoteError> {
    let err = |message: String| RemoteError::Snapshot {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let p: Pulled = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    if p.snapshot_version != SNAPSHOT_VERSION {
        return Err(err(format!(
            "format version {} (this optsignal reads {SNAPSHOT_VERSION})",
            p.snapshot_version
        )));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = Pulled {
            snapshot_version: SNAPSHOT_VERSION,
            account: "Demo store".into(),
            first_week: "2026-W40".parse().unwrap(),
            last_week: "2026-W46".parse().unwrap(),
            meta: None,
            ga4: None,
            google_ads: None,
        };
        let path = write_snapshot(dir.path(), &p).unwrap();
        assert!(
            path.ends_with("demo-store-d62b30b1/2026-W46.json"),
            "{path:?}"
        );
        assert_eq!(read_snapshot(&path).unwrap(), p);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }
}
