//! SMTP delivery with lettre's blocking transport (no async runtime): STARTTLS, implicit TLS or
//! plain, optional authentication, and failures sorted into what a person can act on.
//!
//! Credentials are read from their source (environment variable or file) at send time and go
//! only to lettre; errors name the variable or file, never the value.

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
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

fn transport(email: &EmailSettings) -> Result<SmtpTransport, DeliverError> {
    let host = email.host.as_str();
    let tls_params = || {
        TlsParameters::new(host.to_string()).map_err(|e| DeliverError::Connection {
            host: host.to_string(),
            port: email.port,
            detail: format!("TLS set-up failed: {e}"),
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
    match code {
        Some(c @ (530 | 534 | 535 | 538 | 454)) => DeliverError::Auth {
            host,
            port,
            detail: format!("{c}: {detail}"),
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
        None => DeliverError::Connection {
            host,
            port,
            detail: if e.is_timeout() {
                format!("timed out after {} s: {detail}", email.timeout.as_secs())
            } else if e.is_tls() {
                format!("TLS failed: {detail}")
            } else {
                detail
            },
        },
    }
}

/// Sends one message; `Ok` means the server accepted it for every recipient.
pub fn send(email: &EmailSettings, message: &Message) -> Result<(), DeliverError> {
    let t = transport(email)?;
    t.send(message).map(|_| ()).map_err(|e| classify(email, e))
}
