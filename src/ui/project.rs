//! The project page, what `dbt docs` shows: every model, seed, snapshot,
//! source, data test and unit test from `target/manifest.json` (written by
//! every command that plans), and one node's description, columns, config,
//! SQL, parents and children; for a unit test, its model and its `given`,
//! `expect` and `overrides` as the property file states them.
//!
//! Reads the manifest it is given (and compiled SQL inside the project);
//! never plans, renders or opens the database.

use super::data::compiled_sql;
use super::http::encode;
use serde_json::{json, Value};
use std::path::Path;

fn href(id: &str) -> String {
    format!("/project/{}", encode(id))
}

fn ids(v: &Value) -> Vec<Value> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(|id| json!({"id": id, "href": href(id)})).collect())
        .unwrap_or_default()
}

/// The groups of the node list, in the order `dbt docs` shows them, with
/// their headings.
const KINDS: &[(&str, &str)] = &[
    ("model", "models"),
    ("seed", "seeds"),
    ("snapshot", "snapshots"),
    ("source", "sources"),
    ("test", "data tests"),
    ("unit_test", "unit tests"),
];

/// Every entry of the manifest's `nodes`, `sources` and `unit_tests`.
fn entries(m: &Value) -> impl Iterator<Item = (&String, &Value)> {
    ["nodes", "sources", "unit_tests"].into_iter().flat_map(move |k| m[k].as_object().into_iter().flatten())
}

/// A value as YAML, as property files write it (`given`, `expect`).
fn yaml(v: &Value) -> Option<String> {
    if v.is_null() {
        return None;
    }
    serde_yaml::to_string(v).ok()
}

/// Every node by resource type, and the chosen node's details.
pub(crate) fn context(project_dir: &Path, manifest: Option<&Value>, node: Option<&str>) -> Value {
    let Some(m) = manifest else {
        return json!({"missing": true, "groups": [], "node": null});
    };
    let mut groups: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for (id, e) in entries(m) {
        let kind = e["resource_type"].as_str().unwrap_or("other").to_string();
        // A unit test is shown with its model, the others with how they are built.
        let what = if kind == "unit_test" { &e["model"] } else { &e["config"]["materialized"] };
        groups.entry(kind).or_default().push(json!({
            "id": id,
            "name": e["name"],
            "href": href(id),
            "description": e["description"],
            "materialized": what,
        }));
    }
    let order = |kind: &str| KINDS.iter().position(|(k, _)| *k == kind).unwrap_or(KINDS.len());
    let mut groups: Vec<(String, Vec<Value>)> = groups.into_iter().collect();
    groups.sort_by_key(|(kind, _)| order(kind));
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(kind, nodes)| {
            let title = KINDS.iter().find(|(k, _)| *k == kind).map_or(format!("{kind}s"), |(_, t)| t.to_string());
            json!({"kind": kind, "title": title, "nodes": nodes})
        })
        .collect();
    let detail = node.and_then(|id| {
        let e = entries(m).find(|(k, _)| k.as_str() == id).map(|(_, e)| e)?;
        let columns: Vec<Value> = e["columns"]
            .as_object()
            .map(|c| {
                c.values()
                    .map(|c| json!({"name": c["name"], "description": c["description"], "data_type": c["data_type"]}))
                    .collect()
            })
            .unwrap_or_default();
        let unit = e["resource_type"] == "unit_test";
        // A unit test's model is its parent; its data is what it states.
        let cases = unit.then(|| {
            json!({
                "model": e["model"],
                "given": yaml(&e["given"]),
                "expect": yaml(&e["expect"]),
                "overrides": yaml(&e["overrides"]),
            })
        });
        Some(json!({
            "id": id,
            "name": e["name"],
            "resource_type": e["resource_type"],
            "description": e["description"],
            "file": e["original_file_path"],
            "relation": e["relation_name"],
            "columns": columns,
            "config": serde_json::to_string_pretty(&e["config"]).unwrap_or_default(),
            "raw_code": e["raw_code"].as_str().filter(|s| !s.is_empty()),
            "compiled": if unit { None } else { compiled_sql(project_dir, e) },
            "unit": cases,
            "parents": ids(&m["parent_map"][id]),
            "children": ids(&m["child_map"][id]),
        }))
    });
    json!({"missing": false, "groups": groups, "node": detail})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Value {
        json!({
            "nodes": {
                "model.p.orders": {"resource_type": "model", "name": "orders", "description": "",
                    "config": {"materialized": "table"}, "raw_code": "select 1", "original_file_path": "models/orders.sql"},
                "snapshot.p.snap_orders": {"resource_type": "snapshot", "name": "snap_orders",
                    "description": "orders through time", "config": {"materialized": "snapshot", "strategy": "check"},
                    "raw_code": "{% snapshot snap_orders %}select 1{% endsnapshot %}",
                    "columns": {"id": {"name": "id", "description": "the order id", "data_type": null}}},
            },
            "sources": {},
            "unit_tests": {
                "unit_test.p.orders.orders_add_up": {"resource_type": "unit_test", "name": "orders_add_up",
                    "model": "orders", "description": "totals add up", "config": {"tags": ["unit"]},
                    "given": [{"input": "ref('raw')", "format": "dict", "rows": [{"id": 1}]}],
                    "expect": {"format": "dict", "rows": [{"id": 1}]}, "overrides": null},
            },
            "parent_map": {"unit_test.p.orders.orders_add_up": ["model.p.orders"]},
            "child_map": {"model.p.orders": ["unit_test.p.orders.orders_add_up"]},
        })
    }

    #[test]
    fn snapshots_and_unit_tests_are_listed_in_dbt_docs_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = context(dir.path(), Some(&manifest()), None);
        let titles: Vec<&str> =
            ctx["groups"].as_array().expect("groups").iter().filter_map(|g| g["title"].as_str()).collect();
        assert_eq!(titles, ["models", "snapshots", "unit tests"]);
        assert_eq!(ctx["groups"][2]["nodes"][0]["materialized"], "orders", "a unit test shows its model");
    }

    #[test]
    fn a_unit_test_shows_its_model_inputs_and_expected_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = context(dir.path(), Some(&manifest()), Some("unit_test.p.orders.orders_add_up"));
        let n = &ctx["node"];
        assert_eq!(
            (n["resource_type"].as_str(), n["description"].as_str()),
            (Some("unit_test"), Some("totals add up"))
        );
        assert_eq!(n["unit"]["model"], "orders");
        assert_eq!(n["unit"]["given"], "- format: dict\n  input: ref('raw')\n  rows:\n  - id: 1\n");
        assert_eq!(n["unit"]["expect"], "format: dict\nrows:\n- id: 1\n");
        assert!(n["unit"]["overrides"].is_null());
        assert_eq!(n["parents"][0]["id"], "model.p.orders");
        assert!(n["config"].as_str().is_some_and(|c| c.contains("\"unit\"")));
        let snap = context(dir.path(), Some(&manifest()), Some("snapshot.p.snap_orders"));
        assert_eq!(snap["node"]["raw_code"], "{% snapshot snap_orders %}select 1{% endsnapshot %}");
        assert_eq!(snap["node"]["columns"][0]["description"], "the order id");
        assert!(snap["node"]["unit"].is_null());
    }
}
