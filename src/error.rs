//! The error of a command: what stops `runner` before or instead of running
//! nodes ([`Error`], each variant keeping its cause), and the process exit
//! codes. It sits above the loading side and `db` (it wraps their errors);
//! the words of a message are `crate::diag`'s. This module formats errors
//! but never prints them; `main` does.

use crate::diag::{io_failure, with_disk_hint, Diagnostic};
use std::path::PathBuf;

/// Everything ran and passed (warnings allowed).
pub const EXIT_OK: i32 = 0;
/// A node errored, failed or was skipped.
pub const EXIT_NODE_FAILURE: i32 = 1;
/// Nothing could run: bad project, bad usage, lock not obtained.
pub const EXIT_USAGE: i32 = 2;
/// Interrupted by Ctrl-C / SIGTERM.
pub const EXIT_INTERRUPTED: i32 = 130;

/// A failure that stops `runner` before or instead of running nodes. Each
/// variant keeps its cause; the message is built here, once, when it is shown.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more problems in the project's files, all collected.
    #[error("{}", render_diagnostics(.0))]
    Load(Vec<Diagnostic>),
    /// Wrong command-line usage.
    #[error("{0}")]
    Usage(Diagnostic),
    /// The cross-process lock could not be obtained in time.
    #[error("error: {0}")]
    Lock(#[from] crate::db::LockError),
    /// The database file could not be opened.
    #[error("error: {}", with_disk_hint(source.to_string(), path))]
    Open { path: PathBuf, source: crate::db::OpenError },
    /// A read-only command on a database no run has created yet.
    #[error("error: database `{}` does not exist yet\n  (hint: build it first with `runner run <DAG>`)", .0.display())]
    NoDatabase(PathBuf),
    /// DuckDB names the opened database differently from the plan's relations.
    #[error("error: DuckDB names the database `{found}` but the plan expected `{expected}`\n  (hint: set `database: {found}` in the profile's output)")]
    Catalog { found: String, expected: String },
    /// The opened database could not be prepared for the run (extensions,
    /// secrets, attachments, schemas).
    #[error("error: {0}")]
    Setup(#[from] crate::db::SetupError),
    /// The run history (`.runner/`) could not be written.
    #[error("{}", io_failure(what, source))]
    History { what: String, source: std::io::Error },
    /// A file a command writes (a report, an exported DAG) could not be written.
    #[error("{}", io_failure(what, source))]
    Io { what: String, source: std::io::Error },
    /// A page of `runner report` could not be rendered.
    #[error("error: cannot render the report: {0}")]
    Report(minijinja::Error),
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub fn load(diag: Diagnostic) -> Self {
        Error::Load(vec![diag])
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Interrupted => EXIT_INTERRUPTED,
            _ => EXIT_USAGE,
        }
    }
}

fn render_diagnostics(diags: &[Diagnostic]) -> String {
    let mut sorted = diags.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut out = String::new();
    for (i, d) in sorted.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("error: {d}"));
    }
    if sorted.len() > 1 {
        out.push_str(&format!("\n{} errors", sorted.len()));
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_cause_and_build_the_message_when_shown() {
        let full = std::io::Error::from_raw_os_error(28);
        let open = Error::Open {
            path: PathBuf::from("data/shop.duckdb"),
            source: crate::db::OpenError::Duckdb { path: PathBuf::from("data/shop.duckdb"), message: full.to_string() },
        };
        let shown = open.to_string();
        assert!(shown.starts_with("error: cannot open the database `data/shop.duckdb`: "), "{shown}");
        assert!(shown.contains("(hint: the disk holding `data` is full"), "{shown}");
        assert!(std::error::Error::source(&open).is_some(), "the open error is kept as the cause");

        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let history = Error::History { what: "cannot record run `r1`".into(), source: denied };
        assert!(history.to_string().starts_with("error: cannot record run `r1`: "), "{history}");
        assert_eq!(history.exit_code(), EXIT_USAGE);
        assert_eq!(Error::Interrupted.exit_code(), EXIT_INTERRUPTED);
    }

    #[test]
    fn diagnostics_sort_by_file_then_line() {
        let e = Error::Load(vec![
            Diagnostic::in_file("b.yml", "second").at(Some(1), None),
            Diagnostic::in_file("a.yml", "late").at(Some(9), Some(2)),
            Diagnostic::in_file("a.yml", "early").at(Some(2), None).hint("fix it"),
        ]);
        assert_eq!(
            e.to_string(),
            "error: a.yml:2: early\n  (hint: fix it)\nerror: a.yml:9:2: late\nerror: b.yml:1: second\n3 errors"
        );
    }
}
