//! Just enough MIME reading to check the structure lettre produces: headers (unfolded), nested
//! multiparts by boundary, base64 and quoted-printable bodies.

use base64::Engine;

/// One MIME entity.
#[derive(Debug, Clone)]
pub struct Part {
    /// Headers, names lowercased, values unfolded.
    pub headers: Vec<(String, String)>,
    /// The raw body (still transfer-encoded).
    pub body: String,
    /// Sub-parts of a multipart.
    pub parts: Vec<Part>,
}

impl Part {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The media type, lowercased, without parameters.
    pub fn mime_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("text/plain")
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    /// The decoded body bytes.
    pub fn decoded(&self) -> Vec<u8> {
        match self
            .header("content-transfer-encoding")
            .map(|s| s.to_ascii_lowercase())
            .as_deref()
        {
            Some("base64") => {
                let compact: String = self.body.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("valid base64")
            }
            Some("quoted-printable") => qp(&self.body),
            _ => self.body.clone().into_bytes(),
        }
    }

    /// The decoded body as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.decoded()).expect("utf-8 body")
    }

    /// Depth-first search for a part by media type.
    pub fn find(&self, mime: &str) -> Option<&Part> {
        if self.mime_type() == mime {
            return Some(self);
        }
        self.parts.iter().find_map(|p| p.find(mime))
    }
}

fn qp(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'=' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b'=' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("3F");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|p| {
        let p = p.trim();
        p.strip_prefix("boundary=")
            .map(|b| b.trim_matches('"').to_string())
    })
}

/// Parses a message (CRLF or LF line ends).
pub fn parse(raw: &str) -> Part {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut part = Part {
        headers,
        body: body.to_string(),
        parts: Vec::new(),
    };
    if part.mime_type().starts_with("multipart/") {
        if let Some(b) = part.header("content-type").and_then(boundary) {
            let delim = format!("--{b}");
            let chunks = body.split(&delim).skip(1);
            for chunk in chunks {
                if chunk.starts_with("--") {
                    break;
                }
                let chunk = chunk.strip_prefix('\n').unwrap_or(chunk);
                let chunk = chunk.strip_suffix('\n').unwrap_or(chunk);
                part.parts.push(parse(chunk));
            }
        }
    }
    part
}
