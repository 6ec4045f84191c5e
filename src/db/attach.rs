//! Getting a DuckDB file into a fresh instance: `ATTACH` it to the spare
//! in-memory instance and make it that instance's only database, retrying
//! while another program (the DuckDB CLI, a BI tool) holds the file, and
//! reading who that is from DuckDB's lock error. Owns no registry state and
//! takes no `runner` lock; the registry calls it once per file it opens.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::raw::Instance;
use super::registry::OpenError;
use super::spare::fresh_instance;
use crate::project::profile::catalog_name_of;
use duckdb::Connection;

const FIRST_RETRY: Duration = Duration::from_millis(25);
const MAX_RETRY: Duration = Duration::from_millis(500);

/// Attaches `path` to a fresh in-memory instance and makes it the only
/// database of that instance, so DuckDB names it and resolves unqualified
/// names exactly as when it opens the file directly (`shop` for
/// `shop.duckdb`; `duckdb_databases()` lists the same). Retries while another
/// program holds the file. Any other attach error falls back to opening the
/// file directly, which reports it in DuckDB's usual words. Returns the
/// catalog's name when the attach learned it (not after that fallback).
pub(super) fn attach_with_retry(
    path: &Path,
    read_only: bool,
    timeout: Option<Duration>,
    on_foreign_wait: &mut dyn FnMut(&str),
) -> Result<(Instance, Connection, Option<String>), OpenError> {
    let duckdb_error = |message: String| OpenError::Duckdb { path: path.to_path_buf(), message };
    let start = Instant::now();
    let mut delay = FIRST_RETRY;
    let mut told = false;
    let (instance, conn) = fresh_instance().map_err(|e| duckdb_error(e.to_string()))?;
    loop {
        let message = match attach_as_only(&conn, path, read_only, catalog_name_of(path)) {
            Ok(name) => return Ok((instance, conn, Some(name))),
            Err(e) => e.to_string(),
        };
        if !is_foreign_lock(&message) {
            drop((conn, instance));
            let file = path.to_string_lossy();
            let (instance, conn) = Instance::open(Some(&file), read_only).map_err(|e| duckdb_error(e.to_string()))?;
            return Ok((instance, conn, None));
        }
        let holder = parse_foreign_holder(&message).unwrap_or_else(|| "another program".to_string());
        let elapsed = start.elapsed();
        let mut nap = delay + jitter(delay / 4);
        if let Some(limit) = timeout {
            if elapsed >= limit {
                return Err(OpenError::ForeignLock { path: path.to_path_buf(), holder, waited: elapsed });
            }
            nap = nap.min(limit - elapsed);
        }
        if !told {
            told = true;
            on_foreign_wait(&holder);
        }
        thread::sleep(nap);
        delay = (delay * 2).min(MAX_RETRY);
    }
}

/// Attaches `path` and makes it the instance's only database; returns the
/// name DuckDB gave it. When DuckDB chose the `expected` name it is one
/// batch; otherwise DuckDB's name is read back and used.
fn attach_as_only(
    conn: &Connection,
    path: &Path,
    read_only: bool,
    expected: Option<&str>,
) -> Result<String, duckdb::Error> {
    let file = path.to_string_lossy().replace('\'', "''");
    let options = if read_only { " (READ_ONLY)" } else { "" };
    // A direct open keeps spill files next to the database (`<file>.tmp`); an
    // in-memory instance would use `.tmp` in the working directory.
    let settle =
        |name: &str| format!("USE \"{}\"; DETACH memory; SET temp_directory = '{file}.tmp'", name.replace('"', "\"\""));
    let attach = format!("ATTACH '{file}'{options}");
    if let Some(name) = expected {
        // `USE` of the expected name fails unless DuckDB chose that name, so
        // success proves the guess.
        match conn.execute_batch(&format!("{attach}; {}", settle(name))) {
            Ok(()) => return Ok(name.to_string()),
            Err(e) if attached_name(conn).is_err() => return Err(e),
            Err(_) => {}
        }
    } else {
        conn.execute_batch(&attach)?;
    }
    let name = attached_name(conn)?;
    conn.execute_batch(&settle(&name))?;
    Ok(name)
}

/// The name DuckDB gave the attached file (an error when none is attached).
fn attached_name(conn: &Connection) -> Result<String, duckdb::Error> {
    conn.query_row(
        "select database_name from duckdb_databases() where not internal and database_name <> 'memory'",
        [],
        |row| row.get(0),
    )
}

fn is_foreign_lock(message: &str) -> bool {
    (message.contains("Could not set lock on file") && !message.contains("held in current process"))
        || message.contains("The process cannot access the file")
        || message.contains("File is already open in")
}

/// Spreads retries of several waiters apart; time nanos are random enough for that.
fn jitter(max: Duration) -> Duration {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let max_nanos = max.as_nanos().max(1) as u64;
    Duration::from_nanos(u64::from(nanos ^ std::process::id()) % max_nanos)
}

/// Describes the process named in DuckDB's lock error, e.g. ``pid 4242 (`/usr/bin/duckdb`)``.
fn parse_foreign_holder(msg: &str) -> Option<String> {
    let at = msg.find("PID ")?;
    let digits: String = msg[at + 4..].chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let before = &msg[..at];
    // POSIX: "held in <exe> (PID n)"; Windows: "already open in \n<exe> (PID n)".
    let exe = ["held in ", "open in "]
        .iter()
        .filter_map(|marker| before.rfind(marker).map(|i| &before[i + marker.len()..]))
        .min_by_key(|rest| rest.len())
        .map(|rest| rest.trim().trim_end_matches('(').trim())
        .filter(|exe| !exe.is_empty());
    Some(match exe {
        Some(exe) => format!("pid {digits} (`{exe}`)"),
        None => format!("pid {digits}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn databases(conn: &Connection) -> Vec<String> {
        let mut stmt = conn.prepare("select database_name from duckdb_databases() where not internal").expect("query");
        let names = stmt.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>();
        names.expect("rows")
    }

    #[test]
    fn attaching_with_a_right_or_wrong_expected_name_gives_duckdbs_name() {
        let dir = tempfile::tempdir().expect("test setup");
        for expected in [Some("shop"), Some("not_the_name"), None] {
            let path = dir.path().join("shop.dev.duckdb");
            let (_instance, conn) = Instance::open(None, false).expect("test setup");
            assert_eq!(attach_as_only(&conn, &path, false, expected).expect("attached"), "shop", "{expected:?}");
            assert_eq!(databases(&conn), ["shop"], "{expected:?}: the file is the only database");
            let current: String = conn.query_row("select current_database()", [], |r| r.get(0)).expect("query");
            assert_eq!(current, "shop");
        }
        assert_eq!(catalog_name_of(&dir.path().join("shop.dev.duckdb")), Some("shop"));
        assert_eq!(catalog_name_of(Path::new(".duckdb")), None);
    }

    #[test]
    fn a_failed_attach_is_reported_not_guessed_around() {
        let dir = tempfile::tempdir().expect("test setup");
        let missing = dir.path().join("no_such_dir").join("x.duckdb");
        let (_instance, conn) = Instance::open(None, false).expect("test setup");
        assert!(attach_as_only(&conn, &missing, false, Some("x")).is_err());
        assert_eq!(databases(&conn), ["memory"]);
    }

    #[test]
    fn parses_duckdb_lock_messages() {
        let posix = "IO Error: Could not set lock on file \"/tmp/x.duckdb\": Conflicting lock is held in \
                     /usr/bin/duckdb (PID 4242) by user root. See also https://duckdb.org/docs/stable/connect/concurrency";
        assert!(is_foreign_lock(posix));
        assert_eq!(parse_foreign_holder(posix).as_deref(), Some("pid 4242 (`/usr/bin/duckdb`)"));
        let bare = "IO Error: Could not set lock on file \"/x\": Conflicting lock is held in PID 77. See also";
        assert_eq!(parse_foreign_holder(bare).as_deref(), Some("pid 77"));
        let windows = "IO Error: Cannot open file \"C:\\x.duckdb\": The process cannot access the file because it \
                       is being used by another process.\nFile is already open in \nC:\\duckdb.exe (PID 9)";
        assert!(is_foreign_lock(windows));
        assert_eq!(parse_foreign_holder(windows).as_deref(), Some("pid 9 (`C:\\duckdb.exe`)"));
        assert_eq!(parse_foreign_holder("Catalog Error: Table with name t does not exist"), None);
        assert!(!is_foreign_lock("Could not set lock on file \"x\": Lock is already held in current process"));
    }
}
