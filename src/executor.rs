//! Running one node on one DuckDB connection: seeds, view and table
//! materializations, and data tests.
//!
//! Every build runs inside one transaction so a failure leaves the previous
//! relation untouched. Write-write conflicts between this process's workers
//! are retried with a bounded backoff. The executor knows nothing of the
//! graph, the caps or the console; it returns an [`Execution`].

use crate::data_tests::{self, TestConfig, TestStatus};
use crate::events::Status;
use crate::nodes::{Materialized, Node, NodeKind};
use crate::template::relation::Relation;
use crate::template::{Relations, RenderCtx, Templates};
use duckdb::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How often a write-write conflict is retried before it counts as an error.
const CONFLICT_RETRIES: u32 = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub status: Status,
    pub count: Option<u64>,
    pub message: Option<String>,
    /// The statements that ran, in order, for logs and artifacts.
    pub sql: Vec<String>,
    pub attempts: u32,
}

pub struct Executor {
    pub conn: Connection,
    pub templates: Arc<Templates>,
    pub relations: Arc<Relations>,
    pub full_refresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Existing {
    None,
    Table,
    View,
}

fn is_conflict(e: &duckdb::Error) -> bool {
    let m = e.to_string();
    m.contains("write-write conflict") || m.contains("Transaction conflict") || m.contains("TransactionContext Error")
}

fn clean_sql(sql: &str) -> String {
    sql.trim_end().trim_end_matches(';').trim_end().to_string()
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn error(message: String, sql: Vec<String>, attempts: u32) -> Execution {
    Execution { status: Status::Error, count: None, message: Some(message), sql, attempts }
}

impl Executor {
    pub fn run(&mut self, node: &Node) -> Execution {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.run_once(node) {
                Ok(mut e) => {
                    e.attempts = attempt;
                    return e;
                }
                Err((e, sql)) if is_conflict(&e) && attempt <= CONFLICT_RETRIES => {
                    let _ = sql;
                    std::thread::sleep(Duration::from_millis(10 << attempt));
                }
                Err((e, sql)) => return error(e.to_string(), sql, attempt),
            }
        }
    }

    fn run_once(&mut self, node: &Node) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        match &node.kind {
            NodeKind::Seed { csv, column_types, delimiter } => {
                let rel = node.relation.as_ref().ok_or_else(|| no_relation(node))?;
                self.seed(rel, csv, column_types, delimiter)
            }
            NodeKind::Model { template, materialized } => {
                let rel = node.relation.as_ref().ok_or_else(|| no_relation(node))?;
                let ctx = RenderCtx { this: rel.clone(), relations: self.relations.clone(), is_incremental: false };
                match self.templates.render(template, &ctx) {
                    Ok(sql) => self.model(rel, &clean_sql(&sql), *materialized),
                    Err(d) => Ok(error(d.to_string(), Vec::new(), 1)),
                }
            }
            NodeKind::GenericTest { sql, cfg } => self.test(sql, cfg),
            NodeKind::SingularTest { template, cfg } => {
                let this = Relation::new("", "", &node.name);
                let ctx = RenderCtx { this, relations: self.relations.clone(), is_incremental: false };
                match self.templates.render(template, &ctx) {
                    Ok(sql) => self.test(&clean_sql(&sql), cfg),
                    Err(d) => Ok(error(d.to_string(), Vec::new(), 1)),
                }
            }
        }
    }

    fn existing(&self, rel: &Relation) -> Result<Existing, duckdb::Error> {
        let mut stmt = self.conn.prepare(
            "select table_type from information_schema.tables where table_catalog = ? and table_schema = ? and table_name = ?",
        )?;
        let mut rows = stmt.query([&rel.database, &rel.schema, &rel.identifier])?;
        Ok(match rows.next()? {
            None => Existing::None,
            Some(row) => {
                let kind: String = row.get(0)?;
                if kind == "VIEW" {
                    Existing::View
                } else {
                    Existing::Table
                }
            }
        })
    }

    /// Runs `stmts` in one transaction; any failure rolls all of them back.
    fn transaction(&self, stmts: &[String]) -> Result<(), duckdb::Error> {
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        for s in stmts {
            if let Err(e) = self.conn.execute_batch(s) {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        Ok(())
    }

    fn model(&self, rel: &Relation, sql: &str, m: Materialized) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        let existing = self.existing(rel).map_err(|e| (e, Vec::new()))?;
        let mut stmts = Vec::new();
        match (m, existing) {
            (Materialized::View, Existing::Table) => stmts.push(format!("drop table {rel}")),
            (Materialized::Table, Existing::View) => stmts.push(format!("drop view {rel}")),
            _ => {}
        }
        let kind = if m == Materialized::View { "view" } else { "table" };
        stmts.push(format!("create or replace {kind} {rel} as (\n{sql}\n)"));
        self.transaction(&stmts).map_err(|e| (e, stmts.clone()))?;
        Ok(Execution { status: Status::Success, count: None, message: Some("OK".into()), sql: stmts, attempts: 1 })
    }

    fn seed(
        &self,
        rel: &Relation,
        csv: &Path,
        column_types: &BTreeMap<String, String>,
        delimiter: &str,
    ) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        let mut opts = format!("header = true, auto_detect = true, delim = {}", sql_string(delimiter));
        if !column_types.is_empty() {
            let types: Vec<String> =
                column_types.iter().map(|(k, v)| format!("{}: {}", sql_string(k), sql_string(v))).collect();
            opts.push_str(&format!(", types = {{{}}}", types.join(", ")));
        }
        let read = format!("select * from read_csv({}, {opts})", sql_string(&csv.display().to_string()));
        let existing = self.existing(rel).map_err(|e| (e, Vec::new()))?;
        let stmts = match (existing, self.full_refresh) {
            // dbt keeps an existing seed table's schema: truncate and reload.
            (Existing::Table, false) => vec![format!("delete from {rel}"), format!("insert into {rel} by name {read}")],
            (Existing::View, _) => vec![format!("drop view {rel}"), format!("create table {rel} as {read}")],
            _ => vec![format!("drop table if exists {rel}"), format!("create table {rel} as {read}")],
        };
        self.transaction(&stmts).map_err(|e| (e, stmts.clone()))?;
        let count: i64 = self
            .conn
            .query_row(&format!("select count(*) from {rel}"), [], |r| r.get(0))
            .map_err(|e| (e, stmts.clone()))?;
        Ok(Execution {
            status: Status::Success,
            count: Some(count.max(0) as u64),
            message: Some(format!("INSERT {count}")),
            sql: stmts,
            attempts: 1,
        })
    }

    fn test(&self, failing_rows: &str, cfg: &TestConfig) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        let sql = data_tests::wrap_sql(failing_rows, cfg);
        let row = self.conn.query_row(&sql, [], |r| {
            Ok((r.get::<_, duckdb::types::Value>(0)?, r.get::<_, Option<bool>>(1)?, r.get::<_, Option<bool>>(2)?))
        });
        let (failures, warn, err) = match row {
            Ok(v) => v,
            Err(e) if is_conflict(&e) => return Err((e, vec![sql])),
            Err(e) => return Ok(error(e.to_string(), vec![sql], 1)),
        };
        let failures = value_count(&failures);
        let status = match data_tests::status(cfg, warn.unwrap_or(false), err.unwrap_or(false)) {
            TestStatus::Pass => Status::Pass,
            TestStatus::Warn => Status::Warn,
            TestStatus::Fail => Status::Fail,
        };
        let message = match status {
            Status::Pass => None,
            Status::Warn => {
                Some(format!("Got {failures} result{}, configured to warn if {}", plural(failures), cfg.warn_if))
            }
            _ => Some(format!("Got {failures} result{}, configured to fail if {}", plural(failures), cfg.error_if)),
        };
        Ok(Execution { status, count: Some(failures), message, sql: vec![sql], attempts: 1 })
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn no_relation(node: &Node) -> (duckdb::Error, Vec<String>) {
    (duckdb::Error::InvalidParameterName(format!("node `{}` has no relation", node.id)), Vec::new())
}

fn value_count(v: &duckdb::types::Value) -> u64 {
    use duckdb::types::Value as V;
    match v {
        V::TinyInt(n) => (*n).max(0) as u64,
        V::SmallInt(n) => (*n).max(0) as u64,
        V::Int(n) => (*n).max(0) as u64,
        V::BigInt(n) => (*n).max(0) as u64,
        V::HugeInt(n) => (*n).max(0) as u64,
        V::UTinyInt(n) => *n as u64,
        V::USmallInt(n) => *n as u64,
        V::UInt(n) => *n as u64,
        V::UBigInt(n) => *n,
        V::Float(f) => f.max(0.0) as u64,
        V::Double(f) => f.max(0.0) as u64,
        _ => 0,
    }
}
