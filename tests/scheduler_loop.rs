//! The long-running `runner scheduler`: it sleeps until an interval ends,
//! notices new DAG files while asleep, and on SIGTERM stops starting work,
//! lets running nodes finish within the grace period, then interrupts them.

mod common;
use common::{spawn_watched, wait_exit, wait_for, Fixture, VERY_SLOW};
use std::time::{Duration, Instant};

fn term(child: &std::process::Child) {
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_states(f: &Fixture, dag: &str) -> Vec<String> {
    let r = f.run(&["runs", dag, "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|r| format!("{} {}", r["run_id"].as_str().expect("id"), r["state"].as_str().expect("state")))
        .collect()
}

#[test]
fn the_loop_sleeps_until_the_interval_ends_and_notices_new_dags_while_asleep() {
    let f = Fixture::shop();
    let started = Instant::now();
    // Two seconds before the first @daily interval (2025-01-01) ends.
    let (child, rx) = spawn_watched(&f, &["scheduler", "--now", "2025-01-01T23:59:58Z"]);
    // A scheduler without `--once` never exits by itself: kill it if an assertion fails.
    let mut child = KillOnDrop(child);
    let seen = wait_for(&rx, "== `my_dag` run `scheduled__2025-01-01T00:00:00+00:00`");
    assert!(started.elapsed() >= Duration::from_millis(1500), "ran only once the interval had ended: {seen:?}");
    wait_for(&rx, "Done. PASS=");
    // The next interval ends a day later: the scheduler sleeps, and a DAG
    // file added meanwhile is picked up without a restart.
    f.write("dags/other.yml", &common::DAG.replace("dag_id: my_dag", "dag_id: other"));
    wait_for(&rx, "== `other` run `scheduled__2025-01-01T00:00:00+00:00`");
    wait_for(&rx, "Done. PASS=");
    // Asleep again, a signal ends it at once: nothing is running.
    std::thread::sleep(Duration::from_millis(300));
    term(&child.0);
    assert_eq!(wait_exit(&mut child.0, Duration::from_secs(10)), 130);
    assert_eq!(run_states(&f, "my_dag"), vec!["scheduled__2025-01-01T00:00:00+00:00 success"]);
    assert_eq!(run_states(&f, "other"), vec!["scheduled__2025-01-01T00:00:00+00:00 success"]);
}

/// A model that runs for seconds, then a model that depends on it.
fn medium_then_child(f: &Fixture) {
    f.write(
        "models/medium.sql",
        "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('raw_orders') }} o, range(5000) a, range(15000) b where (a.range * 7 + b.range + o.id) % 1013 = 5\n",
    );
    f.write("models/after_medium.sql", "{{ config(materialized='table') }}\nselect n from {{ ref('medium') }}\n");
}

#[test]
fn sigterm_lets_a_running_node_finish_within_the_grace_period_and_starts_nothing_more() {
    let f = Fixture::shop();
    medium_then_child(&f);
    let (mut child, rx) =
        spawn_watched(&f, &["scheduler", "--once", "--now", "2025-01-02T01:00:00Z", "--grace-period", "5m"]);
    wait_for(&rx, "START sql table model main.medium");
    term(&child);
    let seen = wait_for(&rx, "OK created sql table model main.medium");
    assert!(
        seen.iter().any(|l| l.contains("stopping: no new nodes start")),
        "the signal came while the node ran, and it finished anyway: {seen:?}"
    );
    assert_eq!(wait_exit(&mut child, Duration::from_secs(120)), 130);
    assert_eq!(f.query("select count(*) from medium"), vec![vec!["1".to_string()]], "committed");
    let tasks = f.run(&["tasks", "scheduled__2025-01-01T00:00:00+00:00", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&tasks.stdout).expect("json");
    let state = |name: &str| {
        let tasks = v.as_array().expect("array");
        tasks
            .iter()
            .find(|t| t["node"].as_str().and_then(|n| n.rsplit('.').next()) == Some(name))
            .map(|t| t["state"].clone())
    };
    assert_eq!(state("medium"), Some("success".into()), "{v}");
    assert_ne!(state("after_medium"), Some("success".into()), "never started: {v}");
    assert_eq!(run_states(&f, "my_dag"), vec!["scheduled__2025-01-01T00:00:00+00:00 failed"]);
}

#[test]
fn when_the_grace_period_ends_running_nodes_are_interrupted_and_rolled_back() {
    let f = Fixture::shop();
    f.write("models/slow.sql", VERY_SLOW);
    let (mut child, rx) =
        spawn_watched(&f, &["scheduler", "--once", "--now", "2025-01-02T01:00:00Z", "--grace-period", "1s"]);
    wait_for(&rx, "START sql table model main.slow");
    let signalled = Instant::now();
    term(&child);
    wait_for(&rx, "grace period over: interrupting running queries");
    assert!(signalled.elapsed() >= Duration::from_millis(900), "waited for the grace period");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(60)), 130);
    let built = f.query("select count(*) from information_schema.tables where table_name = 'slow'");
    assert_eq!(built, vec![vec!["0".to_string()]]);
    assert_eq!(run_states(&f, "my_dag"), vec!["scheduled__2025-01-01T00:00:00+00:00 failed"]);
}
