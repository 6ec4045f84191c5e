//! "Is its owner still running?", answered by the kernel: an owner holds an
//! exclusive `flock` on a small file for as long as it lives, and a checker
//! that can take that lock knows the owner is gone.
//!
//! Unlike a pid check this holds across PID namespaces (a container's PID 1
//! after a restart) and hostname changes. Used for run records and lock queue
//! tickets; it knows nothing of either.

use fd_lock::RwLock;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Proof of life: held until dropped (or until the process dies).
#[derive(Debug)]
pub struct Held {
    file: File,
}

impl Held {
    /// Another descriptor of the held file, sharing its lock: a child
    /// process given it (as its output) keeps the file held until it ends,
    /// after this `Held` is dropped.
    pub fn share(&self) -> io::Result<File> {
        self.file.try_clone()
    }
}

/// Creates `path` if needed and holds it; `WouldBlock` when another owner does.
pub fn hold(path: &Path) -> io::Result<Held> {
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    let mut lock = RwLock::new(file);
    // A checker (`is_held`) holds the lock for a moment to test it; that is
    // not an owner, so a refusal is tried again briefly before it counts.
    let mut refused = 0;
    loop {
        match lock.try_write() {
            // As in `lock.rs`: the guard would borrow the RwLock, so forget it;
            // the flock lives exactly as long as the descriptor `Held` owns.
            Ok(guard) => break std::mem::forget(guard),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && refused < CHECKER_RETRIES => {
                refused += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Held { file: lock.into_inner() })
}

const CHECKER_RETRIES: usize = 3;

/// Creates `path` already held. It is locked under a private name and then
/// renamed into place, so a checker never finds it unheld and takes it for a
/// dead owner's (which would remove a lock waiter's ticket from the line).
pub fn hold_new(path: &Path) -> io::Result<Held> {
    let mut private = path.as_os_str().to_owned();
    private.push(".new");
    let private = std::path::PathBuf::from(private);
    let held = hold(&private)?;
    if let Err(e) = std::fs::rename(&private, path) {
        let _ = std::fs::remove_file(&private);
        return Err(e);
    }
    Ok(held)
}

/// `Some(true)` while an owner holds `path`, `Some(false)` once it is gone,
/// `None` when there is no such file (an owner that never used one).
pub fn is_held(path: &Path) -> Option<bool> {
    let file = OpenOptions::new().read(true).write(true).open(path).ok()?;
    let mut lock = RwLock::new(file);
    let held = match lock.try_write() {
        Ok(_guard) => false,
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    };
    Some(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_until_dropped() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("owner.lock");
        assert_eq!(is_held(&p), None);
        let h = hold(&p).expect("test setup");
        assert_eq!(is_held(&p), Some(true));
        assert!(hold(&p).is_err(), "one owner at a time");
        drop(h);
        assert_eq!(is_held(&p), Some(false));
    }

    #[test]
    fn a_new_file_appears_already_held() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("ticket");
        let h = hold_new(&p).expect("test setup");
        assert_eq!(is_held(&p), Some(true));
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("ticket")], "no private name is left behind");
        drop(h);
        assert_eq!(is_held(&p), Some(false));
    }

    #[test]
    fn a_shared_descriptor_keeps_the_file_held() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("child.log");
        let h = hold(&p).expect("test setup");
        let child_output = h.share().expect("share");
        drop(h);
        assert_eq!(is_held(&p), Some(true), "held while any descriptor lives");
        drop(child_output);
        assert_eq!(is_held(&p), Some(false));
    }
}
