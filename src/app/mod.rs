//! The commands: wiring load → plan → select → lock → open → execute → report.
//!
//! Owns the order of those steps and the guarantee that every input is
//! validated before the database is opened (bad input never half-writes).
//! Holds no SQL, no scheduling policy and no formatting of its own beyond the
//! lock-wait lines.

mod airflow;
mod commands;
mod compile;
mod debug;
pub(crate) mod invocation;
mod list;
mod load;
mod operation;
mod session;

use crate::cli::{Command, Options, RunRef};
use crate::db::{Holder, LockMode};
use crate::diag::Diagnostic;
use crate::error::{Error, EXIT_OK};
use crate::history::{History, HistorySink, RunRecord, RunState};
use crate::nodes::{self, Plan};
use crate::project::dag::{self, Dag, TestBehavior};
use crate::project::{self, env::Env, profile, profile::Target};
use crate::run::{self, TaskRetry};
use crate::template::{Templates, Vars};
use crate::timetable::{RunContext, Timetable};
use session::execute;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

pub fn run(opts: Options) -> Result<i32, Error> {
    crate::interrupt::install();
    // Commands that open the warehouse start DuckDB while they plan.
    if matches!(
        opts.command,
        Command::Run { .. }
            | Command::Test { .. }
            | Command::Seed { .. }
            | Command::Snapshot { .. }
            | Command::Build { .. }
            | Command::Backfill { .. }
            | Command::Clear { .. }
    ) {
        crate::db::prestart();
    }
    match opts.command.clone() {
        Command::Run { dag: Some(dag) } => {
            let dag = find_dag(&opts, &dag)?;
            let triggered = chrono::Utc::now();
            let mut run = manual_run(&opts, Some(&dag), triggered)?;
            run.run_id = unique_manual_id(&dag, triggered)?;
            let outcome = run_dag(&opts, &dag, &run);
            // Best effort: a leftover reservation is clutter, never a wrong run.
            let _ = History::new(&dag.project_dir).release(&dag.id, &run.run_id);
            outcome
        }
        Command::Scheduler { once, now, grace } => {
            crate::interrupt::set_grace(grace);
            crate::scheduler::run(&opts, once, now, &CommandRuns)
        }
        Command::Backfill { dag, from, to, reprocess } => {
            let dag = find_dag(&opts, &dag)?;
            crate::scheduler::backfill(&opts, &dag, from, to, reprocess, &CommandRuns)
        }
        Command::Clear { run, failed_only } => {
            let (record, _) = find_run_in(&opts, &run)?;
            let dag = find_dag(&opts, &record.dag_id)?;
            // Without --failed-only the whole run runs again, as Airflow's clear
            // of a DAG run does; with it, everything that did not succeed.
            rerun(&opts, &dag, record, failed_only)
        }
        Command::Dags { json } => {
            let (dags, errors) = dag::load_all(&opts.project_dir);
            for e in shown(&opts.project_dir, errors) {
                eprintln!("warning: {e}");
            }
            crate::inspect::dags(&dags, json);
            Ok(EXIT_OK)
        }
        Command::Tasks { run, json } => {
            crate::inspect::tasks(&find_run_in(&opts, &run)?.0, json);
            Ok(EXIT_OK)
        }
        Command::Logs { run, node, attempt, json } => {
            let (record, root) = find_run_in(&opts, &run)?;
            crate::inspect::logs(&root, &record, &node, attempt, json)?;
            Ok(EXIT_OK)
        }
        Command::Pause { dag, paused } => {
            let dag = find_dag(&opts, &dag)?;
            set_paused(&dag, paused)?;
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
        Command::Ui { host, port } => crate::ui::serve(&opts, &host, port),
        Command::Report { run, out } => {
            let (record, _) = find_run_in(&opts, &run)?;
            let dag = find_dag(&opts, &record.dag_id)?;
            crate::ui::report(&dag, &record, &out)
        }
        Command::Runs { dag, json } => {
            let dag = find_dag(&opts, &dag)?;
            crate::inspect::runs(&History::new(&dag.project_dir), &dag.id, json);
            Ok(EXIT_OK)
        }
        Command::Deps { dag, opts: deps } => {
            let dag = dag.map(|n| find_dag(&opts, &n)).transpose()?;
            let dir = dag.map(|d| d.project_dir).unwrap_or_else(|| opts.project_dir.clone());
            // packages.yml sees the environment (`.env` too) and `--vars`, as in dbt.
            let env = Env::load(&dir).map_err(|d| Error::Load(shown(&dir, vec![d])))?;
            let project = crate::template::YamlJinja::without_profile(&env, Vars { layers: vec![opts.vars.clone()] });
            let renderer = crate::deps::render::Renderer::new(env, opts.vars.clone());
            let installed =
                crate::deps::install(&dir, deps, &renderer, &project).map_err(|d| Error::Load(shown(&dir, d)))?;
            if installed.is_empty() {
                println!("no packages to install");
            }
            for i in installed {
                let version =
                    i.lock.iter().find(|(k, _)| k == "version" || k == "revision").map(|(_, v)| format!(" {v}"));
                let verb = if deps.lock_only { "locked" } else { "installed" };
                println!("{verb} `{}`{}", i.name, version.unwrap_or_default());
            }
            Ok(EXIT_OK)
        }
        Command::Run { dag: None }
        | Command::Seed { .. }
        | Command::Snapshot { .. }
        | Command::Build { .. }
        | Command::Compile { .. }
        | Command::Ls { .. }
        | Command::RunOperation { .. }
        | Command::Debug { .. } => commands::run(&opts),
        Command::ExportAirflow { dag, out, mode, runner_bin } => {
            airflow::export(&opts, &dag, &out, mode, runner_bin.as_deref())
        }
        Command::ImportCosmos { file, out } => airflow::import(&opts, &file, out.as_deref()),
        Command::Test { dag } => {
            let dag = match dag {
                Some(name) => Some(find_dag(&opts, &name)?),
                None => None,
            };
            let run = manual_run(&opts, dag.as_ref(), chrono::Utc::now())?;
            let prep = prepare(&opts, dag.as_ref(), &run)?;
            let selected: BTreeSet<usize> = selection(&opts, dag.as_ref(), &prep.plan)?
                .into_iter()
                .filter(|&i| prep.plan.node(i).resource.is_test())
                .collect();
            let rp = run::run_plan(&prep.plan, &selected, TestBehavior::AfterAll, TaskRetry::NONE);
            // Tests only read, unless one keeps its failing rows (`store_failures`).
            let stores = selected.iter().any(|&i| match &prep.plan.node(i).kind {
                nodes::NodeKind::GenericTest { cfg, .. } | nodes::NodeKind::SingularTest { cfg, .. } => {
                    cfg.store_failures.is_some()
                }
                _ => false,
            });
            // `on-run-start` / `on-run-end` run in `dbt test` too, and they write.
            let hooks = !prep.plan.run_hooks.is_empty() && !rp.nodes.is_empty();
            let mode = if stores || hooks { LockMode::Exclusive } else { LockMode::Shared };
            execute(&opts, &prep, dag.as_ref(), None, &rp, mode, None)
        }
    }
}

/// `runner pause` / `unpause` (and the UI's switch): a marker beside the
/// run history, read by the scheduler each round.
fn set_paused(dag: &Dag, paused: bool) -> Result<(), Error> {
    History::new(&dag.project_dir)
        .set_paused(&dag.id, paused)
        .map_err(|source| Error::History { what: format!("cannot record the pause of `{}`", dag.id), source })
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

/// A run and the project directory whose history holds it: `--project-dir`'s,
/// else that of a DAG that keeps its project (and history) elsewhere. Run ids
/// repeat across DAGs (one scheduled interval of two DAGs), so an id that
/// several DAGs have is refused unless `--dag` says which.
fn find_run_in(opts: &Options, run: &RunRef) -> Result<(RunRecord, std::path::PathBuf), Error> {
    let mut roots = vec![opts.project_dir.clone()];
    let (dags, _) = dag::load_all(&opts.project_dir);
    roots.extend(dags.into_values().map(|d| d.project_dir).filter(|p| p != &opts.project_dir));
    roots.sort();
    roots.dedup();
    let mut found: Vec<(RunRecord, std::path::PathBuf)> = Vec::new();
    for root in roots {
        for record in History::new(&root).find_all(&run.run_id) {
            let wanted = run.dag.as_ref().is_none_or(|d| d == &record.dag_id);
            if wanted && !found.iter().any(|(r, _)| r.dag_id == record.dag_id) {
                found.push((record, root.clone()));
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let what = match &run.dag {
                Some(d) => format!("unknown run id `{}` of DAG `{d}`", run.run_id),
                None => format!("unknown run id `{}`", run.run_id),
            };
            Err(Error::Usage(Diagnostic::new(what).hint("list runs with `runner runs <DAG>`")))
        }
        _ => {
            let names: Vec<String> = found.iter().map(|(r, _)| format!("`{}`", r.dag_id)).collect();
            Err(Error::Usage(
                Diagnostic::new(format!("run id `{}` belongs to several DAGs: {}", run.run_id, names.join(", ")))
                    .hint(format!("say which with `--dag {}`", found[0].0.dag_id)),
            ))
        }
    }
}

fn find_dag(opts: &Options, name: &str) -> Result<Dag, Error> {
    let (dags, errors) = dag::load_all(&opts.project_dir);
    if let Some(d) = dags.get(name) {
        return Ok(d.clone());
    }
    let mut all = shown(&opts.project_dir, errors);
    if dag::is_duplicate(&all, name) {
        all.sort();
        return Err(Error::Load(all));
    }
    let known: Vec<String> = dags.keys().map(|k| format!("`{k}`")).collect();
    let hint = if known.is_empty() {
        format!("no DAG loaded from `{}`", opts.project_dir.join("dags").display())
    } else {
        format!("DAGs: {}", known.join(", "))
    };
    all.push(Diagnostic::new(format!("unknown DAG `{name}`")).hint(hint));
    Err(Error::Load(all))
}

pub struct Prepared {
    pub project: project::Project,
    pub target: Target,
    /// The profile's `attach:`, applied once the warehouse is open.
    pub attachments: Vec<profile::Attachment>,
    pub templates: Arc<Templates>,
    pub plan: Plan,
    /// `invocation_args_dict` and the metadata env, for the artifacts.
    pub invocation: invocation::Invocation,
}

/// One run of a DAG with the given run context: load, plan, lock, execute, record.
/// `runner scheduler` and `runner backfill` run DAGs through these paths.
struct CommandRuns;

impl crate::scheduler::Runs for CommandRuns {
    fn run(&self, opts: &Options, dag: &Dag, run: &RunContext) -> Result<i32, Error> {
        run_dag(opts, dag, run)
    }
    fn rerun(&self, opts: &Options, dag: &Dag, record: RunRecord) -> Result<i32, Error> {
        rerun(opts, dag, record, false)
    }
}

pub fn run_dag(opts: &Options, dag: &Dag, run: &RunContext) -> Result<i32, Error> {
    let prep = prepare(opts, Some(dag), run)?;
    let selected = selection(opts, Some(dag), &prep.plan)?;
    let rp = run::run_plan(&prep.plan, &selected, dag.test_behavior, retry_of(dag));
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
/// with `failed_only` every selected node that did not succeed (failed,
/// skipped after a failure, or never run because the run's process died);
/// the nodes not run keep their records (`clear`, backfill's reprocess).
pub fn rerun(opts: &Options, dag: &Dag, mut record: RunRecord, failed_only: bool) -> Result<i32, Error> {
    let history = History::new(&dag.project_dir);
    let alive = history
        .claim(&record)
        .map_err(|source| Error::History { what: format!("cannot take over run `{}`", record.run_id), source })?
        .ok_or_else(|| {
            Error::Usage(
                Diagnostic::new(format!("run `{}` is running in another process", record.run_id))
                    .hint("wait for it to finish, then clear it"),
            )
        })?;
    let interval = crate::timetable::Interval { start: record.data_interval_start, end: record.data_interval_end };
    let ctx = RunContext { run_id: record.run_id.clone(), run_type: record.run_type.clone(), interval };
    let prep = prepare(opts, Some(dag), &ctx)?;
    let mut selected = selection(opts, Some(dag), &prep.plan)?;
    if failed_only {
        let done: BTreeSet<&str> =
            record.tasks.iter().filter(|t| crate::history::succeeded(&t.state)).map(|t| t.node.as_str()).collect();
        selected.retain(|&i| !done.contains(prep.plan.node(i).id.as_str()));
    }
    let rp = run::run_plan(&prep.plan, &selected, dag.test_behavior, retry_of(dag));
    let me = Holder::current(String::new(), None, None);
    crate::history::schedule_tasks(&mut record.tasks, rp.nodes.iter().map(|&i| prep.plan.node(i).id.clone()));
    record.state = RunState::Running;
    record.pid = me.pid;
    record.host = me.host;
    record.start = Some(chrono::Utc::now());
    record.end = None;
    record.message = None;
    history
        .update(&record)
        .map_err(|source| Error::History { what: format!("cannot record run `{}`", record.run_id), source })?;
    let sink = HistorySink::new(history, record, alive);
    execute(opts, &prep, Some(dag), Some(&ctx), &rp, LockMode::Exclusive, Some(sink))
}

/// A manual run's id and data interval (R14), from the DAG's schedule.
fn manual_run(opts: &Options, dag: Option<&Dag>, now: chrono::DateTime<chrono::Utc>) -> Result<RunContext, Error> {
    let tt = match dag {
        Some(d) => Timetable::of(d),
        None => Timetable::Manual,
    };
    Ok(RunContext::manual(&tt, now, opts.logical_date))
}

/// The manual run's id, made unique among the DAG's runs: two triggers in the
/// same microsecond (parallel `runner run`s) would otherwise share one run id,
/// and the second would find its run "already exists" and not run at all.
fn unique_manual_id(dag: &Dag, triggered: chrono::DateTime<chrono::Utc>) -> Result<String, Error> {
    let ids = (0..1000).map(|us| crate::timetable::run_id("manual", triggered + chrono::TimeDelta::microseconds(us)));
    History::new(&dag.project_dir)
        .reserve(&dag.id, ids)
        .map_err(|source| Error::History { what: format!("cannot record a run of `{}`", dag.id), source })
}

/// Loads and validates everything a run needs; collects every error.
pub fn prepare(opts: &Options, dag: Option<&Dag>, run: &RunContext) -> Result<Prepared, Error> {
    let dir = dag.map(|d| d.project_dir.clone()).unwrap_or_else(|| opts.project_dir.clone());
    let fail = |diags: Vec<Diagnostic>| Error::Load(shown(&dir, diags));
    let env = Env::load(&dir).map_err(|d| fail(vec![d]))?;
    // The projects' own vars (scoped per package, as dbt scopes them) are
    // added by the templates, under these.
    let vars = Vars { layers: vec![opts.vars.clone(), dag.map(|d| d.vars.clone()).unwrap_or_default()] };
    let mut values: Vec<(&str, minijinja::Value)> =
        run.template_values().into_iter().map(|(k, v)| (k, minijinja::Value::from(v))).collect();
    if let Some(d) = dag {
        values.push(("params", minijinja::Value::from(minijinja::value::Serde(d.params.clone()))));
    }
    let invocation = invocation::Invocation::new(opts, dag, &dir, &env);
    values.extend(invocation.values(opts));
    // One `invocation_id` and `run_started_at` for YAML values and templates alike.
    let (invocation_id, started) = crate::template::run_identity(&values);
    values.push(("invocation_id", minijinja::Value::from(invocation_id)));
    values.push(("run_started_at", minijinja::Value::from(started.to_rfc3339())));
    // Jinja in YAML values (`+schema: "{{ env_var('S') }}"`) renders while
    // the files load, as dbt renders it while parsing.
    let (target, project, mut errors) = load::project_with_target(opts, dag, &dir, &env, &vars, &values);
    for w in shown(&dir, project.warnings.clone()) {
        eprintln!("warning: {w}");
    }
    let Some((target, attachments)) = target else {
        return Err(fail(errors));
    };
    // Template syntax errors join the load errors so one run reports them all.
    let templates = Templates::build(&project, &target, &env, vars, &values).map_err(|e| errors.extend(e)).ok();
    let (Some(templates), true) = (templates, errors.is_empty()) else {
        return Err(fail(errors));
    };
    let templates = Arc::new(templates);
    let plan = nodes::plan(&project, &target, &templates).map_err(fail)?;
    for w in shown(&dir, plan.warnings.clone()) {
        eprintln!("warning: {w}");
    }
    // dbt logs these while compiling a node; `ls` compiles nothing.
    if opts.command.name() != "ls" {
        for n in shown(&dir, plan.notes.clone()) {
            eprintln!("note: {n}");
        }
    }
    // dbt-duckdb accepts `grants` and applies none; say so once, not per node.
    let grants =
        |n: &nodes::Node| n.config.get("grants").is_some_and(|g| g.as_mapping().is_some_and(|m| !m.is_empty()));
    if plan.nodes.iter().any(grants) {
        eprintln!("note: `grants` are accepted and not applied: DuckDB has no grants");
    }
    // Said once, so a project relying on them knows (no manifest entries, no `exposure:` selection).
    let unread: BTreeSet<&str> = project.all().flat_map(|p| p.unread.iter().copied()).collect();
    if !unread.is_empty() {
        let list: Vec<&str> = unread.into_iter().collect();
        eprintln!("note: the property files' {} are accepted and not read: runner writes no manifest entries for them and cannot select by them", list.join(", "));
    }
    Ok(Prepared { project, target, attachments, templates, plan, invocation })
}

fn selection(opts: &Options, dag: Option<&Dag>, plan: &Plan) -> Result<BTreeSet<usize>, Error> {
    selection_full(opts, dag, plan).map(|s| s.nodes)
}

/// The selection with the ephemeral models it matched (which `ls` lists).
fn selection_full(opts: &Options, dag: Option<&Dag>, plan: &Plan) -> Result<crate::select::Selection, Error> {
    let select = opts.select.clone().or_else(|| dag.map(|d| d.select.clone())).unwrap_or_default();
    let exclude = opts.exclude.clone().or_else(|| dag.map(|d| d.exclude.clone())).unwrap_or_default();
    let chosen = crate::select::selection(plan, &select, &exclude).map_err(|e| {
        let mut d = Diagnostic::new(format!("invalid selector: {e}")).hint("see dbt's node selection syntax");
        if opts.select.is_none() && opts.exclude.is_none() {
            d.file = dag.map(|d| d.file.clone());
        }
        Error::Load(shown(&opts.project_dir, vec![d]))
    })?;
    // `ls` lists exposures: dbt says "nothing to do" only where something would run.
    let listed = matches!(opts.command, crate::cli::Command::Ls { .. }) && !chosen.exposures.is_empty();
    for w in chosen.warnings.iter().filter(|w| !(listed && w.as_str() == crate::select::NOTHING_TO_DO)) {
        eprintln!("warning: {w}");
    }
    Ok(chosen)
}
