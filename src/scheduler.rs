//! `runner scheduler`: the long-running process that starts DAG runs on their
//! schedules.
//!
//! Each round it reloads `dags/` (a file that stops parsing keeps its last
//! good version and says why), asks `timetable` which intervals are due, admits
//! runs under `max_active_runs`, and runs them oldest first, one at a time,
//! through the same path as `runner run`. Uniqueness per (DAG, logical date)
//! comes from the history's create-once run files, so two schedulers never run
//! an interval twice. Between rounds it sleeps until the next interval ends.
//! It computes no intervals itself and builds no SQL.

use crate::cli::{Options, Reprocess};
use crate::diag::Diagnostic;
use crate::error::{Error, EXIT_NODE_FAILURE, EXIT_OK};
use crate::history::{History, RunRecord, RunState};
use crate::project::dag::{self, Dag};
use crate::run::admit_run;
use crate::timetable::{self, RunContext, Timetable};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// The longest sleep between rounds, so added or changed DAG files are noticed.
/// How runs are carried out: `runner run`'s and `runner clear`'s own paths,
/// handed in by the command layer (`app`), so this module does not depend on it.
pub trait Runs {
    /// Runs `dag` for `run`'s interval; the exit code.
    fn run(&self, opts: &Options, dag: &Dag, run: &RunContext) -> Result<i32, Error>;
    /// Runs an existing run of `dag` again (every task).
    fn rerun(&self, opts: &Options, dag: &Dag, record: RunRecord) -> Result<i32, Error>;
}

type RunDag<'a> = &'a dyn Runs;

const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The scheduler's clock: the real time, or `--now` running on from when
/// the scheduler started (so tests can start just before an interval ends).
struct Clock {
    base: Option<DateTime<Utc>>,
    started: std::time::Instant,
}

impl Clock {
    fn now(&self) -> DateTime<Utc> {
        match self.base {
            Some(b) => b + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default(),
            None => Utc::now(),
        }
    }
}

pub fn run(opts: &Options, once: bool, now: Option<DateTime<Utc>>, exec: RunDag) -> Result<i32, Error> {
    let clock = Clock { base: now, started: std::time::Instant::now() };
    let mut last_good: BTreeMap<String, Dag> = BTreeMap::new();
    loop {
        let now = clock.now();
        // Taken before loading, so a file changed while this round runs wakes the next sleep.
        let loaded = dag_files(&opts.project_dir.join("dags"));
        let dags = reload(opts, &mut last_good);
        let mut code = EXIT_OK;
        let paused = |d: &Dag| d.paused || History::new(&d.project_dir).is_paused(&d.id);
        for dag in dags.values().filter(|d| !paused(d)) {
            match run_due(opts, dag, now, exec) {
                Ok(c) => code = code.max(c),
                Err(e) => {
                    eprintln!("{e}");
                    code = code.max(EXIT_NODE_FAILURE);
                }
            }
            if crate::interrupt::requested() {
                return Err(Error::Interrupted);
            }
        }
        if once {
            return Ok(code);
        }
        sleep_until_next(&opts.project_dir.join("dags"), &loaded, &dags, &clock);
        if crate::interrupt::requested() {
            return Err(Error::Interrupted);
        }
    }
}

/// Loads every DAG; a DAG whose file no longer parses keeps its last good version.
fn reload(opts: &Options, last_good: &mut BTreeMap<String, Dag>) -> BTreeMap<String, Dag> {
    let (mut dags, errors) = dag::load_all(&opts.project_dir);
    for e in &errors {
        eprintln!("warning: {e}");
    }
    for (id, old) in last_good.iter() {
        let broken = errors.iter().any(|e| e.file.as_deref() == Some(old.file.as_path()));
        if broken && !dags.contains_key(id) {
            eprintln!("warning: keeping the last good version of `{id}` until `{}` parses again", old.file.display());
            dags.insert(id.clone(), old.clone());
        }
    }
    *last_good = dags.clone();
    dags
}

/// Runs every due interval of one DAG, oldest first, while `max_active_runs` allows.
fn run_due(opts: &Options, dag: &Dag, now: DateTime<Utc>, exec: RunDag) -> Result<i32, Error> {
    let tt = Timetable::of(dag);
    let history = History::new(&dag.project_dir);
    let runs = history.runs(&dag.id);
    // R7: manual runs do not take a scheduled interval's place.
    let taken: BTreeSet<DateTime<Utc>> =
        runs.iter().filter(|r| r.run_type != "manual").map(|r| r.logical_date).collect();
    let mut code = EXIT_OK;
    for interval in timetable::due(dag, &tt, now, &taken) {
        let active =
            history.runs(&dag.id).iter().filter(|r| matches!(r.state, RunState::Running | RunState::Queued)).count();
        if !admit_run(dag.max_active_runs, active) {
            break;
        }
        let ctx = RunContext {
            run_id: timetable::run_id("scheduled", interval.start),
            run_type: "scheduled".into(),
            interval,
        };
        println!(
            "== `{}` run `{}`: interval {} → {}",
            dag.id,
            ctx.run_id,
            interval.start.format("%Y-%m-%dT%H:%M:%SZ"),
            interval.end.format("%Y-%m-%dT%H:%M:%SZ")
        );
        code = code.max(exec.run(opts, dag, &ctx)?);
        if crate::interrupt::requested() {
            break;
        }
    }
    Ok(code)
}

/// Sleeps until the earliest next interval end, in short slices so a signal
/// or a change in `dags/` is noticed within a second; never longer than
/// [`MAX_SLEEP`].
fn sleep_until_next(dags_dir: &Path, loaded: &DagFiles, dags: &BTreeMap<String, Dag>, clock: &Clock) {
    let now = clock.now();
    let next =
        dags.values().filter(|d| !d.paused).filter_map(|d| timetable::next_wakeup(d, &Timetable::of(d), now)).min();
    let wait = next.and_then(|t| (t - now).to_std().ok()).unwrap_or(MAX_SLEEP).min(MAX_SLEEP);
    let deadline = std::time::Instant::now() + wait;
    while std::time::Instant::now() < deadline && !crate::interrupt::requested() {
        if dag_files(dags_dir) != *loaded {
            break;
        }
        std::thread::sleep((deadline - std::time::Instant::now()).min(Duration::from_millis(500)));
    }
}

/// What identifies the DAG files' versions: names, sizes and modification times.
type DagFiles = BTreeSet<(std::path::PathBuf, u64, Option<std::time::SystemTime>)>;

fn dag_files(dir: &Path) -> DagFiles {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeSet::new() };
    entries.flatten().filter_map(|e| e.metadata().ok().map(|m| (e.path(), m.len(), m.modified().ok()))).collect()
}

/// `runner backfill`: one run per interval whose logical date is in
/// `[from, to]`, oldest first. Intervals that already have a scheduled or
/// backfill run follow `reprocess`.
pub fn backfill(
    opts: &Options,
    dag: &Dag,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reprocess: Reprocess,
    exec: RunDag,
) -> Result<i32, Error> {
    let tt = Timetable::of(dag);
    let mut t = tt.align(from).ok_or_else(|| {
        Error::Usage(
            Diagnostic::new(format!("`{}` has no schedule to backfill", dag.id)).hint("give the DAG a `schedule`"),
        )
    })?;
    let history = History::new(&dag.project_dir);
    let mut code = EXIT_OK;
    while t <= to {
        let Some(interval) = tt.interval_at(t) else { break };
        t = interval.end;
        let existing = history
            .runs(&dag.id)
            .into_iter()
            .filter(|r| r.run_type != "manual" && r.logical_date == interval.start)
            .last();
        let outcome = match (existing, reprocess) {
            (None, _) => {
                let ctx = RunContext {
                    run_id: timetable::run_id("backfill", interval.start),
                    run_type: "backfill".into(),
                    interval,
                };
                println!("== `{}` run `{}`", dag.id, ctx.run_id);
                exec.run(opts, dag, &ctx)?
            }
            (Some(r), Reprocess::Completed) | (Some(r), Reprocess::Failed)
                if reprocess == Reprocess::Completed || r.state == RunState::Failed =>
            {
                println!("== `{}` run `{}` again", dag.id, r.run_id);
                exec.rerun(opts, dag, r)?
            }
            (Some(r), _) => {
                println!(
                    "== `{}` interval {} has run `{}` ({:?}); leaving it",
                    dag.id,
                    interval.start.format("%Y-%m-%d"),
                    r.run_id,
                    r.state
                );
                EXIT_OK
            }
        };
        code = code.max(outcome);
        if crate::interrupt::requested() {
            return Err(Error::Interrupted);
        }
    }
    Ok(code)
}
