//! Benchmarks U1/U2's data: a synthetic run history for `runner ui`, written
//! by runner's own history writers, so the UI reads exactly what real runs
//! leave behind.
//!
//! `bench_ui <project dir> <DAG> <runs>` plans the project as `runner run`
//! does (load, selection, the DAG's test behaviour), simulates each run on
//! four worker threads in dependency order (durations from a fixed hash, one
//! failing model in every fifth run and its descendants upstream_failed), and
//! records it. The newest run goes through `HistorySink` with the same events
//! a real run sends (so its attempt logs and journal are written too); the
//! older ones through `History::create` and `History::update`, with the log
//! paths a run records but without writing 200,000 log files. Prints the
//! newest run's id. Owns no UI or history logic.

use clap::Parser;
use runner::events::{Event, NodeResult, Sink, Status};
use runner::history::{History, RunRecord, RunState, TaskRecord};
use runner::timetable::{RunContext, Timetable};
use std::collections::BTreeSet;
use std::time::Duration;

const WORKERS: usize = 4;

/// A number from a string that is the same on every machine (FNV-1a).
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// One simulated node outcome.
struct Outcome {
    node: usize,
    status: Status,
    start: f64,
    end: f64,
    worker: usize,
}

/// Runs the nodes in topological order on [`WORKERS`] workers: a node starts
/// when its parents and a worker are free. In run `k`, every fifth run fails
/// one model, whose descendants are then skipped.
fn simulate(plan: &runner::nodes::Plan, nodes: &[usize], k: usize) -> Vec<Outcome> {
    let g = &plan.graph;
    let in_run: BTreeSet<usize> = nodes.iter().copied().collect();
    let models: Vec<usize> = nodes.iter().copied().filter(|&i| plan.node(i).id.starts_with("model.")).collect();
    let failing = (k % 5 == 4 && !models.is_empty()).then(|| models[(k * 7) % models.len()]);
    let mut end = vec![0.0f64; g.len()];
    let mut dead = vec![false; g.len()];
    let mut free = [0.0f64; WORKERS];
    let mut out = Vec::new();
    for i in g.order().into_iter().filter(|i| in_run.contains(i)) {
        let parents: Vec<usize> = g.parents(i).iter().copied().filter(|p| in_run.contains(p)).collect();
        if parents.iter().any(|&p| dead[p]) {
            dead[i] = true;
            out.push(Outcome { node: i, status: Status::Skipped, start: 0.0, end: 0.0, worker: 0 });
            continue;
        }
        let ready = parents.iter().map(|&p| end[p]).fold(0.0, f64::max);
        let worker = (0..WORKERS).min_by(|&a, &b| free[a].total_cmp(&free[b])).unwrap_or(0);
        let id = &plan.node(i).id;
        let start = ready.max(free[worker]);
        let took = 0.005 + (hash(id) % 90) as f64 / 1000.0;
        end[i] = start + took;
        free[worker] = end[i];
        let failed = failing == Some(i);
        dead[i] = failed;
        let status = match (failed, id.starts_with("test.")) {
            (true, _) => Status::Error,
            (false, true) => Status::Pass,
            (false, false) => Status::Success,
        };
        out.push(Outcome { node: i, status, start, end: end[i], worker });
    }
    out
}

fn result(o: &Outcome) -> NodeResult {
    NodeResult {
        status: o.status,
        duration: Duration::from_secs_f64(o.end - o.start),
        count: (o.status == Status::Pass).then_some(0),
        message: (o.status == Status::Error).then(|| "Catalog Error: Table with name missing does not exist!".into()),
        started: o.start,
        finished: o.end,
        worker: o.worker,
        attempts: 1,
        sql: vec!["select 1".into()],
        compiled: None,
    }
}

/// The newest run, recorded by the sink a real run uses.
fn record_with_sink(
    history: &History,
    plan: &runner::nodes::Plan,
    record: RunRecord,
    outcomes: &[Outcome],
) -> Result<(), String> {
    let alive = history.create(&record).map_err(|e| e.to_string())?.ok_or("the run exists already")?;
    let mut sink = runner::history::HistorySink::new(history.clone(), record.clone(), alive);
    let total = outcomes.len();
    sink.event(&Event::RunStarted { total, at: record.start.unwrap_or(record.logical_date) });
    for (index, o) in outcomes.iter().enumerate() {
        let node = runner::run::label(plan.node(o.node));
        if o.status == Status::Skipped {
            sink.event(&Event::NodeSkipped { index, total, node, because: "an upstream node failed".into() });
            continue;
        }
        sink.event(&Event::NodeStarted { index, total, node: node.clone() });
        sink.event(&Event::NodeFinished { index, total, node, result: result(o) });
    }
    sink.event(&Event::RunFinished {
        elapsed: Duration::from_secs_f64(outcomes.iter().map(|o| o.end).fold(0.0, f64::max)),
    });
    match sink.write_error.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// An older run, written whole as the sink would have left it.
fn record_directly(
    history: &History,
    plan: &runner::nodes::Plan,
    mut record: RunRecord,
    outcomes: &[Outcome],
) -> Result<(), String> {
    let start = record.start.unwrap_or(record.logical_date);
    let at = |s: f64| start + chrono::Duration::microseconds((s * 1e6) as i64);
    record.tasks = outcomes
        .iter()
        .map(|o| {
            let id = plan.node(o.node).id.clone();
            let state = runner::history::task_state(o.status).to_string();
            let attempts = if o.status == Status::Skipped {
                vec![]
            } else {
                let r = result(o);
                vec![runner::history::Attempt {
                    try_number: 1,
                    state: state.clone(),
                    start: Some(at(o.start)),
                    end: Some(at(o.end)),
                    duration: o.end - o.start,
                    error: r.message,
                    log: Some(runner::task_log::attempt_path(
                        std::path::Path::new("logs"),
                        &record.dag_id,
                        &record.run_id,
                        &id,
                        1,
                    )),
                    worker: Some(o.worker),
                    count: r.count,
                }]
            };
            TaskRecord { node: id, state, attempts }
        })
        .collect();
    record.state = runner::history::final_state(&record.tasks);
    record.end = Some(at(outcomes.iter().map(|o| o.end).fold(0.0, f64::max)));
    let alive = history.create(&record).map_err(|e| e.to_string())?.ok_or("the run exists already")?;
    drop(alive);
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, dag_name, runs] = args.as_slice() else {
        return Err("usage: bench_ui <project dir> <DAG> <runs>".into());
    };
    let runs: usize = runs.parse().map_err(|_| format!("`{runs}` is not a number of runs"))?;
    let raw = runner::cli::RawCli::try_parse_from(["runner", "run", dag_name, "--project-dir", dir])
        .map_err(|e| e.to_string())?;
    let opts = runner::cli::Options::from_raw(raw).map_err(|e| e.to_string())?;
    let (dags, _) = runner::project::dag::load_all(&opts.project_dir);
    let dag = dags.get(dag_name).ok_or_else(|| format!("no DAG `{dag_name}` in `{dir}`"))?;
    let first = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").map_err(|e| e.to_string())?.to_utc();
    let ctx = RunContext::manual(&Timetable::Manual, first, None);
    let prep = runner::app::prepare(&opts, Some(dag), &ctx).map_err(|e| e.to_string())?;
    let selected = runner::select::select(&prep.plan, &dag.select, &dag.exclude)?;
    let rp = runner::run::run_plan(&prep.plan, &selected, dag.test_behavior, runner::retry::Backoff::NONE);
    let nodes: Vec<usize> = rp.nodes.iter().copied().collect();
    let history = History::new(&opts.project_dir);
    let me = runner::db::Holder::current(String::new(), None, None);
    let mut newest = String::new();
    for k in 0..runs {
        let day = first + chrono::Duration::days(k as i64);
        let run_id = format!("manual__{}", day.format("%Y-%m-%dT%H:%M:%S%.6f+00:00"));
        let mut record = RunRecord {
            run_id: run_id.clone(),
            dag_id: dag.id.clone(),
            run_type: "manual".into(),
            logical_date: day,
            data_interval_start: day,
            data_interval_end: day,
            state: RunState::Running,
            start: Some(day + chrono::Duration::seconds(5)),
            end: None,
            pid: me.pid,
            host: me.host.clone(),
            message: None,
            tasks: Vec::new(),
        };
        let outcomes = simulate(&prep.plan, &nodes, k);
        if k + 1 == runs {
            runner::history::schedule_tasks(&mut record.tasks, nodes.iter().map(|&i| prep.plan.node(i).id.clone()));
            record_with_sink(&history, &prep.plan, record, &outcomes)?;
        } else {
            record_directly(&history, &prep.plan, record, &outcomes)?;
        }
        newest = run_id;
    }
    println!("{newest}");
    std::mem::forget(prep);
    Ok(())
}
