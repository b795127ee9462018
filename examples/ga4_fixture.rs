//! Writes `fixtures/ga4/`: a slice of the demo store (every user whose id falls in 1/40 of the id
//! space) as GA4's BigQuery export NDJSON (`events.ndjson.gz`, the shape `bq extract` writes:
//! INT64 as strings, FLOAT as numbers, absent NULLs) and the same events as a canonical CSV
//! (`events.csv`). Deterministic: re-running it gives the same bytes.
//!
//! ```sh
//! cargo run --example ga4_fixture            # reads fixtures/demo/events.csv.gz
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
    let out = root.join("fixtures/ga4");
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
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let [ts, user, session, name, device, channel, value] = f[..] else {
            continue;
        };
        let Ok(prefix) = u64::from_str_radix(&user[..6], 16) else {
            continue;
        };
        if !prefix.is_multiple_of(40) {
            continue;
        }
        let t: jiff::Timestamp = ts.parse()?;
        let secs = t.as_second();
        // Deterministic sub-second part, as GA4 timestamps carry microseconds.
        let micros = secs * 1_000_000 + (prefix as i64 * 7919 + secs) % 1_000_000;
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
        writeln!(nd, "{row}")?;
        csv.push_str(&format!(
            "{micros},{pseudo},{pseudo}.{sid},{name},{device},{channel},{value}\n"
        ));
    }
    nd.into_inner().map_err(|e| e.into_error())?.finish()?;
    std::fs::write(out.join("events.csv"), csv)?;
    println!("wrote {} events from {} users", bundle, users.len());
    Ok(())
}
