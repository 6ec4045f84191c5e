//! The cross-process lock that keeps `runner` processes from opening one
//! DuckDB file in conflicting modes: one writer, or any number of readers.
//!
//! Owns the sidecar file `<db file name>.runner.lock` and the holder record
//! (JSON) written into it so that a waiting process can say who it waits for.
//! It must not touch the `.duckdb` file itself: DuckDB holds a POSIX `fcntl`
//! lock on it, and POSIX drops all of a process's fcntl locks on a file as soon
//! as any descriptor of that file closes. It never deletes the lock file
//! either: unlinking a locked file lets a newcomer lock a fresh inode while the
//! old holder still believes it holds the lock. It prints nothing; callers
//! learn about waiting through the `on_wait` callback.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::queue::{self, Ticket};
use chrono::{DateTime, SecondsFormat, Utc};
use fd_lock::RwLock;
use serde::{Deserialize, Serialize};

/// First poll interval while waiting; doubled up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(1);
/// Polling is how a waiter notices a release, so this bounds handoff latency.
const MAX_POLL: Duration = Duration::from_millis(10);

/// The sidecar lock file for a database file: `shop.duckdb` → `shop.duckdb.runner.lock`.
pub fn lock_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".runner.lock");
    db_path.with_file_name(name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Writers (`run`, `seed`, …): nobody else may hold the lock.
    Exclusive,
    /// Readers (inspection commands): any number at once, but no writer.
    Shared,
}

/// Who holds an exclusive lock, as recorded in the lock file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub command: String,
    pub dag: Option<String>,
    pub run_id: Option<String>,
    pub since: DateTime<Utc>,
}

impl Holder {
    /// Describes this process, starting now.
    pub fn current(command: String, dag: Option<String>, run_id: Option<String>) -> Holder {
        Holder { pid: std::process::id(), host: hostname(), command, dag, run_id, since: Utc::now() }
    }
}

/// The kernel's host name (what `hostname` prints; `/etc/hostname` can differ
/// from it, in containers above all), the name a lock holder is known by.
/// Not the `gethostname` crate: it turns on a `rustix` feature, and `rustix`
/// is shared with libduckdb-sys's build, so adding it rebuilds DuckDB (~30 min).
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} on `{}`", self.pid, self.host)?;
        let mut parts = Vec::new();
        if !self.command.is_empty() {
            parts.push(format!("`{}`", self.command));
        }
        if let Some(dag) = &self.dag {
            parts.push(format!("dag `{dag}`"));
        }
        if let Some(run) = &self.run_id {
            parts.push(format!("run `{run}`"));
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        write!(f, " since {}", self.since.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

pub struct LockRequest {
    /// The database file (not the lock file); the lock file sits next to it.
    pub db_path: PathBuf,
    pub mode: LockMode,
    /// Recorded in the lock file when `mode` is [`LockMode::Exclusive`].
    pub holder: Holder,
    /// `None` waits forever; `Some(ZERO)` fails at once without calling `on_wait`.
    pub timeout: Option<Duration>,
}

/// A held lock. Dropping it releases the lock immediately.
#[derive(Debug)]
pub struct LockGuard {
    /// Closing this descriptor is what releases the flock / LockFileEx lock.
    file: File,
    path: PathBuf,
    mode: LockMode,
    waited: Option<Duration>,
    waited_for: Option<Holder>,
}

impl LockGuard {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn mode(&self) -> LockMode {
        self.mode
    }

    /// How long acquiring had to wait; `None` if the lock was free.
    pub fn waited(&self) -> Option<Duration> {
        self.waited
    }

    /// The holder seen when waiting started (`None` if no wait, or a shared holder).
    pub fn waited_for(&self) -> Option<&Holder> {
        self.waited_for.as_ref()
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if self.mode == LockMode::Exclusive {
            // Best effort: a stale record is harmless (the next acquirer
            // overwrites it), but an empty file stops waiters from naming a
            // process that has already gone.
            let _ = self.file.set_len(0);
        }
        // `self.file` closes right after this, which releases the lock.
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// `path` is the database file the lock protects.
    #[error("timed out after {:.1}s waiting for the lock on `{}`: held by {}\n  (hint: raise --lock-timeout, or wait for that process to finish)",
        .waited.as_secs_f64(), .path.display(), describe(.holder.as_ref()))]
    Timeout { path: PathBuf, holder: Option<Holder>, waited: Duration },
    /// `path` is the lock file.
    #[error("cannot use the lock file `{}`: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn describe(holder: Option<&Holder>) -> String {
    match holder {
        Some(h) => h.to_string(),
        // Exclusive holders always write a record, so an empty file means
        // the lock is shared.
        None => "another runner process reading the database".to_string(),
    }
}

/// Takes the lock described by `req`, waiting up to `req.timeout`.
///
/// If the lock is busy, `on_wait` is called exactly once with the current
/// holder (if known) before waiting starts.
pub fn acquire(req: LockRequest, on_wait: &mut dyn FnMut(Option<&Holder>)) -> Result<LockGuard, LockError> {
    let path = lock_path(&req.db_path);
    let io_err = |source: io::Error| LockError::Io { path: path.clone(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    let file = open_lock_file(&path, req.mode).map_err(io_err)?;
    let mut lock = RwLock::new(file);

    let start = Instant::now();
    let mut waiting: Option<Option<Holder>> = None;
    let mut poll = FIRST_POLL;
    // Waiters queue in arrival order; a newcomer joins the line rather than
    // overtaking processes already waiting.
    let mut ticket: Option<Ticket> = None;
    loop {
        let turn = match &ticket {
            Some(t) => t.my_turn(),
            None => queue::newcomer_may_try(&path, req.mode),
        };
        if turn && try_lock(&mut lock, req.mode).map_err(io_err)? {
            break;
        }
        if ticket.is_none() && req.timeout != Some(Duration::ZERO) {
            ticket = Some(Ticket::join(&path, req.mode).map_err(io_err)?);
        }
        let elapsed = start.elapsed();
        if waiting.is_none() {
            let seen = read_holder(&path);
            if req.timeout != Some(Duration::ZERO) {
                on_wait(seen.as_ref());
            }
            waiting = Some(seen);
        }
        let mut nap = poll;
        if let Some(limit) = req.timeout {
            if elapsed >= limit {
                // Re-read: the holder may have changed while we waited.
                return Err(LockError::Timeout { path: req.db_path, holder: read_holder(&path), waited: elapsed });
            }
            nap = nap.min(limit - elapsed);
        }
        thread::sleep(nap);
        poll = (poll * 2).min(MAX_POLL);
    }
    drop(ticket);

    let mut file = lock.into_inner();
    match req.mode {
        LockMode::Exclusive => write_holder(&mut file, &req.holder).map_err(io_err)?,
        // No writer can hold the lock while we hold it shared, so any record
        // left in the file belongs to a writer that died; clearing it is best
        // effort because a reader may only have read access.
        LockMode::Shared => {
            let _ = file.set_len(0);
        }
    }
    let waited_for = waiting.clone().and_then(|h| h);
    Ok(LockGuard { file, path, mode: req.mode, waited: waiting.map(|_| start.elapsed()), waited_for })
}

fn open_lock_file(path: &Path, mode: LockMode) -> io::Result<File> {
    // Never truncate on open: the file may carry the current holder's record.
    let rw = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path);
    match rw {
        // A reader without write access to the directory can still lock an
        // existing lock file through a read-only descriptor.
        Err(e) if mode == LockMode::Shared && e.kind() == io::ErrorKind::PermissionDenied => {
            OpenOptions::new().read(true).open(path).or(Err(e))
        }
        other => other,
    }
}

/// `Ok(false)` when another process holds a conflicting lock.
fn try_lock(lock: &mut RwLock<File>, mode: LockMode) -> io::Result<bool> {
    // fd-lock's guards borrow the RwLock, which cannot live inside LockGuard
    // next to the file it borrows. Forgetting the guard skips its explicit
    // unlock; the lock then lives exactly as long as the descriptor, which
    // LockGuard owns and closes on drop.
    let result = match mode {
        LockMode::Exclusive => lock.try_write().map(std::mem::forget),
        LockMode::Shared => lock.try_read().map(std::mem::forget),
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => Ok(false),
        Err(e) => Err(e),
    }
}

fn write_holder(file: &mut File, holder: &Holder) -> io::Result<()> {
    let json = serde_json::to_string(holder).map_err(io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    // The leading newline keeps the record off byte 0, which Windows locks
    // mandatorily; readers there skip that byte (see `read_holder`).
    file.write_all(format!("\n{json}\n").as_bytes())?;
    file.flush()
}

/// The holder recorded in a lock file; `None` when it is empty, unreadable or garbage.
pub fn read_holder(lock_path: &Path) -> Option<Holder> {
    let mut file = File::open(lock_path).ok()?;
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        // On Windows the locked first byte cannot be read; the record starts after it.
        text.clear();
        file.seek(SeekFrom::Start(1)).ok()?;
        file.read_to_string(&mut text).ok()?;
    }
    serde_json::from_str(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn request(db: &Path, mode: LockMode, command: &str, timeout: Option<Duration>) -> LockRequest {
        let holder = Holder::current(command.to_string(), Some("my_dag".into()), Some("manual__1".into()));
        LockRequest { db_path: db.to_path_buf(), mode, holder, timeout }
    }

    fn no_wait(_: Option<&Holder>) {
        panic!("did not expect to wait");
    }

    fn command_in(lock_file: &Path) -> Option<String> {
        read_holder(lock_file).map(|h| h.command)
    }

    #[test]
    fn lock_path_sits_next_to_the_database() {
        assert_eq!(lock_path(Path::new("/data/shop.duckdb")), PathBuf::from("/data/shop.duckdb.runner.lock"));
        assert_eq!(lock_path(Path::new("shop.duckdb")), PathBuf::from("shop.duckdb.runner.lock"));
    }

    #[test]
    fn holder_display_names_everything_known() {
        let since = DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123Z").expect("test setup").with_timezone(&Utc);
        let (dag, run_id) = (Some("my_dag".into()), Some("manual__x".into()));
        let mut h = Holder { pid: 1234, host: "box".into(), command: "runner run my_dag".into(), dag, run_id, since };
        let full = "pid 1234 on `box` (`runner run my_dag`, dag `my_dag`, run `manual__x`) since 2026-11-22T10:00:00Z";
        assert_eq!(h.to_string(), full);
        (h.command, h.dag, h.run_id) = (String::new(), None, None);
        assert_eq!(h.to_string(), "pid 1234 on `box` since 2026-11-22T10:00:00Z");
    }

    #[test]
    fn exclusive_writes_holder_and_clears_it_on_release() {
        let dir = tempfile::tempdir().expect("test setup");
        let db = dir.path().join("nested/shop.duckdb");
        let req = request(&db, LockMode::Exclusive, "runner run a", None);
        let expected = req.holder.clone();
        let guard = acquire(req, &mut no_wait).expect("test setup");
        assert_eq!((guard.path(), guard.waited()), (lock_path(&db).as_path(), None));
        assert_eq!(read_holder(guard.path()), Some(expected));
        drop(guard);
        assert_eq!(read_holder(&lock_path(&db)), None);
    }

    #[test]
    fn second_exclusive_waits_once_then_gets_the_lock() {
        let dir = tempfile::tempdir().expect("test setup");
        let db = dir.path().join("shop.duckdb");
        let req = request(&db, LockMode::Exclusive, "runner run first", None);
        let first = req.holder.clone();
        let guard = acquire(req, &mut no_wait).expect("test setup");

        let (tx, rx) = mpsc::channel();
        let db2 = db.clone();
        let waiter = thread::spawn(move || {
            let mut seen = Vec::new();
            let req = request(&db2, LockMode::Exclusive, "runner run second", Some(Duration::from_secs(30)));
            let result = acquire(req, &mut |h| {
                seen.push(h.cloned());
                tx.send(()).expect("test setup");
            });
            (result, seen)
        });
        rx.recv_timeout(Duration::from_secs(30)).expect("test setup");
        drop(guard);
        let (result, seen) = waiter.join().expect("test setup");
        let second = result.expect("test setup");
        assert_eq!(seen, vec![Some(first.clone())]);
        assert_eq!(second.waited_for(), Some(&first));
        assert!(second.waited().is_some());
        assert_eq!(command_in(second.path()).as_deref(), Some("runner run second"));
    }

    #[test]
    fn timeout_names_the_holder() {
        let dir = tempfile::tempdir().expect("test setup");
        let db = dir.path().join("shop.duckdb");
        let _guard =
            acquire(request(&db, LockMode::Exclusive, "runner run a", None), &mut no_wait).expect("test setup");
        let mut calls = 0;
        let req = request(&db, LockMode::Exclusive, "runner run b", Some(Duration::from_millis(50)));
        let err = acquire(req, &mut |_| calls += 1).unwrap_err();
        assert_eq!(calls, 1);
        let LockError::Timeout { path, holder, .. } = &err else { panic!("unexpected {err:?}") };
        assert_eq!(path, &db);
        assert_eq!(holder.as_ref().map(|h| h.command.as_str()), Some("runner run a"));
        let text = err.to_string();
        assert!(text.starts_with("timed out after "), "{text}");
        assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
        assert!(text.contains("(hint: raise --lock-timeout"), "{text}");

        // A zero timeout fails at once, without announcing a wait.
        let req = request(&db, LockMode::Shared, "runner ls", Some(Duration::ZERO));
        assert!(matches!(acquire(req, &mut no_wait), Err(LockError::Timeout { holder: Some(_), .. })));
    }

    #[test]
    fn shared_locks_coexist_and_block_exclusive() {
        let dir = tempfile::tempdir().expect("test setup");
        let db = dir.path().join("shop.duckdb");
        let a = acquire(request(&db, LockMode::Shared, "runner ls", Some(Duration::ZERO)), &mut no_wait)
            .expect("test setup");
        let b = acquire(request(&db, LockMode::Shared, "runner ls", Some(Duration::ZERO)), &mut no_wait)
            .expect("test setup");
        assert_eq!((a.mode(), read_holder(b.path())), (LockMode::Shared, None));

        let mut seen = Vec::new();
        let req = request(&db, LockMode::Exclusive, "runner run", Some(Duration::from_millis(30)));
        let err = acquire(req, &mut |h| seen.push(h.cloned())).unwrap_err();
        assert_eq!(seen, vec![None]);
        assert!(err.to_string().contains("held by another runner process reading the database"), "{err}");
        drop((a, b));
        let req = request(&db, LockMode::Exclusive, "runner run", Some(Duration::ZERO));
        assert!(acquire(req, &mut no_wait).is_ok());
    }

    #[test]
    fn stale_record_without_a_lock_does_not_block() {
        let dir = tempfile::tempdir().expect("test setup");
        let db = dir.path().join("shop.duckdb");
        let mut dead = request(&db, LockMode::Exclusive, "runner run killed", None).holder;
        dead.pid = 999_999;
        std::fs::write(lock_path(&db), serde_json::to_string(&dead).expect("test setup")).expect("test setup");
        assert_eq!(read_holder(&lock_path(&db)), Some(dead));

        let guard =
            acquire(request(&db, LockMode::Exclusive, "next", Some(Duration::ZERO)), &mut no_wait).expect("test setup");
        assert_eq!((guard.waited(), command_in(guard.path()).as_deref()), (None, Some("next")));
        drop(guard);

        std::fs::write(lock_path(&db), "{not json").expect("test setup");
        assert_eq!(read_holder(&lock_path(&db)), None);
        let shared = acquire(request(&db, LockMode::Shared, "runner ls", Some(Duration::ZERO)), &mut no_wait);
        assert!(shared.is_ok());
        assert_eq!(std::fs::read(lock_path(&db)).expect("test setup").len(), 0);
    }

    #[test]
    fn unusable_directory_is_an_io_error() {
        let dir = tempfile::tempdir().expect("test setup");
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").expect("test setup");
        let err =
            acquire(request(&blocker.join("x.duckdb"), LockMode::Exclusive, "a", None), &mut no_wait).unwrap_err();
        assert!(matches!(err, LockError::Io { .. }), "{err:?}");
        assert!(err.to_string().starts_with("cannot use the lock file `"), "{err}");
    }

    #[test]
    fn waiters_get_the_lock_in_arrival_order() {
        let dir = tempfile::tempdir().expect("test setup");
        let db = dir.path().join("w.duckdb");
        let holder = acquire(request(&db, LockMode::Exclusive, "holder", None), &mut no_wait).expect("test setup");
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for name in ["first", "second", "third"] {
            let (db, order) = (db.clone(), order.clone());
            let (tx, rx) = mpsc::channel();
            threads.push(thread::spawn(move || {
                let mut told = Some(tx);
                let guard = acquire(request(&db, LockMode::Exclusive, name, None), &mut |_| {
                    if let Some(tx) = told.take() {
                        let _ = tx.send(());
                    }
                })
                .expect("test setup");
                order.lock().expect("test setup").push(name);
                thread::sleep(Duration::from_millis(20));
                drop(guard);
            }));
            // The next waiter arrives only once this one is in line.
            rx.recv_timeout(Duration::from_secs(10)).expect("test setup");
            thread::sleep(Duration::from_millis(5));
        }
        drop(holder);
        for t in threads {
            t.join().expect("test setup");
        }
        assert_eq!(*order.lock().expect("test setup"), vec!["first", "second", "third"]);
    }

    #[test]
    fn a_new_reader_does_not_overtake_a_waiting_writer() {
        let dir = tempfile::tempdir().expect("test setup");
        let db = dir.path().join("w.duckdb");
        let reader = acquire(request(&db, LockMode::Shared, "reader", None), &mut no_wait).expect("test setup");
        let (tx, rx) = mpsc::channel();
        let db2 = db.clone();
        let writer = thread::spawn(move || {
            let mut told = Some(tx);
            acquire(request(&db2, LockMode::Exclusive, "writer", None), &mut |_| {
                if let Some(tx) = told.take() {
                    let _ = tx.send(());
                }
            })
            .map(|g| g.waited().is_some())
        });
        rx.recv_timeout(Duration::from_secs(10)).expect("test setup");
        // Shared would be compatible with the reader, but the writer is first in line.
        let late =
            acquire(request(&db, LockMode::Shared, "late reader", Some(Duration::from_millis(150))), &mut |_| {});
        assert!(matches!(late, Err(LockError::Timeout { .. })), "the late reader waited behind the writer");
        drop(reader);
        assert!(writer.join().expect("test setup").expect("writer gets it"));
    }
}
