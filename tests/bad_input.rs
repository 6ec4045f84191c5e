//! Every bad input: exit 2, a message naming the file (and line where there is
//! one), and a database that was never touched.

mod common;
use common::Fixture;

/// Runs `my_dag` and checks exit 2, that stderr contains each needle, and
/// that no database file was created.
fn rejects(f: &Fixture, needles: &[&str]) -> String {
    common::rejects(f, &["run", "my_dag"], needles)
}

#[test]
fn missing_profiles_yml() {
    let f = Fixture::shop();
    f.remove("profiles.yml");
    let home = tempfile::tempdir().expect("tempdir");
    let r = f.command(&["run", "my_dag"]).env("HOME", home.path()).output().expect("runs");
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("no `profiles.yml` found") && err.contains("hint:"), "{err}");
}

#[test]
fn invalid_profiles_yaml() {
    let f = Fixture::shop();
    f.write("profiles.yml", "shop:\n  target: dev\n  outputs: [\n");
    rejects(&f, &["profiles.yml:", "invalid yaml"]);
}

/// dbt renders only the profile and target it uses: another adapter's target
/// with unset env vars, and another profile, do not stop a run; choosing
/// that target does, naming it.
#[test]
fn only_the_selected_profile_and_target_are_read() {
    let f = Fixture::shop();
    let prod = "    prod:\n      type: snowflake\n      account: \"{{ env_var('RUNNER_TEST_UNSET_ACCOUNT') }}\"\n      warehouse: w\n";
    let other = "other:\n  target: a\n  outputs:\n    a:\n      type: postgres\n      host: \"{{ env_var('RUNNER_TEST_UNSET_HOST') }}\"\n";
    f.write("profiles.yml", &format!("{}{prod}{other}", common::PROFILES));
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    std::fs::remove_file(f.db()).expect("the run made the database");
    f.write("dags/my_dag.yml", &format!("{}target: prod\n", common::DAG));
    let err = common::rejects(&f, &["run", "my_dag"], &["profiles.yml:10:", "RUNNER_TEST_UNSET_ACCOUNT"]);
    assert!(!err.contains("RUNNER_TEST_UNSET_HOST"), "{err}");
    let r = f.command(&["run", "my_dag"]).env("RUNNER_TEST_UNSET_ACCOUNT", "acct").output().expect("runs");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("target `prod` has type `snowflake`; runner runs only `duckdb`"), "{err}");
}

#[test]
fn unknown_profile_and_target() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &common::DAG.replace("profile: shop", "profile: shopp"));
    rejects(&f, &["profiles.yml", "profile `shopp` not found", "`shop`"]);
    f.write("dags/my_dag.yml", &format!("{}target: prod\n", common::DAG));
    rejects(&f, &["profiles.yml", "target `prod` not found", "targets: `dev`"]);
}

#[test]
fn env_var_unset_without_default() {
    let f = Fixture::shop();
    f.write("profiles.yml", &common::PROFILES.replace(", 'warehouse.duckdb'", ""));
    rejects(&f, &["profiles.yml:6", "`DUCKDB_DATABASE_PATH`", "hint:"]);
}

#[test]
fn invalid_yaml_in_a_dag_and_in_schema_yml() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", "dag_id: my_dag\nselect: [\"*\"\n");
    rejects(&f, &["dags/my_dag.yml:", "invalid yaml"]);
    let f = Fixture::shop();
    f.write("models/schema.yml", "version: 2\nmodels:\n  - name: x\n   columns: []\n");
    rejects(&f, &["models/schema.yml:4", "invalid yaml"]);
}

#[test]
fn unknown_key_in_a_dag_names_its_line() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}max_active_taks: 3\n", common::DAG));
    rejects(&f, &["dags/my_dag.yml:9", "unknown field `max_active_taks`"]);
}

#[test]
fn unknown_ref_suggests_the_closest_name() {
    let f = Fixture::shop();
    f.write("models/marts/customers.sql", "select *\nfrom {{ ref('stg_order') }}\n");
    rejects(&f, &["models/marts/customers.sql:2", "unknown ref `stg_order`", "did you mean `stg_orders`?"]);
}

/// A node's retries and timeout are checked at load by the rule a DAG file's
/// follow, wherever they are set: before, `30 parsecs` meant "no timeout".
#[test]
fn a_nodes_bad_timeout_or_retries_is_a_load_error() {
    let f = Fixture::shop();
    f.write(
        "models/staging/stg_orders.sql",
        "{{ config(execution_timeout='30 parsecs') }}\nselect 1 as order_id, 1 as customer_id",
    );
    f.write("models/marts/customers.yml", "models:\n  - name: customers\n    config:\n      meta: {retries: many}\n");
    let err = rejects(
        &f,
        &[
            "models/staging/stg_orders.sql",
            "model `stg_orders`: `execution_timeout`: `30 parsecs` has an unknown unit",
            "models/marts/customers.sql",
            "model `customers`: `retries` must be a whole number, found `many`",
        ],
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn a_cycle_prints_the_whole_loop() {
    let f = Fixture::new();
    f.write("models/a.sql", "select * from {{ ref('c') }}");
    f.write("models/b.sql", "select * from {{ ref('a') }}");
    f.write("models/c.sql", "select * from {{ ref('b') }}");
    rejects(&f, &["dependency cycle: `a` → `b` → `c` → `a`"]);
}

#[test]
fn jinja_syntax_error_names_file_and_line() {
    let f = Fixture::shop();
    f.write("models/staging/stg_orders.sql", "select 1 as order_id\n{% if %}\n");
    rejects(&f, &["models/staging/stg_orders.sql:2", "syntax error"]);
}

#[test]
fn ragged_csv_names_the_row() {
    let f = Fixture::shop();
    f.write("seeds/raw_customers.csv", "id,name\n1,Ann\n2,Bo,extra\n");
    rejects(&f, &["seeds/raw_customers.csv:3", "3 fields but the header has 2"]);
}

#[test]
fn a_ragged_row_is_found_with_the_seeds_own_delimiter() {
    let f = Fixture::shop();
    f.write("seeds/seeds.yml", "version: 2\nseeds:\n  - name: raw_customers\n    config:\n      delimiter: \";\"\n");
    // Read with `,` this file is one column throughout; with `;` row 3 is ragged.
    f.write("seeds/raw_customers.csv", "id;name\n1;Ann\n2;Bo;extra\n");
    rejects(&f, &["seeds/raw_customers.csv:3", "3 fields but the header has 2"]);
}

#[test]
fn a_delimiter_of_more_than_one_character() {
    let f = Fixture::shop();
    f.write("seeds/seeds.yml", "version: 2\nseeds:\n  - name: raw_customers\n    config:\n      delimiter: \"||\"\n");
    rejects(&f, &["seeds/raw_customers.csv", "`delimiter` is `||`", "hint:"]);
}

#[test]
fn unknown_dag_lists_the_dags() {
    let f = Fixture::shop();
    let r = f.run(&["run", "nope"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown DAG `nope`") && r.stderr.contains("DAGs: `my_dag`"), "{}", r.stderr);
}

#[test]
fn all_errors_are_reported_together_sorted_by_file() {
    let f = Fixture::shop();
    f.write("seeds/raw_customers.csv", "id,name\n1\n");
    f.write("models/staging/stg_orders.sql", "{% if %}");
    let err = rejects(&f, &["models/staging/stg_orders.sql:1", "seeds/raw_customers.csv:2", "2 errors"]);
    assert!(err.find("models/").expect("model error") < err.find("seeds/").expect("seed error"), "{err}");
}

#[test]
fn bad_usage_exits_2() {
    let f = Fixture::shop();
    for args in [
        &["run", "my_dag", "--vars", "[1]"][..],
        &["run", "my_dag", "--threads", "0"],
        &["run", "my_dag", "--select", "bogus:x"],
    ] {
        let r = f.run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    }
    assert!(!f.db().exists());
}

#[test]
fn two_tests_with_one_name_are_a_load_error_not_a_panic() {
    let f = Fixture::shop();
    f.write("tests/orders/assert_positive.sql", "select 1 where false");
    f.write("tests/payments/assert_positive.sql", "select 1 where false");
    rejects(&f, &["two nodes are named `assert_positive`", "hint:"]);
    let f = Fixture::shop();
    f.write("models/dup.yml", "version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: name\n        data_tests: [unique, not_null, unique]\n");
    rejects(&f, &["two nodes are named `unique_customers_name`"]);
}

#[test]
fn a_bad_duckdb_setting_or_extension_is_reported_before_the_file_exists() {
    let f = Fixture::shop();
    f.write("profiles.yml", &format!("{}      settings:\n        no_such_setting: 1\n", common::PROFILES));
    rejects(&f, &["profiles.yml", "`settings.no_such_setting`", "hint:"]);
    f.write("profiles.yml", &format!("{}      extensions: [no_such_extension_xyz]\n", common::PROFILES));
    rejects(&f, &["profiles.yml", "cannot load `no_such_extension_xyz`"]);
}

#[test]
fn a_naming_macro_that_fails_is_a_load_error_naming_the_node() {
    let f = Fixture::shop();
    f.write(
        "macros/naming.sql",
        "{% macro generate_schema_name(custom, node) %}{{ exceptions.raise_compiler_error('no schema for ' ~ node.name) }}{% endmacro %}\n",
    );
    rejects(
        &f,
        &[
            "seeds/raw_customers.csv",
            "seed `raw_customers`",
            "`generate_schema_name` failed",
            "no schema for raw_customers",
        ],
    );
}

/// dbt refuses an `enabled` that renders to text ("'false' is not of type
/// 'boolean'"); runner names the file and the key instead of running it.
#[test]
fn yaml_enabled_that_renders_to_text() {
    let f = Fixture::shop();
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\nmodels:\n  shop:\n    marts:\n      +enabled: \"{{ env_var('RUNNER_TEST_UNSET_EN', 'false') }}\"\n",
    );
    rejects(&f, &["dbt_project.yml", "`models.shop.marts.+enabled`", "not a boolean"]);
}

/// dbt's groups and access (each message's case checked against dbt 1.10,
/// which refuses them while parsing): a ref to a private model from outside
/// its group, a generic test on another model included, an undefined group
/// and an unknown access level; a model of the group and a test on the
/// private model itself are fine.
#[test]
fn groups_and_private_access_are_checked_as_dbt_checks_them() {
    let f = Fixture::shop();
    f.write(
        "models/groups.yml",
        "version: 2\ngroups:\n  - name: finance\n    owner: {name: Fin, email: fin@x.com}\nmodels:\n  - name: ledger\n    config: {group: finance, access: private}\n    columns:\n      - name: x\n        data_tests: [not_null]\n",
    );
    f.write("models/ledger.sql", "select 1 as x");
    f.write("models/books.sql", "{{ config(group='finance') }}\nselect * from {{ ref('ledger') }}");
    let r = f.run(&["ls"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("books") && r.stdout.contains("not_null_ledger_x"), "{}", r.stdout);

    f.write("models/outsider.sql", "select * from {{ ref('ledger') }}");
    f.write("models/bad_group.sql", "{{ config(group='nope') }}\nselect 1 as x");
    f.write("tests/peek.sql", "select * from {{ ref('ledger') }} where false");
    let err = rejects(&f, &[]);
    for needle in [
        "models/outsider.sql: model `outsider` refers to model `ledger`, which is private to the `finance` group",
        "models/bad_group.sql: model `bad_group`: invalid group `nope`, expected one of [`finance`]",
        "tests/peek.sql: test `peek` refers to model `ledger`, which is private to the `finance` group",
    ] {
        assert!(err.contains(needle), "{needle}\n{err}");
    }
    std::fs::remove_file(f.path().join("models/outsider.sql")).expect("rm");
    std::fs::remove_file(f.path().join("models/bad_group.sql")).expect("rm");
    std::fs::remove_file(f.path().join("tests/peek.sql")).expect("rm");
    f.write(
        "models/groups.yml",
        "version: 2\ngroups:\n  - name: finance\n    owner: {name: Fin, email: fin@x.com}\nmodels:\n  - name: ledger\n    config: {group: finance, access: secret}\n  - name: books\n    columns:\n      - name: x\n        data_tests:\n          - relationships: {to: ref('stg_orders'), field: id}\n",
    );
    let err = rejects(&f, &[]);
    assert!(err.contains("model `ledger`: `access` must be `private`, `protected` or `public`, got `secret`"), "{err}");
}
