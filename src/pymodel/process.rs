//! Running one Python model in the user's Python, as a child process: the
//! job and the compiled module are written to the model's scratch folder,
//! `<python> -c <shim> job.json` runs them (stdout and stderr are the
//! user's, as `print` in a dbt-duckdb model reaches dbt's console), and the
//! result comes back as a parquet file in that folder. The child never
//! touches the warehouse: its inputs are parquet files runner exported.
//!
//! A stop flag (set by `execution_timeout`'s watchdog or Ctrl-C, through the
//! worker's interrupt handle) kills the child. Owns the process and what its
//! exit means; builds no SQL.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The driver run in the user's Python (see the file for what it does).
const SHIM: &str = include_str!("shim.py");
/// The shim's exit codes.
const MODEL_FAILED: i32 = 1;
const NO_DUCKDB: i32 = 3;

/// The environment variable naming the Python that runs Python models.
pub const PYTHON_VAR: &str = "RUNNER_PYTHON";

/// Which Python runs Python models: `RUNNER_PYTHON`, else `python3` on the `PATH`.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub interpreter: OsString,
}

impl Runtime {
    pub fn from_env() -> Runtime {
        let interpreter = std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty()).unwrap_or_else(|| "python3".into());
        Runtime { interpreter }
    }

    fn shown(&self) -> String {
        self.interpreter.to_string_lossy().into_owned()
    }
}

/// One relation the model reads, exported to `parquet`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Input {
    pub database: String,
    pub schema: String,
    pub identifier: String,
    pub parquet: PathBuf,
}

/// What the shim is told.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Job<'a> {
    /// The model's path as messages show it (`models/py_orders.py`).
    pub model: String,
    pub identifier: &'a str,
    /// The database the session's unqualified names resolve in.
    pub database: &'a str,
    pub inputs: Vec<Input>,
    pub module: PathBuf,
    pub output: PathBuf,
    pub error: PathBuf,
}

/// Runs the model; `Ok` is the parquet file it returned, `Err` the node's message.
pub(crate) fn run(
    runtime: &Runtime,
    dir: &Path,
    job: &Job,
    module_text: &str,
    stop: &AtomicBool,
) -> Result<PathBuf, String> {
    let written = std::fs::write(&job.module, module_text).and_then(|()| {
        let json = serde_json::to_vec(job).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("job.json"), json)
    });
    written.map_err(|e| crate::diag::io_message(&format!("cannot write `{}`", dir.display()), &e))?;
    let mut child = Command::new(&runtime.interpreter)
        .arg("-c")
        .arg(SHIM)
        .arg(dir.join("job.json"))
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "cannot run the Python model: `{}` was not found\n(hint: install Python 3 with the `duckdb` package, as dbt-duckdb needs, or set `{PYTHON_VAR}` to a Python that has it)",
                runtime.shown()
            ),
            _ => format!("cannot start `{}`: {e}", runtime.shown()),
        })?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for `{}`: {e}", runtime.shown())),
        }
        if stop.load(Ordering::SeqCst) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the Python model was stopped before it finished".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    outcome(runtime, job, status)
}

/// What the child's exit means.
fn outcome(runtime: &Runtime, job: &Job, status: ExitStatus) -> Result<PathBuf, String> {
    let said = std::fs::read_to_string(&job.error).ok().map(|t| t.trim_end().to_string());
    match (status.code(), said) {
        (Some(0), _) if job.output.exists() => Ok(job.output.clone()),
        (Some(0), _) => Err(format!("`{}` ended without the model's result (did the model exit?)", runtime.shown())),
        (Some(NO_DUCKDB), Some(exe)) => Err(format!(
            "cannot run the Python model: `{exe}` has no `duckdb` module, which Python models need (as with dbt-duckdb)\n(hint: `{exe} -m pip install duckdb` and the packages the model imports, such as pandas, or set `{PYTHON_VAR}` to a Python that has them)"
        )),
        (Some(MODEL_FAILED), Some(message)) => Err(message),
        (Some(code), said) => Err(format!(
            "`{}` exited with code {code} before the model finished{}",
            runtime.shown(),
            said.map(|s| format!(": {s}")).unwrap_or_default()
        )),
        (None, _) => Err(format!("`{}` was killed by a signal before the model finished", runtime.shown())),
    }
}
