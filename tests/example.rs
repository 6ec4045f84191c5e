//! End to end: the repository's own example project, `run my_dag` then
//! `test my_dag`, exactly as the README tells a new user, in a copy so the
//! checkout stays clean.

mod common;
use common::Run;
use std::path::Path;
use std::process::Command;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let p = entry.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(entry.file_name()));
        } else if p.extension().and_then(|e| e.to_str()) != Some("rs") {
            std::fs::copy(&p, to.join(entry.file_name())).expect("copy");
        }
    }
}

fn runner(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(args)
        .current_dir(dir)
        .env_remove("DUCKDB_DATABASE_PATH")
        .env_remove("DBT_PROFILES_DIR")
        .output()
        .expect("runner starts");
    Run::from(out)
}

#[test]
fn the_example_project_runs_then_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().expect("tempdir");
    for dir in ["dags", "models", "seeds", "tests", "macros"] {
        if root.join(dir).exists() {
            copy_tree(&root.join(dir), &tmp.path().join(dir));
        }
    }
    for file in ["profiles.yml", ".env", "dbt_project.yml"] {
        if root.join(file).exists() {
            std::fs::copy(root.join(file), tmp.path().join(file)).expect("copy");
        }
    }
    let run = runner(tmp.path(), &["run", "my_dag"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ERROR=0 SKIP=0"), "{}", run.stdout);
    assert!(run.lines_with("OK loaded seed file").len() >= 3, "{}", run.stdout);
    assert!(!run.lines_with("OK created sql table model").is_empty(), "{}", run.stdout);
    assert!(!run.lines_with("OK created sql view model").is_empty(), "{}", run.stdout);
    // `.env` points the profile at shop.duckdb inside the project.
    let db = tmp.path().join("shop.duckdb");
    assert!(db.exists(), "the warehouse file is where .env says");
    let test = runner(tmp.path(), &["test", "my_dag"]);
    assert_eq!(test.code, 0, "stdout:\n{}\nstderr:\n{}", test.stdout, test.stderr);
    assert!(test.lines_with("START seed").is_empty() && test.lines_with("START sql").is_empty(), "{}", test.stdout);
    assert!(test.stdout.contains("ERROR=0 SKIP=0"), "{}", test.stdout);
}
