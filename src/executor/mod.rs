//! Running one node on one DuckDB connection: seeds (in [`seed`]), the view, table,
//! incremental (in [`incremental`]) and external (in [`external`]) materializations,
//! Python models (in [`python`]), snapshots (in [`snapshot`]), data tests, and unit
//! tests (in [`unit`]).
//! Ephemeral models never reach here: the planner folds them into the
//! queries that use them.
//!
//! Every build runs inside one transaction so a failure leaves the previous
//! relation untouched. Write-write conflicts between this process's workers
//! are retried with a bounded backoff. The executor knows nothing of the
//! graph, the caps or the console; it returns an [`Execution`].

pub mod catalog;
mod compile;
mod contract;
mod docs;
mod external;
mod header;
mod hooks;
mod incremental;
mod infer;
mod kept_reads;
mod python;
pub mod run_hooks;
mod seed;
mod snapshot;
mod tx;
mod unit;
pub(crate) mod worker;

use crate::data_tests::{self, TestConfig, TestStatus};
use crate::db::raw::RawConn;
use crate::events::Status;
use crate::nodes::contract::{Ddl, PersistDocs};
use crate::nodes::{Materialized, ModelSettings, Node, NodeKind};
use crate::retry::Backoff;
use crate::template::relation::Relation;
use crate::template::{Relations, RenderCtx, Templates};
use compile::{Compile, Compiled};
use duckdb::Connection;
use header::{headed, header_of, with_header};
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

thread_local! {
    /// Set while a node with hooks holds its transaction open on this
    /// worker's connection (DuckDB's client does not say: its
    /// `is_autocommit` is always true).
    static NODE_TRANSACTION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this worker's connection is inside a node's hooks' transaction:
/// then builds join it instead of beginning their own.
pub(crate) fn in_node_transaction() -> bool {
    NODE_TRANSACTION.with(std::cell::Cell::get)
}

/// Marks the worker's connection as inside a node's transaction until dropped.
pub(crate) struct NodeTransaction;

impl NodeTransaction {
    pub(crate) fn open() -> NodeTransaction {
        NODE_TRANSACTION.with(|c| c.set(true));
        NodeTransaction
    }
}

impl Drop for NodeTransaction {
    fn drop(&mut self) {
        NODE_TRANSACTION.with(|c| c.set(false));
    }
}

/// Runs `stmts` in one transaction; any failure rolls all of them back.
/// Inside a transaction already open (a node with hooks, see [`hooks`]) they
/// join it, and its owner commits or rolls back.
pub fn transaction(conn: &Connection, stmts: &[String]) -> Result<(), duckdb::Error> {
    if in_node_transaction() {
        return stmts.iter().try_for_each(|s| conn.execute_batch(s));
    }
    // One statement is already its own transaction (autocommit); BEGIN and
    // COMMIT around it would only add two round trips per node. A text with
    // a `;` may be several (a `sql_header` before the `create`): those are
    // wrapped, so a failure undoes every one of them.
    if let [only] = stmts {
        if !only.contains(';') {
            return conn.execute_batch(only);
        }
    }
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

/// Runs `stmts` in one transaction, and `docs`' comments on `rel` (a
/// `table` or a `view`) inside it; returns what ran.
fn build_with_docs(
    conn: &Connection,
    stmts: Vec<String>,
    rel: &Relation,
    kind: &str,
    docs: Option<&PersistDocs>,
) -> Result<Vec<String>, (duckdb::Error, Vec<String>)> {
    let Some(docs) = docs else {
        transaction(conn, &stmts).map_err(|e| (e, stmts.clone()))?;
        return Ok(stmts);
    };
    let mut tx = tx::Tx::begin(conn).map_err(|e| (e, Vec::new()))?;
    let run = stmts.into_iter().try_for_each(|s| tx.exec(s)).and_then(|()| docs::comment(&mut tx, rel, kind, docs));
    match run {
        Ok(()) => {
            let sql = tx.sql.clone();
            tx.commit().map_err(|e| (e, sql))
        }
        Err(e) => Err((e, std::mem::take(&mut tx.sql))),
    }
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
    /// The node's connection, shared with the `run_query` of its renders.
    pub conn: std::rc::Rc<Connection>,
    /// Runs the queries whose rows are read back (data tests, planned
    /// once; see `db::raw`) and the catalog's lookups by name.
    pub reader: RawConn,
    pub templates: Arc<Templates>,
    pub relations: Arc<Relations>,
    pub full_refresh: bool,
    /// What the database holds; one per run, shared by its workers.
    pub catalog: Arc<catalog::Catalog>,
    /// How this worker runs Python models.
    pub python: crate::pymodel::Worker,
    /// The running node's SQL as it rendered (dbt's compiled code), taken
    /// into the node's result when it ends.
    pub rendered: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    None,
    Table,
    View,
}

fn is_conflict(e: &duckdb::Error) -> bool {
    let m = e.to_string();
    m.contains("write-write conflict") || m.contains("Transaction conflict") || m.contains("TransactionContext Error")
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A relation built by `sql`.
fn built(sql: Vec<String>) -> Execution {
    Execution { status: Status::Success, count: None, message: Some("OK".into()), sql, attempts: 1 }
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
        self.note_build(node, &result);
        match result {
            Ok(mut e) => {
                e.attempts = attempts;
                e
            }
            Err(e) => error(e.to_string(), last_sql, attempts),
        }
    }

    /// Keeps the catalog in step with what a seed or model build left behind.
    fn note_build(&self, node: &Node, result: &Result<Execution, duckdb::Error>) {
        let now = match &node.kind {
            NodeKind::Seed { .. } => Existing::Table,
            NodeKind::Model { materialized: Materialized::View | Materialized::External, .. } => Existing::View,
            NodeKind::Model { materialized: Materialized::Table | Materialized::Incremental, .. } => Existing::Table,
            NodeKind::Snapshot { .. } => Existing::Table,
            _ => return,
        };
        match (result, &node.relation) {
            (Ok(e), Some(rel)) if e.status == Status::Success => self.catalog.record(rel, now),
            _ => self.catalog.forget(),
        }
    }

    fn run_once(&mut self, node: &Node) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        if node.hooks.is_empty() {
            self.build_once(node, None)
        } else {
            self.build_with_hooks(node)
        }
    }

    /// The node's own work: a seed loaded, a model built, a test queried;
    /// a model or snapshot from its SQL compiled `ahead`, or compiled now.
    fn build_once(&mut self, node: &Node, ahead: Option<Compile>) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        match &node.kind {
            NodeKind::Seed { csv, column_types, delimiter } => {
                let rel = node.relation.as_ref().ok_or_else(|| no_relation(node))?;
                let docs = node.ddl.as_ref().and_then(|d| d.docs.as_ref());
                self.seed(rel, csv, column_types, delimiter, self.full_refresh_for(node), docs)
            }
            NodeKind::Model { materialized: Materialized::Ephemeral, .. } => Ok(Execution {
                status: Status::Success,
                count: None,
                message: Some("ephemeral: nothing to build".into()),
                sql: Vec::new(),
                attempts: 1,
            }),
            NodeKind::Model { python: Some(py), materialized, .. } => {
                let rel = node.relation.as_ref().ok_or_else(|| no_relation(node))?;
                self.python_model(node, rel, py, *materialized)
            }
            NodeKind::Model { materialized, settings, python: None, .. } => {
                let rel = node.relation.as_ref().ok_or_else(|| no_relation(node))?;
                let full_refresh = self.full_refresh_for(node);
                let Compiled { sql, ctx, existing } = match self.compiled(node, ahead)? {
                    Ok(c) => c,
                    Err(e) => return Ok(e),
                };
                self.rendered = Some(sql.clone());
                if let ModelSettings::External(cfg) = settings {
                    return self.external(node, rel, cfg, &sql, &ctx);
                }
                let ddl = node.ddl.as_deref();
                let header = header_of(node);
                // dbt checks an enforced contract before building, on every path.
                if let Some(c) = ddl.and_then(|d| d.contract.as_ref()) {
                    match contract::check(&self.conn, &sql, header.as_deref(), c) {
                        Ok(Ok(())) => {}
                        Ok(Err(message)) => return Ok(error(message, Vec::new(), 1)),
                        Err(e) if is_conflict(&e) => return Err((e, Vec::new())),
                        Err(e) => return Ok(error(e.to_string(), Vec::new(), 1)),
                    }
                }
                if *materialized != Materialized::Incremental {
                    return self.model(rel, &sql, *materialized, ddl, header.as_deref());
                }
                match settings {
                    ModelSettings::Incremental(cfg) => {
                        let custom = |name: &str, args: incremental::CustomArgs| {
                            let arg_dict = custom_arg_dict(&args);
                            let config = ctx.config.clone();
                            let package = Some(node.project());
                            self.templates.incremental_strategy_sql(name, args.target, arg_dict, config, package)
                        };
                        let header = header.as_deref();
                        let how = incremental::How { full_refresh, cfg, custom: &custom, ddl, header };
                        incremental::build(&self.conn, rel, &sql, existing, how)
                    }
                    _ => Ok(error(format!("model `{}` has no incremental settings", node.id), Vec::new(), 1)),
                }
            }
            NodeKind::Snapshot { snapshot: cfg, .. } => {
                let rel = node.relation.as_ref().ok_or_else(|| no_relation(node))?;
                let docs = node.ddl.as_ref().and_then(|d| d.docs.as_ref());
                let header = header_of(node);
                let Compiled { sql, ctx, existing } = match self.compiled(node, ahead)? {
                    Ok(c) => c,
                    Err(e) => return Ok(e),
                };
                self.rendered = Some(sql.clone());
                // dbt refuses a view before it looks for the strategy's macro.
                let exists = existing == Existing::Table;
                let answer = match existing {
                    Existing::View => None,
                    _ => match snapshot::strategy::resolve(&self.templates, node, &ctx, &sql, exists) {
                        Ok(a) => a,
                        Err(message) => return Ok(error(message, Vec::new(), 1)),
                    },
                };
                snapshot::build(&self.conn, rel, &sql, existing, (cfg, answer.as_ref()), docs, header.as_deref())
            }
            NodeKind::GenericTest { sql, cfg, .. } => match self.templates.test_sql(sql, &self.relations, &node.config)
            {
                Ok(sql) => {
                    self.rendered = Some(sql.clone());
                    self.test(&sql, cfg)
                }
                Err(d) => Ok(error(d.to_string(), Vec::new(), 1)),
            },
            NodeKind::UnitTest(ut) => self.unit_test(node, ut),
            NodeKind::SingularTest { template, cfg } => {
                let this = Relation::new("", "", &node.name);
                let config = Arc::new(crate::artifacts::manifest::render_config(node));
                let package = Some(node.project().to_string());
                let ctx = RenderCtx {
                    this,
                    relations: self.relations.clone(),
                    is_incremental: false,
                    config,
                    package,
                    node: Some(node.id.clone()),
                };
                match self.templates.render_sql(template, &ctx) {
                    Ok(sql) => {
                        self.rendered = Some(sql.clone());
                        self.test(&sql, cfg)
                    }
                    Err(d) => Ok(error(d.to_string(), Vec::new(), 1)),
                }
            }
        }
    }

    /// `--full-refresh`, unless the node's `full_refresh` config says otherwise (dbt's rule).
    fn full_refresh_for(&self, node: &Node) -> bool {
        node.build.full_refresh_or(self.full_refresh)
    }

    fn existing(&self, rel: &Relation) -> Result<Existing, duckdb::Error> {
        self.catalog.lookup(&self.reader, rel)
    }

    /// A view or table. `create or replace` alone builds over nothing or over
    /// the same kind, so the relation is not looked up first (a catalog lookup
    /// per model, 6% of a run of 1,000 views). Over the other kind DuckDB
    /// refuses, changing nothing; then it is dropped and built in one transaction.
    /// A contracted table or `persist_docs` takes several statements: the
    /// relation is looked up first and all of them run in one transaction.
    fn model(
        &self,
        rel: &Relation,
        sql: &str,
        m: Materialized,
        ddl: Option<&Ddl>,
        header: Option<&str>,
    ) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        let kind = if m == Materialized::View { "view" } else { "table" };
        let create = with_header(header, format!("create or replace {kind} {rel} as (\n{sql}\n)"));
        // A view's contract is only checked: a view has no constraints.
        let contract = ddl.and_then(|d| d.contract.as_ref()).filter(|_| m == Materialized::Table);
        let docs = ddl.and_then(|d| d.docs.as_ref());
        // Inside a node's hooks' transaction a failed statement would abort
        // it, so the relation is looked up first instead; so it is with a
        // header, which must not run twice.
        if !in_node_transaction() && contract.is_none() && docs.is_none() && header.is_none() {
            match self.conn.execute_batch(&create) {
                Ok(()) => return Ok(built(vec![create])),
                Err(e) if !e.to_string().contains("trying to replace with type") => return Err((e, vec![create])),
                Err(_) => {}
            }
        }
        // The catalog may remember this relation as it was; read it again.
        self.catalog.forget();
        let mut stmts = match (m, self.existing(rel).map_err(|e| (e, Vec::new()))?) {
            (Materialized::View, Existing::Table) => vec![format!("drop table {rel}")],
            (Materialized::Table, Existing::View) => vec![format!("drop view {rel}")],
            _ => Vec::new(),
        };
        match contract {
            Some(c) => stmts.extend(headed(header, contract::create_table("create or replace table", rel, sql, c))),
            None => stmts.push(create),
        }
        Ok(built(build_with_docs(&self.conn, stmts, rel, kind, docs)?))
    }

    fn test(&self, failing_rows: &str, cfg: &TestConfig) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        let sql = data_tests::wrap_sql(failing_rows, cfg);
        let (failures, warn, err) = match self.reader.query(&sql) {
            Ok(rows) => match rows.first().map(Vec::as_slice) {
                Some([failures, warn, err, ..]) => (count(failures.as_deref()), flag(warn), flag(err)),
                _ => (0, false, false),
            },
            Err(e) if is_conflict(&e) => return Err((e, vec![sql])),
            Err(e) => return Ok(error(e.to_string(), vec![sql], 1)),
        };
        let status = match data_tests::status(cfg, warn, err) {
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

/// dbt's `arg_dict` for a custom strategy macro: the relations, the key
/// as written (a string, a list or none), the columns to write (each with
/// `name`, `quoted`, `data_type`) and `incremental_predicates` (the list, or
/// none), as dbt-duckdb's materialization passes them.
fn custom_arg_dict(args: &incremental::CustomArgs) -> minijinja::Value {
    use crate::nodes::materialize::UniqueKey;
    use minijinja::Value;
    let key = match args.unique_key {
        UniqueKey::None => Value::from(()),
        UniqueKey::One(k) => Value::from(k.as_str()),
        UniqueKey::Many(keys) => Value::from(keys.iter().map(|k| Value::from(k.as_str())).collect::<Vec<_>>()),
    };
    let columns: Vec<Value> = args
        .dest_columns
        .iter()
        .map(|c| {
            Value::from_pairs([
                ("name", Value::from(c.name.as_str())),
                ("column", Value::from(c.name.as_str())),
                ("quoted", Value::from(tx::quote(&c.name))),
                ("data_type", Value::from(c.data_type.as_str())),
                ("dtype", Value::from(c.data_type.as_str())),
            ])
        })
        .collect();
    Value::from_pairs([
        ("target_relation", args.target.to_value()),
        ("temp_relation", args.temp.to_value()),
        ("unique_key", key),
        ("dest_columns", Value::from(columns)),
        ("incremental_predicates", args.predicates.map_or(Value::from(()), |p| p.iter().map(Value::from).collect())),
    ])
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

/// A failure count as DuckDB prints it: any integer type, or a float from a custom `fail_calc`.
fn count(text: Option<&str>) -> u64 {
    let text = text.unwrap_or("0");
    text.parse::<u64>().ok().or_else(|| text.parse::<f64>().ok().map(|f| f.max(0.0) as u64)).unwrap_or(0)
}

fn flag(text: &Option<String>) -> bool {
    text.as_deref() == Some("true")
}

#[cfg(test)]
mod tests;
