//! `optsignal signal export`: the recommended (or a named) signal as request bodies for the
//! Meta Conversions API, Google Ads click conversions and the GA4 Measurement Protocol, written
//! to files (`--dry-run`, the default), or posted once each (`--send`). `optsignal signal spec`:
//! how to set up each platform's recommended signal, as steps and as a JSON file.

use std::path::PathBuf;

use optsignal::config::{load_settings, Overrides};
use optsignal::error::Error;
use optsignal::types::EventName;

use super::common::to_json;
use super::{Global, Outcome};

/// The `signal` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Build the last days' qualifying units as payloads for every [signal] destination; with
    /// --dry-run (the default) write them to files, with --send post them (each event once).
    Export(ExportArgs),
    /// How to set up each platform's recommended event (GA4 key event, Meta, Google Ads,
    /// TikTok): the steps on stdout, the same as JSON in a file (docs/json-schema.md, setup).
    Spec(SpecArgs),
}

/// The arguments of `signal spec`.
#[derive(clap::Args)]
pub struct SpecArgs {
    /// Config file.
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: PathBuf,
    /// The account, in a multi-account file.
    #[arg(long)]
    account: Option<String>,
    /// File to write the set-up to, as JSON (default setup.json in signal.out_dir, or in
    /// ./signal without [signal]).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(short, long, value_enum, default_value = "table")]
    format: super::common::Format,
}

/// The arguments of `signal export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Config file with [signal].
    #[arg(short, long, env = "OPTSIGNAL_CONFIG")]
    config: PathBuf,
    /// The account, in a multi-account file.
    #[arg(long)]
    account: Option<String>,
    /// Export this canonical event instead of each platform's recommendation.
    #[arg(long)]
    event: Option<String>,
    /// Write the payloads to files under signal.out_dir (the default; nothing is sent).
    #[arg(long, conflicts_with = "send")]
    dry_run: bool,
    /// Post the payloads to the platforms; events an earlier run delivered are not sent again
    /// (sent-state under signal.state_dir). Exits 1 when a platform refuses a row.
    #[arg(long)]
    send: bool,
    /// Folder for the payload files (default signal.out_dir).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs the analysis (for the recommendations and values), builds the payloads and writes them.
pub fn exec(global: &Global, c: Command) -> Result<Outcome, Error> {
    let a = match c {
        Command::Export(a) => a,
        Command::Spec(a) => return spec(global, a),
    };
    let overrides = Overrides {
        account: a.account,
        progress: !global.quiet,
        ..Overrides::default()
    };
    let settings = load_settings(Some(&a.config), &overrides)?;
    let event = match a.event.as_deref() {
        Some(e) => {
            Some(
                EventName::new(e).ok_or_else(|| optsignal::config::ConfigError::Invalid {
                    origin: "command line".into(),
                    account: None,
                    key: "--event".into(),
                    message: format!("{e:?} is not an event name"),
                })?,
            )
        }
        None => None,
    };
    let report = optsignal::pipeline::analyze(&settings)?;
    let mut export = optsignal::deliver::signal::prepare(&settings, &report, event.as_ref())?;
    if a.send {
        let signal = settings.signal.as_ref().expect("prepare checked [signal]");
        let sent = optsignal::deliver::signal::send::send(&export, signal, &settings.remote.http)?;
        summarise(&sent);
        let code = if sent.failed() { 1 } else { 0 };
        export.delivery = Some(sent);
        return Ok(Outcome::with_code(to_json(&export), code));
    }
    let out = a.out.unwrap_or_else(|| {
        settings
            .signal
            .as_ref()
            .map(|s| s.out_dir.clone())
            .unwrap_or_else(|| PathBuf::from("signal"))
    });
    let dir = optsignal::deliver::signal::write_dry_run(&mut export, &out)?;
    eprintln!("dry run: payloads written to {}", dir.display());
    Ok(Outcome::ok(to_json(&export)))
}

/// Runs the analysis and writes its set-up: JSON to the file (atomically), the steps (or the
/// same JSON) on stdout, and the file's path on stderr.
fn spec(global: &Global, a: SpecArgs) -> Result<Outcome, Error> {
    let overrides = Overrides {
        account: a.account,
        progress: !global.quiet,
        ..Overrides::default()
    };
    let settings = load_settings(Some(&a.config), &overrides)?;
    let report = optsignal::pipeline::analyze(&settings)?;
    let path = a.out.unwrap_or_else(|| {
        settings
            .signal
            .as_ref()
            .map_or_else(|| PathBuf::from("signal"), |s| s.out_dir.clone())
            .join("setup.json")
    });
    let json = to_json(&report.setup);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    optsignal::fsutil::write_atomic(&path, format!("{json}\n").as_bytes()).map_err(|source| {
        Error::Write {
            path: path.clone(),
            source,
        }
    })?;
    eprintln!("set-up written to {}", path.display());
    Ok(Outcome::ok(match a.format {
        super::common::Format::Json => json,
        super::common::Format::Table => {
            let mut o = String::new();
            optsignal::report::setup::render_text(&report.setup, global.style(), &mut o);
            o
        }
    }))
}

/// One line per destination on stderr, then the refused rows (the first 20; all in the JSON).
fn summarise(r: &optsignal::deliver::signal::send::SendReport) {
    for d in &r.deliveries {
        eprintln!(
            "{}: {} accepted in {} request(s), {} already sent before, {} duplicate(s), {} refused{}",
            d.destination,
            d.accepted,
            d.requests,
            d.already_sent,
            d.duplicates,
            d.rejected.len(),
            if d.not_sent > 0 {
                format!(", {} not sent", d.not_sent)
            } else {
                String::new()
            }
        );
        for x in d.rejected.iter().take(20) {
            eprintln!(
                "  refused: request {} row {} (event {}): {}{}",
                x.request,
                x.row,
                x.event_id,
                x.code
                    .as_deref()
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default(),
                x.message
            );
        }
        if d.rejected.len() > 20 {
            eprintln!(
                "  … {} more refused rows in the JSON",
                d.rejected.len() - 20
            );
        }
        if let Some(e) = &d.error {
            eprintln!("  stopped: {e}");
        }
    }
    eprintln!("sent-state: {}", r.state_dir);
}
