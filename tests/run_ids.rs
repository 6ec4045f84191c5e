//! Names that become paths and runs that must be found: DAG ids that try to
//! leave the project, duplicate DAG ids, run ids shared by two DAGs, and a
//! run killed with -9 that `clear --failed-only` must finish (issue #26).

mod common;
use common::{spawn_watched, tree, wait_exit, wait_for, Fixture, VERY_SLOW};
use std::path::Path;
use std::time::Duration;

fn json(f: &Fixture, args: &[&str]) -> serde_json::Value {
    let r = f.run(args);
    assert_eq!(r.code, 0, "{args:?}\n{}\n{}", r.stdout, r.stderr);
    serde_json::from_str(&r.stdout).expect("json")
}

fn task_states(f: &Fixture, run_id: &str) -> Vec<(String, String)> {
    let tasks = json(f, &["tasks", run_id, "--output", "json"]);
    let mut out: Vec<(String, String)> = tasks
        .as_array()
        .expect("array")
        .iter()
        .map(|t| (t["node"].as_str().expect("node").to_string(), t["state"].as_str().expect("state").to_string()))
        .collect();
    out.sort();
    out
}

#[test]
fn a_dag_id_that_is_a_path_is_refused_and_nothing_outside_is_touched() {
    let outside = tempfile::tempdir().expect("tempdir");
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "keep me").expect("write");
    let f = Fixture::shop();
    let abs = victim.display().to_string();
    for (file, id) in [("dags/abs.yml", abs.as_str()), ("dags/up.yml", "../../x"), ("dags/dots.yml", "..")] {
        f.write(file, &format!("dag_id: {id:?}\nschedule: \"@daily\"\nprofile: shop\n"));
        let r = f.run(&["pause", id]);
        assert_eq!(r.code, 2, "{id}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(file) && r.stderr.contains("`dag_id`"), "names the file and key:\n{}", r.stderr);
        let r = f.run(&["unpause", id]);
        assert_eq!(r.code, 2, "{id}: {}", r.stderr);
        f.remove(file);
    }
    assert_eq!(std::fs::read_to_string(&victim).expect("still there"), "keep me");
    // A file name that is no DAG id is refused too, with a hint to rename it.
    f.write("dags/my dag.yml", "schedule: \"@daily\"\nprofile: shop\n");
    let r = f.run(&["dags"]);
    assert!(r.stderr.contains("dags/my dag.yml") && r.stderr.contains("rename the file"), "{}", r.stderr);
    assert_eq!(tree(outside.path()), [Path::new("victim.txt")], "nothing was written beside the victim");
}

#[test]
fn a_project_name_or_test_alias_that_is_a_path_is_a_load_error() {
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    assert_eq!(f.run(&["compile"]).code, 0, "a valid name compiles");
    f.write("dbt_project.yml", "profile: shop\nname: ../../escape\n");
    let r = f.run(&["compile"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("dbt_project.yml:2") && r.stderr.contains("not a valid project name"), "{}", r.stderr);
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write(
        "models/more.yml",
        "version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: name\n        data_tests:\n          - not_null:\n              name: ../../../escaped\n",
    );
    let r = f.run(&["compile"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("models/more.yml") && r.stderr.contains("path separator"), "{}", r.stderr);
    assert!(!f.path().join("escaped.sql").exists() && !f.path().join("target/escaped.sql").exists());
}

#[test]
fn a_dag_id_in_two_files_is_an_error_naming_both() {
    let f = Fixture::shop();
    f.write("dags/copy.yml", "profile: shop\ndag_id: my_dag\n");
    for args in [&["run", "my_dag"][..], &["pause", "my_dag"]] {
        let r = f.run(args);
        assert_eq!(r.code, 2, "{args:?}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("dags/copy.yml:2") && r.stderr.contains("dags/my_dag.yml:1"),
            "both files with lines:\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("unknown DAG"), "{}", r.stderr);
    }
    assert!(!f.db().exists(), "nothing ran");
    let r = f.run(&["dags"]);
    assert!(r.stderr.contains("duplicate dag_id `my_dag`"), "{}", r.stderr);
    assert!(!r.stdout.contains("my_dag"), "neither file's DAG is listed:\n{}", r.stdout);
}

#[test]
fn a_run_id_two_dags_share_needs_the_dag() {
    let f = Fixture::shop();
    f.write("models/broken.sql", "select * from nowhere_at_all\n");
    let dag = "schedule: \"@daily\"\nstart_date: 2025-01-01\nprofile: shop\n";
    f.write("dags/my_dag.yml", &format!("{dag}select: [\"stg_orders\"]\n"));
    f.write("dags/other.yml", &format!("{dag}select: [\"broken\"]\n"));
    let r = f.run(&["scheduler", "--once", "--now", "2025-01-02T01:00:00Z"]);
    assert_eq!(r.code, 1, "one of the two runs fails: {}\n{}", r.stdout, r.stderr);
    let id = "scheduled__2025-01-01T00:00:00+00:00";
    for args in [&["tasks", id][..], &["logs", id, "broken"], &["clear", id, "--failed-only"]] {
        let r = f.run(args);
        assert_eq!(r.code, 2, "{args:?}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("several DAGs: `my_dag`, `other`") && r.stderr.contains("--dag"), "{}", r.stderr);
    }
    let tasks = json(&f, &["tasks", id, "--dag", "other", "--output", "json"]);
    assert!(tasks[0]["node"].as_str().is_some_and(|n| n.starts_with("model.") && n.ends_with(".broken")), "{tasks}");
    assert_eq!(tasks[0]["state"], "failed");
    let r = f.run(&["logs", id, "broken", "--dag", "other"]);
    assert!(r.code == 0 && r.stdout.contains("nowhere_at_all"), "{}\n{}", r.stdout, r.stderr);
    f.write("models/broken.sql", "select 1 as fixed\n");
    let r = f.run(&["clear", id, "--dag", "other", "--failed-only"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let runs = json(&f, &["runs", "other", "--output", "json"]);
    assert_eq!(runs[0]["state"], "success", "the other DAG's run was cleared");
    let r = f.run(&["tasks", id, "--dag", "nobody"]);
    assert!(r.code == 2 && r.stderr.contains("of DAG `nobody`"), "{}", r.stderr);
}

#[test]
fn clearing_a_run_killed_with_sigkill_runs_everything_that_did_not_succeed() {
    let f = Fixture::shop();
    f.write("models/slow.sql", VERY_SLOW);
    f.write("models/after_slow.sql", "select n from {{ ref('slow') }}\n");
    let (mut child, rx) = spawn_watched(&f, &["run", "my_dag"]);
    wait_for(&rx, "START sql table model main.slow");
    // The journal is written beside the console, a moment behind it: kill once
    // it says the slow model runs, so what committed before is on record.
    let journaled = || {
        let dir = f.path().join(".runner/history/my_dag");
        std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
            e.path().extension().is_some_and(|x| x == "journal")
                && std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(".slow\",\"state\":\"running\""))
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !journaled() {
        assert!(std::time::Instant::now() < deadline, "the journal never recorded the slow model's start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill").args(["-KILL", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    wait_exit(&mut child, Duration::from_secs(10));

    let runs = json(&f, &["runs", "my_dag", "--output", "json"]);
    let run_id = runs[0]["run_id"].as_str().expect("id").to_string();
    assert_eq!(runs[0]["state"], "failed");
    let file = f.path().join(".runner/history/my_dag").join(format!("{}.json", run_id.replace([':', '+'], "_")));
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).expect("run file")).expect("json");
    assert!(record["message"].as_str().is_some_and(|m| m.contains("died")), "{record}");
    assert!(!file.with_extension("json.journal").exists(), "the journal was folded into the record");
    let states = task_states(&f, &run_id);
    let state = |name: &str| states.iter().find(|(n, _)| n.ends_with(name)).map(|(_, s)| s.as_str());
    // What committed, what was running, and what never started.
    assert_eq!(state(".raw_orders"), Some("success"), "{states:?}");
    assert_eq!(state(".slow"), Some("failed"), "{states:?}");
    assert_eq!(state(".after_slow"), Some("none"), "{states:?}");
    assert!(states.iter().any(|(n, s)| n.starts_with("test.") && s == "none"), "{states:?}");

    f.write("models/slow.sql", "{{ config(materialized='table') }}\nselect 1 as n\n");
    let r = f.run(&["clear", &run_id, "--failed-only"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("raw_orders"), "what succeeded does not run again:\n{}", r.stdout);
    assert!(r.stdout.contains("main.after_slow") && r.stdout.contains("not_null_stg_orders_order_id"), "{}", r.stdout);
    let runs = json(&f, &["runs", "my_dag", "--output", "json"]);
    assert_eq!(runs[0]["state"], "success", "{}", runs[0]);
    assert!(task_states(&f, &run_id).iter().all(|(_, s)| s == "success"), "{:?}", task_states(&f, &run_id));
    assert_eq!(f.query("select n from main.after_slow"), vec![vec!["1"]]);
}
