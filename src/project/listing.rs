//! Listing a resource folder (`models/`, `seeds/`, …): every file under it in
//! path order, following symlinks as dbt does, with what kept any part of it
//! from being listed.
//!
//! A folder that cannot be read is an error naming it, not a silent gap that
//! later shows up as unknown refs; a symlink leading back to a folder above it
//! is one "symlink loop" error, not a walk until the path is too long (which
//! found every model again at each level). Reads folder entries only, never a
//! file's contents.

use super::Listed;
use std::path::{Path, PathBuf};

/// One resource folder's files, and what kept any part of it from being
/// listed (the path, the message, the hint).
#[derive(Default)]
pub(super) struct Listing {
    /// The project root, which paths in messages are relative to.
    root: PathBuf,
    pub(super) files: Vec<Listed>,
    pub(super) problems: Vec<(PathBuf, String, String)>,
    /// The folders being listed, outermost first, with their canonical
    /// paths: a folder met again below itself is a symlink loop.
    open: Vec<(PathBuf, PathBuf)>,
}

/// `ELOOP`: too many levels of symbolic links (std has no stable kind for it).
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
const ELOOP: i32 = 62;
#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
const ELOOP: i32 = 40;

impl Listing {
    pub(super) fn new(root: &Path) -> Listing {
        Listing { root: root.to_path_buf(), ..Listing::default() }
    }

    /// Lists a resource folder; one that does not exist holds nothing (a
    /// project need not have `seeds/`), one that cannot be read is an error.
    pub(super) fn start(&mut self, base: &Path) {
        match base.canonicalize() {
            Ok(canonical) => self.collect(base, canonical, &[]),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => self.cannot_list(base, &e),
        }
    }

    fn cannot_list(&mut self, dir: &Path, e: &std::io::Error) {
        let hint = if e.raw_os_error() == Some(ELOOP) {
            "a symlink on this path points back at itself: remove or fix it"
        } else {
            "make the folder readable by this user, or remove it from the project"
        };
        self.problems.push((dir.to_path_buf(), format!("cannot list the folder: {e}"), hint.into()));
    }

    /// Every file under `dir` but hidden ones, in path order: names are
    /// sorted within each folder and folders entered in that order, which is
    /// the order of whole paths without comparing them.
    fn collect(&mut self, dir: &Path, canonical: PathBuf, folders: &[String]) {
        if let Some((outer, _)) = self.open.iter().find(|(_, c)| *c == canonical) {
            let outer = outer.strip_prefix(&self.root).unwrap_or(outer);
            self.problems.push((
                dir.to_path_buf(),
                format!("symlink loop: this folder leads back to `{}`", outer.display()),
                "remove the symlink or point it outside the folder it is in".into(),
            ));
            return;
        }
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => return self.cannot_list(dir, &e),
        };
        let mut entries = Vec::new();
        for entry in rd {
            match entry {
                Ok(e) if !e.file_name().as_encoded_bytes().starts_with(b".") => entries.push((e.file_name(), e)),
                Ok(_) => {}
                Err(e) => return self.cannot_list(dir, &e),
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.open.push((dir.to_path_buf(), canonical));
        for (name, entry) in entries {
            let p = entry.path();
            // The directory entry knows its type without another `stat`; only
            // a symlink needs one, to be followed as `is_dir` follows it.
            let inner_canonical = match entry.file_type() {
                Ok(t) if !t.is_symlink() => t.is_dir().then(|| self.open.last().map(|(_, c)| c.join(&name))).flatten(),
                _ => match std::fs::metadata(&p) {
                    Ok(m) if m.is_dir() => match p.canonicalize() {
                        Ok(c) => Some(c),
                        Err(e) => {
                            self.cannot_list(&p, &e);
                            continue;
                        }
                    },
                    Err(e) if e.raw_os_error() == Some(ELOOP) => {
                        self.problems.push((
                            p,
                            "symlink loop: the link leads back to itself".into(),
                            "remove the symlink or point it at a real file or folder".into(),
                        ));
                        continue;
                    }
                    // A file, or a dangling link: reading it says what is wrong.
                    _ => None,
                },
            };
            match inner_canonical {
                Some(c) => {
                    let mut inner = folders.to_vec();
                    inner.push(name.to_string_lossy().into_owned());
                    self.collect(&p, c, &inner);
                }
                None => self.files.push((p, folders.to_vec())),
            }
        }
        self.open.pop();
    }
}
