//! The `on-run-start` and `on-run-end` hooks of the root project and its
//! packages, run as dbt-core 1.10 runs them: in dbt's order (`Project::run_hooks`),
//! each rendered right before it runs in its own project's context, outside
//! any transaction, on a connection of their own (which `run_query` in them
//! shares); after one fails the rest of its phase are skipped. `on-run-end`
//! runs whatever the nodes did, with dbt's `results`, `schemas` and
//! `database_schemas`, which [`Seen`] gathers from the node events.
//! Implements the dispatcher's [`Around`]; knows nothing of the graph beyond
//! the labels of nodes, and prints nothing (events only).

use crate::artifacts::status_text;
use crate::events::{Event, HookLabel, NodeResult, Sink, Status};
use crate::hooks::RunHook;
use crate::nodes::{Plan, Resource, RunHooks};
use crate::run::{Around, Before};
use crate::template::query::{self, LocalQuery};
use crate::template::relation::Relation;
use crate::template::{Relations, RenderCtx, Templates};
use duckdb::Connection;
use minijinja::value::{Serde, Value};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What on-run-end's context says about the run so far.
#[derive(Debug, Default)]
pub struct Seen {
    /// dbt's `results`: one per node, and per `on-run-start` hook that failed.
    results: Vec<serde_json::Value>,
    /// (database, schema) of every seed and model that was built.
    schemas: BTreeSet<(String, String)>,
}

/// A sink that keeps what `on-run-end` needs of the node events.
pub struct SeenSink {
    seen: Arc<Mutex<Seen>>,
    /// Unique id → the node as `results[i].node` shows it.
    nodes: Arc<BTreeMap<String, serde_json::Value>>,
}

impl Sink for SeenSink {
    fn event(&mut self, e: &Event) {
        let (id, resource, status, result) = match e {
            Event::NodeFinished { node, result, .. } => (&node.id, node.resource, result.status, Some(result)),
            Event::NodeSkipped { node, .. } => (&node.id, node.resource, Status::Skipped, None),
            _ => return,
        };
        let node = self.nodes.get(id).cloned().unwrap_or_else(|| json!({"unique_id": id}));
        let mut seen = lock(&self.seen);
        let built = matches!(resource, Resource::Seed | Resource::Model | Resource::Snapshot)
            && !matches!(status, Status::Error | Status::Fail | Status::Skipped);
        if built {
            let (db, schema) = (node["database"].as_str(), node["schema"].as_str());
            if let (Some(db), Some(schema)) = (db, schema) {
                seen.schemas.insert((db.to_string(), schema.to_string()));
            }
        }
        seen.results.push(json!({
            "status": status_text(resource, status),
            "message": result.and_then(|r| r.message.clone()),
            "failures": result.filter(|_| resource.is_test()).and_then(|r| r.count),
            "execution_time": result.map(|r| r.duration.as_secs_f64()).unwrap_or(0.0),
            "thread_id": format!("Thread-{} (worker)", result.map(|r| r.worker).unwrap_or(0) + 1),
            "adapter_response": {},
            "node": node,
        }));
    }
}

/// The run hooks of one run, with their own connection.
pub struct ProjectHooks {
    hooks: RunHooks,
    templates: Arc<Templates>,
    relations: Arc<Relations>,
    /// The hooks' connection, or why there is none (then every hook fails with it).
    conn: Result<Rc<Connection>, String>,
    /// `run_query` in a hook, on the hooks' connection (dbt's `master`).
    query: Option<LocalQuery>,
    seen: Arc<Mutex<Seen>>,
    nodes: Arc<BTreeMap<String, serde_json::Value>>,
}

impl ProjectHooks {
    pub fn new(plan: &Plan, templates: Arc<Templates>, conn: Result<Connection, String>) -> ProjectHooks {
        let conn = conn.map(Rc::new);
        let query = conn.as_ref().ok().map(|c| query::on_connection(c.clone()));
        let nodes = plan.nodes.iter().map(|n| (n.id.clone(), node_json(n))).collect();
        ProjectHooks {
            hooks: plan.run_hooks.clone(),
            templates,
            relations: plan.relations.clone(),
            conn,
            query,
            seen: Arc::default(),
            nodes: Arc::new(nodes),
        }
    }

    /// The sink to put beside the console, so `on-run-end` sees the results.
    pub fn seen_sink(&self) -> SeenSink {
        SeenSink { seen: self.seen.clone(), nodes: self.nodes.clone() }
    }

    /// Runs one phase; false when a hook failed.
    fn phase(&self, list: &[RunHook], end: bool, started: Instant, sink: &mut dyn Sink) -> bool {
        let total = list.len();
        let mut failed = false;
        for (i, hook) in list.iter().enumerate() {
            let label =
                HookLabel { id: hook.unique_id(), name: hook.label(i), node_name: hook.node_name(), phase: hook.phase };
            let index = i + 1;
            let at = started.elapsed().as_secs_f64();
            let mut result = NodeResult {
                status: Status::Skipped,
                duration: Default::default(),
                count: Some(1),
                message: Some(format!("{} skipped", label.name)),
                started: at,
                finished: at,
                worker: 0,
                attempts: 1,
                sql: Vec::new(),
                compiled: None,
            };
            if !failed {
                sink.event(&Event::HookStarted { index, total, hook: label.clone() });
                let began = started.elapsed();
                let outcome = self.run_one(hook, end);
                let ended = started.elapsed();
                result.started = began.as_secs_f64();
                result.finished = ended.as_secs_f64();
                result.duration = ended - began;
                match outcome {
                    Ok(sql) => {
                        result.status = Status::Success;
                        result.count = Some(0);
                        result.message = Some(format!("{} passed", label.name));
                        result.sql = sql;
                    }
                    Err((message, sql)) => {
                        failed = true;
                        result.status = Status::Error;
                        result.message = Some(format!("{} failed, error:\n {message}", label.name));
                        result.sql = sql;
                    }
                }
            }
            if !end && result.status == Status::Error {
                // dbt hands a failed on-run-start hook to on-run-end's `results`.
                lock(&self.seen).results.push(json!({
                    "status": "error",
                    "message": result.message,
                    "failures": 1,
                    "execution_time": result.duration.as_secs_f64(),
                    "thread_id": "main",
                    "adapter_response": {},
                    "node": {"unique_id": label.id, "name": label.node_name, "resource_type": "operation",
                             "package_name": hook.project},
                }));
            }
            sink.event(&Event::HookFinished { index, total, hook: label, result });
        }
        !failed
    }

    /// Renders and runs one hook; the error is DuckDB's or the template's message.
    fn run_one(&self, hook: &RunHook, end: bool) -> Result<Vec<String>, (String, Vec<String>)> {
        let conn = self.conn.as_ref().map_err(|e| (e.clone(), Vec::new()))?;
        let mut extra = if end { self.end_context() } else { Vec::new() };
        // dbt's `this` is `None` in an operation.
        extra.push(("this", Value::from(())));
        // A package's hook renders in its package: its macros by their plain
        // names first, its vars, `ref` searched from it (dbt's node context).
        let rc = RenderCtx {
            this: Relation::new("", "", &hook.node_name()),
            relations: self.relations.clone(),
            is_incremental: false,
            config: Default::default(),
            package: Some(hook.project.clone()),
            node: None,
        };
        let render = || self.templates.render_hook("dbt_project.yml", &hook.sql, &rc, extra);
        let rendered = match &self.query {
            Some(q) => query::with_local_query(q.clone(), render),
            None => render(),
        }
        .map_err(|d| (d.message, Vec::new()))?;
        // dbt reads the rendered text as a hook: `{{ after_commit('…') }}` is its `sql`.
        let sql = crate::hooks::decode(&serde_yaml::Value::String(rendered)).map(|h| h.sql).unwrap_or_default();
        if sql.trim().is_empty() {
            return Ok(Vec::new());
        }
        match conn.execute_batch(&sql) {
            Ok(()) => Ok(vec![sql]),
            Err(e) => Err((e.to_string(), vec![sql])),
        }
    }

    /// `results`, `schemas` and `database_schemas`, as on-run-end sees them.
    fn end_context(&self) -> Vec<(&'static str, Value)> {
        let seen = lock(&self.seen);
        let schemas: BTreeSet<&str> = seen.schemas.iter().map(|(_, s)| s.as_str()).collect();
        let pairs: Vec<[&str; 2]> = seen.schemas.iter().map(|(d, s)| [d.as_str(), s.as_str()]).collect();
        vec![
            ("results", Value::from(Serde(&seen.results))),
            ("schemas", Value::from(Serde(&schemas))),
            ("database_schemas", Value::from(Serde(&pairs))),
        ]
    }
}

impl Around for ProjectHooks {
    fn before(&mut self, started: Instant, sink: &mut dyn Sink) -> Before {
        let start = std::mem::take(&mut self.hooks.start);
        let failed = !self.phase(&start, false, started, sink);
        Before { failed, skip_nodes: failed && self.hooks.skip_nodes_on_start_failure }
    }

    fn after(&mut self, started: Instant, sink: &mut dyn Sink) -> bool {
        // A run the user stopped runs nothing more.
        if crate::interrupt::requested() {
            return true;
        }
        let end = std::mem::take(&mut self.hooks.end);
        self.phase(&end, true, started, sink)
    }
}

/// A node as `results[i].node` shows it to on-run-end.
fn node_json(n: &crate::nodes::Node) -> serde_json::Value {
    let rel = n.relation.as_ref();
    json!({
        "unique_id": n.id,
        "name": n.name,
        "resource_type": n.resource.as_str(),
        "package_name": n.project(),
        "original_file_path": n.file.display().to_string(),
        "database": rel.map(|r| r.database.clone()),
        "schema": rel.map(|r| r.schema.clone()),
        "alias": rel.map(|r| r.identifier.clone()),
        "relation_name": rel.filter(|_| !n.resource.is_test()).map(|r| r.to_string()),
        "config": serde_json::to_value(&n.config).unwrap_or_default(),
        "tags": crate::config_tree::as_strings(n.config.get("tags")),
    })
}

/// A poisoned lock only means a sink panicked; what it kept is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
