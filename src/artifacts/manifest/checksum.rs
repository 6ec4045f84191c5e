//! dbt's `checksum` of each node's file, which manifest readers require:
//! `{"name": "sha256", "checksum": <hex>}` of the file's text with the
//! whitespace around it stripped (dbt strips before hashing); a seed over
//! 1 MiB is named by its path instead (`"name": "path"`), as dbt does not
//! read big seeds; a generic test has no file of its own (`"none"`).
//!
//! Also each enforced contract's `contract.checksum` (its text is
//! [`super::contract`]'s), hashed with the files.
//!
//! SHA-256 comes from DuckDB's `sha256()` on an in-memory connection (never
//! the warehouse): one query for every file of the project. A SHA-256 crate
//! would change the features of crates that DuckDB's build script shares,
//! which recompiles DuckDB on every machine. Owns no other manifest field.

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
/// checksums of `nodes`. A file that cannot be read or hashed gets none
/// (the manifest then says `"none"`); so does a contract.
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
    let all = texts.iter().map(|(_, t)| t.as_str()).chain(contracts.iter().map(|(_, t)| t.as_str()));
    if let Ok(mut hashes) = sha256_all(all) {
        let of_contracts = hashes.split_off(texts.len().min(hashes.len()));
        out.files.extend(texts.into_iter().zip(hashes).map(|((p, _), h)| (p, ("sha256", h))));
        out.contracts.extend(contracts.iter().zip(of_contracts).map(|((id, _), h)| (*id, h)));
    }
    out
}

/// SHA-256 (hex) of each text, in order.
fn sha256_all<'t>(texts: impl Iterator<Item = &'t str>) -> Result<Vec<String>, duckdb::Error> {
    let conn = duckdb::Connection::open_in_memory()?;
    conn.execute_batch("create table texts (i bigint, t varchar)")?;
    let mut n = 0i64;
    {
        let mut app = conn.appender("texts")?;
        for t in texts {
            app.append_row(duckdb::params![n, t])?;
            n += 1;
        }
    }
    let mut stmt = conn.prepare("select sha256(t) from texts order by i")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_sha256() {
        let h = sha256_all(["abc", ""].into_iter()).expect("hashes");
        assert_eq!(h[0], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(h[1], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
