//! Secrets (access tokens, refresh tokens, developer tokens, client secrets, SMTP passwords):
//! read from an environment variable or a file named in the config, never from the config text,
//! and never printed — [`Secret`]'s `Debug` and `Display` write `***`.
//!
//! Formatting is not enough: a server may echo a token in its error body, a debug log may print a
//! request. So every secret value read is also put in a process-wide registry ([`register`]), and
//! every string that leaves the process (stdout, stderr and logs, report and email documents,
//! snapshot and store files) goes through [`redact`], which replaces each registered value with
//! `***`, whatever the path that carried it there.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};

/// What a registered secret becomes in any output.
pub const MASK: &str = "***";

/// Values shorter than this are not registered: masking every `abc` in a report would garble it,
/// and a secret that short protects nothing.
pub const MIN_REDACTED_CHARS: usize = 4;

/// Every secret value this process has read, in each form it may be printed in (as is,
/// percent-encoded in a URL, escaped in JSON); longest first so that no shorter value masks
/// part of a longer one.
static REGISTRY: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret value so that [`redact`] masks it in every output from now on. Called by
/// [`Secret::new`], by the SMTP credential reader, and for every secret a config names when the
/// config is loaded. Empty and very short values are ignored (see [`MIN_REDACTED_CHARS`]).
pub fn register(value: &str) {
    let v = value.trim();
    if v.chars().count() < MIN_REDACTED_CHARS {
        return;
    }
    let json = serde_json::to_string(v).unwrap_or_default();
    let forms = [
        v.to_string(),
        percent_encode(v),
        json.trim_matches('"').to_string(),
    ];
    let mut r = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    for f in forms {
        if !r.contains(&f) {
            r.push(f);
        }
    }
    r.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret value replaced by [`MASK`]; borrowed (no copy) when it
/// holds none, which is the usual case.
pub fn redact(text: &str) -> Cow<'_, str> {
    let r = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    if !r.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in r.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// A writer that buffers what it is given and writes it [`redact`]ed to the inner writer on
/// flush or drop: one per log line (tracing's `MakeWriter`), so a secret is never split.
pub struct Redacting<W: std::io::Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: std::io::Write> Redacting<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Redacting {
            inner,
            buf: Vec::new(),
        }
    }
}

impl<W: std::io::Write> std::io::Write for Redacting<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let text = String::from_utf8_lossy(&self.buf);
            self.inner.write_all(redact(&text).as_bytes())?;
            self.buf.clear();
        }
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for Redacting<W> {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

/// A value as it appears in a URL query (RFC 3986 unreserved characters kept).
fn percent_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A secret value. Only [`Secret::expose`] gives the text, for the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (trimmed: files usually end with a newline) and [`register`]s it, so that
    /// no output ever shows it.
    pub fn new(value: impl Into<String>) -> Self {
        let v = value.into().trim().to_string();
        register(&v);
        Secret(v)
    }

    /// The secret text, to put in a request header, query or form. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from, as the config names it (`*_env = "VAR"` or `*_file = "path"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable's name.
    Env(String),
    /// A file holding the secret (relative paths resolved against the config's folder).
    File(PathBuf),
}

/// Why a secret could not be read; names the variable or file, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is unset or empty.
    #[error("{what}: environment variable {var} is not set (or empty)")]
    MissingEnv {
        /// What the secret is for (`meta.access_token`).
        what: String,
        /// The variable.
        var: String,
    },
    /// The file could not be read or is empty.
    #[error("{what}: cannot read secret file {path}: {reason}")]
    File {
        /// What the secret is for.
        what: String,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl SecretRef {
    /// Builds a reference from a config's `*_env` / `*_file` pair; `None` when neither is set.
    pub fn from_config(env: Option<&str>, file: Option<&Path>, base: &Path) -> Option<Self> {
        match (env, file) {
            (Some(v), _) if !v.is_empty() => Some(SecretRef::Env(v.to_string())),
            (_, Some(p)) => Some(SecretRef::File(if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            })),
            _ => None,
        }
    }

    /// Reads the secret now; `what` names it in errors.
    pub fn load(&self, what: &str) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(var) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v)),
                _ => Err(SecretError::MissingEnv {
                    what: what.into(),
                    var: var.clone(),
                }),
            },
            SecretRef::File(path) => match std::fs::read_to_string(path) {
                Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v)),
                Ok(_) => Err(SecretError::File {
                    what: what.into(),
                    path: path.clone(),
                    reason: "the file is empty".into(),
                }),
                Err(e) => Err(SecretError::File {
                    what: what.into(),
                    path: path.clone(),
                    reason: e.to_string(),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("EAAB-very-secret\n");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(s.expose(), "EAAB-very-secret");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            token: Secret,
        }
        let h = format!("{:?}", Holder { token: s });
        assert!(!h.contains("EAAB"), "{h}");
    }

    #[test]
    fn registered_values_are_masked_in_every_form() {
        register(r#"reg-test-s3cret/"value"#);
        let Cow::Owned(t) = redact(
            r#"body: reg-test-s3cret/"value; url: ?k=reg-test-s3cret%2F%22value; json: "reg-test-s3cret/\"value""#,
        ) else {
            panic!("nothing masked");
        };
        assert!(!t.contains("s3cret"), "{t}");
        assert_eq!(t.matches(MASK).count(), 3, "{t}");
        register("abc");
        assert!(matches!(redact("abc stays"), Cow::Borrowed("abc stays")));
        let s = Secret::new("  reg-test-from-new \n");
        assert_eq!(redact("x reg-test-from-new y"), "x *** y");
        assert_eq!(s.expose(), "reg-test-from-new");
    }

    #[test]
    fn errors_name_the_source_not_the_value() {
        let r = SecretRef::Env("OPTSIGNAL_TEST_SURELY_UNSET_VAR".into());
        let e = r.load("meta.access_token").unwrap_err().to_string();
        assert!(e.contains("OPTSIGNAL_TEST_SURELY_UNSET_VAR"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tok");
        std::fs::write(&p, "  abc \n").unwrap();
        let r = SecretRef::from_config(None, Some(Path::new("tok")), dir.path()).unwrap();
        assert_eq!(r.load("x").unwrap().expose(), "abc");
    }
}
