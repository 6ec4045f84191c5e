//! Decoding dbt's test entries from property YAML into [`TestDecl`]s.
//!
//! dbt accepts a bare name (`- unique`), a one-key map (`- accepted_values:
//! {values: […]}`), arguments at top level or under `arguments:`, configs at
//! top level or under `config:`, and `test_name:` with a custom `name:`. This
//! module only decodes shapes; it builds no SQL and checks no columns.

use crate::diag::Diagnostic;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a test is attached to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attached {
    Model(String),
    Source(String, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestDecl {
    /// The generic test's name without namespace: `not_null`, `unique`, … or a custom one.
    pub test: String,
    /// `dbt_utils` in `dbt_utils.expression_is_true`; part of dbt's test name.
    pub namespace: Option<String>,
    /// A `name:` given by the user instead of dbt's synthesized one.
    pub custom_name: Option<String>,
    pub attached: Attached,
    /// The version of a versioned model the test is declared for (one
    /// declaration per version: dbt names them `<test>_<model>_v<v>_…`).
    pub version: Option<super::versions::Version>,
    pub column: Option<String>,
    pub args: BTreeMap<String, Value>,
    pub config: BTreeMap<String, Value>,
    pub file: PathBuf,
    pub line: Option<usize>,
}

/// Keys dbt reads as test config when written beside the arguments.
const CONFIG_KEYS: &[&str] = &[
    "severity",
    "warn_if",
    "error_if",
    "fail_calc",
    "where",
    "limit",
    "store_failures",
    "store_failures_as",
    "enabled",
    "tags",
    "meta",
    "alias",
    "schema",
    "database",
];

pub fn decode(
    entry: &Value,
    attached: &Attached,
    column: Option<&str>,
    file: &PathBuf,
    line: Option<usize>,
) -> Result<TestDecl, Diagnostic> {
    let bad = |msg: String| Diagnostic::in_file(file, msg).at(line, None);
    let (test, body) = match entry {
        Value::String(name) => (name.clone(), BTreeMap::new()),
        Value::Mapping(m) if m.contains_key("test_name") => {
            let mut body = to_map(m).map_err(&bad)?;
            let test = match body.remove("test_name") {
                Some(Value::String(s)) => s,
                _ => return Err(bad("`test_name` must be a string".into())),
            };
            (test, body)
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().ok_or_else(|| bad("empty test entry".into()))?;
            let test = k.as_str().ok_or_else(|| bad("a test name must be a string".into()))?.to_string();
            let body = match v {
                Value::Mapping(inner) => to_map(inner).map_err(&bad)?,
                Value::Null => BTreeMap::new(),
                _ => return Err(bad(format!("test `{test}` takes a map of arguments"))),
            };
            (test, body)
        }
        _ => return Err(bad("a test is a name or a map with one test name".into())),
    };
    // dbt packages prefix tests with their package (`dbt_utils.expression_is_true`);
    // the namespace names the test but does not change which macro runs.
    let (namespace, test) = match test.split_once('.') {
        Some((ns, t)) => (Some(ns.to_string()), t.to_string()),
        None => (None, test),
    };
    let valid = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if !valid(&test) || namespace.as_deref().is_some_and(|ns| !valid(ns)) {
        return Err(bad(format!("`{}` is not a test name", entry_name(namespace.as_deref(), &test))));
    }
    let mut args = BTreeMap::new();
    let mut config = BTreeMap::new();
    let mut custom_name = None;
    for (k, v) in body {
        match k.as_str() {
            "name" => custom_name = v.as_str().map(str::to_string),
            // dbt keeps a test's description out of its arguments and name.
            "description" => {}
            "config" => match v {
                Value::Mapping(m) => config.extend(to_map(&m).map_err(&bad)?),
                _ => return Err(bad(format!("`config` of test `{test}` must be a map"))),
            },
            "arguments" => match v {
                Value::Mapping(m) => args.extend(to_map(&m).map_err(&bad)?),
                _ => return Err(bad(format!("`arguments` of test `{test}` must be a map"))),
            },
            "column_name" => {
                args.insert(k, v);
            }
            key if CONFIG_KEYS.contains(&key) => {
                config.insert(k, v);
            }
            _ => {
                args.insert(k, v);
            }
        }
    }
    let column =
        column.map(str::to_string).or_else(|| args.remove("column_name").and_then(|v| v.as_str().map(str::to_string)));
    Ok(TestDecl {
        test,
        namespace,
        custom_name,
        attached: attached.clone(),
        version: None,
        column,
        args,
        config,
        file: file.clone(),
        line,
    })
}

fn entry_name(namespace: Option<&str>, test: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}.{test}"),
        None => test.to_string(),
    }
}

/// A column as tests splice it into SQL: as written, or double-quoted with
/// `quote: true` (dbt quotes before naming, so the test name shows the quotes as `_`).
pub fn column_sql(name: &str, quote: Option<bool>) -> String {
    if quote == Some(true) {
        crate::data_tests::quote_ident(name)
    } else {
        name.to_string()
    }
}

fn to_map(m: &serde_yaml::Mapping) -> Result<BTreeMap<String, Value>, String> {
    m.iter()
        .map(|(k, v)| match k.as_str() {
            Some(k) => Ok((k.to_string(), v.clone())),
            None => Err(format!("keys must be strings, found `{k:?}`")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(yaml: &str) -> TestDecl {
        let v: Value = serde_yaml::from_str(yaml).expect("yaml");
        decode(&v, &Attached::Model("orders".into()), Some("status"), &PathBuf::from("m.yml"), Some(3))
            .expect("decodes")
    }

    #[test]
    fn bare_name() {
        let t = dec("not_null");
        assert_eq!((t.test.as_str(), t.column.as_deref()), ("not_null", Some("status")));
        assert!(t.args.is_empty() && t.config.is_empty());
    }

    #[test]
    fn top_level_arguments_and_config() {
        let t = dec("accepted_values: {values: [a, b], severity: warn}");
        assert_eq!(t.args.get("values"), Some(&serde_yaml::from_str("[a, b]").expect("yaml")));
        assert_eq!(t.config.get("severity"), Some(&Value::String("warn".into())));
    }

    #[test]
    fn nested_arguments_config_and_name() {
        let t = dec("relationships:\n  name: orders_have_customers\n  arguments: {to: \"ref('customers')\", field: id}\n  config: {where: \"id > 1\"}");
        assert_eq!(t.custom_name.as_deref(), Some("orders_have_customers"));
        assert_eq!(t.args.len(), 2);
        assert_eq!(t.config.get("where"), Some(&Value::String("id > 1".into())));
    }

    #[test]
    fn test_name_form() {
        let t = dec("test_name: unique\nname: my_unique\n");
        assert_eq!((t.test.as_str(), t.custom_name.as_deref()), ("unique", Some("my_unique")));
    }

    #[test]
    fn namespace_and_description_stay_out_of_the_arguments() {
        let t = dec("dbt_utils.expression_is_true:\n  description: positive\n  arguments: {expression: \"> 0\"}\n");
        assert_eq!((t.test.as_str(), t.namespace.as_deref()), ("expression_is_true", Some("dbt_utils")));
        assert_eq!(t.args.keys().collect::<Vec<_>>(), vec!["expression"]);
        let v: Value = serde_yaml::from_str("\"not null\"").expect("yaml");
        let d = decode(&v, &Attached::Model("m".into()), None, &PathBuf::from("m.yml"), Some(2)).expect_err("bad");
        assert!(d.message.contains("`not null` is not a test name"), "{}", d.message);
    }

    #[test]
    fn malformed_entry_names_file_and_line() {
        let v: Value = serde_yaml::from_str("[1, 2]").expect("yaml");
        let d = decode(&v, &Attached::Model("m".into()), None, &PathBuf::from("m.yml"), Some(7)).expect_err("bad");
        assert_eq!((d.file, d.line), (Some(PathBuf::from("m.yml")), Some(7)));
    }
}
