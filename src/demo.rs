//! A deterministic demo store: a synthetic GA4-style event log with a giveaway that breaks a proxy.
//!
//! The log is what a small e-commerce store would export: returning users, a device and channel
//! mix, weekday and hour patterns, a purchase funnel whose deeper steps predict purchase better,
//! and purchases that sometimes close days after an earlier add-to-cart. In the last weeks a
//! sweepstakes floods newsletter `sign_up` with people who never buy, so `sign_up` volume soars
//! while its precision collapses: the failure the tool must catch.
//!
//! Everything is drawn from [`Xoshiro256PlusPlus`] seeded with [`DemoSpec::seed`], through samplers
//! written here on top of `next_u64` (so output does not depend on `rand`'s distribution
//! algorithms), and the baseline store and the giveaway use separate streams: switching the
//! giveaway off leaves every other session byte-identical.
//!
//! Calibrated targets per 3,500 regular sessions (a week): view_item ~2,975 sessions, add_to_cart
//! ~420, begin_checkout ~173, add_shipping_info ~140, add_payment_info ~104, purchase ~69 (about
//! 15% of them closing an earlier session's abandoned cart), sign_up ~103, add_to_wishlist ~140.
//! Purchase precision of add_to_cart ~16%, begin_checkout ~40%, add_payment_info ~66%.
//!
//! Two more weeks make the funnel diagnosis's cases: in 2026-W40 a paid-social surge (1,500 extra
//! sessions behaving like regular paid-social traffic) lowers the overall add-to-cart rate while
//! every segment's rate holds (a traffic-mix story), and in 2026-W42 a storefront change makes
//! the payment step convert worse for everyone (a rate story). Both use their own streams.
//!
//! Every session starts with a `session_start` event (as GA4 logs it), so the session denominator
//! of every rate is visible in the log, including sessions that view no item.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use jiff::civil::{Date, Weekday};
use rand::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::types::IsoWeek;

/// The CSV header of the canonical event log, exactly as written.
pub const HEADER: &str = "timestamp,user_id,session_id,event_name,device,channel,value";

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// What to generate: the calendar span, the traffic level and the giveaway.
///
/// `Default` is the documented demo store: seed 20261116, ten ISO weeks 2026-W37..2026-W46,
/// about 3,500 sessions a week, and a giveaway in the last two weeks.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSpec {
    /// Seed of every random draw; the same spec always gives the same bytes.
    pub seed: u64,
    /// Monday (UTC) that starts the first ISO week of the log.
    pub first_week_monday: Date,
    /// Number of whole ISO weeks in the log (1..=520).
    pub weeks: u32,
    /// Mean regular sessions per week, before week-to-week variation (giveaway excluded).
    pub sessions_per_week: u32,
    /// Coefficient of variation of weekly traffic (gamma-Poisson overdispersion), 0 for none;
    /// the weekly level is kept within ±1.5 of it (default 0.10: at most ±15%).
    pub weekly_traffic_cv: f64,
    /// Share of regular sessions made by a user who visited before (0..=1).
    pub returning_share: f64,
    /// Sweepstakes in the last weeks that floods `sign_up`; `None` for a store without one.
    pub giveaway: Option<Giveaway>,
    /// Extra paid-social sessions in one week (a traffic-mix change); `None` for none.
    pub traffic_surge: Option<TrafficSurge>,
    /// A week in which the payment step converts worse for everyone; `None` for none.
    pub storefront_change: Option<StorefrontChange>,
}

/// A paid-social surge: extra sessions of new users arriving by paid social in one week, each
/// behaving like a regular paid-social session. Default: week index 3 (2026-W40), 1,500 sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSurge {
    /// Index of the week (0 = the first week of the log).
    pub week: u32,
    /// Mean extra sessions that week.
    pub sessions: u32,
}

impl Default for TrafficSurge {
    fn default() -> Self {
        TrafficSurge {
            week: 3,
            sessions: 1_500,
        }
    }
}

/// A storefront change: for one week, P(add_payment_info | add_shipping_info) drops for every
/// session (a broken payment form). Default: week index 5 (2026-W42), 0.45 instead of 0.73.
#[derive(Debug, Clone, PartialEq)]
pub struct StorefrontChange {
    /// Index of the week (0 = the first week of the log).
    pub week: u32,
    /// P(add_payment_info | add_shipping_info) that week.
    pub payment_rate: f64,
}

impl Default for StorefrontChange {
    fn default() -> Self {
        StorefrontChange {
            week: 5,
            payment_rate: 0.45,
        }
    }
}

impl Default for DemoSpec {
    fn default() -> Self {
        DemoSpec {
            seed: 20_261_116,
            first_week_monday: jiff::civil::date(2026, 9, 7),
            weeks: 10,
            sessions_per_week: 3_500,
            weekly_traffic_cv: 0.10,
            returning_share: 0.30,
            giveaway: Some(Giveaway::default()),
            traffic_surge: Some(TrafficSurge::default()),
            storefront_change: Some(StorefrontChange::default()),
        }
    }
}

/// A paid-social sweepstakes: extra sessions of new users who sign up for the newsletter and
/// almost never buy. Default: the last 2 weeks, 1,500 sessions a week, purchase rate 0.1%.
#[derive(Debug, Clone, PartialEq)]
pub struct Giveaway {
    /// How many of the last weeks of the log the giveaway runs (at most `DemoSpec::weeks`).
    pub last_weeks: u32,
    /// Mean extra giveaway sessions per week.
    pub sessions_per_week: u32,
    /// Probability that a giveaway session ends in a purchase (0..=1).
    pub purchase_rate: f64,
}

impl Default for Giveaway {
    fn default() -> Self {
        Giveaway {
            last_weeks: 2,
            sessions_per_week: 1_500,
            purchase_rate: 0.001,
        }
    }
}

/// Why a demo log could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A field of the [`DemoSpec`] is out of range; the message names it.
    #[error("invalid demo spec: {0}")]
    InvalidSpec(String),
    /// Writing the CSV to the caller's writer failed.
    #[error("writing the demo event log failed: {0}")]
    Write(#[from] io::Error),
    /// Creating, writing or renaming a file failed.
    #[error("{}: {source}", path.display())]
    File {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// What was generated: totals and per-week counts, to check a log without re-reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    /// Data rows written (header excluded).
    pub rows: u64,
    /// Distinct sessions.
    pub sessions: u64,
    /// Distinct users.
    pub users: u64,
    /// `purchase` rows (one per purchasing session).
    pub purchases: u64,
    /// Sum of order values, in cents.
    pub revenue_cents: u64,
    /// One entry per ISO week of the spec, in order.
    pub weeks: Vec<WeekSummary>,
}

/// Counts for one ISO week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeekSummary {
    /// The ISO week.
    pub week: IsoWeek,
    /// Sessions that started in this week.
    pub sessions: u64,
    /// Per event name: rows timestamped in the week, and sessions started in the week with it.
    pub events: BTreeMap<String, EventCount>,
}

impl WeekSummary {
    /// Sessions started this week with at least one `event` (0 for an unknown event).
    pub fn sessions_with(&self, event: &str) -> u64 {
        self.events.get(event).map_or(0, |c| c.sessions)
    }
}

/// Volume of one event in one week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EventCount {
    /// Event rows (an event can repeat within a session, e.g. `view_item`).
    pub rows: u64,
    /// Sessions with at least one such event.
    pub sessions: u64,
}

/// Writes the demo event log as CSV (header [`HEADER`], rows sorted by timestamp) to `w`.
///
/// The output depends only on `spec`: the same spec gives the same bytes.
pub fn generate(spec: &DemoSpec, w: impl Write) -> Result<DemoSummary, DemoError> {
    let log = build(spec)?;
    let mut out = BufWriter::with_capacity(1 << 16, w);
    let summary = log.write_csv(&mut out)?;
    out.flush()?;
    Ok(summary)
}

/// The demo store's config, embedded so `optsignal demo --out DIR` can write it beside the log.
pub const CONFIG_TOML: &str = include_str!("../fixtures/demo/optsignal.toml");

/// File name of the demo log inside the demo folder (the config's `source.path`).
pub const EVENTS_FILE: &str = "events.csv.gz";

/// Writes the default demo store into `dir`: `events.csv.gz` (regenerated, atomically) and
/// `optsignal.toml` unless a config is already there (a user's edits are never overwritten).
/// Returns the config's path.
pub fn write_store(dir: &Path) -> Result<std::path::PathBuf, DemoError> {
    std::fs::create_dir_all(dir).map_err(|source| DemoError::File {
        path: dir.to_path_buf(),
        source,
    })?;
    write_gz(&DemoSpec::default(), &dir.join(EVENTS_FILE))?;
    write_identified_gz(&DemoSpec::default(), &dir.join(IDENTIFIED_FILE))?;
    let config = dir.join("optsignal.toml");
    if !config.exists() {
        let tmp = dir.join(".optsignal.toml.tmp");
        std::fs::write(&tmp, CONFIG_TOML)
            .and_then(|_| std::fs::rename(&tmp, &config))
            .map_err(|source| DemoError::File {
                path: config.clone(),
                source,
            })?;
    }
    Ok(config)
}

/// File name of the demo's identified export (the config's `signal.path`).
pub const IDENTIFIED_FILE: &str = "identified.csv.gz";

/// Days at the end of the demo log that its identified export covers.
pub const IDENTIFIED_DAYS: usize = 7;

/// Identifier columns the identified export appends to [`HEADER`].
pub const IDENTIFIED_COLUMNS: &str =
    "email,phone,fbp,fbc,client_ip_address,client_user_agent,gclid,client_id";

/// User agents of the demo's devices (mobile, desktop, tablet).
const USER_AGENTS: [(&str, &str); 3] = [
    ("mobile", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    ("desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    ("tablet", "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
];

/// Lower-case hex SHA-256 of `s`.
fn hex_sha256(s: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A number from 8 hex digits of `h` starting at `at`.
fn hex_u32(h: &str, at: usize) -> u64 {
    u64::from_str_radix(&h[at..at + 8], 16).unwrap_or(0)
}

/// The identifier cells of one demo row, derived from its user, session, device, channel and
/// the session's first time (no random draw, so the log itself is unchanged): an email for
/// about a third of users (some in mixed case with spaces, to be normalised), a national phone
/// number for a third of those, Meta's `_fbp` for every browser and `_fbc` on paid-social
/// sessions, a gclid on paid-search sessions, a documentation-range IP address, the device's
/// user agent and a GA4 client id.
fn identifier_cells(
    user: &str,
    session: &str,
    device: &str,
    channel: &str,
    start_ms: i64,
) -> String {
    let h = hex_sha256(&format!("optsignal-demo|{user}"));
    let b = |i: usize| hex_u32(&h, i * 8);
    let email = if b(0) % 100 < 35 {
        let domain = ["example.com", "example.org", "example.net"][(b(1) % 3) as usize];
        let local = format!("shopper.{}", &user[..user.len().min(8)]);
        if b(2) % 5 == 0 {
            format!(" Shopper.{}@{} ", &local[8..], domain.to_uppercase())
        } else {
            format!("{local}@{domain}")
        }
    } else {
        String::new()
    };
    let phone = if !email.is_empty() && b(3) % 3 == 0 {
        format!("0151 {:07}", b(4) % 10_000_000)
    } else {
        String::new()
    };
    let fbp = format!(
        "fb.1.{}.{:010}",
        1_757_203_200_000 + b(5) % 86_400_000,
        b(6) % 10_000_000_000
    );
    let fbc = if channel == "paid_social" {
        let c = hex_sha256(&format!("fbclid|{session}"));
        format!("fb.1.{start_ms}.IwAR{}", &c[..24])
    } else {
        String::new()
    };
    let gclid = if channel == "paid_search" {
        let g = hex_sha256(&format!("gclid|{session}"));
        format!("Cj0KCQiA{}", &g[..32])
    } else {
        String::new()
    };
    let ua = USER_AGENTS
        .iter()
        .find(|(d, _)| *d == device)
        .map_or(USER_AGENTS[0].1, |(_, u)| u);
    let quote = |s: &str| {
        if s.contains(',') || s.contains('"') {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    format!(
        "{},{phone},{fbp},{fbc},203.0.113.{},{},{gclid},{}.{}",
        quote(&email),
        1 + b(7) % 254,
        quote(ua),
        1_000_000_000 + b(1) % 1_000_000_000,
        1_757_203_200 + b(2) % 86_400
    )
}

/// The last [`IDENTIFIED_DAYS`] days of the demo log `csv` (as [`generate`] writes it) with
/// the [`IDENTIFIED_COLUMNS`] appended to every row.
pub fn identified_csv(csv: &str) -> String {
    let mut lines = csv.lines();
    let header = lines.next().unwrap_or(HEADER);
    let rows: Vec<&str> = lines.collect();
    let last_day = rows.last().and_then(|r| r.get(..10)).unwrap_or("");
    let from = last_day
        .parse::<Date>()
        .ok()
        .and_then(|d| {
            d.checked_sub(jiff::Span::new().days(IDENTIFIED_DAYS as i64 - 1))
                .ok()
        })
        .map(|d| d.to_string())
        .unwrap_or_default();
    let mut out = format!("{header},{IDENTIFIED_COLUMNS}\n");
    let mut starts: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for r in rows
        .iter()
        .filter(|r| r.get(..10).is_some_and(|d| d >= from.as_str()))
    {
        let f: Vec<&str> = r.split(',').collect();
        if f.len() < 6 {
            continue;
        }
        let ms = f[0]
            .parse::<jiff::Timestamp>()
            .map_or(0, |t| t.as_millisecond());
        let start = *starts.entry(f[2]).or_insert(ms);
        out.push_str(r);
        out.push(',');
        out.push_str(&identifier_cells(f[1], f[2], f[4], f[5], start));
        out.push('\n');
    }
    out
}

/// Writes the demo's identified export of `spec` gzip-compressed to `path`, atomically.
pub fn write_identified_gz(spec: &DemoSpec, path: &Path) -> Result<(), DemoError> {
    let mut csv = Vec::new();
    generate(spec, &mut csv)?;
    let text = identified_csv(&String::from_utf8_lossy(&csv));
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(6));
    gz.write_all(text.as_bytes())?;
    let bytes = gz.finish()?;
    crate::fsutil::write_atomic(path, &bytes).map_err(|source| DemoError::File {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the demo event log gzip-compressed to `path`, atomically (temporary file, then rename).
///
/// The gzip header carries no time stamp nor file name, so the bytes are deterministic too.
pub fn write_gz(spec: &DemoSpec, path: &Path) -> Result<DemoSummary, DemoError> {
    let log = build(spec)?;
    let file_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| DemoError::File { path: p, source }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| DemoError::File {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        let file = fs::File::create(&tmp).map_err(file_err(&tmp))?;
        let gz = GzBuilder::new()
            .mtime(0)
            .operating_system(255)
            .write(BufWriter::with_capacity(1 << 16, file), Compression::new(6));
        let mut out = BufWriter::with_capacity(1 << 16, gz);
        let summary = log.write_csv(&mut out).map_err(file_err(&tmp))?;
        let gz = out
            .into_inner()
            .map_err(|e| file_err(&tmp)(e.into_error()))?;
        let file = gz
            .finish()
            .and_then(|b| b.into_inner().map_err(|e| e.into_error()))
            .map_err(file_err(&tmp))?;
        file.sync_all().map_err(file_err(&tmp))?;
        fs::rename(&tmp, path).map_err(file_err(path))?;
        Ok(summary)
    })();
    if result.is_err() {
        // Best effort: the error being returned matters more than a leftover temporary file.
        let _ = fs::remove_file(&tmp);
    }
    result
}

// ---------------------------------------------------------------------------------------------
// Model

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    SessionStart,
    ViewItem,
    AddToWishlist,
    AddToCart,
    BeginCheckout,
    AddShippingInfo,
    AddPaymentInfo,
    Purchase,
    SignUp,
}

const EVENTS: [Event; 9] = [
    Event::SessionStart,
    Event::ViewItem,
    Event::AddToWishlist,
    Event::AddToCart,
    Event::BeginCheckout,
    Event::AddShippingInfo,
    Event::AddPaymentInfo,
    Event::Purchase,
    Event::SignUp,
];

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Event::SessionStart => "session_start",
            Event::ViewItem => "view_item",
            Event::AddToWishlist => "add_to_wishlist",
            Event::AddToCart => "add_to_cart",
            Event::BeginCheckout => "begin_checkout",
            Event::AddShippingInfo => "add_shipping_info",
            Event::AddPaymentInfo => "add_payment_info",
            Event::Purchase => "purchase",
            Event::SignUp => "sign_up",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Device {
    Mobile,
    Desktop,
    Tablet,
}

const DEVICES: [Device; 3] = [Device::Mobile, Device::Desktop, Device::Tablet];
const DEVICE_MIX: [f64; 3] = [0.65, 0.30, 0.05];
/// Relative add-to-cart propensity by device (normalised over the mix at run time).
const DEVICE_EFFECT: [f64; 3] = [0.80, 1.45, 1.00];

impl Device {
    fn index(self) -> usize {
        self as usize
    }
    fn as_str(self) -> &'static str {
        match self {
            Device::Mobile => "mobile",
            Device::Desktop => "desktop",
            Device::Tablet => "tablet",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    PaidSocial,
    OrganicSearch,
    PaidSearch,
    Direct,
    Email,
}

const CHANNELS: [Channel; 5] = [
    Channel::PaidSocial,
    Channel::OrganicSearch,
    Channel::PaidSearch,
    Channel::Direct,
    Channel::Email,
];
const CHANNEL_MIX: [f64; 5] = [0.35, 0.25, 0.15, 0.15, 0.10];
/// Relative add-to-cart propensity by channel (normalised over the mix at run time).
const CHANNEL_EFFECT: [f64; 5] = [0.60, 1.15, 1.25, 1.30, 1.90];
/// Channels that bring a shopper back to an abandoned cart (retargeting, reminder email, direct).
const RETURN_CHANNEL_MIX: [f64; 5] = [0.25, 0.05, 0.10, 0.35, 0.25];
const GIVEAWAY_DEVICE_MIX: [f64; 3] = [0.88, 0.08, 0.04];
const GIVEAWAY_CHANNEL_MIX: [f64; 5] = [0.90, 0.04, 0.0, 0.06, 0.0];

impl Channel {
    fn index(self) -> usize {
        self as usize
    }
    fn as_str(self) -> &'static str {
        match self {
            Channel::PaidSocial => "paid_social",
            Channel::OrganicSearch => "organic_search",
            Channel::PaidSearch => "paid_search",
            Channel::Direct => "direct",
            Channel::Email => "email",
        }
    }
}

/// Session starts by weekday (Monday first): a little busier at the weekend.
const WEEKDAY_WEIGHT: [f64; 7] = [1.00, 0.97, 0.95, 0.97, 0.92, 1.02, 1.17];
/// Session starts by UTC hour for a store in Central Europe: night trough, lunch and evening peaks.
const HOUR_WEIGHT: [f64; 24] = [
    0.30, 0.20, 0.15, 0.15, 0.20, 0.40, 0.80, 1.20, 1.50, 1.60, 1.70, 1.80, 1.80, 1.70, 1.60, 1.60,
    1.70, 1.90, 2.20, 2.40, 2.30, 1.80, 1.20, 0.60,
];

/// Funnel probabilities of a regular session (calibrated to the targets in the module docs
/// with 200,000 sessions a week and no traffic noise).
mod funnel {
    /// P(view_item) in a session.
    pub const VIEW: f64 = 0.85;
    /// Extra item views follow a geometric law with this stopping probability.
    pub const VIEW_STOP: f64 = 0.45;
    /// P(add_to_cart | viewed), for an average device, channel and user.
    pub const CART: f64 = 0.139;
    /// P(begin_checkout | add_to_cart), average device and channel.
    pub const CHECKOUT: f64 = 0.40;
    /// P(add_shipping_info | begin_checkout).
    pub const SHIPPING: f64 = 0.80;
    /// P(add_payment_info | add_shipping_info).
    pub const PAYMENT: f64 = 0.73;
    /// P(purchase | add_payment_info).
    pub const PURCHASE: f64 = 0.64;
    /// P(a later purchase session | cart abandoned in this session).
    pub const COME_BACK: f64 = 0.022;
    /// P(add_to_wishlist | viewed) without / with a cart.
    pub const WISHLIST: [f64; 2] = [0.046, 0.055];
    /// P(sign_up) without a view, viewed without a cart, with a cart.
    pub const SIGN_UP: [f64; 3] = [0.020, 0.028, 0.050];
    /// Gamma shape of the per-user intent multiplier (mean 1).
    pub const USER_INTENT_SHAPE: f64 = 1.5;
    /// How strongly device and channel carry into checkout steps (exponent on their effect).
    pub const CHECKOUT_EFFECT_POWER: f64 = 0.3;
    /// Order value: log-normal with this median (EUR) and log-scale sigma (mean ~ 60 EUR).
    pub const ORDER_MEDIAN: f64 = 52.0;
    /// Order value: the log-scale sigma of that log-normal.
    pub const ORDER_SIGMA: f64 = 0.55;
    /// Giveaway session: P(view_item), P(add_to_cart | viewed), P(sign_up).
    pub const GIVEAWAY_VIEW: f64 = 0.15;
    /// Giveaway session: P(add_to_cart | viewed).
    pub const GIVEAWAY_CART: f64 = 0.03;
    /// Giveaway session: P(sign_up).
    pub const GIVEAWAY_SIGN_UP: f64 = 0.98;
}

struct User {
    id: u64,
    device: Device,
    intent: f64,
}

struct Session {
    id: u64,
    user: u32,
    device: Device,
    channel: Channel,
    start: i64,
}

#[derive(Clone, Copy)]
struct Row {
    ts: i64,
    session: u32,
    seq: u16,
    event: Event,
    value_cents: u32,
}

/// The generated store before it is written.
struct Log {
    start: i64,
    first_monday: Date,
    weeks: u32,
    users: Vec<User>,
    sessions: Vec<Session>,
    rows: Vec<Row>,
}

fn validate(spec: &DemoSpec) -> Result<(), DemoError> {
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

fn build(spec: &DemoSpec) -> Result<Log, DemoError> {
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
struct Effects {
    cart_norm: f64,
    checkout_norm: f64,
}

impl Effects {
    fn new() -> Self {
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
    fn cart(&self, d: Device, c: Channel) -> f64 {
        DEVICE_EFFECT[d.index()] * CHANNEL_EFFECT[c.index()] / self.cart_norm
    }

    /// Segment multiplier on begin_checkout, mean 1 over carts.
    fn checkout(&self, d: Device, c: Channel) -> f64 {
        self.cart(d, c).powf(funnel::CHECKOUT_EFFECT_POWER) / self.checkout_norm
    }
}

struct Generator {
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
struct Plan {
    views: u32,
    /// 0 = no cart; k = add_to_cart right after the k-th view.
    cart_after_view: u32,
    /// Number of checkout steps reached: 1 begin_checkout .. 4 purchase.
    checkout_steps: u32,
    wishlist: bool,
    sign_up: bool,
}

impl Generator {
    fn regular_week(&mut self, rng: &mut Xoshiro256PlusPlus, spec: &DemoSpec, week: u32, n: u64) {
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

    fn regular_session(
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

    fn surge_week(&mut self, rng: &mut Xoshiro256PlusPlus, s: &TrafficSurge) {
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

    fn giveaway_week(&mut self, rng: &mut Xoshiro256PlusPlus, gw: &Giveaway, week: u32) {
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

    fn new_user(&mut self, rng: &mut Xoshiro256PlusPlus, device: Device, intent: f64) -> u32 {
        let id = self.fresh_id(rng);
        self.users.push(User { id, device, intent });
        (self.users.len() - 1) as u32
    }

    /// A 48-bit identifier not used before (users and sessions share one space).
    fn fresh_id(&mut self, rng: &mut Xoshiro256PlusPlus) -> u64 {
        loop {
            let id = rng.next_u64() >> 16;
            if self.ids.insert(id) {
                return id;
            }
        }
    }

    /// Lays out a session's events in time and stores them; returns the add_to_cart time if any.
    fn session(
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

/// Regular sessions in one week: Poisson around a gamma-distributed weekly level, the level kept
/// within 1.5 coefficients of variation of the mean (modest swings, no freak weeks in a demo).
fn weekly_traffic(rng: &mut Xoshiro256PlusPlus, spec: &DemoSpec) -> u64 {
    let cv = spec.weekly_traffic_cv;
    let level = if cv > 0.0 {
        let shape = 1.0 / (cv * cv);
        (gamma(rng, shape) / shape).clamp(1.0 - 1.5 * cv, 1.0 + 1.5 * cv)
    } else {
        1.0
    };
    poisson(rng, level * f64::from(spec.sessions_per_week))
}

/// An independent generator for one purpose (`tag`) under one seed.
fn stream(seed: u64, tag: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(mix64(seed ^ mix64(tag.wrapping_add(0x5DEE_CE66_D1CE_4E5B))))
}

/// The SplitMix64 finaliser: a bijective 64-bit hash.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sorted session start times in a week, following the weekday and hour patterns.
fn session_starts(rng: &mut Xoshiro256PlusPlus, week_start: i64, n: u64) -> Vec<i64> {
    let mut starts: Vec<i64> = (0..n)
        .map(|_| {
            let day = categorical(rng, &WEEKDAY_WEIGHT) as i64;
            let hour = categorical(rng, &HOUR_WEIGHT) as i64;
            week_start + day * DAY + hour * 3_600 + below(rng, 3_600) as i64
        })
        .collect();
    starts.sort_unstable();
    starts
}

fn order_value_cents(rng: &mut Xoshiro256PlusPlus) -> u32 {
    let eur = funnel::ORDER_MEDIAN * (funnel::ORDER_SIGMA * normal(rng)).exp();
    (eur.clamp(5.0, 2_000.0) * 100.0).round() as u32
}

// ---------------------------------------------------------------------------------------------
// Writing

impl Log {
    fn write_csv(&self, out: &mut impl Write) -> io::Result<DemoSummary> {
        let nweeks = self.weeks as usize;
        let mut rows_by = vec![[0u64; EVENTS.len()]; nweeks];
        let mut sessions_by = vec![[0u64; EVENTS.len()]; nweeks];
        let mut sessions_in = vec![0u64; nweeks];
        let mut seen = vec![0u16; self.sessions.len()];
        let week_of = |ts: i64| (((ts - self.start) / WEEK) as usize).min(nweeks - 1);

        writeln!(out, "{HEADER}")?;
        let mut line = String::with_capacity(128);
        let mut day_cache: (i64, String) = (i64::MIN, String::new());
        let (mut purchases, mut revenue_cents) = (0u64, 0u64);
        let mut user_seen = vec![false; self.users.len()];
        for r in &self.rows {
            let s = &self.sessions[r.session as usize];
            let e = r.event as usize;
            rows_by[week_of(r.ts)][e] += 1;
            let sw = week_of(s.start);
            if seen[r.session as usize] & (1 << e) == 0 {
                seen[r.session as usize] |= 1 << e;
                sessions_by[sw][e] += 1;
                if r.event == Event::SessionStart {
                    sessions_in[sw] += 1;
                }
            }
            user_seen[s.user as usize] = true;

            line.clear();
            let day = r.ts.div_euclid(DAY);
            if day != day_cache.0 {
                day_cache = (day, format_day(self.first_monday, day - self.start / DAY));
            }
            let sec = r.ts.rem_euclid(DAY);
            use std::fmt::Write as _;
            let _ = write!(
                line,
                "{}T{:02}:{:02}:{:02}Z,{:012x},{:012x},{},{},{},",
                day_cache.1,
                sec / 3_600,
                sec / 60 % 60,
                sec % 60,
                self.users[s.user as usize].id,
                s.id,
                r.event.as_str(),
                s.device.as_str(),
                s.channel.as_str(),
            );
            if r.event == Event::Purchase {
                purchases += 1;
                revenue_cents += u64::from(r.value_cents);
                let _ = write!(line, "{}.{:02}", r.value_cents / 100, r.value_cents % 100);
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }

        let weeks = (0..nweeks)
            .map(|w| {
                let monday = self
                    .first_monday
                    .checked_add(jiff::Span::new().days(7 * w as i64))
                    .unwrap_or(self.first_monday);
                WeekSummary {
                    week: IsoWeek::of_date(monday),
                    sessions: sessions_in[w],
                    events: EVENTS
                        .iter()
                        .map(|ev| {
                            let i = *ev as usize;
                            let count = EventCount {
                                rows: rows_by[w][i],
                                sessions: sessions_by[w][i],
                            };
                            (ev.as_str().to_string(), count)
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(DemoSummary {
            rows: self.rows.len() as u64,
            sessions: self.sessions.len() as u64,
            users: user_seen.iter().filter(|&&b| b).count() as u64,
            purchases,
            revenue_cents,
            weeks,
        })
    }
}

/// `YYYY-MM-DD` of the day `offset` days after `first` (validated dates stay in jiff's range).
fn format_day(first: Date, offset: i64) -> String {
    first
        .checked_add(jiff::Span::new().days(offset))
        .unwrap_or(first)
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Samplers on raw 64-bit draws: their values do not change with `rand`'s distribution code.

/// Uniform in [0, 1) with 53 random bits.
fn unif(rng: &mut Xoshiro256PlusPlus) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform integer in [0, n) by multiply-shift (bias below 2^-40 for the n used here).
fn below(rng: &mut Xoshiro256PlusPlus, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// Index drawn with probability proportional to `weights`.
fn categorical(rng: &mut Xoshiro256PlusPlus, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = unif(rng) * total;
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

fn exponential(rng: &mut Xoshiro256PlusPlus, mean: f64) -> f64 {
    -mean * (1.0 - unif(rng)).ln()
}

/// Failures before the first success, success probability `p`.
fn geometric(rng: &mut Xoshiro256PlusPlus, p: f64) -> u32 {
    let mut k = 0;
    while unif(rng) >= p && k < 50 {
        k += 1;
    }
    k
}

/// Seconds between two events: `min` plus an exponential with mean `mean`.
fn gap(rng: &mut Xoshiro256PlusPlus, min: i64, mean: f64) -> i64 {
    min + exponential(rng, mean).min(1_800.0) as i64
}

/// Standard normal (Box-Muller, one value per call).
fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1 = 1.0 - unif(rng);
    let u2 = unif(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Gamma with scale 1 (Marsaglia-Tsang; shape < 1 boosted).
fn gamma(rng: &mut Xoshiro256PlusPlus, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - unif(rng);
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = 1.0 - unif(rng);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// Poisson: multiplication for small means, Hörmann's PTRS transformed rejection otherwise.
fn poisson(rng: &mut Xoshiro256PlusPlus, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda < 10.0 {
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0, unif(rng));
        while p > limit {
            k += 1;
            p *= unif(rng);
        }
        return k;
    }
    let slam = lambda.sqrt();
    let loglam = lambda.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = unif(rng) - 0.5;
        let v = unif(rng);
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k as u64;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        let lhs = v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln();
        let rhs = -lambda + k * loglam - statrs::function::gamma::ln_gamma(k + 1.0);
        if lhs <= rhs {
            return k as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::OnceLock;

    /// The default store, generated once for all tests that read it.
    fn default_log() -> &'static (Vec<u8>, DemoSummary) {
        static LOG: OnceLock<(Vec<u8>, DemoSummary)> = OnceLock::new();
        LOG.get_or_init(|| {
            let mut csv = Vec::new();
            let summary = generate(&DemoSpec::default(), &mut csv).unwrap();
            (csv, summary)
        })
    }

    struct Parsed {
        ts: i64,
        user: String,
        session: String,
        event: String,
    }

    fn parse(csv: &[u8]) -> Vec<Parsed> {
        let mut reader = csv::Reader::from_reader(csv);
        assert_eq!(
            reader
                .headers()
                .unwrap()
                .iter()
                .collect::<Vec<_>>()
                .join(","),
            HEADER
        );
        let events: Vec<&str> = EVENTS.iter().map(|e| e.as_str()).collect();
        let devices: Vec<&str> = DEVICES.iter().map(|d| d.as_str()).collect();
        let channels: Vec<&str> = CHANNELS.iter().map(|c| c.as_str()).collect();
        let mut out = Vec::new();
        for rec in reader.records() {
            let rec = rec.unwrap();
            assert_eq!(rec.len(), 7, "{rec:?}");
            let ts = &rec[0];
            assert_eq!(ts.len(), 20, "{ts}");
            assert!(ts.ends_with('Z'), "{ts}");
            let parsed: jiff::Timestamp = ts.parse().unwrap();
            assert_eq!(parsed.to_string(), ts, "RFC 3339 with whole seconds");
            assert!(rec[1].len() == 12 && rec[2].len() == 12, "{rec:?}");
            assert!(events.contains(&&rec[3]), "{rec:?}");
            assert!(devices.contains(&&rec[4]), "{rec:?}");
            assert!(channels.contains(&&rec[5]), "{rec:?}");
            let value = &rec[6];
            if &rec[3] == "purchase" {
                let (eur, cents) = value.split_once('.').unwrap();
                assert!(
                    eur.parse::<u32>().unwrap() >= 5 && cents.len() == 2,
                    "{value}"
                );
                assert!(cents.bytes().all(|b| b.is_ascii_digit()), "{value}");
            } else {
                assert!(value.is_empty(), "{rec:?}");
            }
            out.push(Parsed {
                ts: parsed.as_second(),
                user: rec[1].to_string(),
                session: rec[2].to_string(),
                event: rec[3].to_string(),
            });
        }
        out
    }

    fn small_spec() -> DemoSpec {
        DemoSpec {
            weeks: 3,
            sessions_per_week: 800,
            giveaway: Some(Giveaway {
                last_weeks: 1,
                sessions_per_week: 300,
                purchase_rate: 0.001,
            }),
            traffic_surge: None,
            storefront_change: None,
            ..DemoSpec::default()
        }
    }

    #[test]
    fn same_spec_gives_identical_csv_and_gzip_bytes() {
        let (csv, summary) = default_log();
        let mut again = Vec::new();
        assert_eq!(
            &generate(&DemoSpec::default(), &mut again).unwrap(),
            summary
        );
        assert!(csv == &again, "two runs of the default spec differ");

        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let (a, b) = (dir.path().join("a.csv.gz"), dir.path().join("b.csv.gz"));
        let sa = write_gz(&spec, &a).unwrap();
        let sb = write_gz(&spec, &b).unwrap();
        assert_eq!(sa, sb);
        let (ga, gb) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
        assert_eq!(ga, gb);
        // gzip header: no file name flag, zero mtime.
        assert_eq!(&ga[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&ga[4..8], &[0, 0, 0, 0]);
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&ga[..]), &mut plain).unwrap();
        let mut direct = Vec::new();
        generate(&spec, &mut direct).unwrap();
        assert!(plain == direct, "gzip content differs from generate()");
        // Only the two outputs are left: no temporary files.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn rows_parse_are_sorted_and_match_the_summary() {
        let (csv, summary) = default_log();
        let rows = parse(csv);
        assert_eq!(rows.len() as u64, summary.rows);
        assert!(
            rows.windows(2).all(|w| w[0].ts <= w[1].ts),
            "rows not sorted"
        );
        let start = jiff::civil::date(2026, 9, 7)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap();
        let first = start.timestamp().as_second();
        assert!(rows[0].ts >= first && rows.last().unwrap().ts < first + 10 * WEEK);
        let sessions: HashSet<&str> = rows.iter().map(|r| r.session.as_str()).collect();
        let users: HashSet<&str> = rows.iter().map(|r| r.user.as_str()).collect();
        assert_eq!(sessions.len() as u64, summary.sessions);
        assert_eq!(users.len() as u64, summary.users);
        let purchases = rows.iter().filter(|r| r.event == "purchase").count() as u64;
        assert_eq!(purchases, summary.purchases);
        let weeks: Vec<String> = summary.weeks.iter().map(|w| w.week.to_string()).collect();
        assert_eq!(weeks.first().unwrap(), "2026-W37");
        assert_eq!(weeks.last().unwrap(), "2026-W46");
        assert_eq!(weeks.len(), 10);
        // Some users come back, some several times.
        assert!(summary.users * 10 < summary.sessions * 8);
    }

    #[test]
    fn funnel_steps_follow_their_predecessors_in_every_session() {
        let (csv, _) = default_log();
        let order = [
            "view_item",
            "add_to_cart",
            "begin_checkout",
            "add_shipping_info",
            "add_payment_info",
            "purchase",
        ];
        let mut by_session: HashMap<&str, Vec<&Parsed>> = HashMap::new();
        let rows = parse(csv);
        for r in &rows {
            by_session.entry(&r.session).or_default().push(r);
        }
        for (id, events) in &by_session {
            assert_eq!(events[0].event, "session_start", "session {id}");
            assert!(
                events.iter().all(|e| e.user == events[0].user),
                "session {id}"
            );
            let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
            let first = |n: &str| names.iter().position(|&x| x == n);
            for pair in order.windows(2) {
                if let Some(later) = first(pair[1]) {
                    let earlier = first(pair[0]);
                    assert!(
                        earlier.is_some_and(|e| e < later),
                        "session {id}: {} without an earlier {}: {names:?}",
                        pair[1],
                        pair[0]
                    );
                }
            }
            if let Some(w) = first("add_to_wishlist") {
                assert!(first("view_item").is_some_and(|v| v < w), "{names:?}");
            }
            assert!(names.iter().filter(|&&n| n == "purchase").count() <= 1);
        }
    }

    #[test]
    fn giveaway_floods_sign_up_and_collapses_its_precision() {
        let (csv, summary) = default_log();
        let sign_ups: Vec<u64> = summary
            .weeks
            .iter()
            .map(|w| w.sessions_with("sign_up"))
            .collect();
        let before = sign_ups[..8].iter().sum::<u64>() as f64 / 8.0;
        assert!((70.0..150.0).contains(&before), "{sign_ups:?}");
        for &n in &sign_ups[8..] {
            assert!(n as f64 > 5.0 * before, "{sign_ups:?}");
        }
        // P(purchase in the session | sign_up in the session), before and during the giveaway.
        let rows = parse(csv);
        let giveaway_start = rows[0].ts - rows[0].ts.rem_euclid(WEEK) + 8 * WEEK;
        let mut sessions: HashMap<&str, (bool, bool, bool)> = HashMap::new();
        for r in &rows {
            let s = sessions
                .entry(&r.session)
                .or_insert((r.ts >= giveaway_start, false, false));
            s.1 |= r.event == "sign_up";
            s.2 |= r.event == "purchase";
        }
        let precision = |late: bool| {
            let (n, k) = sessions
                .values()
                .filter(|s| s.0 == late && s.1)
                .fold((0, 0), |(n, k), s| (n + 1, k + usize::from(s.2)));
            k as f64 / n as f64
        };
        let (normal, giveaway) = (precision(false), precision(true));
        assert!(
            normal > 0.025,
            "sign_up precision before the giveaway {normal}"
        );
        assert!(giveaway < normal / 4.0, "{normal} -> {giveaway}");
    }

    #[test]
    fn weekly_volumes_and_precisions_hit_their_targets() {
        let (_, summary) = default_log();
        for w in &summary.weeks {
            let p = w.sessions_with("purchase");
            assert!((40..=105).contains(&p), "{}: {p} purchases", w.week);
            assert_eq!(w.events["purchase"].rows, p, "one purchase per session");
        }
        let regular = &summary.weeks[..8];
        let total = |e: &str| regular.iter().map(|w| w.sessions_with(e)).sum::<u64>() as f64;
        let sessions = regular.iter().map(|w| w.sessions).sum::<u64>() as f64;
        let purchases = total("purchase");
        let rate = |e: &str| total(e) / sessions;
        assert!((0.80..0.90).contains(&rate("view_item")));
        assert!((0.10..0.14).contains(&rate("add_to_cart")));
        assert!(
            (0.016..0.024).contains(&rate("purchase")),
            "{}",
            rate("purchase")
        );
        let precision = |e: &str| purchases / total(e);
        assert!(
            (0.13..0.22).contains(&precision("add_to_cart")),
            "{}",
            precision("add_to_cart")
        );
        assert!((0.33..0.48).contains(&precision("begin_checkout")));
        assert!((0.55..0.75).contains(&precision("add_payment_info")));
        // Giveaway weeks: add_to_cart moves by traffic, not by the flood of sign-ups.
        let atc_before = total("add_to_cart") / 8.0;
        for w in &summary.weeks[8..] {
            let atc = w.sessions_with("add_to_cart") as f64;
            assert!((atc / atc_before - 1.0).abs() < 0.3, "{}: {atc}", w.week);
        }
    }

    #[test]
    fn the_giveaway_only_adds_sessions() {
        let with = small_spec();
        let without = DemoSpec {
            giveaway: None,
            ..small_spec()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let sa = generate(&with, &mut a).unwrap();
        let sb = generate(&without, &mut b).unwrap();
        assert!(sa.sessions > sb.sessions + 200);
        // Every line of the store without a giveaway appears, in order, in the one with it.
        let a = String::from_utf8(a).unwrap();
        let b = String::from_utf8(b).unwrap();
        let mut lines = a.lines();
        for line in b.lines() {
            assert!(lines.any(|l| l == line), "missing {line}");
        }
    }

    #[test]
    fn invalid_specs_are_rejected() {
        let tuesday = DemoSpec {
            first_week_monday: jiff::civil::date(2026, 9, 8),
            ..DemoSpec::default()
        };
        let no_weeks = DemoSpec {
            weeks: 0,
            ..DemoSpec::default()
        };
        let long_giveaway = DemoSpec {
            weeks: 1,
            ..DemoSpec::default()
        };
        for spec in [tuesday, no_weeks, long_giveaway] {
            let err = generate(&spec, std::io::sink()).unwrap_err();
            assert!(matches!(err, DemoError::InvalidSpec(_)), "{err}");
        }
        let missing = Path::new("/nonexistent-dir-for-optsignal/demo.csv.gz");
        let err = write_gz(&small_spec(), missing).unwrap_err();
        assert!(matches!(err, DemoError::File { .. }), "{err}");
    }

    #[test]
    fn samplers_have_the_right_means() {
        let mut rng = stream(1, 2);
        let n = 4_000;
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        let p = mean((0..n).map(|_| poisson(&mut rng, 1_500.0) as f64).collect());
        assert!((p - 1_500.0).abs() < 5.0, "{p}");
        let p = mean((0..n).map(|_| poisson(&mut rng, 3.0) as f64).collect());
        assert!((p - 3.0).abs() < 0.15, "{p}");
        let g = mean((0..n).map(|_| gamma(&mut rng, 100.0) / 100.0).collect());
        assert!((g - 1.0).abs() < 0.01, "{g}");
        let g = mean((0..n).map(|_| gamma(&mut rng, 0.5)).collect());
        assert!((g - 0.5).abs() < 0.05, "{g}");
    }
}
