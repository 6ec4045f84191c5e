//! dbt's Jinja end to end: macros with defaults and `return`, dispatch,
//! `run_query`, compiler errors, `log`, run identity, Python string methods,
//! custom generic tests and `doc()` — each on a fixture project run by the
//! real binary.

mod common;
use common::Fixture;

fn shop_with(files: &[(&str, &str)]) -> Fixture {
    let f = Fixture::new();
    f.write("seeds/raw_orders.csv", "id,status,amount\n1,placed,5\n2,shipped,-3\n3,placed,7\n");
    for (path, text) in files {
        f.write(path, text);
    }
    f
}

fn run_ok(f: &Fixture) -> common::Run {
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    r
}

#[test]
fn macros_with_defaults_and_returned_lists_and_dicts_build_a_model() {
    let f = shop_with(&[
        (
            "macros/helpers.sql",
            "{% macro cents(col, scale=100) %}{{ col }} * {{ scale }}{% endmacro %}\n\
             {% macro measure_cols() %}{{ return(['id', 'amount']) }}{% endmacro %}\n\
             {% macro labels() %}{% set d = {} %}{% do d.update({'placed': 'P', 'shipped': 'S'}) %}{{ return(d) }}{% endmacro %}\n",
        ),
        (
            "models/orders.sql",
            "{{ config(materialized='table') }}\n\
             {% set cols = measure_cols() %}{% set lab = labels() %}\n\
             select {{ cols | join(', ') }}, {{ cents('amount') }} as cents, {{ cents('amount', scale=10) }} as tenths,\n\
             case status {% for k, v in lab.items() %}when '{{ k }}' then '{{ v }}' {% endfor %}end as label\n\
             from {{ ref('raw_orders') }}\n",
        ),
    ]);
    run_ok(&f);
    let rows = f.query("select id, amount, cents, tenths, label from orders order by id");
    assert_eq!(rows[0], vec!["1", "5", "500", "50", "P"]);
    assert_eq!(rows[1], vec!["2", "-3", "-300", "-30", "S"]);
}

#[test]
fn adapter_dispatch_picks_duckdb_then_default() {
    let f = shop_with(&[
        (
            "macros/dispatch.sql",
            "{% macro flavour() %}{{ return(adapter.dispatch('flavour', 'shop')()) }}{% endmacro %}\n\
             {% macro default__flavour() %}'default'{% endmacro %}\n\
             {% macro duckdb__flavour() %}'duck'{% endmacro %}\n\
             {% macro only_default() %}{{ adapter.dispatch('only_default')() }}{% endmacro %}\n\
             {% macro default__only_default() %}'fallback'{% endmacro %}\n",
        ),
        (
            "models/m.sql",
            "{{ config(materialized='table') }}\nselect {{ flavour() }} as a, {{ only_default() }} as b\n",
        ),
    ]);
    run_ok(&f);
    assert_eq!(f.query("select a, b from m"), vec![vec!["duck", "fallback"]]);
}

#[test]
fn run_query_builds_a_column_list() {
    let f = shop_with(&[
        (
            "macros/cols.sql",
            "{% macro numeric_cols(rel) %}\n\
             {% if not execute %}{{ return([]) }}{% endif %}\n\
             {% set q %}select column_name from information_schema.columns where table_name = '{{ rel.identifier }}' and data_type in ('BIGINT', 'INTEGER') order by ordinal_position{% endset %}\n\
             {{ return(run_query(q).columns[0].values()) }}\n\
             {% endmacro %}\n",
        ),
        (
            "models/wide.sql",
            "{{ config(materialized='table') }}\n\
             select {% for c in numeric_cols(ref('raw_orders')) %}sum({{ c }}) as total_{{ c }}{{ ',' if not loop.last }} {% endfor %}\n\
             from {{ ref('raw_orders') }}\n",
        ),
    ]);
    run_ok(&f);
    assert_eq!(f.query("select total_id, total_amount from wide"), vec![vec!["6", "9"]]);
}

#[test]
fn raise_compiler_error_stops_the_run_naming_the_files() {
    let f = shop_with(&[
        (
            "macros/guard.sql",
            "{% macro require(x) %}\n{% if not x %}\n{{ exceptions.raise_compiler_error('a value is required') }}\n{% endif %}\n{% endmacro %}\n",
        ),
        ("models/m.sql", "select 1 as one\n{{ require(none) }}\n"),
    ]);
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("models/m.sql:2"), "{}", r.stderr);
    assert!(r.stderr.contains("compilation error: a value is required"), "{}", r.stderr);
    assert!(r.stderr.contains("macros/guard.sql:3"), "{}", r.stderr);
    assert!(!f.db().exists(), "nothing may run");
}

#[test]
fn log_prints_once_at_run_time() {
    let f = shop_with(&[(
        "models/m.sql",
        "{{ log('building ' ~ this.identifier ~ ' execute=' ~ execute, info=True) }}{{ log('debug only') }}\nselect 1 as one\n",
    )]);
    let r = run_ok(&f);
    let logged: Vec<&str> = r.stdout.lines().filter(|l| l.contains("building m")).collect();
    assert_eq!(logged.len(), 1, "{}", r.stdout);
    assert!(logged[0].ends_with("  building m execute=True"), "{}", logged[0]);
    assert_eq!(logged[0].as_bytes()[2], b':', "timestamped like dbt: {}", logged[0]);
    assert!(!r.stdout.contains("debug only"), "{}", r.stdout);
}

#[test]
fn invocation_id_and_run_started_at_are_set() {
    let f = shop_with(&[(
        "models/m.sql",
        "{{ config(materialized='table') }}\n\
         select '{{ invocation_id }}' as inv, '{{ run_started_at }}' as started, '{{ run_started_at.strftime(\"%Y\") }}' as y\n",
    )]);
    run_ok(&f);
    let row = &f.query("select inv, started, y from m")[0];
    assert_eq!(row[0].len(), 36, "a uuid: {}", row[0]);
    assert_eq!(row[0].matches('-').count(), 4, "{}", row[0]);
    assert!(row[1].ends_with("+00:00") && row[1].starts_with(&row[2]), "{row:?}");
    // The artifacts name the same invocation, as dbt's do.
    for file in ["run_results.json", "manifest.json"] {
        let text = std::fs::read_to_string(f.path().join("target").join(file)).expect("artifact");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["metadata"]["invocation_id"], row[0].as_str(), "{file}");
    }
}

#[test]
fn python_string_list_and_dict_methods() {
    let f = shop_with(&[(
        "models/m.sql",
        "{{ config(materialized='table') }}\n\
         {% set parts = 'Stg_Orders.v2'.split('.') %}{% set d = {'a': 1} %}\n\
         select '{{ parts[0].lower().replace('stg_', '') }}' as name, '{{ parts[1].upper() }}' as ver,\n\
         {{ 'x'.startswith('x') }} as starts, '{{ '{}-{}'.format('a', 2) }}' as fmt, {{ d.get('a') + d.get('b', 10) }} as n,\n\
         '{{ ' pad '.strip() }}' as stripped, {{ d.keys() | list | length }} as k\n",
    )]);
    run_ok(&f);
    assert_eq!(
        f.query("select name, ver, starts, fmt, n, stripped, k from m"),
        vec![vec!["orders", "V2", "true", "a-2", "11", "pad", "1"]]
    );
}

fn custom_test_project(amount_test: &str) -> Fixture {
    shop_with(&[
        ("models/orders.sql", "select * from {{ ref('raw_orders') }}\n"),
        (
            "macros/tests.sql",
            "{% test at_least(model, column_name, minimum=0) %}\nselect * from {{ model }} where {{ column_name }} < {{ minimum }}\n{% endtest %}\n",
        ),
        (
            "tests/generic/is_status.sql",
            "{% test is_status(model, column_name, allowed=['placed']) %}\nselect * from {{ model }} where {{ column_name }} not in ('{{ allowed | join(\"', '\") }}')\n{% endtest %}\n",
        ),
        (
            "models/schema.yml",
            &format!(
                "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: amount\n        data_tests:\n{amount_test}\n      - name: status\n        data_tests:\n          - is_status:\n              arguments:\n                allowed: [placed, shipped]\n"
            ),
        ),
    ])
}

#[test]
fn custom_generic_tests_from_macros_and_tests_generic_pass() {
    let f = custom_test_project("          - at_least:\n              minimum: -5");
    let r = run_ok(&f);
    assert_eq!(r.lines_with("PASS at_least_orders_amount").len(), 1, "{}", r.stdout);
    assert_eq!(r.lines_with("PASS is_status_orders").len(), 1, "{}", r.stdout);
}

#[test]
fn a_failing_custom_generic_test_fails_the_run() {
    let f = custom_test_project("          - at_least");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAIL 1 at_least_orders_amount"), "{}", r.stdout);
}

#[test]
fn an_unknown_generic_test_names_the_yml_line() {
    let f = custom_test_project("          - not_a_test");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("models/schema.yml:7") && r.stderr.contains("`not_a_test`"), "{}", r.stderr);
}

#[test]
fn doc_blocks_in_descriptions() {
    let f = shop_with(&[
        ("models/orders.sql", "select * from {{ ref('raw_orders') }}\n"),
        ("models/docs.md", "{% docs orders_doc %}\nAll orders.\n{% enddocs %}\n"),
        ("models/schema.yml", "version: 2\nmodels:\n  - name: orders\n    description: \"{{ doc('orders_doc') }}\"\n"),
    ]);
    run_ok(&f);
    f.write("models/schema.yml", "version: 2\nmodels:\n  - name: orders\n    description: \"{{ doc('nope') }}\"\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("models/schema.yml:4") && r.stderr.contains("`nope`"), "{}", r.stderr);
}

#[test]
fn relations_a_models_run_query_creates_are_seen_by_later_models() {
    // `a` creates a table named like model `b`; `b` (a view, after `a`) must
    // replace that table rather than trust what the run saw before `a`.
    let f = shop_with(&[
        (
            "models/a.sql",
            "{% if execute %}{% set _ = run_query('create or replace table main.b as select 1 as x') %}{% endif %}\nselect 1 as id\n",
        ),
        ("models/b.sql", "-- {{ ref('a') }}\nselect 2 as y\n"),
    ]);
    run_ok(&f);
    let kind = f.query("select table_type from information_schema.tables where table_name = 'b'");
    assert_eq!(kind, vec![vec!["VIEW".to_string()]]);
}

/// Jinja in YAML config values renders as dbt renders it while parsing, with
/// the real environment over `.env`: the relation is named with the values.
#[test]
fn yaml_config_values_render_env_vars_from_the_environment_and_dotenv() {
    let f = shop_with(&[
        (
            "dbt_project.yml",
            "name: shop\nprofile: shop\nmodels:\n  shop:\n    +schema: \"{{ env_var('RUNNER_T_YJ_SCHEMA', 'unused') }}\"\n",
        ),
        ("models/orders.sql", "select 1 as x"),
        (
            "models/props.yml",
            "version: 2\nmodels:\n  - name: orders\n    config:\n      alias: \"{{ env_var('RUNNER_T_YJ_ALIAS') }}\"\n",
        ),
        (".env", "RUNNER_T_YJ_ALIAS=from_dotenv\n"),
    ]);
    let out = f.command(&["run", "my_dag"]).env("RUNNER_T_YJ_SCHEMA", "live").output().expect("runs");
    let r = common::Run::from(out);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let found =
        f.query("select table_schema, table_name from information_schema.tables where table_name = 'from_dotenv'");
    assert_eq!(found, [["main_live".to_string(), "from_dotenv".to_string()]]);
}
