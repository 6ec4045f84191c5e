//! clap's raw argument types: what the user typed, before validation.
//!
//! Only [`super`] converts these into `Options`; nothing else in `runner` sees
//! them. No validation and no I/O here.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "runner", version, about = "Run a dbt-duckdb project on a schedule against one DuckDB file")]
pub struct RawCli {
    #[command(subcommand)]
    pub command: RawCommand,
}

#[derive(Debug, Subcommand)]
pub enum RawCommand {
    /// Run a DAG now (seeds, models, tests per its `test_behavior`); without one, dbt's `run`: models only.
    Run {
        /// The DAG's `dag_id`; without it, the project's models run as `dbt run` runs them.
        dag: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Run every DAG on its schedule: due intervals, oldest first, recorded in the history.
    Scheduler {
        /// Do what is due now, then exit (for cron or a systemd timer).
        #[arg(long)]
        once: bool,
        /// Pretend it is this time (RFC 3339) when starting; the clock runs on from there.
        #[arg(long)]
        now: Option<String>,
        /// After SIGTERM or Ctrl-C, how long running nodes may finish before they
        /// are interrupted and rolled back, e.g. `20s` (`0s`: interrupt at once).
        #[arg(long, default_value = "20s")]
        grace_period: String,
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
        /// The run's DAG; needed when DAGs share a run id (two DAGs
        /// scheduled for the same interval do).
        #[arg(long)]
        dag: Option<String>,
        /// `table` (default) or `json`.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        common: RawCommon,
    },
    /// The log of a task's attempts in one run: the SQL it ran and how it ended.
    Logs {
        run_id: String,
        /// The run's DAG; needed when DAGs share a run id (two DAGs
        /// scheduled for the same interval do).
        #[arg(long)]
        dag: Option<String>,
        /// The node: its name (`customers`) or unique id (`model.shop.customers`).
        node: String,
        /// Only this attempt (default: every attempt, oldest first).
        #[arg(long)]
        attempt: Option<u32>,
        /// `table` (default: the log text) or `json`.
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
        /// The run's DAG; needed when DAGs share a run id (two DAGs
        /// scheduled for the same interval do).
        #[arg(long)]
        dag: Option<String>,
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
    /// Load the seeds (dbt's `seed`): only seeds, nothing else.
    Seed {
        /// Take project, profile, target, vars and selection from this DAG.
        dag: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Take the snapshots (dbt's `snapshot`): only snapshots, nothing else.
    Snapshot {
        /// Take project, profile, target, vars and selection from this DAG.
        dag: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Seeds, models, snapshots and tests in dbt's build order: a failing test skips what is downstream.
    Build {
        /// Take project, profile, target, vars and selection from this DAG.
        dag: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Render the selected models and tests into `target/compiled/` without touching the database.
    Compile {
        /// Take project, profile, target, vars and selection from this DAG.
        dag: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
    /// List the selected resources, as `dbt ls` does; never opens the database.
    #[command(alias = "list")]
    Ls {
        /// Take project, profile, target, vars and selection from this DAG.
        dag: Option<String>,
        /// Only these kinds: `model`, `seed`, `test`, `source`, `all`, `default` (repeatable).
        #[arg(long = "resource-type", alias = "resource-types", num_args = 1..)]
        resource_type: Vec<String>,
        /// `selector` (default: `project.folder.name`), `name`, `path` or `json`.
        #[arg(long, default_value = "selector")]
        output: String,
        /// With `--output json`: only these keys, e.g. `--output-keys name unique_id`.
        #[arg(long, num_args = 1..)]
        output_keys: Vec<String>,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Write a DAG for another scheduler: `export airflow <DAG> --out DIR`.
    Export {
        #[command(subcommand)]
        to: RawExport,
    },
    /// Read another tool's DAG into a YAML DAG: `import cosmos <FILE.py>`.
    Import {
        #[command(subcommand)]
        from: RawImport,
    },
    /// Install the packages `packages.yml` lists into `dbt_packages/` (dbt's `deps`)
    Deps {
        /// Take the project from this DAG.
        dag: Option<String>,
        /// Choose versions again even when `package-lock.yml` answers `packages.yml`.
        #[arg(long)]
        upgrade: bool,
        /// Only choose versions and write `package-lock.yml`; install nothing.
        #[arg(long)]
        lock: bool,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Serve a web view of the DAGs, their runs and tasks (with trigger, clear and pause).
    Ui {
        /// The address to listen on; anything but loopback is read-only
        /// unless `RUNNER_UI_TOKEN` is set.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// The port (`0`: any free one; the address is printed).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Write one run's page as a single self-contained HTML file.
    Report {
        run_id: String,
        /// The run's DAG; needed when DAGs share a run id.
        #[arg(long)]
        dag: Option<String>,
        /// The HTML file to write.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Call one macro against the database (dbt's `run-operation`): `run-operation grant_select --args '{role: x}'`.
    #[command(name = "run-operation")]
    RunOperation {
        /// The macro: `name`, or `package.name`.
        #[arg(value_name = "MACRO")]
        macro_name: String,
        /// Its keyword arguments, as a YAML mapping.
        #[arg(long)]
        args: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
    /// Check the project, the profile and the connection to the database.
    Debug {
        /// Take project, profile and target from this DAG.
        dag: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
}

#[derive(Debug, Subcommand)]
pub enum RawExport {
    /// An Airflow 3 DAG file `<OUT>/<dag_id>.py`: a cosmos `DbtDag`, or one task running `runner run`.
    Airflow {
        /// The DAG's `dag_id`.
        dag: String,
        /// The folder to write `<dag_id>.py` into (Airflow's DAGs folder).
        #[arg(long)]
        out: PathBuf,
        /// `cosmos` (default: a `DbtDag`, one task per seed and model) or `runner`
        /// (one task running `runner run`, for workers that have runner installed).
        #[arg(long, default_value = "cosmos")]
        mode: String,
        /// In `runner` mode, the runner binary the task runs (default: `runner` on the
        /// worker's PATH; the `RUNNER_BIN` environment variable overrides it on the worker).
        #[arg(long)]
        runner_bin: Option<String>,
        #[command(flatten)]
        common: RawCommon,
    },
}

#[derive(Debug, Subcommand)]
pub enum RawImport {
    /// A cosmos `DbtDag` (or a `DAG` with a `DbtTaskGroup`), read without running it.
    Cosmos {
        /// The Python file.
        file: PathBuf,
        /// The folder to write `<dag_id>.yml` into (default: `dags/` of `--project-dir`).
        #[arg(long)]
        out: Option<PathBuf>,
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
