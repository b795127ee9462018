//! The weekly trail of one account, read from the store: each week's precision, volume and recommendation, as JSON or a table.

use super::*;

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
            "optsignal history — {} · {} in {}\n",
            self.account,
            crate::format::count(self.weeks.len() as u64, "stored week", "stored weeks"),
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
