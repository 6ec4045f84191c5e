//! Snapshots through the real binary: `runner snapshot` taken twice and
//! across changing data, a snapshot failing midway (its transaction rolls
//! back, the history stays), bad configs refused at load (exit 2 with file
//! and line, before the database exists), a snapshot taken inside a DAG run
//! with its tests, and snapshots in `build`, `ls` and the manifest. The
//! differential case `differential/snapshots` checks every row against dbt.

mod common;
use common::{ok, rejects, select, Fixture};

/// A source view whose rows depend on `v`: on 1, ids 1 and 2; on 2, id 1
/// updated and id 3 new (id 2 gone).
const SOURCE: &str = "{{ config(materialized='view') }}\n\
    {% if var('v') == 1 %}select 1 as id, 'a' as name, timestamp '2024-01-01' as updated_at\n\
    union all select 2, 'b', timestamp '2024-01-01'\n\
    {% else %}select 1 as id, 'A' as name, timestamp '2024-01-02' as updated_at\n\
    union all select 3, 'c', timestamp '2024-01-02'{% endif %}\n";

const SNAPSHOT: &str = "{% snapshot hist %}\n\
    {{ config(strategy='timestamp', unique_key='id', updated_at='updated_at', invalidate_hard_deletes=true) }}\n\
    select * from {{ ref('src') }}\n\
    {% endsnapshot %}\n";

fn project() -> Fixture {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: snap\nprofile: shop\nvars:\n  v: 1\n");
    f.write("models/src.sql", SOURCE);
    f.write("snapshots/hist.sql", SNAPSHOT);
    f
}

/// The snapshot's history: id, name, valid from, and whether it is current.
fn history(f: &Fixture) -> Vec<String> {
    select(
        f,
        "select id, name, cast(dbt_valid_from as varchar), dbt_valid_to is null from main.hist order by id, dbt_valid_from",
    )
}

#[test]
fn runner_snapshot_twice_keeps_the_history_and_adds_changes() {
    let f = project();
    ok(&f.run(&["run"]));
    let first = f.run(&["snapshot"]);
    ok(&first);
    assert!(first.stdout.contains("START snapshot main.hist"), "{}", first.stdout);
    assert!(first.stdout.contains("OK snapshotted main.hist"), "{}", first.stdout);
    // `snapshot` runs only snapshots: the model was not rebuilt.
    assert!(!first.stdout.contains("model main.src"), "{}", first.stdout);
    let day1 = vec!["1|a|2024-01-01 00:00:00|true", "2|b|2024-01-01 00:00:00|true"];
    assert_eq!(history(&f), day1);
    // Nothing changed: a second snapshot adds nothing.
    ok(&f.run(&["snapshot"]));
    assert_eq!(history(&f), day1);
    ok(&f.run(&["run", "--vars", "{v: 2}"]));
    // Excluded, it is not taken: the history stays as it was.
    let excluded = f.run(&["snapshot", "--vars", "{v: 2}", "--exclude", "resource_type:snapshot"]);
    ok(&excluded);
    assert!(!excluded.stdout.contains("snapshotted"), "{}", excluded.stdout);
    assert_eq!(history(&f), day1);
    ok(&f.run(&["snapshot", "--vars", "{v: 2}", "--select", "hist"]));
    assert_eq!(
        history(&f),
        vec![
            "1|a|2024-01-01 00:00:00|false",
            "1|A|2024-01-02 00:00:00|true",
            // Deleted from the source: closed (`invalidate_hard_deletes`).
            "2|b|2024-01-01 00:00:00|false",
            "3|c|2024-01-02 00:00:00|true",
        ]
    );
    // The closed version ends where the new one begins; hashes are dbt's.
    assert_eq!(
        select(
            &f,
            "select cast(dbt_valid_to as varchar), dbt_scd_id = md5('1|2024-01-01 00:00:00') from main.hist where id = 1 and name = 'a'"
        ),
        vec!["2024-01-02 00:00:00|true"]
    );
    // dbt's meta column types.
    assert_eq!(
        select(
            &f,
            "select column_name || ' ' || data_type from information_schema.columns where table_name = 'hist' order by ordinal_position"
        ),
        vec![
            "id INTEGER",
            "name VARCHAR",
            "updated_at TIMESTAMP",
            "dbt_scd_id VARCHAR",
            "dbt_updated_at TIMESTAMP",
            "dbt_valid_from TIMESTAMP",
            "dbt_valid_to TIMESTAMP",
        ]
    );
    let results = std::fs::read_to_string(f.path().join("target/run_results.json")).expect("run_results");
    assert!(
        results.contains("\"unique_id\":\"snapshot.snap.hist\"")
            || results.contains("\"unique_id\": \"snapshot.snap.hist\"")
    );
    // No staging table is left behind.
    assert!(select(&f, "select table_name from duckdb_tables() where table_name like '%dbt_tmp%'").is_empty());
}

#[test]
fn a_snapshot_failing_midway_keeps_the_previous_history() {
    let f = project();
    // The post-hook runs inside the snapshot's transaction, after the
    // versions were closed and inserted: failing there is failing midway.
    f.write(
        "snapshots/hist.sql",
        "{% snapshot hist %}\n\
         {{ config(strategy='timestamp', unique_key='id', updated_at='updated_at', invalidate_hard_deletes=true,\n\
                   post_hook=\"select case when {{ var('v') }} = 2 then error('midway') end\") }}\n\
         select * from {{ ref('src') }}\n\
         {% endsnapshot %}\n",
    );
    ok(&f.run(&["run"]));
    ok(&f.run(&["snapshot"]));
    let before = history(&f);
    ok(&f.run(&["run", "--vars", "{v: 2}"]));
    let failed = f.run(&["snapshot", "--vars", "{v: 2}"]);
    assert_eq!(failed.code, 1, "stdout:\n{}\nstderr:\n{}", failed.stdout, failed.stderr);
    assert!(failed.stdout.contains("ERROR snapshotting main.hist"), "{}", failed.stdout);
    assert!(format!("{}{}", failed.stdout, failed.stderr).contains("midway"), "{}", failed.stdout);
    assert_eq!(history(&f), before, "the failed snapshot's changes were rolled back");
    assert!(select(&f, "select table_name from duckdb_tables() where table_name like '%dbt_tmp%'").is_empty());
    // A query that fails while staging leaves it as it was too.
    f.write("models/src.sql", "select 1 as id, 'x' as name, cast('not a time' as timestamp) as updated_at");
    ok(&f.run(&["run"]));
    assert_eq!(f.run(&["snapshot"]).code, 1);
    assert_eq!(history(&f), before);
}

#[test]
fn bad_configs_are_load_errors_naming_file_and_line() {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: snap\nprofile: shop\n");
    f.write("models/src.sql", "select 1 as id");
    f.write(
        "snapshots/bad.sql",
        "{% snapshot keyless %}\n{{ config(strategy='check', check_cols='all') }}\nselect * from {{ ref('src') }}\n{% endsnapshot %}\n\n\
         {% snapshot clockless %}\n{{ config(\n    strategy='timestamp',\n    unique_key='id'\n) }}\nselect 1 as id\n{% endsnapshot %}\n",
    );
    f.write(
        "snapshots/props.yml",
        "version: 2\nsnapshots:\n  - name: custom\n    relation: ref('src')\n    config:\n      strategy: newest\n      unique_key: id\n      hard_deletes: sometimes\n",
    );
    rejects(
        &f,
        &["snapshot"],
        &[
            "snapshots/bad.sql:1: snapshot `keyless`: Snapshots must be configured with a 'strategy' and 'unique_key'.",
            "snapshots/bad.sql:6: snapshot `clockless`: A snapshot configured with the timestamp strategy must specify an updated_at configuration.",
            // A custom strategy loads (its macro is looked up when it runs,
            // see tests/snapshot_strategies.rs); a bad value beside it does not.
            "snapshots/props.yml:3: snapshot `custom`: Invalid setting for property hard_deletes.",
            "(hint: ",
        ],
    );
    // `build` and DAG runs load the same project: refused the same way.
    rejects(&f, &["build"], &["Invalid setting for property hard_deletes."]);
    f.write("snapshots/bad.sql", "{% snapshot open %}\nselect 1\n");
    f.remove("snapshots/props.yml");
    rejects(&f, &["snapshot"], &["snapshots/bad.sql:1: snapshot `open` has no `{% endsnapshot %}`"]);
}

#[test]
fn a_dag_run_takes_the_snapshot_it_selects_and_tests_it() {
    let f = project();
    f.write(
        "snapshots/props.yml",
        "version: 2\nsnapshots:\n  - name: hist\n    columns:\n      - name: dbt_scd_id\n        data_tests: [unique, not_null]\n",
    );
    f.write(
        "models/current.sql",
        "{{ config(materialized='table') }}\nselect id, name from {{ ref('hist') }} where dbt_valid_to is null\n",
    );
    f.write(
        "dags/snap_dag.yml",
        "dag_id: snap_dag\nschedule: \"@daily\"\nstart_date: 2025-01-01\nprofile: shop\nselect: [\"+current\"]\ntest_behavior: after_each\n",
    );
    let r = f.run(&["run", "snap_dag"]);
    ok(&r);
    let order: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains(" OK ") || l.contains(" PASS "))
        .map(|l| {
            if l.contains("model main.src") {
                "src"
            } else if l.contains("snapshotted main.hist") {
                "hist"
            } else if l.contains("model main.current") {
                "current"
            } else {
                "test"
            }
        })
        .collect();
    assert_eq!(order, vec!["src", "hist", "test", "test", "current"], "{}", r.stdout);
    assert_eq!(select(&f, "select id, name from main.current order by id"), vec!["1|a", "2|b"]);
    let tasks = f.run(&["runs", "snap_dag", "--output", "json"]);
    ok(&tasks);
    assert!(tasks.stdout.contains("success"), "{}", tasks.stdout);
}

#[test]
fn build_orders_snapshots_between_parents_and_children_and_ls_lists_them() {
    let f = project();
    // A post-hook from the project's `snapshots:` tree runs with the snapshot's `this`.
    f.write(
        "dbt_project.yml",
        "name: snap\nprofile: shop\nvars:\n  v: 1\nsnapshots:\n  snap:\n    +post-hook: \"create or replace table main.audit as select count(*) as n from {{ this }}\"\n",
    );
    f.write("models/current.sql", "select id, name from {{ ref('hist') }} where dbt_valid_to is null\n");
    let r = f.run(&["build"]);
    ok(&r);
    assert_eq!(select(&f, "select n from main.audit"), vec!["2"]);
    let at = |needle: &str| r.stdout.find(needle).unwrap_or_else(|| panic!("`{needle}` in:\n{}", r.stdout));
    assert!(at("OK created sql view model main.src") < at("OK snapshotted main.hist"));
    assert!(at("OK snapshotted main.hist") < at("OK created sql view model main.current"));
    // `resource_type:snapshot` and the fqn (project, file stem, name) select it.
    let ls = f.run(&["ls", "--select", "resource_type:snapshot"]);
    ok(&ls);
    assert_eq!(ls.stdout.trim(), "snap.hist.hist");
    let ls = f.run(&["ls", "--resource-type", "snapshot", "--output", "name"]);
    ok(&ls);
    assert_eq!(ls.stdout.trim(), "hist");
    let manifest = std::fs::read_to_string(f.path().join("target/manifest.json")).expect("manifest");
    let doc: serde_json::Value = serde_json::from_str(&manifest).expect("json");
    let node = &doc["nodes"]["snapshot.snap.hist"];
    assert_eq!(node["resource_type"], "snapshot");
    assert_eq!(node["config"]["strategy"], "timestamp");
    assert_eq!(node["config"]["materialized"], "snapshot");
    assert_eq!(node["depends_on"]["nodes"], serde_json::json!(["model.snap.src"]));
    // dbt's `raw_code` is the block's body as written.
    let body = SNAPSHOT.trim_start_matches("{% snapshot hist %}").trim_end().trim_end_matches("{% endsnapshot %}");
    assert_eq!(node["raw_code"], body);
    assert_eq!(doc["child_map"]["snapshot.snap.hist"], serde_json::json!(["model.snap.current"]));
    // `run` runs models only: the snapshot is not taken again.
    let run = f.run(&["run"]);
    ok(&run);
    assert!(!run.stdout.contains("snapshot"), "{}", run.stdout);
}
