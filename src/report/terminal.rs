//! The terminal report for people: the recommendation first, then flags, the proxy scorecard,
//! weekly volumes and data notes. Colour only when writing to a terminal (and `NO_COLOR` unset).

pub mod sections;

use std::fmt::Write;

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::Report;
use crate::evidence::Estimability;
use crate::format::{p_value, percent};

/// ANSI styling that is a no-op when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Colour on or off.
    pub fn new(color: bool) -> Self {
        Style { color }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    /// Bold text.
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn green(&self, s: &str) -> String {
        self.paint("1;32", s)
    }
    /// Red bold text (problems).
    pub fn red(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(Cell::new));
    t
}

fn right(t: &mut Table, from: usize) {
    let n = t.column_count();
    for i in from..n {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or("–".into(), f)
}

/// Renders only the funnel diagnosis (`optsignal funnel`), with the per-segment table.
pub fn render_funnel(r: &Report, style: Style) -> String {
    let mut o = header(r, style);
    sections::funnel(&mut o, &r.funnel, style, true);
    o
}

/// Renders only a test plan (`optsignal test-plan`).
pub fn render_test_plan(r: &Report, plan: &crate::testplan::TestPlan, style: Style) -> String {
    let mut o = header(r, style);
    sections::test_plan(&mut o, plan, style, r.input.unit.plural());
    o
}

fn header(r: &Report, style: Style) -> String {
    let i = &r.input;
    let span = match (i.weeks.first(), i.weeks.last()) {
        (Some(a), Some(b)) => format!("{a} … {b}"),
        _ => "no weeks".into(),
    };
    format!(
        "{} — {} · {} · {} {}, {} users, {} purchasing\n",
        style.bold("optsignal"),
        style.bold(&r.account),
        span,
        i.units,
        i.unit.plural(),
        i.users,
        i.purchasing_units
    )
}

/// Renders the report as text for a terminal.
pub fn render(r: &Report, style: Style) -> String {
    let mut o = String::new();
    let i = &r.input;
    let span = match (i.weeks.first(), i.weeks.last()) {
        (Some(a), Some(b)) => format!("{a} … {b}"),
        _ => "no weeks".into(),
    };
    let _ = writeln!(
        o,
        "{} — {} · {} · {} {}, {} users, {} purchasing\n",
        style.bold("optsignal"),
        style.bold(&r.account),
        span,
        i.units,
        i.unit.plural(),
        i.users,
        i.purchasing_units
    );
    let _ = writeln!(o, "{}", style.bold("RECOMMENDATIONS"));
    for rec in &r.recommendations {
        let name = rec.platform.display_name();
        let units = rec.floor.unit.noun(f64::from(rec.ad_sets));
        let head = match &rec.event {
            Some(e) if rec.held => format!("optimize on {} (held)", style.green(e.as_str())),
            Some(e) => format!("optimize on {}", style.green(e.as_str())),
            None if rec.checks.is_empty() => style.red("floor not checked"),
            None if rec.verdict == Some(crate::core::recommend::Verdict::NothingUsefulClears) => {
                style.red("nothing useful clears")
            }
            None => style.red("nothing clears the floor"),
        };
        let runner = rec
            .runner_up
            .as_ref()
            .map_or(String::new(), |e| format!("  (runner-up: {e})"));
        let today = match (&rec.optimizing_on, rec.change_needed) {
            (Some(t), Some(true)) => format!("  [today: {t} → change]"),
            (Some(t), Some(false)) => format!("  [today: {t} → keep]"),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "  {} ({} {}, {:.0}% of events seen): {}{}{}",
            style.bold(name),
            rec.ad_sets,
            units,
            rec.attributed_share * 100.0,
            head,
            runner,
            today
        );
        let _ = writeln!(o, "    {}", rec.reason);
    }
    let c = &r.changes;
    let since = match (c.previous_week, c.week) {
        (Some(p), Some(w)) => format!(" ({p} → {w})"),
        _ => String::new(),
    };
    let _ = writeln!(o, "\n{}{}", style.bold("CHANGES SINCE LAST WEEK"), since);
    for line in crate::history::describe(c) {
        let _ = writeln!(o, "  {line}");
    }
    let flagged: Vec<_> = r.proxies.iter().filter(|p| !p.flags.is_empty()).collect();
    let _ = writeln!(o, "\n{}", style.bold("PROXY FLAGS"));
    if flagged.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for p in flagged {
        for f in &p.flags {
            let _ = writeln!(
                o,
                "  {} {}: {}",
                style.red(p.event.as_str()),
                f.kind.name(),
                f.message
            );
        }
    }
    let pct_conf = (r.settings.confidence * 100.0).round();
    let _ = writeln!(o, "\n{}", style.bold("PROXY SCORECARD"));
    let mut t = table(&[
        "event",
        &format!("{} with", i.unit.plural()),
        "precision",
        &format!("{pct_conf}% CI"),
        "recall",
        "lift",
        "odds ratio (adj.)",
        &format!("{pct_conf}% CI"),
        "AUC (out of time)",
        "q",
        "flags",
    ]);
    for p in &r.proxies {
        let (or, ci) = match (&p.adjusted, &p.estimability) {
            (Some(m), _) => (
                format!("{:.2}{}", m.odds_ratio, if m.separation { "†" } else { "" }),
                format!("{:.2}–{:.2}", m.odds_ratio_ci.lo, m.odds_ratio_ci.hi),
            ),
            (None, Estimability::NotEstimable { .. }) => ("not estimable".into(), "–".into()),
            (None, _) => ("–".into(), "–".into()),
        };
        let flags: Vec<&str> = p.flags.iter().map(|f| f.kind.name()).collect();
        t.add_row(vec![
            p.event.to_string(),
            p.units_with().to_string(),
            opt(p.precision, percent),
            p.precision_ci.map_or("–".into(), |c| {
                format!("{}–{}", percent(c.lo), percent(c.hi))
            }),
            opt(p.recall, percent),
            opt(p.lift, |x| format!("{x:.2}")),
            or,
            ci,
            opt(p.auc_out_of_time, |x| format!("{x:.3}")),
            opt(p.q_value, p_value),
            flags.join(", "),
        ]);
    }
    right(&mut t, 1);
    let _ = writeln!(o, "{t}");
    if r.proxies
        .iter()
        .any(|p| p.adjusted.as_ref().is_some_and(|m| m.separation))
    {
        let _ = writeln!(
            o,
            "{}",
            style.dim("  † separation (a zero cell): Firth-penalized estimate")
        );
    }
    sections::values(&mut o, &r.values, style, pct_conf);
    sections::seeds(&mut o, &r.seeds, style, pct_conf);
    sections::test_plan(&mut o, &r.test_plan, style, i.unit.plural());
    sections::funnel(&mut o, &r.funnel, style, false);
    let _ = writeln!(
        o,
        "\n{}",
        style.bold("WEEKLY VOLUMES (events; * = partial week)")
    );
    let mut head: Vec<String> = vec!["week".into(), i.unit.plural().into()];
    head.extend(r.proxies.iter().map(|p| p.event.to_string()));
    head.push("purchase".into());
    let refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = table(&refs);
    for (wi, week) in i.weeks.iter().enumerate() {
        let complete = i.complete_weeks.contains(week);
        let mut row = vec![format!("{week}{}", if complete { "" } else { "*" })];
        row.push(r.weekly.get(wi).map_or("–".into(), |w| w.units.to_string()));
        for p in &r.proxies {
            row.push(
                p.weekly
                    .get(wi)
                    .map_or("–".into(), |w| w.events.to_string()),
            );
        }
        row.push(
            r.weekly
                .get(wi)
                .map_or("–".into(), |w| w.purchase.events.to_string()),
        );
        t.add_row(row);
    }
    right(&mut t, 1);
    let _ = writeln!(o, "{t}");
    render_ad_sets(r, style, &mut o);
    if !r.notes.is_empty() {
        let _ = writeln!(o, "\n{}", style.bold("DATA NOTES"));
        for n in &r.notes {
            let _ = writeln!(o, "  - {n}");
        }
    }
    o
}

/// The Meta ad sets pulled from the Marketing API: learning stage and today's event.
fn render_ad_sets(r: &Report, style: Style, o: &mut String) {
    let Some(m) = r.pulled.as_ref().and_then(|p| p.meta.as_ref()) else {
        return;
    };
    if m.ad_sets.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n{}", style.bold("META AD SETS"));
    let mut t = table(&[
        "ad set",
        "active",
        "optimizes on",
        "learning",
        "conversions",
        "last significant edit",
    ]);
    for a in &m.ad_sets {
        let l = a.learning.as_ref();
        t.add_row(vec![
            a.name.clone(),
            if a.active { "yes" } else { "no" }.to_string(),
            a.optimizing_on.clone().unwrap_or_else(|| "–".into()),
            l.map_or("–".into(), |l| l.label().to_string()),
            l.and_then(|l| l.conversions)
                .map_or("–".into(), |c| c.to_string()),
            l.and_then(|l| l.last_significant_edit.clone())
                .unwrap_or_else(|| "–".into()),
        ]);
    }
    let _ = writeln!(o, "{t}");
}
