//! optsignal: which conversion event should an ad campaign optimize on?
//!
//! The library reads an event log ([`source`]), turns it into units with leakage-guarded features
//! and purchase labels ([`observe`]), measures how well each candidate micro-conversion predicts
//! purchase ([`evidence`], [`stats`]), flags broken proxies ([`flags`]), checks each platform's
//! learning-phase floor ([`platform`]) and recommends an event per platform ([`advise`]); the
//! [`report`] renders it. [`pipeline::analyze`] runs all of it from validated [`config`] settings;
//! [`deliver`] is the weekly report job (files, or SMTP once per week).

pub mod advise;
pub mod config;
pub mod deliver;
pub mod demo;
pub mod error;
pub mod evidence;
pub mod flags;
pub mod format;
pub mod observe;
pub mod pipeline;
pub mod platform;
pub mod report;
pub mod source;
pub mod stats;
pub mod types;
