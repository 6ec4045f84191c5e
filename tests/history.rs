//! The run history: every DAG run is recorded with its interval, state and
//! task instances, readable with `runner runs`.

mod common;
use chrono::{DateTime, Duration, Utc};
use common::Fixture;

fn runs(f: &Fixture) -> Vec<serde_json::Value> {
    let r = f.run(&["runs", "my_dag", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str::<serde_json::Value>(&r.stdout).expect("json").as_array().expect("array").clone()
}

fn time(v: &serde_json::Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("rfc3339").with_timezone(&Utc)
}

#[test]
fn a_manual_run_is_recorded_with_the_last_complete_interval() {
    let f = Fixture::shop();
    let before = Utc::now();
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    let runs = runs(&f);
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!(r["dag_id"], "my_dag");
    assert_eq!(r["state"], "success");
    assert_eq!(r["run_type"], "manual");
    assert!(r["run_id"].as_str().expect("id").starts_with("manual__"));
    let (start, end) = (time(&r["data_interval_start"]), time(&r["data_interval_end"]));
    // @daily: the interval is the last whole UTC day before the run.
    assert_eq!(end - start, Duration::days(1));
    assert!(end <= before && before - end < Duration::days(1), "{start} .. {end}");
    assert_eq!(time(&r["logical_date"]), start);
}

#[test]
fn logical_date_drives_the_interval_and_the_templates() {
    let f = Fixture::shop();
    f.write("models/stamp.sql", "{{ config(materialized='table') }}\nselect '{{ ds }}' as ds, '{{ data_interval_end }}' as until, '{{ run_id }}' as run_id\n");
    assert_eq!(f.run(&["run", "my_dag", "--logical-date", "2025-01-03"]).code, 0);
    let rows = f.query("select ds, until, run_id like 'manual__%' from main.stamp");
    assert_eq!(rows, vec![vec!["2025-01-03", "2025-01-04T00:00:00+00:00", "true"]]);
    let runs = runs(&f);
    assert_eq!(runs[0]["data_interval_start"], "2025-01-03T00:00:00Z");
}

#[test]
fn a_failed_node_fails_the_run_and_every_task_is_recorded() {
    let f = Fixture::shop();
    f.write("models/marts/customers.sql", "select missing_column from {{ ref('raw_customers') }}\n");
    assert_eq!(f.run(&["run", "my_dag"]).code, 1);
    assert_eq!(runs(&f)[0]["state"], "failed");
    // The run file is plain JSON: users query it with DuckDB.
    let files: Vec<_> = std::fs::read_dir(f.path().join(".runner/history/my_dag"))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(files.len(), 1, "one file per run: {files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("read");
    let run: serde_json::Value = serde_json::from_str(&text).expect("json");
    let states: Vec<&str> =
        run["tasks"].as_array().expect("tasks").iter().map(|t| t["state"].as_str().expect("state")).collect();
    assert_eq!(states.len(), 9);
    assert!(states.contains(&"failed") && states.contains(&"upstream_failed"), "{states:?}");
}

#[test]
fn a_run_whose_project_fails_to_load_leaves_no_history_behind() {
    let f = Fixture::shop();
    f.write("models/broken.sql", "select {{ 1 + }}\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("models/broken.sql"), "{}", r.stderr);
    let left: Vec<_> = std::fs::read_dir(f.path().join(".runner/history/my_dag"))
        .map(|d| d.map(|e| e.expect("entry").file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "no run file and no reserved id: {left:?}");
    assert!(runs(&f).is_empty());
}

#[test]
fn runs_of_an_unknown_dag_is_bad_usage() {
    let f = Fixture::shop();
    let r = f.run(&["runs", "nope"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown DAG `nope`"), "{}", r.stderr);
}

#[test]
fn r11_every_attempt_is_recorded_with_the_delay_between() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}retries: 2\nretry_delay: 300ms\n", common::DAG));
    f.write("models/marts/customers.sql", "select missing_column from {{ ref('raw_customers') }}\n");
    let started = std::time::Instant::now();
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1);
    assert!(started.elapsed() >= std::time::Duration::from_millis(600), "two delays of 300ms");
    assert_eq!(r.lines_with("RETRY").iter().filter(|l| l.contains("main.customers")).count(), 2, "{}", r.stdout);
    assert!(r.stdout.contains("attempt 1 of 3 failed, retrying in 0.30s"), "{}", r.stdout);
    let run_id = runs(&f)[0]["run_id"].as_str().expect("id").to_string();
    let t = f.run(&["tasks", &run_id, "--output", "json"]);
    let tasks: serde_json::Value = serde_json::from_str(&t.stdout).expect("json");
    let customers = tasks
        .as_array()
        .expect("array")
        .iter()
        .find(|t| t["node"].as_str().is_some_and(|n| n.ends_with(".customers")))
        .expect("task");
    let states: Vec<&str> =
        customers["attempts"].as_array().expect("attempts").iter().map(|a| a["state"].as_str().expect("s")).collect();
    assert_eq!(states, vec!["up_for_retry", "up_for_retry", "failed"]);
    assert!(customers["attempts"][0]["error"].as_str().is_some_and(|e| e.contains("missing_column")));
}
