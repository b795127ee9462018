//! The builder: starting it, and pushing events into units.

use super::*;

impl ObservationBuilder {
    /// Starts an empty builder; `spec.candidates` must hold at most [`MAX_CANDIDATES`] events
    /// (checked when settings are validated). With discovery the purchase takes bit
    /// [`MAX_CANDIDATES`], so that candidates found while reading fill the bits below it.
    pub fn new(mut spec: ObserveSpec) -> Self {
        spec.derived.truncate(MAX_CANDIDATES);
        let d = spec.derived.len();
        spec.candidates.truncate(MAX_CANDIDATES - d);
        if let Some(disc) = &spec.discover {
            let hk = &disc.housekeeping;
            // A derived rule's raw events stay candidates even when housekeeping.
            let bases: Vec<EventName> = spec
                .derived
                .iter()
                .flat_map(|r| r.kind.bases())
                .cloned()
                .collect();
            spec.candidates
                .retain(|c| !hk.contains(c) || bases.contains(c));
        }
        let mut rules = derive::compile(&spec.derived, &mut spec.candidates);
        if spec.candidates.len() > MAX_CANDIDATES - d {
            // Settings validation keeps raw and derived within the bits; never overlap them.
            spec.candidates.truncate(MAX_CANDIDATES - d);
            spec.derived.clear();
            rules.clear();
        }
        let d = spec.derived.len();
        let occ_rules = derive::occurrence_rules(&rules);
        let mut names = FxHashMap::default();
        for (i, c) in spec.candidates.iter().enumerate() {
            names.insert(c.as_str().into(), NameKind::Tracked(i as u8));
        }
        let purchase_idx = if spec.discover.is_some() || d > 0 {
            MAX_CANDIDATES as u8
        } else {
            spec.candidates.len() as u8
        };
        names.insert(
            spec.purchase.as_str().into(),
            NameKind::Tracked(purchase_idx),
        );
        let k = purchase_idx as usize;
        let seeded = spec.candidates.len();
        ObservationBuilder {
            lateness: i64::from(spec.lateness_minutes) * MINUTE_US,
            window: i64::from(spec.label_window_days) * DAY_US,
            gap: i64::from(spec.session_gap_minutes) * MINUTE_US,
            spec,
            names,
            other_names: Vec::new(),
            purchase_idx,
            users: UserIds::default(),
            users_before_fold: 0,
            user_state: Vec::new(),
            purchases: FxHashMap::default(),
            extra_events: Vec::new(),
            funnel_steps: Vec::new(),
            seeded,
            sessions: HashTable::new(),
            units: Vec::new(),
            free: Vec::new(),
            queue: VecDeque::new(),
            devices: Levels::default(),
            channels: Levels::default(),
            weeks: Vec::new(),
            week_slot: FxHashMap::default(),
            week_cache: (0, 0, u32::MAX),
            fold_cache: (0, 0, u32::MAX),
            next_week_close: i64::MAX,
            span: None,
            inferred_sessions: 0,
            with_session_id: 0,
            missing_session_id: 0,
            joined_session: 0,
            join_missing: true,
            tally: TallySink::Here(Box::new(Tally::new(k, MAX_CANDIDATES - d))),
            rules,
            occ_rules,
            derived_from: (MAX_CANDIDATES - d) as u8,
            moments: Vec::new(),
            censored: 0,
            stats: StreamStats::default(),
        }
    }

    /// Also tracks these events (funnel steps that are not candidates) in [`Observations::fired`];
    /// events already tracked, and any beyond 64 tracked events in all, are ignored (see
    /// [`tracked_order`]).
    ///
    /// With discovery, a step that may be a candidate becomes one (it is left out at the end,
    /// as any candidate, when it fires too little, and then stays tracked as an extra).
    pub fn track_also(&mut self, events: &[EventName]) {
        let k = self.purchase_idx as usize;
        for e in events {
            if *e != self.spec.purchase && !self.funnel_steps.contains(e) {
                self.funnel_steps.push(e.clone());
            }
            if self.names.contains_key(e.as_str()) {
                continue;
            }
            if self.discover_as_candidate(e.as_str()) {
                continue;
            }
            let bit = k + 1 + self.extra_events.len();
            if bit >= 64 {
                break;
            }
            self.names
                .insert(e.as_str().into(), NameKind::Extra(bit as u8));
            self.extra_events.push(e.clone());
        }
        if self.span.is_none() {
            self.seeded = self.spec.candidates.len();
        }
    }

    /// With discovery, makes a name not seen before a candidate when it is not housekeeping
    /// and a candidate bit is free; whether it did.
    fn discover_as_candidate(&mut self, name: &str) -> bool {
        let Some(d) = &self.spec.discover else {
            return false;
        };
        let j = self.spec.candidates.len();
        if j >= usize::from(self.derived_from) || d.housekeeping.iter().any(|h| h.as_str() == name)
        {
            return false;
        }
        // A name with surrounding blanks would merge with the trimmed one: left as it is.
        let Some(e) = EventName::new(name).filter(|e| e.as_str() == name) else {
            return false;
        };
        self.spec.candidates.push(e);
        self.names.insert(name.into(), NameKind::Tracked(j as u8));
        true
    }

    /// Counts folded units on a thread of their own (the counts are the same: units are handed
    /// over in fold order). Takes effect only before the first event.
    pub fn tally_on_thread(&mut self) {
        if self.span.is_some() {
            return;
        }
        if let TallySink::Here(t) = &mut self.tally {
            let tally = std::mem::take(&mut **t);
            self.tally = TallySink::thread(tally);
        }
    }

    /// Whether an event without a session id joins its user's log session when within the
    /// inactivity gap of it (default true). Off, it always goes to an inferred session (GA4's
    /// export, whose session-less events the pushdown SQL treats that way).
    pub fn join_missing_sessions(&mut self, join: bool) {
        self.join_missing = join;
    }

    /// How the stream went so far (open units, late events); read it before
    /// [`ObservationBuilder::finish`].
    pub fn stream_stats(&self) -> StreamStats {
        self.stats
    }

    /// The slot in `weeks` of the ISO week containing `micros` (cached: one time-zone
    /// conversion per week, not per event).
    pub(super) fn week_slot_of(&mut self, micros: i64) -> usize {
        let (s, e, slot) = self.week_cache;
        if slot != u32::MAX && s <= micros && micros < e {
            return slot as usize;
        }
        let slot = self.week_slot_uncached(micros);
        self.week_cache = (self.weeks[slot].start, self.weeks[slot].end, slot as u32);
        slot
    }

    /// [`Self::week_slot_of`] for unit starts, which trail the events by a label window: a cache
    /// of their own, so folding does not evict the events' week.
    pub(super) fn fold_week_slot_of(&mut self, micros: i64) -> usize {
        let (s, e, slot) = self.fold_cache;
        if slot != u32::MAX && s <= micros && micros < e {
            return slot as usize;
        }
        let slot = self.week_slot_uncached(micros);
        self.fold_cache = (self.weeks[slot].start, self.weeks[slot].end, slot as u32);
        slot
    }

    pub(super) fn week_slot_uncached(&mut self, micros: i64) -> usize {
        let (week, start, end) = week_bounds(micros, &self.spec.time_zone);
        let slot = match self.week_slot.get(&week) {
            Some(&i) => i,
            None => {
                let k = self.purchase_idx as usize;
                let i = self.weeks.len() as u32;
                self.weeks.push(WeekAcc {
                    week,
                    start,
                    end,
                    events: vec![0; k + 1],
                    days: 0,
                    revenue: 0.0,
                    units: 0,
                    cand_units: vec![0; k],
                    purchase_units: 0,
                    users: 0,
                    cand_users: vec![0; k],
                    purchase_users: 0,
                    active: Some(WeekUsers::default()),
                });
                self.week_slot.insert(week, i);
                self.next_week_close = self.next_week_close.min(end);
                i
            }
        };
        slot as usize
    }

    /// Adds one event. Returns the reason when the event cannot be placed: an event older than
    /// its user's already-closed inferred session, or one later than the allowed lateness that
    /// could change what was already folded. The reader counts it as a skipped row.
    pub fn push(&mut self, ev: &Event<'_>) -> Result<(), SkipReason> {
        let user = self.users.index(ev.user);
        self.push_user(ev, user)
    }

    /// [`ObservationBuilder::push`] for an event whose user the caller numbered: `user` is
    /// the number a [`UserIds`] gave `ev.user`, fed with the same events in the same order (so
    /// that the numbering can run on another thread). Not to be mixed with `push`.
    pub fn push_user(&mut self, ev: &Event<'_>, user: u32) -> Result<(), SkipReason> {
        let late = self
            .span
            .is_some_and(|(_, hi)| ev.micros < hi.saturating_sub(self.lateness));
        if late {
            self.user_seen(user);
            if user < self.users_before_fold {
                self.stats.late_events += 1;
                return Err(SkipReason::OutOfOrder);
            }
            // Nothing of this user is folded yet: keep the event, and stop folding so that
            // nothing it (or a later straggler) touches can be folded too early.
            self.stats.unordered_from_line.get_or_insert(ev.line);
        }
        let kind = match self.names.get(ev.name).copied() {
            Some(k) => k,
            None if self.discover_as_candidate(ev.name) => self.names[ev.name],
            None => {
                let i = self.other_names.len() as u32;
                self.other_names.push((ev.name.to_string(), 0));
                self.names.insert(ev.name.into(), NameKind::Other(i));
                NameKind::Other(i)
            }
        };
        let (user, unit) = match (self.spec.unit, ev.session) {
            (UnitKind::Session, Some(sid)) => {
                self.with_session_id += 1;
                (user, self.session_unit(ev, sid, user))
            }
            _ => {
                self.user_seen(user);
                (user, self.unit_for(ev, user)?)
            }
        };
        let device = self.devices.get(ev.device);
        let channel = self.channels.get(ev.channel);
        let purchase_idx = self.purchase_idx;
        let u = &mut self.units[unit as usize];
        let at = (ev.micros, ev.seq);
        // `<=`: the unit's own first event sets its segments too (start == at on creation).
        if at <= u.start {
            u.start = at;
            u.device = device;
            u.channel = channel;
        }
        u.last = u.last.max(ev.micros);
        let tracked = match kind {
            NameKind::Tracked(t) => Some(t),
            _ => None,
        };
        match kind {
            NameKind::Tracked(bit) | NameKind::Extra(bit) => u.fired |= 1u64 << bit,
            NameKind::Other(i) => self.other_names[i as usize].1 += 1,
        }
        if let Some(t) = tracked {
            if t == purchase_idx {
                // Timestamps are bounded, so no event compares at or after `NO_PURCHASE`.
                if at < u.purchase {
                    u.purchase = at;
                }
                let p = self.purchases.entry(user).or_default();
                let pos = p.partition_point(|&(t, s, _)| (t, s) < at);
                p.insert(pos, (ev.micros, ev.seq, ev.value));
            } else {
                match u.firsts.iter_mut().find(|f| f.0 == t) {
                    Some(f) => {
                        if (f.1, f.2) > at {
                            (f.1, f.2) = at;
                        }
                    }
                    None => u.firsts.push((t, ev.micros, ev.seq)),
                }
                if let Some(rs) = self.occ_rules.get(t as usize) {
                    for &r in rs {
                        let occ = u.occ.get_or_insert_with(Box::default);
                        derive::record(occ, r, &self.rules[r as usize], at, ev.value);
                    }
                }
            }
        }
        let slot = self.week_slot_of(ev.micros);
        let w = &mut self.weeks[slot];
        w.days |= 1 << ((ev.micros - w.start) / DAY_US).clamp(0, 6);
        let mut bits = 1u64 << 63;
        if let Some(t) = tracked {
            w.events[t as usize] += 1;
            if t == purchase_idx {
                w.revenue += ev.value.unwrap_or(0.0);
            }
            bits |= 1 << t;
        }
        let u = &mut self.units[unit as usize];
        if u.week != slot as u32 {
            if u.week != NO_WEEK {
                let k = self.purchase_idx;
                flush_user_week(&mut self.weeks[u.week as usize], user, u.week_bits, k);
            }
            u.week = slot as u32;
            u.week_bits = 0;
        }
        u.week_bits |= bits;
        let hi = match self.span {
            None => {
                self.span = Some((ev.micros, ev.micros));
                ev.micros
            }
            Some((a, b)) => {
                let hi = b.max(ev.micros);
                self.span = Some((a.min(ev.micros), hi));
                if hi == b {
                    return Ok(()); // the watermark did not move: nothing new can be folded
                }
                hi
            }
        };
        self.advance(hi);
        Ok(())
    }

    /// Whether nothing may be folded any more (user units, or input out of order).
    pub(super) fn folding_stopped(&self) -> bool {
        self.spec.unit == UnitKind::User || self.stats.unordered_from_line.is_some()
    }

    /// Folds every unit, then closes every week, that no event within the lateness of watermark
    /// `hi` can change any more.
    pub(super) fn advance(&mut self, hi: i64) {
        if self.folding_stopped() {
            return;
        }
        let horizon = hi.saturating_sub(self.lateness);
        while let Some(&id) = self.queue.front() {
            let u = &self.units[id as usize];
            let done = u
                .start
                .0
                .saturating_add(self.window)
                .max(u.last.saturating_add(self.gap));
            if done >= horizon {
                break;
            }
            self.queue.pop_front();
            self.prefetch_folds();
            self.fold(id, None);
            self.users_before_fold = self.user_state.len() as u32;
        }
        if horizon > self.next_week_close {
            self.users_before_fold = self.user_state.len() as u32;
            self.flush_user_weeks(|w| w.end < horizon);
            let mut next = i64::MAX;
            for w in &mut self.weeks {
                if w.active.is_none() {
                    continue;
                }
                if w.end < horizon {
                    close_week(w);
                } else {
                    next = next.min(w.end);
                }
            }
            self.next_week_close = next;
        }
    }

    /// Starts loading what the folds a few places down the queue will read: the unit
    /// `FOLD_AHEAD` places down (its first lines), and the user state of the unit half as far
    /// (whose unit was loaded by an earlier call).
    fn prefetch_folds(&self) {
        const FOLD_AHEAD: usize = 8;
        if let Some(&far) = self.queue.get(FOLD_AHEAD) {
            let p = self.units.as_ptr().wrapping_add(far as usize).cast::<u8>();
            for line in 0..std::mem::size_of::<UnitState>().div_ceil(64) {
                prefetch(p.wrapping_add(64 * line));
            }
        }
        if let Some(&near) = self.queue.get(FOLD_AHEAD / 2) {
            let user = self.units[near as usize].user as usize;
            prefetch(self.user_state.as_ptr().wrapping_add(user));
        }
    }

    /// Adds the state of user `user` when it is new (users are numbered in order of first
    /// sight, so a new one is the next number).
    pub(super) fn user_seen(&mut self, user: u32) {
        let u = user as usize;
        if u >= self.user_state.len() {
            self.user_state
                .resize_with(u + 1, || UserState::new(NO_UNIT));
        }
    }

    /// The unit of an event of user `user` with a log session id, from the session table (a
    /// session id used by several users chains their units).
    pub(super) fn session_unit(&mut self, ev: &Event<'_>, sid: &str, user: u32) -> u32 {
        let h = fx_hash(sid.as_bytes());
        let units = &self.units;
        let head = self
            .sessions
            .find(h, |&k| units[k as usize].sid.bytes() == sid.as_bytes())
            .copied();
        let Some(head) = head else {
            self.user_seen(user);
            let id = self.log_unit(ev, user, sid);
            let units = &self.units;
            self.sessions
                .insert_unique(h, id, |&k| fx_hash(units[k as usize].sid.bytes()));
            return id;
        };
        let mut id = head;
        loop {
            let u = &self.units[id as usize];
            if u.user == user {
                return id;
            }
            if u.next == NO_UNIT {
                break;
            }
            id = u.next;
        }
        // A session id used by another user: another unit, chained after the head.
        self.user_seen(user);
        let id = self.log_unit(ev, user, sid);
        self.units[id as usize].next = self.units[head as usize].next;
        self.units[head as usize].next = id;
        id
    }

    /// Opens the unit of a new log session (id `sid`). When the user's open inferred session
    /// (events without a session id) ends within the inactivity gap of this event, that unit
    /// becomes the log session instead: the session-less events before it join it.
    pub(super) fn log_unit(&mut self, ev: &Event<'_>, user: u32, sid: &str) -> u32 {
        let open = self.user_state[user as usize].open;
        if self.join_missing && open != NO_UNIT {
            let u = &mut self.units[open as usize];
            if ev.micros <= u.last + self.gap && ev.micros >= u.start.0 - self.gap {
                u.logged = true;
                u.sid = Id::new(sid);
                self.joined_session += u64::from(u.blank);
                self.inferred_sessions -= 1;
                let state = &mut self.user_state[user as usize];
                state.open = NO_UNIT;
                state.logged = open;
                return open;
            }
        }
        let id = self.new_unit(ev, user, Some(sid));
        self.user_state[user as usize].logged = id;
        id
    }

    /// Finds or opens the unit of an event without a log session (user units, inferred
    /// sessions).
    pub(super) fn unit_for(&mut self, ev: &Event<'_>, user: u32) -> Result<u32, SkipReason> {
        match (self.spec.unit, ev.session) {
            (UnitKind::User, _) => {
                let open = self.user_state[user as usize].open;
                if open != NO_UNIT {
                    return Ok(open);
                }
                let id = self.new_unit(ev, user, None);
                self.user_state[user as usize].open = id;
                Ok(id)
            }
            (UnitKind::Session, _) => {
                self.missing_session_id += 1;
                let logged = self.user_state[user as usize].logged;
                if logged != NO_UNIT && self.join_missing {
                    let u = &self.units[logged as usize];
                    if ev.micros <= u.last + self.gap && ev.micros >= u.start.0 - self.gap {
                        self.joined_session += 1;
                        return Ok(logged);
                    }
                }
                let open = self.user_state[user as usize].open;
                if open != NO_UNIT {
                    let u = &mut self.units[open as usize];
                    if ev.micros <= u.last + self.gap && ev.micros >= u.start.0 - self.gap {
                        u.blank += 1;
                        return Ok(open);
                    }
                    if ev.micros < u.start.0 - self.gap {
                        return Err(SkipReason::OutOfOrder);
                    }
                }
                let id = self.new_unit(ev, user, None);
                self.units[id as usize].blank = 1;
                self.user_state[user as usize].open = id;
                self.inferred_sessions += 1;
                Ok(id)
            }
        }
    }

    /// Opens a unit in a free slot (reusing its `occ` buffer) and queues it for folding.
    pub(super) fn new_unit(&mut self, ev: &Event<'_>, user: u32, session: Option<&str>) -> u32 {
        let state = |firsts: Firsts, occ: Option<Box<Vec<(u8, i64, u64)>>>| UnitState {
            user,
            start: (ev.micros, ev.seq),
            last: ev.micros,
            device: 0,
            channel: 0,
            firsts,
            occ,
            purchase: NO_PURCHASE,
            fired: 0,
            logged: session.is_some(),
            next: NO_UNIT,
            sid: Id::new(session.unwrap_or("")),
            week: NO_WEEK,
            week_bits: 0,
            blank: 0,
        };
        let id = match self.free.pop() {
            Some(id) => {
                let slot = &mut self.units[id as usize];
                let mut firsts = std::mem::take(&mut slot.firsts);
                firsts.clear();
                let mut occ = std::mem::take(&mut slot.occ);
                if let Some(o) = occ.as_mut() {
                    o.clear();
                }
                *slot = state(firsts, occ);
                id
            }
            None => {
                self.units.push(state(Firsts::new(), None));
                (self.units.len() - 1) as u32
            }
        };
        self.queue.push_back(id);
        self.stats.peak_open_units = self.stats.peak_open_units.max(self.queue.len() as u64);
        id
    }
}
