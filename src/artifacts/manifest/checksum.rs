//! dbt's `checksum` of each node's file, which manifest readers require:
//! `{"name": "sha256", "checksum": <hex>}` of the file's text with the
//! whitespace around it stripped (dbt strips before hashing); a seed over
//! 1 MiB is named by its path instead (`"name": "path"`), as dbt does not
//! read big seeds; a generic test has no file of its own (`"none"`).
//!
//! Also each enforced contract's `contract.checksum` (its text is
//! [`super::contract`]'s), hashed with the files.
//!
//! SHA-256 is [`super::sha256`]'s. Owns no other manifest field.

use super::sha256;
use crate::nodes::Node;
use crate::project::Project;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file run hooks are declared in, in each project's folder.
const DBT_PROJECT: &str = "dbt_project.yml";

/// dbt's `MAXIMUM_SEED_SIZE`: bigger seeds are hashed by path.
const MAXIMUM_SEED_SIZE: u64 = 1024 * 1024;

/// The checksums of the manifest's entries.
#[derive(Default)]
pub(crate) struct Checksums<'p> {
    /// `(name, checksum)` by file, relative to the project root.
    pub files: BTreeMap<Cow<'p, Path>, (&'static str, String)>,
    /// `contract.checksum` by unique id, of the models that have one.
    pub contracts: BTreeMap<&'p str, String>,
}

/// The `dbt_project.yml` of `project` (the root's or a package's), as
/// [`Checksums`] key it.
pub(crate) fn project_file(project: &Project) -> PathBuf {
    project.dir.join(DBT_PROJECT)
}

/// The checksums of every model, singular test and seed file, the
/// installed packages' included, and of every project's `dbt_project.yml`, and the contract
/// checksums of `nodes`. A seed file that cannot be read gets none (the
/// manifest then says `"none"`).
pub(crate) fn of_project<'p>(project: &'p Project, nodes: &[&'p Node]) -> Checksums<'p> {
    let mut texts: Vec<(Cow<'p, Path>, String)> = project
        .all()
        .flat_map(|p| p.models.iter().chain(&p.singular_tests))
        .map(|f| (Cow::Borrowed(f.path.as_path()), f.text.trim().to_string()))
        .collect();
    // Run hooks' `operation` nodes carry their project's `dbt_project.yml`'s checksum.
    texts.extend(project.all().map(|p| (Cow::Owned(project_file(p)), p.dbt_project_text.trim().to_string())));
    let mut out = Checksums::default();
    for seed in project.all().flat_map(|p| &p.seeds) {
        match std::fs::metadata(&seed.abs_path).map(|m| m.len()) {
            Ok(size) if size > MAXIMUM_SEED_SIZE => {
                out.files.insert(Cow::Borrowed(seed.path.as_path()), ("path", seed.path.display().to_string()));
            }
            Ok(_) => {
                if let Ok(bytes) = std::fs::read(&seed.abs_path) {
                    texts
                        .push((Cow::Borrowed(seed.path.as_path()), String::from_utf8_lossy(&bytes).trim().to_string()));
                }
            }
            Err(_) => {}
        }
    }
    let contracts: Vec<(&str, String)> = nodes
        .iter()
        .filter_map(|n| super::contract::state(n, super::props(project, n)).map(|t| (n.id.as_str(), t)))
        .collect();
    out.files.extend(texts.into_iter().map(|(p, t)| (p, ("sha256", sha256::hex(t.as_bytes())))));
    out.contracts.extend(contracts.into_iter().map(|(id, t)| (id, sha256::hex(t.as_bytes()))));
    out
}
