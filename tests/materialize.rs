//! Materializations through the real binary: incremental models across runs
//! (`--vars` changes the new rows), every strategy and `on_schema_change`
//! mode, `--full-refresh`, ephemeral chains, and bad materialization configs.
//! Expected tables are what dbt-duckdb 1.9 builds from the same projects.

mod common;
use common::{ok, select, Fixture, Run};

fn run(f: &Fixture, v: u32, extra: &[&str]) -> Run {
    let vars = format!("{{v: {v}}}");
    let mut args = vec!["run", "my_dag", "--vars", vars.as_str()];
    args.extend_from_slice(extra);
    f.run(&args)
}

/// Rows as `a|b|c`, sorted.
fn rows(f: &Fixture, table: &str) -> Vec<String> {
    select(f, &format!("select * from main.\"{table}\" order by all"))
}

/// Rows of any query as `a|b|c`, in its order.
/// `name TYPE` per column, in table order.
fn columns(f: &Fixture, table: &str) -> Vec<String> {
    f.query(&format!(
        "select column_name || ' ' || data_type from information_schema.columns where table_name = '{table}' order by ordinal_position"
    ))
    .into_iter()
    .map(|r| r.join(""))
    .collect()
}

fn table_type(f: &Fixture, table: &str) -> Vec<String> {
    f.query(&format!("select table_type from information_schema.tables where table_name = '{table}'"))
        .into_iter()
        .map(|r| r.join(""))
        .collect()
}

const RANGE: &str = "range({{ var('v') }}, {{ var('v') }} + 3) t(i)";

#[test]
fn delete_insert_replaces_rows_by_key_across_runs() {
    let f = Fixture::new();
    f.write(
        "models/inc_di.sql",
        &format!("{{{{ config(materialized='incremental', unique_key='id') }}}}\nselect i as id, 'v{{{{ var(\"v\") }}}}' as tag, {{{{ var('v') }}}} as ver from {RANGE}\n{{% if is_incremental() %}} where i >= (select max(id) from {{{{ this }}}}) - 1 {{% endif %}}\n"),
    );
    f.write(
        "models/inc_comp.sql",
        &format!("{{{{ config(materialized='incremental', unique_key=['a', 'b']) }}}}\nselect i % 2 as a, i as b, {{{{ var('v') }}}} as ver from {RANGE}\n"),
    );
    f.write(
        "models/inc_nokey.sql",
        "{{ config(materialized='incremental') }}\nselect i as id, {{ var('v') }} as ver from range(0, 2) t(i)\n",
    );
    ok(&run(&f, 1, &[]));
    assert_eq!(rows(&f, "inc_di"), vec!["1|v1|1", "2|v1|1", "3|v1|1"]);
    ok(&run(&f, 2, &[]));
    // The second run's rows 2..4 replace 2 and 3 and add 4; row 1 stays.
    assert_eq!(rows(&f, "inc_di"), vec!["1|v1|1", "2|v2|2", "3|v2|2", "4|v2|2"]);
    assert_eq!(columns(&f, "inc_di"), vec!["id BIGINT", "tag VARCHAR", "ver INTEGER"]);
    // A composite key matches on both columns.
    assert_eq!(rows(&f, "inc_comp"), vec!["0|2|2", "0|4|2", "1|1|1", "1|3|2"]);
    // Without a key, delete+insert appends.
    assert_eq!(rows(&f, "inc_nokey"), vec!["0|1", "0|2", "1|1", "1|2"]);
}

#[test]
fn append_and_merge_strategies() {
    let f = Fixture::new();
    f.write(
        "models/inc_app.sql",
        "{{ config(materialized='incremental', incremental_strategy='append', unique_key='id') }}\nselect i as id, {{ var('v') }} as ver from range({{ var('v') }}, {{ var('v') }} + 2) t(i)\n",
    );
    f.write(
        "models/inc_merge.sql",
        "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id') }}\nselect i as id, {{ var('v') }} as ver, 'x{{ var('v') }}' as note from range({{ var('v') }}, {{ var('v') }} + 2) t(i)\n",
    );
    f.write(
        "models/inc_merge_some.sql",
        "{{ config(materialized='incremental', incremental_strategy='merge', unique_key=['id'], merge_exclude_columns=['note']) }}\nselect i as id, {{ var('v') }} as ver, 'x{{ var('v') }}' as note from range({{ var('v') }}, {{ var('v') }} + 2) t(i)\n",
    );
    ok(&run(&f, 1, &[]));
    ok(&run(&f, 2, &[]));
    // append keeps both versions of id 2, even with a unique_key.
    assert_eq!(rows(&f, "inc_app"), vec!["1|1", "2|1", "2|2", "3|2"]);
    // merge updates id 2 in place and inserts id 3.
    assert_eq!(rows(&f, "inc_merge"), vec!["1|1|x1", "2|2|x2", "3|2|x2"]);
    assert_eq!(rows(&f, "inc_merge_some"), vec!["1|1|x1", "2|2|x1", "3|2|x2"]);
}

fn schema_model(mode: &str) -> String {
    format!(
        "{{{{ config(materialized='incremental', unique_key='id', on_schema_change='{mode}') }}}}\n\
         {{% if var('v') == 1 %}}\nselect i::int as id, 'a' || i as a, i * 10 as b, 'k' as keep from range(3) t(i)\n\
         {{% else %}}\nselect i::bigint as id, i * 1.5 as c, 'a' || i as a, 'k2' as keep from range(2, 5) t(i)\n{{% endif %}}\n"
    )
}

#[test]
fn each_on_schema_change_mode() {
    let f = Fixture::new();
    for mode in ["ignore", "append_new_columns", "sync_all_columns", "fail"] {
        f.write(&format!("models/osc_{mode}.sql"), &schema_model(mode));
    }
    // Only added columns: `ignore` drops them from the insert.
    f.write(
        "models/osc_add_ignore.sql",
        "{{ config(materialized='incremental', unique_key='id') }}\nselect i::int as id{% if var('v') > 1 %}, 'new' as extra{% endif %} from range({{ var('v') }}, {{ var('v') }} + 2) t(i)\n",
    );
    ok(&run(&f, 1, &[]));
    let r = run(&f, 2, &[]);
    assert_eq!(r.code, 1, "two models fail:\n{}", r.stdout);
    // fail: a per-node error naming the node, its file and the changes.
    assert!(r.stdout.contains("Error in model osc_fail (models/osc_fail.sql)"), "{}", r.stdout);
    assert!(
        r.stdout.contains("`on_schema_change` is `fail`") && r.stdout.contains("`c` DECIMAL(21,1)"),
        "{}",
        r.stdout
    );
    // ignore: the table's column `b` is missing from the new rows: DuckDB's error.
    assert!(r.stdout.contains("Error in model osc_ignore (models/osc_ignore.sql)"), "{}", r.stdout);
    assert!(r.stdout.contains("Referenced column \"b\" not found"), "{}", r.stdout);
    assert!(r.stdout.contains("ERROR=2"), "{}", r.stdout);
    // Both failed models are exactly as the first run left them.
    for t in ["osc_fail", "osc_ignore"] {
        assert_eq!(columns(&f, t), vec!["id INTEGER", "a VARCHAR", "b BIGINT", "keep VARCHAR"], "{t}");
        assert_eq!(rows(&f, t), vec!["0|a0|0|k", "1|a1|10|k", "2|a2|20|k"], "{t}");
    }
    assert_eq!(rows(&f, "osc_add_ignore"), vec!["1", "2", "3"]);
    assert_eq!(columns(&f, "osc_add_ignore"), vec!["id INTEGER"]);
    // append_new_columns: `c` added at the end, `b` null in new rows, `id` keeps its type.
    assert_eq!(
        columns(&f, "osc_append_new_columns"),
        vec!["id INTEGER", "a VARCHAR", "b BIGINT", "keep VARCHAR", "c DECIMAL(21,1)"]
    );
    assert_eq!(
        select(&f, "select id, a, b, keep, c::varchar from osc_append_new_columns order by id"),
        vec!["0|a0|0|k|NULL", "1|a1|10|k|NULL", "2|a2|NULL|k2|3.0", "3|a3|NULL|k2|4.5", "4|a4|NULL|k2|6.0"]
    );
    // sync_all_columns: `b` dropped, `c` added, `id` retyped (and so moved last).
    assert_eq!(columns(&f, "osc_sync_all_columns"), vec!["a VARCHAR", "keep VARCHAR", "c DECIMAL(21,1)", "id BIGINT"]);
    assert_eq!(
        select(&f, "select a, keep, c::varchar, id from osc_sync_all_columns order by id"),
        vec!["a0|k|NULL|0", "a1|k|NULL|1", "a2|k2|3.0|2", "a3|k2|4.5|3", "a4|k2|6.0|4"]
    );
}

#[test]
fn full_refresh_rebuilds_unless_the_model_opts_out() {
    let f = Fixture::new();
    let body = "select i as id, {{ var('v') }} as ver from range(0, 2) t(i)\n";
    f.write("models/m_fr.sql", &format!("{{{{ config(materialized='incremental') }}}}\n{body}"));
    f.write("models/m_nofr.sql", &format!("{{{{ config(materialized='incremental', full_refresh=false) }}}}\n{body}"));
    ok(&run(&f, 1, &[]));
    ok(&run(&f, 2, &[]));
    assert_eq!(rows(&f, "m_fr"), vec!["0|1", "0|2", "1|1", "1|2"]);
    ok(&run(&f, 3, &["--full-refresh"]));
    assert_eq!(rows(&f, "m_fr"), vec!["0|3", "1|3"]);
    assert_eq!(rows(&f, "m_nofr"), vec!["0|1", "0|2", "0|3", "1|1", "1|2", "1|3"]);
    assert_eq!(
        f.query("select count(*) from information_schema.tables where table_name like '%dbt%'"),
        vec![vec!["0".to_string()]],
        "no helper relations are left behind"
    );
}

#[test]
fn a_seeds_full_refresh_must_be_a_boolean() {
    // dbt: "at path ['full_refresh']: 'nope' is not valid under any of the given schemas".
    let f = Fixture::new();
    f.write("seeds/s.csv", "a\n1\n");
    f.write("seeds/s.yml", "seeds:\n  - name: s\n    config:\n      full_refresh: nope\n");
    common::rejects(&f, &["seed"], &["seeds/s.csv", "seed `s`: `full_refresh` must be `true` or `false`"]);
}

#[test]
fn a_model_switching_between_view_and_table_replaces_the_other_kind() {
    let f = Fixture::new();
    f.write(
        "models/m.sql",
        "{{ config(materialized=('view' if var('v') % 2 == 1 else 'table')) }}\nselect {{ var('v') }} as ver\n",
    );
    // What ran is in target/run: the other kind dropped first, in one transaction.
    let ran = || {
        let dir = std::fs::read_dir(f.path().join("target/run")).expect("target/run").next().expect("project");
        std::fs::read_to_string(dir.expect("entry").path().join("models/m.sql")).expect("m.sql")
    };
    let mut before = "";
    for (v, kind) in [(1, "VIEW"), (2, "BASE TABLE"), (3, "VIEW"), (3, "VIEW"), (4, "BASE TABLE"), (4, "BASE TABLE")] {
        ok(&run(&f, v, &[]));
        assert_eq!(table_type(&f, "m"), vec![kind], "run with v={v}");
        assert_eq!(rows(&f, "m"), vec![v.to_string()], "run with v={v}");
        let sql = ran();
        let dropped = match (before, kind) {
            ("VIEW", "BASE TABLE") => Some("drop view "),
            ("BASE TABLE", "VIEW") => Some("drop table "),
            _ => None,
        };
        match dropped {
            Some(drop) => assert!(sql.starts_with(drop), "v={v}: {sql}"),
            None => assert!(sql.starts_with("create or replace "), "v={v}: {sql}"),
        }
        before = kind;
    }
}

#[test]
fn an_existing_view_is_replaced_by_the_incremental_table() {
    let f = Fixture::new();
    f.write(
        "models/m_view.sql",
        "{{ config(materialized=('view' if var('v') == 1 else 'incremental')) }}\nselect i as id, {{ var('v') }} as ver, {{ is_incremental() }} as inc from range(0, 2) t(i)\n",
    );
    ok(&run(&f, 1, &[]));
    assert_eq!(table_type(&f, "m_view"), vec!["VIEW"]);
    ok(&run(&f, 2, &[]));
    assert_eq!(table_type(&f, "m_view"), vec!["BASE TABLE"]);
    // Built whole from the view: is_incremental() was false.
    assert_eq!(rows(&f, "m_view"), vec!["0|2|false", "1|2|false"]);
    ok(&run(&f, 3, &[]));
    assert_eq!(rows(&f, "m_view"), vec!["0|2|false", "0|3|true", "1|2|false", "1|3|true"]);
}

#[test]
fn ephemeral_chains_become_ctes_and_never_run() {
    let f = Fixture::new();
    f.write("seeds/raw.csv", "n\n1\n2\n");
    f.write("models/eph1.sql", "{{ config(materialized='ephemeral') }}\nselect n as x from {{ ref('raw') }};\n");
    f.write("models/eph2.sql", "{{ config(materialized='ephemeral') }}\nselect x + 1 as y from {{ ref('eph1') }}\n");
    f.write(
        "models/uses_eph.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('eph2') }} join {{ ref('eph1') }} on y = x + 1\n",
    );
    f.write(
        "models/own_with.sql",
        "-- the model's own CTEs follow the ephemeral ones\nwith mine as (select y * 10 as z from {{ ref('eph2') }})\nselect * from mine\n",
    );
    f.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: eph2\n    columns:\n      - name: y\n        data_tests: [not_null]\n",
    );
    f.write("tests/eph_positive.sql", "select * from {{ ref('eph2') }} where y <= 1\n");
    let r = run(&f, 1, &[]);
    ok(&r);
    assert_eq!(rows(&f, "uses_eph"), vec!["2|1", "3|2"]);
    assert_eq!(columns(&f, "uses_eph"), vec!["y INTEGER", "x INTEGER"]);
    assert_eq!(rows(&f, "own_with"), vec!["20", "30"]);
    assert_eq!(table_type(&f, "own_with"), vec!["VIEW"]);
    assert!(table_type(&f, "eph1").is_empty() && table_type(&f, "eph2").is_empty(), "ephemerals are never built");
    // Like dbt: no lines for ephemerals; the seed, two models and two tests ran.
    assert!(!r.stdout.contains("eph1") && !r.stdout.contains("model main.eph2"), "{}", r.stdout);
    assert!(r.stdout.contains("PASS not_null_eph2_y") && r.stdout.contains("PASS eph_positive"), "{}", r.stdout);
    assert!(r.stdout.contains("TOTAL=5"), "{}", r.stdout);
}

#[test]
fn a_loop_through_ephemerals_is_a_load_error() {
    let f = Fixture::new();
    f.write("models/e1.sql", "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('e2') }}\n");
    f.write("models/e2.sql", "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('e1') }}\n");
    let r = run(&f, 1, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("dependency cycle") && r.stderr.contains("`e1`") && r.stderr.contains("`e2`"),
        "{}",
        r.stderr
    );
    assert!(!f.db().exists());
}

#[test]
fn ephemerals_are_selected_listed_and_in_the_manifest_as_dbt_has_them() {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("models/staging/eph1.sql", "{{ config(materialized='ephemeral', tags=['hidden']) }}\nselect 1 as x\n");
    f.write(
        "models/staging/eph2.sql",
        "{{ config(materialized='ephemeral') }}\nselect x + 1 as y from {{ ref('eph1') }}\n",
    );
    f.write("models/down.sql", "{{ config(materialized='table') }}\nselect y * 10 as z from {{ ref('eph2') }}\n");
    f.write("models/other.sql", "{{ config(materialized='table') }}\nselect 7 as w\n");
    // dbt selects the ephemeral and runs only what is below it, through a chain of them.
    let r = run(&f, 1, &["--select", "eph1+"]);
    ok(&r);
    assert_eq!(rows(&f, "down"), vec!["20"]);
    assert!(table_type(&f, "other").is_empty(), "`other` is not below eph1");
    assert!(table_type(&f, "eph1").is_empty() && table_type(&f, "eph2").is_empty(), "ephemerals never run");
    assert!(r.stdout.contains("TOTAL=1"), "{}", r.stdout);
    assert!(!r.stderr.contains("does not match"), "{}", r.stderr);
    // Selecting only an ephemeral runs nothing, quietly, as dbt does.
    let r = run(&f, 1, &["--select", "tag:hidden"]);
    ok(&r);
    assert!(r.stdout.contains("TOTAL=0") && !r.stderr.contains("Nothing to do"), "{}\n{}", r.stdout, r.stderr);
    // `dbt ls` lists them, sorted by unique id.
    let ls = f.run(&["ls", "--output", "name"]);
    assert_eq!(ls.stdout, "down\neph1\neph2\nother\n", "{}", ls.stderr);
    assert_eq!(f.run(&["ls", "-s", "+down"]).stdout, "shop.down\nshop.staging.eph1\nshop.staging.eph2\n");
    assert_eq!(f.run(&["ls", "-s", "tag:hidden", "--resource-type", "seed"]).stdout, "");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.path().join("target/manifest.json")).expect("manifest")).expect("json");
    let e = &m["nodes"]["model.shop.eph2"];
    assert_eq!(e["config"]["materialized"], "ephemeral");
    assert_eq!(e["relation_name"], serde_json::Value::Null);
    assert_eq!(e["fqn"], serde_json::json!(["shop", "staging", "eph2"]));
    assert_eq!(e["depends_on"]["nodes"], serde_json::json!(["model.shop.eph1"]));
    assert_eq!(m["parent_map"]["model.shop.down"], serde_json::json!(["model.shop.eph2"]));
    assert_eq!(m["child_map"]["model.shop.eph1"], serde_json::json!(["model.shop.eph2"]));
}

#[test]
fn compiling_compiles_the_ephemerals_a_node_reads_and_a_selected_ephemeral() {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("models/staging/eph1.sql", "{{ config(materialized='ephemeral') }}\nselect 1 as x\n");
    f.write(
        "models/staging/eph2.sql",
        "{{ config(materialized='ephemeral') }}\nselect x + 1 as y from {{ ref('eph1') }}\n",
    );
    f.write("models/down.sql", "select y * 10 as z from {{ ref('eph2') }}\n");
    f.write("models/other.sql", "select 7 as w\n");
    f.write("models/mix.sql", "select * from {{ ref('other') }}, {{ ref('down') }}, {{ ref('other') }} o2\n");
    let compiled = |name: &str| f.path().join(format!("target/compiled/shop/models/{name}.sql"));
    let manifest = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(f.path().join("target/manifest.json")).expect("manifest")).expect("json")
    };
    let r = f.run(&["compile", "--select", "eph2"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("Compiled node 'eph2' is:\nwith __dbt__cte__eph1 as ("), "{}", r.stdout);
    assert!(compiled("staging/eph1").exists() && compiled("staging/eph2").exists(), "{}", r.stderr);
    assert!(!compiled("down").exists(), "only what was selected and what it reads");
    let m = manifest();
    assert_eq!(m["nodes"]["model.shop.eph2"]["compiled"], true);
    // As dbt: the text after the `config()` line, its newline included.
    assert_eq!(m["nodes"]["model.shop.eph1"]["compiled_code"], "\nselect 1 as x");
    assert_eq!(m["nodes"]["model.shop.down"]["compiled"], false);
    // Compiling a reader compiles the chain of ephemerals above it.
    std::fs::remove_dir_all(f.path().join("target")).expect("rm target");
    let r = f.run(&["compile", "--select", "down"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(compiled("staging/eph1").exists() && compiled("staging/eph2").exists() && compiled("down").exists());
    // `depends_on` and `refs` keep the SQL's order (refs with repeats), as dbt writes them.
    let mix = &manifest()["nodes"]["model.shop.mix"];
    assert_eq!(mix["depends_on"]["nodes"], serde_json::json!(["model.shop.other", "model.shop.down"]));
    let refs: Vec<&str> = mix["refs"].as_array().expect("refs").iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(refs, ["other", "down", "other"]);
}

#[test]
fn unknown_materialization_is_a_load_error_with_file_and_line() {
    let f = Fixture::new();
    f.write("models/ok.sql", "select 1 as x\n");
    f.write("models/bad.sql", "-- a comment first\n{{ config(materialized='materialised_view') }}\nselect 1 as x\n");
    let r = run(&f, 1, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("models/bad.sql:2") && r.stderr.contains("unknown materialization `materialised_view`"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty() && !f.db().exists(), "nothing ran");
}

/// A `{% materialization %}` block in `macros/` loads, as in dbt, so a
/// project (or package) that defines one runs its other models; a model
/// that uses it is a load error saying runner does not run custom
/// materializations (before, the whole project stopped at "unknown
/// statement materialization").
#[test]
fn a_custom_materialization_loads_and_a_model_using_it_is_a_clear_load_error() {
    let f = Fixture::new();
    f.write(
        "macros/my_table.sql",
        "{% materialization my_table, adapter='duckdb' %}\n  {% call statement('main') -%} create table {{ this }} as ({{ sql }}) {%- endcall %}\n  {{ return({'relations': [this]}) }}\n{% endmaterialization %}\n",
    );
    f.write("models/ok.sql", "select 1 as x\n");
    let r = run(&f, 1, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    f.write("models/custom.sql", "{{ config(materialized='my_table') }}\nselect 1 as x\n");
    let r = run(&f, 1, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("models/custom.sql:1")
            && r.stderr.contains("unknown materialization `my_table`")
            && r.stderr.contains("custom materialization (`{% materialization %}` in `macros/`) is not supported"),
        "{}",
        r.stderr
    );
}

/// A strategy name that cannot name a macro is a load error at its line;
/// any other unknown name is a custom strategy (see below).
#[test]
fn a_strategy_that_cannot_name_a_macro_is_a_load_error_naming_the_file() {
    let f = Fixture::new();
    f.write(
        "models/up.sql",
        "{{ config(materialized='incremental',\n    incremental_strategy='up-sert') }}\nselect 1 as x\n",
    );
    let r = run(&f, 1, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("models/up.sql:2") && r.stderr.contains("incremental strategy `up-sert` cannot name a macro"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    // Set in a property file, the error names that file.
    f.write("models/up.sql", "{{ config(materialized='incremental') }}\nselect 1 as x\n");
    f.write(
        "models/props.yml",
        "version: 2\nmodels:\n  - name: up\n    config:\n      incremental_strategy: insert overwrite\n",
    );
    let r = run(&f, 1, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("models/props.yml") && r.stderr.contains("`insert overwrite`"), "{}", r.stderr);
    assert!(!f.db().exists());
}

#[test]
fn a_missing_unique_key_column_is_a_node_error() {
    let f = Fixture::new();
    f.write(
        "models/m_badkey.sql",
        "{{ config(materialized='incremental', unique_key='nope') }}\nselect i as id from range(0, 2) t(i)\n",
    );
    f.write("models/fine.sql", "{{ config(materialized='table') }}\nselect {{ var('v') }} as v\n");
    // The key is only used once the table exists, as in dbt.
    ok(&run(&f, 1, &[]));
    let r = run(&f, 2, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Error in model m_badkey (models/m_badkey.sql)"), "{}", r.stdout);
    assert!(r.stdout.contains("Referenced column \"nope\" not found"), "{}", r.stdout);
    assert!(r.stdout.contains("`unique_key`"), "{}", r.stdout);
    assert_eq!(rows(&f, "m_badkey"), vec!["0", "1"], "left as it was");
    assert_eq!(rows(&f, "fine"), vec!["2"], "other nodes go on");
}

/// A custom strategy: the project's `get_incremental_<name>_sql(arg_dict)`
/// writes the statement when the incremental path runs; a strategy with no
/// macro fails only its model, and only then (the first run needs none).
#[test]
fn a_custom_strategy_macro_writes_the_incremental_statement() {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write(
        "macros/insert_only.sql",
        "{% macro get_incremental_insert_only_sql(arg_dict) %}\n\
         {%- set cols = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}\n\
         insert into {{ arg_dict['target_relation'] }} ({{ cols }})\n\
         select {{ cols }} from {{ arg_dict['temp_relation'] }}\n\
         where id > (select max(id) from {{ arg_dict['target_relation'] }}) -- key {{ arg_dict['unique_key'] }}\n\
         {% endmacro %}\n",
    );
    let model = |strategy: &str| {
        format!("{{{{ config(materialized='incremental', incremental_strategy='{strategy}', unique_key='id') }}}}\nselect range as id, 'v{{{{ var(\"v\") }}}}' as seen from range({{{{ var('v') }}}} * 2)\n")
    };
    f.write("models/custom.sql", &model("insert_only"));
    f.write("models/missing.sql", &model("no_such_strategy"));
    ok(&run(&f, 1, &[]));
    let r = run(&f, 2, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(rows(&f, "custom"), vec!["0|v1", "1|v1", "2|v2", "3|v2"]);
    assert!(
        r.stdout.contains(
            "could not find an incremental strategy macro with the name `get_incremental_no_such_strategy_sql`"
        ),
        "{}",
        r.stdout
    );
    assert_eq!(rows(&f, "missing"), vec!["0|v1", "1|v1"], "the failed model keeps its table");
}
