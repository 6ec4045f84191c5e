//! The cross-process lock: a second `runner` waits and says for whom, and
//! `--lock-timeout` bounds the wait.

mod common;
use common::{Fixture, Run};
use runner::db::{self, Holder, LockMode, LockRequest};
use std::time::{Duration, Instant};

/// A model slow enough (about half a second) that a second process surely arrives while it runs.
const SLOW: &str = "{{ config(materialized='table') }}\nselect count(*) as n from range(6000) a, range(6000) b where (a.range * 7 + b.range) % 1013 = 5\n";

#[test]
fn two_runs_at_once_both_succeed_and_the_second_says_whom_it_waited_for() {
    let f = Fixture::shop();
    f.write("models/slow.sql", SLOW);
    let first = f
        .command(&["run", "my_dag"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("first starts");
    let lock_file = db::lock_path(&f.db());
    let deadline = Instant::now() + Duration::from_secs(60);
    while db::read_holder(&lock_file).map(|h| h.pid) != Some(first.id()) {
        assert!(Instant::now() < deadline, "first runner never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    let first_pid = first.id();
    let second = f.command(&["run", "my_dag"]).output().expect("second runs");
    let first = Run::from(first.wait_with_output().expect("first finishes"));
    let second = Run::from(second);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let waiting: Vec<&str> = second.stderr.lines().filter(|l| l.starts_with("waiting for the lock")).collect();
    assert_eq!(waiting.len(), 1, "one clear line:\n{}", second.stderr);
    assert!(waiting[0].contains(&format!("pid {first_pid}")), "{}", waiting[0]);
    assert!(waiting[0].contains("runner run my_dag") && waiting[0].contains("dag `my_dag`"), "{}", waiting[0]);
    assert!(second.stderr.contains("got the lock"), "{}", second.stderr);
    assert!(!second.stderr.contains("Could not set lock"), "{}", second.stderr);
    assert!(first.stderr.is_empty(), "the first never waited:\n{}", first.stderr);
}

#[test]
fn lock_timeout_exits_2_naming_the_holder() {
    let f = Fixture::shop();
    let holder = Holder::current("runner run other_dag".into(), Some("other_dag".into()), Some("manual__x".into()));
    let guard =
        db::acquire(LockRequest { db_path: f.db(), mode: LockMode::Exclusive, holder, timeout: None }, &mut |_| {
            panic!("nobody holds it yet")
        })
        .expect("test takes the lock");
    let started = Instant::now();
    let r = f.run(&["run", "my_dag", "--lock-timeout", "300ms"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(r.stderr.contains(&format!("pid {}", std::process::id())), "{}", r.stderr);
    assert!(r.stderr.contains("runner run other_dag") && r.stderr.contains("timed out"), "{}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing ran:\n{}", r.stdout);
    drop(guard);
    assert_eq!(f.run(&["run", "my_dag", "--lock-timeout", "5s"]).code, 0, "free again");
}
