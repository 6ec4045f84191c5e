//! The configs that are SQL text put into a node's statements:
//! `sql_header` (run right before the statement that builds a model or a
//! snapshot, in one string with it) and `incremental_predicates` (and its
//! older name `predicates`: conditions added to an incremental model's
//! `delete` or `merge`). Typed here once, for the planner (bad values are
//! load errors) and the executor (which puts them into SQL). Their text is
//! used as it is, never rendered again: a value written in YAML was rendered
//! once while the file loaded (`project::render`), as dbt renders it while
//! parsing, and one from the node's own `config()` or `set_sql_header` call
//! is used as that call left it. Pure: no I/O, no SQL.

use super::materialize::{bad, ConfigError};
use crate::config_tree::ConfigMap;
use serde_yaml::Value;

/// The node's `sql_header`: `None` when unset or blank (dbt writes nothing then).
pub fn sql_header(cfg: &ConfigMap) -> Result<Option<String>, ConfigError> {
    match cfg.get("sql_header") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(
            "sql_header",
            "`sql_header` must be SQL text".into(),
            "e.g. `sql_header: \"set threads = 4;\"`, or `{% call set_sql_header(config) %}…{% endcall %}` in the model",
        )),
    }
}

/// dbt-duckdb's `config.get('predicates') or config.get('incremental_predicates')`:
/// the older key wins when it holds any; `None` when neither does.
pub fn predicates(cfg: &ConfigMap) -> Result<Option<Vec<String>>, ConfigError> {
    for key in ["predicates", "incremental_predicates"] {
        let items = match cfg.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::Sequence(items)) => items,
            Some(_) => {
                return Err(bad(
                    key,
                    format!("`{key}` must be a list of SQL conditions"),
                    "e.g. `incremental_predicates: [\"DBT_INTERNAL_DEST.day > current_date - 7\"]`",
                ))
            }
        };
        let texts: Option<Vec<String>> = items
            .iter()
            .map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(_) | Value::Bool(_) => Some(super::yaml_scalar(i)),
                _ => None,
            })
            .collect();
        match texts {
            Some(t) if t.is_empty() => continue,
            Some(t) => return Ok(Some(t)),
            None => return Err(bad(key, format!("each of `{key}` must be a SQL condition (text)"), "")),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> ConfigMap {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    #[test]
    fn a_header_is_text_and_blank_is_none() {
        assert_eq!(sql_header(&cfg("sql_header: set x = 1;")), Ok(Some("set x = 1;".into())));
        assert_eq!(sql_header(&cfg("sql_header: '  '")), Ok(None));
        assert_eq!(sql_header(&cfg("sql_header: null")), Ok(None));
        assert_eq!(sql_header(&cfg("a: 1")), Ok(None));
        assert_eq!(sql_header(&cfg("sql_header: [a]")).map_err(|e| e.key), Err("sql_header"));
    }

    #[test]
    fn predicates_come_from_the_older_key_first_and_empty_lists_are_none() {
        let both = cfg("predicates: [a > 1]\nincremental_predicates: [b > 2]");
        assert_eq!(predicates(&both), Ok(Some(vec!["a > 1".to_string()])));
        let empty_old = cfg("predicates: []\nincremental_predicates: [b > 2, 1]");
        assert_eq!(predicates(&empty_old), Ok(Some(vec!["b > 2".to_string(), "1".to_string()])));
        assert_eq!(predicates(&cfg("incremental_predicates: []")), Ok(None));
        assert_eq!(predicates(&cfg("a: 1")), Ok(None));
    }

    #[test]
    fn predicates_that_are_not_a_list_of_conditions_are_refused() {
        let e = predicates(&cfg("incremental_predicates: a > 1")).expect_err("a string");
        assert_eq!(e.key, "incremental_predicates");
        assert!(e.message.contains("must be a list"), "{}", e.message);
        let e = predicates(&cfg("incremental_predicates: [{a: 1}]")).expect_err("a map");
        assert!(e.message.contains("SQL condition"), "{}", e.message);
    }
}
