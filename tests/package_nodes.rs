//! A package's own nodes end to end: its models, seed, singular and generic
//! tests load and run beside the root project's, under their package's name
//! (unique ids, fqn, `package:` and fqn selection, `ls`, the manifest and
//! `target/compiled/<package>/`); `packages.yml` rendered with Jinja and the
//! lock written without secrets; `require-dbt-version` checked for the root
//! project and every package. The rows themselves are compared with dbt's
//! in `differential/packages`.

mod common;

use common::{rejects, Fixture};
use std::path::Path;
use std::process::Command;

/// A package `shelf` in `pkg/` beside the project: a seed, a staging model
/// and a mart, a source, generic and singular tests, vars of its own.
fn write_package(root: &Path) {
    let w = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    w(
        "dbt_project.yml",
        "name: shelf\nversion: '1.0'\nconfig-version: 2\nvars:\n  unit: each\nmodels:\n  shelf:\n    +materialized: view\n",
    );
    w("seeds/items.csv", "id,name,price\n1,cup,3\n2,jar,5\n");
    w("macros/label.sql", "{% macro label(x) %}upper({{ x }}){% endmacro %}\n");
    w(
        "models/staging/stg_items.sql",
        "select id, {{ label('name') }} as name, price, '{{ var(\"unit\") }}' as unit from {{ ref('items') }}\n",
    );
    w("models/marts/item_totals.sql", "select sum(price) as total from {{ ref('stg_items') }}\n");
    w(
        "models/schema.yml",
        "version: 2\nsources:\n  - name: shelf_raw\n    schema: main\n    tables:\n      - name: items\nmodels:\n  - name: stg_items\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n",
    );
    w("tests/no_free_items.sql", "select * from {{ ref('stg_items') }} where price <= 0\n");
}

/// The root project `shop`, with `shelf` listed in `packages.yml`.
fn project() -> Fixture {
    let f = Fixture::new();
    write_package(&f.path().join("pkg"));
    f.write("packages.yml", "packages:\n  - local: pkg\n");
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\nvars:\n  shelf:\n    unit: piece\nmodels:\n  shelf:\n    marts:\n      +materialized: table\n",
    );
    f.write(
        "models/orders.sql",
        "select i.id, t.total from {{ ref('shelf', 'stg_items') }} i cross join {{ ref('item_totals') }} t\n",
    );
    f
}

fn lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn package_nodes_build_with_the_root_projects_config_and_vars() {
    let f = project();
    assert_eq!(f.run(&["deps"]).code, 0);
    let r = f.run(&["build"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // The root project's `models: shelf: marts:` makes the mart a table; its
    // scoped var beats the package's own.
    assert_eq!(
        f.query("select table_name, table_type from information_schema.tables order by 1"),
        [["item_totals", "BASE TABLE"], ["items", "BASE TABLE"], ["orders", "VIEW"], ["stg_items", "VIEW"]]
    );
    assert_eq!(f.query("select name, unit from main.stg_items order by id"), [["CUP", "piece"], ["JAR", "piece"]]);
    assert_eq!(f.query("select total from main.orders order by id"), [["8"], ["8"]]);
    for id in ["not_null_stg_items_id", "unique_stg_items_id", "no_free_items"] {
        assert_eq!(r.lines_with(&format!("PASS {id} ")).len(), 1, "{id}: {}", r.stdout);
    }
}

#[test]
fn a_dag_run_runs_package_nodes() {
    let f = project();
    assert_eq!(f.run(&["deps"]).code, 0);
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for line in ["OK loaded seed file main.items", "OK created sql table model main.item_totals", "PASS no_free_items "]
    {
        assert_eq!(r.lines_with(line).len(), 1, "{line}: {}", r.stdout);
    }
    assert_eq!(f.query("select total from main.orders limit 1"), [["8"]]);
}

#[test]
fn package_nodes_are_selected_listed_and_in_the_manifest() {
    let f = project();
    assert_eq!(f.run(&["deps"]).code, 0);
    let ls = f.run(&["ls", "--resource-type", "model"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert_eq!(lines(&ls.stdout), ["shelf.marts.item_totals", "shelf.staging.stg_items", "shop.orders"]);
    let pkg = f.run(&["ls", "--select", "package:shelf", "--output", "path"]);
    assert_eq!(
        lines(&pkg.stdout),
        [
            "models/marts/item_totals.sql",
            "models/staging/stg_items.sql",
            "seeds/items.csv",
            "tests/no_free_items.sql",
            "models/schema.yml",
            "models/schema.yml",
        ],
        "{}",
        pkg.stderr
    );
    let fqn = f.run(&["ls", "--select", "shelf.staging.*", "--exclude", "resource_type:test"]);
    assert_eq!(lines(&fqn.stdout), ["shelf.staging.stg_items"]);
    // A run of one package's nodes builds only them (and what they need is there).
    assert_eq!(f.run(&["seed"]).code, 0);
    let run = f.run(&["run", "--select", "package:shelf"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Done. PASS=2 "), "{}", run.stdout);
    assert!(run.lines_with("main.orders").is_empty(), "{}", run.stdout);

    assert_eq!(f.run(&["compile"]).code, 0);
    assert!(f.path().join("target/compiled/shelf/models/staging/stg_items.sql").is_file());
    assert!(f.path().join("target/compiled/shelf/models/schema.yml/unique_stg_items_id.sql").is_file());
    assert!(f.path().join("target/compiled/shop/models/orders.sql").is_file());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path().join("target/manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["metadata"]["dbt_version"], "1.10.23");
    let stg = &manifest["nodes"]["model.shelf.stg_items"];
    assert_eq!(stg["package_name"], "shelf");
    assert_eq!(stg["original_file_path"], "models/staging/stg_items.sql");
    assert_eq!(stg["path"], "staging/stg_items.sql");
    assert_eq!(stg["fqn"], serde_json::json!(["shelf", "staging", "stg_items"]));
    assert_eq!(stg["patch_path"], "shelf://models/schema.yml");
    assert_eq!(stg["depends_on"]["nodes"], serde_json::json!(["seed.shelf.items"]));
    let orders = &manifest["nodes"]["model.shop.orders"];
    assert_eq!(
        orders["refs"],
        serde_json::json!([
            {"name": "stg_items", "package": "shelf", "version": null},
            {"name": "item_totals", "package": null, "version": null}
        ])
    );
    assert_eq!(orders["depends_on"]["nodes"], serde_json::json!(["model.shelf.stg_items", "model.shelf.item_totals"]));
    assert!(manifest["nodes"]["test.shelf.no_free_items"].is_object());
    assert!(manifest["sources"]["source.shelf.shelf_raw.items"].is_object());
    assert_eq!(manifest["sources"]["source.shelf.shelf_raw.items"]["original_file_path"], "models/schema.yml");
}

#[test]
fn a_ref_into_a_package_that_lacks_the_model_names_the_package() {
    let f = project();
    assert_eq!(f.run(&["deps"]).code, 0);
    f.write("models/orders.sql", "select * from {{ ref('shelf', 'orders') }}\n");
    rejects(&f, &["build"], &["models/orders.sql:1:", "unknown ref `shelf.orders`", "package `shelf` has no model"]);
}

#[test]
fn two_packages_building_one_relation_are_refused() {
    let f = project();
    f.write("pkg/models/orders.sql", "select 1 as id\n");
    assert_eq!(f.run(&["deps"]).code, 0);
    rejects(
        &f,
        &["build"],
        &["dbt found two resources with the database representation", "model.shelf.orders", "model.shop.orders"],
    );
}

#[test]
fn a_packages_python_model_is_one_of_its_models() {
    let f = project();
    f.write("pkg/models/py_model.py", "def model(dbt, session):\n    return dbt.ref('stg_items')\n");
    assert_eq!(f.run(&["deps"]).code, 0);
    let r = f.run(&["ls", "--resource-type", "model", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = r.stdout.lines().find(|l| l.contains("py_model")).unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(line.contains("\"unique_id\": \"model.shelf.py_model\""), "{line}");
}

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn packages_yml_is_rendered_and_the_lock_keeps_git_urls_as_written() {
    let f = project();
    // A bare repository of the package, reached through an env var.
    let repo = f.path().join("pkg");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "v1"]);
    let bare = f.path().join("remote/shelf.git");
    let cloned = Command::new("git")
        .args(["clone", "-q", "--bare", &repo.display().to_string(), &bare.display().to_string()])
        .output()
        .expect("git runs");
    assert!(cloned.status.success(), "{}", String::from_utf8_lossy(&cloned.stderr));
    f.write(
        "packages.yml",
        "packages:\n  - git: \"file://{{ env_var('RUNNER_T_REMOTE') }}/shelf.git\"\n    revision: \"{{ var('rev', 'HEAD') }}\"\n",
    );
    let remote = f.path().join("remote").display().to_string();
    let deps = f.command(&["deps"]).env("RUNNER_T_REMOTE", &remote).output().expect("runs");
    assert!(deps.status.success(), "{}", String::from_utf8_lossy(&deps.stderr));
    let lock = std::fs::read_to_string(f.path().join("package-lock.yml")).expect("lock");
    // dbt's lock: the URL as written, the revision resolved to its commit.
    assert!(lock.contains("git: file://{{ env_var('RUNNER_T_REMOTE') }}/shelf.git"), "{lock}");
    assert!(!lock.contains(&remote), "{lock}");
    assert!(lock.contains("name: shelf"), "{lock}");
    // The lock is rendered too when it is honoured.
    std::fs::remove_dir_all(f.path().join("dbt_packages")).expect("rm");
    let again = f.command(&["deps"]).env("RUNNER_T_REMOTE", &remote).output().expect("runs");
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(std::fs::read_to_string(f.path().join("package-lock.yml")).expect("lock"), lock);
    assert_eq!(f.run(&["build"]).code, 0);
    // Unset, with no default: an error at the entry's line.
    let unset = f.run(&["deps"]);
    assert_eq!(unset.code, 2, "{}", unset.stderr);
    assert!(unset.stderr.contains("env var `RUNNER_T_REMOTE` is not set"), "{}", unset.stderr);
}

#[test]
fn a_secret_in_packages_yml_never_reaches_the_lock() {
    let f = project();
    f.write("packages.yml", "packages:\n  - local: \"{{ env_var('DBT_ENV_SECRET_RUNNER_T_DIR') }}\"\n");
    let deps = f.command(&["deps"]).env("DBT_ENV_SECRET_RUNNER_T_DIR", "pkg").output().expect("runs");
    assert!(deps.status.success(), "{}", String::from_utf8_lossy(&deps.stderr));
    let lock = std::fs::read_to_string(f.path().join("package-lock.yml")).expect("lock");
    assert!(lock.contains("DBT_ENV_SECRET_RUNNER_T_DIR"), "{lock}");
    assert!(!lock.contains("local: pkg"), "{lock}");
    let build = f.run(&["build"]);
    assert_eq!(build.code, 0, "{}\n{}", build.stdout, build.stderr);
}

#[test]
fn dependencies_yml_is_not_rendered() {
    let f = project();
    f.remove("packages.yml");
    f.write("dependencies.yml", "packages:\n  - local: \"{{ env_var('RUNNER_T_X', 'pkg') }}\"\n");
    let r = f.run(&["deps"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("local package `{{ env_var('RUNNER_T_X', 'pkg') }}` is not a folder"), "{}", r.stderr);
}

#[test]
fn an_unmet_require_dbt_version_is_dbts_error() {
    let f = project();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\nrequire-dbt-version: [\">=1.11.0\", \"<2.0.0\"]\n");
    let err = rejects(
        &f,
        &["build"],
        &[
            "dbt_project.yml:3:",
            "this version of dbt is not supported with the `shop` package",
            "installed version of dbt: =1.10.23",
            "['>=1.11.0', '<2.0.0']",
        ],
    );
    assert!(err.contains("DBT_VERSION_CHECK=false"), "{err}");
    rejects(&f, &["deps"], &["dbt_project.yml:3:", "not supported with the `shop` package"]);
    // dbt's --no-version-check.
    let off = f.command(&["ls"]).env("DBT_VERSION_CHECK", "false").output().expect("runs");
    assert_eq!(off.status.code(), Some(2), "only the missing package is left");
    assert!(String::from_utf8_lossy(&off.stderr).contains("runner deps"));
    f.write("dbt_project.yml", "name: shop\nprofile: shop\nrequire-dbt-version: \">=2.0.0,<1.0.0\"\n");
    rejects(&f, &["ls"], &["the package version requirement can never be satisfied for the `shop` package"]);
}

#[test]
fn a_packages_unmet_require_dbt_version_names_its_file() {
    let f = project();
    let yml = std::fs::read_to_string(f.path().join("pkg/dbt_project.yml")).expect("read");
    f.write("pkg/dbt_project.yml", &format!("{yml}require-dbt-version: \"<1.5.0\"\n"));
    assert_eq!(f.run(&["deps"]).code, 0);
    rejects(
        &f,
        &["build"],
        &["dbt_packages/shelf/dbt_project.yml:9:", "not supported with the `shelf` package", "['<1.5.0']"],
    );
    f.write("dbt_project.yml", "name: shop\nprofile: shop\nflags:\n  version_check: false\n");
    let r = f.run(&["ls"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
