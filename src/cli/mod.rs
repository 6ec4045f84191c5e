//! Command-line arguments: clap's raw types and their conversion into
//! validated [`Options`].
//!
//! Raw clap types live in `raw`; the rest of `runner` sees only `Options`. This
//! module reads no files and never touches DuckDB.

use crate::diag::Diagnostic;
use crate::error::Error;
use crate::project::dag::parse_duration;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

mod raw;

pub use raw::{RawCli, RawCommand, RawCommon, RawExport, RawImport};

/// A run named on the command line: Airflow names a run by DAG and run id,
/// and run ids repeat across DAGs, so the DAG is taken when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub run_id: String,
    pub dag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// With a DAG, one run of it (recorded in the history); without, dbt's
    /// `run`: only the selected models of the project.
    Run {
        dag: Option<String>,
    },
    Test {
        dag: Option<String>,
    },
    Runs {
        dag: String,
        json: bool,
    },
    Scheduler {
        once: bool,
        now: Option<chrono::DateTime<chrono::Utc>>,
        grace: Duration,
    },
    Dags {
        json: bool,
    },
    Tasks {
        run: RunRef,
        json: bool,
    },
    Logs {
        run: RunRef,
        node: String,
        attempt: Option<u32>,
        json: bool,
    },
    Pause {
        dag: String,
        paused: bool,
    },
    Backfill {
        dag: String,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        reprocess: Reprocess,
    },
    Clear {
        run: RunRef,
        failed_only: bool,
    },
    /// dbt's `seed`: only the seeds.
    Seed {
        dag: Option<String>,
    },
    /// dbt's `snapshot`: only the snapshots.
    Snapshot {
        dag: Option<String>,
    },
    /// dbt's `build`: seeds, models, snapshots and tests in build order.
    Build {
        dag: Option<String>,
    },
    /// dbt's `compile`: render into `target/compiled/`, no database.
    Compile {
        dag: Option<String>,
    },
    /// dbt's `ls`: list resources, no database.
    Ls {
        dag: Option<String>,
        list: ListOptions,
    },
    /// dbt's `debug`: project, profile and connection check.
    Debug {
        dag: Option<String>,
    },
    /// dbt's `run-operation`: one macro called against the database.
    RunOperation {
        macro_name: String,
        args: BTreeMap<String, serde_yaml::Value>,
    },
    /// `export airflow`: the DAG as an Airflow DAG file in `out`.
    ExportAirflow {
        dag: String,
        out: PathBuf,
        mode: crate::airflow::Mode,
        /// The runner binary the exported task runs (runner mode).
        runner_bin: Option<String>,
    },
    /// `import cosmos`: a cosmos DAG file into YAML DAGs in `out`.
    ImportCosmos {
        file: PathBuf,
        /// `None`: the project's `dags/`.
        out: Option<PathBuf>,
    },
    /// dbt's `deps`: install the packages `packages.yml` lists.
    Deps {
        dag: Option<String>,
        opts: crate::deps::Options,
    },
    /// `ui`: the web view of DAGs, runs and tasks.
    Ui {
        host: String,
        port: u16,
    },
    /// `report`: one run's page as a self-contained HTML file.
    Report {
        run: RunRef,
        out: PathBuf,
    },
}

/// How `ls` prints each resource (dbt's `--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOutput {
    /// `project.folder.name` (sources: `source:project.source.table`).
    Selector,
    Name,
    Path,
    Json,
}

/// `ls` options: which resource types, and how to print them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    /// dbt resource type names; empty means every type.
    pub resource_types: std::collections::BTreeSet<String>,
    pub output: ListOutput,
    /// With JSON output: only these keys (dbt's `--output-keys`); empty means all.
    pub output_keys: Vec<String>,
}

/// Resource types `runner` plans; dbt's other types are accepted and list nothing.
const RESOURCE_TYPES: &[&str] = &["model", "seed", "snapshot", "test", "source", "unit_test"];
const OTHER_DBT_TYPES: &[&str] = &["analysis", "exposure", "metric", "semantic_model", "saved_query"];

fn list_options(resource_type: Vec<String>, output: &str, output_keys: Vec<String>) -> Result<ListOptions, Error> {
    let mut types = std::collections::BTreeSet::new();
    for t in resource_type.iter().flat_map(|t| t.split_whitespace()) {
        match t {
            "all" | "default" => types.extend(RESOURCE_TYPES.iter().map(|t| t.to_string())),
            t if RESOURCE_TYPES.contains(&t) || OTHER_DBT_TYPES.contains(&t) => {
                types.insert(t.to_string());
            }
            other => {
                return Err(usage(
                    format!("unknown `--resource-type` `{other}`"),
                    "use `model`, `seed`, `snapshot`, `test`, `source` or `all`",
                ))
            }
        }
    }
    let output = match output {
        "selector" => ListOutput::Selector,
        "name" => ListOutput::Name,
        "path" => ListOutput::Path,
        "json" => ListOutput::Json,
        other => {
            return Err(usage(format!("unknown `--output` `{other}`"), "use `selector`, `name`, `path` or `json`"))
        }
    };
    if !output_keys.is_empty() && output != ListOutput::Json {
        return Err(usage("`--output-keys` needs `--output json`".into(), "add `--output json`"));
    }
    // dbt also takes the keys as one space-separated value (`--output-keys "name tags"`).
    let output_keys = output_keys.iter().flat_map(|k| k.split_whitespace()).map(str::to_string).collect();
    Ok(ListOptions { resource_types: types, output, output_keys })
}

/// Backfill's policy for intervals that already have a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reprocess {
    None,
    Failed,
    Completed,
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run { .. } => "run",
            Command::Test { .. } => "test",
            Command::Runs { .. } => "runs",
            Command::Scheduler { .. } => "scheduler",
            Command::Dags { .. } => "dags",
            Command::Tasks { .. } => "tasks",
            Command::Logs { .. } => "logs",
            Command::Pause { paused: true, .. } => "pause",
            Command::Pause { .. } => "unpause",
            Command::Backfill { .. } => "backfill",
            Command::Clear { .. } => "clear",
            Command::Seed { .. } => "seed",
            Command::Snapshot { .. } => "snapshot",
            Command::Build { .. } => "build",
            Command::Compile { .. } => "compile",
            Command::Ls { .. } => "ls",
            Command::Debug { .. } => "debug",
            Command::RunOperation { .. } => "run-operation",
            Command::ExportAirflow { .. } => "export",
            Command::ImportCosmos { .. } => "import",
            Command::Deps { .. } => "deps",
            Command::Ui { .. } => "ui",
            Command::Report { .. } => "report",
        }
    }
}

/// Validated options: what the rest of `runner` works from.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub command: Command,
    pub project_dir: PathBuf,
    pub profiles_dir: Option<PathBuf>,
    pub target: Option<String>,
    pub vars: BTreeMap<String, serde_yaml::Value>,
    /// `None` when not given, so a DAG's selection applies.
    pub select: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub threads: Option<usize>,
    pub max_db_writers: Option<usize>,
    pub full_refresh: bool,
    pub lock_timeout: Option<Duration>,
    pub logical_date: Option<chrono::DateTime<chrono::Utc>>,
}

fn usage(msg: String, hint: &str) -> Error {
    Error::Usage(Diagnostic::new(msg).hint(hint))
}

impl Options {
    pub fn from_raw(raw: RawCli) -> Result<Options, Error> {
        let (command, c) = match raw.command {
            RawCommand::Run { dag, common } => (Command::Run { dag }, common),
            RawCommand::Test { dag, common } => (Command::Test { dag }, common),
            RawCommand::Seed { dag, common } => (Command::Seed { dag }, common),
            RawCommand::Snapshot { dag, common } => (Command::Snapshot { dag }, common),
            RawCommand::Build { dag, common } => (Command::Build { dag }, common),
            RawCommand::Compile { dag, common } => (Command::Compile { dag }, common),
            RawCommand::Debug { dag, common } => (Command::Debug { dag }, common),
            RawCommand::RunOperation { macro_name, args, common } => {
                let args = match args.as_deref() {
                    None => BTreeMap::new(),
                    Some(text) => crate::yaml::from_str::<Option<BTreeMap<String, serde_yaml::Value>>>(text)
                        .map_err(|e| {
                            usage(format!("`--args`: {e}"), "a YAML mapping, e.g. `--args '{role: reporter}'`")
                        })?
                        .unwrap_or_default(),
                };
                (Command::RunOperation { macro_name, args }, common)
            }
            RawCommand::Deps { dag, upgrade, lock, common } => {
                (Command::Deps { dag, opts: crate::deps::Options { upgrade, lock_only: lock } }, common)
            }
            RawCommand::Ls { dag, resource_type, output, output_keys, common } => {
                (Command::Ls { dag, list: list_options(resource_type, &output, output_keys)? }, common)
            }
            RawCommand::Scheduler { once, now, grace_period, common } => {
                let grace = parse_duration(&grace_period)
                    .map_err(|e| usage(format!("`--grace-period`: {e}"), "e.g. `--grace-period 30s`"))?;
                let now = match now.as_deref() {
                    None => None,
                    Some(t) => Some(
                        chrono::DateTime::parse_from_rfc3339(t)
                            .map_err(|_| {
                                usage(
                                    format!("`--now`: `{t}` is not an RFC 3339 time"),
                                    "e.g. `--now 2025-01-03T05:00:00Z`",
                                )
                            })?
                            .with_timezone(&chrono::Utc),
                    ),
                };
                (Command::Scheduler { once, now, grace }, common)
            }
            RawCommand::Runs { dag, output, common } => (Command::Runs { dag, json: output_json(&output)? }, common),
            RawCommand::Dags { output, common } => (Command::Dags { json: output_json(&output)? }, common),
            RawCommand::Tasks { run_id, dag, output, common } => {
                (Command::Tasks { run: RunRef { run_id, dag }, json: output_json(&output)? }, common)
            }
            RawCommand::Logs { run_id, dag, node, attempt, output, common } => {
                (Command::Logs { run: RunRef { run_id, dag }, node, attempt, json: output_json(&output)? }, common)
            }
            RawCommand::Backfill { dag, from, to, reprocess, max_active_runs, common } => {
                let date = |flag: &str, t: &str| {
                    parse_logical_date(t).ok_or_else(|| {
                        usage(format!("`--{flag}`: `{t}` is not a date"), "use `2025-01-31` or RFC 3339")
                    })
                };
                let (from, to) = (date("from", &from)?, date("to", &to)?);
                if from > to {
                    return Err(usage(format!("`--from` {from} is after `--to` {to}"), "swap them"));
                }
                if max_active_runs == Some(0) {
                    return Err(usage("`--max-active-runs` must be at least 1".into(), "omit it for one at a time"));
                }
                let reprocess = match reprocess.as_str() {
                    "none" => Reprocess::None,
                    "failed" => Reprocess::Failed,
                    "completed" => Reprocess::Completed,
                    other => {
                        return Err(usage(
                            format!("unknown `--reprocess` `{other}`"),
                            "use `none`, `failed` or `completed`",
                        ))
                    }
                };
                (Command::Backfill { dag, from, to, reprocess }, common)
            }
            RawCommand::Clear { run_id, dag, failed_only, common } => {
                (Command::Clear { run: RunRef { run_id, dag }, failed_only }, common)
            }
            RawCommand::Export { to: RawExport::Airflow { dag, out, mode, runner_bin, common } } => {
                let mode = match mode.as_str() {
                    "cosmos" => crate::airflow::Mode::Cosmos,
                    "runner" => crate::airflow::Mode::Runner,
                    other => return Err(usage(format!("unknown `--mode` `{other}`"), "use `cosmos` or `runner`")),
                };
                if runner_bin.is_some() && mode != crate::airflow::Mode::Runner {
                    return Err(usage(
                        "`--runner-bin` is for `--mode runner`".into(),
                        "add `--mode runner`, or drop `--runner-bin`",
                    ));
                }
                (Command::ExportAirflow { dag, out, mode, runner_bin }, common)
            }
            RawCommand::Import { from: RawImport::Cosmos { file, out, common } } => {
                (Command::ImportCosmos { file, out }, common)
            }
            RawCommand::Ui { host, port, common } => (Command::Ui { host, port }, common),
            RawCommand::Report { run_id, dag, out, common } => {
                (Command::Report { run: RunRef { run_id, dag }, out }, common)
            }
            RawCommand::Pause { dag, common } => (Command::Pause { dag, paused: true }, common),
            RawCommand::Unpause { dag, common } => (Command::Pause { dag, paused: false }, common),
        };
        let vars = match c.vars.as_deref() {
            None => BTreeMap::new(),
            Some(text) => match crate::yaml::from_str::<serde_yaml::Value>(text) {
                Ok(serde_yaml::Value::Mapping(m)) => {
                    m.into_iter().filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v))).collect()
                }
                Ok(serde_yaml::Value::Null) => BTreeMap::new(),
                // Invalid YAML says why (an alias bomb, a duplicate key), not that it is no map.
                Err(e) => {
                    let hint = e.hint.clone().unwrap_or_else(|| "write it like `{region: eu, days: 3}`".into());
                    return Err(usage(format!("`--vars`: {e}"), &hint));
                }
                Ok(_) => {
                    return Err(usage(
                        format!("`--vars` is not a YAML map: `{text}`"),
                        "write it like `{region: eu, days: 3}`",
                    ))
                }
            },
        };
        if c.max_db_writers == Some(0) {
            return Err(usage("`--max-db-writers` must be at least 1".into(), "omit it for no per-file cap"));
        }
        if c.threads == Some(0) {
            return Err(usage("`--threads` must be at least 1".into(), "use `--threads 1` for one node at a time"));
        }
        let lock_timeout = match c.lock_timeout.as_deref() {
            None => None,
            Some(t) => Some(
                parse_duration(t).map_err(|e| usage(format!("`--lock-timeout`: {e}"), "e.g. `--lock-timeout 30s`"))?,
            ),
        };
        let logical_date = match c.logical_date.as_deref() {
            None => None,
            Some(t) => Some(parse_logical_date(t).ok_or_else(|| {
                usage(
                    format!("`--logical-date`: `{t}` is not a date"),
                    "use `2025-01-31` or RFC 3339 like `2025-01-31T06:00:00Z`",
                )
            })?),
        };
        let project_dir = c.project_dir.unwrap_or_else(|| PathBuf::from("."));
        Ok(Options {
            command,
            project_dir,
            profiles_dir: c.profiles_dir,
            target: c.target,
            vars,
            select: (!c.select.is_empty()).then_some(c.select),
            exclude: (!c.exclude.is_empty()).then_some(c.exclude),
            threads: c.threads,
            max_db_writers: c.max_db_writers,
            full_refresh: c.full_refresh,
            lock_timeout,
            logical_date,
        })
    }
}

fn output_json(output: &str) -> Result<bool, Error> {
    match output {
        "json" => Ok(true),
        "table" => Ok(false),
        other => Err(usage(format!("unknown `--output` `{other}`"), "use `table` or `json`")),
    }
}

pub(crate) fn parse_logical_date(t: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&chrono::Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)?;
    chrono::Utc.from_local_datetime(&day).single()
}

#[cfg(test)]
mod tests;
