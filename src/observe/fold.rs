//! Folding closed units into the grouped counts.

use super::*;

impl ObservationBuilder {
    /// Resolves a unit's label and features and adds it to the grouped counts; frees its slot.
    /// `hi` is the end of the data when folding at the end (for censoring); while streaming a
    /// unit is folded only after its label window has passed, so it is never censored.
    pub(super) fn fold(&mut self, id: u32, hi: Option<i64>) {
        let window = self.window;
        let moments = self.derived_moments(id);
        let start = self.units[id as usize].start.0;
        let slot = self.fold_week_slot_of(start);
        let week = self.weeks[slot].week;
        let u = &mut self.units[id as usize];
        let purchases: &[(i64, u64, Option<f64>)] =
            self.purchases.get(&u.user).map_or(&[], |p| p.as_slice());
        let first_after = purchases.partition_point(|&(t, _, _)| t < start);
        let label_purchase = purchases
            .get(first_after)
            .filter(|&&(t, _, _)| t <= start.saturating_add(window));
        let label = label_purchase.is_some();
        let label_value = label_purchase.and_then(|p| p.2);
        // The guard's cut: the user's first purchase at or after the unit's start, wherever it
        // happened (this unit or another of the user's), so an event after the purchase never
        // becomes a feature, even in a separate session (a thank-you page's own session).
        let cut = purchases
            .get(first_after)
            .map(|&(t, s, _)| (t, s))
            .into_iter()
            .chain(u.purchase())
            .min();
        // Ordering is counted among purchasing units: a purchase in the unit, or a label.
        let purchasing = u.purchase().is_some() || label;
        if hi.is_some_and(|hi| start.saturating_add(window) > hi) {
            self.censored += 1;
        }
        let mut f = Folded {
            week,
            device: u.device,
            channel: u.channel,
            mask: 0,
            seen: 0,
            before: 0,
            after: 0,
            fired: u.fired,
            user: u.user,
            label,
            purchase: u.purchase().is_some(),
            value: label_value,
        };
        for &(j, t, s) in u.firsts.iter().chain(moments.iter()) {
            let bit = 1u32 << j;
            f.seen |= bit;
            let in_window = self.spec.unit == UnitKind::Session || t <= start + window;
            match cut {
                Some(p) if (t, s) > p => f.after |= bit,
                Some(_) => {
                    f.before |= bit;
                    f.mask |= bit;
                }
                None if in_window => f.mask |= bit,
                None => {}
            }
        }
        self.moments = moments;
        // Predicted rules score the features just formed (all before the cut by construction).
        let fired = derive::predicted(
            &self.rules,
            f.mask,
            segment((&self.devices, &self.channels), u.device, u.channel),
        );
        // Without derived rules `derived_from` is 32 and nothing fired.
        let fired = fired.checked_shl(u32::from(self.derived_from)).unwrap_or(0);
        f.seen |= fired;
        f.mask |= fired;
        if cut.is_some() {
            f.before |= fired;
        }
        // Ordering is counted among purchasing units only.
        if !purchasing {
            (f.before, f.after) = (0, 0);
        }
        self.tally.add(f);
        self.release(id, start, hi);
    }

    /// Releases folded unit `id` (starting at `start`): its user's bookkeeping, purchases no
    /// later unit can need (while streaming, `hi` = `None`), its week bits, its session id, its
    /// slot.
    fn release(&mut self, id: u32, start: i64, hi: Option<i64>) {
        let u = &mut self.units[id as usize];
        let user = &mut self.user_state[u.user as usize];
        if !u.logged {
            if user.open == id {
                user.open = NO_UNIT;
            }
        } else if user.logged == id {
            user.logged = NO_UNIT;
        }
        if hi.is_none() {
            // Units fold in creation order, and none of this user's open or later units can
            // start more than the lateness before this one (each was opened by an event within
            // the lateness of a watermark at least this unit's start): older purchases are
            // never needed again.
            let keep_from = start.saturating_sub(self.lateness);
            if let Some(p) = self.purchases.get_mut(&u.user) {
                let cut = p.partition_point(|&(t, _, _)| t < keep_from);
                p.drain(..cut);
                if p.is_empty() {
                    self.purchases.remove(&u.user);
                }
            }
        }
        if u.week != NO_WEEK {
            flush_user_week(
                &mut self.weeks[u.week as usize],
                u.user,
                u.week_bits,
                self.purchase_idx,
            );
            u.week = NO_WEEK;
        }
        if u.firsts.spilled() {
            u.firsts = Firsts::new();
        }
        if std::mem::take(&mut u.logged) {
            let (h, next) = (fx_hash(u.sid.bytes()), u.next);
            self.unlink_session(id, h, next);
        }
        self.free.push(id);
    }

    /// The moments (derived bit, time, seq) unit `id` met each derived rule, in a buffer reused
    /// across units (given back through `self.moments`).
    fn derived_moments(&mut self, id: u32) -> Vec<(u8, i64, u64)> {
        let mut moments = std::mem::take(&mut self.moments);
        moments.clear();
        if self.rules.is_empty() {
            return moments;
        }
        let u = &self.units[id as usize];
        let seg = segment((&self.devices, &self.channels), u.device, u.channel);
        let occ = u.occ.as_deref().map_or(&[][..], Vec::as_slice);
        derive::moments(&self.rules, &u.firsts, occ, seg, &mut moments);
        for m in &mut moments {
            m.0 += self.derived_from;
        }
        moments
    }

    /// Removes unit `id` (whose session id hashes to `h`, followed by `next` in its chain)
    /// from the session table.
    pub(super) fn unlink_session(&mut self, id: u32, h: u64, next: u32) {
        let units = &self.units;
        // Every unit of an entry's chain has its session id.
        let sid = units[id as usize].sid.bytes();
        let same = |&head: &u32| head == id || units[head as usize].sid.bytes() == sid;
        let Ok(entry) = self.sessions.find_entry(h, same) else {
            return;
        };
        let head = *entry.get();
        if head == id {
            if next == NO_UNIT {
                let _ = entry.remove();
            } else {
                *entry.into_mut() = next;
            }
            return;
        }
        let mut p = head;
        while self.units[p as usize].next != NO_UNIT {
            if self.units[p as usize].next == id {
                self.units[p as usize].next = next;
                return;
            }
            p = self.units[p as usize].next;
        }
    }

    /// Moves the open units' pending week bits into the distinct-user sets of the weeks selected by
    /// `which` (before those weeks are closed).
    pub(super) fn flush_user_weeks(&mut self, which: impl Fn(&WeekAcc) -> bool) {
        let pick: Vec<bool> = self.weeks.iter().map(which).collect();
        for &id in &self.queue {
            let u = &mut self.units[id as usize];
            if u.week != NO_WEEK && pick[u.week as usize] {
                flush_user_week(
                    &mut self.weeks[u.week as usize],
                    u.user,
                    u.week_bits,
                    self.purchase_idx,
                );
                u.week = NO_WEEK;
                u.week_bits = 0;
            }
        }
    }
}

/// The device and channel names of a unit's levels ("" for none).
fn segment<'a>(
    (devices, channels): (&'a Levels, &'a Levels),
    device: u16,
    channel: u16,
) -> (&'a str, &'a str) {
    fn name(l: &Levels, i: u16) -> &str {
        l.names.get(usize::from(i)).map_or("", |s| s.as_str())
    }
    (name(devices, device), name(channels, channel))
}
