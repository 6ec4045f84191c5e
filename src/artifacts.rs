//! dbt-compatible artifacts: `target/run_results.json` written from the event
//! stream, `target/manifest.json` ([`manifest`]), and the SQL files under
//! `target/compiled/` and `target/run/` ([`layout`] says where).
//!
//! Field names and status strings are dbt's, so tools that read dbt artifacts
//! read ours. This module only records what it is given; it decides nothing,
//! renders nothing and never reads the database.

pub mod layout;
pub mod manifest;

use crate::diag::{io_at, io_message};
use crate::events::{Event, HookLabel, NodeLabel, NodeResult, Sink, Status};
use crate::nodes::Resource;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What run_results.json and `target/run/` need to know of a node beyond its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeFiles {
    /// Below `target/{compiled,run}/`: the node's project, then
    /// [`layout::Layout::sql_path`].
    pub sql_path: PathBuf,
    /// The SQL this invocation compiled for the node, if any.
    pub compiled_code: Option<String>,
}

pub struct RunResults {
    path: PathBuf,
    invocation_id: String,
    /// dbt's `args.which`: the command (`run`, `build`, `compile`, …).
    command: String,
    started_at: DateTime<Utc>,
    results: Vec<Value>,
    /// `target/run/<project>/`, where the statements a node executed are kept.
    run_dir: Option<PathBuf>,
    files: BTreeMap<String, NodeFiles>,
    /// `target/compiled/<project>/`, where a node's SQL goes when it
    /// rendered differently as it ran (it read the database).
    compiled_dir: Option<PathBuf>,
    /// Unique id → the SQL such a node rendered as it ran.
    pub recompiled: BTreeMap<String, String>,
    /// `args` (dbt's `invocation_args_dict`) and `metadata.env`, when known.
    invocation: Option<(Value, BTreeMap<String, String>)>,
    /// Set when a file cannot be written; reported by the caller after the run.
    pub write_error: Option<String>,
}

/// dbt's status string for a node's outcome.
pub fn status_text(resource: Resource, status: Status) -> &'static str {
    match (resource, status) {
        (_, Status::Skipped) => "skipped",
        (_, Status::Error) => "error",
        (Resource::Test | Resource::UnitTest, Status::Pass) => "pass",
        (Resource::Test | Resource::UnitTest, Status::Warn) => "warn",
        (Resource::Test | Resource::UnitTest, Status::Fail) => "fail",
        _ => "success",
    }
}

pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Writes then renames, so a reader never sees half a file; each process
/// writes its own temporary file, as readers (`runner test`) run at once.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] for a document written piece by piece into the file.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    // A large buffer: `manifest.json` is 65 MB at 10k models, and each
    // `write` call costs more than the copy of its bytes.
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp).map_err(io_at(&tmp))?);
    let written = write(&mut w).and_then(|()| w.flush());
    drop(w);
    if let Err(e) = written {
        // A full disk: the old file stays, and no partial copy takes space.
        let _ = std::fs::remove_file(&tmp);
        return Err(io_at(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(io_at(path))
}

/// Writes one node's SQL below `dir` (`target/compiled/<project>` or `target/run/<project>`).
/// In place, as dbt writes them: these are read by people after the run, and
/// a rename per file cost a journal commit per node.
/// A file that already holds this text is left alone: truncating and
/// rewriting it is the expensive part on ext4 (freeing its blocks, and a
/// flush on close), and most of a project compiles to the same SQL as last time.
pub fn write_sql(dir: &Path, sql_path: &Path, sql: &str) -> std::io::Result<()> {
    let mut text = sql.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let path = dir.join(sql_path);
    if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    std::fs::write(&path, text).map_err(|e| {
        // Half a statement is worse than none; the next run writes it again.
        let _ = std::fs::remove_file(&path);
        io_at(&path)(e)
    })
}

/// The statements a node ran, as one SQL file.
pub fn statements_text(sql: &[String]) -> String {
    sql.iter().map(|s| format!("{};", s.trim_end().trim_end_matches(';'))).collect::<Vec<_>>().join("\n\n")
}

/// dbt's `adapter_response` for an outcome.
fn adapter_response(node: &NodeLabel, result: &NodeResult, command: &str) -> Value {
    match (node.resource, result.status) {
        (_, Status::Error | Status::Skipped) => json!({}),
        _ if command == "compile" => json!({}),
        (Resource::Seed, _) => {
            let n = result.count.unwrap_or(0);
            json!({"_message": format!("INSERT {n}"), "code": "INSERT", "rows_affected": n})
        }
        _ => json!({"_message": "OK"}),
    }
}

impl RunResults {
    pub fn new(target_dir: &Path, invocation_id: &str) -> RunResults {
        RunResults {
            path: target_dir.join("run_results.json"),
            invocation_id: invocation_id.to_string(),
            command: String::new(),
            started_at: Utc::now(),
            results: Vec::new(),
            run_dir: None,
            files: BTreeMap::new(),
            compiled_dir: None,
            recompiled: BTreeMap::new(),
            invocation: None,
            write_error: None,
        }
    }

    /// Adds the command name, where each node's executed SQL goes
    /// (`target/run/<project>`, `None` to write none) and its compiled code.
    pub fn with_files(
        mut self,
        command: &str,
        run_dir: Option<PathBuf>,
        files: BTreeMap<String, NodeFiles>,
    ) -> RunResults {
        self.command = command.to_string();
        self.run_dir = run_dir;
        self.files = files;
        self
    }

    /// Unique id → compiled code: what compiling before the run gave, with
    /// what nodes rendered differently as they ran in its place.
    pub fn compiled_code(&self) -> BTreeMap<String, String> {
        let before = self.files.iter().filter_map(|(id, f)| Some((id.clone(), f.compiled_code.clone()?)));
        before.chain(self.recompiled.clone()).collect()
    }

    /// Where a node's SQL that rendered differently as it ran is rewritten
    /// (`target/compiled/<project>`).
    pub fn with_compiled_dir(mut self, dir: PathBuf) -> RunResults {
        self.compiled_dir = Some(dir);
        self
    }

    /// Adds the invocation's args and metadata env (see `app::invocation`).
    pub fn with_invocation(mut self, args: &Value, env: &BTreeMap<String, String>) -> RunResults {
        self.invocation = Some((args.clone(), env.clone()));
        self
    }

    /// `run-operation`'s run_results.json: one result for the macro
    /// (`macro.<package>.<name>`), run on the main thread, no compiled code,
    /// one failure when it raised; written at once.
    pub fn write_operation(&mut self, unique_id: &str, ok: bool, elapsed: std::time::Duration) -> Result<(), String> {
        let secs = elapsed.as_secs_f64();
        self.results.push(json!({
            "unique_id": unique_id,
            "status": if ok { "success" } else { "error" },
            "timing": [
                { "name": "compile", "started_at": self.at(0.0), "completed_at": self.at(0.0) },
                { "name": "execute", "started_at": self.at(0.0), "completed_at": self.at(secs) },
            ],
            "thread_id": "MainThread",
            "execution_time": secs,
            "adapter_response": {},
            "message": null,
            "failures": u64::from(!ok),
            "compiled": false,
            "compiled_code": null,
            "relation_name": null,
            "batch_results": null,
        }));
        self.write(secs).map_err(|e| io_message("cannot write run_results.json", &e))
    }

    fn at(&self, secs: f64) -> String {
        iso(self.started_at + Duration::microseconds((secs * 1e6) as i64))
    }

    fn push(&mut self, node: &NodeLabel, result: Option<&NodeResult>) {
        let status = result.map(|r| r.status).unwrap_or(Status::Skipped);
        // Compiling happens inside a node's execution here, so the compile
        // step is reported as an instant at its start.
        let timing = match result {
            Some(r) => json!([
                { "name": "compile", "started_at": self.at(r.started), "completed_at": self.at(r.started) },
                { "name": "execute", "started_at": self.at(r.started), "completed_at": self.at(r.finished) },
            ]),
            None => json!([]),
        };
        // What the node rendered as it ran; what compiling before the run
        // gave when it rendered nothing (a seed, a Python model, an error).
        let before = result.and_then(|_| self.files.get(&node.id)).and_then(|f| f.compiled_code.clone());
        let ran = result.and_then(|r| r.compiled.clone());
        if let (Some(sql), Some(f)) = (&ran, self.files.get(&node.id)) {
            if before.as_ref() != Some(sql) {
                self.recompiled.insert(node.id.clone(), sql.clone());
                if let Some(dir) = &self.compiled_dir {
                    if let Err(e) = write_sql(dir, &f.sql_path, sql) {
                        self.write_error.get_or_insert(io_message("cannot write the compiled SQL", &e));
                    }
                }
            }
        }
        let compiled_code = ran.or(before);
        let compiled = match node.resource {
            Resource::Seed => Value::Null,
            _ => json!(compiled_code.is_some()),
        };
        // dbt leaves a seed's relation_name out of run_results (the manifest has it).
        let relation_name = node.relation_name.as_ref().filter(|_| node.resource != Resource::Seed);
        self.results.push(json!({
            "unique_id": node.id,
            "status": status_text(node.resource, status),
            "timing": timing,
            // Skipped nodes never reach a worker; dbt still names one.
            "thread_id": crate::template::provider::worker_thread_name(result.map(|r| r.worker).unwrap_or(0)),
            "execution_time": result.map(|r| r.duration.as_secs_f64()).unwrap_or(0.0),
            "adapter_response": result.map(|r| adapter_response(node, r, &self.command)).unwrap_or(json!({})),
            "message": result.and_then(|r| r.message.clone()),
            // dbt reports a passing test's failures as 0, even when thresholds
            // (`error_if`, `warn_if`) let rows through.
            "failures": result
                .filter(|_| node.resource.is_test())
                .and_then(|r| r.count)
                .map(|n| if matches!(status, Status::Pass | Status::Success) { 0 } else { n }),
            "compiled": compiled,
            "compiled_code": compiled_code,
            "relation_name": relation_name,
            "batch_results": null,
        }));
        if let (Some(dir), Some(r)) = (&self.run_dir, result) {
            if let (Some(f), false) = (self.files.get(&node.id), r.sql.is_empty()) {
                if let Err(e) = write_sql(dir, &f.sql_path, &statements_text(&r.sql)) {
                    self.write_error.get_or_insert(io_message("cannot write the SQL a node ran", &e));
                }
            }
        }
    }

    /// A run hook's result as dbt writes it: run on the `main` thread, one
    /// failure when it did not succeed, and a message naming it.
    fn push_hook(&mut self, hook: &HookLabel, r: &NodeResult) {
        let ran = r.status != Status::Skipped;
        let timing = if ran {
            json!([
                { "name": "compile", "started_at": self.at(r.started), "completed_at": self.at(r.started) },
                { "name": "execute", "started_at": self.at(r.started), "completed_at": self.at(r.finished) },
            ])
        } else {
            json!([])
        };
        let sql = crate::artifacts::statements_text(&r.sql);
        self.results.push(json!({
            "unique_id": hook.id,
            "status": status_text(Resource::Model, r.status),
            "timing": timing,
            "thread_id": "main",
            "execution_time": r.duration.as_secs_f64(),
            "adapter_response": {},
            "message": r.message,
            "failures": u64::from(r.status != Status::Success),
            "compiled": ran,
            "compiled_code": ran.then_some(sql),
            "relation_name": null,
            "batch_results": null,
        }));
    }

    fn write(&self, elapsed: f64) -> std::io::Result<()> {
        let doc = json!({
            "metadata": {
                "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                "generated_at": iso(Utc::now()),
                "invocation_id": self.invocation_id,
                "invocation_started_at": iso(self.started_at),
                "env": self.invocation.as_ref().map(|i| json!(i.1)).unwrap_or(json!({})),
            },
            "results": self.results,
            "elapsed_time": elapsed,
            "args": self.invocation.as_ref().map(|i| i.0.clone()).unwrap_or(json!({ "which": self.command })),
        });
        write_atomic(&self.path, &serde_json::to_vec_pretty(&doc)?)
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
                    self.write_error = Some(io_message("cannot write the run's results", &err));
                }
            }
            Event::HookFinished { hook, result, .. } => self.push_hook(hook, result),
            Event::NodeStarted { .. } | Event::NodeRetrying { .. } | Event::HookStarted { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;
