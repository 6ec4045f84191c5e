//! A worker: what one worker thread of a run holds and does. It owns the
//! thread's connections to the run's database (the executor's, which
//! `run_query` in the node's Jinja shares, as dbt runs it on the node's
//! connection, and the reader), registers their interrupt handle, and runs
//! one node at a time under its `execution_timeout` watchdog, turning the
//! executor's [`Execution`](super::Execution) into the [`NodeResult`] the
//! dispatcher receives. It is made on its own thread and stays there (the
//! shared connection is not `Send`). It decides nothing about which node
//! runs next (the dispatcher's) and opens no database file (`db`'s).

use super::Executor;
use crate::db::{self, Database};
use crate::events::{NodeResult, Status};
use crate::nodes::{Node, Resource};
use crate::template::query::{self, LocalQuery};
use crate::template::{Relations, Templates};
use duckdb::Connection;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every worker of one run shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub templates: Arc<Templates>,
    pub relations: Arc<Relations>,
    pub full_refresh: bool,
    pub catalog: Arc<super::catalog::Catalog>,
    pub python: Arc<crate::pymodel::process::Runtime>,
    /// `target/python/`, where Python models exchange their files.
    pub python_scratch: PathBuf,
    /// The DAG's `execution_timeout`, which a node's own overrides.
    pub dag_timeout: Option<Duration>,
}

pub(crate) struct Worker {
    ex: Executor,
    handle: db::raw::Interrupter,
    /// Stops a running Python model's process (the interrupt handle sets it).
    stop: Arc<AtomicBool>,
    /// Set when `run_query` ran: what it ran may have created or dropped
    /// relations behind the catalog's back.
    queried: Arc<AtomicBool>,
    /// Runner's own catalog reads in renders, kept while the file is read-only.
    reads: Rc<super::kept_reads::KeptReads>,
    dag_timeout: Option<Duration>,
    /// Where a node with a `sql_header` gets a connection of its own. Last,
    /// so it is dropped after every connection above (see [`Database`]).
    database: Arc<Database>,
}

impl Worker {
    /// Connects a worker to `database` and registers its interrupt handle.
    pub(crate) fn open(database: &Arc<Database>, run: &Shared) -> Result<Worker, String> {
        let conn = Rc::new(database.connect().map_err(|e| e.to_string())?);
        let reader = database.reader().map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let handle = db::raw::Interrupter::new(&conn, Some(&reader)).with_stop(stop.clone());
        crate::interrupt::register(handle.clone());
        let queried = Arc::new(AtomicBool::new(false));
        let ex = Executor {
            conn,
            reader,
            templates: run.templates.clone(),
            relations: run.relations.clone(),
            full_refresh: run.full_refresh,
            catalog: run.catalog.clone(),
            python: crate::pymodel::Worker {
                runtime: run.python.clone(),
                scratch: run.python_scratch.clone(),
                stop: stop.clone(),
            },
            rendered: None,
        };
        let reads = Rc::new(super::kept_reads::KeptReads::new(database.read_only(), database.catalog()));
        let database = Arc::clone(database);
        Ok(Worker { ex, handle, stop, queried, reads, dag_timeout: run.dag_timeout, database })
    }

    /// dbt opens a connection for every node, so what one node's
    /// `sql_header` sets or creates (a setting, a variable, a temporary
    /// macro or table) is gone for the next. A node with a header runs on a
    /// connection of its own, made here and dropped after it; the worker's
    /// is handed back. `None`: the node has no header.
    fn own_connection(&mut self, node: &Node) -> Option<Result<Rc<Connection>, String>> {
        let builds = matches!(node.resource, Resource::Model | Resource::Snapshot);
        if !builds || super::header_of(node).is_none() {
            return None;
        }
        Some(
            self.database
                .connect()
                .map(|own| {
                    self.handle.retarget(&own);
                    std::mem::replace(&mut self.ex.conn, Rc::new(own))
                })
                .map_err(|e| e.to_string()),
        )
    }

    /// `run_query` on the executor's current connection, noting that it ran.
    /// Text with parameters is runner's own catalog read, which changes
    /// nothing and may be answered from [`KeptReads`](super::kept_reads::KeptReads).
    fn local_query(&self) -> LocalQuery {
        let inner = query::on_connection(self.ex.conn.clone());
        let flag = self.queried.clone();
        let reads = self.reads.clone();
        Rc::new(move |sql: &str, params: &[&str]| {
            if params.is_empty() {
                flag.store(true, Ordering::Relaxed);
                reads.forget();
                return inner(sql, params);
            }
            reads.answer(sql, params, || inner(sql, params))
        })
    }

    /// Runs `node`; `start` is the run's start instant, `w` this worker's id.
    pub(crate) fn run(&mut self, node: &Node, start: Instant, w: usize) -> NodeResult {
        let began = start.elapsed();
        self.ex.rendered = None;
        // A stop meant for an earlier node (its timeout) must not stop this
        // one; one asked for by a signal still stands.
        if !crate::interrupt::requested() {
            self.stop.store(false, Ordering::SeqCst);
        }
        let shared = match self.own_connection(node) {
            Some(Ok(conn)) => Some(conn),
            Some(Err(message)) => return unconnected(&message, w),
            None => None,
        };
        let limit = crate::run::timeout_for(self.dag_timeout, node);
        let watchdog = limit.map(|l| crate::timeout::Watchdog::start(l, self.handle.clone()));
        // `run_query` in the node's Jinja (its hooks' included) runs on the
        // connection the node runs on: inside its transaction once begun.
        let local = self.local_query();
        let ex = &mut self.ex;
        let mut e = query::with_local_query(local, || ex.run(node));
        if self.queried.swap(false, Ordering::Relaxed) {
            self.ex.catalog.forget();
        }
        let timed_out = watchdog.is_some_and(|dog| dog.finish(&self.ex.conn, Some(&self.ex.reader)));
        if let Some(conn) = shared {
            self.ex.conn = conn;
            self.handle.retarget(&self.ex.conn);
            // The header may have made or dropped relations of the database too.
            self.ex.catalog.forget();
        }
        if let (true, Some(limit), Status::Error) = (timed_out, limit, e.status) {
            e.message = Some(crate::timeout::message(limit));
        }
        let ended = start.elapsed();
        NodeResult {
            status: e.status,
            duration: ended - began,
            count: e.count,
            message: e.message,
            started: began.as_secs_f64(),
            finished: ended.as_secs_f64(),
            worker: w,
            attempts: e.attempts,
            sql: e.sql,
            compiled: self.ex.rendered.take(),
        }
    }
}

/// The result every node given to a worker that could not connect gets.
pub(crate) fn unconnected(message: &str, w: usize) -> NodeResult {
    NodeResult {
        status: Status::Error,
        duration: Default::default(),
        count: None,
        message: Some(message.to_string()),
        started: 0.0,
        finished: 0.0,
        worker: w,
        attempts: 1,
        sql: Vec::new(),
        compiled: None,
    }
}
