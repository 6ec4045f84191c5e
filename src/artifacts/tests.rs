//! Unit tests of run_results.json, the manifest and the file layout.

use super::*;
use std::collections::BTreeMap;

#[test]
fn writes_dbt_fields_and_statuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rr = RunResults::new(dir.path(), "inv-1");
    let node = NodeLabel {
        id: "test.shop.t".into(),
        name: "t".into(),
        resource: Resource::Test,
        tested_model: None,
        materialized: String::new(),
        relation: None,
        relation_name: None,
        file: "m.yml".into(),
    };
    let result = NodeResult {
        status: Status::Fail,
        duration: std::time::Duration::from_millis(20),
        count: Some(3),
        message: Some("Got 3 results".into()),
        started: 0.5,
        finished: 0.52,
        worker: 1,
        attempts: 1,
        sql: Vec::new(),
        compiled: None,
    };
    rr.event(&Event::RunStarted { total: 1, at: Utc::now() });
    rr.event(&Event::NodeFinished { index: 1, total: 1, node, result });
    rr.event(&Event::RunFinished { elapsed: std::time::Duration::from_secs(1) });
    let text = std::fs::read_to_string(dir.path().join("run_results.json")).expect("written");
    let v: Value = serde_json::from_str(&text).expect("json");
    let r = &v["results"][0];
    assert_eq!(r["unique_id"], "test.shop.t");
    assert_eq!(r["status"], "fail");
    assert_eq!(r["failures"], 3);
    assert_eq!(r["thread_id"], "Thread-2 (worker)");
    assert_eq!(r["timing"][1]["name"], "execute");
    assert_eq!(v["metadata"]["invocation_id"], "inv-1");
    assert!(r["timing"][0]["started_at"].as_str().expect("iso").ends_with('Z'));
}

mod project_artifacts {
    use super::super::layout::Layout;
    use super::super::manifest;
    use super::super::*;
    use crate::nodes::{self, Plan};
    use crate::project::{self, env::Env, profile, Project};
    use crate::template::{Templates, Vars};
    use std::collections::{BTreeMap, BTreeSet};

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// The integration fixture's shop, plus a source read by a model and tested in a subfolder.
    fn shop() -> (tempfile::TempDir, Project, profile::Target, Plan) {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        write(r, "dbt_project.yml", "name: shop\nprofile: shop\n");
        write(r, "seeds/raw_orders.csv", "id,customer_id,status\n1,1,placed\n");
        write(
            r,
            "models/staging/stg_orders.sql",
            "select id as order_id, customer_id, status from {{ ref('raw_orders') }}\n",
        );
        write(
            r,
            "models/marts/customers.sql",
            "{{ config(materialized='table') }}\nselect customer_id from {{ ref('stg_orders') }}\n",
        );
        write(r, "models/marts/events.sql", "select * from {{ source('raw', 'events') }}\n");
        write(
            r,
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: stg_orders\n    columns:\n      - name: order_id\n        data_tests: [not_null]\n      - name: customer_id\n        data_tests:\n          - relationships:\n              arguments:\n                to: ref('customers')\n                field: customer_id\n",
        );
        write(
            r,
            "models/marts/props.yml",
            "version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: events\nmodels:\n  - name: customers\n    columns:\n      - name: customer_id\n        data_tests: [unique]\n",
        );
        write(r, "tests/sub/assert_some.sql", "select * from {{ ref('customers') }} where customer_id < 0\n");
        let project = project::load(r).expect("loads");
        let target = profile::Target {
            profile_name: "shop".into(),
            name: "dev".into(),
            kind: "duckdb".into(),
            path: r.join("warehouse.duckdb"),
            database: "warehouse".into(),
            schema: "main".into(),
            threads: 1,
            settings: BTreeMap::new(),
            extensions: Vec::new(),
            secrets: Vec::new(),
            external_root: ".".into(),
        };
        let templates = Templates::build(&project, &target, &Env::default(), Vars::default(), &[]).expect("templates");
        let plan = nodes::plan(&project, &target, &templates).expect("plans");
        (dir, project, target, plan)
    }

    /// A node by unique id, or a test by name (tests' ids end in a hash).
    fn node<'p>(plan: &'p Plan, id: &str) -> &'p crate::nodes::Node {
        let test_name = id.strip_prefix("test.shop.");
        plan.nodes
            .iter()
            .find(|n| n.id == id || Some(n.name.as_str()) == test_name)
            .unwrap_or_else(|| panic!("no node `{id}`"))
    }

    const LONG: &str = "test.shop.relationships_stg_orders_customer_id__customer_id__ref_customers_";

    #[test]
    fn layout_follows_dbt_for_fqn_paths_and_long_test_names() {
        let (_dir, project, _target, plan) = shop();
        let layout = Layout::new(&project);
        let customers = node(&plan, "model.shop.customers");
        assert_eq!(customers.fqn(), ["shop", "marts", "customers"]);
        assert_eq!(layout.path(customers), "marts/customers.sql");
        assert_eq!(layout.sql_path(customers), PathBuf::from("models/marts/customers.sql"));
        let singular = node(&plan, "test.shop.assert_some");
        assert_eq!(singular.fqn(), ["shop", "sub", "assert_some"]);
        assert_eq!(layout.sql_path(singular), PathBuf::from("tests/sub/assert_some.sql"));
        let seed = node(&plan, "seed.shop.raw_orders");
        assert_eq!(seed.fqn(), ["shop", "raw_orders"]);
        assert_eq!(layout.sql_path(seed), PathBuf::from("seeds/raw_orders.csv"));
        // A test declared in models/marts/props.yml lives in the `marts` folder.
        let unique = node(&plan, "test.shop.unique_customers_customer_id");
        assert_eq!(unique.fqn(), ["shop", "marts", "unique_customers_customer_id"]);
        assert_eq!(layout.sql_path(unique), PathBuf::from("models/marts/props.yml/unique_customers_customer_id.sql"));
        // dbt 1.10 names this 65-character test's file and alias so (checked with real dbt).
        let long = node(&plan, LONG);
        assert_eq!(layout.alias(long), "relationships_stg_orders_ea624a80826c8a7f9bd15b85fd5d6316");
        assert_eq!(
            layout.sql_path(long),
            PathBuf::from("models/schema.yml/relationships_stg_orders_ea624a80826c8a7f9bd15b85fd5d6316.sql")
        );
        assert_eq!(layout.path(long), "relationships_stg_orders_ea624a80826c8a7f9bd15b85fd5d6316.sql");
        assert_eq!(layout.alias(node(&plan, "test.shop.not_null_stg_orders_order_id")), "not_null_stg_orders_order_id");
    }

    #[test]
    fn manifest_has_dbt_node_fields_sources_and_both_maps() {
        let (_dir, project, target, plan) = shop();
        let compiled = BTreeMap::from([("model.shop.customers".to_string(), "select 1".to_string())]);
        let doc = manifest::build(manifest::Inputs {
            project: &project,
            target: &target,
            plan: &plan,
            compiled: &compiled,
            executed: &BTreeSet::from(["seed.shop.raw_orders".to_string()]),
            invocation_id: "inv-9",
            started_at: Utc::now(),
            templates: None,
            metadata_env: None,
        });
        assert_eq!(doc["metadata"]["dbt_schema_version"], "https://schemas.getdbt.com/dbt/manifest/v12.json");
        assert_eq!(doc["metadata"]["invocation_id"], "inv-9");
        let c = &doc["nodes"]["model.shop.customers"];
        assert_eq!(c["unique_id"], "model.shop.customers");
        assert_eq!(c["resource_type"], "model");
        assert_eq!(c["package_name"], "shop");
        assert_eq!(c["fqn"], json!(["shop", "marts", "customers"]));
        assert_eq!(c["depends_on"]["nodes"], json!(["model.shop.stg_orders"]));
        assert_eq!(c["config"]["materialized"], "table");
        assert_eq!(c["config"]["enabled"], true);
        // dbt 1.10's defaults for what runner does not model.
        assert_eq!(c["config"]["lookback"], 1);
        for key in ["freshness", "incremental_strategy", "event_time", "concurrent_batches"] {
            assert_eq!(c["config"].get(key), Some(&Value::Null), "`{key}` is present and null");
        }
        assert_eq!(c["original_file_path"], "models/marts/customers.sql");
        assert_eq!(c["path"], "marts/customers.sql");
        assert_eq!(c["compiled_path"], "target/compiled/shop/models/marts/customers.sql");
        assert_eq!(c["compiled_code"], "select 1");
        assert_eq!(c["relation_name"], "\"warehouse\".\"main\".\"customers\"");
        assert_eq!(c["database"], "warehouse");
        assert_eq!(c["schema"], "main");
        assert_eq!(c["alias"], "customers");
        assert!(c["raw_code"].as_str().expect("raw code").contains("{{ ref('stg_orders') }}"));
        // Not compiled in this invocation: no compiled path, as dbt after a parse.
        assert_eq!(doc["nodes"]["model.shop.stg_orders"]["compiled_path"], Value::Null);
        assert_eq!(doc["nodes"]["model.shop.stg_orders"]["config"]["materialized"], "view");
        let seed = &doc["nodes"]["seed.shop.raw_orders"];
        assert_eq!(seed["resource_type"], "seed");
        assert_eq!(seed["config"]["materialized"], "seed");
        assert_eq!(seed["relation_name"], "\"warehouse\".\"main\".\"raw_orders\"");
        assert_eq!(seed["build_path"], "target/run/shop/seeds/raw_orders.csv");
        assert_eq!(c["build_path"], Value::Null, "not run by this invocation");
        let long_id = node(&plan, LONG).id.clone();
        assert!(long_id.starts_with(&format!("{LONG}.")), "{long_id}");
        let t = &doc["nodes"][&long_id];
        assert_eq!(t["resource_type"], "test");
        assert_eq!(t["schema"], "main_dbt_test__audit");
        assert_eq!(t["relation_name"], Value::Null);
        assert_eq!(t["column_name"], "customer_id");
        assert_eq!(t["attached_node"], "model.shop.stg_orders");
        assert_eq!(t["test_metadata"]["name"], "relationships");
        assert_eq!(t["config"]["severity"], "ERROR");
        assert_eq!(t["alias"], "relationships_stg_orders_ea624a80826c8a7f9bd15b85fd5d6316");
        assert_eq!(t["config"]["alias"], t["alias"]);
        assert_eq!(
            t["raw_code"],
            "{{ test_relationships(**_dbt_generic_test_kwargs) }}\
             {{ config(alias=\"relationships_stg_orders_ea624a80826c8a7f9bd15b85fd5d6316\") }}"
        );
        assert_eq!(t["compiled_path"], Value::Null, "only nodes this invocation compiled have a compiled path");
        assert_eq!(t["depends_on"]["nodes"], json!(["model.shop.customers", "model.shop.stg_orders"]));
        let src = &doc["sources"]["source.shop.raw.events"];
        assert_eq!(src["resource_type"], "source");
        assert_eq!(src["fqn"], json!(["shop", "marts", "raw", "events"]));
        assert_eq!(src["relation_name"], "\"warehouse\".\"main\".\"events\"");
        assert_eq!(doc["parent_map"]["model.shop.events"], json!(["source.shop.raw.events"]));
        assert_eq!(doc["nodes"]["model.shop.events"]["sources"], json!([["raw", "events"]]));
        assert_eq!(doc["nodes"]["model.shop.events"]["refs"], json!([]));
        assert_eq!(doc["parent_map"]["source.shop.raw.events"], json!([]));
        assert_eq!(doc["child_map"]["source.shop.raw.events"], json!(["model.shop.events"]));
        assert_eq!(
            doc["child_map"]["model.shop.stg_orders"],
            json!(["model.shop.customers", node(&plan, "test.shop.not_null_stg_orders_order_id").id, long_id])
        );
        // Every node and source is a key of both maps, and the maps mirror each other.
        let keys = |m: &Value| m.as_object().expect("map").keys().cloned().collect::<BTreeSet<_>>();
        assert_eq!(keys(&doc["parent_map"]), keys(&doc["child_map"]));
        assert_eq!(keys(&doc["parent_map"]).len(), plan.nodes.len() + 1);
        for (child, parents) in doc["parent_map"].as_object().expect("map") {
            for p in parents.as_array().expect("list") {
                let children = doc["child_map"][p.as_str().expect("id")].as_array().expect("list");
                assert!(children.contains(&json!(child)), "{p} → {child}");
            }
        }
    }

    #[test]
    fn manifest_is_one_line_of_every_entry_whatever_the_window() {
        let (dir, _project, target, _plan) = shop();
        // User config the entry writer converts: a lone tag, nested meta out
        // of order, a lowercase severity.
        write(
            dir.path(),
            "models/marts/tagged.sql",
            "{{ config(tags='nightly', meta={'z': 1, 'a': {'y': 2, 'b': 'it\"s'}}) }}\nselect 1 as id\n",
        );
        write(
            dir.path(),
            "models/marts/tagged.yml",
            "version: 2\nmodels:\n  - name: tagged\n    columns:\n      - name: id\n        data_tests:\n          - unique:\n              config: {severity: warn}\n",
        );
        // Run hooks are `operation` nodes, written among the others in id order.
        write(
            dir.path(),
            "dbt_project.yml",
            "name: shop\nprofile: shop\non-run-start: [\"select 1\", \"select {{ 2 }}\"]\non-run-end: select 3\n",
        );
        let project = project::load(dir.path()).expect("loads");
        let templates = Templates::build(&project, &target, &Env::default(), Vars::default(), &[]).expect("templates");
        let plan = nodes::plan(&project, &target, &templates).expect("plans");
        let (compiled, executed) = (BTreeMap::new(), BTreeSet::new());
        let m = manifest::Manifest::new(manifest::Inputs {
            project: &project,
            target: &target,
            plan: &plan,
            compiled: &compiled,
            executed: &executed,
            invocation_id: "inv-w",
            started_at: Utc::now(),
            templates: None,
            metadata_env: None,
        });
        // `generated_at` is the time of writing: blank it out to compare.
        let text = |window| {
            let bytes = manifest::document_windowed(&m, window).expect("written");
            let text = String::from_utf8(bytes).expect("utf-8");
            let at = text.find("\"generated_at\":\"").expect("generated_at") + 16;
            let end = at + text[at..].find('"').expect("closing quote");
            format!("{}{}", &text[..at], &text[end..])
        };
        let whole = text(4096);
        assert!(!whole.contains('\n'), "one line, as dbt writes it");
        for window in [1, 2, 3] {
            assert_eq!(text(window), whole, "window {window}");
        }
        let doc: Value = serde_json::from_str(&whole).expect("json");
        // Entries are written field by field, not through serde_json: the
        // text must still be what serde_json writes (keys sorted, compact).
        assert_eq!(serde_json::to_string(&doc).expect("json"), whole);
        let nodes = doc["nodes"].as_object().expect("nodes");
        assert_eq!(nodes.len(), plan.nodes.len() + plan.ephemeral.nodes.len() + 3);
        let hook = &nodes["operation.shop.shop-on-run-start-1"];
        assert_eq!(
            (&hook["resource_type"], &hook["raw_code"], &hook["index"], &hook["tags"], &hook["path"]),
            (
                &json!("operation"),
                &json!("select {{ 2 }}"),
                &json!(1),
                &json!(["on-run-start"]),
                &json!("hooks/shop-on-run-start-1.sql")
            )
        );
        assert_eq!(hook["fqn"], json!(["shop", "hooks", "shop-on-run-start-1"]));
        assert_eq!(
            (&hook["original_file_path"], &hook["checksum"]["name"]),
            (&json!("./dbt_project.yml"), &json!("sha256"))
        );
        assert_eq!(nodes["operation.shop.shop-on-run-end-0"]["tags"], json!(["on-run-end"]));
        assert_eq!(doc["parent_map"]["operation.shop.shop-on-run-end-0"], json!([]));
        assert_eq!(doc["child_map"]["operation.shop.shop-on-run-start-0"], json!([]));
        for (id, entry) in nodes {
            let (own, is_source) = m.entry(id).expect("entry");
            assert!(!is_source);
            assert_eq!(&own, entry, "{id}");
            // `ls` reads these fields from the brief entry: the same values.
            let (brief, _) = m.brief(id).expect("brief");
            for (k, v) in brief.as_object().expect("map") {
                assert_eq!(&entry[k], v, "{id}: {k}");
            }
        }
        let tagged = &nodes["model.shop.tagged"];
        assert_eq!((&tagged["tags"], &tagged["config"]["tags"]), (&json!(["nightly"]), &json!(["nightly"])));
        assert_eq!(tagged["meta"], json!({"a": {"b": "it\"s", "y": 2}, "z": 1}));
        let warned = nodes.values().find(|e| e["name"] == "unique_tagged_id").expect("test on tagged");
        assert_eq!(warned["config"]["severity"], "WARN");
        assert_eq!(m.brief("source.shop.raw.events"), m.entry("source.shop.raw.events"));
        assert_eq!(m.brief("model.shop.nope"), None);
    }

    #[test]
    fn manifest_lists_ephemeral_models_with_the_edges_through_them() {
        let (dir, _project, target, _plan) = shop();
        let r = dir.path();
        write(
            r,
            "models/staging/eph_orders.sql",
            "{{ config(materialized='ephemeral', schema='stage', alias='eph_o') }}\nselect * from {{ ref('stg_orders') }} join {{ source('raw', 'events') }} on true\n\
             union all select * from {{ ref('stg_orders') }} join {{ source('raw', 'events') }} on true\n",
        );
        write(r, "models/marts/from_eph.sql", "select * from {{ ref('eph_orders') }}\n");
        let project = project::load(r).expect("loads");
        let templates = Templates::build(&project, &target, &Env::default(), Vars::default(), &[]).expect("templates");
        let plan = nodes::plan(&project, &target, &templates).expect("plans");
        assert!(plan.nodes.iter().all(|n| n.id != "model.shop.eph_orders"), "ephemerals never execute");
        let doc = manifest::build(manifest::Inputs {
            project: &project,
            target: &target,
            plan: &plan,
            compiled: &BTreeMap::new(),
            executed: &BTreeSet::new(),
            invocation_id: "inv-e",
            started_at: Utc::now(),
            templates: None,
            metadata_env: None,
        });
        // dbt's values (checked with dbt 1.10): where it would be built, but no relation.
        let e = &doc["nodes"]["model.shop.eph_orders"];
        assert_eq!(e["config"]["materialized"], "ephemeral");
        assert_eq!(e["fqn"], json!(["shop", "staging", "eph_orders"]));
        assert_eq!(e["relation_name"], Value::Null);
        assert_eq!(
            (&e["database"], &e["schema"], &e["alias"]),
            (&json!("warehouse"), &json!("main_stage"), &json!("eph_o"))
        );
        // Sources first, then refs, as dbt lists them.
        assert_eq!(e["depends_on"]["nodes"], json!(["source.shop.raw.events", "model.shop.stg_orders"]));
        // Every call, repeats included, as dbt records `refs` and `sources`.
        assert_eq!(e["sources"], json!([["raw", "events"], ["raw", "events"]]));
        assert_eq!(e["refs"].as_array().map(Vec::len), Some(2));
        // Its child depends on it, not on what it was folded onto.
        assert_eq!(doc["nodes"]["model.shop.from_eph"]["depends_on"]["nodes"], json!(["model.shop.eph_orders"]));
        assert_eq!(doc["parent_map"]["model.shop.from_eph"], json!(["model.shop.eph_orders"]));
        assert_eq!(doc["child_map"]["model.shop.eph_orders"], json!(["model.shop.from_eph"]));
        assert_eq!(doc["child_map"]["source.shop.raw.events"], json!(["model.shop.eph_orders", "model.shop.events"]));
        let stg_children = doc["child_map"]["model.shop.stg_orders"].as_array().expect("list");
        assert!(stg_children.contains(&json!("model.shop.eph_orders")));
        assert!(!stg_children.contains(&json!("model.shop.from_eph")), "{stg_children:?}");
    }
}

#[test]
fn run_results_carry_compiled_code_adapter_response_and_write_target_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = dir.path().join("run").join("shop");
    let files = BTreeMap::from([
        (
            "model.shop.m".to_string(),
            NodeFiles { sql_path: PathBuf::from("models/m.sql"), compiled_code: Some("select 1 as x".into()) },
        ),
        ("seed.shop.s".to_string(), NodeFiles { sql_path: PathBuf::from("seeds/s.csv"), compiled_code: None }),
    ]);
    let mut rr = RunResults::new(dir.path(), "inv-2").with_files("build", Some(run_dir.clone()), files);
    let label = |id: &str, resource: Resource| NodeLabel {
        id: id.into(),
        name: id.rsplit('.').next().expect("name").into(),
        resource,
        tested_model: None,
        materialized: if resource == Resource::Model { "table".into() } else { String::new() },
        relation: Some("main.x".into()),
        relation_name: Some("\"w\".\"main\".\"x\"".into()),
        file: "f".into(),
    };
    let result = |count: Option<u64>, sql: Vec<String>| NodeResult {
        status: Status::Success,
        duration: std::time::Duration::from_millis(5),
        count,
        message: Some("OK".into()),
        started: 0.1,
        finished: 0.2,
        worker: 0,
        attempts: 1,
        sql,
        compiled: None,
    };
    rr.event(&Event::RunStarted { total: 3, at: Utc::now() });
    let ddl = vec!["create or replace table \"w\".\"main\".\"m\" as (\nselect 1 as x\n)".to_string()];
    rr.event(&Event::NodeFinished {
        index: 1,
        total: 3,
        node: label("model.shop.m", Resource::Model),
        result: result(None, ddl),
    });
    rr.event(&Event::NodeFinished {
        index: 2,
        total: 3,
        node: label("seed.shop.s", Resource::Seed),
        result: result(Some(4), vec!["delete from x".into(), "insert into x select 1".into()]),
    });
    rr.event(&Event::NodeSkipped {
        index: 3,
        total: 3,
        node: label("model.shop.n", Resource::Model),
        because: "m".into(),
    });
    rr.event(&Event::RunFinished { elapsed: std::time::Duration::from_secs(1) });
    assert_eq!(rr.write_error, None);
    let v: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run_results.json")).expect("written")).expect("json");
    assert_eq!(v["args"]["which"], "build");
    let m = &v["results"][0];
    assert_eq!(m["compiled"], true);
    assert_eq!(m["compiled_code"], "select 1 as x");
    assert_eq!(m["relation_name"], "\"w\".\"main\".\"x\"");
    assert_eq!(m["adapter_response"], json!({"_message": "OK"}));
    assert_eq!(m["thread_id"], "Thread-1 (worker)");
    let names: Vec<&str> = m["timing"].as_array().expect("timing").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["compile", "execute"]);
    let s = &v["results"][1];
    assert_eq!(s["adapter_response"], json!({"_message": "INSERT 4", "code": "INSERT", "rows_affected": 4}));
    assert_eq!(s["relation_name"], Value::Null, "dbt leaves seeds' relation_name out of run_results");
    assert_eq!(s["failures"], Value::Null);
    let skipped = &v["results"][2];
    assert_eq!(skipped["status"], "skipped");
    assert_eq!(skipped["timing"], json!([]));
    assert_eq!(skipped["compiled"], false);
    assert_eq!(skipped["message"], Value::Null);
    let run_sql = std::fs::read_to_string(run_dir.join("models/m.sql")).expect("target/run file");
    assert!(run_sql.starts_with("create or replace table \"w\".\"main\".\"m\" as (") && run_sql.ends_with(");\n"));
    let seed_sql = std::fs::read_to_string(run_dir.join("seeds/s.csv")).expect("seed's target/run file");
    assert_eq!(seed_sql, "delete from x;\n\ninsert into x select 1;\n");
}

#[test]
fn sql_files_are_rewritten_only_when_their_text_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rel = Path::new("models/marts/x.sql");
    write_sql(dir.path(), rel, "select 1").expect("written");
    let path = dir.path().join(rel);
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "select 1\n");
    let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    let set_old = || std::fs::File::options().write(true).open(&path).expect("open").set_modified(long_ago);
    set_old().expect("mtime");
    write_sql(dir.path(), rel, "select 1\n").expect("same text");
    let mtime = || std::fs::metadata(&path).expect("meta").modified().expect("mtime");
    assert_eq!(mtime(), long_ago, "the same text leaves the file alone");
    write_sql(dir.path(), rel, "select 22").expect("new text");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "select 22\n");
    assert_ne!(mtime(), long_ago);
}
