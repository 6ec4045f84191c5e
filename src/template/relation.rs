//! The relation object that `ref()`, `source()` and `this` return in Jinja.
//!
//! Renders as dbt-duckdb does, `"database"."schema"."identifier"`, and exposes
//! `.database`, `.schema`, `.identifier`, `.name`, `.table`. An ephemeral
//! model's relation is a CTE and renders as its bare name, `__dbt__cte__<alias>`.
//! Like dbt's relation it is a mapping whose `metadata.type` ends in
//! `Relation` (packages test for that: dbt_utils' `_is_relation`), with
//! `include`, `incorporate`, `render`, `is_table`/`is_view`/`is_cte`.
//! Pure data: it knows nothing of the graph or the database.

use minijinja::value::{from_args, Enumerator, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Relation {
    pub database: String,
    pub schema: String,
    pub identifier: String,
    /// An ephemeral model: a CTE injected into the query, not a database object.
    pub cte: bool,
    /// A source on files (dbt-duckdb's `external_location`): rendered as this.
    pub external: Option<String>,
    /// Which of database, schema and identifier render (dbt's `include()`).
    pub include: [bool; 3],
    /// Which of them render quoted (dbt's `quote()`; all, by dbt-duckdb's policy).
    pub quoted: [bool; 3],
    /// dbt's relation type (`table`, `view`, …) when known.
    pub kind: Option<String>,
}

/// dbt's prefix for the CTE of an ephemeral model.
pub const CTE_PREFIX: &str = "__dbt__cte__";

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Relation {
    pub fn new(database: &str, schema: &str, identifier: &str) -> Relation {
        Relation {
            database: database.into(),
            schema: schema.into(),
            identifier: identifier.into(),
            cte: false,
            external: None,
            include: [true; 3],
            quoted: [true; 3],
            kind: None,
        }
    }

    /// The relation `ref()` returns for an ephemeral model named (or aliased) `alias`.
    pub fn cte(alias: &str) -> Relation {
        Relation {
            database: String::new(),
            schema: String::new(),
            identifier: format!("{CTE_PREFIX}{alias}"),
            cte: true,
            external: None,
            include: [true; 3],
            quoted: [true; 3],
            kind: Some("cte".into()),
        }
    }

    /// `schema.identifier`, as dbt prints relations in its console lines.
    pub fn short(&self) -> String {
        format!("{}.{}", self.schema, self.identifier)
    }

    /// `"schema"."identifier"`: for DDL run against the current catalog.
    pub fn schema_qualified(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.identifier))
    }

    pub fn quoted_schema(&self) -> String {
        quote(&self.schema)
    }

    pub fn quoted_identifier(&self) -> String {
        quote(&self.identifier)
    }

    pub fn to_value(&self) -> Value {
        Value::from_object(self.clone())
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cte {
            return f.write_str(&self.identifier);
        }
        if let Some(location) = &self.external {
            return f.write_str(location);
        }
        let parts = [&self.database, &self.schema, &self.identifier];
        let shown: Vec<String> = parts
            .iter()
            .zip(self.include)
            .zip(self.quoted)
            .filter(|((p, inc), _)| *inc && !p.is_empty())
            .map(|((p, _), q)| if q { quote(p) } else { p.to_string() })
            .collect();
        f.write_str(&shown.join("."))
    }
}

/// The keys a relation has as a mapping.
const KEYS: &[&str] = &["path", "type", "metadata", "database", "schema", "identifier"];

impl Relation {
    fn path(&self) -> Value {
        Value::from_pairs([
            ("database", Value::from(self.database.clone())),
            ("schema", Value::from(self.schema.clone())),
            ("identifier", Value::from(self.identifier.clone())),
        ])
    }

    /// `include(database=…, schema=…, identifier=…)`, `quote(…)` (the same
    /// keywords) and `incorporate(path=…, type=…)`.
    fn changed(&self, method: &str, args: &[Value]) -> Result<Relation, Error> {
        let (kwargs,): (Kwargs,) = from_args(args)?;
        let mut out = self.clone();
        if method == "include" || method == "quote" {
            let flags = if method == "include" { &mut out.include } else { &mut out.quoted };
            for (i, key) in ["database", "schema", "identifier"].into_iter().enumerate() {
                if let Some(on) = kwargs.get::<Option<bool>>(key)? {
                    flags[i] = on;
                }
            }
        } else {
            let path: Option<Value> = kwargs.get("path")?;
            for key in ["database", "schema", "identifier"] {
                let v = path.as_ref().and_then(|p| p.get_attr(key).ok()).filter(|v| !v.is_undefined());
                let v = match v {
                    Some(v) => Some(v),
                    None if method == "replace_path" => kwargs.get::<Option<Value>>(key)?,
                    None => None,
                };
                if let Some(v) = v.filter(|v| !v.is_none()) {
                    let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                    match key {
                        "database" => out.database = text,
                        "schema" => out.schema = text,
                        _ => out.identifier = text,
                    }
                }
            }
            if method == "incorporate" {
                if let Some(t) = kwargs.get::<Option<String>>("type")? {
                    out.kind = Some(t);
                }
            }
        }
        kwargs.assert_all_used()?;
        Ok(out)
    }
}

impl Object for Relation {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let kind = || self.kind.as_deref();
        match key.as_str()? {
            "database" => Some(Value::from(self.database.clone())),
            "schema" => Some(Value::from(self.schema.clone())),
            "identifier" | "name" | "table" => Some(Value::from(self.identifier.clone())),
            "path" => Some(self.path()),
            "type" => Some(kind().map(Value::from).unwrap_or(Value::from(()))),
            // dbt-duckdb's relation class: packages check the name's ending.
            "metadata" => Some(Value::from_pairs([("type", Value::from("DuckDBRelation"))])),
            "is_table" => Some(Value::from(kind() == Some("table"))),
            "is_view" => Some(Value::from(kind() == Some("view"))),
            "is_cte" => Some(Value::from(self.cte)),
            "is_materialized_view" => Some(Value::from(kind() == Some("materialized_view"))),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(KEYS)
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "render" => {
                let () = from_args(args)?;
                Ok(Value::from(self.to_string()))
            }
            "include" | "quote" | "incorporate" | "replace_path" => Ok(self.changed(method, args)?.to_value()),
            "without_identifier" => {
                let mut out = self.as_ref().clone();
                out.include[2] = false;
                Ok(out.to_value())
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_dbt_duckdb() {
        let r = Relation::new("shop", "main", "orders");
        assert_eq!(r.to_string(), "\"shop\".\"main\".\"orders\"");
        assert_eq!(r.short(), "main.orders");
        let env = minijinja::Environment::new();
        let out = env
            .render_str("{{ r }} {{ r.schema }}.{{ r.identifier }}", minijinja::context! { r => r.to_value() })
            .expect("renders");
        assert_eq!(out, "\"shop\".\"main\".\"orders\" main.orders");
    }

    #[test]
    fn is_a_mapping_with_dbt_relation_metadata_and_methods() {
        let env = minijinja::Environment::new();
        let r = Relation::new("db", "main", "t").to_value();
        let out = env
            .render_str(
                "{{ r is mapping }} {{ r.metadata.type }} {{ r.include(database=false) }} \
                 {{ r.incorporate(type='table').is_table }} {{ r.is_view }} \
                 {{ r.incorporate(path={'identifier': 'u'}) }} {{ r.render() }}",
                minijinja::context! { r => r },
            )
            .expect("renders");
        assert_eq!(out, "True DuckDBRelation \"main\".\"t\" True False \"db\".\"main\".\"u\" \"db\".\"main\".\"t\"");
    }

    #[test]
    fn an_ephemeral_renders_as_its_cte_name() {
        let r = Relation::cte("stg");
        assert_eq!(r.to_string(), "__dbt__cte__stg");
        let env = minijinja::Environment::new();
        let out =
            env.render_str("{{ r }} {{ r.identifier }}", minijinja::context! { r => r.to_value() }).expect("renders");
        assert_eq!(out, "__dbt__cte__stg __dbt__cte__stg");
    }
}
