//! Audience comparisons for people: the lines of the report's AUDIENCE SEEDS section and the
//! `audience` command's text and Markdown.

use std::fmt::Write;

use crate::audience::{AudienceComparison, AudienceSide};
use crate::format::{p_value, percent};

/// `p = 0.012`, or `p < 1e-16` below double precision.
fn p_is(p: f64) -> String {
    let s = p_value(p);
    if s.starts_with('<') {
        format!("p {s}")
    } else {
        format!("p = {s}")
    }
}

fn density(s: &AudienceSide) -> String {
    match (s.density, s.density_ci) {
        (Some(d), Some(ci)) => format!(
            "{:.1}% [{:.1}%, {:.1}%]{}",
            d * 100.0,
            ci.lo * 100.0,
            ci.hi * 100.0,
            s.lift.map_or(String::new(), |l| format!(", {l:.2}× all"))
        ),
        _ => "–".into(),
    }
}

/// The comparison in four lines: sizes and overlap, each density, and the difference.
pub fn lines(c: &AudienceComparison) -> Vec<String> {
    let unit = c.unit.plural();
    let share = |part: u64, of: u64| {
        if of == 0 {
            "–".to_string()
        } else {
            percent(part as f64 / of as f64)
        }
    };
    let mut out = vec![
        format!("{} vs {}", c.a.label, c.b.label),
        format!(
            "size: {} vs {} {unit} (of {}); overlap {} {unit}: {} of the first, {} of the second{}",
            c.a.units,
            c.b.units,
            c.units_total,
            c.overlap,
            share(c.overlap, c.a.units),
            share(c.overlap, c.b.units),
            c.jaccard
                .map_or(String::new(), |j| format!(" (Jaccard {j:.2})"))
        ),
        format!("purchase density: {} vs {}", density(&c.a), density(&c.b)),
    ];
    match (c.difference, c.difference_ci, c.p_value) {
        (Some(d), Some(ci), Some(p)) => out.push(format!(
            "difference: {:+.2} pts [{:+.2}, {:+.2}], {}{}",
            d * 100.0,
            ci.lo * 100.0,
            ci.hi * 100.0,
            p_is(p),
            match (c.ratio, c.ratio_ci) {
                (Some(r), Some(ci)) => format!(
                    "; the first is {r:.2}× as dense [{:.2}, {:.2}]",
                    ci.lo, ci.hi
                ),
                _ => String::new(),
            }
        )),
        _ => out.push("difference: – (an audience is empty)".into()),
    }
    out
}

/// The command's text output.
pub fn render_text(c: &AudienceComparison, style: super::terminal::Style) -> String {
    let l = lines(c);
    let mut out = format!("{}  {}\n", style.bold("AUDIENCES"), l[0]);
    for x in &l[1..] {
        let _ = writeln!(out, "  {x}");
    }
    let _ = writeln!(
        out,
        "  ({} are in an audience by the events they did before purchasing; density = share that purchased within the label window)",
        c.unit.plural()
    );
    out.trim_end().to_string()
}

/// The command's Markdown output.
pub fn render_markdown(c: &AudienceComparison) -> String {
    let l = lines(c);
    let mut out = format!("# Audiences: {}\n\n", l[0]);
    for x in &l[1..] {
        let _ = writeln!(out, "- {x}");
    }
    out
}
