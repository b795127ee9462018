//! Pure decision stages (no I/O, no configuration types, no English): each takes validated
//! parameters and plain values and returns a new immutable value with reasons as enums; the
//! report layer turns those into text. Order: coverage ([`coverage`], which weeks are complete) →
//! recommend ([`recommend`], on segment-adjusted evidence from [`standardize`]) → hold
//! ([`hold`], hysteresis over the weekly history); [`budget`] prices the floor (budget per unit,
//! consolidations) for each eligible event.

pub mod budget;
pub mod coverage;
pub mod flag;
pub mod hold;
pub mod recommend;
#[cfg(test)]
mod stability;
pub mod standardize;
