//! Python models through the real binary: what a user without the right
//! Python is told, a model's exception shown as its traceback (console,
//! `run_results.json`, the task log), the old table kept when a model fails,
//! `execution_timeout` and Ctrl-C stopping a model's process, selection,
//! `ls`, `compile` and the manifest knowing them as `python`, and the load
//! errors dbt's parser has. Rows and types against dbt-duckdb are in the
//! differential case `differential/python_models`.
//!
//! Running a model needs a Python with `duckdb` and `pandas`: the pinned dbt
//! venv's (scripts/dbt-venv.sh); without it those tests say so and skip,
//! unless `RUNNER_REQUIRE_DBT_VENV` is set (`.ci/run` sets it).

mod common;

use common::{rejects, wait_exit, Fixture, Run};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn venv_python() -> Option<PathBuf> {
    common::venv_python()
}

fn run_with(f: &Fixture, python: &Path, args: &[&str]) -> Run {
    Run::from(f.command(args).env("RUNNER_PYTHON", python).output().expect("runner starts"))
}

/// The shop with a Python model reading a ref and a source, and a SQL model after it.
fn shop_with_python() -> Fixture {
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: raw_customers\n",
    );
    f.write(
        "models/marts/py_scores.py",
        "def model(dbt, session):\n    dbt.config(materialized=\"table\", tags=[\"py\"])\n    customers = dbt.source(\"raw\", \"raw_customers\").df()\n    totals = dbt.ref(\"customers\").df()[[\"customer_id\", \"total\"]]\n    return customers.merge(totals, left_on=\"id\", right_on=\"customer_id\")[[\"id\", \"name\", \"total\"]]\n",
    );
    f.write("models/marts/after_scores.sql", "select id, total * 2 as doubled from {{ ref('py_scores') }}\n");
    f
}

fn results(f: &Fixture) -> serde_json::Value {
    let text = std::fs::read_to_string(f.path().join("target/run_results.json")).expect("run_results.json");
    serde_json::from_str(&text).expect("json")
}

fn result_of<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["results"].as_array().expect("results").iter().find(|r| r["unique_id"] == id).expect("a result")
}

/// A Python that runs but has no `duckdb`: `python3` without its site-packages.
fn python_without_duckdb(f: &Fixture) -> Option<PathBuf> {
    if !Command::new("python3").arg("-c").arg("pass").output().is_ok_and(|o| o.status.success()) {
        assert!(std::env::var_os("CI").is_none(), "CI has python3");
        println!("skipped: no python3 on this machine");
        return None;
    }
    let path = f.path().join("bare-python");
    std::fs::write(&path, "#!/bin/sh\nexec python3 -S \"$@\"\n").expect("write");
    let chmod = Command::new("chmod").arg("+x").arg(&path).status().expect("chmod");
    assert!(chmod.success());
    Some(path)
}

#[test]
fn a_python_without_duckdb_or_no_python_is_a_node_error_saying_what_to_install() {
    let f = shop_with_python();
    let Some(bare) = python_without_duckdb(&f) else { return };
    assert_eq!(f.run(&["seed"]).code, 0);
    let r = Run::from(f.command(&["run"]).env("RUNNER_PYTHON", &bare).env_remove("PYTHONPATH").output().expect("runs"));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ERROR creating python table model main.py_scores"), "{}", r.stdout);
    assert!(r.stdout.contains("has no `duckdb` module") && r.stdout.contains("-m pip install duckdb"), "{}", r.stdout);
    assert!(r.stdout.contains("OK created sql table model main.customers"), "other models run: {}", r.stdout);
    assert!(r.stdout.contains("SKIP relation main.after_scores"), "{}", r.stdout);
    let doc = results(&f);
    let py = result_of(&doc, "model.shop.py_scores");
    assert_eq!(py["status"], "error");
    assert!(py["message"].as_str().expect("message").contains("`RUNNER_PYTHON`"), "{py}");
    assert!(!f.path().join("target/python").read_dir().is_ok_and(|mut d| d.next().is_some()), "scratch removed");

    let missing = f.path().join("no/such/python3");
    let r =
        Run::from(f.command(&["run", "--select", "py_scores"]).env("RUNNER_PYTHON", &missing).output().expect("runs"));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("was not found") && r.stdout.contains("install Python 3"), "{}", r.stdout);
}

#[test]
fn a_python_exception_shows_its_traceback_and_keeps_the_old_table() {
    let Some(python) = venv_python() else { return };
    let f = shop_with_python();
    assert_eq!(f.run(&["seed"]).code, 0);
    let r = run_with(&f, &python, &["run"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK created python table model main.py_scores"), "{}", r.stdout);
    assert_eq!(f.query("select count(*), sum(doubled) from main.after_scores"), [["3", "48"]]);

    f.write(
        "models/marts/py_scores.py",
        "def check(df):\n    raise ValueError(f\"boom: {len(df)} rows\")\n\n\ndef model(dbt, session):\n    df = dbt.ref(\"customers\").df()\n    check(df)\n    return df\n",
    );
    let r = run_with(&f, &python, &["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let under = r.stdout.split("Error in model py_scores (models/marts/py_scores.py)").nth(1).expect("the error block");
    for needle in [
        "Python model failed:",
        "Traceback (most recent call last):",
        "File \"models/marts/py_scores.py\", line 7, in model",
        "check(df)",
        "line 2, in check",
        "ValueError: boom: 3 rows",
    ] {
        assert!(under.contains(needle), "`{needle}` under the node:\n{}", r.stdout);
    }
    assert!(!under.contains("<string>"), "runner's own frames are left out:\n{under}");
    let doc = results(&f);
    let message = result_of(&doc, "model.shop.py_scores")["message"].as_str().expect("message").to_string();
    assert!(
        message.starts_with("Python model failed:\nTraceback") && message.contains("ValueError: boom"),
        "{message}"
    );
    assert_eq!(result_of(&doc, "model.shop.after_scores")["status"], "skipped");
    // The table of the last good run stays.
    assert_eq!(f.query("select count(*) from main.py_scores"), [["3"]]);
    // The task log has the error too.
    let runs = f.run(&["runs", "my_dag", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&runs.stdout).expect("json");
    let run_id = v[0]["run_id"].as_str().expect("run id").to_string();
    let logs = f.run(&["logs", &run_id, "py_scores"]);
    assert!(logs.stdout.contains("ValueError: boom: 3 rows"), "{}", logs.stdout);
    assert!(logs.stdout.contains("copy (select * from \"warehouse\".\"main\".\"customers\") to"), "{}", logs.stdout);
}

#[test]
fn execution_timeout_and_ctrl_c_stop_a_python_model() {
    let Some(python) = venv_python() else { return };
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write(
        "models/slow.py",
        "import os, time\n\n\ndef model(dbt, session):\n    dbt.config(execution_timeout=\"2s\")\n    with open(\"slow.pid\", \"w\") as f:\n        f.write(str(os.getpid()))\n    time.sleep(120)\n    return dbt.ref(\"raw_orders\")\n",
    );
    assert_eq!(f.run(&["seed"]).code, 0);
    let started = Instant::now();
    let r = Run::from(
        f.command(&["run", "--select", "slow"])
            .env("RUNNER_PYTHON", &python)
            .current_dir(f.path())
            .output()
            .expect("runs"),
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(started.elapsed() < Duration::from_secs(60), "stopped at the limit, not after the sleep");
    assert!(r.stdout.contains("execution timed out after 2s"), "{}", r.stdout);
    assert_gone(&f);

    // Ctrl-C (SIGTERM here) while the model sleeps: the process is stopped and runner exits 130.
    f.write(
        "models/slow.py",
        &std::fs::read_to_string(f.path().join("models/slow.py"))
            .expect("read")
            .replace("dbt.config(execution_timeout=\"2s\")\n    ", ""),
    );
    std::fs::remove_file(f.path().join("slow.pid")).expect("pid file");
    let mut child = f
        .command(&["run", "--select", "slow"])
        .env("RUNNER_PYTHON", &python)
        .current_dir(f.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runner starts");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    let reader = std::thread::spawn(move || out.lines().map_while(Result::ok).collect::<Vec<String>>());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f.path().join("slow.pid").exists() {
        assert!(Instant::now() < deadline, "the model never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let signalled = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    assert_eq!(wait_exit(&mut child, Duration::from_secs(30)), 130);
    assert!(signalled.elapsed() < Duration::from_secs(20), "the model's process was stopped, not waited for");
    let lines = reader.join().expect("lines");
    assert!(lines.iter().any(|l| l.contains("ERROR creating python table model main.slow")), "{lines:?}");
    assert_gone(&f);
}

/// The model's process (its pid in `slow.pid`) has ended.
fn assert_gone(f: &Fixture) {
    let pid = std::fs::read_to_string(f.path().join("slow.pid")).expect("the model wrote its pid");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{}", pid.trim())).exists() {
        let state = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
        // A zombie has ended; only its parent's wait is missing.
        if state.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        assert!(Instant::now() < deadline, "the model's process {pid} still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn selection_ls_compile_and_the_manifest_know_python_models() {
    let f = shop_with_python();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\nmodels:\n  shop:\n    +materialized: view\n");
    f.write(
        "models/inc.py",
        "def model(dbt, session):\n    dbt.config(materialized=\"incremental\", unique_key=\"id\")\n    limit = dbt.config.get(\"limit\", 5)\n    return dbt.ref(\"py_scores\").limit(limit)\n",
    );
    let ls = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["ls", "--resource-type", "model"];
        all.extend_from_slice(args);
        let r = f.run(&all);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.lines().map(str::to_string).collect()
    };
    assert_eq!(ls(&["--select", "config.materialized:incremental"]), ["shop.inc"]);
    // A Python model is a table unless it says otherwise: the project's `+materialized` does not reach it.
    assert_eq!(ls(&["--select", "config.materialized:table"]), ["shop.marts.customers", "shop.marts.py_scores"]);
    assert_eq!(ls(&["--select", "tag:py"]), ["shop.marts.py_scores"]);
    assert_eq!(
        ls(&["--select", "+inc", "--output", "path"]),
        // In unique id order, as runner lists.
        ["models/marts/customers.sql", "models/inc.py", "models/marts/py_scores.py", "models/staging/stg_orders.sql"]
    );
    assert_eq!(ls(&["--select", "source:raw+"]), ["shop.marts.after_scores", "shop.inc", "shop.marts.py_scores"]);
    assert_eq!(ls(&["--select", "file:py_scores.py"]), ["shop.marts.py_scores"]);

    let r = f.run(&["compile", "--select", "inc"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let compiled = std::fs::read_to_string(f.path().join("target/compiled/shop/models/inc.py")).expect("compiled");
    assert!(compiled.starts_with("def model(dbt, session):\n"), "{compiled}");
    assert!(compiled.contains(r#"refs = {'py_scores': '"warehouse"."main"."py_scores"'}"#), "{compiled}");
    assert!(compiled.contains("config_values = {'limit': 5}"), "{compiled}");
    assert!(compiled.contains("self.is_incremental = False"), "{compiled}");

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path().join("target/manifest.json")).expect("manifest"))
            .expect("json");
    let node = &manifest["nodes"]["model.shop.py_scores"];
    assert_eq!(node["language"], "python");
    assert_eq!(node["config"]["materialized"], "table");
    assert_eq!(node["original_file_path"], "models/marts/py_scores.py");
    assert_eq!(
        node["depends_on"]["nodes"],
        serde_json::json!(["source.shop.raw.raw_customers", "model.shop.customers"])
    );
    let inc = &manifest["nodes"]["model.shop.inc"];
    assert_eq!(inc["config"]["config_keys_used"], serde_json::json!(["limit"]));
    assert_eq!(inc["config"]["config_keys_defaults"], serde_json::json!([5]));
    assert_eq!(inc["compiled_code"].as_str(), Some(compiled.as_str()));
    assert_eq!(manifest["nodes"]["model.shop.customers"]["language"], "sql");
}

#[test]
fn what_dbts_parser_refuses_in_a_python_model_is_a_load_error() {
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "models/p.py",
            "def model(dbt, session):\n    dbt.config(materialized=\"view\")\n    return dbt.ref(\"customers\")\n",
            &["models/p.py:2", "materialization `view` runs SQL models only"],
        ),
        (
            "models/p.py",
            "def model(dbt, session):\n    name = \"customers\"\n    return dbt.ref(name)\n",
            &["models/p.py:3", "the name `name` is not a Python literal"],
        ),
        (
            "models/p.py",
            "def model(dbt, session):\n    return dbt.ref(\"custmers\")\n",
            &["models/p.py:2", "unknown ref `custmers`", "did you mean `customers`?"],
        ),
        (
            "models/p.py",
            "def model(dbt, session):\n    return session.sql(\"select {{ 1 }}\")\n",
            &["models/p.py:2", "no Jinja is allowed in a Python model"],
        ),
    ];
    for (path, text, needles) in cases {
        let f = Fixture::shop();
        f.write(path, text);
        rejects(&f, &["run"], needles);
    }
    let f = Fixture::shop();
    f.write("models/p.py", "def model(dbt, session):\n    return dbt.ref(\"customers\")\n");
    f.write(
        "models/unit.yml",
        "unit_tests:\n  - name: t\n    model: p\n    given:\n      - input: ref('customers')\n        rows: [{customer_id: 1}]\n    expect:\n      rows: [{customer_id: 1}]\n",
    );
    rejects(&f, &["build"], &["models/unit.yml", "`p` is a Python model, and unit tests test SQL models only"]);
}

/// dbt compiles a Python model's `dbt.ref` through a project's `ref` macro;
/// runner does not, and warns where it matters (only with such a macro).
#[test]
fn a_project_ref_macro_is_named_where_python_models_do_not_use_it() {
    let f = shop_with_python();
    let r = f.run(&["ls", "--resource-type", "model"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("dbt.ref"), "{}", r.stderr);
    f.write(
        "macros/ref.sql",
        "{% macro ref(name) %}{{ return(builtins.ref(name, v=kwargs.get('v'))) }}{% endmacro %}\n",
    );
    let r = f.run(&["ls", "--resource-type", "model"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "models/marts/py_scores.py: Python model `py_scores`: `dbt.ref` resolves as dbt's own `ref`, not through the project's `ref` macro"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("`dbt.source`"), "{}", r.stderr);
}
