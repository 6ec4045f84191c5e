//! dbt-compatible artifacts written from the event stream:
//! `target/run_results.json`.
//!
//! Field names and status strings are dbt's, so tools that read dbt artifacts
//! read ours. This module only records what events say; it decides nothing
//! and never reads the database.

use crate::events::{Event, NodeLabel, NodeResult, Sink, Status};
use crate::nodes::Resource;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub struct RunResults {
    path: PathBuf,
    invocation_id: String,
    started_at: DateTime<Utc>,
    results: Vec<Value>,
    /// Set when the file cannot be written; reported by the caller after the run.
    pub write_error: Option<String>,
}

/// dbt's status string for a node's outcome.
pub fn status_text(resource: Resource, status: Status) -> &'static str {
    match (resource, status) {
        (_, Status::Skipped) => "skipped",
        (_, Status::Error) => "error",
        (Resource::Test, Status::Pass) => "pass",
        (Resource::Test, Status::Warn) => "warn",
        (Resource::Test, Status::Fail) => "fail",
        _ => "success",
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl RunResults {
    pub fn new(target_dir: &Path, invocation_id: &str) -> RunResults {
        RunResults {
            path: target_dir.join("run_results.json"),
            invocation_id: invocation_id.to_string(),
            started_at: Utc::now(),
            results: Vec::new(),
            write_error: None,
        }
    }

    fn at(&self, secs: f64) -> String {
        iso(self.started_at + Duration::microseconds((secs * 1e6) as i64))
    }

    fn push(&mut self, node: &NodeLabel, result: Option<&NodeResult>) {
        let status = result.map(|r| r.status).unwrap_or(Status::Skipped);
        let timing = match result {
            Some(r) => {
                json!([{ "name": "execute", "started_at": self.at(r.started), "completed_at": self.at(r.finished) }])
            }
            None => json!([]),
        };
        self.results.push(json!({
            "unique_id": node.id,
            "status": status_text(node.resource, status),
            "timing": timing,
            "thread_id": result.map(|r| format!("Thread-{}", r.worker + 1)),
            "execution_time": result.map(|r| r.duration.as_secs_f64()).unwrap_or(0.0),
            "adapter_response": {},
            "message": result.and_then(|r| r.message.clone()),
            "failures": result.filter(|_| node.resource == Resource::Test).and_then(|r| r.count),
            "relation_name": node.relation_name,
            "attempts": result.map(|r| r.attempts).unwrap_or(0),
        }));
    }

    fn write(&self, elapsed: f64) -> std::io::Result<()> {
        let doc = json!({
            "metadata": {
                "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                "generated_at": iso(Utc::now()),
                "invocation_id": self.invocation_id,
                "env": {},
            },
            "results": self.results,
            "elapsed_time": elapsed,
            "args": {},
        });
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Write then rename, so a reader never sees half a file.
        // Readers (`runner test`) run at once; each writes its own temporary file.
        let tmp = self.path.with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&doc)?)?;
        std::fs::rename(&tmp, &self.path)
    }
}

impl Sink for RunResults {
    fn event(&mut self, e: &Event) {
        match e {
            Event::RunStarted { at, .. } => self.started_at = *at,
            Event::NodeFinished { node, result, .. } => self.push(node, Some(result)),
            Event::NodeSkipped { node, .. } => self.push(node, None),
            Event::RunFinished { elapsed } => {
                if let Err(err) = self.write(elapsed.as_secs_f64()) {
                    self.write_error = Some(format!("cannot write `{}`: {err}", self.path.display()));
                }
            }
            Event::NodeStarted { .. } | Event::NodeRetrying { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_dbt_fields_and_statuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rr = RunResults::new(dir.path(), "inv-1");
        let node = NodeLabel {
            id: "test.shop.t".into(),
            name: "t".into(),
            resource: Resource::Test,
            materialized: String::new(),
            relation: None,
            relation_name: None,
            file: "m.yml".into(),
        };
        let result = NodeResult {
            status: Status::Fail,
            duration: std::time::Duration::from_millis(20),
            count: Some(3),
            message: Some("Got 3 results".into()),
            started: 0.5,
            finished: 0.52,
            worker: 1,
            attempts: 1,
        };
        rr.event(&Event::RunStarted { total: 1, at: Utc::now() });
        rr.event(&Event::NodeFinished { index: 1, total: 1, node, result });
        rr.event(&Event::RunFinished { elapsed: std::time::Duration::from_secs(1) });
        let text = std::fs::read_to_string(dir.path().join("run_results.json")).expect("written");
        let v: Value = serde_json::from_str(&text).expect("json");
        let r = &v["results"][0];
        assert_eq!(r["unique_id"], "test.shop.t");
        assert_eq!(r["status"], "fail");
        assert_eq!(r["failures"], 3);
        assert_eq!(r["thread_id"], "Thread-2");
        assert_eq!(v["metadata"]["invocation_id"], "inv-1");
        assert!(r["timing"][0]["started_at"].as_str().expect("iso").ends_with('Z'));
    }
}
