//! The run outcome: what decides a run failed (node statuses and the
//! project hooks' own result), as the dispatcher returns it.

use super::*;

/// Hooks that fail where told to, for the run outcome.
struct FailingHooks {
    before: Before,
    after_ok: bool,
}

impl Around for FailingHooks {
    fn before(&mut self, _: Instant, _: &mut dyn Sink) -> Before {
        self.before
    }

    fn after(&mut self, _: Instant, _: &mut dyn Sink) -> bool {
        self.after_ok
    }
}

/// The exit code comes from the dispatcher's outcome: node statuses and the
/// hooks' own result, not from what a console sink counted.
#[test]
fn the_run_outcome_decides_failure() {
    let p = plan(vec![node("a", Resource::Model, &[]), node("t", Resource::Test, &["a"])]);
    let rp = run_plan(&p, &all(&p), TestBehavior::AfterAll, TaskRetry::NONE);
    let caps = Caps { threads: 2, max_active_tasks: 2, db_writers: 1 };
    let ok = |_w: usize| -> WorkFn {
        Box::new(|n: &Node, _, w| done(if n.resource == Resource::Test { Status::Warn } else { Status::Success }, w))
    };
    let run = |hooks: &mut FailingHooks| {
        execute_around(&p, &rp, caps, ok, &AtomicUsize::new(0), &|| false, &mut Collector::default(), hooks)
    };
    let clean = run(&mut FailingHooks { before: Before::default(), after_ok: true });
    assert!(!clean.failed(), "a warning does not fail a run: {clean:?}");
    let end_failed = run(&mut FailingHooks { before: Before::default(), after_ok: false });
    assert!(end_failed.failed() && end_failed.statuses == clean.statuses, "{end_failed:?}");
    let start_failed = run(&mut FailingHooks { before: Before { failed: true, skip_nodes: false }, after_ok: true });
    assert!(start_failed.failed() && start_failed.statuses == clean.statuses, "{start_failed:?}");
    let skipped = run(&mut FailingHooks { before: Before { failed: true, skip_nodes: true }, after_ok: true });
    assert!(skipped.statuses.values().all(|s| *s == Status::Skipped), "{skipped:?}");
    let errored = execute(
        &p,
        &rp,
        caps,
        |_w| -> WorkFn { Box::new(|_: &Node, _, w| done(Status::Error, w)) },
        &AtomicUsize::new(0),
        &|| false,
        &mut Collector::default(),
    );
    assert!(errored.failed() && !errored.hooks_failed, "{errored:?}");
}
