//! `runner scheduler --once --now …`: Airflow's interval rules, walked
//! through days in milliseconds.

mod common;
use common::{spawn_watched, wait_exit, wait_for, Fixture, Run, VERY_SLOW};
use std::process::Stdio;

fn scheduler(f: &Fixture, now: &str) -> Run {
    f.run(&["scheduler", "--once", "--now", now])
}

fn logical_dates(f: &Fixture) -> Vec<String> {
    let r = f.run(&["runs", "my_dag", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    v.as_array()
        .expect("array")
        .iter()
        .filter(|r| r["run_type"] == "scheduled")
        .map(|r| format!("{} {}", r["logical_date"].as_str().expect("date"), r["state"].as_str().expect("state")))
        .collect()
}

fn with_catchup(f: &Fixture) {
    f.write("dags/my_dag.yml", &format!("{}catchup: true\n", common::DAG));
}

#[test]
fn r2_r6_r7_only_the_latest_complete_interval_once() {
    let f = Fixture::shop();
    assert!(scheduler(&f, "2025-01-01T23:59:00Z").stdout.is_empty(), "R2: nothing before the first interval ends");
    let r = scheduler(&f, "2025-01-03T05:00:00Z");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "run `scheduled__2025-01-02T00:00:00+00:00`: interval 2025-01-02T00:00:00Z → 2025-01-03T00:00:00Z"
        ),
        "{}",
        r.stdout
    );
    assert_eq!(logical_dates(&f), vec!["2025-01-02T00:00:00Z success"]);
    // A restart at the same moment runs nothing again.
    let again = scheduler(&f, "2025-01-03T06:00:00Z");
    assert_eq!(again.code, 0);
    assert!(!again.stdout.contains("run `scheduled__"), "{}", again.stdout);
    assert_eq!(logical_dates(&f).len(), 1);
}

#[test]
fn r5_catchup_runs_every_missed_interval_oldest_first_with_its_ds() {
    let f = Fixture::shop();
    with_catchup(&f);
    f.write(
        "models/stamp.sql",
        "{{ config(materialized='table') }}\nselect '{{ ds }}' as ds, '{{ run_id }}' as run_id\n",
    );
    let r = scheduler(&f, "2025-01-04T01:00:00Z");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let order: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(order.len(), 3, "{}", r.stdout);
    assert!(
        order[0].contains("2025-01-01T00") && order[1].contains("2025-01-02T00") && order[2].contains("2025-01-03T00"),
        "{order:?}"
    );
    assert_eq!(
        f.query("select ds, run_id from main.stamp"),
        vec![vec!["2025-01-03", "scheduled__2025-01-03T00:00:00+00:00"]]
    );
    // The next day brings exactly one more.
    assert_eq!(scheduler(&f, "2025-01-05T00:00:00Z").code, 0);
    assert_eq!(logical_dates(&f).len(), 4);
}

#[test]
fn r7_two_schedulers_at_once_run_each_interval_once() {
    let f = Fixture::shop();
    with_catchup(&f);
    let spawn = || {
        f.command(&["scheduler", "--once", "--now", "2025-01-06T00:00:00Z"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let r = Run::from(child.wait_with_output().expect("finishes"));
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    }
    let dates = logical_dates(&f);
    assert_eq!(
        dates,
        vec![
            "2025-01-01T00:00:00Z success",
            "2025-01-02T00:00:00Z success",
            "2025-01-03T00:00:00Z success",
            "2025-01-04T00:00:00Z success",
            "2025-01-05T00:00:00Z success",
        ]
    );
}

#[test]
fn a_manual_run_does_not_take_the_scheduled_intervals_place() {
    let f = Fixture::shop();
    assert_eq!(f.run(&["run", "my_dag", "--logical-date", "2025-01-02"]).code, 0);
    assert_eq!(scheduler(&f, "2025-01-03T05:00:00Z").code, 0);
    assert_eq!(logical_dates(&f), vec!["2025-01-02T00:00:00Z success"]);
}

#[test]
fn paused_dags_do_not_run() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}paused: true\n", common::DAG));
    let r = scheduler(&f, "2025-01-03T05:00:00Z");
    assert_eq!(r.code, 0);
    assert!(logical_dates(&f).is_empty());
}

#[test]
fn bad_scheduler_usage_exits_2() {
    let f = Fixture::shop();
    for args in [&["scheduler", "--once", "--grace-period", "soon"][..], &["scheduler", "--once", "--now", "tomorrow"]]
    {
        let r = f.run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    }
}

#[test]
fn pause_and_unpause_from_the_command_line() {
    let f = Fixture::shop();
    let r = f.run(&["pause", "my_dag"]);
    assert_eq!((r.code, r.stdout.trim()), (0, "`my_dag` paused"));
    assert_eq!(scheduler(&f, "2025-01-03T05:00:00Z").code, 0);
    assert!(logical_dates(&f).is_empty(), "a paused DAG is not scheduled");
    assert_eq!(f.run(&["unpause", "my_dag"]).code, 0);
    assert_eq!(scheduler(&f, "2025-01-03T05:00:00Z").code, 0);
    assert_eq!(logical_dates(&f).len(), 1);
}

#[test]
fn dags_and_tasks_inspection() {
    let f = Fixture::shop();
    assert_eq!(scheduler(&f, "2025-01-03T05:00:00Z").code, 0);
    let r = f.run(&["dags", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let row = &rows[0];
    assert_eq!(row["dag_id"], "my_dag");
    assert_eq!(row["schedule"], "0 0 * * *");
    assert_eq!(row["paused"], false);
    assert_eq!(row["last_run_id"], "scheduled__2025-01-02T00:00:00+00:00");
    assert_eq!(row["last_run_state"], "success");
    assert!(row["next_run_at"].is_string(), "{row}");
    let r = f.run(&["tasks", "scheduled__2025-01-02T00:00:00+00:00", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tasks: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let tasks = tasks.as_array().expect("array");
    assert_eq!(tasks.len(), 9);
    assert!(tasks.iter().all(|t| t["state"] == "success" && t["attempts"].as_array().is_some_and(|a| a.len() == 1)));
    let table = f.run(&["tasks", "scheduled__2025-01-02T00:00:00+00:00"]);
    assert!(table.stdout.contains("model.") && table.stdout.contains("success"), "{}", table.stdout);
    let missing = f.run(&["tasks", "scheduled__1999-01-01T00:00:00+00:00"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("unknown run id") && missing.stderr.contains("hint:"), "{}", missing.stderr);
}

#[test]
fn a_scheduler_killed_mid_run_leaves_a_failed_run_and_no_duplicate() {
    let f = Fixture::shop();
    f.write("models/slow.sql", VERY_SLOW);
    let (mut child, rx) = spawn_watched(&f, &["scheduler", "--once", "--now", "2025-01-03T05:00:00Z"]);
    wait_for(&rx, "START sql table model main.slow");
    let killed = std::process::Command::new("kill").args(["-KILL", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    wait_exit(&mut child, std::time::Duration::from_secs(10));
    assert_eq!(logical_dates(&f), vec!["2025-01-02T00:00:00Z failed"], "the dead run is marked failed");
    // Restarted at the same moment: the interval has its run (as in Airflow, until cleared).
    f.write("models/slow.sql", "{{ config(materialized='table') }}\nselect 1 as n\n");
    let r = scheduler(&f, "2025-01-03T06:00:00Z");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(logical_dates(&f), vec!["2025-01-02T00:00:00Z failed"]);
    // The next interval runs normally, on a consistent database.
    assert_eq!(scheduler(&f, "2025-01-04T06:00:00Z").code, 0);
    assert_eq!(logical_dates(&f), vec!["2025-01-02T00:00:00Z failed", "2025-01-03T00:00:00Z success"]);
}

#[test]
fn daily_intervals_follow_local_midnight_across_dst() {
    let f = Fixture::shop();
    f.write(
        "dags/my_dag.yml",
        &common::DAG.replace("start_date: 2025-01-01", "start_date: 2025-03-28\ntimezone: Europe/Paris\ncatchup: true"),
    );
    let r = scheduler(&f, "2025-03-31T00:00:00Z");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let out = f.run(&["runs", "my_dag", "--output", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let intervals: Vec<(String, String)> = runs
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["data_interval_start"].as_str().expect("s").to_string(),
                r["data_interval_end"].as_str().expect("e").to_string(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        intervals,
        vec![
            pair("2025-03-27T23:00:00Z", "2025-03-28T23:00:00Z"),
            pair("2025-03-28T23:00:00Z", "2025-03-29T23:00:00Z"),
            // The spring-forward day lasts 23 hours.
            pair("2025-03-29T23:00:00Z", "2025-03-30T22:00:00Z"),
        ]
    );
}
