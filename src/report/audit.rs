//! Renderers of an [`Audit`]: the roll-up first (account × platform), then each account's
//! findings and recommendations. Terminal table, Markdown and email-safe HTML (a minijinja
//! template, `templates/audit.html.j2`); JSON is the serde form.

use std::fmt::Write;

use super::terminal::layout::{self, add_row, escape};
use super::terminal::Style;
use crate::audit::{Audit, Severity};
use crate::format::percent;

/// The roll-up rows as text cells: account, platform, today, recommended, change, broken
/// proxies, learning-limited risk, severity.
fn rows(a: &Audit) -> Vec<[String; 8]> {
    let mut out = Vec::new();
    for acc in &a.accounts {
        if acc.status == "failed" {
            // The reason is long; it is printed in the account's section.
            out.push([
                acc.account.clone(),
                "–".into(),
                "–".into(),
                "–".into(),
                "–".into(),
                "–".into(),
                "–".into(),
                "FAILED (see below)".into(),
            ]);
            continue;
        }
        for r in &acc.platforms {
            let opt = |e: &Option<crate::types::EventName>| {
                e.as_ref().map_or("–".to_string(), |e| e.to_string())
            };
            out.push([
                acc.account.clone(),
                r.platform.id().to_string(),
                opt(&r.optimizing_today),
                opt(&r.recommended),
                match r.change_needed {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "?".into(),
                },
                if r.broken_proxies.is_empty() {
                    "–".into()
                } else {
                    r.broken_proxies
                        .iter()
                        .map(|e| e.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                r.learning_limited_risk.map_or("–".into(), percent),
                r.severity.name().to_string(),
            ]);
        }
    }
    out
}

const HEADER: [&str; 8] = [
    "account",
    "platform",
    "optimizing today",
    "recommended",
    "change?",
    "broken proxies",
    "learning-limited risk",
    "severity",
];

fn summary(a: &Audit) -> String {
    let worst = a.worst.map_or("none", Severity::name);
    format!(
        "{} audited, {} failed; worst finding: {worst}",
        crate::format::count(a.accounts.len() as u64, "account", "accounts"),
        a.failed
    )
}

/// The audit for a terminal.
pub fn render_table(a: &Audit, style: Style) -> String {
    let mut o = String::new();
    let head = format!(
        "{} — audit of {}",
        style.bold("optsignal"),
        escape(&a.config)
    );
    style.line(&mut o, "", "  ", &head);
    style.line(&mut o, "", "  ", &summary(a));
    o.push('\n');
    let mut t = layout::table(&HEADER, style.width());
    for r in rows(a) {
        add_row(&mut t, r);
    }
    layout::fit(&mut t);
    let _ = writeln!(o, "{t}");
    for acc in &a.accounts {
        let _ = writeln!(o, "\n{}", style.bold(&acc.account.to_uppercase()));
        if let Some(e) = &acc.error {
            let text = format!("{} {}", style.red("failed:"), escape(e));
            style.line(&mut o, "  ", "    ", &text);
            continue;
        }
        for f in &acc.findings {
            let tag = match f.severity {
                Severity::Critical => style.red("critical"),
                Severity::Warning => style.bold("warning"),
                Severity::Info => "info".to_string(),
            };
            style.line(
                &mut o,
                "  ",
                "    ",
                &format!("[{tag}] {}", escape(&f.message)),
            );
        }
        if let Some(rep) = &acc.report {
            for rec in &rep.recommendations {
                let text = format!("{}: {}", rec.platform.display_name(), escape(&rec.reason));
                style.line(&mut o, "  ", "    ", &text);
                if let Some(x) = super::view::not_eligible(rec) {
                    style.line(
                        &mut o,
                        "    ",
                        "      ",
                        &escape(&format!("not eligible: {x}")),
                    );
                }
            }
        }
    }
    layout::finish(o)
}

/// The audit as Markdown (for tickets, wikis and email bodies).
pub fn render_markdown(a: &Audit) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# optsignal audit\n\n`{}` — {}\n", a.config, summary(a));
    let _ = writeln!(o, "| {} |", HEADER.join(" | "));
    let _ = writeln!(o, "|{}", "---|".repeat(HEADER.len()));
    for r in rows(a) {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    for acc in &a.accounts {
        let _ = writeln!(o, "\n## {}\n", acc.account);
        if let Some(e) = &acc.error {
            let _ = writeln!(o, "**Failed:** {e}");
            continue;
        }
        for f in &acc.findings {
            let _ = writeln!(o, "- **{}** {}", f.severity.name(), f.message);
        }
        if let Some(rep) = &acc.report {
            let _ = writeln!(o);
            for rec in &rep.recommendations {
                let _ = writeln!(o, "- *{}*: {}", rec.platform.display_name(), rec.reason);
            }
        }
    }
    crate::secret::redact(&o).into_owned()
}

/// The audit's HTML template, compiled into the binary.
const HTML_TEMPLATE: &str = include_str!("../../templates/audit.html.j2");

/// The ISO week an audit speaks for: the latest week among its accounts' reports.
pub fn audit_week(a: &Audit) -> Option<crate::types::IsoWeek> {
    a.accounts
        .iter()
        .filter_map(|acc| acc.report.as_ref().and_then(super::view::report_week))
        .max()
}

/// The audit as email-safe HTML (inline CSS, tables, no scripts).
pub fn render_html(a: &Audit) -> Result<String, super::document::RenderError> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    let err = |e: minijinja::Error| super::document::RenderError {
        template: "audit.html".into(),
        message: e.to_string(),
    };
    env.add_template("audit.html", HTML_TEMPLATE).map_err(err)?;
    let rows: Vec<minijinja::Value> = rows(a)
        .into_iter()
        .map(|r| {
            let severity = if r[7].starts_with("FAILED") {
                "failed".to_string()
            } else {
                r[7].clone()
            };
            minijinja::context! { cells => r[..7].to_vec(), severity => severity }
        })
        .collect();
    let accounts: Vec<minijinja::Value> = a
        .accounts
        .iter()
        .map(|acc| {
            let findings: Vec<minijinja::Value> = acc
                .findings
                .iter()
                .map(|f| minijinja::context! { severity => f.severity.name(), message => f.message.clone() })
                .collect();
            let reasons: Vec<minijinja::Value> = acc
                .report
                .iter()
                .flat_map(|r| r.recommendations.iter())
                .map(|r| minijinja::context! { platform => r.platform.display_name(), reason => r.reason.clone() })
                .collect();
            minijinja::context! {
                name => acc.account.clone(),
                severity => acc.severity.map_or("failed", Severity::name),
                error => acc.error.clone(),
                findings => findings,
                reasons => reasons,
            }
        })
        .collect();
    let tmpl = env.get_template("audit.html").map_err(err)?;
    tmpl.render(minijinja::context! {
        summary => summary(a),
        config => a.config.clone(),
        week => audit_week(a).map(|w| w.to_string()),
        header => HEADER[..7].to_vec(),
        rows => rows,
        accounts => accounts,
        version => env!("CARGO_PKG_VERSION"),
    })
    .map(|t| crate::secret::redact(&t).into_owned())
    .map_err(err)
}
