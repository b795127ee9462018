//! Calibration harness: simulated stores with known truth, run through the real decision path
//! (`optsignal::pipeline::run`, what `optsignal recommend` runs), over many seeds and sizes.
//!
//! `cargo run --release --locked --example calibrate -- --quick` prints the markdown tables of
//! docs/calibration.md: false alarms of every flag on healthy stores, power on broken ones, what
//! each platform is told to optimize on, switches per store-year over 13 weekly `--as-of --save`
//! runs, and the coverage of view_item's 95% precision interval. `--seeds N` sets the seeds per
//! cell (default 100 without `--quick`); see docs/calibration.md for the rest. `--derived`
//! prints the derived candidates' selection-bias table instead, `--predicted` the predicted
//! signal's.

mod derived;
mod drive;
mod predicted;
mod sim;
mod table;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use clap::Parser;

use sim::Scenario;

/// Command line.
#[derive(Parser, Debug)]
#[command(about = "Calibrate optsignal's flags and recommendations on simulated stores")]
struct Args {
    /// Fewer seeds, for a run in a few minutes (see docs/calibration.md for the counts).
    #[arg(long)]
    quick: bool,
    /// Seeds per scenario and size for the single-run tables (default: 100, or 20 with --quick).
    #[arg(long)]
    seeds: Option<u32>,
    /// Stores per size for the weekly runs (default: the seeds, or 5 with --quick).
    #[arg(long)]
    years: Option<u32>,
    /// Sessions per week, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [500u32, 3000, 20000])]
    sizes: Vec<u32>,
    /// Scenarios, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Print one simulated store's weekly sessions and event counts per scenario, then stop.
    #[arg(long)]
    describe: bool,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Print only the derived candidates' selection-bias table (intent stores, `--seeds` per
    /// cell, sessions per week 1500, 3000, 6000), then stop.
    #[arg(long)]
    derived: bool,
    /// Print only the predicted signal's table (the intent stores with the derived families and
    /// `[analysis.predicted]`; same seeds and sizes as `--derived`), then stop.
    #[arg(long)]
    predicted: bool,
}

/// One unit of work.
#[derive(Debug, Clone, Copy)]
enum Task {
    /// One run on a 10-week log.
    Single {
        scenario: Scenario,
        size: u32,
        seed: u64,
    },
    /// 13 weekly `--as-of --save` runs on a 22-week stable log.
    Weekly { size: u32, seed: u64 },
    /// The uncensored truth of view_item's precision (simulation only).
    Truth { size: u32, seed: u64 },
}

/// What a task produced.
#[derive(Debug, Clone)]
enum Outcome {
    Single {
        scenario: Scenario,
        size: u32,
        reading: drive::Reading,
    },
    Weekly {
        size: u32,
        /// Recommended event per run and platform.
        events: Vec<Vec<String>>,
    },
    Truth {
        truth: sim::Truth,
    },
}

/// The seed of store `i` in a cell: distinct across scenarios, sizes and tasks.
fn seed(kind: u64, scenario: usize, size: u32, i: u32) -> u64 {
    (kind << 56) | ((scenario as u64) << 40) | (u64::from(size) << 16) | u64::from(i)
}

const SINGLE_WEEKS: u32 = 10;
const WEEKLY_WEEKS: u32 = 22;
const WEEKLY_RUNS: i64 = 13;

fn run_task(t: Task) -> Result<Outcome, String> {
    match t {
        Task::Single {
            scenario,
            size,
            seed,
        } => {
            let store = sim::simulate(scenario, f64::from(size), SINGLE_WEEKS, seed);
            let acc = drive::Account::new(&store.rows, scenario).map_err(|e| e.to_string())?;
            let report = acc.run(None, false)?;
            Ok(Outcome::Single {
                scenario,
                size,
                reading: drive::read(&report),
            })
        }
        Task::Weekly { size, seed } => {
            let store = sim::simulate(Scenario::Stable, f64::from(size), WEEKLY_WEEKS, seed);
            let acc =
                drive::Account::new(&store.rows, Scenario::Stable).map_err(|e| e.to_string())?;
            let first = i64::from(WEEKLY_WEEKS) - WEEKLY_RUNS;
            let mut events = Vec::new();
            for k in first..i64::from(WEEKLY_WEEKS) {
                let report = acc.run(Some(drive::week(k)), true)?;
                let r = drive::read(&report);
                events.push(r.recs.into_iter().map(|(e, _)| e).collect());
            }
            Ok(Outcome::Weekly { size, events })
        }
        Task::Truth { size, seed } => {
            let store = sim::simulate(Scenario::Stable, f64::from(size), SINGLE_WEEKS, seed);
            Ok(Outcome::Truth { truth: store.truth })
        }
    }
}

fn tasks(args: &Args, scenarios: &[Scenario]) -> Vec<Task> {
    let seeds = args.seeds.unwrap_or(if args.quick { 20 } else { 100 });
    let years = args.years.unwrap_or(if args.quick { 5 } else { seeds });
    let mut out = Vec::new();
    // Heaviest first, so the workers finish together.
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let truth_size = *sizes.first().unwrap_or(&20_000);
    for i in 0..seeds.max(20) {
        out.push(Task::Truth {
            size: truth_size,
            seed: seed(2, 0, truth_size, i),
        });
    }
    for &size in &sizes {
        if scenarios.contains(&Scenario::Stable) {
            for i in 0..years {
                out.push(Task::Weekly {
                    size,
                    seed: seed(1, 0, size, i),
                });
            }
        }
        for &sc in scenarios {
            let idx = Scenario::ALL.iter().position(|s| *s == sc).unwrap_or(0);
            for i in 0..seeds {
                out.push(Task::Single {
                    scenario: sc,
                    size,
                    seed: seed(0, idx, size, i),
                });
            }
        }
    }
    out
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let scenarios: Vec<Scenario> = if args.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.scenarios
            .iter()
            .map(|n| {
                Scenario::ALL
                    .into_iter()
                    .find(|s| s.name() == n)
                    .ok_or_else(|| format!("unknown scenario {n}"))
            })
            .collect::<Result<_, _>>()?
    };
    if args.derived {
        let seeds = args.seeds.unwrap_or(if args.quick { 20 } else { 100 });
        print!("{}", derived::table(seeds, &[1500, 3000, 6000], args.jobs));
        return Ok(());
    }
    if args.predicted {
        let seeds = args.seeds.unwrap_or(if args.quick { 20 } else { 100 });
        print!(
            "{}",
            predicted::table(seeds, &[1500, 3000, 6000], args.jobs)
        );
        return Ok(());
    }
    if args.describe {
        for &sc in &scenarios {
            for &size in &args.sizes {
                print!("{}", sim::describe(sc, f64::from(size), SINGLE_WEEKS, 1));
            }
        }
        return Ok(());
    }
    let work = tasks(&args, &scenarios);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(work.len()));
    let errors = Mutex::new(Vec::new());
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..args.jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&t) = work.get(i) else { break };
                match run_task(t) {
                    Ok(o) => results.lock().expect("no panics").push(o),
                    Err(e) => errors
                        .lock()
                        .expect("no panics")
                        .push(format!("{t:?}: {e}")),
                }
                if (i + 1).is_multiple_of((work.len() / 20).max(1)) {
                    eprintln!(
                        "calibrate: {}/{} tasks, {:.0} s",
                        i + 1,
                        work.len(),
                        t0.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
    let errors = errors.into_inner().expect("no panics");
    if let Some(e) = errors.first() {
        return Err(format!("{} task(s) failed; first: {e}", errors.len()));
    }
    let results = results.into_inner().expect("no panics");
    let seeds = args.seeds.unwrap_or(if args.quick { 20 } else { 100 });
    print!(
        "{}",
        table::render(&results, &scenarios, &args.sizes, seeds, t0.elapsed())
    );
    Ok(())
}
