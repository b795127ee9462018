//! The A/B test readout for people: terminal text and Markdown from one
//! [`ExperimentReport`]; all of its English lives here.

use std::fmt::Write;

use crate::abtest::ExperimentReport;
use crate::experiment::{Comparison, MetricDiff, Movement, Readout, Role, VerdictKind};
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
use crate::types::Interval;

/// A signed relative change: `+12%`, `−1.5%` (a real minus sign).
pub fn signed(x: f64) -> String {
    let s = percent(x.abs());
    if s.trim_end_matches('%')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        return format!("±{s}");
    }
    if x < 0.0 {
        format!("−{s}")
    } else {
        format!("+{s}")
    }
}

/// A rate as a percentage with one decimal (rates of a test differ in the decimals).
fn rate(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A difference of rates in percentage points, signed with a real minus: `+2.28`, `−0.07`.
fn points(x: f64) -> String {
    let s = format!("{:.2}", (x * 100.0).abs());
    if s == "0.00" {
        s
    } else if x < 0.0 {
        format!("−{s}")
    } else {
        format!("+{s}")
    }
}

fn signed_ci(ci: Option<Interval>) -> String {
    ci.map_or_else(
        || "[–]".into(),
        |i| format!("[{}, {}]", signed(i.lo), signed(i.hi)),
    )
}

fn lift(m: &MetricDiff) -> String {
    format!(
        "{} {}",
        m.relative.map_or("–".into(), signed),
        signed_ci(m.relative_ci)
    )
}

fn moved(m: Movement) -> &'static str {
    match m {
        Movement::Up => "up",
        Movement::Down => "down",
        Movement::Flat => "no difference",
    }
}

/// The verdict sentence of one comparison.
pub fn verdict_sentence(c: &Comparison) -> String {
    let micro = c.metrics.iter().find(|m| m.role == Role::Micro);
    let mac = c.metrics.iter().find(|m| m.role == Role::Macro).or(micro);
    let (Some(mi), Some(ma)) = (micro, mac) else {
        return format!(
            "{}: not enough data to compare with {}",
            c.variant, c.control
        );
    };
    let (a, b) = (
        format!("{} {}", mi.event, lift(mi)),
        format!("{} {}", ma.event, lift(ma)),
    );
    let v = &c.variant;
    match c.verdict {
        VerdictKind::SampleRatioMismatch => format!(
            "{v}: the split is not the configured one (sample ratio mismatch): do not read the \
             differences until the assignment is fixed"
        ),
        VerdictKind::InterestWithoutResolution => {
            format!("{v} lifts {a} but not {b}: interest without resolving the final objection")
        }
        VerdictKind::MicroDownOnly => {
            format!("{v} lowers {a} but not {b}: fewer try, as many finish")
        }
        VerdictKind::MacroOnly => {
            format!("{v} moves {b} without moving {a}: the change acts after the micro step")
        }
        VerdictKind::BothUp => format!("{v} lifts {a} and {b}"),
        VerdictKind::BothDown => format!("{v} lowers {a} and {b}"),
        VerdictKind::Opposite => format!(
            "{v} moves {a} and {b} in opposite directions: more interest, fewer orders (or the \
             reverse)"
        ),
        VerdictKind::NoDifference => format!("{v}: no detectable difference on {a} or {b}"),
    }
}

fn power_line(c: &Comparison, r: &ExperimentReport) -> Option<String> {
    let p = c.macro_power?;
    Some(format!(
        "power reached on {}: {} to detect {} (with 80% power it detects {})",
        r.macro_outcome,
        percent(p.power),
        signed(p.mde),
        signed(p.detectable_at_80)
    ))
}

fn srm_line(r: &Readout) -> String {
    let Some(s) = &r.srm else {
        return "sample ratio: one variant only".into();
    };
    let shares: Vec<String> = s.expected_share.iter().map(|x| percent(*x)).collect();
    let users: Vec<String> = s.users.iter().map(|u| u.to_string()).collect();
    format!(
        "sample ratio: {} users against {}: χ² {:.2}, {} — {}",
        users.join(" / "),
        shares.join(" / "),
        s.chi2,
        p_is(s.p_value),
        if s.mismatch {
            format!("MISMATCH (p < {})", s.alpha)
        } else {
            "ok".into()
        }
    )
}

fn header_lines(r: &ExperimentReport) -> Vec<String> {
    let a = &r.assignment;
    let c = &r.collected;
    vec![
        format!(
            "{} · {} … {} · unit: {}, clustered by user · {}",
            r.account,
            r.from,
            r.to,
            r.unit.plural(),
            r.file
        ),
        format!(
            "assignment: {}: {} users ({} in two variants, left out; {} rows without a variant)",
            a.source, a.users, a.crossover_users, a.rows_without_assignment
        ),
        format!(
            "events: {} in the window ({} outside ignored; {} from {} unassigned users ignored); {} malformed rows skipped",
            c.events_in_window,
            c.events_outside,
            c.events_unassigned,
            c.users_unassigned,
            r.input.skipped_total()
        ),
        srm_line(&r.readout),
    ]
}

fn rate_rows(r: &ExperimentReport) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head = vec!["metric".to_string()];
    head.extend(r.readout.variants.iter().map(|v| {
        format!(
            "{} ({} users, {} {})",
            v.name,
            v.users,
            v.units,
            r.unit.plural()
        )
    }));
    let n = r.readout.variants.first().map_or(0, |v| v.metrics.len());
    let rows = (0..n)
        .map(|m| {
            let mut row = vec![r.readout.variants[0].metrics[m].event.to_string()];
            for v in &r.readout.variants {
                let x = &v.metrics[m];
                let step = x
                    .step_rate
                    .map_or(String::new(), |s| format!(" · step {}", percent(s)));
                row.push(format!(
                    "{} [{}, {}]{step}",
                    rate(x.rate),
                    rate(x.ci.lo),
                    rate(x.ci.hi)
                ));
            }
            row
        })
        .collect();
    (head, rows)
}

fn diff_row(m: &MetricDiff) -> Vec<String> {
    let role = match m.role {
        Role::Micro => " (micro)",
        Role::Macro => " (macro)",
        Role::Step => "",
    };
    let p = match m.p_holm {
        Some(h) => format!("{} (Holm {})", p_is(m.p_value), p_value(h)),
        None => format!("{} (unadjusted)", p_is(m.p_value)),
    };
    vec![
        format!("{}{role}", m.event),
        lift(m),
        format!(
            "{} → {}, {} pts [{}, {}]",
            rate(m.control_rate),
            rate(m.treatment_rate),
            points(m.difference),
            points(m.ci.lo),
            points(m.ci.hi)
        ),
        p,
        moved(m.moved).to_string(),
    ]
}

fn segments_line(c: &Comparison) -> String {
    let mut s = format!(
        "adjusted across {} device × channel segments, clustered by user",
        c.segments_used.len() + usize::from(!c.segments_pooled.is_empty())
    );
    if !c.segments_pooled.is_empty() {
        let _ = write!(
            s,
            ", {} small ones pooled into one",
            c.segments_pooled.len()
        );
    }
    if c.users_unmatched > 0 {
        let _ = write!(
            s,
            "; {} users in a segment without the other arm left out",
            c.users_unmatched
        );
    }
    s
}

/// Aligns rows of cells into columns two spaces apart.
fn columns(rows: &[Vec<String>], indent: &str) -> String {
    let width = |s: &str| s.chars().count();
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| width(c))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = indent.to_string();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(widths[i] - width(c) + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The readout as terminal text.
pub fn render_text(r: &ExperimentReport, style: super::terminal::Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.bold("EXPERIMENT"));
    for l in header_lines(r) {
        let _ = writeln!(out, "  {l}");
    }
    let (head, rows) = rate_rows(r);
    let _ = writeln!(
        out,
        "\n{}  (share of {}, {}% interval; step = of the previous step)",
        style.bold("RATES"),
        r.unit.plural(),
        (r.readout.confidence * 100.0).round()
    );
    let mut all = vec![head];
    all.extend(rows);
    out.push_str(&columns(&all, "  "));
    for c in &r.readout.comparisons {
        let _ = writeln!(
            out,
            "\n{}  ({})",
            style.bold(&format!("{} vs {}", c.variant, c.control)),
            segments_line(c)
        );
        let mut rows = vec![vec![
            "metric".into(),
            "lift".into(),
            "rates".into(),
            "test".into(),
            "moved".into(),
        ]];
        rows.extend(c.metrics.iter().map(diff_row));
        out.push_str(&columns(&rows, "  "));
        let v = verdict_sentence(c);
        let v = if c.verdict == VerdictKind::SampleRatioMismatch {
            style.red(&v)
        } else {
            style.bold(&v)
        };
        let _ = writeln!(out, "  VERDICT: {v}.");
        if let Some(p) = power_line(c, r) {
            let _ = writeln!(out, "  {p}.");
        }
    }
    out.trim_end().to_string()
}

fn md_table(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(out, "| {} |", r.join(" | "));
        if i == 0 {
            let _ = writeln!(out, "|{}", "---|".repeat(r.len()));
        }
    }
    out
}

/// The readout as Markdown.
pub fn render_markdown(r: &ExperimentReport) -> String {
    let mut out = String::from("# Experiment readout\n\n");
    for l in header_lines(r) {
        let _ = writeln!(out, "- {l}");
    }
    let (head, rows) = rate_rows(r);
    let _ = writeln!(
        out,
        "\n## Rates\n\nShare of {}, {}% interval (clustered by user); step = of the previous step.\n",
        r.unit.plural(),
        (r.readout.confidence * 100.0).round()
    );
    let mut all = vec![head];
    all.extend(rows);
    out.push_str(&md_table(&all));
    for c in &r.readout.comparisons {
        let _ = writeln!(
            out,
            "\n## {} vs {}\n\n{}.\n",
            c.variant,
            c.control,
            segments_line(c)
        );
        let mut rows = vec![["metric", "lift", "rates", "test", "moved"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()];
        rows.extend(c.metrics.iter().map(diff_row));
        out.push_str(&md_table(&rows));
        let _ = writeln!(out, "\n**Verdict:** {}.", verdict_sentence(c));
        if let Some(p) = power_line(c, r) {
            let _ = writeln!(out, "\n{}.", upper_first(&p));
        }
    }
    out
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_uses_a_real_minus_and_no_sign_for_zero() {
        assert_eq!(signed(0.12), "+12%");
        assert_eq!(signed(-0.012), "−1.2%");
        assert_eq!(signed(0.0), "±0.0%");
        assert_eq!(
            signed_ci(Some(Interval::new(-0.09, 0.08))),
            "[−9.0%, +8.0%]"
        );
        assert_eq!(points(-0.0007), "−0.07");
        assert_eq!(points(0.00001), "0.00");
    }
}
