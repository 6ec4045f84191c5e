//! `runner deps`: installs what `packages.yml` lists into the project's
//! install path (`dbt_packages/`), as `dbt deps` does, and writes
//! `package-lock.yml`.
//!
//! A `local:` package becomes a symlink to its folder; a `git:` package is
//! cloned with the `git` command at its `revision` (a branch, tag or commit),
//! from its `subdirectory` if given. Each package lands in a folder named by
//! its own `dbt_project.yml`. Reads and writes only the install path and the
//! lock file; loading what is installed is `project::packages`.

use crate::config::dbt_project::RawDbtProject;
use crate::error::Diagnostic;
use crate::project::packages::{self, Spec};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What one package became.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Installed {
    pub name: String,
    /// The lock file's entry: the spec with what it resolved to.
    pub lock: Vec<(String, String)>,
}

/// Installs every package of the project at `root`; the first error stops
/// (a half-installed package folder is removed, the rest stay as they were).
pub(crate) fn install(root: &Path) -> Result<Vec<Installed>, Vec<Diagnostic>> {
    let Some(file) = packages::spec_file(root).map_err(|d| vec![d])? else { return Ok(Vec::new()) };
    let specs = packages::specs(root, &file)?;
    let install = install_path(root).map_err(|d| vec![d])?;
    std::fs::create_dir_all(&install).map_err(|e| {
        vec![Diagnostic::in_file(rel(root, &install), format!("cannot create the folder: {e}"))
            .hint("make the project folder writable")]
    })?;
    let mut done = Vec::new();
    for (spec, line) in specs {
        let at = |msg: String, hint: &str| vec![Diagnostic::in_file(&file, msg).at(line, None).hint(hint.to_string())];
        let installed = match &spec {
            Spec::Local { path } => local(root, &install, path),
            Spec::Git { url, revision, subdirectory } => git(&install, url, revision.as_deref(), subdirectory.as_deref()),
            Spec::Hub { package, .. } => Err((
                format!("hub package `{package}`: runner installs only `local:` and `git:` packages so far"),
                "list the package by its git repository instead, e.g. `git: https://github.com/dbt-labs/dbt-utils.git` with `revision: 1.3.0`".into(),
            )),
            Spec::Tarball { url, .. } => Err((
                format!("tarball package `{url}`: runner installs only `local:` and `git:` packages so far"),
                "download and unpack it, then list it as `local: <folder>`".into(),
            )),
        };
        match installed {
            Ok(i) => {
                if let Some(prev) = done.iter().find(|d: &&Installed| d.name == i.name) {
                    return Err(at(format!("package `{}` is listed twice", prev.name), "remove one of the entries"));
                }
                done.push(i)
            }
            Err((msg, hint)) => return Err(at(msg, &hint)),
        }
    }
    write_lock(root, &done).map_err(|d| vec![d])?;
    Ok(done)
}

/// The project's `packages-install-path`, absolute.
fn install_path(root: &Path) -> Result<PathBuf, Diagnostic> {
    let path = root.join("dbt_project.yml");
    let raw = if path.is_file() {
        let text = crate::yaml::read(&path).map_err(|e| Diagnostic::in_file("dbt_project.yml", format!("cannot read: {e}")))?;
        crate::yaml::from_str::<Option<RawDbtProject>>(&text)
            .map_err(|e| e.in_file(Path::new("dbt_project.yml")))?
            .unwrap_or_default()
    } else {
        RawDbtProject::default()
    };
    Ok(root.join(raw.packages_install_path.as_deref().unwrap_or("dbt_packages")))
}

fn rel(root: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(root).unwrap_or(p).to_path_buf()
}

type Failure = (String, String);

/// The `name` in `dir/dbt_project.yml`.
fn project_name(dir: &Path, what: &str) -> Result<String, Failure> {
    let text = crate::yaml::read(&dir.join("dbt_project.yml")).map_err(|e| {
        (format!("{what} has no readable `dbt_project.yml` ({e})"), "a package is a dbt project: check the path".into())
    })?;
    let raw: RawDbtProject = crate::yaml::from_str::<Option<RawDbtProject>>(&text)
        .map_err(|e| (format!("{what}: `dbt_project.yml`: {}", e.message), "fix the package's dbt_project.yml".into()))?
        .unwrap_or_default();
    raw.name.filter(|n| crate::project::ids::check_project_name(n).is_ok()).ok_or_else(|| {
        (format!("{what}: `dbt_project.yml` has no valid `name`"), "a package needs a `name` that is a dbt identifier".into())
    })
}

/// Replaces whatever `dest` is (a symlink, a folder) with nothing.
fn clear(dest: &Path) -> Result<(), Failure> {
    let meta = match std::fs::symlink_metadata(dest) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    let removed = if meta.is_dir() { std::fs::remove_dir_all(dest) } else { std::fs::remove_file(dest) };
    removed.map_err(|e| (format!("cannot replace `{}`: {e}", dest.display()), "remove it by hand".into()))
}

fn local(root: &Path, install: &Path, path: &str) -> Result<Installed, Failure> {
    let dir = root.join(path);
    let canonical = dir.canonicalize().map_err(|e| {
        (format!("local package `{path}` is not a folder ({e})"), "the path is relative to the project root".into())
    })?;
    if root.canonicalize().ok().as_deref() == Some(canonical.as_path()) {
        return Err((format!("local package `{path}` is this project itself"), "a project cannot depend on itself".into()));
    }
    let name = project_name(&canonical, &format!("local package `{path}`"))?;
    let dest = install.join(&name);
    clear(&dest)?;
    symlink(&canonical, &dest)
        .map_err(|e| (format!("cannot link `{}`: {e}", dest.display()), "make the install folder writable".into()))?;
    Ok(Installed { name: name.clone(), lock: vec![("local".into(), path.into()), ("name".into(), name)] })
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_dir(target, link)
}

/// Runs `git args…` in `dir`; its stderr is the error.
fn run_git(dir: &Path, args: &[&str]) -> Result<String, Failure> {
    let out = Command::new("git").args(args).current_dir(dir).env("GIT_TERMINAL_PROMPT", "0").output().map_err(|e| {
        (format!("cannot run `git` ({e})"), "install git, or list the package as `local:` after cloning it yourself".into())
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err((format!("`git {}` failed: {err}", args.join(" ")), "check the url and the revision".into()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn git(install: &Path, url: &str, revision: Option<&str>, subdirectory: Option<&str>) -> Result<Installed, Failure> {
    let staging = install.join(format!(".runner-clone-{}", std::process::id()));
    clear(&staging)?;
    let outcome = (|| {
        let staging_str = staging.display().to_string();
        run_git(install, &["clone", "--quiet", url, &staging_str])?;
        if let Some(rev) = revision {
            run_git(&staging, &["checkout", "--quiet", rev])?;
        }
        let sha = run_git(&staging, &["rev-parse", "HEAD"])?;
        let from = match subdirectory {
            Some(sub) => staging.join(sub),
            None => staging.clone(),
        };
        let name = project_name(&from, &format!("git package `{url}`"))?;
        let dest = install.join(&name);
        clear(&dest)?;
        std::fs::rename(&from, &dest)
            .map_err(|e| (format!("cannot move the clone to `{}`: {e}", dest.display()), "make the install folder writable".into()))?;
        let mut lock = vec![("git".into(), url.to_string()), ("name".into(), name.clone()), ("revision".into(), sha)];
        if let Some(sub) = subdirectory {
            lock.push(("subdirectory".into(), sub.to_string()));
        }
        Ok(Installed { name, lock })
    })();
    let _ = clear(&staging);
    outcome
}

/// `package-lock.yml`: each package as installed, in `packages.yml` order.
fn write_lock(root: &Path, done: &[Installed]) -> Result<(), Diagnostic> {
    let entries: Vec<serde_yaml::Mapping> = done
        .iter()
        .map(|i| i.lock.iter().map(|(k, v)| (k.clone().into(), v.clone().into())).collect())
        .collect();
    let mut doc = serde_yaml::Mapping::new();
    doc.insert("packages".into(), serde_yaml::to_value(entries).unwrap_or_default());
    let text = serde_yaml::to_string(&doc).unwrap_or_default();
    std::fs::write(root.join("package-lock.yml"), text)
        .map_err(|e| Diagnostic::in_file("package-lock.yml", format!("cannot write: {e}")).hint("make the project folder writable"))
}
