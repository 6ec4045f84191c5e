//! dbt's `adapter` and `api` objects for the duckdb adapter.
//!
//! `adapter.dispatch('name', 'pkg')` finds `duckdb__name`, else
//! `default__name`, among the project's macros. `adapter.quote`,
//! `adapter.get_relation` (with the catalog's other reads in [`catalog`]),
//! `adapter.get_columns_in_relation` and `load_relation` ask the node's connection through `run_query`'s callback
//! and answer `None` / `[]` outside the execute pass, as dbt does while
//! parsing. The few adapter methods that change the database
//! (`drop_relation`, `create_schema`, …) are in [`ddl`].
//! `api.Relation.create` builds a relation; `api.Column` and the
//! columns `get_columns_in_relation` returns are dbt-duckdb's `Column`
//! ([`column`]).

mod catalog;
mod column;
mod ddl;

use super::context::{invalid, query_with};
use super::relation::Relation;
use column::{Column, ColumnApi};
use minijinja::value::{from_args, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Adapter {
    /// Every macro of the run, by package: where dispatch looks.
    pub(crate) macros: Arc<super::namespaces::MacroIndex>,
    /// dbt-duckdb's `adapter.external_root()`: the profile's `external_root`.
    pub(crate) external_root: String,
}

pub(super) fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A relation argument: a relation object or its parts.
pub(super) fn relation_arg(v: &Value) -> Result<Relation, Error> {
    if let Some(r) = v.downcast_object_ref::<Relation>() {
        return Ok(r.clone());
    }
    Err(invalid(format!("expected a relation (from `ref`, `source` or `this`), got `{v}`")))
}

impl Adapter {
    /// dbt's `adapter.dispatch(name, macro_namespace)`: see [`super::namespaces`].
    fn dispatch(&self, state: &State, args: &[Value]) -> Result<Value, Error> {
        let (name, namespace, kwargs): (&str, Option<&str>, Kwargs) = from_args(args)?;
        let namespace = namespace.map(str::to_string).or(kwargs.get::<Option<String>>("macro_namespace")?);
        kwargs.assert_all_used()?;
        if let Some((ns, short)) = name.split_once('.') {
            return Err(invalid(format!(
                "`adapter.dispatch('{name}')`: `.` is not part of a macro name (hint: write `adapter.dispatch('{short}', macro_namespace='{ns}')`)"
            )));
        }
        let scope = super::namespaces::Locals::scope_in(state);
        self.macros.dispatch(name, namespace.as_deref(), scope.as_deref()).map_err(|tried| {
            let searched = tried.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
            let ns = namespace.as_deref().unwrap_or("None");
            invalid(format!(
                "in dispatch: no macro named `{name}` found within namespace `{ns}`; searched {searched} (hint: define `default__{name}` in `macros/`, or install the package that has it and run `runner deps`)"
            ))
        })
    }

    /// dbt's `load_relation(relation)`: the relation if it exists, else `None`.
    pub fn load_relation(&self, state: &State, rel: &Value) -> Result<Value, Error> {
        let r = relation_arg(rel)?;
        self.get_relation(state, &r.database, &r.schema, &r.identifier)
    }

    /// dbt-duckdb's `get_columns_in_relation`: the catalog's columns, with
    /// their sizes, as `Column` objects (`[]` outside the execute pass and for
    /// a relation that does not exist). dbt-duckdb reads
    /// `information_schema.columns`; that view lists every column of every
    /// relation (rendering each view's SQL), 5-15 ms a call on a suite's
    /// database, so the relation's own `pragma_table_info` is asked instead and
    /// the sizes are derived as DuckDB's `duckdb_columns()` derives them.
    fn columns(&self, state: &State, rel: &Relation) -> Result<Value, Error> {
        let name = [&rel.database, &rel.schema, &rel.identifier].map(|p| quote(p)).join(".");
        let sql = "select name, type from pragma_table_info(?)";
        let t = match query_with(state, sql, &[&name], "adapter.get_columns_in_relation") {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(Value::from(Vec::<Value>::new())),
            // DuckDB's words for a relation (or its schema or database) that is not there.
            Err(e) if is_missing_relation(&e.to_string()) => return Ok(Value::from(Vec::<Value>::new())),
            Err(e) => return Err(e),
        };
        let cols: Vec<Value> = t
            .rows
            .iter()
            .filter_map(|r| match r.as_slice() {
                [name, ty] => {
                    let ty = ty.to_string();
                    let (precision, scale) = numeric_sizes(&ty);
                    Some(Column::with_sizes(&name.to_string(), &ty, Value::from(()), precision, scale).to_value())
                }
                _ => None,
            })
            .collect();
        Ok(Value::from(cols))
    }
}

/// Whether a failed catalog lookup says the relation, its schema or its
/// database does not exist (DuckDB's catalog errors).
fn is_missing_relation(message: &str) -> bool {
    message.contains("Catalog Error") && message.contains("does not exist")
}

/// `numeric_precision` and `numeric_scale` of a DuckDB type, as
/// `duckdb_columns()` (and so `information_schema.columns`) gives them:
/// bits for the signed integers and floats, digits for decimals, null for
/// everything else, unsigned integers included.
fn numeric_sizes(ty: &str) -> (Value, Value) {
    let bits = match ty {
        "TINYINT" => Some(8),
        "SMALLINT" => Some(16),
        "INTEGER" => Some(32),
        "BIGINT" => Some(64),
        "HUGEINT" => Some(128),
        "FLOAT" => Some(24),
        "DOUBLE" => Some(53),
        _ => None,
    };
    if let Some(b) = bits {
        return (Value::from(b), Value::from(0));
    }
    let decimal = ty.strip_prefix("DECIMAL(").and_then(|r| r.strip_suffix(')')).and_then(|r| r.split_once(','));
    match decimal.and_then(|(p, s)| Some((p.trim().parse::<i64>().ok()?, s.trim().parse::<i64>().ok()?))) {
        Some((p, s)) => (Value::from(p), Value::from(s)),
        None => (Value::from(()), Value::from(())),
    }
}

impl Object for Adapter {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_str()? == "type").then(|| Value::from("duckdb"))
    }

    fn call_method(self: &Arc<Self>, state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "dispatch" => self.dispatch(state, args),
            "quote" => {
                let (s,): (&str,) = from_args(args)?;
                Ok(Value::from(quote(s)))
            }
            "type" => Ok(Value::from("duckdb")),
            "external_root" => Ok(Value::from(self.external_root.as_str())),
            "get_relation" => {
                let (db, schema, name, kwargs): (Option<String>, Option<String>, Option<String>, Kwargs) =
                    from_args(args)?;
                let pick = |pos: Option<String>, key: &str| -> Result<String, Error> {
                    pos.or(kwargs.get::<Option<String>>(key)?)
                        .ok_or_else(|| invalid(format!("`adapter.get_relation` needs `{key}`")))
                };
                let (db, schema, name) = (pick(db, "database")?, pick(schema, "schema")?, pick(name, "identifier")?);
                kwargs.assert_all_used()?;
                self.get_relation(state, &db, &schema, &name)
            }
            "get_columns_in_relation" => {
                let (rel,): (Value,) = from_args(args)?;
                self.columns(state, &relation_arg(&rel)?)
            }
            "drop_relation" | "truncate_relation" | "rename_relation" | "create_schema" | "drop_schema" => {
                ddl::call(state, method, args)
            }
            "check_schema_exists" => ddl::check_schema_exists(state, args),
            "get_missing_columns" => self.get_missing_columns(state, args),
            "get_hard_deletes_behavior" => {
                let (config,): (Value,) = from_args(args)?;
                hard_deletes_behavior(state, &config).map(Value::from)
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// dbt's `adapter.get_hard_deletes_behavior(config)`: `hard_deletes`, or
/// the older `invalidate_hard_deletes`, as `ignore`, `invalidate` or
/// `new_record`; both set, or another value, is dbt's error. `config` is the
/// `config` object or a dict of it (a strategy macro's `model_config`).
fn hard_deletes_behavior(state: &mut State<'_, '_>, config: &Value) -> Result<&'static str, Error> {
    let mut read = |key: &str| -> Result<Value, Error> {
        match config.get_item(&Value::from(key)) {
            Ok(v) if !v.is_undefined() => Ok(v),
            _ if config.kind() == minijinja::value::ValueKind::Map => Ok(Value::from(())),
            _ => config.call_method(state, "get", &[Value::from(key)]),
        }
    };
    let (legacy, mode) = (read("invalidate_hard_deletes")?, read("hard_deletes")?);
    let set = |v: &Value| !v.is_none() && !v.is_undefined();
    if set(&legacy) && set(&mode) {
        return Err(invalid(
            "You cannot set both the invalidate_hard_deletes and hard_deletes config properties on the same snapshot.",
        ));
    }
    if legacy.is_true() {
        return Ok("invalidate");
    }
    match mode.as_str() {
        Some("invalidate") => Ok("invalidate"),
        Some("new_record") => Ok("new_record"),
        Some("ignore") => Ok("ignore"),
        None if !set(&mode) => Ok("ignore"),
        _ => Err(invalid("Invalid setting for property hard_deletes.")),
    }
}

/// dbt's `api` global: `api.Relation` and `api.Column`.
pub(crate) fn api(database: &str) -> Value {
    Value::from_pairs([
        ("Relation", Value::from_object(RelationApi { database: database.to_string() })),
        ("Column", Value::from_object(ColumnApi)),
    ])
}

/// `api.Relation.create(database=…, schema=…, identifier=…)`.
#[derive(Debug)]
pub struct RelationApi {
    pub database: String,
}

impl Object for RelationApi {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        if method == "scd_args" {
            return scd_args(args);
        }
        if method != "create" {
            return Err(Error::from(ErrorKind::UnknownMethod));
        }
        let (kwargs,): (Kwargs,) = from_args(args)?;
        let get = |k: &str| kwargs.get::<Option<String>>(k);
        let database = get("database")?.unwrap_or_else(|| self.database.clone());
        let schema = get("schema")?.unwrap_or_default();
        let identifier = get("identifier")?.unwrap_or_default();
        let kind = get("type")?;
        kwargs.assert_all_used()?;
        let mut rel = Relation::new(&database, &schema, &identifier);
        rel.kind = kind;
        Ok(rel.to_value())
    }
}

/// `api.Relation.scd_args(primary_key, updated_at)`: what a snapshot's
/// `dbt_scd_id` hashes, the key's columns (one, or each of a list) then the stamp.
fn scd_args(args: &[Value]) -> Result<Value, Error> {
    let (key, updated_at): (Value, Value) = from_args(args)?;
    let mut out: Vec<Value> = match key.kind() {
        minijinja::value::ValueKind::Seq => key.try_iter()?.collect(),
        _ => vec![key],
    };
    out.push(updated_at);
    Ok(Value::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes derived from a type name equal what DuckDB's own
    /// `information_schema.columns` reports, type by type.
    #[test]
    fn numeric_sizes_equal_duckdbs_information_schema() {
        let conn = duckdb::Connection::open_in_memory().expect("db");
        conn.execute_batch(
            "create table t(a tinyint, b smallint, c integer, d bigint, e hugeint, f utinyint, g usmallint, \
             h uinteger, i ubigint, j uhugeint, k float, l double, m decimal(10,2), n decimal(38,10), o varchar, \
             p date, q timestamp, r boolean, s interval, u blob, v int[], w struct(x int), x uuid, y timestamptz, \
             z decimal(4,1), aa decimal, ab numeric(18,0), ac varchar(10), ad map(int, int), ae json)",
        )
        .expect("table");
        let mut stmt = conn
            .prepare(
                "select data_type, numeric_precision, numeric_scale, character_maximum_length \
                 from information_schema.columns where table_name = 't' order by ordinal_position",
            )
            .expect("query");
        let rows: Vec<(String, Option<i64>, Option<i64>, Option<i64>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows.len(), 30);
        let v = |o: Option<i64>| o.map(Value::from).unwrap_or(Value::from(()));
        for (ty, precision, scale, char_size) in rows {
            assert_eq!(numeric_sizes(&ty), (v(precision), v(scale)), "{ty}");
            assert_eq!(char_size, None, "{ty}");
        }
    }

    #[test]
    fn a_missing_relation_is_told_from_other_errors() {
        let conn = duckdb::Connection::open_in_memory().expect("db");
        for name in ["\"memory\".\"main\".\"nope\"", "\"memory\".\"nos\".\"t\"", "\"nodb\".\"s\".\"t\""] {
            let e = conn.execute_batch(&format!("select * from pragma_table_info('{name}')")).expect_err(name);
            assert!(is_missing_relation(&e.to_string()), "{e}");
        }
        let e = conn.execute_batch("select * from pragma_table_info(1, 2)").expect_err("bad call");
        assert!(!is_missing_relation(&e.to_string()), "{e}");
    }
}
