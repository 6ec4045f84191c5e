use super::*;
use crate::events::Collector;
use crate::nodes::{fixture, Materialized};
use crate::template::relation::Relation;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub(super) fn node(name: &str, resource: Resource, deps: &[&str]) -> Node {
    let file = format!("{name}.sql");
    let mut n = fixture::node(name.into(), name, resource, &file, deps, Materialized::Table, Default::default());
    n.relation = (resource != Resource::Test).then(|| Relation::new("db", "main", name));
    n
}

pub(super) fn plan(nodes: Vec<Node>) -> Plan {
    fixture::plan(nodes)
}

pub(super) fn done(status: Status, worker: usize) -> NodeResult {
    NodeResult {
        status,
        duration: Duration::ZERO,
        count: None,
        message: None,
        started: 0.0,
        finished: 0.0,
        worker,
        attempts: 1,
        sql: Vec::new(),
        compiled: None,
    }
}

fn idx(p: &Plan, name: &str) -> usize {
    p.graph.index_of(name).expect("node exists")
}

pub(super) fn all(p: &Plan) -> BTreeSet<usize> {
    (0..p.nodes.len()).collect()
}

/// a → b → c, with test t_a on a and t_b on b.
fn chain() -> Plan {
    plan(vec![
        node("a", Resource::Model, &[]),
        node("b", Resource::Model, &["a"]),
        node("c", Resource::Model, &["b"]),
        node("t_a", Resource::Test, &["a"]),
        node("t_b", Resource::Test, &["b"]),
    ])
}

#[test]
fn admission_honours_every_cap() {
    for threads in 1..=4 {
        for tasks in 1..=4 {
            for db_writers in 1..=3 {
                let caps = Caps { threads, max_active_tasks: tasks, db_writers };
                for running in 0..=5 {
                    for writing in 0..=4 {
                        let room = running < threads.min(tasks);
                        assert_eq!(admit(&caps, running, writing, false), room, "{caps:?} {running} {writing}");
                        assert_eq!(
                            admit(&caps, running, writing, true),
                            room && writing < db_writers,
                            "{caps:?} {running} {writing}"
                        );
                    }
                }
                assert_eq!(caps.width(), threads.min(tasks));
            }
        }
    }
}

#[test]
fn writer_slots_are_taken_atomically_up_to_the_cap() {
    let caps = Caps { threads: 8, max_active_tasks: 8, db_writers: 2 };
    let writers = AtomicUsize::new(0);
    assert!(take_writer_slot(&caps, 0, &writers));
    assert!(take_writer_slot(&caps, 1, &writers));
    assert!(!take_writer_slot(&caps, 2, &writers));
    assert_eq!(writers.load(Ordering::SeqCst), 2);
}

#[test]
fn after_all_tests_wait_for_every_build_but_are_blocked_only_by_parents() {
    let p = chain();
    let rp = run_plan(&p, &all(&p), TestBehavior::AfterAll, TaskRetry::NONE);
    let t_a = idx(&p, "t_a");
    let builds: BTreeSet<usize> = ["a", "b", "c"].iter().map(|n| idx(&p, n)).collect();
    assert_eq!(rp.waits_for(t_a), builds);
    assert_eq!(rp.blocks[&t_a], BTreeSet::from([idx(&p, "a")]));
    assert_eq!(rp.waits[&idx(&p, "b")], BTreeSet::from([idx(&p, "a")]));
}

#[test]
fn build_makes_children_wait_for_their_parents_tests() {
    let p = chain();
    for behavior in [TestBehavior::Build, TestBehavior::AfterEach] {
        let rp = run_plan(&p, &all(&p), behavior, TaskRetry::NONE);
        assert_eq!(rp.blocks[&idx(&p, "b")], BTreeSet::from([idx(&p, "a"), idx(&p, "t_a")]));
        assert_eq!(rp.blocks[&idx(&p, "c")], BTreeSet::from([idx(&p, "b"), idx(&p, "t_b")]));
    }
}

#[test]
fn build_never_makes_a_test_wait_on_what_it_reads() {
    // A relationships test on b that also reads a: a must not wait for it.
    let p = plan(vec![
        node("a", Resource::Model, &[]),
        node("b", Resource::Model, &["a"]),
        node("rel", Resource::Test, &["a", "b"]),
    ]);
    let rp = run_plan(&p, &all(&p), TestBehavior::Build, TaskRetry::NONE);
    assert_eq!(rp.waits[&idx(&p, "b")], BTreeSet::from([idx(&p, "a")]));
}

#[test]
fn build_makes_readers_of_a_source_wait_for_its_tests() {
    // `m` reads source `raw.orders`; `t` tests that source; `x` refs `m`.
    let p = plan(vec![
        node("m", Resource::Model, &["source.p.raw.orders"]),
        node("other", Resource::Model, &["source.p.raw.customers"]),
        node("t", Resource::Test, &["source.p.raw.orders"]),
        node("x", Resource::Model, &["m"]),
    ]);
    let rp = run_plan(&p, &all(&p), TestBehavior::Build, TaskRetry::NONE);
    assert_eq!(rp.blocks[&idx(&p, "m")], BTreeSet::from([idx(&p, "t")]));
    assert_eq!(rp.blocks[&idx(&p, "other")], BTreeSet::new(), "reads another source");
    assert_eq!(rp.blocks[&idx(&p, "x")], BTreeSet::from([idx(&p, "m")]), "skipped through `m`");
    let after_all = run_plan(&p, &all(&p), TestBehavior::AfterAll, TaskRetry::NONE);
    assert!(!after_all.blocks[&idx(&p, "m")].contains(&idx(&p, "t")));
}

#[test]
fn none_drops_tests() {
    let p = chain();
    let rp = run_plan(&p, &all(&p), TestBehavior::None, TaskRetry::NONE);
    assert_eq!(rp.nodes.len(), 3);
}

/// Runs `p` with fake workers; `fail` names nodes that error or fail.
fn run_fake(
    p: &Plan,
    behavior: TestBehavior,
    caps: Caps,
    fail: &[&str],
    sleep: Duration,
) -> (Collector, BTreeMap<usize, Status>, usize) {
    let rp = run_plan(p, &all(p), behavior, TaskRetry::NONE);
    let fail: Vec<String> = fail.iter().map(|s| s.to_string()).collect();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut sink = Collector::default();
    let statuses = execute(
        p,
        &rp,
        caps,
        |_w| {
            let (fail, running, peak) = (fail.clone(), running.clone(), peak.clone());
            Box::new(move |n: &Node, _start, w| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(sleep);
                running.fetch_sub(1, Ordering::SeqCst);
                let status = match (fail.contains(&n.name), n.resource) {
                    (true, Resource::Test) => Status::Fail,
                    (true, _) => Status::Error,
                    (false, Resource::Test) => Status::Pass,
                    (false, _) => Status::Success,
                };
                done(status, w)
            })
        },
        &AtomicUsize::new(0),
        &|| false,
        &mut sink,
    )
    .statuses;
    let peak = peak.load(Ordering::SeqCst);
    (sink, statuses, peak)
}

#[test]
fn after_all_tests_start_once_the_last_build_is_done_and_tests_alone_are_not_held() {
    let p = chain();
    let one = Caps { threads: 1, max_active_tasks: 1, db_writers: usize::MAX };
    let started = |sink: &Collector| -> Vec<String> {
        let names = sink.events.iter().filter_map(|e| match e {
            Event::NodeStarted { node, .. } => Some(node.name.clone()),
            _ => None,
        });
        names.collect()
    };
    // By depth alone `t_a` (depth 1) would start before `c` (depth 2).
    let (sink, statuses, _) = run_fake(&p, TestBehavior::AfterAll, one, &[], Duration::ZERO);
    assert_eq!(started(&sink), ["a", "b", "c", "t_a", "t_b"]);
    assert!(statuses.values().all(|s| matches!(s, Status::Success | Status::Pass)), "{statuses:?}");
    // Only tests selected (`runner test`): no build to wait for, nothing held back.
    let tests: BTreeSet<usize> = ["t_a", "t_b"].iter().map(|n| idx(&p, n)).collect();
    let rp = run_plan(&p, &tests, TestBehavior::AfterAll, TaskRetry::NONE);
    assert!(rp.gate.is_empty());
    let mut sink = Collector::default();
    let statuses = execute(
        &p,
        &rp,
        one,
        |_w| Box::new(|_n: &Node, _start, w| done(Status::Pass, w)),
        &AtomicUsize::new(0),
        &|| false,
        &mut sink,
    )
    .statuses;
    assert_eq!(started(&sink), ["t_a", "t_b"]);
    assert!(statuses.values().all(|s| *s == Status::Pass), "{statuses:?}");
}

fn status_of(p: &Plan, s: &BTreeMap<usize, Status>, name: &str) -> Status {
    s[&idx(p, name)]
}

#[test]
fn caps_bound_concurrency_and_parallelism_is_real() {
    let p = plan((0..6).map(|i| node(&format!("m{i}"), Resource::Model, &[])).collect());
    let (_, _, peak) = run_fake(
        &p,
        TestBehavior::AfterAll,
        Caps { threads: 3, max_active_tasks: 8, db_writers: usize::MAX },
        &[],
        Duration::from_millis(60),
    );
    assert_eq!(peak, 3);
    let (_, _, peak) = run_fake(
        &p,
        TestBehavior::AfterAll,
        Caps { threads: 3, max_active_tasks: 1, db_writers: usize::MAX },
        &[],
        Duration::from_millis(5),
    );
    assert_eq!(peak, 1);
}

#[test]
fn one_worker_starts_the_lowest_depth_ready_node_first() {
    // Sorted ids give `a_child` the lowest index, but once `m_root` is built
    // the other root (depth 0) goes before it (depth 1).
    let p = plan(vec![
        node("a_child", Resource::Model, &["m_root"]),
        node("m_root", Resource::Model, &[]),
        node("z_root", Resource::Model, &[]),
        node("b_grandchild", Resource::Model, &["a_child"]),
    ]);
    let caps = Caps { threads: 1, max_active_tasks: 1, db_writers: usize::MAX };
    let (sink, statuses, _) = run_fake(&p, TestBehavior::AfterAll, caps, &[], Duration::ZERO);
    let started: Vec<String> = sink
        .events
        .iter()
        .filter_map(|e| match e {
            Event::NodeStarted { node, .. } => Some(node.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["m_root", "z_root", "a_child", "b_grandchild"]);
    assert!(statuses.values().all(|s| *s == Status::Success), "{statuses:?}");
}

#[test]
fn a_failed_model_skips_descendants_and_their_tests_only() {
    let mut nodes = chain().nodes;
    nodes.push(node("x", Resource::Model, &[]));
    let p = plan(nodes);
    let (sink, s, _) = run_fake(
        &p,
        TestBehavior::AfterAll,
        Caps { threads: 1, max_active_tasks: 1, db_writers: usize::MAX },
        &["b"],
        Duration::ZERO,
    );
    assert_eq!(status_of(&p, &s, "a"), Status::Success);
    assert_eq!(status_of(&p, &s, "b"), Status::Error);
    assert_eq!(status_of(&p, &s, "c"), Status::Skipped);
    assert_eq!(status_of(&p, &s, "t_b"), Status::Skipped);
    assert_eq!(status_of(&p, &s, "t_a"), Status::Pass);
    assert_eq!(status_of(&p, &s, "x"), Status::Success);
    let order: Vec<String> = sink
        .events
        .iter()
        .filter_map(|e| match e {
            Event::NodeStarted { node, .. } | Event::NodeSkipped { node, .. } => Some(node.name.clone()),
            _ => None,
        })
        .collect();
    // Depth first, then id; tests only after every build.
    assert_eq!(order, vec!["a", "x", "b", "c", "t_a", "t_b"]);
}

#[test]
fn under_build_a_failing_test_skips_downstream() {
    let p = chain();
    let (_, s, _) = run_fake(
        &p,
        TestBehavior::Build,
        Caps { threads: 2, max_active_tasks: 2, db_writers: usize::MAX },
        &["t_a"],
        Duration::ZERO,
    );
    assert_eq!(status_of(&p, &s, "t_a"), Status::Fail);
    assert_eq!(status_of(&p, &s, "b"), Status::Skipped);
    assert_eq!(status_of(&p, &s, "c"), Status::Skipped);
}

#[test]
fn a_stop_request_starts_nothing_more() {
    let p = chain();
    let rp = run_plan(&p, &all(&p), TestBehavior::AfterAll, TaskRetry::NONE);
    let started = Arc::new(AtomicUsize::new(0));
    let mut sink = Collector::default();
    let s2 = started.clone();
    let statuses = execute(
        &p,
        &rp,
        Caps { threads: 1, max_active_tasks: 1, db_writers: usize::MAX },
        |_w| {
            let s2 = s2.clone();
            Box::new(move |_n: &Node, _start, w| {
                s2.fetch_add(1, Ordering::SeqCst);
                done(Status::Success, w)
            })
        },
        &AtomicUsize::new(0),
        &|| started.load(Ordering::SeqCst) >= 2,
        &mut sink,
    )
    .statuses;
    assert_eq!(started.load(Ordering::SeqCst), 2);
    assert_eq!(statuses.values().filter(|s| **s == Status::Skipped).count(), 3);
    assert!(matches!(sink.events.last(), Some(Event::RunFinished { .. })));
}

#[test]
fn the_writer_cap_bounds_builds_but_not_tests() {
    // Six independent models and a test on each: writers never exceed 2, and
    // the whole run still uses 3 workers.
    let mut nodes: Vec<Node> = (0..6).map(|i| node(&format!("m{i}"), Resource::Model, &[])).collect();
    nodes.extend((0..6).map(|i| node(&format!("t{i}"), Resource::Test, &[&format!("m{i}")])));
    let p = plan(nodes);
    let rp = run_plan(&p, &all(&p), TestBehavior::Build, TaskRetry::NONE);
    let writers = Arc::new(AtomicUsize::new(0));
    let peak_writers = Arc::new(AtomicUsize::new(0));
    let (running, peak_all) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut sink = Collector::default();
    let caps = Caps { threads: 3, max_active_tasks: 3, db_writers: 2 };
    let peak = peak_writers.clone();
    execute(
        &p,
        &rp,
        caps,
        |_| {
            let (peak, w, running, peak_all) = (peak.clone(), writers.clone(), running.clone(), peak_all.clone());
            Box::new(move |n: &Node, _start, worker| {
                if n.resource != Resource::Test {
                    peak.fetch_max(w.load(Ordering::SeqCst), Ordering::SeqCst);
                }
                peak_all.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(60));
                running.fetch_sub(1, Ordering::SeqCst);
                let status = if n.resource == Resource::Test { Status::Pass } else { Status::Success };
                done(status, worker)
            })
        },
        &*writers,
        &|| false,
        &mut sink,
    );
    assert_eq!(peak_writers.load(Ordering::SeqCst), 2);
    assert_eq!(peak_all.load(Ordering::SeqCst), 3, "tests run beside capped writers");
    assert_eq!(writers.load(Ordering::SeqCst), 0, "every slot is given back");
}

#[test]
fn run_admission_is_max_active_runs() {
    assert!(admit_run(1, 0));
    assert!(!admit_run(1, 1));
    assert!(admit_run(3, 2));
    assert!(!admit_run(3, 3));
}

#[test]
fn crossing_relationships_tests_do_not_deadlock_build() {
    // stg_o reads raw_o, stg_c reads raw_c; a test on stg_o reads raw_c and a
    // test on stg_c reads raw_o. The old rule made stg_c and stg_o wait on each
    // other through the tests; dbt's rule adds no such edge.
    let p = plan(vec![
        node("raw_o", Resource::Seed, &[]),
        node("raw_c", Resource::Seed, &[]),
        node("stg_o", Resource::Model, &["raw_o"]),
        node("stg_c", Resource::Model, &["raw_c"]),
        node("rel_o", Resource::Test, &["stg_o", "raw_c"]),
        node("rel_c", Resource::Test, &["stg_c", "raw_o"]),
    ]);
    for behavior in [TestBehavior::Build, TestBehavior::AfterEach] {
        let (_, s, _) = run_fake(
            &p,
            behavior,
            Caps { threads: 1, max_active_tasks: 1, db_writers: usize::MAX },
            &[],
            Duration::ZERO,
        );
        assert!(s.values().all(|st| matches!(st, Status::Success | Status::Pass)), "{behavior:?}: {s:?}");
    }
}

#[test]
fn nodes_that_never_run_get_a_terminal_event() {
    let p = chain();
    let rp = run_plan(&p, &all(&p), TestBehavior::AfterAll, TaskRetry::NONE);
    let mut sink = Collector::default();
    let started = Arc::new(AtomicUsize::new(0));
    let s2 = started.clone();
    execute(
        &p,
        &rp,
        Caps { threads: 1, max_active_tasks: 1, db_writers: usize::MAX },
        |_| {
            let s2 = s2.clone();
            Box::new(move |_n: &Node, _start, w| {
                s2.fetch_add(1, Ordering::SeqCst);
                done(Status::Success, w)
            })
        },
        &AtomicUsize::new(0),
        &|| started.load(Ordering::SeqCst) >= 1,
        &mut sink,
    );
    let skipped: Vec<&str> = sink
        .events
        .iter()
        .filter_map(|e| if let Event::NodeSkipped { because, .. } = e { Some(because.as_str()) } else { None })
        .collect();
    assert_eq!(skipped, vec![INTERRUPTED; 4]);
}

#[test]
fn labels_name_every_materialization_as_dbt_prints_it() {
    for (m, text) in
        [(Materialized::View, "view"), (Materialized::Table, "table"), (Materialized::Incremental, "incremental")]
    {
        let mut n = node("m", Resource::Model, &[]);
        n.kind = NodeKind::Model {
            template: String::new(),
            materialized: m,
            settings: crate::nodes::ModelSettings::Plain,
            python: None,
        };
        assert_eq!(label(&n).materialized, text);
    }
    assert_eq!(label(&node("t", Resource::Test, &[])).materialized, "");
}

mod outcome;
mod retries;
