use super::*;
use crate::data_tests::TestConfig;
use crate::graph::Graph;
use crate::nodes::{Materialized, Node, NodeKind};
use std::path::PathBuf;

fn node(name: &str, resource: Resource, deps: &[&str], path: &str, tags: &[&str], mat: &str) -> Node {
    let kind = match resource {
        Resource::Test => NodeKind::GenericTest { sql: String::new(), cfg: TestConfig::default() },
        _ => NodeKind::Model { template: String::new(), materialized: Materialized::View },
    };
    let mut config = crate::config_tree::ConfigMap::new();
    config.insert("tags".into(), serde_yaml::to_value(tags).expect("tags"));
    config.insert("materialized".into(), serde_yaml::Value::String(mat.into()));
    Node {
        id: format!("{}.shop.{name}", resource.as_str()),
        name: name.into(),
        resource,
        file: PathBuf::from(path),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        relation: None,
        config,
        kind,
    }
}

/// raw → stg → mart → report, plus `other`; a test on stg.
fn plan() -> Plan {
    let mut nodes = vec![
        node("raw", Resource::Seed, &[], "seeds/raw.csv", &[], ""),
        node("stg", Resource::Model, &["seed.shop.raw"], "models/staging/stg.sql", &["daily"], "view"),
        node("mart", Resource::Model, &["model.shop.stg"], "models/marts/mart.sql", &["daily", "finance"], "table"),
        node("report", Resource::Model, &["model.shop.mart"], "models/marts/report.sql", &[], "table"),
        node("other", Resource::Model, &[], "models/other.sql", &[], "view"),
        node("not_null_stg_id", Resource::Test, &["model.shop.stg"], "models/schema.yml", &[], ""),
    ];
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    let edges: Vec<_> = nodes.iter().map(|n| (n.id.clone(), n.depends_on.clone())).collect();
    Plan { graph: Graph::new(&edges).expect("acyclic"), nodes, relations: Default::default() }
}

fn names(p: &Plan, sel: &[&str], exc: &[&str]) -> Vec<String> {
    let s: Vec<String> = sel.iter().map(|s| s.to_string()).collect();
    let e: Vec<String> = exc.iter().map(|s| s.to_string()).collect();
    let mut out: Vec<String> = select(p, &s, &e).expect("valid").into_iter().map(|i| p.node(i).name.clone()).collect();
    out.sort();
    out
}

#[test]
fn globs() {
    assert!(glob("stg_*", "stg_orders"));
    assert!(glob("*", "anything"));
    assert!(!glob("stg_?", "stg_ab"));
    assert!(glob("a*b*c", "axxbyyc"));
}

#[test]
fn empty_select_is_everything_and_star_too() {
    let p = plan();
    assert_eq!(names(&p, &[], &[]).len(), 6);
    assert_eq!(names(&p, &["*"], &[]).len(), 6);
}

#[test]
fn names_bring_their_tests_eagerly() {
    let p = plan();
    assert_eq!(names(&p, &["stg"], &[]), vec!["not_null_stg_id", "stg"]);
}

#[test]
fn graph_operators() {
    let p = plan();
    assert_eq!(names(&p, &["+mart"], &[]), vec!["mart", "not_null_stg_id", "raw", "stg"]);
    assert_eq!(names(&p, &["mart+"], &[]), vec!["mart", "report"]);
    assert_eq!(names(&p, &["1+mart"], &[]), vec!["mart", "not_null_stg_id", "stg"]);
    assert_eq!(names(&p, &["stg+1"], &[]), vec!["mart", "not_null_stg_id", "stg"]);
    assert_eq!(names(&p, &["@stg"], &[]), vec!["mart", "not_null_stg_id", "raw", "report", "stg"]);
}

#[test]
fn methods_union_intersection_and_exclude() {
    let p = plan();
    assert_eq!(names(&p, &["tag:daily,config.materialized:table"], &[]), vec!["mart"]);
    assert_eq!(names(&p, &["path:models/marts other"], &[]), vec!["mart", "other", "report"]);
    assert_eq!(names(&p, &["resource_type:seed"], &[]), vec!["raw"]);
    assert_eq!(names(&p, &["*"], &["stg", "tag:finance"]), vec!["other", "raw", "report"]);
}

#[test]
fn malformed_selectors_are_errors() {
    let p = plan();
    assert!(select(&p, &["bogus:x".into()], &[]).is_err());
    assert!(select(&p, &["tag:".into()], &[]).is_err());
}
