use super::*;

fn raw() -> RawConfig {
    RawConfig {
        source: RawSource {
            path: Some("events.csv".into()),
            ..Default::default()
        },
        platforms: vec![RawPlatform {
            id: "meta".into(),
            ad_sets: Some(2),
            attributed_share: Some(0.5),
            optimizing_on: None,
            floor_events: None,
            floor_days: None,
            optimizable: None,
            rule: None,
        }],
        ..Default::default()
    }
}

#[test]
fn defaults_fill_in_and_paths_resolve_against_the_config_dir() {
    let s = Settings::from_raw(&raw(), "x.toml", Path::new("/cfg")).unwrap();
    assert_eq!(s.source.path, PathBuf::from("/cfg/events.csv"));
    assert_eq!(s.observe.label_window_days, 7);
    assert_eq!(s.observe.candidates.len(), DEFAULT_CANDIDATES.len());
    assert_eq!(s.platforms[0].ad_sets, 2);
    // No candidates listed: they are discovered, the defaults only seed the order.
    let d = s.observe.discover.unwrap();
    assert_eq!(
        (d.min_units, d.housekeeping.len()),
        (30, DEFAULT_HOUSEKEEPING.len())
    );
}

#[test]
fn discovery_keys_are_checked_and_need_discovery() {
    let mut r = raw();
    let fails = |r: &RawConfig| {
        Settings::from_raw(r, "x.toml", Path::new("/"))
            .unwrap_err()
            .to_string()
    };
    r.analysis.housekeeping_events = Some(vec!["page_view".into(), " ".into()]);
    assert!(fails(&r).contains("analysis.housekeeping_events[1]"));
    r.analysis.housekeeping_events = None;
    r.analysis.discover_min_units = Some(0);
    assert!(fails(&r).contains("analysis.discover_min_units: must be at least 1"));
    r.analysis.discover_min_units = Some(5);
    r.analysis.candidates = Some(vec!["add_to_cart".into()]);
    let e = Settings::from_raw(&r, "x.toml", Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("analysis.discover_min_units") && e.contains("only applies"),
        "{e}"
    );
    r.analysis.discover_min_units = None;
    let s = Settings::from_raw(&r, "x.toml", Path::new("/")).unwrap();
    assert!(s.observe.discover.is_none());
}

#[test]
fn impossible_values_name_the_key() {
    let mut r = raw();
    r.platforms[0].attributed_share = Some(1.5);
    let e = Settings::from_raw(&r, "x.toml", Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.toml: platforms[0].attributed_share"), "{e}");
    let mut r = raw();
    r.platforms[0].ad_sets = Some(0);
    let e = Settings::from_raw(&r, "x.toml", Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("platforms[0].ad_sets"), "{e}");
    let mut r = raw();
    r.analysis.time_zone = Some("Mars/Olympus".into());
    let e = Settings::from_raw(&r, "x.toml", Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("analysis.time_zone"), "{e}");
    let mut r = raw();
    r.platforms[0].id = "myspace".into();
    let e = Settings::from_raw(&r, "x.toml", Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("platforms[0].id") && e.contains("google_ads"),
        "{e}"
    );
}

fn email() -> RawEmail {
    RawEmail {
        from: Some("optsignal <r@shop.example>".into()),
        to: Some(vec!["a@shop.example".into(), "B <b@shop.example>".into()]),
        host: Some("smtp.shop.example".into()),
        ..Default::default()
    }
}

#[test]
fn email_defaults_and_secrets_by_reference_only() {
    let mut r = raw();
    let mut e = email();
    e.username = Some("r".into());
    e.password_file = Some("secret".into());
    r.email = Some(e);
    let s = Settings::from_raw(&r, "x.toml", Path::new("/cfg")).unwrap();
    let m = s.email.unwrap();
    assert_eq!((m.security, m.port), (SmtpSecurity::StartTls, 587));
    assert_eq!(m.to.len(), 2);
    assert_eq!(
        m.auth.unwrap().password,
        SecretSource::File(PathBuf::from("/cfg/secret"))
    );
    assert_eq!(s.report.state_dir, PathBuf::from("/cfg/optsignal-state"));
}

#[test]
fn email_mistakes_name_the_key() {
    let check = |f: &dyn Fn(&mut RawEmail), key: &str| {
        let mut r = raw();
        let mut e = email();
        f(&mut e);
        r.email = Some(e);
        let err = Settings::from_raw(&r, "x.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("x.toml: {key}")), "{err}");
    };
    check(&|e| e.to = Some(vec![]), "email.to");
    check(
        &|e| e.to = Some(vec!["not an address".into()]),
        "email.to[0]",
    );
    check(&|e| e.from = None, "email.from");
    check(&|e| e.security = Some("ssl".into()), "email.security");
    check(&|e| e.subject = Some("{{ account".into()), "email.subject");
    check(&|e| e.username = Some("u".into()), "email.password_env");
    check(
        &|e| {
            e.username = Some("u".into());
            e.password_env = Some("P".into());
            e.security = Some("plain".into());
        },
        "email.security",
    );
    let mut r = raw();
    r.report.critical_flags = Some(vec!["sweepstakes".into()]);
    let err = Settings::from_raw(&r, "x.toml", Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("report.critical_flags[0]") && err.contains("broken_surge"),
        "{err}"
    );
}

#[test]
fn email_and_report_report_every_problem_in_one_pass() {
    let mut r = raw();
    let mut e = email();
    e.from = Some("not an address".into());
    e.to = Some(vec!["ok@shop.example".into(), "nope".into()]);
    e.security = Some("ssl".into());
    e.timeout_secs = Some(0);
    r.email = Some(e);
    r.recipients = Some(vec!["also wrong".into()]);
    r.report.critical_flags = Some(vec!["sweepstakes".into()]);
    r.report.catch_up_weeks = Some(99);
    r.report.settle_hours = Some([("fax".to_string(), 1)].into_iter().collect());
    let errs = Settings::validate(&r, "x.toml", Some("Shop"), Path::new("/")).unwrap_err();
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    for key in [
        "email.from",
        "email.to[1]",
        "email.security",
        "email.timeout_secs",
        "recipients[0]",
        "report.critical_flags[0]",
        "report.catch_up_weeks",
        "report.settle_hours.fax",
    ] {
        let want = format!("x.toml: account \"Shop\": {key}:");
        assert!(
            text.iter().any(|t| t.starts_with(&want)),
            "{key}: {text:#?}"
        );
    }
    assert_eq!(text.len(), 8, "{text:#?}");
}

#[test]
fn ca_file_resolves_against_the_config_dir_and_needs_tls() {
    let mut r = raw();
    let mut e = email();
    e.ca_file = Some("corp-ca.pem".into());
    r.email = Some(e.clone());
    let s = Settings::from_raw(&r, "x.toml", Path::new("/cfg")).unwrap();
    assert_eq!(
        s.email.unwrap().ca_file,
        Some(PathBuf::from("/cfg/corp-ca.pem"))
    );
    e.ca_file = Some("/etc/ssl/corp.pem".into());
    r.email = Some(e.clone());
    let s = Settings::from_raw(&r, "x.toml", Path::new("/cfg")).unwrap();
    assert_eq!(
        s.email.unwrap().ca_file,
        Some(PathBuf::from("/etc/ssl/corp.pem"))
    );
    for (security, ca) in [(Some("plain"), "ca.pem"), (None, "")] {
        e.security = security.map(Into::into);
        e.ca_file = Some(ca.into());
        r.email = Some(e.clone());
        let err = Settings::from_raw(&r, "x.toml", Path::new("/cfg"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.toml: email.ca_file"), "{err}");
    }
}

#[test]
fn plain_with_credentials_is_allowed_to_a_local_relay() {
    let mut r = raw();
    let mut e = email();
    e.host = Some("127.0.0.1".into());
    e.security = Some("plain".into());
    e.username_env = Some("U".into());
    e.password_env = Some("P".into());
    r.email = Some(e);
    let s = Settings::from_raw(&r, "x.toml", Path::new("/")).unwrap();
    assert_eq!(s.email.unwrap().port, 25);
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "[analysis]\nlabel_windw_days = 3\n").unwrap();
    let f = accounts::load_file(&p).unwrap();
    let e = f.problems[0].to_string();
    assert!(e.contains("label_windw_days"), "{e}");
}
