//! One project's resources, read as dbt reads them: the root project's, or
//! an installed package's (whose files sit under its folder, `dir`, such as
//! `dbt_packages/my_pkg`). Owns the walk over its model, seed, snapshot,
//! test, macro and docs paths and the merge of its property files into one
//! [`Project`]; the root-only settings (profile, hooks, packages, dispatch)
//! are the caller's. Paths it records stay relative to the root project, so
//! every message names a file the user can open; its property files render
//! through `super::render`.

use super::{at, described_twice, docs, entries, properties, snapshots, stem, Project, SeedFile, Walk};
use crate::config::dbt_project::RawDbtProject;
use crate::diag::Diagnostic;
use crate::par;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The resource folders of a project, relative to the root project.
struct Paths {
    models: Vec<String>,
    seeds: Vec<String>,
    tests: Vec<String>,
    macros: Vec<String>,
    snapshots: Vec<String>,
    analyses: Vec<String>,
}

impl Paths {
    fn of(raw: &RawDbtProject, dir: &Path) -> Paths {
        let under = |v: &Option<Vec<String>>, d: &str| -> Vec<String> {
            v.clone().unwrap_or_else(|| vec![d.to_string()]).iter().map(|p| dir.join(p).display().to_string()).collect()
        };
        Paths {
            models: under(&raw.model_paths, "models"),
            seeds: under(&raw.seed_paths, "seeds"),
            tests: under(&raw.test_paths, "tests"),
            macros: under(&raw.macro_paths, "macros"),
            snapshots: under(&raw.snapshot_paths, "snapshots"),
            analyses: under(&raw.analysis_paths, "analyses"),
        }
    }
}

/// Reads the project named `name` whose `dbt_project.yml` (`raw`) sits in
/// `dir` (empty for the root project); every problem joins `w.errors`.
pub(super) fn load(w: &mut Walk, dir: &Path, raw: &RawDbtProject, name: String) -> Project {
    let paths = Paths::of(raw, dir);
    // Python models (`.py`) are models too: planned from their `dbt.*` calls.
    let models = w.source_files(&paths.models, &["sql", "py"], &[]);
    let snapshot_files = snapshots::in_files(w, &paths.snapshots);
    // `tests/generic/` holds custom generic test definitions and
    // `tests/fixtures/` unit test fixtures, not data tests.
    let singular_tests = w.sql_files(&paths.tests, &["generic", "fixtures"]);
    let fixtures = entries::fixture_files(w, &paths.tests);
    let generic_dirs: Vec<String> = paths.tests.iter().map(|t| format!("{t}/generic")).collect();
    let mut macros = w.sql_files(&paths.macros, &[]);
    macros.extend(w.sql_files(&generic_dirs, &[]));
    let seeds: Vec<SeedFile> = w
        .files(&paths.seeds, &["csv"], &[])
        .into_iter()
        .map(|(p, folders)| SeedFile { name: stem(&p), path: w.rel(&p), abs_path: p, folders })
        .collect();
    let doc_dirs = match &raw.docs_paths {
        Some(d) => d.iter().map(|p| dir.join(p).display().to_string()).collect(),
        None => [&paths.models, &paths.seeds, &paths.tests, &paths.macros, &paths.analyses, &paths.snapshots]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<String>>(),
    };
    let docs = docs::load(w, &doc_dirs);
    let root = w.root.clone();
    let mut project = Project {
        root: root.clone(),
        dir: dir.to_path_buf(),
        name,
        profile: raw.profile.clone(),
        vars: raw.vars.clone().unwrap_or_default(),
        models,
        seeds,
        singular_tests,
        macros,
        model_props: BTreeMap::new(),
        versions: super::versions::Versions::default(),
        seed_props: BTreeMap::new(),
        snapshots: snapshot_files,
        snapshot_props: BTreeMap::new(),
        sources: BTreeMap::new(),
        groups: Default::default(),
        exposures: Vec::new(),
        unread: Default::default(),
        tests: Vec::new(),
        unit_tests: Vec::new(),
        fixtures,
        docs,
        model_tree: raw.models.clone(),
        seed_tree: raw.seeds.clone(),
        snapshot_tree: raw.snapshots.clone(),
        test_tree: raw.data_tests.clone().or(raw.tests.clone()),
        unit_test_tree: raw.unit_tests.clone(),
        exposure_tree: raw.exposures.clone(),
        target_dir: root.join(raw.target_path.as_deref().unwrap_or("target")),
        packages: Vec::new(),
        dispatch: Vec::new(),
        on_run_start: Vec::new(),
        on_run_end: Vec::new(),
        skip_nodes_if_on_run_start_fails: true,
        warnings: Vec::new(),
        dbt_project_text: String::new(),
    };
    let prop_dirs: Vec<String> = paths.models.iter().chain(&paths.seeds).chain(&paths.snapshots).cloned().collect();
    let own_vars = project.is_package().then_some(&project.vars);
    let vars = super::render::property_vars(&w.root_vars, &project.name, own_vars);
    properties_into(w, &mut project, &prop_dirs, &vars);
    // Each declared model version finds the file that defines it.
    let (warnings, errors) = project.versions.resolve(&project.models);
    project.warnings.extend(warnings);
    w.errors.extend(errors);
    project
}

/// Parses every property file under `dirs` into `project`, its values
/// rendered with the project's `vars` (see [`super::render::property_vars`]).
fn properties_into(w: &mut Walk, project: &mut Project, dirs: &[String], vars: &[BTreeMap<String, serde_yaml::Value>]) {
    let prop_files = w.files(dirs, &["yml", "yaml"], &[]);
    let render = w.render.clone();
    let props = render.as_deref().map(|render| super::render::Properties { render, project: &project.name, vars });
    // Parsed on several threads, merged in path order: a second entry for a
    // resource is reported in the later file, naming the first.
    let parsed = par::map(&prop_files, |(p, _)| {
        let rel = w.rel(p);
        match crate::yaml::read(p) {
            Ok(text) => properties::parse(&rel, &text, props),
            Err(e) => properties::Declared {
                errors: vec![Diagnostic::in_file(rel, format!("cannot read: {e}"))],
                ..Default::default()
            },
        }
    });
    for (declared, (_, folders)) in parsed.into_iter().zip(&prop_files) {
        w.errors.extend(declared.errors);
        snapshots::declare(w, project, declared.snapshots, folders);
        project.warnings.extend(declared.warnings);
        project.tests.extend(declared.tests);
        project.unit_tests.extend(declared.unit_tests);
        project.groups.extend(declared.groups);
        let exposures =
            declared.exposures.into_iter().map(|e| super::exposures::ExposureDecl { folders: folders.clone(), ..e });
        project.exposures.extend(exposures);
        project.unread.extend(declared.unread);
        project.versions.declared.extend(declared.versions);
        for (kind, entries, props) in
            [("model", declared.models, &mut project.model_props), ("seed", declared.seeds, &mut project.seed_props)]
        {
            for (name, entry) in entries {
                if let Some(first) = props.get(&name) {
                    w.errors.push(described_twice(kind, &name, (&entry.file, entry.line), first));
                } else {
                    props.insert(name, entry);
                }
            }
        }
        for s in declared.sources {
            let key = (s.source.clone(), s.table.clone());
            if let Some(first) = project.sources.get(&key) {
                w.errors.push(
                    Diagnostic::in_file(&s.file, format!("source table `{}.{}` is declared twice", s.source, s.table))
                        .at(s.line, None)
                        .hint(format!("remove one of the entries; the other is at {}", at(&first.file, first.line))),
                );
            } else {
                project.sources.insert(key, s);
            }
        }
    }
}

/// `path` below the project's folder: dbt's `original_file_path` of a
/// package's file (`dbt_packages/p/models/a.sql` → `models/a.sql`).
pub(crate) fn below(dir: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(dir).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf())
}
