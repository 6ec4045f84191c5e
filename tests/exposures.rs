//! Exposures as dbt-core 1.10 reads them: listed by `ls`, selected
//! (`exposure:`, `+exposure:x`, by fqn, tag and path), written to the
//! manifest with their parents and children, and checked while loading.
//! Every expected line and field below is what dbt printed or wrote for the
//! same project (dbt-core 1.10.23, dbt-duckdb 1.9.6).

mod common;

use common::Fixture;
use serde_json::{json, Value};

fn project() -> Fixture {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nversion: '1.0'\nprofile: shop\nmodels:\n  shop:\n    +materialized: view\nexposures:\n  shop:\n    +meta: {team: bi}\n");
    f.write("seeds/raw_customers.csv", "id,name\n1,a\n");
    f.write("models/stg_customers.sql", "select * from {{ ref('raw_customers') }}\n");
    f.write("models/marts/customers.sql", "select * from {{ ref('stg_customers') }}\n");
    f.write("models/stg_orders.sql", "select * from {{ source('app','orders') }}\n");
    f.write(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: app\n    schema: main\n    tables: [{name: orders}]\n",
    );
    f.write(
        "models/marts/exposures.yml",
        "version: 2\nexposures:\n  - name: weekly_dashboard\n    label: Weekly Dashboard\n    type: dashboard\n    maturity: high\n    url: https://bi.example.com/1\n    description: \"Weekly numbers\"\n    tags: [finance]\n    depends_on:\n      - ref('customers')\n      - source('app', 'orders')\n    owner:\n      name: Jane\n      email: jane@example.com\n  - name: nb\n    type: notebook\n    owner: {email: x@y.z}\n    config:\n      enabled: true\n      meta: {k: 1}\n",
    );
    f
}

fn ls(f: &Fixture, args: &[&str]) -> Vec<String> {
    let r = f.run(&[&["ls"], args].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("Nothing to do"), "{}", r.stderr);
    r.stdout.lines().map(str::to_string).collect()
}

#[test]
fn exposures_are_listed_and_selected_as_dbt_lists_them() {
    let f = project();
    assert_eq!(
        ls(&f, &[]),
        [
            "exposure:shop.nb",
            "exposure:shop.weekly_dashboard",
            "shop.marts.customers",
            "shop.stg_customers",
            "shop.stg_orders",
            "shop.raw_customers",
            "source:shop.app.orders"
        ]
    );
    assert_eq!(
        ls(&f, &["-s", "+exposure:weekly_dashboard"]),
        [
            "exposure:shop.weekly_dashboard",
            "shop.marts.customers",
            "shop.stg_customers",
            "shop.raw_customers",
            "source:shop.app.orders"
        ]
    );
    assert_eq!(ls(&f, &["-s", "weekly_dashboard", "tag:finance"]), ["exposure:shop.weekly_dashboard"]);
    assert_eq!(ls(&f, &["-s", "exposure:nb", "--output", "name"]), ["nb"]);
    assert_eq!(ls(&f, &["-s", "path:models/marts/exposures.yml", "--output", "path"]).len(), 2);
    assert_eq!(
        ls(&f, &["-s", "marts.*"]),
        ["exposure:shop.nb", "exposure:shop.weekly_dashboard", "shop.marts.customers"]
    );
    assert_eq!(
        ls(&f, &["--resource-type", "exposure", "--output", "json"]),
        [
            r#"{"name": "nb", "resource_type": "exposure", "package_name": "shop", "original_file_path": "models/marts/exposures.yml", "unique_id": "exposure.shop.nb", "tags": [], "config": {"enabled": true, "tags": [], "meta": {"k": 1}}, "depends_on": {"macros": [], "nodes": []}}"#,
            r#"{"name": "weekly_dashboard", "resource_type": "exposure", "package_name": "shop", "original_file_path": "models/marts/exposures.yml", "unique_id": "exposure.shop.weekly_dashboard", "tags": ["finance"], "config": {"enabled": true, "tags": ["finance"], "meta": {"team": "bi"}}, "depends_on": {"macros": [], "nodes": ["source.shop.app.orders", "model.shop.customers"]}}"#,
        ]
    );
    // A run of an exposure alone runs nothing, and says so as dbt does.
    let r = f.run(&["run", "-s", "exposure:nb"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Nothing to do"), "{}", r.stderr);
}

#[test]
fn the_manifest_holds_exposures_with_their_parents_as_dbt_writes_them() {
    let f = project();
    ls(&f, &[]);
    let text = std::fs::read_to_string(f.path().join("target/manifest.json")).expect("manifest");
    let m: Value = serde_json::from_str(&text).expect("json");
    let mut e = m["exposures"]["exposure.shop.weekly_dashboard"].clone();
    assert!(e["created_at"].as_f64().is_some_and(|t| t > 1.7e9), "{e}");
    e.as_object_mut().expect("object").remove("created_at");
    let dbt = json!({
        "name": "weekly_dashboard", "resource_type": "exposure", "package_name": "shop",
        "path": "marts/exposures.yml", "original_file_path": "models/marts/exposures.yml",
        "unique_id": "exposure.shop.weekly_dashboard", "fqn": ["shop", "marts", "weekly_dashboard"],
        "type": "dashboard", "owner": {"email": "jane@example.com", "name": "Jane"},
        "description": "Weekly numbers", "label": "Weekly Dashboard", "maturity": "high",
        "meta": {"team": "bi"}, "tags": ["finance"],
        "config": {"enabled": true, "tags": ["finance"], "meta": {"team": "bi"}},
        "unrendered_config": {"meta": {"team": "bi"}}, "url": "https://bi.example.com/1",
        "depends_on": {"macros": [], "nodes": ["source.shop.app.orders", "model.shop.customers"]},
        "refs": [{"name": "customers", "package": null, "version": null}],
        "sources": [["app", "orders"]], "metrics": [],
    });
    assert_eq!(e, dbt);
    assert_eq!(m["exposures"]["exposure.shop.nb"]["owner"], json!({"email": "x@y.z", "name": null}));
    assert_eq!(m["exposures"]["exposure.shop.nb"]["unrendered_config"], json!({"meta": {"k": 1}, "enabled": true}));
    assert_eq!(
        m["parent_map"]["exposure.shop.weekly_dashboard"],
        json!(["model.shop.customers", "source.shop.app.orders"])
    );
    assert_eq!(m["parent_map"]["exposure.shop.nb"], json!([]));
    assert_eq!(m["child_map"]["model.shop.customers"], json!(["exposure.shop.weekly_dashboard"]));
    assert_eq!(
        m["child_map"]["source.shop.app.orders"],
        json!(["exposure.shop.weekly_dashboard", "model.shop.stg_orders"])
    );
    assert_eq!(m["child_map"]["exposure.shop.nb"], json!([]));
}

#[test]
fn configs_merge_as_dbt_merges_an_exposures() {
    let f = project();
    f.write("dbt_project.yml", "name: shop\nversion: '1.0'\nprofile: shop\nexposures:\n  shop:\n    +meta: {team: bi, x: 1}\n    +tags: [a]\n    marts:\n      +tags: [b]\n      +meta: {y: 2}\n      hidden:\n        +enabled: false\n");
    f.write(
        "models/marts/exposures.yml",
        "version: 2\nexposures:\n  - name: e1\n    type: dashboard\n    owner: {name: a, email: [p@q.r, s@t.u], slack: \"#x\"}\n    tags: [zeta, alpha]\n  - name: e3\n    type: dashboard\n    owner: {name: a}\n    config: {meta: {x: 1}}\n    meta: {team: a}\n    tags: [proj, z]\n  - name: hidden\n    type: ml\n    owner: {name: a}\n    depends_on: [ref('nothing')]\n",
    );
    assert_eq!(ls(&f, &["--resource-type", "exposure"]), ["exposure:shop.e1", "exposure:shop.e3"]);
    let text = std::fs::read_to_string(f.path().join("target/manifest.json")).expect("manifest");
    let m: Value = serde_json::from_str(&text).expect("json");
    let e1 = &m["exposures"]["exposure.shop.e1"];
    assert_eq!(e1["tags"], json!(["alpha", "b", "zeta"]));
    assert_eq!(e1["config"], json!({"enabled": true, "tags": ["alpha", "b", "zeta"], "meta": {"y": 2}}));
    assert_eq!(e1["unrendered_config"], json!({"meta": {"y": 2}, "tags": ["b"]}));
    assert_eq!(e1["owner"], json!({"email": ["p@q.r", "s@t.u"], "name": "a", "slack": "#x"}));
    let e3 = &m["exposures"]["exposure.shop.e3"];
    assert_eq!(e3["tags"], json!(["b", "proj", "z"]));
    assert_eq!(e3["meta"], json!({"team": "a", "x": 1}));
    assert_eq!(e3["unrendered_config"], json!({"meta": {"x": 1}, "tags": ["b"]}));
}

#[test]
fn what_an_exposure_names_must_exist_and_be_enabled() {
    let f = project();
    f.write(
        "models/marts/exposures.yml",
        "version: 2\nexposures:\n  - name: e1\n    type: dashboard\n    owner: {name: a}\n    depends_on:\n      - ref('customer')\n      - source('nope','t')\n      - metric('m')\n",
    );
    let r = f.run(&["ls"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for want in [
        "models/marts/exposures.yml:7: exposure `e1` depends on a node named `customer` which was not found\n  (hint: did you mean `customers`?)",
        "models/marts/exposures.yml:8: exposure `e1` depends on a source named `nope.t` which was not found",
        "models/marts/exposures.yml:9: exposure `e1` depends on a metric named `m` which was not found",
    ] {
        assert!(r.stderr.contains(want), "{want}\n{}", r.stderr);
    }
    f.write("models/schema.yml", "version: 2\nmodels:\n  - name: customers\n    config: {enabled: false}\n");
    f.write(
        "models/marts/exposures.yml",
        "version: 2\nexposures:\n  - name: e1\n    type: dashboard\n    owner: {name: a}\n    depends_on: [ref('customers')]\n  - name: e1\n    type: ml\n    owner: {name: a}\n",
    );
    let r = f.run(&["ls"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("exposures.yml:6: exposure `e1` depends on a node named `customers` which is disabled"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("exposures.yml:7: two exposures are named `e1`"), "{}", r.stderr);
    f.write(
        "models/marts/exposures.yml",
        "version: 2\nexposures:\n  - name: e2\n    type: report\n    owner: {name: a}\n",
    );
    let r = f.run(&["ls"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("exposures.yml:3: exposure `e2`: `type` is `report`"), "{}", r.stderr);
}
