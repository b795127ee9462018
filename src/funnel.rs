//! Funnel diagnosis: step rates per ISO week, overall and per device and channel, and for each
//! week-over-week change of a step rate, how much is traffic mix and how much is the step itself.
//!
//! A unit **reaches** step `k` when every step `1..=k` fired anywhere in the unit (a closed
//! funnel: order inside the unit is not checked, and events after a purchase count). The rate of
//! step `k` is units reaching `k` / units reaching `k − 1`; the first step's denominator is every
//! unit that started in the week. Week-over-week changes are decomposed over device × channel
//! segments by [`crate::stats::decompose::kitagawa`]; the verdict uses Benjamini–Hochberg q-values
//! over all mix and rate tests of the run.

use serde::Serialize;

use crate::format::percent;
use crate::observe::Observations;
use crate::stats::decompose::{kitagawa, Decomposition, SegmentCounts};
use crate::stats::fdr::benjamini_hochberg;
use crate::stats::interval::wilson;
use crate::types::{EventName, Interval, IsoWeek};

/// Rate of one step in one week (overall or in one segment).
#[derive(Debug, Clone, Serialize)]
pub struct StepRate {
    /// The step's event.
    pub step: EventName,
    /// Units that reached this step.
    pub reached: u64,
    /// Units that reached the previous step (all units for the first step).
    pub base: u64,
    /// reached / base.
    pub rate: Option<f64>,
    /// Wilson interval of the rate.
    pub rate_ci: Option<Interval>,
}

/// All step rates of one week.
#[derive(Debug, Clone, Serialize)]
pub struct WeekFunnel {
    /// ISO week.
    pub week: IsoWeek,
    /// Whether the data cover the whole week.
    pub complete: bool,
    /// Units that started this week (in the segment).
    pub units: u64,
    /// One per step, in order.
    pub steps: Vec<StepRate>,
}

/// The weekly funnel of one segment level (one dimension at a time).
#[derive(Debug, Clone, Serialize)]
pub struct SegmentFunnel {
    /// `device` or `channel`.
    pub dimension: &'static str,
    /// The level (`mobile`, `paid_social`, ...).
    pub level: String,
    /// Its weekly funnel.
    pub weeks: Vec<WeekFunnel>,
}

/// What a week-over-week change of a step rate was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The traffic moved between segments that convert differently; rates within segments held.
    Mix,
    /// The step's rate moved within segments: something on the site (or in tracking) changed.
    Rate,
    /// Both parts are significant and of comparable size.
    MixAndRate,
    /// Neither part is significant.
    Noise,
}

impl Verdict {
    /// The verdict's name in words.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Mix => "a traffic-mix story",
            Verdict::Rate => {
                "a within-segment rate story (the site, its tracking, or who arrives inside a segment changed)"
            }
            Verdict::MixAndRate => "both traffic mix and the step's rate moved",
            Verdict::Noise => "within noise",
        }
    }
}

/// A week-over-week change of one step rate, decomposed.
#[derive(Debug, Clone, Serialize)]
pub struct StepChange {
    /// The later week.
    pub week: IsoWeek,
    /// The earlier week it is compared with (the previous week with units).
    pub previous: IsoWeek,
    /// The step.
    pub step: EventName,
    /// The step whose units are the denominator (`null` for the first step: all units).
    pub of: Option<EventName>,
    /// Decomposition over device × channel segments: rates, change, mix and rate parts with
    /// intervals and p-values, CMH test.
    pub decomposition: Decomposition,
    /// BH q-value of the mix part's test (over all mix and rate tests of the run).
    pub mix_q: f64,
    /// BH q-value of the rate part's test.
    pub rate_q: f64,
    /// Mix, rate, both, or noise.
    pub verdict: Verdict,
    /// The one-dimension segment whose share moved most (mix) or the device × channel segment
    /// contributing most to the rate part (rate).
    pub driver: Option<String>,
    /// One sentence for people, with the numbers.
    pub message: String,
}

/// The whole funnel diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct FunnelReport {
    /// Steps in order.
    pub steps: Vec<EventName>,
    /// Steps never seen in the log.
    pub absent_steps: Vec<EventName>,
    /// Segments the decomposition runs over.
    pub decomposed_over: String,
    /// Weekly funnel over all units.
    pub overall: Vec<WeekFunnel>,
    /// Weekly funnel per device level, then per channel level.
    pub by_segment: Vec<SegmentFunnel>,
    /// Every week-over-week change of every step, in time then step order.
    pub changes: Vec<StepChange>,
}

impl FunnelReport {
    /// The changes whose verdict is not noise.
    pub fn notable(&self) -> impl Iterator<Item = &StepChange> {
        self.changes.iter().filter(|c| c.verdict != Verdict::Noise)
    }
}

/// Counts `[week][device][channel][k]`: k = 0 all units, k = i + 1 units reaching step i.
struct Counts {
    nd: usize,
    nc: usize,
    k: usize,
    data: Vec<u64>,
}

impl Counts {
    fn idx(&self, w: usize, d: usize, c: usize, k: usize) -> usize {
        ((w * self.nd + d) * self.nc + c) * self.k + k
    }
    fn get(&self, w: usize, d: usize, c: usize, k: usize) -> u64 {
        self.data[self.idx(w, d, c, k)]
    }
    /// Sum over the segments `keep` selects.
    fn sum(&self, w: usize, k: usize, keep: impl Fn(usize, usize) -> bool) -> u64 {
        let mut s = 0;
        for d in 0..self.nd {
            for c in 0..self.nc {
                if keep(d, c) {
                    s += self.get(w, d, c, k);
                }
            }
        }
        s
    }
}

fn week_funnel(
    obs: &Observations,
    counts: &Counts,
    steps: &[EventName],
    w: usize,
    confidence: f64,
    keep: impl Fn(usize, usize) -> bool,
) -> WeekFunnel {
    let at = |k: usize| counts.sum(w, k, &keep);
    WeekFunnel {
        week: obs.weeks[w].week,
        complete: obs.weeks[w].complete,
        units: at(0),
        steps: steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (reached, base) = (at(i + 1), at(i));
                StepRate {
                    step: s.clone(),
                    reached,
                    base,
                    rate: (base > 0).then(|| reached as f64 / base as f64),
                    rate_ci: wilson(reached, base, confidence),
                }
            })
            .collect(),
    }
}

/// Percentage points, signed, one decimal.
fn pts(x: f64) -> String {
    format!("{:+.1} pts", x * 100.0)
}

/// Percentage points, signed, one decimal, without the unit (inside an interval).
fn pt(x: f64) -> String {
    format!("{:+.1}", x * 100.0)
}

/// Diagnoses the funnel of `steps` (tracked in `obs.fired`; see
/// [`crate::observe::ObservationBuilder::track_also`]).
pub fn diagnose(
    obs: &Observations,
    steps: &[EventName],
    confidence: f64,
    alpha: f64,
) -> FunnelReport {
    let counts = step_counts(obs, steps);
    let nw = obs.weeks.len();
    let overall: Vec<WeekFunnel> = (0..nw)
        .map(|w| week_funnel(obs, &counts, steps, w, confidence, |_, _| true))
        .collect();
    let by_segment = segment_funnels(obs, &counts, steps, confidence);
    // Week-over-week decompositions, their mix and rate tests one Benjamini–Hochberg family.
    let raw = decompositions(obs, &counts, steps, &overall, confidence);
    let ps: Vec<Option<f64>> = raw
        .iter()
        .flat_map(|r| [Some(r.3.mix.p_value), Some(r.3.rate.p_value)])
        .collect();
    let qs = benjamini_hochberg(&ps);
    let changes = raw
        .into_iter()
        .enumerate()
        .map(|(j, r)| {
            let mix_q = qs.get(2 * j).copied().flatten().unwrap_or(1.0);
            let rate_q = qs.get(2 * j + 1).copied().flatten().unwrap_or(1.0);
            step_change(obs, &counts, steps, r, (mix_q, rate_q), (confidence, alpha))
        })
        .collect();
    FunnelReport {
        steps: steps.to_vec(),
        absent_steps: absent_steps(obs, steps),
        decomposed_over: if obs.devices.is_empty() && obs.channels.is_empty() {
            "none (the log has no device or channel): every change is rate".into()
        } else {
            "device × channel segments".into()
        },
        overall,
        by_segment,
        changes,
    }
}

/// Units per week × device × channel that reached each step (index 0: every unit).
fn step_counts(obs: &Observations, steps: &[EventName]) -> Counts {
    let nd = obs.devices.len().max(1);
    let nc = obs.channels.len().max(1);
    let nw = obs.weeks.len();
    let k = steps.len() + 1;
    let mut counts = Counts {
        nd,
        nc,
        k,
        data: vec![0; nw * nd * nc * k],
    };
    // Cumulative bit masks: reaching step i needs the bits of steps 0..=i; an untracked step
    // can never be reached.
    let mut cum = Vec::with_capacity(steps.len());
    let mut acc: Option<u64> = Some(0);
    for s in steps {
        acc = match (acc, obs.fired_bit(s)) {
            (Some(a), Some(b)) if b < 64 => Some(a | 1u64 << b),
            _ => None,
        };
        cum.push(acc);
    }
    for g in &obs.fired {
        let (w, d, c) = (g.week as usize, g.device as usize, g.channel as usize);
        if w >= nw || d >= nd || c >= nc {
            continue;
        }
        let i0 = counts.idx(w, d, c, 0);
        counts.data[i0] += g.units;
        for (i, m) in cum.iter().enumerate() {
            if let Some(m) = m {
                if g.mask & m == *m {
                    counts.data[i0 + i + 1] += g.units;
                }
            }
        }
    }
    counts
}

/// The steps no unit ever fired (or that cannot be tracked).
fn absent_steps(obs: &Observations, steps: &[EventName]) -> Vec<EventName> {
    steps
        .iter()
        .filter(|s| {
            obs.fired_bit(s)
                .is_none_or(|b| b >= 64 || !obs.fired.iter().any(|g| g.mask & (1u64 << b) != 0))
        })
        .cloned()
        .collect()
}

/// The weekly funnel of each device, then each channel, that has units.
fn segment_funnels(
    obs: &Observations,
    counts: &Counts,
    steps: &[EventName],
    confidence: f64,
) -> Vec<SegmentFunnel> {
    let nw = obs.weeks.len();
    let mut by_segment = Vec::new();
    for d in 0..obs.devices.len() {
        by_segment.push(SegmentFunnel {
            dimension: "device",
            level: obs.devices[d].clone(),
            weeks: (0..nw)
                .map(|w| week_funnel(obs, counts, steps, w, confidence, |dd, _| dd == d))
                .collect(),
        });
    }
    for c in 0..obs.channels.len() {
        by_segment.push(SegmentFunnel {
            dimension: "channel",
            level: obs.channels[c].clone(),
            weeks: (0..nw)
                .map(|w| week_funnel(obs, counts, steps, w, confidence, |_, cc| cc == c))
                .collect(),
        });
    }
    by_segment.retain(|s| s.weeks.iter().any(|w| w.units > 0));
    by_segment
}

/// The Kitagawa decomposition of each step's rate change between consecutive weeks with
/// units: (earlier week, later week, step, decomposition).
fn decompositions(
    obs: &Observations,
    counts: &Counts,
    steps: &[EventName],
    overall: &[WeekFunnel],
    confidence: f64,
) -> Vec<(usize, usize, usize, Decomposition)> {
    let (nd, nc) = (counts.nd, counts.nc);
    let with_units: Vec<usize> = (0..obs.weeks.len())
        .filter(|&w| overall[w].units > 0)
        .collect();
    let mut raw = Vec::new();
    for pair in with_units.windows(2) {
        let (w1, w2) = (pair[0], pair[1]);
        for i in 0..steps.len() {
            let mut segs = Vec::with_capacity(nd * nc);
            for d in 0..nd {
                for c in 0..nc {
                    segs.push(SegmentCounts {
                        base1: counts.get(w1, d, c, i),
                        hit1: counts.get(w1, d, c, i + 1),
                        base2: counts.get(w2, d, c, i),
                        hit2: counts.get(w2, d, c, i + 1),
                    });
                }
            }
            if let Some(dec) = kitagawa(&segs, confidence) {
                raw.push((w1, w2, i, dec));
            }
        }
    }
    raw
}

/// The verdict from the two tests' significance and the effects' sizes: when both are
/// significant, the one at least twice the other wins, else both.
fn verdict_of(mix_significant: bool, rate_significant: bool, m: f64, r: f64) -> Verdict {
    match (mix_significant, rate_significant) {
        (false, false) => Verdict::Noise,
        (true, false) => Verdict::Mix,
        (false, true) => Verdict::Rate,
        (true, true) if m >= 2.0 * r => Verdict::Mix,
        (true, true) if r >= 2.0 * m => Verdict::Rate,
        (true, true) => Verdict::MixAndRate,
    }
}

/// A device × channel segment's name ("mobile · paid_social").
fn seg_name(obs: &Observations, d: usize, c: usize) -> String {
    let dn = obs.devices.get(d).map(String::as_str);
    let cn = obs.channels.get(c).map(String::as_str);
    match (dn, cn) {
        (Some(a), Some(b)) => format!("{a} · {b}"),
        (Some(a), None) => a.to_string(),
        (None, Some(b)) => b.to_string(),
        (None, None) => "all".into(),
    }
}

/// A driver of a change: its size, its name, and the value before and after.
type Driver = (f64, String, f64, f64);

/// Mix driver: the device or channel level whose share of step `i`'s denominator moved most.
fn mix_driver(
    obs: &Observations,
    counts: &Counts,
    (w1, w2, i): (usize, usize, usize),
) -> Option<Driver> {
    let share = |w: usize, keep: &dyn Fn(usize, usize) -> bool| {
        let all = counts.sum(w, i, |_, _| true).max(1) as f64;
        counts.sum(w, i, keep) as f64 / all
    };
    let mut driver: Option<Driver> = None;
    let mut consider = |name: String, keep: &dyn Fn(usize, usize) -> bool| {
        let (a, b) = (share(w1, keep), share(w2, keep));
        if driver.as_ref().is_none_or(|x| (b - a).abs() > x.0) {
            driver = Some(((b - a).abs(), name, a, b));
        }
    };
    for d in 0..obs.devices.len() {
        consider(obs.devices[d].clone(), &|dd, _| dd == d);
    }
    for c in 0..obs.channels.len() {
        consider(obs.channels[c].clone(), &|_, cc| cc == c);
    }
    driver
}

/// Rate driver: the device × channel segment with the largest contribution to step `i`'s
/// within-segment rate change.
fn rate_driver(
    obs: &Observations,
    counts: &Counts,
    (w1, w2, i): (usize, usize, usize),
) -> Option<Driver> {
    let (n1, n2) = (
        counts.sum(w1, i, |_, _| true) as f64,
        counts.sum(w2, i, |_, _| true) as f64,
    );
    let mut driver: Option<Driver> = None;
    for d in 0..counts.nd {
        for c in 0..counts.nc {
            let (b1, h1) = (counts.get(w1, d, c, i), counts.get(w1, d, c, i + 1));
            let (b2, h2) = (counts.get(w2, d, c, i), counts.get(w2, d, c, i + 1));
            if b1 == 0 || b2 == 0 {
                continue;
            }
            let (r1, r2) = (h1 as f64 / b1 as f64, h2 as f64 / b2 as f64);
            let contrib = (r2 - r1) * (b1 as f64 / n1 + b2 as f64 / n2) / 2.0;
            if driver.as_ref().is_none_or(|x| contrib.abs() > x.0.abs()) {
                driver = Some((contrib, seg_name(obs, d, c), r1, r2));
            }
        }
    }
    driver
}

/// One step's week-over-week change: its verdict at `alpha` on the adjusted `(mix_q,
/// rate_q)`, the driver, and the message.
fn step_change(
    obs: &Observations,
    counts: &Counts,
    steps: &[EventName],
    (w1, w2, i, dec): (usize, usize, usize, Decomposition),
    (mix_q, rate_q): (f64, f64),
    (confidence, alpha): (f64, f64),
) -> StepChange {
    let verdict = verdict_of(
        mix_q < alpha,
        rate_q < alpha,
        dec.mix.estimate.abs(),
        dec.rate.estimate.abs(),
    );
    let base_name = if i == 0 {
        "units".to_string()
    } else {
        format!("{} units", steps[i - 1])
    };
    let driver = match verdict {
        Verdict::Mix => mix_driver(obs, counts, (w1, w2, i)).map(|(_, n, a, b)| {
            let text = format!(
                "{n} went from {} to {} of {base_name}",
                percent(a),
                percent(b)
            );
            (n, text)
        }),
        Verdict::Rate | Verdict::MixAndRate => {
            rate_driver(obs, counts, (w1, w2, i)).map(|(_, n, a, b)| {
                let text = format!("largest in {n} ({} → {})", percent(a), percent(b));
                (n, text)
            })
        }
        Verdict::Noise => None,
    };
    let cmh = dec.cmh.map_or(String::new(), |c| {
        format!(", CMH p {}", crate::format::p_value(c.p_value))
    });
    let pct_conf = (confidence * 100.0).round();
    let mut message = format!(
        "{} {} rate (of {base_name}) {} → {} ({}): traffic mix {} [{}, {}], within-segment rate {} [{}, {}] ({pct_conf}% intervals{cmh}): {}",
        obs.weeks[w2].week,
        steps[i],
        percent(dec.rate1),
        percent(dec.rate2),
        pts(dec.change),
        pts(dec.mix.estimate),
        pt(dec.mix.ci.lo),
        pt(dec.mix.ci.hi),
        pts(dec.rate.estimate),
        pt(dec.rate.ci.lo),
        pt(dec.rate.ci.hi),
        verdict.describe(),
    );
    if let Some((_, t)) = &driver {
        message.push_str(&format!("; {t}"));
    }
    StepChange {
        week: obs.weeks[w2].week,
        previous: obs.weeks[w1].week,
        step: steps[i].clone(),
        of: (i > 0).then(|| steps[i - 1].clone()),
        decomposition: dec,
        mix_q,
        rate_q,
        verdict,
        driver: driver.map(|d| d.0),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::observe::{ObservationBuilder, ObserveSpec, UnitKind};

    fn name(s: &str) -> EventName {
        EventName::new(s).unwrap()
    }

    #[test]
    fn a_unit_reaches_a_step_only_with_every_earlier_step() {
        let spec = ObserveSpec {
            unit: UnitKind::Session,
            candidates: vec![name("add_to_cart"), name("sign_up")],
            purchase: name("purchase"),
            label_window_days: 7,
            session_gap_minutes: 30,
            time_zone: jiff::tz::TimeZone::UTC,
            lateness_minutes: 1440,
            coverage: crate::core::coverage::CoverageParams::default(),
            discover: None,
            derived: Vec::new(),
        };
        let steps: Vec<EventName> = ["view_item", "add_to_cart", "begin_checkout", "purchase"]
            .iter()
            .map(|s| name(s))
            .collect();
        let mut b = ObservationBuilder::new(spec);
        b.track_also(&steps);
        let rows = [
            // A: view, cart, purchase without checkout → reaches view and cart only.
            ("a", "view_item"),
            ("a", "add_to_cart"),
            ("a", "purchase"),
            // B: checkout without a view → reaches nothing.
            ("b", "begin_checkout"),
            // C: a view.
            ("c", "view_item"),
        ];
        for (seq, (session, event)) in rows.iter().enumerate() {
            b.push(&Event {
                line: seq as u64 + 2,
                seq: seq as u64,
                micros: 1_788_739_200_000_000 + seq as i64 * 60_000_000,
                user: session,
                session: Some(session),
                name: event,
                device: Some("mobile"),
                channel: Some("email"),
                value: None,
            })
            .unwrap();
        }
        let f = diagnose(&b.finish(), &steps, 0.95, 0.05);
        let w = &f.overall[0];
        assert_eq!(w.units, 3);
        let got: Vec<(u64, u64)> = w.steps.iter().map(|s| (s.reached, s.base)).collect();
        assert_eq!(got, [(2, 3), (1, 2), (0, 1), (0, 0)]);
        assert_eq!(w.steps[3].rate, None);
        assert!(f.absent_steps.is_empty());
        assert!(f.changes.is_empty(), "one week: nothing to compare");
        assert_eq!(f.by_segment.len(), 2);
    }
}
