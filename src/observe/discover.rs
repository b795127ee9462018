//! Candidate discovery: with `analysis.candidates` not set, every event name of the log that is
//! not the purchase nor housekeeping becomes a candidate while the log is read (one bit each,
//! up to [`MAX_CANDIDATES`]); at the end the ones that fired in too few units are left out by
//! projecting the grouped counts onto the rest, which is exact (each candidate's feature bit is
//! computed on its own).

use super::*;

/// What discovery kept and left out, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// The fewest units an event had to fire in (`analysis.discover_min_units`).
    pub min_units: u64,
    /// The candidates measured, in bit order, with their volume over all weeks.
    pub kept: Vec<Found>,
    /// The event names left out, with why.
    pub left_out: Vec<LeftOut>,
}

/// A discovered candidate and how much it fired over all weeks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The event.
    pub event: EventName,
    /// Times it fired.
    pub events: u64,
    /// Units in which it fired.
    pub units: u64,
}

/// An event name that is not a candidate, with its volume and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// The event name as the log (after aliases) spells it.
    pub event: String,
    /// Times it fired.
    pub events: u64,
    /// Units in which it fired, when counted (not for housekeeping or beyond the limit).
    pub units: Option<u64>,
    /// Why it is not measured.
    pub reason: LeftOutReason,
}

/// Why an event name is not a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOutReason {
    /// On the housekeeping list (`analysis.housekeeping_events`).
    Housekeeping,
    /// Fired in fewer units than `analysis.discover_min_units`.
    BelowMinUnits,
    /// A default candidate or funnel step that never fired.
    NotInLog,
    /// Seen after [`MAX_CANDIDATES`] candidates were already tracked.
    CandidateLimit,
}

/// Settles discovery on finished observations laid out with the purchase at bit `k_old`
/// (`MAX_CANDIDATES`): keeps the candidates that fired in at least `min_units` units (the
/// first `seeded` in their order, then the discovered ones by name), turns the left-out funnel
/// steps into extras, and records what was left out and why.
/// Where the builder put things: raw candidates at bits `0..raw`, derived rules at the bits
/// `derived` (kept whatever they count), the purchase at bit `k_old`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout<'a> {
    pub raw: usize,
    pub derived: &'a [usize],
    pub k_old: usize,
}

pub(super) fn settle(
    obs: Observations,
    spec: &DiscoverSpec,
    seeded: usize,
    funnel: &[EventName],
    layout: Layout<'_>,
) -> Observations {
    let k_old = layout.k_old;
    let total = |j: usize| -> (u64, u64) {
        obs.weeks.iter().fold((0, 0), |(e, u), w| {
            let v = w.candidates[j];
            (e + v.events, u + v.units)
        })
    };
    let n = layout.raw;
    let mut keep: Vec<usize> = (0..n).filter(|&j| total(j).1 >= spec.min_units).collect();
    keep.sort_by(|&a, &b| {
        let rank = |j: usize| {
            (
                j >= seeded,
                if j >= seeded {
                    Some(&obs.candidates[j])
                } else {
                    None
                },
                j,
            )
        };
        rank(a).cmp(&rank(b))
    });
    let dropped: Vec<usize> = (0..n).filter(|j| !keep.contains(j)).collect();
    let as_extra: Vec<usize> = dropped
        .iter()
        .copied()
        .filter(|&j| funnel.contains(&obs.candidates[j]))
        .collect();
    let mut left_out: Vec<LeftOut> = dropped
        .iter()
        .map(|&j| {
            let (events, units) = total(j);
            LeftOut {
                event: obs.candidates[j].to_string(),
                events,
                units: Some(units),
                reason: if events == 0 {
                    LeftOutReason::NotInLog
                } else {
                    LeftOutReason::BelowMinUnits
                },
            }
        })
        .collect();
    left_out.extend(obs.other_events.iter().map(|(name, &events)| LeftOut {
        event: name.clone(),
        events,
        units: None,
        reason: if spec.housekeeping.iter().any(|h| h.as_str() == name) {
            LeftOutReason::Housekeeping
        } else {
            LeftOutReason::CandidateLimit
        },
    }));
    left_out.sort_by(|a, b| (a.reason as u8, &a.event).cmp(&(b.reason as u8, &b.event)));
    let kept = keep
        .iter()
        .map(|&j| {
            let (events, units) = total(j);
            Found {
                event: obs.candidates[j].clone(),
                events,
                units,
            }
        })
        .collect();
    keep.extend_from_slice(layout.derived);
    let mut out = project(obs, &keep, &as_extra, k_old);
    out.discovery = Some(Discovery {
        min_units: spec.min_units,
        kept,
        left_out,
    });
    out
}

/// Sorts groups by `key` and merges those with equal keys, adding each into the first with `add`.
fn merge_equal<T, K: Ord>(v: &mut Vec<T>, key: impl Fn(&T) -> K, add: impl Fn(&mut T, &T)) {
    v.sort_by_key(&key);
    v.dedup_by(|later, kept| {
        let same = key(later) == key(kept);
        if same {
            add(kept, later);
        }
        same
    });
}

/// The observations restricted to candidates `keep` (in that order), with candidates `as_extra`
/// kept as extra fired events before the existing extras; `k_old` is the purchase's bit in
/// `obs`. Units, labels and every count stay as they were; only masks are rewritten and the
/// groups they merge summed.
pub(crate) fn project(
    mut obs: Observations,
    keep: &[usize],
    as_extra: &[usize],
    k_old: usize,
) -> Observations {
    let m = keep.len();
    let pattern_mask = |mask: u32| -> u32 {
        keep.iter()
            .enumerate()
            .filter(|(_, &j)| mask & (1 << j) != 0)
            .fold(0, |acc, (i, _)| acc | 1 << i)
    };
    let old_extras = obs.extra_events.len();
    let fired_mask = |mask: u64| -> u64 {
        let mut out = u64::from(pattern_mask((mask & 0xFFFF_FFFF) as u32));
        if mask & (1 << k_old) != 0 {
            out |= 1 << m;
        }
        for (i, &j) in as_extra.iter().enumerate() {
            if mask & (1 << j) != 0 {
                out |= 1 << (m + 1 + i);
            }
        }
        for e in 0..old_extras {
            if mask & (1 << (k_old + 1 + e)) != 0 {
                out |= 1 << (m + 1 + as_extra.len() + e);
            }
        }
        out
    };
    for p in &mut obs.patterns {
        p.mask = pattern_mask(p.mask);
    }
    merge_equal(
        &mut obs.patterns,
        |p| (p.week, p.device, p.channel, p.mask),
        |a, b| {
            a.units += b.units;
            a.purchasers += b.purchasers;
        },
    );
    for g in &mut obs.fired {
        g.mask = fired_mask(g.mask);
    }
    merge_equal(
        &mut obs.fired,
        |g| (g.week, g.device, g.channel, g.mask),
        |a, b| a.units += b.units,
    );
    for g in &mut obs.values {
        g.mask = pattern_mask(g.mask);
    }
    merge_equal(
        &mut obs.values,
        |g| (g.week, g.mask),
        |a, b| {
            a.valued += b.valued;
            a.sum += b.sum;
            a.sum_sq += b.sum_sq;
        },
    );
    for j in (0..obs.candidates.len()).filter(|j| !keep.contains(j)) {
        let events: u64 = obs.weeks.iter().map(|w| w.candidates[j].events).sum();
        if events > 0 {
            *obs.other_events
                .entry(obs.candidates[j].to_string())
                .or_default() += events;
        }
    }
    for w in &mut obs.weeks {
        w.candidates = keep.iter().map(|&j| w.candidates[j]).collect();
    }
    obs.ordering = keep.iter().map(|&j| obs.ordering[j]).collect();
    if let Some(c) = &mut obs.clusters {
        c.candidates = keep.iter().map(|&j| c.candidates[j]).collect();
    }
    let extras: Vec<EventName> = as_extra
        .iter()
        .map(|&j| obs.candidates[j].clone())
        .chain(obs.extra_events.iter().cloned())
        .collect();
    obs.extra_events = extras;
    obs.candidates = keep.iter().map(|&j| obs.candidates[j].clone()).collect();
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<EventName> {
        v.iter().map(|s| EventName::new(s).unwrap()).collect()
    }

    fn spec(candidates: &[&str], discover: Option<DiscoverSpec>) -> ObserveSpec {
        ObserveSpec {
            unit: UnitKind::Session,
            candidates: names(candidates),
            purchase: EventName::new("purchase").unwrap(),
            label_window_days: 7,
            session_gap_minutes: 30,
            time_zone: TimeZone::UTC,
            lateness_minutes: 60,
            coverage: CoverageParams::default(),
            discover,
            derived: Vec::new(),
        }
    }

    /// One generated event: (seq, minute, user, session, name, value).
    type Row = (u64, i64, String, String, &'static str, Option<f64>);

    /// A deterministic store: 600 sessions over three weeks; `view_item` in most,
    /// `add_to_cart` raises the purchase odds, `scroll` at random, `page_view` everywhere,
    /// `rare_evt` in a handful, a purchase with a value in some.
    fn log() -> Vec<Row> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 1000
        };
        let mut out = Vec::new();
        let mut seq = 0;
        for s in 0..600i64 {
            let (user, sid) = (format!("u{}", s % 250), format!("s{s}"));
            let t0 = s * 50;
            let mut push = |dt: i64, name: &'static str, v: Option<f64>| {
                out.push((seq, t0 + dt, user.clone(), sid.clone(), name, v));
                seq += 1;
            };
            push(0, "page_view", None);
            if next() < 900 {
                push(1, "view_item", None);
            }
            if next() < 500 {
                push(2, "scroll", None);
            }
            let cart = next() < 300;
            if cart {
                push(3, "add_to_cart", None);
            }
            if next() < 15 {
                push(4, "rare_evt", None);
            }
            if next() < if cart { 400 } else { 50 } {
                push(5, "purchase", Some(10.0 + (next() % 90) as f64));
            }
            if next() < 100 {
                push(6, "scroll", None);
            }
        }
        out
    }

    fn observe(spec: ObserveSpec, funnel: &[&str]) -> Observations {
        let mut b = ObservationBuilder::new(spec);
        b.track_also(&names(funnel));
        for (seq, t_min, user, sid, name, value) in &log() {
            let e = Event {
                line: seq + 2,
                seq: *seq,
                micros: 1_788_739_200_000_000 + t_min * MINUTE_US,
                user,
                session: Some(sid),
                name,
                device: Some(if seq % 3 == 0 { "mobile" } else { "desktop" }),
                channel: None,
                value: *value,
            };
            b.push(&e).unwrap();
        }
        b.finish()
    }

    fn discover(min_units: u64) -> Option<DiscoverSpec> {
        Some(DiscoverSpec {
            housekeeping: names(&["page_view", "session_start"]),
            min_units,
        })
    }

    /// Discovery, then leaving out what fired too little, gives exactly the counts of a run
    /// configured with the kept candidates (the path every other test checks).
    #[test]
    fn discovery_matches_the_configured_run_on_the_kept_candidates() {
        let funnel = ["view_item", "sign_up", "rare_evt", "page_view", "purchase"];
        let found = observe(
            spec(&["view_item", "add_to_cart", "sign_up"], discover(30)),
            &funnel,
        );
        let configured = observe(
            spec(&["view_item", "add_to_cart", "scroll"], None),
            &["sign_up", "rare_evt", "page_view"],
        );
        assert_eq!(
            found.candidates,
            names(&["view_item", "add_to_cart", "scroll"])
        );
        assert_eq!(found.candidates, configured.candidates);
        assert_eq!(found.extra_events, configured.extra_events);
        assert_eq!(found.patterns, configured.patterns);
        assert_eq!(found.fired, configured.fired);
        assert_eq!(found.values, configured.values);
        assert_eq!(found.ordering, configured.ordering);
        assert_eq!(found.clusters, configured.clusters);
        assert_eq!(found.units, configured.units);
        for (a, b) in found.weeks.iter().zip(&configured.weeks) {
            assert_eq!(a.candidates, b.candidates, "{}", a.week);
            assert_eq!(a.purchase, b.purchase, "{}", a.week);
        }
        // The left-out funnel step still counts in the funnel's fired groups.
        let bit = found
            .fired_bit(&EventName::new("rare_evt").unwrap())
            .unwrap();
        assert!(found.fired.iter().any(|g| g.mask & (1 << bit) != 0));
        assert!(configured.discovery.is_none());
    }

    #[test]
    fn what_is_left_out_is_listed_with_its_reason() {
        let o = observe(spec(&["view_item", "sign_up"], discover(30)), &[]);
        let d = o.discovery.as_ref().unwrap();
        let kept: Vec<&str> = d.kept.iter().map(|f| f.event.as_str()).collect();
        assert_eq!(kept, ["view_item", "add_to_cart", "scroll"]);
        assert_eq!(d.min_units, 30);
        let why: Vec<(&str, LeftOutReason)> = d
            .left_out
            .iter()
            .map(|l| (l.event.as_str(), l.reason))
            .collect();
        assert_eq!(
            why,
            [
                ("page_view", LeftOutReason::Housekeeping),
                ("rare_evt", LeftOutReason::BelowMinUnits),
                ("sign_up", LeftOutReason::NotInLog),
            ]
        );
        let rare = &d.left_out[1];
        assert!(
            rare.units.unwrap() > 0 && rare.units.unwrap() < 30,
            "{rare:?}"
        );
        // Every event is still counted somewhere: rare_evt and page_view among the others.
        assert_eq!(o.other_events["rare_evt"], rare.events);
        assert_eq!(o.other_events["page_view"], 600);
        // The kept volumes are the weekly sums.
        let scroll: u64 = o.weeks.iter().map(|w| w.candidates[2].events).sum();
        assert_eq!(d.kept[2].events, scroll);
    }

    #[test]
    fn names_beyond_the_candidate_limit_are_reported() {
        let mut b = ObservationBuilder::new(spec(&[], discover(1)));
        let many: Vec<String> = (0..40).map(|i| format!("custom_{i:02}")).collect();
        for (i, name) in many.iter().enumerate() {
            let e = Event {
                line: i as u64 + 2,
                seq: i as u64,
                micros: 1_788_739_200_000_000 + i as i64 * MINUTE_US,
                user: "u1",
                session: Some("s1"),
                name,
                device: None,
                channel: None,
                value: None,
            };
            b.push(&e).unwrap();
        }
        let o = b.finish();
        assert_eq!(o.candidates.len(), MAX_CANDIDATES);
        let d = o.discovery.unwrap();
        let over: Vec<&str> = d
            .left_out
            .iter()
            .filter(|l| l.reason == LeftOutReason::CandidateLimit)
            .map(|l| l.event.as_str())
            .collect();
        assert_eq!(over.len(), 40 - MAX_CANDIDATES);
        assert_eq!(over[0], "custom_32");
    }
}
