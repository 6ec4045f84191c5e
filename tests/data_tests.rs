//! Data tests end to end through the binary: dbt's names (selectable as dbt
//! gives them), custom generic tests, `quote: true`, `store_failures`, fqn
//! selection, and the bad inputs of issue #3 — a test on a missing column (an
//! error of that test only), an unknown custom generic test and a malformed
//! selector (exit 2, nothing run).

mod common;
use common::Fixture;

/// The shop fixture plus a custom generic test, a quoted column, a stored
/// test and a test whose name dbt shortens.
fn shop() -> Fixture {
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write(
        "tests/generic/at_most.sql",
        "{% test at_most(model, column_name, maximum) %}\nselect * from {{ model }} where {{ column_name }} > {{ maximum }}\n{% endtest %}\n",
    );
    f.write(
        "models/marts/schema.yml",
        "version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: total\n        data_tests:\n          - at_most:\n              arguments: {maximum: 10}\n          - not_null:\n              config: {store_failures: true}\n      - name: name\n        data_tests:\n          - accepted_values:\n              arguments:\n                values: [Ann, Bo, Cy, a_rather_long_value_for_a_name_here]\n              config: {store_failures: true}\n",
    );
    f.write("models/marts/quoted.sql", "select 1 as \"Odd Col\" union all select null\n");
    f.write(
        "models/marts/quoted.yml",
        "version: 2\nmodels:\n  - name: quoted\n    columns:\n      - name: Odd Col\n        quote: true\n        data_tests: [not_null]\n",
    );
    f
}

#[test]
fn the_projects_data_tests_tree_configures_generic_tests_by_folder() {
    let f = shop();
    // Both failing tests are declared in models/marts/; a tree for another folder leaves them errors.
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\ndata_tests:\n  shop:\n    staging:\n      +severity: warn\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAIL 1 at_most_customers_total__10"), "{}", r.stdout);
    f.write("dbt_project.yml", "name: shop\nprofile: shop\ndata_tests:\n  shop:\n    marts:\n      +severity: warn\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "warnings only: {}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("WARN 1 at_most_customers_total__10"), "{}", r.stdout);
    assert!(r.stdout.contains("WARN 1 not_null_quoted__Odd_Col_"), "{}", r.stdout);
}

#[test]
fn custom_generic_tests_quoted_columns_and_stored_failures_run() {
    let f = shop();
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "failures expected:\n{}\n{}", r.stdout, r.stderr);
    // customers.total is 12, 3 and 9: one row above 10.
    assert!(r.stdout.contains("FAIL 1 at_most_customers_total__10"), "{}", r.stdout);
    assert!(r.stdout.contains("FAIL 1 not_null_quoted__Odd_Col_"), "{}", r.stdout);
    assert!(r.stdout.contains("PASS not_null_customers_total"), "{}", r.stdout);
    // dbt keeps failing rows in <target.schema>_dbt_test__audit, named by the test's alias:
    // the md5-shortened name for names of 64 characters or more.
    let stored = f.query(
        "select table_name from information_schema.tables where table_schema = 'main_dbt_test__audit' order by 1",
    );
    // The alias is what dbt-core 1.10's `synthesize_generic_test_names` gives.
    let want = ["accepted_values_customers_4da28d9d75b86e7a4edc93b5d398aa4c", "not_null_customers_total"];
    assert_eq!(stored, want.iter().map(|s| vec![s.to_string()]).collect::<Vec<_>>());
    let results = std::fs::read_to_string(f.path().join("target/run_results.json")).expect("run_results");
    assert!(results.contains("\"test.shop.not_null_customers_total."), "unique ids carry dbt's hash:\n{results}");
}

#[test]
fn a_test_is_selected_by_the_name_dbt_gives_it() {
    let f = shop();
    assert_eq!(f.run(&["run", "my_dag"]).code, 1);
    let long = "accepted_values_customers_name__Ann__Bo__Cy__a_rather_long_value_for_a_name_here";
    // `build`, not `test`: the test stores its failures, and `test` opens the database read-only.
    let r = f.run(&["build", "--select", long]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&format!("PASS {long}")), "{}", r.stdout);
    assert!(r.stdout.contains("Done. PASS=1 "), "{}", r.stdout);
}

#[test]
fn fqn_selection_by_folder_runs_everything_under_it() {
    let f = shop();
    let r = f.run(&["run", "my_dag", "--select", "staging", "resource_type:seed"]);
    assert!(r.stdout.contains("main.stg_orders") && r.stdout.contains("main.raw_orders"), "{}", r.stdout);
    assert!(!r.stdout.contains("main.customers"), "{}", r.stdout);
    let r = f.run(&["run", "my_dag", "--select", "shop.marts.*", "--exclude", "resource_type:test"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("main.customers") && r.stdout.contains("main.quoted"), "{}", r.stdout);
    assert!(!r.stdout.contains("main.stg_orders"), "{}", r.stdout);
}

#[test]
fn an_empty_selection_runs_nothing_and_succeeds() {
    let f = shop();
    let r = f.run(&["run", "my_dag", "--select", "no_such_model"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("START"), "{}", r.stdout);
}

#[test]
fn a_test_on_a_missing_column_errors_alone_with_duckdbs_message() {
    let f = shop();
    // One entry per model, as dbt requires: `stg_orders`' entry moves to a
    // file of its own and gains a column that does not exist.
    let schema = std::fs::read_to_string(f.path().join("models/schema.yml")).expect("schema.yml");
    f.remove("models/schema.yml");
    f.write(
        "models/staging/missing.yml",
        &format!("{schema}      - name: no_such_column\n        data_tests: [unique]\n"),
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("ERROR unique_stg_orders_no_such_column"), "{all}");
    assert!(all.contains("models/staging/missing.yml"), "the error names the file:\n{all}");
    assert!(all.contains("Binder Error") && all.contains("no_such_column"), "DuckDB's message:\n{all}");
    // The other tests still ran.
    assert!(all.contains("PASS not_null_stg_orders_order_id"), "{all}");
}

#[test]
fn an_unknown_custom_generic_test_is_a_load_error_with_file_and_line() {
    let f = shop();
    f.write(
        "models/staging/typo.yml",
        "version: 2\nseeds:\n  - name: raw_orders\n    columns:\n      - name: amount\n        data_tests:\n          - is_positive\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("models/staging/typo.yml:7"), "{}", r.stderr);
    assert!(r.stderr.contains("unknown generic test `is_positive`"), "{}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(!f.db().exists(), "nothing ran");
}

#[test]
fn a_malformed_selector_exits_2_naming_it() {
    let f = shop();
    for (sel, needle) in [
        ("colour:red", "unknown selector method `colour`"),
        ("resource_type:modle", "unknown resource type `modle`"),
        ("@+stg_orders", "cannot be combined"),
        ("tag:", "no value"),
    ] {
        let r = f.run(&["run", "my_dag", "--select", sel]);
        assert_eq!(r.code, 2, "{sel}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(needle), "{sel}: {}", r.stderr);
        assert!(!f.db().exists(), "nothing ran");
    }
}

#[test]
fn jinja_in_a_tests_where_config_is_rendered_with_vars() {
    let f = Fixture::shop();
    // `stg_orders` is described here alone (dbt rejects a second entry).
    f.remove("models/schema.yml");
    f.write(
        "models/where.yml",
        "version: 2\nmodels:\n  - name: stg_orders\n    columns:\n      - name: amount\n        data_tests:\n          - accepted_values:\n              arguments: {values: [5, 7], quote: false}\n              config:\n                where: \"order_id <= {{ var('last_id', 11) }}\"\n",
    );
    // Orders 10 and 11 have amounts 5 and 7; 12 and 13 do not.
    let r = f.run(&["run", "my_dag"]);
    assert!(r.stdout.contains("PASS accepted_values_stg_orders_amount__False__5__7"), "{}\n{}", r.stdout, r.stderr);
    let r = f.run(&["test", "my_dag", "--vars", "{last_id: 13}"]);
    assert!(r.stdout.contains("FAIL 2 accepted_values_stg_orders_amount__False__5__7"), "{}\n{}", r.stdout, r.stderr);
    let compiled =
        f.run(&["compile", "--select", "accepted_values_stg_orders_amount__False__5__7", "--vars", "{last_id: 12}"]);
    assert!(compiled.stdout.contains("order_id <= 12"), "{}\n{}", compiled.stdout, compiled.stderr);
}

#[test]
fn a_custom_tests_string_argument_written_as_jinja_is_rendered() {
    let f = shop();
    // The default maximum (10) fails one customer (total 12); --vars raises it.
    f.write(
        "models/marts/schema.yml",
        "version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: total\n        data_tests:\n          - at_most:\n              arguments: {maximum: \"{{ var('max_total', 10) }}\"}\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert!(r.stdout.contains("FAIL 1 at_most_customers_total"), "{}\n{}", r.stdout, r.stderr);
    let r = f.run(&["test", "my_dag", "--vars", "{max_total: 20}"]);
    assert!(r.stdout.contains("PASS at_most_customers_total"), "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn a_test_macros_own_config_is_a_default_the_yaml_config_overrides() {
    let f = Fixture::shop();
    f.write(
        "macros/tests/small.sql",
        "{% test small(model, column_name) %}\n{{ config(severity='warn') }}\nselect * from {{ model }} where {{ column_name }} > 6\n{% endtest %}\n",
    );
    let yml = |extra: &str| {
        format!("version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: total\n        data_tests:\n          - small{extra}\n")
    };
    f.write("models/marts/small.yml", &yml(""));
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "warn only: {}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("WARN 2 small_customers_total"), "{}", r.stdout);
    f.write("models/marts/small.yml", &yml(":\n              config: {severity: error}"));
    let r = f.run(&["test", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAIL 2 small_customers_total"), "{}", r.stdout);
}

#[test]
fn a_where_from_a_test_macros_config_filters_the_model_argument() {
    let f = Fixture::shop();
    f.write(
        "macros/tests/small.sql",
        "{% test small(model, column_name) %}\n{{ config(severity='warn', where='customer_id > 1') }}\nselect * from {{ model }} where {{ column_name }} > 6\n{% endtest %}\n",
    );
    let yml = |extra: &str| {
        format!("version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: total\n        data_tests:\n          - small{extra}\n")
    };
    // Totals: Ann (1) 12, Bo (2) 3, Cy (3) 9; the macro's `where` leaves Cy alone failing.
    f.write("models/marts/small.yml", &yml(""));
    let r = f.run(&["run", "my_dag"]);
    assert!(r.stdout.contains("WARN 1 small_customers_total"), "{}\n{}", r.stdout, r.stderr);
    let c = f.run(&["compile", "--select", "small_customers_total"]);
    assert!(c.stdout.contains("where customer_id > 1) dbt_subquery where total > 6"), "{}\n{}", c.stdout, c.stderr);
    // The YAML's `where` overrides the macro's.
    f.write("models/marts/small.yml", &yml(":\n              config: {where: 'customer_id < 3'}"));
    let r = f.run(&["test", "my_dag"]);
    assert!(r.stdout.contains("WARN 1 small_customers_total"), "{}\n{}", r.stdout, r.stderr);
    let c = f.run(&["compile", "--select", "small_customers_total"]);
    assert!(c.stdout.contains("where customer_id < 3) dbt_subquery"), "{}\n{}", c.stdout, c.stderr);
}
