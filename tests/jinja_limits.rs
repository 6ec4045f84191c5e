//! Jinja that never ends: a macro calling itself without a stop, and loops of
//! ten billion iterations in a model, a macro, across macro calls and in
//! `profiles.yml`. Each is an error naming the file and runner's limit, exit
//! 2 before the database is touched, in bounded time; recursion as deep as
//! dbt allows still works, on the worker threads of a run too.

mod common;
use common::Fixture;
use std::time::{Duration, Instant};

/// Ten billion iterations: `range()` is capped at 100,000 items, so two of them nested.
const SPIN: &str = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";

/// Runs `runner run my_dag` and checks what every refused input must give:
/// exit 2, in bounded time, with no database created. Returns stderr.
fn refused(f: &Fixture) -> String {
    let started = Instant::now();
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
    assert!(!f.db().exists(), "the database is not touched");
    assert!(r.stdout.lines().all(|l| !l.contains(" START ")), "nothing ran:\n{}", r.stdout);
    r.stderr
}

#[test]
fn a_macro_calling_itself_without_end_is_an_error_naming_it_and_its_file() {
    let f = Fixture::shop();
    f.write("macros/deep.sql", "{% macro deep(n) %}\n{{ deep(n + 1) }}\n{% endmacro %}\n");
    f.write("models/uses_deep.sql", "select 1 as x\n-- {{ deep(0) }}\n");
    let err = refused(&f);
    assert!(err.contains("models/uses_deep.sql:2"), "{err}");
    assert!(err.contains("macro calls nested more than 200 deep (runner's limit) at `deep`"), "{err}");
    assert!(err.contains("in macro `deep` (macros/deep.sql:2) ×200"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(err.lines().count() < 6, "one error, not a frame per call:\n{err}");
}

#[test]
fn two_macros_calling_each_other_are_stopped_too() {
    let f = Fixture::shop();
    f.write("macros/ping.sql", "{% macro ping() %}{{ pong() }}{% endmacro %}\n");
    f.write("macros/pong.sql", "{% macro pong() %}{{ ping() }}{% endmacro %}\n");
    f.write("models/m.sql", "select 1 as x -- {{ ping() }}\n");
    let err = refused(&f);
    assert!(err.contains("models/m.sql:1") && err.contains("more than 200 deep"), "{err}");
    assert!(err.contains("more macro calls"), "a long chain is cut:\n{err}");
}

#[test]
fn recursion_as_deep_as_dbt_allows_runs_on_the_workers() {
    let f = Fixture::shop();
    // 190 nested calls in both passes, the second on a run's worker thread;
    // dbt stops at Python's recursion limit, about 140.
    f.write(
        "macros/count.sql",
        "{% macro count_down(n) %}{% if n > 0 %}{{ return(count_down(n - 1) + 1) }}{% else %}{{ return(0) }}{% endif %}{% endmacro %}\n",
    );
    f.write("models/deep_ok.sql", "{{ config(materialized='table') }}\nselect {{ count_down(189) }} as depth\n");
    let r = f.run(&["run", "my_dag", "--select", "deep_ok"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(f.query("select depth from deep_ok"), vec![vec!["189".to_string()]]);
}

#[test]
fn a_loop_without_end_in_a_model_is_an_error_naming_the_file_and_the_limit() {
    let f = Fixture::shop();
    f.write("models/spin.sql", &format!("select 1 as x\n{SPIN}\n"));
    let err = refused(&f);
    assert!(err.contains("models/spin.sql:2"), "{err}");
    assert!(err.contains("jinja work limit reached: more than 200,000,000 template instructions"), "{err}");
}

#[test]
fn a_loop_without_end_in_a_macro_names_the_macro() {
    let f = Fixture::shop();
    f.write("macros/spin.sql", &format!("{{% macro spin() %}}\n{SPIN}\n{{% endmacro %}}\n"));
    f.write("models/m.sql", "select 1 as x {{ spin() }}\n");
    let err = refused(&f);
    assert!(err.contains("models/m.sql:1") && err.contains("jinja work limit reached"), "{err}");
    assert!(err.contains("in macro `spin` (macros/spin.sql:2)"), "{err}");
}

#[test]
fn work_is_counted_across_macro_calls() {
    // Each call is far below the limit and so is the model's own loop; only
    // their sum (a hundred thousand calls of a few hundred thousand
    // instructions each) is not.
    let f = Fixture::shop();
    f.write("macros/busy.sql", "{% macro busy() %}{% for i in range(100000) %}{% endfor %}{% endmacro %}\n");
    f.write("models/m.sql", "select 1 as x\n{% for a in range(100000) %}{{ busy() }}{% endfor %}\n");
    let err = refused(&f);
    assert!(err.contains("models/m.sql:2") && err.contains("jinja work limit reached"), "{err}");
}

#[test]
fn a_loop_without_end_in_profiles_yml_names_it() {
    let f = Fixture::shop();
    f.write(
        "profiles.yml",
        &format!(
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{SPIN}warehouse.duckdb\"\n"
        ),
    );
    let err = refused(&f);
    assert!(err.contains("profiles.yml:6") && err.contains("jinja work limit reached"), "{err}");
}

#[test]
fn a_macro_calling_itself_in_profiles_yml_is_an_error_naming_it() {
    let f = Fixture::shop();
    f.write(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}\"\n",
    );
    let err = refused(&f);
    assert!(err.contains("profiles.yml:6") && err.contains("recursion limit exceeded"), "{err}");
}
