//! `runner export airflow`: one DAG as an Airflow 3 DAG file, either a cosmos
//! `DbtDag` (each seed, model and test a task, dbt run by cosmos) or a plain
//! DAG whose one task runs `runner run` (for workers that have `runner`).
//!
//! Owns the Python text and the list of keys with no Airflow equivalent
//! (written as `# runner:` comments, which `runner import cosmos` reads back,
//! and reported as warnings). Pure: the caller resolves paths and the
//! profile and writes the file.

use super::pywrite::{datetime, identifier, string, timedelta, value};
use super::translate::{is_kept, kept_comment, yaml_duration};
use crate::config::key_line;
use crate::diag::Diagnostic;
use crate::project::dag::{Dag, LockPolicy, Schedule, TestBehavior};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A cosmos `DbtDag`: the default, as teams write it by hand.
    Cosmos,
    /// A plain DAG with one `BashOperator` running `runner run`.
    Runner,
}

/// Everything the file needs beyond the DAG, resolved by the caller.
pub(crate) struct Context<'a> {
    pub dag: &'a Dag,
    /// The DAG file's text, for the lines of warnings.
    pub dag_text: &'a str,
    /// The directory holding `dags/` (runner's `--project-dir`), absolute.
    pub base: PathBuf,
    /// The dbt project, absolute.
    pub project_dir: PathBuf,
    /// `profiles.yml`, absolute, and the profile and target runner chose.
    pub profiles_yml: PathBuf,
    pub profile: String,
    pub target: String,
    /// The database file runner writes, absolute.
    pub database: PathBuf,
    /// The default for `RUNNER_BIN` in runner mode.
    pub runner_bin: String,
}

/// The Python file, and a warning for each key with no Airflow equivalent.
pub(crate) fn export(cx: &Context, mode: Mode) -> Result<(String, Vec<Diagnostic>), Diagnostic> {
    let dag = cx.dag;
    let mut warnings = Vec::new();
    let mut warn = |key: &str, msg: String, hint: Option<&str>| {
        let d = Diagnostic::in_file(&dag.file, format!("`{key}`: {msg}")).at(key_line(cx.dag_text, key), None);
        warnings.push(match hint {
            Some(h) => d.hint(h),
            None => d,
        });
    };
    let mut kept = Vec::new();
    if mode == Mode::Cosmos {
        if let Some(t) = dag.lock_timeout {
            kept.push(("lock_timeout", yaml_duration(t.as_micros() as i64)));
        }
        let policy = match dag.lock_policy {
            LockPolicy::Wait => None,
            LockPolicy::Skip => Some("skip"),
            LockPolicy::Fail => Some("fail"),
        };
        if let Some(p) = policy {
            kept.push(("lock_policy", p.to_string()));
        }
        for (key, _) in &kept {
            debug_assert!(is_kept(key));
            warn(
                key,
                "no Airflow equivalent (Airflow has no database lock to wait for); written as a comment".into(),
                None,
            );
        }
        if !dag.params.is_empty() {
            warn(
                "params",
                "set on the Airflow DAG, but dbt models under cosmos do not see `params`".into(),
                Some("use `--mode runner` if a model reads `{{ params.… }}`"),
            );
        }
    }
    let mut args: Vec<(&str, String)> = vec![("dag_id", string(&dag.id))];
    if let Some(d) = &dag.description {
        args.push(("description", string(d)));
    }
    let mut imports = vec!["import os".to_string()];
    let mut consts = Vec::new();
    match mode {
        Mode::Cosmos => {
            consts.push((
                "DBT_PROJECT_PATH",
                format!("Path(os.getenv(\"DBT_PROJECT_PATH\", {}))", string(&cx.project_dir.display().to_string())),
            ));
            consts.push((
                "DBT_PROFILES_YML",
                format!("Path(os.getenv(\"DBT_PROFILES_YML\", {}))", string(&cx.profiles_yml.display().to_string())),
            ));
            consts.push((
                "DUCKDB_DATABASE_PATH",
                format!("os.getenv(\"DUCKDB_DATABASE_PATH\", {})", string(&cx.database.display().to_string())),
            ));
            let mut project = vec![
                "dbt_project_path=DBT_PROJECT_PATH".to_string(),
                "env_vars={\"DUCKDB_DATABASE_PATH\": DUCKDB_DATABASE_PATH}".to_string(),
            ];
            if !dag.vars.is_empty() {
                let vars =
                    serde_yaml::Value::Mapping(dag.vars.iter().map(|(k, v)| (k.clone().into(), v.clone())).collect());
                project.push(format!("dbt_vars={}", value(&vars).map_err(|e| key_error(dag, cx, "vars", e))?));
            }
            args.push(("project_config", call("ProjectConfig", &project)));
            let profile = [
                format!("profile_name={}", string(&cx.profile)),
                format!("target_name={}", string(&cx.target)),
                "profiles_yml_filepath=DBT_PROFILES_YML".to_string(),
            ];
            args.push(("profile_config", call("ProfileConfig", &profile)));
            args.push((
                "execution_config",
                "ExecutionConfig(dbt_executable_path=os.getenv(\"DBT_EXECUTABLE\", \"dbt\"))".into(),
            ));
            let mut render = Vec::new();
            let list =
                |items: &[String]| format!("[{}]", items.iter().map(|s| string(s)).collect::<Vec<_>>().join(", "));
            if !dag.select.is_empty() {
                render.push(format!("select={}", list(&dag.select)));
            }
            if !dag.exclude.is_empty() {
                render.push(format!("exclude={}", list(&dag.exclude)));
            }
            let behavior = match dag.test_behavior {
                TestBehavior::None => "NONE",
                TestBehavior::AfterEach => "AFTER_EACH",
                TestBehavior::AfterAll => "AFTER_ALL",
                TestBehavior::Build => "BUILD",
            };
            render.push(format!("test_behavior=TestBehavior.{behavior}"));
            args.push(("render_config", call("RenderConfig", &render)));
            imports.push("from datetime import timedelta".into());
            imports.push("from pathlib import Path".into());
        }
        Mode::Runner => {
            consts.push(("RUNNER_BIN", format!("os.getenv(\"RUNNER_BIN\", {})", string(&cx.runner_bin))));
            consts.push((
                "RUNNER_PROJECT_DIR",
                format!("os.getenv(\"RUNNER_PROJECT_DIR\", {})", string(&cx.base.display().to_string())),
            ));
            imports.push("import shlex".into());
        }
    }
    args.push((
        "schedule",
        match &dag.schedule {
            Schedule::Manual => "None".into(),
            Schedule::Once => "\"@once\"".into(),
            Schedule::Cron(c) => {
                format!("CronDataIntervalTimetable({}, timezone={})", string(c.text()), string(dag.timezone.name()))
            }
        },
    ));
    if let Some(s) = dag.start_date {
        args.push(("start_date", datetime(s, dag.timezone)));
    }
    if let Some(e) = dag.end_date {
        args.push(("end_date", datetime(e, dag.timezone)));
    }
    args.push(("catchup", py_bool(dag.catchup)));
    args.push(("max_active_runs", dag.max_active_runs.to_string()));
    if mode == Mode::Cosmos {
        // In runner mode the run is one task; runner applies this cap inside it.
        args.push(("max_active_tasks", dag.max_active_tasks.to_string()));
        let mut defaults = vec![
            format!("\"retries\": {}", dag.retries),
            format!("\"retry_delay\": {}", timedelta(dag.retry_delay)),
            format!("\"retry_exponential_backoff\": {}", py_bool(dag.retry_exponential_backoff)),
            format!("\"max_retry_delay\": {}", timedelta(dag.max_retry_delay)),
        ];
        if let Some(t) = dag.execution_timeout {
            defaults.push(format!("\"execution_timeout\": {}", timedelta(t)));
        }
        args.push(("default_args", format!("{{{}}}", defaults.join(", "))));
    }
    if !dag.params.is_empty() {
        let params =
            serde_yaml::Value::Mapping(dag.params.iter().map(|(k, v)| (k.clone().into(), v.clone())).collect());
        args.push(("params", value(&params).map_err(|e| key_error(dag, cx, "params", e))?));
    }
    if !dag.tags.is_empty() {
        args.push(("tags", format!("[{}]", dag.tags.iter().map(|t| string(t)).collect::<Vec<_>>().join(", "))));
    }
    args.push(("is_paused_upon_creation", py_bool(dag.paused)));

    let needs_pendulum = dag.start_date.is_some() || dag.end_date.is_some();
    if needs_pendulum {
        imports.push(String::new());
        imports.push("import pendulum".into());
    } else {
        imports.push(String::new());
    }
    let mut sdk = Vec::new();
    match mode {
        Mode::Cosmos => {
            if matches!(dag.schedule, Schedule::Cron(_)) {
                sdk.push("CronDataIntervalTimetable");
            }
        }
        Mode::Runner => {
            imports.push("from airflow.providers.standard.operators.bash import BashOperator".into());
            sdk.push("DAG");
            if matches!(dag.schedule, Schedule::Cron(_)) {
                sdk.push("CronDataIntervalTimetable");
            }
        }
    }
    if !sdk.is_empty() {
        imports.push(format!("from airflow.sdk import {}", sdk.join(", ")));
    }
    if mode == Mode::Cosmos {
        imports.push("from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig".into());
        imports.push("from cosmos.constants import TestBehavior".into());
    }
    let mut py = String::new();
    let what = match mode {
        Mode::Cosmos => "(cosmos mode): a `DbtDag`, each seed and model an Airflow task running dbt",
        Mode::Runner => "(runner mode): one task runs `runner run`, which applies the YAML DAG's other keys itself",
    };
    py.push_str(&format!(
        "\"\"\"`{}`, exported from `{}` by `runner export airflow` {what}.\n\n",
        dag.id,
        dag.file.display().to_string().replace('\\', "/").replace('"', "'")
    ));
    py.push_str("The schedule is a `CronDataIntervalTimetable` in the DAG's time zone, so each run covers the\n");
    py.push_str(
        "interval before it, as it does under runner (Airflow 3's default for a cron string does not).\n\"\"\"\n",
    );
    py.push_str(&imports.join("\n"));
    py.push_str("\n\n");
    py.push_str("# Paths on the Airflow workers; the defaults are where runner found them when exporting.\n");
    for (name, expr) in &consts {
        py.push_str(&format!("{name} = {expr}\n"));
    }
    if !kept.is_empty() {
        py.push_str("\n# Keys with no Airflow equivalent, kept for `runner import cosmos`:\n");
        for (k, v) in &kept {
            py.push_str(&kept_comment(k, v));
            py.push('\n');
        }
    }
    py.push('\n');
    let body: String = args.iter().map(|(k, v)| format!("    {k}={v},\n")).collect();
    match mode {
        Mode::Cosmos => py.push_str(&format!("{} = DbtDag(\n{body})\n", identifier(&dag.id))),
        Mode::Runner => {
            py.push_str(&format!("with DAG(\n{body}) as dag:\n"));
            // `logical_date` is None for a manual run triggered without one (Airflow 3);
            // the data interval's start is then the date runner's run covers.
            let command = format!(
                "\" \".join([shlex.quote(RUNNER_BIN), \"run\", {}, \"--project-dir\", shlex.quote(RUNNER_PROJECT_DIR), \"--logical-date\", \"{{{{ (logical_date or data_interval_start).isoformat() }}}}\"])",
                string(&shell_quote(&dag.id)),
            );
            py.push_str(&format!("    BashOperator(task_id=\"runner_run\", bash_command={command})\n"));
        }
    }
    Ok((py, warnings))
}

fn key_error(dag: &Dag, cx: &Context, key: &str, e: String) -> Diagnostic {
    Diagnostic::in_file(&dag.file, format!("`{key}`: {e}")).at(key_line(cx.dag_text, key), None)
}

fn call(name: &str, args: &[String]) -> String {
    format!("{name}(\n        {},\n    )", args.join(",\n        "))
}

fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.into()
}

/// A DAG id is letters, digits, `_`, `-` and `.`: safe in a shell as it is,
/// but quoted anyway should the rule ever widen.
fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
