//! runner's `target/manifest.json` (v12) and `target/run_results.json` (v6)
//! pass dbt's published schemas as dbt-artifacts-parser holds them (extra
//! fields forbidden), so dbt's tools read them: each resource type, each
//! status (success, error, skipped, pass, fail), a unit test, model versions and a run hook. Needs the
//! pinned dbt venv (scripts/dbt-venv.sh); without it the test says so and
//! skips, unless `RUNNER_REQUIRE_DBT_VENV` is set (`.ci/run` sets it).

mod common;

use common::Fixture;
use std::path::PathBuf;
use std::process::Command;

fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("RUNNER_DBT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/runner-dbt-venv"));
    let python = venv.join("bin/python");
    let ok =
        Command::new(&python).args(["-c", "import dbt_artifacts_parser"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        let why = format!("no dbt venv with dbt-artifacts-parser at `{}` (run scripts/dbt-venv.sh)", venv.display());
        assert!(std::env::var_os("RUNNER_REQUIRE_DBT_VENV").is_none(), "RUNNER_REQUIRE_DBT_VENV is set: {why}");
        println!("skipped: {why}");
        return None;
    }
    Some(python)
}

fn validate(python: &PathBuf, f: &Fixture) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/validate-artifacts.py");
    let out = Command::new(python).arg(script).arg(f.path().join("target")).output().expect("python runs");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "artifacts do not pass dbt's schemas:\n{said}");
}

#[test]
fn artifacts_of_a_build_pass_dbts_published_schemas() {
    let Some(python) = venv_python() else { return };
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\non-run-end: [\"select 1\"]\n");
    f.write(
        "models/staging/eph.sql",
        "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('stg_orders') }}\n",
    );
    f.write("models/marts/broken.sql", "{{ config(materialized='table') }}\nselect nope from {{ ref('eph') }}\n");
    f.write("models/marts/after_broken.sql", "select * from {{ ref('broken') }}\n");
    f.write(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: raw_orders\nexposures:\n  - name: weekly\n    type: dashboard\n    maturity: high\n    owner: {name: Jane, email: [j@x.com], slack: '#bi'}\n    depends_on:\n      - ref('customers')\n      - source('raw', 'raw_orders')\n      - ref('eph')\n",
    );
    f.write("models/marts/from_source.sql", "select * from {{ source('raw', 'raw_orders') }}\n");
    f.write("tests/always_fails.sql", "select 1 as x\n");
    f.write("macros/m.sql", "{% macro twice(x) %}({{ x }}) * 2{% endmacro %}\n");
    f.write(
        "models/unit.yml",
        "unit_tests:\n  - name: counts_orders\n    model: customers\n    given:\n      - input: ref('raw_customers')\n        rows: [{id: 1, name: Ann}]\n      - input: ref('stg_orders')\n        rows: [{order_id: 10, customer_id: 1, amount: 5}]\n    expect:\n      rows: [{customer_id: 1, orders: 1}]\n",
    );
    // Model versions: their nodes' `version`, `latest_version`, `deprecation_date`,
    // a versioned ref, a test per version and a unit test per version.
    f.write("models/marts/versioned_v1.sql", "select 1 as id\n");
    f.write("models/marts/versioned_v2.sql", "select 2 as id\n");
    f.write(
        "models/marts/reads_versions.sql",
        "select * from {{ ref('versioned') }} union all select * from {{ ref('versioned', v=1) }}\n",
    );
    f.write(
        "models/versions.yml",
        "models:\n  - name: versioned\n    latest_version: 2\n    columns:\n      - name: id\n        data_tests: [not_null]\n    versions:\n      - v: 1\n        deprecation_date: 2020-01-01\n      - v: 2\nunit_tests:\n  - name: versioned_ids\n    model: versioned\n    given: []\n    expect:\n      format: sql\n      rows: select 1 as id where false\n",
    );
    let r = f.run(&["build"]);
    assert_eq!(r.code, 1, "a model errors and a test fails: {}\n{}", r.stdout, r.stderr);
    for status in ["ERROR", "SKIP", "PASS", "FAIL", "OK"] {
        assert!(r.stdout.contains(status), "no {status} in:\n{}", r.stdout);
    }
    validate(&python, &f);
}
