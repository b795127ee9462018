//! SMTP delivery with lettre's blocking transport (no async runtime): STARTTLS, implicit TLS or
//! plain, optional authentication, and failures sorted into what a person can act on.
//!
//! Credentials are read from their source (environment variable or file) at send time and go
//! only to lettre; errors name the variable or file, never the value. `email.ca_file` adds
//! root certificates to the platform's trust store for the server; STARTTLS is required, never
//! opportunistic.

use std::io::ErrorKind;
use std::path::Path;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use super::DeliverError;
use crate::config::{EmailSettings, SecretSource, SmtpSecurity};

/// Reads a credential from its source. The value is never part of an error.
fn read_secret(what: &str, s: &SecretSource) -> Result<String, DeliverError> {
    match s {
        SecretSource::Literal(v) => Ok(v.clone()),
        SecretSource::Env(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            Ok(_) => Err(DeliverError::Secret(format!(
                "the SMTP {what} variable {var} is empty"
            ))),
            Err(_) => Err(DeliverError::Secret(format!(
                "the SMTP {what} variable {var} is not set (cron runs with a minimal environment: set it in the crontab or use password_file)"
            ))),
        },
        SecretSource::File(path) => match std::fs::read_to_string(path) {
            Ok(v) => {
                let v = v.trim_end_matches(['\n', '\r']).to_string();
                if v.is_empty() {
                    Err(DeliverError::Secret(format!(
                        "the SMTP {what} file {} is empty",
                        path.display()
                    )))
                } else {
                    Ok(v)
                }
            }
            Err(e) => Err(DeliverError::Secret(format!(
                "cannot read the SMTP {what} file {}: {e}",
                path.display()
            ))),
        },
    }
}

/// Reads `email.ca_file`: one or more PEM certificates to trust besides the platform's roots.
/// Errors name the file.
fn read_ca_file(path: &Path) -> Result<Certificate, DeliverError> {
    let err = |detail: String| DeliverError::CaFile {
        path: path.to_path_buf(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| err(format!("cannot read it: {e}")))?;
    // lettre accepts a file without any certificate block (and trusts nothing more): say so.
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(err(
            "no PEM certificate in it (expected \"-----BEGIN CERTIFICATE-----\" blocks)".into(),
        ));
    }
    Certificate::from_pem(&pem).map_err(|e| err(format!("not a valid PEM certificate file: {e}")))
}

fn transport(email: &EmailSettings) -> Result<SmtpTransport, DeliverError> {
    let host = email.host.as_str();
    let ca = match (&email.ca_file, email.security) {
        (Some(path), SmtpSecurity::StartTls | SmtpSecurity::Tls) => Some(read_ca_file(path)?),
        _ => None,
    };
    let tls_params = || {
        let mut b = TlsParameters::builder(host.to_string());
        if let Some(cert) = ca.clone() {
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().map_err(|e| match &email.ca_file {
            // Only the extra roots can make an otherwise working set-up fail here.
            Some(path) => DeliverError::CaFile {
                path: path.clone(),
                detail: format!("its certificate(s) cannot be used as trust roots: {e}"),
            },
            None => DeliverError::Connection {
                host: host.to_string(),
                port: email.port,
                detail: format!("TLS set-up failed: {e}"),
            },
        })
    };
    let builder = match email.security {
        SmtpSecurity::StartTls => {
            SmtpTransport::builder_dangerous(host).tls(Tls::Required(tls_params()?))
        }
        SmtpSecurity::Tls => {
            SmtpTransport::builder_dangerous(host).tls(Tls::Wrapper(tls_params()?))
        }
        SmtpSecurity::Plain => SmtpTransport::builder_dangerous(host).tls(Tls::None),
    };
    let mut builder = builder.port(email.port).timeout(Some(email.timeout));
    if let Some(auth) = &email.auth {
        let user = read_secret("user name", &auth.username)?;
        let pass = read_secret("password", &auth.password)?;
        crate::secret::register(&pass);
        builder = builder.credentials(Credentials::new(user, pass));
    }
    Ok(builder.build())
}

/// Sorts a lettre error into auth / refused / connection, keeping the server's words.
fn classify(email: &EmailSettings, e: lettre::transport::smtp::Error) -> DeliverError {
    let host = email.host.clone();
    let port = email.port;
    let detail = e.to_string();
    let code: Option<u16> = e.status().and_then(|c| c.to_string().parse().ok());
    let io = io_kind(&e);
    match code {
        Some(c @ (530 | 534 | 535 | 538 | 454)) => DeliverError::Auth {
            host,
            port,
            detail: format!("{c}: {detail}"),
        },
        Some(c) if e.is_transient() => DeliverError::Transient {
            host,
            port,
            code: c,
            detail,
        },
        Some(c) => DeliverError::Refused {
            host,
            port,
            code: c,
            detail,
        },
        None if e.is_client() && detail.contains("authentication") => {
            DeliverError::Auth { host, port, detail }
        }
        // A socket read timeout is `WouldBlock` on Unix ("Resource temporarily unavailable").
        None if e.is_timeout()
            || matches!(io, Some(ErrorKind::TimedOut | ErrorKind::WouldBlock)) =>
        {
            DeliverError::Timeout {
                host,
                port,
                secs: email.timeout.as_secs(),
            }
        }
        None if dropped(&e, io) => DeliverError::Dropped { host, port, detail },
        None => DeliverError::Connection {
            host,
            port,
            detail: if e.is_timeout() {
                format!("timed out after {} s: {detail}", email.timeout.as_secs())
            } else if detail.contains("STARTTLS is not supported") {
                format!("{detail}: security = \"starttls\" requires it and never falls back to an unencrypted session (use \"tls\" for port 465, or \"plain\" only for a local relay)")
            } else if e.is_tls() || tls_words(&detail) {
                let mut d = format!("TLS failed: {detail}");
                if detail.contains("certificate") {
                    match &email.ca_file {
                        None => d.push_str(" (the server's certificate is not trusted: if a private or company CA signed it, set email.ca_file to that CA's PEM file)"),
                        Some(p) => d.push_str(&format!(" (the server's certificate is trusted neither by the platform nor by email.ca_file {})", p.display())),
                    }
                }
                d
            } else {
                detail
            },
        },
    }
}

/// The kind of the I/O error inside a lettre error, if there is one.
fn io_kind(e: &lettre::transport::smtp::Error) -> Option<ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// Whether an established session was cut: the server closed it before its reply (lettre:
/// "incomplete response"), or the connection was reset or broken. A refused connection is not
/// this: it never opened.
fn dropped(e: &lettre::transport::smtp::Error, io: Option<ErrorKind>) -> bool {
    (e.is_response() && e.to_string().contains("incomplete"))
        || matches!(
            io,
            Some(
                ErrorKind::UnexpectedEof
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
            )
        )
}

/// Whether an error that lettre reports as a network failure is really the TLS handshake (the
/// rustls error travels inside an I/O error).
fn tls_words(detail: &str) -> bool {
    ["certificate", "handshake", "tls", "TLS"]
        .iter()
        .any(|w| detail.contains(w))
}

/// Sends one message; `Ok` means the server accepted it for every recipient.
pub fn send(email: &EmailSettings, message: &Message) -> Result<(), DeliverError> {
    let t = transport(email)?;
    t.send(message).map(|_| ()).map_err(|e| classify(email, e))
}
