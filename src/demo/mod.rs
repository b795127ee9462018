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

mod draws;
mod generator;
mod identified;
mod intent;
mod write;

use draws::*;
use generator::*;
pub use identified::{identified_csv, write_identified_gz};
pub use intent::{write_intent_store, IntentStore, INTENT_DERIVED};

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
pub const CONFIG_TOML: &str = include_str!("../../fixtures/demo/optsignal.toml");

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

#[cfg(test)]
mod tests;
