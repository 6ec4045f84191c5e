//! The commands: wiring load → plan → select → lock → open → execute → report.
//!
//! Owns the order of those steps and the guarantee that every input is
//! validated before the database is opened (bad input never half-writes).
//! Holds no SQL, no scheduling policy and no formatting of its own beyond the
//! lock-wait lines.

use crate::artifacts::RunResults;
use crate::cli::{Command, Options};
use crate::db::{self, Holder, LockError, LockMode, LockRequest};
use crate::error::{Diagnostic, Error, EXIT_NODE_FAILURE, EXIT_OK};
use crate::events::{Fanout, NodeResult, Status};
use crate::executor::Executor;
use crate::history::{History, HistorySink, RunRecord, RunState};
use crate::nodes::{self, Node, Plan, Resource};
use crate::project::dag::{self, Dag, LockPolicy, TestBehavior};
use crate::project::{self, env::Env, profile, profile::Target};
use crate::report::Report;
use crate::schedule::{RunContext, Timetable};
use crate::scheduler::{self, Caps, TaskRetry};
use crate::template::{Templates, Vars};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub fn run(opts: Options) -> Result<i32, Error> {
    crate::interrupt::install();
    match opts.command.clone() {
        Command::Run { dag } => {
            let dag = find_dag(&opts, &dag)?;
            let run = manual_run(&opts, Some(&dag))?;
            run_dag(&opts, &dag, &run)
        }
        Command::Scheduler { once, now } => crate::daemon::run(&opts, once, now),
        Command::Backfill { dag, from, to, reprocess } => {
            let dag = find_dag(&opts, &dag)?;
            crate::daemon::backfill(&opts, &dag, from, to, reprocess)
        }
        Command::Clear { run_id, failed_only } => {
            let record = History::new(&opts.project_dir).find(&run_id).ok_or_else(|| {
                Error::Usage(
                    Diagnostic::new(format!("unknown run id `{run_id}`")).hint("list runs with `runner runs <DAG>`"),
                )
            })?;
            let dag = find_dag(&opts, &record.dag_id)?;
            // Without --failed-only the whole run runs again, as Airflow's clear
            // of a DAG run does; with it, only what failed and what it skipped.
            let only = failed_only.then(|| {
                record
                    .tasks
                    .iter()
                    .filter(|t| t.state == "failed" || t.state == "upstream_failed")
                    .map(|t| t.node.clone())
                    .collect::<BTreeSet<String>>()
            });
            rerun(&opts, &dag, record, only)
        }
        Command::Dags { json } => {
            let (dags, errors) = dag::load_all(&opts.project_dir);
            for e in shown(&opts.project_dir, errors) {
                eprintln!("warning: {e}");
            }
            crate::inspect::dags(&dags, json);
            Ok(EXIT_OK)
        }
        Command::Tasks { run_id, json } => {
            let run = History::new(&opts.project_dir).find(&run_id).ok_or_else(|| {
                Error::Usage(
                    Diagnostic::new(format!("unknown run id `{run_id}`")).hint("list runs with `runner runs <DAG>`"),
                )
            })?;
            crate::inspect::tasks(&run, json);
            Ok(EXIT_OK)
        }
        Command::Pause { dag, paused } => {
            let dag = find_dag(&opts, &dag)?;
            History::new(&dag.project_dir)
                .set_paused(&dag.id, paused)
                .map_err(|e| Error::Database(format!("error: cannot record the pause of `{}`: {e}", dag.id)))?;
            let verb = if paused { "paused" } else { "unpaused" };
            println!("`{}` {verb}", dag.id);
            if !paused && dag.paused {
                eprintln!(
                    "note: `{}` still sets `paused: true`; remove it there to schedule `{}`",
                    dag.file.display(),
                    dag.id
                );
            }
            Ok(EXIT_OK)
        }
        Command::Runs { dag, json } => {
            let dag = find_dag(&opts, &dag)?;
            crate::inspect::runs(&History::new(&dag.project_dir), &dag.id, json);
            Ok(EXIT_OK)
        }
        Command::Test { dag } => {
            let dag = match dag {
                Some(name) => Some(find_dag(&opts, &name)?),
                None => None,
            };
            let run = manual_run(&opts, dag.as_ref())?;
            let prep = prepare(&opts, dag.as_ref(), &run)?;
            let selected: BTreeSet<usize> = selection(&opts, dag.as_ref(), &prep.plan)?
                .into_iter()
                .filter(|&i| prep.plan.node(i).resource == Resource::Test)
                .collect();
            let rp = scheduler::run_plan(&prep.plan, &selected, TestBehavior::AfterAll, TaskRetry::NONE);
            execute(&opts, &prep, dag.as_ref(), None, &rp, LockMode::Shared, None)
        }
    }
}

/// Paths in messages: relative to where the user pointed `runner`.
fn shown(base: &Path, mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    if base != Path::new(".") && base != Path::new("") {
        for d in &mut diags {
            if let Some(f) = d.file.take() {
                d.file = Some(if f.is_relative() { base.join(f) } else { f });
            }
        }
    }
    diags
}

fn find_dag(opts: &Options, name: &str) -> Result<Dag, Error> {
    let (dags, errors) = dag::load_all(&opts.project_dir);
    if let Some(d) = dags.get(name) {
        return Ok(d.clone());
    }
    let known: Vec<String> = dags.keys().map(|k| format!("`{k}`")).collect();
    let hint = if known.is_empty() {
        format!("no DAG loaded from `{}`", opts.project_dir.join("dags").display())
    } else {
        format!("DAGs: {}", known.join(", "))
    };
    let mut all = shown(&opts.project_dir, errors);
    all.push(Diagnostic::new(format!("unknown DAG `{name}`")).hint(hint));
    Err(Error::Load(all))
}

pub struct Prepared {
    pub project: project::Project,
    pub target: Target,
    pub templates: Arc<Templates>,
    pub plan: Plan,
}

/// One run of a DAG with the given run context: load, plan, lock, execute, record.
pub fn run_dag(opts: &Options, dag: &Dag, run: &RunContext) -> Result<i32, Error> {
    let prep = prepare(opts, Some(dag), run)?;
    let selected = selection(opts, Some(dag), &prep.plan)?;
    let rp = scheduler::run_plan(&prep.plan, &selected, dag.test_behavior, retry_of(dag));
    execute(opts, &prep, Some(dag), Some(run), &rp, LockMode::Exclusive, None)
}

fn retry_of(dag: &Dag) -> TaskRetry {
    TaskRetry {
        retries: dag.retries,
        delay: dag.retry_delay,
        exponential: dag.retry_exponential_backoff,
        max_delay: dag.max_retry_delay,
    }
}

/// Runs an existing run again, in its own interval: every selected node, or
/// only the nodes in `only`; the nodes not run keep their records (`clear`,
/// backfill's reprocess).
pub fn rerun(opts: &Options, dag: &Dag, mut record: RunRecord, only: Option<BTreeSet<String>>) -> Result<i32, Error> {
    let history = History::new(&dag.project_dir);
    let alive = history
        .claim(&record)
        .map_err(|e| Error::Database(format!("error: cannot take over run `{}`: {e}", record.run_id)))?
        .ok_or_else(|| {
            Error::Usage(
                Diagnostic::new(format!("run `{}` is running in another process", record.run_id))
                    .hint("wait for it to finish, then clear it"),
            )
        })?;
    let interval = crate::schedule::Interval { start: record.data_interval_start, end: record.data_interval_end };
    let ctx = RunContext { run_id: record.run_id.clone(), run_type: record.run_type.clone(), interval };
    let prep = prepare(opts, Some(dag), &ctx)?;
    let selected = match &only {
        Some(ids) => (0..prep.plan.nodes.len()).filter(|&i| ids.contains(&prep.plan.node(i).id)).collect(),
        None => selection(opts, Some(dag), &prep.plan)?,
    };
    let rp = scheduler::run_plan(&prep.plan, &selected, dag.test_behavior, retry_of(dag));
    let me = Holder::current(String::new(), None, None);
    record.state = RunState::Running;
    record.pid = me.pid;
    record.host = me.host;
    record.start = Some(chrono::Utc::now());
    record.end = None;
    record.message = None;
    history
        .update(&record)
        .map_err(|e| Error::Database(format!("error: cannot record run `{}`: {e}", record.run_id)))?;
    let sink = HistorySink::new(history, record, alive);
    execute(opts, &prep, Some(dag), Some(&ctx), &rp, LockMode::Exclusive, Some(sink))
}

/// A manual run's id and data interval (R14), from the DAG's schedule.
fn manual_run(opts: &Options, dag: Option<&Dag>) -> Result<RunContext, Error> {
    let tt = match dag {
        Some(d) => Timetable::new(&d.schedule, d.timezone)
            .map_err(|e| Error::Load(vec![Diagnostic::in_file(&d.file, format!("`schedule`: {e}"))]))?,
        None => Timetable::Manual,
    };
    Ok(RunContext::manual(&tt, chrono::Utc::now(), opts.logical_date))
}

/// Loads and validates everything a run needs; collects every error.
pub fn prepare(opts: &Options, dag: Option<&Dag>, run: &RunContext) -> Result<Prepared, Error> {
    let dir = dag.map(|d| d.project_dir.clone()).unwrap_or_else(|| opts.project_dir.clone());
    let fail = |diags: Vec<Diagnostic>| Error::Load(shown(&dir, diags));
    let env = Env::load(&dir).map_err(|d| fail(vec![d]))?;
    let (project, mut errors) = project::load_all(&dir);
    let target = resolve_target(opts, dag, &dir, Some(&project), &env).map_err(|d| errors.push(d)).ok();
    let Some(mut target) = target else {
        return Err(fail(errors));
    };
    if let Some(t) = opts.threads {
        target.threads = t;
    }
    let vars =
        Vars { layers: vec![opts.vars.clone(), dag.map(|d| d.vars.clone()).unwrap_or_default(), project.vars.clone()] };
    // Template syntax errors join the load errors so one run reports them all.
    let templates =
        Templates::build(&project, &target, &env, vars, &run.template_values()).map_err(|e| errors.extend(e)).ok();
    let (Some(templates), true) = (templates, errors.is_empty()) else {
        return Err(fail(errors));
    };
    let templates = Arc::new(templates);
    let plan = nodes::plan(&project, &target, &templates).map_err(fail)?;
    Ok(Prepared { project, target, templates, plan })
}

fn resolve_target(
    opts: &Options,
    dag: Option<&Dag>,
    dir: &Path,
    project: Option<&project::Project>,
    env: &Env,
) -> Result<Target, Diagnostic> {
    let path = profile::find_profiles(opts.profiles_dir.as_deref(), dir).ok_or_else(|| {
        Diagnostic::in_file("profiles.yml", "no `profiles.yml` found")
            .hint("put one in the project directory, pass --profiles-dir, or set DBT_PROFILES_DIR")
    })?;
    let shown_path = path.strip_prefix(dir).map(Path::to_path_buf).unwrap_or_else(|_| path.clone());
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Diagnostic::in_file(&shown_path, format!("cannot read: {e}"))
            .hint("pass --profiles-dir to point at the right directory")
    })?;
    let rendered = profile::render(&text, &shown_path, env)?;
    let name = match dag.and_then(|d| d.profile.clone()).or_else(|| project.and_then(|p| p.profile.clone())) {
        Some(n) => n,
        None => only_profile(&rendered).ok_or_else(|| {
            Diagnostic::in_file(&shown_path, "no profile chosen")
                .hint("set `profile:` in the DAG or in dbt_project.yml")
        })?,
    };
    let target = opts.target.as_deref().or(dag.and_then(|d| d.target.as_deref()));
    profile::resolve(&rendered, &shown_path, &text, &name, target, dir)
}

/// The profile's name when `profiles.yml` defines exactly one.
fn only_profile(rendered: &str) -> Option<String> {
    let map: std::collections::BTreeMap<String, serde_yaml::Value> = serde_yaml::from_str(rendered).ok()?;
    let names: Vec<&String> = map.keys().filter(|k| k.as_str() != "config").collect();
    (names.len() == 1).then(|| names[0].clone())
}

fn selection(opts: &Options, dag: Option<&Dag>, plan: &Plan) -> Result<BTreeSet<usize>, Error> {
    let select = opts.select.clone().or_else(|| dag.map(|d| d.select.clone())).unwrap_or_default();
    let exclude = opts.exclude.clone().or_else(|| dag.map(|d| d.exclude.clone())).unwrap_or_default();
    crate::select::select(plan, &select, &exclude).map_err(|e| {
        let mut d = Diagnostic::new(format!("invalid selector: {e}")).hint("see dbt's node selection syntax");
        if opts.select.is_none() && opts.exclude.is_none() {
            d.file = dag.map(|d| d.file.clone());
        }
        Error::Load(shown(&opts.project_dir, vec![d]))
    })
}

fn command_line() -> String {
    let mut args = std::env::args();
    let exe = args.next().map(|a| Path::new(&a).file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or(a));
    exe.into_iter().chain(args).collect::<Vec<_>>().join(" ")
}

fn execute(
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
    let run_id = run
        .map(|r| r.run_id.clone())
        .unwrap_or_else(|| format!("test__{}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00")));
    let policy = dag.map(|d| d.lock_policy).unwrap_or(LockPolicy::Wait);
    let timeout = opts.lock_timeout.or(dag.and_then(|d| d.lock_timeout)).or(match policy {
        LockPolicy::Wait => None,
        LockPolicy::Skip | LockPolicy::Fail => Some(std::time::Duration::ZERO),
    });
    let in_memory = target.path == Path::new(":memory:");
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
            db::warm_up();
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
    let database = db::open(&target.path, !write && !in_memory, &target.settings, timeout, &mut |who| {
        eprintln!("waiting for `{}`: DuckDB reports it is held by {who}, which is not runner", target.path.display());
    });
    let database = match database {
        Ok(d) => d,
        Err(e @ db::OpenError::ForeignLock { .. }) if policy == LockPolicy::Skip => {
            eprintln!("skipped: {e}");
            return Ok(EXIT_OK);
        }
        Err(e) => return Err(Error::Database(format!("error: {e}"))),
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
    let mut results = RunResults::new(&prep.project.target_dir, &run_id);
    // A DAG run is recorded in the run history; a tests-only check is not a run.
    let mut history = match (dag, run, claimed) {
        (_, _, Some(sink)) => Some(sink),
        (Some(d), Some(r), None) => match start_record(d, r)? {
            Some(sink) => Some(sink),
            // Another process already has this run (R7): nothing to do.
            None => {
                eprintln!("run `{}` of `{}` exists already; not running it again", r.run_id, d.id);
                return Ok(EXIT_OK);
            }
        },
        _ => None,
    };
    let relations = prep.plan.relations.clone();
    let worker = |_w: usize| -> Box<dyn FnMut(&Node, Instant, usize) -> NodeResult + Send> {
        match database.connect() {
            Ok(conn) => {
                crate::interrupt::register(conn.interrupt_handle());
                let mut ex = Executor {
                    conn,
                    templates: prep.templates.clone(),
                    relations: relations.clone(),
                    full_refresh: opts.full_refresh,
                };
                Box::new(move |node: &Node, start: Instant, w: usize| {
                    let began = start.elapsed();
                    let e = ex.run(node);
                    let ended = start.elapsed();
                    NodeResult {
                        status: e.status,
                        duration: ended - began,
                        count: e.count,
                        message: e.message,
                        started: began.as_secs_f64(),
                        finished: ended.as_secs_f64(),
                        worker: w,
                        attempts: e.attempts,
                    }
                })
            }
            Err(err) => {
                let msg = err.to_string();
                Box::new(move |_: &Node, _: Instant, w: usize| NodeResult {
                    status: Status::Error,
                    duration: Default::default(),
                    count: None,
                    message: Some(msg.clone()),
                    started: 0.0,
                    finished: 0.0,
                    worker: w,
                    attempts: 1,
                })
            }
        }
    };
    let mut sinks = Fanout { sinks: vec![&mut report, &mut results] };
    if let Some(h) = history.as_mut() {
        sinks.sinks.push(h);
    }
    scheduler::execute(&prep.plan, rp, caps, worker, &writers, &crate::interrupt::requested, &mut sinks);
    drop(sinks);
    let failed = report.counts.failed();
    drop(report);
    for e in results.write_error.iter().chain(history.as_ref().and_then(|h| h.write_error.as_ref())) {
        eprintln!("warning: {e}");
    }
    // DuckDB must be closed before another process may take the lock.
    drop(database);
    drop(lock);
    crate::interrupt::disarm();
    if crate::interrupt::requested() {
        return Err(Error::Interrupted);
    }
    Ok(if failed { EXIT_NODE_FAILURE } else { EXIT_OK })
}

/// Creates the run's history record, state `running`; `None` when that run
/// exists already (a scheduled interval another process took).
fn start_record(dag: &Dag, run: &RunContext) -> Result<Option<HistorySink>, Error> {
    let history = History::new(&dag.project_dir);
    let me = Holder::current(String::new(), None, None);
    let record = RunRecord {
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
    match history.create(&record) {
        Ok(Some(alive)) => Ok(Some(HistorySink::new(history, record, alive))),
        Ok(None) => Ok(None),
        Err(e) => Err(Error::Database(format!("error: cannot record run `{}`: {e}", run.run_id))),
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
