//! The set-up of each recommended signal in words ([`crate::setup`]): the steps a person
//! follows in GA4 and on each platform. Used by the report's HOW TO SET IT UP section and by
//! `optsignal signal spec`.

use crate::setup::{Destination, PlatformSetup, Sending, Setup, ValueRule};

/// The steps of one platform's set-up, in order.
pub fn steps(p: &PlatformSetup, outcome: &str) -> Vec<String> {
    let e = p.event.as_str();
    let mut out = Vec::new();
    if p.sending == Sending::ServerOnly {
        out.push(format!(
            "{e} is a model's score, not an event of the site: only your server can compute and send it (Conversions API, Events API, offline conversion import); `optsignal signal export` does not score sessions yet"
        ));
    }
    let value = |what: &str| {
        match p.value {
        ValueRule::OrderValue => format!("Value: each {what}'s own order value"),
        ValueRule::PerEvent { value } => format!(
            "Value: {value:.2} with each {what} (precision × order value: what one is worth in expected {outcome} revenue)"
        ),
        ValueRule::None => format!(
            "Value: none; count each {what} only (the value estimate of {e} is too uncertain to bid on, see PROXY VALUES)"
        ),
    }
    };
    if let Some(rule) = &p.derived {
        out.push(build_step(e, rule, outcome));
    }
    let is_outcome = e == outcome;
    match &p.destination {
        Destination::Meta {
            event_name,
            standard,
            custom_event_type,
            custom_conversion,
        } => {
            if *standard {
                out.push(format!("Send {e} to Meta as the standard event {event_name}: the pixel, and the Conversions API with the same event_id, so Meta deduplicates them"));
                out.push(format!("Ad sets: conversion event {event_name} (promoted_object.custom_event_type = {custom_event_type})"));
            } else {
                out.push(format!("Send {e} to Meta as a custom event named {event_name} (pixel trackCustom, or the Conversions API)"));
                let name = custom_conversion.as_deref().unwrap_or(e);
                out.push(format!("Events Manager → Custom conversions: create \"{name}\" on the custom event {event_name} (custom_event_type {custom_event_type}) and optimize the ad sets on it"));
            }
            out.push(value(event_name));
        }
        Destination::GoogleAds {
            conversion_action,
            category,
            biddable_by_default,
            counting,
            ..
        } => {
            let counting = match *counting {
                "every" => "count: every conversion",
                _ => "count: one per click",
            };
            out.push(format!("GA4: mark {} as a key event (Admin → Data display → Key events); in Google Ads import it from the linked GA4 property as the conversion action \"{conversion_action}\" (category {category}, {counting}), or upload it as offline click conversions with `optsignal signal export --send`", p.ga4_key_event));
            if is_outcome {
                out.push(format!("Make \"{conversion_action}\" the primary action of the goal these campaigns bid on"));
            } else {
                out.push(format!("Make \"{conversion_action}\" the primary action of the goal these campaigns bid on (or the only action of a custom goal set on them); keep {outcome} as a secondary action, so it is still reported but no longer bid on"));
            }
            if !biddable_by_default {
                let or_custom = if is_outcome {
                    ""
                } else {
                    " or use the custom goal"
                };
                out.push(format!("Google's own {category} goal is not biddable by default: make it biddable (Goals → Summary){or_custom}"));
            }
            out.push(value("conversion"));
        }
        Destination::Tiktok {
            event_name,
            optimization_event,
        } => match optimization_event {
            Some(code) => {
                out.push(format!("Send {e} to TikTok as the standard event {event_name} (pixel and Events API, same event_id)"));
                out.push(format!("Ad groups: optimization event {code}"));
                out.push(value(event_name));
            }
            None => {
                out.push(format!("Send {e} to TikTok as a custom event named {event_name} (pixel and Events API); TikTok has no standard event for it: create a custom conversion on it in Events Manager and optimize the ad groups on that"));
                out.push(value(event_name));
            }
        },
        Destination::Other { event_name } => {
            out.push(format!(
                "Send {e} as {event_name} and optimize on a custom conversion on that event"
            ));
            out.push(value(event_name));
        }
    }
    out
}

/// How to build a derived event from the site's own events: once per session, at the moment
/// its rule is met, and only before the outcome (as optsignal measured it).
fn build_step(e: &str, rule: &crate::observe::DerivedKind, outcome: &str) -> String {
    use crate::observe::DerivedKind as K;
    let once = format!("fire {e} once per session, and not after {outcome}");
    match rule {
        K::ValueAtLeast { event, value } => format!(
            "Build {e}: GA4 Admin → Events → Create event \"{e}\" with the conditions event_name equals {event} and value greater than or equal to {value} (it then reaches Google Ads as a key event); for the other platforms, a GTM trigger on {event} with the condition value ≥ {value}; {once}"
        ),
        K::AtLeast { event, times } => format!(
            "Build {e}: a GTM Custom HTML tag on {event} counts it in sessionStorage and pushes {e} to the dataLayer when the count reaches {times}; the platforms' tags (and GA4, whose create-event rules cannot count) fire on that; {once}"
        ),
        K::AnyOf { events } => {
            let names: Vec<&str> = events.iter().map(|x| x.as_str()).collect();
            format!(
                "Build {e}: a GTM trigger group on the first of {} in the session (a sessionStorage flag stops repeats) pushes {e}; two GA4 create-event rules would send one per source event; {once}",
                names.join(" or ")
            )
        }
        K::Then { first, then } => format!(
            "Build {e}: a GTM tag on {first} sets a sessionStorage flag; a trigger on {then} with the flag set pushes {e}; {once}"
        ),
        K::InSegment {
            event,
            device,
            channel,
        } => {
            let mut cond = Vec::new();
            if let Some(d) = device {
                cond.push(format!("device category equals {d}"));
            }
            if let Some(c) = channel {
                cond.push(format!("the session's channel equals {c}"));
            }
            format!(
                "Build {e}: a GTM trigger on {event} with the conditions {} (GTM variables; GA4 create-event rules see only event parameters); {once}",
                cond.join(" and ")
            )
        }
        K::Predicted {
            model,
            threshold,
            log_odds_cut,
            ..
        } => predicted_step(e, model, (*threshold, *log_odds_cut), outcome),
    }
}

/// How a server builds the predicted signal: the score, term by term, and its cut.
fn predicted_step(
    e: &str,
    m: &crate::observe::ScoreModel,
    (threshold, cut): (f64, f64),
    outcome: &str,
) -> String {
    let list = |ts: &[crate::observe::ScoreTerm<String>]| -> String {
        let v: Vec<String> = ts
            .iter()
            .map(|t| format!("{} {:+.4}", t.name, t.coefficient))
            .collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    };
    let events: Vec<crate::observe::ScoreTerm<String>> = m
        .events
        .iter()
        .map(|t| crate::observe::ScoreTerm {
            name: t.name.to_string(),
            coefficient: t.coefficient,
        })
        .collect();
    format!(
        "Build {e} on the server only (no tag can compute it): when a session closes (its inactivity gap passes) or reaches {outcome}, score it from its events before {outcome}: log odds = {:.4} + each event it had ({}) + its device ({}) + its channel ({}); send {e} once when the log odds reach {cut:.6} (a predicted {outcome} probability of {:.1}% or more); `optsignal signal spec` writes the exact terms as JSON",
        m.intercept,
        list(&events),
        list(&m.devices),
        list(&m.channels),
        threshold * 100.0
    )
}

/// What the heading adds when the platform already optimizes on the event.
pub fn in_place(p: &PlatformSetup) -> &'static str {
    if p.in_place {
        " (already in place: check it against these steps, nothing to change)"
    } else {
        ""
    }
}

/// The whole set-up as text: a heading line per platform, then its numbered steps.
pub fn render_text(s: &Setup, style: super::terminal::Style, o: &mut String) {
    use std::fmt::Write;
    for p in &s.platforms {
        let head = format!(
            "{}: optimize on {}{}",
            style.bold(p.platform.display_name()),
            style.green(p.event.as_str()),
            in_place(p)
        );
        style.line(o, "  ", "    ", &head);
        for (i, step) in steps(p, s.outcome.as_str()).iter().enumerate() {
            let lead = format!("    {}. ", i + 1);
            style.line(o, &lead, "       ", &super::terminal::layout::escape(step));
        }
    }
    if s.platforms.is_empty() {
        let _ = writeln!(
            o,
            "  nothing to set up: no platform has a recommended event"
        );
    }
}
