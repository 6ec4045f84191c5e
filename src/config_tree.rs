//! dbt's config precedence over the `dbt_project.yml` trees.
//!
//! `models: <project>: <folder>: +materialized: view`: deeper folders beat
//! shallower ones, `tags` accumulate, `meta` merges, and the file's own
//! `config()` and property YAML win over the tree. Pure functions on YAML
//! values; no I/O.

use serde_yaml::Value;
use std::collections::BTreeMap;

pub type ConfigMap = BTreeMap<String, Value>;

/// Config keys whose value is itself a map, so a mapping under them is not a folder.
const MAP_CONFIGS: &[&str] =
    &["meta", "column_types", "docs", "persist_docs", "grants", "quoting", "contract", "snapshot_meta_column_names"];

/// Configs from the tree along `path` (`[project, folder…, file stem]`).
pub fn from_tree(tree: Option<&Value>, path: &[String]) -> ConfigMap {
    let mut out = ConfigMap::new();
    let mut node = tree;
    for part in path {
        let Some(Value::Mapping(m)) = node else { break };
        apply_level(&mut out, m);
        node = m.get(part.as_str());
    }
    if let Some(Value::Mapping(m)) = node {
        apply_level(&mut out, m);
    }
    out
}

fn apply_level(out: &mut ConfigMap, level: &serde_yaml::Mapping) {
    let mut layer = ConfigMap::new();
    for (k, v) in level {
        let Some(key) = k.as_str() else { continue };
        match key.strip_prefix('+') {
            Some(cfg) => {
                layer.insert(cfg.to_string(), v.clone());
            }
            None if !v.is_mapping() || MAP_CONFIGS.contains(&key) => {
                layer.insert(key.to_string(), v.clone());
            }
            None => {}
        }
    }
    merge(out, layer);
}

/// Merges `over` onto `base` the way dbt does: tags accumulate, meta and contract merge,
/// hooks append (each level's after the levels above it), everything else is
/// replaced.
pub fn merge(base: &mut ConfigMap, over: ConfigMap) {
    for (k, v) in over {
        let k = crate::hooks::canonical_key(&k).to_string();
        match k.as_str() {
            crate::hooks::PRE | crate::hooks::POST => {
                let mut hooks = base.get(&k).map(crate::hooks::as_list).unwrap_or_default();
                hooks.extend(crate::hooks::as_list(&v));
                base.insert(k, Value::Sequence(hooks));
            }
            "tags" => {
                let mut tags = as_strings(base.get("tags"));
                for t in as_strings(Some(&v)) {
                    if !tags.contains(&t) {
                        tags.push(t);
                    }
                }
                base.insert(k, Value::Sequence(tags.into_iter().map(Value::String).collect()));
            }
            "meta" => {
                let mut m = match base.remove("meta") {
                    Some(Value::Mapping(m)) => m,
                    _ => serde_yaml::Mapping::new(),
                };
                if let Value::Mapping(over) = v {
                    m.extend(over);
                }
                base.insert(k, Value::Mapping(m));
            }
            // dbt updates `contract` key by key (`+contract: {enforced: true}`
            // above, `contract: {alias_types: false}` below keeps both); a
            // value that is not a map replaces it, to be refused as written.
            "contract" => match (base.get_mut("contract"), v) {
                (Some(Value::Mapping(m)), Value::Mapping(over)) => m.extend(over),
                (_, v) => {
                    base.insert(k, v);
                }
            },
            _ => {
                base.insert(k, v);
            }
        }
    }
}

/// A string or a list of strings, as dbt accepts for `tags`.
pub fn as_strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

pub fn get_str<'a>(c: &'a ConfigMap, key: &str) -> Option<&'a str> {
    c.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(y: &str) -> Value {
        serde_yaml::from_str(y).expect("yaml")
    }

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn deeper_folder_wins_and_tags_accumulate() {
        let t = tree("shop:\n  +materialized: view\n  +tags: base\n  marts:\n    +materialized: table\n    +schema: marts\n    tags: [mart]\n");
        let c = from_tree(Some(&t), &path(&["shop", "marts", "orders"]));
        assert_eq!(get_str(&c, "materialized"), Some("table"));
        assert_eq!(get_str(&c, "schema"), Some("marts"));
        assert_eq!(as_strings(c.get("tags")), vec!["base", "mart"]);
        let c = from_tree(Some(&t), &path(&["shop", "staging", "stg"]));
        assert_eq!(get_str(&c, "materialized"), Some("view"));
    }

    #[test]
    fn file_config_beats_tree_and_meta_merges() {
        let t = tree("shop:\n  +meta: {owner: a, team: x}\n");
        let mut c = from_tree(Some(&t), &path(&["shop", "m"]));
        merge(&mut c, ConfigMap::from([("meta".to_string(), tree("{owner: b}"))]));
        assert_eq!(c.get("meta"), Some(&tree("{owner: b, team: x}")));
    }

    #[test]
    fn hooks_append_from_the_project_down_then_yaml_then_config() {
        let t = tree("shop:\n  +pre-hook: a\n  marts:\n    +pre-hook: [b]\n    +post_hook: p\n");
        let mut c = from_tree(Some(&t), &path(&["shop", "marts", "orders"]));
        merge(&mut c, ConfigMap::from([("pre-hook".to_string(), tree("c"))]));
        merge(&mut c, ConfigMap::from([("pre_hook".to_string(), tree("[d]"))]));
        assert_eq!(c.get("pre-hook"), Some(&tree("[a, b, c, d]")));
        assert_eq!(c.get("post-hook"), Some(&tree("[p]")));
        assert!(!c.contains_key("pre_hook") && !c.contains_key("post_hook"));
    }
}
