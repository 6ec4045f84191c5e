//! Where a seed or model is built, as dbt names it: its database, schema
//! and alias come from `generate_database_name`, `generate_schema_name` and
//! `generate_alias_name`, called with the node's `database` / `schema` /
//! `alias` config and the node: a package's own macro for its nodes when it
//! defines one, else the root project's, else dbt's. When none of them is
//! overridden, dbt's defaults are computed here directly
//! (`<target.schema>_<custom>`), which is what the built-in macros would
//! render, without a render per node.
//! Owns only names; the node is built by the planner.

use super::Resource;
use crate::config_tree::{get_str, ConfigMap};
use crate::project::profile::Target;
use crate::template::relation::Relation;
use crate::template::Templates;
use minijinja::value::{Serde, Value};

pub(super) struct Naming<'a> {
    templates: &'a Templates,
    target: &'a Target,
    /// The project defines one of the `generate_*_name` macros.
    by_macro: bool,
}

/// What the `node` argument of the naming macros shows: the parsed node.
pub(super) struct NodeView<'a> {
    pub resource: Resource,
    pub name: &'a str,
    pub package: &'a str,
    pub fqn: Vec<String>,
    /// Relative to the resource folder (`staging/stg_orders.sql`).
    pub path: String,
    pub original_file_path: String,
    /// A versioned model's version (`node.version` in the macros).
    pub version: Option<&'a crate::project::versions::ModelVersion>,
}

impl<'a> Naming<'a> {
    pub(super) fn new(templates: &'a Templates, target: &'a Target) -> Naming<'a> {
        Naming { templates, target, by_macro: templates.names_relations_itself() }
    }

    /// The relation the node is built as; an error is the macro's.
    pub(super) fn relation(&self, node: &NodeView, cfg: &ConfigMap) -> Result<Relation, String> {
        let own = |which: &str| self.templates.package_names_relations(node.package, which);
        if !self.by_macro && !["database", "schema", "alias"].into_iter().any(own) {
            return Ok(defaults(self.target, cfg, &default_alias(node.name, node.version)));
        }
        let value = node_value(node, cfg);
        let call = |which: &str, key: &str| {
            self.templates
                .generate_name(which, get_str(cfg, key), value.clone(), node.package)
                .map_err(|e| format!("`generate_{which}_name` failed: {e}"))
        };
        Ok(Relation::new(&call("database", "database")?, &call("schema", "schema")?, &call("alias", "alias")?))
    }
}

/// dbt's default alias: the name, or `<name>_v<v>` for a versioned model
/// (dots in the version become `_`), as `default__generate_alias_name` has it.
pub(crate) fn default_alias(name: &str, version: Option<&crate::project::versions::ModelVersion>) -> String {
    match version {
        Some(v) => format!("{name}_v{}", v.v.text.replace('.', "_")),
        None => name.to_string(),
    }
}

/// dbt's default names: the target's database unless `database` is set,
/// `<target.schema>_<schema>` when `schema` is set, the alias or the name.
pub(crate) fn defaults(target: &Target, cfg: &ConfigMap, name: &str) -> Relation {
    let database = get_str(cfg, "database").map(str::trim).unwrap_or(&target.database);
    let schema = match get_str(cfg, "schema") {
        Some(custom) => format!("{}_{}", target.schema, custom.trim()),
        None => target.schema.clone(),
    };
    Relation::new(database, &schema, get_str(cfg, "alias").map(str::trim).unwrap_or(name))
}

fn node_value(node: &NodeView, cfg: &ConfigMap) -> Value {
    let resource = node.resource.as_str();
    let mut unique_id = format!("{resource}.{}.{}", node.package, node.name);
    let mut fqn = node.fqn.clone();
    if let Some(v) = node.version {
        unique_id = format!("{unique_id}.{}", v.v.formatted());
        fqn.push(v.v.formatted());
    }
    Value::from(Serde(serde_json::json!({
        "name": node.name,
        "resource_type": resource,
        "package_name": node.package,
        "unique_id": unique_id,
        "fqn": fqn,
        "path": node.path,
        "original_file_path": node.original_file_path,
        "tags": cfg.get("tags").cloned().unwrap_or(serde_yaml::Value::Sequence(Vec::new())),
        "config": cfg,
        "version": node.version.map(|v| v.v.json.clone()),
        "latest_version": node.version.map(|v| v.latest.json.clone()),
    })))
}

impl<'a> super::Planner<'a> {
    /// The node as the naming macros see it.
    pub(super) fn view<'v>(
        &self,
        resource: Resource,
        name: &'v str,
        file: &'v std::path::Path,
        folders: &[String],
    ) -> NodeView<'v>
    where
        'a: 'v,
    {
        let mut path: Vec<String> = folders.to_vec();
        path.push(file.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default());
        NodeView {
            resource,
            name,
            package: &self.project.name,
            fqn: super::tree_path(self.project, folders, name),
            path: path.join("/"),
            original_file_path: self.original(file).display().to_string(),
            version: None,
        }
    }
}
