//! A unit test's entry in the manifest's `unit_tests` section, with the
//! fields of dbt-core 1.10's `UnitTestDefinition`: the model, `given` and
//! `expect` as declared (csv rows read into mappings, as dbt stores them),
//! `overrides`, `config` (`tags`, `meta`, `enabled`), `depends_on` the model.
//! Builds JSON from the plan; reads nothing.

use super::Inputs;
use crate::nodes::{Node, NodeKind};
use crate::unit_tests::{Cell, Format, Rows, VersionChoice};
use serde_json::{json, Map, Value};

fn cell(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Text(t) => Value::String(t.clone()),
        Cell::Literal(l) => match l.as_str() {
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            _ => serde_json::from_str(l).unwrap_or_else(|_| Value::String(l.clone())),
        },
    }
}

/// `rows`, `format` and `fixture` of a `given` or `expect` entry.
fn fixture(rows: &Rows, declared_format: Format) -> (Value, &'static str, Value) {
    match rows {
        Rows::Given(rows) => {
            let list =
                rows.iter().map(|r| Value::Object(r.iter().map(|(k, c)| (k.clone(), cell(c))).collect())).collect();
            (Value::Array(list), declared_format.as_str(), Value::Null)
        }
        Rows::Sql(text) => (Value::String(text.clone()), "sql", Value::Null),
        Rows::Fixture { name, format } => (Value::Null, format.as_str(), Value::String(name.clone())),
        Rows::Seed => (Value::Null, "dict", Value::Null),
    }
}

/// The entry of unit test `node`.
pub(super) fn entry(node: &Node, inputs: &Inputs) -> Value {
    let NodeKind::UnitTest(ut) = &node.kind else { return Value::Null };
    let given: Vec<Value> = ut
        .given
        .iter()
        .map(|g| {
            let (rows, format, fixture_name) = fixture(&g.rows, g.format);
            json!({"input": g.written, "rows": rows, "format": format, "fixture": fixture_name})
        })
        .collect();
    let (rows, format, fixture_name) = fixture(&ut.expect_rows, ut.expect_format);
    let o = &ut.overrides;
    let to_json = |m: &std::collections::BTreeMap<String, serde_yaml::Value>| -> Map<String, Value> {
        m.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null))).collect()
    };
    let overrides = (!o.macros.is_empty() || !o.vars.is_empty() || !o.env_vars.is_empty()).then(|| {
        json!({
            "macros": to_json(&o.macros),
            "vars": to_json(&o.vars),
            "env_vars": o.env_vars,
        })
    });
    let tags = crate::config_tree::as_strings(node.config.get("tags"));
    let meta = node.config.get("meta").map(|m| serde_json::to_value(m).unwrap_or(Value::Null)).unwrap_or(json!({}));
    let file = node.original_file_path.display().to_string();
    let path: std::path::PathBuf = node.original_file_path.iter().skip(1).collect();
    let checksum = {
        use md5::{Digest, Md5};
        let text = format!("{given:?}{rows:?}{overrides:?}");
        Md5::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    json!({
        "model": ut.model_name,
        "given": given,
        "expect": {"rows": rows, "format": format, "fixture": fixture_name},
        "name": node.name,
        "resource_type": "unit_test",
        "package_name": node.project(),
        "path": path.display().to_string(),
        "original_file_path": file,
        "unique_id": node.id,
        "fqn": node.fqn(),
        "description": ut.description,
        "overrides": overrides,
        "depends_on": {"macros": [], "nodes": [ut.model_id]},
        "config": {"tags": tags, "meta": meta, "enabled": true},
        "checksum": checksum,
        "schema": ut.model_relation.schema,
        "created_at": inputs.started_at.timestamp_micros() as f64 / 1e6,
        "versions": ut.versions.as_ref().map(|c| {
            let list = |l: &[crate::project::versions::Version]| l.iter().map(|v| v.json.clone()).collect::<Vec<_>>();
            match c {
                VersionChoice::Include(l) => json!({"include": list(l), "exclude": null}),
                VersionChoice::Exclude(l) => json!({"include": null, "exclude": list(l)}),
            }
        }),
        "version": node.version.as_ref().map(|v| v.v.json.clone()),
    })
}
