//! Error types, their locations and hints, and the process exit codes.
//!
//! Owns the one error voice of `runner`: lowercase fragments, identifiers in
//! backticks, an optional `(hint: …)`. Every load problem becomes a
//! [`Diagnostic`] carrying its file and line so they can be sorted and printed
//! together. This module formats errors but never prints them; `main` does.

use std::fmt;
use std::path::{Path, PathBuf};

/// Everything ran and passed (warnings allowed).
pub const EXIT_OK: i32 = 0;
/// A node errored, failed or was skipped.
pub const EXIT_NODE_FAILURE: i32 = 1;
/// Nothing could run: bad project, bad usage, lock not obtained.
pub const EXIT_USAGE: i32 = 2;
/// Interrupted by Ctrl-C / SIGTERM.
pub const EXIT_INTERRUPTED: i32 = 130;

/// One problem found in one input file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// Field order matters: diagnostics sort by file, then line, then column.
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic { file: None, line: None, column: None, message: message.into(), hint: None }
    }

    pub fn in_file(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Diagnostic { file: Some(file.as_ref().to_path_buf()), ..Diagnostic::new(message) }
    }

    pub fn at(mut self, line: Option<usize>, column: Option<usize>) -> Self {
        self.line = line;
        self.column = column;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Builds a diagnostic from a serde_yaml error, keeping its line and column.
    pub fn from_yaml(file: &Path, err: &serde_yaml::Error) -> Self {
        let loc = err.location();
        // serde_yaml appends " at line X column Y" to its message; the location
        // is shown in our own prefix instead, so strip it to avoid saying it twice.
        let text = err.to_string();
        let text = match text.find(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        Diagnostic::in_file(file, format!("invalid yaml: {text}"))
            .at(loc.as_ref().map(|l| l.line()), loc.as_ref().map(|l| l.column()))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  (hint: {hint})")?;
        }
        Ok(())
    }
}

/// A failure that stops `runner` before or instead of running nodes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more problems in the project's files, all collected.
    #[error("{}", render_diagnostics(.0))]
    Load(Vec<Diagnostic>),
    /// Wrong command-line usage.
    #[error("{0}")]
    Usage(Diagnostic),
    /// The cross-process lock could not be obtained in time.
    #[error("{0}")]
    Lock(String),
    /// The database could not be opened or prepared.
    #[error("{0}")]
    Database(String),
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

    #[test]
    fn yaml_errors_keep_their_location() {
        let err = serde_yaml::from_str::<std::collections::BTreeMap<String, i32>>("a: 1\nb: [").unwrap_err();
        let d = Diagnostic::from_yaml(Path::new("dags/x.yml"), &err);
        assert_eq!(d.file.as_deref(), Some(Path::new("dags/x.yml")));
        assert!(d.line.is_some());
        assert!(!d.message.contains(" at line "));
    }
}
