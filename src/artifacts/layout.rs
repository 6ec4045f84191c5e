//! dbt's names and places for a node's files: its manifest `path`, its
//! alias, and where its compiled and executed SQL are written
//! (`target/compiled/<project>/<original path>`, `target/run/…`; a generic
//! test's goes below its property file, `models/schema.yml/<alias>.sql`).
//!
//! Pure functions of the loaded project and the plan (fqns and test names
//! come from `nodes` and `data_tests::naming`); this module reads and writes
//! no files and never renders a template.

use crate::config_tree::get_str;
use crate::nodes::fqn::fqn_folders;
use crate::nodes::{Node, NodeKind};
use crate::project::{Project, SourceTable, TestDecl};
use std::path::{Path, PathBuf};

pub struct Layout<'a> {
    project: &'a Project,
}

pub fn is_generic(node: &Node) -> bool {
    matches!(node.kind, NodeKind::GenericTest { .. })
}

/// A snapshot defined in a property file (`relation:`), not by a `{% snapshot %}` block.
fn is_yaml_snapshot(node: &Node) -> bool {
    matches!(node.kind, NodeKind::Snapshot { .. }) && node.file.extension().is_some_and(|e| e == "yml" || e == "yaml")
}

/// A file's path below its resource folder (`models/marts/x.sql` → `marts/x.sql`).
fn below_resource_folder(file: &Path) -> String {
    let mut parts = fqn_folders(file);
    parts.push(file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
    parts.join("/")
}

impl<'a> Layout<'a> {
    pub fn new(project: &'a Project) -> Layout<'a> {
        Layout { project }
    }

    /// A source's fqn: its project, the folders of its property file, source, table.
    pub fn source_fqn(&self, owner: &Project, src: &SourceTable) -> Vec<String> {
        let mut fqn = vec![owner.name.clone()];
        fqn.extend(fqn_folders(&crate::project::resources::below(&owner.dir, &src.file)));
        fqn.push(src.source.clone());
        fqn.push(src.table.clone());
        fqn
    }

    /// The manifest's `path`: relative to the resource folder; a generic
    /// test's is its SQL file name.
    pub fn path(&self, node: &Node) -> String {
        if is_yaml_snapshot(node) {
            return format!("{}/{}.sql", below_resource_folder(&node.original_file_path), node.name);
        }
        if is_generic(node) {
            format!("{}.sql", self.alias(node))
        } else {
            below_resource_folder(&node.original_file_path)
        }
    }

    /// The relation a node is built as; a test's alias is its configured
    /// `alias` (the planner sets dbt's shortened name there), else its name.
    pub fn alias(&self, node: &Node) -> String {
        match &node.relation {
            Some(r) => r.identifier.clone(),
            None => get_str(&node.config, "alias").unwrap_or(&node.name).to_string(),
        }
    }

    /// Where a node's SQL goes below `target/compiled/<project>/` and
    /// `target/run/<project>/` (`<project>` the node's own, a package's
    /// name for its nodes): its own file within its project, or for a
    /// generic test `<property file>/<alias>.sql`. Seeds keep their `.csv`
    /// name, as dbt does.
    pub fn sql_path(&self, node: &Node) -> PathBuf {
        let file = &node.original_file_path;
        if node.resource == crate::nodes::Resource::UnitTest {
            // dbt's pseudo path of a unit test: `<yml>/models/<name>.sql`.
            return file.join("models").join(format!("{}.sql", node.name));
        }
        // A YAML-defined snapshot's SQL goes below its property file, as dbt puts it.
        if is_yaml_snapshot(node) {
            return file.join(format!("{}.sql", node.name));
        }
        if is_generic(node) {
            file.join(format!("{}.sql", self.alias(node)))
        } else {
            file.clone()
        }
    }

    /// The property-file entry a generic test was planned from.
    pub fn generic_decl(&self, node: &Node) -> Option<&'a TestDecl> {
        match node.kind {
            NodeKind::GenericTest { decl, .. } => self.project.named(node.project())?.tests.get(decl),
            _ => None,
        }
    }
}
