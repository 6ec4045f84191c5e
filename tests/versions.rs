//! Model versions through the real binary: relation names without naming
//! macros (`<model>_v<v>`, a dotted version's dots as `_`, `alias:` per
//! version, the latest defined in `<model>.sql`), dbt's errors for refs to
//! versions that do not exist (exit 2, file and line, nothing touched),
//! its warnings (a version with no file, deprecation dates) and note (an
//! unpinned ref with a newer prerelease), selection by version and the
//! manifest's fields. Rows and statuses against real dbt are the
//! differential case `differential/versions`.

mod common;
use common::{rejects, Fixture};
use serde_json::Value;

const PROPS: &str = "version: 2
models:
  - name: orders
    latest_version: 2
    columns:
      - name: id
        data_tests: [not_null]
      - name: status
    versions:
      - v: 1
        deprecation_date: 2020-01-01
        columns:
          - include: all
            exclude: [status]
      - v: 2
        config:
          alias: orders_current
      - v: 2.5
        deprecation_date: 2999-12-31
";

/// A project `shop` with three versions of `orders` (v2 the latest, v2.5 a
/// prerelease) and `report`, reading the latest and version 1.
fn versioned() -> Fixture {
    let f = Fixture::new();
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\nmodels:\n  shop:\n    orders:\n      +materialized: table\n",
    );
    f.write("models/orders_v1.sql", "select 1 as id\n");
    f.write("models/orders_v2.sql", "select 2 as id, 'new' as status\n");
    f.write("models/orders_v2.5.sql", "select 3 as id, 'next' as status\n");
    f.write(
        "models/report.sql",
        "select * from {{ ref('orders') }} union all select id, 'old' from {{ ref('orders', v=1) }}\n",
    );
    f.write("models/schema.yml", PROPS);
    f
}

fn manifest(f: &Fixture) -> Value {
    let text = std::fs::read_to_string(f.path().join("target/manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("json")
}

fn ls(f: &Fixture, args: &[&str]) -> Vec<String> {
    let mut all = vec!["ls"];
    all.extend_from_slice(args);
    let r = f.run(&all);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let mut lines: Vec<String> = r.stdout.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn versions_are_built_as_dbt_names_them_and_refs_find_them() {
    let f = versioned();
    let r = f.run(&["run"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let tables =
        f.query("select table_name, table_type from information_schema.tables where table_schema = 'main' order by 1");
    assert_eq!(
        tables,
        vec![
            vec!["orders_current".to_string(), "BASE TABLE".to_string()],
            vec!["orders_v1".to_string(), "BASE TABLE".to_string()],
            vec!["orders_v2_5".to_string(), "BASE TABLE".to_string()],
            vec!["report".to_string(), "VIEW".to_string()],
        ],
        "the project tree reaches every version through its fqn; a dotted version's alias uses `_`"
    );
    // The unpinned ref is the latest version (2), not the greatest (2.5).
    assert_eq!(f.query("select id, status from report order by 1"), vec![vec!["1", "old"], vec!["2", "new"]]);
    assert!(r.stdout.contains("sql table model main.orders_v1"), "{}", r.stdout);
}

#[test]
fn deprecations_are_warned_and_a_prerelease_is_noted_as_dbt_does() {
    let f = versioned();
    let r = f.run(&["run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("models/schema.yml:10: model `orders.v1` has passed its deprecation date of 2020-01-01T00:00:00"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("models/report.sql: while compiling `report`: found a reference to `orders.v1`, which was deprecated on 2020-01-01T00:00:00"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("migrate now: `{{ ref('shop', 'orders', v='2') }}`"), "{}", r.stderr);
    // v2.5 is slated for deprecation but nothing reads it: no warning for it.
    assert!(!r.stderr.contains("orders.v2.5"), "{}", r.stderr);
    assert!(
        r.stderr.contains("models/report.sql: while compiling `report`: found an unpinned reference to versioned model `orders` in project `shop`; resolving to latest version `orders.v2`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("a prerelease version 2.5 is available"), "{}", r.stderr);
    // `ls` compiles nothing: dbt logs the note only while compiling.
    let r = f.run(&["ls"]);
    assert!(!r.stderr.contains("note:"), "{}", r.stderr);
    // A reference to a version slated for deprecation is its own warning.
    f.write("models/early.sql", "select * from {{ ref('orders', v='2.5') }}\n");
    let r = f.run(&["ls"]);
    assert!(
        r.stderr.contains("found a reference to `orders.v2.5`, which is slated for deprecation on 2999-12-31T00:00:00"),
        "{}",
        r.stderr
    );
}

#[test]
fn selection_and_ls_follow_dbt_for_versions() {
    let f = versioned();
    let models = |sel: &str| ls(&f, &["--select", sel, "--resource-type", "model"]);
    let all = vec!["shop.orders.v1", "shop.orders.v2", "shop.orders.v2.5"];
    assert_eq!(models("orders"), all);
    assert_eq!(models("orders.v1"), vec!["shop.orders.v1"]);
    assert_eq!(models("orders_v2"), vec!["shop.orders.v2"]);
    // As in dbt, dots split the fqn's parts: `orders.v2` is a prefix of `orders.v2.5`.
    assert_eq!(models("shop.orders.v2"), vec!["shop.orders.v2", "shop.orders.v2.5"]);
    assert!(models("orders_v2.5").is_empty());
    assert_eq!(models("version:latest"), vec!["shop.orders.v2"]);
    assert_eq!(models("version:old"), vec!["shop.orders.v1"]);
    assert_eq!(models("version:prerelease"), vec!["shop.orders.v2.5"]);
    assert_eq!(models("version:none"), vec!["shop.report"]);
    assert!(models("v1").is_empty());
    // Tests of a version come with it; they are named after it.
    assert_eq!(ls(&f, &["--select", "orders.v1", "--resource-type", "test"]), vec!["shop.not_null_orders_v1_id"]);
    assert_eq!(
        ls(&f, &["--resource-type", "model", "--output", "name"]),
        vec!["orders.v1", "orders.v2", "orders.v2.5", "report"]
    );
    let r = f.run(&["ls", "--select", "version:newest"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("invalid version type selector `newest`"), "{}", r.stderr);
}

#[test]
fn the_manifest_has_dbt_fields_for_versions() {
    let f = versioned();
    assert_eq!(f.run(&["ls"]).code, 0);
    let m = manifest(&f);
    let v1 = &m["nodes"]["model.shop.orders.v1"];
    assert_eq!(v1["name"], "orders");
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["latest_version"], 2);
    assert_eq!(v1["fqn"], serde_json::json!(["shop", "orders", "v1"]));
    assert_eq!(v1["alias"], "orders_v1");
    assert!(v1["deprecation_date"].as_str().is_some_and(|d| d.starts_with("2020-01-01T00:00:00")), "{v1}");
    assert_eq!(v1["columns"].as_object().map(|c| c.keys().cloned().collect::<Vec<_>>()), Some(vec!["id".to_string()]));
    let v25 = &m["nodes"]["model.shop.orders.v2.5"];
    assert_eq!(
        (v25["version"].clone(), v25["alias"].clone()),
        (serde_json::json!(2.5), serde_json::json!("orders_v2_5"))
    );
    assert_eq!(m["nodes"]["model.shop.orders.v2"]["alias"], "orders_current");
    assert_eq!(m["nodes"]["model.shop.orders.v2"]["deprecation_date"], Value::Null);
    let report = &m["nodes"]["model.shop.report"];
    assert_eq!(
        report["refs"],
        serde_json::json!([
            {"name": "orders", "package": null, "version": null},
            {"name": "orders", "package": null, "version": 1}
        ])
    );
    assert_eq!(report["depends_on"]["nodes"], serde_json::json!(["model.shop.orders.v2", "model.shop.orders.v1"]));
    assert_eq!(report["version"], Value::Null);
    let test = m["nodes"]
        .as_object()
        .expect("nodes")
        .iter()
        .find(|(id, _)| id.starts_with("test.shop.not_null_orders_v1_id."))
        .map(|(_, t)| t.clone())
        .expect("the version's test");
    assert_eq!(test["attached_node"], "model.shop.orders.v1");
    assert_eq!(test["refs"], serde_json::json!([{"name": "orders", "package": null, "version": 1}]));
}

#[test]
fn the_latest_version_may_live_in_the_models_own_file() {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("models/m.sql", "select 2 as id\n");
    f.write("models/m_old.sql", "select 1 as id\n");
    f.write(
        "models/schema.yml",
        "models:\n  - name: m\n    versions:\n      - v: 1\n        defined_in: m_old\n      - v: 2\n",
    );
    let r = f.run(&["run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("main.m_v1") && r.stdout.contains("main.m_v2"), "{}", r.stdout);
    assert_eq!(ls(&f, &["--output", "path", "--select", "m.v2"]), vec!["models/m.sql"]);
}

#[test]
fn a_version_with_no_file_is_warned_and_its_tests_dropped() {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("models/m_v1.sql", "select 1 as id\n");
    f.write(
        "models/schema.yml",
        "models:\n  - name: m\n    latest_version: 1\n    columns:\n      - name: id\n        data_tests: [unique]\n    versions:\n      - v: 1\n      - v: 2\n",
    );
    let r = f.run(&["build"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("models/schema.yml:9: did not find a node named `m_v2` for version `2` of model `m`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("test `unique` depends on a node named `m.v2`, which was not found"), "{}", r.stderr);
    assert!(r.stdout.contains("PASS unique_m_v1_id"), "{}", r.stdout);
}

/// A project whose `report` model reads `ref` as written in `call`.
fn reading(call: &str, props: &str) -> Fixture {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("models/m_v1.sql", "select 1 as id\n");
    f.write("models/m_v2.sql", "select 2 as id\n");
    f.write("models/plain.sql", "select 3 as id\n");
    f.write("models/report.sql", &format!("-- reads\nselect * from {{{{ {call} }}}}\n"));
    f.write("models/schema.yml", props);
    f
}

const TWO: &str = "models:\n  - name: m\n    versions:\n      - v: 1\n      - v: 2\n";

#[test]
fn refs_to_versions_that_do_not_exist_are_dbt_errors_naming_the_line() {
    let f = reading("ref('m', v=7)", TWO);
    rejects(
        &f,
        &["run"],
        &[
            "models/report.sql:2: unknown ref `ref('m', v=7)`: model `m` has no version `7`",
            "its versions are `1`, `2`",
        ],
    );
    let f = reading("ref('plain', version='2')", TWO);
    rejects(
        &f,
        &["run"],
        &["models/report.sql:2: unknown ref `ref('plain', v='2')`: `plain` is not a versioned model"],
    );
    // Declared, with no file; or with its file disabled.
    let f = reading(
        "ref('m', v=3)",
        "models:\n  - name: m\n    latest_version: 2\n    versions:\n      - v: 1\n      - v: 2\n      - v: 3\n",
    );
    rejects(
        &f,
        &["run"],
        &["unknown ref `ref('m', v=3)`: version `3` of model `m` is not built: no file defines it", "add `m_v3.sql`"],
    );
    let f = reading("ref('m', v=2)", TWO);
    f.write("models/m_v2.sql", "{{ config(enabled=false) }}\nselect 2 as id\n");
    rejects(&f, &["run"], &["version `2` of model `m` is not built: its file `m_v2.sql` is disabled"]);
    // The latest version (2) has no file: an unpinned ref finds nothing.
    let f = reading("ref('m')", TWO);
    f.remove("models/m_v2.sql");
    rejects(&f, &["run"], &["unknown ref `ref('m')`: the latest version of model `m` has no file", "`m_v2.sql`"]);
    // A model named like a versioned one that no version claims.
    let f = reading("ref('m', v=1)", TWO);
    f.write("models/m.sql", "select 0 as id\n");
    rejects(&f, &["run"], &["models/m.sql: dbt found versioned and unversioned models with the name `m`"]);
}

#[test]
fn bad_version_entries_are_load_errors_at_their_line() {
    let f =
        reading("ref('m')", "models:\n  - name: m\n    latest_version: 3\n    versions:\n      - v: 1\n      - v: 2\n");
    rejects(&f, &["run"], &["models/schema.yml:2: model `m`: `latest_version: 3` is not one of its versions: 1, 2"]);
    let f = reading(
        "ref('m')",
        "models:\n  - name: m\n    versions:\n      - v: 1\n        columns:\n          - include: [id]\n            exclude: [id]\n      - v: 2\n",
    );
    rejects(&f, &["run"], &["models/schema.yml:4: model `m`: version `1`: `exclude` can only be specified if `include` is one of `all` or `*`"]);
    let f = reading("ref('m')", "models:\n  - name: m\n    versions:\n      - v: 1\n        meta: {a: 1}\n");
    rejects(&f, &["run"], &["models/schema.yml", "meta"]);
    let f = reading("ref('m')", &format!("{TWO}unit_tests:\n  - name: t\n    model: plain\n    versions:\n      include: [1]\n    given: []\n    expect:\n      rows: [{{id: 3}}]\n"));
    rejects(
        &f,
        &["run"],
        &["unit test `t` should not have a versions include or exclude when referencing non-versioned model `plain`"],
    );
}
