//! Writes `fixtures/ga4/`: a slice of the demo store (every user whose id falls in 1/8 of the id
//! space) as GA4's BigQuery export NDJSON (`events.ndjson.gz`, the shape `bq extract` writes:
//! INT64 as strings, FLOAT as numbers, absent NULLs) and the same events as a canonical CSV
//! (`events.csv.gz`). Deterministic: re-running it gives the same bytes.
//!
//! The slice carries what real exports have and the pushdown SQL must get right:
//! - GA4's in-batch order (`batch_page_id`, `batch_ordering_id`, `batch_event_index`), in file
//!   order, and timestamp ties: every third purchase shares its microsecond with the event before
//!   it in the session, or with the one after it;
//! - users without `ga_session_id` (sessions inferred from inactivity, as for `(not set)`);
//! - consent-mode rows without `user_pseudo_id` (skipped as "missing user id" by every reader).
//!
//! ```sh
//! cargo run --example ga4_fixture            # reads fixtures/demo/events.csv.gz
//! cargo run --example ga4_fixture -- 1 /tmp/ga4-full   # every user, elsewhere
//! ```

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use serde_json::json;

/// GA4 source/medium that [`optsignal::source::ga4_export::channel_of`] maps back to the demo's
/// channel name.
fn source_medium(channel: &str, salt: u64) -> (&'static str, &'static str) {
    match channel {
        "paid_social" if salt.is_multiple_of(3) => ("ig", "paid_social"),
        "paid_social" => ("facebook", "cpc"),
        "paid_search" => ("google", "cpc"),
        "organic_search" if salt.is_multiple_of(5) => ("bing", "organic"),
        "organic_search" => ("google", "organic"),
        "email" => ("newsletter", "email"),
        _ => ("(direct)", "(none)"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(
        root.join("fixtures/demo/events.csv.gz"),
    )?)
    .read_to_string(&mut text)?;
    // `-- EVERY DIR`: one user in EVERY (default 8) into DIR (default fixtures/ga4), e.g.
    // `-- 1 /tmp/ga4-full` for the whole demo store, to measure the pushdown on more events.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let every: u64 = args.first().map_or(Ok(8), |a| a.parse())?;
    let out = args
        .get(1)
        .map_or_else(|| root.join("fixtures/ga4"), std::path::PathBuf::from);
    std::fs::create_dir_all(&out)?;
    let mut csv = String::from("timestamp,user_id,session_id,event_name,device,channel,value\n");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(out.join("events.ndjson.gz"))?,
        flate2::Compression::best(),
    );
    let mut nd = std::io::BufWriter::new(gz);
    // Per demo user: GA4 pseudo id, first-touch channel, session count; per demo session: its
    // ga_session_id (start second, bumped on a same-second clash) and number.
    let mut users: HashMap<String, (String, String, i64, u32)> = HashMap::new();
    let mut sessions: HashMap<String, (i64, u32)> = HashMap::new();
    let mut taken: HashMap<String, Vec<i64>> = HashMap::new();
    let mut bundle = 0u64;
    // Per demo session: (last event's micros, whether it was a purchase, events so far), for the
    // timestamp ties and GA4's batch order; purchases seen, to tie every third one.
    let mut last: HashMap<String, (i64, bool, u64)> = HashMap::new();
    let mut purchases = 0u64;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let [ts, user, session, name, device, channel, value] = f[..] else {
            continue;
        };
        let Ok(prefix) = u64::from_str_radix(&user[..6], 16) else {
            continue;
        };
        if !prefix.is_multiple_of(every) {
            continue;
        }
        let t: jiff::Timestamp = ts.parse()?;
        let secs = t.as_second();
        // Deterministic sub-second part, as GA4 timestamps carry microseconds.
        let mut micros = secs * 1_000_000 + (prefix as i64 * 7919 + secs) % 1_000_000;
        // Timestamp ties inside a session, around a purchase: every third purchase shares its
        // microsecond with the event before it; the event after the next purchase, with it.
        let prev = last.get(session).copied();
        if name == "purchase" {
            purchases += 1;
            if let (true, Some((t, _, _))) = (purchases.is_multiple_of(3), prev) {
                micros = t;
            }
        } else if let (true, Some((t, true, _))) = (purchases % 3 == 1, prev) {
            micros = t;
        }
        let ordering = prev.map_or(1, |p| p.2 + 1);
        last.insert(session.to_string(), (micros, name == "purchase", ordering));
        // About one user in eleven has no ga_session_id (GA4's "(not set)" sessions).
        let no_session = (prefix / 8).is_multiple_of(11);
        let (pseudo, first_channel, first_secs, nsess) =
            users.entry(user.to_string()).or_insert_with(|| {
                (
                    format!("{}.{}", (prefix * 2_654_435_761) % 2_000_000_000, secs),
                    channel.to_string(),
                    secs,
                    0,
                )
            });
        let (sid, snum) = *sessions.entry(session.to_string()).or_insert_with(|| {
            let used = taken.entry(user.to_string()).or_default();
            let mut sid = secs;
            while used.contains(&sid) {
                sid += 1;
            }
            used.push(sid);
            *nsess += 1;
            (sid, *nsess)
        });
        let salt = sid as u64;
        let (src, med) = source_medium(channel, salt);
        let (fsrc, fmed) = source_medium(first_channel, *first_secs as u64);
        bundle += 1;
        let date = t
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%Y%m%d")
            .to_string();
        let mut row = json!({
            "event_date": date,
            "event_timestamp": micros.to_string(),
            "event_name": name,
            "event_params": [
                {"key": "ga_session_id", "value": {"int_value": sid.to_string()}},
                {"key": "ga_session_number", "value": {"int_value": snum.to_string()}},
                {"key": "page_location", "value": {"string_value": format!("https://shop.example/{}", name.replace('_', "-"))}},
                {"key": "engagement_time_msec", "value": {"int_value": ((salt % 9000) + 100).to_string()}},
            ],
            "event_bundle_sequence_id": bundle.to_string(),
            "batch_page_id": (sid * 1000).to_string(),
            "batch_ordering_id": ordering.to_string(),
            "batch_event_index": "0",
            "user_pseudo_id": pseudo,
            "user_first_touch_timestamp": (*first_secs * 1_000_000).to_string(),
            "privacy_info": {"analytics_storage": "Yes", "ads_storage": "Yes", "uses_transient_token": "No"},
            "user_ltv": {"revenue": 0.0, "currency": "EUR"},
            "device": {"category": device, "operating_system": if device == "desktop" { "Windows" } else { "Android" }, "language": "en-gb", "is_limited_ad_tracking": "No", "web_info": {"browser": "Chrome", "browser_version": "131.0"}},
            "geo": {"city": "(not set)", "country": "Germany", "continent": "Europe", "region": "(not set)"},
            "traffic_source": {"name": "(direct)", "medium": fmed, "source": fsrc},
            "stream_id": "4178301234",
            "platform": "WEB",
            "session_traffic_source_last_click": {"manual_campaign": {"campaign_name": "(organic)", "source": src, "medium": med}},
            "is_active_user": true,
        });
        if matches!(
            name,
            "view_item"
                | "add_to_cart"
                | "begin_checkout"
                | "add_shipping_info"
                | "add_payment_info"
                | "purchase"
        ) {
            let mut ecommerce = json!({"total_item_quantity": "1", "unique_items": "1"});
            if name == "purchase" {
                let v: f64 = value.parse()?;
                ecommerce["purchase_revenue"] = json!(v);
                ecommerce["purchase_revenue_in_usd"] = json!((v * 1.08 * 100.0).round() / 100.0);
                ecommerce["transaction_id"] = json!(format!("T{bundle}"));
            }
            row["ecommerce"] = ecommerce;
        }
        let csv_session = if no_session {
            row["event_params"]
                .as_array_mut()
                .expect("event_params is an array")
                .retain(|p| p["key"] != "ga_session_id");
            String::new()
        } else {
            format!("{pseudo}.{sid}")
        };
        writeln!(nd, "{row}")?;
        csv.push_str(&format!(
            "{micros},{pseudo},{csv_session},{name},{device},{channel},{value}\n"
        ));
        // After some purchases the shopper goes on: an account created at the same microsecond
        // (a tie the in-batch order decides), or another product viewed 40 s later.
        if name == "purchase" && !purchases.is_multiple_of(3) {
            let (after, at) = if purchases % 3 == 1 {
                ("sign_up", micros)
            } else {
                ("view_item", micros + 40_000_000)
            };
            let mut next = row.clone();
            next["event_name"] = json!(after);
            next["event_timestamp"] = json!(at.to_string());
            next["batch_ordering_id"] = json!((ordering + 1).to_string());
            next.as_object_mut()
                .expect("a row is an object")
                .remove("ecommerce");
            bundle += 1;
            next["event_bundle_sequence_id"] = json!(bundle.to_string());
            writeln!(nd, "{next}")?;
            csv.push_str(&format!(
                "{at},{pseudo},{csv_session},{after},{device},{channel},\n"
            ));
            last.insert(session.to_string(), (at, false, ordering + 1));
        }
        // A consent-mode copy without user_pseudo_id, now and then.
        if bundle.is_multiple_of(997) {
            row.as_object_mut()
                .expect("a row is an object")
                .remove("user_pseudo_id");
            writeln!(nd, "{row}")?;
            csv.push_str(&format!(
                "{micros},,{csv_session},{name},{device},{channel},{value}\n"
            ));
        }
    }
    nd.into_inner().map_err(|e| e.into_error())?.finish()?;
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(out.join("events.csv.gz"))?,
        flate2::Compression::best(),
    );
    gz.write_all(csv.as_bytes())?;
    gz.finish()?;
    println!("wrote {} events from {} users", bundle, users.len());
    Ok(())
}
