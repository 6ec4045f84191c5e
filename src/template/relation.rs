//! The relation object that `ref()`, `source()` and `this` return in Jinja.
//!
//! Renders as dbt-duckdb does, `"database"."schema"."identifier"`, and exposes
//! `.database`, `.schema`, `.identifier`, `.name`, `.table`. An ephemeral
//! model's relation is a CTE and renders as its bare name, `__dbt__cte__<alias>`.
//! Pure data: it knows nothing of the graph or the database.

use minijinja::value::{Object, ObjectRepr, Value};
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
        write!(f, "{}.{}.{}", quote(&self.database), quote(&self.schema), quote(&self.identifier))
    }
}

impl Object for Relation {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "database" => Some(Value::from(self.database.clone())),
            "schema" => Some(Value::from(self.schema.clone())),
            "identifier" | "name" | "table" => Some(Value::from(self.identifier.clone())),
            _ => None,
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
    fn an_ephemeral_renders_as_its_cte_name() {
        let r = Relation::cte("stg");
        assert_eq!(r.to_string(), "__dbt__cte__stg");
        let env = minijinja::Environment::new();
        let out =
            env.render_str("{{ r }} {{ r.identifier }}", minijinja::context! { r => r.to_value() }).expect("renders");
        assert_eq!(out, "__dbt__cte__stg __dbt__cte__stg");
    }
}
