//! The typed event stream of a run.
//!
//! The scheduler emits these; the console report (and later artifacts and the
//! run history) consume them. Events carry facts only; they decide nothing and
//! format nothing.

use crate::nodes::Resource;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A seed or model was built.
    Success,
    /// A seed or model (or a test's query) raised an error.
    Error,
    Pass,
    Warn,
    Fail,
    Skipped,
}

/// What the report needs to name a node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLabel {
    pub id: String,
    pub name: String,
    pub resource: Resource,
    /// A unit test's model: dbt shows the test as `<model>::<name>`.
    pub tested_model: Option<String>,
    /// `view`, `table`, or empty for seeds and tests.
    pub materialized: String,
    /// `schema.identifier` for seeds and models.
    pub relation: Option<String>,
    /// `"database"."schema"."identifier"`, as dbt's artifacts name it.
    pub relation_name: Option<String>,
    pub file: String,
}

/// An `on-run-start` / `on-run-end` hook, with the names dbt gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct HookLabel {
    /// `operation.<project>.<project>-on-run-start-0`.
    pub id: String,
    /// `<project>.on-run-start.0`, as the console shows it.
    pub name: String,
    /// `<project>-on-run-start-0`, the operation's node name.
    pub node_name: String,
    pub phase: crate::hooks::Phase,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeResult {
    pub status: Status,
    pub duration: Duration,
    /// Rows loaded (seeds) or failing rows (tests).
    pub count: Option<u64>,
    /// The error or the test outcome in words.
    pub message: Option<String>,
    /// Seconds since the run started, for the start and the end of the node.
    pub started: f64,
    pub finished: f64,
    pub worker: usize,
    /// Attempts made for this node (write-write conflicts are retried).
    pub attempts: u32,
    /// The statements the attempt executed, in order (for logs and `target/run/`).
    pub sql: Vec<String>,
    /// The node's SQL as it rendered when it ran (models, snapshots, data
    /// tests): dbt's compiled code, which may read the database.
    pub compiled: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    RunStarted {
        total: usize,
        at: chrono::DateTime<chrono::Utc>,
    },
    NodeStarted {
        index: usize,
        total: usize,
        node: NodeLabel,
    },
    NodeFinished {
        index: usize,
        total: usize,
        node: NodeLabel,
        result: NodeResult,
    },
    NodeSkipped {
        index: usize,
        total: usize,
        node: NodeLabel,
        because: String,
    },
    /// An attempt failed and the node will run again after `delay` (R11).
    NodeRetrying {
        index: usize,
        total: usize,
        node: NodeLabel,
        result: NodeResult,
        attempt: u32,
        max_attempts: u32,
        delay: std::time::Duration,
    },
    /// An `on-run-start` / `on-run-end` hook began; `index` of `total` in its phase.
    HookStarted {
        index: usize,
        total: usize,
        hook: HookLabel,
    },
    /// A run hook ended: `Success`, `Error`, or `Skipped` after an earlier one failed.
    HookFinished {
        index: usize,
        total: usize,
        hook: HookLabel,
        result: NodeResult,
    },
    RunFinished {
        elapsed: Duration,
    },
}

/// Something that consumes events; the report, a collector in tests.
pub trait Sink {
    fn event(&mut self, e: &Event);
}

/// Forwards every event to several sinks, in order. `Fanout<dyn Sink + Send>`
/// can itself run on another thread ([`in_background`]).
pub struct Fanout<'a, S: Sink + ?Sized + 'a = dyn Sink + 'a> {
    pub sinks: Vec<&'a mut S>,
}

impl<S: Sink + ?Sized> Sink for Fanout<'_, S> {
    fn event(&mut self, e: &Event) {
        for s in self.sinks.iter_mut() {
            s.event(e);
        }
    }
}

/// Runs `f` with a sink that hands every event, in order, to `behind` on a
/// thread of its own, and returns once `behind` has seen them all. Sinks that
/// write files (artifacts, task logs, history) then work while the next node
/// runs instead of between two nodes; the console stays on the caller's side.
pub fn in_background<T>(behind: &mut (dyn Sink + Send), f: impl FnOnce(&mut dyn Sink) -> T) -> T {
    struct Forward(std::sync::mpsc::Sender<Event>);
    impl Sink for Forward {
        fn event(&mut self, e: &Event) {
            // The receiver only goes away if it panicked, which the scope re-raises.
            let _ = self.0.send(e.clone());
        }
    }
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for e in rx {
                behind.event(&e);
            }
        });
        let mut forward = Forward(tx);
        f(&mut forward)
        // `forward` drops here, closing the channel; the scope waits for the thread.
    })
}

/// Keeps every event; used by tests and by callers that need the outcome.
#[derive(Debug, Default)]
pub struct Collector {
    pub events: Vec<Event>,
}

impl Sink for Collector {
    fn event(&mut self, e: &Event) {
        self.events.push(e.clone());
    }
}
