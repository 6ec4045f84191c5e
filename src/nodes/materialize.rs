//! Materialization configs of models: `materialized`, and for incremental
//! models `incremental_strategy`, `unique_key`, `on_schema_change`,
//! `merge_update_columns` / `merge_exclude_columns`, `incremental_predicates`;
//! `full_refresh` and `sql_header` (see [`super::header`]) for any node; external models' settings are checked by [`super::external`]. Parsed once at plan time (bad values are load errors, exit 2) and
//! again by the executor from the same merged config. Also folds ephemeral
//! models out of the plan, keeping them and the edges as written aside.
//! Pure: no I/O, no SQL.

use super::{Ephemerals, Node, NodeKind, Planner};
// An incremental model's settings are typed in `crate::strategy`, whose SQL
// they drive; reading them from a config (`Incremental::from_config`) is here.
use crate::config_tree::{as_strings, ConfigMap};
use crate::diag::Diagnostic;
use crate::project::{Project, SqlFile};
pub use crate::strategy::{Incremental, OnSchemaChange, Strategy, UniqueKey};
use crate::template::Recorded;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Materialized {
    View,
    Table,
    Incremental,
    /// Never built: inlined as a CTE into every query that refs it.
    Ephemeral,
    /// dbt-duckdb's: the rows written to a file, the relation a view reading
    /// it back (see [`super::external`]).
    External,
}

impl Materialized {
    pub fn parse(s: &str) -> Option<Materialized> {
        Some(match s {
            "view" => Materialized::View,
            "table" => Materialized::Table,
            "incremental" => Materialized::Incremental,
            "ephemeral" => Materialized::Ephemeral,
            "external" => Materialized::External,
            _ => return None,
        })
    }

    /// dbt's name, as console lines and artifacts print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Materialized::View => "view",
            Materialized::Table => "table",
            Materialized::Incremental => "incremental",
            Materialized::Ephemeral => "ephemeral",
            Materialized::External => "external",
        }
    }
}

/// A bad config value: the key (to locate it) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

pub(super) fn bad(key: &'static str, message: String, hint: &str) -> ConfigError {
    ConfigError { key, message, hint: (!hint.is_empty()).then(|| hint.to_string()) }
}

fn string_list(cfg: &ConfigMap, key: &'static str) -> Result<Option<Vec<String>>, ConfigError> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ (Value::String(_) | Value::Sequence(_))) => Ok(Some(as_strings(Some(v)))),
        Some(_) => Err(bad(key, format!("`{key}` must be a list of column names"), "")),
    }
}

impl Incremental {
    /// `strategy` on `unique_key`, every other setting dbt's default (tests).
    #[cfg(test)]
    pub(crate) fn plain(strategy: Strategy, unique_key: UniqueKey) -> Incremental {
        Incremental {
            strategy,
            unique_key,
            on_schema_change: OnSchemaChange::Ignore,
            merge_update_columns: None,
            merge_exclude_columns: None,
            predicates: None,
        }
    }

    /// The incremental settings of a model's merged config.
    pub fn from_config(cfg: &ConfigMap) -> Result<Incremental, ConfigError> {
        let strategy = match cfg.get("incremental_strategy") {
            None | Some(Value::Null) => Strategy::DeleteInsert,
            Some(Value::String(s)) => {
                match s.as_str() {
                    "delete+insert" | "default" => Strategy::DeleteInsert,
                    "append" => Strategy::Append,
                    "merge" => Strategy::Merge,
                    other if other.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !other.is_empty() => {
                        Strategy::Custom(other.to_string())
                    }
                    other => return Err(bad(
                        "incremental_strategy",
                        format!("incremental strategy `{other}` cannot name a macro `get_incremental_{other}_sql`"),
                        "use `delete+insert` (the default), `append`, `merge`, or the name of your own strategy macro",
                    )),
                }
            }
            Some(_) => return Err(bad("incremental_strategy", "`incremental_strategy` must be a string".into(), "")),
        };
        let unique_key = match cfg.get("unique_key") {
            None | Some(Value::Null) => UniqueKey::None,
            Some(Value::String(s)) if s.trim().is_empty() => UniqueKey::None,
            Some(Value::String(s)) => UniqueKey::One(s.clone()),
            Some(Value::Sequence(items)) => {
                let keys: Option<Vec<String>> = items.iter().map(|i| i.as_str().map(str::to_string)).collect();
                match keys {
                    Some(k) if k.is_empty() => UniqueKey::None,
                    Some(k) => UniqueKey::Many(k),
                    None => return Err(unique_key_error()),
                }
            }
            Some(_) => return Err(unique_key_error()),
        };
        // dbt logs an unknown value and falls back to `ignore`; so do we.
        let on_schema_change = match cfg.get("on_schema_change").and_then(Value::as_str) {
            Some("append_new_columns") => OnSchemaChange::AppendNewColumns,
            Some("sync_all_columns") => OnSchemaChange::SyncAllColumns,
            Some("fail") => OnSchemaChange::Fail,
            _ => OnSchemaChange::Ignore,
        };
        let merge_update_columns = string_list(cfg, "merge_update_columns")?;
        let merge_exclude_columns = string_list(cfg, "merge_exclude_columns")?;
        if merge_update_columns.is_some() && merge_exclude_columns.is_some() {
            return Err(bad(
                "merge_exclude_columns",
                "`merge_update_columns` and `merge_exclude_columns` cannot both be set".into(),
                "keep one of them",
            ));
        }
        let predicates = super::header::predicates(cfg)?;
        Ok(Incremental {
            strategy,
            unique_key,
            on_schema_change,
            merge_update_columns,
            merge_exclude_columns,
            predicates,
        })
    }
}

fn unique_key_error() -> ConfigError {
    bad("unique_key", "`unique_key` must be a column name or a list of column names".into(), "")
}

/// The `full_refresh` config: `Some` overrides the `--full-refresh` flag for this node.
pub fn full_refresh(cfg: &ConfigMap) -> Result<Option<bool>, ConfigError> {
    match cfg.get("full_refresh") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad("full_refresh", "`full_refresh` must be `true` or `false`".into(), "")),
    }
}

/// Replaces every ephemeral id in `deps` by what that ephemeral depends on,
/// through chains of ephemerals.
fn fold(deps: &BTreeSet<String>, ephemeral: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&String> = deps.iter().collect();
    while let Some(d) = todo.pop() {
        match ephemeral.get(d) {
            Some(inner) => {
                if seen.insert(d) {
                    todo.extend(inner.iter());
                }
            }
            None => {
                out.insert(d.clone());
            }
        }
    }
    out
}

/// dbt's "is not of type 'boolean'" for an `enabled` set by a node's own
/// `config()` call (YAML values are checked as they load, `project::render`).
pub(super) fn call_enabled(call: &std::collections::BTreeMap<String, Value>) -> Option<String> {
    match call.get("enabled")? {
        Value::Bool(_) => None,
        Value::String(s) => Some(format!("`enabled` is `{s}` (text), not a boolean")),
        other => Some(format!("`enabled` is `{}`, not a boolean", super::yaml_scalar(other))),
    }
}

/// The hint of [`call_enabled`]'s error.
pub(super) const ENABLED_HINT: &str = "write `enabled=true` or `enabled=false`, without quotes";

/// The file (and line) a config key came from: the model's own `config()`,
/// its property YAML, or `dbt_project.yml`.
pub(super) fn config_origin(project: &Project, key: &str, m: &SqlFile, rec: &Recorded) -> (PathBuf, Option<usize>) {
    if rec.config.contains_key(key) {
        return (m.path.clone(), crate::config::find_line(&m.text, key));
    }
    match project.model_props_of(&m.name) {
        Some(p) if p.config.contains_key(key) => (p.file.clone(), None),
        _ => (PathBuf::from("dbt_project.yml"), None),
    }
}

/// A model's materialization parameters, decided once at plan time: what
/// an incremental or external model is built with. The executor reads these,
/// never the raw config map.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSettings {
    /// A view, table or ephemeral model (or a Python model's table): nothing more.
    Plain,
    Incremental(Box<Incremental>),
    External(Box<super::external::External>),
}

/// A model's materialization with its configs checked and its parameters
/// typed, or the error pointing at where the bad key was set. Pure, so
/// models are checked on every core.
pub(super) fn materialization(
    project: &Project,
    m: &SqlFile,
    rec: &Recorded,
    cfg: &ConfigMap,
) -> Result<(Materialized, ModelSettings), Diagnostic> {
    let checked = checked_materialization(cfg);
    checked.map_err(|e| {
        let (file, line) = config_origin(project, e.key, m, rec);
        let d = Diagnostic::in_file(file, format!("model `{}`: {}", m.name, e.message)).at(line, None);
        match e.hint {
            Some(h) => d.hint(h),
            None => d,
        }
    })
}

/// A model's `pre-hook` / `post-hook`, or the error pointing at where the bad
/// one was set.
pub(super) fn hooks(
    project: &Project,
    m: &SqlFile,
    rec: &Recorded,
    cfg: &mut ConfigMap,
) -> Result<crate::hooks::NodeHooks, Diagnostic> {
    crate::hooks::node_hooks(cfg).map_err(|(key, message)| {
        // `config(pre_hook=…)` records the key as written.
        let written = if rec.config.contains_key(key) { key } else { &key.replace('-', "_") };
        let (file, line) = config_origin(project, written, m, rec);
        Diagnostic::in_file(file, format!("model `{}`: {message}", m.name))
            .at(line, None)
            .hint("a hook is SQL text, or a map with `sql` and `transaction: false`")
    })
}

fn checked_materialization(cfg: &ConfigMap) -> Result<(Materialized, ModelSettings), ConfigError> {
    let name = match cfg.get("materialized") {
        None | Some(Value::Null) => "view",
        Some(v) => v.as_str().unwrap_or(""),
    };
    let Some(materialized) = Materialized::parse(name) else {
        let shown = cfg.get("materialized").map(super::yaml_scalar).unwrap_or_default();
        return Err(bad(
            "materialized",
            format!("unknown materialization `{shown}`"),
            "runner builds `view`, `table`, `incremental`, `ephemeral` and `external` models; a custom materialization (`{% materialization %}` in `macros/`) is not supported",
        ));
    };
    full_refresh(cfg)?;
    super::header::sql_header(cfg)?;
    let settings = match materialized {
        Materialized::Incremental => ModelSettings::Incremental(Box::new(Incremental::from_config(cfg)?)),
        Materialized::External => ModelSettings::External(Box::new(super::external::External::from_config(cfg)?)),
        _ => ModelSettings::Plain,
    };
    Ok((materialized, settings))
}

impl Planner<'_> {
    /// Takes ephemeral models out of the nodes: they never run, so whoever
    /// refs one depends on what the ephemeral depends on instead. Returns the
    /// ephemerals and the edges as written, for selection and the manifest.
    pub(super) fn fold_ephemerals(nodes: &mut Vec<Node>) -> Ephemerals {
        let is_ephemeral = |n: &Node| matches!(n.kind, NodeKind::Model { materialized: Materialized::Ephemeral, .. });
        let ephemeral: BTreeMap<String, BTreeSet<String>> =
            nodes.iter().filter(|n| is_ephemeral(n)).map(|n| (n.id.clone(), n.depends_on.clone())).collect();
        if ephemeral.is_empty() {
            return Ephemerals::default();
        }
        let (taken, kept): (Vec<Node>, Vec<Node>) = std::mem::take(nodes).into_iter().partition(is_ephemeral);
        *nodes = kept;
        let mut declared = BTreeMap::new();
        for n in nodes.iter_mut() {
            if n.depends_on.iter().any(|d| ephemeral.contains_key(d)) {
                let folded = fold(&n.depends_on, &ephemeral);
                declared.insert(n.id.clone(), std::mem::replace(&mut n.depends_on, folded));
            }
        }
        Ephemerals { nodes: taken, declared }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> ConfigMap {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    #[test]
    fn incremental_defaults_are_dbt_duckdbs() {
        let i = Incremental::from_config(&cfg("materialized: incremental")).expect("valid");
        assert_eq!(i.strategy, Strategy::DeleteInsert);
        assert_eq!(i.unique_key, UniqueKey::None);
        assert_eq!(i.on_schema_change, OnSchemaChange::Ignore);
    }

    #[test]
    fn strategies_keys_and_schema_modes_parse() {
        let i = Incremental::from_config(&cfg(
            "incremental_strategy: merge\nunique_key: [a, b]\non_schema_change: sync_all_columns\nmerge_exclude_columns: [c]",
        ))
        .expect("valid");
        assert_eq!(i.strategy, Strategy::Merge);
        assert_eq!(i.unique_key, UniqueKey::Many(vec!["a".into(), "b".into()]));
        assert_eq!(i.on_schema_change, OnSchemaChange::SyncAllColumns);
        assert_eq!(i.merge_exclude_columns, Some(vec!["c".to_string()]));
        let i = Incremental::from_config(&cfg("incremental_strategy: append\nunique_key: id\non_schema_change: fail"))
            .expect("valid");
        assert_eq!(
            (i.strategy, i.unique_key, i.on_schema_change),
            (Strategy::Append, UniqueKey::One("id".into()), OnSchemaChange::Fail)
        );
        // An empty key is no key; an unknown mode is dbt's `ignore`.
        let i = Incremental::from_config(&cfg("unique_key: []\non_schema_change: sometimes")).expect("valid");
        assert_eq!((i.unique_key, i.on_schema_change), (UniqueKey::None, OnSchemaChange::Ignore));
    }

    #[test]
    fn bad_incremental_configs_name_their_key() {
        let custom = Incremental::from_config(&cfg("incremental_strategy: upsert")).expect("a custom strategy");
        assert_eq!(custom.strategy, Strategy::Custom("upsert".into()));
        let e = Incremental::from_config(&cfg("incremental_strategy: up sert")).expect_err("not a macro name");
        assert_eq!(e.key, "incremental_strategy");
        assert!(e.message.contains("`up sert`"), "{}", e.message);
        assert_eq!(Incremental::from_config(&cfg("unique_key: {a: 1}")).expect_err("map").key, "unique_key");
        assert_eq!(Incremental::from_config(&cfg("unique_key: [a, 3]")).expect_err("number").key, "unique_key");
        let both = cfg("merge_update_columns: [a]\nmerge_exclude_columns: [b]");
        assert_eq!(Incremental::from_config(&both).expect_err("both").key, "merge_exclude_columns");
    }

    #[test]
    fn full_refresh_config_overrides_only_when_set() {
        assert_eq!(full_refresh(&cfg("a: 1")), Ok(None));
        assert_eq!(full_refresh(&cfg("full_refresh: false")), Ok(Some(false)));
        assert_eq!(full_refresh(&cfg("full_refresh: nope")).map_err(|e| e.key), Err("full_refresh"));
    }

    #[test]
    fn a_models_parameters_are_typed_once_at_plan_time() {
        let (m, s) = checked_materialization(&cfg("materialized: incremental\nunique_key: id")).expect("valid");
        assert_eq!(m, Materialized::Incremental);
        let expected = Incremental::from_config(&cfg("unique_key: id")).expect("valid");
        assert!(matches!(&s, ModelSettings::Incremental(i) if **i == expected), "{s:?}");
        let (_, s) = checked_materialization(&cfg("materialized: table")).expect("valid");
        assert_eq!(s, ModelSettings::Plain);
        assert!(checked_materialization(&cfg("materialized: incremental\nunique_key: {a: 1}")).is_err());
    }

    #[test]
    fn materializations_parse_by_dbt_name() {
        for m in [
            Materialized::View,
            Materialized::Table,
            Materialized::Incremental,
            Materialized::Ephemeral,
            Materialized::External,
        ] {
            assert_eq!(Materialized::parse(m.as_str()), Some(m));
        }
        assert_eq!(Materialized::parse("materialized_view"), None);
        assert_eq!(Materialized::parse("Table"), None);
    }

    #[test]
    fn folding_goes_through_chains_of_ephemerals() {
        let set = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
        let eph = BTreeMap::from([("e1".to_string(), set(&["seed"])), ("e2".to_string(), set(&["e1", "t"]))]);
        assert_eq!(fold(&set(&["e2", "u"]), &eph), set(&["seed", "t", "u"]));
        assert_eq!(fold(&set(&["e1"]), &BTreeMap::from([("e1".to_string(), set(&[]))])), set(&[]));
    }
}
