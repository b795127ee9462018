//! The library's top-level error: every failure a run can end with, each naming its cause
//! (file, line, key or URL), and the exit code the binary should use for it.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::experiment::ReadoutError;
use crate::source::assignment::AssignmentError;
use crate::source::SourceError;

/// Exit code for a runtime failure (unreadable data, I/O).
pub const EXIT_RUNTIME: i32 = 1;
/// Exit code for a usage or configuration error.
pub const EXIT_USAGE: i32 = 2;

/// Exit code when an email was accepted by the server but its sent-state could not be written.
pub const EXIT_SENT_UNRECORDED: i32 = 4;

/// Anything that stops a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration or the command line is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The event log could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Writing the demo store failed.
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    /// The weekly model store could not be read or written.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// `--as-of` names a week before the first event.
    #[error("--as-of {week}: no events up to the end of that week in {path}")]
    NothingAsOf {
        /// The week asked for.
        week: crate::types::IsoWeek,
        /// The event log.
        path: PathBuf,
    },
    /// The weekly report job failed (rendering, SMTP, state files).
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    /// Signal export or delivery failed (identifier columns, payload files, the platforms):
    /// `deliver::signal::SignalError`, held behind [`ExitError`] so this layer does not name
    /// the delivery layer above it.
    #[error("{0}")]
    Signal(Box<dyn ExitError>),
    /// An A/B test readout failed (assignment, or nothing to compare).
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    /// Writing an output file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// An error of a layer above this one that knows its documented exit code.
pub trait ExitError: std::error::Error + Send + Sync + 'static {
    /// The process exit code it ends a run with.
    fn exit_code(&self) -> i32;
}

impl Error {
    /// The documented exit code: 2 for usage/config errors, 1 for runtime failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) => EXIT_USAGE,
            // A BigQuery command on a config without [bigquery] is a configuration mistake.
            Error::Source(crate::source::SourceError::NoBigQuery { .. }) => EXIT_USAGE,
            Error::Source(_)
            | Error::Demo(_)
            | Error::Write { .. }
            | Error::Store(_)
            | Error::NothingAsOf { .. }
            | Error::Experiment(_) => EXIT_RUNTIME,
            Error::Deliver(e) => e.exit_code(),
            Error::Signal(e) => e.exit_code(),
        }
    }

    /// A hint of what to do, when there is an obvious one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Source(SourceError::MissingColumn { .. }) => Some("map your columns under [source.fields] in the config, or rename them to the canonical names (timestamp, user_id, session_id, event_name, device, channel, value)"),
            Error::Source(SourceError::Open { .. }) => Some("check the path; relative paths in a config file are relative to the config file's folder"),
            Error::Config(ConfigError::Load { .. }) => Some("see fixtures/demo/optsignal.toml for a complete, commented example"),
            Error::Store(crate::store::StoreError::Parse { .. }) => Some("a stored week is damaged or hand-edited: move that file out of the store folder (the run then compares with the week before it)"),
            Error::Deliver(e) => e.hint(),
            _ => None,
        }
    }
}

/// Why a readout failed.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The assignment could not be read.
    #[error(transparent)]
    Assignment(#[from] AssignmentError),
    /// The readout could not be made.
    #[error("{path}: {source}")]
    Readout {
        /// The event log.
        path: PathBuf,
        /// Why.
        source: ReadoutError,
    },
}

/// Why the report job failed; each names the file, host or key.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// `--send` or `--dry-run` without an `[email]` section.
    #[error(
        "{origin}: email: no [email] section (from, to, host) to send or build the message with"
    )]
    NoEmailConfig {
        /// The config file, or "command line".
        origin: String,
    },
    /// A credential could not be read (the message names the variable or file, not the value).
    #[error("{0}")]
    Secret(String),
    /// `email.ca_file` is missing, unreadable or holds no usable PEM certificate.
    #[error("email.ca_file {}: {detail}", path.display())]
    CaFile {
        /// The file (resolved path).
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The data have no week at all.
    #[error("the data cover no ISO week: nothing to report")]
    NoWeek,
    /// Rendering a template failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Drawing the chart failed.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// The message could not be assembled.
    #[error("cannot build the email: {0}")]
    Message(String),
    /// The SMTP server refused the credentials.
    #[error("SMTP authentication failed at {host}:{port}: {detail}")]
    Auth {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The server's reply.
        detail: String,
    },
    /// The SMTP server could not be reached, or TLS failed.
    #[error("cannot connect to SMTP server {host}:{port}: {detail}")]
    Connection {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// What failed.
        detail: String,
    },
    /// The SMTP server answered with a temporary failure (4xx: greylisting, a full queue, a rate
    /// limit): the same message may well go through later.
    #[error("SMTP server {host}:{port} could not take the message now ({code}, a temporary failure): {detail}")]
    Transient {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// SMTP reply code (4xx).
        code: u16,
        /// The server's reply.
        detail: String,
    },
    /// The SMTP server did not answer within `email.timeout_secs`.
    #[error("SMTP server {host}:{port} timed out: no answer within {secs} s (email.timeout_secs)")]
    Timeout {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The timeout in force.
        secs: u64,
    },
    /// The connection was open, then closed before the server confirmed the message.
    #[error("the connection to SMTP server {host}:{port} dropped before the server confirmed the message: {detail}")]
    Dropped {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// What the client saw.
        detail: String,
    },
    /// The SMTP server refused the sender, a recipient or the message.
    #[error("SMTP server {host}:{port} refused the message ({code}): {detail}")]
    Refused {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// SMTP reply code.
        code: u16,
        /// The server's reply (names the refused recipient when the server does).
        detail: String,
    },
    /// The lock or sent-state file could not be read or written.
    #[error("state file {path}: {source}")]
    State {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A sent-state file is not what optsignal writes.
    #[error("state file {path} is unreadable ({message}); move it away to resend this week")]
    StateCorrupt {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The server accepted the message, but its sent-state could not be written: a re-run
    /// would send the same week again.
    #[error("the {week} report WAS SENT to {recipients}, but its sent-state {path} could not be written ({source}): a re-run would send it again")]
    SentNotRecorded {
        /// The week sent.
        week: crate::types::IsoWeek,
        /// Who received it.
        recipients: String,
        /// The sent-state file that could not be written.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Writing a report file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl DeliverError {
    /// The documented exit code: 2 for configuration problems (missing `[email]`, unreadable
    /// secret or CA file), 1 for everything that happens at run time.
    pub fn exit_code(&self) -> i32 {
        match self {
            DeliverError::NoEmailConfig { .. }
            | DeliverError::Secret(_)
            | DeliverError::CaFile { .. } => EXIT_USAGE,
            DeliverError::SentNotRecorded { .. } => EXIT_SENT_UNRECORDED,
            _ => EXIT_RUNTIME,
        }
    }

    /// A hint of what to do, when there is an obvious one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            DeliverError::Auth { .. } => Some("check the user name and the password source (email.username / username_env, password_env / password_file); the week is not marked sent, so the next run retries"),
            DeliverError::Connection { .. } => Some("check email.host, email.port and email.security (starttls: 587, tls: 465, plain: 25); the week is not marked sent, so the next run retries"),
            DeliverError::Refused { .. } => Some("check email.from and email.to; the week is not marked sent, so the next run retries"),
            DeliverError::Transient { .. } => Some("a temporary refusal: try again later (the week is not marked sent, so the next run retries)"),
            DeliverError::Timeout { .. } => Some("the server or the network is slow, or a firewall drops the packets: check email.host and email.port, or raise email.timeout_secs; the week is not marked sent, so the next run retries"),
            DeliverError::Dropped { .. } => Some("the server or something between closed the connection mid-message (a size limit, a content filter, a restart): try again later and check the server's log; the week is not marked sent, so the next run retries"),
            DeliverError::CaFile { .. } => Some("email.ca_file names a PEM file (relative to the config file) with the CA certificate(s) that signed the SMTP server's certificate"),
            DeliverError::NoEmailConfig { .. } => Some("add an [email] section; see the README's \"Weekly report by email\""),
            DeliverError::SentNotRecorded { .. } => Some("make report.state_dir writable (or free space on its disk) before the next run, or it sends this week again; weeks sent before it in this run are recorded"),
            _ => None,
        }
    }
}

/// A template failed to render (a bug in a template, or a bad `email.subject`).
#[derive(Debug, thiserror::Error)]
#[error("template {template}: {message}")]
pub struct RenderError {
    /// The template's name.
    pub template: String,
    /// minijinja's message, with the line.
    pub message: String,
}

/// The chart could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The bundled font did not load (a corrupt build).
    #[error("the bundled chart font could not be loaded")]
    Font,
    /// Drawing failed.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("encoding the chart as PNG failed: {0}")]
    Encode(#[from] png::EncodingError),
}
