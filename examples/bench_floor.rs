//! The floor of benchmarks P2 and P4: the SQL that `runner` executed, run
//! directly through DuckDB in one process, with nothing else around it.
//!
//! `bench_floor <database> <list>` opens `<database>`, then executes the files
//! named in `<list>` (one path a line, in order) one after the other, each
//! through `execute_batch` (DuckDB's `duckdb_query`, which runs every statement
//! to completion and materializes its result), then closes the database.
//! `bench_floor --version` prints the DuckDB library version this binary links.
//! It links the same `duckdb` crate, built in the same profile, as `runner`, so
//! the two differ only in what `runner` does around the SQL. Owns no project
//! logic: which files, in which order, is decided by `bench/harness.py`.

use std::time::Instant;

fn run(db: &str, list: &str) -> Result<(), String> {
    let files = std::fs::read_to_string(list).map_err(|e| format!("cannot read `{list}`: {e}"))?;
    let started = Instant::now();
    let conn = duckdb::Connection::open(db).map_err(|e| format!("cannot open `{db}`: {e}"))?;
    let mut count = 0;
    for path in files.lines().filter(|l| !l.trim().is_empty()) {
        let sql = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
        conn.execute_batch(&sql).map_err(|e| format!("`{path}` failed: {e}"))?;
        count += 1;
    }
    conn.close().map_err(|(_, e)| format!("cannot close `{db}`: {e}"))?;
    eprintln!("floor: {count} files in {:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--version" => {
            let conn = duckdb::Connection::open_in_memory().map_err(|e| e.to_string())?;
            let v: String = conn.query_row("select version()", [], |r| r.get(0)).map_err(|e| e.to_string())?;
            println!("{v}");
            Ok(())
        }
        [db, list] => run(db, list),
        _ => Err("usage: bench_floor <database> <list of .sql files> | --version".into()),
    }
}
