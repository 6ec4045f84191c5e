//! A small property harness over what a user (or an attacker) writes: DAG
//! files, `profiles.yml`, property YAML and model Jinja, each mutated from a
//! valid start by a seeded generator, then run through the real binary.
//! For every case: no panic, no abort, exit 0, 1 or 2 only, a bounded time,
//! and no file written outside the project's folder (issue #26).
//!
//! Deterministic: the seed is fixed, so a failure names a case that fails
//! again. `RUNNER_FUZZ_CASES` raises the count for a longer local session.

mod common;
use common::{tree, Fixture, Run};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Fragments that have broken parsers before: YAML syntax, aliases, tags,
/// a BOM, NULs, paths that leave the project, odd numbers and dates.
const TOKENS: &[&str] = &[
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "&a ",
    "*a",
    "!!binary ",
    "!!python/object ",
    "\t",
    "\u{feff}",
    "%YAML 1.1\n",
    "#",
    "..",
    "/",
    "\\",
    "\0",
    "\n",
    "\n  ",
    "? ",
    "|\n",
    ">-\n",
    "~",
    "null",
    "-1",
    "0",
    "1e309",
    "9999999999999999999999",
    "../../escape",
    "/etc/passwd",
    "2025-02-30",
    "@continuous",
    "61 * * * *",
    "{{",
    "}}",
    "{%",
    "%}",
    "{{ env_var('NOPE') }}",
    "{{ var('nope') }}",
    "ü",
    "\u{202e}",
    "<<: *a",
    "x: &a [*a, *a]",
];

/// Values put in place of a `key: value` line's value.
const VALUES: &[&str] = &[
    "\"\"",
    "null",
    "-5",
    "0",
    "1.5",
    "true",
    "[]",
    "{}",
    "\"../../x\"",
    "\"/tmp/x\"",
    "\"a/b\"",
    "\"..\"",
    "\"61 * * * *\"",
    "\"0 0 31 2 *\"",
    "\"@continuous\"",
    "\"Mars/Base\"",
    "\"5 parsecs\"",
    "\"2025-13-01\"",
    "[[[[[[[[]]]]]]]]",
    "\"{{ 1/0 }}\"",
    "\"{{ range(5)|list }}\"",
    "\"{% for i in range(3) %}x{% endfor %}\"",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..1 + rng.below(3) {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let i = rng.below(lines.len());
        match rng.below(6) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 | 3 => {
                let at = floor_char_boundary(&lines[i], rng.below(lines[i].len() + 1));
                let token = rng.pick(TOKENS);
                lines[i].insert_str(at, token);
            }
            4 => {
                if let Some(colon) = lines[i].find(": ") {
                    lines[i].truncate(colon + 2);
                    let v = rng.pick(VALUES);
                    lines[i].push_str(v);
                }
            }
            _ => {
                let depth = 1 + rng.below(300);
                lines.insert(i, format!("deep: {}{}", "[".repeat(depth), "]".repeat(depth)));
            }
        }
    }
    lines.join("\n") + "\n"
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Jinja bodies for a model: valid and broken constructs, all bounded.
fn jinja(rng: &mut Rng) -> String {
    const PARTS: &[&str] = &[
        "select 1 as id",
        "{{ ref('stg_orders') }}",
        "{{ ref('nope') }}",
        "{{ source('a', 'b') }}",
        "{{ config(materialized='table') }}",
        "{{ config(materialized='bogus') }}",
        "{% set x = [1, 2] %}{% do x.append(3) %}{{ x }}",
        "{% for i in range(20) %}{{ i }}{% endfor %}",
        "{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(20) }}",
        "{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}",
        "{% if %}",
        "{{ }}",
        "{% endfor %}",
        "{{ var('nope') }}",
        "{{ env_var('RUNNER_FUZZ_UNSET') }}",
        "{{ exceptions.raise_compiler_error('boom') }}",
        "{{ run_query('select 1') }}",
        "{{ adapter.dispatch('nope')() }}",
        "{{ 1 / 0 }}",
        "{{ 'x' * 10 }}",
        "{{ modules.datetime.datetime(2025, 1, 1) + modules.datetime.timedelta(days=1) }}",
        "{% raw %}{{{% endraw %}",
        "{# unclosed comment",
        "\u{feff}",
        "\0",
    ];
    let mut out = String::new();
    for _ in 0..1 + rng.below(4) {
        out.push_str(rng.pick(PARTS));
        out.push('\n');
    }
    out
}

fn cases() -> usize {
    std::env::var("RUNNER_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(25)
}

/// Runs `runner` on the project three folders below `outer`, from inside it,
/// with HOME and TMPDIR inside it too, and checks every invariant; a path
/// like `../../x` from the project or its folders lands in `outer`.
fn check(c: &Case, args: &[&str], what: &str) -> Run {
    let project = &c.project;
    let outside = || {
        let mut t = tree(c.outer.path());
        t.retain(|p| !p.starts_with(c.inner.join(project.path().file_name().expect("name"))));
        t
    };
    let before = outside();
    let started = Instant::now();
    let out = project
        .command(args)
        .current_dir(project.path())
        .env("HOME", project.path())
        .env("TMPDIR", project.path())
        .env_remove("RUNNER_FUZZ_UNSET")
        .output()
        .expect("runner starts");
    let took = started.elapsed();
    let r = Run::from(out);
    let show = || format!("{what}\n--- stdout\n{}\n--- stderr\n{}", r.stdout, r.stderr);
    assert!([0, 1, 2].contains(&r.code), "exit {} (a crash or abort): {}", r.code, show());
    assert!(!r.stderr.contains("panicked at"), "a panic: {}", show());
    assert!(took < Duration::from_secs(20), "took {took:?}: {}", show());
    assert_eq!(outside(), before, "a file appeared outside the project: {}", show());
    r
}

struct Case {
    outer: tempfile::TempDir,
    /// The project's parent, relative to `outer`.
    inner: PathBuf,
    project: Fixture,
}

fn case() -> Case {
    let outer = tempfile::tempdir().expect("tempdir");
    let inner = PathBuf::from("a/b");
    std::fs::create_dir_all(outer.path().join(&inner)).expect("mkdir");
    let project = Fixture::shop_in(&outer.path().join(&inner));
    Case { outer, inner, project }
}

#[test]
fn mutated_dag_files_never_crash_or_write_outside() {
    let mut rng = Rng(0x5eed_0001);
    let c = case();
    let valid = common::DAG;
    for i in 0..cases() {
        let text = mutate(&mut rng, valid);
        c.project.write("dags/my_dag.yml", &text);
        let what = format!("case {i}: dags/my_dag.yml =\n{text}");
        let args: &[&str] = if i % 3 == 0 { &["run", "my_dag"] } else { &["dags"] };
        check(&c, args, &what);
        check(&c, &["pause", "my_dag"], &what);
    }
}

#[test]
fn mutated_profiles_never_crash_or_write_outside() {
    let mut rng = Rng(0x5eed_0002);
    let c = case();
    for i in 0..cases() {
        let text = mutate(&mut rng, common::PROFILES);
        c.project.write("profiles.yml", &text);
        let what = format!("case {i}: profiles.yml =\n{text}");
        check(&c, &["debug"], &what);
        if i % 4 == 0 {
            check(&c, &["run", "my_dag"], &what);
        }
    }
}

#[test]
fn mutated_property_yaml_never_crashes_or_writes_outside() {
    let mut rng = Rng(0x5eed_0003);
    let c = case();
    let valid = std::fs::read_to_string(c.project.path().join("models/schema.yml")).expect("schema.yml");
    for i in 0..cases() {
        let text = mutate(&mut rng, &valid);
        c.project.write("models/schema.yml", &text);
        let what = format!("case {i}: models/schema.yml =\n{text}");
        check(&c, &["compile"], &what);
    }
}

#[test]
fn random_model_jinja_never_crashes_or_writes_outside() {
    let mut rng = Rng(0x5eed_0004);
    let c = case();
    for i in 0..cases() {
        let text = jinja(&mut rng);
        c.project.write("models/fuzzed.sql", &text);
        let what = format!("case {i}: models/fuzzed.sql =\n{text}");
        let args: &[&str] = if i % 4 == 0 { &["run", "my_dag"] } else { &["compile"] };
        check(&c, args, &what);
    }
}
