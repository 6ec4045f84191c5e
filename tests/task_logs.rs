//! Per-attempt logs (`runner logs`), `execution_timeout` and DAG `params`,
//! through the real binary on temp-dir projects.

mod common;
use common::{Fixture, VERY_SLOW};

fn only_run_id(f: &Fixture) -> String {
    let r = f.run(&["runs", "my_dag", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let runs = v.as_array().expect("array");
    assert_eq!(runs.len(), 1, "{}", r.stdout);
    runs[0]["run_id"].as_str().expect("run id").to_string()
}

/// A task by its node's name (fixtures have no dbt_project.yml, so the
/// project part of the unique id is the temp directory's name).
fn task(f: &Fixture, run_id: &str, name: &str) -> serde_json::Value {
    let r = f.run(&["tasks", run_id, "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let found = v
        .as_array()
        .expect("array")
        .iter()
        .find(|t| t["node"].as_str().and_then(|n| n.rsplit('.').next()) == Some(name));
    found.cloned().unwrap_or_else(|| panic!("task `{name}` recorded: {v}"))
}

#[test]
fn every_attempt_has_its_own_log_with_its_sql_and_error() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}retries: 1\nretry_delay: 0s\n", common::DAG));
    f.write("models/broken.sql", "{{ config(materialized='table') }}\nselect * from no_such_table\n");
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let run_id = only_run_id(&f);

    let t = task(&f, &run_id, "broken");
    let attempts = t["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{t}");
    let paths: Vec<&str> = attempts.iter().map(|a| a["log"].as_str().expect("log path")).collect();
    assert!(paths[0].ends_with("task_id=model.shop.broken/attempt=1.log"), "{paths:?}");
    assert!(paths[1].ends_with("attempt=2.log"), "{paths:?}");
    assert!(paths[0].starts_with("logs/dag_id=my_dag/run_id=manual__"), "{paths:?}");

    let logs = f.run(&["logs", &run_id, "broken"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert!(logs.stdout.contains("*** attempt 1 of `model.shop.broken`: up_for_retry"), "{}", logs.stdout);
    assert!(logs.stdout.contains("*** attempt 2 of `model.shop.broken`: failed"), "{}", logs.stdout);
    assert_eq!(logs.stdout.matches("create or replace table").count(), 2, "{}", logs.stdout);
    assert_eq!(
        logs.stdout.matches("no_such_table").count() >= 4,
        true,
        "the SQL and the error, twice: {}",
        logs.stdout
    );

    let second = f.run(&["logs", &run_id, "model.shop.broken", "--attempt", "2", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&second.stdout).expect("json");
    assert_eq!(v.as_array().expect("array").len(), 1);
    assert_eq!(v[0]["try_number"], 2);
    assert!(v[0]["text"].as_str().expect("text").contains("state failed"), "{v}");

    // A model that succeeded logs the statement that built it.
    let ok = f.run(&["logs", &run_id, "customers"]);
    assert!(ok.stdout.contains("state success"), "{}", ok.stdout);
    assert!(ok.stdout.contains("\"customers\" as ("), "{}", ok.stdout);

    // Every node's SQL also goes to the invocation log.
    let all = std::fs::read_to_string(f.path().join("logs/runner.log")).expect("runner.log");
    assert!(all.contains("===== run · manual__"), "{all}");
    assert!(all.contains("\"stg_orders\" as ("), "{all}");
}

#[test]
fn logs_of_an_unknown_run_node_or_attempt_are_usage_errors() {
    let f = Fixture::shop();
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    let run_id = only_run_id(&f);
    let unknown_run = f.run(&["logs", "manual__nope", "customers"]);
    assert_eq!(unknown_run.code, 2);
    assert!(unknown_run.stderr.contains("unknown run id `manual__nope`"), "{}", unknown_run.stderr);
    let unknown_node = f.run(&["logs", &run_id, "nope"]);
    assert_eq!(unknown_node.code, 2);
    assert!(unknown_node.stderr.contains("has no task `nope`"), "{}", unknown_node.stderr);
    let no_attempt = f.run(&["logs", &run_id, "customers", "--attempt", "3"]);
    assert_eq!(no_attempt.code, 2);
    assert!(no_attempt.stderr.contains("has no attempt 3"), "{}", no_attempt.stderr);
}

#[test]
fn a_dag_execution_timeout_interrupts_each_attempt_and_leaves_nothing_built() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}execution_timeout: 1s\nretries: 1\nretry_delay: 0s\n", common::DAG));
    f.write("models/slow.sql", VERY_SLOW);
    let started = std::time::Instant::now();
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "interrupted, not run to the end");
    assert!(r.stdout.contains("execution timed out after 1s (`execution_timeout`)"), "{}", r.stdout);
    let t = task(&f, &only_run_id(&f), "slow");
    assert_eq!(t["state"], "failed");
    let attempts = t["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "a timeout is retried like any failure: {t}");
    for a in attempts {
        assert!(a["error"].as_str().expect("error").contains("execution_timeout"), "{a}");
        assert!(a["duration"].as_f64().expect("duration") >= 1.0, "{a}");
    }
    let built = f.query("select count(*) from information_schema.tables where table_name = 'slow'");
    assert_eq!(built, vec![vec!["0".to_string()]], "the interrupted build rolled back");
    // Other nodes were not affected by the watchdog.
    assert_eq!(f.query("select count(*) from customers"), vec![vec!["3".to_string()]]);
}

#[test]
fn a_slow_data_test_is_interrupted_by_the_execution_timeout_too() {
    // Data tests read their result on a second connection (`db::raw`); the
    // watchdog must cancel that one, and leave it usable for the next test.
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}execution_timeout: 1s\n", common::DAG));
    f.write(
        "tests/slow_check.sql",
        "select n from (select count(*) as n from {{ ref('raw_orders') }} o, range(60000) a, range(15000) b \
         where (a.range * 7 + b.range + o.id) % 1013 = 5) where n < 0\n",
    );
    let started = std::time::Instant::now();
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "interrupted, not run to the end");
    assert!(r.stdout.contains("execution timed out after 1s (`execution_timeout`)"), "{}", r.stdout);
    assert_eq!(task(&f, &only_run_id(&f), "slow_check")["state"], "failed");
    // Every other test (five) still ran and passed.
    assert!(r.stdout.contains("ERROR=1") && r.stdout.contains("PASS=9"), "{}", r.stdout);
}

#[test]
fn a_models_own_execution_timeout_overrides_the_dags() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}execution_timeout: 1h\n", common::DAG));
    f.write(
        "models/slow.sql",
        &VERY_SLOW.replace("materialized='table'", "materialized='table', execution_timeout='1s'"),
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("execution timed out after 1s"), "{}", r.stdout);
}

#[test]
fn dag_params_render_into_models() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}params:\n  region: eu\n  days: 3\n", common::DAG));
    f.write(
        "models/p.sql",
        "{{ config(materialized='table') }}\nselect '{{ params.region }}' as region, {{ params.days }} as days, '{{ params.get('missing', 'none') }}' as other\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select region, days, other from p"), vec![vec!["eu".to_string(), "3".into(), "none".into()]]);
}

#[test]
fn runs_of_a_dag_whose_project_lives_elsewhere_are_found_by_tasks_and_logs() {
    let f = Fixture::shop();
    // Move the dbt project under `project/`, with the DAG pointing at it.
    for rel in [
        "profiles.yml",
        "seeds/raw_customers.csv",
        "seeds/raw_orders.csv",
        "models/staging/stg_orders.sql",
        "models/marts/customers.sql",
        "models/schema.yml",
        "tests/assert_totals_positive.sql",
    ] {
        let text = std::fs::read_to_string(f.path().join(rel)).expect("fixture file");
        f.write(&format!("project/{rel}"), &text);
        f.remove(rel);
    }
    f.write("dags/my_dag.yml", &format!("{}project_dir: project\n", common::DAG));
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let run_id = only_run_id(&f);
    assert!(f.path().join("project/.runner/history/my_dag").is_dir(), "the history lives with the project");
    let t = task(&f, &run_id, "customers");
    assert_eq!(t["state"], "success");
    let logs = f.run(&["logs", &run_id, "customers"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert!(logs.stdout.contains("state success"), "{}", logs.stdout);
}
