//! The profile's `attach:`: a second DuckDB file attached beside the
//! warehouse, read by models through its alias, and the bad-input cases.

mod common;
use common::Fixture;

/// Writes `rel` as a DuckDB file holding `prices(id, price)`.
fn make_other_db(f: &Fixture, rel: &str) {
    let path = f.path().join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let conn = duckdb::Connection::open(&path).expect("open other db");
    conn.execute_batch("create table prices as select * from (values (1, 10), (2, 25), (3, 40)) t(id, price)")
        .expect("create table");
}

fn profile_with(attach: &str) -> String {
    format!("{}      attach:\n{attach}", common::PROFILES)
}

fn project(f: &Fixture) {
    f.write(
        "models/expensive.sql",
        "{{ config(materialized='table') }}\nselect id, price from ext.main.prices where price > 20\n",
    );
    f.write("models/sources.yml", "version: 2\nsources:\n  - name: other\n    database: ext\n    schema: main\n    tables:\n      - name: prices\n");
    f.write("models/price_count.sql", "{{ config(materialized='table') }}\nselect count(*) as n, sum(price) as total from {{ source('other', 'prices') }}\n");
}

#[test]
fn a_read_only_attachment_is_read_by_models_and_left_unchanged() {
    let f = Fixture::new();
    make_other_db(&f, "data/other.v1.duckdb");
    f.write(
        "profiles.yml",
        &profile_with("        - path: data/other.v1.duckdb\n          alias: ext\n          read_only: true\n"),
    );
    project(&f);
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select id, price from expensive order by id"), vec![vec!["2", "25"], vec!["3", "40"]]);
    assert_eq!(f.query("select n, total from price_count"), vec![vec!["3", "75"]]);
    // The warehouse keeps no trace of the attachment once closed.
    assert_eq!(f.query("select count(*) from duckdb_databases() where database_name = 'ext'"), vec![vec!["0"]]);
    let other = duckdb::Connection::open(f.path().join("data/other.v1.duckdb")).expect("open other");
    let n: i64 = other.query_row("select count(*) from prices", [], |row| row.get(0)).expect("count");
    assert_eq!(n, 3);
}

#[test]
fn the_alias_defaults_to_the_file_stem_and_read_only_forbids_writes() {
    let f = Fixture::new();
    make_other_db(&f, "ext.duckdb");
    f.write("profiles.yml", &profile_with("        - path: ext.duckdb\n          read_only: true\n"));
    f.write(
        "models/expensive.sql",
        "{{ config(materialized='table') }}\nselect id from ext.main.prices where price > 20\n",
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select id from expensive order by id"), vec![vec!["2"], vec!["3"]]);
    // A model configured into the read-only database stops the run when its
    // schema is created, before any node runs.
    f.write("models/writes.sql", "{{ config(materialized='table') }}\nselect 1 as x\n");
    f.write("models/schema.yml", "version: 2\nmodels:\n  - name: writes\n    config:\n      database: ext\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("\"ext\" which is attached in read-only mode"), "{}", r.stderr);
    let other = duckdb::Connection::open(f.path().join("ext.duckdb")).expect("open other");
    let n: i64 = other.query_row("select count(*) from duckdb_tables()", [], |row| row.get(0)).expect("count");
    assert_eq!(n, 1, "only `prices`");
}

#[test]
fn a_missing_read_only_file_is_reported_before_the_warehouse_exists() {
    let f = Fixture::new();
    project(&f);
    f.write(
        "profiles.yml",
        &profile_with("        - path: data/missing.duckdb\n          alias: ext\n          read_only: true\n"),
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let missing = f.path().join("data/missing.duckdb").display().to_string();
    for needle in ["profiles.yml", missing.as_str(), "does not exist", "hint:"] {
        assert!(r.stderr.contains(needle), "expected `{needle}` in:\n{}", r.stderr);
    }
    assert!(!f.db().exists(), "the warehouse must not be created");
    assert!(!f.path().join("data/missing.duckdb").exists(), "nor the attachment");
}

#[test]
fn bad_attach_entries_name_profiles_yml_and_the_line() {
    let f = Fixture::new();
    project(&f);
    // PROFILES has 7 lines, so `attach:` is line 8.
    for (entry, needle) in [
        ("        - path: x.duckdb\n          readonly: true\n", "unknown field `readonly`"),
        ("        - alias: ext\n", "missing field `path`"),
        ("        - path: x.duckdb\n          type: \"sqlite; drop\"\n", "is not a name"),
    ] {
        f.write("profiles.yml", &profile_with(entry));
        let r = f.run(&["run", "my_dag"]);
        assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        for n in ["profiles.yml:8", "`attach[0]`", needle] {
            assert!(r.stderr.contains(n), "expected `{n}` in:\n{}", r.stderr);
        }
        assert!(!f.db().exists(), "the warehouse must not be created");
    }
}
