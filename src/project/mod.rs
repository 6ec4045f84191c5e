//! Loading a dbt-style project from disk into an immutable [`Project`].
//!
//! Owns the walk over model, seed, test and macro paths, the parsing of
//! property YAML and `dbt_project.yml`, and the checks that need only one file
//! (ragged CSV rows, invalid YAML). Every problem is collected, none stops the
//! walk early. It never renders Jinja and never touches the database.

pub mod dag;
pub mod docs;
pub mod env;
pub(crate) mod ids;
mod lines;
pub mod profile;
pub mod properties;
pub mod yaml_tests;

use crate::config::dbt_project::RawDbtProject;
use crate::config_tree::{self, ConfigMap};
use crate::error::Diagnostic;
use crate::par;
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
}

/// `models:` / `seeds:` entries from property YAML.
#[derive(Debug, Clone, Default)]
pub struct NodeProps {
    pub config: BTreeMap<String, Value>,
    pub columns: Vec<String>,
    /// `description:` as written (may hold `{{ doc('x') }}`; the template renders it).
    pub description: Option<String>,
    /// Column name → its `description:` as written.
    pub column_descriptions: BTreeMap<String, String>,
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
    /// `{% docs %}` blocks by name, for `{{ doc('name') }}` in descriptions.
    pub docs: BTreeMap<String, docs::DocBlock>,
    /// `models:` / `seeds:` / `data_tests:` trees of `dbt_project.yml`.
    pub model_tree: Option<Value>,
    pub seed_tree: Option<Value>,
    pub test_tree: Option<Value>,
    pub target_dir: PathBuf,
}

struct Walk {
    root: PathBuf,
    errors: Vec<Diagnostic>,
    /// Every file under a resource path, listed once: models, docs and
    /// property files share folders, and a 10,000-model project would
    /// otherwise be listed three times.
    listings: BTreeMap<PathBuf, Vec<Listed>>,
}

/// A listed file: its path and the folders between the resource path and it.
type Listed = (PathBuf, Vec<String>);

impl Walk {
    fn rel(&self, p: &Path) -> PathBuf {
        p.strip_prefix(&self.root).unwrap_or(p).to_path_buf()
    }

    fn read(&mut self, p: &Path) -> Option<String> {
        let read = std::fs::read_to_string(p);
        self.read_result(p, read)
    }

    /// `.sql` files under `dirs` (skipping `skip` folders), read on several
    /// threads; in path order, with read errors collected in that order.
    fn sql_files(&mut self, dirs: &[String], skip: &[&str]) -> Vec<SqlFile> {
        let files = self.files(dirs, &["sql"], skip);
        let texts = par::map(&files, |(p, _)| std::fs::read_to_string(p));
        let mut out = Vec::with_capacity(files.len());
        for ((p, folders), read) in files.into_iter().zip(texts) {
            if let Some(text) = self.read_result(&p, read) {
                out.push(SqlFile { name: stem(&p), path: self.rel(&p), folders, text });
            }
        }
        out
    }

    fn read_result(&mut self, p: &Path, read: std::io::Result<String>) -> Option<String> {
        match read {
            Ok(t) => Some(t),
            Err(e) => {
                let rel = self.rel(p);
                self.errors.push(Diagnostic::in_file(rel, format!("cannot read: {e}")));
                None
            }
        }
    }

    /// Files under `dirs` with one of `exts`, in path order, skipping the
    /// `skip` folders directly under each of `dirs`.
    fn files(&mut self, dirs: &[String], exts: &[&str], skip: &[&str]) -> Vec<Listed> {
        let mut bases: Vec<PathBuf> = dirs.iter().map(|d| self.root.join(d)).collect();
        bases.sort();
        let mut out = Vec::new();
        for base in bases {
            let listed = self.listings.entry(base).or_insert_with_key(|base| {
                let mut all = Vec::new();
                collect(base, &[], &mut all);
                all
            });
            let wanted = |(p, folders): &&Listed| {
                !folders.first().is_some_and(|f| skip.contains(&f.as_str()))
                    && p.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e))
            };
            out.extend(listed.iter().filter(wanted).cloned());
        }
        // Each listing is in path order, and so are listings of separate
        // folders taken in order; nested ones (`models`, `models/staging`)
        // interleave.
        if !out.is_sorted() {
            out.sort();
        }
        out
    }
}

/// Every file under `dir` but hidden ones, in path order: names are sorted
/// within each folder and folders entered in that order, which is the order
/// of whole paths without comparing them.
fn collect(dir: &Path, folders: &[String], out: &mut Vec<Listed>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<(std::ffi::OsString, std::fs::DirEntry)> =
        rd.flatten().map(|e| (e.file_name(), e)).filter(|(n, _)| !n.as_encoded_bytes().starts_with(b".")).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, entry) in entries {
        let p = entry.path();
        // The directory entry knows its type without another `stat`; only a
        // symlink needs one, to be followed as `is_dir` follows it.
        let is_dir = match entry.file_type() {
            Ok(t) if !t.is_symlink() => t.is_dir(),
            _ => p.is_dir(),
        };
        if is_dir {
            let mut inner = folders.to_vec();
            inner.push(name.to_string_lossy().into_owned());
            collect(&p, &inner, out);
        } else {
            out.push((p, folders.to_vec()));
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
    let mut w = Walk { root: root.to_path_buf(), errors: Vec::new(), listings: BTreeMap::new() };
    let dbt_path = root.join("dbt_project.yml");
    let raw = if dbt_path.exists() {
        let text = w.read(&dbt_path).unwrap_or_default();
        match serde_yaml::from_str::<Option<RawDbtProject>>(&text) {
            Ok(r) => {
                let r = r.unwrap_or_default();
                // The name names `target/compiled/<name>/`: checked once, here.
                if let Some(Err(e)) = r.name.as_deref().map(ids::check_project_name) {
                    w.errors.push(
                        Diagnostic::in_file("dbt_project.yml", format!("`name`: {e}"))
                            .at(crate::config::key_line(&text, "name"), None)
                            .hint("rename the project, e.g. `my_project`"),
                    );
                }
                r
            }
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

    let models = w.sql_files(&model_paths, &[]);
    // `tests/generic/` holds custom generic test definitions, not data tests.
    let singular_tests = w.sql_files(&test_paths, &["generic"]);
    let generic_dirs: Vec<String> = test_paths.iter().map(|t| format!("{t}/generic")).collect();
    let mut macros = w.sql_files(&macro_paths, &[]);
    macros.extend(w.sql_files(&generic_dirs, &[]));
    let mut seeds = Vec::new();
    let seed_files = w.files(&seed_paths, &["csv"], &[]);
    for (p, folders) in seed_files {
        seeds.push(SeedFile { name: stem(&p), path: w.rel(&p), abs_path: p, folders });
    }

    let doc_dirs = raw.docs_paths.clone().unwrap_or_else(|| {
        let extra = [paths(&raw.analysis_paths, "analyses"), paths(&raw.snapshot_paths, "snapshots")];
        [&model_paths, &seed_paths, &test_paths, &macro_paths]
            .into_iter()
            .chain(extra.iter())
            .flatten()
            .cloned()
            .collect()
    });
    let docs = docs::load(&mut w, &doc_dirs);
    let mut project = Project {
        root: root.to_path_buf(),
        name: raw.name.clone().filter(|n| ids::check_project_name(n).is_ok()).unwrap_or_else(|| {
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
        docs,
        model_tree: raw.models.clone(),
        seed_tree: raw.seeds.clone(),
        test_tree: raw.data_tests.clone().or(raw.tests.clone()),
        target_dir: root.join(raw.target_path.as_deref().unwrap_or("target")),
    };
    let prop_dirs: Vec<String> = model_paths.iter().chain(seed_paths.iter()).cloned().collect();
    let prop_files = w.files(&prop_dirs, &["yml", "yaml"], &[]);
    // Parsed on several threads, merged in path order: a later file's entry
    // for a name wins, as when files were read one by one.
    let parsed = par::map(&prop_files, |(p, _)| {
        let rel = w.rel(p);
        match std::fs::read_to_string(p) {
            Ok(text) => properties::parse(&rel, &text),
            Err(e) => properties::Declared {
                errors: vec![Diagnostic::in_file(rel, format!("cannot read: {e}"))],
                ..Default::default()
            },
        }
    });
    for declared in parsed {
        w.errors.extend(declared.errors);
        project.tests.extend(declared.tests);
        project.model_props.extend(declared.models);
        project.seed_props.extend(declared.seeds);
        project.sources.extend(declared.sources.into_iter().map(|s| ((s.source.clone(), s.table.clone()), s)));
    }
    // A seed is read with its own `delimiter`, known only once the property
    // files are in; its errors still join everything else's.
    let checked = par::map(&project.seeds, |s| {
        let cfg = project.seed_config(s);
        check_csv(&s.abs_path, &s.path, config_tree::get_str(&cfg, "delimiter").unwrap_or(","))
    });
    w.errors.extend(checked.into_iter().filter_map(Result::err));
    (project, w.errors)
}

impl Project {
    /// A seed's config: `dbt_project.yml`'s `seeds:` tree along its folders,
    /// then its property-file `config:` on top.
    pub fn seed_config(&self, s: &SeedFile) -> ConfigMap {
        let mut path = vec![self.name.clone()];
        path.extend(s.folders.iter().cloned());
        path.push(s.name.clone());
        let mut cfg = config_tree::from_tree(self.seed_tree.as_ref(), &path);
        if let Some(props) = self.seed_props.get(&s.name) {
            config_tree::merge(&mut cfg, props.config.clone());
        }
        cfg
    }
}

/// Opens a seed as Python's csv module reads it for dbt (the `csv` crate's
/// defaults are that dialect; a leading BOM is skipped, as dbt skips it), with
/// every row required to have the header's length. The one definition of how
/// a seed file is read: the load check and type inference both use it.
pub fn open_seed(path: &Path, delimiter: u8) -> csv::Result<csv::Reader<std::fs::File>> {
    Ok(seed_reader(std::fs::File::open(path)?, delimiter))
}

/// [`open_seed`] over bytes already read.
pub fn seed_reader<R: std::io::Read>(source: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(source)
}

/// Reads a seed with its delimiter and rejects a ragged row with its line number.
fn check_csv(abs: &Path, rel: &Path, delimiter: &str) -> Result<(), Diagnostic> {
    // Python's csv module takes a one-character delimiter, the `csv` crate one byte.
    let [byte] = delimiter.as_bytes() else {
        return Err(Diagnostic::in_file(rel, format!("`delimiter` is `{delimiter}`"))
            .hint("a seed's `delimiter` must be one ASCII character, such as `;` or `|`"));
    };
    let mut reader = open_seed(abs, *byte).map_err(|e| Diagnostic::in_file(rel, format!("cannot read seed: {e}")))?;
    reader.headers().map_err(|e| Diagnostic::in_file(rel, format!("cannot read the header: {e}")))?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => {
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
    }
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
        assert_eq!(p.seeds[0].name, "raw_a");
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

    #[test]
    fn one_listing_serves_every_filter_in_whole_path_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        // Names where the order of whole strings and of paths disagree:
        // `a-b.sql` sorts before `a/x.sql` as a string, after it as a path.
        for rel in [
            "models/a.sql",
            "models/a/x.sql",
            "models/a-b.sql",
            "models/B.sql",
            "models/a/z/y.sql",
            "models/a/x.yml",
            "models/.hidden.sql",
            "models/.git/c.sql",
            "models/generic/g.sql",
            "models/staging/s.sql",
            "seeds/s.csv",
            "seeds/s.yml",
        ] {
            write(r, rel, "");
        }
        let mut w = Walk { root: r.to_path_buf(), errors: Vec::new(), listings: BTreeMap::new() };
        let rel =
            |v: Vec<Listed>| -> Vec<(String, Vec<String>)> { v.into_iter().map(|(p, f)| (w_rel(r, &p), f)).collect() };
        let sql = rel(w.files(&["models".into()], &["sql"], &["generic"]));
        let want: Vec<(String, Vec<String>)> = [
            ("models/B.sql", vec![]),
            ("models/a/x.sql", vec!["a"]),
            ("models/a/z/y.sql", vec!["a", "z"]),
            ("models/a-b.sql", vec![]),
            ("models/a.sql", vec![]),
            ("models/staging/s.sql", vec!["staging"]),
        ]
        .into_iter()
        .map(|(p, f)| (p.to_string(), f.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(sql, want);
        let mut as_paths: Vec<PathBuf> = want.iter().map(|(p, _)| PathBuf::from(p)).collect();
        as_paths.sort();
        assert_eq!(
            as_paths.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
            want.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>()
        );
        // The same listing, other filters; seeds listed before models when
        // asked for in that order still come out in path order.
        let yml = rel(w.files(&["seeds".into(), "models".into()], &["yml", "yaml"], &[]));
        assert_eq!(yml.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["models/a/x.yml", "seeds/s.yml"]);
        assert_eq!(w.listings.len(), 2, "each folder is listed once");
        // Nested resource paths interleave, as a sort of every path would.
        let nested = rel(w.files(&["models".into(), "models/a".into()], &["sql"], &[]));
        let mut sorted = nested.clone();
        sorted.sort_by(|a, b| (Path::new(&a.0), &a.1).cmp(&(Path::new(&b.0), &b.1)));
        assert_eq!(nested, sorted);
        assert_eq!(nested.len(), 9);
    }

    fn w_rel(root: &Path, p: &Path) -> String {
        p.strip_prefix(root).expect("under root").to_string_lossy().into_owned()
    }

    #[test]
    fn files_loaded_on_several_threads_keep_path_order() {
        // Enough files for `par::map` to split them between threads.
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        for i in 0..150 {
            write(r, &format!("models/m{i:03}.sql"), &format!("select {i} as id"));
            let props =
                format!("models:\n  - name: m{i:03}\n    columns:\n      - name: id\n        data_tests: [unique]\n");
            write(r, &format!("models/p{i:03}.yml"), &props);
        }
        // The later file's entry for a name wins, as it always did.
        write(r, "models/z_override.yml", "models:\n  - name: m000\n    config:\n      materialized: table\n");
        write(r, "models/p007.yml", "models: [");
        let (p, errors) = load_all(r);
        let names: Vec<&str> = p.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names.len(), 150);
        assert!(names.windows(2).all(|w| w[0] < w[1]), "models out of path order");
        assert_eq!(p.models[42].text, "select 42 as id");
        let tested: Vec<String> = p.tests.iter().map(|t| format!("{:?}", t.attached)).collect();
        assert_eq!(tested.len(), 149, "p007 is broken, every other file declares one test");
        assert!(tested.windows(2).all(|w| w[0] < w[1]), "tests out of file order");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].file, Some(PathBuf::from("models/p007.yml")));
        assert!(p.model_props["m000"].config.contains_key("materialized"));
        assert_eq!(p.model_props["m000"].file, PathBuf::from("models/z_override.yml"));
    }
}
