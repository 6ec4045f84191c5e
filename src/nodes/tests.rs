//! Planning a project large enough that the per-model and per-test work
//! runs on several threads: results and errors come out in file order.

use crate::nodes::{self, NodeKind};
use crate::project::{self, env::Env, profile::Target};
use crate::template::{Templates, Vars};
use std::collections::BTreeMap;
use std::path::Path;

/// Writes `text` at `rel` under `root`, making its folders.
pub(super) fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// A DuckDB target whose database file sits in `root`.
pub(super) fn target(root: &Path) -> Target {
    Target {
        profile_name: "shop".into(),
        name: "dev".into(),
        kind: "duckdb".into(),
        path: root.join("w.duckdb"),
        database: "w".into(),
        schema: "main".into(),
        threads: 1,
        settings: BTreeMap::new(),
        extensions: Vec::new(),
        secrets: Vec::new(),
        external_root: ".".into(),
    }
}

/// 100 chained models, each with two column tests; `bad` models call an
/// unset var, and the YAML of `orphans` tests a model that does not exist.
fn chain(bad: &[usize], orphans: &[usize]) -> (tempfile::TempDir, project::Project) {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "dbt_project.yml", "name: shop\nprofile: shop\n");
    let mut yaml = String::from("version: 2\nmodels:\n");
    for i in 0..100 {
        let body = match i {
            0 => "select 1 as id".to_string(),
            _ if bad.contains(&i) => "select {{ var('unset') }} as id".to_string(),
            _ => format!("select id from {{{{ ref('m{:03}') }}}}", i - 1),
        };
        write(r, &format!("models/m{i:03}.sql"), &body);
        let name = if orphans.contains(&i) { format!("gone{i:03}") } else { format!("m{i:03}") };
        yaml.push_str(&format!(
            "  - name: {name}\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n"
        ));
    }
    write(r, "models/schema.yml", &yaml);
    let project = project::load(r).expect("loads");
    (dir, project)
}

#[test]
fn models_and_tests_planned_in_parallel_keep_file_order() {
    let (dir, project) = chain(&[], &[]);
    let target = target(dir.path());
    let templates = Templates::build(&project, &target, &Env::default(), Vars::default(), &[]).expect("templates");
    let plan = nodes::plan(&project, &target, &templates).expect("plans");
    assert_eq!(plan.nodes.len(), 300);
    let m042 = plan.nodes.iter().find(|n| n.id == "model.shop.m042").expect("m042");
    assert_eq!(m042.depends_on.iter().collect::<Vec<_>>(), ["model.shop.m041"]);
    // Each test points at the declaration it was planned from.
    for n in &plan.nodes {
        if let NodeKind::GenericTest { decl, .. } = n.kind {
            let d = &project.tests[decl];
            assert!(n.name.starts_with(&format!("{}_", d.test)), "{} from {}", n.name, d.test);
            let crate::project::Attached::Model(m) = &d.attached else { panic!("attached to a model") };
            assert!(n.name.ends_with(&format!("_{m}_id")), "{} from {m}", n.name);
        }
    }
}

#[test]
fn errors_from_parallel_planning_come_in_file_order() {
    let (dir, project) = chain(&[7, 95], &[]);
    let target = target(dir.path());
    let templates = Templates::build(&project, &target, &Env::default(), Vars::default(), &[]).expect("templates");
    let errs = nodes::plan(&project, &target, &templates).err().expect("unset vars");
    // The render errors, in file order (the refs to the failed models follow).
    let files: Vec<String> = errs
        .iter()
        .filter(|e| e.message.contains("unset"))
        .filter_map(|e| e.file.as_ref())
        .map(|f| f.display().to_string())
        .collect();
    assert_eq!(files, ["models/m007.sql", "models/m095.sql"]);
    assert_eq!(errs.iter().position(|e| e.message.contains("unset")), Some(0));

    let (dir, project) = chain(&[], &[12, 80]);
    let templates = Templates::build(&project, &target, &Env::default(), Vars::default(), &[]).expect("templates");
    // Tests of models that do not exist are dbt's warnings, and no tests.
    let plan = nodes::plan(&project, &target, &templates).expect("plans");
    let named: Vec<String> = plan.warnings.iter().map(|e| e.message.clone()).collect();
    // Two tests per orphan, in declaration order.
    assert_eq!(named.len(), 4, "{named:?}");
    assert!(named[..2].iter().all(|m| m.contains("`gone012`")), "{named:?}");
    assert!(named[2..].iter().all(|m| m.contains("`gone080`")), "{named:?}");
    drop(dir);
}
