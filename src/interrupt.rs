//! Ctrl-C and SIGTERM: the one owner of "stop now".
//!
//! Before the database is open nothing has been written, so a signal exits at
//! once with 130 (the kernel drops the flock). Once armed, a signal stops the
//! scheduler from starting nodes and interrupts every running DuckDB query,
//! whose transaction then rolls back; the caller records what finished,
//! closes the database, releases the lock and exits 130. It decides nothing
//! about what runs.

use crate::error::EXIT_INTERRUPTED;
use duckdb::InterruptHandle;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Default)]
struct State {
    requested: AtomicBool,
    armed: AtomicBool,
    handles: Mutex<Vec<Arc<InterruptHandle>>>,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(State::default)
}

/// Installs the signal handler; safe to call more than once.
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // If another handler is already installed there is nothing better to do
        // than keep the default behaviour.
        let _ = ctrlc::set_handler(|| {
            let s = state();
            if !s.armed.load(Ordering::SeqCst) || s.requested.swap(true, Ordering::SeqCst) {
                // Not running yet (nothing written), or a second signal: leave now.
                eprintln!("interrupted");
                std::process::exit(EXIT_INTERRUPTED);
            }
            eprintln!("interrupting: cancelling running queries, rolling back, releasing the lock (Ctrl-C again to exit at once)");
            for h in s.handles.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                h.interrupt();
            }
        });
    });
}

/// From now on a signal interrupts instead of exiting.
pub fn arm() {
    state().armed.store(true, Ordering::SeqCst);
}

/// Between runs (the scheduler runs many in one process): a signal exits at
/// once again, and the finished run's connections are forgotten.
pub fn disarm() {
    let s = state();
    if !s.requested.load(Ordering::SeqCst) {
        s.armed.store(false, Ordering::SeqCst);
        s.handles.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Registers a connection so a signal interrupts its running query.
pub fn register(handle: Arc<InterruptHandle>) {
    state().handles.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
}

pub fn requested() -> bool {
    state().requested.load(Ordering::SeqCst)
}
