//! `runner deps`: installs what `packages.yml` lists, and what those
//! packages depend on, into the project's install path (`dbt_packages/`),
//! as `dbt deps` does, and writes `package-lock.yml`.
//!
//! Two phases, as dbt's: *resolve* every entry to one pinned package (a hub
//! version chosen from the registry, a git commit, a local folder, a
//! tarball), following each package's own dependencies and merging the
//! version ranges asked for the same hub package; then *place* each pinned
//! package into the install path (emptied first, as dbt empties it). When
//! `package-lock.yml` was written for the same entries (its `sha1_hash`),
//! its pins are installed as they are and nothing is resolved again, unless
//! `--upgrade`. Reads and writes only the install path, a download folder
//! and the lock file; loading what is installed is `project::packages`.

mod fetch;
mod hub;
mod lock;
pub(crate) mod render;
mod sources;

use crate::config::dbt_project::RawDbtProject;
use crate::diag::Diagnostic;
use crate::project::packages::{self, Spec};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A failure and its hint.
type Failure = (String, String);

/// What one package became.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Installed {
    pub name: String,
    /// The lock file's entry, in dbt's key order.
    pub lock: Vec<(String, String)>,
}

/// `runner deps` flags, as `dbt deps` has them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Resolve again even when the lock answers `packages.yml`.
    pub upgrade: bool,
    /// Only resolve and write the lock; install nothing.
    pub lock_only: bool,
}

/// One package asked for: by the root project (with its line) or by a package.
#[derive(Debug, Clone)]
struct Want {
    spec: Spec,
    line: Option<usize>,
    /// The packages that asked for it (none: only the root project).
    via: Vec<String>,
    /// What the lock writes in place of rendered fields.
    written: render::Written,
}

/// Installs every package of the project at `root`, `packages.yml` rendered
/// with `renderer` and `dbt_project.yml` with `project` (as `dbt deps`
/// renders it: no profile); the first error stops and nothing of a
/// half-placed package stays.
pub(crate) fn install(
    root: &Path,
    opts: Options,
    renderer: &render::Renderer,
    project: &dyn crate::project::render::Render,
) -> Result<Vec<Installed>, Vec<Diagnostic>> {
    let Some(file) = packages::spec_file(root).map_err(|d| vec![d])? else { return Ok(Vec::new()) };
    let install = install_path(root, project)?;
    let entries = packages::specs(root, &file, Some(renderer))?;
    let pairs: Vec<(serde_yaml::Value, serde_yaml::Value)> =
        entries.iter().map(|e| (e.rendered.clone(), e.raw.clone())).collect();
    let hash =
        lock::hash(&pairs).map_err(|e| vec![Diagnostic::in_file(&file, format!("cannot hash the entries: {e}"))])?;
    // Beside the install path, so that placing a package is a rename on one file system.
    let downloads = install.parent().unwrap_or(root).join(format!(".runner-deps-{}", std::process::id()));
    // Absolute: `git` runs inside it, and a relative project dir (`.`) would
    // then name a folder below itself.
    let downloads = std::path::absolute(&downloads).unwrap_or(downloads);
    // A URL rendered from a secret may appear in `git`'s own message.
    let secret_values = renderer.secret_values();
    let fail = |(msg, hint): Failure, line: Option<usize>, f: &Path| {
        let msg = crate::secrets::scrub(&msg, &secret_values);
        vec![Diagnostic::in_file(f, msg).at(line, None).hint(hint)]
    };
    std::fs::create_dir_all(&downloads).map_err(|e| {
        fail(
            (format!("cannot create `{}`: {e}", downloads.display()), "check the temporary folder".into()),
            None,
            &file,
        )
    })?;
    let mut hub = hub::Hub::from_env();
    let outcome = (|| {
        let locked = if opts.upgrade { None } else { lock::read_matching(root, &hash) };
        let pins = match locked {
            Some(entries) => from_lock(root, &downloads, &mut hub, &entries, renderer)
                .map_err(|f| fail(f, None, Path::new(lock::FILE)))?,
            None => {
                let wants = entries
                    .iter()
                    .map(|e| Want { spec: e.spec.clone(), line: e.line, via: Vec::new(), written: e.written.clone() })
                    .collect();
                let pinned =
                    resolve(root, &downloads, &mut hub, wants, renderer).map_err(|(f, line)| fail(f, line, &file))?;
                let lock_entries: Vec<Vec<(String, String)>> =
                    pinned.iter().map(|(p, written)| render::as_written(p.lock(), written)).collect();
                let pins: Vec<sources::Pin> = pinned.into_iter().map(|(p, _)| p).collect();
                lock::write(root, &lock_entries, &hash).map_err(|e| {
                    fail(
                        (format!("cannot write: {e}"), "make the project folder writable".into()),
                        None,
                        Path::new(lock::FILE),
                    )
                })?;
                pins
            }
        };
        check_names(root, &pins).map_err(|f| fail(f, None, &file))?;
        if !opts.lock_only {
            sources::empty(&install).map_err(|f| fail(f, None, &file))?;
            for pin in &pins {
                pin.place(&install, &downloads, &mut hub).map_err(|f| fail(f, None, &file))?;
            }
        }
        Ok(pins.iter().map(|p| Installed { name: p.name().to_string(), lock: p.lock() }).collect())
    })();
    let _ = std::fs::remove_dir_all(&downloads);
    outcome
}

/// dbt's resolver: each wanted package is merged into what is already
/// wanted under the same key (hub version ranges add up), pinned, and its
/// own dependencies are wanted next, until nothing new is asked for.
fn resolve(
    root: &Path,
    downloads: &Path,
    hub: &mut hub::Hub,
    wants: Vec<Want>,
    renderer: &render::Renderer,
) -> Result<Vec<(sources::Pin, render::Written)>, (Failure, Option<usize>)> {
    let mut wanted: Vec<(String, Want)> = Vec::new();
    let mut pins: Vec<(String, sources::Pin, render::Written)> = Vec::new();
    let mut expanded: BTreeSet<(String, String)> = BTreeSet::new();
    let mut pending = wants;
    while !pending.is_empty() {
        let mut next = Vec::new();
        for want in pending {
            let key = sources::key(&want.spec);
            let line = want.line;
            let merged = match wanted.iter_mut().find(|(k, _)| *k == key) {
                Some((_, have)) => {
                    have.spec = sources::merge(&have.spec, &want.spec).map_err(|f| (f, line))?;
                    have.via.extend(want.via.iter().filter(|v| !have.via.contains(v)).cloned().collect::<Vec<_>>());
                    have.clone()
                }
                None => {
                    wanted.push((key.clone(), want.clone()));
                    want
                }
            };
            let pin = sources::pin(root, downloads, hub, &merged.spec, renderer).map_err(|(m, h)| {
                let m = match merged.via.as_slice() {
                    [] => m,
                    via => format!(
                        "{m} (asked for by package {})",
                        via.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
                    ),
                };
                ((m, h), merged.line)
            })?;
            if expanded.insert((key.clone(), pin.version())) {
                let via = vec![pin.name().to_string()];
                next.extend(pin.dependencies().into_iter().map(|(spec, written)| Want {
                    spec,
                    line,
                    via: via.clone(),
                    written,
                }));
            }
            match pins.iter_mut().find(|(k, _, _)| *k == key) {
                Some(slot) => slot.1 = pin,
                None => pins.push((key, pin, merged.written.clone())),
            }
        }
        pending = next;
    }
    Ok(pins.into_iter().map(|(_, p, w)| (p, w)).collect())
}

/// The lock's entries, rendered as `packages.yml` is (a git URL is kept
/// there as written) and pinned as they are (their dependencies are in the
/// lock too).
fn from_lock(
    root: &Path,
    downloads: &Path,
    hub: &mut hub::Hub,
    entries: &[serde_yaml::Value],
    renderer: &render::Renderer,
) -> Result<Vec<sources::Pin>, Failure> {
    let again = || "run `runner deps --upgrade` to write the lock again".to_string();
    let mut pins = Vec::new();
    for entry in entries {
        let (rendered, _) = renderer.entry(entry).map_err(|e| (format!("cannot render an entry: {e}"), again()))?;
        let spec = packages::spec(&rendered).map_err(|e| (e, again()))?;
        pins.push(sources::pin(root, downloads, hub, &spec, renderer)?);
    }
    Ok(pins)
}

/// dbt refuses two packages with one project name, or one named as the root project.
fn check_names(root: &Path, pins: &[sources::Pin]) -> Result<(), Failure> {
    let own = sources::project_name(root, "this project").ok();
    let mut seen = BTreeSet::new();
    for pin in pins {
        let name = pin.name();
        if own.as_deref() == Some(name) || !seen.insert(name.to_string()) {
            return Err((
                format!("found duplicate project `{name}`: a package has the same project name as another package or as this project"),
                "remove one of them from `packages.yml`".into(),
            ));
        }
    }
    Ok(())
}

/// The project's `packages-install-path`, absolute, once its
/// `require-dbt-version` is checked (as `dbt deps` checks the root project's).
fn install_path(root: &Path, project: &dyn crate::project::render::Render) -> Result<PathBuf, Vec<Diagnostic>> {
    let path = root.join("dbt_project.yml");
    let file = Path::new("dbt_project.yml");
    let (raw, text) = if path.is_file() {
        let text =
            crate::yaml::read(&path).map_err(|e| vec![Diagnostic::in_file(file, format!("cannot read: {e}"))])?;
        let raw = crate::project::render::dbt_project::<RawDbtProject>(&text, file, Some(project), true)?;
        (raw, text)
    } else {
        (RawDbtProject::default(), String::new())
    };
    if !crate::project::version::disabled(raw.flags.as_ref()) {
        let name = raw.name.as_deref().unwrap_or("this project");
        if let Some(d) = crate::project::version::problem(raw.require_dbt_version.as_ref(), &text, file, name) {
            return Err(vec![d]);
        }
    }
    Ok(root.join(raw.packages_install_path.as_deref().unwrap_or("dbt_packages")))
}
