//! The request bodies of the three destinations, built from qualifying units (no I/O):
//!
//! - Meta Conversions API, `POST /{pixel_id}/events`: `{"data": [...], "test_event_code"?}`,
//!   at most [`META_BATCH`] events a request; each event has `event_name`, `event_time` (Unix
//!   seconds), `action_source: "website"`, a stable `event_id`, `user_data` (`em`, `ph` and
//!   `external_id` normalised and SHA-256 hashed; `fbp`, `fbc`, `client_ip_address`,
//!   `client_user_agent` as they are) and `custom_data` (`value`, `currency`).
//! - Google Ads `POST /customers/{id}:uploadClickConversions`: `{"conversions": [...],
//!   "partialFailure": true}` with `gclid`, `conversionAction`, `conversionDateTime`
//!   (`yyyy-mm-dd hh:mm:ss+00:00`), `conversionValue`, `currencyCode`, `orderId` (the event id,
//!   which Google deduplicates on), at most [`GOOGLE_BATCH`] a request.
//! - GA4 Measurement Protocol `POST /mp/collect?measurement_id=…&api_secret=…`: one body per
//!   unit, `{"client_id", "timestamp_micros", "events": [{"name", "params": {"value",
//!   "currency", "event_id", "engagement_time_msec"}}]}`.
//!
//! A unit without the identifier a destination needs is left out with a [`Skip`] reason.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::hash::{hashed_email, hashed_phone, sha256_hex};
use crate::source::identified::Conversion;
use crate::types::EventName;

/// Most events in one Conversions API request (Meta's limit).
pub const META_BATCH: usize = 1000;
/// Most conversions in one `uploadClickConversions` request (Google's limit).
pub const GOOGLE_BATCH: usize = 2000;

/// Why a unit was left out of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// Meta: no `client_user_agent` (required for website events).
    NoUserAgent,
    /// Google Ads: no gclid (the session did not come from a Google ad click).
    NoGclid,
    /// GA4: no client id.
    NoClientId,
}

/// The Meta standard event of a canonical event (Meta Pixel reference), if it has one.
pub fn meta_event_name(e: &EventName) -> Option<&'static str> {
    crate::platform::event_names(e).map(|n| n.meta)
}

/// The stable event id of a unit's conversion: the row's own id when the log has one (the
/// pixel's `eventID`, so Meta deduplicates browser and server events), else the first 32 hex
/// digits of SHA-256 of `account|unit|event|µs`, the same on every run.
pub fn event_id(account: &str, c: &Conversion) -> String {
    c.row_event_id.clone().unwrap_or_else(|| {
        let h = sha256_hex(&format!("{account}|{}|{}|{}", c.unit, c.event, c.micros));
        format!("os-{}", &h[..32])
    })
}

/// The value sent for a conversion: a purchase's own order value, else the event's value
/// (precision × order value, from the report), rounded to cents.
pub fn value_of(c: &Conversion, values: &BTreeMap<EventName, f64>) -> Option<f64> {
    let v = match c.event.as_str() {
        "purchase" => c.value.or_else(|| values.get(&c.event).copied()),
        _ => values.get(&c.event).copied(),
    }?;
    (v.is_finite() && v >= 0.0).then(|| (v * 100.0).round() / 100.0)
}

/// What the bodies of one destination need besides the conversions.
#[derive(Debug, Clone)]
pub struct Common<'a> {
    /// Account name (part of the stable event id).
    pub account: &'a str,
    /// Value per event.
    pub values: &'a BTreeMap<EventName, f64>,
    /// ISO 4217 currency.
    pub currency: &'a str,
    /// Country code for national phone numbers.
    pub country_code: Option<&'a str>,
}

/// One item of a destination: the body part and the conversion's event id.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The event id.
    pub event_id: String,
    /// When the unit did the event, µs since the epoch (UTC): the day of the sent-state.
    pub micros: i64,
    /// The body part (a Meta `data[]` event, a Google conversion, a GA4 body).
    pub body: Value,
}

/// The items of a destination and the units left out, by reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Items {
    /// Built items, in conversion order.
    pub items: Vec<Item>,
    /// Units left out.
    pub skipped: BTreeMap<Skip, u64>,
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(k.to_string(), Value::String(v.to_string()));
    }
}

/// Meta `data[]` events; `event_name` overrides the standard name.
pub fn meta_items(convs: &[Conversion], c: &Common<'_>, event_name: Option<&str>) -> Items {
    let mut out = Items::default();
    for conv in convs {
        let Some(ua) = conv.ids.get("client_user_agent") else {
            *out.skipped.entry(Skip::NoUserAgent).or_default() += 1;
            continue;
        };
        let mut user = Map::new();
        if let Some(h) = conv.ids.get("email").and_then(hashed_email) {
            user.insert("em".into(), json!([h]));
        }
        if let Some(h) = conv
            .ids
            .get("phone")
            .and_then(|p| hashed_phone(p, c.country_code))
        {
            user.insert("ph".into(), json!([h]));
        }
        user.insert("external_id".into(), json!([sha256_hex(&conv.user)]));
        put(&mut user, "fbp", conv.ids.get("fbp"));
        put(&mut user, "fbc", conv.ids.get("fbc"));
        put(
            &mut user,
            "client_ip_address",
            conv.ids.get("client_ip_address"),
        );
        put(&mut user, "client_user_agent", Some(ua));
        let name = event_name
            .map(str::to_string)
            .or_else(|| meta_event_name(&conv.event).map(str::to_string))
            .unwrap_or_else(|| conv.event.to_string());
        let id = event_id(c.account, conv);
        let mut ev = json!({
            "event_name": name,
            "event_time": conv.micros.div_euclid(1_000_000),
            "action_source": "website",
            "event_id": id,
            "user_data": user,
        });
        if let Some(v) = value_of(conv, c.values) {
            ev["custom_data"] = json!({"value": v, "currency": c.currency});
        }
        out.items.push(Item {
            event_id: id,
            micros: conv.micros,
            body: ev,
        });
    }
    out
}

/// A Conversions API request body of `events`.
pub fn meta_body(events: &[Item], test_event_code: Option<&str>) -> Value {
    let mut b = json!({"data": events.iter().map(|i| i.body.clone()).collect::<Vec<_>>()});
    if let Some(t) = test_event_code {
        b["test_event_code"] = json!(t);
    }
    b
}

/// Google's `conversionDateTime`: `yyyy-mm-dd hh:mm:ss+00:00` in UTC.
pub fn google_date_time(micros: i64) -> String {
    let t = jiff::Timestamp::from_microsecond(micros).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    t.strftime("%Y-%m-%d %H:%M:%S+00:00").to_string()
}

/// Google Ads click conversions (units without a gclid are left out).
pub fn google_items(convs: &[Conversion], c: &Common<'_>, conversion_action: &str) -> Items {
    let mut out = Items::default();
    for conv in convs {
        let Some(gclid) = conv.ids.get("gclid") else {
            *out.skipped.entry(Skip::NoGclid).or_default() += 1;
            continue;
        };
        let id = event_id(c.account, conv);
        let mut body = json!({
            "gclid": gclid,
            "conversionAction": conversion_action,
            "conversionDateTime": google_date_time(conv.micros),
            "orderId": id,
        });
        if let Some(v) = value_of(conv, c.values) {
            body["conversionValue"] = json!(v);
            body["currencyCode"] = json!(c.currency);
        }
        out.items.push(Item {
            event_id: id,
            micros: conv.micros,
            body,
        });
    }
    out
}

/// An `uploadClickConversions` request body.
pub fn google_body(items: &[Item]) -> Value {
    json!({
        "conversions": items.iter().map(|i| i.body.clone()).collect::<Vec<_>>(),
        "partialFailure": true,
    })
}

/// GA4 Measurement Protocol bodies, one per unit (units without a client id are left out).
pub fn ga4_items(convs: &[Conversion], c: &Common<'_>, event_name: &str) -> Items {
    let mut out = Items::default();
    for conv in convs {
        let Some(client_id) = conv.ids.get("client_id") else {
            *out.skipped.entry(Skip::NoClientId).or_default() += 1;
            continue;
        };
        let id = event_id(c.account, conv);
        let mut params = json!({"event_id": id, "engagement_time_msec": 1});
        if let Some(v) = value_of(conv, c.values) {
            params["value"] = json!(v);
            params["currency"] = json!(c.currency);
        }
        let body = json!({
            "client_id": client_id,
            "timestamp_micros": conv.micros.to_string(),
            "events": [{"name": event_name, "params": params}],
        });
        out.items.push(Item {
            event_id: id,
            micros: conv.micros,
            body,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::identified::{Identifiers, PARAMS};

    fn conv(event: &str, ids: &[(&str, &str)]) -> Conversion {
        let mut i = Identifiers::default();
        for (k, v) in ids {
            let p = PARAMS.iter().position(|p| p == k).unwrap();
            i.values[p] = Some(v.to_string());
        }
        Conversion {
            unit: "s1".into(),
            user: "u1".into(),
            event: EventName::new(event).unwrap(),
            micros: 1_763_200_000_123_456,
            value: Some(80.0),
            row_event_id: None,
            ids: i,
        }
    }

    fn common(values: &BTreeMap<EventName, f64>) -> Common<'_> {
        Common {
            account: "Demo store",
            values,
            currency: "EUR",
            country_code: Some("1"),
        }
    }

    #[test]
    fn meta_events_have_the_documented_shape_and_hash_contact_fields() {
        let values = BTreeMap::from([(EventName::new("add_to_cart").unwrap(), 10.956)]);
        let c = conv(
            "add_to_cart",
            &[
                ("email", " John_Smith@gmail.com"),
                ("phone", "(650)555-1212"),
                ("fbp", "fb.1.1596403881668.1116446470"),
                ("client_user_agent", "Mozilla/5.0"),
                ("client_ip_address", "203.0.113.9"),
            ],
        );
        let items = meta_items(
            &[c.clone(), conv("add_to_cart", &[])],
            &common(&values),
            None,
        );
        assert_eq!(items.skipped, BTreeMap::from([(Skip::NoUserAgent, 1)]));
        let body = meta_body(&items.items, Some("TEST123"));
        let e = &body["data"][0];
        assert_eq!(e["event_name"], "AddToCart");
        assert_eq!(e["event_time"], 1_763_200_000);
        assert_eq!(e["action_source"], "website");
        assert_eq!(
            e["user_data"]["em"][0],
            "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
        );
        assert_eq!(
            e["user_data"]["ph"][0],
            "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
        );
        assert_eq!(e["user_data"]["fbp"], "fb.1.1596403881668.1116446470");
        assert!(e["user_data"].get("fbc").is_none());
        assert_eq!(e["custom_data"], json!({"value": 10.96, "currency": "EUR"}));
        assert_eq!(body["test_event_code"], "TEST123");
        // Stable: the same unit, event and time give the same id on every run.
        assert_eq!(e["event_id"], event_id("Demo store", &c));
        assert_eq!(event_id("Demo store", &c).len(), 35);
    }

    #[test]
    fn google_and_ga4_bodies_have_the_documented_shape() {
        let values = BTreeMap::new();
        let c = conv(
            "purchase",
            &[("gclid", "Cj0KCQabc"), ("client_id", "123.456")],
        );
        let g = google_items(
            &[c.clone(), conv("purchase", &[])],
            &common(&values),
            "customers/1/conversionActions/2",
        );
        assert_eq!(g.skipped, BTreeMap::from([(Skip::NoGclid, 1)]));
        let body = google_body(&g.items);
        assert_eq!(body["partialFailure"], true);
        let x = &body["conversions"][0];
        assert_eq!(x["gclid"], "Cj0KCQabc");
        assert_eq!(x["conversionAction"], "customers/1/conversionActions/2");
        // 1763200000 s = 2025-11-15 09:46:40 UTC.
        assert_eq!(x["conversionDateTime"], "2025-11-15 09:46:40+00:00");
        assert_eq!(x["conversionValue"], 80.0);
        assert_eq!(x["currencyCode"], "EUR");
        let a = ga4_items(&[c], &common(&values), "optsignal_purchase");
        let b = &a.items[0].body;
        assert_eq!(b["client_id"], "123.456");
        assert_eq!(b["timestamp_micros"], "1763200000123456");
        assert_eq!(b["events"][0]["name"], "optsignal_purchase");
        assert_eq!(b["events"][0]["params"]["value"], 80.0);
    }
}
