//! The one error voice of `runner`: lowercase fragments, identifiers in
//! backticks, an optional `(hint: …)`. Owns [`Diagnostic`], one problem in
//! one input file with its line, so load errors can be sorted and printed
//! together; I/O errors worded with the path they concern and what to do
//! about them; and the `did you mean` search. A low module: every loading
//! module reports through it, so it imports none of them. It words errors
//! but never prints them (`main` does), and it knows no command's error
//! (that is `crate::error`).

use std::fmt;
use std::path::{Path, PathBuf};

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

/// An I/O error and the path it concerns: std's errors name no path, and
/// "Permission denied" alone does not say what to fix.
#[derive(Debug)]
pub struct AtPath {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl fmt::Display for AtPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for AtPath {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// For `map_err`: the error names `path`, and keeps its kind so callers can
/// still match on it. An error that names a path already is left as it is.
pub fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> std::io::Error + '_ {
    move |source| {
        if source.get_ref().is_some_and(|inner| inner.is::<AtPath>()) {
            return source;
        }
        std::io::Error::new(source.kind(), AtPath { path: path.to_path_buf(), source })
    }
}

/// What to do about an I/O error, when its kind says: which disk to free
/// when it is full, what to make writable when access is denied.
pub fn io_hint(e: &std::io::Error) -> Option<String> {
    let path = e.get_ref().and_then(|inner| inner.downcast_ref::<AtPath>()).map(|a| a.path.as_path());
    let folder = path.map(|p| p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    match (e.kind(), folder) {
        (std::io::ErrorKind::StorageFull, Some(dir)) => Some(disk_full_hint(dir)),
        (std::io::ErrorKind::StorageFull, None) => Some(disk_full_hint(Path::new("."))),
        (std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem, Some(dir)) => {
            Some(format!("make `{}` writable by the user running runner", dir.display()))
        }
        _ => None,
    }
}

/// `<what>: <e>`, then the hint for `e` when there is one.
pub fn io_message(what: &str, e: &std::io::Error) -> String {
    match io_hint(e) {
        Some(hint) => format!("{what}: {e}\n  (hint: {hint})"),
        None => format!("{what}: {e}"),
    }
}

/// [`io_message`] as an error line.
pub fn io_failure(what: &str, e: &std::io::Error) -> String {
    format!("error: {}", io_message(what, e))
}

/// The hint for a full disk, naming a folder on it.
pub fn disk_full_hint(dir: &Path) -> String {
    format!(
        "the disk holding `{0}` is full: free space on it (`df -h {0}` shows how much is left) and run again; \
         what was written before this run is intact",
        dir.display()
    )
}

/// `message`, and when it says the disk is full, which disk to free (the one
/// holding the database file `db_path`).
pub fn with_disk_hint(message: String, db_path: &Path) -> String {
    if says_disk_full(&message) {
        format!("{message}\n  (hint: {})", disk_hint_for(db_path))
    } else {
        message
    }
}

/// The full-disk hint for the disk that holds the database file `db_path`.
pub fn disk_hint_for(db_path: &Path) -> String {
    let dir = db_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    disk_full_hint(dir)
}

/// Whether an error's text (DuckDB's, which carry no kind) says the disk is full.
pub fn says_disk_full(message: &str) -> bool {
    message.contains("No space left on device") || message.contains("os error 28")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_name_their_path_and_what_to_do() {
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let e = io_at(Path::new("/p/.runner/history/d/r.json"))(denied);
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        let m = io_message("cannot record run `r`", &e);
        assert!(m.starts_with("cannot record run `r`: `/p/.runner/history/d/r.json`: permission denied"), "{m}");
        assert!(m.contains("(hint: make `/p/.runner/history/d` writable"), "{m}");
        let again = io_at(Path::new("/elsewhere"))(e);
        assert!(!again.to_string().contains("/elsewhere"), "named once: {again}");
        let full = io_at(Path::new("/mnt/small/target/x.json"))(std::io::Error::from_raw_os_error(28));
        let m = io_message("cannot write", &full);
        assert!(m.contains("No space left on device") && m.contains("the disk holding `/mnt/small/target` is full"));
        assert!(says_disk_full("IO Error: Could not write file \"x\": No space left on device"));
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

/// The candidate closest to a misspelt `name` (Levenshtein distance at most
/// half the longer name, and at least 2), for a `did you mean` hint.
pub(crate) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|k| (strsim::levenshtein(k, name), k))
        .filter(|(d, k)| *d <= (k.len().max(name.len()) / 2).max(2))
        .min()
        .map(|(_, k)| k)
}
