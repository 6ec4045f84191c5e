use super::*;
use crate::nodes::{fixture, Materialized, Node, NodeKind, Resource};
use std::collections::{BTreeMap, BTreeSet};

fn node(name: &str, resource: Resource, deps: &[&str], path: &str, tags: &[&str], mat: &str) -> Node {
    let mut config = crate::config_tree::ConfigMap::new();
    config.insert("tags".into(), serde_yaml::to_value(tags).expect("tags"));
    config.insert("materialized".into(), serde_yaml::Value::String(mat.into()));
    let id = format!("{}.shop.{name}", resource.as_str());
    fixture::node(id, name, resource, path, deps, Materialized::View, config)
}

/// raw → stg → mart → report, plus `other`; a test on stg.
fn plan() -> Plan {
    let nodes = vec![
        node("raw", Resource::Seed, &[], "seeds/raw.csv", &[], ""),
        node("stg", Resource::Model, &["seed.shop.raw"], "models/staging/stg.sql", &["daily"], "view"),
        node("mart", Resource::Model, &["model.shop.stg"], "models/marts/mart.sql", &["daily", "finance"], "table"),
        node("report", Resource::Model, &["model.shop.mart"], "models/marts/report.sql", &[], "table"),
        node("other", Resource::Model, &[], "models/other.sql", &[], "view"),
        node("not_null_stg_id", Resource::Test, &["model.shop.stg"], "models/schema.yml", &[], ""),
    ];
    fixture::plan(nodes)
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
    assert!(fnmatch("stg_orders", "stg_*"));
    assert!(fnmatch("anything", "*"));
    assert!(!fnmatch("stg_ab", "stg_?"));
    assert!(fnmatch("axxbyyc", "a*b*c"));
}

#[test]
fn empty_select_is_everything_and_star_too() {
    let p = plan();
    assert_eq!(names(&p, &[], &[]).len(), 6);
    assert_eq!(names(&p, &["*"], &[]).len(), 6);
    // The shortcut for `*` agrees with matching it as a wildcard.
    for fqn in [&["shop"][..], &["shop", "staging", "stg.orders"], &["shop", "a", "b", "c"]] {
        let fqn: Vec<String> = fqn.iter().map(|s| s.to_string()).collect();
        assert!(super::methods::fqn_matches(&fqn, "*", false), "{fqn:?}");
    }
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
    for bad in
        ["bogus:x", "tag:", "@+stg", "resource_type:modle", "test_type:odd", "source:a.b.c.d", "config:x", "a,,b"]
    {
        let e = select(&p, &[bad.into()], &[]).expect_err(bad);
        assert!(e.contains('`'), "{bad}: {e}");
    }
    let e = select(&p, &["bogus:x".into()], &[]).expect_err("unknown method");
    assert!(e.contains("unknown selector method `bogus`"), "{e}");
    // dbt's own methods over what runner does not read say so.
    let e = select(&p, &["+metric:weekly".into()], &[]).expect_err("metric");
    assert!(e.contains("dbt's `metric:` method is not supported"), "{e}");
    let e = select(&p, &["state:modified".into()], &[]).expect_err("state");
    assert!(e.contains("no `--state`"), "{e}");
}

#[test]
fn fqn_selects_by_folder_segment_by_segment_as_dbt() {
    let p = plan();
    // A bare folder name selects everything under it (and eager tests).
    assert_eq!(names(&p, &["staging"], &[]), vec!["not_null_stg_id", "stg"]);
    assert_eq!(names(&p, &["marts"], &[]), vec!["mart", "report"]);
    assert_eq!(names(&p, &["marts.*"], &[]), vec!["mart", "report"]);
    assert_eq!(names(&p, &["shop.marts.mart"], &[]), vec!["mart"]);
    assert_eq!(names(&p, &["shop.*.report"], &[]), vec!["report"]);
    assert_eq!(names(&p, &["shop"], &[]).len(), 6);
    // dbt 1.10 matches a wildcard against the rest of the dotted fqn, so a bare
    // `stg*` matches nothing under `shop.staging` (checked with `dbt ls`), but `*g` does.
    assert!(names(&p, &["stg*"], &[]).is_empty());
    assert_eq!(names(&p, &["*stg"], &[]), vec!["not_null_stg_id", "stg"]);
    assert!(names(&p, &["shop.staging.mart"], &[]).is_empty());
}

#[test]
fn fnmatch_like_python() {
    assert!(fnmatch("shop.staging.stg_orders", "*orders"));
    assert!(!fnmatch("staging.stg_orders", "stg_*"));
    assert!(fnmatch("a1", "a[0-9]"));
    assert!(!fnmatch("ab", "a[!b]"));
    assert!(fnmatch("a[", "a["));
    assert!(fnmatch("", "*"));
}

#[test]
fn file_path_config_and_test_type() {
    let p = plan();
    assert_eq!(names(&p, &["mart.sql"], &[]), vec!["mart"]);
    assert_eq!(names(&p, &["file:rep*"], &[]), vec!["report"]);
    assert_eq!(names(&p, &["models/marts/mart.sql"], &[]), vec!["mart"]);
    assert_eq!(names(&p, &["path:models/*/report.sql"], &[]), vec!["report"]);
    assert_eq!(names(&p, &["path:models/**/mart.sql"], &[]), vec!["mart"]);
    assert_eq!(names(&p, &["config.materialized:TABLE"], &[]), vec!["mart", "report"]);
    assert_eq!(names(&p, &["config.tags:finance"], &[]), vec!["mart"]);
    assert_eq!(names(&p, &["test_type:generic"], &[]), vec!["not_null_stg_id"]);
    assert!(names(&p, &["test_type:singular"], &[]).is_empty());
    assert_eq!(names(&p, &["package:this,resource_type:seed"], &[]), vec!["raw"]);
}

#[test]
fn sources_select_their_tests_and_descendants() {
    let nodes = vec![
        node("stg", Resource::Model, &["source.shop.raw.orders"], "models/stg.sql", &[], "view"),
        node("mart", Resource::Model, &["model.shop.stg"], "models/mart.sql", &[], "table"),
        node("source_not_null_raw_orders_id", Resource::Test, &["source.shop.raw.orders"], "models/s.yml", &[], ""),
        node("other", Resource::Model, &[], "models/other.sql", &[], "view"),
    ];
    let p = fixture::plan(nodes);
    assert_eq!(names(&p, &["source:raw"], &[]), vec!["source_not_null_raw_orders_id"]);
    assert_eq!(names(&p, &["source:raw.orders+"], &[]), vec!["mart", "source_not_null_raw_orders_id", "stg"]);
    assert_eq!(names(&p, &["source:raw.orders+1"], &[]), vec!["source_not_null_raw_orders_id", "stg"]);
    assert!(names(&p, &["source:raw.other"], &[]).is_empty());
    // An ancestor source brings its tests along.
    assert_eq!(names(&p, &["+mart"], &[]), vec!["mart", "source_not_null_raw_orders_id", "stg"]);
    assert_eq!(names(&p, &["resource_type:source"], &[]), vec!["source_not_null_raw_orders_id"]);
}

/// Without ephemerals selection borrows the plan graph's edges; building
/// every edge as written must select the same.
#[test]
fn edges_from_the_graph_select_as_edges_built_from_dependencies() {
    let mut sourced = plan().nodes;
    sourced.push(node("src_test", Resource::Test, &["source.shop.raw.orders"], "models/s.yml", &[], ""));
    sourced.push(node(
        "from_src",
        Resource::Model,
        &["source.shop.raw.orders", "seed.shop.raw"],
        "models/f.sql",
        &[],
        "view",
    ));
    let p = fixture::plan(sourced);
    let selectors = ["raw+", "+mart", "@stg", "source:raw+", "+from_src", "1+report", "stg+1", "resource_type:test"];
    for sel in selectors {
        let (sel, none) = (vec![sel.to_string()], Vec::new());
        let borrowed = selection_in(&Universe::build(&p, true), &sel, &none).expect("valid");
        let built = selection_in(&Universe::build(&p, false), &sel, &none).expect("valid");
        assert_eq!(borrowed, built, "`{}`", sel[0]);
        assert!(!borrowed.nodes.is_empty(), "`{}` selects something", sel[0]);
    }
}

#[test]
fn empty_selections_warn_with_dbt_wording() {
    let p = plan();
    let s = selection(&p, &["nothing_here".into()], &[]).expect("valid");
    assert!(s.nodes.is_empty());
    assert_eq!(
        s.warnings,
        vec![
            "The selection criterion 'nothing_here' does not match any enabled nodes".to_string(),
            NOTHING_TO_DO.to_string()
        ]
    );
    let s = selection(&p, &["stg".into()], &["stg".into()]).expect("valid");
    assert_eq!(s.warnings, vec![NOTHING_TO_DO.to_string()]);
    assert!(selection(&p, &["stg".into()], &[]).expect("valid").warnings.is_empty());
}

/// raw → eph (ephemeral, tagged) → mart, with a test on eph; as the planner
/// leaves it: eph out of the nodes, the edges through it folded, kept aside.
fn plan_with_ephemeral() -> Plan {
    let mut eph = node("eph", Resource::Model, &["seed.shop.raw"], "models/eph.sql", &["hidden"], "ephemeral");
    eph.kind = NodeKind::Model {
        template: String::new(),
        materialized: Materialized::Ephemeral,
        settings: crate::nodes::ModelSettings::Plain,
        python: None,
    };
    let nodes = vec![
        node("raw", Resource::Seed, &[], "seeds/raw.csv", &[], ""),
        node("mart", Resource::Model, &["seed.shop.raw"], "models/mart.sql", &[], "table"),
        node("other", Resource::Model, &[], "models/other.sql", &[], "view"),
        node("not_null_eph_id", Resource::Test, &["seed.shop.raw"], "models/schema.yml", &[], ""),
    ];
    let through_eph = || BTreeSet::from(["model.shop.eph".to_string()]);
    let declared = BTreeMap::from([
        ("model.shop.mart".to_string(), through_eph()),
        ("test.shop.not_null_eph_id".to_string(), through_eph()),
    ]);
    crate::nodes::Plan { ephemeral: crate::nodes::Ephemerals { nodes: vec![eph], declared }, ..fixture::plan(nodes) }
}

/// (plan node names, ephemeral ids, warnings) of one selection.
fn with_ephemerals(p: &Plan, sel: &[&str], exc: &[&str]) -> (Vec<String>, Vec<String>, usize) {
    let s = selection(
        p,
        &sel.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &exc.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    )
    .expect("valid");
    let mut nodes: Vec<String> = s.nodes.iter().map(|&i| p.node(i).name.clone()).collect();
    nodes.sort();
    (nodes, s.ephemerals.into_iter().collect(), s.warnings.len())
}

#[test]
fn ephemerals_are_selected_and_walked_through_but_never_run() {
    let p = plan_with_ephemeral();
    let eph = || vec!["model.shop.eph".to_string()];
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // dbt 1.10 `ls`/`run` on such a project: `eph+` runs what is below it.
    assert_eq!(with_ephemerals(&p, &["eph+"], &[]), (names(&["mart", "not_null_eph_id"]), eph(), 0));
    // Selecting only the ephemeral runs its tests, and dbt warns of nothing.
    assert_eq!(with_ephemerals(&p, &["eph"], &[]), (names(&["not_null_eph_id"]), eph(), 0));
    assert_eq!(with_ephemerals(&p, &["tag:hidden"], &["resource_type:test"]), (vec![], eph(), 0));
    assert_eq!(with_ephemerals(&p, &["config.materialized:ephemeral"], &["eph"]), (vec![], vec![], 1));
    // Graph operators cross it both ways.
    assert_eq!(with_ephemerals(&p, &["+mart"], &[]), (names(&["mart", "not_null_eph_id", "raw"]), eph(), 0));
    // `raw+1` reaches the ephemeral, whose test comes along eagerly.
    assert_eq!(with_ephemerals(&p, &["raw+1"], &[]), (names(&["not_null_eph_id", "raw"]), eph(), 0));
    assert_eq!(with_ephemerals(&p, &["@eph"], &[]), (names(&["mart", "not_null_eph_id", "raw"]), eph(), 0));
    // Everything includes it; `other` has nothing to do with it.
    assert_eq!(with_ephemerals(&p, &[], &[]).1, eph());
    assert_eq!(with_ephemerals(&p, &["other"], &[]), (names(&["other"]), vec![], 0));
}

/// An exposure on `deps`, declared in `models/marts/exposures.yml`.
fn exposure(name: &str, deps: &[&str], tags: &[&str]) -> crate::nodes::Exposure {
    let decl = crate::project::exposures::ExposureDecl {
        name: name.into(),
        kind: "dashboard".into(),
        owner: Default::default(),
        description: String::new(),
        label: None,
        maturity: None,
        meta: Default::default(),
        tags: Vec::new(),
        url: None,
        depends_on: Vec::new(),
        config: BTreeMap::new(),
        file: "models/marts/exposures.yml".into(),
        folders: vec!["marts".into()],
        line: Some(3),
    };
    crate::nodes::Exposure {
        id: format!("exposure.shop.{name}"),
        package: "shop".into(),
        decl,
        original_file_path: "models/marts/exposures.yml".into(),
        config: Default::default(),
        unrendered_config: Default::default(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        meta: Default::default(),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        refs: Vec::new(),
        sources: Vec::new(),
        metrics: Vec::new(),
    }
}

#[test]
fn exposures_are_children_of_what_they_name_and_select_their_ancestors() {
    let mut p = plan();
    p.exposures = vec![exposure("weekly", &["model.shop.mart"], &["bi"]), exposure("lonely", &[], &[])];
    let mut with_eph = plan_with_ephemeral();
    with_eph.exposures = vec![exposure("weekly", &["model.shop.eph"], &[])];
    let pick = |p: &Plan, sel: &str, from_graph: bool| {
        let s = selection_in(&Universe::build(p, from_graph), &[sel.to_string()], &[]).expect("valid");
        let mut nodes: Vec<String> = s.nodes.iter().map(|&i| p.node(i).name.clone()).collect();
        nodes.sort();
        (nodes, s.exposures.into_iter().collect::<Vec<_>>(), s.ephemerals.into_iter().collect::<Vec<_>>())
    };
    for from_graph in [true, false] {
        let weekly = || vec!["exposure.shop.weekly".to_string()];
        // dbt's `+exposure:x`: what feeds it (with those nodes' tests), and the exposure.
        assert_eq!(
            pick(&p, "+exposure:weekly", from_graph),
            (vec!["mart".into(), "not_null_stg_id".into(), "raw".into(), "stg".into()], weekly(), vec![])
        );
        assert_eq!(pick(&p, "exposure:weekly", from_graph), (vec![], weekly(), vec![]));
        assert_eq!(pick(&p, "mart+", from_graph), (vec!["mart".into(), "report".into()], weekly(), vec![]));
        assert_eq!(pick(&p, "tag:bi", from_graph).1, weekly());
        assert_eq!(
            pick(&p, "marts.*", from_graph).1,
            vec!["exposure.shop.lonely".to_string(), "exposure.shop.weekly".into()]
        );
        assert_eq!(
            pick(&p, "resource_type:exposure,shop.*.lonely", from_graph).1,
            vec!["exposure.shop.lonely".to_string()]
        );
        assert_eq!(pick(&p, "exposure:shop.w*", from_graph).1, weekly());
        assert!(pick(&p, "config.materialized:table", from_graph).1.is_empty());
    }
    // Through an ephemeral model, as dbt's graph has it.
    let (nodes, exposures, ephemerals) = pick(&with_eph, "+exposure:weekly", false);
    // The ephemeral's test comes along, as any selected node's does.
    let want = (vec!["not_null_eph_id".to_string(), "raw".into()], 1, vec!["model.shop.eph".to_string()]);
    assert_eq!((nodes, exposures.len(), ephemerals), want);
    assert!(parse_criterion("exposure:a.b.c").is_err());
}
