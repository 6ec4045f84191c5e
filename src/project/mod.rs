//! Loading a dbt-style project from disk into an immutable [`Project`].
//!
//! Owns the walk over model, seed, test and macro paths, the parsing of
//! property YAML and `dbt_project.yml`, and the checks that need only one file
//! (ragged CSV rows, invalid YAML). Every problem is collected, none stops the
//! walk early. It never renders Jinja and never touches the database.

pub mod dag;
pub mod env;
pub mod profile;
pub mod yaml_tests;

use crate::config::dbt_project::RawDbtProject;
use crate::config::find_line;
use crate::config::properties::{RawColumn, RawProperties};
use crate::error::Diagnostic;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub use yaml_tests::{Attached, TestDecl};

/// A `.sql` file: a model, a singular test or a macro file.
#[derive(Debug, Clone)]
pub struct SqlFile {
    pub name: String,
    /// Relative to the project root, as shown in messages.
    pub path: PathBuf,
    /// Folders between the resource path and the file: `["staging"]`.
    pub folders: Vec<String>,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct SeedFile {
    pub name: String,
    pub path: PathBuf,
    pub abs_path: PathBuf,
    pub folders: Vec<String>,
    pub columns: Vec<String>,
}

/// `models:` / `seeds:` entries from property YAML.
#[derive(Debug, Clone, Default)]
pub struct NodeProps {
    pub config: BTreeMap<String, Value>,
    pub columns: Vec<String>,
    pub file: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceTable {
    pub source: String,
    pub table: String,
    pub database: Option<String>,
    pub schema: String,
    pub identifier: String,
    pub file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub name: String,
    pub profile: Option<String>,
    pub vars: BTreeMap<String, Value>,
    pub models: Vec<SqlFile>,
    pub seeds: Vec<SeedFile>,
    pub singular_tests: Vec<SqlFile>,
    pub macros: Vec<SqlFile>,
    pub model_props: BTreeMap<String, NodeProps>,
    pub seed_props: BTreeMap<String, NodeProps>,
    pub sources: BTreeMap<(String, String), SourceTable>,
    pub tests: Vec<TestDecl>,
    /// `models:` / `seeds:` / `data_tests:` trees of `dbt_project.yml`.
    pub model_tree: Option<Value>,
    pub seed_tree: Option<Value>,
    pub test_tree: Option<Value>,
    pub target_dir: PathBuf,
}

struct Walk {
    root: PathBuf,
    errors: Vec<Diagnostic>,
}

impl Walk {
    fn rel(&self, p: &Path) -> PathBuf {
        p.strip_prefix(&self.root).unwrap_or(p).to_path_buf()
    }

    fn read(&mut self, p: &Path) -> Option<String> {
        match std::fs::read_to_string(p) {
            Ok(t) => Some(t),
            Err(e) => {
                let rel = self.rel(p);
                self.errors.push(Diagnostic::in_file(rel, format!("cannot read: {e}")));
                None
            }
        }
    }

    /// Files under `dirs` with one of `exts`, sorted, skipping `skip` folders.
    fn files(&self, dirs: &[String], exts: &[&str], skip: &[&str]) -> Vec<(PathBuf, Vec<String>)> {
        let mut out = Vec::new();
        for d in dirs {
            let base = self.root.join(d);
            collect(&base, &base, exts, skip, &mut out);
        }
        out.sort();
        out
    }
}

fn collect(base: &Path, dir: &Path, exts: &[&str], skip: &[&str], out: &mut Vec<(PathBuf, Vec<String>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for entry in rd.flatten() {
        let p = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            if !(dir == base && skip.contains(&name.as_str())) {
                collect(base, &p, exts, skip, out);
            }
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e)) {
            let folders = p
                .parent()
                .and_then(|par| par.strip_prefix(base).ok())
                .map(|r| r.iter().map(|c| c.to_string_lossy().to_string()).collect())
                .unwrap_or_default();
            out.push((p, folders));
        }
    }
}

fn stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default()
}

/// Loads every project file under `root`; any error fails the load.
pub fn load(root: &Path) -> Result<Project, Vec<Diagnostic>> {
    let (project, errors) = load_all(root);
    if errors.is_empty() {
        Ok(project)
    } else {
        Err(errors)
    }
}

/// Loads what can be loaded and every error found, so later stages (template
/// compilation) can add their errors to the same report.
pub fn load_all(root: &Path) -> (Project, Vec<Diagnostic>) {
    let mut w = Walk { root: root.to_path_buf(), errors: Vec::new() };
    let dbt_path = root.join("dbt_project.yml");
    let raw = if dbt_path.exists() {
        let text = w.read(&dbt_path).unwrap_or_default();
        match serde_yaml::from_str::<Option<RawDbtProject>>(&text) {
            Ok(r) => r.unwrap_or_default(),
            Err(e) => {
                w.errors.push(Diagnostic::from_yaml(Path::new("dbt_project.yml"), &e));
                RawDbtProject::default()
            }
        }
    } else {
        RawDbtProject::default()
    };
    let paths = |v: &Option<Vec<String>>, d: &str| v.clone().unwrap_or_else(|| vec![d.to_string()]);
    let model_paths = paths(&raw.model_paths, "models");
    let seed_paths = paths(&raw.seed_paths, "seeds");
    let test_paths = paths(&raw.test_paths, "tests");
    let macro_paths = paths(&raw.macro_paths, "macros");

    let mut models = Vec::new();
    for (p, folders) in w.files(&model_paths, &["sql"], &[]) {
        if let Some(text) = w.read(&p) {
            models.push(SqlFile { name: stem(&p), path: w.rel(&p), folders, text });
        }
    }
    let mut singular_tests = Vec::new();
    // `tests/generic/` holds custom generic test definitions, not data tests.
    for (p, folders) in w.files(&test_paths, &["sql"], &["generic"]) {
        if let Some(text) = w.read(&p) {
            singular_tests.push(SqlFile { name: stem(&p), path: w.rel(&p), folders, text });
        }
    }
    let mut macros = Vec::new();
    let generic_dirs: Vec<String> = test_paths.iter().map(|t| format!("{t}/generic")).collect();
    for (p, folders) in w.files(&macro_paths, &["sql"], &[]).into_iter().chain(w.files(&generic_dirs, &["sql"], &[])) {
        if let Some(text) = w.read(&p) {
            macros.push(SqlFile { name: stem(&p), path: w.rel(&p), folders, text });
        }
    }
    let mut seeds = Vec::new();
    for (p, folders) in w.files(&seed_paths, &["csv"], &[]) {
        let rel = w.rel(&p);
        match check_csv(&p, &rel) {
            Ok(columns) => seeds.push(SeedFile { name: stem(&p), path: rel, abs_path: p, folders, columns }),
            Err(d) => w.errors.push(d),
        }
    }

    let mut project = Project {
        root: root.to_path_buf(),
        name: raw.name.clone().unwrap_or_else(|| {
            root.canonicalize().ok().as_deref().map(stem).filter(|s| !s.is_empty()).unwrap_or_else(|| "project".into())
        }),
        profile: raw.profile.clone(),
        vars: raw.vars.clone().unwrap_or_default(),
        models,
        seeds,
        singular_tests,
        macros,
        model_props: BTreeMap::new(),
        seed_props: BTreeMap::new(),
        sources: BTreeMap::new(),
        tests: Vec::new(),
        model_tree: raw.models.clone(),
        seed_tree: raw.seeds.clone(),
        test_tree: raw.data_tests.clone().or(raw.tests.clone()),
        target_dir: root.join(raw.target_path.as_deref().unwrap_or("target")),
    };
    let prop_dirs: Vec<String> = model_paths.iter().chain(seed_paths.iter()).cloned().collect();
    for (p, _) in w.files(&prop_dirs, &["yml", "yaml"], &[]) {
        let rel = w.rel(&p);
        if let Some(text) = w.read(&p) {
            load_properties(&mut project, &rel, &text, &mut w.errors);
        }
    }
    (project, w.errors)
}

/// Reads a seed's header and rejects ragged rows with their line number.
fn check_csv(abs: &Path, rel: &Path) -> Result<Vec<String>, Diagnostic> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(abs)
        .map_err(|e| Diagnostic::in_file(rel, format!("cannot read seed: {e}")))?;
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| Diagnostic::in_file(rel, format!("cannot read the header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    for record in reader.records() {
        if let Err(e) = record {
            let line = e.position().map(|p| p.line() as usize);
            let msg = match e.kind() {
                csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                    format!("row has {len} fields but the header has {expected_len}")
                }
                _ => format!("invalid csv: {e}"),
            };
            return Err(Diagnostic::in_file(rel, msg)
                .at(line, None)
                .hint("every row needs one value per header column"));
        }
    }
    Ok(columns)
}

fn load_properties(project: &mut Project, rel: &Path, text: &str, errors: &mut Vec<Diagnostic>) {
    let props: RawProperties = match serde_yaml::from_str::<Option<RawProperties>>(text) {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => {
            errors.push(Diagnostic::from_yaml(rel, &e));
            return;
        }
    };
    let file = rel.to_path_buf();
    let mut push_tests = |entries: Option<&Vec<Value>>, attached: &Attached, column: Option<&str>, anchor: &str| {
        for entry in entries.into_iter().flatten() {
            let line = entry_line(text, entry, anchor);
            match yaml_tests::decode(entry, attached, column, &file, line) {
                Ok(t) => project.tests.push(t),
                Err(d) => errors.push(d),
            }
        }
    };
    for (is_seed, list) in [(false, &props.models), (true, &props.seeds)] {
        for m in list {
            let attached = Attached::Model(m.name.clone());
            push_tests(m.data_tests.as_ref().or(m.tests.as_ref()), &attached, None, &m.name);
            for c in &m.columns {
                push_tests(column_tests(c), &attached, Some(&c.name), &c.name);
            }
            let entry = NodeProps {
                config: m.config.clone().unwrap_or_default(),
                columns: m.columns.iter().map(|c| c.name.clone()).collect(),
                file: file.clone(),
            };
            let map = if is_seed { &mut project.seed_props } else { &mut project.model_props };
            map.insert(m.name.clone(), entry);
        }
    }
    for s in &props.sources {
        for t in &s.tables {
            let attached = Attached::Source(s.name.clone(), t.name.clone());
            push_tests(t.data_tests.as_ref().or(t.tests.as_ref()), &attached, None, &t.name);
            for c in &t.columns {
                push_tests(column_tests(c), &attached, Some(&c.name), &c.name);
            }
            project.sources.insert(
                (s.name.clone(), t.name.clone()),
                SourceTable {
                    source: s.name.clone(),
                    table: t.name.clone(),
                    database: s.database.clone(),
                    schema: s.schema.clone().unwrap_or_else(|| s.name.clone()),
                    identifier: t.identifier.clone().unwrap_or_else(|| t.name.clone()),
                    file: file.clone(),
                },
            );
        }
    }
}

fn column_tests(c: &RawColumn) -> Option<&Vec<Value>> {
    c.data_tests.as_ref().or(c.tests.as_ref())
}

/// Best-effort line of a test entry: the first line after its owner's
/// `name:` that mentions the test's name.
fn entry_line(text: &str, entry: &Value, owner: &str) -> Option<usize> {
    let name = match entry {
        Value::String(s) => s.clone(),
        Value::Mapping(m) => m.keys().next().and_then(|k| k.as_str()).unwrap_or("").to_string(),
        _ => String::new(),
    };
    let start = find_line(text, &format!("name: {owner}")).unwrap_or(1);
    text.lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| !name.is_empty() && l.contains(&name))
        .map(|(i, _)| i + 1)
        .or(Some(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    #[test]
    fn loads_models_seeds_tests_and_properties() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        write(r, "models/staging/stg_a.sql", "select 1 as id");
        write(r, "models/schema.yml", "version: 2\nmodels:\n  - name: stg_a\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\nsources:\n  - name: raw\n    tables:\n      - name: events\n");
        write(r, "seeds/raw_a.csv", "id,name\n1,a\n");
        write(r, "tests/assert_x.sql", "select 1 where false");
        write(r, "tests/generic/my_test.sql", "{% test my_test(model) %}select 1{% endtest %}");
        let p = load(r).expect("loads");
        assert_eq!(p.models[0].name, "stg_a");
        assert_eq!(p.models[0].folders, vec!["staging"]);
        assert_eq!(p.seeds[0].columns, vec!["id", "name"]);
        assert_eq!(p.singular_tests.len(), 1);
        assert_eq!(p.macros.len(), 1);
        assert_eq!(p.tests.len(), 2);
        assert_eq!(p.tests[1].line, Some(6));
        assert_eq!(p.sources[&("raw".to_string(), "events".to_string())].schema, "raw");
    }

    #[test]
    fn ragged_csv_and_bad_yaml_are_all_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        write(r, "seeds/bad.csv", "a,b\n1,2\n3\n");
        write(r, "models/schema.yml", "models:\n  - name: x\n   bad_indent: 1\n");
        let errs = load(r).expect_err("two errors");
        assert_eq!(errs.len(), 2);
        let seed = errs.iter().find(|e| e.file == Some(PathBuf::from("seeds/bad.csv"))).expect("seed error");
        assert_eq!(seed.line, Some(3));
        assert!(seed.message.contains("2 fields") || seed.message.contains("1 fields"), "{}", seed.message);
    }
}
