//! Log files: one per task attempt of a DAG run, in Airflow's layout, and
//! one invocation log (`logs/runner.log`, like dbt's `dbt.log`) with the SQL
//! every node executed.
//!
//! Per-attempt files live at
//! `logs/dag_id=<dag>/run_id=<run>/task_id=<node>/attempt=<n>.log`; the
//! history records each attempt's path, and `runner logs` prints them. Log
//! writing never fails a run: an unwritable log is reported as a warning by
//! the caller. This module formats and writes logs; it decides nothing.

use crate::diag::{io_at, io_message};
use crate::events::{Event, NodeResult, Sink, Status};
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where an attempt's log goes under `logs_dir` (the history records it
/// relative to the project directory, so `runner logs` works from anywhere).
pub fn attempt_path(logs_dir: &Path, dag_id: &str, run_id: &str, node_id: &str, try_number: u32) -> PathBuf {
    logs_dir
        .join(format!("dag_id={}", safe(dag_id)))
        .join(format!("run_id={}", safe(run_id)))
        .join(format!("task_id={}", safe(node_id)))
        .join(format!("attempt={try_number}.log"))
}

/// Run ids hold `:` and `+`, which some filesystems refuse; ids never hold `/`
/// by construction, but a hand-written DAG id might.
fn safe(part: &str) -> String {
    part.replace([':', '+', '/', '\\'], "_")
}

/// What one attempt's log says.
pub struct AttemptLog<'a> {
    pub node_id: &'a str,
    pub dag_id: &'a str,
    pub run_id: &'a str,
    pub try_number: u32,
    pub state: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub result: &'a NodeResult,
}

impl AttemptLog<'_> {
    pub fn text(&self) -> String {
        let mut t = format!(
            "task {} · dag {} · run {} · attempt {}\nstart {} · end {} · {:.3}s\nstate {}\n",
            self.node_id,
            self.dag_id,
            self.run_id,
            self.try_number,
            self.start.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            self.end.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            self.result.duration.as_secs_f64(),
            self.state,
        );
        if let Some(n) = self.result.count {
            t.push_str(&format!("rows {n}\n"));
        }
        push_sql(&mut t, &self.result.sql);
        if let Some(m) = &self.result.message {
            t.push_str(&format!(
                "\n-- {}\n{m}\n",
                if self.result.status == Status::Error { "error" } else { "result" }
            ));
        }
        t
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(io_at(d))?;
        }
        std::fs::write(path, self.text()).map_err(io_at(path))
    }
}

fn push_sql(t: &mut String, sql: &[String]) {
    for (i, s) in sql.iter().enumerate() {
        t.push_str(&format!("\n-- statement {}\n{};\n", i + 1, s.trim_end().trim_end_matches(';')));
    }
}

/// Appends every node's start, SQL and outcome to `logs/runner.log`.
pub struct InvocationLog {
    file: Option<std::fs::File>,
    path: PathBuf,
    /// Set when the log cannot be written; reported by the caller.
    pub write_error: Option<String>,
}

impl InvocationLog {
    pub fn open(logs_dir: &Path, command: &str, run_id: &str) -> InvocationLog {
        let path = logs_dir.join("runner.log");
        let opened = std::fs::create_dir_all(logs_dir)
            .map_err(io_at(logs_dir))
            .and_then(|_| std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io_at(&path)));
        let mut log = match opened {
            Ok(f) => InvocationLog { file: Some(f), path, write_error: None },
            Err(e) => InvocationLog { file: None, path, write_error: Some(io_message("cannot write the log", &e)) },
        };
        log.line(&format!("===== {command} · {run_id} · pid {}", std::process::id()));
        log
    }

    fn line(&mut self, text: &str) {
        let Some(f) = self.file.as_mut() else { return };
        // One `write` per line: formatted straight into the file, the time
        // stamp alone took a system call per field (about 1,000 for the 112
        // tests of dbt-utils' suite), and a line could interleave with
        // another process appending to the same log.
        let line = format!("{} {text}\n", Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        if let Err(e) = f.write_all(line.as_bytes()) {
            self.write_error = Some(io_message("cannot write the log", &io_at(&self.path)(e)));
            self.file = None;
        }
    }
}

impl Sink for InvocationLog {
    fn event(&mut self, e: &Event) {
        match e {
            Event::RunStarted { total, .. } => self.line(&format!("running {total} nodes")),
            Event::NodeStarted { node, .. } => self.line(&format!("start {}", node.id)),
            Event::NodeRetrying { node, result, attempt, .. } => {
                let mut t = format!("attempt {attempt} of {} failed, will retry", node.id);
                push_sql(&mut t, &result.sql);
                if let Some(m) = &result.message {
                    t.push_str(&format!("\n-- error\n{m}"));
                }
                self.line(&t);
            }
            Event::NodeFinished { node, result, .. } => {
                let mut t = format!("{:?} {} in {:.3}s", result.status, node.id, result.duration.as_secs_f64());
                push_sql(&mut t, &result.sql);
                if let Some(m) = &result.message {
                    t.push_str(&format!("\n-- message\n{m}"));
                }
                self.line(&t);
            }
            Event::NodeSkipped { node, because, .. } => self.line(&format!("skip {} ({because})", node.id)),
            Event::HookStarted { hook, .. } => self.line(&format!("start {}", hook.id)),
            Event::HookFinished { hook, result, .. } => {
                let mut t = format!("{:?} {} in {:.3}s", result.status, hook.id, result.duration.as_secs_f64());
                push_sql(&mut t, &result.sql);
                if let Some(m) = &result.message {
                    t.push_str(&format!("\n-- message\n{m}"));
                }
                self.line(&t);
            }
            Event::RunFinished { elapsed } => self.line(&format!("done in {:.3}s", elapsed.as_secs_f64())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn result(status: Status, message: Option<&str>) -> NodeResult {
        NodeResult {
            status,
            duration: Duration::from_millis(1500),
            count: None,
            message: message.map(str::to_string),
            started: 0.0,
            finished: 1.5,
            worker: 0,
            attempts: 1,
            sql: vec!["create table \"db\".\"main\".\"t\" as (select 1);".into()],
            compiled: None,
        }
    }

    #[test]
    fn attempt_paths_follow_airflows_layout_and_are_safe_on_any_filesystem() {
        let p = attempt_path(Path::new("logs"), "my_dag", "scheduled__2025-01-01T00:00:00+00:00", "model.shop.x", 2);
        assert_eq!(
            p,
            Path::new(
                "logs/dag_id=my_dag/run_id=scheduled__2025-01-01T00_00_00_00_00/task_id=model.shop.x/attempt=2.log"
            )
        );
    }

    #[test]
    fn an_attempt_log_holds_its_sql_and_its_error() {
        let t0 = Utc::now();
        let r = result(Status::Error, Some("Catalog Error: Table x does not exist"));
        let log = AttemptLog {
            node_id: "model.shop.t",
            dag_id: "d",
            run_id: "manual__x",
            try_number: 1,
            state: "failed",
            start: t0,
            end: t0,
            result: &r,
        };
        let text = log.text();
        assert!(text.contains("attempt 1"), "{text}");
        assert!(text.contains("state failed"), "{text}");
        assert!(text.contains("-- statement 1\ncreate table \"db\".\"main\".\"t\" as (select 1);\n"), "{text}");
        assert!(text.contains("-- error\nCatalog Error: Table x does not exist"), "{text}");
    }

    #[test]
    fn the_invocation_log_appends_across_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        for run in ["first", "second"] {
            let mut log = InvocationLog::open(dir.path(), "run", run);
            let node = crate::events::NodeLabel {
                id: "model.p.t".into(),
                name: "t".into(),
                resource: crate::nodes::Resource::Model,
                tested_model: None,
                materialized: "table".into(),
                relation: None,
                relation_name: None,
                file: "models/t.sql".into(),
            };
            log.event(&Event::NodeFinished { index: 1, total: 1, node, result: result(Status::Success, None) });
            assert!(log.write_error.is_none());
        }
        let text = std::fs::read_to_string(dir.path().join("runner.log")).expect("log");
        assert!(text.contains("· first ·") && text.contains("· second ·"), "{text}");
        assert_eq!(text.matches("Success model.p.t").count(), 2, "{text}");
        assert!(text.contains("create table \"db\".\"main\".\"t\" as (select 1);"), "{text}");
    }
}
