//! Retry policy (Airflow's R11) and per-node timeouts: a node's own config
//! over the DAG's, and a flaky node retried within its attempts.

use super::*;

#[test]
fn a_models_own_config_overrides_the_dag_retry_policy() {
    let mut n = node("m", Resource::Model, &[]);
    n.config.insert("retries".into(), serde_yaml::Value::from(3));
    n.config.insert("retry_delay".into(), serde_yaml::Value::String("2s".into()));
    let r = TaskRetry::NONE.for_node(&n);
    assert_eq!((r.retries, r.delay), (3, Duration::from_secs(2)));
    assert_eq!(TaskRetry::NONE.for_node(&node("x", Resource::Model, &[])), TaskRetry::NONE);
}

#[test]
fn a_models_execution_timeout_overrides_the_dags() {
    let dag = Some(Duration::from_secs(60));
    assert_eq!(timeout_for(dag, &node("x", Resource::Model, &[])), dag);
    assert_eq!(timeout_for(None, &node("x", Resource::Model, &[])), None);
    let mut n = node("m", Resource::Model, &[]);
    n.config.insert("execution_timeout".into(), serde_yaml::Value::String("90s".into()));
    assert_eq!(timeout_for(dag, &n), Some(Duration::from_secs(90)));
    let mut meta = serde_yaml::Mapping::new();
    meta.insert("execution_timeout".into(), serde_yaml::Value::from(2.5));
    let mut n = node("m", Resource::Model, &[]);
    n.config.insert("meta".into(), serde_yaml::Value::Mapping(meta));
    assert_eq!(timeout_for(None, &n), Some(Duration::from_millis(2500)));
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
    );
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
