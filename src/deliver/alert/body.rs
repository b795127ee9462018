//! The bodies sent to alert targets: a Slack Block Kit message, and the generic webhook's
//! documented JSON (`docs/json-schema.md`, "Alert webhook body"). Built from data only; the
//! webhook URL never enters a body.

use serde::Serialize;
use serde_json::{json, Value};

use super::finding::Finding;

/// Version of the generic webhook body; fields are only added within a version.
pub const WEBHOOK_SCHEMA: &str = "optsignal.alert/1";

/// Slack's limits: header text, section text, context element text (characters).
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const CONTEXT_MAX: usize = 2000;

/// One account's new findings for one target, as an alert.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// Body version ([`WEBHOOK_SCHEMA`]).
    pub schema: &'static str,
    /// Account name, exact.
    pub account: String,
    /// The report's ISO week.
    pub week: String,
    /// The target's name in the config.
    pub target: String,
    /// The most severe finding's message.
    pub headline: String,
    /// Link to the report (`alerts.report_url`), when configured.
    pub report_url: Option<String>,
    /// The findings not sent to this target before, most severe first.
    pub findings: Vec<Finding>,
    /// The tool that sent it.
    pub tool: crate::report::Tool,
}

/// The generic webhook body.
pub fn webhook(alert: &Alert) -> Value {
    serde_json::to_value(alert).unwrap_or(Value::Null)
}

/// Escapes text for Slack `mrkdwn` (and the notification fallback): `&`, `<` and `>` would
/// otherwise start entities, links or mentions (`<!channel>`) taken from the data.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The Slack message: a header (account and week), a section with the headline finding (and
/// the others as a list), and a context line with the week, the account and the report link
/// when there is one. `text` is the notification fallback.
pub fn slack(alert: &Alert) -> Value {
    let account = slack_escape(&alert.account);
    let header = cut(
        &format!("optsignal · {} · {}", alert.account, alert.week),
        HEADER_MAX,
    );
    let mut section = format!("*{}*", slack_escape(&alert.headline));
    let rest: Vec<String> = alert.findings[1.min(alert.findings.len())..]
        .iter()
        .map(|f| format!("• {}", slack_escape(&f.message)))
        .collect();
    if !rest.is_empty() {
        section.push_str("\n\nAlso this week:\n");
        section.push_str(&rest.join("\n"));
    }
    let link = alert.report_url.as_ref().map(|u| {
        format!(
            "<{}|Open the report>",
            u.replace('|', "%7C").replace('>', "%3E")
        )
    });
    if let Some(l) = &link {
        // The link goes last, and always survives the cut.
        let room = SECTION_MAX.saturating_sub(l.chars().count() + 2);
        section = format!("{}\n\n{l}", cut(&section, room));
    } else {
        section = cut(&section, SECTION_MAX);
    }
    let context = cut(
        &format!(
            "{} · account {account} · {}",
            alert.week,
            crate::format::count(alert.findings.len() as u64, "finding", "findings")
        ),
        CONTEXT_MAX,
    );
    json!({
        "text": cut(&format!("optsignal · {account} · {}: {}", alert.week, slack_escape(&alert.headline)), SECTION_MAX),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": false}},
            {"type": "section", "text": {"type": "mrkdwn", "text": section}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::alerts::FindingKind;

    fn alert(url: Option<&str>, n: usize) -> Alert {
        let findings: Vec<Finding> = (0..n)
            .map(|i| Finding {
                id: format!("broken_surge e{i}"),
                kind: "broken_surge",
                event: Some(format!("e{i}")),
                platform: None,
                previous: None,
                message: format!(
                    "e{i} broken_surge: p < 1e-16 & <!channel> {}",
                    "x".repeat(200)
                ),
                detail: None,
                what: FindingKind::RecommendationChange,
            })
            .collect();
        Alert {
            schema: WEBHOOK_SCHEMA,
            account: "Shop <A> & co".into(),
            week: "2026-W46".into(),
            target: "t".into(),
            headline: findings[0].message.clone(),
            report_url: url.map(str::to_string),
            findings,
            tool: crate::report::Tool {
                name: "optsignal",
                version: "0",
            },
        }
    }

    #[test]
    fn slack_blocks_escape_the_data_and_keep_within_limits() {
        let v = slack(&alert(Some("https://r.example/a|b"), 40));
        let blocks = v["blocks"].as_array().unwrap();
        let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "section", "context"]);
        let section = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(section.chars().count() <= SECTION_MAX);
        assert!(
            section.ends_with("<https://r.example/a%7Cb|Open the report>"),
            "{section}"
        );
        assert!(!section.contains("<!channel>") && section.contains("&lt;!channel&gt;"));
        assert!(blocks[0]["text"]["text"].as_str().unwrap().chars().count() <= HEADER_MAX);
        let ctx = blocks[2]["elements"][0]["text"].as_str().unwrap();
        assert_eq!(
            ctx,
            "2026-W46 · account Shop &lt;A&gt; &amp; co · 40 findings"
        );
        let no_link = slack(&alert(None, 1));
        let s = no_link["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(!s.contains("Open the report") && !s.contains("Also"), "{s}");
    }

    #[test]
    fn the_webhook_body_keeps_names_exact() {
        let v = webhook(&alert(None, 2));
        assert_eq!(v["schema"], WEBHOOK_SCHEMA);
        assert_eq!(v["account"], "Shop <A> & co");
        assert_eq!(v["findings"][1]["id"], "broken_surge e1");
        assert!(v["findings"][0].get("what").is_none());
        assert!(v["report_url"].is_null());
    }
}
