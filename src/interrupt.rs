//! Ctrl-C and SIGTERM: the one owner of "stop now".
//!
//! Before the database is open nothing has been written, so a signal exits at
//! once with 130 (the kernel drops the flock). Once armed, a signal stops the
//! scheduler from starting nodes; running DuckDB queries are interrupted (their
//! transactions roll back) at once, or after the grace period the scheduler
//! sets, so nodes already running may finish. A second signal interrupts at
//! once, a third exits. The caller records what finished, closes the database,
//! releases the lock and exits 130. It decides nothing about what runs.

use crate::db::raw::Interrupter;
use crate::error::EXIT_INTERRUPTED;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

#[derive(Default)]
struct State {
    requested: AtomicBool,
    armed: AtomicBool,
    /// Signals received while armed.
    signals: AtomicUsize,
    /// How long running nodes may go on after the first signal.
    grace: Mutex<Duration>,
    handles: Mutex<Vec<Interrupter>>,
}

fn interrupt_running(s: &State) {
    for h in s.handles.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        h.interrupt();
    }
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
            let grace = *s.grace.lock().unwrap_or_else(|p| p.into_inner());
            let nth = if s.armed.load(Ordering::SeqCst) { s.signals.fetch_add(1, Ordering::SeqCst) + 1 } else { 0 };
            s.requested.store(true, Ordering::SeqCst);
            match nth {
                1 if !grace.is_zero() => {
                    eprintln!(
                        "stopping: no new nodes start; running nodes have {}s to finish before they are interrupted (Ctrl-C again to interrupt them now)",
                        grace.as_secs_f64()
                    );
                    // The handler thread must stay free for a second signal.
                    std::thread::spawn(move || {
                        std::thread::sleep(grace);
                        if s.armed.load(Ordering::SeqCst) {
                            eprintln!("grace period over: interrupting running queries, rolling back");
                            interrupt_running(s);
                        }
                    });
                }
                // The first signal without a grace period, or the second with one.
                n @ (1 | 2) if n == 1 || !grace.is_zero() => {
                    eprintln!("interrupting: cancelling running queries, rolling back, releasing the lock (Ctrl-C again to exit at once)");
                    interrupt_running(s);
                }
                _ => {
                    // Not running yet (nothing written), or asked again: leave now.
                    eprintln!("interrupted");
                    crate::db::discard_spare();
                    std::process::exit(EXIT_INTERRUPTED);
                }
            }
        });
    });
}

/// How long nodes already running may go on after a signal (the scheduler's
/// `--grace-period`); zero, the default, interrupts them at once.
pub fn set_grace(grace: Duration) {
    *state().grace.lock().unwrap_or_else(|p| p.into_inner()) = grace;
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
pub fn register(handle: Interrupter) {
    state().handles.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
}

pub fn requested() -> bool {
    state().requested.load(Ordering::SeqCst)
}
