//! dbt-core 1.10's names for generic tests: the node name (`not_null_orders_id`),
//! the alias that names a stored-failures table (shortened with an MD5 when
//! the name reaches 64 characters), and the unique id's 10-character hash.
//!
//! Mirrors `synthesize_generic_test_names` and `create_test_node` of dbt's
//! parser, including Python's `str()`/`repr()` of argument values, so a user
//! can select a test by the name dbt gives it and tools keyed on unique ids
//! agree. Pure string work: it reads no files and builds no SQL.

use md5::{Digest, Md5};
use serde_yaml::Value;
use std::collections::BTreeMap;

/// What a generic test is attached to, as dbt names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestTarget {
    /// A model, seed or snapshot; `version` is a model version's `str()` (`2`).
    Model {
        name: String,
        version: Option<String>,
    },
    Source {
        source: String,
        table: String,
    },
}

/// Every name dbt derives for one generic test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestNames {
    /// The node name: what the console prints and selectors match.
    pub name: String,
    /// The relation name of stored failures (and dbt's compiled file name).
    pub alias: String,
    /// `test.<project>.<name>.<hash>`.
    pub unique_id: String,
}

/// One generic test as written in property YAML, for naming.
#[derive(Debug, Clone, Copy)]
pub struct NamingInput<'a> {
    pub project: &'a str,
    /// The test without its namespace: `not_null`, `positive`.
    pub test: &'a str,
    /// `dbt_utils` in `dbt_utils.expression_is_true`.
    pub namespace: Option<&'a str>,
    pub target: &'a TestTarget,
    /// The macro's keyword arguments as written, `column_name` included (already
    /// quoted when the column says `quote: true`), `model` excluded.
    pub args: &'a BTreeMap<String, Value>,
    /// A `name:` given by the user.
    pub custom_name: Option<&'a str>,
}

/// dbt's names for a generic test.
pub fn generic_test_names(input: &NamingInput) -> TestNames {
    let (name, alias) = match input.custom_name {
        Some(custom) => (custom.to_string(), custom.to_string()),
        None => {
            let mut kind = match input.target {
                TestTarget::Model { .. } => input.test.to_string(),
                TestTarget::Source { .. } => format!("source_{}", input.test),
            };
            if let Some(ns) = input.namespace {
                kind = format!("{ns}_{kind}");
            }
            let target_name = match input.target {
                TestTarget::Model { name, version: None } => name.clone(),
                TestTarget::Model { name, version: Some(v) } => format!("{name}_v{v}"),
                TestTarget::Source { source, table } => format!("{source}_{table}"),
            };
            let (short, full) = synthesize(&kind, &target_name, input.args);
            (full, short)
        }
    };
    let hash = unique_id_hash(&name, input);
    TestNames { unique_id: format!("test.{}.{name}.{hash}", input.project), name, alias }
}

/// `(short, full)`: the full name is `<kind>_<target>_<args>`, each argument
/// flattened in key order with runs of other characters than `[0-9a-zA-Z_]`
/// replaced by one `_`; at 64 characters or more the short name is the first
/// 30 characters of `<kind>_<target>` plus `_` and the MD5 of the full name.
pub fn synthesize(kind: &str, target_name: &str, args: &BTreeMap<String, Value>) -> (String, String) {
    // Written straight into one buffer: tens of thousands of tests per large project.
    let mut full = String::with_capacity(kind.len() + target_name.len() + 48);
    full.push_str(kind);
    full.push('_');
    full.push_str(target_name);
    let identifier = full.len();
    full.push('_');
    let mut first = true;
    let mut part = |v: &Value, full: &mut String| {
        if !first {
            full.push_str("__");
        }
        first = false;
        clean_into(&py_text(v), full);
    };
    for (key, value) in args {
        if key == "model" {
            continue;
        }
        match value {
            Value::Mapping(m) => m.values().for_each(|v| part(v, &mut full)),
            Value::Sequence(items) => items.iter().for_each(|v| part(v, &mut full)),
            other => part(other, &mut full),
        }
    }
    if full.chars().count() >= 64 {
        let mut short: String = full[..identifier].chars().take(30).collect();
        short.push('_');
        short.push_str(&md5_hex(&full));
        (short, full)
    } else {
        (full.clone(), full)
    }
}

/// The `model` argument dbt gives a generic test (its `test_metadata.kwargs`):
/// `{{ get_where_subquery(ref('m')) }}`, with `version='<v>'` for a model
/// version's test, or `source('s', 't')`.
pub fn model_arg(target: &TestTarget) -> String {
    match target {
        TestTarget::Model { name, version: None } => format!("{{{{ get_where_subquery(ref('{name}')) }}}}"),
        TestTarget::Model { name, version: Some(v) } => {
            format!("{{{{ get_where_subquery(ref('{name}', version='{v}')) }}}}")
        }
        TestTarget::Source { source, table } => {
            format!("{{{{ get_where_subquery(source('{source}', '{table}')) }}}}")
        }
    }
}

/// dbt's `md5(name + repr(hashable test_metadata))[-10:]`, the `repr` written
/// straight into one buffer (tens of thousands of tests per large project).
fn unique_id_hash(name: &str, input: &NamingInput) -> String {
    let model = model_arg(input.target);
    let mut text = String::with_capacity(name.len() + 256);
    text.push_str(name);
    // `{'kwargs': {…}, 'name': …, 'namespace': …}`: keys sorted, and `model`
    // takes its sorted place among the arguments (replacing one so named).
    text.push_str("{'kwargs': {");
    let args = input.args.iter().filter(|(k, _)| k.as_str() != "model");
    let (before, after): (Vec<_>, Vec<_>) = args.partition(|(k, _)| k.as_str() < "model");
    let model_entry = (&"model".to_string(), &Value::String(model));
    for (i, (k, v)) in before.into_iter().chain([model_entry]).chain(after).enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        write_py_repr_str(k, &mut text);
        text.push_str(": ");
        write_hashable_repr(v, &mut text);
    }
    text.push_str("}, 'name': ");
    write_py_repr_str(input.test, &mut text);
    text.push_str(", 'namespace': ");
    write_py_repr_str(input.namespace.unwrap_or("None"), &mut text);
    text.push('}');
    let hex = md5_hex(&text);
    hex[hex.len() - 10..].to_string()
}

/// Lowercase hex of the MD5 of `text` (tens of thousands per large project:
/// no formatting machinery per byte).
pub(crate) fn md5_hex(text: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for b in Md5::digest(text.as_bytes()) {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Appends `part` with every run of characters other than `[0-9a-zA-Z_]` as one `_`.
fn clean_into(part: &str, out: &mut String) {
    let mut in_run = false;
    for c in part.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
}

/// Python's `repr()` of dbt's `get_hashable_md` of a value (dicts with keys
/// sorted, lists, and `str()` of the rest), appended to `out`.
fn write_hashable_repr(v: &Value, out: &mut String) {
    match v {
        Value::Mapping(m) => {
            // Keys are compared as their `str()`; a later equal one wins, as in a dict.
            let sorted: BTreeMap<String, &Value> = m.iter().map(|(k, v)| (py_str(k), v)).collect();
            out.push('{');
            for (i, (k, v)) in sorted.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_repr_str(k, out);
                out.push_str(": ");
                write_hashable_repr(v, out);
            }
            out.push('}');
        }
        Value::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_hashable_repr(item, out);
            }
            out.push(']');
        }
        Value::Tagged(t) => write_hashable_repr(&t.value, out),
        Value::String(s) => write_py_repr_str(s, out),
        other => write_py_repr_str(&py_str(other), out),
    }
}

/// Python's `str()` of a YAML value as PyYAML loads it.
pub fn py_str(v: &Value) -> String {
    py_text(v).into_owned()
}

/// [`py_str`] without copying a string value.
fn py_text(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        other => std::borrow::Cow::Owned(py_repr(other)),
    }
}

/// Python's `repr()` of a YAML value as PyYAML loads it.
pub(crate) fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => py_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => py_repr_str(s),
        Value::Sequence(items) => format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Mapping(m) => format!(
            "{{{}}}",
            m.iter().map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v))).collect::<Vec<_>>().join(", ")
        ),
        Value::Tagged(t) => py_repr(&t.value),
    }
}

fn py_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        (if f > 0.0 { "inf" } else { "-inf" }).to_string()
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Python's `repr()` of a string: single quotes unless the text has a single
/// quote and no double quote; backslashes, the quote and control characters escaped.
pub fn py_repr_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_py_repr_str(s, &mut out);
    out
}

/// [`py_repr_str`], appended to `out`.
fn write_py_repr_str(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    // Most names and arguments need no escapes: copy them whole.
    if !s.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'\\' || b == quote as u8) {
        out.push_str(s);
        out.push(quote);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(yaml: &str) -> BTreeMap<String, Value> {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    fn names(test: &str, target: TestTarget, a: &str, custom: Option<&str>) -> TestNames {
        let a = args(a);
        generic_test_names(&NamingInput {
            project: "shop",
            test,
            namespace: None,
            target: &target,
            args: &a,
            custom_name: custom,
        })
    }

    fn model(m: &str) -> TestTarget {
        TestTarget::Model { name: m.into(), version: None }
    }

    // Every expected value below is what dbt-core 1.10.23 put in its
    // manifest.json for the same YAML (name, alias and unique_id).

    #[test]
    fn builtin_tests_match_dbt_names_and_ids() {
        let t = names("not_null", model("stg_orders"), "{column_name: id}", None);
        assert_eq!(t.name, "not_null_stg_orders_id");
        assert_eq!(t.alias, t.name);
        assert_eq!(t.unique_id, "test.shop.not_null_stg_orders_id.8cf5724805");
        let t = names("unique", model("stg_orders"), "{column_name: id}", None);
        assert_eq!(t.unique_id, "test.shop.unique_stg_orders_id.beb6e97f2f");
        let t = names("accepted_values", model("stg_orders"), "{column_name: status, values: [placed, shipped]}", None);
        assert_eq!(t.unique_id, "test.shop.accepted_values_stg_orders_status__placed__shipped.0b09736f95");
        let t = names(
            "relationships",
            model("stg_orders"),
            "{column_name: customer_id, to: \"ref('customers')\", field: id}",
            None,
        );
        assert_eq!(t.unique_id, "test.shop.relationships_stg_orders_customer_id__id__ref_customers_.2fd8975943");
    }

    #[test]
    fn arguments_sort_by_key_with_column_name_among_them() {
        let t = names("positive", model("stg_orders"), "{column_name: customer_id, a_arg: 1}", None);
        assert_eq!(t.unique_id, "test.shop.positive_stg_orders_1__customer_id.ffcdeb7377");
        let t = names("positive", model("stg_orders"), "{column_name: amount}", None);
        assert_eq!(t.unique_id, "test.shop.positive_stg_orders_amount.009e0f2d06");
    }

    #[test]
    fn long_names_get_an_md5_alias_and_keep_the_full_name() {
        let t = names(
            "accepted_values",
            model("stg_orders"),
            "{column_name: status, values: [placed, shipped, returned, completed, a_very_long_status_value]}",
            None,
        );
        assert_eq!(
            t.name,
            "accepted_values_stg_orders_status__placed__shipped__returned__completed__a_very_long_status_value"
        );
        assert_eq!(t.alias, "accepted_values_stg_orders_a09939dd6a625c9075721075b882ff8b");
        assert_eq!(t.unique_id, format!("test.shop.{}.11f9b39230", t.name));
    }

    #[test]
    fn source_tests_custom_names_and_quoted_columns() {
        let src = TestTarget::Source { source: "raw".into(), table: "raw_orders".into() };
        let t = names("not_null", src, "{column_name: id}", None);
        assert_eq!(t.unique_id, "test.shop.source_not_null_raw_raw_orders_id.de303a4e50");
        let t = names("not_null", model("stg_orders"), "{column_name: amount}", Some("my_amount_check"));
        assert_eq!((t.name.as_str(), t.alias.as_str()), ("my_amount_check", "my_amount_check"));
        assert_eq!(t.unique_id, "test.shop.my_amount_check.f08a494aae");
        let t = names("not_null", model("m"), "{column_name: '\"Order Id\"'}", None);
        assert_eq!(t.unique_id, "test.shop.not_null_m__Order_Id_.f5f1e83ed5");
    }

    #[test]
    fn python_reprs() {
        assert_eq!(py_repr_str("a"), "'a'");
        assert_eq!(py_repr_str("ref('x')"), "\"ref('x')\"");
        assert_eq!(py_repr_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr_str("a\\b\n"), "'a\\\\b\\n'");
        assert_eq!(py_str(&Value::Bool(true)), "True");
        assert_eq!(py_str(&Value::Null), "None");
        assert_eq!(py_str(&serde_yaml::from_str("1.0").expect("yaml")), "1.0");
        assert_eq!(py_str(&serde_yaml::from_str("2.5").expect("yaml")), "2.5");
        assert_eq!(py_str(&serde_yaml::from_str("[1, a, true]").expect("yaml")), "[1, 'a', True]");
        let mut cleaned = String::from("x_");
        clean_into("a b--c", &mut cleaned);
        assert_eq!(cleaned, "x_a_b_c");
    }
}
