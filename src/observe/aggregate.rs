//! Observations from weekly volumes alone (GA4's Data API): no units, patterns or users, so
//! no model and no clustered intervals, only the floor check's volumes.

use super::*;

impl Observations {
    /// Observations of `weeks` (every one whole, hence complete), with the events that are
    /// neither candidates nor the outcome in `other_events` and the data's span in µs.
    pub fn from_volumes(
        spec: &ObserveSpec,
        weeks: Vec<WeekVolumes>,
        other_events: BTreeMap<String, u64>,
        span_micros: (i64, i64),
    ) -> Observations {
        Observations {
            unit: spec.unit,
            candidates: spec.candidates.clone(),
            purchase: spec.purchase.clone(),
            weeks,
            devices: Vec::new(),
            channels: Vec::new(),
            patterns: Vec::new(),
            ordering: vec![Ordering::default(); spec.candidates.len()],
            units: 0,
            users: 0,
            censored_units: 0,
            label_window_days: spec.label_window_days,
            sessions_inferred: false,
            session_id_events: 0,
            session_id_missing: 0,
            session_id_joined: 0,
            inferred_sessions: 0,
            other_events,
            span_micros,
            // Aggregates carry no units: no funnel steps, fired groups or order values.
            extra_events: Vec::new(),
            fired: Vec::new(),
            values: Vec::new(),
            // Aggregates carry no users: their intervals treat units as independent.
            clusters: None,
            discovery: None,
            derived: Vec::new(),
        }
    }
}
