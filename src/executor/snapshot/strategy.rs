//! A snapshot's strategy macro at run time, as dbt-core 1.10's snapshot
//! materialization uses it: `strategy_dispatch` finds
//! `snapshot_<name>_strategy` (a project's, a package's, or a project's
//! override of `snapshot_timestamp_strategy` / `snapshot_check_strategy`),
//! it is called with the node, `"snapshotted_data"`, `"source_data"`, the
//! node's config and whether the table exists, and the dict it returns
//! decides the key, the stamp, the hash, the change test and how deletes are
//! handled ([`Answer`]). dbt's own `timestamp` and `check`, not overridden,
//! need no call: `executor::snapshot` writes their SQL itself.
//!
//! Owns the call and the reading of its answer; never the SQL built from it.

use crate::nodes::snapshot::{HardDeletes, Key, Strategy};
use crate::nodes::Node;
use crate::template::relation::Relation;
use crate::template::{RenderCtx, Templates};
use minijinja::value::{Serde, Value, ValueKind};

/// What a strategy macro returned, as the snapshot SQL reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// `unique_key`: one expression, or a list compared one by one.
    pub unique_key: Key,
    /// `updated_at`: the expression versions are stamped with.
    pub updated_at: String,
    /// `row_changed`: true when a current row and its source row differ.
    pub row_changed: String,
    /// `scd_id`: the expression a version's `dbt_scd_id` holds.
    pub scd_id: String,
    /// `hard_deletes`: dbt 1.10 reads only this key (not the older
    /// `invalidate_hard_deletes`); any value but `invalidate` or `new_record`
    /// leaves deleted rows as they are.
    pub hard_deletes: HardDeletes,
}

/// The snapshot's strategy macro's answer, or `None` when its strategy is
/// dbt's own `timestamp` or `check` and nothing overrides it. The error is
/// the node's (dbt's message for a strategy with no macro).
pub(in crate::executor) fn resolve(
    templates: &Templates,
    node: &Node,
    rc: &RenderCtx,
    sql: &str,
    target_exists: bool,
) -> Result<Option<Answer>, String> {
    let (name, own) = match &node.kind {
        crate::nodes::NodeKind::Snapshot { snapshot, .. } => match &snapshot.strategy {
            Strategy::Timestamp { .. } => ("timestamp", true),
            Strategy::Check { .. } => ("check", true),
            Strategy::Macro(name) => (name.as_str(), false),
        },
        _ => return Ok(None),
    };
    let (callee, builtin) = templates.snapshot_strategy_macro(name, Some(node.project()))?;
    // dbt's own strategies, not overridden: written in Rust, the same SQL.
    if own && builtin {
        return Ok(None);
    }
    let returned = templates.call_snapshot_strategy(callee, rc, node_value(node, &rc.this, sql), target_exists)?;
    Answer::read(&macro_name(name), &returned).map(Some)
}

/// The macro's name as messages show it: `pkg.snapshot_name_strategy`.
fn macro_name(strategy: &str) -> String {
    match strategy.split_once('.') {
        Some((ns, name)) => format!("{ns}.snapshot_{name}_strategy"),
        None => format!("snapshot_{strategy}_strategy"),
    }
}

/// dbt's `model` as a strategy macro reads it: the node's names, where it
/// is built, its config and its compiled SQL.
fn node_value(node: &Node, rel: &Relation, sql: &str) -> Value {
    let doc = serde_json::json!({
        "unique_id": node.id,
        "name": node.name,
        "resource_type": "snapshot",
        "package_name": node.project(),
        "original_file_path": node.original_file_path.display().to_string(),
        "fqn": node.fqn(),
        "database": rel.database,
        "schema": rel.schema,
        "alias": rel.identifier,
        "relation_name": rel.to_string(),
        "config": serde_json::to_value(&node.config).unwrap_or_default(),
        "tags": crate::config_tree::as_strings(node.config.get("tags")),
        "compiled_code": sql,
    });
    Value::from(Serde(doc))
}

impl Answer {
    /// Reads the dict macro `name` returned; a key the snapshot SQL needs
    /// and cannot have is an error naming it.
    pub(crate) fn read(name: &str, v: &Value) -> Result<Answer, String> {
        let shape = "(hint: return a dict with `unique_key`, `updated_at`, `row_changed`, `scd_id` and `hard_deletes`, as `{{ return({...}) }}`)";
        if v.kind() != ValueKind::Map {
            return Err(format!("snapshot strategy macro `{name}` returned no dict {shape}"));
        }
        let get = |key: &str| v.get_item(&Value::from(key)).ok().filter(|x| !x.is_undefined() && !x.is_none());
        let text = |key: &str| match get(key) {
            Some(x) if x.kind() == ValueKind::String || x.kind() == ValueKind::Number => Ok(x.to_string()),
            Some(x) => Err(format!("snapshot strategy macro `{name}` returned a `{key}` that is no SQL text: `{x}`")),
            None => Err(format!("snapshot strategy macro `{name}` returned no `{key}` {shape}")),
        };
        let unique_key = match get("unique_key") {
            Some(k) if k.kind() == ValueKind::Seq => {
                let keys: Vec<String> = k.try_iter().map_err(|e| e.to_string())?.map(|i| i.to_string()).collect();
                match keys.is_empty() {
                    true => return Err(format!("snapshot strategy macro `{name}` returned an empty `unique_key`")),
                    false => Key::Many(keys),
                }
            }
            Some(_) => Key::One(text("unique_key")?),
            None => return Err(format!("snapshot strategy macro `{name}` returned no `unique_key` {shape}")),
        };
        let hard_deletes = match get("hard_deletes").as_ref().and_then(Value::as_str) {
            Some("invalidate") => HardDeletes::Invalidate,
            Some("new_record") => HardDeletes::NewRecord,
            _ => HardDeletes::Ignore,
        };
        Ok(Answer {
            unique_key,
            updated_at: text("updated_at")?,
            row_changed: text("row_changed")?,
            scd_id: text("scd_id")?,
            hard_deletes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(pairs: Vec<(&str, Value)>) -> Result<Answer, String> {
        Answer::read("snapshot_x_strategy", &Value::from_pairs(pairs))
    }

    fn base() -> Vec<(&'static str, Value)> {
        vec![
            ("unique_key", Value::from("id")),
            ("updated_at", Value::from("u")),
            ("row_changed", Value::from("(a < b)")),
            ("scd_id", Value::from("md5(id)")),
        ]
    }

    #[test]
    fn the_dict_supplies_every_expression() {
        let mut pairs = base();
        pairs.push(("hard_deletes", Value::from("new_record")));
        let a = answer(pairs).expect("read");
        assert_eq!(
            a,
            Answer {
                unique_key: Key::One("id".into()),
                updated_at: "u".into(),
                row_changed: "(a < b)".into(),
                scd_id: "md5(id)".into(),
                hard_deletes: HardDeletes::NewRecord,
            }
        );
        let mut pairs = base();
        pairs[0].1 = Value::from(vec!["a", "b"]);
        assert_eq!(answer(pairs).expect("list").unique_key, Key::Many(vec!["a".into(), "b".into()]));
    }

    /// dbt 1.10's staging SQL reads only `hard_deletes`: a strategy written
    /// for older dbt (`invalidate_hard_deletes` alone) leaves deletes alone.
    #[test]
    fn only_hard_deletes_decides_how_deletes_are_handled() {
        let mut pairs = base();
        pairs.push(("invalidate_hard_deletes", Value::from(true)));
        assert_eq!(answer(pairs).expect("read").hard_deletes, HardDeletes::Ignore);
        for (given, want) in
            [("invalidate", HardDeletes::Invalidate), ("ignore", HardDeletes::Ignore), ("x", HardDeletes::Ignore)]
        {
            let mut pairs = base();
            pairs.push(("hard_deletes", Value::from(given)));
            assert_eq!(answer(pairs).expect("read").hard_deletes, want, "{given}");
        }
    }

    #[test]
    fn a_missing_expression_or_no_dict_is_named() {
        let e = Answer::read("snapshot_x_strategy", &Value::from("rendered text")).expect_err("no dict");
        assert!(e.contains("snapshot strategy macro `snapshot_x_strategy` returned no dict"), "{e}");
        for key in ["unique_key", "updated_at", "row_changed", "scd_id"] {
            let pairs: Vec<_> = base().into_iter().filter(|(k, _)| *k != key).collect();
            let e = answer(pairs).expect_err(key);
            assert!(e.contains(&format!("returned no `{key}`")), "{e}");
        }
        let mut pairs = base();
        pairs[1].1 = Value::from(());
        assert!(answer(pairs).expect_err("none").contains("returned no `updated_at`"));
        let mut pairs = base();
        pairs[0].1 = Value::from(Vec::<Value>::new());
        assert!(answer(pairs).expect_err("empty").contains("an empty `unique_key`"));
    }

    #[test]
    fn messages_name_the_macro_with_its_package() {
        assert_eq!(macro_name("version"), "snapshot_version_strategy");
        assert_eq!(macro_name("pkg.newest"), "pkg.snapshot_newest_strategy");
    }
}
