use super::*;

fn write(body: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("agency.toml");
    std::fs::write(&p, body).unwrap();
    (d, p)
}

#[test]
fn accounts_inherit_defaults_and_override_them() {
    let (_d, p) = write(
            "[defaults.analysis]\nlabel_window_days = 3\ncandidates = [\"add_to_cart\"]\n\
             [[defaults.platforms]]\nid = \"meta\"\n\
             [[accounts]]\nname = \"A\"\n[accounts.source]\npath = \"a.csv\"\n\
             [[accounts]]\nname = \"B\"\n[accounts.source]\npath = \"b.csv\"\n[accounts.analysis]\nlabel_window_days = 14\n",
        );
    let f = load_file(&p).unwrap();
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(f.accounts.len(), 2);
    assert_eq!(f.accounts[0].name, "A");
    assert_eq!(f.accounts[0].raw.analysis.label_window_days, Some(3));
    assert_eq!(f.accounts[1].raw.analysis.label_window_days, Some(14));
    assert_eq!(
        f.accounts[1]
            .raw
            .analysis
            .candidates
            .as_ref()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(f.accounts[1].raw.platforms[0].id, "meta");
}

#[test]
fn unknown_keys_get_the_closest_valid_key_and_types_their_path() {
    let (_d, p) = write(
            "[[accounts]]\nname = \"Shop\"\n[accounts.analysis]\nlabel_windw_days = 3\nalpha = \"low\"\n\
             [[accounts.platforms]]\nid = \"meta\"\nad_set = 2\n",
        );
    let f = load_file(&p).unwrap();
    let msgs: Vec<String> = f.problems.iter().map(|e| e.to_string()).collect();
    assert!(
        msgs.iter().any(
            |m| m.contains("account \"Shop\": analysis.label_windw_days")
                && m.contains("\"label_window_days\"")
        ),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("platforms[0].ad_set") && m.contains("\"ad_sets\"")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("analysis.alpha") && m.contains("invalid type")),
        "{msgs:?}"
    );
}

#[test]
fn type_error_paths_are_removed_and_env_vars_named() {
    let mut v: Value =
        serde_json::json!({"analysis": {"alpha": "x", "unit": "s"}, "platforms": [{"id": 1}]});
    assert!(remove_path(&mut v, "analysis.alpha"));
    assert!(remove_path(&mut v, "platforms[0].id"));
    assert!(!remove_path(&mut v, "platforms[3].id"));
    assert!(!remove_path(&mut v, "nothing.here"));
    assert_eq!(
        v,
        serde_json::json!({"analysis": {"unit": "s"}, "platforms": [{}]})
    );
    assert_eq!(
        env_var_of("analysis.label_window_days"),
        "OPTSIGNAL_ANALYSIS__LABEL_WINDOW_DAYS"
    );
}

#[test]
fn single_account_files_still_load() {
    let (_d, p) =
        write("account = \"Solo\"\n[source]\npath = \"x.csv\"\n[[platforms]]\nid = \"tiktok\"\n");
    let f = load_file(&p).unwrap();
    assert!(!f.multi);
    assert_eq!(f.accounts[0].name, "Solo");
    assert!(load_file(Path::new("/nope.toml")).is_err());
    let (_d2, bad) = write("[source\npath = 1");
    assert!(load_file(&bad).is_err());
}
