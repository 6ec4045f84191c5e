//! Loading a project from files written into a temp directory.

use super::*;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

#[test]
fn loads_models_seeds_tests_and_properties() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "models/staging/stg_a.sql", "select 1 as id");
    write(r, "models/schema.yml", "version: 2\nmodels:\n  - name: stg_a\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\nsources:\n  - name: raw\n    tables:\n      - name: events\n");
    write(r, "seeds/raw_a.csv", "id,name\n1,a\n");
    write(r, "tests/assert_x.sql", "select 1 where false");
    write(r, "tests/generic/my_test.sql", "{% test my_test(model) %}select 1{% endtest %}");
    let p = load(r).expect("loads");
    assert_eq!(p.models[0].name, "stg_a");
    assert_eq!(p.models[0].folders, vec!["staging"]);
    assert_eq!(p.seeds[0].name, "raw_a");
    assert_eq!(p.singular_tests.len(), 1);
    assert_eq!(p.macros.len(), 1);
    assert_eq!(p.tests.len(), 2);
    assert_eq!(p.tests[1].line, Some(6));
    assert_eq!(p.sources[&("raw".to_string(), "events".to_string())].schema, "raw");
}

#[test]
fn ragged_csv_and_bad_yaml_are_all_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "seeds/bad.csv", "a,b\n1,2\n3\n");
    write(r, "models/schema.yml", "models:\n  - name: x\n   bad_indent: 1\n");
    let errs = load(r).expect_err("two errors");
    assert_eq!(errs.len(), 2);
    let seed = errs.iter().find(|e| e.file == Some(PathBuf::from("seeds/bad.csv"))).expect("seed error");
    assert_eq!(seed.line, Some(3));
    assert!(seed.message.contains("2 fields") || seed.message.contains("1 fields"), "{}", seed.message);
}

#[test]
fn one_listing_serves_every_filter_in_whole_path_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    // Names where the order of whole strings and of paths disagree:
    // `a-b.sql` sorts before `a/x.sql` as a string, after it as a path.
    for rel in [
        "models/a.sql",
        "models/a/x.sql",
        "models/a-b.sql",
        "models/B.sql",
        "models/a/z/y.sql",
        "models/a/x.yml",
        "models/.hidden.sql",
        "models/.git/c.sql",
        "models/generic/g.sql",
        "models/staging/s.sql",
        "seeds/s.csv",
        "seeds/s.yml",
    ] {
        write(r, rel, "");
    }
    let mut w = Walk {
        root: r.to_path_buf(),
        errors: Vec::new(),
        render: None,
        root_vars: BTreeMap::new(),
        listings: BTreeMap::new(),
    };
    let rel =
        |v: Vec<Listed>| -> Vec<(String, Vec<String>)> { v.into_iter().map(|(p, f)| (w_rel(r, &p), f)).collect() };
    let sql = rel(w.files(&["models".into()], &["sql"], &["generic"]));
    let want: Vec<(String, Vec<String>)> = [
        ("models/B.sql", vec![]),
        ("models/a/x.sql", vec!["a"]),
        ("models/a/z/y.sql", vec!["a", "z"]),
        ("models/a-b.sql", vec![]),
        ("models/a.sql", vec![]),
        ("models/staging/s.sql", vec!["staging"]),
    ]
    .into_iter()
    .map(|(p, f)| (p.to_string(), f.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(sql, want);
    let mut as_paths: Vec<PathBuf> = want.iter().map(|(p, _)| PathBuf::from(p)).collect();
    as_paths.sort();
    assert_eq!(
        as_paths.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
        want.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>()
    );
    // The same listing, other filters; seeds listed before models when
    // asked for in that order still come out in path order.
    let yml = rel(w.files(&["seeds".into(), "models".into()], &["yml", "yaml"], &[]));
    assert_eq!(yml.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["models/a/x.yml", "seeds/s.yml"]);
    assert_eq!(w.listings.len(), 2, "each folder is listed once");
    // Nested resource paths interleave, as a sort of every path would.
    let nested = rel(w.files(&["models".into(), "models/a".into()], &["sql"], &[]));
    let mut sorted = nested.clone();
    sorted.sort_by(|a, b| (Path::new(&a.0), &a.1).cmp(&(Path::new(&b.0), &b.1)));
    assert_eq!(nested, sorted);
    assert_eq!(nested.len(), 9);
}

fn w_rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).expect("under root").to_string_lossy().into_owned()
}

#[test]
fn files_loaded_on_several_threads_keep_path_order() {
    // Enough files for `par::map` to split them between threads.
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    for i in 0..150 {
        write(r, &format!("models/m{i:03}.sql"), &format!("select {i} as id"));
        let props =
            format!("models:\n  - name: m{i:03}\n    columns:\n      - name: id\n        data_tests: [unique]\n");
        write(r, &format!("models/p{i:03}.yml"), &props);
    }
    // A second entry for a model is an error, as in dbt; the first stays.
    write(r, "models/z_override.yml", "models:\n  - name: m000\n    config:\n      materialized: table\n");
    write(r, "models/p007.yml", "models: [");
    let (p, errors) = load_all(r);
    let names: Vec<&str> = p.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.len(), 150);
    assert!(names.windows(2).all(|w| w[0] < w[1]), "models out of path order");
    assert_eq!(p.models[42].text, "select 42 as id");
    let tested: Vec<String> = p.tests.iter().map(|t| format!("{:?}", t.attached)).collect();
    assert_eq!(tested.len(), 149, "p007 is broken, every other file declares one test");
    assert!(tested.windows(2).all(|w| w[0] < w[1]), "tests out of file order");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].file, Some(PathBuf::from("models/p007.yml")));
    assert_eq!((errors[1].file.as_deref(), errors[1].line), (Some(Path::new("models/z_override.yml")), Some(2)));
    assert!(errors[1].hint.as_deref().is_some_and(|h| h.contains("`models/p000.yml:2`")), "{:?}", errors[1]);
    assert_eq!(p.model_props["m000"].file, PathBuf::from("models/p000.yml"));
}

#[test]
fn a_symlink_loop_is_one_error_naming_the_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "models/a/m.sql", "select 1");
    std::os::unix::fs::symlink("..", r.join("models/a/up")).expect("symlink");
    std::os::unix::fs::symlink("me", r.join("models/me")).expect("symlink");
    let (p, errors) = load_all(r);
    assert_eq!(p.models.len(), 1, "the model once, not once per level");
    let shown: Vec<String> = errors.iter().map(|d| d.to_string()).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown[0].starts_with("models/a/up: symlink loop: this folder leads back to `models`"), "{shown:?}");
    assert!(shown[1].starts_with("models/me: symlink loop: the link leads back to itself"), "{shown:?}");
}

#[test]
fn a_resource_path_that_is_no_folder_is_an_error_and_a_missing_one_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "dbt_project.yml", "name: p\nmodel-paths: [models, extra]\nseed-paths: [data]\n");
    write(r, "models/m.sql", "select 1");
    write(r, "data", "not a folder");
    let (p, errors) = load_all(r);
    assert_eq!(p.models.len(), 1);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file.as_deref(), Some(Path::new("data")));
    assert!(errors[0].message.starts_with("cannot list the folder: Not a directory"), "{}", errors[0].message);
}

#[test]
fn packages_run_hooks_load_and_order_as_dbt_orders_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "dbt_project.yml", "name: mid\nprofile: p\non-run-start: [r0, r1]\non-run-end: re0\n");
    // Installed as `b_folder` / `a_folder`: the package's `name` orders it.
    write(r, "dbt_packages/a_folder/dbt_project.yml", "name: zzz_pkg\non-run-start: [z0, z1]\non-run-end: [ze0]\n");
    write(r, "dbt_packages/b_folder/dbt_project.yml", "name: aaa_pkg\non-run-start: a0\n");
    let p = load(r).expect("loads");
    let hooks = p.run_hooks();
    let start: Vec<(String, String)> = hooks.start.iter().map(|h| (h.unique_id(), h.sql.clone())).collect();
    let pair = |id: &str, sql: &str| (id.to_string(), sql.to_string());
    // The root project's first, then the packages by name, each by index.
    assert_eq!(
        start,
        vec![
            pair("operation.mid.mid-on-run-start-0", "r0"),
            pair("operation.mid.mid-on-run-start-1", "r1"),
            pair("operation.aaa_pkg.aaa_pkg-on-run-start-0", "a0"),
            pair("operation.zzz_pkg.zzz_pkg-on-run-start-0", "z0"),
            pair("operation.zzz_pkg.zzz_pkg-on-run-start-1", "z1"),
        ]
    );
    assert_eq!(hooks.start[3].label(3), "zzz_pkg.on-run-start.3");
    let end: Vec<String> = hooks.end.iter().map(|h| h.unique_id()).collect();
    assert_eq!(end, vec!["operation.mid.mid-on-run-end-0", "operation.zzz_pkg.zzz_pkg-on-run-end-0"]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);

    // Hooks are operations under the `models:` trees: switching a package
    // off switches its hooks off; `hooks` is the folder of their fqn.
    write(
        r,
        "dbt_project.yml",
        "name: mid\nprofile: p\non-run-start: [r0, r1]\nmodels:\n  zzz_pkg:\n    +enabled: false\n  mid:\n    hooks:\n      mid-on-run-start-0:\n        +enabled: false\n",
    );
    let hooks = load(r).expect("loads").run_hooks();
    let start: Vec<String> = hooks.start.iter().map(|h| h.unique_id()).collect();
    assert_eq!(start, vec!["operation.mid.mid-on-run-start-1", "operation.aaa_pkg.aaa_pkg-on-run-start-0"]);
    assert!(hooks.end.is_empty());

    write(r, "dbt_packages/b_folder/dbt_project.yml", "name: aaa_pkg\non-run-end:\n  - {sql: x}\n");
    let errs = load(r).expect_err("a hook that is not SQL text");
    assert_eq!(errs[0].file, Some(PathBuf::from("dbt_packages/b_folder/dbt_project.yml")));
    assert_eq!(errs[0].line, Some(2));
    assert!(errs[0].message.contains("`on-run-end` entry 0 must be SQL text"), "{}", errs[0].message);
}
