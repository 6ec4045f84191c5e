//! dbt's fully qualified names and source ids for plan nodes.
//!
//! A node's fqn is `[project, folders…, name]`, the folders taken from its
//! file below the top folder (`models/staging/stg.sql` → `staging`; for a
//! generic test, the folders of its YAML file), the file's path taken within
//! its own project (a package's below its folder). Sources are not nodes; a node
//! that reads one lists `source.<project>.<source>.<table>` in `depends_on`,
//! which the graph ignores and selection reads. Pure: no I/O.

use super::Node;
use std::path::Path;

/// The id of a source in `depends_on`.
pub fn source_id(project: &str, source: &str, table: &str) -> String {
    format!("source.{project}.{source}.{table}")
}

/// `(project, source, table)` of a source id.
pub fn parse_source_id(id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = id.strip_prefix("source.")?.splitn(3, '.');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// A node's short name from its unique id: the name (a model version's
/// `<name>.v<v>`), a generic test's name without its hash.
pub fn short_name(id: &str) -> &str {
    // `model.<project>.<name>.v<version>`: a version starts with a digit here
    // (the id alone cannot tell `.vintage` from a version `intage`; the
    // planner names nodes from the nodes themselves).
    if id.starts_with("model.") {
        if let Some((before, version)) = id.rsplit_once(".v") {
            if version.starts_with(|c: char| c.is_ascii_digit()) {
                let name_at = before.rfind('.').map_or(0, |i| i + 1);
                return &id[name_at..];
            }
        }
    }
    let mut parts = id.rsplit('.');
    let last = parts.next().unwrap_or(id);
    let hashed = last.len() == 10 && last.bytes().all(|b| b.is_ascii_hexdigit());
    match parts.next() {
        Some(name) if hashed && id.starts_with("test.") && id.matches('.').count() >= 3 => name,
        _ => last,
    }
}

/// The folders of a file below its top folder (`models/staging/x.yml` →
/// `["staging"]`), as dbt puts them in an fqn.
pub fn fqn_folders(file: &Path) -> Vec<String> {
    let parts: Vec<String> = file.iter().map(|c| c.to_string_lossy().to_string()).collect();
    match parts.len() {
        0..=2 => Vec::new(),
        n => parts[1..n - 1].to_vec(),
    }
}

impl Node {
    /// The project part of the unique id (`model.<project>.<name>`).
    pub fn project(&self) -> &str {
        self.id.split('.').nth(1).unwrap_or("")
    }

    /// dbt's fqn: `["shop", "staging", "stg_orders"]`; a model version's ends
    /// in `v<v>`. A snapshot block's
    /// holds its file's stem too (`snapshots/orders.sql` → `["shop", "orders",
    /// "orders_history"]`); a YAML snapshot's only the folders.
    pub fn fqn(&self) -> Vec<String> {
        let mut fqn = vec![self.project().to_string()];
        fqn.extend(fqn_folders(&self.original_file_path));
        // A unit test sits under its model: `[project, folders…, model, test]`.
        if let super::NodeKind::UnitTest(ut) = &self.kind {
            fqn.push(ut.model_name.clone());
        }
        if self.resource == super::Resource::Snapshot && self.file.extension().is_some_and(|e| e == "sql") {
            fqn.extend(self.original_file_path.file_stem().map(|s| s.to_string_lossy().to_string()));
        }
        fqn.push(self.name.clone());
        // A model version's fqn ends in its version: `["shop", "orders", "v2"]`
        // (a unit test of one keeps its declaration's fqn).
        if let Some(v) = self.version.as_ref().filter(|_| self.resource == super::Resource::Model) {
            fqn.push(v.v.formatted());
        }
        fqn
    }

    /// The sources this node reads.
    pub fn source_deps(&self) -> impl Iterator<Item = &str> {
        self.depends_on.iter().map(String::as_str).filter(|d| d.starts_with("source."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_skip_the_top_folder_and_the_file() {
        assert_eq!(fqn_folders(Path::new("models/staging/schema.yml")), vec!["staging"]);
        assert_eq!(fqn_folders(Path::new("models/schema.yml")), Vec::<String>::new());
        assert_eq!(fqn_folders(Path::new("models/a/b/s.yml")), vec!["a", "b"]);
    }

    #[test]
    fn short_names_keep_a_versions_suffix_and_drop_a_tests_hash() {
        assert_eq!(short_name("model.shop.orders"), "orders");
        assert_eq!(short_name("model.shop.orders.v2"), "orders.v2");
        assert_eq!(short_name("model.shop.orders.v2.5"), "orders.v2.5");
        assert_eq!(short_name("test.shop.not_null_orders_v1_id.ccb11c9411"), "not_null_orders_v1_id");
        assert_eq!(short_name("seed.shop.raw"), "raw");
        assert_eq!(short_name("model.shop.vintage"), "vintage");
        assert_eq!(short_name("model..tmp12.a"), "a");
    }

    #[test]
    fn source_ids_round_trip() {
        let id = source_id("shop", "raw", "orders.v2");
        assert_eq!(parse_source_id(&id), Some(("shop", "raw", "orders.v2")));
        assert_eq!(parse_source_id("model.shop.x"), None);
    }
}
