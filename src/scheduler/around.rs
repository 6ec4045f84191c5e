//! The seam for what runs around a run's nodes (the project's `on-run-start`
//! and `on-run-end` hooks): the dispatcher calls it, the executor implements
//! it. Holds no state and runs no SQL itself.

use crate::events::Sink;
use std::time::Instant;

/// What runs around a run's nodes: the project's `on-run-start` hooks
/// before the first node, `on-run-end` after the last.
pub trait Around {
    /// Runs before any node; false means no node may run.
    fn before(&mut self, started: Instant, sink: &mut dyn Sink) -> bool;
    /// Runs after every node has its terminal event, whatever happened.
    fn after(&mut self, started: Instant, sink: &mut dyn Sink);
}

/// Nothing around the nodes.
pub struct NoHooks;

impl Around for NoHooks {
    fn before(&mut self, _: Instant, _: &mut dyn Sink) -> bool {
        true
    }

    fn after(&mut self, _: Instant, _: &mut dyn Sink) {}
}
