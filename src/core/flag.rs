//! The kinds of proxy flag, as a plain domain enum the decision stages can reason about
//! (the tests that raise them live in [`crate::flags`]).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

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

/// The practical effect sizes a drift flag needs besides significance, so that a large store
/// does not flag a 47% → 45% precision (docs/definitions.md, "Practical size").
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EffectSizes {
    /// `broken_surge`: the share of units with the proxy rises at least this factor.
    pub min_surge_ratio: f64,
    /// `broken_surge`: its precision falls to at most this fraction of the baseline.
    pub max_precision_ratio: f64,
    /// `tracking_break`: the share falls to at most this fraction of the baseline.
    pub max_break_ratio: f64,
}

impl Default for EffectSizes {
    /// A surge 1.5× the baseline share with precision 0.7× or less; a break at 0.5× or less.
    fn default() -> Self {
        EffectSizes {
            min_surge_ratio: 1.5,
            max_precision_ratio: 0.7,
            max_break_ratio: 0.5,
        }
    }
}
/// A raised flag with its explanation and the numbers behind it (raised, and its message
/// written, by [`crate::flags`]).
#[derive(Debug, Clone, Serialize)]
pub struct Flag {
    /// What kind.
    pub kind: FlagKind,
    /// One sentence for people, with the key numbers.
    pub message: String,
    /// The numbers and test names that triggered the flag.
    pub evidence: BTreeMap<String, Value>,
}
