//! An exposure's manifest entry (and so its `graph.exposures` entry and
//! its `ls --output json` line), field for field as dbt 1.10 writes it.
//! Builds JSON from the planned exposure; renders only its description.

use super::{describe, Inputs};
use crate::nodes::Exposure;
use serde_json::{json, Map, Value};

fn yaml(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// `owner` as dbt writes it: `email` and `name` (null when absent), then
/// any other key as written.
fn owner(e: &Exposure) -> Value {
    let mut out = Map::new();
    for k in ["email", "name"] {
        out.insert(k.into(), e.decl.owner.get(k).map(yaml).unwrap_or(Value::Null));
    }
    for (k, v) in &e.decl.owner {
        if let Some(k) = k.as_str().filter(|k| !out.contains_key(*k)) {
            out.insert(k.into(), yaml(v));
        }
    }
    Value::Object(out)
}

pub(super) fn entry(e: &Exposure, inputs: &Inputs) -> Value {
    let refs: Vec<Value> = e
        .refs
        .iter()
        .map(|r| json!({"name": r.name, "package": r.package, "version": r.version.as_ref().map(|v| &v.json)}))
        .collect();
    let d = &e.decl;
    json!({
        "name": d.name,
        "resource_type": "exposure",
        "package_name": e.package,
        "path": e.path(),
        "original_file_path": e.original_file_path,
        "unique_id": e.id,
        "fqn": e.fqn(),
        "type": d.kind,
        "owner": owner(e),
        "description": describe(inputs, &d.description),
        "label": d.label,
        "maturity": d.maturity,
        "meta": yaml(&e.meta),
        "tags": e.tags,
        "config": yaml(&e.config),
        "unrendered_config": yaml(&e.unrendered_config),
        "url": d.url,
        "depends_on": {"macros": [], "nodes": e.depends_on},
        "refs": refs,
        "sources": e.sources.iter().map(|(s, t)| [s, t]).collect::<Vec<_>>(),
        "metrics": e.metrics,
        "created_at": inputs.started_at.timestamp_micros() as f64 / 1e6,
    })
}
