//! Building the store: the spec validated, then users, sessions and their funnel drawn week by
//! week from independent streams (baseline, giveaway, surge, storefront change).

use super::*;

pub(super) fn validate(spec: &DemoSpec) -> Result<(), DemoError> {
    let bad = |m: String| Err(DemoError::InvalidSpec(m));
    if spec.first_week_monday.weekday() != Weekday::Monday {
        return bad(format!(
            "first_week_monday {} is a {:?}, not a Monday",
            spec.first_week_monday,
            spec.first_week_monday.weekday()
        ));
    }
    if !(1..=520).contains(&spec.weeks) {
        return bad(format!("weeks must be 1..=520, got {}", spec.weeks));
    }
    if spec.sessions_per_week > 10_000_000 {
        return bad(format!(
            "sessions_per_week must be at most 10,000,000, got {}",
            spec.sessions_per_week
        ));
    }
    if !(0.0..1.0).contains(&spec.weekly_traffic_cv) {
        return bad(format!(
            "weekly_traffic_cv must be in [0, 1), got {}",
            spec.weekly_traffic_cv
        ));
    }
    if !(0.0..=1.0).contains(&spec.returning_share) {
        return bad(format!(
            "returning_share must be in [0, 1], got {}",
            spec.returning_share
        ));
    }
    if let Some(s) = &spec.traffic_surge {
        if s.week >= spec.weeks || s.sessions > 10_000_000 {
            return bad(format!(
                "traffic_surge: week {} must be below weeks ({}) and sessions ({}) at most 10,000,000",
                s.week, spec.weeks, s.sessions
            ));
        }
    }
    if let Some(c) = &spec.storefront_change {
        if c.week >= spec.weeks || !(0.0..=1.0).contains(&c.payment_rate) {
            return bad(format!(
                "storefront_change: week {} must be below weeks ({}) and payment_rate ({}) in [0, 1]",
                c.week, spec.weeks, c.payment_rate
            ));
        }
    }
    if let Some(g) = &spec.giveaway {
        if g.last_weeks > spec.weeks {
            return bad(format!(
                "giveaway.last_weeks ({}) exceeds weeks ({})",
                g.last_weeks, spec.weeks
            ));
        }
        if g.sessions_per_week > 10_000_000 {
            return bad(format!(
                "giveaway.sessions_per_week must be at most 10,000,000, got {}",
                g.sessions_per_week
            ));
        }
        if !(0.0..=1.0).contains(&g.purchase_rate) {
            return bad(format!(
                "giveaway.purchase_rate must be in [0, 1], got {}",
                g.purchase_rate
            ));
        }
    }
    Ok(())
}

pub(super) fn build(spec: &DemoSpec) -> Result<Log, DemoError> {
    validate(spec)?;
    let start = spec
        .first_week_monday
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| DemoError::InvalidSpec(format!("first_week_monday: {e}")))?
        .timestamp()
        .as_second();
    let end = start + i64::from(spec.weeks) * WEEK;
    let mut g = Generator {
        start,
        end,
        ids: HashSet::new(),
        users: Vec::new(),
        regulars: Vec::new(),
        sessions: Vec::new(),
        rows: Vec::new(),
        effects: Effects::new(),
        payment: funnel::PAYMENT,
    };
    // Independent streams (weekly traffic, each week's regular sessions, each giveaway week):
    // tuning the funnel does not move weekly traffic, and the giveaway never shifts the store.
    let mut traffic_rng = stream(spec.seed, 0);
    let weekly_sessions: Vec<u64> = (0..spec.weeks)
        .map(|_| weekly_traffic(&mut traffic_rng, spec))
        .collect();
    for (week, &n) in (0..spec.weeks).zip(&weekly_sessions) {
        let mut rng = stream(spec.seed, 1 + u64::from(week));
        g.payment = match &spec.storefront_change {
            Some(c) if c.week == week => c.payment_rate,
            _ => funnel::PAYMENT,
        };
        g.regular_week(&mut rng, spec, week, n);
    }
    g.payment = funnel::PAYMENT;
    if let Some(s) = &spec.traffic_surge {
        let mut rng = stream(spec.seed, (2 << 32) + u64::from(s.week));
        g.surge_week(&mut rng, s);
    }
    if let Some(gw) = &spec.giveaway {
        for week in spec.weeks - gw.last_weeks..spec.weeks {
            let mut rng = stream(spec.seed, (1 << 32) + u64::from(week));
            g.giveaway_week(&mut rng, gw, week);
        }
    }
    let Generator {
        users,
        sessions,
        mut rows,
        ..
    } = g;
    rows.sort_unstable_by_key(|r| (r.ts, sessions[r.session as usize].id, r.seq));
    Ok(Log {
        start,
        first_monday: spec.first_week_monday,
        weeks: spec.weeks,
        users,
        sessions,
        rows,
    })
}

/// Device and channel effects, normalised so the mix averages to 1.
pub(super) struct Effects {
    cart_norm: f64,
    checkout_norm: f64,
}

impl Effects {
    pub(super) fn new() -> Self {
        let (mut cart, mut w_sum, mut w_checkout) = (0.0, 0.0, 0.0);
        for d in 0..DEVICES.len() {
            for c in 0..CHANNELS.len() {
                let m = DEVICE_EFFECT[d] * CHANNEL_EFFECT[c];
                let p = DEVICE_MIX[d] * CHANNEL_MIX[c];
                cart += p * m;
                // Checkout effects are averaged over carts, which skew to the better segments.
                w_sum += p * m;
                w_checkout += p * m * m.powf(funnel::CHECKOUT_EFFECT_POWER);
            }
        }
        Effects {
            cart_norm: cart,
            checkout_norm: w_checkout / w_sum * cart.powf(-funnel::CHECKOUT_EFFECT_POWER),
        }
    }

    /// Segment multiplier on add_to_cart, mean 1 over the traffic mix.
    pub(super) fn cart(&self, d: Device, c: Channel) -> f64 {
        DEVICE_EFFECT[d.index()] * CHANNEL_EFFECT[c.index()] / self.cart_norm
    }

    /// Segment multiplier on begin_checkout, mean 1 over carts.
    pub(super) fn checkout(&self, d: Device, c: Channel) -> f64 {
        self.cart(d, c).powf(funnel::CHECKOUT_EFFECT_POWER) / self.checkout_norm
    }
}

pub(super) struct Generator {
    start: i64,
    end: i64,
    ids: HashSet<u64>,
    users: Vec<User>,
    /// Users of the regular store, in order of first visit (candidates for a return visit).
    regulars: Vec<u32>,
    sessions: Vec<Session>,
    rows: Vec<Row>,
    effects: Effects,
    /// P(add_payment_info | add_shipping_info) in force (changed in the storefront week).
    payment: f64,
}

/// What a session does, decided before its timeline is laid out.
#[derive(Default)]
pub(super) struct Plan {
    views: u32,
    /// 0 = no cart; k = add_to_cart right after the k-th view.
    cart_after_view: u32,
    /// Number of checkout steps reached: 1 begin_checkout .. 4 purchase.
    checkout_steps: u32,
    wishlist: bool,
    sign_up: bool,
}

impl Generator {
    pub(super) fn regular_week(
        &mut self,
        rng: &mut Xoshiro256PlusPlus,
        spec: &DemoSpec,
        week: u32,
        n: u64,
    ) {
        let week_start = self.start + i64::from(week) * WEEK;
        let starts = session_starts(rng, week_start, n);
        for start in starts {
            let returning = !self.regulars.is_empty() && unif(rng) < spec.returning_share;
            let user = if returning {
                // Recent visitors come back more often than old ones.
                let n = self.regulars.len();
                let u = unif(rng);
                let back = ((n as f64) * u * u) as usize;
                self.regulars[n - 1 - back.min(n - 1)]
            } else {
                let device = DEVICES[categorical(rng, &DEVICE_MIX)];
                let intent = gamma(rng, funnel::USER_INTENT_SHAPE) / funnel::USER_INTENT_SHAPE;
                let u = self.new_user(rng, device, intent);
                self.regulars.push(u);
                u
            };
            let device = if returning && unif(rng) >= 0.85 {
                DEVICES[categorical(rng, &DEVICE_MIX)]
            } else {
                self.users[user as usize].device
            };
            let channel = CHANNELS[categorical(rng, &CHANNEL_MIX)];
            self.regular_session(rng, user, device, channel, start);
        }
    }

    pub(super) fn regular_session(
        &mut self,
        rng: &mut Xoshiro256PlusPlus,
        user: u32,
        device: Device,
        channel: Channel,
        start: i64,
    ) {
        let mut plan = Plan::default();
        if unif(rng) < funnel::VIEW {
            plan.views = 1 + geometric(rng, funnel::VIEW_STOP);
            let intent = self.users[user as usize].intent;
            let p_cart = (funnel::CART * self.effects.cart(device, channel) * intent).min(0.9);
            if unif(rng) < p_cart {
                plan.cart_after_view = 1 + below(rng, u64::from(plan.views)) as u32;
                let steps = [
                    (funnel::CHECKOUT * self.effects.checkout(device, channel)).min(0.95),
                    funnel::SHIPPING,
                    self.payment,
                    funnel::PURCHASE,
                ];
                plan.checkout_steps = steps.iter().take_while(|&&p| unif(rng) < p).count() as u32;
            }
            let has_cart = usize::from(plan.cart_after_view > 0);
            plan.wishlist = unif(rng) < funnel::WISHLIST[has_cart];
            plan.sign_up = unif(rng) < funnel::SIGN_UP[1 + has_cart];
        } else {
            plan.sign_up = unif(rng) < funnel::SIGN_UP[0];
        }
        let cart_ts = self.session(rng, user, device, channel, start, &plan);
        // An abandoned cart sometimes closes in a later session, hours to days afterwards.
        if let Some(cart_ts) = cart_ts.filter(|_| plan.checkout_steps < 4) {
            if unif(rng) < funnel::COME_BACK {
                let delay = (3_600.0 + exponential(rng, 1.5 * DAY as f64)).min(6.5 * DAY as f64);
                let back = cart_ts + delay as i64;
                let device = if unif(rng) < 0.75 {
                    device
                } else {
                    DEVICES[categorical(rng, &DEVICE_MIX)]
                };
                let channel = CHANNELS[categorical(rng, &RETURN_CHANNEL_MIX)];
                let plan = Plan {
                    views: 1 + geometric(rng, 0.7),
                    cart_after_view: 1,
                    checkout_steps: 4,
                    wishlist: unif(rng) < funnel::WISHLIST[1] / 2.0,
                    sign_up: unif(rng) < funnel::SIGN_UP[2] / 2.0,
                };
                if back < self.end {
                    self.session(rng, user, device, channel, back, &plan);
                }
            }
        }
    }

    pub(super) fn surge_week(&mut self, rng: &mut Xoshiro256PlusPlus, s: &TrafficSurge) {
        let week_start = self.start + i64::from(s.week) * WEEK;
        let n = poisson(rng, f64::from(s.sessions));
        for start in session_starts(rng, week_start, n) {
            let device = DEVICES[categorical(rng, &DEVICE_MIX)];
            let intent = gamma(rng, funnel::USER_INTENT_SHAPE) / funnel::USER_INTENT_SHAPE;
            // Not added to the returning pool: the surge leaves every other week as it was.
            let user = self.new_user(rng, device, intent);
            self.regular_session(rng, user, device, Channel::PaidSocial, start);
        }
    }

    pub(super) fn giveaway_week(&mut self, rng: &mut Xoshiro256PlusPlus, gw: &Giveaway, week: u32) {
        let week_start = self.start + i64::from(week) * WEEK;
        let n = poisson(rng, f64::from(gw.sessions_per_week));
        for start in session_starts(rng, week_start, n) {
            let device = DEVICES[categorical(rng, &GIVEAWAY_DEVICE_MIX)];
            let channel = CHANNELS[categorical(rng, &GIVEAWAY_CHANNEL_MIX)];
            let user = self.new_user(rng, device, 0.0);
            let plan = if unif(rng) < gw.purchase_rate {
                Plan {
                    views: 1,
                    cart_after_view: 1,
                    checkout_steps: 4,
                    wishlist: false,
                    sign_up: true,
                }
            } else {
                let views = u32::from(unif(rng) < funnel::GIVEAWAY_VIEW);
                let cart = views > 0 && unif(rng) < funnel::GIVEAWAY_CART;
                Plan {
                    views,
                    cart_after_view: u32::from(cart),
                    checkout_steps: 0,
                    wishlist: false,
                    sign_up: unif(rng) < funnel::GIVEAWAY_SIGN_UP,
                }
            };
            self.session(rng, user, device, channel, start, &plan);
        }
    }

    pub(super) fn new_user(
        &mut self,
        rng: &mut Xoshiro256PlusPlus,
        device: Device,
        intent: f64,
    ) -> u32 {
        let id = self.fresh_id(rng);
        self.users.push(User { id, device, intent });
        (self.users.len() - 1) as u32
    }

    /// A 48-bit identifier not used before (users and sessions share one space).
    pub(super) fn fresh_id(&mut self, rng: &mut Xoshiro256PlusPlus) -> u64 {
        loop {
            let id = rng.next_u64() >> 16;
            if self.ids.insert(id) {
                return id;
            }
        }
    }

    /// Lays out a session's events in time and stores them; returns the add_to_cart time if any.
    pub(super) fn session(
        &mut self,
        rng: &mut Xoshiro256PlusPlus,
        user: u32,
        device: Device,
        channel: Channel,
        start: i64,
        plan: &Plan,
    ) -> Option<i64> {
        let mut events: Vec<(i64, Event, u32)> = Vec::with_capacity(8);
        let mut t = start;
        events.push((t, Event::SessionStart, 0));
        let mut view_times = Vec::with_capacity(plan.views as usize);
        let mut cart_ts = None;
        for k in 1..=plan.views {
            t += gap(rng, 4, 45.0);
            events.push((t, Event::ViewItem, 0));
            view_times.push(t);
            if k == plan.cart_after_view {
                t += gap(rng, 3, 25.0);
                events.push((t, Event::AddToCart, 0));
                cart_ts = Some(t);
            }
        }
        let chain = [
            (Event::BeginCheckout, 40.0),
            (Event::AddShippingInfo, 50.0),
            (Event::AddPaymentInfo, 40.0),
            (Event::Purchase, 35.0),
        ];
        for &(event, mean) in chain.iter().take(plan.checkout_steps as usize) {
            t += gap(rng, 5, mean);
            let value = if event == Event::Purchase {
                order_value_cents(rng)
            } else {
                0
            };
            events.push((t, event, value));
        }
        if plan.wishlist && !view_times.is_empty() {
            let v = view_times[below(rng, view_times.len() as u64) as usize];
            events.push((v + gap(rng, 2, 15.0), Event::AddToWishlist, 0));
        }
        if plan.sign_up {
            let span = (t - start + 60) as u64;
            events.push((start + 1 + below(rng, span) as i64, Event::SignUp, 0));
        }
        // Push order breaks ties, so session_start stays first and funnel steps keep their order.
        events.sort_by_key(|e| e.0);
        // A session that would run past the end of the log is moved earlier, not truncated.
        let last = events.last().map_or(start, |e| e.0);
        let shift = (last - (self.end - 1)).max(0);

        let id = self.fresh_id(rng);
        let session = self.sessions.len() as u32;
        self.sessions.push(Session {
            id,
            user,
            device,
            channel,
            start: start - shift,
        });
        for (seq, (ts, event, value_cents)) in events.into_iter().enumerate() {
            self.rows.push(Row {
                ts: ts - shift,
                session,
                seq: seq as u16,
                event,
                value_cents,
            });
        }
        cart_ts.map(|c| c - shift)
    }
}
