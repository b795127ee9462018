//! Config files with one account (the plain layout) or many (`[defaults]` + `[[accounts]]`), read
//! with the `config` crate, with `OPTSIGNAL_*` environment overrides applied on top of every
//! account, unknown keys reported with the closest valid key, and type errors with their key path.
//!
//! Merge order for an account: `[defaults]`, then the account's own table (tables merge key by
//! key; lists such as `platforms` and `candidates` replace the default list whole), then the
//! environment.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{ConfigError, RawConfig};

/// One account of a config file, as written (after merging defaults and environment).
#[derive(Debug, Clone)]
pub struct Account {
    /// Account name: `name` (or `account`) in the file, else "account N".
    pub name: String,
    /// The account's merged configuration.
    pub raw: RawConfig,
}

/// A parsed config file: its accounts and every problem found in them.
#[derive(Debug)]
pub struct ConfigFile {
    /// The file.
    pub path: PathBuf,
    /// Whether the file uses `[[accounts]]`.
    pub multi: bool,
    /// Accounts that deserialised (possibly still invalid: see `Settings::validate`).
    pub accounts: Vec<Account>,
    /// Unknown keys and wrong types, each naming the file, account and key.
    pub problems: Vec<ConfigError>,
    /// `[defaults]` of a multi-account file (the whole file otherwise), for settings that belong
    /// to the file rather than an account: the audit roll-up's `[email]` and `[report]`.
    pub defaults: RawConfig,
}

impl ConfigFile {
    /// Folder that relative paths in the file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// Environment variables of the CLI itself, not config keys.
const NOT_CONFIG: [&str; 2] = ["config", "log"];

fn load_err(path: &Path, message: impl Into<String>) -> ConfigError {
    ConfigError::Load {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The `OPTSIGNAL_*` environment as a config tree (`OPTSIGNAL_ANALYSIS__ALPHA=0.01` →
/// `analysis.alpha = 0.01`; `OPTSIGNAL_ANALYSIS__CANDIDATES=a,b` is a list).
fn environment(path: &Path) -> Result<Map<String, Value>, ConfigError> {
    let env = config::Environment::with_prefix("OPTSIGNAL")
        .prefix_separator("_")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .with_list_parse_key("analysis.candidates")
        .with_list_parse_key("source.columns");
    let built = config::Config::builder()
        .add_source(env)
        .build()
        .map_err(|e| load_err(path, format!("environment: {e}")))?;
    let mut v: Map<String, Value> = built
        .try_deserialize()
        .map_err(|e| load_err(path, format!("environment: {e}")))?;
    for k in NOT_CONFIG {
        v.remove(k);
    }
    Ok(v)
}

/// Merges `over` into `base`: tables key by key, anything else replaced.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Every key a config can hold, as a tree: a fully populated [`RawConfig`] serialised. Kept in
/// step with the structs by construction.
fn schema() -> Value {
    let s = |x: &str| Some(x.to_string());
    let raw = RawConfig {
        account: s("a"),
        source: super::RawSource {
            kind: s("log"),
            path: Some("p".into()),
            format: s("csv"),
            delimiter: s(","),
            columns: Some(vec![]),
            timestamp_format: s("auto"),
            fields: super::RawFields {
                timestamp: s(""),
                user_id: s(""),
                session_id: s(""),
                event_name: s(""),
                device: s(""),
                channel: s(""),
                value: s(""),
            },
            aliases: Default::default(),
        },
        analysis: super::RawAnalysis {
            unit: Some(crate::observe::UnitKind::Session),
            candidates: Some(vec![]),
            purchase_event: s(""),
            label_window_days: Some(0),
            session_gap_minutes: Some(0),
            lateness_minutes: Some(0),
            time_zone: s(""),
            holdout_weeks: Some(0),
            confidence: Some(0.0),
            clearance_threshold: Some(0.0),
            volume_weeks: Some(0),
            surge_weeks: Some(0),
            alpha: Some(0.0),
            min_units: Some(0),
            confirm_weeks: Some(0),
        },
        platforms: vec![super::RawPlatform {
            id: "meta".into(),
            ad_sets: Some(1),
            attributed_share: Some(1.0),
            optimizing_on: s(""),
            floor_events: Some(1.0),
            floor_days: Some(1),
            optimizable: Some(vec![]),
        }],
        recipients: Some(vec![]),
        email: Some(super::RawEmail {
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
        report: super::RawReport {
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
        funnel: super::RawFunnel {
            steps: Some(vec![]),
        },
        store: super::RawStore {
            path: Some("models".into()),
            enabled: Some(false),
        },
        fetch: super::remote::RawFetch {
            weeks: Some(1),
            last_week: s(""),
            timeout_secs: Some(1),
            retries: Some(1),
            backoff_ms: Some(1),
            concurrency: Some(1),
            snapshot: Some("p".into()),
        },
        meta: Some(super::remote::RawMeta {
            account_id: s(""),
            access_token_env: s(""),
            access_token_file: Some("p".into()),
            base_url: s(""),
            action_family: Some(crate::source::meta::ActionFamily::Pixel),
        }),
        ga4: Some(super::remote::RawGa4 {
            property_id: s(""),
            key_file: Some("p".into()),
            base_url: s(""),
            page_size: Some(1),
        }),
        google_ads: Some(super::remote::RawGoogleAds {
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
        }),
        bigquery: Some(super::remote::RawBigQuery {
            project: s(""),
            dataset: s(""),
            table_prefix: s(""),
            billing_project: s(""),
            location: s(""),
            key_file: Some("p".into()),
            base_url: s(""),
            maximum_bytes_billed: Some(1),
        }),
    };
    serde_json::to_value(raw).unwrap_or(Value::Null)
}

/// Keys whose children are free-form (names chosen by the user).
const FREE_FORM: [&str; 1] = ["source.aliases"];

/// The closest valid key, when one is close enough to be a likely typo.
fn suggest<'a>(key: &str, valid: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    valid
        .map(|v| (strsim::levenshtein(key, v), v))
        .filter(|(d, v)| *d <= 3 && *d < v.len().max(key.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// Removes unknown keys from `v` (checked against `schema`), recording each as a problem.
fn prune_unknown(v: &mut Value, schema: &Value, at: &str, found: &mut Vec<(String, String)>) {
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

/// Reads a config file with one or many accounts.
///
/// Fatal (`Err`): the file is missing or is not valid TOML. Everything else is collected in
/// [`ConfigFile::problems`] so that `config check` can list it all.
pub fn load_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    if !path.is_file() {
        return Err(load_err(path, "config file not found"));
    }
    let built = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml))
        .build()
        .map_err(|e| load_err(path, super::secrets::parse_message(path, &e.to_string())))?;
    let mut top: Map<String, Value> = built
        .try_deserialize()
        .map_err(|e| load_err(path, e.to_string()))?;
    let env = Value::Object(environment(path)?);
    let origin = path.display().to_string();
    let schema = schema();
    let mut problems = Vec::new();
    let mut accounts = Vec::new();
    let multi = top.contains_key("accounts");
    let mut tables: Vec<(String, Value)> = Vec::new();
    let mut file_defaults;
    if multi {
        let defaults = top.remove("defaults").unwrap_or(Value::Object(Map::new()));
        file_defaults = defaults.clone();
        let list = top.remove("accounts");
        for k in top.keys() {
            let hint = suggest(k, ["defaults".to_string(), "accounts".to_string()].iter()).map_or(
                "a multi-account file has only [defaults] and [[accounts]]".to_string(),
                |s| format!("did you mean {s:?}?"),
            );
            problems.push(ConfigError::Invalid {
                origin: origin.clone(),
                account: None,
                key: k.clone(),
                message: format!("unknown top-level key; {hint}"),
            });
        }
        let Some(Value::Array(list)) = list else {
            return Err(load_err(
                path,
                "`accounts` must be a list of tables: [[accounts]]",
            ));
        };
        for (i, acc) in list.into_iter().enumerate() {
            let mut merged = defaults.clone();
            merge(&mut merged, &acc);
            let name = merged
                .as_object_mut()
                .and_then(|m| m.remove("name"))
                .and_then(|v| v.as_str().map(String::from))
                .or_else(|| {
                    merged
                        .get("account")
                        .and_then(Value::as_str)
                        .map(String::from)
                })
                .unwrap_or_else(|| format!("account {}", i + 1));
            if let Some(m) = merged.as_object_mut() {
                m.insert("account".into(), Value::String(name.clone()));
            }
            tables.push((name, merged));
        }
    } else {
        let mut merged = Value::Object(top);
        let name = merged
            .get("account")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| "account".into());
        if let Some(m) = merged.as_object_mut() {
            m.remove("name");
        }
        file_defaults = merged.clone();
        tables.push((name, std::mem::take(&mut merged)));
    }
    merge(&mut file_defaults, &env);
    let mut ignored = Vec::new();
    prune_unknown(&mut file_defaults, &schema, "", &mut ignored);
    // Problems in [defaults] are reported through the accounts that inherit them.
    let defaults: RawConfig = serde_path_to_error::deserialize(file_defaults).unwrap_or_default();
    for (name, mut table) in tables {
        merge(&mut table, &env);
        let mut unknown = Vec::new();
        prune_unknown(&mut table, &schema, "", &mut unknown);
        let account = multi.then(|| name.clone());
        for (key, message) in unknown {
            problems.push(ConfigError::Invalid {
                origin: origin.clone(),
                account: account.clone(),
                key,
                message,
            });
        }
        match serde_path_to_error::deserialize::<_, RawConfig>(table) {
            Ok(raw) => accounts.push(Account { name, raw }),
            Err(e) => problems.push(ConfigError::Invalid {
                origin: origin.clone(),
                account,
                key: e.path().to_string(),
                message: e.into_inner().to_string(),
            }),
        }
    }
    Ok(ConfigFile {
        path: path.to_path_buf(),
        multi,
        accounts,
        problems,
        defaults,
    })
}

/// Everything `config check` finds in a file: unknown keys, wrong types, impossible values, and
/// event logs that do not exist — each naming the file, account and key.
pub fn check(path: &Path) -> Result<(ConfigFile, Vec<ConfigError>), ConfigError> {
    let mut file = load_file(path)?;
    let mut problems: Vec<ConfigError> = std::mem::take(&mut file.problems);
    let origin = path.display().to_string();
    let base = file.base_dir();
    for acc in &file.accounts {
        let account = file.multi.then_some(acc.name.as_str());
        match super::Settings::validate(&acc.raw, &origin, account, &base) {
            Err(errs) => problems.extend(errs),
            Ok(s) => {
                if !s.source.path.is_file() {
                    problems.push(ConfigError::Invalid {
                        origin: origin.clone(),
                        account: account.map(String::from),
                        key: "source.path".into(),
                        message: format!(
                            "{} does not exist (paths are relative to the config file)",
                            s.source.path.display()
                        ),
                    });
                }
            }
        }
    }
    Ok((file, problems))
}

#[cfg(test)]
mod tests {
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
    fn single_account_files_still_load() {
        let (_d, p) = write(
            "account = \"Solo\"\n[source]\npath = \"x.csv\"\n[[platforms]]\nid = \"tiktok\"\n",
        );
        let f = load_file(&p).unwrap();
        assert!(!f.multi);
        assert_eq!(f.accounts[0].name, "Solo");
        assert!(load_file(Path::new("/nope.toml")).is_err());
        let (_d2, bad) = write("[source\npath = 1");
        assert!(load_file(&bad).is_err());
    }
}
