//! The dbt commands users reach for (`seed`, `run` without a DAG, `build`, `compile`, `ls`,
//! `debug`) and the artifacts they leave in `target/`, run through the real
//! binary on projects written into temp dirs. Expected names and layouts
//! were checked against dbt-core 1.10 + dbt-duckdb 1.9 on the same project.

mod common;

use common::Fixture;
use serde_json::{json, Value};
use std::path::Path;

/// The shop fixture with a `dbt_project.yml`, so the project is named `shop` as in dbt.
fn shop() -> Fixture {
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f
}

fn json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read `{}`: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("valid JSON")
}

fn result<'a>(rr: &'a Value, id: &str) -> &'a Value {
    rr["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["unique_id"] == id)
        .unwrap_or_else(|| panic!("no result for `{id}`"))
}

fn relations(f: &Fixture) -> Vec<String> {
    f.query("select table_name from information_schema.tables order by 1").into_iter().map(|r| r[0].clone()).collect()
}

// Unique ids as dbt 1.10 gives them for this project (the hash is dbt's).
const UNIQUE: &str = "test.shop.unique_stg_orders_order_id.e3b841c71a";
const NOT_NULL: &str = "test.shop.not_null_stg_orders_order_id.81cfe2fe64";
const RELATIONSHIPS: &str = "test.shop.relationships_stg_orders_customer_id__customer_id__ref_customers_.ce85de0fbf";
const LONG_ALIAS: &str = "relationships_stg_orders_ea624a80826c8a7f9bd15b85fd5d6316";

#[test]
fn seed_loads_only_the_seeds() {
    let f = shop();
    let r = f.run(&["seed"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.lines_with("OK loaded seed file").len(), 2, "{}", r.stdout);
    assert!(r.stdout.contains("Done. PASS=2 WARN=0 ERROR=0 SKIP=0 TOTAL=2"), "{}", r.stdout);
    assert_eq!(relations(&f), ["raw_customers", "raw_orders"]);
    let rr = json(&f.path().join("target/run_results.json"));
    assert_eq!(rr["results"].as_array().expect("results").len(), 2);
    assert_eq!(result(&rr, "seed.shop.raw_orders")["status"], "success");
    assert_eq!(rr["args"]["which"], "seed");
}

/// `runner run` without a DAG is dbt's `run`: the models, nothing else.
#[test]
fn run_without_a_dag_builds_only_the_models() {
    let f = shop();
    // Seeds are not loaded: on an empty database the view cannot bind, and
    // the table that reads it is skipped.
    let r = f.run(&["run"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("seed file"), "{}", r.stdout);
    assert!(r.stdout.contains("Done. PASS=0 WARN=0 ERROR=1 SKIP=1 TOTAL=2"), "{}", r.stdout);
    assert!(relations(&f).is_empty(), "{:?}", relations(&f));

    assert_eq!(f.run(&["seed"]).code, 0);
    let r = f.run(&["run"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let pos = |needle: &str| r.stdout.find(needle).unwrap_or_else(|| panic!("no `{needle}` in:\n{}", r.stdout));
    assert!(pos("OK created sql view model main.stg_orders") < pos("OK created sql table model main.customers"));
    // No test runs, not even the singular one reading `customers`.
    assert!(!r.stdout.contains("PASS not_null") && !r.stdout.contains("assert_totals_positive"), "{}", r.stdout);
    assert!(r.stdout.contains("Done. PASS=2 WARN=0 ERROR=0 SKIP=0 TOTAL=2"), "{}", r.stdout);
    assert_eq!(relations(&f), ["customers", "raw_customers", "raw_orders", "stg_orders"]);
    let rr = json(&f.path().join("target/run_results.json"));
    let ids: Vec<&str> =
        rr["results"].as_array().expect("results").iter().filter_map(|r| r["unique_id"].as_str()).collect();
    assert_eq!(ids, ["model.shop.stg_orders", "model.shop.customers"]);
    assert_eq!(rr["args"]["which"], "run");
}

#[test]
fn run_without_a_dag_takes_the_selection_flags() {
    let f = shop();
    assert_eq!(f.run(&["seed"]).code, 0);
    // `+stg_orders` selects the seed it reads too; `run` leaves seeds alone.
    let r = f.run(&["run", "--select", "+stg_orders"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Done. PASS=1 WARN=0 ERROR=0 SKIP=0 TOTAL=1"), "{}", r.stdout);
    assert_eq!(relations(&f), ["raw_customers", "raw_orders", "stg_orders"]);
    let r = f.run(&["run", "--exclude", "stg_orders"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let rr = json(&f.path().join("target/run_results.json"));
    assert_eq!(rr["results"].as_array().expect("results").len(), 1);
    assert_eq!(result(&rr, "model.shop.customers")["status"], "success");
    // Nothing to run is no error, as in dbt.
    let r = f.run(&["run", "--select", "resource_type:seed"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn build_runs_in_dbt_order_and_a_failing_test_skips_what_is_downstream() {
    let f = shop();
    // A duplicated order id fails `unique` on stg_orders, which must skip customers and its tests.
    f.write(
        "seeds/raw_orders.csv",
        "id,customer_id,status,amount\n10,1,placed,5\n10,1,shipped,7\n12,2,placed,3\n13,3,returned,9\n",
    );
    let r = f.run(&["build"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let pos = |needle: &str| r.stdout.find(needle).unwrap_or_else(|| panic!("no `{needle}` in:\n{}", r.stdout));
    assert!(pos("OK loaded seed file main.raw_orders") < pos("START sql view model main.stg_orders"));
    assert!(pos("OK created sql view model main.stg_orders") < pos("PASS not_null_stg_orders_order_id"));
    assert!(pos("FAIL 1 unique_stg_orders_order_id") < pos("SKIP relation main.customers"));
    assert!(r.stdout.contains("SKIP test assert_totals_positive"), "{}", r.stdout);
    assert!(!r.stdout.contains("START sql table model main.customers"), "{}", r.stdout);
    assert!(r.stdout.contains("Done. PASS=5 WARN=0 ERROR=1 SKIP=3 TOTAL=9"), "{}", r.stdout);
    assert!(!relations(&f).contains(&"customers".to_string()));

    let rr = json(&f.path().join("target/run_results.json"));
    let unique = result(&rr, UNIQUE);
    assert_eq!(unique["status"], "fail");
    assert_eq!(unique["failures"], 1);
    assert_eq!(unique["message"], "Got 1 result, configured to fail if != 0");
    assert_eq!(result(&rr, "model.shop.customers")["status"], "skipped");
    assert_eq!(result(&rr, "test.shop.assert_totals_positive")["status"], "skipped");
    assert_eq!(result(&rr, NOT_NULL)["status"], "pass");
    assert_eq!(result(&rr, RELATIONSHIPS)["status"], "skipped");
}

#[test]
fn a_test_that_thresholds_let_pass_reports_no_failures_as_dbt_does() {
    let f = shop();
    f.write("tests/one_row.sql", "{{ config(error_if='>1', warn_if='>1') }}\nselect 1 as x\n");
    let r = f.run(&["build", "--select", "one_row"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let rr = json(&f.path().join("target/run_results.json"));
    let t = result(&rr, "test.shop.one_row");
    assert_eq!((t["status"].as_str(), t["failures"].as_u64()), (Some("pass"), Some(0)));
}

#[test]
fn build_writes_run_results_manifest_and_the_executed_sql() {
    let f = shop();
    let r = f.run(&["build"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let target = f.path().join("target");

    let rr = json(&target.join("run_results.json"));
    assert_eq!(rr["metadata"]["dbt_schema_version"], "https://schemas.getdbt.com/dbt/run-results/v6.json");
    assert_eq!(rr["results"].as_array().expect("results").len(), 9);
    let stg = result(&rr, "model.shop.stg_orders");
    assert_eq!(stg["status"], "success");
    assert_eq!(stg["thread_id"], "Thread-1 (worker)");
    assert_eq!(stg["relation_name"], "\"warehouse\".\"main\".\"stg_orders\"");
    assert_eq!(stg["adapter_response"]["_message"], "OK");
    assert!(stg["execution_time"].as_f64().expect("seconds") >= 0.0);
    let compiled = stg["compiled_code"].as_str().expect("compiled code");
    assert!(compiled.contains("from \"warehouse\".\"main\".\"raw_orders\""), "{compiled}");
    let timing: Vec<&str> =
        stg["timing"].as_array().expect("timing").iter().map(|t| t["name"].as_str().expect("name")).collect();
    assert_eq!(timing, ["compile", "execute"]);
    let seed = result(&rr, "seed.shop.raw_orders");
    assert_eq!(seed["adapter_response"]["rows_affected"], 4);
    assert_eq!(seed["message"], "INSERT 4");
    let test = result(&rr, NOT_NULL);
    assert_eq!(test["status"], "pass");
    assert_eq!(test["failures"], 0);
    assert_eq!(test["relation_name"], Value::Null);

    let m = json(&target.join("manifest.json"));
    assert_eq!(m["metadata"]["dbt_schema_version"], "https://schemas.getdbt.com/dbt/manifest/v12.json");
    assert_eq!(m["metadata"]["invocation_id"], rr["metadata"]["invocation_id"]);
    assert_eq!(m["nodes"].as_object().expect("nodes").len(), 9);
    let customers = &m["nodes"]["model.shop.customers"];
    assert_eq!(customers["resource_type"], "model");
    assert_eq!(customers["fqn"], serde_json::json!(["shop", "marts", "customers"]));
    assert_eq!(customers["original_file_path"], "models/marts/customers.sql");
    assert_eq!(customers["compiled_path"], "target/compiled/shop/models/marts/customers.sql");
    assert_eq!(customers["config"]["materialized"], "table");
    // `depends_on` in the order the SQL refs them; `parent_map` sorted, as dbt writes both.
    assert_eq!(
        customers["depends_on"]["nodes"],
        serde_json::json!(["seed.shop.raw_customers", "model.shop.stg_orders"])
    );
    assert_eq!(
        m["parent_map"]["model.shop.customers"],
        serde_json::json!(["model.shop.stg_orders", "seed.shop.raw_customers"])
    );
    assert_eq!(m["child_map"]["seed.shop.raw_orders"], serde_json::json!(["model.shop.stg_orders"]), "seeds' children");
    let long = &m["nodes"][RELATIONSHIPS];
    assert_eq!(long["alias"], LONG_ALIAS);
    assert_eq!(long["compiled_path"], format!("target/compiled/shop/models/schema.yml/{LONG_ALIAS}.sql"));
    assert_eq!(long["build_path"], format!("target/run/shop/models/schema.yml/{LONG_ALIAS}.sql"));
    assert_eq!(customers["build_path"], "target/run/shop/models/marts/customers.sql");

    // target/run holds what ran: the view's DDL, the test query around the compiled SQL.
    let view = std::fs::read_to_string(target.join("run/shop/models/staging/stg_orders.sql")).expect("target/run");
    assert!(view.to_lowercase().contains("create") && view.contains("\"stg_orders\""), "{view}");
    assert!(view.contains("from \"warehouse\".\"main\".\"raw_orders\""), "{view}");
    let table = std::fs::read_to_string(target.join("run/shop/models/marts/customers.sql")).expect("target/run");
    assert!(table.to_lowercase().contains("table") && table.contains("\"customers\""), "{table}");
    assert!(target.join(format!("run/shop/models/schema.yml/{LONG_ALIAS}.sql")).exists());
    assert!(target.join("run/shop/seeds/raw_orders.csv").exists());
    assert!(target.join("compiled/shop/models/staging/stg_orders.sql").exists());
}

#[test]
fn compile_writes_target_compiled_and_never_touches_the_database() {
    let f = shop();
    let r = f.run(&["compile"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!f.db().exists(), "compile created the database");
    assert!(!f.path().join("warehouse.duckdb.runner.lock").exists(), "compile took the lock");
    let compiled = f.path().join("target/compiled/shop");
    let customers = std::fs::read_to_string(compiled.join("models/marts/customers.sql")).expect("compiled model");
    assert!(customers.contains("from \"warehouse\".\"main\".\"raw_customers\" c"), "{customers}");
    assert!(!customers.contains("{{"), "{customers}");
    let not_null = std::fs::read_to_string(compiled.join("models/schema.yml/not_null_stg_orders_order_id.sql"))
        .expect("generic test under its property file");
    assert!(not_null.contains("order_id") && not_null.contains("\"stg_orders\""), "{not_null}");
    assert!(compiled.join(format!("models/schema.yml/{LONG_ALIAS}.sql")).exists());
    assert!(compiled.join("tests/assert_totals_positive.sql").exists());
    assert!(!compiled.join("seeds").exists(), "seeds are not compiled");
    assert!(!f.path().join("target/run").exists(), "compile runs nothing");
    let m = json(&f.path().join("target/manifest.json"));
    assert_eq!(
        m["nodes"]["model.shop.stg_orders"]["compiled_path"],
        "target/compiled/shop/models/staging/stg_orders.sql"
    );

    // One node: dbt prints its SQL.
    let one = f.run(&["compile", "--select", "stg_orders", "--exclude", "resource_type:test"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(one.stdout.starts_with("Compiled node 'stg_orders' is:\n"), "{}", one.stdout);
    assert!(one.stdout.contains("from \"warehouse\".\"main\".\"raw_orders\""), "{}", one.stdout);
}

const LS_ALL: &str = "shop.marts.customers
shop.staging.stg_orders
shop.raw_customers
shop.raw_orders
shop.accepted_values_stg_orders_status__placed__shipped__returned
shop.assert_totals_positive
shop.not_null_stg_orders_order_id
shop.relationships_stg_orders_customer_id__customer_id__ref_customers_
shop.unique_stg_orders_order_id
";

#[test]
fn ls_prints_what_dbt_ls_prints_without_opening_the_database() {
    let f = shop();
    let r = f.run(&["ls"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, LS_ALL);
    // The DAG's `select: ["*"]` lists the same.
    assert_eq!(f.run(&["ls", "my_dag"]).stdout, LS_ALL);
    assert!(!f.db().exists(), "ls created the database");
    assert!(!f.path().join("warehouse.duckdb.runner.lock").exists(), "ls took the lock");
    assert!(f.path().join("target/manifest.json").exists(), "ls writes the manifest");

    let r = f.run(&["ls", "--resource-type", "seed", "--resource-type", "test", "-s", "+stg_orders"]);
    assert_eq!(
        r.stdout,
        "shop.raw_orders
shop.accepted_values_stg_orders_status__placed__shipped__returned
shop.not_null_stg_orders_order_id
shop.relationships_stg_orders_customer_id__customer_id__ref_customers_
shop.unique_stg_orders_order_id
"
    );
    let names = f.run(&["ls", "--resource-type", "model", "--output", "name"]);
    assert_eq!(names.stdout, "customers\nstg_orders\n");
    let paths = f.run(&["ls", "--resource-type", "seed", "--output", "path"]);
    assert_eq!(paths.stdout, "seeds/raw_customers.csv\nseeds/raw_orders.csv\n");

    let j = f.run(&["ls", "--resource-type", "model", "--output", "json"]);
    assert_eq!(j.code, 0, "{}", j.stderr);
    let lines: Vec<&str> = j.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with(
            "{\"name\": \"customers\", \"resource_type\": \"model\", \"package_name\": \"shop\", \
             \"original_file_path\": \"models/marts/customers.sql\", \"unique_id\": \"model.shop.customers\", \
             \"alias\": \"customers\", \"config\": {"
        ),
        "{}",
        lines[0]
    );
    let v: Value = serde_json::from_str(lines[1]).expect("one JSON object per line");
    assert_eq!(v["unique_id"], "model.shop.stg_orders");
    assert_eq!(v["config"]["materialized"], "view");
    assert_eq!(v["depends_on"]["nodes"], serde_json::json!(["seed.shop.raw_orders"]));
    assert_eq!(v["tags"], serde_json::json!([]));

    let keys = f.run(&["ls", "--resource-type", "model", "--output", "json", "--output-keys", "unique_id", "name"]);
    assert_eq!(
        keys.stdout,
        "{\"name\": \"customers\", \"unique_id\": \"model.shop.customers\"}\n\
         {\"name\": \"stg_orders\", \"unique_id\": \"model.shop.stg_orders\"}\n"
    );
}

#[test]
fn ls_lists_sources_and_rejects_unknown_types() {
    let f = shop();
    f.write(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: events\n",
    );
    let r = f.run(&["ls", "--resource-type", "source"]);
    assert_eq!(r.stdout, "source:shop.raw.events\n", "{}", r.stderr);
    assert_eq!(f.run(&["ls", "--resource-type", "source", "--output", "name"]).stdout, "raw.events\n");
    // A source selector lists the source too, with what reads it.
    f.write("models/ev.sql", "select * from {{ source('raw', 'events') }}\n");
    let by_source = f.run(&["ls", "-s", "source:raw+"]);
    assert_eq!(by_source.code, 0, "{}", by_source.stderr);
    assert!(by_source.stdout.contains("source:shop.raw.events\n"), "{}", by_source.stdout);
    assert!(by_source.stdout.contains("shop.ev\n"), "{}", by_source.stdout);
    assert!(!by_source.stdout.contains("customers"), "{}", by_source.stdout);
    let bad = f.run(&["ls", "--resource-type", "modle"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("unknown `--resource-type` `modle`"), "{}", bad.stderr);
}

#[test]
fn debug_checks_project_profile_and_connection() {
    let f = shop();
    let r = f.run(&["debug"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("profiles.yml file [OK found and valid]"), "{}", r.stdout);
    assert!(r.stdout.contains("dbt_project.yml file [OK found and valid]"), "{}", r.stdout);
    assert!(r.stdout.contains("Connection test: [OK connection ok]"), "{}", r.stdout);
    assert!(r.stdout.contains("All checks passed!"), "{}", r.stdout);
    assert!(r.stdout.contains("  extensions built in: core_functions, json, parquet\n"), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("path: {}", f.db().display())), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("Using project dir at {}", f.path().display())), "{}", r.stdout);
    assert!(!f.db().exists(), "debug must not create the database");

    // An existing database is opened (read-only) and queried.
    assert_eq!(f.run(&["seed"]).code, 0);
    let again = f.run(&["debug"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("Connection test: [OK connection ok]\n"), "{}", again.stdout);
}

#[test]
fn debug_with_a_bad_profile_exits_2() {
    let f = shop();
    f.write("profiles.yml", "shop:\n  target: dev\n  outputs:\n    dev:\n      typo: duckdb\n");
    let r = f.run(&["debug"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("profiles.yml file [ERROR invalid]"), "{}", r.stdout);
    assert!(r.stdout.contains("Connection test skipped"), "{}", r.stdout);
    assert!(r.stderr.contains("profiles.yml"), "{}", r.stderr);
}

#[test]
fn debug_with_an_unopenable_database_exits_1() {
    let f = shop();
    // Not a DuckDB file.
    f.write("garbage.duckdb", "this is not a database\n");
    f.write(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: garbage.duckdb\n      threads: 1\n",
    );
    let r = f.run(&["debug"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Connection test: [ERROR]"), "{}", r.stdout);
    assert!(r.stdout.contains("1 check failed:"), "{}", r.stdout);

    // A path below a regular file can never be created.
    f.write(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: garbage.duckdb/x.duckdb\n      threads: 1\n",
    );
    let r = f.run(&["debug"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("is not a directory"), "{}", r.stdout);
}

#[test]
fn the_manifest_carries_rendered_descriptions_and_dbts_model_defaults() {
    let f = shop();
    f.write("models/docs.md", "{% docs orders_doc %}\nOne row per order.\n{% enddocs %}\n");
    f.write(
        "models/described.yml",
        "version: 2\nmodels:\n  - name: customers\n    description: \"{{ doc('orders_doc') }}\"\n    columns:\n      - name: total\n        description: Sum of amounts\n",
    );
    let r = f.run(&["compile"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let m = json(&f.path().join("target/manifest.json"));
    let customers = &m["nodes"]["model.shop.customers"];
    assert_eq!(customers["description"], "One row per order.");
    assert_eq!(customers["columns"]["total"]["description"], "Sum of amounts");
    assert_eq!(customers["patch_path"], "shop://models/described.yml");
    assert_eq!(customers["access"], "protected");
    assert_eq!(customers["contract"]["enforced"], false);
    assert_eq!(customers["docs"]["show"], true);
    assert_eq!(m["nodes"]["model.shop.stg_orders"]["patch_path"], "shop://models/schema.yml");
}

/// dbt's `run-operation`: the macro runs with `--args` as keywords, its
/// statements and logs happen (`print_table` too), and what it ran before
/// it raised stays, as in dbt (exit 1); a macro that does not exist and
/// `--args` that are no mapping are bad input (exit 2). Checked against
/// dbt-core 1.10 + dbt-duckdb 1.9 with the same macros.
/// `DBT_ENV_CUSTOM_ENV_*` variables (here from `.env`) are dbt's metadata
/// env: in both artifacts and as `dbt_metadata_envs`; run_results.json's
/// `args` are the invocation's, as `invocation_args_dict` shows them.
#[test]
fn the_invocation_and_its_metadata_env_reach_artifacts_and_templates() {
    let f = shop();
    f.write(".env", "DBT_ENV_CUSTOM_ENV_TEAM=data\n");
    f.write(
        "models/who.sql",
        "select '{{ dbt_metadata_envs.TEAM }}' as team, '{{ invocation_args_dict.select | join(\",\") }}' as sel, '{{ invocation_args_dict.which }}' as which",
    );
    let r = f.run(&["run", "--select", "who", "--threads", "1"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select team, sel, which from who"), [["data", "who", "run"]]);
    let rr = json(&f.path().join("target/run_results.json"));
    assert_eq!(rr["metadata"]["env"], json!({"TEAM": "data"}));
    assert_eq!((&rr["args"]["select"], &rr["args"]["threads"]), (&json!(["who"]), &json!(1)));
    let command = rr["args"]["invocation_command"].as_str().unwrap_or_default();
    assert!(command.starts_with("runner run --select who --threads 1 --project-dir "), "{command}");
    assert!(rr["args"].get("full_refresh").is_none() && rr["args"].get("target").is_none(), "{}", rr["args"]);
    let manifest = json(&f.path().join("target/manifest.json"));
    assert_eq!(manifest["metadata"]["env"], json!({"TEAM": "data"}));
}

/// A node whose SQL reads the database compiles only as it runs (dbt
/// compiles each node right before it runs): that SQL is its compiled code
/// in target/compiled/, run_results.json and the manifest written after the run.
#[test]
fn what_a_node_compiles_as_it_runs_is_its_compiled_code_everywhere() {
    let f = shop();
    f.write(
        "models/counted.sql",
        "-- depends_on: {{ ref('stg_orders') }}\n{% set n = run_query('select count(*) from ' ~ ref('stg_orders')).columns[0].values()[0] if execute else 0 %}\nselect {{ n }} as orders_then",
    );
    f.write(
        "tests/counted_matches.sql",
        "-- depends_on: {{ ref('stg_orders') }}\n{% set n = run_query('select count(*) from ' ~ ref('stg_orders')).columns[0].values()[0] if execute else 0 %}\nselect * from {{ ref('counted') }} where orders_then <> {{ n }}",
    );
    let r = f.run(&["build"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let target = f.path().join("target");
    let file = std::fs::read_to_string(target.join("compiled/shop/models/counted.sql")).expect("compiled file");
    assert!(file.trim_end().ends_with("select 4 as orders_then"), "{file}");
    let test = std::fs::read_to_string(target.join("compiled/shop/tests/counted_matches.sql")).expect("compiled test");
    assert!(test.trim_end().ends_with("where orders_then <> 4"), "{test}");
    let rr = json(&target.join("run_results.json"));
    // The file ends with a line break; the artifacts' text is the SQL alone.
    let (file, test) = (file.trim_end(), test.trim_end());
    assert_eq!(result(&rr, "model.shop.counted")["compiled_code"].as_str(), Some(file));
    assert_eq!(result(&rr, "test.shop.counted_matches")["compiled_code"].as_str(), Some(test));
    let m = json(&target.join("manifest.json"));
    assert_eq!(m["nodes"]["model.shop.counted"]["compiled_code"].as_str(), Some(file));
    assert_eq!(m["nodes"]["test.shop.counted_matches"]["compiled_code"].as_str(), Some(test));
}

/// A source's descriptions, loader, meta, tags and columns reach the
/// manifest and `graph.sources` as dbt writes them (codegen reads column
/// descriptions from there); expected values are dbt 1.10's for this file.
#[test]
fn source_properties_reach_the_manifest_and_the_graph() {
    let f = shop();
    f.write(
        "models/src.yml",
        "version: 2\nsources:\n  - name: raw\n    schema: main\n    description: The raw source\n    loader: fivetran\n    meta: {owner: a, level: source}\n    tags: [s1]\n    tables:\n      - name: raw_orders\n        description: \"Table {{ 'one' }}\"\n        meta: {level: table}\n        tags: [t1tag]\n        columns:\n          - name: id\n            description: First col\n            data_type: integer\n            meta: {pii: true}\n            tags: [ctag]\n            quote: true\n          - name: amount\n",
    );
    f.write(
        "models/described.sql",
        "{% set s = graph.sources.values() | selectattr('name', 'equalto', 'raw_orders') | first if execute else {} %}\nselect '{{ s.columns.id.description if execute }}' as id_description, '{{ s.description if execute }}' as description",
    );
    let r = f.run(&["run", "--select", "described"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select id_description, description from described"), [["First col", "Table one"]]);
    let m = json(&f.path().join("target/manifest.json"));
    let src = &m["sources"]["source.shop.raw.raw_orders"];
    assert_eq!(
        (&src["description"], &src["source_description"], &src["loader"]),
        (&json!("Table one"), &json!("The raw source"), &json!("fivetran"))
    );
    assert_eq!(src["meta"], json!({"owner": "a", "level": "table"}));
    assert_eq!(src["source_meta"], json!({"owner": "a", "level": "source"}));
    assert_eq!(src["tags"], json!(["s1", "t1tag"]));
    assert_eq!(src["config"]["meta"], src["meta"]);
    assert_eq!(
        src["columns"]["id"],
        json!({"name": "id", "description": "First col", "meta": {"pii": true}, "data_type": "integer", "constraints": [],
               "quote": true, "config": {"meta": {"pii": true}, "tags": ["ctag"]}, "tags": ["ctag"], "granularity": null, "doc_blocks": []})
    );
    assert_eq!(src["columns"]["amount"]["description"], "");
    assert_eq!(src["columns"]["amount"]["quote"], Value::Null);
}

/// A column's tags go to the tests declared on it, before their own, and
/// its meta and tags into the manifest's column entry (dbt 1.10's output).
#[test]
fn column_tags_reach_the_columns_tests_and_the_manifest() {
    let f = shop();
    f.write("models/tagged.sql", "select 1 as x, 2 as y");
    f.write(
        "models/tagged.yml",
        "version: 2\nmodels:\n  - name: tagged\n    config: {tags: [mt]}\n    columns:\n      - name: x\n        meta: {pii: true}\n        tags: [a]\n        data_tests: [not_null, {unique: {config: {tags: [own]}}}]\n      - name: y\n",
    );
    let r = f.run(&[
        "ls",
        "--resource-type",
        "test",
        "--select",
        "tagged",
        "--output",
        "json",
        "--output-keys",
        "name tags",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        [r#"{"name": "not_null_tagged_x", "tags": ["a"]}"#, r#"{"name": "unique_tagged_x", "tags": ["a", "own"]}"#]
    );
    let r = f.run(&["compile", "--select", "tagged"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = json(&f.path().join("target/manifest.json"));
    let x = &m["nodes"]["model.shop.tagged"]["columns"]["x"];
    assert_eq!((&x["meta"], &x["tags"]), (&json!({"pii": true}), &json!(["a"])));
    assert_eq!(x["config"], json!({"meta": {"pii": true}, "tags": ["a"]}));
    assert_eq!(m["nodes"]["model.shop.tagged"]["columns"]["y"]["tags"], json!([]));
}

/// Exposures and metrics are accepted, not read, and said so once.
#[test]
fn sections_runner_does_not_read_are_named_once() {
    let f = shop();
    let r = f.run(&["compile"]);
    assert!(!r.stderr.contains("accepted and not read"), "{}", r.stderr);
    f.write(
        "models/exposures.yml",
        "version: 2\nexposures:\n  - name: weekly\n    type: dashboard\n    owner: {name: A, email: a@x.com}\n    depends_on: [ref('customers')]\nmetrics: [{name: m}]\nsaved_queries: []\n",
    );
    let r = f.run(&["compile"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Exposures are read (tests/exposures.rs); an empty section is nothing to name.
    let note = "note: the property files' metrics are accepted and not read: runner writes no manifest entries for them and cannot select by them";
    assert_eq!(r.stderr.matches(note).count(), 1, "{}", r.stderr);
}

#[test]
fn run_operation_calls_one_macro_against_the_database() {
    let f = shop();
    f.write(
        "macros/ops.sql",
        "{% macro make_audit(name, rows=2) %}\n  {% do run_query('create table ' ~ name ~ ' as select range as i from range(' ~ rows ~ ')') %}\n  {% set t = run_query('select count(*) as n from ' ~ name) %}\n  {{ log('made ' ~ name ~ ' with ' ~ t.rows[0][0] ~ ' rows', info=True) }}\n  {% do t.print_table() %}\n{% endmacro %}\n\n{% macro broken() %}\n  {% do run_query('create table half_done as select 1 as x') %}\n  {{ exceptions.raise_compiler_error('stop here') }}\n{% endmacro %}\n",
    );
    // dbt's graph is there, as codegen reads it.
    f.write(
        "macros/models.sql",
        "{% macro list_models() %}{{ log('models: ' ~ (graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | map(attribute='name') | sort | join(',')), info=True) }}{% endmacro %}\n\
         {% macro yaml_out() %}{{ print('version: 2\\nmodels:\\n  - name: x') }}{% endmacro %}\n",
    );
    let r = f.run(&["run-operation", "list_models"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("models: customers,stg_orders"), "{}", r.stdout);
    // `print` is Python's (codegen's YAML is copied from it): no time in front.
    let r = f.run(&["run-operation", "yaml_out"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("\nversion: 2\nmodels:\n  - name: x\n") || r.stdout.starts_with("version: 2\n"),
        "{}",
        r.stdout
    );
    let r = f.run(&["run-operation", "make_audit", "--args", "{name: audit_a, rows: 3}"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("made audit_a with 3 rows\n| n |\n| - |\n| 3 |"), "{}", r.stdout);
    assert_eq!(f.query("select count(*) from audit_a"), [["3"]]);
    // dbt writes one result for the operation, and its arguments under `args`.
    let rr = json(&f.path().join("target/run_results.json"));
    let results = rr["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{rr}");
    assert_eq!(results[0]["unique_id"], "macro.shop.make_audit");
    assert_eq!((&results[0]["status"], &results[0]["failures"]), (&json!("success"), &json!(0)));
    assert_eq!(results[0]["thread_id"], "MainThread");
    assert_eq!(rr["args"]["which"], "run-operation");
    assert_eq!(rr["args"]["macro"], "make_audit");
    assert_eq!(rr["args"]["args"], json!({"name": "audit_a", "rows": 3}));
    let r = f.run(&["run-operation", "broken"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("running operation `broken`") && r.stderr.contains("stop here"), "{}", r.stderr);
    let rr = json(&f.path().join("target/run_results.json"));
    assert_eq!(rr["results"][0]["unique_id"], "macro.shop.broken");
    assert_eq!((&rr["results"][0]["status"], &rr["results"][0]["failures"]), (&json!("error"), &json!(1)));
    assert!(relations(&f).contains(&"half_done".to_string()), "{:?}", relations(&f));
    let r = f.run(&["run-operation", "nope"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no macro named `nope`"), "{}", r.stderr);
    let r = f.run(&["run-operation", "make_audit", "--args", "[1, 2]"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("`--args`"), "{}", r.stderr);
}
