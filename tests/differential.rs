//! The differential suite: each fixture project under `differential/<case>/`
//! is run step by step through the `runner` binary, and after every step the
//! warehouse (every relation: schema, name, view or table, column names, all
//! rows as text, sorted by DuckDB, and the comments `persist_docs` wrote)
//! and `target/run_results.json` (unique id,
//! status, failures) are compared with what dbt-core + dbt-duckdb produced for
//! the same steps, committed as `expected.json` by `differential/regen.sh`.
//! The fixtures live outside `tests/` because the repository root is itself a
//! dbt project whose `tests/` holds singular tests: their `.sql` files would
//! become the example project's tests.
//!
//! The dump (`common::dump`) must stay in step with `differential/dump.py`.
//! dbt's commands are runner's: `deps`, `seed`, `run` (no DAG: models only),
//! `test`, `snapshot` and `build`. A case's `clock_columns` lists the columns dbt
//! fills from its clock (a check snapshot's time): only whether they are
//! null is compared there; every other column of every case is compared whole.
//! A case's `file_listing` names folders whose files (relative paths) are
//! compared too: where external models wrote.

mod common;

use common::dump::{clock_columns, dump_db_masked, dump_files, dump_results, file_listing};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CASES: &[&str] = &[
    "builtin_macros",
    "builtins_override",
    "config_tree",
    "context_members",
    "context_objects",
    "contracts",
    "custom_strategy",
    "data_tests",
    "ephemeral",
    "exposures",
    "external",
    "files",
    "graph_context",
    "hook_queries",
    "hooks",
    "incremental",
    "incremental_predicates",
    "naming",
    "package_hooks",
    "packages",
    "python_models",
    "runtime_refs",
    "seeds",
    "selection",
    "snapshot_strategy",
    "snapshots",
    "sql_header",
    "unit_overrides",
    "unit_tests",
    "versions",
    "yaml11_booleans",
    "yaml_anchors",
    "yaml_jinja",
];

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("differential")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read case dir").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if ["expected.json", "target", "logs", "warehouse.duckdb", "clock_columns", "file_listing"]
            .contains(&name.as_str())
        {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// Splits a step line like a POSIX shell: spaces separate, quotes group.
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// runner's arguments for one dbt step.
fn runner_args(step: &str) -> Vec<String> {
    let words = shell_words(step);
    let (cmd, rest) = words.split_first().expect("a step names a command");
    let mut args: Vec<String> = match cmd.as_str() {
        "seed" | "run" | "test" | "build" | "snapshot" | "deps" => vec![cmd.clone()],
        other => panic!("step `{step}`: no runner mapping for `dbt {other}`"),
    };
    args.extend(rest.iter().cloned());
    args
}

/// Readable differences between dbt's and runner's dumps of one step.
fn diff_step(step: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    if want["exit_code"] != got["exit_code"] {
        out.push(format!("{step}: exit code dbt {} / runner {}", want["exit_code"], got["exit_code"]));
    }
    if want.get("files") != got.get("files") {
        out.push(format!("{step}: files dbt {} / runner {}", want["files"], got["files"]));
    }
    let key = |r: &Value| format!("{}.{}", r["schema"].as_str().unwrap_or(""), r["name"].as_str().unwrap_or(""));
    // dbt-duckdb 1.9.6 leaves `<name>__dbt_backup` tables behind after a full
    // refresh or a view replaced by a table, and a Python incremental model's
    // `<name>__dbt_tmp<timestamp>` table after its incremental run; runner
    // drops what it replaces and keeps its new rows in a temporary table. A
    // deliberate difference (see README), so those leftovers are not compared.
    let leftover = |name: &str| {
        name.ends_with("__dbt_backup")
            || name
                .rsplit_once("__dbt_tmp")
                .is_some_and(|(_, t)| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
    };
    let index = |v: &Value| -> std::collections::BTreeMap<String, Value> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|r| !leftover(r["name"].as_str().unwrap_or("")))
            .map(|r| (key(r), r.clone()))
            .collect()
    };
    let (w, g) = (index(&want["relations"]), index(&got["relations"]));
    for (name, wr) in &w {
        let Some(gr) = g.get(name) else {
            out.push(format!("{step}: relation {name} ({}) missing in runner's warehouse", wr["type"]));
            continue;
        };
        for field in ["type", "columns", "comments"] {
            if wr[field] != gr[field] {
                out.push(format!("{step}: {name} {field}: dbt {} / runner {}", wr[field], gr[field]));
            }
        }
        if wr["rows"] != gr["rows"] {
            let (wrows, grows) = (
                wr["rows"].as_array().cloned().unwrap_or_default(),
                gr["rows"].as_array().cloned().unwrap_or_default(),
            );
            let show = |rows: Vec<&Value>| rows.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(" ");
            let only_dbt = show(wrows.iter().filter(|r| !grows.contains(r)).take(5).collect());
            let only_runner = show(grows.iter().filter(|r| !wrows.contains(r)).take(5).collect());
            out.push(format!(
                "{step}: {name} rows differ ({} vs {}); only dbt: {only_dbt}; only runner: {only_runner}",
                wrows.len(),
                grows.len()
            ));
        }
    }
    for name in g.keys().filter(|k| !w.contains_key(*k)) {
        out.push(format!("{step}: relation {name} exists only in runner's warehouse"));
    }
    let (wr, gr) = (
        want["results"].as_array().cloned().unwrap_or_default(),
        got["results"].as_array().cloned().unwrap_or_default(),
    );
    for r in wr.iter().filter(|r| !gr.contains(r)) {
        let id = &r["unique_id"];
        match gr.iter().find(|g| g["unique_id"] == *id) {
            Some(g) => out.push(format!(
                "{step}: {id}: dbt {}/{} / runner {}/{}",
                r["status"], r["failures"], g["status"], g["failures"]
            )),
            None => out.push(format!("{step}: {id} ({}) missing in runner's run_results", r["status"])),
        }
    }
    for g in gr.iter().filter(|g| !wr.iter().any(|r| r["unique_id"] == g["unique_id"])) {
        out.push(format!("{step}: {} ({}) only in runner's run_results", g["unique_id"], g["status"]));
    }
}

/// The Python that runs a case's Python models: the pinned dbt venv's, which
/// has the duckdb and pandas that dbt-duckdb ran them with. `None` (the case
/// is skipped, saying so) when it is missing, unless `RUNNER_REQUIRE_DBT_VENV`
/// is set (`.ci/run` sets it).
fn models_python() -> Option<PathBuf> {
    common::venv_python()
}

fn run_case(case: &str) {
    run_case_with(case, None);
}

/// [`run_case`], with `RUNNER_PYTHON` set to `python` for its Python models.
fn run_case_with(case: &str, python: Option<&Path>) {
    let src = cases_dir().join(case);
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(src.join("expected.json")).expect("expected.json (run differential/regen.sh)"),
    )
    .expect("expected.json is json");
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("project");
    copy_dir(&src, &work);
    let steps = expected["steps"].as_array().expect("steps");
    // Compared as `<time>` on both sides: what dbt took from its clock.
    let clock = clock_columns(&src);
    let listing = file_listing(&src);
    let mut problems = Vec::new();
    let mut logs = String::new();
    for (n, want) in steps.iter().enumerate() {
        let text = want["step"].as_str().expect("step text");
        let step = format!("step {} `{text}`", n + 1);
        let step = step.as_str();
        let _ = std::fs::remove_file(work.join("target").join("run_results.json"));
        let args = runner_args(text);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_runner"));
        if let Some(p) = python {
            cmd.env("RUNNER_PYTHON", p);
        }
        let out = cmd
            .args(&args)
            .arg("--project-dir")
            .arg(&work)
            .current_dir(&work)
            .env_remove("DUCKDB_DATABASE_PATH")
            .env_remove("DBT_PROFILES_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("runner starts");
        logs.push_str(&format!(
            "\n$ runner {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
        let mut got = json!({
            "exit_code": out.status.code(),
            "relations": dump_db_masked(&work.join("warehouse.duckdb"), &clock),
            "results": dump_results(&work.join("target").join("run_results.json")),
        });
        if let Some(folders) = &listing {
            got["files"] = dump_files(&work, folders);
        }
        diff_step(step, want, &got, &mut problems);
    }
    assert!(
        problems.is_empty(),
        "case `{case}` differs from dbt in {} ways:\n  {}\n--- runner output ---{logs}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn every_case_directory_is_listed() {
    let mut found: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("differential/")
        .flatten()
        .filter(|e| e.path().join("steps").exists())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    found.sort();
    assert_eq!(found, CASES, "add new cases to CASES");
    for case in CASES {
        assert!(cases_dir().join(case).join("expected.json").exists(), "{case}: run differential/regen.sh");
    }
}

#[test]
fn steps_map_onto_runner_commands() {
    assert_eq!(
        shell_words("run --vars '{day: 2}' --full-refresh"),
        vec!["run", "--vars", "{day: 2}", "--full-refresh"]
    );
    assert_eq!(
        runner_args("run --select +joined --exclude stg_b"),
        vec!["run", "--select", "+joined", "--exclude", "stg_b"]
    );
    assert_eq!(runner_args("build --select 1+report"), vec!["build", "--select", "1+report"]);
}

/// dbt's built-in macros (dates, strings, types, aggregates, sets, series,
/// a project's `default__hash` override): rows and, through a view over
/// `information_schema.columns`, column types.
#[test]
fn builtin_macros() {
    run_case("builtin_macros");
}

#[test]
fn config_tree() {
    run_case("config_tree");
}

/// Enforced contracts that pass and fail (a wrong type, missing and extra
/// columns), constraints DuckDB enforces at both levels (a null in a
/// `not_null` column, a repeated primary key on an incremental run, a
/// table a foreign key references), and `persist_docs` comments on a seed,
/// a table, a view and an incremental model.
#[test]
fn contracts() {
    run_case("contracts");
}

#[test]
fn data_tests() {
    run_case("data_tests");
}

/// What `config.get` / `config.require` answer while a model runs (dbt's
/// defaults for what the project did not set: `materialized`, `tags`,
/// `on_schema_change`, …), `api.Relation.create(type=…)` with `include`,
/// `quote` and `render`, and `api.Column`'s type tests.
#[test]
fn context_objects() {
    run_case("context_objects");
}

/// A unit test's macro overrides: `pkg.macro` replaces the macro in the
/// package's namespace (inside other macros too), a plain name the global
/// one, and an override naming no package is ignored, as in dbt.
#[test]
fn unit_overrides() {
    run_case("unit_overrides");
}

/// The rest of dbt's provider members: `diff_of_two_dicts`,
/// `try_or_compiler_error` (its result, and a node failing with its
/// message), `store_raw_result`/`store_result` read back by `load_result`
/// (the response's `_message` hidden as dbt's sandbox hides it),
/// `invocation_args_dict` of two command lines, `thread_id`, `sql_now`.
#[test]
fn context_members() {
    run_case("context_members");
}

/// dbt's documented `ref` override (and a `source` one) through
/// `builtins`: edges, a singular test and a unit test follow the override;
/// `local_md5`, `builtins.var`, `builtins.config.get`.
#[test]
fn builtins_override() {
    run_case("builtins_override");
}

#[test]
fn ephemeral() {
    run_case("ephemeral");
}

/// dbt-duckdb's external materialization: parquet (by default, and
/// partitioned), csv and json files written under the profile's
/// `external_root` or a `location` with Jinja, read back downstream through
/// `ref` and by tests; an empty result, a table becoming an external model,
/// a missing folder and a partition folder written twice; the files written
/// are compared by name.
#[test]
fn external() {
    run_case("external");
}

/// dbt's `graph`, `model`, `selected_resources` and `project_name` at run
/// time: a project's copy of dbt's own `is_incremental` (reads
/// `model.config` and `adapter.get_relation`'s type), a model describing
/// itself, one listing the graph's models, seeds and sources and the
/// catalog (`adapter.get_missing_columns`, the `list_relations_without_caching`
/// and `list_schemas` macros), a post-hook naming its model, and an
/// on-run-end hook reading the graph.
#[test]
fn graph_context() {
    run_case("graph_context");
}

/// Exposures: `+exposure:x` runs and tests what feeds one, `exposure:x`
/// alone runs nothing, and a model reads `graph.exposures` (owner, parents,
/// tags and meta from the project's tree, fqn, label, rendered description).
#[test]
fn exposures() {
    run_case("exposures");
}

/// Parquet and JSON read with DuckDB's built-in extensions, offline.
#[test]
fn files() {
    run_case("files");
}

/// `run_query` and adapter statements while hooks and models render: on the
/// node's own connection (a seed's post-hook drops the seed it loaded, a
/// post-hook counts the rows its node built, a run hook sees the temp table
/// its query made), in the transaction once it has begun (the first
/// in-transaction pre-hook renders before it, so its query survives the
/// node's failure; the second's is rolled back), and the model compiled
/// before its hooks run.
#[test]
fn hook_queries() {
    run_case("hook_queries");
}

/// Every kind of hook fills an audit table, in dbt's order; a failing post-hook.
#[test]
fn hooks() {
    run_case("hooks");
}

#[test]
fn custom_strategy() {
    run_case("custom_strategy");
}

#[test]
fn naming() {
    run_case("naming");
}

/// A local package (its folder from `packages.yml` rendered with
/// `env_var`), installed by `deps`: its models, seed, snapshot, singular and
/// generic tests (its own custom one), sources and vars; configured from
/// the root project (`models: my_pkg: …`, scoped vars, `data_tests:`);
/// named by its own `generate_schema_name` and the root's
/// `generate_alias_name`; its macros called by their plain names; refs
/// with one and two arguments both ways; `package:` and fqn selection.
#[test]
fn packages() {
    run_case("packages");
}

/// `on-run-start` / `on-run-end` of the root project and two local packages
/// filling an audit table: the root project's first, then the packages' by
/// package name; each renders in its package (its macros by plain name, a
/// macro of another package calling the hook's package's, its scoped vars,
/// `run_query`, `this` as `None`); on-run-end's `results` name each node's
/// package; a failing package hook skips the rest of its phase.
#[test]
fn package_hooks() {
    run_case("package_hooks");
}

#[test]
fn incremental() {
    run_case("incremental");
}

/// `incremental_predicates` over two runs, rows compared: delete+insert with
/// a string key (a `DBT_INTERNAL_DEST` predicate fails there, as dbt-duckdb
/// writes no alias), a list key (`DBT_INCREMENTAL_TARGET`), no key, the
/// older `predicates` from a property file, `+incremental_predicates` from
/// `dbt_project.yml`, `append`; `merge` (one key, two keys with
/// `merge_exclude_columns`, none) and delete+insert through the project's
/// strategies calling dbt's `get_incremental_merge_sql` /
/// `get_delete_insert_merge_sql`; what a custom strategy's `arg_dict` holds.
#[test]
fn incremental_predicates() {
    run_case("incremental_predicates");
}

/// Snapshots over successive days with updated, new, deleted and returning
/// rows: both strategies, every `hard_deletes` mode, a composite key,
/// renamed meta columns, `dbt_valid_to_current`, `target_schema` / `schema`,
/// a YAML-defined snapshot, tests on snapshots and a model reading one; the
/// meta columns' types through a view over `information_schema.columns`.
#[test]
fn snapshots() {
    run_case("snapshots");
}

/// Custom snapshot strategies over three days with updated, new, deleted and
/// returning rows: a project's `snapshot_<name>_strategy` (deletes
/// invalidated and ignored), a package's named `package.name` (a composite
/// key, `new_record` from its answer), one answering only the older
/// `invalidate_hard_deletes` (no longer read), and the project's override of
/// `check` built on dbt's own (`dbt.snapshot_check_strategy`, both kinds of
/// `check_cols`) beside a plain `timestamp` snapshot; strategies with no
/// macro (unknown, unknown package, another package's unqualified) fail
/// only their snapshot, when it runs.
#[test]
fn snapshot_strategy() {
    run_case("snapshot_strategy");
}

/// Python models as dbt-duckdb runs them: a table from a ref and a source
/// returned as a pandas DataFrame, one returning a DuckDB relation with
/// `dbt.config.get` from a property file, an incremental one over two runs
/// reading `dbt.this` when `dbt.is_incremental`, SQL downstream of them, and
/// the column types their tables get.
#[test]
fn python_models() {
    let Some(python) = models_python() else { return };
    run_case_with("python_models", Some(&python));
}

#[test]
fn seeds() {
    run_case("seeds");
}

/// `sql_header` over two runs and two snapshots: a `set_sql_header` block
/// creating temp macros and a temp table (rendered while parsing: `this`,
/// `execute`, `var`), session settings and variables, on a table, a view,
/// an incremental model, an external one and a snapshot; from
/// `dbt_project.yml` and a property file (Jinja rendered) and `config()`
/// (used as written); what one header made is gone for the next node; a
/// failing header fails its model and skips its child; a contracted model
/// and a snapshot whose query needs the header fail as in dbt; seeds and
/// tests ignore it.
#[test]
fn sql_header() {
    run_case("sql_header");
}

#[test]
fn selection() {
    run_case("selection");
}

/// Unit tests in each format (dict, csv inline and from a fixture file,
/// sql), passing and failing, with `vars`/`env_vars`/`is_incremental`
/// overrides and a `this` input; before their inputs exist, in `test`, and
/// in `build` before their models (a failing one skips its model).
#[test]
fn unit_tests() {
    run_case("unit_tests");
}

/// Model versions: three versions of one model (`defined_in`, the latest
/// under its own alias, a prerelease view in its own schema through the
/// project's `generate_schema_name`), a model with an unpinned and pinned
/// refs, a test per version (column include/exclude; version 1's fails and
/// skips its readers in `build`), a unit test per version, and selection by
/// version (`dim_customers.v1`, `dim_customers_v3`, `version:latest`,
/// `version:old`).
#[test]
fn versions() {
    run_case("versions");
}

/// Jinja in YAML config values: `dbt_project.yml` trees (`env_var`, `target`,
/// `var` seeing only `--vars`), property `config:` (the projects' vars),
/// sources' names, tests' `where` and `enabled`; booleans from one expression.
#[test]
fn yaml_jinja() {
    run_case("yaml_jinja");
}

/// YAML 1.1's booleans, which dbt's PyYAML reads: `+enabled: no` disables
/// a folder, `relation: yes` persists docs, `quote_columns: yes` and a
/// column's `quote: on`.
#[test]
fn yaml11_booleans() {
    run_case("yaml11_booleans");
}

/// YAML anchors kept under a top-level key dbt does not read, and merge
/// keys (`<<: *defaults`) in columns and in a config: dbt applies them.
#[test]
fn yaml_anchors() {
    run_case("yaml_anchors");
}

/// A `ref` reached only at run time (behind `execute`) fails its model and
/// skips its children, as dbt's runtime resolver refuses it; with dbt's
/// `-- depends_on:` hint it runs.
#[test]
fn runtime_refs() {
    run_case("runtime_refs");
}
