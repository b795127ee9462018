//! The terminal report for people: the recommendation first, then flags, the proxy scorecard,
//! weekly volumes and data notes. Colour only when writing to a terminal (and `NO_COLOR` unset).

pub mod budget;
pub mod layout;
pub mod sections;

use std::fmt::Write;

use comfy_table::{CellAlignment, Table};
use layout::{add_row, escape, wrap};

use super::Report;
use crate::evidence::Estimability;
use crate::format::{count, p_value, percent};

/// How terminal text is drawn: ANSI colour (a no-op when off) and the width to fit, if any.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
    width: Option<usize>,
}

impl Style {
    /// Colour on or off; the full layout (no width to fit).
    pub fn new(color: bool) -> Self {
        Style { color, width: None }
    }

    /// Fits tables and prose to `width` columns (at least [`layout::MIN_WIDTH`]); `None` keeps
    /// the full layout.
    pub fn with_width(self, width: Option<usize>) -> Self {
        Style {
            width: width.map(|w| w.max(layout::MIN_WIDTH)),
            ..self
        }
    }

    /// The width to fit, if any.
    pub fn width(&self) -> Option<usize> {
        self.width
    }

    /// Writes `text` as one paragraph: after `first`, wrapped at the width with continuation
    /// lines indented by `rest`, then a newline. `text` must already be escaped where it holds
    /// names from the data.
    pub fn line(&self, o: &mut String, first: &str, rest: &str, text: &str) {
        let _ = writeln!(o, "{}", wrap(text, self.width, first, rest));
    }

    /// Writes a section title (bold), after a blank line, wrapped at the width.
    pub fn title(&self, o: &mut String, text: &str) {
        o.push('\n');
        self.line(o, "", "  ", &self.bold(text));
    }

    /// `s` painted; its control characters escaped whether colour is on or off.
    fn paint(&self, code: &str, s: &str) -> String {
        let s = escape(s);
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.into_owned()
        }
    }
    /// Bold text.
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    /// `s` in green (a recommended event), escaped.
    pub fn green(&self, s: &str) -> String {
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

fn table(header: &[&str], style: Style) -> Table {
    layout::table(header, style.width())
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
    layout::finish(o)
}

/// Renders only a test plan (`optsignal test-plan`).
pub fn render_test_plan(r: &Report, plan: &crate::testplan::TestPlan, style: Style) -> String {
    let mut o = header(r, style);
    sections::test_plan(&mut o, plan, style, r.input.unit.plural());
    layout::finish(o)
}

/// The first line: account, weeks, and what was observed.
fn header(r: &Report, style: Style) -> String {
    let i = &r.input;
    let span = match (i.weeks.first(), i.weeks.last()) {
        (Some(a), Some(b)) => format!("{a} … {b}"),
        _ => "no weeks".into(),
    };
    let text = format!(
        "{} — {} · {} · {}, {}, {} {}",
        style.bold("optsignal"),
        style.bold(&r.account),
        span,
        count(i.units, i.unit.singular(), i.unit.plural()),
        count(i.users, "user", "users"),
        i.purchasing_units,
        r.reached()
    );
    let mut o = String::new();
    style.line(&mut o, "", "  ", &text);
    o
}

/// Renders the report as text for a terminal.
pub fn render(r: &Report, style: Style) -> String {
    let mut o = header(r, style);
    o.push('\n');
    recommendations(&mut o, r, style);
    conversion_goals(&mut o, r, style);
    changes(&mut o, r, style);
    flags(&mut o, r, style);
    if !r.setup.platforms.is_empty() {
        let _ = writeln!(o, "\n{}", style.bold("HOW TO SET IT UP"));
        super::setup::render_text(&r.setup, style, &mut o);
    }
    budget::section(&mut o, &r.recommendations, style);
    let pct_conf = (r.settings.confidence * 100.0).round();
    scorecard(&mut o, r, style, pct_conf);
    sections::values(&mut o, &r.values, style, pct_conf);
    sections::seeds(&mut o, &r.seeds, style, pct_conf);
    sections::test_plan(&mut o, &r.test_plan, style, r.input.unit.plural());
    sections::funnel(&mut o, &r.funnel, style, false);
    weekly_volumes(&mut o, r, style);
    render_ad_sets(r, style, &mut o);
    if !r.notes.is_empty() {
        let _ = writeln!(o, "\n{}", style.bold("DATA NOTES"));
        for n in &r.notes {
            style.line(&mut o, "  - ", "    ", &escape(n));
        }
    }
    layout::finish(o)
}

/// RECOMMENDATIONS: per platform the event, the runner-up, today's event, and why.
fn recommendations(o: &mut String, r: &Report, style: Style) {
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
        let runner = rec.runner_up.as_ref().map_or(String::new(), |e| {
            format!("  (runner-up: {})", escape(e.as_str()))
        });
        let today = match (&rec.optimizing_on, rec.change_needed) {
            (Some(t), Some(true)) => format!("  [today: {} → change]", escape(t.as_str())),
            (Some(t), Some(false)) => format!("  [today: {} → keep]", escape(t.as_str())),
            _ => String::new(),
        };
        let text = format!(
            "{} ({} {}, {:.0}% of events seen): {head}{runner}{today}",
            style.bold(name),
            rec.ad_sets,
            units,
            rec.attributed_share * 100.0,
        );
        style.line(o, "  ", "      ", &text);
        style.line(o, "    ", "    ", &escape(&rec.reason));
        if let Some(x) = super::view::not_eligible(rec) {
            style.line(o, "    ", "      ", &escape(&format!("not eligible: {x}")));
        }
    }
}

/// CONVERSION GOALS: set-ups that feed a bidder the wrong signal (only when the API sources
/// found one).
fn conversion_goals(o: &mut String, r: &Report, style: Style) {
    if r.conversion_goals.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n{}", style.bold("CONVERSION GOALS"));
    for g in &r.conversion_goals {
        let text = format!(
            "{} {} {}: {} Fix: {}",
            g.platform.display_name(),
            style.red(g.severity.name()),
            g.kind,
            escape(&g.message),
            escape(&g.fix)
        );
        style.line(o, "  ", "    ", &text);
    }
}

/// CHANGES SINCE LAST WEEK.
fn changes(o: &mut String, r: &Report, style: Style) {
    let c = &r.changes;
    let since = match (c.previous_week, c.week) {
        (Some(p), Some(w)) => format!(" ({p} → {w})"),
        _ => String::new(),
    };
    let _ = writeln!(o, "\n{}{}", style.bold("CHANGES SINCE LAST WEEK"), since);
    for line in crate::history::describe(c) {
        style.line(o, "  ", "    ", &escape(&line));
    }
}

/// PROXY FLAGS: one paragraph per flag.
fn flags(o: &mut String, r: &Report, style: Style) {
    let flagged: Vec<_> = r.proxies.iter().filter(|p| !p.flags.is_empty()).collect();
    let _ = writeln!(o, "\n{}", style.bold("PROXY FLAGS"));
    if flagged.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for p in flagged {
        for f in &p.flags {
            let text = format!(
                "{} {}: {}",
                style.red(p.event.as_str()),
                f.kind.name(),
                escape(&f.message)
            );
            style.line(o, "  ", "    ", &text);
        }
    }
}

/// PROXY SCORECARD: the evidence per proxy. When it does not fit the width it is printed as two
/// tables (precision and recall; adjusted odds ratio, the model's and the event's own AUC, q and
/// flags), each led by the event.
fn scorecard(o: &mut String, r: &Report, style: Style, pct_conf: f64) {
    let _ = writeln!(o, "\n{}", style.bold("PROXY SCORECARD"));
    let with = format!("{} with", r.input.unit.plural());
    let ci = format!("{pct_conf}% CI");
    let own = format!("own AUC ({pct_conf}% CI)");
    let header = [
        "event",
        with.as_str(),
        "precision",
        ci.as_str(),
        "recall",
        "lift",
        "odds ratio (adj.)",
        ci.as_str(),
        "AUC (out of time)",
        own.as_str(),
        "q",
        "flags",
    ];
    let rows: Vec<Vec<String>> = r.proxies.iter().map(scorecard_row).collect();
    let parts: Vec<Vec<usize>> = match style.width() {
        Some(w) if layout::natural_width(&header, &rows) > w => {
            vec![vec![0, 1, 2, 3, 4, 5], vec![0, 6, 7, 8, 9, 10, 11]]
        }
        _ => vec![(0..header.len()).collect()],
    };
    for cols in parts {
        let head: Vec<&str> = cols.iter().map(|c| header[*c]).collect();
        let mut t = table(&head, style);
        for row in &rows {
            add_row(&mut t, cols.iter().map(|c| row[*c].as_str()));
        }
        right(&mut t, 1);
        if cols.last() == Some(&11) {
            // Flags are words, not numbers.
            if let Some(c) = t.column_mut(cols.len() - 1) {
                c.set_cell_alignment(CellAlignment::Left);
            }
        }
        layout::fit(&mut t);
        let _ = writeln!(o, "{t}");
    }
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
}

/// The proxy's own out-of-time AUC with its interval, `0.858 (0.84–0.88)`, or `–`.
pub(crate) fn own_auc(p: &crate::evidence::ProxyEvidence) -> String {
    p.proxy_auc_out_of_time.as_ref().map_or("–".into(), |a| {
        format!("{:.3} ({:.2}–{:.2})", a.estimate, a.ci.lo, a.ci.hi)
    })
}

/// One proxy's scorecard cells, in the order of the scorecard's header.
fn scorecard_row(p: &crate::evidence::ProxyEvidence) -> Vec<String> {
    let (or, ci) = match (&p.adjusted, &p.estimability) {
        (Some(m), _) => (
            format!("{:.2}{}", m.odds_ratio, if m.separation { "†" } else { "" }),
            format!("{:.2}–{:.2}", m.odds_ratio_ci.lo, m.odds_ratio_ci.hi),
        ),
        (None, Estimability::NotEstimable { .. }) => ("not estimable".into(), "–".into()),
        (None, _) => ("–".into(), "–".into()),
    };
    let flags: Vec<&str> = p.flags.iter().map(|f| f.kind.name()).collect();
    vec![
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
        own_auc(p),
        opt(p.q_value, p_value),
        flags.join(", "),
    ]
}

/// WEEKLY VOLUMES: units and events per week.
fn weekly_volumes(o: &mut String, r: &Report, style: Style) {
    let i = &r.input;
    let _ = writeln!(
        o,
        "\n{}",
        style.bold("WEEKLY VOLUMES (events; * = set aside, see data notes)")
    );
    let mut head: Vec<String> = vec!["week".into(), i.unit.plural().into()];
    head.extend(r.proxies.iter().map(|p| p.event.to_string()));
    head.push("purchase".into());
    let refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = table(&refs, style);
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
        add_row(&mut t, row);
    }
    right(&mut t, 1);
    layout::fit(&mut t);
    let _ = writeln!(o, "{t}");
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
    let mut t = table(
        &[
            "ad set",
            "active",
            "optimizes on",
            "learning",
            "conversions",
            "last significant edit",
        ],
        style,
    );
    for a in &m.ad_sets {
        let l = a.learning.as_ref();
        add_row(
            &mut t,
            vec![
                a.name.clone(),
                if a.active { "yes" } else { "no" }.to_string(),
                a.optimizing_on.clone().unwrap_or_else(|| "–".into()),
                l.map_or("–".into(), |l| l.label().to_string()),
                l.and_then(|l| l.conversions)
                    .map_or("–".into(), |c| c.to_string()),
                l.and_then(|l| l.last_significant_edit.clone())
                    .unwrap_or_else(|| "–".into()),
            ],
        );
    }
    layout::fit(&mut t);
    let _ = writeln!(o, "{t}");
}
