//! One run's session, in its order: check the profile, take the
//! cross-process lock, compile, open DuckDB and prepare it, dispatch the
//! nodes with the run's sinks (console, `run_results.json`, the invocation
//! log, the history), close DuckDB, and only then release the lock.
//!
//! Owns that order and what each step reports when it fails. Decides nothing
//! about what runs or in which order (the dispatcher in `run` does) and builds
//! no SQL (the workers in `executor` do).

use super::Prepared;
use crate::artifacts::RunResults;
use crate::cli::Options;
use crate::db::{self, Database, Holder, LockError, LockGuard, LockMode, LockRequest, OpenError, SetupError};
use crate::diag::Diagnostic;
use crate::error::{Error, EXIT_NODE_FAILURE, EXIT_OK};
use crate::events::{self, Fanout, Sink};
use crate::executor::run_hooks::ProjectHooks;
use crate::executor::worker::{self, Worker};
use crate::history::{History, HistorySink, RunRecord, RunState};
use crate::nodes::Node;
use crate::project::dag::{Dag, LockPolicy};
use crate::report::Report;
use crate::run::{self, Caps, RunOutcome};
use crate::task_log::InvocationLog;
use crate::timetable::RunContext;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `rp` in one session; the exit code. `claimed` is a history record
/// this process already holds (`runner clear` re-running a run).
pub(super) fn execute(
    opts: &Options,
    prep: &Prepared,
    dag: Option<&Dag>,
    run: Option<&RunContext>,
    rp: &run::RunPlan,
    mode: LockMode,
    claimed: Option<HistorySink>,
) -> Result<i32, Error> {
    let session = Session::new(opts, prep, dag, run, rp, mode);
    session.check()?;
    // Declared before the database, so it is dropped (released) after it.
    let Some(lock) = session.lock()? else { return Ok(EXIT_OK) };
    // target/compiled/ and manifest.json (target/run/ is written as nodes
    // finish), with the invocation id templates render. Under the lock but
    // before the open: this thread would otherwise sit idle while DuckDB's
    // instance finishes starting on its own thread. Needs no database.
    let files = super::compile::before_run(prep, &rp.nodes, prep.templates.invocation_id());
    let Some(database) = session.open()? else { return Ok(EXIT_OK) };
    session.prepare(&database)?;
    let Some(history) = session.history(claimed)? else { return Ok(EXIT_OK) };
    let outcome = session.dispatch(database, files, history);
    // DuckDB is closed (in `dispatch`) before another process may take the lock.
    drop(lock);
    crate::interrupt::disarm();
    if crate::interrupt::requested() {
        return Err(Error::Interrupted);
    }
    Ok(if outcome.failed() { EXIT_NODE_FAILURE } else { EXIT_OK })
}

/// Runs `f` on the project's database as a run would have it (the lock,
/// the file opened for writing, extensions, secrets and attachments), but
/// with no nodes, hooks or history: `run-operation`. Its exit code.
pub(super) fn with_database(
    opts: &Options,
    prep: &Prepared,
    f: impl FnOnce(&Database) -> Result<i32, Error>,
) -> Result<i32, Error> {
    let rp = run::run_plan(&prep.plan, &BTreeSet::new(), crate::project::dag::TestBehavior::None, run::TaskRetry::NONE);
    let session = Session::new(opts, prep, None, None, &rp, LockMode::Exclusive);
    session.check()?;
    // Declared before the database, so it is released after DuckDB closes.
    let Some(_lock) = session.lock()? else { return Ok(EXIT_OK) };
    let Some(database) = session.open()? else { return Ok(EXIT_OK) };
    session.prepare(&database)?;
    let code = f(&database);
    drop(database);
    crate::interrupt::disarm();
    code
}

/// What one session needs, decided once when it starts.
struct Session<'a> {
    opts: &'a Options,
    prep: &'a Prepared,
    dag: Option<&'a Dag>,
    run: Option<&'a RunContext>,
    rp: &'a run::RunPlan,
    mode: LockMode,
    run_id: String,
    policy: LockPolicy,
    /// How long to wait for the lock and for a foreign holder of the file.
    timeout: Option<Duration>,
    in_memory: bool,
}

impl<'a> Session<'a> {
    fn new(
        opts: &'a Options,
        prep: &'a Prepared,
        dag: Option<&'a Dag>,
        run: Option<&'a RunContext>,
        rp: &'a run::RunPlan,
        mode: LockMode,
    ) -> Self {
        let policy = dag.map(|d| d.lock_policy).unwrap_or(LockPolicy::Wait);
        let timeout = opts.lock_timeout.or(dag.and_then(|d| d.lock_timeout)).or(match policy {
            LockPolicy::Wait => None,
            LockPolicy::Skip | LockPolicy::Fail => Some(Duration::ZERO),
        });
        Session {
            opts,
            prep,
            dag,
            run,
            rp,
            mode,
            run_id: run.map(|r| r.run_id.clone()).unwrap_or_else(|| super::compile::run_id_for(opts.command.name())),
            policy,
            timeout,
            in_memory: prep.target.path == Path::new(":memory:"),
        }
    }

    fn writes(&self) -> bool {
        self.mode == LockMode::Exclusive
    }

    /// What can be checked before the file is created or locked: the
    /// profile's `settings:`/`extensions:`/`attach:`/`secrets:`, the path,
    /// and that a read-only command has a database to read.
    fn check(&self) -> Result<(), Error> {
        let target = &self.prep.target;
        db::check_profile(&target.settings, &target.extensions, &self.prep.attachments, &target.secrets).map_err(
            |e| {
                let message = format!("profile `{}`, target `{}`: {}", target.profile_name, target.name, e.message);
                Error::load(Diagnostic::in_file("profiles.yml", message).hint(e.hint.unwrap_or_else(|| {
                    "fix the profile's `settings:`, `extensions:`, `attach:` or `secrets:` (see DuckDB's documentation)"
                        .into()
                })))
            },
        )?;
        // Before the lock, which would create its file beside the database.
        if !self.in_memory && (self.writes() || target.path.is_dir()) {
            db::check_path(&target.path).map_err(Error::load)?;
        }
        if !self.writes() && !self.in_memory && !target.path.exists() {
            return Err(Error::NoDatabase(target.path.clone()));
        }
        Ok(())
    }

    /// The cross-process lock, waiting as the DAG's `lock_policy` says.
    /// `None`: the session ends here with success (`lock_policy: skip`).
    /// An in-memory database has no lock; its guard is `None` inside.
    fn lock(&self) -> Result<Option<Option<LockGuard>>, Error> {
        if self.in_memory {
            return Ok(Some(None));
        }
        let path = &self.prep.target.path;
        let holder = Holder::current(command_line(), self.dag.map(|d| d.id.clone()), Some(self.run_id.clone()));
        let request = LockRequest { db_path: path.clone(), mode: self.mode, holder, timeout: self.timeout };
        let db_name = path.display().to_string();
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
            Err(e @ LockError::Timeout { .. }) if self.policy == LockPolicy::Skip => {
                eprintln!("skipped: {e}");
                eprintln!(
                    "  (`lock_policy: skip` in `{}`)",
                    self.dag.map(|d| d.file.display().to_string()).unwrap_or_default()
                );
                return Ok(None);
            }
            Err(e) => return Err(Error::Lock(e)),
        };
        if let Some(w) = guard.waited() {
            eprintln!("got the lock on `{db_name}` after {:.2}s", w.as_secs_f64());
        }
        Ok(Some(Some(guard)))
    }

    /// Opens the file (once per process). `None`: another program holds it
    /// and the DAG says `lock_policy: skip`.
    fn open(&self) -> Result<Option<Arc<Database>>, Error> {
        let target = &self.prep.target;
        let read_only = !self.writes() && !self.in_memory;
        let opened = db::open(&target.path, read_only, &target.settings, self.timeout, &mut |who| {
            eprintln!(
                "waiting for `{}`: DuckDB reports it is held by {who}, which is not runner",
                target.path.display()
            );
        });
        match opened {
            Ok(d) => Ok(Some(d)),
            Err(e @ OpenError::ForeignLock { .. }) if self.policy == LockPolicy::Skip => {
                eprintln!("skipped: {e}");
                Ok(None)
            }
            Err(source) => Err(Error::Open { path: target.path.clone(), source }),
        }
    }

    /// Makes the opened database ready for the run's nodes; writes nothing a
    /// node would see unless the whole preparation succeeds up to the schemas.
    fn prepare(&self, database: &Database) -> Result<(), Error> {
        let target = &self.prep.target;
        // Relations were named before opening; a catalog DuckDB names differently
        // would make every statement fail, so stop before writing anything.
        if database.catalog() != target.database {
            return Err(Error::Catalog { found: database.catalog().to_string(), expected: target.database.clone() });
        }
        db::load_extensions(database, &target.extensions).map_err(SetupError::Extensions)?;
        db::create_secrets(database, &target.secrets).map_err(SetupError::Secrets)?;
        db::attach(database, &self.prep.attachments).map_err(SetupError::Attach)?;
        // From here a signal interrupts queries and rolls back instead of exiting.
        crate::interrupt::arm();
        if self.writes() {
            self.create_schemas(database)?;
        }
        Ok(())
    }

    fn create_schemas(&self, database: &Database) -> Result<(), SetupError> {
        let plan = &self.prep.plan;
        let schemas: BTreeSet<(String, String)> = (self.rp.nodes.iter())
            .filter_map(|&i| plan.node(i).relation.as_ref())
            .map(|r| (r.database.clone(), r.schema.clone()))
            .collect();
        let conn = database.connect().map_err(SetupError::Connect)?;
        for (db, schema) in schemas {
            let sql = format!("create schema if not exists {}.{}", quote(&db), quote(&schema));
            conn.execute_batch(&sql).map_err(|source| SetupError::Schema { schema, source })?;
        }
        Ok(())
    }

    /// The run's history record: the one `runner clear` claimed, a new one
    /// for a DAG run, none for a tests-only check. `None` (outer): another
    /// process already has this run, so there is nothing to do.
    fn history(&self, claimed: Option<HistorySink>) -> Result<Option<Option<HistorySink>>, Error> {
        match (self.dag, self.run, claimed) {
            (_, _, Some(sink)) => Ok(Some(Some(sink))),
            (Some(d), Some(r), None) => {
                let nodes = self.rp.nodes.iter().map(|&i| self.prep.plan.node(i).id.clone());
                match start_record(d, r, nodes)? {
                    Some(sink) => Ok(Some(Some(sink))),
                    None => {
                        eprintln!("run `{}` of `{}` exists already; not running it again", r.run_id, d.id);
                        Ok(None)
                    }
                }
            }
            _ => Ok(Some(None)),
        }
    }

    /// Dispatches the nodes with the run's sinks, closes DuckDB, and says what
    /// could not be written. The database is closed when this returns.
    fn dispatch(
        &self,
        database: Arc<Database>,
        files: std::collections::BTreeMap<String, crate::artifacts::NodeFiles>,
        mut history: Option<HistorySink>,
    ) -> RunOutcome {
        let prep = self.prep;
        let stdout = std::io::stdout();
        let mut report = Report::new(stdout.lock());
        let run_dir = Some(super::compile::sql_dir(prep, "run"));
        let mut results = RunResults::new(&prep.project.target_dir, prep.templates.invocation_id())
            .with_files(self.opts.command.name(), run_dir, files)
            .with_invocation(&prep.invocation.args, &prep.invocation.metadata_env)
            .with_compiled_dir(super::compile::sql_dir(prep, "compiled"));
        let mut log = InvocationLog::open(&prep.project.root.join("logs"), self.opts.command.name(), &self.run_id);
        let mut disk_full = DiskFull::default();
        let mut behind: Fanout<dyn Sink + Send> = Fanout { sinks: vec![&mut results, &mut log, &mut disk_full] };
        if let Some(h) = history.as_mut() {
            behind.sinks.push(h);
        }
        let outcome = self.dispatch_to(database, &mut report, &mut behind);
        drop(report);
        let errors = [
            results.write_error.as_ref(),
            log.write_error.as_ref(),
            history.as_ref().and_then(|h| h.write_error.as_ref()),
        ];
        for e in errors.into_iter().flatten() {
            eprintln!("warning: {e}");
        }
        // dbt writes the manifest again after a run, with the code nodes
        // compiled as they ran; only needed where that differs.
        if !results.recompiled.is_empty() {
            super::compile::after_run(prep, &self.rp.nodes, &results.compiled_code());
        }
        if disk_full.0 {
            let hint = crate::diag::disk_hint_for(&prep.target.path);
            eprintln!("error: the disk is full: nodes could not write the database\n  (hint: {hint})");
        }
        outcome
    }

    /// The dispatcher with its workers and the project's run hooks; events go
    /// to the console here and to `behind` on a background thread.
    fn dispatch_to(
        &self,
        database: Arc<Database>,
        console: &mut dyn Sink,
        behind: &mut (dyn Sink + Send),
    ) -> RunOutcome {
        let (plan, rp) = (&self.prep.plan, self.rp);
        let caps = Caps {
            threads: self.prep.target.threads,
            max_active_tasks: self.dag.map(|d| d.max_active_tasks).unwrap_or(usize::MAX),
            db_writers: self.opts.max_db_writers.unwrap_or(usize::MAX),
        };
        let writers = database.writers();
        let work = self.workers(&database);
        let mut around = self.run_hooks(&database);
        let mut seen = around.as_ref().map(ProjectHooks::seen_sink);
        let mut open = Some(database);
        events::in_background(behind, |behind| {
            let mut sinks: Fanout = Fanout { sinks: vec![console, behind] };
            if let Some(s) = seen.as_mut() {
                sinks.sinks.push(s);
            }
            let stop = &crate::interrupt::requested;
            let outcome = match around.as_mut() {
                Some(hooks) => run::execute_around(plan, rp, caps, work, &writers, stop, &mut sinks, hooks),
                None => run::execute(plan, rp, caps, work, &writers, stop, &mut sinks),
            };
            // The hooks' connection holds the database open: it goes first.
            drop(around.take());
            // DuckDB closes (a checkpoint: about 20 ms for the example project) while the
            // file-writing sinks catch up on the last events, not after them.
            drop(open.take());
            outcome
        })
    }

    /// Builds each worker thread's executor: its own connection to the run's
    /// database. The workers hold their own handle, so the session's can be
    /// dropped (closing DuckDB) as soon as they are done.
    fn workers(&self, database: &Arc<Database>) -> impl Fn(usize) -> run::WorkFn + Sync {
        let prep = self.prep;
        let shared = worker::Shared {
            templates: prep.templates.clone(),
            relations: prep.plan.relations.clone(),
            full_refresh: self.opts.full_refresh,
            catalog: Arc::new(crate::executor::catalog::Catalog::default()),
            python: Arc::new(crate::pymodel::process::Runtime::from_env()),
            python_scratch: prep.project.target_dir.join("python"),
            dag_timeout: self.dag.and_then(|d| d.execution_timeout),
        };
        let database = Arc::clone(database);
        move |_w: usize| -> run::WorkFn {
            match Worker::open(&database, &shared) {
                Ok(mut worker) => Box::new(move |node: &Node, start: Instant, w: usize| worker.run(node, start, w)),
                Err(message) => Box::new(move |_: &Node, _: Instant, w: usize| worker::unconnected(&message, w)),
            }
        }
    }

    /// `on-run-start` / `on-run-end`, on a connection of their own; none when
    /// nothing is selected (dbt runs no hooks then either).
    fn run_hooks(&self, database: &Database) -> Option<ProjectHooks> {
        let plan = &self.prep.plan;
        (!plan.run_hooks.is_empty() && !self.rp.nodes.is_empty()).then(|| {
            let conn = database.connect().map_err(|e| e.to_string());
            if let Ok(c) = &conn {
                crate::interrupt::register(db::raw::Interrupter::new(c, None));
            }
            ProjectHooks::new(plan, self.prep.templates.clone(), conn)
        })
    }
}

/// The lock file is world-readable: flag values (`--vars`) are left out.
fn command_line() -> String {
    crate::secrets::command_without_values(std::env::args_os().map(|a| a.to_string_lossy().into_owned()))
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
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
        Err(source) => Err(Error::History { what: format!("cannot record run `{}`", run.run_id), source }),
    }
}

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
            self.0 |= result.message.as_deref().is_some_and(crate::diag::says_disk_full);
        }
    }
}

/// A live "still waiting" indicator, only when a person is watching: never
/// when stderr is not a terminal, and never in CI.
fn wait_indicator() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("waiting for the lock");
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}
