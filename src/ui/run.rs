//! A run's page (and the report, which is that page in one file): interval,
//! id, trigger, the timeline and the lineage graph of every task, the tests
//! with their failure counts, and the tasks.
//!
//! Sized for 10,000-task runs: the pictures have every task, while the two
//! tables list every row only up to [`LIST_ALL`] rows; above that they list
//! the rows that did not succeed (still at most [`LIST_ALL`]) and say how
//! many more there are, with a link that lists them all (`?all=1`; the
//! report always lists them all). Builds the template context; the SVG comes
//! from `lineage` and `timeline`.

use super::data::{dag_href, name_of, node_order, run_href, run_state, seconds, task_href, time};
use super::http::encode;
use super::lineage::GraphNode;
use super::timeline::Bar;
use crate::history::{RunRecord, RunState, TaskRecord};
use crate::project::dag::Dag;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The most rows a table of the run page lists unless asked for all.
pub(crate) const LIST_ALL: usize = 500;

/// Edges between the run's nodes: a parent that is not in the run (an
/// ephemeral model, a source) is looked through to its own parents.
pub(crate) fn run_edges(ids: &[&str], manifest: Option<&Value>) -> Vec<(usize, usize)> {
    let Some(parent_map) = manifest.and_then(|m| m.get("parent_map")).and_then(Value::as_object) else {
        return Vec::new();
    };
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let parents = |id: &str| -> Vec<&str> {
        parent_map
            .get(id)
            .and_then(Value::as_array)
            .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_str).collect())
    };
    let mut edges = Vec::new();
    for (child, id) in ids.iter().enumerate() {
        let mut seen = BTreeSet::new();
        let mut stack = parents(id);
        while let Some(p) = stack.pop() {
            if !seen.insert(p) {
                continue;
            }
            match index.get(p) {
                Some(&i) if i != child => edges.push((i, child)),
                Some(_) => {}
                None => stack.extend(parents(p)),
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    edges
}

/// Where a node's id is appended to open its task: its page, or in a
/// report, its section of the file.
fn href_prefix(dag_id: &str, run_id: &str, links: bool) -> String {
    if links {
        task_href(dag_id, run_id, "")
    } else {
        "#task-".to_string()
    }
}

/// The lineage graph and the timeline of one run, as SVG.
pub(crate) fn run_pictures(dag_id: &str, run: &RunRecord, manifest: Option<&Value>, links: bool) -> (String, String) {
    let mut tasks: Vec<&TaskRecord> = run.tasks.iter().collect();
    tasks.sort_by(|a, b| node_order(&a.node).cmp(&node_order(&b.node)));
    let ids: Vec<&str> = tasks.iter().map(|t| t.node.as_str()).collect();
    let href = href_prefix(dag_id, &run.run_id, links);
    let nodes: Vec<GraphNode> = tasks
        .iter()
        .map(|t| GraphNode { id: t.node.clone(), label: name_of(&t.node).to_string(), state: t.state.clone() })
        .collect();
    let graph = super::lineage::svg(&nodes, &run_edges(&ids, manifest), &href);
    let bars: Vec<Bar> = tasks
        .iter()
        .flat_map(|t| t.attempts.iter().map(move |a| (t, a)))
        .filter_map(|(t, a)| {
            Some(Bar {
                node: t.node.clone(),
                state: a.state.clone(),
                start: a.start?,
                end: a.end.unwrap_or(a.start?),
                worker: a.worker,
                try_number: a.try_number,
            })
        })
        .collect();
    (graph, super::timeline::svg(&bars, &href))
}

/// A test that passed with failing rows was a warning (`severity: warn`):
/// Airflow's state is success, the page says warn.
fn warned(t: &TaskRecord) -> bool {
    t.node.starts_with("test.") && t.state == "success" && t.attempts.last().and_then(|a| a.count).unwrap_or(0) > 0
}

/// What a table lists: every row when there are few (or all are asked
/// for), else those that did not succeed, at most [`LIST_ALL`]; and a note
/// saying what was left out.
fn listed<'a>(rows: &[&'a TaskRecord], all: bool, what: &str) -> (Vec<&'a TaskRecord>, Option<String>) {
    if all || rows.len() <= LIST_ALL {
        return (rows.to_vec(), None);
    }
    let notable: Vec<&TaskRecord> = rows.iter().copied().filter(|t| t.state != "success" || warned(t)).collect();
    let shown: Vec<&TaskRecord> = notable.iter().copied().take(LIST_ALL).collect();
    let note = if notable.is_empty() {
        format!("All {} {what} succeeded; a run this large lists only those that did not.", rows.len())
    } else if shown.len() < notable.len() {
        format!("The first {} of the {} {what} that did not succeed, of {}.", shown.len(), notable.len(), rows.len())
    } else {
        format!(
            "The {} {what} that did not succeed, of {}; a run this large lists only those.",
            shown.len(),
            rows.len()
        )
    };
    (shown, Some(note))
}

fn task_row(dag: &Dag, run: &RunRecord, t: &TaskRecord) -> Value {
    let last = t.attempts.last();
    json!({
        "id": t.node,
        "anchor": format!("task-{}", encode(&t.node)),
        "name": name_of(&t.node),
        "kind": t.node.split('.').next().unwrap_or(""),
        "state": t.state,
        "shown_state": if warned(t) { "warn" } else { t.state.as_str() },
        "attempts": t.attempts.len(),
        "duration": seconds(t.attempts.iter().map(|a| a.duration).sum()),
        "start": time(t.attempts.first().and_then(|a| a.start)),
        "error": last.and_then(|a| a.error.clone()),
        "count": last.and_then(|a| a.count),
        "href": task_href(&dag.id, &run.run_id, &t.node),
    })
}

/// A run's page: interval, id, trigger, tasks, tests, timeline and lineage.
/// `all`: list every task and test, however many.
pub(crate) fn run_context(dag: &Dag, run: &RunRecord, manifest: Option<&Value>, links: bool, all: bool) -> Value {
    let (graph, gantt) = run_pictures(&dag.id, run, manifest, links);
    let mut tasks: Vec<&TaskRecord> = run.tasks.iter().collect();
    tasks.sort_by(|a, b| node_order(&a.node).cmp(&node_order(&b.node)));
    let tests: Vec<&TaskRecord> = tasks.iter().copied().filter(|t| t.node.starts_with("test.")).collect();
    let failing = tests.iter().filter(|t| t.state != "success").count();
    let (shown_tasks, tasks_note) = listed(&tasks, all, "tasks");
    let (shown_tests, tests_note) = listed(&tests, all, "tests");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &run.tasks {
        *counts.entry(t.state.as_str()).or_default() += 1;
    }
    let duration = match (run.start, run.end) {
        (Some(a), Some(b)) => seconds((b - a).num_milliseconds() as f64 / 1000.0),
        _ => "-".into(),
    };
    let href = run_href(&dag.id, &run.run_id);
    json!({
        "dag": {"id": dag.id, "href": dag_href(&dag.id)},
        "run": {
            "run_id": run.run_id,
            "href": href,
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
        "tasks": shown_tasks.iter().map(|t| task_row(dag, run, t)).collect::<Vec<_>>(),
        "tasks_note": tasks_note,
        "task_count": tasks.len(),
        "tests": shown_tests.iter().map(|t| task_row(dag, run, t)).collect::<Vec<_>>(),
        "tests_note": tests_note,
        "test_count": tests.len(),
        "failing_tests": failing,
        "all_href": format!("{href}?all=1"),
        "graph": graph,
        "gantt": gantt,
        "live": matches!(run.state, RunState::Running | RunState::Queued),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Attempt;

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

    fn task(node: &str, state: &str, count: Option<u64>) -> TaskRecord {
        let attempt = Attempt {
            try_number: 1,
            state: state.into(),
            start: None,
            end: None,
            duration: 0.0,
            error: None,
            log: None,
            worker: None,
            count,
        };
        TaskRecord { node: node.into(), state: state.into(), attempts: vec![attempt] }
    }

    #[test]
    fn long_tables_list_what_did_not_succeed() {
        let mut rows: Vec<TaskRecord> =
            (0..LIST_ALL).map(|i| task(&format!("test.p.t{i}"), "success", Some(0))).collect();
        let few: Vec<&TaskRecord> = rows.iter().collect();
        assert_eq!(listed(&few, false, "tests"), (few.clone(), None), "up to the limit, every row");
        rows.push(task("test.p.failed", "failed", Some(3)));
        rows.push(task("test.p.warned", "success", Some(2)));
        let many: Vec<&TaskRecord> = rows.iter().collect();
        let (shown, note) = listed(&many, false, "tests");
        assert_eq!(shown.iter().map(|t| t.node.as_str()).collect::<Vec<_>>(), ["test.p.failed", "test.p.warned"]);
        assert_eq!(
            note.as_deref(),
            Some("The 2 tests that did not succeed, of 502; a run this large lists only those.")
        );
        assert_eq!(listed(&many, true, "tests").0.len(), 502, "all, when asked");
        let failing: Vec<TaskRecord> =
            (0..LIST_ALL + 1).map(|i| task(&format!("model.p.m{i}"), "upstream_failed", None)).collect();
        let failing: Vec<&TaskRecord> = failing.iter().collect();
        let (shown, note) = listed(&failing, false, "tasks");
        assert_eq!(shown.len(), LIST_ALL);
        assert_eq!(note.as_deref(), Some("The first 500 of the 501 tasks that did not succeed, of 501."));
        let passing: Vec<TaskRecord> =
            (0..LIST_ALL + 1).map(|i| task(&format!("test.p.t{i}"), "success", Some(0))).collect();
        let passing: Vec<&TaskRecord> = passing.iter().collect();
        assert_eq!(
            listed(&passing, false, "tests"),
            (vec![], Some("All 501 tests succeeded; a run this large lists only those that did not.".into()))
        );
    }
}
