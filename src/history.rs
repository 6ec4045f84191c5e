//! The run store: runs, task instances and attempts, one JSON file per run.
//!
//! Kept under `<project>/.runner/history/<dag_id>/<run_id>.json`, apart from
//! the warehouse, so reading it never waits on the warehouse lock. A run file
//! is created with `create_new`, which makes at most one run per (DAG, run id)
//! across processes and restarts (a scheduled run id is its logical date);
//! only the creating process rewrites it, atomically (write, then rename). A
//! `running` run whose process is gone is marked failed when next read.
//! Users query it with SQL: `select * from read_json('.runner/history/*/*.json')`.
//! This module records; it decides nothing and prints nothing.

use crate::diag::io_at;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod sink;
pub use sink::HistorySink;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Queued,
    Running,
    Success,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub try_number: u32,
    pub state: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub duration: f64,
    pub error: Option<String>,
    /// This attempt's log file, relative to the project directory (see
    /// `task_log`); absent in records written before logs existed.
    #[serde(default)]
    pub log: Option<PathBuf>,
    /// The worker thread that ran it (the run page's timeline lanes); absent
    /// in records written before workers were recorded.
    #[serde(default)]
    pub worker: Option<usize>,
    /// Rows loaded (a seed) or failing rows (a test), when the attempt said.
    #[serde(default)]
    pub count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub node: String,
    /// Airflow's task states: `success`, `failed`, `upstream_failed`, …
    pub state: String,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub dag_id: String,
    pub run_type: String,
    pub logical_date: DateTime<Utc>,
    pub data_interval_start: DateTime<Utc>,
    pub data_interval_end: DateTime<Utc>,
    pub state: RunState,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub pid: u32,
    pub host: String,
    pub message: Option<String>,
    pub tasks: Vec<TaskRecord>,
}

#[derive(Debug, Clone)]
pub struct History {
    dir: PathBuf,
    /// The project directory; attempt log paths are recorded relative to it.
    root: PathBuf,
}

/// Writes a run beside its file; a failed write (a full disk) leaves no partial file behind.
fn write_aside(tmp: &Path, run: &RunRecord) -> std::io::Result<()> {
    let written = std::fs::write(tmp, serde_json::to_vec_pretty(run).map_err(std::io::Error::other)?);
    if written.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    written.map_err(io_at(tmp))
}

fn file_name(run_id: &str) -> String {
    // Run ids hold `:` and `+`, which some filesystems refuse.
    format!("{}.json", run_id.replace([':', '+'], "_"))
}

impl History {
    pub fn new(project_dir: &Path) -> History {
        History { dir: project_dir.join(".runner").join("history"), root: project_dir.to_path_buf() }
    }

    fn path(&self, dag_id: &str, run_id: &str) -> PathBuf {
        self.dir.join(dag_id).join(file_name(run_id))
    }

    fn owner_lock(run_file: &Path) -> PathBuf {
        run_file.with_extension("json.lock")
    }

    /// Becomes a run's owner; `Ok(None)` while another live process owns it.
    fn take_owner(run_file: &Path) -> std::io::Result<Option<crate::db::liveness::Held>> {
        match crate::db::liveness::hold(&Self::owner_lock(run_file)) {
            Ok(h) => Ok(Some(h)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The first of `ids` that no run of `dag_id` has, claimed for this
    /// process by creating its owner file (`create_new`, atomic across
    /// processes). Manual run ids are trigger times to the microsecond, and
    /// two triggers in the same microsecond must still be two runs.
    pub fn reserve(&self, dag_id: &str, ids: impl IntoIterator<Item = String>) -> std::io::Result<String> {
        let dir = self.dir.join(dag_id);
        std::fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        for id in ids {
            let lock = Self::owner_lock(&self.path(dag_id, &id));
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(_) => return Ok(id),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_at(&lock)(e)),
            }
        }
        Err(std::io::Error::other("every candidate run id is taken"))
    }

    /// Gives back an id [`History::reserve`] claimed for a run that never
    /// started (its project failed to load, or the lock was skipped): without
    /// a run file, the reservation is all that is left of it. A run that was
    /// recorded keeps its owner file.
    pub fn release(&self, dag_id: &str, run_id: &str) -> std::io::Result<()> {
        let path = self.path(dag_id, run_id);
        if path.exists() {
            return Ok(());
        }
        match std::fs::remove_file(Self::owner_lock(&path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Creates the run's file; `Ok(None)` when that run already exists. The
    /// returned proof of life must be kept until the run is recorded as
    /// finished: while it is held, readers know the run's process is alive.
    pub fn create(&self, run: &RunRecord) -> std::io::Result<Option<crate::db::liveness::Held>> {
        let path = self.path(&run.dag_id, &run.run_id);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(io_at(d))?;
        }
        // Held before the file appears, so no reader ever sees a running run
        // without a live owner.
        let Some(alive) = Self::take_owner(&path).map_err(io_at(&Self::owner_lock(&path)))? else { return Ok(None) };
        // Write the whole record aside, then link it into place: the link fails
        // if the run exists, and no reader ever sees an empty or partial file.
        let tmp = path.with_extension(format!("json.{}.new", std::process::id()));
        write_aside(&tmp, run)?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Some(alive)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(io_at(&path)(e)),
        }
    }

    /// Takes over an existing run to run it again (`clear`, backfill's
    /// reprocess): `Ok(None)` when its owner is still running it.
    pub fn claim(&self, run: &RunRecord) -> std::io::Result<Option<crate::db::liveness::Held>> {
        Self::take_owner(&self.path(&run.dag_id, &run.run_id))
    }

    /// Rewrites a run the caller created; readers never see half a file.
    pub fn update(&self, run: &RunRecord) -> std::io::Result<()> {
        let path = self.path(&run.dag_id, &run.run_id);
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        write_aside(&tmp, run)?;
        std::fs::rename(&tmp, &path).map_err(io_at(&path))
    }

    /// Every run with this id, one per DAG that has one, by DAG id: run ids
    /// repeat across DAGs (two DAGs scheduled for one interval).
    pub fn find_all(&self, run_id: &str) -> Vec<RunRecord> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut dags: Vec<String> = rd.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
        dags.sort();
        dags.iter().flat_map(|d| self.runs(d)).filter(|r| r.run_id == run_id).collect()
    }

    fn pause_marker(&self, dag_id: &str) -> PathBuf {
        self.dir.with_file_name("paused").join(dag_id)
    }

    /// `runner pause` / `unpause`: a marker beside the history, so pausing
    /// needs no edit of the DAG file and survives restarts.
    pub fn set_paused(&self, dag_id: &str, paused: bool) -> std::io::Result<()> {
        let marker = self.pause_marker(dag_id);
        if paused {
            if let Some(d) = marker.parent() {
                std::fs::create_dir_all(d).map_err(io_at(d))?;
            }
            std::fs::write(&marker, b"").map_err(io_at(&marker))
        } else {
            match std::fs::remove_file(marker) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }
    }

    pub fn is_paused(&self, dag_id: &str) -> bool {
        self.pause_marker(dag_id).exists()
    }

    /// Every run of `dag_id`, oldest logical date first. Runs left `running`
    /// by a process that died are marked failed, on disk too.
    pub fn runs(&self, dag_id: &str) -> Vec<RunRecord> {
        let mut runs: Vec<RunRecord> = self.run_files(dag_id).iter().filter_map(|f| read_run(&f.path())).collect();
        for run in &mut runs {
            self.settle(run);
        }
        runs.sort_by(run_order);
        runs
    }

    /// The folder of `dag_id`'s run files.
    pub fn runs_dir(&self, dag_id: &str) -> PathBuf {
        self.dir.join(dag_id)
    }

    /// The run files of `dag_id` (`<run>.json`), in no particular order:
    /// what [`History::runs`] reads, for readers that keep runs between calls
    /// (a directory entry's metadata is read relative to its folder, cheaper
    /// than by its whole path).
    pub fn run_files(&self, dag_id: &str) -> Vec<std::fs::DirEntry> {
        let Ok(rd) = std::fs::read_dir(self.runs_dir(dag_id)) else { return Vec::new() };
        rd.flatten().filter(|e| Path::new(&e.file_name()).extension().is_some_and(|x| x == "json")).collect()
    }

    /// A run read from its file that says it is running or queued, but whose
    /// process is gone, is closed as failed, on disk too. A finished run is
    /// left as it is: only its owner ever rewrites it.
    pub fn settle(&self, run: &mut RunRecord) {
        if !matches!(run.state, RunState::Running | RunState::Queued) {
            return;
        }
        // The owner's flock says whether it lives (across PID namespaces and
        // host renames); runs without one fall back to host and pid.
        let lock = Self::owner_lock(&self.path(&run.dag_id, &run.run_id));
        let dead = crate::db::liveness::is_held(&lock).map(|held| !held).unwrap_or_else(|| {
            run.host == crate::db::Holder::current(String::new(), None, None).host && !crate::db::queue::alive(run.pid)
        });
        if dead {
            let journal = journal_path(&self.path(&run.dag_id, &run.run_id));
            recover(run, &std::fs::read(&journal).unwrap_or_default());
            // The journal is folded in before it goes: a failed write keeps it for the next reader.
            if self.update(run).is_ok() {
                let _ = std::fs::remove_file(journal);
            }
        }
    }
}

/// One run file as [`History`] wrote it; `None` when it cannot be read or
/// is not a run record.
pub fn read_run(path: &Path) -> Option<RunRecord> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The order of [`History::runs`]: oldest logical date first, by run id
/// within a date.
pub fn run_order(a: &RunRecord, b: &RunRecord) -> std::cmp::Ordering {
    (a.logical_date, &a.run_id).cmp(&(b.logical_date, &b.run_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, pid: u32, state: RunState) -> RunRecord {
        let t = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").expect("time").with_timezone(&Utc);
        RunRecord {
            run_id: id.into(),
            dag_id: "d".into(),
            run_type: "scheduled".into(),
            logical_date: t,
            data_interval_start: t,
            data_interval_end: t,
            state,
            start: None,
            end: None,
            pid,
            host: crate::db::Holder::current(String::new(), None, None).host,
            message: None,
            tasks: vec![],
        }
    }

    #[test]
    fn a_run_id_is_created_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = History::new(dir.path());
        let r = run("scheduled__2025-01-01T00:00:00+00:00", std::process::id(), RunState::Running);
        let alive = h.create(&r).expect("create").expect("created");
        assert!(h.create(&r).expect("second create").is_none(), "a duplicate is refused");
        assert_eq!(h.runs("d")[0].state, RunState::Running, "its owner lives");
        drop(alive);
        let mut done = r.clone();
        done.state = RunState::Success;
        h.update(&done).expect("update");
        assert_eq!(h.runs("d"), vec![done]);
    }

    #[test]
    fn a_reserved_run_id_is_not_handed_out_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = History::new(dir.path());
        let ids = || ["manual__a".to_string(), "manual__b".to_string()];
        assert_eq!(h.reserve("d", ids()).expect("reserve"), "manual__a");
        assert_eq!(h.reserve("d", ids()).expect("reserve"), "manual__b", "the next free one");
        assert!(h.reserve("d", ids()).is_err(), "all taken");
        // The reserving process then creates its run as usual.
        let alive = h.create(&run("manual__a", std::process::id(), RunState::Running)).expect("create");
        assert!(alive.is_some());
    }

    #[test]
    fn releasing_drops_an_unused_reservation_and_keeps_a_recorded_runs_owner() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = History::new(dir.path());
        let files = || {
            let mut names: Vec<String> = std::fs::read_dir(dir.path().join(".runner/history/d"))
                .expect("dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
                .collect();
            names.sort();
            names
        };
        let unused = h.reserve("d", ["manual__a".to_string()]).expect("reserve");
        h.release("d", &unused).expect("release");
        assert!(files().is_empty(), "{:?}", files());
        let used = h.reserve("d", ["manual__b".to_string()]).expect("reserve");
        drop(h.create(&run(&used, std::process::id(), RunState::Running)).expect("create"));
        h.release("d", &used).expect("release");
        assert_eq!(files(), ["manual__b.json", "manual__b.json.lock"]);
        h.release("d", "manual__never").expect("nothing to release is fine");
    }

    #[test]
    fn a_running_run_of_a_dead_process_is_marked_failed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = History::new(dir.path());
        // The owner's proof of life is dropped, as when its process dies, even
        // though its pid looks alive (a container's PID 1 after a restart).
        drop(h.create(&run("manual__x", 1, RunState::Running)).expect("create"));
        let runs = h.runs("d");
        assert_eq!(runs[0].state, RunState::Failed);
        assert!(runs[0].message.as_deref().is_some_and(|m| m.contains("died")));
        assert_eq!(History::new(dir.path()).runs("d")[0].state, RunState::Failed, "persisted");
    }
}

/// Airflow's task state for a node outcome. Our skips always come from an
/// upstream failure.
pub fn task_state(status: crate::events::Status) -> &'static str {
    use crate::events::Status;
    match status {
        Status::Success | Status::Pass | Status::Warn => "success",
        Status::Error | Status::Fail => "failed",
        Status::Skipped => "upstream_failed",
    }
}

/// Whether a task state counts as done for R12 and for `clear --failed-only`.
pub fn succeeded(state: &str) -> bool {
    state == "success" || state == "skipped"
}

/// R12: a run succeeds iff every task succeeded or was skipped; here a skip
/// always follows a failure, so any failed task fails the run.
pub fn final_state(tasks: &[TaskRecord]) -> RunState {
    if tasks.iter().all(|t| succeeded(&t.state)) {
        RunState::Success
    } else {
        RunState::Failed
    }
}

/// Airflow's state of a task that is to run in this run but has not started.
const SCHEDULED: &str = "scheduled";
/// Airflow's state of a task that has started and not finished.
const RUNNING: &str = "running";
/// Airflow's "no status": a task of a run that ended without ever starting it.
const NO_STATUS: &str = "none";

/// Marks the nodes a run is about to run as scheduled, before it starts: a
/// run whose process dies then still says what it was going to run. Earlier
/// attempts (of a cleared run) are kept.
pub fn schedule_tasks(tasks: &mut Vec<TaskRecord>, nodes: impl IntoIterator<Item = String>) {
    for node in nodes {
        merge_task(tasks, TaskRecord { node, state: SCHEDULED.into(), attempts: vec![] });
    }
}

/// A task's new state replaces its record; its new attempts follow the
/// earlier ones, as Airflow keeps a cleared task's tries.
fn merge_task(tasks: &mut Vec<TaskRecord>, mut task: TaskRecord) {
    if let Some(i) = tasks.iter().position(|t| t.node == task.node) {
        let old = tasks.remove(i);
        task.attempts = old.attempts.into_iter().chain(task.attempts).collect();
    }
    tasks.push(task);
}

/// The journal beside a run file: one JSON task record a line, appended as
/// tasks start and finish, so a run whose process dies keeps what committed.
fn journal_path(run_file: &Path) -> PathBuf {
    run_file.with_extension("json.journal")
}

/// Tasks a finished run left unfinished: one that was running did not
/// commit and failed; one that never started has no status.
fn close_unfinished(tasks: &mut [TaskRecord]) {
    for task in tasks {
        match task.state.as_str() {
            RUNNING => task.state = "failed".into(),
            SCHEDULED => task.state = NO_STATUS.into(),
            _ => {}
        }
    }
}

/// Closes the record of a run whose process died: the journal's task
/// records are folded in (a torn last line is dropped), a task that was
/// running did not commit (DuckDB rolls back what a dead process left open)
/// and failed, and a task that never started has no status. A node that
/// committed just before the kill, with its event not yet journaled, shows as
/// failed and runs again on `clear`, which is safe.
fn recover(run: &mut RunRecord, journal: &[u8]) {
    for line in journal.split(|&b| b == b'\n') {
        if let Ok(task) = serde_json::from_slice::<TaskRecord>(line) {
            merge_task(&mut run.tasks, task);
        }
    }
    close_unfinished(&mut run.tasks);
    run.state = RunState::Failed;
    let committed = run.tasks.iter().filter(|t| succeeded(&t.state)).count();
    run.message = Some(format!(
        "process {} died while the run was running; {committed} of {} tasks had finished",
        run.pid,
        run.tasks.len()
    ));
}
