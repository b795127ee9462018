//! The kinds of proxy flag, as a plain domain enum the decision stages can reason about
//! (the tests that raise them live in [`crate::flags`]).

use serde::Serialize;

/// The kinds of flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// No evidence that the proxy predicts purchase.
    NotPredictive,
    /// Volume surged while precision fell (sweepstakes, tracking on page load).
    BrokenSurge,
    /// Fires after purchase, or too good to be true.
    Leaky,
    /// Volume collapsed relative to purchases.
    TrackingBreak,
    /// Too little data for a verdict.
    InsufficientData,
}

impl FlagKind {
    /// Every kind, in severity-agnostic declaration order.
    pub const ALL: [FlagKind; 5] = [
        FlagKind::NotPredictive,
        FlagKind::BrokenSurge,
        FlagKind::Leaky,
        FlagKind::TrackingBreak,
        FlagKind::InsufficientData,
    ];

    /// The kind with this snake_case name.
    pub fn from_name(name: &str) -> Option<FlagKind> {
        FlagKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The snake_case name used in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            FlagKind::NotPredictive => "not_predictive",
            FlagKind::BrokenSurge => "broken_surge",
            FlagKind::Leaky => "leaky",
            FlagKind::TrackingBreak => "tracking_break",
            FlagKind::InsufficientData => "insufficient_data",
        }
    }
}
