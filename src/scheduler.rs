//! The one owner of a run's state: which node waits, runs, passed or failed.
//!
//! Turns a selection into a [`RunPlan`] (ordering and failure edges per
//! `test_behavior`), admits nodes under the caps, hands task specs to worker
//! threads over a channel and takes their outcomes back, and emits every
//! event. It builds no SQL and never talks to DuckDB: workers do, through the
//! closure the caller gives.

use crate::events::{Event, NodeLabel, NodeResult, Sink, Status};
use crate::nodes::{Node, NodeKind, Plan};
#[cfg(test)]
use crate::nodes::Resource;
use crate::project::dag::TestBehavior;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod around;
mod units;
use units::{before_their_models, unit_tested_model};
pub use around::{Around, NoHooks};

/// The caps that bound how many nodes of one run execute at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Profile `threads` (or `--threads`).
    pub threads: usize,
    /// The DAG's `max_active_tasks`.
    pub max_active_tasks: usize,
    /// Nodes writing to one database file at once, across every run in the
    /// process (`--max-db-writers`); tests only read and do not count.
    pub db_writers: usize,
}

impl Caps {
    /// How many workers a run needs: never more than any cap allows.
    pub fn width(&self) -> usize {
        self.threads.min(self.max_active_tasks).max(1)
    }
}

/// The admission check: every cap, in one place. `running` counts this run's
/// nodes, `writing` the nodes writing to its database file in the process.
pub fn admit(caps: &Caps, running: usize, writing: usize, is_writer: bool) -> bool {
    running < caps.threads && running < caps.max_active_tasks && (!is_writer || writing < caps.db_writers)
}

/// R8: a new DAG run may start while the DAG's active runs are below
/// `max_active_runs`.
pub fn admit_run(max_active_runs: usize, active: usize) -> bool {
    active < max_active_runs
}

/// Takes a writer slot on the database if the caps allow, atomically with
/// respect to other runs sharing the file.
fn take_writer_slot(caps: &Caps, running: usize, writers: &AtomicUsize) -> bool {
    writers.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| admit(caps, running, w, true).then_some(w + 1)).is_ok()
}

fn is_writer(n: &Node) -> bool {
    !n.resource.is_test()
}

/// R11: how a failing task is retried; the same backoff rule as conflict retries.
pub use crate::retry::Backoff as TaskRetry;

impl TaskRetry {
    /// A node's own `config(retries=…, retry_delay=…)` (or the same keys under
    /// `meta:`) over the DAG's policy.
    pub fn for_node(&self, n: &Node) -> TaskRetry {
        let meta = n.config.get("meta");
        let get = |k: &str| n.config.get(k).or_else(|| meta.and_then(|m| m.get(k)));
        let mut r = *self;
        if let Some(v) = get("retries").and_then(serde_yaml::Value::as_u64) {
            r.retries = v.min(u32::MAX as u64) as u32;
        }
        if let Some(d) = get("retry_delay").and_then(config_duration) {
            r.delay = d;
            r.max_delay = r.max_delay.max(d);
        }
        r
    }
}

/// A node's `execution_timeout` (from `config(...)` or `meta:`) over the DAG's.
pub fn timeout_for(dag_default: Option<Duration>, n: &Node) -> Option<Duration> {
    let meta = n.config.get("meta");
    let own = n.config.get("execution_timeout").or_else(|| meta.and_then(|m| m.get("execution_timeout")));
    own.and_then(config_duration).filter(|d| !d.is_zero()).or(dag_default)
}

/// A duration in a model's config: seconds as a number, or `30s`, `5m`, …
fn config_duration(v: &serde_yaml::Value) -> Option<Duration> {
    match v {
        serde_yaml::Value::Number(n) => n.as_f64().and_then(|f| Duration::try_from_secs_f64(f).ok()),
        serde_yaml::Value::String(s) => crate::project::dag::parse_duration(s).ok(),
        _ => None,
    }
}

/// Ordering and failure edges for one run over the selected nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    /// Selected plan indices.
    pub nodes: BTreeSet<usize>,
    /// Node → nodes that must finish before it starts (besides the gate).
    pub waits: BTreeMap<usize, BTreeSet<usize>>,
    /// The nodes in `gated` also wait for every node in `gate` to finish:
    /// `after_all`'s tests wait for every seed and model. Kept as one gate
    /// instead of a wait from each test on each build, which was 300 million
    /// waits (9 GB) for 30,000 tests after 10,000 models.
    pub gate: BTreeSet<usize>,
    pub gated: BTreeSet<usize>,
    /// Node → nodes whose error, failure or skip skips it.
    pub blocks: BTreeMap<usize, BTreeSet<usize>>,
    /// Node → its retry policy.
    pub retry: BTreeMap<usize, TaskRetry>,
}

impl RunPlan {
    /// Every node `i` waits for: its own waits, and the gate if it is gated.
    pub fn waits_for(&self, i: usize) -> BTreeSet<usize> {
        let mut all = self.waits.get(&i).cloned().unwrap_or_default();
        if self.gated.contains(&i) {
            all.extend(&self.gate);
        }
        all
    }
}

/// Builds the run plan: parents always wait and block; `after_all` makes tests
/// wait for every seed and model without being skipped by unrelated failures;
/// `after_each` and `build` make a node's children wait for, and be skipped by,
/// its failing tests.
pub fn run_plan(plan: &Plan, selected: &BTreeSet<usize>, behavior: TestBehavior, retry: TaskRetry) -> RunPlan {
    let g = &plan.graph;
    let is_test = |i: usize| plan.node(i).resource.is_test();
    let mut nodes: BTreeSet<usize> =
        selected.iter().copied().filter(|&i| behavior != TestBehavior::None || !is_test(i)).collect();
    // dbt's build runs a unit test only right before its model: without the
    // model in the run, it does not run.
    let tested = |i: usize| unit_tested_model(plan, i);
    if behavior == TestBehavior::Build {
        let dropped: Vec<usize> =
            nodes.iter().copied().filter(|&i| tested(i).is_some_and(|m| !nodes.contains(&m))).collect();
        for i in dropped {
            nodes.remove(&i);
        }
    }
    let mut waits: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    let mut blocks: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    let (mut gate, mut gated) = (BTreeSet::new(), BTreeSet::new());
    for &i in &nodes {
        let parents: BTreeSet<usize> = g.parents(i).intersection(&nodes).copied().collect();
        waits.insert(i, parents.clone());
        blocks.insert(i, parents);
    }
    match behavior {
        TestBehavior::None => {}
        TestBehavior::AfterAll => {
            gate = nodes.iter().copied().filter(|&i| !is_test(i)).collect();
            gated = nodes.iter().copied().filter(|&i| is_test(i)).collect();
        }
        TestBehavior::AfterEach | TestBehavior::Build => {
            // dbt's rule: a node waits for a test only when every parent of the
            // test (sources included) is upstream of it. The test's ancestors are
            // then a subset of the node's, so these edges can never close a loop.
            let sources = |i: usize| plan.node(i).source_deps().map(str::to_string).collect::<BTreeSet<String>>();
            let unit_in_build = |i: usize| behavior == TestBehavior::Build && tested(i).is_some();
            for &t in nodes.iter().filter(|&&i| is_test(i) && !unit_in_build(i)) {
                let t_sources = sources(t);
                // Children of the test's parents: nodes that ref a parent, or read a source it tests.
                let mut candidates: BTreeSet<usize> =
                    g.parents(t).iter().flat_map(|&p| g.children(p).iter().copied()).collect();
                if !t_sources.is_empty() {
                    candidates.extend(nodes.iter().copied().filter(|&c| !sources(c).is_disjoint(&t_sources)));
                }
                for c in candidates {
                    if !nodes.contains(&c) || is_test(c) {
                        continue;
                    }
                    let upstream = g.ancestors(c);
                    let upstream_sources: BTreeSet<String> =
                        upstream.iter().chain(std::iter::once(&c)).flat_map(|&a| sources(a)).collect();
                    if g.parents(t).iter().all(|q| upstream.contains(q)) && t_sources.is_subset(&upstream_sources) {
                        waits.entry(c).or_default().insert(t);
                        blocks.entry(c).or_default().insert(t);
                    }
                }
            }
        }
    }
    if behavior == TestBehavior::Build {
        before_their_models(plan, &nodes, &mut waits, &mut blocks);
    }
    let retry = nodes.iter().map(|&i| (i, retry.for_node(plan.node(i)))).collect();
    RunPlan { nodes, waits, blocks, gate, gated, retry }
}

pub fn label(n: &Node) -> NodeLabel {
    let materialized = match &n.kind {
        NodeKind::Model { materialized, .. } => materialized.as_str(),
        NodeKind::Snapshot { .. } => "snapshot",
        _ => "",
    };
    // A unit test of a model version runs as `<name>_v<v>`, as dbt names its node.
    let name = match (&n.kind, &n.version) {
        (NodeKind::UnitTest(_), Some(v)) => format!("{}_{}", n.name, v.v.formatted()),
        _ => n.name.clone(),
    };
    NodeLabel {
        id: n.id.clone(),
        name,
        resource: n.resource,
        tested_model: match &n.kind {
            NodeKind::UnitTest(ut) => Some(ut.model_name.clone()),
            _ => None,
        },
        materialized: materialized.to_string(),
        relation: n.relation.as_ref().map(|r| r.short()),
        relation_name: n.relation.as_ref().map(|r| r.to_string()),
        file: n.file.display().to_string(),
    }
}

/// The `because` of nodes that never started because the run was interrupted.
pub const INTERRUPTED: &str = "interrupted";

/// A task spec sent to a worker.
pub struct Task {
    pub node: usize,
}

/// What a worker sends back.
pub struct Outcome {
    pub node: usize,
    pub result: NodeResult,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    /// R10's `up_for_retry`: failed, to run again from this instant.
    Retry(Instant),
    Done(Status),
}

fn blocking(s: State) -> bool {
    matches!(s, State::Done(Status::Error | Status::Fail | Status::Skipped))
}

/// The `because` of nodes skipped because an `on-run-start` hook failed.
pub const RUN_START_FAILED: &str = "an on-run-start hook failed";

/// Runs a plan: `work(worker_id)` builds each worker's executor, which turns a
/// node into a result. `stop()` true means start nothing more (an interrupt);
/// running nodes finish or fail on their own. Returns the final status of
/// every node; nodes never started count as skipped.
pub fn execute<F>(
    plan: &Plan,
    rp: &RunPlan,
    caps: Caps,
    work: F,
    writers: &AtomicUsize,
    stop: &dyn Fn() -> bool,
    sink: &mut dyn Sink,
) -> BTreeMap<usize, Status>
where
    F: Fn(usize) -> Box<dyn FnMut(&Node, Instant, usize) -> NodeResult + Send> + Sync,
{
    execute_around(plan, rp, caps, work, writers, stop, sink, &mut NoHooks)
}

/// [`execute`] with `around`'s hooks before the first node and after the
/// last. When `around.before` fails, every node is skipped.
#[allow(clippy::too_many_arguments)]
pub fn execute_around<F>(
    plan: &Plan,
    rp: &RunPlan,
    caps: Caps,
    work: F,
    writers: &AtomicUsize,
    stop: &dyn Fn() -> bool,
    sink: &mut dyn Sink,
    around: &mut dyn Around,
) -> BTreeMap<usize, Status>
where
    F: Fn(usize) -> Box<dyn FnMut(&Node, Instant, usize) -> NodeResult + Send> + Sync,
{
    let total = rp.nodes.len();
    let started = Instant::now();
    sink.event(&Event::RunStarted { total, at: chrono::Utc::now() });
    if !around.before(started, sink) {
        let mut state = BTreeMap::new();
        // In the order they would have started, as dbt lists them.
        let mut order: Vec<usize> = rp.nodes.iter().copied().collect();
        order.sort_by_key(|&i| (plan.graph.depth(i), i));
        for (position, i) in order.into_iter().enumerate() {
            state.insert(i, Status::Skipped);
            let because = RUN_START_FAILED.to_string();
            sink.event(&Event::NodeSkipped { index: position + 1, total, node: label(plan.node(i)), because });
        }
        around.after(started, sink);
        sink.event(&Event::RunFinished { elapsed: started.elapsed() });
        return state;
    }
    let mut state: BTreeMap<usize, State> = rp.nodes.iter().map(|&i| (i, State::Pending)).collect();
    // How many of each node's waits are not done yet, and who waits on whom,
    // kept as nodes finish: re-checking every wait list at each admission made
    // a run cubic. A gated node counts the gate as one more wait, met when the
    // gate's last member is done.
    let gated = |i: usize| !rp.gate.is_empty() && rp.gated.contains(&i);
    let mut unmet: BTreeMap<usize, usize> =
        rp.nodes.iter().map(|&i| (i, rp.waits[&i].len() + usize::from(gated(i)))).collect();
    let mut gate_left = rp.gate.len();
    let mut waiters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &rp.nodes {
        for &w in &rp.waits[&i] {
            waiters.entry(w).or_default().push(i);
        }
    }
    // Pending nodes whose waits are all done, in admission order (lowest depth
    // first); kept as nodes finish, so admitting one never re-scans the plan
    // (that scan made a run quadratic in its nodes).
    let mut ready: BTreeSet<(usize, usize)> =
        rp.nodes.iter().filter(|i| unmet[i] == 0).map(|&i| (plan.graph.depth(i), i)).collect();
    // Nodes waiting out a retry delay.
    let mut retrying: BTreeSet<usize> = BTreeSet::new();
    let done = |i: usize,
                status: Status,
                state: &mut BTreeMap<usize, State>,
                unmet: &mut BTreeMap<usize, usize>,
                ready: &mut BTreeSet<(usize, usize)>,
                gate_left: &mut usize| {
        if !matches!(state.insert(i, State::Done(status)), Some(State::Done(_))) {
            let opened = rp.gate.contains(&i) && {
                *gate_left = gate_left.saturating_sub(1);
                *gate_left == 0
            };
            let behind_gate = opened.then_some(&rp.gated);
            for &w in waiters.get(&i).into_iter().flatten().chain(behind_gate.into_iter().flatten()) {
                if let Some(n) = unmet.get_mut(&w) {
                    *n = n.saturating_sub(1);
                    if *n == 0 && state.get(&w) == Some(&State::Pending) {
                        ready.insert((plan.graph.depth(w), w));
                    }
                }
            }
        }
    };
    let (task_tx, task_rx) = mpsc::channel::<Task>();
    let task_rx = Arc::new(Mutex::new(task_rx));
    let (out_tx, out_rx) = mpsc::channel::<Outcome>();
    std::thread::scope(|scope| {
        for w in 0..caps.width() {
            let rx = task_rx.clone();
            let tx = out_tx.clone();
            let mut run_node = work(w);
            // Workers render templates: a stack for the deepest macro nesting allowed.
            crate::par::spawn_scoped(scope, move || loop {
                // The lock is held only while waiting for the next task.
                let next = rx.lock().map(|r| r.recv());
                let Ok(Ok(task)) = next else { break };
                let result = run_node(plan.node(task.node), started, w);
                if tx.send(Outcome { node: task.node, result }).is_err() {
                    break;
                }
            });
        }
        drop(out_tx);
        let mut index = 0;
        let mut running = 0;
        // Position of each started node, for its finished line; attempts made.
        let mut positions: BTreeMap<usize, usize> = BTreeMap::new();
        let mut attempts: BTreeMap<usize, u32> = BTreeMap::new();
        // Events wait here until the admissions they lead to are sent: a
        // worker starts its next node without waiting for the sinks (the
        // console, the forward to the writer thread), and the sinks still see
        // a node's end before the start of what it let through.
        let mut pending: Vec<Event> = Vec::new();
        loop {
            // Admit ready nodes, lowest depth first, while the caps allow; a
            // node held back by the writer cap lets a ready reader go first.
            loop {
                if stop() || !admit(&caps, running, 0, false) {
                    break;
                }
                let now = Instant::now();
                retrying.retain(|&i| match state[&i] {
                    State::Retry(at) if at <= now => {
                        ready.insert((plan.graph.depth(i), i));
                        false
                    }
                    State::Retry(_) => true,
                    _ => false,
                });
                let blocked = |i: usize| rp.blocks[&i].iter().any(|b| blocking(state[b]));
                let pick = ready.iter().copied().find(|&(_, i)| {
                    blocked(i) || !is_writer(plan.node(i)) || take_writer_slot(&caps, running, writers)
                });
                let Some(key) = pick else { break };
                ready.remove(&key);
                let i = key.1;
                let node = plan.node(i);
                // A retried node keeps the position it was first given.
                let position = *positions.entry(i).or_insert_with(|| {
                    index += 1;
                    index
                });
                if let Some(&b) = rp.blocks[&i].iter().find(|b| blocking(state[b])) {
                    // Skipped nodes never took a writer slot (see `blocked` above).
                    done(i, Status::Skipped, &mut state, &mut unmet, &mut ready, &mut gate_left);
                    let because = plan.node(b).name.clone();
                    pending.push(Event::NodeSkipped { index: position, total, node: label(node), because });
                    continue;
                }
                state.insert(i, State::Running);
                running += 1;
                *attempts.entry(i).or_insert(0) += 1;
                if task_tx.send(Task { node: i }).is_err() {
                    break;
                }
                pending.push(Event::NodeStarted { index: position, total, node: label(node) });
            }
            for e in pending.drain(..) {
                sink.event(&e);
            }
            let next_retry =
                retrying.iter().filter_map(|i| if let State::Retry(at) = state[i] { Some(at) } else { None }).min();
            if running == 0 {
                match next_retry {
                    Some(at) if !stop() => {
                        std::thread::sleep(at.saturating_duration_since(Instant::now()));
                        continue;
                    }
                    _ => break,
                }
            }
            let out = match next_retry {
                None => match out_rx.recv() {
                    Ok(o) => o,
                    Err(_) => break,
                },
                Some(at) => match out_rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(o) => o,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
            };
            running -= 1;
            if is_writer(plan.node(out.node)) {
                writers.fetch_sub(1, Ordering::SeqCst);
            }
            let node = plan.node(out.node);
            let position = positions.get(&out.node).copied().unwrap_or(0);
            let attempt = attempts.get(&out.node).copied().unwrap_or(1);
            let retry = rp.retry.get(&out.node).copied().unwrap_or(TaskRetry::NONE);
            match retry.delay_after(attempt).filter(|_| out.result.status == Status::Error) {
                Some(delay) => {
                    state.insert(out.node, State::Retry(Instant::now() + delay));
                    retrying.insert(out.node);
                    pending.push(Event::NodeRetrying {
                        index: position,
                        total,
                        node: label(node),
                        result: out.result,
                        attempt,
                        max_attempts: retry.retries + 1,
                        delay,
                    });
                }
                None => {
                    done(out.node, out.result.status, &mut state, &mut unmet, &mut ready, &mut gate_left);
                    pending.push(Event::NodeFinished { index: position, total, node: label(node), result: out.result });
                }
            }
        }
        for e in pending.drain(..) {
            sink.event(&e);
        }
        drop(task_tx);
        // Nothing may end silently: a node that never ran gets a terminal event.
        let because = if stop() { INTERRUPTED } else { "never became ready (it waits on a node that did not run)" };
        let left: Vec<usize> = state.iter().filter(|(_, s)| !matches!(s, State::Done(_))).map(|(i, _)| *i).collect();
        for i in left {
            let position = *positions.entry(i).or_insert_with(|| {
                index += 1;
                index
            });
            state.insert(i, State::Done(Status::Skipped));
            sink.event(&Event::NodeSkipped {
                index: position,
                total,
                node: label(plan.node(i)),
                because: because.into(),
            });
        }
    });
    around.after(started, sink);
    sink.event(&Event::RunFinished { elapsed: started.elapsed() });
    state
        .into_iter()
        .map(|(i, s)| {
            let status = match s {
                State::Done(st) => st,
                // Failed and stopped before its retry came due.
                State::Retry(_) => Status::Error,
                _ => Status::Skipped,
            };
            (i, status)
        })
        .collect()
}

#[cfg(test)]
mod dispatch_tests;
#[cfg(test)]
mod tests;
