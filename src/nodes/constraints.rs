//! dbt's `constraints:` entries (on a column, or on the model with
//! `columns:`): read from raw YAML once, checked as dbt checks them while
//! parsing, and rendered into `create table` DDL as dbt-duckdb 1.9 renders
//! them. DuckDB enforces every type dbt knows (`check`, `not_null`,
//! `unique`, `primary_key`, `foreign_key`), so dbt's "not enforced" and
//! "not supported" warnings never apply to it. Pure: no I/O; a foreign key's
//! `to:` is resolved by the caller ([`Target`] → a relation's text).

use serde_yaml::Value;

/// The constraint types dbt accepts, in dbt's order (its error lists them so).
pub(crate) const TYPES: &[&str] = &["check", "not_null", "unique", "primary_key", "foreign_key", "custom"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Check,
    NotNull,
    Unique,
    PrimaryKey,
    ForeignKey,
    Custom,
}

impl Kind {
    /// dbt's name of the type.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Check => "check",
            Kind::NotNull => "not_null",
            Kind::Unique => "unique",
            Kind::PrimaryKey => "primary_key",
            Kind::ForeignKey => "foreign_key",
            Kind::Custom => "custom",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "check" => Kind::Check,
            "not_null" => Kind::NotNull,
            "unique" => Kind::Unique,
            "primary_key" => Kind::PrimaryKey,
            "foreign_key" => Kind::ForeignKey,
            "custom" => Kind::Custom,
            _ => return None,
        })
    }
}

/// What a foreign key's `to:` names: dbt parses it statically.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Target {
    Ref(String),
    Source(String, String),
}

/// One constraint as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Constraint {
    pub kind: Kind,
    pub name: Option<String>,
    pub expression: Option<String>,
    /// `to:` parsed; resolved to a relation before rendering.
    pub to: Option<Target>,
    pub to_columns: Vec<String>,
    /// Model-level only: the columns it is on.
    pub columns: Vec<String>,
    pub warn_unsupported: bool,
}

const KEYS: &[&str] =
    &["type", "name", "expression", "warn_unenforced", "warn_unsupported", "to", "to_columns", "columns"];

/// Reads a `constraints:` list. `Err` is dbt's parse error text (without
/// the file); `Ok` carries the keys dbt would ignore, for a warning.
pub(crate) fn parse_list(raw: &Value, model_level: bool) -> Result<(Vec<Constraint>, Vec<String>), String> {
    let Value::Sequence(items) = raw else {
        return Err("`constraints` must be a list of constraints, each with a `type`".into());
    };
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for item in items {
        let Value::Mapping(m) = item else {
            return Err(format!("a constraint must be a map with a `type`, not `{}`", super::yaml_scalar(item)));
        };
        let get = |k: &str| m.get(k).filter(|v| !v.is_null());
        let text = |k: &str| -> Result<Option<String>, String> {
            match get(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(super::yaml_scalar(v))),
                Some(_) => Err(format!("constraint `{k}` must be text")),
            }
        };
        let list = |k: &str| -> Result<Vec<String>, String> {
            match get(k) {
                None => Ok(Vec::new()),
                Some(Value::Sequence(s)) => s
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_string).ok_or_else(|| format!("constraint `{k}` must list column names"))
                    })
                    .collect(),
                Some(_) => Err(format!("constraint `{k}` must be a list of column names")),
            }
        };
        let flag = |k: &str| get(k).and_then(Value::as_bool).unwrap_or(true);
        let written = get("type").map(super::yaml_scalar).unwrap_or_default();
        let kind = Kind::parse(&written).ok_or_else(|| invalid_type(&written))?;
        let to = match text("to")? {
            None => None,
            Some(t) => Some(
                parse_target(&t)
                    .ok_or_else(|| format!("Invalid 'ref' or 'source' syntax on foreign key constraint 'to': {t}."))?,
            ),
        };
        for k in m.keys().filter_map(Value::as_str) {
            if !KEYS.contains(&k) || (!model_level && k == "columns") {
                unknown.push(k.to_string());
            }
        }
        out.push(Constraint {
            kind,
            name: text("name")?,
            expression: text("expression")?,
            to,
            to_columns: list("to_columns")?,
            columns: list("columns")?,
            warn_unsupported: flag("warn_unsupported"),
        });
    }
    Ok((out, unknown))
}

fn invalid_type(written: &str) -> String {
    let types: Vec<String> = TYPES.iter().map(|t| format!("'{t}'")).collect();
    format!("invalid constraint type `{written}`: type must be one of [{}]", types.join(", "))
}

/// `ref('m')`, `ref("pkg", "m")`, `source('s', 't')`, as dbt's static parser reads them.
pub(crate) fn parse_target(text: &str) -> Option<Target> {
    let t = text.trim();
    let (func, rest) = t.split_once('(')?;
    let args = rest.trim_end().strip_suffix(')')?;
    let mut strings = Vec::new();
    for arg in args.split(',') {
        let a = arg.trim();
        // `version=`/`v=` pins a model version; the name is the positional part.
        if a.contains('=') {
            continue;
        }
        let inner = a.strip_prefix('\'').and_then(|s| s.strip_suffix('\''));
        let inner = inner.or_else(|| a.strip_prefix('"').and_then(|s| s.strip_suffix('"')))?;
        strings.push(inner.to_string());
    }
    match (func.trim(), strings.as_slice()) {
        ("ref", [name]) | ("ref", [_, name]) => Some(Target::Ref(name.clone())),
        ("source", [s, t]) => Some(Target::Source(s.clone(), t.clone())),
        _ => None,
    }
}

/// dbt-duckdb's DDL for a column-level constraint (`to` the referenced
/// relation as text); `None` where dbt renders nothing (a `check` or
/// `custom` without `expression`).
pub(crate) fn render_column(c: &Constraint, to: Option<&str>) -> Option<String> {
    let expr = c.expression.as_deref().unwrap_or("");
    let text = match c.kind {
        Kind::Check if !expr.is_empty() => format!("check ({expr})"),
        Kind::NotNull => format!("not null {expr}"),
        Kind::Unique => format!("unique {expr}"),
        Kind::PrimaryKey => format!("primary key {expr}"),
        Kind::ForeignKey => match to {
            Some(to) if !c.to_columns.is_empty() => {
                // dbt-duckdb drops the database part: DuckDB refuses foreign
                // keys across databases, and its naive split does the same.
                let pieces: Vec<&str> = to.split('.').collect();
                let to = if pieces.len() > 2 { pieces[1..].join(".") } else { to.to_string() };
                format!("references {to} ({})", c.to_columns.join(", "))
            }
            _ => format!("references {expr}"),
        },
        Kind::Custom if !expr.is_empty() => expr.to_string(),
        Kind::Check | Kind::Custom => return None,
    };
    Some(text.trim().to_string())
}

/// dbt's DDL for a model-level constraint; `None` where dbt renders nothing
/// (`not_null` at model level, a `check` or `custom` without `expression`).
pub(crate) fn render_model(c: &Constraint, to: Option<&str>) -> Option<String> {
    let prefix = c.name.as_deref().map(|n| format!("constraint {n} ")).unwrap_or_default();
    let columns = c.columns.join(", ");
    let expr = c.expression.as_deref().filter(|e| !e.is_empty());
    let spaced = expr.map(|e| format!(" {e}")).unwrap_or_default();
    Some(match c.kind {
        Kind::Check => format!("{prefix}check ({})", expr?),
        Kind::Unique => format!("{prefix}unique{spaced} ({columns})"),
        Kind::PrimaryKey => format!("{prefix}primary key{spaced} ({columns})"),
        Kind::ForeignKey => match to {
            Some(to) if !c.to_columns.is_empty() => {
                format!("{prefix}foreign key ({columns}) references {to} ({})", c.to_columns.join(", "))
            }
            _ => format!("{prefix}foreign key ({columns}) references {}", expr?),
        },
        Kind::Custom => format!("{prefix}{}", expr?),
        Kind::NotNull => return None,
    })
}

/// Why a constraint renders nothing, for a warning naming it (dbt drops it silently).
pub(crate) fn dropped_reason(c: &Constraint, model_level: bool) -> Option<&'static str> {
    let no_expr = c.expression.as_deref().is_none_or(str::is_empty);
    match c.kind {
        Kind::NotNull if model_level => Some("`not_null` is a column constraint: put it under the column"),
        Kind::Check | Kind::Custom if no_expr => Some("it has no `expression`"),
        _ => None,
    }
}

/// A foreign key that names neither `to`/`to_columns` nor `expression`
/// would render `references None`, which DuckDB cannot parse.
pub(crate) fn incomplete_foreign_key(c: &Constraint) -> bool {
    c.kind == Kind::ForeignKey
        && (c.to.is_none() || c.to_columns.is_empty())
        && c.expression.as_deref().is_none_or(str::is_empty)
}

/// A `constraints:` list as dbt writes it into the manifest: every field
/// of each entry, defaults filled in (`to` as written).
pub(crate) fn manifest_entries(raw: Option<&Value>, model_level: bool) -> serde_json::Value {
    use serde_json::{json, Value as J};
    let entries = raw.and_then(Value::as_sequence).map(Vec::as_slice).unwrap_or_default();
    let text = |m: &serde_yaml::Mapping, k: &str| match m.get(k) {
        Some(Value::String(s)) => J::String(s.clone()),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => J::String(super::yaml_scalar(v)),
        _ => J::Null,
    };
    let list = |m: &serde_yaml::Mapping, k: &str| {
        J::Array(
            m.get(k)
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(J::from)
                .collect(),
        )
    };
    let flag = |m: &serde_yaml::Mapping, k: &str| J::Bool(m.get(k).and_then(Value::as_bool).unwrap_or(true));
    let out = entries.iter().filter_map(Value::as_mapping).map(|m| {
        let mut e = json!({
            "type": text(m, "type"),
            "name": text(m, "name"),
            "expression": text(m, "expression"),
            "warn_unenforced": flag(m, "warn_unenforced"),
            "warn_unsupported": flag(m, "warn_unsupported"),
            "to": text(m, "to"),
            "to_columns": list(m, "to_columns"),
        });
        if model_level {
            e["columns"] = list(m, "columns");
        }
        e
    });
    J::Array(out.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(yaml: &str, model: bool) -> Vec<Constraint> {
        parse_list(&serde_yaml::from_str(yaml).expect("yaml"), model).expect("valid").0
    }

    #[test]
    fn column_constraints_render_as_dbt_duckdb_writes_them() {
        let cs = list(
            "[{type: not_null}, {type: primary_key}, {type: unique}, {type: check, expression: 'x > 0'}, {type: custom, expression: default 3}]",
            false,
        );
        let out: Vec<Option<String>> = cs.iter().map(|c| render_column(c, None)).collect();
        let want = ["not null", "primary key", "unique", "check (x > 0)", "default 3"];
        assert_eq!(out, want.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>());
        let fk = &list("[{type: foreign_key, to: \"ref('p')\", to_columns: [id]}]", false)[0];
        assert_eq!(fk.to, Some(Target::Ref("p".into())));
        assert_eq!(render_column(fk, Some("\"db\".\"main\".\"p\"")).as_deref(), Some("references \"main\".\"p\" (id)"));
        let by_expr = &list("[{type: foreign_key, expression: 'p (id)'}]", false)[0];
        assert_eq!(render_column(by_expr, None).as_deref(), Some("references p (id)"));
        let no_expr = &list("[{type: check}]", false)[0];
        assert_eq!(render_column(no_expr, None), None);
        assert_eq!(dropped_reason(no_expr, false), Some("it has no `expression`"));
    }

    #[test]
    fn model_constraints_carry_their_name_and_columns() {
        let cs = list(
            "[{type: check, name: pos, expression: 'a > 0'}, {type: unique, columns: [a, b]}, {type: primary_key, columns: [a]},
              {type: foreign_key, columns: [b], to: \"source('raw', 't')\", to_columns: [x, y]}, {type: not_null, columns: [a]}]",
            true,
        );
        assert_eq!(render_model(&cs[0], None).as_deref(), Some("constraint pos check (a > 0)"));
        assert_eq!(render_model(&cs[1], None).as_deref(), Some("unique (a, b)"));
        assert_eq!(render_model(&cs[2], None).as_deref(), Some("primary key (a)"));
        assert_eq!(cs[3].to, Some(Target::Source("raw".into(), "t".into())));
        assert_eq!(
            render_model(&cs[3], Some("\"db\".\"raw\".\"t\"")).as_deref(),
            Some("foreign key (b) references \"db\".\"raw\".\"t\" (x, y)")
        );
        assert_eq!(render_model(&cs[4], None), None);
        assert!(dropped_reason(&cs[4], true).is_some());
    }

    #[test]
    fn bad_entries_are_refused_with_dbts_words() {
        let e = parse_list(&serde_yaml::from_str("[{type: nonsense}]").expect("yaml"), true).expect_err("bad type");
        assert!(
            e.contains("must be one of ['check', 'not_null', 'unique', 'primary_key', 'foreign_key', 'custom']"),
            "{e}"
        );
        let e = parse_list(&serde_yaml::from_str("[{type: foreign_key, to: 'nope(x)'}]").expect("yaml"), false)
            .expect_err("bad to");
        assert!(e.contains("Invalid 'ref' or 'source' syntax"), "{e}");
        assert!(parse_list(&serde_yaml::from_str("{type: check}").expect("yaml"), true).is_err());
        let (_, unknown) =
            parse_list(&serde_yaml::from_str("[{type: check, expresion: x}]").expect("yaml"), false).expect("parses");
        assert_eq!(unknown, vec!["expresion".to_string()]);
    }

    #[test]
    fn the_manifest_lists_every_field_with_dbts_defaults() {
        let raw: Value = serde_yaml::from_str("[{type: unique, columns: [a]}]").expect("yaml");
        let m = manifest_entries(Some(&raw), true);
        assert_eq!(
            m.to_string(),
            r#"[{"columns":["a"],"expression":null,"name":null,"to":null,"to_columns":[],"type":"unique","warn_unenforced":true,"warn_unsupported":true}]"#
        );
        assert_eq!(manifest_entries(None, false).to_string(), "[]");
    }

    #[test]
    fn targets_parse_like_dbts_static_parser() {
        assert_eq!(parse_target("ref('a')"), Some(Target::Ref("a".into())));
        assert_eq!(parse_target(" ref(\"pkg\", \"a\") "), Some(Target::Ref("a".into())));
        assert_eq!(parse_target("ref('a', v=2)"), Some(Target::Ref("a".into())));
        assert_eq!(parse_target("source('s','t')"), Some(Target::Source("s".into(), "t".into())));
        assert_eq!(parse_target("a.b"), None);
        assert_eq!(parse_target("ref(a)"), None);
        let fk = &list("[{type: foreign_key, to: \"ref('p')\"}]", false)[0];
        assert!(incomplete_foreign_key(fk));
    }
}
