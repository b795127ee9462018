//! The weekly report as one MIME message:
//!
//! ```text
//! multipart/alternative
//! ├── text/plain                 the plain-text report
//! └── multipart/related
//!     ├── text/html              the HTML report, <img src="cid:weekly-chart@optsignal">
//!     └── image/png (inline)     the chart, Content-ID <weekly-chart@optsignal>
//! ```
//!
//! Without a chart (no complete week) the HTML part stands alone.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::Message;

use super::DeliverError;
use crate::config::EmailSettings;

/// The chart's Content-ID (without angle brackets); the HTML refers to it as `cid:…`.
pub const CHART_CID: &str = "weekly-chart@optsignal";

/// The rendered parts of one email.
#[derive(Debug, Clone)]
pub struct EmailParts {
    /// Subject line.
    pub subject: String,
    /// Plain-text alternative.
    pub text: String,
    /// HTML alternative.
    pub html: String,
    /// The chart PNG, when there is one.
    pub chart_png: Option<Vec<u8>>,
}

/// Builds the message with a fresh `Message-ID` and the current date.
pub fn build(email: &EmailSettings, parts: EmailParts) -> Result<Message, DeliverError> {
    let mut b = Message::builder()
        .from(email.from.clone())
        .subject(parts.subject)
        .message_id(None)
        .date_now()
        .user_agent(format!("optsignal {}", env!("CARGO_PKG_VERSION")));
    for to in &email.to {
        b = b.to(to.clone());
    }
    let text = SinglePart::plain(parts.text);
    let html = SinglePart::html(parts.html);
    let body = match parts.chart_png {
        Some(png) => MultiPart::alternative().singlepart(text).multipart(
            MultiPart::related().singlepart(html).singlepart(
                Attachment::new_inline_with_name(CHART_CID.into(), "weekly-chart.png".into()).body(
                    png,
                    ContentType::parse("image/png").map_err(|e| {
                        DeliverError::Message(format!("image/png content type: {e}"))
                    })?,
                ),
            ),
        ),
        None => MultiPart::alternative().singlepart(text).singlepart(html),
    };
    b.multipart(body)
        .map_err(|e| DeliverError::Message(e.to_string()))
}
