//! Weekly memory: what changed since the last stored week, and hysteresis so that a
//! recommendation does not flip-flop on one noisy week.
//!
//! - **Hysteresis** ([`apply_hysteresis`]): a new best event replaces the standing
//!   recommendation (last stored week's) only when it has been the best for `confirm_weeks`
//!   consecutive stored weeks, or the standing event is flagged, not optimizable or no longer
//!   clears its floor.
//! - **Changes** ([`changes`]): per platform, kept / held / switched and why; per proxy, a
//!   two-proportion z-test of this week's precision against the previous stored week's (units that
//!   started in each week), a quasi-Poisson test of its unit volume, and raised or cleared flags.
//!   Both tests are two-sided with Benjamini–Hochberg q-values across proxies, significant at
//!   q ≤ `alpha`.
//! - **Trail** ([`Trail`]): the stored weeks as a table or JSON for `optsignal history`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::advise::Recommendation;
use crate::evidence::ProxyEvidence;
use crate::flags::FlagKind;
use crate::format::{p_value, percent};
use crate::platform::PlatformId;
use crate::stats::drift::rate_ratio_test;
use crate::stats::fdr::benjamini_hochberg;
use crate::stats::interval::{normal_sf, two_proportion_z, wilson};
use crate::store::{StoredRecommendation, StoredWeek};
use crate::types::{EventName, Interval, IsoWeek};

/// What hysteresis did with one platform's recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationStatus {
    /// No stored week before this one: this week's best stands.
    FirstWeek,
    /// This week's best is the standing recommendation.
    Kept,
    /// Another event is best, but not yet for `confirm_weeks` weeks: the standing one is held.
    Held,
    /// Another event has been best for `confirm_weeks` weeks: it replaces the standing one.
    Switched,
    /// The standing event is flagged, not optimizable or no longer clears: replaced at once.
    Replaced,
    /// Nothing stood last week (nothing cleared); this week's best is taken at once.
    New,
}

/// One platform's recommendation against last week's.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendationChange {
    /// The platform.
    pub platform: PlatformId,
    /// Standing recommendation of the previous stored week.
    pub previous: Option<EventName>,
    /// This week's best before hysteresis.
    pub best: Option<EventName>,
    /// The recommendation after hysteresis.
    pub event: Option<EventName>,
    /// What happened.
    pub status: RecommendationStatus,
    /// Consecutive stored weeks `best` has led, this one included.
    pub best_weeks: u32,
    /// Weeks a new best must lead to replace the standing one.
    pub confirm_weeks: u32,
    /// One sentence for people.
    pub message: String,
}

/// Applies hysteresis to one platform's fresh recommendation, given the previous stored week's
/// record for that platform, and says what it did. Sets `rec.best_weeks`, and when the standing
/// event is held: `rec.event`, `held`, its volume and clearance, `runner_up` (= the leader),
/// `change_needed` and a reason that starts with "Holding X; Y leads for k of n weeks".
pub fn apply_hysteresis(
    rec: &mut Recommendation,
    prev: Option<&StoredRecommendation>,
    confirm_weeks: u32,
) -> RecommendationChange {
    let best = rec.best.clone();
    rec.best_weeks = match prev {
        Some(p) if p.best == best => p.best_weeks.saturating_add(1),
        _ => 1,
    };
    let k = rec.best_weeks;
    let name = |e: &Option<EventName>| e.as_ref().map_or("nothing".to_string(), |e| e.to_string());
    let mut change = RecommendationChange {
        platform: rec.platform,
        previous: prev.and_then(|p| p.event.clone()),
        best: best.clone(),
        event: best.clone(),
        status: RecommendationStatus::FirstWeek,
        best_weeks: k,
        confirm_weeks,
        message: String::new(),
    };
    let Some(p) = prev else {
        change.message = format!(
            "{}: no stored week before this one, so this week's best stands",
            name(&best)
        );
        return change;
    };
    let Some(standing) = p.event.clone() else {
        change.status = RecommendationStatus::New;
        change.message = match &best {
            Some(b) => format!("nothing cleared last week; {b} clears now and is taken at once"),
            None => "nothing clears, as last week".into(),
        };
        return change;
    };
    if best.as_ref() == Some(&standing) {
        change.status = RecommendationStatus::Kept;
        change.message = format!("{standing} stays the best event ({k} weeks in a row)");
        return change;
    }
    // Is the standing event still usable? Its floor check this week decides.
    let check = rec.checks.iter().find(|c| c.event == standing);
    let broken = match check {
        Some(c) if c.excluded.is_some() => Some(format!(
            "{standing} can no longer be used ({})",
            c.excluded.clone().unwrap_or_default()
        )),
        Some(c) if !c.clears => Some(format!(
            "{standing} no longer clears its floor (clears {} of windows)",
            percent(c.clearance)
        )),
        Some(_) => None,
        None if rec.checks.is_empty() => None,
        None => Some(format!("{standing} is no longer a candidate")),
    };
    if let Some(why) = broken {
        change.status = RecommendationStatus::Replaced;
        change.message = format!("{why}: replaced by {} at once", name(&best));
        return change;
    }
    if k >= confirm_weeks {
        change.status = RecommendationStatus::Switched;
        change.message = format!(
            "{} has led for {k} of {confirm_weeks} weeks: it replaces {standing}",
            name(&best)
        );
        return change;
    }
    // Hold the standing event against a leader that has not yet confirmed.
    change.status = RecommendationStatus::Held;
    change.event = Some(standing.clone());
    change.message = format!(
        "holding {standing}; {} leads for {k} of {confirm_weeks} weeks",
        name(&best)
    );
    if let Some(c) = check {
        rec.per_unit_weekly = Some(c.per_unit_weekly);
        rec.clearance = Some(c.clearance);
    }
    rec.runner_up = best.clone();
    rec.event = Some(standing.clone());
    rec.held = true;
    rec.unlock = None;
    rec.reason = format!(
        "Holding {standing}; {} leads for {k} of {confirm_weeks} weeks (changing the optimization event restarts learning, so a new leader must confirm first). This week's analysis: {}",
        name(&best),
        rec.reason
    );
    rec.change_needed = rec.optimizing_on.as_ref().map(|t| t != &standing);
    change
}

/// One week's precision of a proxy as compared.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WeekPrecision {
    /// The week.
    pub week: IsoWeek,
    /// Units starting that week that purchased, among those with the proxy.
    pub purchasers: u64,
    /// Units starting that week with the proxy.
    pub units: u64,
    /// purchasers / units.
    pub precision: f64,
    /// Wilson interval.
    pub ci: Option<Interval>,
}

/// A proxy's precision this week against the previous stored week.
#[derive(Debug, Clone, Serialize)]
pub struct PrecisionChange {
    /// The proxy.
    pub event: EventName,
    /// Previous stored week.
    pub previous: WeekPrecision,
    /// This week.
    pub current: WeekPrecision,
    /// The test: pooled two-proportion z-test, two-sided.
    pub test: &'static str,
    /// z statistic (previous − current; positive when precision fell).
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value across the proxies compared.
    pub q_value: f64,
    /// q ≤ alpha.
    pub significant: bool,
}

/// A proxy's unit volume this week against the previous stored week.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeChange {
    /// The proxy.
    pub event: EventName,
    /// Units with the event in the previous stored week.
    pub previous_units: u64,
    /// Units with the event this week.
    pub current_units: u64,
    /// current / previous.
    pub ratio: f64,
    /// The test: quasi-Poisson rate-ratio z-test, two-sided.
    pub test: &'static str,
    /// Dispersion φ ≥ 1 from the earlier weekly series (`dispersion_weeks` weeks).
    pub dispersion: f64,
    /// Weeks the dispersion was estimated from (stored weeks and the log's complete weeks).
    pub dispersion_weeks: usize,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value across the proxies compared.
    pub q_value: f64,
    /// q ≤ alpha.
    pub significant: bool,
}

/// Flags a proxy gained or lost since the previous stored week.
#[derive(Debug, Clone, Serialize)]
pub struct FlagChange {
    /// The proxy.
    pub event: EventName,
    /// Flags it has now and did not have.
    pub raised: Vec<FlagKind>,
    /// Flags it had and has no more.
    pub cleared: Vec<FlagKind>,
}

/// "Changes since last week": this week against the previous stored week.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Changes {
    /// This run's week (the last week of the analysed data).
    pub week: Option<IsoWeek>,
    /// The previous stored week compared with, if any.
    pub previous_week: Option<IsoWeek>,
    /// The account's store folder.
    pub store: String,
    /// Stored weeks before this one.
    pub stored_weeks: usize,
    /// Per platform, kept / held / switched / replaced and why.
    pub recommendations: Vec<RecommendationChange>,
    /// Per proxy with counts in both weeks, the precision test.
    pub precision: Vec<PrecisionChange>,
    /// Per proxy with volume in both weeks, the volume test.
    pub volume: Vec<VolumeChange>,
    /// Proxies whose flags changed.
    pub flags: Vec<FlagChange>,
    /// What could not be compared, and why.
    pub notes: Vec<String>,
}

/// Most earlier weeks used to estimate the week-to-week dispersion of a proxy's volume.
pub const DISPERSION_WEEKS: usize = 8;
/// Fewest earlier weeks for a dispersion estimate: with fewer, ordinary traffic swings would
/// pass for shifts, so volume is not tested.
pub const MIN_DISPERSION_WEEKS: usize = 4;

/// Compares this week (`current`, built from this run) with the last of `earlier` (stored weeks
/// before it, oldest first). `log_weeks` adds the log's own complete weeks (week, per-candidate
/// units) to the series the volume dispersion is estimated from.
pub fn changes(
    current: Option<&StoredWeek>,
    earlier: &[StoredWeek],
    log_weeks: &[(IsoWeek, Vec<(EventName, u64)>)],
    recommendations: Vec<RecommendationChange>,
    alpha: f64,
    confidence: f64,
    store: String,
) -> Changes {
    let mut out = Changes {
        week: current.map(|c| c.week),
        previous_week: earlier.last().map(|p| p.week),
        store,
        stored_weeks: earlier.len(),
        recommendations,
        ..Changes::default()
    };
    let (Some(cur), Some(prev)) = (current, earlier.last()) else {
        out.notes.push(match current {
            None => "no week in the data to compare".into(),
            Some(c) => format!(
                "no stored week before {} in {}: nothing to compare yet (save weeks with --save or [store] enabled = true)",
                c.week, out.store
            ),
        });
        return out;
    };
    let mut precision = Vec::new();
    let mut no_counts = Vec::new();
    for p in &cur.proxies {
        let Some(q) = prev.proxy(&p.event) else {
            continue;
        };
        let counts = |w: &crate::store::ProxyWeek| w.purchasers.zip(w.with_proxy);
        let (Some((y1, n1)), Some((y2, n2))) = (counts(&q.week), counts(&p.week)) else {
            no_counts.push(p.event.to_string());
            continue;
        };
        let Some(z) = two_proportion_z(y1, n1, y2, n2) else {
            continue;
        };
        let wp = |week, y: u64, n: u64| WeekPrecision {
            week,
            purchasers: y,
            units: n,
            precision: y as f64 / n as f64,
            ci: wilson(y, n, confidence),
        };
        precision.push(PrecisionChange {
            event: p.event.clone(),
            previous: wp(prev.week, y1, n1),
            current: wp(cur.week, y2, n2),
            test: "pooled two-proportion z-test (two-sided)",
            z: z.z,
            p_value: z.p_two_sided,
            q_value: 1.0,
            significant: false,
        });
    }
    let qs = benjamini_hochberg(
        &precision
            .iter()
            .map(|c| Some(c.p_value))
            .collect::<Vec<_>>(),
    );
    for (c, q) in precision.iter_mut().zip(qs) {
        c.q_value = q.unwrap_or(1.0);
        c.significant = c.q_value <= alpha;
    }
    if !no_counts.is_empty() {
        out.notes.push(format!(
            "{} was stored in an older format without per-week purchaser counts: no precision test for {}",
            prev.week,
            no_counts.join(", ")
        ));
    }
    out.precision = precision;

    // Volume: this week against the previous one, with the dispersion of the earlier series.
    if !cur.complete {
        out.notes.push(format!(
            "{} is a partial week: its volume is not compared",
            cur.week
        ));
    } else {
        let mut series: BTreeMap<IsoWeek, BTreeMap<EventName, u64>> = BTreeMap::new();
        for w in earlier.iter().filter(|w| w.complete) {
            let m = series.entry(w.week).or_default();
            for p in &w.proxies {
                m.insert(p.event.clone(), p.week.units);
            }
        }
        for (week, units) in log_weeks.iter().filter(|(w, _)| *w < prev.week) {
            let m = series.entry(*week).or_default();
            for (e, u) in units {
                m.insert(e.clone(), *u);
            }
        }
        let mut volume = Vec::new();
        let mut short = false;
        for p in &cur.proxies {
            let Some(q) = prev.proxy(&p.event) else {
                continue;
            };
            let (u1, u2) = (q.week.units, p.week.units);
            if u1 == 0 || u2 == 0 {
                continue;
            }
            // Series up to and including the previous week, the last DISPERSION_WEEKS of them.
            let hist: Vec<f64> = series
                .range(..=prev.week)
                .filter_map(|(_, m)| m.get(&p.event).map(|&u| u as f64))
                .collect();
            let hist = &hist[hist.len().saturating_sub(DISPERSION_WEEKS)..];
            if hist.len() < MIN_DISPERSION_WEEKS {
                short = true;
                continue;
            }
            let dispersion = rate_ratio_test(&[1.0], hist).map_or(1.0, |t| t.dispersion);
            let ratio = u2 as f64 / u1 as f64;
            let z = ratio.ln() / (dispersion * (1.0 / u1 as f64 + 1.0 / u2 as f64)).sqrt();
            volume.push(VolumeChange {
                event: p.event.clone(),
                previous_units: u1,
                current_units: u2,
                ratio,
                test: "quasi-Poisson rate-ratio z-test (two-sided)",
                dispersion,
                dispersion_weeks: hist.len(),
                p_value: (2.0 * normal_sf(z.abs())).min(1.0),
                q_value: 1.0,
                significant: false,
            });
        }
        let qs = benjamini_hochberg(&volume.iter().map(|c| Some(c.p_value)).collect::<Vec<_>>());
        for (c, q) in volume.iter_mut().zip(qs) {
            c.q_value = q.unwrap_or(1.0);
            c.significant = c.q_value <= alpha;
        }
        out.volume = volume;
        if short {
            out.notes.push(format!(
                "volume not tested where fewer than {MIN_DISPERSION_WEEKS} complete earlier weeks (stored or in the log) show its week-to-week noise"
            ));
        }
    }

    for p in &cur.proxies {
        let before: Vec<FlagKind> = prev.proxy(&p.event).map_or(Vec::new(), |q| q.flags.clone());
        let raised: Vec<FlagKind> = p
            .flags
            .iter()
            .filter(|f| !before.contains(f))
            .copied()
            .collect();
        let cleared: Vec<FlagKind> = before
            .iter()
            .filter(|f| !p.flags.contains(f))
            .copied()
            .collect();
        if !raised.is_empty() || !cleared.is_empty() {
            out.flags.push(FlagChange {
                event: p.event.clone(),
                raised,
                cleared,
            });
        }
    }
    out
}

/// The log's complete weeks as (week, per-candidate units) for [`changes`].
pub fn log_week_units(evidence: &[ProxyEvidence]) -> Vec<(IsoWeek, Vec<(EventName, u64)>)> {
    let Some(first) = evidence.first() else {
        return Vec::new();
    };
    (0..first.weekly.len())
        .filter(|&i| first.weekly[i].complete)
        .map(|i| {
            (
                first.weekly[i].week,
                evidence
                    .iter()
                    .filter_map(|e| e.weekly.get(i).map(|w| (e.event.clone(), w.units)))
                    .collect(),
            )
        })
        .collect()
}

/// Lines of the "changes since last week" section for people (no header).
pub fn describe(c: &Changes) -> Vec<String> {
    let mut lines = Vec::new();
    for r in &c.recommendations {
        lines.push(format!("{}: {}", r.platform.display_name(), r.message));
    }
    let moved: Vec<&PrecisionChange> = c.precision.iter().filter(|x| x.significant).collect();
    for x in &moved {
        let dir = if x.current.precision < x.previous.precision {
            "fell"
        } else {
            "rose"
        };
        let ci = |w: &WeekPrecision| {
            w.ci.map_or(String::new(), |i| {
                format!(" [{}–{}]", percent(i.lo), percent(i.hi))
            })
        };
        lines.push(format!(
            "{} precision {dir} from {}{} ({} of {}) in {} to {}{} ({} of {}) in {} ({}, p {}, q {})",
            x.event,
            percent(x.previous.precision),
            ci(&x.previous),
            x.previous.purchasers,
            x.previous.units,
            x.previous.week,
            percent(x.current.precision),
            ci(&x.current),
            x.current.purchasers,
            x.current.units,
            x.current.week,
            x.test,
            p_value(x.p_value),
            p_value(x.q_value)
        ));
    }
    if !c.precision.is_empty() && moved.len() < c.precision.len() {
        let other = if moved.is_empty() { "" } else { " other" };
        lines.push(format!(
            "precision of {}{other} proxies: no significant change",
            c.precision.len() - moved.len()
        ));
    }
    let shifted: Vec<&VolumeChange> = c.volume.iter().filter(|x| x.significant).collect();
    for x in &shifted {
        lines.push(format!(
            "{} volume {:.2}× ({} → {} units; {}, dispersion {:.1} from {} weeks, p {})",
            x.event,
            x.ratio,
            x.previous_units,
            x.current_units,
            x.test,
            x.dispersion,
            x.dispersion_weeks,
            p_value(x.p_value)
        ));
    }
    if !c.volume.is_empty() && shifted.len() < c.volume.len() {
        let other = if shifted.is_empty() { "" } else { " other" };
        lines.push(format!(
            "volume of {}{other} proxies: within week-to-week noise",
            c.volume.len() - shifted.len()
        ));
    }
    for f in &c.flags {
        let names = |v: &[FlagKind]| v.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
        let mut parts = Vec::new();
        if !f.raised.is_empty() {
            parts.push(format!("newly flagged {}", names(&f.raised)));
        }
        if !f.cleared.is_empty() {
            parts.push(format!("no longer {}", names(&f.cleared)));
        }
        lines.push(format!("{}: {}", f.event, parts.join("; ")));
    }
    lines.extend(c.notes.iter().cloned());
    lines
}

/// Loads the trail of one account from the store root `root`. Without `account`, the root must
/// hold exactly one account folder.
pub fn load_trail(
    root: &std::path::Path,
    account: Option<&str>,
    event: Option<&EventName>,
) -> Result<Trail, crate::store::StoreError> {
    use crate::store::{Store, StoreError};
    let store = match account {
        Some(a) => Store::new(root, a),
        None => {
            let mut dirs: Vec<String> = std::fs::read_dir(root)
                .map_err(|source| StoreError::Io {
                    action: "list",
                    path: root.to_path_buf(),
                    source,
                })?
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(String::from))
                .filter(|n| !n.starts_with('.'))
                .collect();
            dirs.sort();
            match dirs.as_slice() {
                [one] => Store::at(&root.join(one)),
                _ => {
                    return Err(StoreError::Parse {
                        path: root.to_path_buf(),
                        message: format!(
                            "{} account folders ({}): name one with --account",
                            dirs.len(),
                            dirs.join(", ")
                        ),
                    })
                }
            }
        }
    };
    let loaded = store.load_readable(None)?;
    for e in &loaded.unreadable {
        tracing::warn!("{e}; the trail goes on without that week (the file is left as it is)");
    }
    let weeks = loaded.weeks;
    let name = weeks
        .last()
        .map(|w| w.account.clone())
        .or_else(|| account.map(String::from))
        .unwrap_or_default();
    Ok(Trail::new(
        &name,
        store.dir().display().to_string(),
        &weeks,
        event,
    ))
}

/// One stored week in the trail.
#[derive(Debug, Clone, Serialize)]
pub struct TrailWeek {
    /// The week.
    pub week: IsoWeek,
    /// Format version of its file.
    pub schema_version: u32,
    /// Whether the data covered the whole week.
    pub complete: bool,
    /// Per platform: the standing recommendation, the week's best and whether it was held.
    pub recommendations: Vec<StoredRecommendation>,
    /// Per proxy (all, or the one asked for): the week's precision, interval, volume and flags.
    pub proxies: Vec<TrailProxy>,
}

/// One proxy in one week of the trail.
#[derive(Debug, Clone, Serialize)]
pub struct TrailProxy {
    /// The proxy.
    pub event: EventName,
    /// Precision of units that started that week.
    pub precision: Option<f64>,
    /// Its Wilson interval.
    pub precision_ci: Option<Interval>,
    /// Units with the proxy starting that week (feature before purchase).
    pub units_with: Option<u64>,
    /// Units with the event that week (anywhere in the unit).
    pub units: u64,
    /// Events that week.
    pub events: u64,
    /// Flags that week.
    pub flags: Vec<FlagKind>,
}

/// The weekly trail of one account (`optsignal history`).
#[derive(Debug, Clone, Serialize)]
pub struct Trail {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// Account name.
    pub account: String,
    /// The account's store folder.
    pub store: String,
    /// Stored weeks, oldest first.
    pub weeks: Vec<TrailWeek>,
}

impl Trail {
    /// Builds the trail from stored weeks, keeping only `event` when given.
    pub fn new(
        account: &str,
        store: String,
        weeks: &[StoredWeek],
        event: Option<&EventName>,
    ) -> Self {
        Trail {
            schema_version: 1,
            account: account.to_string(),
            store,
            weeks: weeks
                .iter()
                .map(|w| TrailWeek {
                    week: w.week,
                    schema_version: w.schema_version,
                    complete: w.complete,
                    recommendations: w.recommendations.clone(),
                    proxies: w
                        .proxies
                        .iter()
                        .filter(|p| event.is_none_or(|e| &p.event == e))
                        .map(|p| TrailProxy {
                            event: p.event.clone(),
                            precision: p.week.precision,
                            precision_ci: p.week.precision_ci,
                            units_with: p.week.with_proxy,
                            units: p.week.units,
                            events: p.week.events,
                            flags: p.flags.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The trail as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The trail as text tables: recommendations per week and platform, then per proxy the
    /// week's precision with its interval and its volume.
    pub fn to_table(&self) -> String {
        use comfy_table::presets::UTF8_BORDERS_ONLY;
        use comfy_table::{Cell, ContentArrangement, Table};
        let mut o = String::new();
        let _ = writeln!(
            o,
            "optsignal history — {} · {} stored week(s) in {}\n",
            self.account,
            self.weeks.len(),
            self.store
        );
        if self.weeks.is_empty() {
            let _ = writeln!(
                o,
                "  nothing stored yet: run `optsignal recommend --save` (or set [store] enabled = true) once a week"
            );
            return o;
        }
        let mut platforms: Vec<PlatformId> = Vec::new();
        for w in &self.weeks {
            for r in &w.recommendations {
                if !platforms.contains(&r.platform) {
                    platforms.push(r.platform);
                }
            }
        }
        let new_table = |head: Vec<String>| {
            let mut t = Table::new();
            t.load_preset(UTF8_BORDERS_ONLY)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(head.into_iter().map(Cell::new));
            t
        };
        let _ = writeln!(
            o,
            "RECOMMENDATION PER WEEK (held = kept against a leader not yet confirmed)"
        );
        let mut head = vec!["week".to_string()];
        head.extend(platforms.iter().map(|p| p.display_name().to_string()));
        let mut t = new_table(head);
        for w in &self.weeks {
            let mut row = vec![format!("{}{}", w.week, if w.complete { "" } else { "*" })];
            for p in &platforms {
                let cell = match w.recommendations.iter().find(|r| r.platform == *p) {
                    None => "–".to_string(),
                    Some(r) => {
                        let ev = r
                            .event
                            .as_ref()
                            .map_or("nothing clears".into(), |e| e.to_string());
                        match (&r.best, r.held) {
                            (Some(b), true) => format!("{ev} (held; {b} leads {}w)", r.best_weeks),
                            _ => ev,
                        }
                    }
                };
                row.push(cell);
            }
            t.add_row(row);
        }
        let _ = writeln!(o, "{t}");
        let mut events: Vec<EventName> = Vec::new();
        for w in &self.weeks {
            for p in &w.proxies {
                if !events.contains(&p.event) {
                    events.push(p.event.clone());
                }
            }
        }
        let _ = writeln!(
            o,
            "\nPRECISION OF THE WEEK'S UNITS [interval] · units with the event (! = flagged)"
        );
        let mut head = vec!["week".to_string()];
        head.extend(events.iter().map(|e| e.to_string()));
        let mut t = new_table(head);
        for w in &self.weeks {
            let mut row = vec![w.week.to_string()];
            for e in &events {
                let cell = match w.proxies.iter().find(|p| &p.event == e) {
                    None => "–".to_string(),
                    Some(p) => {
                        let prec = p.precision.map_or("–".into(), percent);
                        let ci = p.precision_ci.map_or(String::new(), |c| {
                            format!(" [{}–{}]", percent(c.lo), percent(c.hi))
                        });
                        let flag = if p.flags.is_empty() { "" } else { " !" };
                        format!("{prec}{ci} · {}{flag}", p.units)
                    }
                };
                row.push(cell);
            }
            t.add_row(row);
        }
        let _ = writeln!(o, "{t}");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::EventCheck;

    fn ev(s: &str) -> Option<EventName> {
        EventName::new(s)
    }

    fn rec(best: &str, standing_clears: bool) -> Recommendation {
        let check = |e: &str, clears: bool| EventCheck {
            basis: crate::advise::CountBasis::SiteShare,
            event: EventName::new(e).unwrap(),
            per_unit_weekly: 100.0,
            per_unit_window: 100.0,
            clearance: if clears { 0.99 } else { 0.2 },
            clears,
            excluded: None,
        };
        Recommendation {
            platform: PlatformId::Meta,
            event: ev(best),
            runner_up: None,
            per_unit_weekly: Some(120.0),
            floor: PlatformId::Meta.profile().floor,
            clearance: Some(1.0),
            reason: "fresh".into(),
            ad_sets: 1,
            attributed_share: 1.0,
            optimizing_on: ev("view_item"),
            change_needed: None,
            unlock: None,
            checks: vec![check("view_item", standing_clears), check(best, true)],
            best: ev(best),
            held: false,
            best_weeks: 1,
        }
    }

    fn stored(r: &Recommendation) -> StoredRecommendation {
        StoredRecommendation {
            platform: r.platform,
            event: r.event.clone(),
            best: r.best.clone(),
            best_weeks: r.best_weeks,
            held: r.held,
            clearance: r.clearance,
            per_unit_weekly: r.per_unit_weekly,
        }
    }

    #[test]
    fn a_noisy_week_is_held_and_forgotten_and_a_steady_leader_switches() {
        let mut w0 = rec("view_item", true);
        apply_hysteresis(&mut w0, None, 3);
        // Week 1: add_to_cart leads once; view_item is held.
        let mut w1 = rec("add_to_cart", true);
        let c = apply_hysteresis(&mut w1, Some(&stored(&w0)), 3);
        assert_eq!(c.status, RecommendationStatus::Held);
        assert_eq!(w1.event, ev("view_item"));
        assert!(w1
            .reason
            .starts_with("Holding view_item; add_to_cart leads for 1 of 3 weeks"));
        assert_eq!(w1.change_needed, Some(false));
        // Week 2: view_item is best again: kept, and the leader's count starts over.
        let mut w2 = rec("view_item", true);
        let c = apply_hysteresis(&mut w2, Some(&stored(&w1)), 3);
        assert_eq!(c.status, RecommendationStatus::Kept);
        // Weeks 3-5: add_to_cart leads three weeks in a row: held, held, switched.
        let mut prev = stored(&w2);
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let mut w = rec("add_to_cart", true);
            statuses.push(apply_hysteresis(&mut w, Some(&prev), 3).status);
            prev = stored(&w);
        }
        use RecommendationStatus::*;
        assert_eq!(statuses, vec![Held, Held, Switched]);
        assert_eq!(prev.event, ev("add_to_cart"));
        // A standing event that no longer clears is replaced at once.
        let mut w = rec("add_to_cart", false);
        let c = apply_hysteresis(&mut w, Some(&stored(&w0)), 3);
        assert_eq!(c.status, Replaced);
        assert_eq!(w.event, ev("add_to_cart"));
    }
}
