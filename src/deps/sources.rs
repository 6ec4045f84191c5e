//! The four kinds of package `runner deps` installs, each pinned and then
//! placed as dbt does: a hub version (its tarball unpacked), a git commit
//! (cloned with the `git` command, from its `subdirectory` if given), a local
//! folder (linked, so edits show at once) and a tarball URL. Each lands in a
//! folder named by the package's own project name. Owns the download folder's
//! contents and the install path's entries; the choice of hub versions is
//! [`super::hub`].

use super::hub::{Hub, Release};
use super::{fetch, Failure};
use crate::config::dbt_project::RawDbtProject;
use crate::project::packages::{self, Spec};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A package's own dependency, and what the lock writes of it as written.
type Dep = (Spec, super::render::Written);

/// One package, pinned: what it resolved to and where its files wait.
#[derive(Debug, Clone)]
pub(super) enum Pin {
    Hub { package: String, release: Release },
    Git { url: String, sha: String, subdirectory: Option<String>, name: String, dir: PathBuf, deps: Vec<Dep> },
    Local { path: String, dir: PathBuf, name: String, deps: Vec<Dep> },
    Tarball { url: String, name: String, dir: PathBuf, deps: Vec<Dep> },
}

/// What makes two entries the same package (dbt's package listing key).
pub(super) fn key(spec: &Spec) -> String {
    match spec {
        Spec::Hub { package, .. } => format!("hub:{}", package.to_lowercase()),
        Spec::Git { url, subdirectory, .. } => format!("git:{url}#{}", subdirectory.as_deref().unwrap_or("")),
        Spec::Local { path } => format!("local:{path}"),
        Spec::Tarball { url, .. } => format!("tarball:{url}"),
    }
}

/// Two entries for one package, as dbt's `incorporate` merges them: hub
/// version ranges add up; a git package takes one revision.
pub(super) fn merge(have: &Spec, new: &Spec) -> Result<Spec, Failure> {
    Ok(match (have, new) {
        (Spec::Hub { package, version, prerelease }, Spec::Hub { version: more, .. }) => {
            let mut version = version.clone();
            version.extend(more.iter().cloned());
            Spec::Hub { package: package.clone(), version, prerelease: *prerelease }
        }
        (Spec::Git { url, revision: Some(a), subdirectory }, Spec::Git { revision: Some(b), .. }) if a != b => {
            let _ = subdirectory;
            return Err((
                format!("git package `{url}` is asked for at two revisions, `{a}` and `{b}`"),
                "git dependencies take exactly one revision: make the entries agree".into(),
            ));
        }
        (Spec::Git { revision: None, .. }, Spec::Git { revision: Some(_), .. }) => new.clone(),
        _ => have.clone(),
    })
}

static CLONES: AtomicUsize = AtomicUsize::new(0);

/// Pins one entry: hub versions are chosen, git packages cloned, tarballs
/// downloaded, local folders found; each one's own dependencies are read.
pub(super) fn pin(
    root: &Path,
    downloads: &Path,
    hub: &mut Hub,
    spec: &Spec,
    renderer: &super::render::Renderer,
) -> Result<Pin, Failure> {
    match spec {
        Spec::Hub { package, version, prerelease } => {
            Ok(Pin::Hub { package: package.clone(), release: hub.resolve(package, version, *prerelease)? })
        }
        Spec::Local { path } => {
            let dir = root.join(path).canonicalize().map_err(|e| {
                (
                    format!("local package `{path}` is not a folder ({e})"),
                    "the path is relative to the project root".to_string(),
                )
            })?;
            if root.canonicalize().ok().as_deref() == Some(dir.as_path()) {
                return Err((
                    format!("local package `{path}` is this project itself"),
                    "a project cannot depend on itself".into(),
                ));
            }
            let name = project_name(&dir, &format!("local package `{path}`"))?;
            let deps = dependencies_of(&dir, &name, renderer)?;
            Ok(Pin::Local { path: path.clone(), dir, name, deps })
        }
        Spec::Git { url, revision, subdirectory } => {
            let clone = downloads.join(format!("git-{}", CLONES.fetch_add(1, Ordering::Relaxed)));
            run_git(downloads, &["clone", "--quiet", url, &clone.display().to_string()])?;
            match revision {
                Some(rev) => {
                    run_git(&clone, &["checkout", "--quiet", rev])?;
                }
                None => eprintln!(
                    "warning: git package `{url}` is not pinned to a revision, so each `runner deps` may install different code (hint: add `revision:` with a tag or commit)"
                ),
            }
            let sha = run_git(&clone, &["rev-parse", "HEAD"])?;
            let dir = match subdirectory {
                Some(sub) => clone.join(sub),
                None => clone,
            };
            let name = project_name(&dir, &format!("git package `{url}`"))?;
            let deps = dependencies_of(&dir, &name, renderer)?;
            Ok(Pin::Git { url: url.clone(), sha, subdirectory: subdirectory.clone(), name, dir, deps })
        }
        Spec::Tarball { url, name } => {
            let dir = fetch::tarball(url, downloads, name)?;
            let deps = dependencies_of(&dir, name, renderer)?;
            Ok(Pin::Tarball { url: url.clone(), name: name.clone(), dir, deps })
        }
    }
}

impl Pin {
    pub(super) fn name(&self) -> &str {
        match self {
            Pin::Hub { release, .. } => &release.name,
            Pin::Git { name, .. } | Pin::Local { name, .. } | Pin::Tarball { name, .. } => name,
        }
    }

    /// What this pin resolved to (a hub version, a commit, …).
    pub(super) fn version(&self) -> String {
        match self {
            Pin::Hub { release, .. } => release.version.clone(),
            Pin::Git { sha, .. } => sha.clone(),
            Pin::Local { path, .. } => path.clone(),
            Pin::Tarball { url, .. } => url.clone(),
        }
    }

    pub(super) fn dependencies(&self) -> Vec<Dep> {
        match self {
            Pin::Hub { release, .. } => release.packages.iter().map(|s| (s.clone(), Default::default())).collect(),
            Pin::Git { deps, .. } | Pin::Local { deps, .. } | Pin::Tarball { deps, .. } => deps.clone(),
        }
    }

    /// The lock file's entry, keys in the order dbt writes them.
    pub(super) fn lock(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = match self {
            Pin::Hub { package, release } => {
                vec![("package".into(), package.clone()), ("version".into(), release.version.clone())]
            }
            Pin::Git { url, sha, subdirectory, .. } => {
                let mut e = vec![("git".into(), url.clone()), ("revision".into(), sha.clone())];
                if let Some(sub) = subdirectory {
                    e.push(("subdirectory".into(), sub.clone()));
                }
                e
            }
            Pin::Local { path, .. } => vec![("local".into(), path.clone())],
            Pin::Tarball { url, .. } => vec![("tarball".into(), url.clone())],
        };
        out.push(("name".into(), self.name().to_string()));
        out
    }

    /// Puts the package into `install/<name>`.
    pub(super) fn place(&self, install: &Path, downloads: &Path, _hub: &mut Hub) -> Result<(), Failure> {
        let dest = install.join(self.name());
        let writable = |e: std::io::Error| {
            (format!("cannot create `{}`: {e}", dest.display()), "make the install folder writable".to_string())
        };
        match self {
            Pin::Hub { release, .. } => {
                let dir = fetch::tarball(&release.tarball, downloads, &release.name)?;
                std::fs::rename(&dir, &dest).map_err(writable)
            }
            Pin::Git { dir, .. } | Pin::Tarball { dir, .. } => std::fs::rename(dir, &dest).map_err(writable),
            Pin::Local { dir, .. } => symlink(dir, &dest).map_err(writable),
        }
    }
}

/// The install path, emptied (dbt removes it and creates it again).
pub(super) fn empty(install: &Path) -> Result<(), Failure> {
    let failed = |e: std::io::Error| {
        (format!("cannot empty `{}`: {e}", install.display()), "make the install folder writable".to_string())
    };
    if std::fs::symlink_metadata(install).is_ok() {
        // Does not follow symlinks: a linked local package's files stay.
        std::fs::remove_dir_all(install).map_err(failed)?;
    }
    std::fs::create_dir_all(install).map_err(failed)
}

/// The `name` in `dir/dbt_project.yml`.
pub(super) fn project_name(dir: &Path, what: &str) -> Result<String, Failure> {
    let text = crate::yaml::read(&dir.join("dbt_project.yml")).map_err(|e| {
        (
            format!("{what} has no readable `dbt_project.yml` ({e})"),
            "a package is a dbt project: check the path".to_string(),
        )
    })?;
    let raw: RawDbtProject = crate::yaml::from_str::<Option<RawDbtProject>>(&text)
        .map_err(|e| {
            (format!("{what}: `dbt_project.yml`: {}", e.message), "fix the package's dbt_project.yml".to_string())
        })?
        .unwrap_or_default();
    raw.name.filter(|n| crate::project::ids::check_project_name(n).is_ok()).ok_or_else(|| {
        (
            format!("{what}: `dbt_project.yml` has no valid `name`"),
            "a package needs a `name` that is a dbt identifier".to_string(),
        )
    })
}

/// A package's own `packages.yml` entries, rendered as the root's are.
fn dependencies_of(dir: &Path, name: &str, renderer: &super::render::Renderer) -> Result<Vec<Dep>, Failure> {
    let broken = |what: String| (format!("package `{name}`: {what}"), "report it to the package's authors".to_string());
    let Some(file) = packages::spec_file(dir).map_err(|d| broken(d.message))? else { return Ok(Vec::new()) };
    let entries = packages::specs(dir, &file, Some(renderer))
        .map_err(|ds| broken(ds.into_iter().map(|d| d.message).collect::<Vec<_>>().join("; ")))?;
    Ok(entries.into_iter().map(|e| (e.spec, e.written)).collect())
}

/// Runs `git args…` in `dir`; its stderr is the error.
fn run_git(dir: &Path, args: &[&str]) -> Result<String, Failure> {
    let out =
        Command::new("git").args(args).current_dir(dir).env("GIT_TERMINAL_PROMPT", "0").output().map_err(|e| {
            (
                format!("cannot run `git` ({e})"),
                "install git, or list the package as `local:` after cloning it yourself".to_string(),
            )
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err((format!("`git {}` failed: {err}", args.join(" ")), "check the url and the revision".into()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_dir(target, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(v: &[&str]) -> Spec {
        Spec::Hub {
            package: "dbt-labs/dbt_utils".into(),
            version: v.iter().map(|s| s.to_string()).collect(),
            prerelease: false,
        }
    }

    #[test]
    fn hub_ranges_add_up_and_git_revisions_must_agree() {
        assert_eq!(merge(&hub(&[">=1.0.0"]), &hub(&["<1.2.0"])).expect("merge"), hub(&[">=1.0.0", "<1.2.0"]));
        let git = |r: Option<&str>| Spec::Git { url: "u".into(), revision: r.map(str::to_string), subdirectory: None };
        assert_eq!(merge(&git(None), &git(Some("v1"))).expect("merge"), git(Some("v1")));
        assert_eq!(merge(&git(Some("v1")), &git(Some("v1"))).expect("merge"), git(Some("v1")));
        let (msg, _) = merge(&git(Some("v1")), &git(Some("v2"))).expect_err("two revisions");
        assert!(msg.contains("`v1` and `v2`"), "{msg}");
        assert_eq!(
            key(&hub(&[])),
            key(&Spec::Hub { package: "DBT-LABS/dbt_utils".into(), version: vec![], prerelease: true })
        );
    }
}
