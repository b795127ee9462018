//! The recommendation's reasons in words, with their numbers.

use super::*;

pub(super) fn reason(
    ctx: &Ctx,
    rec: &Recommendation,
    checks: &[EventCheck],
    choice: &Choice,
) -> String {
    let purchase = &checks[0];
    let mut text = match (choice.best, choice.verdict) {
            (Some(_), Verdict::Purchase) => format!(
                "{} itself clears the floor: {} against {} (clears {} of windows); optimize on the real outcome.",
                purchase.event,
                volume(ctx, purchase),
                floor(ctx),
                percent(purchase.clearance)
            ),
            (Some(b), _) => proxy_reason(ctx, rec, checks, b, choice.verdict),
            (None, _) => nothing_reason(ctx, rec, checks),
        };
    if let Some(today) = &ctx.p.optimizing_on {
        if let Some(e) = ctx
            .evidence
            .iter()
            .find(|e| &e.event == today && e.is_disqualified())
        {
            let names: Vec<&str> = e.flags.iter().map(|f| f.kind.name()).collect();
            text.push_str(&format!(
                " Stop optimizing on {today}: it is flagged {}.",
                names.join(", ")
            ));
        }
    }
    text
}

fn floor(ctx: &Ctx) -> String {
    let f = &ctx.p.profile.floor;
    format!(
        "{} per {} per {} days",
        amount(f.events),
        f.unit.noun(1.0),
        f.days
    )
}

fn volume(ctx: &Ctx, c: &EventCheck) -> String {
    let f = &ctx.p.profile.floor;
    let window = if f.days == 7 {
        String::new()
    } else {
        format!(" ({} per {} days)", amount(c.per_unit_window), f.days)
    };
    format!(
        "{} per {} per week{window}",
        amount(c.per_unit_weekly),
        f.unit.noun(1.0)
    )
}

fn quality(ctx: &Ctx, event: &EventName) -> String {
    let Some(e) = ctx.evidence.iter().find(|e| &e.event == event) else {
        return "no precision estimate".into();
    };
    match (e.precision, e.precision_ci, e.lift) {
        (Some(pr), Some(ci), Some(l)) => format!(
            "{} of these {} go on to {} ({}–{}), {:.1}× the base rate",
            percent(pr),
            ctx.obs.unit.plural(),
            match ctx.obs.purchase.as_str() {
                "purchase" => "buy".to_string(),
                o => format!("reach {o}"),
            },
            percent(ci.lo),
            percent(ci.hi),
            l
        ),
        _ => "no precision estimate".into(),
    }
}

fn purchase_text(ctx: &Ctx, purchase: &EventCheck) -> String {
    match &purchase.excluded {
        Some(why) => format!("{} cannot be optimized on here ({why})", purchase.event),
        None => format!(
            "{} is too rare: {} against {} (clears {} of windows)",
            purchase.event,
            volume(ctx, purchase),
            floor(ctx),
            percent(purchase.clearance)
        ),
    }
}

fn proxy_reason(
    ctx: &Ctx,
    rec: &Recommendation,
    checks: &[EventCheck],
    b: usize,
    v: Verdict,
) -> String {
    let c = &checks[b];
    let mut text = format!(
        "{}. {} clears the floor: {} (clears {}), and {}.",
        purchase_text(ctx, &checks[0]),
        c.event,
        volume(ctx, c),
        percent(c.clearance),
        quality(ctx, &c.event)
    );
    if c.tracking_suspect_weeks > 0 {
        text.push_str(&format!(
                " {} is flagged tracking_break: its last {} damaged (under half its usual count per purchase), so it is judged on the weeks before and kept rather than abandoned on broken counts; check the {} tag (a break lasting {} rules it out).",
                c.event,
                crate::format::count(u64::from(c.tracking_suspect_weeks), "week looks", "weeks look"),
                c.event,
                crate::format::count(u64::from(ctx.a.confirm_weeks), "week", "weeks")
            ));
    }
    if v == Verdict::StandingWithinMargin {
        if let Some(r) = &rec.runner_up {
            text.push_str(&format!(
                    " It stays ahead of {r}, which does not beat its score by {:.0}% (changing the event restarts learning).",
                    ctx.params.score_margin() * 100.0
                ));
        }
    }
    if let Some(u) = &rec.unlock {
        text.push_str(&unlock_text(ctx, u));
    }
    text
}

/// " X would clear with at most k units, or with m× today's volume, or with s% share."
pub(super) fn unlock_text(ctx: &Ctx, u: &Unlock) -> String {
    let mut parts = Vec::new();
    let units = ctx.p.ad_sets;
    if let Some(k) = u.max_ad_sets.filter(|&k| k < units) {
        parts.push(format!(
            "with at most {k} {}",
            ctx.p.profile.floor.unit.noun(f64::from(k))
        ));
    }
    if let Some(m) = u.volume_multiple {
        parts.push(format!("with {m:.1}× today's volume"));
    }
    if let Some(s) = u.share_needed.filter(|&s| s > ctx.p.attributed_share) {
        parts.push(format!(
            "if {} saw {} of events (today {})",
            ctx.p.profile.id.display_name(),
            percent(s),
            percent(ctx.p.attributed_share)
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {} would clear {}.", u.event, parts.join(", or "))
    }
}

fn nothing_reason(ctx: &Ctx, rec: &Recommendation, checks: &[EventCheck]) -> String {
    let f = &ctx.p.profile.floor;
    let mut text = format!(
        "Nothing useful clears {} with {} {}: {}.",
        floor(ctx),
        ctx.p.ad_sets,
        f.unit.noun(f64::from(ctx.p.ad_sets)),
        purchase_text(ctx, &checks[0])
    );
    let weak: Vec<String> = checks
        .iter()
        .filter(|c| c.exclusion.is_none() && c.clears && !c.useful)
        .filter_map(|c| {
            let (l, ci) = (c.lift_adjusted?, c.lift_adjusted_ci?);
            Some(format!(
                "{} ({:.2}× [{:.2}, {:.2}])",
                c.event, l, ci.lo, ci.hi
            ))
        })
        .collect();
    if !weak.is_empty() {
        text.push_str(&format!(
                " {} clear{} but the segment-adjusted lift interval starts below {:.1}: optimizing on it would be optimizing on traffic, not buyers.",
                weak.join(", "),
                if weak.len() == 1 { "s" } else { "" },
                ctx.params.lift_floor()
            ));
    }
    match &rec.unlock {
        Some(u) => {
            let c = checks.iter().find(|c| c.event == u.event);
            let vol = c.map_or(String::new(), |c| format!(" has {} and", volume(ctx, c)));
            let q = if u.event == ctx.obs.purchase {
                String::new()
            } else {
                format!(" ({})", quality(ctx, &u.event))
            };
            let what = unlock_text(ctx, u);
            if what.is_empty() {
                text.push_str(&format!(
                        " {}{q}{vol} would not clear even with one {} or all events seen; it needs far more volume.",
                        u.event,
                        f.unit.noun(1.0)
                    ));
            } else {
                text.push_str(&format!(
                    " {}{q}{vol} is the closest useful event:{what}",
                    u.event
                ));
            }
        }
        None => text.push_str(" No eligible event is useful."),
    }
    if let Some(n) = rec.derived_weekly_needed {
        text.push_str(&format!(
                " Or track a deeper or derived event (lift ≥ {:.1}) with at least {} events a week on the site.",
                ctx.params.lift_floor(),
                amount(n)
            ));
    }
    text
}
