//! `runner deps` against a package hub: a registry served on 127.0.0.1
//! (dbt's `api/v1/index.json` and `api/v1/<org>/<name>.json`, and tarballs)
//! through `DBT_PACKAGE_HUB_URL`, as `dbt deps` reads it. Versions are
//! chosen from ranges as dbt chooses them, packages' own dependencies are
//! installed too, `package-lock.yml` is written with dbt's hash and
//! honoured until `packages.yml` changes or `--upgrade`.

mod common;

use common::Fixture;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

type Files = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

/// A static HTTP server: GET of a known path answers its bytes, else 404.
struct Hub {
    url: String,
    files: Files,
}

impl Hub {
    fn start() -> Hub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let files: Files = Arc::default();
        let served = files.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let body = served.lock().expect("files").get(&path).cloned();
                let mut out = stream;
                let _ = match body {
                    Some(b) => {
                        let head =
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", b.len());
                        out.write_all(head.as_bytes()).and_then(|_| out.write_all(&b))
                    }
                    None => out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                };
            }
        });
        Hub { url, files }
    }

    fn put(&self, path: &str, body: Vec<u8>) {
        self.files.lock().expect("files").insert(path.to_string(), body);
    }

    /// Publishes `org/name` with `versions` (version, the packages it depends on);
    /// each version's tarball holds a package whose macro returns its version.
    fn publish(&self, org: &str, name: &str, versions: &[(&str, &str)]) {
        let mut all = serde_json::Map::new();
        for (version, deps) in versions {
            let tarball = format!("/tarballs/{org}/{name}/{version}.tar.gz");
            self.put(&tarball, package_tarball(name, version, deps));
            let packages: serde_json::Value = serde_json::from_str(deps).expect("deps json");
            all.insert(
                version.to_string(),
                serde_json::json!({
                    "id": format!("{org}/{name}/{version}"), "name": name, "version": version,
                    "packages": packages, "downloads": {"tarball": format!("{}{}", self.url, &tarball[1..])},
                }),
            );
        }
        let doc = serde_json::json!({"name": name, "namespace": org, "latest": versions.last().map(|v| v.0), "versions": all});
        self.put(&format!("/api/v1/{org}/{name}.json"), doc.to_string().into_bytes());
        let mut index: Vec<String> = self
            .files
            .lock()
            .expect("files")
            .keys()
            .filter_map(|k| k.strip_prefix("/api/v1/").and_then(|k| k.strip_suffix(".json")))
            .filter(|k| *k != "index")
            .map(str::to_string)
            .collect();
        index.sort();
        self.put("/api/v1/index.json", serde_json::to_vec(&index).expect("index"));
    }
}

/// A `.tar.gz` as GitHub serves a release: one top folder holding the package.
fn package_tarball(name: &str, version: &str, deps: &str) -> Vec<u8> {
    let scratch = tempfile::tempdir().expect("scratch");
    let top = format!("{name}-{version}");
    let w = |rel: &str, text: &str| {
        let p = scratch.path().join(&top).join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    w("dbt_project.yml", &format!("name: {name}\nversion: '{version}'\nconfig-version: 2\n"));
    w("macros/v.sql", &format!("{{% macro version() %}}'{version}'{{% endmacro %}}\n"));
    let deps: Vec<serde_json::Value> = serde_json::from_str(deps).expect("deps");
    if !deps.is_empty() {
        w("packages.yml", &serde_yaml::to_string(&serde_json::json!({ "packages": deps })).expect("yaml"));
    }
    let out = scratch.path().join("out.tar.gz");
    let ok = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(scratch.path())
        .arg(&top)
        .status()
        .expect("tar");
    assert!(ok.success());
    std::fs::read(out).expect("tarball")
}

fn deps(f: &Fixture, hub: &Hub, args: &[&str]) -> common::Run {
    let mut all = vec!["deps"];
    all.extend_from_slice(args);
    let out = f.command(&all).env("DBT_PACKAGE_HUB_URL", &hub.url).output().expect("runner runs");
    common::Run::from(out)
}

fn project(packages: &str) -> Fixture {
    let f = Fixture::new();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("packages.yml", packages);
    f.write(
        "models/versions.sql",
        "{{ config(materialized='table') }}\nselect {{ dbt_utils.version() }} as utils, {{ dbt_date.version() }} as date\n",
    );
    f
}

fn hub_with_utils_and_date() -> Hub {
    let hub = Hub::start();
    hub.publish("dbt-labs", "dbt_utils", &[("0.9.6", "[]"), ("1.1.1", "[]"), ("1.3.0", "[]"), ("2.0.0-rc1", "[]")]);
    hub.publish(
        "godatadriven",
        "dbt_date",
        &[("0.10.0", r#"[{"package": "dbt-labs/dbt_utils", "version": [">=0.9.0", "<1.2.0"]}]"#)],
    );
    hub
}

#[test]
fn hub_versions_are_chosen_from_ranges_with_dependencies_and_locked() {
    let hub = hub_with_utils_and_date();
    let f = project(
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - package: godatadriven/dbt_date\n    version: 0.10.0\n",
    );
    let r = deps(&f, &hub, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // dbt_date asks for <1.2.0 too: the ranges add up, so 1.1.1, not 1.3.0.
    assert!(r.stdout.contains("installed `dbt_utils` 1.1.1"), "{}", r.stdout);
    assert!(r.stdout.contains("installed `dbt_date` 0.10.0"), "{}", r.stdout);
    let lock = std::fs::read_to_string(f.path().join("package-lock.yml")).expect("lock");
    assert!(lock.contains("package: dbt-labs/dbt_utils\n  version: 1.1.1\n  name: dbt_utils"), "{lock}");
    assert!(lock.contains("sha1_hash: "), "{lock}");

    let b = f.run(&["build"]);
    assert_eq!(b.code, 0, "{}\n{}", b.stdout, b.stderr);
    assert_eq!(f.query("select utils, date from main.versions"), vec![vec!["1.1.1".to_string(), "0.10.0".to_string()]]);

    // A newer release does not move a locked project; `--upgrade` does.
    hub.publish("dbt-labs", "dbt_utils", &[("0.9.6", "[]"), ("1.1.1", "[]"), ("1.1.2", "[]"), ("1.3.0", "[]")]);
    let again = deps(&f, &hub, &[]);
    assert!(again.stdout.contains("installed `dbt_utils` 1.1.1"), "{}", again.stdout);
    let up = deps(&f, &hub, &["--upgrade"]);
    assert!(up.stdout.contains("installed `dbt_utils` 1.1.2"), "{}{}", up.stdout, up.stderr);
}

#[test]
fn a_changed_packages_yml_is_resolved_again_and_lock_only_installs_nothing() {
    let hub = hub_with_utils_and_date();
    let f = project("packages:\n  - package: dbt-labs/dbt_utils\n    version: \">=1.0.0,<2.0.0\"\n");
    assert_eq!(deps(&f, &hub, &[]).code, 0);
    f.write("packages.yml", "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\"<1.0.0\"]\n");
    let r = deps(&f, &hub, &["--lock"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("locked `dbt_utils` 0.9.6"), "{}", r.stdout);
    let lock = std::fs::read_to_string(f.path().join("package-lock.yml")).expect("lock");
    assert!(lock.contains("version: 0.9.6"), "{lock}");
    let installed = std::fs::read_to_string(f.path().join("dbt_packages/dbt_utils/macros/v.sql")).expect("installed");
    assert!(installed.contains("1.3.0"), "--lock leaves the installed package alone: {installed}");
}

#[test]
fn ranges_that_cannot_meet_and_unknown_packages_are_errors_naming_the_entry() {
    let hub = hub_with_utils_and_date();
    let f = project("packages:\n  - package: dbt-labs/dbt_utils\n    version: \">=1.2.0\"\n  - package: godatadriven/dbt_date\n    version: 0.10.0\n");
    let r = deps(&f, &hub, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no version of `dbt-labs/dbt_utils` matches `>=1.2.0, >=0.9.0, <1.2.0`"), "{}", r.stderr);
    assert!(r.stderr.contains("asked for by package `dbt_date`"), "{}", r.stderr);
    assert!(!f.path().join("package-lock.yml").exists(), "no lock for a failed resolution");

    f.write("packages.yml", "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n  - package: dbt-labs/dbt_utilz\n    version: 1.0.0\n");
    let r = deps(&f, &hub, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("packages.yml:4:")
            && r.stderr.contains("`dbt-labs/dbt_utilz` was not found in the package index"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_lock_written_by_dbt_for_the_same_entries_is_honoured() {
    let hub = hub_with_utils_and_date();
    let f = project("packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n");
    // What dbt-core 1.10's `dbt deps` wrote for this packages.yml (its own sha1_hash).
    f.write(
        "package-lock.yml",
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n    name: dbt_utils\nsha1_hash: dd1e1feb2d2bbce79e7a255cd309a60e6548df0b\n",
    );
    let r = deps(&f, &hub, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("installed `dbt_utils` 1.1.1"), "the lock's pin, not the newest 1.3.0: {}", r.stdout);
}
