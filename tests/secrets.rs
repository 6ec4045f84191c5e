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
/// naming the profile, the secret and the extension. `plugins` is refused.
#[test]
fn profile_secrets_are_created_or_refused_without_showing_a_value() {
    let f = Fixture::shop();
    let profile = "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n      secrets:\n        - type: s3\n          key_id: AKIAEXAMPLE\n          secret: hunter22hunter22\n          region: us-east-1\n";
    f.write("profiles.yml", profile);
    for command in ["run", "debug"] {
        let r = f.run(&[command, "my_dag"]);
        let all = format!("{}\n{}", r.stdout, r.stderr);
        assert!(!all.contains("hunter22") && !all.contains("AKIAEXAMPLE"), "a secret value was shown:\n{all}");
        if r.code != 0 {
            assert_eq!(r.code, 2, "{all}");
            assert!(
                r.stderr.contains(
                    "profile `shop`, target `dev`: secret `_dbt_secret_1` (secrets[0], type s3) needs DuckDB's `httpfs` extension"
                ),
                "{all}"
            );
            assert!(!f.db().exists(), "nothing written before the secrets are known to work");
        }
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

const PROXY_PASSWORD: &str = "pr0xy-pa55w0rd-value";

fn http_secret_profile(extra: &str) -> String {
    format!(
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n      secrets:\n        - type: http\n          http_proxy: http://proxy.invalid:3128\n          http_proxy_password: {PROXY_PASSWORD}\n{extra}"
    )
}

/// DuckDB's core `http` secret type needs no extension, so the whole way
/// is checked offline: the secret is created under dbt-duckdb's name when
/// the warehouse opens, `runner debug` shows it masked, and the value is in
/// no file runner writes (database, artifacts, logs, history, a run's report).
#[test]
fn an_http_secret_is_created_on_open_and_its_value_goes_nowhere() {
    let f = Fixture::shop();
    f.write("profiles.yml", &http_secret_profile(""));
    f.write("models/secret_names.sql", "{{ config(materialized='table') }}\nselect name, type from duckdb_secrets()\n");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select name, type from main.secret_names"), vec![vec!["_dbt_secret_1", "http"]]);
    let debug = f.run(&["debug"]);
    assert_eq!(debug.code, 0, "{}\n{}", debug.stdout, debug.stderr);
    assert!(
        debug.stdout.contains("  secrets: [_dbt_secret_1 {type: http, http_proxy: *****, http_proxy_password: *****}]"),
        "{}",
        debug.stdout
    );
    assert!(debug.stdout.contains("profile check: [OK"), "{}", debug.stdout);
    let runs = f.run(&["runs", "my_dag", "--output", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs.stdout).expect("runs as json");
    let run_id = runs[0]["run_id"].as_str().expect("a run").to_string();
    let report = f.path().join("report.html");
    let r = f.run(&["report", &run_id, "--out", report.to_str().expect("utf-8")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for out in [&r, &debug] {
        assert!(!out.stdout.contains(PROXY_PASSWORD) && !out.stderr.contains(PROXY_PASSWORD));
    }
    let leaks: Vec<PathBuf> =
        files_holding(f.path(), PROXY_PASSWORD).into_iter().filter(|p| !p.ends_with("profiles.yml")).collect();
    assert!(leaks.is_empty(), "the secret was written to {leaks:?}");
}

/// A parameter DuckDB refuses names the secret, not the values; dbt-duckdb's
/// `use_credential_provider: aws` is one more (S3) secret after the listed ones.
#[test]
fn a_refused_secret_is_named_by_its_name_and_never_by_its_values() {
    let f = Fixture::shop();
    f.write(
        "profiles.yml",
        &http_secret_profile(&format!("          no_such_param: {PROXY_PASSWORD}-2\n          name: corp_proxy\n")),
    );
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("secret `corp_proxy` (secrets[0], type http)"), "{}", r.stderr);
    assert!(!r.stderr.contains(PROXY_PASSWORD) && !r.stdout.contains(PROXY_PASSWORD), "{}", r.stderr);
    assert!(!f.db().exists());
    f.write("profiles.yml", &http_secret_profile("      use_credential_provider: aws\n"));
    let r = f.run(&["run", "my_dag"]);
    if r.code != 0 {
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("secret `_dbt_secret_2` (secrets[1], type s3) needs DuckDB's `aws`"), "{}", r.stderr);
    }
    f.write("profiles.yml", &http_secret_profile("      use_credential_provider: gcp\n"));
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("Unsupported value for use_credential_provider: gcp"), "{}", r.stderr);
}
