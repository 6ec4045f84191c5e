//! Executing one run: lock, open, arm interrupts, run the scheduler with its
//! sinks (console, run_results.json, history), then close the database
//! before releasing the lock. Owns that order; decides nothing about what runs.

use super::Prepared;
use crate::artifacts::RunResults;
use crate::cli::Options;
use crate::db::{self, Holder, LockError, LockMode, LockRequest};
use crate::error::{io_failure, Error, EXIT_NODE_FAILURE, EXIT_OK};
use crate::events::{self, Fanout, Sink};
use crate::executor::run_hooks::ProjectHooks;
use crate::executor::worker::{self, Worker};
use crate::history::{History, HistorySink, RunRecord, RunState};
use crate::nodes::{Node, Plan};
use crate::project::dag::{Dag, LockPolicy};
use crate::report::Report;
use crate::schedule::RunContext;
use crate::scheduler::{self, Caps};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The lock file is world-readable: flag values (`--vars`) are left out.
fn command_line() -> String {
    crate::secrets::command_without_values(std::env::args_os().map(|a| a.to_string_lossy().into_owned()))
}

pub(super) fn execute(
    opts: &Options,
    prep: &Prepared,
    dag: Option<&Dag>,
    run: Option<&RunContext>,
    rp: &scheduler::RunPlan,
    mode: LockMode,
    claimed: Option<HistorySink>,
) -> Result<i32, Error> {
    let target = &prep.target;
    let write = mode == LockMode::Exclusive;
    let run_id = run.map(|r| r.run_id.clone()).unwrap_or_else(|| super::compile::run_id_for(opts.command.name()));
    let policy = dag.map(|d| d.lock_policy).unwrap_or(LockPolicy::Wait);
    let timeout = opts.lock_timeout.or(dag.and_then(|d| d.lock_timeout)).or(match policy {
        LockPolicy::Wait => None,
        LockPolicy::Skip | LockPolicy::Fail => Some(std::time::Duration::ZERO),
    });
    let in_memory = target.path == Path::new(":memory:");
    // A bad `settings:`, `extensions:`, `attach:` or `secrets:` entry fails here, before the file is created or locked.
    db::check_profile(&target.settings, &target.extensions, &prep.attachments, &target.secrets).map_err(|e| {
        let message = format!("profile `{}`, target `{}`: {}", target.profile_name, target.name, e.message);
        Error::Load(vec![crate::error::Diagnostic::in_file("profiles.yml", message).hint(e.hint.unwrap_or_else(
            || {
                "fix the profile's `settings:`, `extensions:`, `attach:` or `secrets:` (see DuckDB's documentation)"
                    .into()
            },
        ))])
    })?;
    // Before the lock, which would create its file beside the database.
    if !in_memory && (write || target.path.is_dir()) {
        db::check_path(&target.path).map_err(|d| Error::Load(vec![d]))?;
    }
    if !write && !in_memory && !target.path.exists() {
        return Err(Error::Database(format!(
            "error: database `{}` does not exist yet\n  (hint: build it first with `runner run <DAG>`)",
            target.path.display()
        )));
    }
    let lock = if in_memory {
        None
    } else {
        let holder = Holder::current(command_line(), dag.map(|d| d.id.clone()), Some(run_id.clone()));
        let request = LockRequest { db_path: target.path.clone(), mode, holder, timeout };
        let db_name = target.path.display().to_string();
        let mut spinner: Option<indicatif::ProgressBar> = None;
        let acquired = db::acquire(request, &mut |h| {
            match h {
                Some(h) => eprintln!("waiting for the lock on `{db_name}`: held by {h}"),
                None => eprintln!("waiting for the lock on `{db_name}`: held by runner processes reading it"),
            }
            spinner = wait_indicator();
            db::prestart();
        });
        if let Some(s) = spinner {
            s.finish_and_clear();
        }
        let guard = match acquired {
            Ok(g) => g,
            Err(e @ LockError::Timeout { .. }) if policy == LockPolicy::Skip => {
                eprintln!("skipped: {e}");
                eprintln!(
                    "  (`lock_policy: skip` in `{}`)",
                    dag.map(|d| d.file.display().to_string()).unwrap_or_default()
                );
                return Ok(EXIT_OK);
            }
            Err(e) => return Err(Error::Lock(format!("error: {e}"))),
        };
        if let Some(w) = guard.waited() {
            eprintln!("got the lock on `{db_name}` after {:.2}s", w.as_secs_f64());
        }
        Some(guard)
    };
    // target/compiled/, manifest.json; target/run/ is written as nodes finish.
    // dbt's artifacts carry the same invocation id that templates render.
    // Written under the lock but before the open: this thread would otherwise
    // sit idle while DuckDB's instance finishes starting on its own thread.
    // Compiling needs no database (as `runner compile`).
    let invocation_id = prep.templates.invocation_id();
    let files = super::compile::before_run(prep, &rp.nodes, invocation_id);
    let database = db::open(&target.path, !write && !in_memory, &target.settings, timeout, &mut |who| {
        eprintln!("waiting for `{}`: DuckDB reports it is held by {who}, which is not runner", target.path.display());
    });
    let database = match database {
        Ok(d) => d,
        Err(e @ db::OpenError::ForeignLock { .. }) if policy == LockPolicy::Skip => {
            eprintln!("skipped: {e}");
            return Ok(EXIT_OK);
        }
        Err(e) => return Err(Error::Database(with_disk_hint(format!("error: {e}"), &target.path))),
    };
    // Relations were named before opening; a catalog DuckDB names differently
    // would make every statement fail, so stop before writing anything.
    if database.catalog() != target.database {
        return Err(Error::Database(format!(
            "error: DuckDB names the database `{}` but the plan expected `{}`\n  (hint: set `database: {}` in the profile's output)",
            database.catalog(),
            target.database,
            database.catalog()
        )));
    }
    db::load_extensions(&database, &target.extensions).map_err(|e| Error::Database(format!("error: {e}")))?;
    db::create_secrets(&database, &target.secrets).map_err(|e| Error::Database(format!("error: {e}")))?;
    db::attach(&database, &prep.attachments).map_err(|e| Error::Database(format!("error: {e}")))?;
    // From here a signal interrupts queries and rolls back instead of exiting.
    crate::interrupt::arm();
    if write {
        create_schemas(&database, &prep.plan, rp)?;
    }
    let caps = Caps {
        threads: target.threads,
        max_active_tasks: dag.map(|d| d.max_active_tasks).unwrap_or(usize::MAX),
        db_writers: opts.max_db_writers.unwrap_or(usize::MAX),
    };
    let writers = database.writers();
    let stdout = std::io::stdout();
    let mut report = Report::new(stdout.lock());
    let run_dir = Some(super::compile::sql_dir(prep, "run"));
    let mut results =
        RunResults::new(&prep.project.target_dir, invocation_id).with_files(opts.command.name(), run_dir, files);
    // A DAG run is recorded in the run history; a tests-only check is not a run.
    let mut history = match (dag, run, claimed) {
        (_, _, Some(sink)) => Some(sink),
        (Some(d), Some(r), None) => match start_record(d, r, rp.nodes.iter().map(|&i| prep.plan.node(i).id.clone()))? {
            Some(sink) => Some(sink),
            // Another process already has this run (R7): nothing to do.
            None => {
                eprintln!("run `{}` of `{}` exists already; not running it again", r.run_id, d.id);
                return Ok(EXIT_OK);
            }
        },
        _ => None,
    };
    let settings = worker::Shared {
        templates: prep.templates.clone(),
        relations: prep.plan.relations.clone(),
        full_refresh: opts.full_refresh,
        catalog: Arc::new(crate::executor::catalog::Catalog::default()),
        python: Arc::new(crate::pymodel::process::Runtime::from_env()),
        python_scratch: prep.project.target_dir.join("python"),
        dag_timeout: dag.and_then(|d| d.execution_timeout),
    };
    // The workers hold their own handle, so the run's own can be dropped
    // (closing DuckDB) as soon as they are done.
    let workers_db = Arc::clone(&database);
    let worker = move |_w: usize| -> scheduler::WorkFn {
        match Worker::open(&workers_db, &settings) {
            Ok(mut worker) => Box::new(move |node: &Node, start: Instant, w: usize| worker.run(node, start, w)),
            Err(message) => Box::new(move |_: &Node, _: Instant, w: usize| worker::unconnected(&message, w)),
        }
    };
    let mut log = crate::task_log::InvocationLog::open(&prep.project.root.join("logs"), opts.command.name(), &run_id);
    let mut disk_full = DiskFull::default();
    let mut files: Fanout<dyn Sink + Send> = Fanout { sinks: vec![&mut results, &mut log, &mut disk_full] };
    if let Some(h) = history.as_mut() {
        files.sinks.push(h);
    }
    // `on-run-start` / `on-run-end`, on a connection of their own; none when
    // nothing is selected (dbt runs no hooks then either).
    let mut around = (!prep.plan.run_hooks.is_empty() && !rp.nodes.is_empty()).then(|| {
        let conn = database.connect().map_err(|e| e.to_string());
        if let Ok(c) = &conn {
            crate::interrupt::register(db::raw::Interrupter::new(c, None));
        }
        ProjectHooks::new(&prep.plan, prep.templates.clone(), conn)
    });
    let mut seen = around.as_ref().map(ProjectHooks::seen_sink);
    let mut open = Some(database);
    let outcome = events::in_background(&mut files, |behind| {
        let mut sinks: Fanout = Fanout { sinks: vec![&mut report, behind] };
        if let Some(s) = seen.as_mut() {
            sinks.sinks.push(s);
        }
        let stop = &crate::interrupt::requested;
        let outcome = match around.as_mut() {
            Some(hooks) => scheduler::execute_around(&prep.plan, rp, caps, worker, &writers, stop, &mut sinks, hooks),
            None => scheduler::execute(&prep.plan, rp, caps, worker, &writers, stop, &mut sinks),
        };
        // The hooks' connection holds the database open: it goes first.
        drop(around.take());
        // DuckDB closes (a checkpoint: about 20 ms for the example project) while the
        // file-writing sinks catch up on the last events, not after them.
        drop(open.take());
        outcome
    });
    drop(report);
    let errors =
        [results.write_error.as_ref(), log.write_error.as_ref(), history.as_ref().and_then(|h| h.write_error.as_ref())];
    for e in errors.into_iter().flatten() {
        eprintln!("warning: {e}");
    }
    if disk_full.0 {
        eprintln!("error: the disk is full: nodes could not write the database\n  (hint: {})", disk_hint(&target.path));
    }
    // DuckDB is closed (above) before another process may take the lock.
    drop(open);
    drop(lock);
    crate::interrupt::disarm();
    if crate::interrupt::requested() {
        return Err(Error::Interrupted);
    }
    Ok(if outcome.failed() { EXIT_NODE_FAILURE } else { EXIT_OK })
}

/// Creates the run's history record, state `running`; `None` when that run
/// exists already (a scheduled interval another process took).
fn start_record(
    dag: &Dag,
    run: &RunContext,
    nodes: impl IntoIterator<Item = String>,
) -> Result<Option<HistorySink>, Error> {
    let history = History::new(&dag.project_dir);
    let me = Holder::current(String::new(), None, None);
    let mut record = RunRecord {
        run_id: run.run_id.clone(),
        dag_id: dag.id.clone(),
        run_type: run.run_type.clone(),
        logical_date: run.interval.start,
        data_interval_start: run.interval.start,
        data_interval_end: run.interval.end,
        state: RunState::Running,
        start: Some(chrono::Utc::now()),
        end: None,
        pid: me.pid,
        host: me.host,
        message: None,
        tasks: Vec::new(),
    };
    crate::history::schedule_tasks(&mut record.tasks, nodes);
    match history.create(&record) {
        Ok(Some(alive)) => Ok(Some(HistorySink::new(history, record, alive))),
        Ok(None) => Ok(None),
        Err(e) => Err(Error::Database(io_failure(&format!("cannot record run `{}`", run.run_id), &e))),
    }
}

fn create_schemas(database: &db::Database, plan: &Plan, rp: &scheduler::RunPlan) -> Result<(), Error> {
    let schemas: BTreeSet<(String, String)> = rp
        .nodes
        .iter()
        .filter_map(|&i| plan.node(i).relation.as_ref())
        .map(|r| (r.database.clone(), r.schema.clone()))
        .collect();
    let conn = database.connect().map_err(|e| Error::Database(format!("error: {e}")))?;
    for (db, schema) in schemas {
        let sql =
            format!("create schema if not exists \"{}\".\"{}\"", db.replace('"', "\"\""), schema.replace('"', "\"\""));
        conn.execute_batch(&sql)
            .map_err(|e| Error::Database(format!("error: cannot create schema `{schema}`: {e}")))?;
    }
    Ok(())
}

/// A live "still waiting" indicator, only when a person is watching: never
/// when stderr is not a terminal, and never in CI.
/// Notices a node that failed because the disk is full: DuckDB's message
/// names the file, not what to do, and may be one among many lines.
#[derive(Default)]
struct DiskFull(bool);

impl Sink for DiskFull {
    fn event(&mut self, e: &events::Event) {
        if let events::Event::NodeFinished { result, .. }
        | events::Event::NodeRetrying { result, .. }
        | events::Event::HookFinished { result, .. } = e
        {
            self.0 |= result.message.as_deref().is_some_and(crate::error::says_disk_full);
        }
    }
}

/// `message`, and when it says the disk is full, which disk to free.
fn with_disk_hint(message: String, db_path: &Path) -> String {
    if crate::error::says_disk_full(&message) {
        format!("{message}\n  (hint: {})", disk_hint(db_path))
    } else {
        message
    }
}

fn disk_hint(db_path: &Path) -> String {
    let dir = db_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    crate::error::disk_full_hint(dir)
}

fn wait_indicator() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("waiting for the lock");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}
