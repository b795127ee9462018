//! Google Ads API `googleAds:searchStream` with GAQL: weekly `metrics.all_conversions` per
//! campaign and conversion action (`segments.week`, `segments.conversion_action_name` /
//! `_category`), each action's primary/secondary status, and which goals are biddable.
//! Headers `developer-token` and `login-customer-id`; the OAuth access token comes from the
//! refresh-token flow (one form POST), cached until it expires and renewed once on HTTP 401.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::http::{Endpoint, Http, HttpError};
use super::secret::{Secret, SecretRef};
use super::window::Window;
use crate::types::IsoWeek;

/// Default API root.
pub const DEFAULT_BASE_URL: &str = "https://googleads.googleapis.com/v26";
/// Default OAuth token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// `conversion_action.category` → canonical event. `PAGE_VIEW` is any page view, not a product
/// view, so it maps to nothing (view_item is then not a conversion action in Google Ads).
const CATEGORIES: [(&str, &str); 7] = [
    ("ADD_TO_CART", "add_to_cart"),
    ("BEGIN_CHECKOUT", "begin_checkout"),
    ("PURCHASE", "purchase"),
    ("SIGNUP", "sign_up"),
    ("SUBMIT_LEAD_FORM", "generate_lead"),
    ("LEAD", "generate_lead"),
    ("SUBSCRIBE_PAID", "subscribe"),
];

/// Why an event without a conversion action is not eligible on Google Ads when Google Ads
/// reports per-campaign counts.
pub const UNREPORTED: &str = "not a conversion action in Google Ads";

/// The canonical event of a conversion-action category.
pub fn event_of_category(c: &str) -> Option<&'static str> {
    CATEGORIES.iter().find(|(k, _)| *k == c).map(|(_, v)| *v)
}

/// The category of a canonical event (the first match).
pub fn category_of_event(e: &str) -> Option<&'static str> {
    CATEGORIES.iter().find(|(_, v)| *v == e).map(|(k, _)| *k)
}

/// What to pull from one Google Ads customer.
#[derive(Debug, Clone)]
pub struct AdsSpec {
    /// Customer id, digits.
    pub customer_id: String,
    /// Manager account id, digits.
    pub login_customer_id: Option<String>,
    /// Developer token.
    pub developer_token: SecretRef,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretRef,
    /// OAuth refresh token.
    pub refresh_token: SecretRef,
    /// API root.
    pub base_url: String,
    /// OAuth token endpoint.
    pub token_url: String,
}

/// A campaign's weekly conversions by canonical event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignPull {
    /// Campaign id.
    pub id: String,
    /// Campaign name.
    pub name: String,
    /// Canonical event → all_conversions per week, aligned with [`AdsPull::weeks`].
    pub weekly: BTreeMap<String, Vec<f64>>,
    /// `metrics.cost_micros` per week in the account's currency (micros ÷ 10⁶), aligned with
    /// [`AdsPull::weeks`]; empty when Google Ads reported no cost for the campaign (or in a
    /// snapshot from before cost was pulled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekly_spend: Vec<f64>,
}

/// A conversion action and whether it is primary (used for bidding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionInfo {
    /// Name.
    pub name: String,
    /// Category (`ADD_TO_CART`).
    pub category: String,
    /// Primary for its goal.
    pub primary: bool,
    /// `conversion_action.status` (`ENABLED`); absent in snapshots written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `conversion_action.counting_type` (`ONE_PER_CLICK`, `MANY_PER_CLICK`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counting: Option<String>,
}

impl ActionInfo {
    /// Enabled (or of unknown status: the query asks for enabled actions only).
    pub fn status_enabled(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "ENABLED")
    }
}

/// A customer conversion goal and whether it is biddable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// Category.
    pub category: String,
    /// Origin (`WEBSITE`, `GOOGLE_HOSTED`, ...).
    pub origin: String,
    /// Used for bidding.
    pub biddable: bool,
}

/// A campaign's own conversion goal (`campaign_conversion_goal`), which overrides the account
/// default for that campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignGoal {
    /// Campaign id.
    pub campaign_id: String,
    /// Category.
    pub category: String,
    /// Origin.
    pub origin: String,
    /// Used for bidding in this campaign.
    pub biddable: bool,
}

/// Everything pulled from one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdsPull {
    /// Customer id.
    pub customer_id: String,
    /// Weeks asked for, in order.
    pub weeks: Vec<IsoWeek>,
    /// Campaigns with conversions.
    pub campaigns: Vec<CampaignPull>,
    /// Enabled conversion actions.
    pub actions: Vec<ActionInfo>,
    /// Customer conversion goals.
    pub goals: Vec<Goal>,
    /// Campaign conversion goals (override `goals` per campaign).
    #[serde(default)]
    pub campaign_goals: Vec<CampaignGoal>,
    /// `customer.currency_code` (ISO 4217), when the cost query returned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl AdsPull {
    /// Bidding units the floor check divides among: the campaigns with conversions, and at
    /// least one (searchStream returns no row whose metrics are all zero, so an account with no
    /// conversions in the window lists no campaign).
    pub fn bidding_units(&self) -> usize {
        self.campaigns.len().max(1)
    }

    /// Per event, every (campaign, week) count over the last `weeks` weeks. Every event with an
    /// enabled conversion action is there, with zeros when it had no conversions (the API leaves
    /// all-zero rows out).
    pub fn per_unit_weekly(&self, weeks: usize) -> BTreeMap<String, Vec<f64>> {
        let from = self.weeks.len().saturating_sub(weeks);
        let span = self.weeks.len() - from;
        let mut events: Vec<String> = self
            .campaigns
            .iter()
            .flat_map(|c| c.weekly.keys().cloned())
            .chain(
                self.actions
                    .iter()
                    .filter_map(|a| event_of_category(&a.category).map(String::from)),
            )
            .collect();
        events.sort();
        events.dedup();
        events
            .into_iter()
            .map(|e| {
                let v = if self.campaigns.is_empty() {
                    vec![0.0; span]
                } else {
                    self.campaigns
                        .iter()
                        .flat_map(|c| match c.weekly.get(&e) {
                            Some(v) => v[from..].to_vec(),
                            None => vec![0.0; span],
                        })
                        .collect()
                };
                (e, v)
            })
            .collect()
    }

    /// Cost of every (campaign, week) cell over the last `weeks` weeks, aligned cell for cell
    /// with each event's [`Self::per_unit_weekly`]; `None` when no campaign has a cost.
    pub fn per_unit_weekly_spend(&self, weeks: usize) -> Option<Vec<f64>> {
        if self.campaigns.iter().all(|c| c.weekly_spend.is_empty()) {
            return None;
        }
        let from = self.weeks.len().saturating_sub(weeks);
        let span = self.weeks.len() - from;
        Some(
            self.campaigns
                .iter()
                .flat_map(|c| match c.weekly_spend.get(from..) {
                    Some(v) if !v.is_empty() => v.to_vec(),
                    _ => vec![0.0; span],
                })
                .collect(),
        )
    }

    /// Whether the `category` goal is biddable in campaign `id`: the campaign's own goals when
    /// it has any for the category (they override the account's), else the account goals;
    /// `None` when neither says.
    pub fn biddable_in(&self, id: &str, category: &str) -> Option<bool> {
        let own: Vec<bool> = self
            .campaign_goals
            .iter()
            .filter(|g| g.campaign_id == id && g.category == category)
            .map(|g| g.biddable)
            .collect();
        if !own.is_empty() {
            return Some(own.iter().any(|b| *b));
        }
        let account: Vec<bool> = self
            .goals
            .iter()
            .filter(|g| g.category == category)
            .map(|g| g.biddable)
            .collect();
        (!account.is_empty()).then(|| account.iter().any(|b| *b))
    }

    /// Why bidding on `event` needs a change in Google Ads first, if it does: its goal is not
    /// biddable (in the campaigns' own goals, which override the account's), or its conversion
    /// actions are all secondary.
    pub fn bidding_warning(&self, event: &str) -> Option<String> {
        let cat = category_of_event(event)?;
        let ids: Vec<&str> = if self.campaigns.is_empty() {
            let mut ids: Vec<&str> = self
                .campaign_goals
                .iter()
                .map(|g| g.campaign_id.as_str())
                .collect();
            ids.dedup();
            ids
        } else {
            self.campaigns.iter().map(|c| c.id.as_str()).collect()
        };
        let not_biddable: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| self.biddable_in(id, cat) == Some(false))
            .collect();
        let account_off = {
            let g: Vec<&Goal> = self.goals.iter().filter(|g| g.category == cat).collect();
            !g.is_empty() && g.iter().all(|g| !g.biddable)
        };
        if (ids.is_empty() && account_off) || (!ids.is_empty() && not_biddable.len() == ids.len()) {
            return Some(format!(
                "Google Ads: the {cat} goal is not biddable; make it biddable (a primary action in an account-default goal, or in each campaign's own goals) before optimizing on {event}"
            ));
        }
        if !not_biddable.is_empty() {
            let names: Vec<String> = not_biddable
                .iter()
                .map(|id| self.campaign_name(id))
                .collect();
            return Some(format!(
                "Google Ads: the {cat} goal is not biddable in {} of {} campaigns ({}): their campaign goals override the account's; make it biddable there before optimizing on {event}",
                not_biddable.len(),
                ids.len(),
                names.join(", ")
            ));
        }
        let actions: Vec<&ActionInfo> = self.actions.iter().filter(|a| a.category == cat).collect();
        if !actions.is_empty() && actions.iter().all(|a| !a.primary) {
            let names: Vec<&str> = actions.iter().map(|a| a.name.as_str()).collect();
            return Some(format!(
                "Google Ads: every {cat} conversion action is secondary ({}); mark one primary before optimizing on {event}",
                names.join(", ")
            ));
        }
        None
    }

    /// A campaign's name, or its id.
    fn campaign_name(&self, id: &str) -> String {
        self.campaigns
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_string(), |c| c.name.clone())
    }
}

/// An OAuth access token and when it stops working.
struct Token {
    bearer: Secret,
    expires: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

/// A Google Ads API client for one customer: the developer token, `login-customer-id` and the
/// OAuth access token (refresh-token flow, cached until it expires, renewed once on HTTP 401).
/// The report pull and the conversion upload share it.
pub struct AdsClient<'a> {
    http: &'a Http,
    account: &'a str,
    spec: &'a AdsSpec,
    developer_token: Secret,
    token: Option<Token>,
}

impl<'a> AdsClient<'a> {
    /// Loads the developer token; the OAuth token is fetched on the first request.
    pub fn new(http: &'a Http, account: &'a str, spec: &'a AdsSpec) -> Result<Self, HttpError> {
        let developer_token = spec
            .developer_token
            .load("google_ads.developer_token")
            .map_err(|source| HttpError::Secret {
                account: account.to_string(),
                source,
            })?;
        Ok(AdsClient {
            http,
            account,
            spec,
            developer_token,
            token: None,
        })
    }

    /// The API root (`https://googleads.googleapis.com/v26`), without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.spec.base_url.trim_end_matches('/')
    }

    async fn bearer(&mut self, force: bool) -> Result<Secret, HttpError> {
        if !force {
            if let Some(t) = &self.token {
                if t.expires > Instant::now() + Duration::from_secs(60) {
                    return Ok(t.bearer.clone());
                }
            }
        }
        let secret = |r: &SecretRef, what: &str| {
            r.load(what).map_err(|source| HttpError::Secret {
                account: self.account.to_string(),
                source,
            })
        };
        let client_secret = secret(&self.spec.client_secret, "google_ads.client_secret")?;
        let refresh = secret(&self.spec.refresh_token, "google_ads.refresh_token")?;
        let at = Endpoint {
            account: self.account.to_string(),
            api: "Google OAuth",
            what: format!("POST {}", self.spec.token_url),
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.spec.client_id.as_str()),
            ("client_secret", client_secret.expose()),
            ("refresh_token", refresh.expose()),
        ];
        let t: TokenResponse = self
            .http
            .json(&at, || {
                self.http.client().post(&self.spec.token_url).form(&form)
            })
            .await?;
        let token = Token {
            bearer: Secret::new(t.access_token),
            expires: Instant::now() + Duration::from_secs(t.expires_in.unwrap_or(3600)),
        };
        let b = token.bearer.clone();
        self.token = Some(token);
        Ok(b)
    }

    /// POSTs `body` as JSON to `url` with the customer's headers and parses the answer as `T`;
    /// an HTTP 401 renews the access token once.
    pub async fn post<T: serde::de::DeserializeOwned>(
        &mut self,
        at: &Endpoint,
        url: &str,
        body: &Value,
    ) -> Result<T, HttpError> {
        let mut refreshed = false;
        loop {
            let bearer = self.bearer(refreshed).await?;
            let dev = self.developer_token.clone();
            let login = self.spec.login_customer_id.clone();
            let sent: Result<T, HttpError> = self
                .http
                .json(at, || {
                    let mut r = self
                        .http
                        .client()
                        .post(url)
                        .bearer_auth(bearer.expose())
                        .header("developer-token", dev.expose())
                        .json(body);
                    if let Some(l) = &login {
                        r = r.header("login-customer-id", l);
                    }
                    r
                })
                .await;
            match sent {
                Err(e) if e.is_unauthorized() && !refreshed => {
                    tracing::info!(target: "optsignal::http", "{at}: HTTP 401, renewing the token once");
                    refreshed = true;
                }
                r => return r,
            }
        }
    }

    /// Runs one query; returns every result row of every batch.
    async fn search(&mut self, query: &str) -> Result<Vec<Value>, HttpError> {
        let url = format!(
            "{}/customers/{}/googleAds:searchStream",
            self.base_url(),
            self.spec.customer_id
        );
        let at = Endpoint {
            account: self.account.to_string(),
            api: "Google Ads API",
            what: format!(
                "POST {url} ({})",
                query
                    .split(" FROM ")
                    .nth(1)
                    .map_or("", |s| s.split(' ').next().unwrap_or(""))
            ),
        };
        let batches: Vec<Batch> = self.post(&at, &url, &json!({"query": query})).await?;
        if let Some(e) = batches.iter().find_map(|b| b.error.as_ref()) {
            // Rows before the error are not a whole answer: none is used.
            return Err(HttpError::Api {
                at: at.clone(),
                status: 200,
                message: format!(
                    "{} (inside the 200 stream; nothing from it was used)",
                    stream_error(e)
                ),
                hint: None,
                reason: None,
            });
        }
        Ok(batches.into_iter().flat_map(|b| b.results).collect())
    }
}

#[derive(Deserialize)]
struct Batch {
    #[serde(default)]
    results: Vec<Value>,
    /// An error reported inside the stream (HTTP 200, the failure as an element of the array).
    error: Option<Value>,
}

/// The message of an error element of a searchStream array: `error.message`, the first
/// `GoogleAdsFailure` error's message and code, and the status.
fn stream_error(e: &Value) -> String {
    let mut text = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("error inside the stream")
        .to_string();
    if let Some(inner) = e.pointer("/details/0/errors/0") {
        if let Some(m) = inner.get("message").and_then(Value::as_str) {
            text = format!("{text} {m}");
        }
        if let Some(code) = inner.get("errorCode").and_then(Value::as_object) {
            let codes: Vec<String> = code
                .iter()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("")))
                .collect();
            text = format!("{text} ({})", codes.join(", "));
        }
    }
    if let Some(st) = e.get("status").and_then(Value::as_str) {
        text = format!("{text} [{st}]");
    }
    text
}

fn text(v: &Value, path: &str) -> Option<String> {
    match v.pointer(path)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Pulls weekly conversions per campaign and action, action statuses and goals.
pub async fn fetch(
    http: &Http,
    account: &str,
    spec: &AdsSpec,
    window: &Window,
) -> Result<AdsPull, HttpError> {
    let mut s = AdsClient::new(http, account, spec)?;
    let weeks = window.weeks();
    let q = format!(
        "SELECT campaign.id, campaign.name, campaign.status, segments.week, segments.conversion_action_name, segments.conversion_action_category, metrics.all_conversions FROM campaign WHERE segments.date BETWEEN '{}' AND '{}' AND campaign.status != 'REMOVED'",
        window.since(),
        window.until()
    );
    let rows = s.search(&q).await?;
    let malformed = |message: String| HttpError::Malformed {
        at: Endpoint {
            account: account.to_string(),
            api: "Google Ads API",
            what: format!(
                "POST {}/customers/{}/googleAds:searchStream",
                spec.base_url, spec.customer_id
            ),
        },
        message,
    };
    let mut campaigns: BTreeMap<String, CampaignPull> = BTreeMap::new();
    for r in &rows {
        let id = text(r, "/campaign/id")
            .ok_or_else(|| malformed(format!("row without campaign.id: {r}")))?;
        if text(r, "/campaign/status").as_deref() == Some("REMOVED") {
            continue; // removed campaigns bid no more (the query already leaves them out)
        }
        let week = text(r, "/segments/week")
            .and_then(|w| w.parse::<jiff::civil::Date>().ok())
            .map(IsoWeek::of_date)
            .ok_or_else(|| malformed(format!("campaign {id}: no readable segments.week")))?;
        let Some(wi) = weeks.iter().position(|w| *w == week) else {
            continue;
        };
        let value = match r.pointer("/metrics/allConversions") {
            None => 0.0, // proto3 JSON omits zeros
            Some(v) => v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| malformed(format!("campaign {id}: allConversions {v}")))?,
        };
        let Some(event) = text(r, "/segments/conversionActionCategory")
            .as_deref()
            .and_then(event_of_category)
        else {
            continue;
        };
        let c = campaigns.entry(id.clone()).or_insert_with(|| CampaignPull {
            name: text(r, "/campaign/name").unwrap_or_else(|| id.clone()),
            id,
            weekly: BTreeMap::new(),
            weekly_spend: Vec::new(),
        });
        c.weekly
            .entry(event.to_string())
            .or_insert_with(|| vec![0.0; weeks.len()])[wi] += value;
    }
    let actions = action_infos(&s.search("SELECT conversion_action.name, conversion_action.category, conversion_action.primary_for_goal, conversion_action.status, conversion_action.counting_type FROM conversion_action WHERE conversion_action.status = 'ENABLED'").await?);
    let goals = goals_of(&s.search("SELECT customer_conversion_goal.category, customer_conversion_goal.origin, customer_conversion_goal.biddable FROM customer_conversion_goal").await?);
    let campaign_goals = campaign_goals_of(&s.search("SELECT campaign.id, campaign_conversion_goal.category, campaign_conversion_goal.origin, campaign_conversion_goal.biddable FROM campaign_conversion_goal WHERE campaign.status != 'REMOVED'").await?);
    // Cost cannot be selected with conversion-action segments: its own query, last.
    let q = format!(
        "SELECT customer.currency_code, campaign.id, segments.week, metrics.cost_micros FROM campaign WHERE segments.date BETWEEN '{}' AND '{}' AND campaign.status != 'REMOVED'",
        window.since(),
        window.until()
    );
    let costs = s.search(&q).await?;
    let currency = add_costs(&costs, &weeks, &mut campaigns).map_err(malformed)?;
    Ok(AdsPull {
        customer_id: spec.customer_id.clone(),
        weeks,
        campaigns: campaigns.into_values().collect(),
        actions,
        goals,
        campaign_goals,
        currency,
    })
}

/// The enabled conversion actions: name, category, whether primary, status and counting.
fn action_infos(rows: &[Value]) -> Vec<ActionInfo> {
    rows.iter()
        .map(|r| ActionInfo {
            name: text(r, "/conversionAction/name").unwrap_or_default(),
            category: text(r, "/conversionAction/category").unwrap_or_default(),
            primary: r
                .pointer("/conversionAction/primaryForGoal")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            status: text(r, "/conversionAction/status"),
            counting: text(r, "/conversionAction/countingType"),
        })
        .collect()
}

/// The account's conversion goals: category, origin, biddable.
fn goals_of(rows: &[Value]) -> Vec<Goal> {
    rows.iter()
        .map(|r| Goal {
            category: text(r, "/customerConversionGoal/category").unwrap_or_default(),
            origin: text(r, "/customerConversionGoal/origin").unwrap_or_default(),
            biddable: r
                .pointer("/customerConversionGoal/biddable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
        .collect()
}

/// Each campaign's own conversion goals (a row without a campaign or category is left out).
fn campaign_goals_of(rows: &[Value]) -> Vec<CampaignGoal> {
    rows.iter()
        .filter_map(|r| {
            Some(CampaignGoal {
                campaign_id: text(r, "/campaign/id").or_else(|| {
                    text(r, "/campaignConversionGoal/campaign")
                        .and_then(|c| c.rsplit('/').next().map(str::to_string))
                })?,
                category: text(r, "/campaignConversionGoal/category")?,
                origin: text(r, "/campaignConversionGoal/origin").unwrap_or_default(),
                biddable: r
                    .pointer("/campaignConversionGoal/biddable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        })
        .collect()
}

/// Adds each cost row's `metrics.costMicros` (an int64, so a JSON string) to its campaign's
/// week; rows of campaigns without conversions (not bidding units) and rows without a cost are
/// left out. Returns the account currency when a row carries it.
fn add_costs(
    rows: &[Value],
    weeks: &[IsoWeek],
    campaigns: &mut BTreeMap<String, CampaignPull>,
) -> Result<Option<String>, String> {
    let mut currency = None;
    for r in rows {
        let Some(v) = r.pointer("/metrics/costMicros") else {
            continue;
        };
        let micros = v
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .or_else(|| v.as_i64())
            .filter(|m| *m >= 0)
            .ok_or_else(|| format!("costMicros {v} is not a non-negative int64"))?;
        currency = currency.or_else(|| text(r, "/customer/currencyCode"));
        let Some(c) = text(r, "/campaign/id").and_then(|id| campaigns.get_mut(&id)) else {
            continue;
        };
        let week = text(r, "/segments/week")
            .and_then(|w| w.parse::<jiff::civil::Date>().ok())
            .map(IsoWeek::of_date)
            .ok_or_else(|| {
                format!(
                    "campaign {}: cost row without a readable segments.week",
                    c.id
                )
            })?;
        let Some(wi) = weeks.iter().position(|w| *w == week) else {
            continue;
        };
        if c.weekly_spend.is_empty() {
            c.weekly_spend = vec![0.0; weeks.len()];
        }
        c.weekly_spend[wi] += micros as f64 / 1e6;
    }
    Ok(currency)
}
