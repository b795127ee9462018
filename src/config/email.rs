//! Validation of `[email]` (SMTP delivery), an account's `recipients` and `[report]` (the weekly
//! report job). Every problem of a section is collected, not only the first, so that `config
//! check` lists them all in one pass.

use std::path::{Path, PathBuf};

use super::{
    Check, EmailSettings, RawEmail, RawReport, ReportSettings, SecretSource, SmtpAuth,
    SmtpSecurity, DEFAULT_CATCH_UP_WEEKS, DEFAULT_SUBJECT, MAX_SETTLE_HOURS,
};

/// Parses a mailbox (`Name <user@example.com>`), reporting `key` when it is not one.
pub(super) fn mailbox(c: &mut Check<'_>, key: &str, s: &str) -> Option<lettre::message::Mailbox> {
    match s.parse() {
        Ok(m) => Some(m),
        Err(e) => {
            c.err(
                key,
                format!("{s:?} is not an email address like \"Name <user@example.com>\" ({e})"),
            );
            None
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn resolve(base_dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

/// Validates an `[email]` section; `None` when it has any problem (each one is in `c`).
pub(super) fn email(c: &mut Check<'_>, e: &RawEmail, base_dir: &Path) -> Option<EmailSettings> {
    let before = c.errors.len();
    let from = match e.from.as_deref() {
        Some(f) => mailbox(c, "email.from", f),
        None => {
            c.err("email.from", "give the sender address");
            None
        }
    };
    let list = e.to.as_deref().unwrap_or_default();
    if list.is_empty() {
        c.err("email.to", "give at least one recipient");
    }
    let to: Vec<_> = list
        .iter()
        .enumerate()
        .filter_map(|(i, t)| mailbox(c, &format!("email.to[{i}]"), t))
        .collect();
    let subject = e.subject.clone().unwrap_or_else(|| DEFAULT_SUBJECT.into());
    if let Err(m) = check_line(&subject) {
        c.err("email.subject", m);
    }
    let host = e.host.clone().filter(|h| !h.trim().is_empty());
    if host.is_none() {
        c.err("email.host", "give the SMTP server's host name");
    }
    let security = match e.security.as_deref().unwrap_or("starttls") {
        "starttls" => Some(SmtpSecurity::StartTls),
        "tls" => Some(SmtpSecurity::Tls),
        "plain" | "none" => Some(SmtpSecurity::Plain),
        other => {
            c.err(
                "email.security",
                format!("{other:?}: use \"starttls\", \"tls\" or \"plain\""),
            );
            None
        }
    };
    let port = e
        .port
        .unwrap_or(security.unwrap_or(SmtpSecurity::StartTls).default_port());
    if port == 0 {
        c.err("email.port", "must be a port number, 1 to 65535");
    }
    let auth = auth(c, e, base_dir);
    let plain = security == Some(SmtpSecurity::Plain);
    if let (Some(_), true, Some(h)) = (&auth, plain, &host) {
        if !is_loopback(h) {
            c.err(
                "email.security",
                format!("\"plain\" would send the password to {h} unencrypted; use \"starttls\" or \"tls\" (plain with credentials is only allowed to a relay on this machine)"),
            );
        }
    }
    let ca_file = match &e.ca_file {
        Some(f) if f.as_os_str().is_empty() => {
            c.err(
                "email.ca_file",
                "give the path of a PEM file with the CA certificate(s)",
            );
            None
        }
        Some(_) if plain => {
            c.err(
                "email.ca_file",
                "security = \"plain\" uses no TLS, so a CA file would be ignored; use \"starttls\" or \"tls\", or drop ca_file",
            );
            None
        }
        Some(f) => Some(resolve(base_dir, f)),
        None => None,
    };
    let timeout_secs = e.timeout_secs.unwrap_or(30);
    if timeout_secs == 0 {
        c.err("email.timeout_secs", "must be at least 1 second");
    }
    if c.errors.len() > before {
        return None;
    }
    Some(EmailSettings {
        from: from?,
        to,
        subject,
        host: host?,
        port,
        security: security?,
        auth,
        ca_file,
        timeout: std::time::Duration::from_secs(timeout_secs),
    })
}

/// The SMTP credentials of `[email]`: a user name (literal or by variable) with a password by
/// variable or file, or neither.
fn auth(c: &mut Check<'_>, e: &RawEmail, base_dir: &Path) -> Option<SmtpAuth> {
    let username = match (&e.username, &e.username_env) {
        (Some(_), Some(_)) => {
            c.err(
                "email.username_env",
                "give username or username_env, not both",
            );
            return None;
        }
        (Some(u), None) => Some(SecretSource::Literal(u.clone())),
        (None, Some(v)) => Some(SecretSource::Env(v.clone())),
        (None, None) => None,
    };
    let password = match (&e.password_env, &e.password_file) {
        (Some(_), Some(_)) => {
            c.err(
                "email.password_file",
                "give password_env or password_file, not both",
            );
            return None;
        }
        (Some(v), None) => Some(SecretSource::Env(v.clone())),
        (None, Some(f)) => Some(SecretSource::File(resolve(base_dir, f))),
        (None, None) => None,
    };
    match (username, password) {
        (Some(username), Some(password)) => Some(SmtpAuth { username, password }),
        (None, None) => None,
        (Some(_), None) => {
            c.err(
                "email.password_env",
                "a user name needs a password: name an environment variable (password_env) or a file (password_file)",
            );
            None
        }
        (None, Some(_)) => {
            c.err(
                "email.username",
                "a password needs a user name (username or username_env)",
            );
            None
        }
    }
}

/// An account's own `recipients`, which replace `[email] to` (an agency file sets the SMTP
/// server once in `[defaults.email]` and the recipients per account). Checked whenever the
/// account has an `[email]` section, valid or not.
pub(super) fn recipients(c: &mut Check<'_>, email: Option<&mut EmailSettings>, list: &[String]) {
    let to: Vec<_> = list
        .iter()
        .enumerate()
        .filter_map(|(i, r)| mailbox(c, &format!("recipients[{i}]"), r))
        .collect();
    if let Some(e) = email {
        if !to.is_empty() {
            e.to = to;
        }
    }
}

/// Validates a `[report]` section; every problem is reported into `c` (the settings returned
/// then leave out the values at fault).
pub(super) fn report(c: &mut Check<'_>, r: &RawReport, base_dir: &Path) -> ReportSettings {
    let state_dir = match &r.state_dir {
        Some(d) => resolve(base_dir, d),
        None => base_dir.join("optsignal-state"),
    };
    let mut critical_flags = Vec::new();
    for (i, name) in r.critical_flags.iter().flatten().enumerate() {
        match crate::flags::FlagKind::from_name(name) {
            Some(kind) => critical_flags.push(kind),
            None => {
                let known: Vec<&str> = crate::flags::FlagKind::ALL
                    .iter()
                    .map(|k| k.name())
                    .collect();
                c.err(
                    format!("report.critical_flags[{i}]"),
                    format!("{name:?} is not a flag; known: {}", known.join(", ")),
                );
            }
        }
    }
    let mut settle_hours = Vec::new();
    for (key, hours) in r.settle_hours.iter().flatten() {
        let at = format!("report.settle_hours.{key}");
        let Some(source) = crate::settle::Source::from_key(key) else {
            let known: Vec<&str> = crate::settle::Source::ALL.iter().map(|s| s.key()).collect();
            c.err(
                at,
                format!("{key:?} is not a source; known: {}", known.join(", ")),
            );
            continue;
        };
        if *hours > MAX_SETTLE_HOURS {
            c.err(
                at,
                format!("{hours} hours is more than {MAX_SETTLE_HOURS} (90 days)"),
            );
            continue;
        }
        settle_hours.push((source, *hours));
    }
    let catch_up_weeks = r.catch_up_weeks.unwrap_or(DEFAULT_CATCH_UP_WEEKS);
    if catch_up_weeks > 52 {
        c.err(
            "report.catch_up_weeks",
            format!("{catch_up_weeks} is more than 52 weeks"),
        );
    }
    ReportSettings {
        state_dir,
        critical_flags,
        catch_up_weeks: catch_up_weeks.min(52),
        send_partial: r.send_partial.unwrap_or(false),
        settle_hours,
    }
}
/// Checks that a one-line template compiles, so config validation can name the key.
pub fn check_line(template: &str) -> Result<(), String> {
    let env = minijinja::Environment::new();
    env.template_from_str(template)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
