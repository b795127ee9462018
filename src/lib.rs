//! optsignal: which conversion event should an ad campaign optimize on?
//!
//! The library reads an event log, measures how well each candidate micro-conversion predicts
//! purchase, checks each platform's learning-phase floor, and recommends an event per platform.

pub mod demo;
pub mod types;
