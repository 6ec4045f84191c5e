//! `runner export airflow` and `runner import cosmos` through the real
//! binary, without Airflow (`tests/airflow_export.rs` runs real Airflow):
//! what the exported file holds and that Python compiles it, that export then
//! import gives back every key runner supports, the cosmos fixture as its
//! expected YAML DAG, and bad input (exit 2, naming the file and key).

mod common;
use common::{ok, Fixture, Run};
use runner::project::dag::{parse, Dag};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A DAG that sets every key runner supports, each off its default.
const EVERY_KEY: &str = r#"dag_id: shop_hourly
description: "Shop \"hourly\" load\nsecond line"
schedule: "15 */2 * * 1-5"
timezone: Europe/Paris
start_date: 2025-03-01T06:00:00
end_date: 2025-12-31
catchup: true
max_active_runs: 2
max_active_tasks: 3
project_dir: .
profile: shop
target: dev
select: ["tag:daily", "staging"]
exclude: [stg_x]
test_behavior: after_each
vars: {region: eu, days: [1, 2], nested: {a: null, b: 1.5}}
retries: 3
retry_delay: 90s
retry_exponential_backoff: true
max_retry_delay: 1h
execution_timeout: 10m
params: {limit: 10, name: "x"}
tags: [shop, hourly]
paused: true
lock_timeout: 30s
lock_policy: skip
"#;

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn load(file: &Path, base: &Path) -> Dag {
    parse(file, file, &read(file), base).unwrap_or_else(|e| panic!("{}: {e:?}", file.display()))
}

/// A DAG as comparable text: everything but the file it came from, with the
/// project directory resolved.
fn meaning(mut dag: Dag) -> String {
    dag.file = PathBuf::new();
    dag.project_dir = dag.project_dir.canonicalize().expect("project dir exists");
    format!("{dag:#?}")
}

fn py_compile(file: &Path) {
    let out = Command::new("python3").args(["-m", "py_compile"]).arg(file).output().expect("python3 is installed");
    assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn cosmos_export_maps_every_key_and_comments_the_rest() {
    let f = Fixture::shop();
    f.write("dags/shop_hourly.yml", EVERY_KEY);
    let out = f.path().join("airflow");
    let r = f.run(&["export", "airflow", "shop_hourly", "--out", out.to_str().expect("utf-8")]);
    ok(&r);
    let py = read(&out.join("shop_hourly.py"));
    for line in [
        "    dag_id=\"shop_hourly\",\n",
        "    description=\"Shop \\\"hourly\\\" load\\nsecond line\",\n",
        "        dbt_vars={\"days\": [1, 2], \"nested\": {\"a\": None, \"b\": 1.5}, \"region\": \"eu\"},\n",
        "        profile_name=\"shop\",\n        target_name=\"dev\",\n",
        "        select=[\"tag:daily\", \"staging\"],\n        exclude=[\"stg_x\"],\n        test_behavior=TestBehavior.AFTER_EACH,\n",
        "    schedule=CronDataIntervalTimetable(\"15 */2 * * 1-5\", timezone=\"Europe/Paris\"),\n",
        "    start_date=pendulum.datetime(2025, 3, 1, 6, 0, 0, tz=\"Europe/Paris\"),\n",
        "    end_date=pendulum.datetime(2025, 12, 31, tz=\"Europe/Paris\"),\n",
        "    catchup=True,\n    max_active_runs=2,\n    max_active_tasks=3,\n",
        "    default_args={\"retries\": 3, \"retry_delay\": timedelta(seconds=90), \"retry_exponential_backoff\": True, \"max_retry_delay\": timedelta(hours=1), \"execution_timeout\": timedelta(minutes=10)},\n",
        "    params={\"limit\": 10, \"name\": \"x\"},\n    tags=[\"shop\", \"hourly\"],\n    is_paused_upon_creation=True,\n",
        "# runner: lock_timeout: 30s\n# runner: lock_policy: skip\n",
    ] {
        assert!(py.contains(line), "missing {line:?} in:\n{py}");
    }
    let db = f.path().canonicalize().expect("dir").join("warehouse.duckdb");
    assert!(
        py.contains(&format!("DUCKDB_DATABASE_PATH = os.getenv(\"DUCKDB_DATABASE_PATH\", \"{}\")", db.display())),
        "{py}"
    );
    // What has no Airflow equivalent is a warning naming the DAG file and the key's line.
    assert!(r.stderr.contains("dags/shop_hourly.yml:25: `lock_timeout`: no Airflow equivalent"), "{}", r.stderr);
    assert!(r.stderr.contains("dags/shop_hourly.yml:26: `lock_policy`: no Airflow equivalent"), "{}", r.stderr);
    assert!(
        r.stderr.contains("dags/shop_hourly.yml:22: `params`: set on the Airflow DAG, but dbt models"),
        "{}",
        r.stderr
    );
    py_compile(&out.join("shop_hourly.py"));
}

#[test]
fn export_then_import_gives_back_every_key() {
    let f = Fixture::shop();
    f.write("dags/shop_hourly.yml", EVERY_KEY);
    let out = tempfile::tempdir().expect("tempdir");
    ok(&f.run(&["export", "airflow", "shop_hourly", "--out", out.path().to_str().expect("utf-8")]));
    let back = tempfile::tempdir().expect("tempdir");
    let py = out.path().join("shop_hourly.py");
    let r = f.run(&["import", "cosmos", py.to_str().expect("utf-8"), "--out", back.path().to_str().expect("utf-8")]);
    ok(&r);
    let original = load(&f.path().join("dags/shop_hourly.yml"), f.path());
    let imported = load(&back.path().join("shop_hourly.yml"), f.path());
    assert_eq!(meaning(imported), meaning(original));
}

/// The repository's own example DAG round trips too; cosmos needs a target,
/// so the import names the profile's default one.
#[test]
fn the_example_dag_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        Run::from(
            Command::new(env!("CARGO_BIN_EXE_runner"))
                .args(args)
                .current_dir(root)
                .env_remove("DUCKDB_DATABASE_PATH")
                .output()
                .expect("runs"),
        )
    };
    let dir = out.path().to_str().expect("utf-8");
    ok(&run(&["export", "airflow", "my_dag", "--out", dir]));
    ok(&run(&["import", "cosmos", &format!("{dir}/my_dag.py"), "--out", &format!("{dir}/back")]));
    let original = load(&root.join("dags/my_dag.yml"), root);
    let mut imported = load(&out.path().join("back/my_dag.yml"), root);
    assert_eq!(imported.target.take().as_deref(), Some("dev"));
    assert_eq!(meaning(imported), meaning(original));
}

#[test]
fn runner_mode_runs_runner_and_leaves_its_keys_to_it() {
    let f = Fixture::shop();
    f.write("dags/shop_hourly.yml", EVERY_KEY);
    let out = f.path().join("airflow");
    let r = f.run(&[
        "export",
        "airflow",
        "shop_hourly",
        "--out",
        out.to_str().expect("utf-8"),
        "--mode",
        "runner",
        "--runner-bin",
        "/opt/runner/bin/runner",
    ]);
    ok(&r);
    assert!(r.stderr.is_empty(), "runner applies every key itself: {}", r.stderr);
    let py = read(&out.join("shop_hourly.py"));
    let base = f.path().canonicalize().expect("dir");
    for line in [
        "RUNNER_BIN = os.getenv(\"RUNNER_BIN\", \"/opt/runner/bin/runner\")\n".to_string(),
        format!("RUNNER_PROJECT_DIR = os.getenv(\"RUNNER_PROJECT_DIR\", \"{}\")\n", base.display()),
        "with DAG(\n    dag_id=\"shop_hourly\",\n".into(),
        "    is_paused_upon_creation=True,\n) as dag:\n".into(),
        "    schedule=CronDataIntervalTimetable(\"15 */2 * * 1-5\", timezone=\"Europe/Paris\"),\n".into(),
        "\"run\", \"shop_hourly\", \"--project-dir\", shlex.quote(RUNNER_PROJECT_DIR), \"--logical-date\", \"{{ (logical_date or data_interval_start).isoformat() }}\"".into(),
    ] {
        assert!(py.contains(&line), "missing {line:?} in:\n{py}");
    }
    assert!(!py.contains("DbtDag") && !py.contains("default_args") && !py.contains("# runner:"), "{py}");
    py_compile(&out.join("shop_hourly.py"));
}

/// The exported task passes `logical_date.isoformat()` (`2025-01-10T00:00:00+00:00`);
/// `runner run` reads it as that interval's logical date.
#[test]
fn the_logical_date_airflow_renders_is_one_runner_reads() {
    let f = Fixture::shop();
    ok(&f.run(&["run", "my_dag", "--logical-date", "2025-01-10T00:00:00+00:00"]));
    let listed = f.run(&["runs", "my_dag", "--output", "json"]);
    assert!(listed.stdout.contains("2025-01-10T00:00:00"), "{}", listed.stdout);
}

#[test]
fn the_cosmos_fixture_becomes_its_expected_dag() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("differential/cosmos");
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/cosmos/my_dag.py");
    if shared.exists() {
        assert_eq!(
            read(&case.join("my_dag.py")),
            read(&shared),
            "differential/cosmos/my_dag.py is a copy of the shared fixture"
        );
    }
    let out = tempfile::tempdir().expect("tempdir");
    let r = Run::from(
        Command::new(env!("CARGO_BIN_EXE_runner"))
            .args(["import", "cosmos", "my_dag.py", "--out"])
            .arg(out.path())
            .current_dir(&case)
            .output()
            .expect("runs"),
    );
    ok(&r);
    assert_eq!(read(&out.path().join("my_dag.yml")), read(&case.join("my_dag.expected.yml")));
    // What the fixture does that a YAML DAG cannot say is reported, with its line.
    assert!(
        r.stderr.contains(
            "my_dag.py:19: `dbt_project_path` `/usr/local/airflow/dbt/jaffle_shop_duckdb` holds no `dbt_project.yml`"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("my_dag.py:24: `profile_mapping` `DuckDBUserPasswordProfileMapping(…)` not translated"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().filter(|l| l.starts_with("warning:")).count(), 2, "{}", r.stderr);

    // Semantically the repository's dags/my_dag.yml, but for what the fixture sets
    // differently: where the project is, two retries, dbt vars at DAG level (the
    // same value dbt_project.yml gives), and tags.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut imported = load(&out.path().join("my_dag.yml"), root);
    let repo = load(&root.join("dags/my_dag.yml"), root);
    assert_eq!(imported.project_dir, PathBuf::from("/usr/local/airflow/dbt/jaffle_shop_duckdb"));
    imported.project_dir = repo.project_dir.clone();
    assert_eq!(imported.retries, 2);
    imported.retries = repo.retries;
    assert_eq!(format!("{:?}", imported.vars), "{\"amount_decimals\": Number(2)}");
    assert!(read(&root.join("dbt_project.yml")).contains("amount_decimals: 2"));
    imported.vars.clear();
    assert_eq!(imported.tags, ["dbt", "duckdb"]);
    imported.tags.clear();
    // Without a profile the project's (`shop`, from dbt_project.yml) is used.
    assert_eq!(imported.profile, None);
    imported.profile = repo.profile.clone();
    assert_eq!(meaning(imported), meaning(repo));
}

#[test]
fn bad_dags_are_refused_naming_file_and_key() {
    let export = ["export", "airflow", "my_dag", "--out", "airflow"];
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &common::DAG.replace("\"@daily\"", "\"0 25 * * *\""));
    common::rejects(&f, &export, &["dags/my_dag.yml:2", "`schedule`"]);
    f.write("dags/my_dag.yml", &format!("{}timezone: Mars/Base\n", common::DAG));
    common::rejects(&f, &export, &["dags/my_dag.yml:9", "`timezone`", "unknown timezone `Mars/Base`"]);
    f.write("dags/my_dag.yml", &common::DAG.replace("dag_id: my_dag", "dag_id: \"my dag\""));
    common::rejects(
        &f,
        &["export", "airflow", "my dag", "--out", "airflow"],
        &["dags/my_dag.yml:1", "`dag_id`", "letters, digits"],
    );
    assert!(!f.path().join("airflow").exists(), "nothing written");
    let f = Fixture::shop();
    common::rejects(
        &f,
        &["export", "airflow", "my_dag", "--out", "x", "--mode", "dagster"],
        &["unknown `--mode` `dagster`"],
    );
    common::rejects(
        &f,
        &["export", "airflow", "my_dag", "--out", "x", "--runner-bin", "r"],
        &["`--runner-bin` is for `--mode runner`"],
    );
}

#[test]
fn bad_python_files_are_refused_naming_the_file() {
    let f = Fixture::shop();
    f.write("flows/etl.py", "from airflow.sdk import DAG\n\nwith DAG(dag_id='etl'):\n    pass\n");
    let r = f.run(&["import", "cosmos", &f.path().join("flows/etl.py").display().to_string()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("flows/etl.py: not a cosmos DAG"), "{}", r.stderr);
    f.write("flows/bad_id.py", "d = DbtDag(\n    dag_id='nightly load',\n)\n");
    let r = f.run(&["import", "cosmos", &f.path().join("flows/bad_id.py").display().to_string()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("flows/bad_id.py:2: `dag_id`: `nightly load` holds the character ' '"), "{}", r.stderr);
    f.write(
        "flows/cron.py",
        "d = DbtDag(dag_id='c',\n    schedule=CronDataIntervalTimetable('0 0 * *', timezone='UTC'))\n",
    );
    let r = f.run(&["import", "cosmos", &f.path().join("flows/cron.py").display().to_string()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("flows/cron.py:2: `schedule`:"), "{}", r.stderr);
    let r = f.run(&["import", "cosmos", &f.path().join("flows/missing.py").display().to_string()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("flows/missing.py: cannot read"), "{}", r.stderr);
    assert_eq!(common::tree(&f.path().join("dags")), [PathBuf::from("my_dag.yml")], "nothing written");
}

#[test]
fn import_writes_into_the_projects_dags_and_never_overwrites() {
    let f = Fixture::shop();
    f.write("flows/nightly.py", "d = DbtDag(dag_id='nightly', schedule='@daily', start_date=datetime(2025, 1, 1), render_config=RenderConfig(select=['+customers']))\n");
    let file = f.path().join("flows/nightly.py").display().to_string();
    let r = f.run(&["import", "cosmos", &file]);
    ok(&r);
    assert!(r.stdout.contains("dags/nightly.yml"), "{}", r.stdout);
    // The written DAG runs.
    ok(&f.run(&["run", "nightly", "--logical-date", "2025-01-05"]));
    assert_eq!(f.query("select count(*) from customers"), [["3"]]);
    let again = f.run(&["import", "cosmos", &file]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("nightly.yml: already exists"), "{}", again.stderr);
}
