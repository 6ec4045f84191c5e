//! Contracts, constraints and `persist_docs` through the real binary: a
//! failing contract's message (dbt's table of mismatches) and that nothing
//! was built; a contracted table's DDL (the property file's column order,
//! constraints DuckDB then enforces, the old table kept when they fail);
//! dbt's parse-time refusals as load errors naming file and line; dbt's
//! warnings; a foreign key ordering the build; comments on a snapshot and a
//! seed. Rows and statuses against real dbt are in `differential/contracts`.

mod common;
use common::{rejects, Fixture};

fn results(f: &Fixture) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(f.path().join("target/run_results.json")).expect("run_results.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or("").to_string();
            (field("unique_id"), field("status"), field("message"))
        })
        .collect()
}

fn project() -> Fixture {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("seeds/people.csv", "id,name,age\n1,ann,30\n2,bob,\n3,cy,41\n");
    f
}

const CONTRACTED: &str = "version: 2
models:
  - name: adults
    config:
      contract: {enforced: true}
    constraints:
      - type: check
        name: age_positive
        expression: age > 0
    columns:
      - name: name
        data_type: varchar
        constraints: [{type: unique}]
      - name: id
        data_type: integer
        constraints: [{type: primary_key}]
      - name: age
        data_type: integer
        constraints: [{type: not_null}]
";

#[test]
fn a_failing_contract_fails_its_model_with_dbts_table_and_builds_nothing() {
    let f = project();
    f.write("models/adults.sql", "{{ config(materialized='table') }}\nselect id, name, age from {{ ref('people') }}\n");
    let first = f.run(&["build"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    f.write("models/schema.yml", &CONTRACTED.replace("data_type: varchar", "data_type: bigint"));
    f.write(
        "models/adults.sql",
        "{{ config(materialized='table') }}\nselect id, name, age, 'x' as extra from {{ ref('people') }} where age is not null\n",
    );
    let r = f.run(&["run"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let table = "  | column_name | definition_type | contract_type | mismatch_reason     |
  | ----------- | --------------- | ------------- | ------------------- |
  | extra       | VARCHAR         |               | missing in contract |
  | name        | VARCHAR         | BIGINT        | data type mismatch  |";
    assert!(r.stdout.contains("Error in model adults (models/adults.sql)\n  This model has an enforced contract that failed.\n  Please ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.\n  \n"), "{}", r.stdout);
    assert!(r.stdout.contains(table), "{}", r.stdout);
    let res = results(&f);
    assert_eq!(res[0].1, "error", "{res:?}");
    assert!(res[0].2.starts_with("This model has an enforced contract that failed."), "{res:?}");
    // Checked before building: the table of the first run is untouched.
    assert_eq!(f.query("select count(*) from main.adults"), vec![vec!["3".to_string()]]);
}

#[test]
fn a_contracted_table_gets_its_columns_ddl_and_duckdb_enforces_its_constraints() {
    let f = project();
    f.write("models/schema.yml", CONTRACTED);
    f.write(
        "models/adults.sql",
        "{{ config(materialized='table') }}\nselect id, name, cast(age as integer) as age from {{ ref('people') }} where age is not null\n",
    );
    let r = f.run(&["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // The property file's order, not the query's.
    let cols = f.query(
        "select column_name from information_schema.columns where table_name = 'adults' order by ordinal_position",
    );
    assert_eq!(cols, vec![vec!["name".to_string()], vec!["id".into()], vec!["age".into()]]);
    let kinds = f.query("select constraint_type from duckdb_constraints() where table_name = 'adults' order by 1");
    let kinds: Vec<String> = kinds.into_iter().map(|r| r.join("")).collect();
    // A primary key is also not null, in DuckDB.
    assert_eq!(kinds, vec!["CHECK", "NOT NULL", "NOT NULL", "PRIMARY KEY", "UNIQUE"]);
    let ran = std::fs::read_to_string(f.path().join("target/run/shop/models/adults.sql")).expect("run sql");
    assert!(ran.contains("create or replace table \"warehouse\".\"main\".\"adults\" (\n    name varchar unique,\n    id integer primary key,\n    age integer not null,\n    constraint age_positive check (age > 0)\n)"), "{ran}");
    assert!(ran.contains("insert into \"warehouse\".\"main\".\"adults\" (name, id, age) ("), "{ran}");
    // A null age now breaks `not_null`: the model fails, the old table stays.
    f.write(
        "models/adults.sql",
        "{{ config(materialized='table') }}\nselect id, name, cast(age as integer) as age from {{ ref('people') }}\n",
    );
    let r = f.run(&["run"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Constraint Error: NOT NULL constraint failed: adults.age"), "{}", r.stdout);
    assert_eq!(f.query("select count(*) from main.adults"), vec![vec!["2".to_string()]]);
}

#[test]
fn a_contract_with_no_columns_or_types_fails_its_model_with_dbts_words() {
    let f = project();
    f.write("models/bare.sql", "{{ config(materialized='table', contract={'enforced': true}) }}\nselect 1 as id\n");
    f.write("models/untyped.sql", "{{ config(materialized='table') }}\nselect 1 as id, 2 as x\n");
    f.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: untyped\n    config:\n      contract: {enforced: true}\n    columns:\n      - name: id\n        data_type: int\n      - name: x\n",
    );
    let r = f.run(&["run"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("This model has an enforced contract, and its 'columns' specification is missing"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("defined within the YAML configuration for the ['x'] column(s)."), "{}", r.stdout);
}

#[test]
fn bad_constraints_and_contracts_are_load_errors_naming_file_and_line() {
    let cases: &[(&str, &[&str])] = &[
        (
            "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: id\n        constraints: [{type: nonsense}]\n",
            &["models/schema.yml:5", "model `m`: column `id`: invalid constraint type `nonsense`", "'foreign_key', 'custom'"],
        ),
        (
            "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: id\n        constraints: [{type: primary_key}]\n      - name: x\n        constraints: [{type: primary_key}]\n",
            &["models/schema.yml:3", "2 columns (`id`, `x`) have a primary key constraint", "model-level constraint"],
        ),
        (
            "version: 2\nmodels:\n  - name: m\n    config:\n      contract: {enforced: true}\n",
            &["models/schema.yml:3", "its contract is enforced, but its property entry lists no columns"],
        ),
        (
            "version: 2\nmodels:\n  - name: m\n    config:\n      materialized: incremental\n      contract: {enforced: true}\n    columns:\n      - name: id\n        data_type: int\n",
            &["must set `on_schema_change` to `append_new_columns` or `fail`, not `ignore`"],
        ),
        (
            "version: 2\nmodels:\n  - name: m\n    constraints:\n      - type: foreign_key\n        columns: [id]\n        to: ref('nowhere')\n        to_columns: [id]\n",
            &["models/schema.yml:4", "`to: ref('nowhere')` names nothing in the project"],
        ),
        ("version: 2\nmodels:\n  - name: m\n    config:\n      contract: true\n", &["`contract` must be a map like `{enforced: true}`"]),
        ("version: 2\nmodels:\n  - name: m\n    config:\n      persist_docs: true\n", &["`persist_docs` must be a map"]),
    ];
    for (yaml, needles) in cases {
        let f = project();
        f.write("models/m.sql", "select 1 as id, 2 as x\n");
        f.write("models/schema.yml", yaml);
        rejects(&f, &["run"], needles);
    }
}

#[test]
fn dbts_constraint_warnings_and_runners_name_what_has_no_effect() {
    let f = project();
    f.write("models/v.sql", "select 1 as id\n");
    f.write("models/loose.sql", "{{ config(materialized='table') }}\nselect 1 as id\n");
    f.write("models/t.sql", "{{ config(materialized='table') }}\nselect 1 as id\n");
    f.write(
        "models/schema.yml",
        "version: 2
models:
  - name: v
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null}]
  - name: loose
    columns:
      - name: id
        constraints: [{type: not_null}]
  - name: t
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: check}]
",
    );
    let r = f.run(&["run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("model `v`: Constraint types are not supported for view materializations and will be ignored."),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("model `loose`: its constraints have no effect without an enforced contract"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("model `t`: its `check` constraint is left out of the table's DDL: it has no `expression`"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("not supported yet"), "{}", r.stderr);
}

#[test]
fn a_foreign_key_makes_its_model_wait_for_the_table_it_references() {
    let f = project();
    f.write("models/a_child.sql", "{{ config(materialized='table') }}\nselect 1 as parent_id\n");
    f.write("models/z_parent.sql", "{{ config(materialized='table') }}\nselect 1 as id\n");
    f.write(
        "models/schema.yml",
        "version: 2
models:
  - name: z_parent
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: primary_key}]
  - name: a_child
    config:
      contract: {enforced: true}
    columns:
      - name: parent_id
        data_type: integer
        constraints:
          - type: foreign_key
            to: ref('z_parent')
            to_columns: [id]
",
    );
    let r = f.run(&["run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let parent = r.stdout.find("START sql table model main.z_parent").expect("parent ran");
    let child = r.stdout.find("START sql table model main.a_child").expect("child ran");
    assert!(parent < child, "{}", r.stdout);
    let refs = f.query("select referenced_table from duckdb_constraints() where constraint_type = 'FOREIGN KEY'");
    assert_eq!(refs, vec![vec!["z_parent".to_string()]]);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path().join("target/manifest.json")).expect("manifest"))
            .expect("json");
    let child = &manifest["nodes"]["model.shop.a_child"];
    assert_eq!(child["depends_on"]["nodes"], serde_json::json!(["model.shop.z_parent"]));
    assert_eq!(child["contract"]["enforced"], true);
    assert_eq!(child["columns"]["parent_id"]["data_type"], "integer");
    assert_eq!(child["columns"]["parent_id"]["constraints"][0]["to"], "ref('z_parent')");
}

#[test]
fn persist_docs_comments_a_snapshot_and_warns_of_a_column_the_seed_lacks() {
    let f = project();
    f.write(
        "snapshots/people_snap.sql",
        "{% snapshot people_snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect * from {{ ref('people') }}\n{% endsnapshot %}\n",
    );
    f.write(
        "seeds/schema.yml",
        "version: 2
seeds:
  - name: people
    config:
      persist_docs: {columns: true}
    columns:
      - name: name
        description: first name
      - name: nickname
        description: not in the file
",
    );
    f.write(
        "snapshots/schema.yml",
        "version: 2
snapshots:
  - name: people_snap
    description: \"{{ 'history' | upper }} of people\"
    config:
      persist_docs: {relation: true, columns: true}
    columns:
      - name: age
        description: in years
",
    );
    let r = f.run(&["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("[WARNING]: In relation \"warehouse\".\"main\".\"people\": The following columns are specified in the schema but are not present in the database: nickname"),
        "{}",
        r.stdout
    );
    let tables = f.query("select table_name, coalesce(comment, 'NULL') from duckdb_tables() order by 1");
    assert_eq!(
        tables,
        vec![vec!["people".to_string(), "NULL".into()], vec!["people_snap".into(), "HISTORY of people".into()]]
    );
    let cols = f
        .query("select table_name, column_name, comment from duckdb_columns() where comment is not null order by 1, 2");
    assert_eq!(
        cols,
        vec![
            vec!["people".to_string(), "name".into(), "first name".into()],
            vec!["people_snap".into(), "age".into(), "in years".into()]
        ]
    );
    assert!(!r.stderr.contains("persist_docs"), "{}", r.stderr);
}

/// A project whose contracts touch every part of dbt's checksum text.
const CHECKSUMMED: &str = "version: 2
models:
  - name: adults
    config:
      contract: {enforced: true}
    constraints:
      - type: check
        name: \"it's positive\"
        expression: age > 0
      - type: foreign_key
        columns: [id]
        to: ref('people')
        to_columns: [id]
    columns:
      - name: name
        data_type: varchar
        constraints: [{type: unique, warn_unenforced: false}]
      - name: id
        data_type: integer
        constraints: [{type: primary_key}, {type: not_null}]
      - name: Age
        data_type: int
  - name: adults_view
    config:
      materialized: view
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null, warn_unsupported: false}]
      - name: untyped
  - name: growing
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: bigint
  - name: loose
    columns:
      - name: id
        data_type: integer
  - name: orders
    latest_version: 2
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
      - name: amount
        data_type: decimal(10,2)
        constraints: [{type: check, expression: amount >= 0}]
    versions:
      - v: 1
        columns:
          - include: all
            exclude: [amount]
      - v: 2
";

#[test]
fn the_manifests_contract_checksum_is_dbts() {
    let Some(python) = common::venv_python() else { return };
    let f = project();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\nversion: '1.0.0'\nconfig-version: 2\n");
    f.write("models/schema.yml", CHECKSUMMED);
    f.write(
        "models/adults.sql",
        "{{ config(materialized='table') }}\nselect id, name, age as \"Age\" from {{ ref('people') }}\n",
    );
    f.write("models/adults_view.sql", "select id, 1 as untyped from {{ ref('people') }}\n");
    f.write(
        "models/growing.sql",
        "{{ config(materialized='incremental', on_schema_change='append_new_columns') }}\nselect id::bigint as id from {{ ref('people') }}\n",
    );
    f.write("models/loose.sql", "select 1 as id\n");
    f.write("models/orders_v1.sql", "{{ config(materialized='table') }}\nselect 1 as id\n");
    f.write(
        "models/orders_v2.sql",
        "{{ config(materialized='table') }}\nselect 1 as id, 1.5::decimal(10,2) as amount\n",
    );
    let r = f.run(&["compile"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let ours = manifest_contracts(&f.path().join("target/manifest.json"));
    let theirs_dir = tempfile::tempdir().expect("tempdir");
    for dir in ["models", "seeds"] {
        std::fs::create_dir_all(theirs_dir.path().join(dir)).expect("mkdir");
        for e in std::fs::read_dir(f.path().join(dir)).expect("read").flatten() {
            std::fs::copy(e.path(), theirs_dir.path().join(dir).join(e.file_name())).expect("copy");
        }
    }
    for file in ["dbt_project.yml", "profiles.yml"] {
        std::fs::copy(f.path().join(file), theirs_dir.path().join(file)).expect("copy");
    }
    let dbt = python.with_file_name("dbt");
    let out = std::process::Command::new(dbt)
        .args(["parse", "--profiles-dir", ".", "--project-dir", "."])
        .current_dir(theirs_dir.path())
        .env_remove("DUCKDB_DATABASE_PATH")
        .output()
        .expect("dbt runs");
    assert!(out.status.success(), "dbt parse: {}", String::from_utf8_lossy(&out.stdout));
    let theirs = manifest_contracts(&theirs_dir.path().join("target/manifest.json"));
    assert_eq!(ours, theirs);
    let with_sum = theirs.values().filter(|c| !c["checksum"].is_null()).count();
    assert_eq!(with_sum, 5, "every enforced contract has one: {theirs:?}");
}

/// Each model's `contract` in a manifest, by unique id.
fn manifest_contracts(path: &std::path::Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("manifest")).expect("json");
    let nodes = doc["nodes"].as_object().expect("nodes");
    nodes.iter().filter(|(id, _)| id.starts_with("model.")).map(|(id, n)| (id.clone(), n["contract"].clone())).collect()
}
