//! Node configs that dbt acts on and runner does not yet: each becomes one
//! warning per key naming how many nodes set it and the first of them, so
//! that nothing is silently ignored (a project-wide `+sql_header` warns
//! once, not once per model). Keys dbt accepts with no effect on a DuckDB
//! run (`docs`, `meta`, `access`, `group`, …) are not listed. Owns only the
//! list and the wording; the planner collects.

use crate::config_tree::ConfigMap;
use crate::error::Diagnostic;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A config key and what runner does instead of what dbt does.
const KEYS: &[(&str, &str)] = &[
    ("sql_header", "the header is not run before the model's statement"),
    ("incremental_predicates", "the incremental statement does not add these predicates"),
];

/// The listed keys `cfg` sets to something dbt acts on.
pub(super) fn keys(cfg: &ConfigMap) -> impl Iterator<Item = &'static str> + '_ {
    KEYS.iter().map(|(k, _)| *k).filter(|k| cfg.get(*k).is_some_and(acts))
}

/// Whether a value makes dbt do something (`incremental_predicates: []` does not).
fn acts(v: &Value) -> bool {
    !matches!(v, Value::Null) && v.as_sequence().is_none_or(|s| !s.is_empty()) && v.as_str() != Some("")
}

/// Key → the nodes (name, file) that set it, as the planner finds them.
#[derive(Debug, Default)]
pub(super) struct Found(BTreeMap<&'static str, Vec<(String, PathBuf)>>);

impl Found {
    pub(super) fn note(&mut self, cfg: &ConfigMap, name: &str, file: &PathBuf) {
        for key in keys(cfg) {
            self.0.entry(key).or_default().push((name.to_string(), file.clone()));
        }
    }

    pub(super) fn warnings(self) -> Vec<Diagnostic> {
        self.0
            .into_iter()
            .filter_map(|(key, nodes)| {
                let (first, file) = nodes.first()?;
                let what = KEYS.iter().find(|(k, _)| *k == key).map_or("", |(_, w)| w);
                let others = match nodes.len() - 1 {
                    0 => String::new(),
                    1 => " and 1 other node".to_string(),
                    n => format!(" and {n} other nodes"),
                };
                Some(
                    Diagnostic::in_file(
                        file,
                        format!("`{key}` (set on `{first}`{others}) is not supported yet: {what}"),
                    )
                    .hint(format!(
                        "remove `{key}` to silence this, or run these nodes with dbt until runner supports it"
                    )),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> ConfigMap {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    #[test]
    fn only_values_that_make_dbt_act_are_reported() {
        let on = cfg("sql_header: set x = 1\nincremental_predicates: [a > 1]\npersist_docs: {relation: true}\n");
        assert_eq!(keys(&on).collect::<Vec<_>>(), vec!["sql_header", "incremental_predicates"]);
        let off = cfg("sql_header: ''\nincremental_predicates: []\n");
        assert_eq!(keys(&off).count(), 0);
    }

    #[test]
    fn one_warning_per_key_names_the_first_node_and_counts_the_rest() {
        let mut found = Found::default();
        let on = cfg("sql_header: set x = 1\n");
        for name in ["a", "b", "c"] {
            found.note(&on, name, &PathBuf::from(format!("models/{name}.sql")));
        }
        let w = found.warnings();
        assert_eq!(w.len(), 1);
        assert!(
            w[0].message.contains("`sql_header` (set on `a` and 2 other nodes) is not supported yet"),
            "{}",
            w[0].message
        );
        assert_eq!(w[0].file.as_deref(), Some(std::path::Path::new("models/a.sql")));
    }
}
