//! Terminal sections beyond the bid: proxy values, audience seeds, the test plan and the funnel
//! diagnosis (also rendered alone by `optsignal funnel` and `optsignal test-plan`).

use std::fmt::Write;

use super::layout::{add_row, escape};
use super::{opt, right, table, Style};
use crate::format::{amount, percent};
use crate::funnel::FunnelReport;
use crate::seeds::Seeds;
use crate::testplan::{TestPlan, Tracking};
use crate::value::ProxyValues;

/// PROXY VALUES: precision × AOV with its interval, and whether to use it.
pub fn values(o: &mut String, v: &ProxyValues, style: Style, pct_conf: f64) {
    let aov = v.site_aov.map_or("–".into(), |a| format!("{a:.2}"));
    style.title(
        o,
        &format!("PROXY VALUES (value-based bidding: precision × order value; site AOV {aov})"),
    );
    let mut t = table(
        &[
            "event",
            "precision",
            "AOV",
            "value",
            &format!("{pct_conf}% CI"),
            "send",
            "note",
        ],
        style,
    );
    for p in &v.proxies {
        add_row(
            &mut t,
            vec![
                p.event.to_string(),
                opt(p.precision, percent),
                opt(p.aov, |x| format!("{x:.2}")),
                opt(p.value, |x| format!("{x:.2}")),
                p.value_ci
                    .map_or("–".into(), |c| format!("{:.2}–{:.2}", c.lo, c.hi)),
                opt(p.conversion_value, |x| format!("{x:.2}")),
                if p.usable {
                    String::new()
                } else {
                    p.note.clone()
                },
            ],
        );
    }
    right(&mut t, 1);
    if let Some(c) = t.column_mut(6) {
        c.set_cell_alignment(comfy_table::CellAlignment::Left);
    }
    super::layout::fit(&mut t);
    let _ = writeln!(o, "{t}");
}

/// AUDIENCE SEEDS: size, density and ranks.
pub fn seeds(o: &mut String, s: &Seeds, style: Style, pct_conf: f64) {
    style.title(o, &format!(
            "AUDIENCE SEEDS (users with the event; density = lift over all visitors; last {} complete weeks)",
            s.recent_weeks
        ));
    let mut t = table(
        &[
            "event",
            "users/week",
            "users (sum)",
            "density",
            &format!("{pct_conf}% CI"),
            "retargeting",
            "lookalike",
            "note",
        ],
        style,
    );
    let rank = |r: Option<u32>| r.map_or("–".into(), |r| format!("#{r}"));
    for x in &s.seeds {
        add_row(
            &mut t,
            vec![
                x.event.to_string(),
                amount(x.recent_weekly_users),
                x.recent_users.to_string(),
                opt(x.density, |d| format!("{d:.2}×")),
                x.density_ci
                    .map_or("–".into(), |c| format!("{:.2}–{:.2}", c.lo, c.hi)),
                rank(x.retargeting_rank),
                rank(x.lookalike_rank),
                x.note.clone().unwrap_or_default(),
            ],
        );
    }
    right(&mut t, 1);
    if let Some(c) = t.column_mut(7) {
        c.set_cell_alignment(comfy_table::CellAlignment::Left);
    }
    super::layout::fit(&mut t);
    let _ = writeln!(o, "{t}");
    let list = |v: &[crate::types::EventName]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" > ")
        }
    };
    let retargeting = format!(
        "{}  (at least {} users)",
        escape(&list(&s.retargeting)),
        s.min_retargeting_users
    );
    style.line(o, "  retargeting: ", "               ", &retargeting);
    let lookalike = format!(
        "{}  (at least {} users)",
        escape(&list(&s.lookalike)),
        s.min_lookalike_users
    );
    style.line(o, "  lookalike:   ", "               ", &lookalike);
    for c in &s.comparisons {
        let l = crate::report::audience::lines(c);
        let first = super::layout::escape_text(&l[0]);
        style.line(o, "  compared: ", "    ", &first);
        for x in &l[1..] {
            style.line(o, "    ", "      ", &super::layout::escape_text(x));
        }
    }
}

/// TEST METRICS: weeks per metric and how each tracks purchase.
pub fn test_plan(o: &mut String, p: &TestPlan, style: Style, unit_plural: &str) {
    style.title(o, &format!(
            "TEST METRICS (A/B test, {} arms, +{:.0}% relative, α {} per comparison, power {:.0}%; {} {unit_plural}/week)",
            p.params.arms,
            p.params.mde * 100.0,
            crate::format::p_value(p.alpha_per_comparison),
            p.params.power * 100.0,
            amount(p.weekly_units)
        ));
    let mut t = table(
        &[
            "metric",
            "base rate",
            "target",
            &format!("{unit_plural}/arm"),
            "weeks",
            "tracks purchase",
            "lift",
            "odds ratio",
            "recall",
        ],
        style,
    );
    for m in &p.metrics {
        let tracking = match m.tracking {
            Tracking::Outcome => "(outcome)",
            Tracking::Strong => "strong",
            Tracking::Weak => "weak",
            Tracking::Broken => "broken (flagged)",
        };
        add_row(
            &mut t,
            vec![
                m.event.to_string(),
                opt(m.base_rate, percent),
                opt(m.target_rate, percent),
                opt(m.units_per_arm, |n| format!("{:.0}", n.ceil())),
                opt(m.weeks, |w| format!("{w:.1}")),
                tracking.to_string(),
                opt(m.lift, |x| format!("{x:.2}")),
                opt(m.odds_ratio, |x| format!("{x:.1}")),
                opt(m.recall, percent),
            ],
        );
    }
    right(&mut t, 1);
    super::layout::fit(&mut t);
    let _ = writeln!(o, "{t}");
    style.line(o, "  ", "  ", &escape(&p.message));
}

/// FUNNEL: overall step rates per week, then what moved (mix or rate).
pub fn funnel(o: &mut String, f: &FunnelReport, style: Style, segments: bool) {
    style.title(
        o,
        "FUNNEL (step rate = reached this step / reached the previous one; * = partial week)",
    );
    let mut head: Vec<String> = vec!["week".into(), "units".into()];
    head.extend(f.steps.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let rows = |weeks: &[crate::funnel::WeekFunnel]| {
        let mut t = table(&refs, style);
        for w in weeks {
            let mut row = vec![
                format!("{}{}", w.week, if w.complete { "" } else { "*" }),
                w.units.to_string(),
            ];
            row.extend(w.steps.iter().map(|s| opt(s.rate, percent)));
            add_row(&mut t, row);
        }
        right(&mut t, 1);
        super::layout::fit(&mut t);
        t
    };
    let _ = writeln!(o, "{}", rows(&f.overall));
    if segments {
        if let Some(last) = f.overall.iter().rposition(|w| w.units > 0) {
            let _ = writeln!(
                o,
                "\n{}",
                style.bold(&format!("FUNNEL BY SEGMENT ({})", f.overall[last].week))
            );
            let mut head: Vec<String> = vec!["segment".into(), "units".into()];
            head.extend(f.steps.iter().map(|s| s.to_string()));
            let refs: Vec<&str> = head.iter().map(String::as_str).collect();
            let mut t = table(&refs, style);
            for s in &f.by_segment {
                if let Some(w) = s.weeks.get(last) {
                    let mut row = vec![format!("{} {}", s.dimension, s.level), w.units.to_string()];
                    row.extend(w.steps.iter().map(|x| opt(x.rate, percent)));
                    add_row(&mut t, row);
                }
            }
            right(&mut t, 1);
            super::layout::fit(&mut t);
            let _ = writeln!(o, "{t}");
        }
    }
    style.title(
        o,
        &format!(
            "WHAT MOVED (week over week; mix vs rate over {})",
            f.decomposed_over
        ),
    );
    let mut any = false;
    for c in f.notable() {
        any = true;
        style.line(o, "  ", "    ", &escape(&c.message));
    }
    if !any {
        let _ = writeln!(o, "  no step rate moved beyond noise");
    }
}
