//! The library's top-level error: every failure a run can end with, each naming its cause
//! (file, line, key or URL), and the exit code the binary should use for it.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::source::SourceError;

/// Exit code for a runtime failure (unreadable data, I/O).
pub const EXIT_RUNTIME: i32 = 1;
/// Exit code for a usage or configuration error.
pub const EXIT_USAGE: i32 = 2;

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
    Deliver(#[from] crate::deliver::DeliverError),
    /// Signal export or delivery failed (identifier columns, payload files, the platforms).
    #[error(transparent)]
    Signal(Box<crate::deliver::signal::SignalError>),
    /// An A/B test readout failed (assignment, or nothing to compare).
    #[error(transparent)]
    Experiment(#[from] crate::abtest::ExperimentError),
    /// Writing an output file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl From<crate::deliver::signal::SignalError> for Error {
    fn from(e: crate::deliver::signal::SignalError) -> Self {
        Error::Signal(Box::new(e))
    }
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
