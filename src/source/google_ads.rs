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

/// `conversion_action.category` → canonical event.
const CATEGORIES: [(&str, &str); 8] = [
    ("PAGE_VIEW", "view_item"),
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

    /// Why bidding on `event` needs a change in Google Ads first, if it does: its goal is not
    /// biddable, or its conversion actions are all secondary.
    pub fn bidding_warning(&self, event: &str) -> Option<String> {
        let cat = category_of_event(event)?;
        let goals: Vec<&Goal> = self.goals.iter().filter(|g| g.category == cat).collect();
        if !goals.is_empty() && goals.iter().all(|g| !g.biddable) {
            return Some(format!(
                "Google Ads: the {cat} goal is not biddable; make it biddable (a primary action in an account-default goal) before optimizing on {event}"
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

/// Runs GAQL queries for one customer, holding the OAuth token.
struct Session<'a> {
    http: &'a Http,
    account: &'a str,
    spec: &'a AdsSpec,
    developer_token: Secret,
    token: Option<Token>,
}

impl Session<'_> {
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

    /// Runs one query; returns every result row of every batch.
    async fn search(&mut self, query: &str) -> Result<Vec<Value>, HttpError> {
        let url = format!(
            "{}/customers/{}/googleAds:searchStream",
            self.spec.base_url.trim_end_matches('/'),
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
        let body = json!({"query": query});
        let mut refreshed = false;
        loop {
            let bearer = self.bearer(refreshed).await?;
            let dev = self.developer_token.clone();
            let login = self.spec.login_customer_id.clone();
            let sent: Result<Vec<Batch>, HttpError> = self
                .http
                .json(&at, || {
                    let mut r = self
                        .http
                        .client()
                        .post(&url)
                        .bearer_auth(bearer.expose())
                        .header("developer-token", dev.expose())
                        .json(&body);
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
                r => return Ok(r?.into_iter().flat_map(|b| b.results).collect()),
            }
        }
    }
}

#[derive(Deserialize)]
struct Batch {
    #[serde(default)]
    results: Vec<Value>,
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
    let developer_token = spec
        .developer_token
        .load("google_ads.developer_token")
        .map_err(|source| HttpError::Secret {
            account: account.to_string(),
            source,
        })?;
    let mut s = Session {
        http,
        account,
        spec,
        developer_token,
        token: None,
    };
    let weeks = window.weeks();
    let q = format!(
        "SELECT campaign.id, campaign.name, segments.week, segments.conversion_action_name, segments.conversion_action_category, metrics.all_conversions FROM campaign WHERE segments.date BETWEEN '{}' AND '{}'",
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
        });
        c.weekly
            .entry(event.to_string())
            .or_insert_with(|| vec![0.0; weeks.len()])[wi] += value;
    }
    let actions = s
        .search("SELECT conversion_action.name, conversion_action.category, conversion_action.primary_for_goal, conversion_action.status FROM conversion_action WHERE conversion_action.status = 'ENABLED'")
        .await?
        .iter()
        .map(|r| ActionInfo {
            name: text(r, "/conversionAction/name").unwrap_or_default(),
            category: text(r, "/conversionAction/category").unwrap_or_default(),
            primary: r
                .pointer("/conversionAction/primaryForGoal")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
        .collect();
    let goals = s
        .search("SELECT customer_conversion_goal.category, customer_conversion_goal.origin, customer_conversion_goal.biddable FROM customer_conversion_goal")
        .await?
        .iter()
        .map(|r| Goal {
            category: text(r, "/customerConversionGoal/category").unwrap_or_default(),
            origin: text(r, "/customerConversionGoal/origin").unwrap_or_default(),
            biddable: r
                .pointer("/customerConversionGoal/biddable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
        .collect();
    Ok(AdsPull {
        customer_id: spec.customer_id.clone(),
        weeks,
        campaigns: campaigns.into_values().collect(),
        actions,
        goals,
    })
}
