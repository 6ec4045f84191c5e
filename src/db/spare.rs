//! The spare DuckDB instance: started on a thread of its own before the
//! database is needed, so that opening the warehouse costs an `ATTACH` to a
//! warm instance instead of DuckDB's start-up. Owns only that instance; the
//! registry decides what is attached to it, and nothing here touches a file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;

use super::raw::Instance;
use duckdb::Connection;

/// A poisoned lock only means another thread panicked; the data stays valid.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A DuckDB instance started ahead of need: most of DuckDB's open is starting
/// the instance (about 15 ms here); attaching a file to a warm one takes
/// about 1 ms. Started on a thread of its own so it overlaps planning or a
/// wait for the lock, and taken by the first [`open`].
static SPARE: Mutex<Option<Spare>> = Mutex::new(None);

enum Spare {
    Starting(thread::JoinHandle<Option<(Instance, Connection)>>),
    Ready((Instance, Connection)),
}

/// Starts a spare in-memory instance in the background unless one is already
/// started. Errors are ignored: `open` then starts an instance itself and
/// reports them.
pub fn prestart() {
    let mut spare = lock(&SPARE);
    if spare.is_none() {
        WANTED.store(false, Ordering::Release);
        let started = thread::Builder::new().name("duckdb-prestart".into()).spawn(start_spare);
        *spare = started.ok().map(Spare::Starting);
    }
}

/// Set once the instance is wanted: a warm-up then only delays the caller.
static WANTED: AtomicBool = AtomicBool::new(false);

/// Starts an instance and, unless it is already wanted, runs what
/// `attach_as_only` will run on a throwaway in-memory attachment: the first
/// run of each of DuckDB's code paths in a process costs far more than the
/// next (about 7 ms against 0.5 ms for the `ATTACH` here), and that first run
/// belongs before the lock, not after. When the caller already holds the lock
/// and waits for the instance, the warm-up would cost it the whole batch to
/// save part of it (an uncontended run of the example: about 6 ms).
fn start_spare() -> Option<(Instance, Connection)> {
    let (instance, conn) = Instance::open(None, false).ok()?;
    if WANTED.load(Ordering::Acquire) {
        return Some((instance, conn));
    }
    let _ = conn.execute_batch(
        "ATTACH ':memory:' AS runner_prestart; USE runner_prestart; CREATE TABLE t AS SELECT 1 AS x; \
         SELECT database_name FROM duckdb_databases() WHERE NOT internal; USE memory; DETACH runner_prestart",
    );
    Some((instance, conn))
}

/// [`prestart`], then waits until the spare instance is up (for a caller that
/// has nothing else to do meanwhile, or must know the next open is fast).
pub fn prestart_and_wait() {
    prestart();
    if let Some(conn) = take_spare(false) {
        *lock(&SPARE) = Some(Spare::Ready(conn));
    }
}

/// Closes a spare nobody took, waiting for it if it is still starting. Call
/// before the process exits: DuckDB's threads must not still be starting an
/// instance (or running one) while the C++ runtime tears its statics down,
/// which kills the process with a signal instead of the exit code.
pub fn discard() {
    drop(take_spare(true));
}

/// `now`: the caller has nothing left to do but use the instance, so a
/// warm-up not yet begun is skipped.
fn take_spare(now: bool) -> Option<(Instance, Connection)> {
    // The guard drops before joining, so `prestart` never waits on a start-up.
    let spare = lock(&SPARE).take()?;
    if now {
        WANTED.store(true, Ordering::Release);
    }
    match spare {
        Spare::Starting(handle) => handle.join().ok().flatten(),
        Spare::Ready(conn) => Some(conn),
    }
}

/// The spare instance (waiting for it if it is still starting), or a new one.
pub(super) fn fresh_instance() -> Result<(Instance, Connection), duckdb::Error> {
    match take_spare(true) {
        Some(pair) => Ok(pair),
        None => Instance::open(None, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waited_for_spare_is_ready_and_taken_once() {
        prestart_and_wait();
        // Tests share the process, so another test may have taken it already;
        // what is taken must work, and the next take starts no thread.
        if let Some((_instance, conn)) = take_spare(true) {
            assert_eq!(conn.query_row("select 41 + 1", [], |r| r.get::<_, i32>(0)).expect("test setup"), 42);
            let left: Vec<String> = conn
                .prepare("select database_name from duckdb_databases() where not internal")
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .expect("test setup");
            assert_eq!(left, ["memory"], "the warm-up attachment is gone");
        }
        let (_instance, conn) = fresh_instance().expect("test setup");
        assert_eq!(conn.query_row("select 1", [], |r| r.get::<_, i32>(0)).expect("test setup"), 1);
        prestart();
        discard();
        assert!(lock(&SPARE).is_none(), "discard leaves no spare behind");
    }
}
