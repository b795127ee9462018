//! Finishing: closing every unit and aggregating the observations.

use super::*;

impl ObservationBuilder {
    /// Closes every unit, resolves labels, and aggregates patterns and weekly volumes.
    pub fn finish(mut self) -> Observations {
        let k = self.purchase_idx as usize;
        let (lo, hi) = self.span.unwrap_or((0, 0));
        while let Some(id) = self.queue.pop_front() {
            self.fold(id, Some(hi));
        }
        let sink = std::mem::replace(&mut self.tally, TallySink::Here(Box::default()));
        let mut tally = sink.finish();
        self.add_tally_weeks(&tally);
        self.flush_user_weeks(|_| true);
        for w in &mut self.weeks {
            close_week(w);
        }
        // Weekly event counts define the weeks; units and users are added below.
        let accs: BTreeMap<IsoWeek, WeekAcc> = self.weeks.drain(..).map(|w| (w.week, w)).collect();
        let week_list = fill_gaps(accs.keys().copied().collect());
        let week_index: FxHashMap<IsoWeek, u16> = week_list
            .iter()
            .enumerate()
            .map(|(i, w)| (*w, i as u16))
            .collect();
        let weeks = week_volumes(&week_list, accs, k);
        let weeks = judge_coverage(weeks, &self.spec.coverage);
        let (patterns, fired, values) = tally.groups(&week_index);
        let levels = |l: Levels| if l.seen { l.names } else { Vec::new() };
        let clusters = tally.clusters();
        // With derived rules the bits are: raw candidates, unused bits, derived rules, purchase.
        let raw = self.spec.candidates.len();
        let from = usize::from(self.derived_from);
        let mut names = self.spec.candidates.clone();
        if !self.spec.derived.is_empty() {
            let unused = EventName::new("unused").expect("a valid name");
            names.resize(from, unused);
            names.extend(self.spec.derived.iter().map(|r| r.name.clone()));
        }
        let derived_bits: Vec<usize> = (from..from + self.spec.derived.len()).collect();
        let obs = Observations {
            unit: self.spec.unit,
            candidates: names,
            purchase: self.spec.purchase.clone(),
            weeks,
            devices: levels(self.devices),
            channels: levels(self.channels),
            patterns,
            ordering: std::mem::take(&mut tally.ordering),
            units: tally.units,
            users: self.user_state.len() as u64,
            censored_units: self.censored,
            label_window_days: self.spec.label_window_days,
            sessions_inferred: self.inferred_sessions > 0,
            session_id_events: self.with_session_id,
            // Counted only where such events may join a session (not GA4's export, whose
            // pushdown SQL has no per-event count to match).
            session_id_missing: if self.with_session_id > 0 && self.join_missing {
                self.missing_session_id
            } else {
                0
            },
            session_id_joined: self.joined_session,
            inferred_sessions: self.inferred_sessions,
            other_events: self
                .other_names
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect(),
            span_micros: (lo, hi),
            extra_events: self.extra_events,
            fired,
            values,
            clusters: Some(clusters),
            discovery: None,
            derived: Vec::new(),
        };
        let layout = discover::Layout {
            raw,
            derived: &derived_bits,
            k_old: k,
        };
        let mut obs = match &self.spec.discover {
            Some(d) => discover::settle(obs, d, self.seeded, &self.funnel_steps, layout),
            None if !derived_bits.is_empty() => {
                let keep: Vec<usize> = (0..raw).chain(derived_bits.iter().copied()).collect();
                discover::project(obs, &keep, &[], k)
            }
            None => obs,
        };
        obs.derived = self
            .spec
            .derived
            .iter()
            .filter_map(|r| {
                let candidate = obs.candidates.iter().position(|c| *c == r.name)?;
                Some(DerivedCandidate {
                    candidate,
                    rule: r.clone(),
                    measured_from: None,
                    selected_for: Vec::new(),
                    searched: 0,
                })
            })
            .collect();
        obs
    }

    /// Adds the folded units' weekly counts to the weeks' accumulators (each unit's week was
    /// opened when it was folded).
    fn add_tally_weeks(&mut self, tally: &Tally) {
        for (week, t) in &tally.weeks {
            let w = &mut self.weeks[self.week_slot[week] as usize];
            w.units += t.units;
            w.purchase_units += t.purchase_units;
            for (j, n) in t.cand_units.iter().enumerate() {
                w.cand_units[j] += n;
                w.events[j] += t.derived_events[j];
                w.cand_users[j] += t.derived_users[j];
            }
        }
    }
}

/// The weekly volumes of `week_list` from the weeks' accumulators (a week without one is empty).
fn week_volumes(
    week_list: &[IsoWeek],
    mut accs: BTreeMap<IsoWeek, WeekAcc>,
    k: usize,
) -> Vec<WeekVolumes> {
    week_list
        .iter()
        .map(|&w| {
            let Some(a) = accs.remove(&w) else {
                return WeekVolumes {
                    week: w,
                    complete: false,
                    days: 0,
                    set_aside: None,
                    units: 0,
                    users: 0,
                    candidates: vec![Volume::default(); k],
                    purchase: Volume::default(),
                    revenue: 0.0,
                };
            };
            WeekVolumes {
                week: w,
                complete: false,
                days: a.days,
                set_aside: None,
                units: a.units,
                users: a.users,
                candidates: (0..k)
                    .map(|j| Volume {
                        events: a.events[j],
                        units: a.cand_units[j],
                        users: a.cand_users[j],
                    })
                    .collect(),
                purchase: Volume {
                    events: a.events[k],
                    units: a.purchase_units,
                    users: a.purchase_users,
                },
                revenue: a.revenue,
            }
        })
        .collect()
}
