//! Retry policy (Airflow's R11) and per-node timeouts: a node's own config
//! over the DAG's, and a flaky node retried within its attempts.

use super::*;

/// A node whose config is `yaml`, its run settings decided as the planner decides them.
fn configured(yaml: &str) -> Node {
    let mut n = node("m", Resource::Model, &[]);
    n.config = serde_yaml::from_str(yaml).expect("yaml");
    n.run = crate::nodes::RunSettings::from_config(&n.config).expect("valid settings");
    n
}

#[test]
fn a_models_own_config_overrides_the_dag_retry_policy() {
    let r = TaskRetry::NONE.for_node(&configured("retries: 3\nretry_delay: 2s"));
    assert_eq!((r.retries, r.delay), (3, Duration::from_secs(2)));
    assert_eq!(TaskRetry::NONE.for_node(&node("x", Resource::Model, &[])), TaskRetry::NONE);
}

#[test]
fn a_models_execution_timeout_overrides_the_dags() {
    let dag = Some(Duration::from_secs(60));
    assert_eq!(timeout_for(dag, &node("x", Resource::Model, &[])), dag);
    assert_eq!(timeout_for(None, &node("x", Resource::Model, &[])), None);
    assert_eq!(timeout_for(dag, &configured("execution_timeout: 90s")), Some(Duration::from_secs(90)));
    assert_eq!(timeout_for(None, &configured("meta: {execution_timeout: 2.5}")), Some(Duration::from_millis(2500)));
}

/// Runs a chain where `a` fails its first `failures` attempts.
fn run_flaky(failures: usize, retries: u32) -> (Collector, BTreeMap<usize, Status>, Plan) {
    let p = chain();
    let retry =
        TaskRetry { retries, delay: Duration::from_millis(5), exponential: false, max_delay: Duration::from_secs(1) };
    let rp = run_plan(&p, &all(&p), TestBehavior::AfterAll, retry);
    let tries = Arc::new(AtomicUsize::new(0));
    let mut sink = Collector::default();
    let statuses = execute(
        &p,
        &rp,
        Caps { threads: 1, max_active_tasks: 1, db_writers: usize::MAX },
        |_| {
            let tries = tries.clone();
            Box::new(move |n: &Node, _start, w| {
                let failing = n.name == "a" && tries.fetch_add(1, Ordering::SeqCst) < failures;
                let ok = if n.resource == Resource::Test { Status::Pass } else { Status::Success };
                done(if failing { Status::Error } else { ok }, w)
            })
        },
        &AtomicUsize::new(0),
        &|| false,
        &mut sink,
    )
    .statuses;
    (sink, statuses, p)
}

fn retries_seen(sink: &Collector) -> Vec<u32> {
    sink.events
        .iter()
        .filter_map(|e| if let Event::NodeRetrying { attempt, .. } = e { Some(*attempt) } else { None })
        .collect()
}

#[test]
fn r11_a_flaky_node_succeeds_within_its_attempts() {
    let (sink, s, p) = run_flaky(2, 2);
    assert_eq!(retries_seen(&sink), vec![1, 2]);
    assert_eq!(status_of(&p, &s, "a"), Status::Success);
    assert_eq!(status_of(&p, &s, "c"), Status::Success);
}

#[test]
fn r11_at_most_retries_plus_one_attempts_then_failure() {
    let (sink, s, p) = run_flaky(usize::MAX, 1);
    assert_eq!(retries_seen(&sink), vec![1]);
    assert_eq!(status_of(&p, &s, "a"), Status::Error);
    assert_eq!(status_of(&p, &s, "b"), Status::Skipped);
}
