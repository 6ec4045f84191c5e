//! Hooks through the real binary: a failing post-hook fails its model (its
//! old table stays, what depends on it is skipped), a failing `on-run-start`
//! (the root project's or a package's) runs no node, `runner test` runs the run hooks, and a Python model dbt's
//! parser refuses is refused by name while every key dbt
//! accepts without effect loads without a word. The order of every kind of
//! hook against real dbt is in the differential case `differential/hooks`.

mod common;
use common::{rejects, Fixture};

fn results(f: &Fixture) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(f.path().join("target/run_results.json")).expect("run_results.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| (r["unique_id"].as_str().unwrap_or("").to_string(), r["status"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn tables(f: &Fixture) -> Vec<String> {
    f.query("select table_name from information_schema.tables where table_schema = 'main' order by 1")
        .into_iter()
        .map(|r| r.join(""))
        .collect()
}

#[test]
fn a_failing_post_hook_fails_its_model_keeps_the_old_table_and_skips_its_children() {
    let f = Fixture::shop();
    let first = f.run(&["run", "my_dag"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let before = f.query("select count(*) from main.customers");
    f.write(
        "models/marts/customers.sql",
        "{{ config(materialized='table', post_hook=\"insert into main.no_such_table values (1)\") }}\nselect 1 as customer_id\n",
    );
    f.write("models/marts/after.sql", "select * from {{ ref('customers') }}\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ERROR creating sql table model main.customers"), "{}", r.stdout);
    assert!(r.stdout.contains("post-hook failed: Catalog Error"), "{}", r.stdout);
    assert!(r.stdout.contains("SKIP relation main.after"), "{}", r.stdout);
    // The build and its hooks were one transaction: the old table is whole.
    assert_eq!(f.query("select count(*) from main.customers"), before);
    assert!(!tables(&f).contains(&"after".to_string()));
    let res = results(&f);
    let status = |name: &str| res.iter().find(|(id, _)| id.ends_with(name)).map(|(_, s)| s.as_str());
    assert_eq!(status(".customers"), Some("error"), "{res:?}");
    assert_eq!(status(".after"), Some("skipped"), "{res:?}");
}

#[test]
fn a_failing_on_run_start_runs_no_node_and_on_run_end_still_runs() {
    let f = Fixture::shop();
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\non-run-start:\n  - \"select no_such_function()\"\n  - \"create table main.never (x int)\"\non-run-end: \"create table main.ended as select 1 as x\"\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("1 of 2 ERROR hook: shop.on-run-start.0"), "{}", r.stdout);
    assert!(r.stdout.contains("2 of 2 SKIP hook: shop.on-run-start.1"), "{}", r.stdout);
    assert!(r.stdout.contains("SKIP relation main.raw_orders"), "{}", r.stdout);
    assert!(r.stdout.contains("OK hook: shop.on-run-end.0"), "{}", r.stdout);
    assert!(!r.stdout.contains("START seed") && !r.stdout.contains("START sql"), "{}", r.stdout);
    // Nothing but the on-run-end hook's table was written.
    assert_eq!(tables(&f), vec!["ended".to_string()]);
    let res = results(&f);
    assert_eq!(res[0], ("operation.shop.shop-on-run-start-0".to_string(), "error".to_string()));
    assert_eq!(res[1], ("operation.shop.shop-on-run-start-1".to_string(), "skipped".to_string()));
    assert!(res.iter().filter(|(id, _)| !id.starts_with("operation.")).all(|(_, s)| s == "skipped"), "{res:?}");
    // The DAG run is recorded as failed, though every task was only skipped.
    let runs = f.run(&["runs", "my_dag", "--output", "json"]);
    assert!(runs.stdout.contains("\"state\": \"failed\""), "{}", runs.stdout);
}

/// A package's run hooks run after the root project's, in the package's
/// context (its macro by plain name); one failing skips the rest of the
/// phase and every node (as dbt with `skip_nodes_if_on_run_start_fails`,
/// runner's default), and every project's `on-run-end` still runs.
#[test]
fn a_failing_package_on_run_start_runs_no_node_and_every_on_run_end_still_runs() {
    let f = Fixture::shop();
    f.write(
        "pkg/dbt_project.yml",
        "name: audit_pkg\nversion: '1.0'\nconfig-version: 2\non-run-start:\n  - \"{{ audit_row('pkg start') }}\"\n  - \"select no_such_function()\"\n  - \"create table main.never (x int)\"\non-run-end: \"{{ audit_row('pkg end') }}\"\n",
    );
    f.write(
        "pkg/macros/audit_row.sql",
        "{% macro audit_row(what) %}insert into main.audit (what) values ('{{ what }}'){% endmacro %}\n",
    );
    f.write("packages.yml", "packages:\n  - local: pkg\n");
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\non-run-start: \"create sequence main.seq; create table main.audit (n integer default nextval('main.seq'), what varchar)\"\non-run-end: \"insert into main.audit (what) values ('root end')\"\nflags:\n  skip_nodes_if_on_run_start_fails: true\n",
    );
    assert_eq!(f.run(&["deps"]).code, 0);
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("does not run"), "{}", r.stderr);
    // dbt numbers a hook by its place in the whole phase.
    for line in [
        "1 of 4 OK hook: shop.on-run-start.0",
        "2 of 4 OK hook: audit_pkg.on-run-start.1",
        "3 of 4 ERROR hook: audit_pkg.on-run-start.2",
        "4 of 4 SKIP hook: audit_pkg.on-run-start.3",
        "1 of 2 OK hook: shop.on-run-end.0",
        "2 of 2 OK hook: audit_pkg.on-run-end.1",
        "SKIP relation main.raw_orders",
    ] {
        assert!(r.stdout.contains(line), "{line}\n{}", r.stdout);
    }
    assert!(!r.stdout.contains("START seed") && !r.stdout.contains("START sql"), "{}", r.stdout);
    assert_eq!(
        f.query("select what from main.audit order by n"),
        vec![vec!["pkg start".to_string()], vec!["root end".to_string()], vec!["pkg end".to_string()]]
    );
    assert_eq!(tables(&f), vec!["audit".to_string()]);
    let res = results(&f);
    let op = |id: &str, status: &str| (format!("operation.{id}"), status.to_string());
    assert_eq!(
        res[..4].to_vec(),
        vec![
            op("shop.shop-on-run-start-0", "success"),
            op("audit_pkg.audit_pkg-on-run-start-0", "success"),
            op("audit_pkg.audit_pkg-on-run-start-1", "error"),
            op("audit_pkg.audit_pkg-on-run-start-2", "skipped"),
        ]
    );
    assert_eq!(res[res.len() - 1], op("audit_pkg.audit_pkg-on-run-end-0", "success"));
    assert!(res.iter().filter(|(id, _)| !id.starts_with("operation.")).all(|(_, s)| s == "skipped"), "{res:?}");
    // The manifest has the package's hooks as operations of the package.
    let text = std::fs::read_to_string(f.path().join("target/manifest.json")).expect("manifest.json");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("json");
    let node = &manifest["nodes"]["operation.audit_pkg.audit_pkg-on-run-start-1"];
    assert_eq!(
        (&node["package_name"], &node["raw_code"], &node["fqn"]),
        (
            &serde_json::json!("audit_pkg"),
            &serde_json::json!("select no_such_function()"),
            &serde_json::json!(["audit_pkg", "hooks", "audit_pkg-on-run-start-1"])
        )
    );
    let runs = f.run(&["runs", "my_dag", "--output", "json"]);
    assert!(runs.stdout.contains("\"state\": \"failed\""), "{}", runs.stdout);
}

#[test]
fn skip_nodes_if_on_run_start_fails_false_runs_the_nodes_as_dbt_1_10_does() {
    let f = Fixture::shop();
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\non-run-start: \"select no_such_function()\"\nflags:\n  skip_nodes_if_on_run_start_fails: false\n",
    );
    let r = f.run(&["seed"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK loaded seed file main.raw_orders"), "{}", r.stdout);
    assert_eq!(tables(&f), vec!["raw_customers".to_string(), "raw_orders".to_string()]);
}

#[test]
fn runner_test_runs_the_run_hooks_with_the_results() {
    let f = Fixture::shop();
    assert_eq!(f.run(&["run", "my_dag"]).code, 0);
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\non-run-end: \"create or replace table main.seen as select '{% for r in results %}{{ r.node.name }}={{ r.status }};{% endfor %}' as s\"\n",
    );
    let r = f.run(&["test", "--select", "assert_totals_positive"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(f.query("select s from main.seen"), vec![vec!["assert_totals_positive=pass;".to_string()]]);
}

#[test]
fn a_bad_hook_is_a_load_error_at_its_file() {
    let f = Fixture::shop();
    f.write("models/staging/stg_orders.sql", "{{ config(pre_hook={'transaction': false}) }}\nselect 1 as id\n");
    rejects(&f, &["run", "my_dag"], &["models/staging/stg_orders.sql", "`pre-hook`", "needs `sql`"]);
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\non-run-start:\n  - {sql: select 1}\n");
    rejects(&f, &["run", "my_dag"], &["dbt_project.yml:3", "`on-run-start` entry 0 must be SQL text"]);
}

#[test]
fn bad_python_models_are_refused_by_name_and_snapshots_checked_as_dbt_checks_them() {
    let f = Fixture::shop();
    f.write("models/marts/scores.py", "def scores(dbt, session):\n    return dbt.ref('customers')\n");
    rejects(&f, &["run", "my_dag"], &["models/marts/scores.py:1", "exactly one function `model(dbt, session)`"]);
    // A snapshot is taken now (tests/snapshots.rs); one without a strategy
    // is refused with dbt's message.
    let f = Fixture::shop();
    f.write("snapshots/orders_snapshot.sql", "{% snapshot orders_snapshot %}select 1{% endsnapshot %}\n");
    rejects(
        &f,
        &["build"],
        &["snapshots/orders_snapshot.sql:1", "Snapshots must be configured with a 'strategy' and 'unique_key'"],
    );
    let f = Fixture::shop();
    f.write(
        "models/snapshots.yml",
        "version: 2\nsnapshots:\n  - name: orders_history\n    relation: ref('stg_orders')\n    config: {unique_key: order_id, strategy: check, check_cols: all}\n",
    );
    let r = f.run(&["build"]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK snapshotted main.orders_history"), "{}", r.stdout);
}

#[test]
fn unsupported_flags_are_named_in_a_warning() {
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\nflags:\n  fail_fast: true\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("dbt_project.yml:4: flag `fail_fast` has no effect"), "{}", r.stderr);
}

/// Every key dbt accepts and that changes nothing a run builds: the project
/// loads and runs with no warning, and `grants` gets its one note.
#[test]
fn every_accepted_but_inert_key_loads_without_a_word() {
    let f = Fixture::shop();
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\nversion: '1.0.0'\nconfig-version: 2\nrequire-dbt-version: '>=1.8.0'\n\
         analysis-paths: [analyses]\nasset-paths: [assets]\nclean-targets: [target]\n\
         query-comment: runner\nquoting: {identifier: true}\nrestrict-access: false\n\
         flags:\n  send_anonymous_usage_stats: false\n  partial_parse: true\n  use_colors: false\n  fail_fast: false\n  indirect_selection: eager\n  require_explicit_package_overrides_for_builtin_materializations: true\n\
         models:\n  shop:\n    +docs: {show: true, node_color: red}\n    +meta: {owner: data}\n    +access: public\n    +group: finance\n    +grants: {select: [reporter]}\n    +persist_docs: {}\n\
         seeds:\n  shop:\n    +docs: {show: false}\n    +meta: {source: csv}\n\
         exposures: {}\nmetrics: {}\nsemantic-models: {}\nsaved-queries: {}\n",
    );
    f.write(
        "models/more.yml",
        "version: 2\n\
         groups:\n  - name: finance\n    owner: {name: Ann, email: ann@example.com}\n\
         models:\n  - name: customers\n    description: one row per customer\n    access: public\n    group: finance\n    docs: {show: true}\n    meta: {tier: gold}\n    config:\n      grants: {select: [analyst]}\n      meta: {pii: false}\n      docs: {node_color: blue}\n\
         exposures:\n  - name: dashboard\n    type: dashboard\n    owner: {name: Ann}\n    depends_on: [ref('customers')]\n\
         semantic_models:\n  - name: customers_sm\n    model: ref('customers')\n\
         metrics:\n  - name: total\n    label: Total\n    type: simple\n    type_params: {measure: total}\n\
         saved_queries:\n  - name: q\n    query_params: {metrics: [total]}\n\
         macros:\n  - name: some_macro\n    description: documented\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_eq!(r.stderr.matches("note: `grants` are accepted and not applied").count(), 1, "{}", r.stderr);
}

/// `sql_header` and `incremental_predicates`, once named as not acted on,
/// are acted on: no warning, and the header runs before each model's create.
#[test]
fn headers_and_predicates_from_the_project_tree_are_acted_on_without_a_warning() {
    let f = Fixture::shop();
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\nmodels:\n  shop:\n    +sql_header: \"set variable n = 1;\"\n    marts:\n      +incremental_predicates: [\"1 = 1\"]\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    for file in ["marts/customers.sql", "staging/stg_orders.sql"] {
        let ran = std::fs::read_to_string(f.path().join("target/run/shop/models").join(file)).expect("run file");
        assert!(ran.starts_with("set variable n = 1;\ncreate"), "{file}: {ran}");
    }
}

/// A property entry naming no node is dbt's "did not find matching node"
/// warning at its line, with the closest name: its tests would apply to nothing.
#[test]
fn a_property_entry_for_no_node_is_named_with_the_closest_name() {
    let f = Fixture::shop();
    f.write(
        "models/typo.yml",
        "version: 2\nmodels:\n  - name: custmers\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("models/typo.yml:3: did not find a node named `custmers` for this entry of `models`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("did you mean `customers`?"), "{}", r.stderr);
}
