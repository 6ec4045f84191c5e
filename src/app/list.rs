//! `runner ls`: the lines `dbt ls` prints for each selected resource, in
//! its four output formats, made from the manifest entries.
//!
//! Pure formatting: it selects nothing, reads no files and never opens the
//! database.

use crate::cli::{ListOptions, ListOutput};
use serde_json::Value;

/// `dbt ls --output json` keys, in dbt's order, per kind of resource.
const NODE_KEYS: &[&str] = &[
    "name",
    "resource_type",
    "package_name",
    "original_file_path",
    "unique_id",
    "alias",
    "config",
    "tags",
    "depends_on",
];
const UNIT_TEST_KEYS: &[&str] =
    &["name", "resource_type", "package_name", "original_file_path", "unique_id", "depends_on", "config"];
const SOURCE_KEYS: &[&str] =
    &["name", "resource_type", "package_name", "original_file_path", "unique_id", "source_name", "tags", "config"];
const EXPOSURE_KEYS: &[&str] =
    &["name", "resource_type", "package_name", "original_file_path", "unique_id", "tags", "config", "depends_on"];

/// The keys of a node's `config`, in the order dbt prints them (models,
/// then what only seeds, snapshots or tests have); keys a project adds come
/// after, sorted.
const CONFIG_KEYS: &[&str] = &[
    "enabled",
    "alias",
    "schema",
    "database",
    "tags",
    "meta",
    "group",
    "materialized",
    "incremental_strategy",
    "batch_size",
    "lookback",
    "begin",
    "persist_docs",
    "post-hook",
    "pre-hook",
    "quoting",
    "column_types",
    "full_refresh",
    "unique_key",
    "on_schema_change",
    "on_configuration_change",
    "grants",
    "packages",
    "docs",
    "contract",
    "event_time",
    "concurrent_batches",
    "access",
    "freshness",
    "delimiter",
    "quote_columns",
    "strategy",
    "target_schema",
    "target_database",
    "updated_at",
    "check_cols",
    "snapshot_meta_column_names",
    "dbt_valid_to_current",
    "severity",
    "store_failures",
    "store_failures_as",
    "where",
    "limit",
    "fail_calc",
    "warn_if",
    "error_if",
];

/// A `config` object as `py_json` would print it, keys in dbt's order.
fn config_json(v: &Value) -> String {
    let Value::Object(map) = v else { return py_json(v) };
    let known = CONFIG_KEYS.iter().filter_map(|k| map.get(*k).map(|v| (*k, v)));
    let rest = map.iter().filter(|(k, _)| !CONFIG_KEYS.contains(&k.as_str())).map(|(k, v)| (k.as_str(), v));
    py_object(known.chain(rest).map(|(k, v)| (k, py_json(v))))
}

/// A manifest entry by unique id, and whether it is a source.
pub(super) type Lookup<'l> = &'l (dyn Fn(&str) -> Option<(Value, bool)> + Sync);

/// Lines made at once: enough to keep every core busy, few enough that a
/// window of `--output json` lines stays a few megabytes.
const WINDOW: usize = 2048;

/// One line per resource; `ids` are unique ids, printed in the order given.
/// Lines are made a window at a time, on every core, as they are taken: a
/// listing of 40,000 entries never holds them all.
pub(super) fn lines<'a>(
    lookup: Lookup<'a>,
    ids: &'a [String],
    list: &'a ListOptions,
) -> impl Iterator<Item = String> + 'a {
    ids.chunks(WINDOW).flat_map(move |window| {
        let made = crate::par::map(window, |id| lookup(id).map(|(entry, is_source)| line(&entry, is_source, list)));
        made.into_iter().flatten()
    })
}

fn line(entry: &Value, is_source: bool, list: &ListOptions) -> String {
    let text = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match list.output {
        ListOutput::Selector if is_source => {
            format!("source:{}.{}.{}", text("package_name"), text("source_name"), text("name"))
        }
        ListOutput::Selector if text("resource_type") == "exposure" => {
            format!("exposure:{}.{}", text("package_name"), text("name"))
        }
        // dbt's `versioned_name`: the unique id's last part (`<name>_v<v>` for a model version's).
        ListOutput::Selector if text("resource_type") == "unit_test" => {
            let id = text("unique_id");
            let name = id.splitn(4, '.').nth(3).map(str::to_string).unwrap_or_else(|| text("name"));
            format!("unit_test:{}.{name}", text("package_name"))
        }
        ListOutput::Selector => {
            let fqn: Vec<&str> = entry["fqn"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            fqn.join(".")
        }
        ListOutput::Name if is_source => format!("{}.{}", text("source_name"), text("name")),
        // dbt's `search_name`: a model version is `<name>.v<v>`.
        ListOutput::Name => match entry.get("version").filter(|v| !v.is_null() && text("resource_type") == "model") {
            Some(serde_json::Value::String(v)) => format!("{}.v{v}", text("name")),
            Some(v) => format!("{}.v{v}", text("name")),
            None => text("name"),
        },
        ListOutput::Path => text("original_file_path"),
        ListOutput::Json => {
            let defaults = match (is_source, text("resource_type").as_str()) {
                (true, _) => SOURCE_KEYS,
                (false, "unit_test") => UNIT_TEST_KEYS,
                (false, "exposure") => EXPOSURE_KEYS,
                _ => NODE_KEYS,
            };
            let keys: Vec<&str> = if list.output_keys.is_empty() {
                defaults.to_vec()
            } else {
                // dbt keeps its own order for the keys it knows, then the rest as asked.
                let asked = |k: &&str| list.output_keys.iter().any(|o| o.as_str() == *k);
                let known = defaults.iter().copied().filter(asked);
                let extra = list.output_keys.iter().map(String::as_str).filter(|k| !defaults.contains(k));
                known.chain(extra).collect()
            };
            py_object(keys.iter().filter_map(|k| {
                let v = entry.get(*k)?;
                // A unit test's config is dbt's `UnitTestConfig`: its own three keys, in its order.
                let config = |v: &Value| {
                    if defaults == UNIT_TEST_KEYS {
                        py_object(["tags", "meta", "enabled"].into_iter().filter_map(|k| Some((k, py_json(v.get(k)?)))))
                    } else {
                        config_json(v)
                    }
                };
                Some((*k, if *k == "config" { config(v) } else { py_json(v) }))
            }))
        }
    }
}

/// JSON as Python's `json.dumps` writes it by default (dbt's `ls` output):
/// `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`.
pub(super) fn py_json(v: &Value) -> String {
    match v {
        Value::Array(items) => format!("[{}]", items.iter().map(py_json).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => py_object(map.iter().map(|(k, v)| (k.as_str(), py_json(v)))),
        Value::String(s) => py_json_str(s),
        other => other.to_string(),
    }
}

/// `{"k": v, …}` with Python's separators, from keys and already-printed values.
fn py_object<'k>(fields: impl Iterator<Item = (&'k str, String)>) -> String {
    let fields: Vec<String> = fields.map(|(k, v)| format!("{}: {v}", py_json_str(k))).collect();
    format!("{{{}}}", fields.join(", "))
}

fn py_json_str(s: &str) -> String {
    let quoted = Value::String(s.to_string()).to_string();
    let mut out = String::with_capacity(quoted.len());
    for c in quoted.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    fn manifest() -> Value {
        json!({
            "nodes": {
                "model.shop.customers": {
                    "name": "customers", "resource_type": "model", "package_name": "shop",
                    "original_file_path": "models/marts/customers.sql", "unique_id": "model.shop.customers",
                    "alias": "customers", "config": {"materialized": "table", "enabled": true}, "tags": [],
                    "depends_on": {"macros": [], "nodes": ["seed.shop.raw"]}, "fqn": ["shop", "marts", "customers"],
                    "description": "Café",
                },
            },
            "sources": {
                "source.shop.raw.events": {
                    "name": "events", "resource_type": "source", "package_name": "shop", "source_name": "raw",
                    "original_file_path": "models/props.yml", "unique_id": "source.shop.raw.events", "tags": [],
                    "config": {"enabled": true}, "fqn": ["shop", "raw", "events"],
                },
            },
        })
    }

    /// The lookup `ls` gets from a manifest, over a whole document.
    fn lookup(doc: &Value) -> impl Fn(&str) -> Option<(Value, bool)> + '_ {
        |id| match (doc["nodes"].get(id), doc["sources"].get(id)) {
            (Some(n), _) => Some((n.clone(), false)),
            (None, Some(s)) => Some((s.clone(), true)),
            (None, None) => None,
        }
    }

    fn opts(output: ListOutput, keys: &[&str]) -> ListOptions {
        ListOptions {
            resource_types: BTreeSet::new(),
            output,
            output_keys: keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn ids() -> Vec<String> {
        vec!["model.shop.customers".into(), "source.shop.raw.events".into(), "model.shop.unknown".into()]
    }

    #[test]
    fn selector_name_and_path_lines_match_dbt() {
        let m = manifest();
        assert_eq!(
            lines(&lookup(&m), &ids(), &opts(ListOutput::Selector, &[])).collect::<Vec<_>>(),
            ["shop.marts.customers", "source:shop.raw.events"]
        );
        assert_eq!(
            lines(&lookup(&m), &ids(), &opts(ListOutput::Name, &[])).collect::<Vec<_>>(),
            ["customers", "raw.events"]
        );
        assert_eq!(
            lines(&lookup(&m), &ids(), &opts(ListOutput::Path, &[])).collect::<Vec<_>>(),
            ["models/marts/customers.sql", "models/props.yml"]
        );
    }

    #[test]
    fn json_lines_use_dbt_key_order_and_python_separators() {
        let out: Vec<String> = lines(&lookup(&manifest()), &ids(), &opts(ListOutput::Json, &[])).collect();
        assert_eq!(
            out[0],
            "{\"name\": \"customers\", \"resource_type\": \"model\", \"package_name\": \"shop\", \
             \"original_file_path\": \"models/marts/customers.sql\", \"unique_id\": \"model.shop.customers\", \
             \"alias\": \"customers\", \"config\": {\"enabled\": true, \"materialized\": \"table\"}, \"tags\": [], \
             \"depends_on\": {\"macros\": [], \"nodes\": [\"seed.shop.raw\"]}}"
        );
        let source: Value = serde_json::from_str(&out[1]).expect("a JSON object per line");
        assert_eq!(source["source_name"], "raw");
        assert!(source.get("alias").is_none());
    }

    #[test]
    fn config_keys_print_in_dbt_order_then_the_projects_own_sorted() {
        let cfg =
            json!({"unique_key": "id", "zeta": 1, "alias": null, "severity": "ERROR", "enabled": true, "alpha": 2});
        assert_eq!(
            config_json(&cfg),
            "{\"enabled\": true, \"alias\": null, \"unique_key\": \"id\", \"severity\": \"ERROR\", \"alpha\": 2, \"zeta\": 1}"
        );
    }

    #[test]
    fn output_keys_keep_dbt_order_then_extra_keys_and_escape_non_ascii() {
        let out =
            lines(&lookup(&manifest()), &ids()[..1], &opts(ListOutput::Json, &["unique_id", "description", "name"]))
                .collect::<Vec<_>>();
        assert_eq!(
            out,
            ["{\"name\": \"customers\", \"unique_id\": \"model.shop.customers\", \"description\": \"Caf\\u00e9\"}"]
        );
    }
}
