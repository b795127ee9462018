//! Registers every secret a validated config names (SMTP password, API tokens, service-account
//! private keys) with [`crate::secret::register`] as soon as the config is loaded, so
//! that outputs are redacted even on paths that fail before the secret is used.

use std::path::Path;

use super::{SecretSource, Settings};
use crate::secret::{register, SecretRef};

/// Reads each secret `settings` names, where it can, and registers its value. A secret that
/// cannot be read is skipped here: the step that needs it reports that, naming the variable or
/// file.
pub fn register_configured(settings: &Settings) {
    if let Some(auth) = settings.email.as_ref().and_then(|e| e.auth.as_ref()) {
        register_source(&auth.password);
    }
    if let Some(a) = &settings.alerts {
        super::alerts::register_configured(a);
    }
    let r = &settings.remote;
    let mut refs: Vec<&SecretRef> = Vec::new();
    if let Some(m) = &r.meta {
        refs.push(&m.token);
    }
    if let Some(g) = &r.google_ads {
        refs.extend([&g.developer_token, &g.client_secret, &g.refresh_token]);
    }
    for s in refs {
        // Loading registers the value (`Secret::new`); a failure is reported where it is used.
        let _ = s.load("");
    }
    if let Some(g) = &r.ga4 {
        register_key_file(&g.key_file);
    }
    if let Some(b) = &r.bigquery {
        register_key_file(&b.key_file);
    }
}

/// Registers an SMTP credential read from an environment variable or a file.
pub fn register_source(s: &SecretSource) {
    match s {
        SecretSource::Literal(_) => {}
        SecretSource::Env(var) => register(&std::env::var(var).unwrap_or_default()),
        SecretSource::File(p) => register(&std::fs::read_to_string(p).unwrap_or_default()),
    }
}

/// Registers the `private_key` of a Google service-account key file (JSON).
fn register_key_file(path: &Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let key = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("private_key")?.as_str().map(str::to_string));
    if let Some(k) = key {
        register(&k);
        // The base64 body's lines, in case a message quotes one of them.
        for line in k.lines().filter(|l| !l.starts_with("-----")) {
            register(line);
        }
    }
}

/// A TOML parser's message without the source excerpt it quotes: the offending line may hold a
/// secret pasted where it does not belong (`password = hunter2`). Keeps the line, column and
/// message, and names the key of that line (read from `path`) so the fault is still easy to find.
pub fn parse_message(path: &Path, message: &str) -> String {
    let mut lines = message.lines();
    let Some(first) = lines.next().filter(|l| l.starts_with("TOML parse error")) else {
        return crate::secret::redact(message).into_owned();
    };
    let in_path = format!("in {}", path.display());
    let what: Vec<&str> = lines
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != in_path && !is_excerpt(l))
        .collect();
    let key = line_number(first)
        .and_then(|n| {
            std::fs::read_to_string(path)
                .ok()?
                .lines()
                .nth(n - 1)
                .map(key_of)
        })
        .flatten()
        .map_or(String::new(), |k| format!(" (key `{k}`)"));
    let what = crate::secret::redact(&what.join("; ")).into_owned();
    format!("{first}{key}: {what} (the line is not shown: it may hold a secret)")
}

/// Whether a line is part of a quoted excerpt (`3 | text` or `  |   ^^^`).
fn is_excerpt(l: &str) -> bool {
    l.split_once('|')
        .is_some_and(|(gutter, _)| gutter.trim().chars().all(|c| c.is_ascii_digit()))
}

/// `N` from "TOML parse error at line N, column C".
fn line_number(first: &str) -> Option<usize> {
    let rest = first.split("line ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

/// The bare key of a `key = value` line, when it looks like one.
fn key_of(line: &str) -> Option<String> {
    let (k, _) = line.split_once('=')?;
    let k = k.trim();
    let ok = !k.is_empty()
        && k.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '"'));
    ok.then(|| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_parse_errors_keep_position_and_key_but_never_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(
            &p,
            "[email]\nhost = \"x\"\npassword = hunter2-very-secret\n",
        )
        .unwrap();
        let msg = format!(
            "TOML parse error at line 3, column 12\n  |\n3 | password = hunter2-very-secret\n  |            ^^^^^^^^^^^^^^^^^^^\nstring values must be quoted, expected literal string\n in {}",
            p.display()
        );
        let m = parse_message(&p, &msg);
        assert_eq!(
            m,
            "TOML parse error at line 3, column 12 (key `password`): string values must be quoted, expected literal string (the line is not shown: it may hold a secret)"
        );
        assert_eq!(
            parse_message(&p, "config file not found"),
            "config file not found"
        );
    }
}
