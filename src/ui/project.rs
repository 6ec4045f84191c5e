//! The project page, what `dbt docs` shows: every model, seed, test and
//! source from `target/manifest.json` (written by every command that plans),
//! and one node's description, columns, config, SQL, parents and children.
//!
//! Reads the manifest only (inside the project); never plans, renders or
//! opens the database.

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

/// Every node by resource type, and the chosen node's details.
pub(crate) fn context(project_dir: &Path, manifest: Option<&Value>, node: Option<&str>) -> Value {
    let Some(m) = manifest else {
        return json!({"missing": true, "groups": [], "node": null});
    };
    let mut groups: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    let entries = m["nodes"].as_object().into_iter().flatten().chain(m["sources"].as_object().into_iter().flatten());
    for (id, e) in entries {
        let kind = e["resource_type"].as_str().unwrap_or("other").to_string();
        groups.entry(kind).or_default().push(json!({
            "id": id,
            "name": e["name"],
            "href": href(id),
            "description": e["description"],
            "materialized": e["config"]["materialized"],
        }));
    }
    let groups: Vec<Value> = groups.into_iter().map(|(kind, nodes)| json!({"kind": kind, "nodes": nodes})).collect();
    let detail = node.and_then(|id| {
        let e = m["nodes"].get(id).or_else(|| m["sources"].get(id))?;
        let columns: Vec<Value> = e["columns"]
            .as_object()
            .map(|c| {
                c.values()
                    .map(|c| json!({"name": c["name"], "description": c["description"], "data_type": c["data_type"]}))
                    .collect()
            })
            .unwrap_or_default();
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
            "compiled": compiled_sql(project_dir, e),
            "parents": ids(&m["parent_map"][id]),
            "children": ids(&m["child_map"][id]),
        }))
    });
    json!({"missing": false, "groups": groups, "node": detail})
}
