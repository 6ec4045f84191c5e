//! Inputs that are odd rather than wrong, or wrong in ways that used to
//! mislead: a byte order mark, duplicate keys and entries, deep nesting, an
//! alias bomb, unreadable folders, symlink loops, unwritable history, empty
//! or impossible database paths, a full disk. Each must exit with a message
//! naming the file (and line) and what to do, and leave the database as it was.

mod common;
use common::{rejects, Fixture};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BOM: &str = "\u{feff}";

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_byte_order_mark_is_accepted_in_every_yaml_file() {
    let f = Fixture::shop();
    f.write("dbt_project.yml", &format!("{BOM}name: shop\nprofile: shop\nmodels:\n  shop:\n    +materialized: view\n"));
    f.write("profiles.yml", &format!("{BOM}{}", common::PROFILES));
    f.write("dags/my_dag.yml", &format!("{BOM}{}", common::DAG));
    let schema = std::fs::read_to_string(f.path().join("models/schema.yml")).expect("schema");
    f.write("models/schema.yml", &format!("{BOM}{schema}"));
    f.write("seeds/props.yml", &format!("{BOM}version: 2\nseeds:\n  - name: raw_orders\n    description: orders\n"));
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("PASS="), "{}", r.stdout);
}

#[test]
fn a_duplicate_key_is_reported_at_its_own_line() {
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}schedule: \"@hourly\"\n", common::DAG));
    // The DAG text has 8 lines; the duplicate is the 9th.
    rejects(&f, &["run", "my_dag"], &["dags/my_dag.yml:9:1: invalid yaml: duplicate field `schedule`", "hint:"]);
    let f = Fixture::shop();
    f.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: stg_orders\n    description: one\n    columns: []\n    description: two\n",
    );
    // Read as a map before its Jinja renders: worded as any map's duplicate.
    rejects(&f, &["run", "my_dag"], &["models/schema.yml:6:5:", "duplicate entry with key \"description\""]);
    let f = Fixture::shop();
    f.write("profiles.yml", &format!("{}shop:\n  outputs: {{}}\n", common::PROFILES));
    rejects(&f, &["run", "my_dag"], &["profiles.yml:8:1:", "duplicate entry with key \"shop\""]);
}

#[test]
fn two_entries_for_one_model_are_a_load_error_naming_both() {
    let f = Fixture::shop();
    f.write(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: stg_orders\n    description: one\n  - name: customers\n  - name: stg_orders\n    description: two\n",
    );
    rejects(
        &f,
        &["run", "my_dag"],
        &[
            "models/schema.yml:6: dbt found two schema.yml entries for the same resource named `stg_orders`",
            "`models/schema.yml:3`",
        ],
    );
    // Across files: the later file in path order is the one reported.
    let f = Fixture::shop();
    f.write("models/staging/more.yml", "version: 2\nmodels:\n  - name: customers\n");
    f.write("models/marts/props.yml", "version: 2\nmodels:\n\n  - name: customers\n    description: c\n");
    rejects(&f, &["run", "my_dag"], &["models/staging/more.yml:3: dbt found two", "`models/marts/props.yml:4`"]);
    // The same for a source table.
    let f = Fixture::shop();
    f.write(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: t\n      - name: t\n",
    );
    rejects(&f, &["run", "my_dag"], &["models/sources.yml:6: source table `raw.t` is declared twice"]);
}

#[test]
fn deep_nesting_is_rejected_at_once() {
    let f = Fixture::shop();
    f.write("models/deep.yml", &format!("version: 2\nmodels: {}\n", "[".repeat(100_000)));
    let started = Instant::now();
    rejects(&f, &["run", "my_dag"], &["models/deep.yml:2: invalid yaml: nested more than 256 levels deep"]);
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    let f = Fixture::shop();
    f.write("dags/my_dag.yml", &format!("{}params:\n{}x\n", common::DAG, "- ".repeat(50_000)));
    rejects(&f, &["run", "my_dag"], &["dags/my_dag.yml:10: invalid yaml: nested more than 256 levels deep"]);
}

#[test]
fn an_alias_bomb_in_vars_says_what_is_wrong() {
    let f = Fixture::shop();
    let mut bomb = String::from("{a0: &a0 [x, x, x, x, x, x, x, x, x, x]");
    for i in 1..9 {
        bomb.push_str(&format!(", a{i}: &a{i} [{}]", vec![format!("*a{}", i - 1); 10].join(", ")));
    }
    bomb.push('}');
    let err = rejects(&f, &["run", "my_dag", "--vars", &bomb], &["`--vars`:", "aliases expand to too much data"]);
    assert!(!err.contains("is not a YAML map"), "{err}");
}

/// Runs `runner` as an unprivileged user when the test runs as root (who
/// may read and write anything), so permissions mean something. The binary
/// is copied where that user may run it (the build is under root's home).
fn run_unprivileged(f: &Fixture, args: &[&str]) -> common::Run {
    if !is_root() {
        return f.run(args);
    }
    use std::os::unix::process::CommandExt;
    let bin = tempfile::tempdir().expect("tempdir");
    let exe = bin.path().join("runner");
    std::fs::copy(env!("CARGO_BIN_EXE_runner"), &exe).expect("copy the binary");
    chmod(bin.path(), 0o755);
    chmod(f.path(), 0o777);
    let out = Command::new(&exe)
        .args(args)
        .arg("--project-dir")
        .arg(f.path())
        .env_remove("DUCKDB_DATABASE_PATH")
        .env_remove("DBT_PROFILES_DIR")
        .stdin(std::process::Stdio::null())
        .uid(65534)
        .gid(65534)
        .output()
        .expect("runner starts");
    common::Run::from(out)
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn an_unreadable_models_folder_is_a_load_error_naming_it() {
    let f = Fixture::shop();
    chmod(&f.path().join("models/staging"), 0o000);
    let r = run_unprivileged(&f, &["run", "my_dag"]);
    chmod(&f.path().join("models/staging"), 0o755);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("models/staging: cannot list the folder: Permission denied") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("unknown"), "not reported as unknown refs:\n{}", r.stderr);
    assert!(!f.db().exists());
}

#[test]
fn a_symlink_loop_is_named_once() {
    let f = Fixture::shop();
    std::os::unix::fs::symlink("..", f.path().join("models/staging/back")).expect("symlink");
    std::os::unix::fs::symlink("self", f.path().join("models/self")).expect("symlink");
    let err =
        rejects(&f, &["run", "my_dag"], &["models/staging/back: symlink loop: this folder leads back to `models`"]);
    assert_eq!(err.matches("symlink loop").count(), 2, "the folder loop and the link to itself, once each:\n{err}");
    assert!(err.contains("models/self: symlink loop"), "{err}");
    assert!(!err.contains("duplicate"), "{err}");
}

#[test]
fn an_unwritable_history_names_the_path() {
    let f = Fixture::shop();
    let history = f.path().join(".runner/history/my_dag");
    std::fs::create_dir_all(&history).expect("mkdir");
    chmod(&history, 0o555);
    let r = run_unprivileged(&f, &["run", "my_dag"]);
    chmod(&history, 0o755);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("cannot record a run of `my_dag`: `"), "{}", r.stderr);
    assert!(r.stderr.contains(".runner/history/my_dag/") && r.stderr.contains("Permission denied"), "{}", r.stderr);
    assert!(r.stderr.contains(".runner/history/my_dag` writable"), "{}", r.stderr);
    assert!(!f.db().exists());
}

#[test]
fn an_empty_database_path_says_so() {
    let f = Fixture::shop();
    let r = f.command(&["run", "my_dag"]).env("DUCKDB_DATABASE_PATH", "").output().expect("runs");
    let r = common::Run::from(r);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("profiles.yml:6: the database path of target `dev` is empty"), "{}", r.stderr);
    assert!(r.stderr.contains("`DUCKDB_DATABASE_PATH` is set to an empty value"), "{}", r.stderr);
    assert!(!r.stderr.contains("Is a directory"), "{}", r.stderr);
}

#[test]
fn a_missing_database_folder_is_named_and_never_created() {
    let f = Fixture::shop();
    let outside = tempfile::tempdir().expect("tempdir");
    let missing = outside.path().join("no/such");
    for (path, folder) in
        [(missing.join("w.duckdb"), missing.clone()), (Path::new("data/w.duckdb").to_path_buf(), f.path().join("data"))]
    {
        let r = f.command(&["run", "my_dag"]).env("DUCKDB_DATABASE_PATH", &path).output().expect("runs");
        let r = common::Run::from(r);
        assert_eq!(r.code, 2, "{}", r.stderr);
        let named = format!("the folder `{}` for the database", folder.display());
        assert!(r.stderr.contains(&named) && r.stderr.contains("mkdir -p"), "{}", r.stderr);
        assert!(!folder.exists() && !folder.parent().expect("parent").join("w.duckdb").exists());
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
    assert!(!outside.path().join("no").exists(), "no folder is created");
    // `debug` agrees with `run`.
    let r = f.command(&["debug"]).env("DUCKDB_DATABASE_PATH", missing.join("w.duckdb")).output().expect("runs");
    let r = common::Run::from(r);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(format!("{}{}", r.stdout, r.stderr).contains("does not exist"), "{}{}", r.stdout, r.stderr);
}

/// A small tmpfs, unmounted when dropped; `None` (with the reason printed)
/// where this machine does not allow mounting.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(SmallDisk { dir }),
            Ok(o) => {
                eprintln!("skipped: cannot mount a tmpfs: {}", String::from_utf8_lossy(&o.stderr).trim());
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run `mount`: {e}");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_says_which_disk_to_free_and_keeps_the_old_data() {
    let Some(disk) = SmallDisk::mount("8m") else { return };
    let f = Fixture::shop();
    let db = disk.dir.path().join("w.duckdb");
    let run = |f: &Fixture| {
        common::Run::from(f.command(&["run", "my_dag"]).env("DUCKDB_DATABASE_PATH", &db).output().expect("runs"))
    };
    let first = run(&f);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    // A table far larger than the disk; DuckDB fails writing it.
    f.write(
        "models/marts/big.sql",
        "{{ config(materialized='table') }}\nselect range as id, md5(range::varchar) || md5((range * 7)::varchar) as pad from range(3000000)\n",
    );
    f.write(
        "models/marts/customers.sql",
        "{{ config(materialized='table') }}\nselect 1 as customer_id, 'x' as name, 0 as orders, 0 as total\n",
    );
    let full = run(&f);
    assert_eq!(full.code, 1, "{}{}", full.stdout, full.stderr);
    let hint = format!("the disk holding `{}` is full", disk.dir.path().display());
    assert!(full.stderr.contains(&hint), "stdout:\n{}\nstderr:\n{}", full.stdout, full.stderr);
    // The data of the first run is intact.
    let conn = duckdb::Connection::open_with_flags(
        &db,
        duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).expect("config"),
    )
    .expect("the database still opens");
    let n: i64 = conn.query_row("select count(*) from raw_orders", [], |r| r.get(0)).expect("raw_orders");
    assert_eq!(n, 4);
    let exists: i64 = conn
        .query_row("select count(*) from information_schema.tables where table_name = 'big'", [], |r| r.get(0))
        .expect("tables");
    assert_eq!(exists, 0, "no half-written table");
}

#[test]
fn a_full_disk_under_the_project_names_the_artifacts_and_history_it_could_not_write() {
    let Some(disk) = SmallDisk::mount("2m") else { return };
    let shop = Fixture::shop();
    let f = Fixture { dir: tempfile::tempdir_in(disk.dir.path()).expect("tempdir") };
    copy_tree(shop.path(), f.path());
    // The database lives elsewhere: only the project's own files meet the full disk.
    let db = shop.path().join("elsewhere.duckdb");
    let run = |f: &Fixture| {
        common::Run::from(f.command(&["run", "my_dag"]).env("DUCKDB_DATABASE_PATH", &db).output().expect("runs"))
    };
    let first = run(&f);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let results = std::fs::read(f.path().join("target/run_results.json")).expect("run_results");
    // Fill the disk.
    let filler = f.path().join("filler");
    let _ = std::fs::write(&filler, vec![b'x'; 4 << 20]);
    let full = run(&f);
    let _ = std::fs::remove_file(&filler);
    assert!(full.stderr.contains("No space left on device"), "{}", full.stderr);
    let hint = format!("the disk holding `{}", f.path().display());
    assert!(full.stderr.contains(&hint) && full.stderr.contains("is full"), "{}", full.stderr);
    // The previous artifacts are whole, and no temporary copies are left.
    if let Ok(now) = std::fs::read(f.path().join("target/run_results.json")) {
        assert!(serde_json::from_slice::<serde_json::Value>(&now).is_ok());
    }
    let _ = results;
    let leftovers: Vec<_> = walk(f.path()).into_iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
