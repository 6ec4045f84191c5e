//! What `ref` and `source` mean while planning: each model, seed and
//! snapshot claims its name within its own project (the root project or a
//! package: two packages may each have a `customers`), and a call resolves
//! as dbt's `resolve_ref` / `resolve_source` search (the package named;
//! else the root project, the calling node's package, then any package).
//! Turns the calls a node's SQL recorded into graph edges and the manifest's
//! parents, reports an unknown name with a suggestion, and gathers where
//! every name points at run time ([`Relations`]), refusing two nodes built
//! as one relation. Part of the planner; no I/O.

use super::fqn::source_id;
use super::{AsWritten, Materialized, Node, NodeKind, Planner};
use crate::diag::Diagnostic;
use crate::project::versions::ModelVersion;
use crate::template::relation::Relation;
use crate::template::{packages_to_search, PackageRelations, RefCall, Relations};
use std::collections::BTreeMap;
use std::path::Path;

/// Model, seed and snapshot unique ids by project and name.
#[derive(Debug, Default)]
pub(super) struct Names {
    root: String,
    by_project: BTreeMap<String, BTreeMap<String, String>>,
}

impl Names {
    pub(super) fn new(root: &str) -> Names {
        Names { root: root.to_string(), by_project: BTreeMap::new() }
    }

    /// The id of `name` in `project`.
    pub(super) fn get(&self, project: &str, name: &str) -> Option<&String> {
        self.by_project.get(project)?.get(name)
    }

    /// What `call` names, from a node of `scope` (a pinned model version by `<name>.v<v>`).
    pub(super) fn find(&self, call: &RefCall, scope: &str) -> Option<&String> {
        let key = call.key();
        let order = packages_to_search(&self.root, call.package.as_deref(), Some(scope));
        order.into_iter().find_map(|p| match p {
            Some(p) => self.get(p, &key),
            None => std::iter::once(&self.root).chain(self.by_project.keys()).find_map(|p| self.get(p, &key)),
        })
    }

    /// Every name `scope` could mean, for a suggestion (not versions' own keys).
    pub(super) fn known(&self) -> impl Iterator<Item = &str> {
        self.by_project.values().flat_map(|m| m.keys().map(String::as_str)).filter(|k| !k.contains(".v"))
    }
}

impl Planner<'_> {
    /// Where every `ref` and `source` points at run time.
    pub(super) fn relations(&self) -> Relations {
        let mut relations = Relations { root: self.root.name.clone(), ..Default::default() };
        for n in &self.nodes {
            let Some(r) = &n.relation else { continue };
            let by_name = match n.project() == self.root.name {
                true => &mut relations.by_name,
                false => &mut relations.packages.entry(n.project().to_string()).or_default().by_name,
            };
            for key in n.ref_keys() {
                by_name.insert(key, r.clone());
            }
            if let NodeKind::Model { template, materialized: Materialized::Ephemeral, .. } = &n.kind {
                relations.ephemerals.insert(r.identifier.clone(), template.clone());
            }
        }
        for owner in self.root.all() {
            let sources = match owner.is_package() {
                false => &mut relations.sources,
                true => {
                    &mut relations.packages.entry(owner.name.clone()).or_insert_with(PackageRelations::default).sources
                }
            };
            for ((s, t), src) in &owner.sources {
                let db = src.database.clone().unwrap_or_else(|| self.target.database.clone());
                let mut relation = Relation::new(&db, &src.schema, &src.identifier);
                relation.external = src.external.clone();
                sources.insert((s.clone(), t.clone()), relation);
            }
        }
        relations
    }

    /// dbt refuses two models, seeds or snapshots built as one relation
    /// (its "two resources with the database representation").
    pub(super) fn unique_relations(&mut self) {
        let mut seen: BTreeMap<String, &Node> = BTreeMap::new();
        let mut errors = Vec::new();
        for n in &self.nodes {
            let Some(r) = n.relation.as_ref().filter(|r| !r.cte) else { continue };
            let key = r.to_string().to_lowercase();
            match seen.get(&key) {
                Some(first) => errors.push(
                    Diagnostic::in_file(
                        &n.file,
                        format!(
                            "dbt found two resources with the database representation `{r}`: `{}` ({}) and `{}` ({})",
                            first.id,
                            first.file.display(),
                            n.id,
                            n.file.display()
                        ),
                    )
                    .hint("change the schema or alias of one of them"),
                ),
                None => {
                    seen.insert(key, n);
                }
            }
        }
        self.errors.extend(errors);
    }

    /// Claims `name` for `id` in the current project; a second node of that
    /// name there is an error.
    pub(super) fn claim_name(&mut self, name: &str, id: &str, file: &Path) -> bool {
        self.claim(name, None, id, file)
    }

    /// Claims the lookup keys of a node named `name` (of `version`, for a
    /// model version: `<name>.v<v>`, and `name` for the latest) in the
    /// current project; a key another node holds is dbt's duplicate error.
    pub(super) fn claim(&mut self, name: &str, version: Option<&ModelVersion>, id: &str, file: &Path) -> bool {
        let project = self.project.name.clone();
        let mut keys = vec![match version {
            Some(v) => format!("{name}.{}", v.v.formatted()),
            None => name.to_string(),
        }];
        if version.is_some_and(ModelVersion::is_latest) {
            keys.push(name.to_string());
        }
        for key in &keys {
            if let Some(prev) = self.names.get(&project, key) {
                self.errors.push(
                    Diagnostic::in_file(file, format!("duplicate node name `{key}`: `{prev}` already uses it"))
                        .hint("model, seed and snapshot names must be unique across the project"),
                );
                return false;
            }
        }
        let names = self.names.by_project.entry(project).or_default();
        for key in keys {
            names.insert(key, id.to_string());
        }
        true
    }

    /// The project (root or package) whose source `s.t` a node of `scope` reads.
    pub(super) fn source_owner(&self, s: &str, t: &str, scope: &str) -> Option<&str> {
        let key = (s.to_string(), t.to_string());
        let has = |p: &str| self.root.named(p).is_some_and(|owner| owner.sources.contains_key(&key));
        packages_to_search(&self.root.name, None, Some(scope)).into_iter().find_map(|p| match p {
            Some(p) => has(p).then(|| self.root.named(p).map(|o| o.name.as_str())).flatten(),
            None => self.root.all().find(|o| o.sources.contains_key(&key)).map(|o| o.name.as_str()),
        })
    }

    /// The source id `source(s, t)` depends on from a node of `scope` (the
    /// scope's own id when no project declares it: that is reported apart).
    pub(super) fn source_dep(&self, s: &str, t: &str, scope: &str) -> String {
        source_id(self.source_owner(s, t, scope).unwrap_or(scope), s, t)
    }

    /// An unknown source is an error at its line.
    pub(super) fn check_source(&mut self, s: &str, t: &str, file: &Path, text: &str) {
        if self.source_owner(s, t, &self.project.name).is_none() {
            let line = crate::config::find_line(text, t);
            self.errors.push(
                Diagnostic::in_file(file, format!("unknown source `{s}.{t}`"))
                    .at(line, None)
                    .hint("declare it under `sources:` in a property YAML file"),
            );
        }
    }

    /// Turns recorded ref calls into edges, reporting unknown names with a suggestion.
    pub(super) fn link(&mut self, model_refs: Vec<super::ModelRefs<'_>>) {
        for (i, refs, sources, text) in model_refs {
            let file = self.nodes[i].file.clone();
            let (scope, owner) = (self.nodes[i].project().to_string(), self.nodes[i].name.clone());
            let mut ids = Vec::new();
            for r in &refs {
                if let Some(id) = self.resolve_noted(r, &scope, &owner, &file, text) {
                    self.nodes[i].depends_on.insert(id.clone());
                    ids.push(id);
                }
            }
            self.write_down(i, sources, ids, refs);
        }
    }

    /// Records a node's parents in manifest order; `sources` and `ids` in order of use.
    /// `sources` as called, `ids` the resolved refs, `refs` the calls as written.
    pub(super) fn write_down(
        &mut self,
        i: usize,
        sources: Vec<(String, String)>,
        ids: Vec<String>,
        refs: Vec<RefCall>,
    ) {
        let scope = self.nodes[i].project().to_string();
        let mut depends_on: Vec<String> = Vec::new();
        let source_ids: Vec<String> = sources.iter().map(|(s, t)| self.source_dep(s, t, &scope)).collect();
        for id in source_ids.into_iter().chain(ids) {
            if !depends_on.contains(&id) {
                depends_on.push(id);
            }
        }
        self.written.insert(self.nodes[i].id.clone(), AsWritten { depends_on, refs, sources });
    }

    /// The id `call` names from a node of `scope`, or an error at its line.
    pub(super) fn resolve_ref(&mut self, call: &RefCall, scope: &str, file: &Path, text: &str) -> Option<String> {
        if let Some(id) = self.names.find(call, scope) {
            return Some(id.clone());
        }
        let name = &call.name;
        let line =
            crate::config::find_line(text, &format!("'{name}'")).or_else(|| crate::config::find_line(text, name));
        if let Some(d) = self.version_miss(call, file) {
            self.errors.push(d.at(line, None));
            return None;
        }
        let best = crate::diag::closest(name, self.names.known());
        let what = match &call.package {
            Some(p) => format!("unknown ref `{p}.{name}`: package `{p}` has no model, seed or snapshot of that name"),
            None => format!("unknown ref `{name}`: no model, seed or snapshot has that name"),
        };
        let mut d = Diagnostic::in_file(file, what).at(line, None);
        if let Some(k) = best {
            d = d.hint(format!("did you mean `{k}`?"));
        }
        self.errors.push(d);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_search_the_package_named_else_root_own_then_any() {
        let mut names = Names::new("shop");
        let mut put = |p: &str, n: &str| {
            names.by_project.entry(p.into()).or_default().insert(n.into(), format!("model.{p}.{n}"));
        };
        put("shop", "shared");
        put("pkg", "shared");
        put("pkg", "base");
        put("other", "base");
        put("other", "only_other");
        let find = |package: Option<&str>, name: &str, scope: &str| {
            names
                .find(&RefCall { package: package.map(str::to_string), name: name.into(), version: None }, scope)
                .cloned()
        };
        // The root project's model wins even from a package's node, as in dbt.
        assert_eq!(find(None, "shared", "pkg").as_deref(), Some("model.shop.shared"));
        assert_eq!(find(Some("pkg"), "shared", "shop").as_deref(), Some("model.pkg.shared"));
        // Then the node's own package, then any.
        assert_eq!(find(None, "base", "other").as_deref(), Some("model.other.base"));
        assert_eq!(find(None, "base", "pkg").as_deref(), Some("model.pkg.base"));
        assert_eq!(find(None, "only_other", "shop").as_deref(), Some("model.other.only_other"));
        assert_eq!(find(Some("pkg"), "only_other", "shop"), None);
    }
}
