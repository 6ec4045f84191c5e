//! The seam for what runs around a run's nodes (the project's `on-run-start`
//! and `on-run-end` hooks): the dispatcher calls it, the executor implements
//! it. Holds no state and runs no SQL itself.

use crate::events::Sink;
use std::time::Instant;

/// What runs around a run's nodes: the project's `on-run-start` hooks
/// before the first node, `on-run-end` after the last.
pub trait Around {
    /// Runs before any node.
    fn before(&mut self, started: Instant, sink: &mut dyn Sink) -> Before;
    /// Runs after every node has its terminal event, whatever happened;
    /// false when a hook failed.
    fn after(&mut self, started: Instant, sink: &mut dyn Sink) -> bool;
}

/// How the hooks before the first node went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Before {
    /// A hook failed (the run fails, whether or not its nodes run).
    pub failed: bool,
    /// No node may run.
    pub skip_nodes: bool,
}

/// Nothing around the nodes.
pub struct NoHooks;

impl Around for NoHooks {
    fn before(&mut self, _: Instant, _: &mut dyn Sink) -> Before {
        Before::default()
    }

    fn after(&mut self, _: Instant, _: &mut dyn Sink) -> bool {
        true
    }
}
