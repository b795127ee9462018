//! Times the observing step alone (`ObservationBuilder::push_user`, the second of the three
//! reading threads, with the folded units counted in place) on events parsed, and their users
//! numbered, beforehand into memory, with the settings of `optsignal recommend --events
//! FILE --platform meta --ad-sets 2`: it splits the end-to-end time between parsing and
//! observing, and A/B-tests changes to the builder with less noise than end-to-end runs. Prints
//! this thread's CPU time per round (from /proc, so Linux only).
//!
//! `cargo run --release --example observe_only -- FILE.csv [ROUNDS]`

use std::path::PathBuf;

use optsignal::config::{load_settings, Overrides};
use optsignal::observe::{ObservationBuilder, UserIds};
use optsignal::source::log::{read_log, Event};

/// An event whose strings are ranges of one shared text (absent: `u32::MAX` start).
struct Packed {
    line: u64,
    seq: u64,
    micros: i64,
    value: Option<f64>,
    fields: [(u32, u32); 5],
}

/// CPU seconds (user + system) of the calling thread so far.
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: observe_only FILE.csv [ROUNDS]")?);
    let rounds: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    let overrides = Overrides {
        events: Some(path),
        platforms: vec!["meta".into()],
        ad_sets: vec![2],
        ..Overrides::default()
    };
    let settings = load_settings(None, &overrides)?;
    let mut text = String::new();
    let mut events: Vec<Packed> = Vec::new();
    // Users are numbered on the parsing thread in `recommend`: here, beforehand, untimed.
    let mut users = UserIds::default();
    let mut numbers: Vec<u32> = Vec::new();
    read_log(&settings.source, |e| {
        numbers.push(users.index(e.user));
        let mut put = |s: Option<&str>| match s {
            None => (u32::MAX, 0),
            Some(s) => {
                let at = text.len() as u32;
                text.push_str(s);
                (at, s.len() as u32)
            }
        };
        let fields = [
            put(Some(e.user)),
            put(e.session),
            put(Some(e.name)),
            put(e.device),
            put(e.channel),
        ];
        events.push(Packed {
            line: e.line,
            seq: e.seq,
            micros: e.micros,
            value: e.value,
            fields,
        });
        Ok(())
    })?;
    let get =
        |(at, len): (u32, u32)| (at != u32::MAX).then(|| &text[at as usize..(at + len) as usize]);
    let event = |p: &Packed| {
        let [user, session, name, device, channel] = p.fields;
        Event {
            line: p.line,
            seq: p.seq,
            micros: p.micros,
            user: get(user).unwrap_or(""),
            session: get(session),
            name: get(name).unwrap_or(""),
            device: get(device),
            channel: get(channel),
            value: p.value,
        }
    };
    println!("{} events", events.len());
    for round in 0..rounds {
        let t0 = thread_cpu();
        let mut b = ObservationBuilder::new(settings.observe.clone());
        b.track_also(&settings.funnel_steps);
        for (p, &user) in events.iter().zip(&numbers) {
            let _ = b.push_user(&event(p), user);
        }
        let pushed = thread_cpu() - t0;
        let o = b.finish();
        let total = thread_cpu() - t0;
        println!(
            "round {round}: push {pushed:.2} s, with finish {total:.2} s CPU ({} units, {} users)",
            o.units, o.users
        );
    }
    Ok(())
}
