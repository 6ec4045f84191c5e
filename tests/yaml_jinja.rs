//! Jinja in YAML values that dbt 1.10 cannot use: each is a load error
//! (exit 2) naming the file, the key and its line, before anything touches
//! the database. What renders, and to what, is `differential/yaml_jinja`'s
//! (checked against real dbt); the wording follows dbt's where it has one.

mod common;
use common::{rejects, Fixture};

fn shop_with(files: &[(&str, &str)]) -> Fixture {
    let f = Fixture::shop();
    for (path, text) in files {
        f.write(path, text);
    }
    f
}

const PROJECT: &str = "name: shop\nprofile: shop\n";

#[test]
fn an_enabled_of_literals_alone_is_text_and_refused_as_dbt_refuses_it() {
    // Jinja2 folds `{{ false }}` into the text `False` while compiling it.
    let f = shop_with(&[(
        "models/marts/customers.yml",
        "version: 2\nmodels:\n  - name: customers\n    config:\n      enabled: \"{{ false }}\"\n",
    )]);
    rejects(
        &f,
        &["run"],
        &["models/marts/customers.yml:5", "`models.customers.config.enabled` renders to `False` (text), not a boolean"],
    );
}

#[test]
fn an_enabled_written_as_text_is_refused() {
    let f =
        shop_with(&[("dbt_project.yml", &format!("{PROJECT}models:\n  shop:\n    marts:\n      +enabled: 'false'\n"))]);
    rejects(
        &f,
        &["run"],
        &["dbt_project.yml:6", "`models.shop.marts.+enabled` is `false` (text), not a boolean", "hint:"],
    );
}

#[test]
fn as_bool_reads_only_what_python_reads_as_a_boolean() {
    let f = shop_with(&[(
        "dbt_project.yml",
        &format!(
            "{PROJECT}models:\n  shop:\n    +enabled: \"{{{{ env_var('RUNNER_T_YJ_UNSET', 'false') | as_bool }}}}\"\n"
        ),
    )]);
    rejects(
        &f,
        &["run"],
        &[
            "dbt_project.yml:5",
            "`models.shop.+enabled` cannot render",
            "could not convert value `false` into type `bool`",
        ],
    );
}

#[test]
fn jinja_in_flags_is_refused_since_dbt_reads_flags_unrendered() {
    let f = shop_with(&[(
        "dbt_project.yml",
        &format!("{PROJECT}flags:\n  send_anonymous_usage_stats: \"{{{{ false }}}}\"\n"),
    )]);
    rejects(&f, &["run"], &["dbt_project.yml:4", "`flags.send_anonymous_usage_stats` holds Jinja"]);
}

#[test]
fn a_path_that_cannot_render_is_named_not_searched() {
    let f = shop_with(&[(
        "dbt_project.yml",
        &format!("{PROJECT}model-paths: [\"{{{{ env_var('RUNNER_T_YJ_UNSET') }}}}\"]\n"),
    )]);
    rejects(&f, &["run"], &["dbt_project.yml:3", "`model-paths[0]` cannot render", "RUNNER_T_YJ_UNSET"]);
}

#[test]
fn keys_outside_config_render_and_their_errors_name_them() {
    // A column's quoting renders to the text `True`: dbt's "is not of type 'boolean'".
    let f = shop_with(&[(
        "models/marts/customers.yml",
        "version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: name\n        quote: \"{{ true }}\"\n",
    )]);
    rejects(&f, &["run"], &["models/marts/customers.yml", "`models.customers.columns.name.quote` renders to 'True'"]);

    // Sources' keys runner does not use still render, as dbt renders them.
    let f = shop_with(&[(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: t\n        loaded_at_field: \"{{ env_var('RUNNER_T_YJ_UNSET') }}\"\n",
    )]);
    rejects(&f, &["run"], &["models/sources.yml:6", "`sources.raw.tables.t.loaded_at_field` cannot render"]);
}

#[test]
fn unit_test_rows_render_and_their_errors_name_the_row() {
    let f = shop_with(&[(
        "models/unit.yml",
        "version: 2\nunit_tests:\n  - name: ut\n    model: customers\n    given:\n      - input: ref('raw_customers')\n        rows:\n          - {id: \"{{ nope.attr }}\"}\n    expect:\n      rows: []\n",
    )]);
    rejects(&f, &["run"], &["models/unit.yml:8", "`unit_tests.ut.given[0].rows[0].id` cannot render"]);
}

#[test]
fn a_tests_configs_render_with_the_property_files_context() {
    let f = shop_with(&[(
        "models/marts/customers.yml",
        "version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: name\n        data_tests:\n          - not_null:\n              config:\n                where: \"{{ var('RUNNER_T_YJ_MISSING') }}\"\n          - unique:\n              enabled: \"{{ 'yes' }}\"\n",
    )]);
    let err = rejects(&f, &["run"], &["models/marts/customers.yml:9", "`customers.name.not_null.where` cannot render"]);
    assert!(err.contains("`customers.name.unique.enabled` renders to `yes` (text), not a boolean"), "{err}");
}

#[test]
fn the_context_is_dbts_parse_context_without_nodes_or_macros() {
    for value in ["{{ this }}", "{{ ref('customers') }}", "{{ adapter.quote('x') }}"] {
        let f = shop_with(&[(
            "models/marts/customers.yml",
            &format!("version: 2\nmodels:\n  - name: customers\n    config:\n      alias: \"{value}\"\n"),
        )]);
        rejects(&f, &["run"], &["models/marts/customers.yml:5", "`models.customers.config.alias` cannot render"]);
    }
}

#[test]
fn an_enabled_set_by_a_config_call_is_checked_as_dbt_checks_it() {
    let f = shop_with(&[("models/marts/customers.sql", "{{ config(enabled='false') }}\nselect 1 as customer_id\n")]);
    rejects(
        &f,
        &["run"],
        &["models/marts/customers.sql:1", "model `customers`: `enabled` is `false` (text), not a boolean"],
    );
}
