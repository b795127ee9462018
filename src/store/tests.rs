use super::*;

#[test]
// Here rather than in platform's tests: it also checks that the replaced floor is a stored
// rule change, and the platform module is below the store.
fn a_users_rule_replaces_the_built_in_one_and_bad_rules_are_named() {
    let user = crate::platform::Rules::parse(
        r#"
[[rule]]
platform = "meta"
id = "learning_phase"
events = 40
days = 7
unit = "ad_set"
basis = "official"
text = "re-checked"
source = "https://www.facebook.com/business/help/112167992830700"
checked = "2027-01-04"
"#,
        "my.toml",
    )
    .unwrap();
    let merged = crate::platform::Rules::builtin().merged(&user.rule);
    let m = merged.floor(PlatformId::Meta, None).unwrap();
    assert_eq!((m.events, m.checked.as_str()), (40.0, "2027-01-04"));
    assert_eq!(
        merged.rule.len(),
        crate::platform::Rules::builtin().rule.len()
    );
    let old = PlatformId::Meta.profile().floor;
    let (was, now) = (StoredRule::of(&old), StoredRule::of(&m.floor()));
    assert!(was.changed_to(&now));
    assert!(!was.changed_to(&was.clone()));
    let bad = crate::platform::Rules::parse(
            "[[rule]]\nplatform = \"meta\"\nid = \"x\"\nevents = 0\ndays = 7\nunit = \"ad_set\"\nbasis = \"official\"\ntext = \"t\"\nsource = \"s\"\nchecked = \"2026-01-01\"\n",
            "my.toml",
        )
        .unwrap_err();
    assert!(
        bad.contains("my.toml: rule[0] (meta x): events = 0"),
        "{bad}"
    );
}

#[test]
fn slugs_are_folder_safe() {
    assert_eq!(account_slug("東京"), "東京");
    assert!(account_slug("  ACME / EU  ").starts_with("acme-eu-"));
    assert!(account_slug("../..").starts_with("account-"));
    assert_ne!(account_slug("Shop A"), account_slug("shop a"));
}

#[test]
fn flat_arrays_go_on_one_line() {
    let v = serde_json::json!({"a": [1, 2, [3, 4]], "b": ["x,]y", "z"], "c": {"d": []}});
    let pretty = serde_json::to_string_pretty(&v).unwrap();
    let c = compact_flat_arrays(&pretty);
    assert!(c.contains("[3, 4]"), "{c}");
    assert!(c.contains("[\"x,]y\", \"z\"]"), "{c}");
    assert!(c.contains("\"d\": []"), "{c}");
    let back: Value = serde_json::from_str(&c).unwrap();
    assert_eq!(back, v);
}

#[test]
fn only_week_files_are_weeks() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::new(dir.path(), "A");
    assert!(s.weeks().unwrap().is_empty());
    fs::create_dir_all(s.dir()).unwrap();
    for n in [
        "2026-W45.json",
        ".2026-W46.json.tmp12",
        "2026-W44.json.bak",
        "notes.txt",
    ] {
        fs::write(s.dir().join(n), "{}").unwrap();
    }
    assert_eq!(s.weeks().unwrap(), vec!["2026-W45".parse().unwrap()]);
}

#[test]
fn newer_and_unversioned_files_are_refused_with_the_file_named() {
    let p = Path::new("m/a/2026-W45.json");
    let e = StoredWeek::from_json("{\"schema_version\": 99}", p).unwrap_err();
    assert!(matches!(e, StoreError::TooNew { found: 99, .. }), "{e}");
    let e = StoredWeek::from_json("{}", p).unwrap_err().to_string();
    assert!(
        e.contains("m/a/2026-W45.json") && e.contains("schema_version"),
        "{e}"
    );
}
