//! The calibration store simulator: a store with known truth, written as a canonical event log.
//!
//! Users arrive each week (a gamma-Poisson count, so weekly traffic varies with CV ≈ 0.12), keep
//! their device, mostly their channel, and a latent intent; each has one or more sessions
//! (geometric, mean ≈ 1.7) a few days apart, so returning users make several sessions. Every
//! session walks the funnel view_item → add_to_cart → begin_checkout → add_payment_info →
//! purchase with rates that depend on device × channel and intent; an abandoned cart makes the
//! next session more likely to buy (purchases that close in a later session). `sign_up` is mildly
//! predictive (more likely after a cart), `search` is unrelated (it fires first, independently).
//!
//! Each [`Scenario`] changes the store in the last one or two weeks of the log (or throughout),
//! and the simulator knows the truth the report is judged against: every session's label without
//! censoring (purchases after the log's end are simulated but not written).

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Seconds in a day and a week.
pub const DAY: i64 = 86_400;
/// Seconds in a week.
pub const WEEK: i64 = 7 * DAY;
/// Unix seconds of Monday 2026-03-02 00:00 UTC (ISO 2026-W10), the log's first week.
pub const START: i64 = 1_772_409_600;
/// Weeks simulated before the log starts, so that the log opens with returning users.
const BURN_IN: i64 = 4;

/// What changes in the simulated store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Nothing changes.
    Stable,
    /// +30% new visitors in the last two weeks, behaving like the others.
    Growth,
    /// Paid-social arrivals ×2.5 in the last two weeks (a prospecting push).
    MixShift,
    /// A sweepstakes in the last two weeks: a flood of sign_ups from people who never buy.
    Sweepstakes,
    /// add_to_cart tag loses 80% of its events in the last week.
    TagBreak1,
    /// add_to_cart tag loses 80% of its events in the last two weeks.
    TagBreak2,
    /// `search` fires mostly in high-converting channels but does nothing within any channel.
    Confounded,
    /// A thank-you page (`view_receipt`) opens a new session as the order is confirmed.
    Leakage,
    /// Traffic ±25% and intent ±10% over a 10-week cycle.
    Seasonal,
}

impl Scenario {
    /// Every scenario, in table order.
    pub const ALL: [Scenario; 9] = [
        Scenario::Stable,
        Scenario::Growth,
        Scenario::MixShift,
        Scenario::Seasonal,
        Scenario::Confounded,
        Scenario::Sweepstakes,
        Scenario::TagBreak1,
        Scenario::TagBreak2,
        Scenario::Leakage,
    ];

    /// Name used on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Stable => "stable",
            Scenario::Growth => "growth",
            Scenario::MixShift => "mix_shift",
            Scenario::Sweepstakes => "sweepstakes",
            Scenario::TagBreak1 => "tag_break_1w",
            Scenario::TagBreak2 => "tag_break_2w",
            Scenario::Confounded => "confounded",
            Scenario::Leakage => "leakage",
            Scenario::Seasonal => "seasonal",
        }
    }

    /// The (event, flag) a broken store should raise, if any.
    pub fn expected_flag(self) -> Option<(&'static str, &'static str)> {
        match self {
            Scenario::Sweepstakes => Some(("sign_up", "broken_surge")),
            Scenario::TagBreak1 | Scenario::TagBreak2 => Some(("add_to_cart", "tracking_break")),
            Scenario::Leakage => Some(("view_receipt", "leaky")),
            _ => None,
        }
    }
}

/// Event codes of a row.
pub const EVENTS: [&str; 9] = [
    "session_start",
    "search",
    "view_item",
    "sign_up",
    "add_to_cart",
    "begin_checkout",
    "add_payment_info",
    "purchase",
    "view_receipt",
];
const START_EV: u8 = 0;
const SEARCH: u8 = 1;
const VIEW: u8 = 2;
const SIGN_UP: u8 = 3;
const CART: u8 = 4;
const CHECKOUT: u8 = 5;
const PAYMENT: u8 = 6;
const PURCHASE: u8 = 7;
const RECEIPT: u8 = 8;

/// Device levels, their shares and purchase-intent multipliers.
pub const DEVICES: [(&str, f64, f64); 3] = [
    ("mobile", 0.60, 0.80),
    ("desktop", 0.33, 1.40),
    ("tablet", 0.07, 1.00),
];
/// Channel levels, their shares of new users and purchase-intent multipliers.
pub const CHANNELS: [(&str, f64, f64); 5] = [
    ("paid_social", 0.25, 0.55),
    ("paid_search", 0.25, 1.20),
    ("organic", 0.25, 1.00),
    ("direct", 0.15, 1.40),
    ("email", 0.10, 1.80),
];
const PAID_SOCIAL: u8 = 0;

/// One row of the log.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Unix seconds.
    pub ts: i64,
    /// User number.
    pub user: u32,
    /// Session number.
    pub session: u32,
    /// Index into [`EVENTS`].
    pub ev: u8,
    /// Index into [`DEVICES`].
    pub device: u8,
    /// Index into [`CHANNELS`].
    pub channel: u8,
    /// Order value in cents (purchases only).
    pub cents: u32,
}

/// What the simulation knows that the log does not say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Truth {
    /// Sessions in the log with view_item (precision denominator).
    pub view_sessions: u64,
    /// Of them, sessions whose user purchased within 7 days of the session's start, seen
    /// without censoring (purchases after the log's end included).
    pub view_buyers: u64,
}

/// A simulated store.
#[derive(Debug, Clone)]
pub struct Store {
    /// Rows in time order (ties by generation order).
    pub rows: Vec<Row>,
    /// The truth.
    pub truth: Truth,
    /// Sessions started per log week.
    pub weekly_sessions: Vec<u64>,
}

struct Ctx<'a> {
    rng: Xoshiro256PlusPlus,
    scenario: Scenario,
    weeks: i64,
    sessions: u32,
    rows: &'a mut Vec<Row>,
}

/// Standard normal (Box–Muller).
fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Gamma(shape, scale 1), Marsaglia–Tsang (shape ≥ 1 here).
fn gamma(rng: &mut Xoshiro256PlusPlus, shape: f64) -> f64 {
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = 1.0 - rng.gen::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// Poisson: Knuth below 30, rounded normal above (the arrival counts are in the hundreds).
fn poisson(rng: &mut Xoshiro256PlusPlus, lambda: f64) -> u64 {
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0, rng.gen::<f64>());
        while p > limit {
            k += 1;
            p *= rng.gen::<f64>();
        }
        return k;
    }
    (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u64
}

fn pick(rng: &mut Xoshiro256PlusPlus, weights: &[f64]) -> u8 {
    let total: f64 = weights.iter().sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i as u8;
        }
        x -= w;
    }
    (weights.len() - 1) as u8
}

fn seasonal(week: i64) -> f64 {
    (std::f64::consts::TAU * week as f64 / 10.0).sin()
}

struct User {
    id: u32,
    device: u8,
    channel: u8,
    intent: f64,
    sweeper: bool,
    cart_pending_until: i64,
    purchases: Vec<i64>,
    sessions: Vec<(i64, bool)>,
}

/// Log-week index of a time (negative in the burn-in).
fn week_of(t: i64) -> i64 {
    (t - START).div_euclid(WEEK)
}

impl Ctx<'_> {
    fn push(&mut self, u: &User, t: i64, session: u32, ev: u8, channel: u8, cents: u32) {
        self.rows.push(Row {
            ts: t,
            user: u.id,
            session,
            ev,
            device: u.device,
            channel,
            cents,
        });
    }

    fn lossy_cart(&mut self, week: i64) -> bool {
        let broken = match self.scenario {
            Scenario::TagBreak1 => week == self.weeks - 1,
            Scenario::TagBreak2 => week >= self.weeks - 2,
            _ => false,
        };
        broken && self.rng.gen::<f64>() < 0.8
    }

    /// One session of `u` starting at `t`: its rows, and the user's state after it.
    fn session(&mut self, u: &mut User, t: i64, returning: bool) {
        let week = week_of(t);
        let sid = self.sessions;
        self.sessions += 1;
        let channel = if returning && self.rng.gen::<f64>() < 0.5 {
            3 // direct
        } else {
            u.channel
        };
        let mut now = t;
        let mut step = |rng: &mut Xoshiro256PlusPlus| {
            now += 15 + (rng.gen::<f64>() * 100.0) as i64;
            now
        };
        self.push(u, t, sid, START_EV, channel, 0);
        let search_p = match self.scenario {
            Scenario::Confounded if matches!(channel, 1 | 3 | 4) => 0.55,
            Scenario::Confounded => 0.05,
            _ => 0.20,
        };
        if self.rng.gen::<f64>() < search_p {
            let s = step(&mut self.rng);
            self.push(u, s, sid, SEARCH, channel, 0);
        }
        let pending = u.cart_pending_until >= t;
        if self.rng.gen::<f64>() >= if pending { 1.0 } else { 0.85 } {
            u.sessions.push((t, false));
            return;
        }
        let s = step(&mut self.rng);
        self.push(u, s, sid, VIEW, channel, 0);
        if u.sweeper {
            if self.rng.gen::<f64>() < 0.95 {
                let s = step(&mut self.rng);
                self.push(u, s, sid, SIGN_UP, channel, 0);
            }
            u.sessions.push((t, true));
            return;
        }
        let season = match self.scenario {
            Scenario::Seasonal => 1.0 + 0.10 * seasonal(week),
            _ => 1.0,
        };
        let seg = DEVICES[u.device as usize].2 * CHANNELS[channel as usize].2 * u.intent * season;
        let p_cart = if pending { 0.35 } else { (0.10 * seg).min(0.9) };
        let cart = self.rng.gen::<f64>() < p_cart;
        let p_sign = 0.02 + if cart { 0.04 } else { 0.0 };
        if self.rng.gen::<f64>() < p_sign {
            let s = step(&mut self.rng);
            self.push(u, s, sid, SIGN_UP, channel, 0);
        }
        u.sessions.push((t, true));
        if !cart {
            return;
        }
        let s = step(&mut self.rng);
        if !self.lossy_cart(week) {
            self.push(u, s, sid, CART, channel, 0);
        }
        let funnel = [(CHECKOUT, (0.30 * seg.sqrt()).min(0.95)), (PAYMENT, 0.70)];
        for (ev, p) in funnel {
            if self.rng.gen::<f64>() >= p {
                u.cart_pending_until = t + 7 * DAY;
                return;
            }
            let s = step(&mut self.rng);
            self.push(u, s, sid, ev, channel, 0);
        }
        if self.rng.gen::<f64>() >= 0.72 {
            u.cart_pending_until = t + 7 * DAY;
            return;
        }
        let tp = step(&mut self.rng);
        let cents = ((20.0 + 30.0 * (0.5 * normal(&mut self.rng)).exp()) * 100.0) as u32;
        u.cart_pending_until = 0;
        u.purchases.push(tp);
        if self.scenario == Scenario::Leakage && self.rng.gen::<f64>() < 0.7 {
            // The payment provider redirects back: a new session opens just before the server
            // records the order in the checkout session, and the thank-you page fires in it.
            let sid2 = self.sessions;
            self.sessions += 1;
            self.push(u, tp - 20, sid2, START_EV, channel, 0);
            self.push(u, tp + 5, sid2, RECEIPT, channel, 0);
            u.sessions.push((tp - 20, false));
        }
        self.push(u, tp, sid, PURCHASE, channel, cents);
    }

    /// New users arriving in week `w` (log-week index), and all their sessions.
    fn arrivals(&mut self, w: i64, per_week: f64, truth: &mut Truth, weekly: &mut [u64]) {
        let last2 = w >= self.weeks - 2;
        let mut lambda = per_week / 1.7;
        let mut channels: Vec<f64> = CHANNELS.iter().map(|c| c.1).collect();
        match self.scenario {
            Scenario::Growth if last2 => lambda *= 1.3,
            Scenario::MixShift if last2 => {
                lambda *= 1.0 + 1.5 * channels[PAID_SOCIAL as usize];
                channels[PAID_SOCIAL as usize] *= 2.5;
            }
            Scenario::Seasonal => lambda *= 1.0 + 0.25 * seasonal(w),
            _ => {}
        }
        let cv: f64 = 0.13;
        let level = gamma(&mut self.rng, 1.0 / (cv * cv)) * cv * cv;
        let mut n = poisson(&mut self.rng, lambda * level);
        let sweepers = match self.scenario {
            Scenario::Sweepstakes if last2 => poisson(&mut self.rng, 0.4 * per_week),
            _ => 0,
        };
        n += sweepers;
        let devices: Vec<f64> = DEVICES.iter().map(|d| d.1).collect();
        for i in 0..n {
            let sweeper = i >= n - sweepers;
            let mut u = User {
                id: 0,
                device: pick(&mut self.rng, &devices),
                channel: if sweeper {
                    PAID_SOCIAL
                } else {
                    pick(&mut self.rng, &channels)
                },
                intent: (0.8 * normal(&mut self.rng) - 0.32).exp(),
                sweeper,
                cart_pending_until: 0,
                purchases: Vec::new(),
                sessions: Vec::new(),
            };
            u.id = self.sessions; // unique: the first session's number
            let mut t = START + w * WEEK + (self.rng.gen::<f64>() * WEEK as f64) as i64;
            let mut returning = false;
            loop {
                if t >= START + (self.weeks + 2) * WEEK {
                    break;
                }
                self.session(&mut u, t, returning);
                if sweeper || self.rng.gen::<f64>() >= 0.41 {
                    break;
                }
                returning = true;
                t += 3_600 + (-2.5 * DAY as f64 * (1.0 - self.rng.gen::<f64>()).ln()) as i64;
            }
            self.score(&u, truth, weekly);
        }
    }

    /// Adds the user's sessions in the log to the truth and the weekly counts.
    fn score(&self, u: &User, truth: &mut Truth, weekly: &mut [u64]) {
        for &(s, viewed) in &u.sessions {
            let w = week_of(s);
            if !(0..self.weeks).contains(&w) {
                continue;
            }
            weekly[w as usize] += 1;
            if viewed {
                truth.view_sessions += 1;
                if u.purchases.iter().any(|&p| p >= s && p <= s + 7 * DAY) {
                    truth.view_buyers += 1;
                }
            }
        }
    }
}

/// Simulates `weeks` complete log weeks of a store with `per_week` sessions a week on average.
pub fn simulate(scenario: Scenario, per_week: f64, weeks: u32, seed: u64) -> Store {
    let mut rows = Vec::with_capacity((per_week * weeks as f64 * 2.6) as usize);
    let mut truth = Truth::default();
    let mut weekly = vec![0u64; weeks as usize];
    let mut ctx = Ctx {
        rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        scenario,
        weeks: i64::from(weeks),
        sessions: 0,
        rows: &mut rows,
    };
    for w in -BURN_IN..i64::from(weeks) {
        ctx.arrivals(w, per_week, &mut truth, &mut weekly);
    }
    let end = START + i64::from(weeks) * WEEK;
    rows.retain(|r| r.ts >= START && r.ts < end);
    rows.sort_by_key(|r| r.ts);
    Store {
        rows,
        truth,
        weekly_sessions: weekly,
    }
}

/// A store's weekly sessions and sessions with each event, as a markdown table.
pub fn describe(scenario: Scenario, per_week: f64, weeks: u32, seed: u64) -> String {
    use std::collections::HashSet;
    use std::fmt::Write;
    let s = simulate(scenario, per_week, weeks, seed);
    let mut seen: Vec<HashSet<(u32, u8)>> = vec![HashSet::new(); weeks as usize];
    let mut first: std::collections::HashMap<u32, i64> = std::collections::HashMap::new();
    for r in &s.rows {
        let t = *first.entry(r.session).or_insert(r.ts);
        seen[week_of(t) as usize].insert((r.session, r.ev));
    }
    let mut out = format!(
        "{} at {per_week} sessions/week (seed {seed}); view_item true precision {:.4}\n| week | sessions |",
        scenario.name(),
        s.truth.view_buyers as f64 / s.truth.view_sessions.max(1) as f64
    );
    for e in &EVENTS[1..] {
        let _ = write!(out, " {e} |");
    }
    out.push('\n');
    for (w, set) in seen.iter().enumerate() {
        let _ = write!(out, "| {w} | {} |", s.weekly_sessions[w]);
        for ev in 1..EVENTS.len() as u8 {
            let _ = write!(out, " {} |", set.iter().filter(|x| x.1 == ev).count());
        }
        out.push('\n');
    }
    out
}

/// Writes the store as a canonical CSV event log (Unix-second timestamps).
pub fn write_csv(rows: &[Row], out: &mut impl std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "timestamp,user_id,session_id,event_name,device,channel,value"
    )?;
    for r in rows {
        let value = if r.cents > 0 {
            format!("{}.{:02}", r.cents / 100, r.cents % 100)
        } else {
            String::new()
        };
        writeln!(
            out,
            "{},u{},s{},{},{},{},{}",
            r.ts,
            r.user,
            r.session,
            EVENTS[r.ev as usize],
            DEVICES[r.device as usize].0,
            CHANNELS[r.channel as usize].0,
            value
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_store_has_the_intended_shape() {
        let s = simulate(Scenario::Stable, 3000.0, 10, 1);
        let mean = s.weekly_sessions.iter().sum::<u64>() as f64 / 10.0;
        assert!((2400.0..3600.0).contains(&mean), "{mean}");
        let p = s.truth.view_buyers as f64 / s.truth.view_sessions as f64;
        assert!((0.01..0.05).contains(&p), "{p}");
    }
}
