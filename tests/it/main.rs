//! The integration tests, in one binary (as ripgrep's `tests/`): one module per area, sharing
//! `util` (the real binary, fixtures, real logs) and `support` (SMTP peer, MIME reader,
//! sent-state files). One binary links once instead of once per file.
//!
//! **A new integration test goes here**: a file `tests/it/NAME.rs` and a `mod NAME;` line below,
//! not a new `tests/NAME.rs` (which would be a binary of its own). In it, `use crate::util::*;`
//! (and `use crate::support;`) instead of `mod util;`. Run one area with
//! `cargo test --test it NAME::`.

mod support;
mod util;

mod alerts;
mod audience;
mod audit;
mod bad_input;
mod beyond;
mod bigquery_client;
mod cron;
mod demo;
mod derived;
mod email_tls;
mod experiment;
mod ga4_api;
mod ga4_export;
mod hostile_input;
mod layers;
mod leakage;
mod meta_api;
mod outcomes;
mod predicted;
mod pushdown;
mod readme;
mod real_logs;
mod redaction;
mod report_email;
mod signal;
mod signal_send;
mod sizes;
mod smtp_messages;
mod snapshot;
mod sources;
mod store;
mod streaming;
mod terminal;
mod week_coverage;
