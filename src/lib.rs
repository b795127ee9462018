//! optsignal: which conversion event should an ad campaign optimize on?
//!
//! The library reads an event log ([`source`]), turns it into units with leakage-guarded features
//! and purchase labels ([`observe`]), measures how well each candidate micro-conversion predicts
//! purchase ([`evidence`], [`stats`]), flags broken proxies ([`flags`]), checks each platform's
//! learning-phase floor ([`platform`]) and recommends an event per platform ([`advise`]); the
//! [`report`] renders it. [`pipeline::analyze`] runs all of it from validated [`config`] settings.
//! The weekly model [`store`] remembers each week, so that [`history`] can say what changed since
//! last week and hold a recommendation until a new leader confirms.
//! The same measurements also diagnose the funnel ([`funnel`]), rank audience seeds ([`seeds`]),
//! size A/B tests per metric ([`testplan`]) and value each proxy for value-based bidding ([`value`]).
//! The decisions themselves are pure stages in [`core`] (recommend → hold).
//! [`deliver`] is the weekly report job (files, or SMTP once per week).
//! [`experiment`] reads an A/B test out on a micro metric and the macro outcome ([`abtest`] is
//! its job: assignment, log, readout); [`audience`] compares two audience definitions.
//! Dependencies point one way, down the layers of docs/architecture.md (checked by
//! tests/it/layers.rs): every source hands [`event::Event`]s to [`observe`], and [`secret`] redacts
//! credentials from every output.

#![warn(missing_docs)]

pub mod abtest;
pub mod advise;
pub mod audience;
pub mod audit;
pub mod config;
pub mod core;
pub mod deliver;
pub mod demo;
pub mod derive;
pub mod error;
pub mod event;
pub mod evidence;
pub mod experiment;
pub mod flags;
pub mod format;
pub mod fsutil;
pub mod funnel;
pub mod goals;
pub mod history;
pub mod observe;
pub mod pipeline;
pub mod platform;
pub mod predict;
pub mod report;
pub mod secret;
pub mod seeds;
pub mod settle;
pub mod setup;
pub mod source;
pub mod stats;
pub mod store;
pub mod testplan;
pub mod types;
pub mod value;
