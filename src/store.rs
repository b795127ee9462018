//! The weekly model store: one JSON file per account and ISO week under the store folder
//! (`models/<account-slug>/2026-W45.json` by default), so that next week's run knows what was
//! recommended, measured and flagged this week.
//!
//! A stored week holds the week's grouped sufficient statistics (pattern counts), every proxy's
//! fitted model (terms, coefficients, covariance), its 2×2 table and precision over the analysed
//! data, its own counts for the week, its flags, and each platform's recommendation with the
//! hysteresis state (the standing event, this week's best and how many weeks it has led).
//!
//! Files are versioned by `schema_version` ([`STORE_VERSION`]); older versions are still read
//! (version 1 is a saved `--format json` report; version 2 lacks the learning-phase rule each
//! recommendation used, which version 3 adds). Writes are atomic: a temporary file in the same
//! folder, flushed to disk, then renamed over the week's file, so a crash leaves either the old
//! file or the new one, never half of one. Temporary files start with a dot and are never read
//! as weeks. Nothing in a stored week depends on the wall clock: the same data give the same bytes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::advise::Recommendation;
use crate::evidence::{ModelFit, ProxyEvidence};
use crate::flags::FlagKind;
use crate::observe::{Observations, UnitKind};
use crate::platform::{BiddingUnit, Floor, FloorBasis, PlatformId};
use crate::stats::interval::wilson;
use crate::types::{EventName, Interval, IsoWeek};

/// Version of the stored-week format written by this build.
pub const STORE_VERSION: u32 = 3;

/// Column order of [`StoredWeek::patterns`] rows.
pub const PATTERN_COLUMNS: [&str; 5] = ["device", "channel", "mask", "units", "purchasers"];

/// Why the store could not be read or written; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading, writing, listing or renaming failed.
    #[error("model store: cannot {action} {path}: {source}")]
    Io {
        /// What was attempted (`read`, `write`, `rename into place`, `list`).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A stored week is not valid JSON or lacks a field.
    #[error("model store: {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key.
        message: String,
    },
    /// A stored week was written by a newer optsignal.
    #[error("model store: {path}: schema_version {found} is newer than this optsignal reads (up to {STORE_VERSION}); upgrade optsignal")]
    TooNew {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u64,
    },
}

/// One proxy's own numbers for the stored week: units that started that week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyWeek {
    /// Times the event fired in the week.
    pub events: u64,
    /// Units starting that week in which the event fired (anywhere in the unit).
    pub units: u64,
    /// Units starting that week with the event as a feature (before any purchase); `None` in
    /// version 1 files.
    pub with_proxy: Option<u64>,
    /// Of those, units that purchased within the label window (as known when stored).
    pub purchasers: Option<u64>,
    /// purchasers / with_proxy.
    pub precision: Option<f64>,
    /// Wilson interval of that precision.
    pub precision_ci: Option<Interval>,
}

/// One proxy in a stored week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredProxy {
    /// The candidate event.
    pub event: EventName,
    /// Its numbers for the stored week alone.
    pub week: ProxyWeek,
    /// 2×2 table over all analysed data: proxy&purchase, proxy&no purchase, no proxy&purchase,
    /// neither.
    pub table: [u64; 4],
    /// Precision over all analysed data.
    pub precision: Option<f64>,
    /// Its Wilson interval.
    pub precision_ci: Option<Interval>,
    /// Lift over the base rate.
    pub lift: Option<f64>,
    /// The fitted segment-adjusted model, when estimable.
    pub model: Option<StoredModel>,
    /// Flags raised that week.
    pub flags: Vec<FlagKind>,
}

/// A fitted model as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredModel {
    /// `maximum_likelihood` or `firth`.
    pub method: String,
    /// Terms, coefficients, covariance and log-likelihood.
    #[serde(flatten)]
    pub fit: ModelFit,
}

/// Site totals of the stored week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteWeek {
    /// Units that started that week.
    pub units: u64,
    /// Units with a purchase in the unit.
    pub purchase_units: u64,
    /// Purchase events.
    pub purchase_events: u64,
}

/// One platform's recommendation as stored, with the hysteresis state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecommendation {
    /// The platform.
    pub platform: PlatformId,
    /// The standing recommendation after hysteresis (what the buyer was told).
    pub event: Option<EventName>,
    /// That week's best event before hysteresis.
    pub best: Option<EventName>,
    /// Consecutive weeks `best` had led, that week included.
    pub best_weeks: u32,
    /// Whether `event` was held against `best`.
    pub held: bool,
    /// Clearance probability of `event`.
    pub clearance: Option<f64>,
    /// Expected events of `event` per bidding unit per week.
    pub per_unit_weekly: Option<f64>,
    /// The learning-phase rule the floor check used; absent in weeks stored before version 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<StoredRule>,
}

/// The identity of the learning-phase rule a week's floor check used: enough to tell next week
/// that the rule changed (another number, window, unit or basis, another rule, or the same rule
/// re-checked on another date) and to say where it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRule {
    /// The rule's id in the rules file (`learning_phase`, `troas_search`); `None` for a floor
    /// set in `[[platforms]]`.
    pub id: Option<String>,
    /// Optimization events needed.
    pub events: f64,
    /// Window in days.
    pub days: u32,
    /// What learns.
    pub unit: BiddingUnit,
    /// Official, assumed or configured.
    pub basis: FloorBasis,
    /// The page the number is on.
    pub url: Option<String>,
    /// When the rule was last checked against that page (`YYYY-MM-DD`).
    pub checked: Option<String>,
}

impl StoredRule {
    /// The identity of the rule behind a floor.
    pub fn of(floor: &Floor) -> StoredRule {
        StoredRule {
            id: floor.rule.clone(),
            events: floor.events,
            days: floor.days,
            unit: floor.unit,
            basis: floor.basis,
            url: floor.url.clone(),
            checked: floor.checked.clone(),
        }
    }

    /// Whether `now` is another rule than this stored one: another id, number, window, unit or
    /// basis, or the same rule checked on another date.
    pub fn changed_to(&self, now: &StoredRule) -> bool {
        self.id != now.id
            || self.events != now.events
            || self.days != now.days
            || self.unit != now.unit
            || self.basis != now.basis
            || self.checked != now.checked
    }
}

/// The settings, beside the unit and the label window, that change what a stored week's numbers
/// mean: two weeks are compared only when they agree ([`StoredWeek::differs_from`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// The macro-conversion event (the label).
    pub purchase: EventName,
    /// Zone the ISO weeks are cut in.
    pub time_zone: String,
    /// Inactivity that ends an inferred session, minutes; `None` when the log has session ids.
    pub session_gap_minutes: Option<u32>,
    /// The event-name aliases (`source name=canonical`, sorted, `;`-separated): which raw
    /// events count as each candidate.
    pub aliases: String,
}

impl Basis {
    /// The basis of a run: `aliases` are the source's raw-name → canonical-name pairs.
    pub fn new<'a>(
        purchase: &EventName,
        time_zone: &jiff::tz::TimeZone,
        inferred_gap: Option<u32>,
        aliases: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Basis {
        let mut pairs: Vec<String> = aliases
            .into_iter()
            .map(|(raw, canonical)| format!("{raw}={canonical}"))
            .collect();
        pairs.sort_unstable();
        Basis {
            purchase: purchase.clone(),
            time_zone: time_zone.iana_name().unwrap_or("UTC").to_string(),
            session_gap_minutes: inferred_gap,
            aliases: pairs.join(";"),
        }
    }
}

/// Everything stored for one account and ISO week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredWeek {
    /// Format version ([`STORE_VERSION`] when written by this build).
    pub schema_version: u32,
    /// Account name.
    pub account: String,
    /// The ISO week: the last week of the analysed data.
    pub week: IsoWeek,
    /// Whether the data covered that whole week.
    pub complete: bool,
    /// Session or user units.
    pub unit: Option<UnitKind>,
    /// Label window in days.
    pub label_window_days: Option<u32>,
    /// The other settings that give the numbers their meaning; absent in files written before
    /// it was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<Basis>,
    /// First and last analysed week.
    pub data_weeks: Option<[IsoWeek; 2]>,
    /// Site totals of the week.
    pub site: Option<SiteWeek>,
    /// Candidate events in pattern-mask bit order.
    pub candidates: Vec<EventName>,
    /// Device levels (pattern column `device` indexes this).
    pub devices: Vec<String>,
    /// Channel levels (pattern column `channel` indexes this).
    pub channels: Vec<String>,
    /// The week's grouped sufficient statistics, rows in [`PATTERN_COLUMNS`] order.
    pub patterns: Vec<[u64; 5]>,
    /// Per candidate, in `candidates` order.
    pub proxies: Vec<StoredProxy>,
    /// Per platform.
    pub recommendations: Vec<StoredRecommendation>,
}

impl StoredWeek {
    /// The stored proxy of an event.
    pub fn proxy(&self, event: &EventName) -> Option<&StoredProxy> {
        self.proxies.iter().find(|p| &p.event == event)
    }

    /// Why this stored week's numbers mean something else than a run with `unit`,
    /// `label_window_days` and `basis` (the first setting that differs, with both values), or
    /// `None` when they are comparable. A setting the file does not record is not held against it.
    pub fn differs_from(
        &self,
        unit: UnitKind,
        label_window_days: u32,
        basis: &Basis,
    ) -> Option<String> {
        let was = |key: &str, then: String, now: String| {
            format!("{} was stored with {key} = {then} (now {now})", self.week)
        };
        if let Some(u) = self.unit.filter(|u| *u != unit) {
            let name = |u: UnitKind| match u {
                UnitKind::Session => "session".to_string(),
                UnitKind::User => "user".to_string(),
            };
            return Some(was("analysis.unit", name(u), name(unit)));
        }
        if let Some(d) = self.label_window_days.filter(|d| *d != label_window_days) {
            return Some(was(
                "analysis.label_window_days",
                d.to_string(),
                label_window_days.to_string(),
            ));
        }
        let b = self.basis.as_ref()?;
        let gap = |g: Option<u32>| g.map_or("none (session ids)".into(), |m| m.to_string());
        let quoted = |a: &str| {
            if a.is_empty() {
                "none".into()
            } else {
                format!("{a:?}")
            }
        };
        if b.purchase != basis.purchase {
            Some(was(
                "the purchase event",
                b.purchase.to_string(),
                basis.purchase.to_string(),
            ))
        } else if b.time_zone != basis.time_zone {
            Some(was(
                "analysis.time_zone",
                b.time_zone.clone(),
                basis.time_zone.clone(),
            ))
        } else if b.session_gap_minutes != basis.session_gap_minutes {
            Some(was(
                "the session gap (analysis.session_gap_minutes)",
                gap(b.session_gap_minutes),
                gap(basis.session_gap_minutes),
            ))
        } else if b.aliases != basis.aliases {
            Some(was(
                "source.aliases",
                quoted(&b.aliases),
                quoted(&basis.aliases),
            ))
        } else {
            None
        }
    }

    /// The stored recommendation of a platform.
    pub fn recommendation(&self, platform: PlatformId) -> Option<&StoredRecommendation> {
        self.recommendations.iter().find(|r| r.platform == platform)
    }

    /// Builds the stored week from a run: the last week of `obs`, the evidence and the
    /// recommendations after hysteresis. `None` when the data have no week.
    pub fn from_run(
        account: &str,
        obs: &Observations,
        evidence: &[ProxyEvidence],
        recommendations: &[Recommendation],
        label_window_days: u32,
        basis: Basis,
        confidence: f64,
    ) -> Option<StoredWeek> {
        let wi = obs.weeks.len().checked_sub(1)?;
        let w = &obs.weeks[wi];
        let mut patterns: Vec<[u64; 5]> = obs
            .patterns
            .iter()
            .filter(|p| p.week as usize == wi)
            .map(|p| {
                [
                    u64::from(p.device),
                    u64::from(p.channel),
                    u64::from(p.mask),
                    p.units,
                    p.purchasers,
                ]
            })
            .collect();
        patterns.sort_unstable();
        let proxies = evidence
            .iter()
            .enumerate()
            .map(|(j, e)| {
                let bit = 1u64 << j;
                let (y, n) = patterns
                    .iter()
                    .filter(|p| p[2] & bit != 0)
                    .fold((0, 0), |(y, n), p| (y + p[4], n + p[3]));
                let v = w.candidates.get(j).copied().unwrap_or_default();
                StoredProxy {
                    event: e.event.clone(),
                    week: ProxyWeek {
                        events: v.events,
                        units: v.units,
                        with_proxy: Some(n),
                        purchasers: Some(y),
                        precision: (n > 0).then(|| y as f64 / n as f64),
                        precision_ci: wilson(y, n, confidence),
                    },
                    table: [e.a, e.b, e.c, e.d],
                    precision: e.precision,
                    precision_ci: e.precision_ci,
                    lift: e.lift,
                    model: e.adjusted.as_ref().map(|m| StoredModel {
                        method: m.method.clone(),
                        fit: m.fit.clone(),
                    }),
                    flags: e.flags.iter().map(|f| f.kind).collect(),
                }
            })
            .collect();
        Some(StoredWeek {
            schema_version: STORE_VERSION,
            account: account.to_string(),
            week: w.week,
            complete: w.complete,
            unit: Some(obs.unit),
            label_window_days: Some(label_window_days),
            basis: Some(basis),
            data_weeks: obs.weeks.first().map(|f| [f.week, w.week]),
            site: Some(SiteWeek {
                units: w.units,
                purchase_units: w.purchase.units,
                purchase_events: w.purchase.events,
            }),
            candidates: obs.candidates.clone(),
            devices: obs.devices.clone(),
            channels: obs.channels.clone(),
            patterns,
            proxies,
            recommendations: recommendations
                .iter()
                .map(|r| StoredRecommendation {
                    platform: r.platform,
                    event: r.event.clone(),
                    best: r.best.clone(),
                    best_weeks: r.best_weeks,
                    held: r.held,
                    clearance: r.clearance,
                    per_unit_weekly: r.per_unit_weekly,
                    rule: Some(StoredRule::of(&r.floor)),
                })
                .collect(),
        })
    }

    /// Parses a stored week of any supported version; `path` names the file in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<StoredWeek, StoreError> {
        let parse_err = |message: String| StoreError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let v: Value = serde_json::from_str(text).map_err(|e| parse_err(e.to_string()))?;
        let version = v
            .get("schema_version")
            .and_then(Value::as_u64)
            .ok_or_else(|| parse_err("no schema_version: not a stored week".into()))?;
        match version {
            1 => v1::read(v).map_err(|e| parse_err(format!("version 1 (saved report): {e}"))),
            2 | 3 => serde_json::from_value(v).map_err(|e| parse_err(e.to_string())),
            found => Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
            }),
        }
    }

    /// The stored week as JSON: pretty, with arrays of plain numbers on one line.
    pub fn to_json(&self) -> String {
        let pretty = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        compact_flat_arrays(&pretty)
    }
}

/// Version 1: a `--format json` report saved as a week's record (before the store existed).
/// It has no per-week purchaser counts, no models and no patterns; those stay empty.
mod v1;

mod compact;
use compact::*;

impl crate::flags::PriorWeek for StoredWeek {
    fn week(&self) -> IsoWeek {
        self.week
    }
    fn complete(&self) -> bool {
        self.complete
    }
    fn candidates(&self) -> &[EventName] {
        &self.candidates
    }
    fn devices(&self) -> &[String] {
        &self.devices
    }
    fn channels(&self) -> &[String] {
        &self.channels
    }
    fn patterns(&self) -> &[[u64; 5]] {
        &self.patterns
    }
}

/// The folder name of an account in the store: [`crate::fsutil::slug`], the one identity every
/// file of an account is named by.
pub fn account_slug(account: &str) -> String {
    crate::fsutil::slug(account)
}

/// Stored weeks that could be read, and the files that could not (each error names its file).
#[derive(Debug, Default)]
pub struct Loaded {
    /// Readable weeks, oldest first.
    pub weeks: Vec<StoredWeek>,
    /// Week files that are damaged, hand-edited or written by a newer optsignal: left as they
    /// are, and reported.
    pub unreadable: Vec<StoreError>,
}

/// What [`Store::save`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The week's file.
    pub path: PathBuf,
    /// An unreadable file that held this week before, moved aside (never overwritten).
    pub set_aside: Option<PathBuf>,
}

/// One account's folder in the model store.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    /// The account, when known: weeks in `legacy` count only when they hold it.
    account: Option<String>,
    /// The folder an older release used for this account, read but never written.
    legacy: Option<PathBuf>,
}

impl Store {
    /// The store of `account` under the store root `root` (the folder may not exist yet).
    /// Weeks an older release wrote under its lossy folder name are read too, when the file
    /// says it is this account's.
    pub fn new(root: &Path, account: &str) -> Self {
        Store {
            dir: root.join(account_slug(account)),
            account: Some(account.to_string()),
            legacy: crate::fsutil::legacy_store_slug(account).map(|s| root.join(s)),
        }
    }

    /// The store in one folder, whatever account it holds (`history` without `--account`).
    pub fn at(dir: &Path) -> Self {
        Store {
            dir: dir.to_path_buf(),
            account: None,
            legacy: None,
        }
    }

    /// The account's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a week (where it is written).
    pub fn path_of(&self, week: IsoWeek) -> PathBuf {
        self.dir.join(format!("{week}.json"))
    }

    /// The week files of one folder, by week. Only files named like `2026-W45.json` count:
    /// temporary files of an interrupted write (`.2026-W45.json.tmp…`), files set aside and
    /// anything else are ignored. An absent folder holds none.
    fn files_in(dir: &Path) -> Result<Vec<(IsoWeek, PathBuf)>, StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StoreError::Io {
                    action: "list",
                    path: dir.to_path_buf(),
                    source,
                })
            }
        };
        Ok(entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name();
                let week: IsoWeek = name.to_str()?.strip_suffix(".json")?.parse().ok()?;
                Some((week, e.path()))
            })
            .collect())
    }

    /// Whether a file in the legacy folder belongs to this account: its `account` field says
    /// so. A file that cannot be parsed is kept, so that its error is reported.
    fn owned(&self, path: &Path) -> bool {
        let Some(account) = &self.account else {
            return false;
        };
        let Ok(text) = fs::read_to_string(path) else {
            return true;
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => v.get("account").and_then(Value::as_str) == Some(account.as_str()),
            Err(_) => true,
        }
    }

    /// Week files, oldest first: this folder's, then the legacy folder's weeks that this folder
    /// lacks and that hold this account.
    fn files(&self) -> Result<Vec<(IsoWeek, PathBuf)>, StoreError> {
        let mut files = Self::files_in(&self.dir)?;
        if let Some(legacy) = &self.legacy {
            for (w, p) in Self::files_in(legacy)? {
                if !files.iter().any(|(x, _)| *x == w) && self.owned(&p) {
                    files.push((w, p));
                }
            }
        }
        files.sort_unstable_by_key(|(w, _)| *w);
        Ok(files)
    }

    /// Stored weeks, oldest first (see [`Store::files_in`] for what counts as a week).
    pub fn weeks(&self) -> Result<Vec<IsoWeek>, StoreError> {
        Ok(self.files()?.into_iter().map(|(w, _)| w).collect())
    }

    /// Reads one stored week.
    pub fn load(&self, week: IsoWeek) -> Result<StoredWeek, StoreError> {
        let path = self
            .files()?
            .into_iter()
            .find(|(w, _)| *w == week)
            .map_or_else(|| self.path_of(week), |(_, p)| p);
        Self::load_file(week, &path)
    }

    fn load_file(week: IsoWeek, path: &Path) -> Result<StoredWeek, StoreError> {
        let text = fs::read_to_string(path).map_err(|source| StoreError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        let w = StoredWeek::from_json(&text, path)?;
        if w.week != week {
            return Err(StoreError::Parse {
                path: path.to_path_buf(),
                message: format!("week: the file holds {} (named {week})", w.week),
            });
        }
        Ok(w)
    }

    /// Reads every stored week strictly before `week` (all when `None`), oldest first; stops
    /// at the first unreadable file.
    pub fn load_before(&self, week: Option<IsoWeek>) -> Result<Vec<StoredWeek>, StoreError> {
        let loaded = self.load_readable(week)?;
        match loaded.unreadable.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(loaded.weeks),
        }
    }

    /// Reads every stored week strictly before `week` (all when `None`), oldest first, setting
    /// aside (in [`Loaded::unreadable`]) the files that cannot be read, so that one damaged week
    /// does not stop the run. Fails only when the folder itself cannot be listed.
    pub fn load_readable(&self, week: Option<IsoWeek>) -> Result<Loaded, StoreError> {
        let mut out = Loaded::default();
        for (w, path) in self.files()? {
            if week.is_some_and(|x| w >= x) {
                continue;
            }
            match Self::load_file(w, &path) {
                Ok(sw) => out.weeks.push(sw),
                Err(e) => out.unreadable.push(e),
            }
        }
        Ok(out)
    }

    /// Writes a week atomically, replacing an earlier readable file of the same week. An
    /// unreadable file in its place (damaged, or from a newer optsignal) is never overwritten:
    /// it is moved aside first (`2026-W45.json.unreadable`, `…unreadable-2`, …).
    pub fn save(&self, week: &StoredWeek) -> Result<Saved, StoreError> {
        self.save_with(week, |from, to| fs::rename(from, to))
    }

    /// [`Store::save`] with the final rename supplied by the caller, so tests can make it fail
    /// as a crash between writing and renaming would.
    pub fn save_with(
        &self,
        week: &StoredWeek,
        rename: impl FnOnce(&Path, &Path) -> io::Result<()>,
    ) -> Result<Saved, StoreError> {
        fs::create_dir_all(&self.dir).map_err(|source| StoreError::Io {
            action: "create",
            path: self.dir.clone(),
            source,
        })?;
        let path = self.path_of(week.week);
        let set_aside = match path.exists() && Self::load_file(week.week, &path).is_err() {
            true => Some(set_aside(&path)?),
            false => None,
        };
        write_atomic(&path, week.to_json().as_bytes(), rename)?;
        Ok(Saved { path, set_aside })
    }
}

/// Moves an unreadable week file to the first free `NAME.unreadable[-k]` beside it (never
/// replacing anything; not a week file, so never read as one) and returns the new path.
fn set_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for k in 1..1000 {
        let suffix = if k == 1 {
            String::new()
        } else {
            format!("-{k}")
        };
        let to = path.with_file_name(format!("{name}.unreadable{suffix}"));
        if to.exists() {
            continue;
        }
        // A hard link never replaces an existing file; then the old name is removed. Where
        // the file system has no hard links, a rename to the free name does the same.
        let moved = match fs::hard_link(path, &to) {
            Ok(()) => fs::remove_file(path),
            Err(_) => fs::rename(path, &to),
        };
        return moved.map(|_| to).map_err(|source| StoreError::Io {
            action: "move aside",
            path: path.to_path_buf(),
            source,
        });
    }
    Err(StoreError::Io {
        action: "move aside",
        path: path.to_path_buf(),
        source: io::Error::other("999 files already set aside"),
    })
}

/// Writes `bytes` and a final newline to `path` atomically ([`crate::fsutil::write_atomic_with`]).
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    rename: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> Result<(), StoreError> {
    let mut all = Vec::with_capacity(bytes.len() + 1);
    all.extend_from_slice(bytes);
    all.push(b'\n');
    crate::fsutil::write_atomic_with(path, &all, rename).map_err(|source| StoreError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
