//! The report as templates see it: every number already formatted for people, in the order the
//! weekly report reads (recommendations, then generic sections), so that the Markdown, HTML and
//! plain-text templates stay free of arithmetic and agree with each other and with the terminal.
//!
//! New parts of the report model render by adding a [`Section`] in [`ReportView::new`]: a title,
//! optional intro, bullet items and/or one table. The templates draw every section the same way.

use serde::Serialize;
use serde_json::Value;

use super::Report;
use crate::advise::{Recommendation, Unlock};
use crate::evidence::Estimability;
use crate::format::{amount, p_value, percent};
use crate::types::IsoWeek;

/// Where the numbers came from, for the footer: enough to reproduce any figure.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Provenance {
    /// Config file name (not its folder, which says nothing to the reader).
    pub config_file: Option<String>,
    /// Lowercase hex SHA-256 of the config file's bytes (environment overrides not included).
    pub config_sha256: Option<String>,
}

/// One platform's recommendation, ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct RecView {
    /// Platform display name (`Meta`).
    pub platform: String,
    /// Bidding units and attributed share (`2 ad sets · 60% of events seen`).
    pub setup: String,
    /// Recommended event, if any.
    pub event: Option<String>,
    /// `optimize on add_to_cart`, or why there is no recommendation.
    pub headline: String,
    /// `change`, `keep`, or `new` (today's event unknown), or `none` (no recommendation).
    pub status: &'static str,
    /// Today's event, when configured.
    pub today: Option<String>,
    /// The runner-up event.
    pub runner_up: Option<String>,
    /// Volume of the recommended event against the floor.
    pub volume: Option<String>,
    /// What would unlock the next deeper event.
    pub unlock: Option<String>,
    /// Why, in the recommendation's own words.
    pub reason: String,
    /// Events that could not be recommended on this platform, each with why (the platform
    /// cannot optimize on it, does not count it, or it is flagged); `None` when none was.
    pub not_eligible: Option<String>,
}

/// The events a recommendation could not pick and why, as one sentence fragment
/// (`add_shipping_info (Meta cannot optimize on add_shipping_info); sign_up (flagged …)`).
pub fn not_eligible(rec: &crate::advise::Recommendation) -> Option<String> {
    let parts: Vec<String> = rec
        .checks
        .iter()
        .filter_map(|c| {
            c.excluded
                .as_ref()
                .map(|why| format!("{} ({why})", c.event))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A label and a value (footer lines, flag evidence).
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    /// Label.
    pub key: String,
    /// Value, formatted.
    pub value: String,
}

/// A bullet: an optional bold lead, an optional tag, the text and optional details.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Bold lead (an event name).
    pub lead: Option<String>,
    /// A short tag (a flag kind).
    pub tag: Option<String>,
    /// The sentence.
    pub text: String,
    /// Supporting numbers.
    pub details: Vec<Pair>,
}

/// One table row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Cells, as many as the headers.
    pub cells: Vec<String>,
    /// Draw attention (a flagged proxy).
    pub alert: bool,
    /// De-emphasise (a partial week).
    pub dim: bool,
}

/// A table with its plain-text rendering precomputed (aligned columns).
#[derive(Debug, Clone, Serialize)]
pub struct TableView {
    /// Column headers.
    pub headers: Vec<String>,
    /// Whether each column is numeric (right-aligned).
    pub numeric: Vec<bool>,
    /// The rows.
    pub rows: Vec<Row>,
    /// The table as aligned monospace lines, header and rule first.
    pub text_lines: Vec<String>,
}

impl TableView {
    /// Builds a table; `numeric(i)` says whether column `i` holds right-aligned numbers.
    pub fn new(headers: Vec<String>, numeric: impl Fn(usize) -> bool, rows: Vec<Row>) -> Self {
        let numeric: Vec<bool> = (0..headers.len()).map(numeric).collect();
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (i, c) in r.cells.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let w = widths.get(i).copied().unwrap_or(0);
                    if numeric.get(i).copied().unwrap_or(false) {
                        format!("{c:>w$}")
                    } else {
                        format!("{c:<w$}")
                    }
                })
                .collect();
            parts.join("  ").trim_end().to_string()
        };
        let mut text_lines = vec![line(&headers)];
        text_lines.push(
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join("  "),
        );
        text_lines.extend(rows.iter().map(|r| line(&r.cells)));
        TableView {
            headers,
            numeric,
            rows,
            text_lines,
        }
    }
}

/// A generic report section.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Stable id (anchors, tests).
    pub id: &'static str,
    /// Heading.
    pub title: String,
    /// A sentence under the heading.
    pub intro: Option<String>,
    /// Whether the weekly chart belongs at the top of this section.
    pub chart: bool,
    /// Bullets.
    pub items: Vec<Item>,
    /// A table.
    pub table: Option<TableView>,
    /// Small print under the section.
    pub footnote: Option<String>,
}

/// Everything the weekly report templates print.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    /// Account name.
    pub account: String,
    /// The report's week: the last complete ISO week of the data (else the last week).
    pub week: Option<String>,
    /// One line: what changed (`Meta: switch sign_up → add_to_cart · 2 proxies flagged`).
    pub headline: String,
    /// Data window, weeks and dates.
    pub window: String,
    /// Units, users and purchasers observed.
    pub population: String,
    /// Per platform, first.
    pub recommendations: Vec<RecView>,
    /// Flags, scorecard, weekly volumes, data notes.
    pub sections: Vec<Section>,
    /// Footer lines.
    pub footer: Vec<Pair>,
    /// `src` of the chart image (`cid:…` in email, a file name on disk), when there is a chart.
    pub chart_src: Option<String>,
    /// Tool name and version.
    pub tool: String,
}

/// Thousands separators for counts: `37,324`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The week a weekly report is about: the last complete ISO week, else the last week seen.
pub fn report_week(r: &Report) -> Option<IsoWeek> {
    r.input
        .complete_weeks
        .last()
        .or(r.input.weeks.last())
        .copied()
}

fn sunday(w: IsoWeek) -> String {
    w.monday()
        .checked_add(jiff::Span::new().days(6))
        .map_or_else(|_| String::from("?"), |d| d.to_string())
}

fn evidence_value(v: &Value) -> String {
    match v {
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => thousands(u),
            (_, Some(i), _) => i.to_string(),
            (_, _, Some(f)) if f != 0.0 && f.abs() < 0.001 => p_value(f.abs()),
            (_, _, Some(f)) if f.abs() >= 100.0 => format!("{f:.0}"),
            (_, _, Some(f)) => {
                let s = format!("{f:.3}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(evidence_value).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn unlock_text(rec: &Recommendation, u: &Unlock) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(k) = u.max_ad_sets {
        if k < rec.ad_sets {
            parts.push(format!("at most {k} {}", rec.floor.unit.noun(f64::from(k))));
        }
    }
    if let Some(m) = u.volume_multiple {
        parts.push(format!("{m:.1}× today's volume"));
    }
    (!parts.is_empty()).then(|| format!("{} would clear with {}", u.event, parts.join(", or ")))
}

fn rec_view(rec: &Recommendation) -> RecView {
    let units = rec.floor.unit.noun(f64::from(rec.ad_sets));
    let unit1 = rec.floor.unit.noun(1.0);
    let (headline, status) = match (&rec.event, rec.change_needed) {
        (Some(e), Some(true)) => (format!("optimize on {e}"), "change"),
        (Some(e), Some(false)) => (format!("optimize on {e}"), "keep"),
        (Some(e), None) => (format!("optimize on {e}"), "new"),
        (None, _) if rec.checks.is_empty() => ("floor not checked".to_string(), "none"),
        (None, _) if rec.verdict == Some(crate::core::recommend::Verdict::NothingUsefulClears) => {
            ("nothing useful clears".to_string(), "none")
        }
        (None, _) => ("nothing clears the floor".to_string(), "none"),
    };
    let volume = rec.per_unit_weekly.map(|v| {
        format!(
            "{} per {unit1} per week against a floor of {} per {unit1} per {} days{}",
            amount(v),
            amount(rec.floor.events),
            rec.floor.days,
            rec.clearance.map_or(String::new(), |c| format!(
                " (clears {} of windows)",
                percent(c)
            ))
        )
    });
    RecView {
        platform: rec.platform.display_name().to_string(),
        setup: format!(
            "{} {units} · {:.0}% of events seen",
            rec.ad_sets,
            rec.attributed_share * 100.0
        ),
        event: rec.event.as_ref().map(|e| e.to_string()),
        headline,
        status,
        today: rec.optimizing_on.as_ref().map(|e| e.to_string()),
        runner_up: rec.runner_up.as_ref().map(|e| e.to_string()),
        volume,
        unlock: rec.unlock.as_ref().and_then(|u| unlock_text(rec, u)),
        reason: rec.reason.clone(),
        not_eligible: not_eligible(rec),
    }
}

fn headline(r: &Report) -> String {
    let mut parts: Vec<String> = r
        .recommendations
        .iter()
        .filter(|rec| rec.change_needed == Some(true))
        .filter_map(|rec| {
            Some(format!(
                "{}: switch {} → {}",
                rec.platform.display_name(),
                rec.optimizing_on.as_ref()?,
                rec.event.as_ref()?
            ))
        })
        .collect();
    let stuck = r
        .recommendations
        .iter()
        .filter(|rec| rec.event.is_none())
        .count();
    if stuck > 0 {
        parts.push(format!(
            "{stuck} platform{} without a clearing event",
            if stuck == 1 { "" } else { "s" }
        ));
    }
    let flagged = r.proxies.iter().filter(|p| !p.flags.is_empty()).count();
    if flagged > 0 {
        parts.push(format!(
            "{flagged} prox{} flagged",
            if flagged == 1 { "y" } else { "ies" }
        ));
    }
    if parts.is_empty() {
        "no changes".into()
    } else {
        parts.join(" · ")
    }
}

/// Changes since the previous stored week, as the terminal report words them.
fn changes_section(r: &Report) -> Section {
    let c = &r.changes;
    let items: Vec<Item> = crate::history::describe(c)
        .into_iter()
        .map(|text| Item {
            lead: None,
            tag: None,
            text,
            details: Vec::new(),
        })
        .collect();
    Section {
        id: "changes",
        title: match (c.previous_week, c.week) {
            (Some(p), Some(w)) => format!("Changes since last week ({p} → {w})"),
            _ => "Changes since last week".into(),
        },
        intro: items.is_empty().then(|| "Nothing to compare.".to_string()),
        chart: false,
        items,
        table: None,
        footnote: None,
    }
}

/// Conversion-goal set-ups that feed a bidder the wrong signal, when the pull found any.
fn goals_section(r: &Report) -> Option<Section> {
    if r.conversion_goals.is_empty() {
        return None;
    }
    Some(Section {
        id: "conversion_goals",
        title: "Conversion goals".into(),
        intro: Some("Set-ups that feed a bidder the wrong signal.".into()),
        chart: false,
        items: r
            .conversion_goals
            .iter()
            .map(|g| Item {
                lead: Some(g.platform.display_name().to_string()),
                tag: Some(g.severity.name().to_string()),
                text: format!("{}: {} Fix: {}", g.kind, g.message, g.fix),
                details: Vec::new(),
            })
            .collect(),
        table: None,
        footnote: None,
    })
}

/// Each proxy flag, with its evidence.
fn flags_section(r: &Report) -> Section {
    let mut items = Vec::new();
    for p in &r.proxies {
        for f in &p.flags {
            items.push(Item {
                lead: Some(p.event.to_string()),
                tag: Some(f.kind.name().to_string()),
                text: f.message.clone(),
                details: f
                    .evidence
                    .iter()
                    .map(|(k, v)| Pair {
                        key: k.replace('_', " "),
                        value: evidence_value(v),
                    })
                    .collect(),
            });
        }
    }
    Section {
        id: "flags",
        title: "Proxy flags".into(),
        intro: items
            .is_empty()
            .then(|| "No candidate event is flagged.".to_string()),
        chart: false,
        items,
        table: None,
        footnote: None,
    }
}

/// The proxy scorecard: how well each candidate predicts a purchase.
fn scorecard_section(r: &Report) -> Section {
    let i = &r.input;
    let conf = format!("{:.0}%", r.settings.confidence * 100.0);
    let rows = r
        .proxies
        .iter()
        .map(|p| {
            let prec = match (p.precision, p.precision_ci) {
                (Some(x), Some(c)) => {
                    format!("{} ({}–{})", percent(x), percent(c.lo), percent(c.hi))
                }
                (Some(x), None) => percent(x),
                _ => "–".into(),
            };
            let or = match (&p.adjusted, &p.estimability) {
                (Some(m), _) => format!(
                    "{:.2}{} ({:.2}–{:.2})",
                    m.odds_ratio,
                    if m.separation { "†" } else { "" },
                    m.odds_ratio_ci.lo,
                    m.odds_ratio_ci.hi
                ),
                (None, Estimability::NotEstimable { .. }) => "not estimable".into(),
                (None, _) => "–".into(),
            };
            let flags: Vec<&str> = p.flags.iter().map(|f| f.kind.name()).collect();
            Row {
                cells: vec![
                    p.event.to_string(),
                    thousands(p.units_with()),
                    prec,
                    p.lift.map_or("–".into(), |x| format!("{x:.2}")),
                    or,
                    p.auc_out_of_time.map_or("–".into(), |x| format!("{x:.3}")),
                    super::terminal::own_auc(p),
                    p.q_value.map_or("–".into(), p_value),
                    if flags.is_empty() {
                        "–".into()
                    } else {
                        flags.join(", ")
                    },
                ],
                alert: !flags.is_empty(),
                dim: false,
            }
        })
        .collect();
    let separation = r
        .proxies
        .iter()
        .any(|p| p.adjusted.as_ref().is_some_and(|m| m.separation));
    Section {
        id: "scorecard",
        title: "Proxy scorecard".into(),
        intro: Some(format!(
            "How well each candidate predicts a purchase within {} days of the {} ({conf} intervals in brackets).",
            r.label_window_days,
            i.unit.plural().trim_end_matches('s')
        )),
        chart: false,
        items: Vec::new(),
        table: Some(TableView::new(
            vec![
                "event".into(),
                format!("{} with", i.unit.plural()),
                "precision".into(),
                "lift".into(),
                "adj. odds ratio".into(),
                "AUC".into(),
                "own AUC".into(),
                "q".into(),
                "flags".into(),
            ],
            |i| (1..8).contains(&i),
            rows,
        )),
        footnote: Some(format!(
            "precision: share of {} with the event that purchase; lift: precision / base rate; odds ratio adjusted for device and channel; AUC: the model's (event, device, channel) on the held-out last week(s); own AUC: the event alone ((TPR + TNR) / 2, DeLong interval) on the last held-out week(s) whose labels are complete, about 0.5 for an event unrelated to purchase; q: Benjamini–Hochberg.{}",
            i.unit.plural(),
            if separation { " † separation (a zero cell): Firth-penalized estimate." } else { "" }
        )),
    }
}

/// Site-wide weekly volumes, with the chart when there is one.
fn weekly_section(r: &Report, chart: bool) -> Section {
    let i = &r.input;
    let mut headers = vec!["week".to_string(), i.unit.plural().to_string()];
    headers.extend(r.proxies.iter().map(|p| p.event.to_string()));
    headers.push("purchase".into());
    let rows = i
        .weeks
        .iter()
        .enumerate()
        .map(|(wi, week)| {
            let complete = i.complete_weeks.contains(week);
            let mut cells = vec![format!("{week}{}", if complete { "" } else { "*" })];
            cells.push(r.weekly.get(wi).map_or("–".into(), |w| thousands(w.units)));
            for p in &r.proxies {
                cells.push(p.weekly.get(wi).map_or("–".into(), |w| thousands(w.events)));
            }
            cells.push(
                r.weekly
                    .get(wi)
                    .map_or("–".into(), |w| thousands(w.purchase.events)),
            );
            Row {
                cells,
                alert: false,
                dim: !complete,
            }
        })
        .collect();
    let partial = i.weeks.len() > i.complete_weeks.len();
    Section {
        id: "weekly",
        title: "Weekly volumes".into(),
        intro: Some(
            "Site-wide events per ISO week. The chart divides them by each platform's bidding units and scales them by the share of events it sees."
                .into(),
        ),
        chart,
        items: Vec::new(),
        table: Some(TableView::new(headers, |i| i >= 1, rows)),
        footnote: partial.then(|| {
            format!(
                "* set aside by its own coverage, kept out of floor checks and drift tests: {}.",
                super::set_aside_list(&r.weekly, i.unit).join("; ")
            )
        }),
    }
}

/// What was read and the report's data notes.
/// How to set up each platform's recommended event: one item per platform, its steps numbered.
fn setup_section(r: &Report) -> Section {
    let items = r
        .setup
        .platforms
        .iter()
        .map(|p| Item {
            lead: Some(format!(
                "{}: optimize on {}{}",
                p.platform.display_name(),
                p.event,
                super::setup::in_place(p)
            )),
            tag: None,
            text: super::setup::steps(p, r.setup.outcome.as_str())
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{}. {s}.", i + 1))
                .collect::<Vec<_>>()
                .join(" "),
            details: Vec::new(),
        })
        .collect();
    Section {
        id: "setup",
        title: "How to set it up".into(),
        intro: None,
        chart: false,
        items,
        table: None,
        footnote: Some(
            "The same set-up as JSON: `optsignal signal spec` (docs/json-schema.md, setup).".into(),
        ),
    }
}

fn notes_section(r: &Report) -> Section {
    let i = &r.input;
    let skipped: u64 = i.rows_skipped.values().map(|t| t.count).sum();
    let file = std::path::Path::new(&i.file)
        .file_name()
        .map_or_else(|| i.file.clone(), |f| f.to_string_lossy().into_owned());
    let mut notes = vec![Item {
        lead: None,
        tag: None,
        text: format!(
            "{} {} read from {file}, {} accepted, {} skipped; timestamps {}.",
            thousands(i.rows_read),
            crate::format::noun(i.rows_read, "row", "rows"),
            thousands(i.rows_accepted),
            thousands(skipped),
            i.timestamp_format
        ),
        details: Vec::new(),
    }];
    notes.extend(r.notes.iter().map(|n| Item {
        lead: None,
        tag: None,
        text: n.clone(),
        details: Vec::new(),
    }));
    Section {
        id: "notes",
        title: "Data notes".into(),
        intro: None,
        chart: false,
        items: notes,
        table: None,
        footnote: None,
    }
}

/// The footer: data window, config provenance, settings and tool.
fn footer(r: &Report, prov: &Provenance, window: &str) -> Vec<Pair> {
    let s = &r.settings;
    let mut footer = vec![Pair {
        key: "data window".into(),
        value: window.to_string(),
    }];
    footer.push(Pair {
        key: "config".into(),
        value: match (&prov.config_file, &prov.config_sha256) {
            (Some(f), Some(h)) => format!("{f}, sha256 {h}"),
            (None, Some(h)) => format!("sha256 {h}"),
            (Some(f), None) => f.clone(),
            (None, None) => "command-line settings only".into(),
        },
    });
    footer.push(Pair {
        key: "settings".into(),
        value: format!(
            "label window {} days, confidence {}, clearance threshold {}, volume weeks {}, surge weeks {}, alpha {}, min units {}, holdout weeks {}",
            r.label_window_days,
            s.confidence,
            s.clearance_threshold,
            s.volume_weeks,
            s.surge_weeks,
            s.alpha,
            s.min_units,
            s.holdout_weeks
        ),
    });
    footer.push(Pair {
        key: "tool".into(),
        value: format!("{} {}", r.tool.name, r.tool.version),
    });
    footer
}

impl ReportView {
    /// Builds the view of a report. `chart_src` is the image reference when a chart exists.
    pub fn new(r: &Report, prov: &Provenance, chart_src: Option<String>) -> Self {
        let i = &r.input;
        let window = match (i.weeks.first(), i.weeks.last()) {
            (Some(a), Some(b)) => format!("{a} … {b} ({} – {})", a.monday(), sunday(*b)),
            _ => "no data".into(),
        };
        let mut sections: Vec<Section> = goals_section(r).into_iter().collect();
        sections.push(changes_section(r));
        sections.push(flags_section(r));
        if !r.setup.platforms.is_empty() {
            sections.push(setup_section(r));
        }
        sections.push(scorecard_section(r));
        sections.push(weekly_section(r, chart_src.is_some()));
        sections.push(notes_section(r));
        let footer = footer(r, prov, &window);
        ReportView {
            account: r.account.clone(),
            week: report_week(r).map(|w| w.to_string()),
            headline: headline(r),
            window,
            population: format!(
                "{} {}, {} {}, {} {}",
                thousands(i.units),
                crate::format::noun(i.units, i.unit.singular(), i.unit.plural()),
                thousands(i.users),
                crate::format::noun(i.users, "user", "users"),
                thousands(i.purchasing_units),
                r.reached()
            ),
            recommendations: r.recommendations.iter().map(rec_view).collect(),
            sections,
            footer,
            chart_src,
            tool: format!("{} {}", r.tool.name, r.tool.version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_and_tables_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(37324), "37,324");
        assert_eq!(thousands(1234567), "1,234,567");
        let t = TableView::new(
            vec!["event".into(), "n".into()],
            |i| i >= 1,
            vec![Row {
                cells: vec!["add_to_cart".into(), "7".into()],
                alert: false,
                dim: false,
            }],
        );
        assert_eq!(
            t.text_lines,
            vec!["event        n", "-----------  -", "add_to_cart  7"]
        );
    }

    #[test]
    fn evidence_numbers_are_rounded_for_people() {
        assert_eq!(evidence_value(&serde_json::json!(16.7123)), "16.712");
        assert_eq!(evidence_value(&serde_json::json!(1e-20)), "< 1e-16");
        assert_eq!(evidence_value(&serde_json::json!(12345)), "12,345");
        assert_eq!(evidence_value(&serde_json::json!("2026-W45")), "2026-W45");
    }
}
