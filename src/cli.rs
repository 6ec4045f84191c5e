//! Command-line arguments: clap's raw types and their conversion into
//! validated [`Options`].
//!
//! Raw clap types stay here; the rest of `runner` sees only `Options`. This
//! module reads no files and never touches DuckDB.

use crate::error::{Diagnostic, Error};
use crate::project::dag::parse_duration;
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "runner", version, about = "Run a dbt-duckdb project on a schedule against one DuckDB file")]
pub struct RawCli {
    #[command(subcommand)]
    pub command: RawCommand,
}

#[derive(Debug, Subcommand)]
pub enum RawCommand {
    /// Run a DAG now: seeds, models and tests per its `test_behavior`.
    Run {
        /// The DAG's `dag_id`.
        dag: String,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Run every DAG on its schedule: due intervals, oldest first, recorded in the history.
    Scheduler {
        /// Do what is due now, then exit (for cron or a systemd timer).
        #[arg(long)]
        once: bool,
        /// Pretend it is this time (RFC 3339), e.g. to walk through days in tests.
        #[arg(long)]
        now: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
    /// List the DAGs: schedule, paused, last run and its state, next run.
    Dags {
        /// `table` (default) or `json`.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        common: RawCommon,
    },
    /// The task instances of one run: state, attempts, duration.
    Tasks {
        run_id: String,
        /// `table` (default) or `json`.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Stop scheduling a DAG (manual runs still work).
    Pause {
        dag: String,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Resume scheduling a DAG.
    Unpause {
        dag: String,
        #[command(flatten)]
        common: RawCommon,
    },
    /// One run per interval in a range, oldest first, as `backfill__…` runs.
    Backfill {
        dag: String,
        /// The first logical date (`2025-01-01` or RFC 3339).
        #[arg(long)]
        from: String,
        /// The last logical date, inclusive.
        #[arg(long)]
        to: String,
        /// Intervals that already have a run: `none` (leave them), `failed`
        /// (run failed ones again) or `completed` (run them all again).
        #[arg(long, default_value = "none")]
        reprocess: String,
        /// Runs of this backfill at once (they run one at a time today).
        #[arg(long)]
        max_active_runs: Option<usize>,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Run a run again: all of it, or with --failed-only what failed and what it skipped.
    Clear {
        run_id: String,
        #[arg(long)]
        failed_only: bool,
        #[command(flatten)]
        common: RawCommon,
    },
    /// List a DAG's runs from the run history.
    Runs {
        /// The DAG's `dag_id`.
        dag: String,
        /// `table` (default) or `json`.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Run only the data tests, against what is in the database.
    Test {
        /// Take project, profile, target, vars and selection from this DAG.
        dag: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
}

#[derive(Debug, Args)]
pub struct RawCommon {
    /// The directory holding `dags/` (and, by default, the dbt project).
    #[arg(long, global = true)]
    pub project_dir: Option<PathBuf>,
    /// Where `profiles.yml` is (default: $DBT_PROFILES_DIR, the project, ~/.dbt).
    #[arg(long, global = true)]
    pub profiles_dir: Option<PathBuf>,
    /// The profile target to use instead of the profile's default.
    #[arg(long, global = true)]
    pub target: Option<String>,
    /// Variables as a YAML map, e.g. `{region: eu}`; they override DAG and project vars.
    #[arg(long, global = true)]
    pub vars: Option<String>,
    /// Nodes to run (dbt selection syntax).
    #[arg(long, short = 's', num_args = 1.., global = true)]
    pub select: Vec<String>,
    /// Nodes to leave out.
    #[arg(long, num_args = 1.., global = true)]
    pub exclude: Vec<String>,
    /// Nodes at once, overriding the profile's `threads`.
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Nodes writing to the database file at once, across every run in this
    /// process (default: no cap beyond `--threads` and `max_active_tasks`).
    #[arg(long, global = true)]
    pub max_db_writers: Option<usize>,
    /// Rebuild seeds from scratch.
    #[arg(long, global = true)]
    pub full_refresh: bool,
    /// The logical date of a manual run (default: the last complete interval).
    #[arg(long, global = true)]
    pub logical_date: Option<String>,
    /// How long to wait for another process's lock, e.g. `30s` or `5m` (default: forever).
    #[arg(long, global = true)]
    pub lock_timeout: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run {
        dag: String,
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
    },
    Dags {
        json: bool,
    },
    Tasks {
        run_id: String,
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
        run_id: String,
        failed_only: bool,
    },
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
            Command::Pause { paused: true, .. } => "pause",
            Command::Pause { .. } => "unpause",
            Command::Backfill { .. } => "backfill",
            Command::Clear { .. } => "clear",
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
            RawCommand::Scheduler { once, now, common } => {
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
                (Command::Scheduler { once, now }, common)
            }
            RawCommand::Runs { dag, output, common } => (Command::Runs { dag, json: output_json(&output)? }, common),
            RawCommand::Dags { output, common } => (Command::Dags { json: output_json(&output)? }, common),
            RawCommand::Tasks { run_id, output, common } => {
                (Command::Tasks { run_id, json: output_json(&output)? }, common)
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
            RawCommand::Clear { run_id, failed_only, common } => (Command::Clear { run_id, failed_only }, common),
            RawCommand::Pause { dag, common } => (Command::Pause { dag, paused: true }, common),
            RawCommand::Unpause { dag, common } => (Command::Pause { dag, paused: false }, common),
        };
        let vars = match c.vars.as_deref() {
            None => BTreeMap::new(),
            Some(text) => match serde_yaml::from_str::<serde_yaml::Value>(text) {
                Ok(serde_yaml::Value::Mapping(m)) => {
                    m.into_iter().filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v))).collect()
                }
                Ok(serde_yaml::Value::Null) => BTreeMap::new(),
                _ => {
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

fn parse_logical_date(t: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&chrono::Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)?;
    chrono::Utc.from_local_datetime(&day).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, Error> {
        let mut argv = vec!["runner"];
        argv.extend_from_slice(args);
        Options::from_raw(RawCli::try_parse_from(argv).expect("clap parses"))
    }

    #[test]
    fn run_with_every_common_flag() {
        let o = parse(&[
            "run",
            "my_dag",
            "--project-dir",
            "/p",
            "--vars",
            "{a: 1}",
            "--select",
            "a",
            "b",
            "--threads",
            "4",
            "--lock-timeout",
            "2s",
            "--full-refresh",
        ])
        .expect("valid");
        assert_eq!(o.command, Command::Run { dag: "my_dag".into() });
        assert_eq!(o.project_dir, PathBuf::from("/p"));
        assert_eq!(o.vars.get("a"), Some(&serde_yaml::Value::from(1)));
        assert_eq!(o.select, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(o.threads, Some(4));
        assert_eq!(o.lock_timeout, Some(Duration::from_secs(2)));
        assert!(o.full_refresh);
    }

    #[test]
    fn bad_vars_threads_and_timeout_are_usage_errors() {
        for args in
            [&["test", "--vars", "[1, 2]"][..], &["test", "--threads", "0"], &["test", "--lock-timeout", "soon"]]
        {
            let e = parse(args).expect_err("invalid");
            assert!(matches!(e, Error::Usage(_)), "{args:?}");
            assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
        }
    }
}
