//! `runner run` and `runner test` on fixture projects: console lines, exit
//! codes, and what ends up in the database.

mod common;
use common::Fixture;

/// dbt's line: message padded with dots to 80 columns, then `[status]`.
fn l(msg: &str, status: &str) -> String {
    let mut s = format!("{msg} ");
    while s.chars().count() < 80 {
        s.push('.');
    }
    format!("{s} [{status}]")
}

#[test]
fn success_path_prints_dbt_lines_in_dependency_order() {
    let f = Fixture::shop();
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let rel = "relationships_stg_orders_customer_id__customer_id__ref_customers_";
    let acc = "accepted_values_stg_orders_status__placed__shipped__returned";
    let expected = [
        "Found 9 nodes to run.".to_string(),
        String::new(),
        l("1 of 9 START seed file main.raw_customers", "RUN"),
        l("1 of 9 OK loaded seed file main.raw_customers", "INSERT 3 in Ts"),
        l("2 of 9 START seed file main.raw_orders", "RUN"),
        l("2 of 9 OK loaded seed file main.raw_orders", "INSERT 4 in Ts"),
        l("3 of 9 START sql view model main.stg_orders", "RUN"),
        l("3 of 9 OK created sql view model main.stg_orders", "OK in Ts"),
        l("4 of 9 START sql table model main.customers", "RUN"),
        l("4 of 9 OK created sql table model main.customers", "OK in Ts"),
        l(&format!("5 of 9 START test {acc}"), "RUN"),
        l(&format!("5 of 9 PASS {acc}"), "PASS in Ts"),
        l("6 of 9 START test not_null_stg_orders_order_id", "RUN"),
        l("6 of 9 PASS not_null_stg_orders_order_id", "PASS in Ts"),
        l("7 of 9 START test unique_stg_orders_order_id", "RUN"),
        l("7 of 9 PASS unique_stg_orders_order_id", "PASS in Ts"),
        l("8 of 9 START test assert_totals_positive", "RUN"),
        l("8 of 9 PASS assert_totals_positive", "PASS in Ts"),
        l(&format!("9 of 9 START test {rel}"), "RUN"),
        l(&format!("9 of 9 PASS {rel}"), "PASS in Ts"),
        String::new(),
        "Finished running 9 nodes in Ts.".to_string(),
        "Completed successfully".to_string(),
        String::new(),
        "Done. PASS=9 WARN=0 ERROR=0 SKIP=0 TOTAL=9".to_string(),
    ];
    assert_eq!(r.masked(), expected.join("\n") + "\n");
    assert_eq!(
        f.query("select customer_id, orders, total from main.customers order by 1"),
        vec![vec!["1", "2", "12"], vec!["2", "1", "3"], vec!["3", "1", "9"],]
    );
    assert_eq!(
        f.query("select table_type from information_schema.tables where table_name = 'stg_orders'"),
        vec![vec!["VIEW"]]
    );
}

#[test]
fn failing_model_keeps_its_old_table_and_skips_descendants() {
    let f = Fixture::shop();
    f.write(
        "models/marts/top.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('customers') }} where total > 5\n",
    );
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    // Break `customers`: its old table must survive, `top` and its tests are skipped.
    f.write(
        "models/marts/customers.sql",
        "{{ config(materialized='table') }}\nselect no_such_column from {{ ref('raw_customers') }}\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.lines_with("ERROR creating").len(), 1, "{}", r.stdout);
    assert!(r.lines_with("ERROR creating sql table model main.customers")[0].ends_with("[ERROR in Ts]"));
    assert_eq!(r.lines_with("SKIP relation main.top").len(), 1, "{}", r.stdout);
    assert_eq!(r.lines_with("SKIP test assert_totals_positive").len(), 1, "{}", r.stdout);
    assert_eq!(r.lines_with("PASS not_null_stg_orders_order_id").len(), 1, "unrelated tests still run:\n{}", r.stdout);
    assert!(r.stdout.contains("no_such_column"), "the error is explained:\n{}", r.stdout);
    assert!(r.stdout.contains("Done. PASS=6 WARN=0 ERROR=1 SKIP=3 TOTAL=10"), "{}", r.stdout);
    assert_eq!(f.query("select count(*) from main.customers"), vec![vec!["3"]]);
}

#[test]
fn failing_test_exits_1_with_its_count() {
    let f = Fixture::shop();
    f.write("seeds/raw_orders.csv", "id,customer_id,status,amount\n10,1,placed,5\n10,1,lost,7\n12,,placed,3\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.lines_with("FAIL 1 unique_stg_orders_order_id").len(), 1, "{}", r.stdout);
    assert_eq!(r.lines_with("FAIL 1 accepted_values_stg_orders_status").len(), 1, "{}", r.stdout);
    assert_eq!(r.lines_with("PASS not_null_stg_orders_order_id").len(), 1, "{}", r.stdout);
    assert_eq!(r.lines_with("PASS relationships_").len(), 1, "null children are ignored:\n{}", r.stdout);
    assert!(r.stdout.contains("Got 1 result, configured to fail if != 0"), "{}", r.stdout);
}

#[test]
fn warn_severity_test_exits_0() {
    let f = Fixture::shop();
    f.write(
        "models/more.yml",
        "version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: name\n        data_tests:\n          - accepted_values:\n              values: [Ann]\n              config:\n                severity: warn\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.lines_with("WARN 2 accepted_values_customers_name__Ann").len(), 1, "{}", r.stdout);
    assert!(r.stdout.contains("Done. PASS=9 WARN=1 ERROR=0 SKIP=0 TOTAL=10"), "{}", r.stdout);
}

#[test]
fn test_command_runs_only_tests_against_the_database() {
    let f = Fixture::shop();
    let missing = f.run(&["test", "my_dag"]);
    assert_eq!(missing.code, 2, "no database yet: {}", missing.stderr);
    assert!(missing.stderr.contains("does not exist"), "{}", missing.stderr);
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    let r = f.run(&["test", "my_dag"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Done. PASS=5 WARN=0 ERROR=0 SKIP=0 TOTAL=5"), "{}", r.stdout);
    assert!(r.lines_with("START seed").is_empty() && r.lines_with("START sql").is_empty(), "{}", r.stdout);
    // Without a DAG, the project at --project-dir is tested with its single profile.
    let r = f.run(&["test", "--select", "stg_orders"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("TOTAL=4"), "{}", r.stdout);
}

#[test]
fn select_and_exclude_narrow_a_run() {
    let f = Fixture::shop();
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    // Eager: the relationships test comes along because one of its parents is selected.
    let r = f.run(&["run", "my_dag", "--select", "raw_orders", "stg_orders"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("TOTAL=6"), "2 builds and the 4 tests of stg_orders:\n{}", r.stdout);
    let r = f.run(&["run", "my_dag", "--exclude", "customers"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.lines_with("main.customers").is_empty(), "{}", r.stdout);
}

#[test]
fn vars_from_the_command_line_override_the_dag() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}vars:\n  min_total: 100\n", common::DAG));
    f.write("models/marts/big.sql", "select * from {{ ref('customers') }} where total >= {{ var('min_total') }}\n");
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    assert_eq!(f.query("select count(*) from main.big"), vec![vec!["0"]]);
    assert_eq!(f.run(&["run", "my_dag", "--vars", "{min_total: 9}"]).code, 0);
    assert_eq!(f.query("select count(*) from main.big"), vec![vec!["2"]]);
}

#[test]
fn seed_column_types_override_inference_and_reloads_keep_the_table() {
    let f = Fixture::shop();
    f.write(
        "seeds/seeds.yml",
        "version: 2\nseeds:\n  - name: raw_orders\n    config:\n      column_types:\n        amount: double\n",
    );
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    let types = |f: &Fixture| {
        f.query("select column_name, data_type from information_schema.columns where table_name = 'raw_orders' and column_name in ('id', 'amount') order by 1")
    };
    assert_eq!(types(&f), vec![vec!["amount", "DOUBLE"], vec!["id", "INTEGER"]]);
    // An existing seed is truncated and reloaded, keeping its table.
    f.write("seeds/raw_orders.csv", "id,customer_id,status,amount\n10,1,placed,5\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.lines_with("OK loaded seed file main.raw_orders").len(), 1);
    assert!(r.lines_with("OK loaded seed file main.raw_orders")[0].contains("INSERT 1 "), "{}", r.stdout);
    assert_eq!(f.query("select count(*) from main.raw_orders"), vec![vec!["1"]]);
}

#[test]
fn profiles_dir_points_at_another_profiles_yml_and_target_picks_an_output() {
    let f = Fixture::shop();
    f.remove("profiles.yml");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        elsewhere.path().join("profiles.yml"),
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n    ci:\n      type: duckdb\n      path: warehouse.duckdb\n",
    )
    .expect("write");
    let dir = elsewhere.path().to_str().expect("utf8");
    let r = f.run(&["run", "my_dag", "--profiles-dir", dir, "--target", "ci"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        f.db().exists() && !f.path().join("dev.duckdb").exists(),
        "the `ci` output's path, relative to the project"
    );
    let missing = f.run(&["run", "my_dag", "--profiles-dir", "/nonexistent/dir"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
}

#[test]
fn profile_extensions_are_loaded_for_the_models() {
    let f = Fixture::shop();
    // `core_functions` is the one extension compiled into the bundled DuckDB
    // (others would be downloaded, which this sandbox cannot).
    f.write("profiles.yml", &format!("{}      extensions: [core_functions]\n", common::PROFILES));
    f.write(
        "models/ext.sql",
        "{{ config(materialized='table') }}\nselect extension_name from duckdb_extensions() where loaded and extension_name = 'core_functions'\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select * from ext"), vec![vec!["core_functions".to_string()]]);
}

#[test]
fn a_run_exits_with_duckdb_checkpointed_and_every_file_written() {
    let f = Fixture::shop();
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    // DuckDB closes while the file-writing sinks catch up; it still closes
    // before the process ends: the write-ahead log was folded into the file.
    assert!(f.db().exists());
    assert!(!f.path().join("warehouse.duckdb.wal").exists(), "DuckDB was not closed before exit");
    // ... and the sinks still saw every event.
    let read = |rel: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(f.path().join(rel)).expect("artifact");
        serde_json::from_str(&text).expect("json")
    };
    assert_eq!(read("target/run_results.json")["results"].as_array().map(Vec::len), Some(9));
    let runs: Vec<_> = std::fs::read_dir(f.path().join(".runner/history/my_dag"))
        .expect("history")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(runs.len(), 1);
    let record = read(&runs[0].strip_prefix(f.path()).expect("inside").display().to_string());
    assert_eq!(record["state"], "success");
    assert_eq!(record["tasks"].as_array().map(Vec::len), Some(9));
}
