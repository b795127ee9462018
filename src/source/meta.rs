//! Meta Marketing API: per ad set weekly optimization events (`/act_{id}/insights`, `level=adset`,
//! `time_increment=7` from a Monday, `paging.next`) and each active ad set's learning stage and
//! optimization event (`/act_{id}/adsets`).
//!
//! One action-type family per event, never summed across families: `offsite_conversion.fb_pixel_*`
//! (pixel and Conversions API, the default) or `omni_*` (cross-channel roll-up). Numbers arrive as
//! strings and are parsed strictly: a value that is not a number fails the pull.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{redact_url, Endpoint, Http, HttpError};
use super::secret::SecretRef;
use super::window::Window;
use crate::types::IsoWeek;

/// Graph API version of the default base URL.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com/v25.0";

/// Which action-type family counts an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionFamily {
    /// `offsite_conversion.fb_pixel_*`: website events from the pixel / Conversions API.
    Pixel,
    /// `omni_*`: Meta's cross-channel roll-up (web, app, offline, on-Meta).
    Omni,
}

/// Canonical event ↔ Meta's pixel action-type stem (`offsite_conversion.fb_pixel_{stem}`) and
/// the action type of the cross-channel roll-up. The roll-up is not always `omni_{stem}`: Ads
/// Manager's own columns read `omni_initiated_checkout` for checkouts, and the bare
/// `add_payment_info` and `lead` (no `omni_` type is reported for them); see docs/sources.md.
const ACTIONS: [(&str, &str, &str); 9] = [
    ("view_item", "view_content", "omni_view_content"),
    ("add_to_wishlist", "add_to_wishlist", "omni_add_to_wishlist"),
    ("add_to_cart", "add_to_cart", "omni_add_to_cart"),
    (
        "begin_checkout",
        "initiate_checkout",
        "omni_initiated_checkout",
    ),
    ("add_payment_info", "add_payment_info", "add_payment_info"),
    ("purchase", "purchase", "omni_purchase"),
    (
        "sign_up",
        "complete_registration",
        "omni_complete_registration",
    ),
    ("generate_lead", "lead", "lead"),
    ("search", "search", "omni_search"),
];

/// Why an event without a Meta standard action type is not eligible on Meta when Meta reports
/// per-ad-set counts.
pub const UNREPORTED: &str =
    "not a Meta standard event: no Meta action type counts it (a custom conversion is not read)";

/// `promoted_object.custom_event_type` → canonical event.
const CUSTOM_EVENT_TYPES: [(&str, &str); 10] = [
    ("CONTENT_VIEW", "view_item"),
    ("ADD_TO_WISHLIST", "add_to_wishlist"),
    ("ADD_TO_CART", "add_to_cart"),
    ("INITIATED_CHECKOUT", "begin_checkout"),
    ("ADD_PAYMENT_INFO", "add_payment_info"),
    ("PURCHASE", "purchase"),
    ("COMPLETE_REGISTRATION", "sign_up"),
    ("LEAD", "generate_lead"),
    ("SEARCH", "search"),
    ("SUBSCRIBE", "subscribe"),
];

impl ActionFamily {
    /// The canonical event an `action_type` counts in this family; `None` for other families'
    /// aliases (so they are never added in).
    pub fn event_of(self, action_type: &str) -> Option<&'static str> {
        ACTIONS.iter().find_map(|(canonical, stem, omni)| {
            let hit = match self {
                ActionFamily::Pixel => action_type
                    .strip_prefix("offsite_conversion.fb_pixel_")
                    .is_some_and(|s| s == *stem),
                ActionFamily::Omni => action_type == *omni,
            };
            hit.then_some(*canonical)
        })
    }
}

/// The canonical event of a `custom_event_type`.
pub fn event_of_custom_type(t: &str) -> Option<&'static str> {
    CUSTOM_EVENT_TYPES
        .iter()
        .find(|(k, _)| *k == t)
        .map(|(_, v)| *v)
}

/// What to pull from one Meta ad account.
#[derive(Debug, Clone)]
pub struct MetaSpec {
    /// Ad account id, digits only (`act_` is added).
    pub account_id: String,
    /// Where the access token comes from.
    pub token: SecretRef,
    /// API root, e.g. [`DEFAULT_BASE_URL`] (or a proxy / a test server).
    pub base_url: String,
    /// Which action-type family counts events.
    pub family: ActionFamily,
}

/// An ad set's learning stage (`learning_stage_info`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learning {
    /// `LEARNING`, `SUCCESS` (left learning) or `FAIL` (learning limited).
    pub status: String,
    /// Optimization events Meta counted since the last significant edit.
    pub conversions: Option<u64>,
    /// Last significant edit, RFC 3339 UTC.
    pub last_significant_edit: Option<String>,
}

impl Learning {
    /// Ads Manager's wording of the status.
    pub fn label(&self) -> &str {
        match self.status.as_str() {
            "LEARNING" => "Learning",
            "SUCCESS" => "Active (left learning)",
            "FAIL" => "Learning limited",
            s => s,
        }
    }
}

/// One ad set: identity, what it optimizes on, its learning stage and weekly events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdSetPull {
    /// Ad set id.
    pub id: String,
    /// Ad set name.
    pub name: String,
    /// Campaign id.
    pub campaign_id: Option<String>,
    /// Listed by `/adsets` with `effective_status=ACTIVE`.
    pub active: bool,
    /// `optimization_goal` (`OFFSITE_CONVERSIONS`, `VALUE`, ...).
    pub optimization_goal: Option<String>,
    /// `promoted_object.custom_event_type` (`ADD_TO_CART`).
    pub custom_event_type: Option<String>,
    /// `promoted_object.pixel_id`: the pixel the optimization event is counted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_id: Option<String>,
    /// The canonical event it optimizes on today.
    pub optimizing_on: Option<String>,
    /// Learning stage, when Meta reports it.
    pub learning: Option<Learning>,
    /// Canonical event → events per week, aligned with [`MetaPull::weeks`].
    pub weekly: BTreeMap<String, Vec<f64>>,
    /// Insights `spend` per week (account currency), aligned with [`MetaPull::weeks`]; empty in
    /// snapshots written before spend was pulled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekly_spend: Vec<f64>,
}

/// Everything pulled from one Meta ad account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaPull {
    /// Ad account id.
    pub account_id: String,
    /// Family the counts come from.
    pub action_family: ActionFamily,
    /// The weeks pulled, in order.
    pub weeks: Vec<IsoWeek>,
    /// Ad sets seen in insights or listed as active.
    pub ad_sets: Vec<AdSetPull>,
    /// Insights `account_currency` (ISO 4217), when Meta reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    next: Option<String>,
}

#[derive(Deserialize)]
struct InsightRow {
    adset_id: String,
    adset_name: Option<String>,
    campaign_id: Option<String>,
    #[serde(default)]
    actions: Vec<ActionStat>,
    /// Amount spent, a numeric string.
    spend: Option<Value>,
    account_currency: Option<String>,
    date_start: String,
}

#[derive(Deserialize)]
struct ActionStat {
    action_type: String,
    value: Value,
}

#[derive(Deserialize)]
struct AdSetRow {
    id: String,
    name: Option<String>,
    campaign_id: Option<String>,
    optimization_goal: Option<String>,
    promoted_object: Option<PromotedObject>,
    learning_stage_info: Option<LearningInfo>,
}

#[derive(Deserialize)]
struct PromotedObject {
    custom_event_type: Option<String>,
    pixel_id: Option<String>,
}

#[derive(Deserialize)]
struct LearningInfo {
    status: Option<String>,
    conversions: Option<Value>,
    last_sig_edit_ts: Option<Value>,
}

/// A number Meta wrote as a string (or, leniently, as a number).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// Follows `paging.next` from the first page, collecting every row.
async fn all_pages<T: serde::de::DeserializeOwned>(
    http: &Http,
    account: &str,
    first: reqwest::RequestBuilder,
    what: String,
) -> Result<Vec<T>, HttpError> {
    let mut out = Vec::new();
    let at = Endpoint {
        account: account.to_string(),
        api: "Meta Marketing API",
        what,
    };
    let first = first;
    let page: Page<T> = http
        .json(&at, || first.try_clone().expect("GET requests clone"))
        .await?;
    out.extend(page.data);
    let mut next = page.paging.and_then(|p| p.next);
    let mut pages = 1;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > 10_000 {
            break;
        }
        let at = Endpoint {
            account: account.to_string(),
            api: "Meta Marketing API",
            what: format!("GET {} (page {pages})", redact_url(&url)),
        };
        let page: Page<T> = http.json(&at, || http.client().get(&url)).await?;
        out.extend(page.data);
        next = page.paging.and_then(|p| p.next);
    }
    Ok(out)
}

/// The insights query of one ad account: synchronous first; an async report job when Meta says
/// the synchronous request timed out; a shorter range when Meta asks for less data.
struct Insights<'a> {
    http: &'a Http,
    account: &'a str,
    base: &'a str,
    id: &'a str,
    token: &'a super::secret::Secret,
}

/// An async report run (`POST /act_{id}/insights` → `{"report_run_id": ...}`).
#[derive(Deserialize)]
struct ReportRun {
    report_run_id: String,
}

/// An async report run's state (`GET /{report_run_id}`).
#[derive(Deserialize)]
struct ReportStatus {
    async_status: Option<String>,
    async_percent_completion: Option<Value>,
}

/// First wait between polls of an async report (doubles up to [`POLL_MAX`]).
const POLL_FIRST: std::time::Duration = std::time::Duration::from_secs(2);
/// Longest wait between polls of an async report.
const POLL_MAX: std::time::Duration = std::time::Duration::from_secs(30);

impl Insights<'_> {
    fn endpoint(&self, what: String) -> Endpoint {
        Endpoint {
            account: self.account.to_string(),
            api: "Meta Marketing API",
            what,
        }
    }

    /// The insights parameters for the weeks of `w`.
    fn params(&self, w: &Window) -> Vec<(&'static str, String)> {
        let time_range = format!(
            "{{\"since\":\"{}\",\"until\":\"{}\"}}",
            w.since(),
            w.until()
        );
        vec![
            ("level", "adset".into()),
            (
                "fields",
                "adset_id,adset_name,campaign_id,actions,spend,account_currency".into(),
            ),
            ("time_range", time_range),
            ("time_increment", "7".into()),
            ("action_breakdowns", "action_type".into()),
            ("use_unified_attribution_setting", "true".into()),
            ("limit", "500".into()),
            ("access_token", self.token.expose().to_string()),
        ]
    }

    /// Every row of the window: ranges Meta finds too large are halved (at week boundaries, so
    /// `time_increment=7` stays Monday-aligned); a timed-out range is run as an async job.
    async fn rows(&self, window: &Window) -> Result<Vec<InsightRow>, HttpError> {
        let mut todo = vec![*window];
        let mut out = Vec::new();
        while let Some(w) = todo.pop() {
            let url = format!("{}/act_{}/insights", self.base, self.id);
            let first = self.http.client().get(&url).query(&self.params(&w));
            let sync =
                all_pages::<InsightRow>(self.http, self.account, first, format!("GET {url}"));
            match sync.await {
                Ok(rows) => out.extend(rows),
                Err(e) => match e.meta_code() {
                    Some(m) if m.code == 1 && m.reduce_data && w.first < w.last => {
                        let weeks = w.weeks();
                        let mid = weeks.len() / 2;
                        tracing::info!(target: "optsignal::http", "{e}; splitting {} – {} in two", w.first, w.last);
                        todo.push(Window {
                            first: weeks[mid],
                            last: w.last,
                        });
                        todo.push(Window {
                            first: w.first,
                            last: weeks[mid - 1],
                        });
                    }
                    Some(m) if m.is_sync_timeout() || (m.code == 1 && m.reduce_data) => {
                        tracing::info!(target: "optsignal::http", "{e}; running it as an async report");
                        out.extend(self.run_async(&w).await?);
                    }
                    _ => return Err(e),
                },
            }
        }
        Ok(out)
    }

    /// Starts an async report for `w`, polls it until done (within `[fetch] max_wait_secs`),
    /// then reads its rows page by page.
    async fn run_async(&self, w: &Window) -> Result<Vec<InsightRow>, HttpError> {
        let url = format!("{}/act_{}/insights", self.base, self.id);
        let at = self.endpoint(format!("POST {url} (async report)"));
        let params = self.params(w);
        let run: ReportRun = self
            .http
            .json(&at, || self.http.client().post(&url).form(&params))
            .await?;
        let status_url = format!("{}/{}", self.base, run.report_run_id);
        let at = self.endpoint(format!("GET {status_url}"));
        let token = [("access_token", self.token.expose())];
        let max_wait = self.http.settings().max_wait;
        let (mut waited, mut next) = (std::time::Duration::ZERO, POLL_FIRST);
        loop {
            let st: ReportStatus = self
                .http
                .json(&at, || self.http.client().get(&status_url).query(&token))
                .await?;
            let status = st.async_status.unwrap_or_default();
            let pct = st.async_percent_completion.as_ref().and_then(number);
            match status.as_str() {
                "Job Completed" => break,
                "Job Failed" | "Job Skipped" => {
                    return Err(HttpError::Api {
                        at,
                        status: 200,
                        message: format!("async report {}: {status}", run.report_run_id),
                        hint: Some("Meta could not build the report; try again later or a shorter [fetch] weeks"),
                        reason: None,
                    })
                }
                _ => {}
            }
            if waited + next > max_wait {
                return Err(HttpError::Throttled {
                    at,
                    message: format!(
                        "async report {} still {status:?} at {}%",
                        run.report_run_id,
                        pct.unwrap_or(0.0)
                    ),
                    waited_secs: super::http::secs32(waited),
                    max_wait_secs: super::http::secs32(max_wait),
                    regain: None,
                });
            }
            tracing::debug!(target: "optsignal::http", "{at}: {status} ({}%), next poll in {} s", pct.unwrap_or(0.0), next.as_secs());
            self.http.sleep(next).await;
            waited += next;
            next = (next * 2).min(POLL_MAX);
        }
        let rows_url = format!("{status_url}/insights");
        let first = self
            .http
            .client()
            .get(&rows_url)
            .query(&[("limit", "500"), ("access_token", self.token.expose())]);
        all_pages(self.http, self.account, first, format!("GET {rows_url}")).await
    }
}

/// Pulls insights and ad sets of one ad account for the weeks of `window`.
pub async fn fetch(
    http: &Http,
    account: &str,
    spec: &MetaSpec,
    window: &Window,
) -> Result<MetaPull, HttpError> {
    let token = spec
        .token
        .load("meta.access_token")
        .map_err(|source| HttpError::Secret {
            account: account.to_string(),
            source,
        })?;
    let id = spec.account_id.trim_start_matches("act_");
    let base = spec.base_url.trim_end_matches('/');
    let insights_url = format!("{base}/act_{id}/insights");
    let adsets_url = format!("{base}/act_{id}/adsets");
    let adsets = http.client().get(&adsets_url).query(&[
        (
            "fields",
            "id,name,campaign_id,effective_status,optimization_goal,promoted_object,learning_stage_info",
        ),
        ("effective_status", "[\"ACTIVE\"]"),
        ("limit", "500"),
        ("access_token", token.expose()),
    ]);
    let q = Insights {
        http,
        account,
        base,
        id,
        token: &token,
    };
    let (rows, sets) = tokio::join!(
        q.rows(window),
        all_pages::<AdSetRow>(http, account, adsets, format!("GET {adsets_url}")),
    );
    let (rows, sets) = (rows?, sets?);
    let malformed = |message: String| HttpError::Malformed {
        at: Endpoint {
            account: account.to_string(),
            api: "Meta Marketing API",
            what: format!("GET {insights_url}"),
        },
        message,
    };
    let weeks = window.weeks();
    let mut currency: Option<String> = None;
    let mut by_id: BTreeMap<String, AdSetPull> = BTreeMap::new();
    for s in sets {
        by_id.insert(s.id.clone(), ad_set_pull(s));
    }
    for r in rows {
        add_insight(
            &r,
            &weeks,
            spec.family,
            &mut by_id,
            &mut currency,
            &malformed,
        )?;
    }
    Ok(MetaPull {
        account_id: id.to_string(),
        action_family: spec.family,
        weeks,
        ad_sets: by_id.into_values().collect(),
        currency,
    })
}

/// An active ad set as the report knows it: what it optimizes on, its learning phase, and no
/// counts yet.
fn ad_set_pull(s: AdSetRow) -> AdSetPull {
    let (custom, pixel_id) = s
        .promoted_object
        .map_or((None, None), |p| (p.custom_event_type, p.pixel_id));
    let learning = s.learning_stage_info.map(|l| Learning {
        status: l.status.unwrap_or_else(|| "UNKNOWN".into()),
        conversions: l.conversions.as_ref().and_then(number).map(|x| x as u64),
        last_significant_edit: l
            .last_sig_edit_ts
            .as_ref()
            .and_then(number)
            .and_then(|s| jiff::Timestamp::from_second(s as i64).ok())
            .map(|t| t.to_string()),
    });
    AdSetPull {
        name: s.name.unwrap_or_else(|| s.id.clone()),
        id: s.id,
        campaign_id: s.campaign_id,
        active: true,
        optimization_goal: s.optimization_goal,
        optimizing_on: custom
            .as_deref()
            .and_then(event_of_custom_type)
            .map(String::from),
        custom_event_type: custom,
        pixel_id,
        learning,
        weekly: BTreeMap::new(),
        weekly_spend: Vec::new(),
    }
}

/// Adds one insights row (an ad set's week: spend and actions) to its ad set, creating an
/// inactive one when the ad set list did not have it.
fn add_insight(
    r: &InsightRow,
    weeks: &[IsoWeek],
    family: ActionFamily,
    by_id: &mut BTreeMap<String, AdSetPull>,
    currency: &mut Option<String>,
    malformed: &dyn Fn(String) -> HttpError,
) -> Result<(), HttpError> {
    let date: jiff::civil::Date = r.date_start.parse().map_err(|e| {
        malformed(format!(
            "adset {}: date_start {:?}: {e}",
            r.adset_id, r.date_start
        ))
    })?;
    let Some(w) = weeks.iter().position(|w| *w == IsoWeek::of_date(date)) else {
        return Ok(()); // outside the window asked for
    };
    let set = by_id
        .entry(r.adset_id.clone())
        .or_insert_with(|| AdSetPull {
            id: r.adset_id.clone(),
            name: r.adset_name.clone().unwrap_or_else(|| r.adset_id.clone()),
            campaign_id: r.campaign_id.clone(),
            active: false,
            optimization_goal: None,
            custom_event_type: None,
            pixel_id: None,
            optimizing_on: None,
            learning: None,
            weekly: BTreeMap::new(),
            weekly_spend: Vec::new(),
        });
    if let Some(v) = &r.spend {
        let x = number(v).filter(|x| *x >= 0.0).ok_or_else(|| {
            malformed(format!("adset {}: spend {v} is not an amount", r.adset_id))
        })?;
        if set.weekly_spend.is_empty() {
            set.weekly_spend = vec![0.0; weeks.len()];
        }
        set.weekly_spend[w] += x;
    }
    if currency.is_none() {
        *currency = r.account_currency.clone();
    }
    for a in &r.actions {
        let Some(event) = family.event_of(&a.action_type) else {
            continue;
        };
        let v = number(&a.value).ok_or_else(|| {
            malformed(format!(
                "adset {}: {} value {} is not a number",
                r.adset_id, a.action_type, a.value
            ))
        })?;
        let slot = set
            .weekly
            .entry(event.to_string())
            .or_insert_with(|| vec![0.0; weeks.len()]);
        slot[w] += v;
    }
    Ok(())
}

impl MetaPull {
    /// The ad sets the floor check counts: the active ones, or every ad set seen when Meta listed
    /// none as active.
    pub fn bidding_units(&self) -> Vec<&AdSetPull> {
        let active: Vec<&AdSetPull> = self.ad_sets.iter().filter(|a| a.active).collect();
        if active.is_empty() {
            self.ad_sets.iter().collect()
        } else {
            active
        }
    }

    /// Per event, every (ad set, week) count over the last `weeks` weeks: the per-unit weekly
    /// counts the floor check uses instead of site events × share ÷ ad sets. Every event with a
    /// Meta standard action type is there, with zeros when Meta attributed none of it.
    pub fn per_unit_weekly(&self, weeks: usize) -> BTreeMap<String, Vec<f64>> {
        let units = self.bidding_units();
        let from = self.weeks.len().saturating_sub(weeks);
        let standard: Vec<String> = ACTIONS.iter().map(|(c, _, _)| c.to_string()).collect();
        let mut events: Vec<&String> = units
            .iter()
            .flat_map(|u| u.weekly.keys())
            .chain(standard.iter())
            .collect();
        events.sort();
        events.dedup();
        events
            .into_iter()
            .map(|e| {
                let counts = units
                    .iter()
                    .flat_map(|u| match u.weekly.get(e) {
                        Some(v) => v[from..].to_vec(),
                        None => vec![0.0; self.weeks.len() - from],
                    })
                    .collect();
                (e.clone(), counts)
            })
            .collect()
    }

    /// Spend of every (ad set, week) cell over the last `weeks` weeks, aligned cell for cell with
    /// each event's [`Self::per_unit_weekly`]; `None` when Meta reported no spend at all (a
    /// snapshot from before spend was pulled).
    pub fn per_unit_weekly_spend(&self, weeks: usize) -> Option<Vec<f64>> {
        let units = self.bidding_units();
        if units.iter().all(|u| u.weekly_spend.is_empty()) {
            return None;
        }
        let from = self.weeks.len().saturating_sub(weeks);
        Some(
            units
                .iter()
                .flat_map(|u| match u.weekly_spend.get(from..) {
                    Some(v) if !v.is_empty() => v.to_vec(),
                    _ => vec![0.0; self.weeks.len() - from],
                })
                .collect(),
        )
    }

    /// The event most active ad sets optimize on today, if any.
    pub fn optimizing_on(&self) -> Option<String> {
        let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
        for u in self.bidding_units() {
            if let Some(e) = &u.optimizing_on {
                *tally.entry(e).or_default() += 1;
            }
        }
        tally
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(e, _)| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_family_per_event() {
        let p = ActionFamily::Pixel;
        assert_eq!(
            p.event_of("offsite_conversion.fb_pixel_add_to_cart"),
            Some("add_to_cart")
        );
        assert_eq!(p.event_of("omni_add_to_cart"), None);
        assert_eq!(p.event_of("add_to_cart"), None);
        assert_eq!(
            p.event_of("offsite_conversion.fb_pixel_initiate_checkout"),
            Some("begin_checkout")
        );
        let o = ActionFamily::Omni;
        assert_eq!(
            o.event_of("omni_initiated_checkout"),
            Some("begin_checkout")
        );
        assert_eq!(o.event_of("offsite_conversion.fb_pixel_purchase"), None);
        // The roll-ups without an omni_ prefix (Ads Manager's own column definitions).
        assert_eq!(o.event_of("add_payment_info"), Some("add_payment_info"));
        assert_eq!(o.event_of("omni_add_payment_info"), None);
        assert_eq!(o.event_of("lead"), Some("generate_lead"));
        assert_eq!(
            p.event_of("offsite_conversion.fb_pixel_add_payment_info"),
            Some("add_payment_info")
        );
        assert_eq!(p.event_of("add_payment_info"), None);
        assert_eq!(event_of_custom_type("ADD_TO_CART"), Some("add_to_cart"));
    }
}
