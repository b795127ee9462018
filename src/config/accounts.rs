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
    /// Every account's name in file order, also of accounts that did not deserialise.
    pub names: Vec<String>,
    /// Dotted keys set by `OPTSIGNAL_*` environment variables, to blame their values' problems
    /// on the variable ([`ConfigFile::blame`]).
    pub env_keys: Vec<String>,
    /// Unknown keys and wrong types, each naming the file, account and key.
    pub problems: Vec<ConfigError>,
    /// `[defaults]` of a multi-account file (the whole file otherwise), for settings that belong
    /// to the file rather than an account: the audit roll-up's `[email]` and `[report]`.
    pub defaults: RawConfig,
}

impl ConfigFile {
    /// Problems of the file as a whole (no account named): a broken `OPTSIGNAL_*` variable, a
    /// stray top-level key, or any problem of a single-account file.
    pub fn file_problems(&self) -> impl Iterator<Item = &ConfigError> {
        self.problems.iter().filter(|p| p.account().is_none())
    }

    /// Problems of one account of a multi-account file.
    pub fn account_problems<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ConfigError> {
        self.problems
            .iter()
            .filter(move |p| p.account() == Some(name))
    }

    /// `e`, blamed on the `OPTSIGNAL_*` variable when that set its key ([`blame_env`]).
    pub fn blame(&self, e: ConfigError) -> ConfigError {
        blame_env(&self.env_keys, e)
    }

    /// Folder that relative paths in the file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// `e`, blamed on the `OPTSIGNAL_*` variable when the environment set its key (`env_keys`,
/// or the list the key indexes: `analysis.candidates[2]`): a validation error of a value the
/// environment gave. Otherwise `e` as it is.
pub fn blame_env(env_keys: &[String], e: ConfigError) -> ConfigError {
    let ConfigError::Invalid { key, message, .. } = &e else {
        return e;
    };
    let list = key.rfind('[').map_or(key.as_str(), |i| &key[..i]);
    if env_keys.iter().any(|k| k == key || k == list) {
        env_problem(key, message.clone())
    } else {
        e
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

/// Where an account's values come from, to blame each wrong type on the file or on the
/// environment variable that set it.
struct Typed<'a> {
    origin: &'a str,
    account: Option<&'a str>,
    env_vars: &'a [String],
}

impl Typed<'_> {
    /// Deserialises an account, reporting every wrong type (not only the first): the key at
    /// fault is dropped and the rest tried again. `None` when it still does not deserialise.
    fn deserialize(&self, mut table: Value, problems: &mut Vec<ConfigError>) -> Option<RawConfig> {
        for _ in 0..MAX_TYPE_ERRORS {
            match serde_path_to_error::deserialize::<_, RawConfig>(table.clone()) {
                Ok(r) => return Some(r),
                Err(e) => {
                    let key = e.path().to_string();
                    let message = e.into_inner().to_string();
                    problems.push(if self.env_vars.contains(&key) {
                        env_problem(&key, message)
                    } else {
                        ConfigError::Invalid {
                            origin: self.origin.to_string(),
                            account: self.account.map(String::from),
                            key: key.clone(),
                            message,
                        }
                    });
                    if !remove_path(&mut table, &key) {
                        return None;
                    }
                }
            }
        }
        None
    }
}

/// A top-level key of a multi-account file other than `[defaults]` and `[[accounts]]`.
fn stray_top_level(k: &str, origin: &str) -> ConfigError {
    let hint = suggest(k, ["defaults".to_string(), "accounts".to_string()].iter()).map_or(
        "a multi-account file has only [defaults] and [[accounts]]".to_string(),
        |s| format!("did you mean {s:?}?"),
    );
    ConfigError::Invalid {
        origin: origin.to_string(),
        account: None,
        key: k.to_string(),
        message: format!("unknown top-level key; {hint}"),
    }
}

/// The message for a NaN or infinite number.
const NOT_FINITE: &str = "must be a finite number (nan and inf are not)";

/// Dotted paths of every NaN or infinite number in a built config (none when it does not read
/// as a table).
fn non_finite_in(built: &config::Config) -> Vec<String> {
    built
        .clone()
        .try_deserialize::<config::Map<String, config::Value>>()
        .map(|t| non_finite(&t))
        .unwrap_or_default()
}

/// Type errors reported per account before giving up on it.
const MAX_TYPE_ERRORS: usize = 64;

/// The environment variable that sets a dotted key (`analysis.alpha` →
/// `OPTSIGNAL_ANALYSIS__ALPHA`).
fn env_var_of(key: &str) -> String {
    format!("OPTSIGNAL_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// A problem with an `OPTSIGNAL_*` variable, blamed on the environment.
fn env_problem(key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        origin: format!("environment variable {}", env_var_of(key)),
        account: None,
        key: key.to_string(),
        message,
    }
}

/// Dotted paths of every NaN or infinite number in a config tree.
fn non_finite(table: &config::Map<String, config::Value>) -> Vec<String> {
    fn walk(v: &config::Value, at: String, out: &mut Vec<String>) {
        match &v.kind {
            config::ValueKind::Float(f) if !f.is_finite() => out.push(at),
            config::ValueKind::Table(t) => {
                for (k, c) in t {
                    let p = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    walk(c, p, out);
                }
            }
            config::ValueKind::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    walk(c, format!("{at}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in table {
        walk(v, k.clone(), &mut out);
    }
    out.sort();
    out
}

/// Removes the value at a serde_path_to_error path (`platforms[0].ad_sets`) from `v`; false
/// when there is nothing there to remove.
fn remove_path(v: &mut Value, path: &str) -> bool {
    let mut parts: Vec<(String, Option<usize>)> = Vec::new();
    for seg in path.split('.') {
        match seg.split_once('[') {
            Some((name, rest)) => {
                let i = rest.trim_end_matches(']').parse().ok();
                parts.push((name.to_string(), i));
            }
            None => parts.push((seg.to_string(), None)),
        }
    }
    let mut cur = v;
    for (n, (name, idx)) in parts.iter().enumerate() {
        let last = n + 1 == parts.len();
        let Value::Object(map) = cur else {
            return false;
        };
        if last && idx.is_none() {
            return map.remove(name).is_some();
        }
        let Some(next) = map.get_mut(name) else {
            return false;
        };
        cur = match idx {
            Some(i) => {
                let Value::Array(items) = next else {
                    return false;
                };
                if last {
                    if *i >= items.len() {
                        return false;
                    }
                    items.remove(*i);
                    return true;
                }
                match items.get_mut(*i) {
                    Some(x) => x,
                    None => return false,
                }
            }
            None => next,
        };
    }
    false
}

/// The dotted keys of every leaf of a tree (which keys the environment set).
fn leaf_keys(v: &Map<String, Value>, at: &str, out: &mut Vec<String>) {
    for (k, c) in v {
        let p = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        match c {
            Value::Object(m) => leaf_keys(m, &p, out),
            _ => out.push(p),
        }
    }
}

/// The `OPTSIGNAL_*` environment as a config tree (`OPTSIGNAL_ANALYSIS__ALPHA=0.01` →
/// `analysis.alpha = 0.01`; `OPTSIGNAL_ANALYSIS__CANDIDATES=a,b` is a list), with the keys it
/// sets. NaN and infinite numbers are reported into `problems`.
fn environment(
    path: &Path,
    problems: &mut Vec<ConfigError>,
) -> Result<(Map<String, Value>, Vec<String>), ConfigError> {
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
    for key in non_finite_in(&built) {
        problems.push(env_problem(&key, NOT_FINITE.into()));
    }
    let mut v: Map<String, Value> = built
        .try_deserialize()
        .map_err(|e| load_err(path, format!("environment: {e}")))?;
    for k in NOT_CONFIG {
        v.remove(k);
    }
    let mut keys = Vec::new();
    leaf_keys(&v, "", &mut keys);
    Ok((v, keys))
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

mod schema;
use schema::*;

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
    let origin = path.display().to_string();
    // JSON has no NaN or infinity: find them before the tree becomes JSON (where they would
    // turn into "absent", i.e. the default).
    let mut problems: Vec<ConfigError> = non_finite_in(&built)
        .into_iter()
        .map(|key| ConfigError::Invalid {
            origin: origin.clone(),
            account: None,
            key,
            message: NOT_FINITE.into(),
        })
        .collect();
    let top: Map<String, Value> = built
        .try_deserialize()
        .map_err(|e| load_err(path, e.to_string()))?;
    let schema = schema();
    let (env, env_vars) = environment(path, &mut problems)?;
    let mut env = Value::Object(env);
    // Unknown keys of the environment are the environment's, not the file's.
    let mut env_unknown = Vec::new();
    prune_unknown(&mut env, &schema, "", &mut env_unknown);
    for (key, message) in env_unknown {
        problems.push(env_problem(&key, message));
    }
    let multi = top.contains_key("accounts");
    let (tables, mut file_defaults) = account_tables(top, path, &origin, &mut problems)?;
    let names: Vec<String> = tables.iter().map(|(n, _)| n.clone()).collect();
    if multi {
        own_non_finite(&mut problems, &names);
    }
    let mut accounts = Vec::new();
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
        let typed = Typed {
            origin: &origin,
            account: account.as_deref(),
            env_vars: &env_vars,
        };
        if let Some(raw) = typed.deserialize(table, &mut problems) {
            accounts.push(Account { name, raw });
        }
    }
    let mut file = ConfigFile {
        path: path.to_path_buf(),
        multi,
        accounts,
        names,
        env_keys: env_vars,
        problems,
        defaults,
    };
    file.problems.extend(shared_folders(&file));
    let mut seen = std::collections::HashSet::new();
    file.problems
        .retain(|p: &ConfigError| seen.insert(p.to_string()));
    Ok(file)
}

/// The accounts' tables of a parsed file, each with its name (`[defaults]` merged into every
/// account of a multi-account file), and the file's defaults.
fn account_tables(
    mut top: Map<String, Value>,
    path: &Path,
    origin: &str,
    problems: &mut Vec<ConfigError>,
) -> Result<(Vec<(String, Value)>, Value), ConfigError> {
    let mut tables: Vec<(String, Value)> = Vec::new();
    if !top.contains_key("accounts") {
        let mut merged = Value::Object(top);
        let name = merged
            .get("account")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| "account".into());
        if let Some(m) = merged.as_object_mut() {
            m.remove("name");
        }
        let file_defaults = merged.clone();
        tables.push((name, merged));
        return Ok((tables, file_defaults));
    }
    let defaults = top.remove("defaults").unwrap_or(Value::Object(Map::new()));
    let list = top.remove("accounts");
    problems.extend(top.keys().map(|k| stray_top_level(k, origin)));
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
    Ok((tables, defaults))
}

/// A NaN or infinity inside `[[accounts]]` number i is that account's problem (found before
/// the accounts were told apart, keyed `accounts[i].analysis.alpha`).
fn own_non_finite(problems: &mut [ConfigError], names: &[String]) {
    for p in problems.iter_mut() {
        let ConfigError::Invalid { account, key, .. } = p else {
            continue;
        };
        let Some(rest) = key.strip_prefix("accounts[") else {
            continue;
        };
        let Some((i, inner)) = rest.split_once("].") else {
            continue;
        };
        if let Some(name) = i.parse::<usize>().ok().and_then(|i| names.get(i)) {
            *account = Some(name.clone());
            *key = inner.to_string();
        }
    }
}

/// Accounts of one file that would share files: the same name (`--account` could not tell
/// them apart), or the same model store folder or sent-state files (their reports and weekly
/// memory would mix). Each is reported on the later account, naming the earlier one.
fn shared_folders(file: &ConfigFile) -> Vec<ConfigError> {
    let origin = file.path.display().to_string();
    let base = file.base_dir();
    let resolve = |p: &Option<PathBuf>, dflt: &str| {
        let p = p.clone().unwrap_or_else(|| PathBuf::from(dflt));
        if p.is_absolute() {
            p
        } else {
            base.join(p)
        }
    };
    let folders: Vec<(&str, PathBuf, PathBuf)> = file
        .accounts
        .iter()
        .map(|a| {
            let store = resolve(&a.raw.store.path, "models");
            let state = resolve(&a.raw.report.state_dir, "optsignal-state");
            (
                a.name.as_str(),
                crate::store::Store::new(&store, &a.name)
                    .dir()
                    .to_path_buf(),
                crate::fsutil::lock_path(&state, &a.name),
            )
        })
        .collect();
    let mut out = Vec::new();
    for (j, (name, store, state)) in folders.iter().enumerate() {
        let Some((earlier, e_store, e_state)) = folders[..j]
            .iter()
            .find(|(n, s, t)| n == name || s == store || t == state)
        else {
            continue;
        };
        let mut shared = Vec::new();
        if e_store == store {
            shared.push(format!("the model store folder {}", store.display()));
        }
        if e_state == state {
            let dir = state.parent().unwrap_or(Path::new(""));
            shared.push(format!("the sent-state files in {}", dir.display()));
        }
        let what = if shared.is_empty() {
            String::new()
        } else {
            format!(" and would share {}", shared.join(" and "))
        };
        let same = if earlier == name {
            format!("another account is also named {name:?}")
        } else {
            format!("account {earlier:?} has the same files")
        };
        out.push(ConfigError::Invalid {
            origin: origin.clone(),
            account: Some(name.to_string()),
            key: "name".into(),
            message: format!("{same}{what}: give every account its own name"),
        });
    }
    out
}

/// Everything `config check` finds in a file, in one pass: unknown keys, wrong types,
/// impossible values, event logs that do not exist and secrets that cannot be read — each
/// naming its origin (the file, or the environment variable) with the account and key.
pub fn check(path: &Path) -> Result<(ConfigFile, Vec<ConfigError>), ConfigError> {
    let mut file = load_file(path)?;
    let mut problems: Vec<ConfigError> = std::mem::take(&mut file.problems);
    let origin = path.display().to_string();
    let base = file.base_dir();
    for acc in &file.accounts {
        let account = file.multi.then_some(acc.name.as_str());
        if let Err(errs) = super::Settings::validate(&acc.raw, &origin, account, &base) {
            problems.extend(errs.into_iter().map(|e| file.blame(e)));
        }
        for (key, message) in unreadable(&acc.raw, &base) {
            problems.push(ConfigError::Invalid {
                origin: origin.clone(),
                account: account.map(String::from),
                key,
                message,
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| seen.insert(p.to_string()));
    Ok((file, problems))
}

/// Files and environment variables a config names that are not there: the event log (unless
/// the source is BigQuery or the GA4 Data API), key files and secrets by reference.
fn unreadable(raw: &RawConfig, base: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let kind = raw.source.kind.as_deref();
    if let (Some(p), false) = (
        &raw.source.path,
        matches!(kind, Some("bigquery" | "ga4_api")),
    ) {
        let full = resolve(p);
        let text = full.to_string_lossy();
        // A GA4 export may be a folder of shards or a pattern of them.
        let pattern = kind == Some("ga4_export") && (text.contains('*') || text.contains('?'));
        let there = p == Path::new("-") || full.exists() || pattern;
        if !there {
            out.push((
                "source.path".into(),
                format!(
                    "{} does not exist (paths are relative to the config file)",
                    full.display()
                ),
            ));
        }
    }
    let mut env = |key: &str, var: &Option<String>| {
        if let Some(v) = var {
            if std::env::var_os(v).is_none() {
                out.push((
                    key.to_string(),
                    format!("the environment variable {v} is not set"),
                ));
            }
        }
    };
    let email = raw.email.clone().unwrap_or_default();
    env("email.password_env", &email.password_env);
    env("email.username_env", &email.username_env);
    let meta = raw.meta.clone();
    env(
        "meta.access_token_env",
        &meta.as_ref().and_then(|m| m.access_token_env.clone()),
    );
    if let Some(g) = &raw.google_ads {
        env("google_ads.developer_token_env", &g.developer_token_env);
        env("google_ads.client_secret_env", &g.client_secret_env);
        env("google_ads.refresh_token_env", &g.refresh_token_env);
    }
    let mut files: Vec<(&str, Option<PathBuf>)> = vec![
        ("email.password_file", email.password_file.clone()),
        ("email.ca_file", email.ca_file.clone()),
        (
            "meta.access_token_file",
            meta.and_then(|m| m.access_token_file),
        ),
        (
            "ga4.key_file",
            raw.ga4.as_ref().and_then(|g| g.key_file.clone()),
        ),
        (
            "bigquery.key_file",
            raw.bigquery.as_ref().and_then(|b| b.key_file.clone()),
        ),
    ];
    if let Some(g) = &raw.google_ads {
        files.push((
            "google_ads.developer_token_file",
            g.developer_token_file.clone(),
        ));
        files.push((
            "google_ads.client_secret_file",
            g.client_secret_file.clone(),
        ));
        files.push((
            "google_ads.refresh_token_file",
            g.refresh_token_file.clone(),
        ));
    }
    if let Some(a) = &raw.alerts {
        out.extend(super::alerts::unreadable(a, base));
    }
    for (key, f) in files {
        if let Some(f) = f {
            let full = resolve(&f);
            if !full.is_file() {
                out.push((
                    key.to_string(),
                    format!("{} is not a readable file", full.display()),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
