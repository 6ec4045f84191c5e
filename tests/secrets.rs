//! Secrets never leave `profiles.yml`: a model, macro, test or
//! `dbt_project.yml` that reads a `DBT_ENV_SECRET_…` variable is refused (as
//! dbt refuses it) and the value lands in no file of the project; `runner
//! debug` masks what the profile read; the world-readable lock file and the
//! waiters' message show the holder's command without its flag values.

mod common;
use common::{Fixture, Run, VERY_SLOW};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SECRET: &str = "hunter2-s3cr3t-value";

fn run_with_secret(f: &Fixture, args: &[&str]) -> Run {
    Run::from(f.command(args).env("DBT_ENV_SECRET_PW", SECRET).output().expect("runner starts"))
}

/// Every file under `dir` (the database, artifacts, logs, history) holding `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path);
            }
        }
    }
    found
}

fn assert_nowhere(f: &Fixture, r: &Run) {
    assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET), "{}\n{}", r.stdout, r.stderr);
    let leaks = files_holding(f.path(), SECRET);
    assert!(leaks.is_empty(), "the secret was written to {leaks:?}");
}

#[test]
fn a_model_reading_a_secret_is_a_load_error_and_the_value_goes_nowhere() {
    let f = Fixture::shop();
    f.write(
        "models/leak.sql",
        "{{ config(materialized='view') }}\nselect '{{ env_var(\"DBT_ENV_SECRET_PW\") }}' as pw\n",
    );
    for command in ["run", "compile", "build"] {
        let r = run_with_secret(&f, &[command, "my_dag"]);
        assert_eq!(r.code, 2, "{command}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("models/leak.sql:2"), "{}", r.stderr);
        assert!(r.stderr.contains("secret env var `DBT_ENV_SECRET_PW` is read outside profiles.yml"), "{}", r.stderr);
        assert!(
            r.stderr.contains("hint: dbt allows `DBT_ENV_SECRET_…` variables only in profiles.yml"),
            "{}",
            r.stderr
        );
        assert!(!f.db().exists(), "the database is not touched");
        assert_nowhere(&f, &r);
    }
}

#[test]
fn a_macro_reading_a_secret_only_when_executing_is_refused_at_load() {
    let f = Fixture::shop();
    f.write(
        "macros/creds.sql",
        "{% macro creds() %}\n{% if execute %}{{ env_var('DBT_ENV_SECRET_PW', 'none') }}{% endif %}\n{% endmacro %}\n",
    );
    f.write("models/m.sql", "select '{{ creds() }}' as pw\n");
    let r = run_with_secret(&f, &["run", "my_dag"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("macros/creds.sql:2") && r.stderr.contains("`DBT_ENV_SECRET_PW`"), "{}", r.stderr);
    assert!(!f.db().exists());
    assert_nowhere(&f, &r);
}

#[test]
fn a_secret_named_at_run_time_fails_its_node_and_the_value_goes_nowhere() {
    let f = Fixture::shop();
    // No literal name for the load-time check, and no call while planning.
    f.write(
        "models/sneaky.sql",
        "{% if execute %}select '{{ env_var('DBT_ENV_' ~ 'SECRET_PW') }}' as pw{% else %}select 1 as pw{% endif %}\n",
    );
    let r = run_with_secret(&f, &["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("is read outside profiles.yml"), "{}", r.stdout);
    assert_nowhere(&f, &r);
}

#[test]
fn a_test_config_reading_a_secret_in_dbt_project_yml_is_refused() {
    let f = Fixture::shop();
    f.write(
        "dbt_project.yml",
        "name: shop\nprofile: shop\ndata_tests:\n  +where: \"'{{ env_var('DBT_ENV_SECRET_PW') }}' <> ''\"\n",
    );
    let r = run_with_secret(&f, &["run", "my_dag"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("`DBT_ENV_SECRET_PW` is read outside profiles.yml"), "{}", r.stderr);
    assert!(!f.db().exists());
    assert_nowhere(&f, &r);
}

#[test]
fn the_profile_may_read_secrets_and_debug_masks_them() {
    let f = Fixture::shop();
    let tmp = f.path().join(format!("tmp-{SECRET}"));
    f.write(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n      threads: 1\n      \
         settings:\n        temp_directory: \"{{ env_var('DBT_ENV_SECRET_TMP') }}\"\n        secret_directory: plain-but-secret-looking\n        threads: 2\n",
    );
    let debug = Run::from(f.command(&["debug"]).env("DBT_ENV_SECRET_TMP", &tmp).output().expect("runner starts"));
    assert_eq!(debug.code, 0, "{}\n{}", debug.stdout, debug.stderr);
    let settings = debug.stdout.lines().find(|l| l.trim_start().starts_with("settings:")).expect("a settings line");
    assert_eq!(settings.trim(), "settings: {secret_directory: *****, temp_directory: *****, threads: 2}");
    assert!(!debug.stdout.contains("plain-but-secret-looking"), "{}", debug.stdout);
    assert!(!debug.stdout.contains(SECRET), "{}", debug.stdout);
    let run = Run::from(f.command(&["run", "my_dag"]).env("DBT_ENV_SECRET_TMP", &tmp).output().expect("runner starts"));
    assert_eq!(run.code, 0, "a secret in the profile is fine:\n{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET), "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn the_lock_file_and_the_waiters_message_show_no_flag_values() {
    let f = Fixture::shop();
    f.write("models/very_slow.sql", VERY_SLOW);
    let vars = format!("{{pw: {SECRET}}}");
    let mut holder = f
        .command(&["run", "my_dag", "--vars", &vars])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("holder starts");
    let lock_file = runner::db::lock_path(&f.db());
    let deadline = Instant::now() + Duration::from_secs(60);
    while runner::db::read_holder(&lock_file).map(|h| h.pid) != Some(holder.id()) {
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    let recorded = std::fs::read_to_string(&lock_file).expect("lock file");
    let waiter = f.run(&["run", "my_dag", "--lock-timeout", "200ms"]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(!recorded.contains(SECRET), "{recorded}");
    assert!(recorded.contains("runner run my_dag --vars …"), "{recorded}");
    assert_eq!(waiter.code, 2, "{}", waiter.stderr);
    assert!(waiter.stderr.contains("runner run my_dag --vars … --project-dir …"), "{}", waiter.stderr);
    assert!(!waiter.stderr.contains(SECRET), "{}", waiter.stderr);
}

/// A profile's `secrets:` become dbt-duckdb's `CREATE SECRET` statements,
/// checked before the database is touched; no message ever holds a value.
/// Offline (as here) the S3 type's extension cannot be installed: exit 2,
/// naming the secret by its place in the list. `plugins` is refused.
#[test]
fn profile_secrets_are_created_or_refused_without_showing_a_value() {
    let f = Fixture::shop();
    let profile = "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n      secrets:\n        - type: s3\n          key_id: AKIAEXAMPLE\n          secret: hunter22hunter22\n          region: us-east-1\n";
    f.write("profiles.yml", profile);
    let r = f.run(&["run", "my_dag"]);
    let all = format!("{}\n{}", r.stdout, r.stderr);
    assert!(!all.contains("hunter22"), "a secret value was shown:\n{all}");
    if r.code != 0 {
        assert_eq!(r.code, 2, "{all}");
        assert!(r.stderr.contains("`secrets[0] (type s3)`"), "{all}");
        assert!(!f.db().exists(), "nothing written before the secrets are known to work");
    }
    f.write(
        "profiles.yml",
        &profile.replace("      secrets:", "      plugins:\n        - module: excel\n      secrets:"),
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("profiles.yml:7") && r.stderr.contains("`plugins`") && r.stderr.contains("not supported"),
        "{}",
        r.stderr
    );
}
