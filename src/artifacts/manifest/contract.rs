//! dbt's `contract.checksum` of a model whose contract is enforced
//! (dbt-core 1.10's `build_contract_checksum`, computed when its property
//! entry is parsed): the SHA-256 of one text holding, for every column of
//! the entry sorted by name, `|`, the name, its `data_type` and its
//! constraints; then, for a `table` or `incremental` model, the
//! materialization and the model-level constraints. `data_type` and the
//! constraint lists are as Python prints dbt's objects (`None`,
//! `[ColumnLevelConstraint(type=<ConstraintType.not_null: 'not_null'>, …)]`),
//! read from the same entries the manifest's `columns` and `constraints`
//! show. A model without an enforced contract, or without a property
//! entry (dbt computes it while patching one), has none. Owns only that text.

use crate::data_tests::naming::py_repr_str;
use crate::nodes::{Materialized, Node, NodeKind};
use crate::project::NodeProps;
use serde_json::Value;

/// A constraint entry (as `manifest_constraints` gives it) as Python's
/// `repr` of dbt's dataclass prints it: its fields in declaration order.
fn constraint_repr(c: &Value, model_level: bool) -> String {
    let fields: &[&str] = &["name", "expression", "warn_unenforced", "warn_unsupported", "to", "to_columns", "columns"];
    let kind = c["type"].as_str().unwrap_or_default();
    let mut parts = vec![format!("type=<ConstraintType.{kind}: {}>", py_repr_str(kind))];
    for f in fields.iter().filter(|f| model_level || **f != "columns") {
        parts.push(format!("{f}={}", py_repr(&c[*f])));
    }
    let class = if model_level { "ModelLevelConstraint" } else { "ColumnLevelConstraint" };
    format!("{class}({})", parts.join(", "))
}

/// Python's `repr` of a JSON scalar or list of strings.
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => py_repr_str(s),
        Value::Array(items) => format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn constraints_repr(list: &Value, model_level: bool) -> String {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    format!("[{}]", items.iter().map(|c| constraint_repr(c, model_level)).collect::<Vec<_>>().join(", "))
}

/// The text dbt hashes for `node`'s contract; `None` when dbt computes none.
pub(super) fn state(node: &Node, props: Option<&NodeProps>) -> Option<String> {
    let NodeKind::Model { materialized, .. } = &node.kind else { return None };
    let props = props?;
    let (enforced, _) = crate::nodes::contract::contract_config(&node.config).ok()?;
    if !enforced {
        return None;
    }
    let mut columns: Vec<&String> = props.columns.iter().collect();
    columns.sort();
    let mut text = String::new();
    for name in columns {
        let declared = props.column_props.iter().find(|d| &d.name == name);
        let data_type = declared.and_then(|d| d.data_type.as_deref()).unwrap_or("None");
        let constraints =
            crate::nodes::contract::manifest_constraints(declared.and_then(|d| d.constraints.as_ref()), false);
        text.push_str(&format!("|{name}{data_type}{}", constraints_repr(&constraints, false)));
    }
    if matches!(materialized, Materialized::Table | Materialized::Incremental) {
        let model = crate::nodes::contract::manifest_constraints(props.constraints.as_ref().map(|(c, _)| c), true);
        text.push_str(&format!("{}{}", materialized.as_str(), constraints_repr(&model, true)));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(yaml: &str, model_level: bool) -> Value {
        let raw: serde_yaml::Value = serde_yaml::from_str(yaml).expect("yaml");
        crate::nodes::contract::manifest_constraints(Some(&raw), model_level)
    }

    #[test]
    fn constraints_print_as_pythons_repr_of_dbts_objects() {
        let column =
            entries(r#"[{type: not_null}, {type: check, expression: "it's > 0", warn_unenforced: false}]"#, false);
        assert_eq!(
            constraints_repr(&column, false),
            "[ColumnLevelConstraint(type=<ConstraintType.not_null: 'not_null'>, name=None, expression=None, \
             warn_unenforced=True, warn_unsupported=True, to=None, to_columns=[]), \
             ColumnLevelConstraint(type=<ConstraintType.check: 'check'>, name=None, expression=\"it's > 0\", \
             warn_unenforced=False, warn_unsupported=True, to=None, to_columns=[])]"
        );
        let model = entries("[{type: foreign_key, columns: [a], to: \"ref('p')\", to_columns: [id]}]", true);
        assert_eq!(
            constraints_repr(&model, true),
            "[ModelLevelConstraint(type=<ConstraintType.foreign_key: 'foreign_key'>, name=None, expression=None, \
             warn_unenforced=True, warn_unsupported=True, to=\"ref('p')\", to_columns=['id'], columns=['a'])]"
        );
        assert_eq!(constraints_repr(&Value::Array(Vec::new()), true), "[]");
    }
}
