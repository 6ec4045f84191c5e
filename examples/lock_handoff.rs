//! Benchmark P5: lock handoff between two processes, measured from the moment
//! the holder releases the lock to the moment the waiting process has opened
//! DuckDB and finished its first statement.
//!
//! `cargo run --example lock_handoff -- [iterations]` prints min / p50 / max in
//! milliseconds. The waiting side is this same binary started with `child`.

use runner::db::{self, Holder, LockMode, LockRequest};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

fn request(db: &Path, who: &str) -> LockRequest {
    LockRequest {
        db_path: db.to_path_buf(),
        mode: LockMode::Exclusive,
        holder: Holder::current(who.into(), None, None),
        timeout: Some(Duration::from_secs(60)),
    }
}

/// The waiting side: take the lock, open DuckDB, run one statement, print when done.
fn child(db: &Path) -> Result<(), String> {
    // As `runner` does, DuckDB's instance starts while waiting; the holder
    // releases once it is up, as after any wait longer than that start-up.
    let _guard = db::acquire(request(db, "bench child"), &mut |_| {
        db::prestart_and_wait();
        println!("waiting");
    })
    .map_err(|e| e.to_string())?;
    let locked = now_nanos();
    let database = db::open(db, false, &Default::default(), None, &mut |_| {}).map_err(|e| e.to_string())?;
    let conn = database.connect().map_err(|e| e.to_string())?;
    conn.execute_batch("select 1").map_err(|e| e.to_string())?;
    println!("done {} {locked}", now_nanos());
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        return child(Path::new(&args[2]));
    }
    let iterations: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = dir.path().join("bench.duckdb");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut samples = Vec::new();
    // Release → lock acquired, the part the lock protocol owns.
    let mut lock_samples = Vec::new();
    for _ in 0..iterations {
        let guard = db::acquire(request(&db, "bench holder"), &mut |_| {}).map_err(|e| e.to_string())?;
        let mut child =
            Command::new(&exe).arg("child").arg(&db).stdout(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        // Release only once the child is really waiting.
        match lines.next() {
            Some(Ok(l)) if l == "waiting" => {}
            other => return Err(format!("child did not wait: {other:?}")),
        }
        let released = now_nanos();
        drop(guard);
        let (done, locked): (u128, u128) = match lines.next() {
            Some(Ok(l)) => {
                let f: Vec<u128> = l.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
                match f[..] {
                    [d, k] => (d, k),
                    _ => return Err(format!("bad line `{l}`")),
                }
            }
            other => return Err(format!("child failed: {other:?}")),
        };
        child.wait().map_err(|e| e.to_string())?;
        samples.push(Duration::from_nanos((done.saturating_sub(released)) as u64));
        lock_samples.push(Duration::from_nanos((locked.saturating_sub(released)) as u64));
    }
    // The floor: DuckDB alone opening the same file and running one statement.
    let mut floor = Vec::new();
    for _ in 0..iterations {
        let t = std::time::Instant::now();
        let conn = duckdb::Connection::open(&db).map_err(|e| e.to_string())?;
        conn.execute_batch("select 1").map_err(|e| e.to_string())?;
        drop(conn);
        floor.push(t.elapsed());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let series = [
        ("release -> first statement done (P5)", samples),
        ("release -> lock acquired", lock_samples),
        ("floor: DuckDB open + first statement, no lock", floor),
    ];
    for (what, mut v) in series {
        v.sort();
        println!(
            "{what} over {iterations} runs: min {:.2} ms, p50 {:.2} ms, max {:.2} ms",
            ms(v[0]),
            ms(v[v.len() / 2]),
            ms(v[v.len() - 1])
        );
    }
    Ok(())
}
