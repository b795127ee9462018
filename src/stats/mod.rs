//! Statistics core: how well does a proxy event predict purchase, and can a bidding unit learn on it?
//!
//! - [`logistic`]: grouped (binomial) logistic regression by Newton–Raphson, with Firth's
//!   penalized likelihood as the fallback when the data are separated (a zero cell).
//! - [`interval`]: normal quantiles, Wilson intervals, odds ratios (Woolf), lift (delta method) and
//!   the pooled two-proportion z-test.
//! - [`auc`]: Mann–Whitney AUC and Brier score for grouped predictions with weighted counts.
//! - [`fdr`]: Benjamini–Hochberg q-values for the many proxy-by-platform comparisons.
//! - [`clearance`]: probability that one bidding unit collects a platform's learning-phase floor
//!   of events in its window (Poisson or negative binomial after binomial thinning).
//! - [`drift`]: quasi-Poisson rate-ratio z-test of recent weekly volume against a baseline.
//! - [`decompose`]: Kitagawa shift-share decomposition of a rate change into traffic mix and
//!   within-segment rate, with delta-method intervals and the Cochran–Mantel–Haenszel test.
//! - [`power`]: units per arm of a two-proportion A/B test.
//!
//! Functions that can meet degenerate input return `Option` or [`StatsError`]; none of them returns
//! an infinite or NaN number in a result.

pub mod auc;
pub mod clearance;
pub mod cluster;
pub mod decompose;
pub mod drift;
pub mod fdr;
pub mod interval;
pub mod logistic;
pub mod power;

use thiserror::Error;

/// Why a statistical computation could not produce a result.
#[derive(Debug, Error)]
pub enum StatsError {
    /// A hyperparameter is out of range (for example a non-positive tolerance).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Records and targets disagree in shape, or targets are not `(successes, trials)` pairs.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Input values are not usable (NaN, negative counts, successes above trials, ...).
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// No row has a positive number of trials, so there is nothing to fit.
    #[error("no row has a positive number of trials")]
    NoData,
    /// Every unit had the same outcome, so the outcome carries no information to model.
    #[error("the outcome does not vary: {successes} successes in {trials} trials")]
    NoOutcomeVariation {
        /// Total successes over the rows with trials.
        successes: f64,
        /// Total trials.
        trials: f64,
    },
    /// The data are separated (maximum likelihood estimates are infinite) and the Firth fallback
    /// was switched off.
    #[error("the data are separated and the Firth fallback is disabled")]
    Separation,
    /// The iteration broke down numerically (singular information matrix, non-finite values).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// An error reported by linfa (required by linfa's `Fit` trait).
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}
