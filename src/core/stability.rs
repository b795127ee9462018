//! A stability simulation of the two stages (recommend → hold) on noisy weekly estimates of a
//! stable store, and of a real break: switches per store-year, and weeks to switch.
//!
//! The hard stable case: add_to_cart clears reliably (true clearance 0.97) at 17% precision;
//! begin_checkout, at 40% precision, sits near the cut (true clearance 0.75). The weekly 4-week
//! clearance estimate is an AR(1) around the truth (sd 0.15, week-to-week correlation 0.75: the
//! windows overlap), precision estimates wobble by 3% (relative). The rules before this stage
//! existed — cut at 0.8 for every event, the highest precision lower bound wins, a standing event
//! that stops clearing is replaced at once — are simulated beside the current ones.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::core::hold::{classify, hold, Overrides, Standing, StandingFacts};
use crate::core::recommend::{recommend, Candidate, Params};
use crate::types::{EventName, Interval, Probability};

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// One event's weekly estimate process.
struct Process {
    event: EventName,
    clearance: f64,
    precision: f64,
    dev: f64,
}

impl Process {
    fn new(event: &str, clearance: f64, precision: f64) -> Self {
        Process {
            event: EventName::new(event).expect("a name"),
            clearance,
            precision,
            dev: 0.0,
        }
    }

    /// This week's candidate; `shift` moves the true clearance (a break).
    fn draw(&mut self, rng: &mut Xoshiro256PlusPlus, shift: f64) -> Candidate {
        self.dev = 0.75 * self.dev + (1.0f64 - 0.75 * 0.75).sqrt() * 0.15 * normal(rng);
        let c = (self.clearance + shift + self.dev).clamp(0.0, 1.0);
        let p = self.precision * (1.0 + 0.03 * normal(rng));
        let lift = p / 0.022;
        Candidate {
            depth: self.event.funnel_depth(),
            is_purchase: false,
            event: self.event.clone(),
            clearance: Probability::clamped(c),
            precision: Some(p),
            lift_ci: Some(Interval::new(lift * 0.9, lift * 1.1)),
            exclusion: None,
            derived: false,
        }
    }
}

/// The rules before the stages: cut at 0.8 for all, highest precision (its lower bound moves
/// with it here) wins, a standing event that stops clearing is replaced at once.
fn old_rule(cands: &[Candidate], prev: Option<&Standing>) -> Standing {
    let best = cands
        .iter()
        .filter(|c| c.clearance.get() >= 0.8)
        .max_by(|a, b| {
            a.precision
                .unwrap_or(0.0)
                .total_cmp(&b.precision.unwrap_or(0.0))
        })
        .map(|c| c.event.clone());
    let k = match prev {
        Some(p) if p.best == best => p.best_weeks + 1,
        _ => 1,
    };
    let standing = prev.and_then(|p| p.event.clone());
    let standing_clears = cands
        .iter()
        .any(|c| Some(&c.event) == standing.as_ref() && c.clearance.get() >= 0.8);
    let event = match &standing {
        Some(s) if Some(s) != best.as_ref() && standing_clears && k < 2 => Some(s.clone()),
        _ => best.clone(),
    };
    Standing {
        event,
        best,
        best_weeks: k,
    }
}

/// The current stages for one week.
fn new_rule(cands: &[Candidate], prev: Option<&Standing>) -> Standing {
    let p = Params::with_threshold(Probability::clamped(0.8));
    let standing = prev.and_then(|s| s.event.clone());
    let choice = recommend(cands, standing.as_ref(), &p);
    let best = choice.best.map(|i| cands[i].event.clone());
    let facts = standing.as_ref().map(|s| {
        let c = cands.iter().find(|c| &c.event == s);
        StandingFacts {
            present: c.is_some(),
            usable_on_platform: true,
            flags: Vec::new(),
            surge: None,
            lift_ci: c.and_then(|c| c.lift_ci),
            clearance: c.map_or(0.0, |c| c.clearance.get()),
            tracking_weeks: 0,
        }
    });
    let state = facts.map_or(crate::core::hold::StandingState::Ordinary, |f| {
        classify(&f, &Overrides::default())
    });
    let h = hold(best.as_ref(), prev, state, 2);
    Standing {
        event: h.event,
        best,
        best_weeks: h.best_weeks,
    }
}

type Rule = fn(&[Candidate], Option<&Standing>) -> Standing;

/// Switches per store-year over `years` simulated stable store-years.
fn switches_per_year(rule: Rule, years: u32, seed: u64) -> f64 {
    let mut switches = 0u32;
    for y in 0..years {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed + u64::from(y));
        let mut ev = [
            Process::new("add_to_cart", 0.97, 0.17),
            Process::new("begin_checkout", 0.75, 0.40),
        ];
        let mut prev: Option<Standing> = None;
        // Half a year of burn-in (the first convergence is not a flip-flop), then a year.
        for w in 0..78 {
            let cands: Vec<Candidate> = ev.iter_mut().map(|e| e.draw(&mut rng, 0.0)).collect();
            let now = rule(&cands, prev.as_ref());
            if w >= 26 && prev.as_ref().is_some_and(|p| p.event != now.event) {
                switches += 1;
            }
            prev = Some(now);
        }
    }
    f64::from(switches) / f64::from(years)
}

/// Weeks until the standing add_to_cart is left after its volume halves for good (true clearance
/// 0.97 → 0.2, a lasting loss of half its events), median over `stores`.
fn weeks_to_switch_on_a_break(rule: Rule, stores: u32, seed: u64) -> u32 {
    let mut weeks = Vec::new();
    for s in 0..stores {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed + u64::from(s));
        let mut ev = [
            Process::new("add_to_cart", 0.97, 0.17),
            Process::new("view_cart", 0.97, 0.12),
        ];
        let mut prev: Option<Standing> = None;
        for w in 0..30 {
            let shift = if w >= 20 { -0.77 } else { 0.0 };
            let mut cands: Vec<Candidate> = Vec::new();
            for (i, e) in ev.iter_mut().enumerate() {
                cands.push(e.draw(&mut rng, if i == 0 { shift } else { 0.0 }));
            }
            let now = rule(&cands, prev.as_ref());
            if w >= 20 && now.event.as_ref().map(|e| e.as_str()) != Some("add_to_cart") {
                weeks.push(w - 19);
                break;
            }
            prev = Some(now);
        }
    }
    weeks.sort_unstable();
    weeks.get(weeks.len() / 2).copied().unwrap_or(u32::MAX)
}

#[test]
fn a_stable_store_switches_at_most_a_quarter_time_a_year_and_a_real_break_within_two_weeks() {
    let old = switches_per_year(old_rule, 200, 7);
    let new = switches_per_year(new_rule, 200, 7);
    eprintln!("switches per store-year: before {old:.2}, after {new:.2}");
    assert!(new <= 0.25, "new rule: {new:.2} switches per store-year");
    assert!(
        old > 4.0 * new.max(0.05),
        "old rule: {old:.2}, new {new:.2}"
    );
    assert!(weeks_to_switch_on_a_break(new_rule, 100, 11) <= 2);
    // The old rule left at once (1 week); the new one confirms first but stays within two.
    assert_eq!(weeks_to_switch_on_a_break(old_rule, 100, 11), 1);
}
