//! A DAG's grid page: its last runs as columns, every node they ran as rows,
//! each cell a link to the task coloured by its state.
//!
//! The cells are written as HTML here rather than looped over in the
//! template: at 25 runs of 200 nodes (5,000 cells) building a JSON value per
//! cell and rendering it through minijinja was most of the page's time.
//! Everything put into the HTML is escaped (`super::escape`) or
//! percent-encoded. Reads the runs it is given; never reads files.

use super::cache::RunHead;
use super::data::{dag_summary, node_order, recent, task_href};
use super::escape;
use super::lineage::state_class;
use crate::history::{History, RunState};
use crate::project::dag::Dag;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The rows of the grid as `<tr>` elements, nodes in page order.
fn rows_html(dag: &Dag, runs: &[Arc<RunHead>]) -> (usize, String) {
    let mut nodes: Vec<&str> = runs
        .iter()
        .flat_map(|r| r.tasks.iter().map(|(node, _)| &**node))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    nodes.sort_by(|a, b| node_order(a).cmp(&node_order(b)));
    let states: Vec<HashMap<&str, &str>> =
        runs.iter().map(|r| r.tasks.iter().map(|(node, state)| (&**node, &**state)).collect()).collect();
    // Per column and per row once, not per cell: the run's link prefix and
    // escaped id, the node's encoded and escaped id.
    let columns: Vec<(String, String)> = runs
        .iter()
        .map(|r| {
            let link = task_href(&dag.id, &r.run.run_id, "");
            (escape(&link), escape(&r.run.run_id))
        })
        .collect();
    let mut out = String::with_capacity(nodes.len() * runs.len() * 200);
    for id in &nodes {
        let (linked, shown) = (escape(&super::http::encode(id)), escape(id));
        // The row names the node (`data-node`, and its id as the header's
        // tooltip); a cell says only its run and state.
        out.push_str(&format!(
            "<tr data-node=\"{shown}\"><th class=\"node-name\" title=\"{shown}\">{}</th>",
            escape(super::data::name_of(id))
        ));
        for ((prefix, run_id), st) in columns.iter().zip(&states) {
            match st.get(id) {
                Some(state) => {
                    let class = state_class(state);
                    let state = escape(state);
                    out.push_str(&format!(
                        "<td><a class=\"cell st-{class}\" href=\"{prefix}{linked}\" title=\"{run_id} · {state}\"></a></td>"
                    ));
                }
                None => out.push_str("<td><span class=\"cell none\"></span></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    (nodes.len(), out)
}

/// A DAG's grid: its last `limit` runs of `all` (the DAG's runs, oldest
/// first) as columns, every node they ran as rows.
pub(crate) fn context(dag: &Dag, all: &[Arc<RunHead>], limit: usize) -> Value {
    let history = History::new(&dag.project_dir);
    let runs = &all[all.len().saturating_sub(limit)..];
    let (count, rows) = rows_html(dag, runs);
    let live = runs.iter().any(|h| matches!(h.run.state, RunState::Running | RunState::Queued));
    json!({
        "dag": dag_summary(dag, &history, all),
        "runs": recent(dag, runs, runs.len()),
        "node_count": count,
        "rows": rows,
        "total_runs": all.len(),
        "live": live,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::RunRecord;

    fn head(run_id: &str, tasks: &[(&str, &str)]) -> Arc<RunHead> {
        let t = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").expect("time").to_utc();
        Arc::new(RunHead {
            run: RunRecord {
                run_id: run_id.into(),
                dag_id: "d".into(),
                run_type: "manual".into(),
                logical_date: t,
                data_interval_start: t,
                data_interval_end: t,
                state: RunState::Success,
                start: None,
                end: None,
                pid: 1,
                host: "h".into(),
                message: None,
                tasks: vec![],
            },
            tasks: tasks.iter().map(|(n, s)| (Arc::from(*n), Arc::from(*s))).collect(),
            file: "x.json".into(),
        })
    }

    #[test]
    fn rows_are_exact_escaped_and_in_page_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("dags")).expect("mkdir");
        std::fs::write(dir.path().join("dags/d.yml"), "schedule: null\nstart_date: 2025-01-01\n").expect("write");
        let dag = crate::project::dag::load_all(dir.path()).0.remove("d").expect("dag");
        let runs = [
            head("manual__1", &[("model.p.b<x>", "failed"), ("seed.p.a", "success")]),
            head("manual__2+0", &[("seed.p.a", "success")]),
        ];
        let (count, html) = rows_html(&dag, &runs);
        assert_eq!(count, 2);
        assert_eq!(
            html,
            "<tr data-node=\"seed.p.a\"><th class=\"node-name\" title=\"seed.p.a\">a</th>\
             <td><a class=\"cell st-success\" href=\"/dags/d/runs/manual__1/tasks/seed.p.a\" title=\"manual__1 · success\"></a></td>\
             <td><a class=\"cell st-success\" href=\"/dags/d/runs/manual__2%2B0/tasks/seed.p.a\" title=\"manual__2+0 · success\"></a></td></tr>\n\
             <tr data-node=\"model.p.b&lt;x&gt;\"><th class=\"node-name\" title=\"model.p.b&lt;x&gt;\">b&lt;x&gt;</th>\
             <td><a class=\"cell st-failed\" href=\"/dags/d/runs/manual__1/tasks/model.p.b%3Cx%3E\" title=\"manual__1 · failed\"></a></td>\
             <td><span class=\"cell none\"></span></td></tr>\n"
        );
    }
}
