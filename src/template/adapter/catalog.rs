//! The `adapter` methods that read the catalog: `get_relation` and
//! `get_missing_columns`, answered as dbt-duckdb answers them (a relation's
//! type from `information_schema.tables`: a `BASE TABLE` or `LOCAL
//! TEMPORARY` is a `table`, a `VIEW` a `view`). Each asks the node's
//! connection and answers `None` / `[]` outside the execute pass, as dbt
//! does while parsing. Changes nothing. (dbt's adapter object has no
//! `list_relations_without_caching` or `list_schemas`: those are global
//! macros, in `builtins/catalog.sql`.)

use super::super::context::query;
use super::super::relation::Relation;
use super::{literal, relation_arg, Adapter};
use minijinja::value::{from_args, Value};
use minijinja::{Error, State};

/// dbt-duckdb's relation types, from `information_schema.tables.table_type`.
const TYPE_SQL: &str =
    "case table_type when 'BASE TABLE' then 'table' when 'VIEW' then 'view' when 'LOCAL TEMPORARY' then 'table' end";

/// The relations of `where_sql`, each with its type.
fn relations(state: &State, where_sql: &str, who: &str) -> Result<Option<Vec<Relation>>, Error> {
    let sql = format!(
        "select table_catalog, table_schema, table_name, {TYPE_SQL} from information_schema.tables where {where_sql} \
         order by table_schema, table_name"
    );
    let Some(t) = query(state, &sql, who)? else { return Ok(None) };
    let rels = t
        .rows
        .iter()
        .filter_map(|r| match r.as_slice() {
            [db, schema, name, kind] => {
                let mut rel = Relation::new(&db.to_string(), &schema.to_string(), &name.to_string());
                rel.kind = kind.as_str().map(str::to_string);
                Some(rel)
            }
            _ => None,
        })
        .collect();
    Ok(Some(rels))
}

impl Adapter {
    /// The relation as it exists in the database, matched case-insensitively as DuckDB does.
    pub(super) fn get_relation(&self, state: &State, db: &str, schema: &str, name: &str) -> Result<Value, Error> {
        let filter = format!(
            "lower(table_catalog) = lower({}) and lower(table_schema) = lower({}) and lower(table_name) = lower({})",
            literal(db),
            literal(schema),
            literal(name)
        );
        let found = relations(state, &filter, "adapter.get_relation")?.unwrap_or_default();
        Ok(found.first().map(Relation::to_value).unwrap_or(Value::from(())))
    }

    /// `adapter.get_missing_columns(from_relation, to_relation)`: the
    /// columns of the first whose names the second lacks, in the first's
    /// order (dbt compares the names as they are).
    pub(super) fn get_missing_columns(&self, state: &State, args: &[Value]) -> Result<Value, Error> {
        let (from, to): (Value, Value) = from_args(args)?;
        let (from, to) = (self.columns(state, &relation_arg(&from)?)?, self.columns(state, &relation_arg(&to)?)?);
        let name = |c: &Value| c.get_attr("name").ok().map(|n| n.to_string());
        let present: Vec<String> = to.try_iter()?.filter_map(|c| name(&c)).collect();
        let missing: Vec<Value> = from.try_iter()?.filter(|c| name(c).is_some_and(|n| !present.contains(&n))).collect();
        Ok(Value::from(missing))
    }
}
