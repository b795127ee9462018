//! Audience seeds: which proxy's people make the densest retargeting and lookalike seeds.
//!
//! A proxy's **seed** is the users who did it; its **size** per ISO week is the distinct users
//! with the event that week, and its **density** is the proxy's lift (P(purchase | proxy) over the
//! base rate, per unit, with its delta-method interval): how many times more buyers the seed holds
//! than all visitors. Proxies with flags, or whose lift interval reaches 1, are not ranked.

use serde::Serialize;

use crate::audience::AudienceComparison;
use crate::evidence::ProxyEvidence;
use crate::types::{EventName, Interval};

/// Fewest users (summed over the recent weeks) for a retargeting seed: Meta's minimum for a
/// lookalike source audience is 100 people (an assumption carried over to retargeting lists).
pub const MIN_RETARGETING_USERS: u64 = 100;
/// Fewest users (summed over the recent weeks) for a lookalike seed: Meta suggests a source of
/// 1,000 to 50,000 people (assumption; platforms differ).
pub const MIN_LOOKALIKE_USERS: u64 = 1_000;

/// One proxy as an audience seed.
#[derive(Debug, Clone, Serialize)]
pub struct Seed {
    /// The proxy event.
    pub event: EventName,
    /// Distinct users with the event, per ISO week (in report week order).
    pub weekly_users: Vec<u64>,
    /// Mean weekly users over the recent complete weeks.
    pub recent_weekly_users: f64,
    /// Weekly users summed over the recent complete weeks (a user active in two weeks counts
    /// twice): the size of a seed collected over that span, at most.
    pub recent_users: u64,
    /// Density: the proxy's lift over all visitors.
    pub density: Option<f64>,
    /// Interval of the density.
    pub density_ci: Option<Interval>,
    /// Rank as a retargeting seed (1 = best), or null when not ranked.
    pub retargeting_rank: Option<u32>,
    /// Rank as a lookalike seed, or null.
    pub lookalike_rank: Option<u32>,
    /// Why the proxy is not ranked, when it is not.
    pub note: Option<String>,
}

/// All seeds, with the rankings.
#[derive(Debug, Clone, Serialize)]
pub struct Seeds {
    /// Recent complete weeks the sizes are taken over.
    pub recent_weeks: u32,
    /// Minimum users for a retargeting seed.
    pub min_retargeting_users: u64,
    /// Minimum users for a lookalike seed.
    pub min_lookalike_users: u64,
    /// One per proxy, in candidate order.
    pub seeds: Vec<Seed>,
    /// Proxies ranked for retargeting, best first (highest density lower bound).
    pub retargeting: Vec<EventName>,
    /// Proxies ranked for lookalike seeds, best first.
    pub lookalike: Vec<EventName>,
    /// Audiences side by side: the two best retargeting seeds, and wishlist-add against
    /// newsletter-only when both are candidates ([`crate::audience::report_comparisons`]).
    pub comparisons: Vec<AudienceComparison>,
}

/// Ranks proxies as audience seeds; `recent` are the indices of the recent complete weeks.
pub fn rank(proxies: &[ProxyEvidence], recent: &[usize]) -> Seeds {
    let mut seeds: Vec<Seed> = proxies
        .iter()
        .map(|p| {
            let weekly_users: Vec<u64> = p.weekly.iter().map(|w| w.users).collect();
            let recent_users: u64 = recent.iter().filter_map(|&i| weekly_users.get(i)).sum();
            let note = if !p.flags.is_empty() {
                let f: Vec<&str> = p.flags.iter().map(|f| f.kind.name()).collect();
                Some(format!("flagged {}", f.join(", ")))
            } else if p.lift_ci.is_none_or(|c| c.lo <= 1.0) {
                Some("not denser than all visitors (lift interval reaches 1)".into())
            } else if recent_users < MIN_RETARGETING_USERS {
                Some(format!(
                    "{recent_users} users in the recent weeks, under {MIN_RETARGETING_USERS}"
                ))
            } else {
                None
            };
            Seed {
                event: p.event.clone(),
                weekly_users,
                recent_weekly_users: if recent.is_empty() {
                    0.0
                } else {
                    recent_users as f64 / recent.len() as f64
                },
                recent_users,
                density: p.lift,
                density_ci: p.lift_ci,
                retargeting_rank: None,
                lookalike_rank: None,
                note,
            }
        })
        .collect();
    let lo = |s: &Seed| s.density_ci.map_or(0.0, |c| c.lo);
    let mut order: Vec<usize> = (0..seeds.len())
        .filter(|&i| seeds[i].note.is_none())
        .collect();
    order.sort_by(|&a, &b| lo(&seeds[b]).total_cmp(&lo(&seeds[a])));
    let mut retargeting = Vec::new();
    let mut lookalike = Vec::new();
    for &i in &order {
        retargeting.push(seeds[i].event.clone());
        seeds[i].retargeting_rank = Some(retargeting.len() as u32);
        if seeds[i].recent_users >= MIN_LOOKALIKE_USERS {
            lookalike.push(seeds[i].event.clone());
            seeds[i].lookalike_rank = Some(lookalike.len() as u32);
        }
    }
    Seeds {
        recent_weeks: recent.len() as u32,
        min_retargeting_users: MIN_RETARGETING_USERS,
        min_lookalike_users: MIN_LOOKALIKE_USERS,
        seeds,
        retargeting,
        lookalike,
        comparisons: Vec::new(),
    }
}
