//! The scheduler's dispatch order against its sinks: what a slow sink may
//! and may not delay. Uses the fixtures of [`super::tests`].

use super::tests::{all, done, node, plan};
use super::*;
use crate::events::Collector;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// A sink that takes `delay` over every finished node, noting when it is done.
struct SlowSink {
    inner: Collector,
    delay: Duration,
    finished_handled: Vec<(String, Instant)>,
}

impl Sink for SlowSink {
    fn event(&mut self, e: &Event) {
        self.inner.event(e);
        if let Event::NodeFinished { node, .. } = e {
            std::thread::sleep(self.delay);
            self.finished_handled.push((node.name.clone(), Instant::now()));
        }
    }
}

#[test]
fn the_next_node_starts_without_waiting_for_the_sinks() {
    let p = plan(vec![node("a", Resource::Model, &[]), node("b", Resource::Model, &["a"])]);
    let rp = run_plan(&p, &all(&p), TestBehavior::None, TaskRetry::NONE);
    let one = Caps { threads: 1, max_active_tasks: 1, db_writers: usize::MAX };
    let starts = Arc::new(Mutex::new(BTreeMap::new()));
    let mut sink =
        SlowSink { inner: Collector::default(), delay: Duration::from_millis(200), finished_handled: Vec::new() };
    execute(
        &p,
        &rp,
        one,
        |_w| {
            let starts = starts.clone();
            Box::new(move |n: &Node, _start, w| {
                starts.lock().expect("lock").insert(n.name.clone(), Instant::now());
                done(Status::Success, w)
            })
        },
        &AtomicUsize::new(0),
        &|| false,
        &mut sink,
    );
    let b_started = starts.lock().expect("lock")["b"];
    let (name, a_reported) = &sink.finished_handled[0];
    assert_eq!(name, "a");
    assert!(b_started < *a_reported, "`b` waited for the sink to take in `a`'s end");
    // The sinks still see `a` end before `b` starts.
    let order: Vec<String> = sink
        .inner
        .events
        .iter()
        .filter_map(|e| match e {
            Event::NodeStarted { node, .. } => Some(format!("start {}", node.name)),
            Event::NodeFinished { node, .. } => Some(format!("end {}", node.name)),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["start a", "end a", "start b", "end b"]);
}
