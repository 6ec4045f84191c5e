//! Unit tests (dbt 1.8+) through the real binary: a failing one prints the
//! difference of expected and actual rows and exits 1; `test_type:unit`,
//! `unit_test:` and a model's name select them; `build` runs them after the
//! model's parents and before the model, which a failure skips; bad
//! declarations are load errors naming the file and line, before the
//! database is touched. Statuses against real dbt, in every format, are in
//! the differential case `differential/unit_tests`.

mod common;
use common::{rejects, Fixture};

const UNIT_TESTS: &str = "version: 2
unit_tests:
  - name: counts_orders
    description: one row per customer with the count and sum of their orders
    model: customers
    given:
      - input: ref('raw_customers')
        rows:
          - {id: 1, name: Ann}
          - {id: 2, name: Bo}
      - input: ref('stg_orders')
        format: csv
        rows: |
          order_id,customer_id,amount
          1,1,5
          2,1,7
    expect:
      rows:
        - {customer_id: 1, orders: 2, total: 12}
        - {customer_id: 2, orders: 0, total: null}
  - name: wrong_total
    model: customers
    config:
      tags: [wrong]
    given:
      - input: ref('raw_customers')
        rows: [{id: 1, name: Ann}]
      - input: ref('stg_orders')
        format: sql
        rows: select 1 as order_id, 1 as customer_id, 'placed' as status, 5 as amount
    expect:
      rows:
        - {customer_id: 1, total: 6}
";

/// The shop, named `shop` (unique ids carry the project's name).
fn shop() -> Fixture {
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f
}

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

fn status(res: &[(String, String)], id: &str) -> Option<String> {
    res.iter().find(|(i, _)| i == id).map(|(_, s)| s.clone())
}

fn position(out: &str, needle: &str) -> usize {
    out.find(needle).unwrap_or_else(|| panic!("`{needle}` not in:\n{out}"))
}

#[test]
fn a_failing_unit_test_prints_the_difference_and_exits_1() {
    let f = shop();
    let built = f.run(&["build"]);
    assert_eq!(built.code, 0, "{}{}", built.stdout, built.stderr);
    f.write("models/unit.yml", UNIT_TESTS);
    let r = f.run(&["test"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("START unit_test customers::counts_orders"), "{}", r.stdout);
    assert!(r.stdout.contains("PASS customers::counts_orders"), "{}", r.stdout);
    assert!(r.stdout.contains("FAIL 1 customers::wrong_total"), "{}", r.stdout);
    // dbt's summary: the unit test, its file, and the table of differences.
    assert!(r.stdout.contains("Failure in unit_test wrong_total (models/unit.yml)"), "{}", r.stdout);
    assert!(r.stdout.contains("actual differs from expected:"), "{}", r.stdout);
    assert!(r.stdout.contains("@@,customer_id,total\n→ ,1          ,6→5"), "{}", r.stdout);
    let res = results(&f);
    assert_eq!(status(&res, "unit_test.shop.customers.counts_orders").as_deref(), Some("pass"), "{res:?}");
    assert_eq!(status(&res, "unit_test.shop.customers.wrong_total").as_deref(), Some("fail"), "{res:?}");
    // Data tests still run beside them.
    assert_eq!(status(&res, "test.shop.assert_totals_positive").as_deref(), Some("pass"), "{res:?}");
}

#[test]
fn unit_tests_are_selected_by_type_name_and_model_and_listed() {
    let f = shop();
    assert_eq!(f.run(&["build"]).code, 0);
    f.write("models/unit.yml", UNIT_TESTS);
    let r = f.run(&["test", "--select", "test_type:unit", "--exclude", "tag:wrong"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let ids: Vec<String> = results(&f).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, vec!["unit_test.shop.customers.counts_orders"]);
    let r = f.run(&["test", "--select", "unit_test:wrong_*"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let ids: Vec<String> = results(&f).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, vec!["unit_test.shop.customers.wrong_total"]);
    // Selecting a model selects its unit tests (and its data tests).
    let r = f.run(&["test", "--select", "customers"]);
    let ids: Vec<String> = results(&f).into_iter().map(|(id, _)| id).collect();
    assert!(ids.contains(&"unit_test.shop.customers.counts_orders".to_string()), "{ids:?}\n{}", r.stdout);
    let ls = f.run(&["ls", "--resource-type", "unit_test"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert_eq!(
        ls.stdout.lines().collect::<Vec<_>>(),
        vec!["unit_test:shop.counts_orders", "unit_test:shop.wrong_total"]
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path().join("target/manifest.json")).expect("manifest"))
            .expect("json");
    let ut = &manifest["unit_tests"]["unit_test.shop.customers.counts_orders"];
    assert_eq!(ut["model"], "customers");
    assert_eq!(ut["depends_on"]["nodes"], serde_json::json!(["model.shop.customers"]));
    assert_eq!(ut["given"][1]["format"], "csv");
    assert!(manifest["nodes"].get("unit_test.shop.customers.counts_orders").is_none());
    let children = manifest["child_map"]["model.shop.customers"].as_array().cloned().unwrap_or_default();
    assert!(children.contains(&serde_json::json!("unit_test.shop.customers.counts_orders")), "{children:?}");
}

#[test]
fn build_runs_unit_tests_after_the_models_parents_and_before_the_model() {
    let f = shop();
    f.write("models/unit.yml", UNIT_TESTS);
    let r = f.run(&["build", "--exclude", "tag:wrong"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    let parent = position(out, "OK created sql view model main.stg_orders");
    let unit = position(out, "START unit_test customers::counts_orders");
    let model = position(out, "START sql table model main.customers");
    assert!(parent < unit && unit < model, "{out}");
    // A failing unit test skips its model and what reads it.
    f.write("models/after.sql", "select * from {{ ref('customers') }}\n");
    let r = f.run(&["build"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("SKIP relation main.customers"), "{}", r.stdout);
    assert!(r.stdout.contains("SKIP relation main.after"), "{}", r.stdout);
    let res = results(&f);
    assert_eq!(status(&res, "model.shop.customers").as_deref(), Some("skipped"), "{res:?}");
    assert_eq!(status(&res, "unit_test.shop.customers.wrong_total").as_deref(), Some("fail"), "{res:?}");
    // dbt's build runs a unit test only with its model.
    let r = f.run(&["build", "--select", "test_type:unit"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("unit_test"), "{}", r.stdout);
}

#[test]
fn a_dag_run_runs_unit_tests_with_the_other_tests() {
    let f = shop();
    f.write("models/unit.yml", UNIT_TESTS);
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let res = results(&f);
    assert_eq!(status(&res, "unit_test.shop.customers.counts_orders").as_deref(), Some("pass"), "{res:?}");
    assert_eq!(status(&res, "unit_test.shop.customers.wrong_total").as_deref(), Some("fail"), "{res:?}");
    // `after_all`: the models were all built, the failing unit test skips nothing.
    assert_eq!(status(&res, "model.shop.customers").as_deref(), Some("success"), "{res:?}");
}

#[test]
fn bad_unit_tests_are_load_errors_naming_the_file_and_line() {
    let cases: &[(&str, &[&str])] = &[
        (
            "  - name: t\n    model: nope\n    given: []\n    expect: {rows: []}\n",
            &["models/unit.yml:3", "unable to find model `shop.nope` for unit test `t`"],
        ),
        (
            "  - name: t\n    model: customers\n    given:\n      - input: ref('nope')\n        rows: []\n    expect: {rows: []}\n",
            &["models/unit.yml:3", "had an input (`ref('nope')`) which was not found"],
        ),
        (
            "  - name: t\n    model: customers\n    given:\n      - input: ref('stg_orders')\n        format: csv\n        fixture: missing_file\n    expect: {rows: []}\n",
            &["models/unit.yml:3", "fixture file `missing_file` not found"],
        ),
        (
            "  - name: t\n    model: customers\n    given:\n      - input: ref('stg_orders')\n        format: xml\n        rows: []\n    expect: {rows: []}\n",
            &["models/unit.yml:3", "`format: xml` is not one of"],
        ),
        (
            "  - name: t\n    model: customers\n    given:\n      - input: stg_orders\n        rows: []\n    expect: {rows: []}\n",
            &["models/unit.yml:3", "either a 'ref', 'source' or 'this' call. Got: 'stg_orders'"],
        ),
        (
            "  - name: t\n    model: customers\n    given:\n      - input: ref('stg_orders')\n        format: csv\n        rows: [{order_id: 1}]\n    expect: {rows: []}\n",
            &["models/unit.yml:3", "do not match format csv"],
        ),
    ];
    for (entry, wanted) in cases {
        let f = shop();
        f.write("models/unit.yml", &format!("version: 2\nunit_tests:\n{entry}"));
        rejects(&f, &["test"], wanted);
        assert!(!f.db().exists(), "a load error leaves the database untouched");
    }
    let f = shop();
    f.write("models/inc.sql", "{{ config(materialized='incremental') }}\nselect * from {{ ref('stg_orders') }}\n{% if is_incremental() %}where order_id > (select max(order_id) from {{ this }}){% endif %}\n");
    f.write(
        "models/unit.yml",
        "version: 2\nunit_tests:\n  - name: t\n    model: inc\n    given:\n      - input: ref('stg_orders')\n        rows: []\n    expect: {rows: []}\n",
    );
    rejects(&f, &["build"], &["models/unit.yml:3", "boolean override for `is_incremental` must be provided"]);
}
