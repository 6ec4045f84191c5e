//! Hooks as dbt-core 1.10 declares them: `pre-hook` / `post-hook` on seeds and
//! models, `on-run-start` / `on-run-end` in the root project's and every
//! package's `dbt_project.yml`.
//!
//! Owns the typed shape of a hook (its SQL template and whether it runs inside
//! the node's transaction), how the written forms decode into it (a string, a
//! `{sql, transaction}` map, or the JSON text dbt's `before_begin()` /
//! `after_commit()` return), their config keys (`pre-hook`, `post_hook`, …),
//! and the names dbt gives run hooks in the console and `run_results.json`.
//! Pure and low: it renders nothing, runs nothing and imports nothing of the
//! crate (`config_tree` merges hook keys with it; `project` reads run hooks
//! with it and orders them across packages in `Project::run_hooks`); the
//! planner decides hooks once, the executor runs them.

use serde_yaml::Value;
use std::collections::BTreeMap;

/// One hook: SQL still to be rendered (dbt renders it right before running
/// it, in the node's context), and whether it runs inside the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub sql: String,
    pub transaction: bool,
}

/// A seed's or model's hooks in dbt's order: every level's, appended
/// (`dbt_project.yml` from the project down to the folder, then property
/// YAML, then `config()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeHooks {
    pub pre: Vec<Hook>,
    pub post: Vec<Hook>,
}

impl NodeHooks {
    pub fn is_empty(&self) -> bool {
        self.pre.is_empty() && self.post.is_empty()
    }

    /// Pre-hooks that run before the transaction begins (`transaction: false`).
    pub fn before_begin(&self) -> impl Iterator<Item = &Hook> {
        self.pre.iter().filter(|h| !h.transaction)
    }

    /// Pre-hooks inside the transaction, before the build.
    pub fn pre_in_transaction(&self) -> impl Iterator<Item = &Hook> {
        self.pre.iter().filter(|h| h.transaction)
    }

    /// Post-hooks inside the transaction, after the build.
    pub fn post_in_transaction(&self) -> impl Iterator<Item = &Hook> {
        self.post.iter().filter(|h| h.transaction)
    }

    /// Post-hooks that run after the commit (`transaction: false`).
    pub fn after_commit(&self) -> impl Iterator<Item = &Hook> {
        self.post.iter().filter(|h| !h.transaction)
    }
}

/// The config keys of node hooks, as `config_tree` stores them once merged.
pub const PRE: &str = "pre-hook";
pub const POST: &str = "post-hook";

/// dbt's spelling of a hook key: `config(pre_hook=…)` and `pre-hook:` are one key.
pub fn canonical_key(key: &str) -> &str {
    match key {
        "pre_hook" => PRE,
        "post_hook" => POST,
        other => other,
    }
}

/// A hook value written as one item or a list, as a list.
pub fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Null => Vec::new(),
        Value::Sequence(items) => items.clone(),
        one => vec![one.clone()],
    }
}

/// One written hook. A string that is a JSON object with `sql` (what
/// `before_begin()` and `after_commit()` return) is that object, as dbt's
/// `get_hook_dict` reads it; any other string is SQL run in the transaction.
pub fn decode(v: &Value) -> Result<Hook, String> {
    match v {
        Value::String(s) => Ok(from_json(s).unwrap_or_else(|| Hook { sql: s.clone(), transaction: true })),
        Value::Mapping(m) => {
            let mut sql = None;
            let mut transaction = true;
            for (k, val) in m {
                match (k.as_str(), val) {
                    (Some("sql"), Value::String(s)) => sql = Some(s.clone()),
                    (Some("sql"), _) => return Err("a hook's `sql` must be a string".into()),
                    (Some("transaction"), Value::Bool(b)) => transaction = *b,
                    (Some("transaction"), _) => return Err("a hook's `transaction` must be `true` or `false`".into()),
                    // dbt's manifest writes `index`; a config copied from it carries one.
                    (Some("index"), _) => {}
                    (Some(other), _) => {
                        return Err(format!("unknown hook key `{other}` (a hook has `sql` and `transaction`)"))
                    }
                    (None, _) => return Err("a hook's keys are `sql` and `transaction`".into()),
                }
            }
            let sql = sql.ok_or("a hook given as a map needs `sql`")?;
            Ok(Hook { sql, transaction })
        }
        Value::Number(_) | Value::Bool(_) | Value::Sequence(_) | Value::Tagged(_) | Value::Null => {
            Err("a hook must be SQL text or a map with `sql` and `transaction`".into())
        }
    }
}

fn from_json(s: &str) -> Option<Hook> {
    let trimmed = s.trim();
    if !trimmed.starts_with('{') {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(trimmed).ok()?;
    let sql = v.get("sql")?.as_str()?.to_string();
    let transaction = match v.get("transaction") {
        None => true,
        Some(t) => t.as_bool()?,
    };
    Some(Hook { sql, transaction })
}

/// The hooks of a node's merged config, decided once at plan time. The
/// config keeps them in dbt's manifest shape (`{sql, transaction, index}`),
/// so `manifest.json` shows them as dbt does. The error names the key.
/// `cfg` is a `config_tree::ConfigMap` (spelt out: this module sits below it).
pub fn node_hooks(cfg: &mut BTreeMap<String, Value>) -> Result<NodeHooks, (&'static str, String)> {
    let mut out = NodeHooks::default();
    for (key, list) in [(PRE, &mut out.pre), (POST, &mut out.post)] {
        let Some(v) = cfg.get(key) else { continue };
        for item in as_list(v) {
            list.push(decode(&item).map_err(|e| (key, format!("`{key}`: {e}")))?);
        }
        let shown = list.iter().map(manifest_entry).collect();
        cfg.insert(key.to_string(), Value::Sequence(shown));
    }
    Ok(out)
}

fn manifest_entry(h: &Hook) -> Value {
    let mut m = serde_yaml::Mapping::new();
    m.insert("sql".into(), Value::String(h.sql.clone()));
    m.insert("transaction".into(), Value::Bool(h.transaction));
    m.insert("index".into(), Value::Null);
    Value::Mapping(m)
}

/// `on-run-start` or `on-run-end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Start,
    End,
}

impl Phase {
    pub fn key(self) -> &'static str {
        match self {
            Phase::Start => "on-run-start",
            Phase::End => "on-run-end",
        }
    }
}

/// One `on-run-start` / `on-run-end` entry of the root project's or a
/// package's `dbt_project.yml`: its SQL template, and the names dbt gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunHook {
    /// The project whose `dbt_project.yml` declares it: its unique id's
    /// package, and the package its macros are searched in first.
    pub project: String,
    pub phase: Phase,
    /// Position in its project's list, from 0.
    pub index: usize,
    pub sql: String,
}

impl RunHook {
    /// `operation.<project>.<project>-on-run-start-0`, as in `run_results.json`.
    pub fn unique_id(&self) -> String {
        format!("operation.{}.{}", self.project, self.node_name())
    }

    /// `<project>-on-run-start-0`: the operation's node name.
    pub fn node_name(&self) -> String {
        format!("{}-{}-{}", self.project, self.phase.key(), self.index)
    }

    /// `<project>.on-run-start.2`: how the console and messages name it.
    /// dbt numbers it by `position` in the whole phase (every project's
    /// hooks in run order, from 0), not by its index in its own list.
    pub fn label(&self, position: usize) -> String {
        format!("{}.{}.{}", self.project, self.phase.key(), position)
    }
}

/// The `on-run-start` and `on-run-end` hooks of the root project and its
/// packages in dbt's run order, and what a failing `on-run-start` does to the
/// nodes (`Project::run_hooks` builds it).
#[derive(Debug, Clone, Default)]
pub struct RunHooks {
    pub start: Vec<RunHook>,
    pub end: Vec<RunHook>,
    /// A failing `on-run-start` skips every node (dbt's
    /// `skip_nodes_if_on_run_start_fails`).
    pub skip_nodes_on_start_failure: bool,
}

impl RunHooks {
    pub fn is_empty(&self) -> bool {
        self.start.is_empty() && self.end.is_empty()
    }
}

/// `on-run-start` / `on-run-end` of `project` as written: one string or a
/// list of strings (dbt's project schema takes nothing else).
pub fn run_hooks(project: &str, phase: Phase, v: Option<&Value>) -> Result<Vec<RunHook>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    as_list(v)
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::String(sql) => Ok(RunHook { project: project.to_string(), phase, index, sql }),
            _ => Err(format!("`{}` entry {index} must be SQL text", phase.key())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_tree::ConfigMap;

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).expect("yaml")
    }

    #[test]
    fn strings_maps_and_helper_json_decode_as_dbt_reads_them() {
        assert_eq!(
            decode(&yaml("insert into t values (1)")),
            Ok(Hook { sql: "insert into t values (1)".into(), transaction: true })
        );
        assert_eq!(
            decode(&yaml("{sql: vacuum, transaction: false}")),
            Ok(Hook { sql: "vacuum".into(), transaction: false })
        );
        // What `before_begin('select 1')` renders to.
        let helper = Value::String(r#"{"sql": "select 1", "transaction": false}"#.into());
        assert_eq!(decode(&helper), Ok(Hook { sql: "select 1".into(), transaction: false }));
        // JSON without `sql` is SQL text (it will fail in DuckDB, as in dbt).
        let odd = Value::String(r#"{"a": 1}"#.into());
        assert_eq!(decode(&odd).map(|h| h.transaction), Ok(true));
        assert!(decode(&yaml("{transaction: false}")).is_err_and(|e| e.contains("needs `sql`")));
        assert!(decode(&yaml("{sql: x, when: later}")).is_err_and(|e| e.contains("`when`")));
        assert!(decode(&yaml("3")).is_err());
    }

    #[test]
    fn node_hooks_split_by_transaction_and_keep_dbt_manifest_shape() {
        let mut cfg: ConfigMap = serde_yaml::from_str(
            "pre-hook: [a, {sql: b, transaction: false}]\npost-hook: '{\"sql\": \"c\", \"transaction\": false}'",
        )
        .expect("yaml");
        let h = node_hooks(&mut cfg).expect("valid");
        let sqls = |it: &mut dyn Iterator<Item = &Hook>| it.map(|h| h.sql.clone()).collect::<Vec<_>>();
        assert_eq!(sqls(&mut h.before_begin()), vec!["b"]);
        assert_eq!(sqls(&mut h.pre_in_transaction()), vec!["a"]);
        assert_eq!(sqls(&mut h.after_commit()), vec!["c"]);
        assert_eq!(h.post_in_transaction().count(), 0);
        assert_eq!(
            cfg.get(PRE),
            Some(&yaml("[{sql: a, transaction: true, index: null}, {sql: b, transaction: false, index: null}]"))
        );
        let mut bad: ConfigMap = serde_yaml::from_str("post-hook: [[nested]]").expect("yaml");
        assert_eq!(node_hooks(&mut bad).map_err(|e| e.0), Err(POST));
    }

    #[test]
    fn run_hooks_take_a_string_or_a_list_and_are_named_as_dbt_names_them() {
        let one = run_hooks("shop", Phase::Start, Some(&yaml("create table a (x int)"))).expect("valid");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].unique_id(), "operation.shop.shop-on-run-start-0");
        assert_eq!(one[0].label(0), "shop.on-run-start.0");
        let two = run_hooks("p", Phase::End, Some(&yaml("[a, b]"))).expect("valid");
        assert_eq!(two[1].node_name(), "p-on-run-end-1");
        // The label counts the whole phase; the id its own list.
        assert_eq!(
            (two[1].label(4), two[1].unique_id()),
            ("p.on-run-end.4".into(), "operation.p.p-on-run-end-1".into())
        );
        assert!(run_hooks("p", Phase::End, Some(&yaml("[a, {sql: b}]"))).is_err_and(|e| e.contains("entry 1")));
        assert_eq!(run_hooks("p", Phase::Start, None), Ok(Vec::new()));
    }
}
