//! dbt packages end to end: `runner deps` installs local and git packages,
//! their macros and generic tests run under dbt's namespaces and dispatch
//! order, and bad package setups are load errors (exit 2) naming the file.

mod common;

use common::{rejects, Fixture};
use std::path::Path;
use std::process::Command;

/// A package `helpers` (in `pkg/`, beside the project) with a dispatched
/// macro, a namespaced helper and a generic test that takes `kwargs`.
fn write_package(root: &Path) {
    let w = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    w("dbt_project.yml", "name: helpers\nversion: '1.0'\nconfig-version: 2\n");
    w(
        "macros/greet.sql",
        "{% macro greet(who) %}{{ return(adapter.dispatch('greet', 'helpers')(who)) }}{% endmacro %}\n\
         {% macro default__greet(who) %}'hello ' || {{ who }}{% endmacro %}\n\
         {% macro twice(x) %}({{ x }}) * 2{% endmacro %}\n",
    );
    w(
        "macros/tests.sql",
        "{% test at_most(model, column_name) %}\n\
         select * from {{ model }} where {{ column_name }} > {{ kwargs.get('max_value', 0) }}\n\
         {% endtest %}\n",
    );
}

fn project_with_package() -> Fixture {
    let f = Fixture::new();
    write_package(&f.path().join("pkg"));
    f.write("packages.yml", "packages:\n  - local: pkg\n");
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write(
        "models/greeting.sql",
        "{{ config(materialized='table') }}\nselect {{ helpers.greet(\"'ann'\") }} as g, {{ helpers.twice(3) }} as n\n",
    );
    f.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: greeting\n    columns:\n      - name: n\n        data_tests:\n          - helpers.at_most:\n              max_value: 10\n          - at_most:\n              max_value: 1\n",
    );
    f
}

#[test]
fn an_uninstalled_package_says_to_run_deps() {
    let f = project_with_package();
    rejects(&f, &["build"], &["packages.yml", "1 package(s) are listed, but only 0 are installed", "runner deps"]);
}

#[test]
fn deps_installs_a_local_package_and_its_macros_and_tests_run() {
    let f = project_with_package();
    let deps = f.run(&["deps"]);
    assert_eq!(deps.code, 0, "{}\n{}", deps.stdout, deps.stderr);
    assert!(deps.stdout.contains("installed `helpers`"), "{}", deps.stdout);
    assert!(f.path().join("dbt_packages/helpers/dbt_project.yml").is_file());
    let lock = std::fs::read_to_string(f.path().join("package-lock.yml")).expect("lock file");
    assert!(lock.contains("local: pkg") && lock.contains("name: helpers"), "{lock}");

    let r = f.run(&["build"]);
    // The namespaced test passes (6 <= 10); the unqualified one finds the
    // package's `test_at_most` too, and fails (6 > 1).
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select g, n from main.greeting"), vec![vec!["hello ann".to_string(), "6".to_string()]]);
    assert_eq!(r.lines_with("PASS helpers_at_most_greeting_n__10").len(), 1, "{}", r.stdout);
    assert_eq!(r.lines_with("FAIL 1 at_most_greeting_n__1 ").len(), 1, "{}", r.stdout);
}

#[test]
fn the_root_project_overrides_a_dispatched_package_macro() {
    let f = project_with_package();
    assert_eq!(f.run(&["deps"]).code, 0);
    // With the root project first in the search order, its `default__greet` wins.
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\ndispatch:\n  - macro_namespace: helpers\n    search_order: [shop, helpers]\n",
    );
    f.write("macros/greet.sql", "{% macro default__greet(who) %}'hi ' || {{ who }}{% endmacro %}\n");
    f.remove("models/schema.yml");
    let r = f.run(&["build"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select g from main.greeting"), vec![vec!["hi ann".to_string()]]);
}

#[test]
fn a_dispatch_search_order_naming_no_package_is_a_load_error_at_its_line() {
    let f = project_with_package();
    assert_eq!(f.run(&["deps"]).code, 0);
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\ndispatch:\n  - macro_namespace: helpers\n    search_order: [shop, helprs]\n",
    );
    rejects(&f, &["build"], &["dbt_project.yml:5:", "searches `helprs`", "not this project or an installed package"]);
}

#[test]
fn a_package_that_is_the_project_itself_is_refused() {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("packages.yml", "packages:\n  - local: .\n");
    let r = f.run(&["deps"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("packages.yml:2:") && r.stderr.contains("is this project itself"), "{}", r.stderr);
}

#[test]
fn deps_clones_a_git_package_at_its_revision() {
    let f = project_with_package();
    let repo = f.path().join("pkg");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "v1"]);
    git(&["tag", "v1"]);
    // A later commit the pinned revision must not see.
    std::fs::write(repo.join("macros/later.sql"), "{% macro later() %}1{% endmacro %}\n").expect("write");
    git(&["add", "."]);
    git(&["commit", "-qm", "v2"]);
    let url = format!("file://{}", repo.display());
    f.write("packages.yml", &format!("packages:\n  - git: \"{url}\"\n    revision: v1\n"));
    let r = f.run(&["deps"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let installed = f.path().join("dbt_packages/helpers");
    assert!(installed.join("macros/greet.sql").is_file());
    assert!(!installed.join("macros/later.sql").exists(), "the revision is honoured");
    let lock = std::fs::read_to_string(f.path().join("package-lock.yml")).expect("lock file");
    assert!(lock.contains("revision:") && lock.contains("name: helpers"), "{lock}");
    std::fs::remove_dir_all(&repo).expect("the source is not needed any more");
    f.remove("models/schema.yml");
    let b = f.run(&["build"]);
    assert_eq!(b.code, 0, "{}\n{}", b.stdout, b.stderr);
}
