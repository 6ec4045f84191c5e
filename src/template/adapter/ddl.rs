//! The `adapter` methods that change the database, as dbt-duckdb runs them:
//! `drop_relation`, `truncate_relation`, `rename_relation`, `create_schema`,
//! `drop_schema`, and `check_schema_exists` beside them. Each sends one
//! statement through the node's connection (so it joins the node's open
//! transaction, as dbt's macro `statement` does) and does nothing outside the
//! execute pass, where dbt's parser does not run them either.

use super::super::context::{invalid, query};
use super::super::relation::Relation;
use super::{literal, relation_arg};
use minijinja::value::{from_args, Value};
use minijinja::{Error, State};

/// The statement dbt-duckdb's `duckdb__<method>` macro sends.
fn statement(method: &str, args: &[Value]) -> Result<String, Error> {
    let (rel, to): (Value, Option<Value>) = from_args(args)?;
    let rel = relation_arg(&rel)?;
    Ok(match method {
        "drop_relation" => format!("drop {} if exists {rel} cascade", kind(&rel, method)?),
        "truncate_relation" => format!("truncate table {rel}"),
        "rename_relation" => {
            let to = to.ok_or_else(|| invalid("`adapter.rename_relation` needs the relation to rename to"))?;
            let to = relation_arg(&to)?;
            format!("alter {} {rel} rename to {}", kind(&rel, method)?, to.quoted_identifier())
        }
        "create_schema" => format!("create schema if not exists {}", without_identifier(&rel)),
        _ => format!("drop schema if exists {} cascade", without_identifier(&rel)),
    })
}

/// dbt's `relation.without_identifier()`: `"database"."schema"`.
fn without_identifier(rel: &Relation) -> String {
    let mut schema = rel.clone();
    schema.include = [true, true, false];
    schema.to_string()
}

/// dbt refuses to drop or rename a relation whose type it does not know.
fn kind<'a>(rel: &'a Relation, method: &str) -> Result<&'a str, Error> {
    rel.kind.as_deref().ok_or_else(|| {
        invalid(format!(
            "tried to `{method}` `{rel}`, but its type is null (hint: `{{{{ this.incorporate(type='table') }}}}` or a relation from `adapter.get_relation`)"
        ))
    })
}

pub(super) fn call(state: &State, method: &str, args: &[Value]) -> Result<Value, Error> {
    let sql = statement(method, args)?;
    query(state, &sql, &format!("adapter.{method}"))?;
    Ok(Value::from(()))
}

/// `adapter.check_schema_exists(database, schema)`.
pub(super) fn check_schema_exists(state: &State, args: &[Value]) -> Result<Value, Error> {
    let (database, schema): (String, String) = from_args(args)?;
    let sql = format!(
        "select 1 from information_schema.schemata where lower(catalog_name) = lower({}) and lower(schema_name) = lower({})",
        literal(&database),
        literal(&schema)
    );
    Ok(Value::from(query(state, &sql, "adapter.check_schema_exists")?.is_some_and(|t| !t.rows.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(kind: Option<&str>) -> Value {
        let mut r = Relation::new("db", "s", "t");
        r.kind = kind.map(str::to_string);
        r.to_value()
    }

    #[test]
    fn statements_are_dbt_duckdbs() {
        let drop = statement("drop_relation", &[rel(Some("table"))]).expect("drop");
        assert_eq!(drop, r#"drop table if exists "db"."s"."t" cascade"#);
        let rename = statement("rename_relation", &[rel(Some("view")), Relation::new("db", "s", "u").to_value()]);
        assert_eq!(rename.expect("rename"), r#"alter view "db"."s"."t" rename to "u""#);
        assert_eq!(statement("truncate_relation", &[rel(None)]).expect("t"), r#"truncate table "db"."s"."t""#);
        assert_eq!(statement("create_schema", &[rel(None)]).expect("c"), r#"create schema if not exists "db"."s""#);
    }

    #[test]
    fn dropping_a_relation_of_unknown_type_is_refused_as_dbt_does() {
        let e = statement("drop_relation", &[rel(None)]).expect_err("no type");
        assert!(e.to_string().contains("its type is null"), "{e}");
    }
}
