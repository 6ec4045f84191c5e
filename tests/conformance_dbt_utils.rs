//! dbt-utils' integration suite (issue #21), run through the real `runner`
//! binary and compared node by node and relation by relation with what
//! dbt-core 1.10 + dbt-duckdb 1.9 did with it.
//!
//! The suite is third-party code: it is read from
//! `../shared/conformance/dbt-utils` (see that folder's README) and copied to
//! a temporary directory, never into the repository; when it is absent the
//! test says so and passes. What dbt made of it is committed in
//! `differential/dbt_utils/expected/` by `differential/dbt_utils/regen.sh`:
//! each step's exit code, each node's status (and failures) from that step's
//! `run_results.json`, and every relation's rows after the last step.
//!
//! Steps: `runner deps`, `seed`, `run` (no DAG: dbt's `run`), `test`, as dbt's.
//! Differences runner is known to have are listed, with a reason, in
//! `differential/dbt_utils/known_differences.txt`; the test fails on a
//! difference not listed there and on a listed one that has gone (so the
//! list only shrinks). A step that stops at load (exit 2 where dbt did not)
//! fails the test at once with runner's stderr.

mod common;

use common::dump::{dump_db, dump_results};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const STEPS: [&str; 4] = ["deps", "seed", "run", "test"];
/// Left out of the copy: earlier runs' output, never part of the suite.
const LEFT_OUT: &[&str] = &["target", "logs", "dbt_packages", "package-lock.yml", "utils.duckdb", "utils.duckdb.wal"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn here() -> PathBuf {
    root().join("differential").join("dbt_utils")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e} (run regen.sh)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read suite dir").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if LEFT_OUT.contains(&name.as_str()) {
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

/// regen.py's `mask_clock`: fractional seconds dropped, every digit an `N`.
fn mask_clock(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    let (mut out, mut i) = (String::new(), 0);
    while i < chars.len() {
        if chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            i += 1;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            continue;
        }
        out.push(if chars[i].is_ascii_digit() { 'N' } else { chars[i] });
        i += 1;
    }
    out
}

fn rel_key(r: &Value) -> String {
    format!("relation:{}.{}", r["schema"].as_str().unwrap_or(""), r["name"].as_str().unwrap_or(""))
}

/// Relations by key, clock columns masked, dbt-duckdb's `__dbt_backup`
/// leftovers left out (see tests/differential.rs).
fn relations(dumped: &Value, clock: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for r in dumped.as_array().into_iter().flatten() {
        if r["name"].as_str().unwrap_or("").ends_with("__dbt_backup") {
            continue;
        }
        let mut r = r.clone();
        let key = rel_key(&r);
        let masked: Vec<String> = clock[&key["relation:".len()..]]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect();
        let cols: Vec<usize> = r["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, c)| c.as_str().is_some_and(|c| masked.iter().any(|m| m == c)))
            .map(|(i, _)| i)
            .collect();
        for row in r["rows"].as_array_mut().into_iter().flatten() {
            for &i in &cols {
                if let Some(s) = row[i].as_str() {
                    row[i] = Value::String(mask_clock(s));
                }
            }
        }
        out.insert(key, r);
    }
    out
}

/// What runner did: each step's exit code, each result (with its step),
/// runner's message for each node, and the relations at the end.
#[derive(Default)]
struct Got {
    exits: BTreeMap<String, Option<i32>>,
    results: Vec<Value>,
    messages: BTreeMap<String, String>,
    relations: Value,
}

fn short(s: &str, n: usize) -> String {
    let line = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    if line.chars().count() > n {
        format!("{}…", line.chars().take(n).collect::<String>())
    } else {
        line.to_string()
    }
}

fn status(r: &Value) -> String {
    match &r["failures"] {
        Value::Null => format!("{} {}", r["step"].as_str().unwrap_or("?"), r["status"].as_str().unwrap_or("?")),
        f => format!("{} {} ({f} failing)", r["step"].as_str().unwrap_or("?"), r["status"].as_str().unwrap_or("?")),
    }
}

/// Every difference between dbt's run of the suite and runner's, by key: a
/// node's unique id, `relation:<schema>.<name>`, or `exit:<step>`.
fn differences(want_results: &Value, want_relations: &Value, got: &Got) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in want_results["steps"].as_array().into_iter().flatten() {
        let step = s["step"].as_str().unwrap_or("?");
        let theirs = got.exits.get(step).copied().flatten();
        if s["exit_code"].as_i64() != theirs.map(i64::from) {
            let shown = theirs.map_or("none".to_string(), |c| c.to_string());
            out.insert(format!("exit:{step}"), format!("dbt exit {} · runner exit {shown}", s["exit_code"]));
        }
    }
    let index = |v: &[Value]| -> BTreeMap<String, Value> {
        v.iter().map(|r| (r["unique_id"].as_str().unwrap_or("").to_string(), r.clone())).collect()
    };
    let want = index(want_results["results"].as_array().map(Vec::as_slice).unwrap_or(&[]));
    let have = index(&got.results);
    let said = |id: &str| got.messages.get(id).map(|m| format!(": {}", short(m, 160))).unwrap_or_default();
    for (id, w) in &want {
        match have.get(id) {
            None => out.insert(id.clone(), format!("dbt {} · runner: not in run_results", status(w))),
            Some(h) if h != w => {
                out.insert(id.clone(), format!("dbt {} · runner {}{}", status(w), status(h), said(id)))
            }
            Some(_) => None,
        };
    }
    for (id, h) in have.iter().filter(|(id, _)| !want.contains_key(*id)) {
        out.insert(id.clone(), format!("dbt: not in run_results · runner {}{}", status(h), said(id)));
    }
    let clock = &want_relations["clock_columns"];
    let (w, g) = (relations(&want_relations["relations"], clock), relations(&got.relations, clock));
    for (key, wr) in &w {
        let Some(gr) = g.get(key) else {
            out.insert(key.clone(), format!("dbt {} · runner: missing", wr["type"].as_str().unwrap_or("?")));
            continue;
        };
        let mut what = Vec::new();
        for field in ["type", "columns"] {
            if wr[field] != gr[field] {
                what.push(format!("{field} dbt {} · runner {}", wr[field], gr[field]));
            }
        }
        if wr["rows"] != gr["rows"] {
            let rows = |r: &Value| r["rows"].as_array().cloned().unwrap_or_default();
            let (wrows, grows) = (rows(wr), rows(gr));
            let only = |a: &[Value], b: &[Value]| {
                let s: Vec<String> = a.iter().filter(|r| !b.contains(r)).take(3).map(Value::to_string).collect();
                short(&s.join(" "), 120)
            };
            what.push(format!(
                "rows dbt {} · runner {}; only dbt: {}; only runner: {}",
                wrows.len(),
                grows.len(),
                only(&wrows, &grows),
                only(&grows, &wrows)
            ));
        }
        if !what.is_empty() {
            out.insert(key.clone(), what.join("; "));
        }
    }
    for (key, gr) in g.iter().filter(|(k, _)| !w.contains_key(*k)) {
        out.insert(key.clone(), format!("dbt: no such relation · runner {}", gr["type"].as_str().unwrap_or("?")));
    }
    out
}

/// `known_differences.txt`: `<key> <reason>` a line; `#` comments. A key
/// without a reason, an unknown kind of key or a key given twice is an error.
fn parse_known(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if reason.trim().is_empty() {
            return Err(format!("line {n}: `{key}` has no reason"));
        }
        let kinds = ["seed.", "model.", "test.", "relation:", "exit:"];
        if !kinds.iter().any(|k| key.starts_with(k)) {
            return Err(format!("line {n}: `{key}` is no unique id, `relation:<schema>.<name>` or `exit:<step>`"));
        }
        if out.insert(key.to_string(), reason.trim().to_string()).is_some() {
            return Err(format!("line {n}: `{key}` is listed twice"));
        }
    }
    Ok(out)
}

/// The differences not listed, and the listed keys that now match.
fn verdict(
    diffs: &BTreeMap<String, String>,
    known: &BTreeMap<String, String>,
) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let unlisted = diffs.iter().filter(|(k, _)| !known.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone()));
    let gone = known.iter().filter(|(k, _)| !diffs.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone()));
    (unlisted.collect(), gone.collect())
}

fn table(rows: &[(String, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0).min(100);
    rows.iter().map(|(k, v)| format!("  {k:<width$}  {v}\n")).collect()
}

/// Runs one step of the suite through runner; returns its exit code and output.
fn runner_step(project: &Path, step: &str) -> (Option<i32>, String, f64) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runner"));
    cmd.arg(step).arg("--project-dir").arg(project);
    if step != "deps" {
        cmd.arg("--profiles-dir").arg(project);
    }
    let start = Instant::now();
    let out = cmd
        .current_dir(project)
        .env("DUCKDB_DATABASE_PATH", project.join("utils.duckdb"))
        .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
        .env_remove("DBT_PROFILES_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("runner starts");
    let secs = start.elapsed().as_secs_f64();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text, secs)
}

fn messages(path: &Path) -> BTreeMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else { return BTreeMap::new() };
    let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let results = doc["results"].as_array().cloned().unwrap_or_default();
    results
        .iter()
        .filter_map(|r| Some((r["unique_id"].as_str()?.to_string(), r["message"].as_str()?.to_string())))
        .collect()
}

/// The first `n` lines: a load's first errors are the ones to read first.
fn head(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let more = lines.len().saturating_sub(n);
    let shown = lines[..lines.len().min(n)].join("\n");
    if more > 0 {
        format!("{shown}\n… {more} more lines")
    } else {
        shown
    }
}

#[test]
#[ignore = "runner cannot load dbt-utils' suite yet (exit 2 at load: dbt's cross-database macros, \
            api.Relation, mutable lists; issue #21): run with `--ignored`, and drop this once it loads"]
fn dbt_utils_integration_suite() {
    let suite = root().join("..").join("shared").join("conformance").join("dbt-utils");
    if !suite.join("integration_tests").join("dbt_project.yml").exists() {
        println!("skipped: dbt-utils' integration suite is not at `{}` (see its README)", suite.display());
        return;
    }
    let want_results = read_json(&here().join("expected").join("results.json"));
    let want_relations = read_json(&here().join("expected").join("relations.json"));
    let known_path = here().join("known_differences.txt");
    let known = parse_known(&std::fs::read_to_string(&known_path).expect("known_differences.txt"))
        .unwrap_or_else(|e| panic!("{}: {e}", known_path.display()));

    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(&suite, &tmp.path().join("dbt-utils"));
    let project = tmp.path().join("dbt-utils").join("integration_tests");
    if !project.join("profiles.yml").exists() {
        std::fs::copy(here().join("profiles.yml"), project.join("profiles.yml")).expect("write the profile");
    }
    let mut got = Got::default();
    let mut stopped: Vec<String> = Vec::new();
    let mut outputs: Vec<(&str, String)> = Vec::new();
    for step in STEPS {
        let results = project.join("target").join("run_results.json");
        let _ = std::fs::remove_file(&results);
        let (code, output, secs) = runner_step(&project, step);
        println!("runner {step}: exit {code:?} in {secs:.2}s");
        let dbt_code = want_results["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["step"] == step))
            .and_then(|s| s["exit_code"].as_i64());
        if code == Some(2) && dbt_code != Some(2) {
            // seed, run and test load the same project: one copy of the same errors is enough.
            let shown = match outputs.iter().find(|(_, o)| o == &output) {
                Some((earlier, _)) => format!("(the same output as `runner {earlier}`)"),
                None => head(&output, 120),
            };
            stopped.push(format!("--- `runner {step}` exited 2 (dbt: {dbt_code:?}) ---\n{shown}"));
        }
        outputs.push((step, output));
        got.exits.insert(step.to_string(), code);
        for r in dump_results(&results).as_array().into_iter().flatten() {
            let mut r = r.clone();
            r["step"] = json!(step);
            got.results.push(r);
        }
        got.messages.extend(messages(&results));
    }
    got.relations = dump_db(&project.join("utils.duckdb"));
    let diffs = differences(&want_results, &want_relations, &got);
    assert!(
        stopped.is_empty(),
        "runner cannot load dbt-utils' integration suite ({} of its nodes and relations differ from dbt):\n{}",
        diffs.len(),
        stopped.join("\n")
    );
    let (unlisted, gone) = verdict(&diffs, &known);
    let mut report = String::new();
    if !unlisted.is_empty() {
        report +=
            &format!("{} differences from dbt not in known_differences.txt:\n{}", unlisted.len(), table(&unlisted));
        report += "to accept them, add to differential/dbt_utils/known_differences.txt (with a reason):\n";
        report += &unlisted.iter().map(|(k, _)| format!("  {k}  TODO: why\n")).collect::<String>();
    }
    if !gone.is_empty() {
        report +=
            &format!("{} listed differences now match dbt; remove them from the list:\n{}", gone.len(), table(&gone));
    }
    assert!(report.is_empty(), "dbt-utils' integration suite:\n{report}");
    let nodes = want_results["results"].as_array().map_or(0, Vec::len);
    let rels = want_relations["relations"].as_array().map_or(0, Vec::len);
    println!("{nodes} nodes and {rels} relations compared; {} known differences, all still there", known.len());
}

#[test]
fn known_differences_parse() {
    let path = here().join("known_differences.txt");
    let text = std::fs::read_to_string(&path).expect("known_differences.txt");
    parse_known(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ok = parse_known("# c\n\nmodel.p.m  views differ\nexit:run exit 1\n").expect("valid");
    assert_eq!(ok.get("model.p.m").map(String::as_str), Some("views differ"));
    for bad in ["model.p.m\n", "m  reason\n", "exit:run a\nexit:run b\n"] {
        assert!(parse_known(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn expected_files_name_every_step() {
    let results = read_json(&here().join("expected").join("results.json"));
    let steps: Vec<&str> =
        results["steps"].as_array().expect("steps").iter().filter_map(|s| s["step"].as_str()).collect();
    assert_eq!(steps, STEPS);
    for r in results["results"].as_array().expect("results") {
        assert!(STEPS.contains(&r["step"].as_str().unwrap_or("")), "{r}");
    }
    let relations = read_json(&here().join("expected").join("relations.json"));
    assert!(relations["clock_columns"].is_object() && relations["relations"].is_array());
}

#[test]
fn clock_values_are_masked_as_regen_masks_them() {
    assert_eq!(mask_clock("2026-12-06 08:45:56.970412"), "NNNN-NN-NN NN:NN:NN");
    assert_eq!(mask_clock("2026-12-06 00:00:00+00"), "NNNN-NN-NN NN:NN:NN+NN");
    assert_eq!(mask_clock("a.b 1.5"), "a.b N");
}

/// The comparison itself: each kind of difference is found, and the known
/// list fails both ways.
#[test]
fn differences_are_found_and_checked_against_the_list() {
    let want = json!({
        "steps": [{"step": "seed", "exit_code": 0}, {"step": "run", "exit_code": 1}],
        "results": [
            {"step": "seed", "unique_id": "seed.p.s", "status": "success", "failures": null},
            {"step": "run", "unique_id": "model.p.a", "status": "success", "failures": null},
            {"step": "run", "unique_id": "model.p.b", "status": "error", "failures": null},
        ],
    });
    let rels = json!({
        "clock_columns": {"main.v": ["t"]},
        "relations": [
            {"schema": "main", "name": "s", "type": "table", "columns": ["x"], "rows": [["1"], ["2"]]},
            {"schema": "main", "name": "v", "type": "view", "columns": ["t"], "rows": [["NNNN-NN-NN"]]},
        ],
    });
    let mut got = Got {
        exits: [("seed".to_string(), Some(0)), ("run".to_string(), Some(1))].into(),
        results: want["results"].as_array().cloned().unwrap_or_default(),
        messages: BTreeMap::new(),
        relations: json!([
            {"schema": "main", "name": "s", "type": "table", "columns": ["x"], "rows": [["1"], ["2"]]},
            {"schema": "main", "name": "v", "type": "view", "columns": ["t"], "rows": [["2031-01-02"]]},
        ]),
    };
    assert!(differences(&want, &rels, &got).is_empty(), "identical runs (clock masked) have no differences");
    got.exits.insert("run".into(), Some(0));
    got.results[1]["status"] = json!("error");
    got.messages.insert("model.p.a".into(), "Binder Error: no column `y`\nmore".into());
    got.results.remove(2);
    got.results.push(json!({"step": "run", "unique_id": "model.p.c", "status": "success", "failures": null}));
    got.relations[0]["rows"] = json!([["1"], ["3"]]);
    let d = differences(&want, &rels, &got);
    let keys: Vec<&str> = d.keys().map(String::as_str).collect();
    assert_eq!(keys, ["exit:run", "model.p.a", "model.p.b", "model.p.c", "relation:main.s"]);
    assert!(d["model.p.a"].contains("dbt run success · runner run error: Binder Error"), "{}", d["model.p.a"]);
    assert!(d["relation:main.s"].contains("only dbt: [\"2\"]; only runner: [\"3\"]"), "{}", d["relation:main.s"]);
    let known = parse_known("model.p.a  a reason\nmodel.p.z  fixed since\n").expect("valid");
    let (unlisted, gone) = verdict(&d, &known);
    let unlisted: Vec<&str> = unlisted.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(unlisted, ["exit:run", "model.p.b", "model.p.c", "relation:main.s"]);
    assert_eq!(gone, [("model.p.z".to_string(), "fixed since".to_string())]);
}
