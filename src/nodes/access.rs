//! dbt's groups and model access, checked once the nodes are planned: a
//! node's `group` must name a group some property file defines, a model's
//! `access` is `private`, `protected` or `public`, and a `private` model
//! may only be referenced by nodes of its own group (a generic test is in
//! the group of the model it tests). dbt refuses the rest while parsing,
//! so these are load errors. Reads the planned nodes; changes nothing.

use super::{Node, NodeKind, Resource};
use crate::config_tree::get_str;
use crate::diag::Diagnostic;
use crate::project::test_entries::Attached;
use crate::project::Project;
use std::collections::{BTreeMap, BTreeSet};

const ACCESS: &[&str] = &["private", "protected", "public"];

/// Every error the groups and access of `nodes` have, in node order.
pub(super) fn check(project: &Project, nodes: &[Node]) -> Vec<Diagnostic> {
    let groups: BTreeSet<&str> = project.all().flat_map(|p| p.groups.iter().map(String::as_str)).collect();
    let mut errors = Vec::new();
    // Unique id → (name, project, group) of every model; private ones apart.
    let mut models: BTreeMap<&str, (&str, &str, Option<&str>)> = BTreeMap::new();
    let mut private: BTreeMap<&str, &str> = BTreeMap::new();
    for n in nodes.iter().filter(|n| n.resource == Resource::Model) {
        let group = get_str(&n.config, "group");
        models.insert(n.id.as_str(), (n.name.as_str(), n.project(), group));
        match get_str(&n.config, "access") {
            Some(a) if !ACCESS.contains(&a) => errors.push(Diagnostic::in_file(
                &n.file,
                format!("model `{}`: `access` must be `private`, `protected` or `public`, got `{a}`", n.name),
            )),
            Some("private") => {
                let g = group.unwrap_or_default();
                private.insert(n.id.as_str(), g);
            }
            _ => {}
        }
    }
    for n in nodes {
        if let Some(g) = get_str(&n.config, "group").filter(|g| !groups.contains(g)) {
            let known: Vec<String> = groups.iter().map(|g| format!("`{g}`")).collect();
            errors.push(
                Diagnostic::in_file(
                    &n.file,
                    format!(
                        "{} `{}`: invalid group `{g}`, expected one of [{}]",
                        n.resource.as_str(),
                        n.name,
                        known.join(", ")
                    ),
                )
                .hint("define it under `groups:` in a property file, or fix the name"),
            );
        }
        let own = match &n.kind {
            NodeKind::GenericTest { decl, .. } => tested_group(project, n, *decl, &models),
            _ => get_str(&n.config, "group"),
        };
        for dep in &n.depends_on {
            let Some(&group) = private.get(dep.as_str()) else { continue };
            if dep == &n.id || own == Some(group) {
                continue;
            }
            let target = models.get(dep.as_str()).map_or(dep.as_str(), |m| m.0);
            errors.push(
                Diagnostic::in_file(
                    &n.file,
                    format!(
                        "{} `{}` refers to model `{target}`, which is private to the `{group}` group",
                        n.resource.as_str(),
                        n.name
                    ),
                )
                .hint(format!("put it in group `{group}` (config `group`), or give `{target}` `access: protected`")),
            );
        }
    }
    errors
}

/// The group of the model a generic test is declared on (none for a source's).
fn tested_group<'a>(
    project: &'a Project,
    n: &Node,
    decl: usize,
    models: &BTreeMap<&str, (&'a str, &'a str, Option<&'a str>)>,
) -> Option<&'a str> {
    let owner = project.named(n.project()).unwrap_or(project);
    let Some(Attached::Model(name)) = owner.tests.get(decl).map(|d| &d.attached) else { return None };
    models.values().find(|(m, p, _)| m == name && *p == owner.name).and_then(|m| m.2)
}
