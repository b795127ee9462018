//! The weekly report as a document: Markdown, email-safe HTML and plain text, all rendered from
//! one [`ReportView`] through minijinja templates kept in `templates/` (compiled into the binary
//! with `include_str!`, so the installed tool needs no template files).

pub use crate::error::RenderError;
use minijinja::{AutoEscape, Environment};

use super::view::ReportView;

/// The Markdown template.
pub const MARKDOWN_TEMPLATE: &str = include_str!("../../templates/report.md.j2");
/// The HTML email template: inline CSS, layout tables, no scripts.
pub const HTML_TEMPLATE: &str = include_str!("../../templates/report.html.j2");
/// The plain-text template (the email's text alternative).
pub const TEXT_TEMPLATE: &str = include_str!("../../templates/report.txt.j2");

/// A document format of the weekly report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    /// GitHub-flavoured Markdown.
    Markdown,
    /// Email-safe HTML.
    Html,
    /// Plain text.
    Text,
}

impl DocFormat {
    /// The file extension written by `report --out`.
    pub fn extension(self) -> &'static str {
        match self {
            DocFormat::Markdown => "md",
            DocFormat::Html => "html",
            DocFormat::Text => "txt",
        }
    }

    fn template_name(self) -> &'static str {
        match self {
            DocFormat::Markdown => "report.md",
            DocFormat::Html => "report.html",
            DocFormat::Text => "report.txt",
        }
    }
}

fn render_error(template: &str, e: minijinja::Error) -> RenderError {
    let mut message = e.to_string();
    if let Some(line) = e.line() {
        message = format!("line {line}: {message}");
    }
    RenderError {
        template: template.to_string(),
        message,
    }
}

/// Escapes a Markdown table cell: a pipe would end the cell, a newline the row.
fn mdcell(s: String) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("mdcell", mdcell);
    for (name, src) in [
        ("report.md", MARKDOWN_TEMPLATE),
        ("report.html", HTML_TEMPLATE),
        ("report.txt", TEXT_TEMPLATE),
    ] {
        env.add_template(name, src)
            .map_err(|e| render_error(name, e))?;
    }
    Ok(env)
}

/// Renders the report view in one format.
pub fn render(view: &ReportView, format: DocFormat) -> Result<String, RenderError> {
    let env = environment()?;
    let name = format.template_name();
    let tmpl = env.get_template(name).map_err(|e| render_error(name, e))?;
    let text = tmpl.render(view).map_err(|e| render_error(name, e))?;
    // Files, emails and stdout all start here: no configured secret leaves in a document.
    Ok(crate::secret::redact(&text).into_owned())
}

/// Renders a one-line template (the email subject) against the view: `{{ account }}`,
/// `{{ week }}`, `{{ headline }}` and every other [`ReportView`] field are available.
pub fn render_line(template: &str, view: &ReportView) -> Result<String, RenderError> {
    let env = Environment::new();
    let out = env
        .render_str(template, view)
        .map_err(|e| render_error("email.subject", e))?;
    let line = out.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(crate::secret::redact(&line).into_owned())
}
