//! The exported DAG in real Airflow 3 + astronomer-cosmos 1.15 + dbt-core 1.10
//! + dbt-duckdb 1.9 (the venv of `scripts/airflow-venv.sh`; `.ci/run` creates
//! it, so CI never skips): for each mode, the example project is exported,
//! `airflow dags list-import-errors` reports nothing for it (and does report
//! a broken control file, so the check can fail), the file raises no warning
//! of its own when imported, `airflow dags test my_dag 2025-01-10` succeeds,
//! and the warehouse it leaves equals the one `runner run my_dag
//! --logical-date 2025-01-10` leaves in a separate copy. In cosmos mode the
//! Airflow tasks and their edges are runner's plan: a task per seed
//! (`<name>_seed`) and model (`<name>_run`), dependencies as edges, and with
//! `test_behavior: after_all` one test task after the leaves.

mod common;
use common::Run;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const LOGICAL_DATE: &str = "2025-01-10";

/// The venv's bin folder; without one, a reason to skip (or, under `.ci/run`,
/// which sets `RUNNER_REQUIRE_AIRFLOW`, a failure: CI never skips this).
fn venv_bin() -> Result<PathBuf, String> {
    let found = find_venv();
    if let Err(why) = &found {
        assert!(std::env::var_os("RUNNER_REQUIRE_AIRFLOW").is_none(), "RUNNER_REQUIRE_AIRFLOW is set: {why}");
    }
    found
}

fn find_venv() -> Result<PathBuf, String> {
    let venv = match std::env::var_os("RUNNER_AIRFLOW_VENV") {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/runner-airflow-venv"),
    };
    let bin = venv.join("bin");
    if bin.join("airflow").exists() {
        Ok(bin)
    } else {
        Err(format!(
            "no Airflow venv at `{}` (create it with scripts/airflow-venv.sh, or set RUNNER_AIRFLOW_VENV)",
            venv.display()
        ))
    }
}

fn copy_example(to: &Path) {
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                copy_tree(&p, &to.join(entry.file_name()));
            } else if !matches!(p.extension().and_then(|e| e.to_str()), Some("rs" | "py")) {
                std::fs::copy(&p, to.join(entry.file_name())).expect("copy");
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["dags", "models", "seeds", "tests", "macros"] {
        if root.join(dir).exists() {
            copy_tree(&root.join(dir), &to.join(dir));
        }
    }
    for file in ["profiles.yml", ".env", "dbt_project.yml"] {
        std::fs::copy(root.join(file), to.join(file)).expect("copy");
    }
}

fn runner(project: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(args)
        .arg("--project-dir")
        .arg(project)
        .env_remove("DUCKDB_DATABASE_PATH")
        .env_remove("DBT_PROFILES_DIR")
        .output()
        .expect("runner starts");
    let run = Run::from(out);
    assert_eq!(run.code, 0, "runner {args:?}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    run
}

/// One Airflow installation: its home (a migrated SQLite database) and DAGs folder.
struct Airflow {
    bin: PathBuf,
    home: PathBuf,
    dags: PathBuf,
}

impl Airflow {
    fn new(bin: PathBuf, dir: &Path) -> Airflow {
        let af = Airflow { bin, home: dir.join("home"), dags: dir.join("dags") };
        std::fs::create_dir_all(&af.dags).expect("mkdir");
        af.ok(&["db", "migrate"]);
        af
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(self.bin.join(program));
        let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap_or_default());
        c.env("PATH", path)
            .env("AIRFLOW_HOME", &self.home)
            .env("AIRFLOW__CORE__DAGS_FOLDER", &self.dags)
            .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            .env("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
            .env("AIRFLOW__COSMOS__CACHE_DIR", self.home.join("cosmos"))
            .env("DO_NOT_TRACK", "1")
            .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "False");
        // The exported file's defaults must be what runs: nothing from this shell overrides them.
        for var in [
            "DUCKDB_DATABASE_PATH",
            "DBT_PROFILES_DIR",
            "DBT_PROJECT_PATH",
            "DBT_PROFILES_YML",
            "DBT_EXECUTABLE",
            "RUNNER_BIN",
            "RUNNER_PROJECT_DIR",
        ] {
            c.env_remove(var);
        }
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.command("airflow").args(args).output().expect("airflow starts");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "airflow {args:?} failed:\n{}", tail(&text));
        text
    }

    /// Import errors of the DAGs folder, as parsed by Airflow, with a control
    /// file that must fail: an empty list would otherwise prove nothing.
    fn assert_imports_cleanly(&self, exported: &str) {
        let control = self.dags.join("control_broken.py");
        std::fs::write(&control, "# An Airflow DAG file that cannot be imported.\nimport runner_no_such_module\n")
            .expect("write");
        self.ok(&["dags", "reserialize"]);
        let out = self
            .command("airflow")
            .args(["dags", "list-import-errors", "-o", "json"])
            .output()
            .expect("airflow starts");
        std::fs::remove_file(&control).expect("remove control");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = stdout.lines().rev().find(|l| l.starts_with('[')).unwrap_or_else(|| panic!("no JSON in:\n{stdout}"));
        let errors: Vec<serde_json::Value> = serde_json::from_str(json).expect("json");
        let files: Vec<&str> = errors.iter().filter_map(|e| e["filepath"].as_str()).collect();
        assert_eq!(files, ["control_broken.py"], "{exported} must import cleanly; errors: {errors:#?}");
    }

    /// What the DAG file holds once Python imports it (scripts/inspect-airflow-dag.py).
    fn inspect(&self, file: &Path) -> serde_json::Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/inspect-airflow-dag.py");
        let report = self.home.join("inspect.json");
        let out = self.command("python").arg(&script).arg(file).arg(&report).output().expect("python starts");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "importing {} failed:\n{}", file.display(), tail(&text));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
        assert_eq!(v["own_warnings"], serde_json::json!([]), "{} raises warnings of its own", file.display());
        // An Airflow deprecation (raised by Airflow, or of an Airflow category) fails,
        // but for cosmos 1.15's own import of `airflow.DAG`, which no DAG file avoids;
        // other libraries' (dbt's use of Click) are shown.
        for d in v["all_deprecations"].as_array().into_iter().flatten() {
            let text = d.as_str().unwrap_or_default();
            let cosmos_own = text.contains("/cosmos/airflow/dag.py:") && text.contains("Import 'DAG' directly");
            let airflow = text.contains("/site-packages/airflow/")
                || ["RemovedInAirflow", "AirflowProviderDeprecationWarning", "DeprecatedImportWarning"]
                    .iter()
                    .any(|c| text.contains(c));
            assert!(cosmos_own || !airflow, "an Airflow deprecation: {text}");
            println!("note: a library's deprecation warning: {text}");
        }
        assert_eq!(v["timetable"], "CronDataIntervalTimetable", "runs keep runner's data intervals");
        v
    }

    fn dags_test(&self) {
        let text = self.ok(&["dags", "test", "my_dag", LOGICAL_DATE]);
        let finished = text
            .lines()
            .find(|l| l.contains("DagRun Finished"))
            .unwrap_or_else(|| panic!("no run ended:\n{}", tail(&text)));
        assert!(finished.contains("state=success"), "{finished}\n{}", tail(&text));
        assert!(finished.contains(&format!("logical_date={LOGICAL_DATE} 00:00:00+00:00")), "{finished}");
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

/// Every relation in the warehouse: name, kind, columns with types, and rows, sorted.
fn dump(db: &Path) -> Vec<String> {
    let conn = duckdb::Connection::open(db).unwrap_or_else(|e| panic!("{}: {e}", db.display()));
    let strings = |sql: &str, params: &[&str], n: usize| -> Vec<Vec<String>> {
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let rows = stmt
            .query_map(duckdb::params_from_iter(params), |row| {
                (0..n).map(|i| row.get::<_, String>(i)).collect::<Result<Vec<_>, _>>()
            })
            .expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    let mut out = Vec::new();
    for t in strings("select table_schema, table_name, table_type from information_schema.tables order by all", &[], 3)
    {
        let (schema, name) = (&t[0], &t[1]);
        let cols = strings(
            "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position",
            &[schema, name],
            2,
        );
        out.push(format!("{schema}.{name} ({}) {cols:?}", t[2]));
        let sql = format!("select * from \"{schema}\".\"{name}\" order by all");
        let mut stmt = conn.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let rows = stmt
            .query_map([], |row| {
                (0..cols.len())
                    .map(|i| row.get::<_, duckdb::types::Value>(i).map(|v| format!("{v:?}")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .expect("query");
        out.extend(rows.map(|r| format!("  {:?}", r.expect("row"))));
    }
    assert!(out.len() > 10, "the warehouse holds the example's relations: {out:#?}");
    out
}

/// Runner's plan of `project` as cosmos draws it with `test_behavior: after_all`;
/// cosmos names the test task after the folder of the project it was given.
fn planned_tasks(project: &Path, exported: &Path) -> BTreeMap<String, Vec<String>> {
    let ls = runner(project, &["ls", "my_dag", "--output", "json", "--resource-type", "model", "seed"]);
    let nodes: Vec<serde_json::Value> =
        ls.stdout.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    let task_of: BTreeMap<&str, String> = nodes
        .iter()
        .map(|n| {
            let suffix = if n["resource_type"] == "seed" { "seed" } else { "run" };
            (n["unique_id"].as_str().expect("id"), format!("{}_{suffix}", n["name"].as_str().expect("name")))
        })
        .collect();
    let mut tasks: BTreeMap<String, BTreeSet<String>> =
        task_of.values().map(|t| (t.clone(), BTreeSet::new())).collect();
    for n in &nodes {
        let me = &task_of[n["unique_id"].as_str().expect("id")];
        for dep in n["depends_on"]["nodes"].as_array().into_iter().flatten() {
            if let Some(parent) = task_of.get(dep.as_str().expect("dep")) {
                tasks.get_mut(parent).expect("task").insert(me.clone());
            }
        }
    }
    let test_task = format!("{}_test", exported.file_name().expect("name").to_string_lossy());
    for downstream in tasks.values_mut().filter(|d| d.is_empty()) {
        downstream.insert(test_task.clone());
    }
    tasks.insert(test_task, BTreeSet::new());
    tasks.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect()
}

#[test]
fn cosmos_mode_runs_in_airflow_as_runner_runs() {
    let bin = match venv_bin() {
        Ok(b) => b,
        Err(why) => return println!("skipped: {why}"),
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, reference) = (tmp.path().join("shop"), tmp.path().join("reference"));
    copy_example(&project);
    copy_example(&reference);
    let af = Airflow::new(bin, &tmp.path().join("airflow"));
    runner(&project, &["export", "airflow", "my_dag", "--out", af.dags.to_str().expect("utf-8")]);
    af.assert_imports_cleanly("my_dag.py");
    let dag = af.inspect(&af.dags.join("my_dag.py"));
    assert_eq!(dag["dag_ids"], serde_json::json!(["my_dag"]));
    let tasks: BTreeMap<String, Vec<String>> = serde_json::from_value(dag["tasks"].clone()).expect("tasks");
    let planned = planned_tasks(&reference, &project);
    assert_eq!(planned.len(), 9, "3 seeds, 5 models and the test task: {planned:#?}");
    assert_eq!(tasks, planned);
    af.dags_test();
    runner(&reference, &["run", "my_dag", "--logical-date", LOGICAL_DATE]);
    assert_eq!(dump(&project.join("shop.duckdb")), dump(&reference.join("shop.duckdb")));

    // A DAG with every key off its default imports as cleanly, each key where Airflow reads it.
    std::fs::write(reference.join("dags/every_key.yml"), EVERY_KEY).expect("write");
    let elsewhere = tmp.path().join("every_key");
    runner(&reference, &["export", "airflow", "every_key", "--out", elsewhere.to_str().expect("utf-8")]);
    let dag = af.inspect(&elsewhere.join("every_key.py"));
    assert_eq!(dag["dag_ids"], serde_json::json!(["every_key"]));
    let settings = &dag["settings"];
    for (key, value) in [
        ("catchup", "True"),
        ("max_active_runs", "2"),
        ("max_active_tasks", "3"),
        ("start_date", "2025-03-01T05:00:00+00:00"),
        ("end_date", "2025-12-30T23:00:00+00:00"),
        ("tags", "['hourly', 'shop']"),
        ("params", "{'limit': 10}"),
        ("is_paused_upon_creation", "True"),
        ("description", "every key"),
        ("timetable_timezone", "Europe/Paris"),
        ("retries", "3"),
        ("retry_delay", "0:01:30"),
        ("retry_exponential_backoff", "True"),
        ("max_retry_delay", "1:00:00"),
        ("execution_timeout", "0:10:00"),
    ] {
        assert_eq!(settings[key], value, "{key}: {settings:#}");
    }
}

/// Every key off its default, on the example project (its selection matches nodes).
const EVERY_KEY: &str = "dag_id: every_key\ndescription: every key\nschedule: \"15 */2 * * 1-5\"\ntimezone: Europe/Paris\nstart_date: 2025-03-01T06:00:00\nend_date: 2025-12-31\ncatchup: true\nmax_active_runs: 2\nmax_active_tasks: 3\nprofile: shop\ntarget: dev\nselect: [\"+orders\"]\nexclude: [stg_payments]\ntest_behavior: after_each\nvars: {amount_decimals: 3}\nretries: 3\nretry_delay: 90s\nretry_exponential_backoff: true\nmax_retry_delay: 1h\nexecution_timeout: 10m\nparams: {limit: 10}\ntags: [shop, hourly]\npaused: true\nlock_timeout: 30s\nlock_policy: skip\n";

#[test]
fn runner_mode_runs_runner_on_the_worker() {
    let bin = match venv_bin() {
        Ok(b) => b,
        Err(why) => return println!("skipped: {why}"),
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, reference) = (tmp.path().join("shop"), tmp.path().join("reference"));
    copy_example(&project);
    copy_example(&reference);
    let af = Airflow::new(bin, &tmp.path().join("airflow"));
    let out = af.dags.to_str().expect("utf-8");
    runner(
        &project,
        &[
            "export",
            "airflow",
            "my_dag",
            "--out",
            out,
            "--mode",
            "runner",
            "--runner-bin",
            env!("CARGO_BIN_EXE_runner"),
        ],
    );
    af.assert_imports_cleanly("my_dag.py");
    let dag = af.inspect(&af.dags.join("my_dag.py"));
    assert_eq!(dag["dag_ids"], serde_json::json!(["my_dag"]));
    assert_eq!(dag["tasks"], serde_json::json!({"runner_run": []}));
    af.dags_test();
    // The task ran runner for the interval Airflow gave it.
    let runs = runner(&project, &["runs", "my_dag", "--output", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs.stdout).expect("json");
    let run = &runs.as_array().expect("runs")[0];
    assert_eq!(run["data_interval_start"], format!("{LOGICAL_DATE}T00:00:00Z"), "{run:#}");
    assert_eq!(run["state"], "success", "{run:#}");
    runner(&reference, &["run", "my_dag", "--logical-date", LOGICAL_DATE]);
    assert_eq!(dump(&project.join("shop.duckdb")), dump(&reference.join("shop.duckdb")));
}
