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
use crate::retry::Backoff;
use crate::template::relation::Relation;
use crate::template::{Relations, RenderCtx, Templates};
use duckdb::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How a write-write conflict between this process's workers is retried.
pub const CONFLICT_RETRY: Backoff =
    Backoff { retries: 6, delay: Duration::from_millis(20), exponential: true, max_delay: Duration::from_millis(500) };

/// Runs `f` until it succeeds, fails with something other than a conflict,
/// or the policy's retries are spent. Returns the result and the attempts made.
pub fn retry_conflicts<T>(
    policy: Backoff,
    mut f: impl FnMut() -> Result<T, duckdb::Error>,
) -> (Result<T, duckdb::Error>, u32) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match f() {
            Err(e) if is_conflict(&e) => match policy.delay_after(attempt) {
                Some(d) => std::thread::sleep(d),
                None => return (Err(e), attempt),
            },
            other => return (other, attempt),
        }
    }
}

/// Runs `stmts` in one transaction; any failure rolls all of them back.
pub fn transaction(conn: &Connection, stmts: &[String]) -> Result<(), duckdb::Error> {
    conn.execute_batch("BEGIN TRANSACTION")?;
    for s in stmts {
        if let Err(e) = conn.execute_batch(s) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    Ok(())
}

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
        let mut last_sql = Vec::new();
        let (result, attempts) = retry_conflicts(CONFLICT_RETRY, || {
            self.run_once(node).map_err(|(e, sql)| {
                last_sql = sql;
                e
            })
        });
        match result {
            Ok(mut e) => {
                e.attempts = attempts;
                e
            }
            Err(e) => error(e.to_string(), last_sql, attempts),
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
        transaction(&self.conn, &stmts).map_err(|e| (e, stmts.clone()))?;
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
        transaction(&self.conn, &stmts).map_err(|e| (e, stmts.clone()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_write_write_conflict_is_retried_until_it_resolves() {
        let root = Connection::open_in_memory().expect("db");
        root.execute_batch("create table t as select 1 as x").expect("setup");
        let other = root.try_clone().expect("clone");
        // Another worker's open transaction has changed the same row.
        other.execute_batch("begin transaction; update t set x = 2").expect("other writes");
        let mine = root.try_clone().expect("clone");
        let (first, _) = retry_conflicts(Backoff { retries: 0, ..CONFLICT_RETRY }, || {
            transaction(&mine, &["update t set x = 3".to_string()])
        });
        let err = first.expect_err("conflicts while the other transaction is open");
        assert!(is_conflict(&err), "{err}");
        let committer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(60));
            other.execute_batch("commit").expect("other commits");
        });
        let (result, attempts) =
            retry_conflicts(CONFLICT_RETRY, || transaction(&mine, &["update t set x = 3".to_string()]));
        committer.join().expect("thread");
        result.expect("succeeds once the other transaction committed");
        assert!(attempts > 1, "it had to retry");
        let x: i32 = mine.query_row("select x from t", [], |r| r.get(0)).expect("read");
        assert_eq!(x, 3);
    }

    #[test]
    fn other_errors_are_not_retried() {
        let conn = Connection::open_in_memory().expect("db");
        let (r, attempts) =
            retry_conflicts(CONFLICT_RETRY, || transaction(&conn, &["select * from missing".to_string()]));
        assert!(r.is_err());
        assert_eq!(attempts, 1);
    }
}
