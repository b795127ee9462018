//! The `optsignal` command: parses arguments, dispatches to one command of [`commands`], and
//! prints what it returns, or its error for people (message, hint, exit code).

mod commands;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use commands::{print_failure, Cli, Command, Global, Outcome};
use optsignal::error::Error;
use optsignal::secret::redact;

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let global = Global::from_cli(&cli);
    init_logging(global.verbose);
    finish(dispatch(&global, cli.command))
}

/// Fixes glibc's mmap threshold at 4 MiB. By default glibc raises it (up to 32 MiB) each time
/// a large block is freed, so the tables that grow while a log is read are then reallocated
/// inside the heap and leave their old copies behind: about 40 MB more peak memory at 10M
/// events (docs/scaling.md).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a glibc tuning parameter; it is called first thing in `main`,
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

/// Runs the command the arguments name.
fn dispatch(global: &Global, command: Command) -> Result<Outcome, Error> {
    use commands::*;
    match command {
        Command::Recommend(a) => recommend::exec(global, a),
        Command::Demo(a) => demo::exec(global, a),
        Command::Pull(a) => pull::exec(global, a),
        Command::Bigquery(c) => bigquery::exec(global, c),
        Command::Audit(a) => audit::exec(global, a),
        Command::Config(c) => config::exec(global, c),
        Command::History(a) => history::exec(global, a),
        Command::Funnel(a) => funnel::exec(global, a),
        Command::TestPlan(a) => test_plan::exec(global, a),
        Command::Experiment(a) => experiment::exec(global, a),
        Command::Audience(a) => audience::exec(global, a),
        Command::Report(a) => report::exec(global, a),
        Command::Signal(c) => signal::exec(global, c),
    }
}

/// Prints the outcome on stdout, redacted, or the error on stderr, and returns the exit code.
fn finish(result: Result<Outcome, Error>) -> ExitCode {
    match result {
        Ok(out) if out.stdout.is_empty() => ExitCode::from(out.code as u8),
        Ok(out) => {
            // A closed pipe (`| head`) is not an error worth a panic or a message.
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{}", redact(&out.stdout)).and_then(|_| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write the report to stdout: {e}");
                    ExitCode::from(optsignal::error::EXIT_RUNTIME as u8)
                }
                _ => ExitCode::from(out.code as u8),
            }
        }
        Err(e) => {
            print_failure(&e.to_string(), e.hint());
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Log lines on stderr, redacted: `OPTSIGNAL_LOG` if set, else warn, info (`-v`) or debug (`-vv`).
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPTSIGNAL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Every log line is redacted: a debug line may quote a request or a server's answer.
        .with_writer(|| optsignal::secret::Redacting::new(std::io::stderr()))
        .with_target(false)
        .init();
}
