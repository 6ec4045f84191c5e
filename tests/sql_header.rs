//! `sql_header` and `incremental_predicates` through the real binary: the
//! error paths (a header whose SQL fails fails its model, with DuckDB's
//! message; values dbt could not use are load errors naming the file), a
//! header's effects kept to its own node with several threads, a pre-hook
//! seen by the header, and `execution_timeout` reaching a node that runs on
//! a connection of its own. What dbt builds from headers and predicates is
//! compared in `differential/sql_header` and `differential/incremental_predicates`.

mod common;
use common::{rejects, Fixture, VERY_SLOW};

fn rows(f: &Fixture, sql: &str) -> Vec<String> {
    f.query(sql).into_iter().map(|r| r.join("|")).collect()
}

/// `(unique_id, status, message)` of every result of the last command.
fn results(f: &Fixture) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(f.path().join("target/run_results.json")).expect("run_results.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut out: Vec<(String, String, String)> = doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (field("unique_id"), field("status"), field("message"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_failing_header_fails_its_model_with_duckdbs_message_and_skips_its_children() {
    let f = Fixture::shop();
    f.write(
        "models/headed.sql",
        "{{ config(materialized='table', sql_header='select * from no_such_table_for_header;') }}\nselect 1 as id\n",
    );
    f.write("models/headed_child.sql", "select * from {{ ref('headed') }}\n");
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Error in model headed (models/headed.sql)"), "{}", r.stdout);
    assert!(r.stdout.contains("Table with name no_such_table_for_header does not exist"), "{}", r.stdout);
    let got = results(&f);
    let status = |id: &str| got.iter().find(|(u, _, _)| u == id).map(|(_, s, _)| s.clone()).unwrap_or_default();
    assert_eq!(status("model.shop.headed"), "error");
    assert_eq!(status("model.shop.headed_child"), "skipped");
    assert_eq!(status("model.shop.customers"), "success", "the other models are built");
    let built = rows(&f, "select count(*) from information_schema.tables where table_name like 'headed%'");
    assert_eq!(built, vec!["0"], "nothing of the failed model is left");
    // What ran is kept, header first, in one statement with the create.
    let ran = std::fs::read_to_string(f.path().join("target/run/shop/models/headed.sql")).expect("run file");
    assert!(ran.starts_with("select * from no_such_table_for_header;\ncreate or replace table"), "{ran}");
}

#[test]
fn header_and_predicate_values_dbt_cannot_use_are_load_errors_naming_the_file() {
    let f = Fixture::shop();
    f.write(
        "models/marts/customers.yml",
        "models:\n  - name: customers\n    config:\n      sql_header: [set threads = 1]\n",
    );
    rejects(&f, &["run"], &["models/marts/customers.yml", "model `customers`: `sql_header` must be SQL text", "hint:"]);

    let f = Fixture::shop();
    f.write(
        "models/marts/customers.yml",
        "models:\n  - name: customers\n    config:\n      sql_header: \"set variable x = {{ var('not_set') }};\"\n",
    );
    // Rendered with the other property values while the file loads, at the value's line.
    rejects(
        &f,
        &["run"],
        &["models/marts/customers.yml:4", "`models.customers.config.sql_header` cannot render", "not_set"],
    );

    let f = Fixture::shop();
    f.write(
        "models/inc.sql",
        "{{ config(materialized='incremental', unique_key='id', incremental_predicates='day > 1') }}\nselect 1 as id\n",
    );
    rejects(&f, &["run"], &["models/inc.sql:1", "`incremental_predicates` must be a list of SQL conditions"]);

    let f = Fixture::shop();
    f.write(
        "snapshots/snap.sql",
        "{% snapshot snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all', sql_header=1) }}\nselect 1 as id\n{% endsnapshot %}\n",
    );
    rejects(&f, &["snapshot"], &["snapshots/snap.sql:2", "snapshot `snap`: `sql_header` must be SQL text"]);
}

#[test]
fn what_a_header_makes_stays_with_its_node_across_threads() {
    let f = Fixture::new();
    f.write("profiles.yml", &common::PROFILES.replace("threads: 1", "threads: 4"));
    // The same temporary macro, created (not replaced) by every model: each
    // must start on a connection that has none.
    for i in 0..12 {
        f.write(
            &format!("models/m{i:02}.sql"),
            &format!(
                "{{{{ config(materialized='table', sql_header='create temp macro which() as {i}; set variable seen = {i};') }}}}\n\
                 select which() as v, getvariable('seen') as seen\n"
            ),
        );
    }
    f.write(
        "models/after.sql",
        "{{ config(materialized='table') }}\n-- depends_on: {{ ref('m00') }} {{ ref('m11') }}\n\
         select (select count(*) from duckdb_functions() where function_name = 'which') as macros, \
         coalesce(cast(getvariable('seen') as varchar), 'none') as seen\n",
    );
    let r = f.run(&["run"]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    for i in 0..12 {
        assert_eq!(rows(&f, &format!("select v, seen from m{i:02}")), vec![format!("{i}|{i}")]);
    }
    assert_eq!(rows(&f, "select macros, seen from after"), vec!["0|none"]);
}

#[test]
fn a_header_sees_what_the_models_pre_hook_did() {
    // dbt runs the pre-hooks, then the header with the create, on one connection.
    let f = Fixture::new();
    f.write(
        "models/hooked.sql",
        "{{ config(materialized='table', pre_hook=\"set variable from_hook = 3\", sql_header=\"set variable from_header = getvariable('from_hook') * 2;\") }}\n\
         select getvariable('from_header') as v\n",
    );
    let r = f.run(&["run"]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert_eq!(rows(&f, "select v from hooked"), vec!["6"]);
}

#[test]
fn an_execution_timeout_interrupts_a_node_running_on_its_own_connection() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}execution_timeout: 1s\n", common::DAG));
    f.write(
        "models/slow.sql",
        &VERY_SLOW.replace("materialized='table'", "materialized='table', sql_header='set variable x = 1;'"),
    );
    let started = std::time::Instant::now();
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "interrupted, not run to the end");
    assert!(r.stdout.contains("execution timed out after 1s (`execution_timeout`)"), "{}", r.stdout);
    assert_eq!(rows(&f, "select count(*) from information_schema.tables where table_name = 'slow'"), vec!["0"]);
    assert_eq!(rows(&f, "select count(*) from customers"), vec!["3"], "the worker's own connection still works");
}
