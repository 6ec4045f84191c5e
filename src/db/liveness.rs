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
    _file: File,
}

/// Creates `path` if needed and holds it; `WouldBlock` when another owner does.
pub fn hold(path: &Path) -> io::Result<Held> {
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    let mut lock = RwLock::new(file);
    // As in `lock.rs`: the guard would borrow the RwLock, so forget it; the
    // flock lives exactly as long as the descriptor `Held` owns.
    lock.try_write().map(std::mem::forget)?;
    Ok(Held { _file: lock.into_inner() })
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
}
