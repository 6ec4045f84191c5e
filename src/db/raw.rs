//! DuckDB's C API for the two things the `duckdb` crate does not offer: an
//! instance `runner` owns (so it can open more connections to it), and a
//! query whose rows come back without a prepared statement.
//!
//! Why: the crate reads rows only through prepared statements, and DuckDB 2.0
//! binds and plans a prepared statement that reads a table again when it
//! executes it (the optimizer may have embedded the database's state), so
//! every data test, catalog read and seed inference was planned twice.
//! `duckdb_query` plans once. Owns the unsafe code and nothing else: it
//! knows no SQL of `runner`'s and decides nothing.

use duckdb::{ffi, Connection};
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::sync::{Arc, Mutex, PoisonError};

/// An instance opened through the C API, closed on drop. DuckDB's connections
/// keep the instance alive, so closing this only ends it once every
/// connection to it has also gone (that is when DuckDB checkpoints). A
/// `duckdb` crate connection on it must not be `try_clone`d after this drops:
/// the crate opens clones through this handle (the registry drops both together).
pub struct Instance {
    db: ffi::duckdb_database,
}

// DuckDB's database object is thread-safe; the handle is only a pointer to it.
unsafe impl Send for Instance {}
unsafe impl Sync for Instance {}

impl Instance {
    /// Opens `path` (`None`: in memory), read-only when asked, and a `duckdb`
    /// crate connection to it.
    pub fn open(path: Option<&str>, read_only: bool) -> Result<(Instance, Connection), duckdb::Error> {
        let path = path.map(CString::new).transpose()?;
        let mut config: ffi::duckdb_config = ptr::null_mut();
        let mut db: ffi::duckdb_database = ptr::null_mut();
        let mut err: *mut c_char = ptr::null_mut();
        // SAFETY: every out-pointer is valid; the config is destroyed after the
        // open (DuckDB copies it) and the error string is freed once read.
        let rc = unsafe {
            if ffi::duckdb_create_config(&mut config) != ffi::DuckDBSuccess {
                return Err(failure("cannot create a DuckDB configuration".into()));
            }
            let mode = if read_only { c"READ_ONLY" } else { c"READ_WRITE" };
            ffi::duckdb_set_config(config, c"access_mode".as_ptr(), mode.as_ptr());
            let rc = ffi::duckdb_open_ext(path.as_ref().map_or(ptr::null(), |p| p.as_ptr()), &mut db, config, &mut err);
            ffi::duckdb_destroy_config(&mut config);
            rc
        };
        if rc != ffi::DuckDBSuccess {
            let message = take_c_string(err).unwrap_or_else(|| "cannot open the database".into());
            return Err(failure(message));
        }
        let instance = Instance { db };
        // SAFETY: `db` is open and stays open while `instance` lives; the crate
        // does not close it (`open_from_raw` leaves that to the owner).
        let conn = unsafe { Connection::open_from_raw(instance.db)? };
        Ok((instance, conn))
    }

    /// A connection for [`RawConn::query`].
    pub fn connect(&self) -> Result<RawConn, duckdb::Error> {
        let mut con: ffi::duckdb_connection = ptr::null_mut();
        // SAFETY: `self.db` is open; `con` is a valid out-pointer.
        if unsafe { ffi::duckdb_connect(self.db, &mut con) } != ffi::DuckDBSuccess {
            return Err(failure("cannot connect to the database".into()));
        }
        Ok(RawConn { con, alive: Arc::new(Mutex::new(true)) })
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: opened in `open`, closed exactly once here.
        unsafe { ffi::duckdb_close(&mut self.db) }
    }
}

/// A connection that runs one statement at a time and returns its rows.
pub struct RawConn {
    con: ffi::duckdb_connection,
    /// Shared with interrupt handles: false once disconnected, so a late
    /// interrupt never reaches a freed connection.
    alive: Arc<Mutex<bool>>,
}

// Used by one thread at a time; other threads only interrupt it, which
// DuckDB allows, through `RawInterrupt`'s check of `alive`.
unsafe impl Send for RawConn {}

/// What a name in a catalog is, as [`RawConn::relation_kind`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    View,
}

/// One row of a result, every value as DuckDB casts it to text (`None` for NULL).
pub type Row = Vec<Option<String>>;

impl RawConn {
    /// Runs `sql` (one or more statements) and returns the last one's rows.
    pub fn query(&self, sql: &str) -> Result<Vec<Row>, duckdb::Error> {
        let c_sql = CString::new(sql)?;
        // SAFETY: `duckdb_result` is plain data that DuckDB fills; it is
        // destroyed once on every path below.
        let mut result: ffi::duckdb_result = unsafe { std::mem::zeroed() };
        // SAFETY: `self.con` is connected (it disconnects only on drop).
        let rc = unsafe { ffi::duckdb_query(self.con, c_sql.as_ptr(), &mut result) };
        let rows = if rc == ffi::DuckDBSuccess {
            // SAFETY: `result` holds a successful result; indices stay in range.
            Ok(unsafe { read_rows(&mut result) })
        } else {
            // SAFETY: the error string belongs to `result` and is copied before it is destroyed.
            let message = unsafe {
                let e = ffi::duckdb_result_error(&mut result);
                (!e.is_null()).then(|| CStr::from_ptr(e).to_string_lossy().into_owned())
            };
            Err(failure(message.unwrap_or_else(|| "the query failed".into())))
        };
        // SAFETY: `result` was filled by `duckdb_query` and is destroyed once.
        unsafe { ffi::duckdb_destroy_result(&mut result) };
        rows
    }

    /// What `catalog.schema.name` is, looked up in that catalog alone (`None`
    /// when nothing has that name). A listing (`duckdb_tables()`) would also create every default
    /// view of DuckDB's system catalog on its first use in a process, parsing
    /// each one's SQL: 10-20 ms, more than most nodes take.
    pub fn relation_kind(
        &self,
        catalog: &str,
        schema: &str,
        name: &str,
    ) -> Result<Option<RelationKind>, duckdb::Error> {
        let (catalog, schema, name) = (CString::new(catalog)?, CString::new(schema)?, CString::new(name)?);
        let mut desc: ffi::duckdb_table_description = ptr::null_mut();
        // SAFETY: `self.con` is connected; the names are NUL-terminated and
        // outlive the call; `desc` is a valid out-pointer, destroyed below.
        let rc = unsafe {
            ffi::duckdb_table_description_create_ext(
                self.con,
                catalog.as_ptr(),
                schema.as_ptr(),
                name.as_ptr(),
                &mut desc,
            )
        };
        // SAFETY: the error string belongs to `desc` and is copied before it is destroyed.
        let error = unsafe {
            let e = ffi::duckdb_table_description_error(desc);
            (!e.is_null()).then(|| CStr::from_ptr(e).to_string_lossy().into_owned())
        };
        // SAFETY: created above (also on failure), destroyed once.
        unsafe { ffi::duckdb_table_description_destroy(&mut desc) };
        if rc == ffi::DuckDBSuccess {
            return Ok(Some(RelationKind::Table));
        }
        // DuckDB keeps tables and views in one set: asked for a table, it
        // finds the view and says it is not one.
        match error {
            Some(e) if e.contains("is not an table") => Ok(Some(RelationKind::View)),
            Some(e) if e.contains("No table with that schema+name could be located") => Ok(None),
            e => Err(failure(e.unwrap_or_else(|| "cannot look up a relation".into()))),
        }
    }

    /// A handle that cancels the statement this connection is running.
    pub fn interrupt_handle(&self) -> RawInterrupt {
        RawInterrupt { con: self.con, alive: Arc::clone(&self.alive) }
    }
}

impl Drop for RawConn {
    fn drop(&mut self) {
        let mut alive = self.alive.lock().unwrap_or_else(PoisonError::into_inner);
        *alive = false;
        // SAFETY: connected in `Instance::connect`; disconnected exactly once,
        // under the lock interrupts take.
        unsafe { ffi::duckdb_disconnect(&mut self.con) }
    }
}

/// Cancels a [`RawConn`]'s running statement; does nothing once it is gone.
pub struct RawInterrupt {
    con: ffi::duckdb_connection,
    alive: Arc<Mutex<bool>>,
}

unsafe impl Send for RawInterrupt {}
unsafe impl Sync for RawInterrupt {}

impl RawInterrupt {
    pub fn interrupt(&self) {
        let alive = self.alive.lock().unwrap_or_else(PoisonError::into_inner);
        if *alive {
            // SAFETY: the connection is still connected while `alive` is held true.
            unsafe { ffi::duckdb_interrupt(self.con) }
        }
    }
}

/// Cancels what a worker's connections are running: its `duckdb` crate
/// connection and, when it has one, its [`RawConn`]; and, through a stop
/// flag, a child process the worker waits for (a Python model's).
#[derive(Clone)]
pub struct Interrupter {
    /// Shared by every clone, so [`Interrupter::retarget`] moves them all.
    conn: Arc<Mutex<Arc<duckdb::InterruptHandle>>>,
    raw: Option<Arc<RawInterrupt>>,
    stop: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl Interrupter {
    pub fn new(conn: &Connection, raw: Option<&RawConn>) -> Interrupter {
        Interrupter {
            conn: Arc::new(Mutex::new(conn.interrupt_handle())),
            raw: raw.map(|r| Arc::new(r.interrupt_handle())),
            stop: None,
        }
    }

    /// Interrupts `conn` from now on instead of the connection it was made
    /// for (a worker running one node on a connection of its own).
    pub fn retarget(&self, conn: &Connection) {
        *self.conn.lock().unwrap_or_else(PoisonError::into_inner) = conn.interrupt_handle();
    }

    /// Also sets `stop` when interrupting; whoever waits on a child process checks it.
    pub fn with_stop(mut self, stop: Arc<std::sync::atomic::AtomicBool>) -> Interrupter {
        self.stop = Some(stop);
        self
    }

    pub fn interrupt(&self) {
        if let Some(stop) = &self.stop {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.conn.lock().unwrap_or_else(PoisonError::into_inner).interrupt();
        if let Some(raw) = &self.raw {
            raw.interrupt();
        }
    }
}

/// # Safety
/// `result` must hold a successful query result.
unsafe fn read_rows(result: &mut ffi::duckdb_result) -> Vec<Row> {
    let (rows, cols) = unsafe { (ffi::duckdb_row_count(result), ffi::duckdb_column_count(result)) };
    (0..rows)
        .map(|r| {
            (0..cols)
                .map(|c| unsafe {
                    if ffi::duckdb_value_is_null(result, c, r) {
                        None
                    } else {
                        take_c_string(ffi::duckdb_value_varchar(result, c, r))
                    }
                })
                .collect()
        })
        .collect()
}

/// Copies and frees a string DuckDB allocated for the caller.
fn take_c_string(s: *mut c_char) -> Option<String> {
    if s.is_null() {
        return None;
    }
    // SAFETY: DuckDB returned a NUL-terminated string that the caller owns.
    let text = unsafe { CStr::from_ptr(s).to_string_lossy().into_owned() };
    unsafe { ffi::duckdb_free(s.cast()) };
    Some(text)
}

fn failure(message: String) -> duckdb::Error {
    duckdb::Error::DuckDBFailure(ffi::Error::new(ffi::DuckDBError), Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_text_with_nulls() {
        let (db, conn) = Instance::open(None, false).expect("open");
        conn.execute_batch("create table t as select * from (values (1, 'a', true), (2, null, false)) v(n, s, b)")
            .expect("setup");
        let raw = db.connect().expect("connect");
        let rows = raw.query("select n, s, b, n::double / 4 from t order by n").expect("query");
        let text = |v: &[&str]| v.iter().map(|s| (*s != "NULL").then(|| s.to_string())).collect::<Row>();
        assert_eq!(rows, [text(&["1", "a", "true", "0.25"]), text(&["2", "NULL", "false", "0.5"])]);
        assert!(raw.query("select 1 where false").expect("query").is_empty());
        // Several statements: the last one's rows.
        assert_eq!(raw.query("create table u as select 3 as x; select x from u").expect("query"), [text(&["3"])]);
    }

    #[test]
    fn errors_carry_duckdbs_message_and_interrupts_outlive_the_connection() {
        let (db, _conn) = Instance::open(None, false).expect("open");
        let raw = db.connect().expect("connect");
        let err = raw.query("select * from missing").expect_err("no such table");
        assert!(err.to_string().contains("missing"), "{err}");
        let handle = raw.interrupt_handle();
        drop(raw);
        handle.interrupt();
    }

    #[test]
    fn a_read_only_open_refuses_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.duckdb").to_string_lossy().into_owned();
        drop(Instance::open(Some(&path), false).expect("create"));
        let (db, conn) = Instance::open(Some(&path), true).expect("open read-only");
        assert!(conn.execute_batch("create table t (x int)").is_err());
        assert!(db.connect().expect("connect").query("create table t (x int)").is_err());
        let err = Instance::open(Some(&dir.path().join("no/such/dir.duckdb").to_string_lossy()), false);
        assert!(err.is_err());
    }
}
