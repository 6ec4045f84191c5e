//! Arrival order for lock waiters: a ticket per waiting process.
//!
//! `flock` wakes waiters in no particular order, so each waiter leaves a
//! ticket named by its arrival time in `<lock file>.queue/` and only tries the
//! lock when nothing ahead of it conflicts: an exclusive waiter goes when it is
//! first, a shared waiter when only shared waiters are ahead. Newcomers check
//! the queue too, so they cannot overtake, and readers cannot starve a waiting
//! writer. Tickets of processes that died are ignored and removed. This module
//! never takes the lock itself.

use super::lock::LockMode;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn queue_dir(lock_path: &Path) -> PathBuf {
    let mut name = lock_path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".queue");
    lock_path.with_file_name(name)
}

/// A waiter's place in line; leaving (drop) removes it.
#[derive(Debug)]
pub struct Ticket {
    path: PathBuf,
    name: String,
    mode: LockMode,
    _alive: super::liveness::Held,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    name: String,
    pid: u32,
    shared: bool,
}

fn parse(name: &str) -> Option<Entry> {
    // `<arrival nanos, 24 digits>-<pid>-<sequence>-<r|w>`
    // Anything else (a ticket still under its private name) is not in line.
    let mut parts = name.split('-');
    let (_, pid, _, kind) = (parts.next()?, parts.next()?.parse().ok()?, parts.next()?, parts.next()?);
    let shared = match kind {
        "r" => true,
        "w" => false,
        _ => return None,
    };
    parts.next().is_none().then(|| Entry { name: name.to_string(), pid, shared })
}

/// Whether `pid` is a live process on this host; where that cannot be known, assume it is.
pub fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// Live waiters in arrival order; tickets of dead processes are removed. A
/// ticket's waiter holds a flock on it, which is what "live" means; a ticket
/// without one (never locked) falls back to a pid check.
fn waiters(dir: &Path) -> Vec<Entry> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<Entry> = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let live = |entry: &Entry| super::liveness::is_held(&e.path()).unwrap_or_else(|| alive(entry.pid));
        match parse(&name) {
            Some(entry) if live(&entry) => out.push(entry),
            // A stale ticket would block everyone behind it forever.
            Some(_) => {
                let _ = std::fs::remove_file(e.path());
            }
            None => {}
        }
    }
    out.sort();
    out
}

/// The turn rule, pure: may a waiter of `mode` go with `ahead` in front of it?
fn may_go(mode: LockMode, ahead: &[&Entry]) -> bool {
    match mode {
        LockMode::Exclusive => ahead.is_empty(),
        LockMode::Shared => ahead.iter().all(|e| e.shared),
    }
}

/// For a process not yet in line: may it try the lock without queueing?
pub fn newcomer_may_try(lock_path: &Path, mode: LockMode) -> bool {
    let all = waiters(&queue_dir(lock_path));
    may_go(mode, &all.iter().collect::<Vec<_>>())
}

impl Ticket {
    pub fn join(lock_path: &Path, mode: LockMode) -> std::io::Result<Ticket> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = queue_dir(lock_path);
        std::fs::create_dir_all(&dir)?;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let kind = if mode == LockMode::Shared { "r" } else { "w" };
        let name = format!("{nanos:024}-{}-{:08}-{kind}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let path = dir.join(&name);
        let alive = super::liveness::hold_new(&path)?;
        Ok(Ticket { path, name, mode, _alive: alive })
    }

    /// True when nothing ahead of this ticket conflicts with it.
    pub fn my_turn(&self) -> bool {
        let all = waiters(self.path.parent().unwrap_or(Path::new(".")));
        let ahead: Vec<&Entry> = all.iter().take_while(|e| e.name != self.name).collect();
        may_go(self.mode, &ahead)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(shared: bool) -> Entry {
        Entry { name: String::new(), pid: 1, shared }
    }

    #[test]
    fn the_turn_rule() {
        let (r, w) = (entry(true), entry(false));
        assert!(may_go(LockMode::Exclusive, &[]));
        assert!(!may_go(LockMode::Exclusive, &[&r]));
        assert!(may_go(LockMode::Shared, &[&r, &r]));
        assert!(!may_go(LockMode::Shared, &[&r, &w]));
    }

    #[test]
    fn only_complete_ticket_names_are_in_line() {
        let w = parse("000000000000000000000001-42-00000000-w").expect("a writer's ticket");
        assert_eq!((w.pid, w.shared), (42, false));
        assert!(parse("000000000000000000000001-42-00000001-r").expect("a reader's ticket").shared);
        assert_eq!(parse("000000000000000000000001-42-00000000-w.new"), None, "not yet locked");
        assert_eq!(parse("000000000000000000000001-42-00000000-w-x"), None);
        assert_eq!(parse("stray"), None);
    }

    #[test]
    fn tickets_line_up_in_arrival_order_and_dead_ones_are_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = dir.path().join("w.duckdb.runner.lock");
        let first = Ticket::join(&lock, LockMode::Exclusive).expect("join");
        let second = Ticket::join(&lock, LockMode::Shared).expect("join");
        assert!(first.my_turn());
        assert!(!second.my_turn());
        assert!(!newcomer_may_try(&lock, LockMode::Shared));
        // A ticket left by a process that no longer exists blocks nobody.
        std::fs::write(queue_dir(&lock).join(format!("{:024}-{}-00000000-w", 0, u32::MAX - 1)), b"").expect("stale");
        assert!(first.my_turn());
        drop(first);
        assert!(second.my_turn());
        drop(second);
        assert!(newcomer_may_try(&lock, LockMode::Exclusive));
    }
}
