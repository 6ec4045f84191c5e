//! The dispatcher: while a run runs, the one owner of its state. It knows
//! which node waits, runs, waits out a retry delay or is done; it admits
//! ready nodes under every cap (through [`admit`](super::admit) and the
//! shared writer count), applies the failure policy (skip what a failed node
//! blocks, retry what its policy retries) and gives every node exactly one
//! terminal event. It sends tasks and receives outcomes over channels; it
//! never builds SQL, talks to DuckDB or spawns a thread (that is
//! [`super::execute_around`]'s), and it emits events only through the sink
//! it is handed.

use super::{admit, blocking, is_writer, label, take_writer_slot, Caps, Outcome, RunPlan, State, Task, TaskRetry};
use crate::events::{Event, Sink, Status};
use crate::nodes::Plan;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

pub(super) struct Dispatcher<'a> {
    plan: &'a Plan,
    rp: &'a RunPlan,
    caps: Caps,
    /// Nodes writing to the run's database file, across every run in the process.
    writers: &'a AtomicUsize,
    total: usize,
    state: BTreeMap<usize, State>,
    /// How many of each node's waits are not done yet; a gated node counts
    /// the gate as one more wait, met when the gate's last member is done.
    /// Kept as nodes finish: re-checking every wait list at each admission
    /// made a run cubic.
    unmet: BTreeMap<usize, usize>,
    gate_left: usize,
    /// Node → the nodes that wait on it.
    waiters: BTreeMap<usize, Vec<usize>>,
    /// Pending nodes whose waits are all done, by (depth, index): admitting
    /// one never re-scans the plan (that scan made a run quadratic).
    ready: BTreeSet<(usize, usize)>,
    /// Nodes waiting out a retry delay.
    retrying: BTreeSet<usize>,
    running: usize,
    /// The position each node is shown with (`N of M`): given when it first
    /// starts or is skipped, kept across retries.
    positions: BTreeMap<usize, usize>,
    attempts: BTreeMap<usize, u32>,
    /// Events held until the admissions they lead to are sent: a worker
    /// starts its next node without waiting for the sinks, and the sinks still
    /// see a node's end before the start of what it let through.
    pending: Vec<Event>,
}

impl<'a> Dispatcher<'a> {
    pub(super) fn new(plan: &'a Plan, rp: &'a RunPlan, caps: Caps, writers: &'a AtomicUsize) -> Dispatcher<'a> {
        let gated = |i: usize| !rp.gate.is_empty() && rp.gated.contains(&i);
        let unmet: BTreeMap<usize, usize> =
            rp.nodes.iter().map(|&i| (i, rp.waits[&i].len() + usize::from(gated(i)))).collect();
        let mut waiters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &i in &rp.nodes {
            for &w in &rp.waits[&i] {
                waiters.entry(w).or_default().push(i);
            }
        }
        let ready = rp.nodes.iter().filter(|i| unmet[i] == 0).map(|&i| (plan.graph.depth(i), i)).collect();
        Dispatcher {
            plan,
            rp,
            caps,
            writers,
            total: rp.nodes.len(),
            state: rp.nodes.iter().map(|&i| (i, State::Pending)).collect(),
            unmet,
            gate_left: rp.gate.len(),
            waiters,
            ready,
            retrying: BTreeSet::new(),
            running: 0,
            positions: BTreeMap::new(),
            attempts: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// Hands out tasks until the run is done: admit what may start, pass the
    /// events on, wait for an outcome (or a retry coming due), repeat. Then
    /// every node that never ran gets its terminal event.
    pub(super) fn run(
        &mut self,
        tasks: mpsc::Sender<Task>,
        outcomes: mpsc::Receiver<Outcome>,
        stop: &dyn Fn() -> bool,
        sink: &mut dyn Sink,
    ) {
        loop {
            self.admit_ready(stop, &tasks);
            self.flush(sink);
            let next_retry = self.next_retry();
            if self.running == 0 {
                match next_retry {
                    Some(at) if !stop() => {
                        std::thread::sleep(at.saturating_duration_since(Instant::now()));
                        continue;
                    }
                    _ => break,
                }
            }
            let out = match next_retry {
                None => match outcomes.recv() {
                    Ok(o) => o,
                    Err(_) => break,
                },
                Some(at) => match outcomes.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(o) => o,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
            };
            self.complete(out);
        }
        self.flush(sink);
        drop(tasks);
        let because =
            if stop() { super::INTERRUPTED } else { "never became ready (it waits on a node that did not run)" };
        self.skip_unfinished(because, sink);
    }

    /// Admits ready nodes, lowest depth first, while the caps allow; a node
    /// held back by the writer cap lets a ready reader go first. A node that
    /// a failed node blocks is skipped instead of started.
    fn admit_ready(&mut self, stop: &dyn Fn() -> bool, tasks: &mpsc::Sender<Task>) {
        while !stop() && admit(&self.caps, self.running, 0, false) {
            self.release_due_retries();
            let Some(i) = self.pick() else { break };
            let position = self.position(i);
            let node = self.plan.node(i);
            if let Some(b) = self.blocker(i) {
                // Skipped nodes never took a writer slot (see `pick`).
                self.done(i, Status::Skipped);
                let because = self.plan.node(b).name.clone();
                self.pending.push(Event::NodeSkipped {
                    index: position,
                    total: self.total,
                    node: label(node),
                    because,
                });
                continue;
            }
            self.state.insert(i, State::Running);
            self.running += 1;
            *self.attempts.entry(i).or_insert(0) += 1;
            if tasks.send(Task { node: i }).is_err() {
                break;
            }
            self.pending.push(Event::NodeStarted { index: position, total: self.total, node: label(node) });
        }
    }

    /// Retries whose delay has passed become ready again.
    fn release_due_retries(&mut self) {
        let now = Instant::now();
        let (plan, state, ready) = (self.plan, &self.state, &mut self.ready);
        self.retrying.retain(|&i| match state[&i] {
            State::Retry(at) if at <= now => {
                ready.insert((plan.graph.depth(i), i));
                false
            }
            State::Retry(_) => true,
            _ => false,
        });
    }

    /// The first ready node that may go: one to skip, a reader, or a writer
    /// that gets a writer slot.
    fn pick(&mut self) -> Option<usize> {
        let (caps, running, writers) = (&self.caps, self.running, self.writers);
        let key = self.ready.iter().copied().find(|&(_, i)| {
            self.blocker(i).is_some() || !is_writer(self.plan.node(i)) || take_writer_slot(caps, running, writers)
        })?;
        self.ready.remove(&key);
        Some(key.1)
    }

    /// The failed, errored or skipped node that blocks `i`, if any.
    fn blocker(&self, i: usize) -> Option<usize> {
        self.rp.blocks[&i].iter().copied().find(|b| blocking(self.state[b]))
    }

    fn position(&mut self, i: usize) -> usize {
        let next = self.positions.len() + 1;
        *self.positions.entry(i).or_insert(next)
    }

    fn next_retry(&self) -> Option<Instant> {
        self.retrying.iter().filter_map(|i| if let State::Retry(at) = self.state[i] { Some(at) } else { None }).min()
    }

    /// A worker's outcome: the node is done, or waits out its retry delay.
    fn complete(&mut self, out: Outcome) {
        self.running -= 1;
        let node = self.plan.node(out.node);
        if is_writer(node) {
            self.writers.fetch_sub(1, Ordering::SeqCst);
        }
        let position = self.positions.get(&out.node).copied().unwrap_or(0);
        let attempt = self.attempts.get(&out.node).copied().unwrap_or(1);
        let retry = self.rp.retry.get(&out.node).copied().unwrap_or(TaskRetry::NONE);
        let total = self.total;
        match retry.delay_after(attempt).filter(|_| out.result.status == Status::Error) {
            Some(delay) => {
                self.state.insert(out.node, State::Retry(Instant::now() + delay));
                self.retrying.insert(out.node);
                let max_attempts = retry.retries + 1;
                let result = out.result;
                self.pending.push(Event::NodeRetrying {
                    index: position,
                    total,
                    node: label(node),
                    result,
                    attempt,
                    max_attempts,
                    delay,
                });
            }
            None => {
                self.done(out.node, out.result.status);
                self.pending.push(Event::NodeFinished {
                    index: position,
                    total,
                    node: label(node),
                    result: out.result,
                });
            }
        }
    }

    /// Marks `i` done; the nodes waiting on it (and, when it was the gate's
    /// last member, every gated node) have one wait fewer.
    fn done(&mut self, i: usize, status: Status) {
        if matches!(self.state.insert(i, State::Done(status)), Some(State::Done(_))) {
            return;
        }
        let opened = self.rp.gate.contains(&i) && {
            self.gate_left = self.gate_left.saturating_sub(1);
            self.gate_left == 0
        };
        let behind_gate = opened.then_some(&self.rp.gated);
        for &w in self.waiters.get(&i).into_iter().flatten().chain(behind_gate.into_iter().flatten()) {
            if let Some(n) = self.unmet.get_mut(&w) {
                *n = n.saturating_sub(1);
                if *n == 0 && self.state.get(&w) == Some(&State::Pending) {
                    self.ready.insert((self.plan.graph.depth(w), w));
                }
            }
        }
    }

    fn flush(&mut self, sink: &mut dyn Sink) {
        for e in self.pending.drain(..) {
            sink.event(&e);
        }
    }

    /// Nothing may end silently: a node that never ran gets a terminal event.
    fn skip_unfinished(&mut self, because: &str, sink: &mut dyn Sink) {
        let left: Vec<usize> =
            self.state.iter().filter(|(_, s)| !matches!(s, State::Done(_))).map(|(i, _)| *i).collect();
        for i in left {
            let position = self.position(i);
            self.state.insert(i, State::Done(Status::Skipped));
            let node = label(self.plan.node(i));
            sink.event(&Event::NodeSkipped { index: position, total: self.total, node, because: because.into() });
        }
    }

    /// Skips every node, in the order they would have started (as dbt lists
    /// them): the run's `on-run-start` failed.
    pub(super) fn skip_all(&mut self, because: &str, sink: &mut dyn Sink) {
        let mut order: Vec<usize> = self.rp.nodes.iter().copied().collect();
        order.sort_by_key(|&i| (self.plan.graph.depth(i), i));
        for i in order {
            let position = self.position(i);
            self.state.insert(i, State::Done(Status::Skipped));
            let node = label(self.plan.node(i));
            sink.event(&Event::NodeSkipped { index: position, total: self.total, node, because: because.into() });
        }
    }

    /// Every node's final status; a node never started counts as skipped,
    /// one stopped before its retry came due as the error it ended with.
    pub(super) fn statuses(self) -> BTreeMap<usize, Status> {
        let status = |s: State| match s {
            State::Done(st) => st,
            State::Retry(_) => Status::Error,
            State::Pending | State::Running => Status::Skipped,
        };
        self.state.into_iter().map(|(i, s)| (i, status(s))).collect()
    }
}
