//! The incremental materialization, with dbt-duckdb's behaviour.
//!
//! First run, full refresh, or a view in the way: build the table whole.
//! Otherwise build the new rows into a temporary table, reconcile the target's
//! columns per `on_schema_change`, then apply the strategy (`delete+insert`,
//! `append`, `merge`, or a project's `get_incremental_<name>_sql` macro) and drop the temporary table — all in one transaction,
//! so any failure leaves the old table as it was. `incremental_predicates`
//! are added to the `delete` and the `merge` as dbt writes them; the
//! `sql_header` runs in one string with each `create` (and before the
//! `merge`, as dbt's merge writes it). Owns the SQL of those steps;
//! knows nothing of the graph, the console or how configs were merged.

use super::tx::{quote, Column, Tx};
use super::{build_with_docs, built, contract, docs, error, headed, is_conflict, with_header, Execution, Existing};
use crate::nodes::contract::Ddl;
use crate::nodes::materialize::{Incremental, OnSchemaChange, Strategy, UniqueKey};
use crate::strategy::strategy_sql;
use crate::template::relation::Relation;
use duckdb::Connection;

/// What a custom strategy's macro is given (dbt's `arg_dict`), and what
/// renders it: the strategy name, then its arguments, to the statement.
pub(crate) struct CustomArgs<'a> {
    pub target: &'a Relation,
    pub temp: Relation,
    pub unique_key: &'a UniqueKey,
    pub dest_columns: Vec<Column>,
    pub predicates: Option<&'a [String]>,
}

pub(crate) type CustomSql<'a> = &'a dyn Fn(&str, CustomArgs) -> Result<String, String>;

/// How an incremental model is built: the flag, its settings, what writes
/// a custom strategy's statement, and what its property entry adds (an
/// enforced contract's table DDL, `persist_docs` comments).
pub(crate) struct How<'a> {
    pub full_refresh: bool,
    pub cfg: &'a Incremental,
    pub custom: CustomSql<'a>,
    pub ddl: Option<&'a Ddl>,
    /// The `sql_header`, run in one string with each `create`.
    pub header: Option<&'a str>,
}

/// Builds incremental model `rel` from its rendered `sql`.
pub(super) fn build(
    conn: &Connection,
    rel: &Relation,
    sql: &str,
    existing: Existing,
    how: How<'_>,
) -> Result<Execution, (duckdb::Error, Vec<String>)> {
    let How { full_refresh, cfg, custom, ddl, header } = how;
    let docs = ddl.and_then(|d| d.docs.as_ref());
    // A contracted table is created with its columns' DDL, then filled
    // (dbt-duckdb's `create_table_as`); later runs insert into it, so its
    // constraints hold the new rows too.
    let create = |create: &str| {
        headed(
            header,
            match ddl.and_then(|d| d.contract.as_ref()) {
                Some(c) => contract::create_table(create, rel, sql, c),
                None => vec![format!("{create} {rel} as (\n{sql}\n)")],
            },
        )
    };
    let whole = match existing {
        Existing::None => Some(create("create table")),
        Existing::View => Some([vec![format!("drop view {rel}")], create("create table")].concat()),
        Existing::Table if full_refresh => Some(create("create or replace table")),
        Existing::Table => None,
    };
    if let Some(stmts) = whole {
        return Ok(built(build_with_docs(conn, stmts, rel, "table", docs)?));
    }
    let mut tx = Tx::begin(conn).map_err(|e| (e, Vec::new()))?;
    match add_new_rows(&mut tx, rel, sql, cfg, custom, header).and_then(|r| match (r, docs) {
        (Ok(()), Some(d)) => docs::comment(&mut tx, rel, "table", d).map(Ok),
        (r, _) => Ok(r),
    }) {
        Ok(Ok(())) => {
            let sql = tx.sql.clone();
            tx.commit().map(built).map_err(|e| (e, sql))
        }
        Ok(Err(message)) => Ok(error(message, std::mem::take(&mut tx.sql), 1)),
        Err(e) if is_conflict(&e) => Err((e, std::mem::take(&mut tx.sql))),
        Err(e) => {
            let sql = std::mem::take(&mut tx.sql);
            let on_key = sql.last().is_some_and(|s| s.starts_with("delete") || s.starts_with("merge"));
            let mut message = e.to_string();
            if on_key && cfg.unique_key != UniqueKey::None {
                message.push_str(&format!(
                    "\n(hint: check that `unique_key` ({}) names columns of the model)",
                    key_text(&cfg.unique_key)
                ));
            }
            Ok(error(message, sql, 1))
        }
    }
}

fn key_text(k: &UniqueKey) -> String {
    match k {
        UniqueKey::None => String::new(),
        UniqueKey::One(s) => format!("`{s}`"),
        UniqueKey::Many(v) => v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
    }
}

/// The incremental run proper; `Ok(Err(_))` is `on_schema_change: fail` refusing.
fn add_new_rows(
    tx: &mut Tx<'_>,
    rel: &Relation,
    sql: &str,
    cfg: &Incremental,
    custom: CustomSql,
    header: Option<&str>,
) -> Result<Result<(), String>, duckdb::Error> {
    // Temporary tables belong to this connection, so workers never collide.
    let tmp_name = format!("{}__dbt_tmp", rel.identifier);
    let tmp = format!("\"temp\".\"main\".{}", quote(&tmp_name));
    tx.exec(with_header(header, format!("create or replace temporary table {} as (\n{sql}\n)", quote(&tmp_name))))?;
    let source = tx.columns("temp", "main", &tmp_name)?;
    let target = tx.columns(&rel.database, &rel.schema, &rel.identifier)?;
    let (alters, dest) = match schema_change(cfg.on_schema_change, &source, &target, &rel.to_string()) {
        Ok(plan) => plan,
        Err(diff) => return Ok(Err(diff.refusal(rel))),
    };
    let statements = match &cfg.strategy {
        Strategy::Custom(name) => {
            let dest_columns = source.iter().filter(|c| dest.contains(&c.name)).cloned().collect();
            let temp = Relation::new("temp", "main", &tmp_name);
            let predicates = cfg.predicates.as_deref();
            let args = CustomArgs { target: rel, temp, unique_key: &cfg.unique_key, dest_columns, predicates };
            match custom(name, args) {
                Ok(sql) => vec![sql],
                Err(message) => return Ok(Err(message)),
            }
        }
        // dbt's merge writes the header before it too.
        Strategy::Merge => headed(header, strategy_sql(cfg, &rel.to_string(), &tmp, &dest)),
        _ => strategy_sql(cfg, &rel.to_string(), &tmp, &dest),
    };
    for stmt in alters.into_iter().chain(statements) {
        tx.exec(stmt)?;
    }
    tx.exec(format!("drop table {tmp}"))?;
    Ok(Ok(()))
}

/// How the new rows' columns differ from the table's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SchemaDiff {
    /// In the new rows, not in the table (new rows' order).
    pub added: Vec<Column>,
    /// In the table, not in the new rows (table order).
    pub removed: Vec<Column>,
    /// In both with another type: the new rows' column.
    pub retyped: Vec<(Column, String)>,
}

/// dbt compares every string type as `character varying(256)`, so all of them are equal.
fn same_type(a: &str, b: &str) -> bool {
    let is_string =
        |t: &str| matches!(t.to_ascii_lowercase().as_str(), "text" | "character varying" | "character" | "varchar");
    a == b || (is_string(a) && is_string(b))
}

impl SchemaDiff {
    /// Names compare exactly, as dbt does.
    pub fn of(source: &[Column], target: &[Column]) -> SchemaDiff {
        let find = |cols: &[Column], name: &str| cols.iter().find(|c| c.name == name).cloned();
        SchemaDiff {
            added: source.iter().filter(|c| find(target, &c.name).is_none()).cloned().collect(),
            removed: target.iter().filter(|c| find(source, &c.name).is_none()).cloned().collect(),
            retyped: source
                .iter()
                .filter_map(|c| {
                    let t = find(target, &c.name)?;
                    (!same_type(&c.data_type, &t.data_type)).then(|| (c.clone(), t.data_type))
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.retyped.is_empty()
    }

    fn refusal(&self, rel: &Relation) -> String {
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            let cols: Vec<String> = self.added.iter().map(|c| format!("`{}` {}", c.name, c.data_type)).collect();
            parts.push(format!("new columns {}", cols.join(", ")));
        }
        if !self.removed.is_empty() {
            let cols: Vec<String> = self.removed.iter().map(|c| format!("`{}`", c.name)).collect();
            parts.push(format!("columns no longer selected {}", cols.join(", ")));
        }
        if !self.retyped.is_empty() {
            let cols: Vec<String> =
                self.retyped.iter().map(|(c, old)| format!("`{}` {old} → {}", c.name, c.data_type)).collect();
            parts.push(format!("changed types {}", cols.join(", ")));
        }
        format!(
            "the columns of `{}` no longer match the model and `on_schema_change` is `fail`: {}\n\
             (hint: set `on_schema_change` to `append_new_columns` or `sync_all_columns`, or rebuild it with `--full-refresh`)",
            rel.short(),
            parts.join("; ")
        )
    }
}

/// The `alter table` statements `on_schema_change` calls for, and the columns
/// the strategy then writes; `Err` when the mode is `fail` and columns changed.
pub(super) fn schema_change(
    mode: OnSchemaChange,
    source: &[Column],
    target: &[Column],
    rel: &str,
) -> Result<(Vec<String>, Vec<String>), SchemaDiff> {
    let names = |cols: &[Column]| cols.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    if mode == OnSchemaChange::Ignore {
        return Ok((Vec::new(), names(target)));
    }
    let diff = SchemaDiff::of(source, target);
    let mut alters = Vec::new();
    if diff.is_empty() {
        return Ok((alters, names(source)));
    }
    let add = |c: &Column| format!("alter table {rel} add column {} {}", quote(&c.name), c.data_type);
    match mode {
        OnSchemaChange::Fail => return Err(diff),
        OnSchemaChange::AppendNewColumns => alters.extend(diff.added.iter().map(add)),
        OnSchemaChange::SyncAllColumns => {
            alters.extend(diff.added.iter().map(add));
            alters.extend(diff.removed.iter().map(|c| format!("alter table {rel} drop column {}", quote(&c.name))));
            // dbt's type change: a new column copied from the old one, which
            // therefore moves to the end of the table.
            for (c, _) in &diff.retyped {
                let (col, tmp) = (quote(&c.name), quote(&format!("{}__dbt_alter", c.name)));
                alters.push(format!("alter table {rel} add column {tmp} {}", c.data_type));
                alters.push(format!("update {rel} set {tmp} = {col}"));
                alters.push(format!("alter table {rel} drop column {col}"));
                alters.push(format!("alter table {rel} rename column {tmp} to {col}"));
            }
        }
        OnSchemaChange::Ignore => {}
    }
    Ok((alters, names(source)))
}

#[cfg(test)]
mod tests;
