//! Loading a dbt-style project from disk into an immutable [`Project`]: the
//! root project and, each as a project of its own, its installed packages.
//!
//! Owns the walk over model, seed, snapshot, test and macro paths, the parsing of
//! property YAML and `dbt_project.yml`, how `dbt_project.yml` trees configure a
//! node (the root project's over a package's), and the checks that need only
//! one file (ragged CSV rows, invalid YAML, `require-dbt-version`). Every
//! problem is collected, none stops the walk early. Jinja in YAML values is
//! rendered while the files are read, as dbt renders it while parsing, by the
//! [`render::Render`] the caller gives ([`render`] decides which values); it
//! renders no other Jinja and never touches the database.

pub mod dag;
pub mod docs;
mod entries;
pub mod env;
pub mod exposures;
mod external;
pub(crate) mod ids;
mod lines;
mod listing;
pub mod packages;
pub mod profile;
pub mod properties;
pub mod render;
pub(crate) mod resources;
mod seed_csv;
mod settings;
pub mod snapshots;
use seed_csv::check_csv;
pub use seed_csv::{open_seed, seed_reader};
mod source_docs;
pub use source_docs::{SourceColumn, SourceDocs};
pub mod test_entries;
pub mod unit_tests;
pub(crate) mod version;
pub mod versions;

use crate::config::dbt_project::RawDbtProject;
use crate::config_tree::{self, ConfigMap};
use crate::diag::Diagnostic;
use crate::par;
use listing::Listing;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
pub use test_entries::{Attached, TestDecl};

/// A `.sql` file (a model, a singular test or a macro file) or a Python
/// model's `.py` file.
#[derive(Debug, Clone)]
pub struct SqlFile {
    pub name: String,
    /// Relative to the project root, as shown in messages.
    pub path: PathBuf,
    /// Folders between the resource path and the file: `["staging"]`.
    pub folders: Vec<String>,
    pub text: String,
}

impl SqlFile {
    /// Whether this is a Python model's file: dbt decides by the `.py` ending.
    pub fn is_python(&self) -> bool {
        self.path.extension().is_some_and(|e| e == "py")
    }
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
    /// What a contract, its constraints and `persist_docs` read of each
    /// column, in file order.
    pub column_props: Vec<ColumnProps>,
    /// The entry's model-level `constraints:` as written, with its line.
    pub constraints: Option<(Value, usize)>,
    pub file: PathBuf,
    /// The entry's `name:` line, to point at a second entry for the same resource.
    pub line: Option<usize>,
    /// A model entry with `versions:`: its versions' own entries (in
    /// `Project::versions`) are what apply to files.
    pub versioned: bool,
    /// A model's (or one version's) `deprecation_date`.
    pub deprecation_date: Option<versions::DeprecationDate>,
}

/// A column of a property entry as a contract reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnProps {
    pub name: String,
    pub data_type: Option<String>,
    /// `quote: true`: the name is quoted in the SQL dbt writes for it.
    pub quote: bool,
    /// `constraints:` as written (checked at plan time).
    pub constraints: Option<Value>,
    /// The column's `name:` line.
    pub line: usize,
    /// `meta:` and `tags:`, which the manifest carries.
    pub meta: serde_yaml::Mapping,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceTable {
    pub source: String,
    pub table: String,
    pub database: Option<String>,
    pub schema: String,
    pub identifier: String,
    pub file: PathBuf,
    pub line: Option<usize>,
    /// dbt-duckdb's `external_location`, formatted: what the relation renders as.
    pub external: Option<String>,
    /// What the manifest (and so `graph.sources`) describes it with.
    pub docs: SourceDocs,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// Where its files are, relative to the root project: empty for the
    /// root project, the install folder for a package (`dbt_packages/p`).
    pub dir: PathBuf,
    pub name: String,
    pub profile: Option<String>,
    pub vars: BTreeMap<String, Value>,
    pub models: Vec<SqlFile>,
    pub seeds: Vec<SeedFile>,
    pub singular_tests: Vec<SqlFile>,
    pub macros: Vec<SqlFile>,
    pub model_props: BTreeMap<String, NodeProps>,
    /// Each version of each versioned model, and the file defining it.
    pub versions: versions::Versions,
    pub seed_props: BTreeMap<String, NodeProps>,
    /// `{% snapshot %}` blocks and YAML-defined snapshots, in path order.
    pub snapshots: Vec<snapshots::Snapshot>,
    /// `snapshots:` property entries by name (a YAML snapshot's own included).
    pub snapshot_props: BTreeMap<String, NodeProps>,
    pub sources: BTreeMap<(String, String), SourceTable>,
    /// The names of the groups its property files define (`groups:`).
    pub groups: BTreeSet<String>,
    /// `exposures:` entries of every property file, in path order.
    pub exposures: Vec<exposures::ExposureDecl>,
    /// What its property files declare that runner accepts and does not read.
    pub unread: BTreeSet<&'static str>,
    pub tests: Vec<TestDecl>,
    /// `unit_tests:` entries of every property file, in path order.
    pub unit_tests: Vec<unit_tests::UnitTestDecl>,
    /// Unit test fixture files (`<test-path>/fixtures/**.{csv,sql}`) by name.
    pub fixtures: BTreeMap<String, unit_tests::FixtureFile>,
    /// `{% docs %}` blocks by name, for `{{ doc('name') }}` in descriptions.
    pub docs: BTreeMap<String, docs::DocBlock>,
    /// `models:` / `seeds:` / `data_tests:` trees of `dbt_project.yml`.
    pub model_tree: Option<Value>,
    pub seed_tree: Option<Value>,
    pub snapshot_tree: Option<Value>,
    /// `dbt_project.yml` as read, to point at a bad key of its trees.
    pub dbt_project_text: String,
    pub test_tree: Option<Value>,
    /// `unit_tests:` tree of `dbt_project.yml` (`+enabled`, `+tags`, `+meta`).
    pub unit_test_tree: Option<Value>,
    /// `exposures:` tree of `dbt_project.yml` (`+enabled`, `+tags`, `+meta`).
    pub exposure_tree: Option<Value>,
    pub target_dir: PathBuf,
    /// Installed packages (`dbt_packages/`), in folder order; empty in a
    /// package's own project.
    pub packages: Vec<packages::Package>,
    /// The root project's `dispatch:` search orders.
    pub dispatch: Vec<packages::Dispatch>,
    /// `on-run-start` / `on-run-end` of `dbt_project.yml`, in order.
    pub on_run_start: Vec<crate::hooks::RunHook>,
    pub on_run_end: Vec<crate::hooks::RunHook>,
    /// `flags: skip_nodes_if_on_run_start_fails` (runner's default: true).
    pub skip_nodes_if_on_run_start_fails: bool,
    /// What loads but does nothing dbt would do (an unsupported flag, unit
    /// tests), to print before the run.
    pub warnings: Vec<Diagnostic>,
}

struct Walk {
    root: PathBuf,
    errors: Vec<Diagnostic>,
    /// How YAML values render; `None` reads them as written (tests).
    render: Option<std::sync::Arc<dyn render::Render>>,
    /// The root project's `vars:`, which property files of every project read.
    root_vars: BTreeMap<String, Value>,
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

    /// A YAML file's text (without a byte order mark), or its error collected.
    fn read_yaml(&mut self, p: &Path) -> Option<String> {
        let read = crate::yaml::read(p);
        self.read_result(p, read)
    }

    /// `.sql` files under `dirs` (skipping `skip` folders), read on several
    /// threads; in path order, with read errors collected in that order.
    fn sql_files(&mut self, dirs: &[String], skip: &[&str]) -> Vec<SqlFile> {
        self.source_files(dirs, &["sql"], skip)
    }

    /// [`Self::sql_files`] for any of `exts` (models are `.sql` and `.py`).
    fn source_files(&mut self, dirs: &[String], exts: &[&str], skip: &[&str]) -> Vec<SqlFile> {
        let files = self.files(dirs, exts, skip);
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
            if !self.listings.contains_key(&base) {
                let mut listing = Listing::new(&self.root);
                listing.start(&base);
                for (p, message, hint) in listing.problems {
                    self.errors.push(Diagnostic::in_file(self.rel(&p), message).hint(hint));
                }
                self.listings.insert(base.clone(), listing.files);
            }
            let Some(listed) = self.listings.get(&base) else { continue };
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

/// dbt's error for a second property entry of one model, seed or snapshot, in the
/// same file or another ("dbt found two schema.yml entries for the same resource").
fn described_twice(kind: &str, name: &str, (file, line): (&Path, Option<usize>), first: &NodeProps) -> Diagnostic {
    Diagnostic::in_file(file, format!("dbt found two schema.yml entries for the same resource named `{name}`"))
        .at(line, None)
        .hint(format!(
            "a {kind} and its columns may be described once: remove this entry or the one at {}",
            at(&first.file, first.line)
        ))
}

/// `file:line`, as diagnostics show a location.
fn at(file: &Path, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("`{}:{l}`", file.display()),
        None => format!("`{}`", file.display()),
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

/// Loads what can be loaded and every error found, YAML values as written
/// (no Jinja rendered), for tests of what loading alone does.
pub fn load_all(root: &Path) -> (Project, Vec<Diagnostic>) {
    load_rendered(root, None)
}

/// The root project's `profile:` as written (`None` when the file or key is
/// missing or unreadable: loading reports why), to choose the profile
/// before the project loads with its target.
pub fn profile_name(root: &Path) -> Option<String> {
    let text = crate::yaml::read(&root.join("dbt_project.yml")).ok()?;
    let v: Value = crate::yaml::from_str(&text).ok()?;
    v.get("profile")?.as_str().map(str::to_string)
}

/// Loads what can be loaded and every error found, so later stages (template
/// compilation) can add their errors to the same report; `render` renders
/// Jinja in YAML values as dbt does while parsing.
pub fn load_rendered(root: &Path, render: Option<std::sync::Arc<dyn render::Render>>) -> (Project, Vec<Diagnostic>) {
    let mut w = Walk {
        root: root.to_path_buf(),
        errors: Vec::new(),
        render,
        root_vars: BTreeMap::new(),
        listings: BTreeMap::new(),
    };
    let dbt_path = root.join("dbt_project.yml");
    let mut dbt_text = String::new();
    let raw = if dbt_path.exists() {
        dbt_text = w.read_yaml(&dbt_path).unwrap_or_default();
        let text = &dbt_text;
        let file = Path::new("dbt_project.yml");
        match render::dbt_project::<RawDbtProject>(text, file, w.render.as_deref(), true) {
            Ok(r) => {
                // The name names `target/compiled/<name>/`: checked once, here.
                if let Some(Err(e)) = r.name.as_deref().map(ids::check_project_name) {
                    w.errors.push(
                        Diagnostic::in_file("dbt_project.yml", format!("`name`: {e}"))
                            .at(crate::config::key_line(text, "name"), None)
                            .hint("rename the project, e.g. `my_project`"),
                    );
                }
                r
            }
            Err(errors) => {
                w.errors.extend(errors);
                RawDbtProject::default()
            }
        }
    } else {
        RawDbtProject::default()
    };
    w.root_vars = raw.vars.clone().unwrap_or_default();
    let name =
        raw.name.clone().filter(|n| ids::check_project_name(n).is_ok()).unwrap_or_else(|| {
            ids::project_name_from(&root.canonicalize().ok().as_deref().map(stem).unwrap_or_default())
        });
    // A file that is missing or not YAML leaves `raw` empty: no settings.
    let project_settings = settings::read(&raw, &dbt_text, &name, &mut w.errors);
    let mut project = resources::load(&mut w, Path::new(""), &raw, name);
    project.on_run_start = project_settings.on_run_start;
    project.on_run_end = project_settings.on_run_end;
    project.skip_nodes_if_on_run_start_fails = project_settings.skip_nodes_if_on_run_start_fails;
    let mut warnings = project_settings.warnings;
    warnings.append(&mut project.warnings);
    project.warnings = warnings;
    version::check(&mut w, &raw, &dbt_text, Path::new("dbt_project.yml"), &project.name, raw.flags.as_ref());
    packages::load_into(&mut w, &mut project, &raw, &dbt_text);
    project.dbt_project_text = dbt_text;
    // A seed is read with its own `delimiter`, known only once the property
    // files are in; its errors still join everything else's.
    let seeds: Vec<(&Project, &SeedFile)> =
        project.all().flat_map(|owner| owner.seeds.iter().map(move |s| (owner, s))).collect();
    let checked = par::map(&seeds, |(owner, s)| {
        let cfg = project.seed_config(owner, s);
        check_csv(&s.abs_path, &s.path, config_tree::get_str(&cfg, "delimiter").unwrap_or(","))
    });
    w.errors.extend(checked.into_iter().filter_map(Result::err));
    let unmatched: Vec<Diagnostic> = project.all().flat_map(entries::unmatched).collect();
    project.warnings.extend(unmatched);
    (project, w.errors)
}

impl Project {
    /// A model file's property entry: the entry of the version it defines,
    /// else the model's own (a versioned model's entry applies to no file).
    pub fn model_props_of(&self, file_stem: &str) -> Option<&NodeProps> {
        match self.versions.of_file(file_stem) {
            Some(v) => Some(&v.props),
            None => self.model_props.get(file_stem).filter(|p| !p.versioned),
        }
    }

    /// The root project and every installed package's, in that order.
    pub fn all(&self) -> impl Iterator<Item = &Project> {
        std::iter::once(self).chain(self.packages.iter().map(|p| &p.project))
    }

    /// The project (root or package) named `name`.
    pub fn named(&self, name: &str) -> Option<&Project> {
        self.all().find(|p| p.name == name)
    }

    /// Whether this is an installed package's project (not the root's).
    pub fn is_package(&self) -> bool {
        !self.dir.as_os_str().is_empty()
    }

    /// A node's config from `dbt_project.yml`, as dbt merges it: the tree of
    /// the node's own project along `[project, folders…, name]`, then each of
    /// `layers` (property YAML, then the file's `config()`), and last, for a
    /// package's node, the root project's tree (`models: <package>: …`),
    /// which dbt lets override everything the package says. `self` is the
    /// root project; `tree` picks the tree of either.
    pub fn node_config(
        &self,
        owner: &Project,
        tree: fn(&Project) -> Option<&Value>,
        folders: &[String],
        name: &str,
        layers: impl IntoIterator<Item = ConfigMap>,
    ) -> ConfigMap {
        let mut path = vec![owner.name.clone()];
        path.extend(folders.iter().cloned());
        path.push(name.to_string());
        let mut cfg = config_tree::from_tree(tree(owner), &path);
        for layer in layers {
            config_tree::merge(&mut cfg, layer);
        }
        if owner.is_package() && tree(self).is_some() {
            config_tree::merge(&mut cfg, config_tree::from_tree(tree(self), &path));
        }
        cfg
    }

    /// A seed's config (`owner` the project it belongs to, `self` the root):
    /// the `seeds:` trees along its folders and its property-file `config:`.
    pub fn seed_config(&self, owner: &Project, s: &SeedFile) -> ConfigMap {
        let props = owner.seed_props.get(&s.name).map(|p| p.config.clone());
        self.node_config(owner, |p| p.seed_tree.as_ref(), &s.folders, &s.name, props)
    }
}

#[cfg(test)]
mod tests;
