//! Every key a config can hold (a fully populated RawConfig serialised), and pruning unknown keys against it with a suggestion.

use super::*;

/// `[google_ads]` with every key set, for the schema (it appears twice: the source and the
/// credentials of `[signal.google_ads]`).
pub(super) fn every_google_ads_key() -> super::super::remote::RawGoogleAds {
    let s = |v: &str| Some(v.to_string());
    super::super::remote::RawGoogleAds {
        customer_id: s(""),
        login_customer_id: s(""),
        developer_token_env: s(""),
        developer_token_file: Some("p".into()),
        client_id: s(""),
        client_secret_env: s(""),
        client_secret_file: Some("p".into()),
        refresh_token_env: s(""),
        refresh_token_file: Some("p".into()),
        base_url: s(""),
        token_url: s(""),
    }
}

/// Every key a config can hold, as a tree: a fully populated [`RawConfig`] serialised. Kept in
/// step with the structs by construction.
pub(super) fn schema() -> Value {
    let s = |x: &str| Some(x.to_string());
    let raw = RawConfig {
        account: s("a"),
        source: every_source_key(),
        analysis: every_analysis_key(),
        platforms: vec![super::super::RawPlatform {
            id: "meta".into(),
            ad_sets: Some(1),
            attributed_share: Some(1.0),
            optimizing_on: s(""),
            floor_events: Some(1.0),
            floor_days: Some(1),
            optimizable: Some(vec![]),
            rule: s(""),
        }],
        recipients: Some(vec![]),
        email: Some(super::super::RawEmail {
            from: s(""),
            to: Some(vec![]),
            subject: s(""),
            host: s(""),
            port: Some(25),
            security: s(""),
            username: s(""),
            username_env: s(""),
            password_env: s(""),
            password_file: Some("p".into()),
            ca_file: Some("ca.pem".into()),
            timeout_secs: Some(1),
        }),
        report: super::super::RawReport {
            state_dir: Some("s".into()),
            critical_flags: Some(vec![]),
            catch_up_weeks: Some(1),
            send_partial: Some(false),
            settle_hours: Some(
                crate::settle::Source::ALL
                    .iter()
                    .map(|s| (s.key().to_string(), 1))
                    .collect(),
            ),
        },
        funnel: super::super::RawFunnel {
            steps: Some(vec![]),
        },
        alerts: Some(super::super::alerts::RawAlerts {
            report_url: s(""),
            timeout_secs: Some(1),
            retries: Some(1),
            backoff_ms: Some(1),
            max_wait_secs: Some(1),
            targets: vec![super::super::alerts::RawTarget {
                name: s(""),
                kind: s(""),
                url: s(""),
                url_env: s(""),
                url_file: Some("p".into()),
                token_env: s(""),
                token_file: Some("p".into()),
                findings: Some(vec![]),
            }],
        }),
        store: super::super::RawStore {
            path: Some("models".into()),
            enabled: Some(false),
        },
        fetch: super::super::remote::RawFetch {
            weeks: Some(1),
            last_week: s(""),
            timeout_secs: Some(1),
            retries: Some(1),
            backoff_ms: Some(1),
            concurrency: Some(1),
            max_wait_secs: Some(1),
            throttle_backoff_ms: Some(1),
            snapshot: Some("p".into()),
        },
        meta: Some(super::super::remote::RawMeta {
            account_id: s(""),
            access_token_env: s(""),
            access_token_file: Some("p".into()),
            base_url: s(""),
            action_family: Some(crate::source::meta::ActionFamily::Pixel),
        }),
        ga4: Some(super::super::remote::RawGa4 {
            property_id: s(""),
            key_file: Some("p".into()),
            base_url: s(""),
            page_size: Some(1),
        }),
        google_ads: Some(every_google_ads_key()),
        bigquery: Some(super::super::remote::RawBigQuery {
            project: s(""),
            dataset: s(""),
            table_prefix: s(""),
            billing_project: s(""),
            location: s(""),
            key_file: Some("p".into()),
            base_url: s(""),
            maximum_bytes_billed: Some(1),
        }),
        signal: Some(every_signal_key()),
        rule: crate::platform::Rules::builtin()
            .rule
            .iter()
            .find(|r| r.recommended.is_some() && r.soft.is_none())
            .map(|r| crate::platform::Rule {
                soft: Some(1.0),
                ..r.clone()
            })
            .into_iter()
            .collect(),
    };
    serde_json::to_value(raw).unwrap_or(Value::Null)
}

/// Keys whose children are free-form (names chosen by the user).
pub(super) const FREE_FORM: [&str; 1] = ["source.aliases"];

/// The closest valid key, when one is close enough to be a likely typo.
pub(super) fn suggest<'a>(
    key: &str,
    valid: impl Iterator<Item = &'a String>,
) -> Option<&'a String> {
    valid
        .map(|v| (strsim::levenshtein(key, v), v))
        .filter(|(d, v)| *d <= 3 && *d < v.len().max(key.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// Removes unknown keys from `v` (checked against `schema`), recording each as a problem.
pub(super) fn prune_unknown(
    v: &mut Value,
    schema: &Value,
    at: &str,
    found: &mut Vec<(String, String)>,
) {
    let (Value::Object(map), Value::Object(known)) = (&mut *v, schema) else {
        if let (Value::Array(items), Value::Array(ks)) = (v, schema) {
            if let Some(k) = ks.first() {
                for (i, item) in items.iter_mut().enumerate() {
                    prune_unknown(item, k, &format!("{at}[{i}]"), found);
                }
            }
        }
        return;
    };
    if FREE_FORM.contains(&at) {
        return;
    }
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        let path = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        match known.get(&k) {
            Some(ks) => {
                if let Some(child) = map.get_mut(&k) {
                    prune_unknown(child, ks, &path, found);
                }
            }
            None => {
                let hint = match suggest(&k, known.keys()) {
                    Some(s) => format!("unknown key; did you mean {s:?}?"),
                    None => {
                        let list: Vec<&str> = known.keys().map(String::as_str).collect();
                        format!("unknown key; valid here: {}", list.join(", "))
                    }
                };
                found.push((path, hint));
                map.remove(&k);
            }
        }
    }
}

/// `[signal]` with every key set, for the schema.
fn every_signal_key() -> super::super::signal::RawSignal {
    let s = |x: &str| Some(x.to_string());
    super::super::signal::RawSignal {
        path: Some("p".into()),
        days: Some(1),
        out_dir: Some("p".into()),
        state_dir: Some("p".into()),
        currency: s(""),
        default_country_code: s(""),
        columns: super::super::signal::RawColumns {
            email: s(""),
            phone: s(""),
            fbp: s(""),
            fbc: s(""),
            client_ip_address: s(""),
            client_user_agent: s(""),
            gclid: s(""),
            client_id: s(""),
            event_id: s(""),
        },
        meta: Some(super::super::signal::RawMetaSignal {
            pixel_id: s(""),
            event_name: s(""),
            test_event_code: s(""),
            access_token_env: s(""),
            access_token_file: Some("p".into()),
            base_url: s(""),
        }),
        google_ads: Some(super::super::signal::RawGoogleAdsSignal {
            customer_id: s(""),
            conversion_action: s(""),
            credentials: Some(every_google_ads_key()),
        }),
        ga4: Some(super::super::signal::RawGa4Signal {
            measurement_id: s(""),
            api_secret_env: s(""),
            api_secret_file: Some("p".into()),
            event_name: s(""),
            base_url: s(""),
        }),
    }
}

/// `[source]` with every key set, for the schema.
fn every_source_key() -> super::super::RawSource {
    let s = |x: &str| Some(x.to_string());
    super::super::RawSource {
        kind: s("log"),
        path: Some("p".into()),
        format: s("csv"),
        delimiter: s(","),
        columns: Some(vec![]),
        timestamp_format: s("auto"),
        fields: super::super::RawFields {
            timestamp: s(""),
            user_id: s(""),
            session_id: s(""),
            event_name: s(""),
            device: s(""),
            channel: s(""),
            value: s(""),
        },
        aliases: Default::default(),
        max_row_bytes: Some(1),
        max_future_days: Some(1),
        min_date: s(""),
        max_jump_days: Some(1),
    }
}

/// `[analysis]` with every key set, for the schema.
fn every_analysis_key() -> super::super::RawAnalysis {
    let s = |x: &str| Some(x.to_string());
    super::super::RawAnalysis {
        unit: Some(crate::observe::UnitKind::Session),
        candidates: Some(vec![]),
        discover_min_units: Some(1),
        housekeeping_events: Some(vec![]),
        derived: Some(vec![]),
        predicted: Some(super::super::raw::RawPredicted {
            enabled: Some(true),
            top_percent: Some(vec![]),
        }),
        purchase_event: s(""),
        label_window_days: Some(0),
        session_gap_minutes: Some(0),
        lateness_minutes: Some(0),
        time_zone: s(""),
        holdout_weeks: Some(0),
        min_week_days: Some(0),
        min_week_share: Some(0.0),
        confidence: Some(0.0),
        clearance_threshold: Some(0.0),
        volume_weeks: Some(0),
        surge_weeks: Some(0),
        alpha: Some(0.0),
        min_units: Some(0),
        confirm_weeks: Some(0),
        lift_floor: Some(0.0),
        clearance_margin: Some(0.0),
        score_margin: Some(0.0),
        surge_share_ratio: Some(0.0),
        surge_precision_ratio: Some(0.0),
        break_share_ratio: Some(0.0),
    }
}
