//! The run's recorder: takes the event stream of one run and keeps its
//! history record and journal (see the parent module) up to date, writing each
//! attempt's log as it goes. It records; it decides nothing and prints nothing.

use super::*;

/// Records a run's task instances from the event stream and closes the run.
pub struct HistorySink {
    pub history: History,
    pub run: RunRecord,
    /// Held until the run is recorded as finished.
    alive: Option<crate::db::liveness::Held>,
    started_at: DateTime<Utc>,
    /// Failed attempts of nodes that are being retried, by node id.
    failed_attempts: std::collections::BTreeMap<String, Vec<Attempt>>,
    /// Set when the run file cannot be written; reported by the caller.
    pub write_error: Option<String>,
    /// The run's journal, opened at its first task event.
    journal: Option<std::fs::File>,
    /// An `on-run-start` / `on-run-end` hook failed: the run failed, though
    /// hooks are not tasks.
    hook_failed: bool,
}

impl HistorySink {
    pub fn new(history: History, run: RunRecord, alive: crate::db::liveness::Held) -> HistorySink {
        HistorySink {
            history,
            run,
            alive: Some(alive),
            started_at: Utc::now(),
            failed_attempts: Default::default(),
            write_error: None,
            journal: None,
            hook_failed: false,
        }
    }

    fn at(&self, secs: f64) -> DateTime<Utc> {
        self.started_at + chrono::Duration::microseconds((secs * 1e6) as i64)
    }

    /// Records a task's new state, in the run and in its journal. A journal
    /// that cannot be written is reported once; the run goes on.
    fn replace_task(&mut self, task: TaskRecord) {
        if self.write_error.is_none() {
            if let Err(e) = self.append_journal(&task) {
                self.write_error =
                    Some(format!("cannot write the run journal `{}`: {e}", self.journal_file().display()));
            }
        }
        merge_task(&mut self.run.tasks, task);
    }

    fn journal_file(&self) -> PathBuf {
        journal_path(&self.history.path(&self.run.dag_id, &self.run.run_id))
    }

    fn append_journal(&mut self, task: &TaskRecord) -> std::io::Result<()> {
        use std::io::Write;
        if self.journal.is_none() {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(self.journal_file())?;
            self.journal = Some(file);
        }
        let mut line = serde_json::to_vec(task).map_err(std::io::Error::other)?;
        line.push(b'\n');
        match self.journal.as_mut() {
            // One write a line: a kill leaves at most a torn last line, which `recover` drops.
            Some(f) => f.write_all(&line),
            None => Ok(()),
        }
    }

    /// The next try number of a node: after every attempt recorded so far,
    /// including those of earlier runs of this run (`clear`).
    fn next_try(&self, node_id: &str) -> u32 {
        let earlier = self.run.tasks.iter().filter(|t| t.node == node_id).map(|t| t.attempts.len()).sum::<usize>();
        let retried = self.failed_attempts.get(node_id).map_or(0, Vec::len);
        (earlier + retried + 1) as u32
    }

    /// Records an attempt and writes its log file.
    fn attempt(&mut self, node_id: &str, state: &str, result: &crate::events::NodeResult) -> Attempt {
        let try_number = self.next_try(node_id);
        let (start, end) = (self.at(result.started), self.at(result.finished));
        let path =
            crate::task_log::attempt_path(Path::new("logs"), &self.run.dag_id, &self.run.run_id, node_id, try_number);
        let log = crate::task_log::AttemptLog {
            node_id,
            dag_id: &self.run.dag_id,
            run_id: &self.run.run_id,
            try_number,
            state,
            start,
            end,
            result,
        };
        let written = match log.write(&self.history.root.join(&path)) {
            Ok(()) => Some(path),
            Err(e) => {
                self.write_error = Some(crate::diag::io_message("cannot write an attempt's log", &e));
                None
            }
        };
        Attempt {
            try_number,
            state: state.to_string(),
            start: Some(start),
            end: Some(end),
            duration: result.duration.as_secs_f64(),
            error: result.message.clone().filter(|_| state != "success"),
            log: written,
            worker: Some(result.worker),
            count: result.count,
        }
    }
}

impl crate::events::Sink for HistorySink {
    fn event(&mut self, e: &crate::events::Event) {
        use crate::events::Event;
        match e {
            Event::RunStarted { at, .. } => self.started_at = *at,
            Event::NodeRetrying { node, result, .. } => {
                let a = self.attempt(&node.id, "up_for_retry", result);
                self.failed_attempts.entry(node.id.clone()).or_default().push(a);
            }
            Event::NodeFinished { node, result, .. } => {
                let state = task_state(result.status).to_string();
                let a = self.attempt(&node.id, &state, result);
                let mut attempts = self.failed_attempts.remove(&node.id).unwrap_or_default();
                attempts.push(a);
                self.replace_task(TaskRecord { node: node.id.clone(), state, attempts });
            }
            Event::NodeSkipped { node, .. } => {
                self.replace_task(TaskRecord {
                    node: node.id.clone(),
                    state: "upstream_failed".into(),
                    attempts: vec![],
                });
            }
            Event::RunFinished { .. } => {
                close_unfinished(&mut self.run.tasks);
                self.run.state = if self.hook_failed { RunState::Failed } else { final_state(&self.run.tasks) };
                self.run.end = Some(Utc::now());
                match self.history.update(&self.run) {
                    Ok(()) => {
                        // The record now holds everything the journal did.
                        self.journal = None;
                        let _ = std::fs::remove_file(self.journal_file());
                    }
                    Err(err) => {
                        let what = format!("cannot record run `{}`", self.run.run_id);
                        self.write_error = Some(crate::diag::io_message(&what, &err));
                    }
                }
                self.alive = None;
            }
            Event::NodeStarted { node, .. } => {
                self.replace_task(TaskRecord { node: node.id.clone(), state: RUNNING.into(), attempts: vec![] });
            }
            Event::HookFinished { hook, result, .. } if result.status == crate::events::Status::Error => {
                self.hook_failed = true;
                if self.run.message.is_none() {
                    let why = result.message.as_deref().unwrap_or("").lines().next().unwrap_or("");
                    self.run.message = Some(format!("hook `{}` failed: {why}", hook.name));
                }
            }
            Event::HookStarted { .. } | Event::HookFinished { .. } => {}
        }
    }
}

#[cfg(test)]
mod state_tests {
    use super::*;

    fn record(tasks: Vec<TaskRecord>) -> RunRecord {
        let t = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").expect("time").with_timezone(&Utc);
        RunRecord {
            run_id: "manual__x".into(),
            dag_id: "d".into(),
            run_type: "manual".into(),
            logical_date: t,
            data_interval_start: t,
            data_interval_end: t,
            state: RunState::Running,
            start: None,
            end: None,
            pid: 7,
            host: "h".into(),
            message: None,
            tasks,
        }
    }

    fn attempt(n: u32, state: &str) -> Attempt {
        Attempt {
            try_number: n,
            state: state.into(),
            start: None,
            end: None,
            duration: 0.0,
            error: None,
            log: None,
            worker: None,
            count: None,
        }
    }

    #[test]
    fn a_dead_runs_journal_says_what_committed_what_ran_and_what_never_started() {
        let mut tasks =
            vec![TaskRecord { node: "a".into(), state: "failed".into(), attempts: vec![attempt(1, "failed")] }];
        schedule_tasks(&mut tasks, ["a", "b", "c", "d"].map(String::from));
        let mut run = record(tasks);
        let line = |node: &str, state: &str, attempts: Vec<Attempt>| {
            serde_json::to_string(&TaskRecord { node: node.into(), state: state.into(), attempts }).expect("json")
        };
        let journal = format!(
            "{}\n{}\n{}\n{}\n{{\"node\": \"c\", \"sta",
            line("a", "running", vec![]),
            line("a", "success", vec![attempt(2, "success")]),
            line("b", "running", vec![]),
            line("c", "running", vec![]),
        );
        recover(&mut run, journal.as_bytes());
        let states: Vec<(&str, &str)> = run.tasks.iter().map(|t| (t.node.as_str(), t.state.as_str())).collect();
        assert_eq!(states, [("d", "none"), ("a", "success"), ("b", "failed"), ("c", "failed")]);
        let a = &run.tasks[1];
        assert_eq!(a.attempts.iter().map(|t| t.try_number).collect::<Vec<_>>(), [1, 2], "earlier tries are kept");
        assert_eq!(run.state, RunState::Failed);
        assert!(run.message.as_deref().is_some_and(|m| m.contains("1 of 4 tasks")), "{:?}", run.message);
        assert_eq!(final_state(&run.tasks), RunState::Failed, "R12: a task with no status fails the run");
    }

    #[test]
    fn a_killed_runs_journal_is_folded_in_when_the_run_is_next_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = History::new(dir.path());
        let mut run = record(vec![]);
        schedule_tasks(&mut run.tasks, ["a".to_string(), "b".to_string()]);
        let alive = h.create(&run).expect("create").expect("created");
        let mut sink = HistorySink::new(h.clone(), run.clone(), alive);
        sink.replace_task(TaskRecord {
            node: "a".into(),
            state: "success".into(),
            attempts: vec![attempt(1, "success")],
        });
        // The process dies: its proof of life goes, the record was never rewritten.
        drop(sink);
        let read = h.runs("d");
        let states: Vec<(&str, &str)> = read[0].tasks.iter().map(|t| (t.node.as_str(), t.state.as_str())).collect();
        assert_eq!(states, [("b", "none"), ("a", "success")]);
        assert!(!dir.path().join(".runner/history/d/manual__x.json.journal").exists(), "folded in, then removed");
        assert_eq!(h.runs("d"), read, "persisted");
    }

    fn task(state: &str) -> TaskRecord {
        TaskRecord { node: "n".into(), state: state.into(), attempts: vec![] }
    }

    #[test]
    fn r12_run_state_from_task_states() {
        assert_eq!(final_state(&[task("success"), task("skipped")]), RunState::Success);
        assert_eq!(final_state(&[task("success"), task("failed")]), RunState::Failed);
        assert_eq!(final_state(&[task("upstream_failed")]), RunState::Failed);
        assert_eq!(final_state(&[]), RunState::Success);
    }
}
