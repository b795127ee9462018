//! Unit tests of the shared HTTP layer.

use super::*;

#[test]
fn secrets_in_query_strings_are_redacted() {
    let u = "https://graph.facebook.com/v25.0/act_1/insights?level=adset&access_token=EAAB123&after=MjQZD";
    let r = redact_url(u);
    assert_eq!(
        r,
        "https://graph.facebook.com/v25.0/act_1/insights?level=adset&access_token=***&after=MjQZD"
    );
}

#[test]
fn api_messages_and_rate_limit_codes() {
    let meta = br#"{"error":{"message":"(#17) User request limit reached","type":"OAuthException","code":17,"error_subcode":2446079,"fbtrace_id":"x"}}"#;
    let (m, retry, _) = api_message(meta);
    assert!(retry);
    assert!(m.unwrap().contains("code 17, subcode 2446079"));
    let google = br#"{"error":{"code":429,"message":"Exhausted property tokens","status":"RESOURCE_EXHAUSTED"}}"#;
    assert!(api_message(google).1);
    let perm = br#"{"error":{"code":403,"message":"User does not have sufficient permissions for this property.","status":"PERMISSION_DENIED"}}"#;
    let (m, retry, reason) = api_message(perm);
    assert!(!retry);
    assert_eq!(reason, None);
    assert_eq!(
        m.unwrap(),
        "User does not have sufficient permissions for this property. [PERMISSION_DENIED]"
    );
}

#[test]
fn oauth_errors_keep_the_code_and_its_description() {
    let grant =
        br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#;
    let (m, retry, _) = api_message(grant);
    assert!(!retry);
    let m = m.unwrap();
    assert_eq!(m, "invalid_grant: Token has been expired or revoked.");
    assert!(oauth_hint(&m).unwrap().contains("refresh token"));
    let bare = br#"{"error":"invalid_client"}"#;
    assert_eq!(api_message(bare).0.unwrap(), "invalid_client");
}

#[test]
fn meta_codes_are_classified() {
    let v = |b: &[u8]| meta_error(&serde_json::from_slice(b).unwrap()).unwrap();
    let timeout = v(br#"{"error":{"message":"x","type":"OAuthException","code":100,"error_subcode":1504018,"fbtrace_id":"a"}}"#);
    assert!(timeout.is_sync_timeout() && !timeout.is_throttle());
    let reduce = v(br#"{"error":{"message":"Please reduce the amount of data you're asking for, then retry your request","type":"OAuthException","code":1,"fbtrace_id":"a"}}"#);
    assert!(reduce.reduce_data && reduce.needs_another_request());
    for c in [4, 17, 32, 341, 613, 80000, 80004, 80014] {
        let m = MetaCode {
            code: c,
            subcode: None,
            reduce_data: false,
        };
        assert!(m.is_throttle(), "{c}");
    }
    assert!(!MetaCode {
        code: 80015,
        subcode: None,
        reduce_data: false
    }
    .is_throttle());
    // The retry flag of api_message leaves these to the caller.
    assert!(!api_message(br#"{"error":{"message":"Please reduce the amount of data you're asking for","type":"OAuthException","code":1,"fbtrace_id":"a"}}"#).1);
    assert!(api_message(br#"{"error":{"message":"An unknown error occurred","type":"OAuthException","code":1,"fbtrace_id":"a"}}"#).1);
}

#[test]
fn business_use_case_headers_are_read() {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
            "x-business-use-case-usage",
            r#"{"1":[{"type":"ads_insights","call_count":100,"estimated_time_to_regain_access":0}],"2":[{"type":"ads_management","estimated_time_to_regain_access":12}]}"#.parse().unwrap(),
        );
    h.insert(
        "x-fb-ads-insights-throttle",
        r#"{"app_id_util_pct":12.5,"acc_id_util_pct":96}"#.parse().unwrap(),
    );
    assert_eq!(regain_minutes(&h), Some(12));
    assert_eq!(insights_util_pct(&h), Some(96.0));
    assert_eq!(regain_minutes(&reqwest::header::HeaderMap::new()), None);
}

#[test]
fn bigquery_reasons_are_kept_and_rate_limits_retried() {
    let invalid = br#"{"error":{"code":400,"message":"Syntax error: Unexpected identifier SELEC at [1:1]","errors":[{"message":"Syntax error","domain":"global","reason":"invalidQuery","location":"query","locationType":"other"}],"status":"INVALID_ARGUMENT"}}"#;
    let (m, retry, reason) = api_message(invalid);
    assert!(!retry);
    assert_eq!(
        reason,
        Some(Box::new(ApiReason {
            reason: "invalidQuery".into(),
            location: Some("query".into()),
            meta: None,
        }))
    );
    assert_eq!(
        m.unwrap(),
        "Syntax error: Unexpected identifier SELEC at [1:1] [INVALID_ARGUMENT, invalidQuery]"
    );
    let rate = br#"{"error":{"code":403,"message":"Exceeded rate limits: too many api requests per user per method for this user_method.","errors":[{"message":"Exceeded rate limits","domain":"usageLimits","reason":"rateLimitExceeded"}],"status":"PERMISSION_DENIED"}}"#;
    assert!(api_message(rate).1);
    let denied = br#"{"error":{"code":403,"message":"Access Denied: Project p: User does not have bigquery.jobs.create permission in project p.","errors":[{"message":"Access Denied","domain":"global","reason":"accessDenied"}],"status":"PERMISSION_DENIED"}}"#;
    assert!(!api_message(denied).1);
}
