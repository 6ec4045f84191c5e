//! What the pages show, read through the same code the CLI reads with:
//! `dag::load_all` for DAGs and their load errors, `History` for runs (so a
//! run whose process died is marked failed here as in `runner runs`),
//! `inspect::dag_row` for schedule, pause and next run, and the project's
//! `target/manifest.json` for lineage and compiled SQL.
//!
//! Reads only: never the warehouse, never its lock. Files are read only at
//! paths the history or the manifest recorded, and only inside the project
//! (see [`read_inside`]). Builds template contexts; renders no HTML itself.

use super::http::encode;
use super::lineage::GraphNode;
use super::timeline::Bar;
use crate::history::{History, RunRecord, RunState};
use crate::project::dag::{self, Dag};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path};

/// How many runs the DAG list and the grid show.
pub(crate) const LIST_RUNS: usize = 10;
pub(crate) const GRID_RUNS: usize = 25;
/// The most of one file a page shows.
const MAX_FILE: u64 = 2 * 1024 * 1024;

pub(crate) fn run_state(s: RunState) -> &'static str {
    match s {
        RunState::Queued => "queued",
        RunState::Running => "running",
        RunState::Success => "success",
        RunState::Failed => "failed",
    }
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "-".into())
}

pub(crate) fn dag_href(dag: &str) -> String {
    format!("/dags/{}", encode(dag))
}

pub(crate) fn run_href(dag: &str, run: &str) -> String {
    format!("/dags/{}/runs/{}", encode(dag), encode(run))
}

pub(crate) fn task_href(dag: &str, run: &str, node: &str) -> String {
    format!("/dags/{}/runs/{}/tasks/{}", encode(dag), encode(run), encode(node))
}

/// A node's short name: the last part of its unique id, for a generic
/// test (`test.<project>.<name>.<hash>`) the part before the hash, for a
/// model version `<name>.v<v>`.
pub(crate) fn name_of(id: &str) -> &str {
    crate::nodes::fqn::short_name(id)
}

/// Seeds, then models, then tests, then anything else; by id within each.
fn node_order(id: &str) -> (u8, &str) {
    let kind = match id.split('.').next() {
        Some("seed") => 0,
        Some("model") => 1,
        Some("snapshot") => 2,
        Some("test") => 3,
        _ => 4,
    };
    (kind, id)
}

/// Reads `rel` under `root` only: a relative path of plain names whose real
/// location (symlinks resolved) is still inside `root`. Anything else is
/// refused with a reason, and files are cut at 2 MiB.
pub(crate) fn read_inside(root: &Path, rel: &Path) -> Result<String, String> {
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!("`{}` is not a path inside the project", rel.display()));
    }
    let base = root.canonicalize().map_err(|e| format!("cannot read the project folder: {e}"))?;
    let real = base.join(rel).canonicalize().map_err(|e| format!("cannot read `{}`: {e}", rel.display()))?;
    if !real.starts_with(&base) {
        return Err(format!("`{}` is outside the project", rel.display()));
    }
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(&real)
        .and_then(|f| f.take(MAX_FILE).read_to_string(&mut text))
        .map_err(|e| format!("cannot read `{}`: {e}", rel.display()))?;
    Ok(text)
}

/// The DAGs `dags/` holds, and the files that failed to load.
pub(crate) fn load_dags(project_dir: &Path) -> (BTreeMap<String, Dag>, Vec<String>) {
    let (dags, errors) = dag::load_all(project_dir);
    (dags, errors.iter().map(ToString::to_string).collect())
}

fn recent(dag: &Dag, runs: &[RunRecord], n: usize) -> Vec<Value> {
    let start = runs.len().saturating_sub(n);
    runs[start..]
        .iter()
        .map(|r| {
            json!({
                "run_id": r.run_id,
                "state": run_state(r.state),
                "logical_date": time(Some(r.logical_date)),
                "href": run_href(&dag.id, &r.run_id),
            })
        })
        .collect()
}

/// The DAG list: one row per DAG (as `runner dags` computes it), with its
/// last runs, and every DAG file that failed to load.
pub(crate) fn dags_context(project_dir: &Path) -> Value {
    let (dags, errors) = load_dags(project_dir);
    let now = chrono::Utc::now();
    let mut live = false;
    let rows: Vec<Value> = dags
        .values()
        .map(|d| {
            let history = History::new(&d.project_dir);
            let runs = history.runs(&d.id);
            let mut row = crate::inspect::dag_row_of(d, &runs, history.is_paused(&d.id), now);
            live |= runs.iter().any(|r| matches!(r.state, RunState::Running | RunState::Queued));
            row["tags"] = json!(d.tags);
            row["description"] = json!(d.description);
            row["recent"] = json!(recent(d, &runs, LIST_RUNS));
            row["href"] = json!(dag_href(&d.id));
            row["file_paused"] = json!(d.paused);
            row
        })
        .collect();
    json!({"dags": rows, "errors": errors, "live": live})
}

/// A DAG's grid: its last runs as columns, every node they ran as rows.
pub(crate) fn grid_context(dag: &Dag, limit: usize) -> Value {
    let history = History::new(&dag.project_dir);
    let all = history.runs(&dag.id);
    let runs = &all[all.len().saturating_sub(limit)..];
    let mut nodes: Vec<&str> = runs
        .iter()
        .flat_map(|r| r.tasks.iter().map(|t| t.node.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    nodes.sort_by(|a, b| node_order(a).cmp(&node_order(b)));
    let states: Vec<HashMap<&str, &str>> =
        runs.iter().map(|r| r.tasks.iter().map(|t| (t.node.as_str(), t.state.as_str())).collect()).collect();
    let rows: Vec<Value> = nodes
        .iter()
        .map(|id| {
            let cells: Vec<Value> = runs
                .iter()
                .zip(&states)
                .map(|(r, st)| match st.get(id) {
                    Some(s) => json!({"state": s, "href": task_href(&dag.id, &r.run_id, id), "run_id": r.run_id}),
                    None => json!({"state": "", "href": null, "run_id": r.run_id}),
                })
                .collect();
            json!({"id": id, "name": name_of(id), "cells": cells})
        })
        .collect();
    let live = runs.iter().any(|r| matches!(r.state, RunState::Running | RunState::Queued));
    json!({
        "dag": dag_summary(dag, &history, &all),
        "runs": recent(dag, runs, runs.len()),
        "rows": rows,
        "total_runs": all.len(),
        "live": live,
    })
}

fn dag_summary(dag: &Dag, history: &History, runs: &[RunRecord]) -> Value {
    let row = crate::inspect::dag_row_of(dag, runs, history.is_paused(&dag.id), chrono::Utc::now());
    json!({
        "id": dag.id,
        "href": dag_href(&dag.id),
        "description": dag.description,
        "schedule": row["schedule"],
        "paused": row["paused"],
        "file_paused": dag.paused,
        "next_run_at": row["next_run_at"],
        "tags": dag.tags,
        "file": dag.file.display().to_string(),
    })
}

/// `target/manifest.json` of a project, when a command has written one.
pub(crate) fn manifest(project_dir: &Path) -> Option<Value> {
    let text = read_inside(project_dir, Path::new("target/manifest.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Edges between the run's nodes: a parent that is not in the run (an
/// ephemeral model, a source) is looked through to its own parents.
pub(crate) fn run_edges(ids: &[&str], manifest: Option<&Value>) -> Vec<(usize, usize)> {
    let Some(parent_map) = manifest.and_then(|m| m.get("parent_map")).and_then(Value::as_object) else {
        return Vec::new();
    };
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let parents = |id: &str| -> Vec<String> {
        parent_map
            .get(id)
            .and_then(Value::as_array)
            .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
    };
    let mut edges = Vec::new();
    for (child, id) in ids.iter().enumerate() {
        let mut seen = BTreeSet::new();
        let mut stack = parents(id);
        while let Some(p) = stack.pop() {
            if !seen.insert(p.clone()) {
                continue;
            }
            match index.get(p.as_str()) {
                Some(&i) if i != child => edges.push((i, child)),
                Some(_) => {}
                None => stack.extend(parents(&p)),
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    edges
}

/// The lineage graph and the timeline of one run, as SVG.
pub(crate) fn run_pictures(dag_id: &str, run: &RunRecord, manifest: Option<&Value>, links: bool) -> (String, String) {
    let mut tasks: Vec<&crate::history::TaskRecord> = run.tasks.iter().collect();
    tasks.sort_by(|a, b| node_order(&a.node).cmp(&node_order(&b.node)));
    let ids: Vec<&str> = tasks.iter().map(|t| t.node.as_str()).collect();
    let href = |node: &str| {
        if links {
            Some(task_href(dag_id, &run.run_id, node))
        } else {
            Some(format!("#task-{}", encode(node)))
        }
    };
    let nodes: Vec<GraphNode> = tasks
        .iter()
        .map(|t| GraphNode {
            id: t.node.clone(),
            label: name_of(&t.node).to_string(),
            state: t.state.clone(),
            href: href(&t.node),
        })
        .collect();
    let graph = super::lineage::svg(&nodes, &run_edges(&ids, manifest));
    let bars: Vec<Bar> = tasks
        .iter()
        .flat_map(|t| t.attempts.iter().map(move |a| (t, a)))
        .filter_map(|(t, a)| {
            Some(Bar {
                node: t.node.clone(),
                label: name_of(&t.node).to_string(),
                state: a.state.clone(),
                start: a.start?,
                end: a.end.unwrap_or(a.start?),
                worker: a.worker,
                try_number: a.try_number,
                href: href(&t.node),
            })
        })
        .collect();
    (graph, super::timeline::svg(&bars))
}

/// Whole seconds and hundredths, as the CLI prints durations.
fn seconds(s: f64) -> String {
    format!("{s:.2}s")
}

/// A run's page: interval, id, trigger, tasks, tests, timeline and lineage.
pub(crate) fn run_context(dag: &Dag, run: &RunRecord, links: bool) -> Value {
    let manifest = manifest(&dag.project_dir);
    let (graph, gantt) = run_pictures(&dag.id, run, manifest.as_ref(), links);
    let mut tasks: Vec<&crate::history::TaskRecord> = run.tasks.iter().collect();
    tasks.sort_by(|a, b| node_order(&a.node).cmp(&node_order(&b.node)));
    let task_rows: Vec<Value> = tasks
        .iter()
        .map(|t| {
            let last = t.attempts.last();
            // A test that passed with failing rows was a warning (`severity: warn`):
            // Airflow's state is success, the page says warn.
            let warned =
                t.node.starts_with("test.") && t.state == "success" && last.and_then(|a| a.count).unwrap_or(0) > 0;
            json!({
                "id": t.node,
                "anchor": format!("task-{}", encode(&t.node)),
                "name": name_of(&t.node),
                "kind": t.node.split('.').next().unwrap_or(""),
                "state": t.state,
                "shown_state": if warned { "warn" } else { t.state.as_str() },
                "attempts": t.attempts.len(),
                "duration": seconds(t.attempts.iter().map(|a| a.duration).sum()),
                "start": time(t.attempts.first().and_then(|a| a.start)),
                "error": last.and_then(|a| a.error.clone()),
                "count": last.and_then(|a| a.count),
                "href": task_href(&dag.id, &run.run_id, &t.node),
            })
        })
        .collect();
    let tests: Vec<&Value> = task_rows.iter().filter(|t| t["kind"] == "test").collect();
    let failing = tests.iter().filter(|t| t["state"] != "success").count();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &run.tasks {
        *counts.entry(t.state.as_str()).or_default() += 1;
    }
    let duration = match (run.start, run.end) {
        (Some(a), Some(b)) => seconds((b - a).num_milliseconds() as f64 / 1000.0),
        _ => "-".into(),
    };
    json!({
        "dag": {"id": dag.id, "href": dag_href(&dag.id)},
        "run": {
            "run_id": run.run_id,
            "href": run_href(&dag.id, &run.run_id),
            "run_type": run.run_type,
            "state": run_state(run.state),
            "logical_date": time(Some(run.logical_date)),
            "interval_start": time(Some(run.data_interval_start)),
            "interval_end": time(Some(run.data_interval_end)),
            "start": time(run.start),
            "end": time(run.end),
            "duration": duration,
            "message": run.message,
            "counts": counts,
        },
        "tasks": task_rows,
        "tests": tests,
        "failing_tests": failing,
        "graph": graph,
        "gantt": gantt,
        "live": matches!(run.state, RunState::Running | RunState::Queued),
    })
}

/// A task's page: each attempt with its log, and the node's compiled SQL.
pub(crate) fn task_context(dag: &Dag, run: &RunRecord, node: &str) -> Option<Value> {
    let task = run.tasks.iter().find(|t| t.node == node)?;
    Some(task_view(dag, run, task, manifest(&dag.project_dir).as_ref()))
}

fn task_view(dag: &Dag, run: &RunRecord, task: &crate::history::TaskRecord, manifest: Option<&Value>) -> Value {
    let node = task.node.as_str();
    let attempts: Vec<Value> = task
        .attempts
        .iter()
        .map(|a| {
            let (log, log_error) = match &a.log {
                Some(p) => match read_inside(&dag.project_dir, p) {
                    Ok(text) => (Some(text), None),
                    Err(e) => (None, Some(e)),
                },
                None => (None, Some("no log was recorded for this attempt".to_string())),
            };
            json!({
                "try_number": a.try_number,
                "state": a.state,
                "start": time(a.start),
                "end": time(a.end),
                "duration": seconds(a.duration),
                "worker": a.worker,
                "count": a.count,
                "error": a.error,
                "log": log,
                "log_error": log_error,
                "log_path": a.log.as_ref().map(|p| p.display().to_string()),
            })
        })
        .collect();
    let entry = manifest.and_then(|m| m["nodes"].get(node));
    let compiled = entry.and_then(|e| compiled_sql(&dag.project_dir, e));
    json!({
        "dag": {"id": dag.id, "href": dag_href(&dag.id)},
        "run": {"run_id": run.run_id, "href": run_href(&dag.id, &run.run_id), "state": run_state(run.state)},
        "task": {"id": task.node, "name": name_of(&task.node), "state": task.state},
        "attempts": attempts,
        "compiled": compiled,
        "description": entry.and_then(|e| e["description"].as_str()).filter(|d| !d.is_empty()),
        "project_href": entry.map(|_| format!("/project/{}", encode(node))),
        "live": task.state == "running" || task.state == "scheduled",
    })
}

/// Every task's attempts with their logs, for the report file (which has
/// no server to open a task page from).
pub(crate) fn report_details(dag: &Dag, run: &RunRecord) -> Vec<Value> {
    let mut tasks: Vec<&crate::history::TaskRecord> = run.tasks.iter().collect();
    tasks.sort_by(|a, b| node_order(&a.node).cmp(&node_order(&b.node)));
    let manifest = manifest(&dag.project_dir);
    tasks
        .iter()
        .map(|t| {
            let mut ctx = task_view(dag, run, t, manifest.as_ref());
            ctx["anchor"] = json!(format!("task-{}", encode(&t.node)));
            ctx
        })
        .collect()
}

/// A node's compiled SQL: the manifest's, else the file it names under
/// `target/` (never anywhere else).
pub(crate) fn compiled_sql(project_dir: &Path, entry: &Value) -> Option<String> {
    if let Some(code) = entry["compiled_code"].as_str() {
        return Some(code.to_string());
    }
    // Only what this invocation compiled has a path in the manifest; an
    // earlier compile of a model or singular test left its file in place.
    let rel = match entry["compiled_path"].as_str() {
        Some(p) => std::path::PathBuf::from(p),
        None => Path::new("target/compiled")
            .join(entry["package_name"].as_str()?)
            .join(entry["original_file_path"].as_str().filter(|p| p.ends_with(".sql") || p.ends_with(".py"))?),
    };
    rel.starts_with("target").then(|| read_inside(project_dir, &rel).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_stays_inside_the_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("p");
        std::fs::create_dir_all(root.join("logs")).expect("mkdir");
        std::fs::write(root.join("logs/a.log"), "ok").expect("write");
        std::fs::write(dir.path().join("secret.txt"), "no").expect("write");
        assert_eq!(read_inside(&root, Path::new("logs/a.log")).as_deref(), Ok("ok"));
        for bad in ["../secret.txt", "logs/../../secret.txt", "/etc/passwd", "", "./logs/a.log"] {
            assert!(read_inside(&root, Path::new(bad)).is_err(), "{bad}");
        }
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("logs/link.log")).expect("symlink");
        let e = read_inside(&root, Path::new("logs/link.log")).expect_err("a symlink out is refused");
        assert!(e.contains("outside the project"), "{e}");
    }

    #[test]
    fn short_names_skip_a_generic_tests_hash() {
        assert_eq!(name_of("test.shop.not_null_orders_id.81cfe2fe64"), "not_null_orders_id");
        assert_eq!(name_of("test.shop.assert_totals_positive"), "assert_totals_positive");
        assert_eq!(name_of("model.shop.customers"), "customers");
        assert_eq!(name_of("model.shop.abcdef1234"), "abcdef1234", "only tests carry a hash");
    }

    #[test]
    fn lineage_looks_through_nodes_outside_the_run() {
        let manifest = json!({"parent_map": {
            "model.p.b": ["model.p.eph"],
            "model.p.eph": ["seed.p.a", "source.p.s.t"],
            "test.p.t1": ["model.p.b"],
            "seed.p.a": [],
        }});
        let ids = ["seed.p.a", "model.p.b", "test.p.t1"];
        assert_eq!(run_edges(&ids, Some(&manifest)), [(0, 1), (1, 2)]);
        assert!(run_edges(&ids, None).is_empty());
    }
}
