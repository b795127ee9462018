//! Derived candidates: rules over a unit's raw events ("add_to_cart with a value of at least
//! 40", "view_item at least twice", "begin_checkout or add_payment_info", "view_item then
//! add_to_cart", "add_to_cart on desktop"), observed in the same single pass as the raw events.
//!
//! A derived candidate fires at most once per unit, at the moment its rule is first met (the
//! k-th view, the first cart of at least the value, the first of either event, the first
//! `then` after the first `first`), and that moment goes through the same leakage guard as a raw
//! event: it is a feature only when strictly before the user's first purchase at or after the
//! unit's start (and, for user units, inside the label window). What a unit keeps for it is
//! bounded: the k earliest times of a counted event, the earliest time of a valued one; raw
//! events' first times already cover the rest.

use serde::Serialize;

use super::*;

/// A candidate that is a derived rule, and how it was chosen: the weeks its family's grid was
/// searched on are not the weeks its figures are measured on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedCandidate {
    /// Its index in [`Observations::candidates`].
    pub candidate: usize,
    /// The rule.
    pub rule: DerivedRule,
    /// First week (index into [`Observations::weeks`]) its figures are measured on; `None`
    /// until its family's grid is searched (then every week counts).
    pub measured_from: Option<u16>,
    /// Platforms for which it was the family's best point on the search weeks.
    pub selected_for: Vec<crate::platform::PlatformId>,
    /// Points of its family's grid searched.
    pub searched: usize,
}

impl Observations {
    /// First week (index into [`Observations::weeks`]) candidate `j`'s figures come from: 0,
    /// except for a searched derived candidate, measured on its held-out weeks only.
    pub fn measured_from(&self, j: usize) -> u16 {
        self.derived
            .iter()
            .find(|d| d.candidate == j)
            .and_then(|d| d.measured_from)
            .unwrap_or(0)
    }

    /// The derived rule behind candidate `j`, when it is one.
    pub fn derived_of(&self, j: usize) -> Option<&DerivedCandidate> {
        self.derived.iter().find(|d| d.candidate == j)
    }
}

/// One term of a [`ScoreModel`]: what it is (an event, a device or channel level) and its
/// coefficient in log odds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreTerm<T> {
    /// The event or segment level.
    pub name: T,
    /// Its coefficient (log odds).
    pub coefficient: f64,
}

/// A fitted logistic score of a unit: the intercept, plus the coefficient of every listed event
/// the unit had before the purchase, plus its device's and its channel's (reference levels and
/// unlisted levels add 0), in log odds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreModel {
    /// Log odds of a unit with none of the events, on the reference device and channel.
    pub intercept: f64,
    /// Event coefficients.
    pub events: Vec<ScoreTerm<EventName>>,
    /// Device coefficients (non-reference levels).
    pub devices: Vec<ScoreTerm<String>>,
    /// Channel coefficients (non-reference levels).
    pub channels: Vec<ScoreTerm<String>>,
}

impl ScoreModel {
    /// Log odds of a unit that had event `i` of [`ScoreModel::events`] iff `has(i)`, from this
    /// device and channel; summed in one fixed order, so every caller gets the same number.
    pub fn log_odds(&self, has: impl Fn(usize) -> bool, device: &str, channel: &str) -> f64 {
        let mut eta = self.intercept;
        for (i, t) in self.events.iter().enumerate() {
            if has(i) {
                eta += t.coefficient;
            }
        }
        for (levels, name) in [(&self.devices, device), (&self.channels, channel)] {
            if let Some(t) = levels.iter().find(|t| t.name == name) {
                eta += t.coefficient;
            }
        }
        eta
    }
}

/// What a derived candidate requires of a unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DerivedKind {
    /// `event` fired at least `times` times.
    AtLeast {
        /// The counted event.
        event: EventName,
        /// Fewest firings (at least 2).
        times: u32,
    },
    /// `event` fired with a value of at least `value` (the log's value column).
    ValueAtLeast {
        /// The valued event.
        event: EventName,
        /// Smallest value that counts.
        value: f64,
    },
    /// Any of `events` fired.
    AnyOf {
        /// The events, at least two.
        events: Vec<EventName>,
    },
    /// `then` first fired after `first` first fired.
    Then {
        /// The earlier event.
        first: EventName,
        /// The later event, whose first firing is the moment the rule is met.
        then: EventName,
    },
    /// `event` fired in a unit whose first event came from this device and/or channel.
    InSegment {
        /// The event.
        event: EventName,
        /// Device level the unit must have (`None`: any).
        device: Option<String>,
        /// Channel level the unit must have (`None`: any).
        channel: Option<String>,
    },
    /// The unit's score under a model fitted on the training weeks, from its events before the
    /// purchase and its segment, reached `threshold`: a "predicted purchaser", which only a
    /// server can send (it is scored when the session closes or purchases).
    Predicted {
        /// The model (what a server scores each session with).
        model: ScoreModel,
        /// Share of the training weeks' units at or above the threshold (the grid point).
        top: f64,
        /// Smallest predicted purchase probability that fires it.
        threshold: f64,
        /// The threshold in log odds, compared exactly with [`ScoreModel::log_odds`].
        log_odds_cut: f64,
    },
}

impl DerivedKind {
    /// The raw events the rule reads, each once, in the rule's order.
    pub fn bases(&self) -> Vec<&EventName> {
        match self {
            DerivedKind::AtLeast { event, .. }
            | DerivedKind::ValueAtLeast { event, .. }
            | DerivedKind::InSegment { event, .. } => vec![event],
            DerivedKind::AnyOf { events } => events.iter().collect(),
            DerivedKind::Then { first, then } => vec![first, then],
            DerivedKind::Predicted { model, .. } => model.events.iter().map(|t| &t.name).collect(),
        }
    }
}

/// One derived candidate (a point of its family's grid): its name as a candidate and its rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedRule {
    /// The candidate's name (what the platforms would be sent), e.g. `add_to_cart_value_40`.
    pub name: EventName,
    /// Index of the family (one `[[analysis.derived]]` entry) the point belongs to.
    pub family: usize,
    /// The rule.
    #[serde(flatten)]
    pub kind: DerivedKind,
}

/// A derived rule with its raw events as candidate bits, for the per-event hot path.
#[derive(Debug, Clone)]
pub(super) enum Compiled {
    AtLeast {
        base: u8,
        times: u32,
    },
    ValueAtLeast {
        base: u8,
        value: f64,
    },
    AnyOf {
        bases: Vec<u8>,
    },
    Then {
        first: u8,
        then: u8,
    },
    InSegment {
        base: u8,
        device: Option<String>,
        channel: Option<String>,
    },
    /// Fires when the unit's score reaches `cut`; `bits[i]` is the candidate bit of the model's
    /// event `i`. Decided at the fold from the unit's features, not at an event.
    Predicted {
        bits: Vec<u8>,
        model: ScoreModel,
        cut: f64,
    },
}

/// Compiles `rules` against the candidate order; a base that is not a candidate is appended to
/// `candidates` (the config puts them there; this keeps the builder total).
pub(super) fn compile(rules: &[DerivedRule], candidates: &mut Vec<EventName>) -> Vec<Compiled> {
    // A predicted rule's model may read derived candidates: they take the top bits, in order.
    let derived_bit = |e: &EventName| {
        rules
            .iter()
            .position(|r| &r.name == e)
            .map(|r| (MAX_CANDIDATES - rules.len() + r) as u8)
    };
    let mut bit = |e: &EventName| -> u8 {
        match candidates.iter().position(|c| c == e) {
            Some(i) => i as u8,
            None => {
                candidates.push(e.clone());
                (candidates.len() - 1) as u8
            }
        }
    };
    rules
        .iter()
        .map(|r| match &r.kind {
            DerivedKind::AtLeast { event, times } => Compiled::AtLeast {
                base: bit(event),
                times: (*times).max(1),
            },
            DerivedKind::ValueAtLeast { event, value } => Compiled::ValueAtLeast {
                base: bit(event),
                value: *value,
            },
            DerivedKind::AnyOf { events } => Compiled::AnyOf {
                bases: events.iter().map(&mut bit).collect(),
            },
            DerivedKind::Then { first, then } => Compiled::Then {
                first: bit(first),
                then: bit(then),
            },
            DerivedKind::InSegment {
                event,
                device,
                channel,
            } => Compiled::InSegment {
                base: bit(event),
                device: device.clone(),
                channel: channel.clone(),
            },
            DerivedKind::Predicted {
                model,
                log_odds_cut,
                ..
            } => Compiled::Predicted {
                bits: model
                    .events
                    .iter()
                    .map(|t| derived_bit(&t.name).unwrap_or_else(|| bit(&t.name)))
                    .collect(),
                model: model.clone(),
                cut: *log_odds_cut,
            },
        })
        .collect()
}

/// The predicted rules (as a bit set over rule indices) a unit with the features `mask` from
/// the segment `(device, channel)` meets: each scores the features with its model.
pub(super) fn predicted(rules: &[Compiled], mask: u32, (device, channel): (&str, &str)) -> u32 {
    let mut out = 0u32;
    for (r, c) in rules.iter().enumerate() {
        if let Compiled::Predicted { bits, model, cut } = c {
            let eta = model.log_odds(|i| mask & (1u32 << bits[i]) != 0, device, channel);
            if eta >= *cut {
                out |= 1 << r;
            }
        }
    }
    out
}

/// Per candidate bit, the rules that keep occurrence times of it (counted and valued rules).
pub(super) fn occurrence_rules(rules: &[Compiled]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![Vec::new(); MAX_CANDIDATES];
    for (r, c) in rules.iter().enumerate() {
        match c {
            Compiled::AtLeast { base, .. } | Compiled::ValueAtLeast { base, .. } => {
                out[*base as usize].push(r as u8)
            }
            _ => {}
        }
    }
    if out.iter().all(Vec::is_empty) {
        out.clear();
    }
    out
}

/// Records one firing at `at` (with `value`) of an event that rule `r` keeps times of, in a
/// unit's `occ` list of `(rule, time, seq)`: the `times` earliest for a counted rule, the
/// earliest at or above the value for a valued one. Exact whatever the arrival order.
pub(super) fn record(
    occ: &mut Vec<(u8, i64, u64)>,
    r: u8,
    rule: &Compiled,
    at: (i64, u64),
    value: Option<f64>,
) {
    let keep = match rule {
        Compiled::AtLeast { times, .. } => *times as usize,
        Compiled::ValueAtLeast { value: x, .. } if value.is_some_and(|v| v >= *x) => 1,
        _ => return,
    };
    let mut held = 0;
    let mut latest: Option<usize> = None;
    for (i, o) in occ.iter().enumerate().filter(|(_, o)| o.0 == r) {
        held += 1;
        if latest.is_none_or(|l| (o.1, o.2) > (occ[l].1, occ[l].2)) {
            latest = Some(i);
        }
    }
    if held < keep {
        occ.push((r, at.0, at.1));
    } else if let Some(l) = latest.filter(|&l| at < (occ[l].1, occ[l].2)) {
        (occ[l].1, occ[l].2) = at;
    }
}

/// The moment (time, seq) each rule is met in a unit, as `(rule, time, seq)`, from the unit's
/// raw first times `firsts`, its occurrence list `occ` and its segment names.
pub(super) fn moments(
    rules: &[Compiled],
    firsts: &[(u8, i64, u64)],
    occ: &[(u8, i64, u64)],
    (device, channel): (&str, &str),
    out: &mut Vec<(u8, i64, u64)>,
) {
    out.clear();
    let first = |b: u8| firsts.iter().find(|f| f.0 == b).map(|f| (f.1, f.2));
    for (r, c) in rules.iter().enumerate() {
        let rb = r as u8;
        let at = match c {
            Compiled::AtLeast { times, .. } => {
                let held = occ.iter().filter(|o| o.0 == rb);
                (held.clone().count() >= *times as usize)
                    .then(|| held.map(|o| (o.1, o.2)).max())
                    .flatten()
            }
            Compiled::ValueAtLeast { .. } => occ.iter().find(|o| o.0 == rb).map(|o| (o.1, o.2)),
            Compiled::AnyOf { bases } => bases.iter().filter_map(|&b| first(b)).min(),
            Compiled::Then { first: a, then: b } => match (first(*a), first(*b)) {
                (Some(ta), Some(tb)) if ta < tb => Some(tb),
                _ => None,
            },
            Compiled::InSegment {
                base,
                device: d,
                channel: ch,
            } => first(*base).filter(|_| {
                d.as_deref().is_none_or(|d| d == device)
                    && ch.as_deref().is_none_or(|c| c == channel)
            }),
            // Decided at the fold, from the unit's features (see [`predicted`]).
            Compiled::Predicted { .. } => None,
        };
        if let Some((t, s)) = at {
            out.push((rb, t, s));
        }
    }
}
