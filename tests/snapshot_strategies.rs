//! Snapshot strategies named by macros, through the real binary: a strategy
//! with no `snapshot_<name>_strategy` macro loads and fails only its own
//! snapshot when it runs, with dbt's message naming the file; a package's
//! strategy macro (by its plain name from the package's own snapshot, as
//! `package.name` from the root's) calling `run_query` on the node's
//! connection; the root project's override of `snapshot_timestamp_strategy`
//! built on dbt's own; a strategy macro that fails or returns no dict. The
//! differential case `differential/snapshot_strategy` checks every row
//! against dbt.

mod common;
use common::{ok, select, Fixture};

/// On 1, ids 1 and 2; on 2, id 1 renamed (and stamped later), id 2 gone, id 3 new.
const SOURCE: &str = "{{ config(materialized='view') }}\n\
    {% if var('v') == 1 %}select 1 as id, 'a' as name, timestamp '2024-01-01' as updated_at\n\
    union all select 2, 'b', timestamp '2024-01-01'\n\
    {% else %}select 1 as id, 'A' as name, timestamp '2024-01-02' as updated_at\n\
    union all select 3, 'c', timestamp '2024-01-02'{% endif %}\n";

fn snapshot(name: &str, config: &str) -> String {
    format!("{{% snapshot {name} %}}\n{{{{ config({config}) }}}}\nselect * from {{{{ ref('src') }}}}\n{{% endsnapshot %}}\n")
}

/// A snapshot's history: id, name, valid from, and whether it is current.
fn history(f: &Fixture, table: &str) -> Vec<String> {
    select(
        f,
        &format!(
            "select id, name, cast(dbt_valid_from as varchar), dbt_valid_to is null from main.{table} order by id, dbt_valid_from"
        ),
    )
}

#[test]
fn a_strategy_without_a_macro_fails_its_snapshot_when_it_runs() {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: snap\nprofile: shop\nvars:\n  v: 1\n");
    f.write("models/src.sql", SOURCE);
    f.write("snapshots/good.sql", &snapshot("good", "strategy='timestamp', unique_key='id', updated_at='updated_at'"));
    f.write(
        "snapshots/bad.sql",
        &format!(
            "{}\n{}",
            snapshot("unknown", "strategy='newest', unique_key='id'"),
            snapshot("elsewhere", "strategy='nopkg.newest', unique_key='id'")
        ),
    );
    // dbt looks for the macro only when the snapshot runs: the project loads.
    let ls = f.run(&["ls", "--resource-type", "snapshot", "--output", "name"]);
    ok(&ls);
    assert_eq!(ls.stdout.lines().collect::<Vec<_>>(), vec!["elsewhere", "good", "unknown"]);
    ok(&f.run(&["run"]));
    let r = f.run(&["snapshot"]);
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK snapshotted main.good"), "{}", r.stdout);
    assert!(r.stdout.contains("ERROR snapshotting main.unknown"), "{}", r.stdout);
    let unknown = "Error in snapshot unknown (snapshots/bad.sql)\n  \
                   The specified strategy macro 'newest' was not found in package 'None' \
                   (hint: define `snapshot_newest_strategy(node, snapshotted_rel, current_rel, model_config, target_exists)` in `macros/`";
    assert!(r.stdout.contains(unknown), "{}", r.stdout);
    let elsewhere = "Error in snapshot elsewhere (snapshots/bad.sql)\n  \
                     Could not find package 'nopkg', called with 'nopkg.newest'";
    assert!(r.stdout.contains(elsewhere), "{}", r.stdout);
    // Nothing was built for them; the other snapshot was taken.
    let tables = select(&f, "select table_name from duckdb_tables() order by all");
    assert_eq!(tables, vec!["good"]);
    let results = std::fs::read_to_string(f.path().join("target/run_results.json")).expect("run_results");
    let doc: serde_json::Value = serde_json::from_str(&results).expect("json");
    let status: Vec<(String, String)> = doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| (r["unique_id"].as_str().unwrap_or("").to_string(), r["status"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(status.contains(&("snapshot.snap.unknown".into(), "error".into())), "{status:?}");
    assert!(status.contains(&("snapshot.snap.good".into(), "success".into())), "{status:?}");
}

/// The package `strats` in `pkg/`: a strategy comparing the column a
/// query names (asked with `run_query` while the snapshot runs), and a
/// snapshot of its own naming it plainly.
fn write_package(f: &Fixture) {
    f.write("pkg/dbt_project.yml", "name: strats\nversion: '1.0'\nconfig-version: 2\n");
    f.write(
        "pkg/macros/seq.sql",
        "{% macro snapshot_seq_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}\n\
         {%- set col = run_query(\"select 'name' as c\").columns[0].values()[0] -%}\n\
         {%- set s = {'unique_key': config.get('unique_key'), 'updated_at': 'updated_at'} -%}\n\
         {%- do s.update({'row_changed': snapshotted_rel ~ '.' ~ col ~ ' != ' ~ current_rel ~ '.' ~ col}) -%}\n\
         {%- do s.update({'scd_id': snapshot_hash_arguments([s.unique_key, 'updated_at', \"'\" ~ node.name ~ \"'\"])}) -%}\n\
         {{ return(s) }}\n\
         {% endmacro %}\n",
    );
    f.write("pkg/snapshots/pkg_hist.sql", &snapshot("pkg_hist", "strategy='seq', unique_key='id'"));
}

#[test]
fn strategy_macros_of_a_package_and_an_override_of_dbts_own() {
    let f = Fixture::new();
    write_package(&f);
    f.write("packages.yml", "packages:\n  - local: pkg\n");
    f.write("dbt_project.yml", "name: snap\nprofile: shop\nvars:\n  v: 1\n");
    f.write("models/src.sql", SOURCE);
    // dbt's own timestamp strategy, with deleted rows closed as well.
    f.write(
        "macros/timestamp.sql",
        "{% macro snapshot_timestamp_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}\n\
         {%- set s = dbt.snapshot_timestamp_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) -%}\n\
         {%- do s.update({'hard_deletes': 'invalidate'}) -%}\n\
         {{ return(s) }}\n\
         {% endmacro %}\n",
    );
    f.write("snapshots/hist.sql", &snapshot("hist", "strategy='timestamp', unique_key='id', updated_at='updated_at'"));
    f.write("snapshots/root_seq.sql", &snapshot("root_seq", "strategy='strats.seq', unique_key='id'"));
    ok(&f.run(&["deps"]));
    ok(&f.run(&["run"]));
    ok(&f.run(&["snapshot"]));
    ok(&f.run(&["run", "--vars", "{v: 2}"]));
    ok(&f.run(&["snapshot", "--vars", "{v: 2}"]));
    // The override closes the deleted id 2 (dbt's own would leave it current).
    assert_eq!(
        history(&f, "hist"),
        vec![
            "1|a|2024-01-01 00:00:00|false",
            "1|A|2024-01-02 00:00:00|true",
            "2|b|2024-01-01 00:00:00|false",
            "3|c|2024-01-02 00:00:00|true",
        ]
    );
    // The package's strategy, by its plain name in its own snapshot and as
    // `strats.seq` in the root's: deletes ignored (its answer has no `hard_deletes`).
    let seq = vec![
        "1|a|2024-01-01 00:00:00|false",
        "1|A|2024-01-02 00:00:00|true",
        "2|b|2024-01-01 00:00:00|true",
        "3|c|2024-01-02 00:00:00|true",
    ];
    assert_eq!(history(&f, "pkg_hist"), seq);
    assert_eq!(history(&f, "root_seq"), seq);
    // Its hash names the node it was called for.
    let ids =
        select(&f, "select count(*) from main.root_seq where dbt_scd_id = md5(id || '|' || updated_at || '|root_seq')");
    assert_eq!(ids, vec!["4"]);
}

#[test]
fn a_failing_strategy_macro_or_one_without_a_dict_fails_its_snapshot() {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: snap\nprofile: shop\nvars:\n  v: 1\n");
    f.write("models/src.sql", SOURCE);
    f.write(
        "macros/strategies.sql",
        "{% macro snapshot_picky_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}\n\
         {{ exceptions.raise_compiler_error('picky wants check_cols, got ' ~ config.get('check_cols')) }}\n\
         {% endmacro %}\n\
         {% macro snapshot_silent_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}\n\
         select 1\n\
         {% endmacro %}\n",
    );
    f.write(
        "snapshots/s.sql",
        &format!(
            "{}\n{}",
            snapshot("picky", "strategy='picky', unique_key='id', check_cols='some'"),
            snapshot("silent", "strategy='silent', unique_key='id'")
        ),
    );
    ok(&f.run(&["run"]));
    let r = f.run(&["snapshot"]);
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Error in snapshot picky (snapshots/s.sql)"), "{}", r.stdout);
    assert!(r.stdout.contains("picky wants check_cols, got some"), "{}", r.stdout);
    assert!(r.stdout.contains("Error in snapshot silent (snapshots/s.sql)"), "{}", r.stdout);
    assert!(
        r.stdout.contains("snapshot strategy macro `snapshot_silent_strategy` returned no dict (hint: "),
        "{}",
        r.stdout
    );
    assert!(select(&f, "select table_name from duckdb_tables()").is_empty());
}
