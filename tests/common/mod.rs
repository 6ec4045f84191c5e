//! Shared harness for integration tests: fixture projects written into temp
//! directories and the real `runner` binary run against them.

#![allow(dead_code)]

pub mod dump;
pub mod http;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

pub const PROFILES: &str = "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ env_var('DUCKDB_DATABASE_PATH', 'warehouse.duckdb') }}\"\n      threads: 1\n";

/// A model that runs for many seconds unless interrupted; it reads a seed, so
/// the seeds have finished (and committed) before it starts.
pub const VERY_SLOW: &str = "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('raw_orders') }} o, range(60000) a, range(15000) b where (a.range * 7 + b.range + o.id) % 1013 = 5\n";

pub const DAG: &str = "dag_id: my_dag\nschedule: \"@daily\"\nstart_date: 2025-01-01\nmax_active_runs: 1\nmax_active_tasks: 1\nprofile: shop\nselect: [\"*\"]\ntest_behavior: after_all\n";

impl Fixture {
    /// An empty project with a profile and the cosmos-style DAG.
    pub fn new() -> Fixture {
        let f = Fixture { dir: tempfile::tempdir().expect("tempdir") };
        f.write("profiles.yml", PROFILES);
        f.write("dags/my_dag.yml", DAG);
        f
    }

    /// A small shop: two seeds, a view, a table, tests of every generic kind and a singular test.
    pub fn shop() -> Fixture {
        Fixture::shop_from(Fixture::new())
    }

    /// The shop in a new folder below `parent`, for tests that watch what is
    /// written beside the project.
    pub fn shop_in(parent: &Path) -> Fixture {
        let f = Fixture { dir: tempfile::tempdir_in(parent).expect("tempdir") };
        f.write("profiles.yml", PROFILES);
        f.write("dags/my_dag.yml", DAG);
        Fixture::shop_from(f)
    }

    fn shop_from(f: Fixture) -> Fixture {
        f.write("seeds/raw_customers.csv", "id,name\n1,Ann\n2,Bo\n3,Cy\n");
        f.write(
            "seeds/raw_orders.csv",
            "id,customer_id,status,amount\n10,1,placed,5\n11,1,shipped,7\n12,2,placed,3\n13,3,returned,9\n",
        );
        f.write("models/staging/stg_orders.sql", "{{ config(materialized='view') }}\nselect id as order_id, customer_id, status, amount from {{ ref('raw_orders') }}\n");
        f.write("models/marts/customers.sql", "{{ config(materialized='table') }}\nselect c.id as customer_id, c.name, count(o.order_id) as orders, sum(o.amount) as total\nfrom {{ ref('raw_customers') }} c left join {{ ref('stg_orders') }} o on o.customer_id = c.id\ngroup by 1, 2\n");
        f.write(
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: stg_orders\n    columns:\n      - name: order_id\n        data_tests: [not_null, unique]\n      - name: status\n        data_tests:\n          - accepted_values:\n              arguments:\n                values: [placed, shipped, returned]\n      - name: customer_id\n        data_tests:\n          - relationships:\n              arguments:\n                to: ref('customers')\n                field: customer_id\n",
        );
        f.write("tests/assert_totals_positive.sql", "select * from {{ ref('customers') }} where total < 0\n");
        f
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.path().join("warehouse.duckdb")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path().join(rel)).expect("remove");
    }

    /// The binary with a clean environment for this fixture.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_runner"));
        c.args(args)
            .arg("--project-dir")
            .arg(self.path())
            .env_remove("DUCKDB_DATABASE_PATH")
            .env_remove("DBT_PROFILES_DIR")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("runner starts");
        Run::from(out)
    }

    /// Runs a query against the warehouse after `runner` has exited.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let conn = duckdb::Connection::open(self.db()).expect("open warehouse");
        let mut stmt = conn.prepare(sql).expect("prepare");
        let mut rows = stmt.query([]).expect("query");
        let mut out = Vec::new();
        while let Some(row) = rows.next().expect("row") {
            let n = row.as_ref().column_count();
            out.push((0..n).map(|i| value_text(row.get::<_, duckdb::types::Value>(i).expect("value"))).collect());
        }
        out
    }
}

fn value_text(v: duckdb::types::Value) -> String {
    use duckdb::types::Value as V;
    match v {
        V::Null => "NULL".into(),
        V::Text(s) => s,
        V::Int(n) => n.to_string(),
        V::BigInt(n) => n.to_string(),
        V::HugeInt(n) => n.to_string(),
        V::Double(f) => f.to_string(),
        V::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// Spawns `runner` and forwards its stdout and stderr lines to a channel, so a
/// test can wait for a given line while the process runs.
pub fn spawn_watched(f: &Fixture, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = f.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runner starts");
    let (tx, rx) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    (child, rx)
}

/// Waits for a line containing `needle`; returns every line seen so far.
pub fn wait_for(rx: &mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            let hit = line.contains(needle);
            seen.push(line);
            if hit {
                return seen;
            }
        }
    }
    panic!("never saw `{needle}`; saw:\n{}", seen.join("\n"));
}

pub fn wait_exit(child: &mut Child, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "runner did not exit in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).to_string(),
            stderr: String::from_utf8_lossy(&o.stderr).to_string(),
        }
    }
}

impl Run {
    /// stdout with durations masked, for exact comparisons.
    pub fn masked(&self) -> String {
        let mut out = String::new();
        for line in self.stdout.lines() {
            out.push_str(&mask_line(line));
            out.push('\n');
        }
        out
    }

    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.masked().lines().filter(|l| l.contains(needle)).map(str::to_string).collect()
    }
}

/// Replaces `in 0.05s` and `in 1.23s.` with `in Ts`.
fn mask_line(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("in ") {
        out.push_str(&rest[..i + 3]);
        let after = &rest[i + 3..];
        let num: String = after.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        if !num.is_empty() && after[num.len()..].starts_with('s') {
            out.push('T');
            rest = &after[num.len()..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn masking_replaces_only_durations() {
    assert_eq!(mask_line("1 of 2 OK .... [OK in 0.05s]"), "1 of 2 OK .... [OK in Ts]");
    assert_eq!(mask_line("Finished running 3 nodes in 12.40s."), "Finished running 3 nodes in Ts.");
    assert_eq!(mask_line("join in stock"), "join in stock");
}

/// Every path below `dir` (folders too), relative to it and sorted; links
/// are listed, not followed. For tests that check what a command wrote where.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).expect("below").to_path_buf());
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Asserts a run exited 0, showing its output when it did not.
pub fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

/// Rows of a query as `a|b|c`, in its order.
pub fn select(f: &Fixture, sql: &str) -> Vec<String> {
    f.query(sql).into_iter().map(|r| r.join("|")).collect()
}

/// Runs `args` expecting exit 2, each needle in stderr, nothing run and no
/// database file; returns stderr.
pub fn rejects(f: &Fixture, args: &[&str], needles: &[&str]) -> String {
    let r = f.run(args);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    for n in needles {
        assert!(r.stderr.contains(n), "expected `{n}` in:\n{}", r.stderr);
    }
    assert!(r.stdout.is_empty(), "nothing ran:\n{}", r.stdout);
    assert!(!f.db().exists(), "the database must not be created");
    r.stderr
}

/// The dbt venv's Python when it has duckdb and pandas; `None` (the test
/// is skipped, saying so) when missing, unless `RUNNER_REQUIRE_DBT_VENV` is set.
#[allow(dead_code)]
pub fn venv_python() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    use std::process::Command;
    let venv = std::env::var_os("RUNNER_DBT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/runner-dbt-venv"));
    let python = venv.join("bin/python");
    let ok = Command::new(&python).args(["-c", "import duckdb, pandas"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        let why = format!("no dbt venv with duckdb and pandas at `{}` (run scripts/dbt-venv.sh)", venv.display());
        assert!(std::env::var_os("RUNNER_REQUIRE_DBT_VENV").is_none(), "RUNNER_REQUIRE_DBT_VENV is set: {why}");
        println!("skipped: {why}");
        return None;
    }
    Some(python)
}
