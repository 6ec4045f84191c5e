//! What the pages show, read through the same code the CLI reads with:
//! `dag::load_all` for DAGs and their load errors, `History`'s reader for
//! runs, through the server's `cache` (so a run whose process died is marked
//! failed here as in `runner runs`), `inspect::dag_row` for schedule, pause
//! and next run, and the project's `target/manifest.json` for lineage and
//! compiled SQL. The grid and run pages build their contexts in `grid` and
//! `run` from these.
//!
//! Reads only: never the warehouse, never its lock. Files are read only at
//! paths the history or the manifest recorded, and only inside the project
//! (see [`read_inside`]). Builds template contexts; renders no HTML itself.

use super::cache::{RunCache, RunHead};
use super::http::encode;
use crate::history::{History, RunRecord, RunState};
use crate::project::dag::{self, Dag};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Component, Path};
use std::sync::Arc;

/// How many runs the DAG list and the grid show.
pub(crate) const LIST_RUNS: usize = 10;
pub(crate) const GRID_RUNS: usize = 25;
/// The most of one file a page shows.
const MAX_FILE: u64 = 2 * 1024 * 1024;
/// The largest `manifest.json` read (a 10,000-model project writes about
/// 65 MB): a bound, not a size any project reaches.
const MAX_MANIFEST: u64 = 1024 * 1024 * 1024;

pub(crate) fn run_state(s: RunState) -> &'static str {
    match s {
        RunState::Queued => "queued",
        RunState::Running => "running",
        RunState::Success => "success",
        RunState::Failed => "failed",
    }
}

pub(crate) fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
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
pub(crate) fn node_order(id: &str) -> (u8, &str) {
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
    read_inside_up_to(root, rel, MAX_FILE)
}

/// [`read_inside`], cut at `max` bytes.
fn read_inside_up_to(root: &Path, rel: &Path, max: u64) -> Result<String, String> {
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
        .and_then(|f| f.take(max).read_to_string(&mut text))
        .map_err(|e| format!("cannot read `{}`: {e}", rel.display()))?;
    Ok(text)
}

/// The DAGs `dags/` holds, and the files that failed to load.
pub(crate) fn load_dags(project_dir: &Path) -> (BTreeMap<String, Dag>, Vec<String>) {
    let (dags, errors) = dag::load_all(project_dir);
    (dags, errors.iter().map(ToString::to_string).collect())
}

pub(crate) fn recent(dag: &Dag, runs: &[Arc<RunHead>], n: usize) -> Vec<Value> {
    let start = runs.len().saturating_sub(n);
    runs[start..]
        .iter()
        .map(|h| {
            let r = &h.run;
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
pub(crate) fn dags_context(project_dir: &Path, cache: &RunCache) -> Value {
    let (dags, errors) = load_dags(project_dir);
    let now = chrono::Utc::now();
    let mut live = false;
    let rows: Vec<Value> = dags
        .values()
        .map(|d| {
            let history = History::new(&d.project_dir);
            let runs = cache.runs(&history, &d.id);
            let records: Vec<&RunRecord> = runs.iter().map(|h| &h.run).collect();
            let mut row = crate::inspect::dag_row_of(d, &records, history.is_paused(&d.id), now);
            live |= records.iter().any(|r| matches!(r.state, RunState::Running | RunState::Queued));
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

pub(crate) fn dag_summary(dag: &Dag, history: &History, runs: &[Arc<RunHead>]) -> Value {
    let records: Vec<&RunRecord> = runs.iter().map(|h| &h.run).collect();
    let row = crate::inspect::dag_row_of(dag, &records, history.is_paused(&dag.id), chrono::Utc::now());
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

/// Where every command that plans writes the manifest, inside the project.
pub(crate) const MANIFEST: &str = "target/manifest.json";

/// `target/manifest.json` of a project, when a command has written one.
pub(crate) fn manifest(project_dir: &Path) -> Option<Value> {
    let text = read_inside_up_to(project_dir, Path::new(MANIFEST), MAX_MANIFEST).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whole seconds and hundredths, as the CLI prints durations.
pub(crate) fn seconds(s: f64) -> String {
    format!("{s:.2}s")
}

/// A task's page: each attempt with its log, and the node's compiled SQL.
pub(crate) fn task_context(dag: &Dag, run: &RunRecord, node: &str, manifest: Option<&Value>) -> Option<Value> {
    let task = run.tasks.iter().find(|t| t.node == node)?;
    Some(task_view(dag, run, task, manifest))
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
pub(crate) fn report_details(dag: &Dag, run: &RunRecord, manifest: Option<&Value>) -> Vec<Value> {
    let mut tasks: Vec<&crate::history::TaskRecord> = run.tasks.iter().collect();
    tasks.sort_by(|a, b| node_order(&a.node).cmp(&node_order(&b.node)));
    tasks
        .iter()
        .map(|t| {
            let mut ctx = task_view(dag, run, t, manifest);
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
}
