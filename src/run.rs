//! The one owner of a run's state: which node waits, runs, passed or failed.
//!
//! Turns a selection into a [`RunPlan`] (ordering and failure edges per
//! `test_behavior`), admits nodes under the caps, hands task specs to worker
//! threads over a channel and takes their outcomes back, and emits every
//! event. It builds no SQL and never talks to DuckDB: workers do, through the
//! closure the caller gives.

use crate::events::{Event, NodeLabel, NodeResult, Sink, Status};
#[cfg(test)]
use crate::nodes::Resource;
use crate::nodes::{Node, NodeKind, Plan};
use crate::project::dag::TestBehavior;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod around;
mod dispatcher;
mod units;
pub use around::{Around, Before, NoHooks};
use dispatcher::Dispatcher;
use units::{before_their_models, unit_tested_model};

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
    /// A node's own `retries` / `retry_delay` (its [`RunSettings`](crate::nodes::RunSettings),
    /// checked at plan time) over the DAG's policy.
    pub fn for_node(&self, n: &Node) -> TaskRetry {
        let mut r = *self;
        if let Some(v) = n.run.retries {
            r.retries = v;
        }
        if let Some(d) = n.run.retry_delay {
            r.delay = d;
            r.max_delay = r.max_delay.max(d);
        }
        r
    }
}

/// A node's own `execution_timeout` over the DAG's.
pub fn timeout_for(dag_default: Option<Duration>, n: &Node) -> Option<Duration> {
    n.run.execution_timeout.or(dag_default)
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

/// What a worker runs: a node, the run's start instant and the worker's id
/// in, its result out. Made on the worker's thread and used only there.
pub type WorkFn = Box<dyn FnMut(&Node, Instant, usize) -> NodeResult>;

/// How a run ended, decided by the dispatcher (not by what a sink counted):
/// every node's final status and whether a project hook failed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub statuses: BTreeMap<usize, Status>,
    pub hooks_failed: bool,
}

impl RunOutcome {
    /// dbt's rule for the exit code: any error, failed test or skipped node
    /// (and any failed hook) fails the run; warnings do not.
    pub fn failed(&self) -> bool {
        self.hooks_failed || self.statuses.values().any(|s| matches!(s, Status::Error | Status::Fail | Status::Skipped))
    }
}

/// Runs a plan: `work(worker_id)` builds each worker's executor, which turns a
/// node into a result. `stop()` true means start nothing more (an interrupt);
/// running nodes finish or fail on their own. Nodes never started count as
/// skipped.
pub fn execute<F>(
    plan: &Plan,
    rp: &RunPlan,
    caps: Caps,
    work: F,
    writers: &AtomicUsize,
    stop: &dyn Fn() -> bool,
    sink: &mut dyn Sink,
) -> RunOutcome
where
    F: Fn(usize) -> WorkFn + Sync,
{
    execute_around(plan, rp, caps, work, writers, stop, sink, &mut NoHooks)
}

/// [`execute`] with `around`'s hooks before the first node and after the
/// last. When `around.before` says so, every node is skipped.
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
) -> RunOutcome
where
    F: Fn(usize) -> WorkFn + Sync,
{
    let started = Instant::now();
    sink.event(&Event::RunStarted { total: rp.nodes.len(), at: chrono::Utc::now() });
    let before = around.before(started, sink);
    let mut dispatcher = Dispatcher::new(plan, rp, caps, writers);
    if before.skip_nodes {
        dispatcher.skip_all(RUN_START_FAILED, sink);
    } else {
        let (task_tx, task_rx) = mpsc::channel::<Task>();
        let (out_tx, out_rx) = mpsc::channel::<Outcome>();
        std::thread::scope(|scope| {
            spawn_workers(scope, caps.width(), plan, started, &work, task_rx, out_tx);
            dispatcher.run(task_tx, out_rx, stop, sink);
        });
    }
    let end_ok = around.after(started, sink);
    sink.event(&Event::RunFinished { elapsed: started.elapsed() });
    RunOutcome { statuses: dispatcher.statuses(), hooks_failed: before.failed || !end_ok }
}

/// `width` worker threads, each with the executor `work` builds for it,
/// taking tasks until the task channel closes.
fn spawn_workers<'scope, 'env, F>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    width: usize,
    plan: &'env Plan,
    started: Instant,
    work: &'scope F,
    tasks: mpsc::Receiver<Task>,
    outcomes: mpsc::Sender<Outcome>,
) where
    F: Fn(usize) -> WorkFn + Sync,
{
    let tasks = Arc::new(Mutex::new(tasks));
    for w in 0..width {
        let (rx, tx) = (tasks.clone(), outcomes.clone());
        // Workers render templates: a stack for the deepest macro nesting allowed.
        crate::par::spawn_scoped_named(scope, crate::template::provider::worker_thread_name(w), move || {
            // Made here: what a worker holds (its connection) stays on its thread.
            let mut run_node = work(w);
            loop {
                // The lock is held only while waiting for the next task.
                let next = rx.lock().map(|r| r.recv());
                let Ok(Ok(task)) = next else { break };
                let result = run_node(plan.node(task.node), started, w);
                if tx.send(Outcome { node: task.node, result }).is_err() {
                    break;
                }
            }
        });
    }
}

#[cfg(test)]
mod dispatch_tests;
#[cfg(test)]
mod tests;
