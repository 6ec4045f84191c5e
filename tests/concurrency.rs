//! Concurrency and locking under load: caps hold exactly, interrupts roll
//! back and release, foreign holders are named and waited for, a killed
//! holder blocks nobody, and many processes at once never see DuckDB's lock
//! error.

mod common;
use common::{spawn_watched, wait_exit, wait_for, Fixture, Run, VERY_SLOW};
use runner::db::{self, Holder, LockMode, LockRequest};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn lock_is_free(f: &Fixture) -> bool {
    let holder = Holder::current("test".into(), None, None);
    db::acquire(
        LockRequest { db_path: f.db(), mode: LockMode::Exclusive, holder, timeout: Some(Duration::ZERO) },
        &mut |_| {},
    )
    .is_ok()
}

/// Greatest number of nodes whose [start, end) overlap, from run_results.json.
fn peak_overlap(f: &Fixture) -> usize {
    let text = std::fs::read_to_string(f.path().join("target/run_results.json")).expect("run_results.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut edges = Vec::new();
    for r in v["results"].as_array().expect("results") {
        let timing = r["timing"].as_array().expect("timing");
        let t = timing.iter().find(|t| t["name"] == "execute").expect("an execute timing, as dbt writes");
        let parse = |k: &str| chrono::DateTime::parse_from_rfc3339(t[k].as_str().expect("time")).expect("rfc3339");
        edges.push((parse("started_at"), 1i32));
        edges.push((parse("completed_at"), -1i32));
    }
    // Ends sort before starts at the same instant: touching is not overlapping.
    edges.sort();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        peak = peak.max(now);
    }
    peak as usize
}

fn six_slow_models(f: &Fixture, threads: usize, max_active_tasks: usize) {
    f.write(
        "profiles.yml",
        &format!("shop:\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n      threads: {threads}\n      settings:\n        threads: 1\n"),
    );
    f.write(
        "dags/my_dag.yml",
        &common::DAG.replace("max_active_tasks: 1", &format!("max_active_tasks: {max_active_tasks}")),
    );
    for i in 0..6 {
        f.write(
            &format!("models/slow_{i}.sql"),
            "select count(*) as n from range(3000) a, range(3000) b where (a.range + b.range) % 97 = 3\n",
        );
    }
}

#[test]
fn threads_cap_holds_and_parallelism_is_real() {
    let f = Fixture::new();
    six_slow_models(&f, 3, 16);
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let peak = peak_overlap(&f);
    assert!((2..=3).contains(&peak), "peak overlap {peak} with threads: 3");
    // max_active_tasks 1 wins over threads 3.
    let f = Fixture::new();
    six_slow_models(&f, 3, 1);
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    assert_eq!(peak_overlap(&f), 1);
}

#[test]
fn the_per_file_writer_cap_holds_under_more_threads() {
    let f = Fixture::new();
    six_slow_models(&f, 3, 16);
    let r = f.run(&["run", "my_dag", "--max-db-writers", "2"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(peak_overlap(&f), 2);
}

#[test]
fn sigterm_rolls_back_releases_the_lock_and_exits_130() {
    let f = Fixture::shop();
    f.write("models/slow.sql", VERY_SLOW);
    let (mut child, rx) = spawn_watched(&f, &["run", "my_dag"]);
    wait_for(&rx, "START sql table model main.slow");
    std::thread::sleep(Duration::from_millis(200));
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    assert_eq!(wait_exit(&mut child, Duration::from_secs(20)), 130);
    let lines: Vec<String> = rx.try_iter().collect();
    assert!(lines.iter().any(|l| l.contains("interrupting")), "{}", lines.join("\n"));
    assert!(lock_is_free(&f), "the lock is released");
    assert!(
        f.query("select count(*) from information_schema.tables where table_name = 'slow'") == vec![vec!["0"]],
        "rolled back"
    );
    assert_eq!(f.query("select count(*) from main.raw_orders"), vec![vec!["4"]], "finished nodes are kept");
}

#[test]
fn a_foreign_duckdb_holder_is_named_and_waited_for() {
    let f = Fixture::shop();
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    let foreign = duckdb::Connection::open(f.db()).expect("this test process holds the file like a BI tool would");
    let r = f.run(&["run", "my_dag", "--lock-timeout", "400ms"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let me = format!("pid {}", std::process::id());
    assert!(r.stderr.contains(&me) && r.stderr.contains("not runner"), "{}", r.stderr);
    assert!(!r.stderr.contains("Could not set lock"), "DuckDB's raw error is not what the user sees:\n{}", r.stderr);
    let (mut child, rx) = spawn_watched(&f, &["run", "my_dag", "--lock-timeout", "60s"]);
    let seen = wait_for(&rx, "not runner");
    assert!(seen.last().is_some_and(|l| l.contains(&me)), "{seen:?}");
    drop(foreign);
    assert_eq!(wait_exit(&mut child, Duration::from_secs(30)), 0, "proceeds once the holder closes");
}

#[test]
fn a_holder_killed_with_sigkill_blocks_nobody() {
    let f = Fixture::shop();
    f.write("models/slow.sql", VERY_SLOW);
    let (mut child, rx) = spawn_watched(&f, &["run", "my_dag"]);
    wait_for(&rx, "START sql table model main.slow");
    let killed = std::process::Command::new("kill").args(["-KILL", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    wait_exit(&mut child, Duration::from_secs(10));
    assert!(lock_is_free(&f), "the kernel released the flock");
    f.write("models/slow.sql", "{{ config(materialized='table') }}\nselect 1 as n\n");
    let r = f.run(&["run", "my_dag", "--lock-timeout", "1s"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("waiting"), "no wait after a dead holder:\n{}", r.stderr);
    assert_eq!(f.query("select count(*) from main.customers"), vec![vec!["3"]]);
    // The killed run is marked failed when next seen; the second succeeded.
    let r = f.run(&["runs", "my_dag", "--output", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let mut states: Vec<&str> =
        runs.as_array().expect("array").iter().map(|r| r["state"].as_str().expect("state")).collect();
    states.sort();
    assert_eq!(states, vec!["failed", "success"], "{}", r.stdout);
}

#[test]
fn eight_writers_and_four_readers_at_once_all_complete() {
    let f = Fixture::shop();
    assert_eq!(f.run(&["run", "my_dag"]).code, 0, "readers need a database");
    let mut children: Vec<(bool, Child)> = Vec::new();
    for i in 0..12 {
        let args: &[&str] = if i % 3 == 2 { &["test", "my_dag"] } else { &["run", "my_dag"] };
        let child = f.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starts");
        children.push((args[0] == "run", child));
    }
    let mut writers = 0;
    for (is_run, child) in children {
        let r = Run::from(child.wait_with_output().expect("finishes"));
        writers += usize::from(is_run);
        assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        assert!(!r.stderr.contains("Could not set lock") && !r.stderr.contains("Conflicting lock"), "{}", r.stderr);
        if r.stderr.contains("got the lock") {
            let line = r
                .stderr
                .lines()
                .find(|l| l.starts_with("waiting for the lock"))
                .expect("a waiter says whom it waits for");
            assert!(line.contains("held by pid ") || line.contains("held by runner processes reading it"), "{line}");
        }
        assert!(r.stdout.contains("ERROR=0 SKIP=0"), "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    }
    assert_eq!(writers, 8);
    // Every run is recorded: the first one and the eight writers.
    let r = f.run(&["runs", "my_dag", "--output", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let runs = runs.as_array().expect("array");
    assert_eq!(runs.len(), 9, "{}", r.stdout);
    assert!(runs.iter().all(|r| r["state"] == "success"), "{}", r.stdout);
}

#[test]
fn lock_policy_skip_and_fail() {
    let f = Fixture::shop();
    let holder = Holder::current("runner run other".into(), Some("other".into()), None);
    let _guard =
        db::acquire(LockRequest { db_path: f.db(), mode: LockMode::Exclusive, holder, timeout: None }, &mut |_| {})
            .expect("the test holds the lock");
    f.write("dags/my_dag.yml", &format!("{}lock_policy: skip\n", common::DAG));
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("skipped") && r.stderr.contains("runner run other"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    f.write("dags/my_dag.yml", &format!("{}lock_policy: fail\n", common::DAG));
    let started = Instant::now();
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(5), "fails without waiting");
    assert!(r.stderr.contains("runner run other"), "{}", r.stderr);
}
