//! Secrets (access tokens, refresh tokens, developer tokens, client secrets): read from an
//! environment variable or a file named in the config, never from the config text, and never
//! printed — [`Secret`]'s `Debug` and `Display` write `***`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value. Only [`Secret::expose`] gives the text, for the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (trimmed: files usually end with a newline).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().trim().to_string())
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
