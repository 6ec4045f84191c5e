//! dbt packages as dbt loads them: what `packages.yml` (or
//! `dependencies.yml`) asks for, what is installed under `dbt_packages/`
//! (the project's `packages-install-path`), and the root project's
//! `dispatch:` search orders.
//!
//! Every folder of the install path that holds a `dbt_project.yml` is a
//! package, named by that file's `name` (as `dbt deps` names the folder).
//! A package is a project of its own (`project::resources` reads it): its
//! macros, custom generic tests, models, seeds, snapshots, singular tests,
//! property files, vars, config trees and `on-run-start` / `on-run-end`
//! hooks. It owns only reading these files:
//! installing is `crate::deps` (which renders `packages.yml` entries through
//! [`RenderEntry`], declared here so loading never needs `deps`), what a
//! macro name resolves to is `crate::template`, and how the root project
//! configures a package's nodes is `Project::node_config`.

use super::{Project, Walk};
use crate::config::dbt_project::RawDbtProject;
use crate::diag::Diagnostic;
use crate::hooks::Phase;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An installed package.
#[derive(Debug, Clone)]
pub struct Package {
    /// The `name` of its `dbt_project.yml`: its macro namespace.
    pub name: String,
    /// Its folder, relative to the root project (`dbt_packages/dbt_utils`).
    pub dir: PathBuf,
    /// What it holds: macros (custom generic tests included), nodes,
    /// property files, vars and config trees; `project.dir` is `dir`.
    pub project: Project,
}

/// One entry of the root project's `dispatch:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    pub namespace: String,
    pub search_order: Vec<String>,
}

/// One entry of `packages.yml`, as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Local { path: String },
    Git { url: String, revision: Option<String>, subdirectory: Option<String> },
    Hub { package: String, version: Vec<String>, prerelease: bool },
    Tarball { url: String, name: String },
}

/// `packages.yml` or `dependencies.yml` (dbt refuses both), relative to `root`.
pub(crate) fn spec_file(root: &Path) -> Result<Option<PathBuf>, Diagnostic> {
    let found: Vec<&str> =
        ["packages.yml", "dependencies.yml"].into_iter().filter(|f| root.join(f).is_file()).collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(PathBuf::from(one))),
        _ => Err(Diagnostic::in_file("dependencies.yml", "both `packages.yml` and `dependencies.yml` list packages")
            .hint("dbt reads only one of them: move every entry into `packages.yml`")),
    }
}

/// A field's text to write in the lock in place of its rendered value.
pub(crate) type Written = BTreeMap<String, String>;

/// Renders one `packages.yml` entry: the entry rendered, and what the lock
/// writes in place of some rendered fields; an error is the Jinja's. Only
/// `runner deps` renders entries (`deps::render::Renderer`), so loading a
/// project never needs `deps`.
pub(crate) trait RenderEntry {
    fn entry(&self, raw: &Value) -> Result<(Value, Written), String>;
}

/// One entry of `packages.yml`: what it asks for, its line, the entry as
/// written and as rendered (dbt's lock file hashes both), and what the lock
/// records of it in place of rendered values (see `deps::render`).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub spec: Spec,
    pub line: Option<usize>,
    pub raw: Value,
    pub rendered: Value,
    pub written: Written,
}

/// The package entries of `file` (relative to `root`), rendered with
/// `renderer` when it is `packages.yml` (dbt never renders
/// `dependencies.yml`); without a renderer, as written.
pub(crate) fn specs(
    root: &Path,
    file: &Path,
    renderer: Option<&dyn RenderEntry>,
) -> Result<Vec<Entry>, Vec<Diagnostic>> {
    let renderer = renderer.filter(|_| file != Path::new("dependencies.yml"));
    let text = crate::yaml::read(&root.join(file))
        .map_err(|e| vec![Diagnostic::in_file(file, format!("cannot read: {e}"))])?;
    let doc: Value = crate::yaml::from_str(&text).map_err(|e| vec![e.in_file(file)])?;
    let entries = match doc.get("packages") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(s)) => s.clone(),
        Some(_) => {
            return Err(vec![Diagnostic::in_file(file, "`packages` must be a list")
                .at(crate::config::key_line(&text, "packages"), None)
                .hint("write `packages:` then one `- local: …`, `- git: …` or `- package: …` entry per line")])
        }
    };
    let lines = entry_lines(&text);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let line = lines.get(i).copied();
        let (rendered, written) = match renderer.map(|r| r.entry(entry)) {
            None => (entry.clone(), Default::default()),
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                errors.push(Diagnostic::in_file(file, format!("cannot render this entry: {e}")).at(line, None));
                continue;
            }
        };
        match spec(&rendered) {
            Ok(spec) => out.push(Entry { spec, line, raw: entry.clone(), rendered, written }),
            Err(msg) => errors.push(Diagnostic::in_file(file, msg).at(line, None).hint(
                "an entry is `local: <path>`, `git: <url>` (with `revision:`), `package: <org>/<name>` (with `version:`) or `tarball: <url>` (with `name:`)",
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Lines of the top-level `packages:` list's items (`- ` at the list's indent).
fn entry_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut indent: Option<usize> = None;
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = line.len() - trimmed.len();
        if at == 0 && !trimmed.starts_with('-') {
            inside = trimmed.starts_with("packages:");
            indent = None;
            continue;
        }
        if inside && trimmed.starts_with('-') && *indent.get_or_insert(at) == at {
            out.push(i + 1);
        }
    }
    out
}

/// One entry, checked as dbt's package contract checks it (the keys each
/// kind takes, `version` for hub packages, `name` for tarballs).
pub(crate) fn spec(entry: &Value) -> Result<Spec, String> {
    let Value::Mapping(m) = entry else {
        return Err(format!("a package entry must be a mapping, got `{}`", show(entry)));
    };
    let get = |k: &str| m.get(k).map(show);
    let kinds: Vec<&str> =
        ["local", "git", "package", "tarball", "private"].into_iter().filter(|k| m.contains_key(*k)).collect();
    let takes: &[&str] = match kinds.as_slice() {
        ["local"] => &["local", "name"],
        ["git"] => &["git", "revision", "subdirectory", "warn-unpinned", "name"],
        ["package"] => &["package", "version", "install_prerelease", "name"],
        ["tarball"] => &["tarball", "name"],
        _ => &[],
    };
    let unknown = m.keys().filter_map(Value::as_str).find(|k| !takes.contains(k));
    if let ([kind], Some(k)) = (kinds.as_slice(), unknown) {
        let hint = if k == "install-prerelease" { " (dbt spells it `install_prerelease`)" } else { "" };
        return Err(format!("a `{kind}` package entry takes no key `{k}`{hint}"));
    }
    match kinds.as_slice() {
        ["local"] => Ok(Spec::Local { path: get("local").unwrap_or_default() }),
        ["git"] => Ok(Spec::Git {
            url: get("git").unwrap_or_default(),
            revision: get("revision"),
            subdirectory: get("subdirectory"),
        }),
        ["package"] => {
            let version = match m.get("version") {
                None => return Err(format!("hub package `{}` needs a `version:`", get("package").unwrap_or_default())),
                Some(Value::Sequence(s)) => s.iter().map(show).collect(),
                Some(v) => vec![show(v)],
            };
            let prerelease = matches!(m.get("install_prerelease"), Some(Value::Bool(true)));
            Ok(Spec::Hub { package: get("package").unwrap_or_default(), version, prerelease })
        }
        ["tarball"] => match get("name") {
            Some(name) => Ok(Spec::Tarball { url: get("tarball").unwrap_or_default(), name }),
            None => Err("a `tarball` package entry needs a `name:` (the folder it is installed into)".into()),
        },
        ["private"] => Err("`private:` packages need dbt Cloud's git integration, which runner does not have".into()),
        [] => Err("a package entry needs one of `local`, `git`, `package` or `tarball`".into()),
        many => Err(format!("a package entry has both `{}` and `{}`", many[0], many[1])),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other).map(|s| s.trim().to_string()).unwrap_or_default(),
    }
}

/// The root project's `dispatch:` entries.
pub(super) fn dispatch(raw: &RawDbtProject, text: &str) -> Result<Vec<Dispatch>, Diagnostic> {
    let bad = |msg: &str| {
        Diagnostic::in_file("dbt_project.yml", msg.to_string())
            .at(crate::config::key_line(text, "dispatch"), None)
            .hint("write `dispatch: [{macro_namespace: dbt_utils, search_order: [my_project, dbt_utils]}]`")
    };
    let Some(v) = &raw.dispatch else { return Ok(Vec::new()) };
    let Value::Sequence(entries) = v else { return Err(bad("`dispatch` must be a list")) };
    let mut out = Vec::new();
    for e in entries {
        let namespace = e.get("macro_namespace").and_then(Value::as_str);
        let order = e.get("search_order").and_then(Value::as_sequence);
        let extra = e.as_mapping().and_then(|m| {
            m.keys()
                .filter_map(Value::as_str)
                .find(|k| !["macro_namespace", "search_order"].contains(k))
                .map(str::to_string)
        });
        match (namespace, order, extra) {
            (_, _, Some(k)) => return Err(bad(&format!("unknown key `{k}` in a `dispatch` entry"))),
            (Some(ns), Some(order), None) if order.iter().all(Value::is_string) => out.push(Dispatch {
                namespace: ns.to_string(),
                search_order: order.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            }),
            _ => {
                return Err(bad(
                    "a `dispatch` entry needs `macro_namespace` (a name) and `search_order` (a list of names)",
                ))
            }
        }
    }
    Ok(out)
}

/// The installed packages, with every problem collected in `w`. `specs` is
/// what `packages.yml` asks for: fewer packages installed than listed is
/// dbt's "run `dbt deps`" error.
pub(super) fn load(
    w: &mut Walk,
    install: &str,
    spec_file: Option<&Path>,
    specs: usize,
    root_flags: Option<&Value>,
) -> Vec<Package> {
    let base = w.root.join(install);
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&base) {
        Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("dbt_project.yml").is_file()).collect(),
        Err(_) => Vec::new(),
    };
    dirs.sort();
    if dirs.len() < specs {
        let file = spec_file.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("packages.yml"));
        w.errors.push(
            Diagnostic::in_file(
                file,
                format!("{specs} package(s) are listed, but only {} are installed in `{install}/`", dirs.len()),
            )
            .hint("run `runner deps` to install them"),
        );
    }
    let mut out: Vec<Package> = Vec::new();
    for dir in dirs {
        if let Some(p) = load_one(w, &dir, root_flags) {
            if let Some(first) = out.iter().find(|q| q.name == p.name) {
                let msg = format!(
                    "package `{}` is installed twice: `{}` and `{}`",
                    p.name,
                    first.dir.display(),
                    p.dir.display()
                );
                w.errors.push(Diagnostic::in_file(&p.dir, msg).hint("remove one of the folders and run `runner deps`"));
                continue;
            }
            out.push(p);
        }
    }
    out
}

/// One package folder: its `dbt_project.yml` and everything it holds.
fn load_one(w: &mut Walk, dir: &Path, root_flags: Option<&Value>) -> Option<Package> {
    let rel = w.rel(dir);
    let yml = rel.join("dbt_project.yml");
    let text = w.read_yaml(&dir.join("dbt_project.yml"))?;
    let raw = match super::render::dbt_project::<RawDbtProject>(&text, &yml, w.render.as_deref(), false) {
        Ok(r) => r,
        Err(errors) => {
            w.errors.extend(errors);
            return None;
        }
    };
    let name = match raw.name.clone() {
        Some(n) if super::ids::check_project_name(&n).is_ok() => n,
        _ => {
            w.errors.push(
                Diagnostic::in_file(&yml, "a package needs a `name` that is a dbt identifier")
                    .at(crate::config::key_line(&text, "name"), None)
                    .hint("reinstall the package with `runner deps`"),
            );
            return None;
        }
    };
    super::version::check(w, &raw, &text, &yml, &name, root_flags);
    let mut project = super::resources::load(w, &rel, &raw, name.clone());
    // dbt runs every package's `on-run-start` / `on-run-end` too, in the
    // package's context (`Project::run_hooks` puts them in dbt's order).
    for phase in [Phase::Start, Phase::End] {
        let written = if phase == Phase::Start { &raw.on_run_start } else { &raw.on_run_end };
        match crate::hooks::run_hooks(&name, phase, written.as_ref()) {
            Ok(list) if phase == Phase::Start => project.on_run_start = list,
            Ok(list) => project.on_run_end = list,
            Err(e) => w.errors.push(
                Diagnostic::in_file(&yml, e)
                    .at(crate::config::key_line(&text, phase.key()), None)
                    .hint("write the hook as a SQL string, or a list of them"),
            ),
        }
    }
    project.dbt_project_text = text;
    Some(Package { name, dir: rel, project })
}

/// The installed packages and the root project's `dispatch:`, whose search
/// orders may name only the project, its packages and `dbt`.
pub(super) fn load_into(w: &mut Walk, project: &mut Project, raw: &RawDbtProject, dbt_text: &str) {
    let specs = match spec_file(&w.root) {
        // Only the number of entries matters here: they are not rendered.
        Ok(Some(file)) => match specs(&w.root, &file, None) {
            Ok(s) => Some((file, s.len())),
            Err(errors) => {
                w.errors.extend(errors);
                Some((file, 0))
            }
        },
        Ok(None) => None,
        Err(d) => {
            w.errors.push(d);
            None
        }
    };
    let install = raw.packages_install_path.as_deref().unwrap_or("dbt_packages");
    let (file, count) = specs.map(|(f, n)| (Some(f), n)).unwrap_or((None, 0));
    project.packages = load(w, install, file.as_deref(), count, raw.flags.as_ref());
    for p in &mut project.packages {
        project.warnings.append(&mut p.project.warnings);
        // `doc('x')` finds the root project's block first, then any package's.
        for (name, block) in &p.project.docs {
            project.docs.entry(name.clone()).or_insert_with(|| block.clone());
        }
    }
    // Until `runner deps` has run, its error is the one to read.
    let missing = project.packages.len() < count;
    match dispatch(raw, dbt_text) {
        Ok(d) => project.dispatch = d,
        Err(e) => w.errors.push(e),
    }
    for d in &project.dispatch {
        for name in d.search_order.iter().filter(|_| !missing) {
            let known = name == &project.name || name == "dbt" || project.packages.iter().any(|p| &p.name == name);
            if !known {
                let installed: Vec<String> = project.packages.iter().map(|p| format!("`{}`", p.name)).collect();
                w.errors.push(
                    Diagnostic::in_file(
                        "dbt_project.yml",
                        format!(
                            "`dispatch` for `{}` searches `{name}`, which is not this project or an installed package",
                            d.namespace
                        ),
                    )
                    .at(dispatch_line(dbt_text, name), None)
                    .hint(format!(
                        "search `{}`{}{} or `dbt`, or run `runner deps` if `{name}` is in packages.yml",
                        project.name,
                        if installed.is_empty() { "" } else { ", " },
                        installed.join(", ")
                    )),
                );
            }
        }
    }
}

/// The line of `name` in the `dispatch:` block (after its key).
fn dispatch_line(text: &str, name: &str) -> Option<usize> {
    let start = crate::config::key_line(text, "dispatch")?;
    text.lines().skip(start).position(|l| l.contains(name)).map(|i| start + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(yaml: &str) -> Result<Spec, String> {
        spec(&serde_yaml::from_str(yaml).expect("yaml"))
    }

    #[test]
    fn entries_of_each_kind() {
        assert_eq!(one("local: ../"), Ok(Spec::Local { path: "../".into() }));
        assert_eq!(
            one("git: https://x/y.git\nrevision: 1.2.0"),
            Ok(Spec::Git { url: "https://x/y.git".into(), revision: Some("1.2.0".into()), subdirectory: None })
        );
        assert_eq!(
            one("package: dbt-labs/dbt_utils\nversion: ['>=1.0.0', '<2.0.0']"),
            Ok(Spec::Hub {
                package: "dbt-labs/dbt_utils".into(),
                version: vec![">=1.0.0".into(), "<2.0.0".into()],
                prerelease: false
            })
        );
        assert_eq!(
            one("package: a/b\nversion: 1.3.0"),
            Ok(Spec::Hub { package: "a/b".into(), version: vec!["1.3.0".into()], prerelease: false })
        );
        assert_eq!(
            one("package: a/b\nversion: 1.3.0\ninstall_prerelease: true"),
            Ok(Spec::Hub { package: "a/b".into(), version: vec!["1.3.0".into()], prerelease: true })
        );
        assert!(one("package: a/b").unwrap_err().contains("needs a `version:`"));
        assert!(one("tarball: http://x/y.tgz").unwrap_err().contains("needs a `name:`"));
        assert!(one("package: a/b\nversion: 1.0.0\ninstall-prerelease: true")
            .unwrap_err()
            .contains("`install_prerelease`"));
        assert!(one("package: a/b\nversion: 1.0.0\nrevision: x").unwrap_err().contains("takes no key `revision`"));
        assert!(one("local: a\ngit: b").unwrap_err().contains("both `local` and `git`"));
        assert!(one("revision: x").unwrap_err().contains("needs one of"));
        assert!(one("local: a\nversoin: 1").unwrap_err().contains("takes no key `versoin`"));
    }

    #[test]
    fn entry_lines_are_the_list_items() {
        let text = "# deps\npackages:\n  - local: ../\n  - package: a/b\n    version: 1.0.0\n\n  - git: x\n";
        assert_eq!(entry_lines(text), vec![3, 4, 7]);
    }
}
