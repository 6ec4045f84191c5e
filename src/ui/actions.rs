//! What the UI's buttons do: trigger a run, clear a run, pause or unpause a
//! DAG, each through the CLI's own path. Trigger and clear run this binary
//! as `runner run` / `runner clear` in a child process, so the warehouse
//! lock, the caps, the run-id rules and the history's create-once files hold
//! exactly as on the command line, and the server never holds the lock;
//! pause calls the same function `runner pause` does.
//!
//! Validates the form first (a bad date or vars is a message, not a failed
//! run). Each child's output goes to `.runner/ui/<dag>-<time>.log`, held
//! (`flock`, through the child's own output descriptors) for as long as the
//! child runs. Those logs matter for a short while (the run itself is in the
//! history and its task logs), so the folder keeps the newest [`KEEP_LOGS`]
//! and removes older ones whose child has ended, when the server starts and
//! after each action.

use super::data::{dag_href, run_href};
use super::Site;
use crate::history::{RunRecord, RunState};
use crate::project::dag::Dag;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long an action waits to see its run appear (or start) before it
/// sends the browser on anyway; the page then updates itself.
const SETTLE: Duration = Duration::from_secs(10);
/// The child logs `.runner/ui/` keeps, newest first; older ones go once
/// their child has ended.
pub(crate) const KEEP_LOGS: usize = 50;

/// Where the children's logs of a project go.
pub(crate) fn logs_dir(project_dir: &Path) -> PathBuf {
    project_dir.join(".runner").join("ui")
}

/// Removes the child logs beyond the newest [`KEEP_LOGS`] (by modification
/// time) whose child has ended; a log still held by its child stays, and
/// files other than `*.log` are left alone. Best effort: a log that cannot
/// be removed now is tried again next time.
pub(crate) fn prune_logs(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut logs: Vec<(std::time::SystemTime, PathBuf)> = rd
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    logs.sort_by(|a, b| b.cmp(a));
    for (_, log) in logs.iter().skip(KEEP_LOGS) {
        if crate::db::liveness::is_held(log) == Some(false) {
            let _ = std::fs::remove_file(log);
        }
    }
}

/// A child `runner` with the server's project, profile and target.
fn command(site: &Site, args: &[&str]) -> Command {
    let mut c = Command::new(&site.exe);
    c.args(args).arg("--project-dir").arg(&site.opts.project_dir);
    if let Some(p) = &site.opts.profiles_dir {
        c.arg("--profiles-dir").arg(p);
    }
    if let Some(t) = &site.opts.target {
        c.arg("--target").arg(t);
    }
    c.stdin(Stdio::null());
    c
}

/// Starts the child with its output in a log file under `.runner/ui/`,
/// held for as long as the child runs (see [`prune_logs`]).
fn spawn(site: &Site, dag: &Dag, mut c: Command) -> Result<(Child, PathBuf), String> {
    let dir = logs_dir(&dag.project_dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f");
    let log = dir.join(format!("{}-{stamp}.log", dag.id));
    let held = crate::db::liveness::hold(&log).map_err(|e| format!("cannot create `{}`: {e}", log.display()))?;
    let (out, err) = held
        .share()
        .and_then(|o| Ok((o, held.share()?)))
        .map_err(|e| format!("cannot write `{}`: {e}", log.display()))?;
    let child = c.stdout(out).stderr(err).spawn().map_err(|e| format!("cannot start `{}`: {e}", site.exe.display()))?;
    // The child's descriptors hold the log now; ours goes with `held`.
    drop(held);
    prune_logs(&dir);
    Ok((child, log))
}

/// Waits (up to [`SETTLE`]) until `ready` says the run is visible or the
/// child ends; the child is then left to a thread that reaps it.
fn settle(mut child: Child, log: &Path, mut ready: impl FnMut() -> Option<String>) -> Result<Option<String>, String> {
    let deadline = Instant::now() + SETTLE;
    let outcome = loop {
        if let Some(to) = ready() {
            break Ok(Some(to));
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                // It may have finished its run already.
                if let Some(to) = ready() {
                    break Ok(Some(to));
                }
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
                break Err(format!(
                    "runner exited with {} before the run started:\n{}",
                    status.code().unwrap_or(-1),
                    tail.join("\n")
                ));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => break Ok(None),
        }
    };
    std::thread::spawn(move || child.wait());
    outcome
}

/// `runner run <DAG> [--logical-date D] [--vars V]`, from the trigger form.
pub(crate) fn trigger(site: &Site, dag: &Dag, form: &BTreeMap<String, String>) -> Result<String, String> {
    let date = form.get("logical_date").map(|s| s.trim()).filter(|s| !s.is_empty());
    if let Some(d) = date {
        if crate::cli::parse_logical_date(d).is_none() {
            return Err(format!(
                "`{d}` is not a logical date (hint: use `2025-01-31` or RFC 3339 like `2025-01-31T06:00:00Z`)"
            ));
        }
    }
    let vars = form.get("vars").map(|s| s.trim()).filter(|s| !s.is_empty());
    if let Some(v) = vars {
        match crate::yaml::from_str::<serde_yaml::Value>(v) {
            Ok(serde_yaml::Value::Mapping(_)) | Ok(serde_yaml::Value::Null) => {}
            Ok(_) => {
                return Err(format!("vars `{v}` are not a YAML map (hint: write them like `{{region: eu, days: 3}}`)"))
            }
            Err(e) => return Err(format!("vars: {e}")),
        }
    }
    let mut args = vec!["run", dag.id.as_str()];
    if let Some(d) = date {
        args.extend(["--logical-date", d]);
    }
    if let Some(v) = vars {
        args.extend(["--vars", v]);
    }
    // Read through the server's cache of runs: a poll every 100 ms must not
    // parse a long history each time.
    let before: BTreeSet<String> = site.runs(dag).iter().map(|h| h.run.run_id.clone()).collect();
    let (child, log) = spawn(site, dag, command(site, &args))?;
    let found = settle(child, &log, || {
        site.runs(dag)
            .iter()
            .find(|h| h.run.run_type == "manual" && !before.contains(&h.run.run_id))
            .map(|h| run_href(&dag.id, &h.run.run_id))
    })?;
    Ok(found.unwrap_or_else(|| dag_href(&dag.id)))
}

/// `runner clear <RUN> --dag <DAG> [--failed-only]`.
pub(crate) fn clear(site: &Site, dag: &Dag, run: &RunRecord, failed_only: bool) -> Result<String, String> {
    if matches!(run.state, RunState::Running | RunState::Queued) {
        return Err(format!("run `{}` is still running (hint: wait for it to finish, then clear it)", run.run_id));
    }
    let mut args = vec!["clear", run.run_id.as_str(), "--dag", dag.id.as_str()];
    if failed_only {
        args.push("--failed-only");
    }
    let before = (run.start, run.end);
    let (child, log) = spawn(site, dag, command(site, &args))?;
    let href = run_href(&dag.id, &run.run_id);
    // Cleared once the run was taken over: it is running, or ran again.
    settle(child, &log, || {
        let heads = site.runs(dag);
        let now = &heads.iter().find(|h| h.run.run_id == run.run_id)?.run;
        (now.state == RunState::Running || (now.start, now.end) != before).then(|| href.clone())
    })?;
    Ok(href)
}

/// `runner pause` / `runner unpause`.
pub(crate) fn pause(dag: &Dag, paused: bool) -> Result<String, String> {
    crate::history::History::new(&dag.project_dir)
        .set_paused(&dag.id, paused)
        .map_err(|e| crate::diag::io_failure(&format!("cannot record the pause of `{}`", dag.id), &e))?;
    Ok(dag_href(&dag.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_finished_child_logs_go_and_running_ones_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = std::time::SystemTime::now() - Duration::from_secs(3600);
        let log = |i: usize| dir.path().join(format!("d-{i:03}.log"));
        for i in 0..KEEP_LOGS + 5 {
            let f = std::fs::File::create(log(i)).expect("create");
            f.set_modified(base + Duration::from_secs(i as u64)).expect("mtime");
        }
        std::fs::write(dir.path().join("notes.txt"), "kept").expect("write");
        // The oldest log's child still runs.
        let running = crate::db::liveness::hold(&log(0)).expect("hold");
        prune_logs(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into())
            .collect();
        left.sort();
        let mut expected: Vec<String> = (5..KEEP_LOGS + 5).map(|i| format!("d-{i:03}.log")).collect();
        expected.insert(0, "d-000.log".into());
        expected.push("notes.txt".into());
        assert_eq!(left, expected);
        drop(running);
        prune_logs(dir.path());
        assert!(!log(0).exists(), "gone once its child ended");
    }
}
