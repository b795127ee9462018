//! The grouped counts that folded units add to, kept apart from the open units so that they
//! can be added on a thread of their own: the observer hands over one [`Folded`] record per
//! unit, in fold order, and the counts come out the same wherever they are added.

use std::sync::mpsc;
use std::thread::JoinHandle;

use rustc_hash::{FxHashMap, FxHashSet};

use super::users::{self, UserFeatures, UserSums};
use super::{ClusterSums, FiredGroup, Ordering, Pattern, ValueGroup};
use crate::types::IsoWeek;

/// One folded unit, as the grouped counts need it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Folded {
    pub(super) week: IsoWeek,
    pub(super) device: u16,
    pub(super) channel: u16,
    /// Its features (candidates that count for it).
    pub(super) mask: u32,
    /// Candidates that fired in it, features or not.
    pub(super) seen: u32,
    /// Candidates that fired before, or only after, the user's first purchase at or after its
    /// start; set only for a purchasing unit.
    pub(super) before: u32,
    pub(super) after: u32,
    /// Tracked events that fired anywhere in it.
    pub(super) fired: u64,
    pub(super) user: u32,
    pub(super) label: bool,
    /// Whether it holds a purchase itself.
    pub(super) purchase: bool,
    /// The label purchase's value.
    pub(super) value: Option<f64>,
}

/// A week's counts from folded units.
#[derive(Debug, Clone, Default)]
pub(super) struct WeekTally {
    pub(super) units: u64,
    pub(super) purchase_units: u64,
    /// Per candidate: units where it fired; for derived ones also their events (one a unit)
    /// and distinct users.
    pub(super) cand_units: Vec<u64>,
    pub(super) derived_events: Vec<u64>,
    pub(super) derived_users: Vec<u64>,
}

/// The grouped counts of the folded units.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Candidate bits (the purchase's bit).
    k: usize,
    /// First derived candidate bit.
    derived_from: usize,
    pub(super) weeks: FxHashMap<IsoWeek, WeekTally>,
    pub(super) patterns: FxHashMap<(IsoWeek, u16, u16, u32), (u64, u64)>,
    pub(super) fired: FxHashMap<(IsoWeek, u16, u16, u64), u64>,
    pub(super) values: FxHashMap<(IsoWeek, u32), (u64, f64, f64)>,
    pub(super) ordering: Vec<Ordering>,
    /// Per user (by index): folded units and labels, for [`ClusterSums`].
    user_sums: Vec<UserSums>,
    /// Per-candidate feature counts of the users with two or more folded units.
    user_features: UserFeatures,
    /// (week, user, derived candidate) already counted among the week's users.
    derived_seen: FxHashSet<(IsoWeek, u32, u8)>,
    pub(super) units: u64,
}

impl Tally {
    /// Empty counts for `k` candidate bits, the derived ones from bit `derived_from`.
    pub(super) fn new(k: usize, derived_from: usize) -> Self {
        Tally {
            k,
            derived_from,
            ordering: vec![Ordering::default(); k],
            ..Tally::default()
        }
    }

    /// Adds one folded unit.
    pub(super) fn add(&mut self, f: &Folded) {
        let k = self.k;
        let w = self.weeks.entry(f.week).or_insert_with(|| WeekTally {
            cand_units: vec![0; k],
            derived_events: vec![0; k],
            derived_users: vec![0; k],
            ..WeekTally::default()
        });
        w.units += 1;
        w.purchase_units += u64::from(f.purchase);
        let mut seen = f.seen;
        while seen != 0 {
            let j = seen.trailing_zeros() as usize;
            seen &= seen - 1;
            w.cand_units[j] += 1;
            if j >= self.derived_from {
                w.derived_events[j] += 1;
                if self.derived_seen.insert((f.week, f.user, j as u8)) {
                    w.derived_users[j] += 1;
                }
            }
        }
        for (bits, before) in [(f.before, true), (f.after, false)] {
            let mut bits = bits;
            while bits != 0 {
                let o = &mut self.ordering[bits.trailing_zeros() as usize];
                bits &= bits - 1;
                if before {
                    o.before_purchase += 1;
                } else {
                    o.after_purchase_only += 1;
                }
            }
        }
        let e = self
            .patterns
            .entry((f.week, f.device, f.channel, f.mask))
            .or_default();
        e.0 += 1;
        e.1 += u64::from(f.label);
        let user = f.user as usize;
        if user >= self.user_sums.len() {
            self.user_sums.resize(user + 1, UserSums::default());
        }
        users::add_unit(
            &mut self.user_sums[user],
            &mut self.user_features,
            f.user,
            f.mask,
            f.label,
        );
        *self
            .fired
            .entry((f.week, f.device, f.channel, f.fired))
            .or_default() += 1;
        if let Some(v) = f.value {
            let g = self.values.entry((f.week, f.mask)).or_default();
            g.0 += 1;
            g.1 += v;
            g.2 += v * v;
        }
        self.units += 1;
    }

    /// The user-clustered sums over every user (one with no folded unit adds nothing).
    pub(super) fn clusters(&self) -> ClusterSums {
        ClusterSums::of_users(&self.user_sums, &self.user_features, self.k)
    }

    /// The grouped counts (patterns, fired groups, value groups), each sorted, with weeks as
    /// indices by `week_index`.
    pub(super) fn groups(
        &self,
        week_index: &FxHashMap<IsoWeek, u16>,
    ) -> (Vec<Pattern>, Vec<FiredGroup>, Vec<ValueGroup>) {
        let wi = |w: &IsoWeek| week_index[w];
        let mut patterns: Vec<Pattern> = self
            .patterns
            .iter()
            .map(|(&(week, device, channel, mask), &(n, y))| Pattern {
                week: wi(&week),
                device,
                channel,
                mask,
                units: n,
                purchasers: y,
            })
            .collect();
        patterns.sort_by_key(|p| (p.week, p.device, p.channel, p.mask));
        let mut fired: Vec<FiredGroup> = self
            .fired
            .iter()
            .map(|(&(week, device, channel, mask), &units)| FiredGroup {
                week: wi(&week),
                device,
                channel,
                mask,
                units,
            })
            .collect();
        fired.sort_by_key(|g| (g.week, g.device, g.channel, g.mask));
        let mut values: Vec<ValueGroup> = self
            .values
            .iter()
            .map(|(&(week, mask), &(valued, sum, sum_sq))| ValueGroup {
                week: wi(&week),
                mask,
                valued,
                sum,
                sum_sq,
            })
            .collect();
        values.sort_by_key(|g| (g.week, g.mask));
        (patterns, fired, values)
    }
}

/// Records handed to the tally thread at once.
const FOLDED_BATCH: usize = 2048;
/// Batches in flight to the tally thread.
const FOLDED_IN_FLIGHT: usize = 8;

/// Where folded units go: added in place, or on a thread of their own in the same order.
pub(super) enum TallySink {
    Here(Box<Tally>),
    Thread {
        batch: Vec<Folded>,
        to: mpsc::SyncSender<Vec<Folded>>,
        spare: mpsc::Receiver<Vec<Folded>>,
        worker: JoinHandle<Tally>,
    },
}

impl TallySink {
    /// Counts added on a thread started now.
    pub(super) fn thread(tally: Tally) -> Self {
        let (to, from) = mpsc::sync_channel::<Vec<Folded>>(FOLDED_IN_FLIGHT);
        let (give_back, spare) = mpsc::channel::<Vec<Folded>>();
        let worker = std::thread::spawn(move || {
            let mut tally = tally;
            for mut batch in from.iter() {
                batch.iter().for_each(|f| tally.add(f));
                batch.clear();
                let _ = give_back.send(batch);
            }
            tally
        });
        TallySink::Thread {
            batch: Vec::with_capacity(FOLDED_BATCH),
            to,
            spare,
            worker,
        }
    }

    /// Adds (or queues) one folded unit.
    pub(super) fn add(&mut self, f: Folded) {
        match self {
            TallySink::Here(t) => t.add(&f),
            TallySink::Thread {
                batch, to, spare, ..
            } => {
                batch.push(f);
                if batch.len() >= FOLDED_BATCH {
                    let next = spare
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(FOLDED_BATCH));
                    // The worker only stops when this side hangs up, so sending cannot fail
                    // unless it panicked; `finish` then passes the panic on.
                    let _ = to.send(std::mem::replace(batch, next));
                }
            }
        }
    }

    /// The counts, once every queued unit is added.
    pub(super) fn finish(self) -> Tally {
        match self {
            TallySink::Here(t) => *t,
            TallySink::Thread {
                batch, to, worker, ..
            } => {
                if !batch.is_empty() {
                    let _ = to.send(batch);
                }
                drop(to);
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random folded units over 3 weeks, 50 users and 6 candidate bits
    /// (bits 4 and 5 derived), with values on labelled ones.
    fn records(n: usize) -> Vec<Folded> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let weeks: Vec<IsoWeek> = ["2026-W40", "2026-W41", "2026-W42"]
            .iter()
            .map(|w| w.parse().expect("a valid week"))
            .collect();
        (0..n)
            .map(|_| {
                let r = next();
                let seen = (r & 0x3f) as u32;
                let label = r >> 6 & 3 == 0;
                let purchasing = label || r >> 8 & 7 == 0;
                let before = if purchasing {
                    seen & (r >> 12) as u32
                } else {
                    0
                };
                let after = if purchasing { seen & !before } else { 0 };
                Folded {
                    week: weeks[(r >> 20) as usize % 3],
                    device: (r >> 24) as u16 % 3,
                    channel: (r >> 26) as u16 % 2,
                    mask: seen & !after,
                    seen,
                    before,
                    after,
                    fired: r >> 30 & 0x7f,
                    user: (r >> 40) as u32 % 50,
                    label,
                    purchase: r >> 8 & 7 == 0,
                    value: label.then(|| (r >> 48) as f64 / 7.0),
                }
            })
            .collect()
    }

    #[test]
    fn counts_added_on_a_thread_equal_those_added_in_place() {
        let recs = records(20_000);
        let mut here = TallySink::Here(Box::new(Tally::new(6, 4)));
        let mut there = TallySink::thread(Tally::new(6, 4));
        for f in &recs {
            here.add(*f);
            there.add(*f);
        }
        let (a, b) = (here.finish(), there.finish());
        assert_eq!(a.units, 20_000);
        assert_eq!(a.units, b.units);
        assert_eq!(a.ordering, b.ordering);
        // f64 sums too: the thread adds the units in the order they were handed over.
        let sorted = |t: &Tally| {
            let mut v: Vec<_> = t.values.iter().map(|(k, v)| (*k, *v)).collect();
            v.sort_by_key(|(k, _)| *k);
            v
        };
        assert_eq!(sorted(&a), sorted(&b));
        let index: FxHashMap<IsoWeek, u16> = a
            .weeks
            .keys()
            .enumerate()
            .map(|(i, w)| (*w, i as u16))
            .collect();
        assert_eq!(a.groups(&index), b.groups(&index));
        for (w, ta) in &a.weeks {
            let tb = &b.weeks[w];
            assert_eq!(
                (
                    ta.units,
                    ta.purchase_units,
                    &ta.cand_units,
                    &ta.derived_events,
                    &ta.derived_users
                ),
                (
                    tb.units,
                    tb.purchase_units,
                    &tb.cand_units,
                    &tb.derived_events,
                    &tb.derived_users
                )
            );
            // A derived candidate's users are distinct (week, user) pairs: at most its units.
            for j in 4..6 {
                assert!(ta.derived_users[j] <= ta.derived_events[j]);
                assert!(ta.derived_users[j] <= 50);
            }
        }
        assert_eq!(a.clusters(), b.clusters());
    }
}
