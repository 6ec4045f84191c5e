//! `runner backfill` with each reprocess policy, and `runner clear`.

mod common;
use common::Fixture;

fn runs(f: &Fixture) -> Vec<(String, String, String)> {
    let r = f.run(&["runs", "my_dag", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().expect("field").to_string();
            (s("run_id"), s("state"), s("end"))
        })
        .collect()
}

const BROKEN: &str = "select missing_column from {{ ref('raw_customers') }}\n";
const FIXED: &str = "{{ config(materialized='table') }}\nselect c.id as customer_id, c.name, count(o.order_id) as orders, sum(o.amount) as total\nfrom {{ ref('raw_customers') }} c left join {{ ref('stg_orders') }} o on o.customer_id = c.id\ngroup by 1, 2\n";

#[test]
fn backfill_runs_each_interval_once_oldest_first() {
    let f = Fixture::shop();
    let r = f.run(&["backfill", "my_dag", "--from", "2025-01-01", "--to", "2025-01-03"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let ids: Vec<String> = runs(&f).into_iter().map(|(id, state, _)| format!("{id} {state}")).collect();
    assert_eq!(
        ids,
        vec![
            "backfill__2025-01-01T00:00:00+00:00 success",
            "backfill__2025-01-02T00:00:00+00:00 success",
            "backfill__2025-01-03T00:00:00+00:00 success"
        ]
    );
    // reprocess none (the default): nothing runs again.
    let again = f.run(&["backfill", "my_dag", "--from", "2025-01-01", "--to", "2025-01-03"]);
    assert_eq!(again.code, 0);
    assert_eq!(again.stdout.matches("leaving it").count(), 3, "{}", again.stdout);
    assert_eq!(runs(&f).len(), 3);
}

#[test]
fn reprocess_failed_reruns_only_failed_intervals_and_completed_reruns_all() {
    let f = Fixture::shop();
    assert_eq!(f.run(&["backfill", "my_dag", "--from", "2025-01-01", "--to", "2025-01-01"]).code, 0);
    f.write("models/marts/customers.sql", BROKEN);
    assert_eq!(f.run(&["backfill", "my_dag", "--from", "2025-01-02", "--to", "2025-01-02"]).code, 1);
    let before = runs(&f);
    assert_eq!(before[1].1, "failed");
    f.write("models/marts/customers.sql", FIXED);
    let r = f.run(&["backfill", "my_dag", "--from", "2025-01-01", "--to", "2025-01-02", "--reprocess", "failed"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let after = runs(&f);
    assert_eq!(after.len(), 2, "the failed run is run again, not duplicated");
    assert_eq!(after[0], before[0], "the successful interval is untouched");
    assert_eq!(after[1].1, "success");
    let r = f.run(&["backfill", "my_dag", "--from", "2025-01-01", "--to", "2025-01-02", "--reprocess", "completed"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout.matches(" again").count(), 2, "{}", r.stdout);
    assert_ne!(runs(&f)[0].2, before[0].2, "completed runs ran again");
}

#[test]
fn clear_failed_only_reruns_what_failed_and_what_it_skipped() {
    let f = Fixture::shop();
    f.write("models/marts/customers.sql", BROKEN);
    assert_eq!(f.run(&["run", "my_dag"]).code, 1);
    let run_id = runs(&f)[0].0.clone();
    f.write("models/marts/customers.sql", FIXED);
    let r = f.run(&["clear", &run_id, "--failed-only"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.lines_with("START seed").is_empty(), "successes are not redone:\n{}", r.stdout);
    assert_eq!(r.lines_with("OK created sql table model main.customers").len(), 1, "{}", r.stdout);
    // The failed model and the two tests it skipped.
    assert!(r.stdout.contains("TOTAL=3"), "{}", r.stdout);
    let after = runs(&f);
    assert_eq!((after.len(), after[0].0.as_str(), after[0].1.as_str()), (1, run_id.as_str(), "success"));
    let t = f.run(&["tasks", &run_id, "--output", "json"]);
    let tasks: serde_json::Value = serde_json::from_str(&t.stdout).expect("json");
    assert_eq!(tasks.as_array().expect("array").len(), 9, "one record per node, the rerun ones replaced");
}

#[test]
fn bad_backfill_and_clear_usage_exits_2() {
    let f = Fixture::shop();
    for args in [
        &["backfill", "my_dag", "--from", "2025-01-05", "--to", "2025-01-01"][..],
        &["backfill", "my_dag", "--from", "2025-01-01", "--to", "2025-01-02", "--reprocess", "sometimes"],
        &["clear", "manual__nope"],
    ] {
        let r = f.run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    }
}
