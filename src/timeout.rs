//! `execution_timeout`: a watchdog that interrupts one node attempt's DuckDB
//! connection when the attempt runs past its limit.
//!
//! The interrupted statement fails and its transaction rolls back, so a
//! timed-out node leaves its old relation untouched, exactly like a failure.
//! The watchdog decides nothing about retries (the scheduler does) and builds
//! no SQL.

use crate::db::raw::{Interrupter, RawConn};
use duckdb::Connection;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Armed for one attempt; [`Watchdog::finish`] disarms it.
pub struct Watchdog {
    cancel: mpsc::Sender<()>,
    thread: Option<JoinHandle<bool>>,
}

impl Watchdog {
    /// Interrupts `handle`'s connection once `limit` has passed, unless
    /// finished first.
    pub fn start(limit: Duration, handle: Interrupter) -> Watchdog {
        let (cancel, cancelled) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || match cancelled.recv_timeout(limit) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                handle.interrupt();
                true
            }
            _ => false,
        });
        Watchdog { cancel, thread: Some(thread) }
    }

    /// Disarms the watchdog; true when it fired. After it fired, `conn` and
    /// `reader` are cleared of an interrupt that landed between two
    /// statements, so a connection's next statement is not cancelled by mistake.
    pub fn finish(mut self, conn: &Connection, reader: Option<&RawConn>) -> bool {
        let _ = self.cancel.send(());
        let fired = self.thread.take().map(|t| t.join().unwrap_or(false)).unwrap_or(false);
        if fired {
            // An interrupt that found no running query is consumed by the
            // next one; spend it on a statement that does nothing.
            for _ in 0..2 {
                if conn.execute_batch("select 1").is_ok() {
                    break;
                }
            }
            for _ in 0..2 {
                if reader.is_none_or(|r| r.query("select 1").is_ok()) {
                    break;
                }
            }
        }
        fired
    }
}

/// The message of a timed-out attempt, as the history and console show it.
pub fn message(limit: Duration) -> String {
    format!(
        "execution timed out after {} (`execution_timeout`); its statement was interrupted and rolled back",
        humanize(limit)
    )
}

fn humanize(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 != 0 {
        format!("{:.3}s", d.as_secs_f64())
    } else {
        format!("{}s", d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const SLOW: &str = "select count(*) from range(100000) a, range(100000) b where (a.range * 7 + b.range) % 1013 = 5";

    #[test]
    fn a_long_statement_is_interrupted_at_the_limit() {
        let conn = Connection::open_in_memory().expect("db");
        let started = Instant::now();
        let dog = Watchdog::start(Duration::from_millis(200), Interrupter::new(&conn, None));
        let result = conn.execute_batch(SLOW);
        assert!(dog.finish(&conn, None), "fired");
        let err = result.expect_err("interrupted");
        assert!(err.to_string().to_lowercase().contains("interrupt"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(20), "stopped near the limit");
        conn.execute_batch("select 42").expect("the connection is usable afterwards");
    }

    #[test]
    fn a_long_read_back_query_is_interrupted_too() {
        let (db, conn) = crate::db::raw::Instance::open(None, false).expect("db");
        let reader = db.connect().expect("reader");
        let dog = Watchdog::start(Duration::from_millis(200), Interrupter::new(&conn, Some(&reader)));
        let result = reader.query(SLOW);
        assert!(dog.finish(&conn, Some(&reader)), "fired");
        let err = result.expect_err("interrupted");
        assert!(err.to_string().to_lowercase().contains("interrupt"), "{err}");
        assert_eq!(reader.query("select 42").expect("usable afterwards"), [vec![Some("42".to_string())]]);
    }

    #[test]
    fn a_quick_attempt_disarms_it() {
        let conn = Connection::open_in_memory().expect("db");
        let dog = Watchdog::start(Duration::from_secs(30), Interrupter::new(&conn, None));
        conn.execute_batch("create table t as select 1 as x").expect("quick");
        let started = Instant::now();
        assert!(!dog.finish(&conn, None));
        assert!(started.elapsed() < Duration::from_secs(5), "finish does not wait for the limit");
    }

    #[test]
    fn an_interrupt_between_statements_does_not_cancel_the_next_one() {
        let conn = Connection::open_in_memory().expect("db");
        let dog = Watchdog::start(Duration::from_millis(1), Interrupter::new(&conn, None));
        std::thread::sleep(Duration::from_millis(50));
        assert!(dog.finish(&conn, None), "fired while idle");
        conn.execute_batch("create table t as select 1 as x").expect("not cancelled by the stale interrupt");
    }

    #[test]
    fn messages_name_the_limit() {
        assert!(message(Duration::from_secs(5)).contains("after 5s"));
        assert!(message(Duration::from_millis(1500)).contains("after 1.500s"));
    }
}
