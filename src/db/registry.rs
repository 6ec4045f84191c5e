//! The one place in `runner` that opens a DuckDB file.
//!
//! Owns the process-wide registry of open databases, keyed by canonical path,
//! and the settings every connection gets. It exists because a second
//! `Connection::open` of the same file in one process silently creates an
//! independent database instance on that file, which corrupts it; every worker
//! must instead get a `try_clone()` of the one root connection. The file itself
//! is attached by `db::attach` to an in-memory instance started ahead of need
//! (`db::spare`), so the lock handoff costs an `ATTACH`, not a DuckDB start-up.
//! It must not take the `runner` cross-process lock (that is `db::lock`, taken
//! by the caller first), run models, or print anything.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

use super::attach::attach_with_retry;
use super::raw::{Instance, RawConn};
use super::spare::fresh_instance;
use duckdb::Connection;

const MEMORY: &str = ":memory:";

/// One registry entry. The slot outlives the `Weak` going dead: `open` must
/// also wait until the old instance has actually closed (DuckDB checkpoints
/// on close), or two instances would briefly share the file.
struct Slot {
    state: Mutex<SlotState>,
    closed: Condvar,
}

struct SlotState {
    db: Weak<Database>,
    open: bool,
}

static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Arc<Slot>>>> = OnceLock::new();

/// A poisoned lock only means another thread panicked; the data stays valid.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An open DuckDB database, shared by everything in this process that uses the file.
///
/// The file closes when the last `Arc<Database>` drops *and* every connection
/// from [`Database::connect`] has dropped (clones keep DuckDB's instance
/// alive). Callers must drop connections before the `Arc`: a connection that
/// outlives it keeps an instance the registry no longer knows about.
pub struct Database {
    conn: Mutex<Option<Connection>>,
    /// Dropped right after `conn`: the instance's own handle, for [`Database::reader`].
    instance: Mutex<Option<Instance>>,
    path: PathBuf,
    read_only: bool,
    catalog: String,
    settings: BTreeMap<String, String>,
    slot: Option<Arc<Slot>>,
    /// Nodes writing to this file right now, across every run in this process.
    writers: Arc<AtomicUsize>,
}

impl Database {
    /// The count of nodes writing to this file now; the scheduler admits a
    /// writer only while it is under the per-file cap.
    pub fn writers(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.writers)
    }

    /// A new connection to this database with the settings applied.
    pub fn connect(&self) -> Result<Connection, OpenError> {
        let conn = {
            let root = lock(&self.conn);
            let root = root.as_ref().ok_or_else(|| self.duckdb_error("the database is closing"))?;
            root.try_clone().map_err(|e| self.duckdb_error(e.to_string()))?
        };
        apply_settings(&self.path, &self.settings, |sql| conn.execute_batch(sql))?;
        Ok(conn)
    }

    /// A connection for queries whose rows are read back (planned once; see
    /// `db::raw`), with the settings applied.
    pub fn reader(&self) -> Result<RawConn, OpenError> {
        let raw = {
            let instance = lock(&self.instance);
            let instance = instance.as_ref().ok_or_else(|| self.duckdb_error("the database is closing"))?;
            instance.connect().map_err(|e| self.duckdb_error(e.to_string()))?
        };
        apply_settings(&self.path, &self.settings, |sql| raw.query(sql).map(drop))?;
        Ok(raw)
    }

    /// The catalog DuckDB names after the file (`shop` for `shop.duckdb`).
    pub fn catalog(&self) -> &str {
        &self.catalog
    }

    /// The canonical path (`:memory:` for an in-memory database).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    fn duckdb_error(&self, message: impl Into<String>) -> OpenError {
        OpenError::Duckdb { path: self.path.clone(), message: message.into() }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .field("catalog", &self.catalog)
            .finish()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Close the root connection and the instance before telling waiting
        // openers the file is free.
        drop(lock(&self.conn).take());
        drop(lock(&self.instance).take());
        if let Some(slot) = &self.slot {
            lock(&slot.state).open = false;
            slot.closed.notify_all();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("database `{}` is already open read-only in this process, cannot open it read-write\n  (hint: open it read-write first, or finish the read-only work before writing)", .path.display())]
    ReadOnlyConflict { path: PathBuf },
    #[error("timed out after {:.1}s waiting for {holder} to release the database `{}`\n  (hint: close that program, or raise --lock-timeout)", .waited.as_secs_f64(), .path.display())]
    ForeignLock { path: PathBuf, holder: String, waited: Duration },
    #[error("cannot open the database `{}`: {message}", .path.display())]
    Duckdb { path: PathBuf, message: String },
    #[error("cannot create the directory for the database `{}`: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot apply setting `{key}` to the database `{}`: {message}\n  (hint: check `settings:` in profiles.yml)", .path.display())]
    Setting { path: PathBuf, key: String, message: String },
}

/// Opens `path`, or returns the instance this process already has open.
///
/// When another program holds the file, `on_foreign_wait` is called once with
/// a description of it and the open is retried until `foreign_timeout`
/// (`None` waits forever, `Some(ZERO)` fails at once without the callback).
/// An existing instance keeps the settings it was first opened with.
pub fn open(
    path: &Path,
    read_only: bool,
    settings: &BTreeMap<String, String>,
    foreign_timeout: Option<Duration>,
    on_foreign_wait: &mut dyn FnMut(&str),
) -> Result<Arc<Database>, OpenError> {
    if path.as_os_str() == MEMORY {
        let pair =
            fresh_instance().map_err(|e| OpenError::Duckdb { path: path.to_path_buf(), message: e.to_string() })?;
        return finish(pair, None, path.to_path_buf(), read_only, settings, None);
    }
    let key = canonical(path)?;
    let slot = slot_for(&key);
    let mut state = lock(&slot.state);
    loop {
        if let Some(db) = state.db.upgrade() {
            if db.read_only && !read_only {
                // Drop the state guard first: if `db` is the last reference,
                // its Drop locks this same slot.
                drop(state);
                return Err(OpenError::ReadOnlyConflict { path: key });
            }
            return Ok(db);
        }
        if !state.open {
            break;
        }
        state = slot.closed.wait(state).unwrap_or_else(PoisonError::into_inner);
    }
    let (instance, conn, name) = attach_with_retry(&key, read_only, foreign_timeout, on_foreign_wait)?;
    let db = finish((instance, conn), name, key, read_only, settings, Some(Arc::clone(&slot)))?;
    state.db = Arc::downgrade(&db);
    state.open = true;
    Ok(db)
}

/// The parent directory is canonicalized rather than the file, which may not
/// exist yet. No folder is created: callers check first (`setup::check_path`).
fn canonical(path: &Path) -> Result<PathBuf, OpenError> {
    if let Ok(full) = path.canonicalize() {
        return Ok(full);
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| OpenError::Duckdb { path: path.to_path_buf(), message: "the path names no file".to_string() })?;
    let dir = parent.canonicalize().or_else(|_| std::path::absolute(parent));
    let dir = dir.map_err(|source| OpenError::Io { path: path.to_path_buf(), source })?;
    Ok(dir.join(name))
}

fn slot_for(key: &Path) -> Arc<Slot> {
    let mut map = lock(REGISTRY.get_or_init(Default::default));
    // Only the map referencing a slot means no instance and no opener: forget it.
    map.retain(|k, slot| k == key || Arc::strong_count(slot) > 1);
    let slot = map.entry(key.to_path_buf()).or_insert_with(|| {
        Arc::new(Slot { state: Mutex::new(SlotState { db: Weak::new(), open: false }), closed: Condvar::new() })
    });
    Arc::clone(slot)
}

/// `name`: the catalog's name when attaching learned it.
fn finish(
    (instance, conn): (Instance, Connection),
    name: Option<String>,
    path: PathBuf,
    read_only: bool,
    settings: &BTreeMap<String, String>,
    slot: Option<Arc<Slot>>,
) -> Result<Arc<Database>, OpenError> {
    // Applying the settings here too makes a bad setting fail at open, not in a worker.
    apply_settings(&path, settings, |sql| conn.execute_batch(sql))?;
    // A setting may move the default catalog (`schema`, `search_path`): then ask.
    let catalog = match name.filter(|_| settings.is_empty()) {
        Some(name) => name,
        None => conn
            .query_row("select current_database()", [], |row| row.get::<_, String>(0))
            .map_err(|e| OpenError::Duckdb { path: path.clone(), message: e.to_string() })?,
    };
    Ok(Arc::new(Database {
        conn: Mutex::new(Some(conn)),
        instance: Mutex::new(Some(instance)),
        path,
        read_only,
        catalog,
        settings: settings.clone(),
        slot,
        writers: Arc::new(AtomicUsize::new(0)),
    }))
}

/// Runs a `SET` for each setting through `run` (a crate or a raw connection).
fn apply_settings(
    path: &Path,
    settings: &BTreeMap<String, String>,
    run: impl Fn(&str) -> Result<(), duckdb::Error>,
) -> Result<(), OpenError> {
    for (key, value) in settings {
        let error = |message: String| OpenError::Setting { path: path.to_path_buf(), key: key.clone(), message };
        let sql = set_statement(key, value).ok_or_else(|| error("not a valid setting name".to_string()))?;
        run(&sql).map_err(|e| error(e.to_string()))?;
    }
    Ok(())
}

pub(super) fn set_statement(key: &str, value: &str) -> Option<String> {
    // The key cannot be bound as a parameter, so only plain names are allowed.
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        return None;
    }
    let numeric = !value.is_empty()
        && value.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
        && value.parse::<f64>().is_ok();
    Some(if numeric { format!("SET {key} = {value}") } else { format!("SET {key} = '{}'", value.replace('\'', "''")) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_wait(holder: &str) {
        panic!("did not expect to wait for {holder}");
    }

    fn open_with(path: &Path, read_only: bool, settings: &[(&str, &str)]) -> Result<Arc<Database>, OpenError> {
        let settings = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        open(path, read_only, &settings, Some(Duration::ZERO), &mut no_wait)
    }

    fn query(db: &Database, sql: &str) -> String {
        db.connect().expect("test setup").query_row(sql, [], |r| r.get::<_, String>(0)).expect("test setup")
    }

    #[test]
    fn same_path_shares_one_instance_until_closed() {
        let dir = tempfile::tempdir().expect("test setup");
        // Callers check the folder exists (`setup::check_path`); opening never creates it.
        std::fs::create_dir(dir.path().join("data")).expect("test setup");
        let a = open_with(&dir.path().join("data/shop.duckdb"), false, &[]).expect("test setup");
        // A different spelling of the same file must find the same instance.
        let b = open_with(&dir.path().join("data/../data/shop.duckdb"), false, &[]).expect("test setup");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.catalog(), "shop");
        assert!(a.path().is_absolute() && !a.read_only());
        a.connect().expect("test setup").execute_batch("create table t as select 42 as x").expect("test setup");
        assert_eq!(query(&b, "select x::varchar from t"), "42");

        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(weak.upgrade().is_none());
        let again = open_with(&dir.path().join("data/shop.duckdb"), false, &[]).expect("test setup");
        assert_eq!(query(&again, "select count(*)::varchar from t"), "1");
    }

    #[test]
    fn settings_apply_to_every_connection() {
        let dir = tempfile::tempdir().expect("test setup");
        let db = open_with(&dir.path().join("s.duckdb"), false, &[("threads", "2"), ("default_order", "desc")]);
        let db = db.expect("test setup");
        assert_eq!(query(&db, "select current_setting('threads')::varchar"), "2");
        assert_eq!(query(&db, "select current_setting('default_order')").to_lowercase(), "desc");
    }

    #[test]
    fn bad_settings_fail_at_open() {
        let dir = tempfile::tempdir().expect("test setup");
        for key in ["no_such_setting", "threads; drop table x"] {
            let err = open_with(&dir.path().join("s.duckdb"), false, &[(key, "1")]).unwrap_err();
            assert!(matches!(err, OpenError::Setting { .. }), "{err}");
            assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
        }
        assert_eq!(set_statement("threads", "4").as_deref(), Some("SET threads = 4"));
        assert_eq!(set_statement("memory_limit", "1GB").as_deref(), Some("SET memory_limit = '1GB'"));
        assert_eq!(set_statement("search_path", "it's").as_deref(), Some("SET search_path = 'it''s'"));
    }

    #[test]
    fn read_only_open_reads_and_refuses_writes() {
        let dir = tempfile::tempdir().expect("test setup");
        let path = dir.path().join("ro.duckdb");
        let rw = open_with(&path, false, &[]).expect("test setup");
        rw.connect().expect("test setup").execute_batch("create table t as select 7 as x").expect("test setup");
        drop(rw);
        let db = open_with(&path, true, &[]).expect("test setup");
        assert!(db.read_only());
        assert_eq!(query(&db, "select x::varchar from t"), "7");
        assert!(db.connect().expect("test setup").execute_batch("insert into t values (8)").is_err());

        let err = open_with(&path, false, &[]).unwrap_err();
        assert!(matches!(err, OpenError::ReadOnlyConflict { .. }), "{err}");
        assert!(err.to_string().contains("already open read-only"), "{err}");

        let err = open_with(&dir.path().join("none/x.duckdb"), true, &[]).unwrap_err();
        assert!(err.to_string().starts_with("cannot open the database `"), "{err}");
    }

    #[test]
    fn an_attached_file_looks_like_a_directly_opened_one() {
        let dir = tempfile::tempdir().expect("test setup");
        let path = dir.path().join("wh.duckdb");
        crate::db::prestart_and_wait();
        let db = open_with(&path, false, &[]).expect("test setup");
        let conn = db.connect().expect("test setup");
        let names: Vec<String> = conn
            .prepare("select database_name from duckdb_databases() order by 1")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("test setup");
        assert_eq!(names, ["system", "temp", "wh"]);
        assert_eq!(query(&db, "select current_database()"), "wh");
        let spill = query(&db, "select current_setting('temp_directory')");
        assert_eq!(Path::new(&spill), db.path().with_file_name("wh.duckdb.tmp"));
        conn.execute_batch("create table t as select 5 as x").expect("test setup");
        drop((conn, db));
        // Closing checkpoints the attached file, as closing a direct open does.
        assert!(!path.with_file_name("wh.duckdb.wal").exists());
        let direct = Connection::open(&path).expect("test setup");
        assert_eq!(direct.query_row("select x from wh.t", [], |r| r.get::<_, i32>(0)).expect("test setup"), 5);
    }

    #[test]
    fn a_file_named_like_the_spare_instance_still_opens() {
        let dir = tempfile::tempdir().expect("test setup");
        let db = open_with(&dir.path().join("memory.duckdb"), false, &[]).expect("test setup");
        db.connect().expect("test setup").execute_batch("create table t as select 1 as x").expect("test setup");
        assert_eq!(query(&db, "select count(*)::varchar from t"), "1");
    }

    #[test]
    fn memory_databases_are_never_shared() {
        let a = open_with(Path::new(":memory:"), false, &[]).expect("test setup");
        let b = open_with(Path::new(":memory:"), false, &[]).expect("test setup");
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(a.catalog(), "memory");
    }

    /// Another program holding DuckDB's own fcntl lock; skipped without python3.
    #[cfg(unix)]
    #[test]
    fn waits_for_a_foreign_holder_then_times_out() {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};

        let dir = tempfile::tempdir().expect("test setup");
        let path = dir.path().join("f.duckdb");
        drop(open_with(&path, false, &[]).expect("test setup"));
        let script = "import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.lockf(f,fcntl.LOCK_EX)\n\
                      print('locked',flush=True)\ntime.sleep(60)";
        let child = Command::new("python3").arg("-c").arg(script).arg(&path).stdout(Stdio::piped()).spawn();
        let Ok(mut child) = child else { return };
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("test setup")).read_line(&mut line).expect("test setup");
        assert_eq!(line.trim(), "locked");

        let mut seen = Vec::new();
        let timeout = Some(Duration::from_millis(200));
        let result = open(&path, false, &BTreeMap::new(), timeout, &mut |h: &str| seen.push(h.to_string()));
        child.kill().expect("test setup");
        child.wait().expect("test setup");
        let err = result.unwrap_err();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].starts_with(&format!("pid {}", child.id())), "{}", seen[0]);
        assert!(matches!(err, OpenError::ForeignLock { .. }), "{err}");
        assert!(err.to_string().contains("(hint: close that program"), "{err}");
        assert_eq!(open_with(&path, false, &[]).expect("test setup").catalog(), "f");
    }
}
