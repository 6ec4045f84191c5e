//! Model versions in the planner: the keys dbt's ref lookup finds a node
//! by (`<name>.v<v>`, the name for the latest version), dbt's errors for a
//! ref to a version that is not built, and what dbt says about references
//! while parsing and compiling: a model past (or near) its
//! `deprecation_date` and the models that refer to it, and an unpinned ref
//! to a model that has a newer prerelease version. The search itself is
//! `names`'. Part of the planner; renders nothing.

use super::{Node, Planner, Resource};
use crate::diag::Diagnostic;
use crate::project::versions::ModelVersion;
use crate::project::{Project, SqlFile};
use crate::template::RefCall;
use std::path::Path;

impl Node {
    /// The keys dbt's ref lookup finds this node by: its name; for a
    /// versioned model `<name>.v<v>`, and its name only for the latest version.
    pub fn ref_keys(&self) -> Vec<String> {
        match &self.version {
            None => vec![self.name.clone()],
            Some(v) => {
                let mut keys = vec![format!("{}.{}", self.name, v.v.formatted())];
                if v.is_latest() {
                    keys.push(self.name.clone());
                }
                keys
            }
        }
    }

    /// dbt's `search_name`: the name, or `<name>.v<v>` for a versioned model
    /// (what `ls --output name` prints and messages call it).
    pub fn search_name(&self) -> String {
        match &self.version {
            Some(v) => format!("{}.{}", self.name, v.v.formatted()),
            None => self.name.clone(),
        }
    }
}

/// A model file's place in `dbt_project.yml`'s trees below its project:
/// `(folders, leaf)`; a model version's is `[folders…, <model>]`, `v<v>`, as
/// its fqn ends.
pub(super) fn config_path(project: &Project, m: &SqlFile) -> (Vec<String>, String) {
    match project.versions.of_file(&m.name) {
        Some(v) => ([m.folders.clone(), vec![v.model.clone()]].concat(), v.version.v.formatted()),
        None => (m.folders.clone(), m.name.clone()),
    }
}

/// A model file's node name, version and unique id: a model version's is
/// named after its model, `model.<project>.<model>.v<v>`.
pub(super) fn model_identity(project: &Project, m: &SqlFile) -> (String, Option<ModelVersion>, String) {
    match project.versions.of_file(&m.name) {
        Some(d) => {
            let id = format!("model.{}.{}.{}", project.name, d.model, d.version.v.formatted());
            (d.model.clone(), Some(d.version.clone()), id)
        }
        None => (m.name.clone(), None, format!("model.{}.{}", project.name, m.name)),
    }
}

impl Planner<'_> {
    /// [`Planner::resolve_ref`] for a node named `owner`, with dbt's note when
    /// an unpinned ref finds a model version that has a newer prerelease.
    pub(super) fn resolve_noted(
        &mut self,
        r: &RefCall,
        scope: &str,
        owner: &str,
        file: &Path,
        text: &str,
    ) -> Option<String> {
        let id = self.resolve_ref(r, scope, file, text)?;
        if r.version.is_none() {
            self.note_prerelease(owner, file, &id);
        }
        Some(id)
    }

    /// dbt's error for a ref that names a model version not built, or pins
    /// a version of an unversioned model; none when the call is about
    /// versions not at all (the caller reports an unknown name).
    pub(super) fn version_miss(&self, r: &RefCall, file: &Path) -> Option<Diagnostic> {
        let owner = match &r.package {
            Some(p) => self.root.named(p),
            None => self.root.all().find(|p| p.versions.is_versioned(&r.name)),
        };
        let versioned = owner.filter(|p| p.versions.is_versioned(&r.name));
        let versions = self.planned_versions(&r.name);
        let d = match (&r.version, versioned) {
            (Some(v), Some(owner)) => {
                match owner.versions.declared.iter().find(|d| d.model == r.name && d.version.v.same(v)) {
                    // Declared, but no file defines it (or its file is disabled).
                    Some(d) => {
                        let (why, hint) = match owner.versions.file_of(d) {
                            Some(f) => {
                                (format!("its file `{f}.sql` is disabled"), "enable it, or ref another version".into())
                            }
                            None => (
                                "no file defines it".to_string(),
                                format!("add `{}.sql`, or set `defined_in:`", d.file),
                            ),
                        };
                        let what = format!(
                            "unknown ref `{r}`: version `{}` of model `{}` is not built: {why}",
                            v.text, r.name
                        );
                        Diagnostic::in_file(file, what).hint(hint)
                    }
                    None => Diagnostic::in_file(
                        file,
                        format!("unknown ref `{r}`: model `{}` has no version `{}`", r.name, v.text),
                    )
                    .hint(match versions.is_empty() {
                        true => {
                            "none of its versions has a file: add `<model>_v<v>.sql`, or set `defined_in:`".to_string()
                        }
                        false => format!("its versions are {}", versions.join(", ")),
                    }),
                }
            }
            (Some(_), None)
                if self.names.find(&RefCall { version: None, ..r.clone() }, &self.project.name).is_some() =>
            {
                Diagnostic::in_file(file, format!("unknown ref `{r}`: `{}` is not a versioned model", r.name))
                    .hint("remove `v=` / `version=`, or declare `versions:` for it in a property file")
            }
            (None, Some(owner)) => {
                let latest = owner.versions.declared.iter().find(|d| d.model == r.name && d.version.is_latest());
                let file_hint = latest.map(|d| format!("`{}.sql`", d.file)).unwrap_or_default();
                Diagnostic::in_file(
                    file,
                    format!("unknown ref `{r}`: the latest version of model `{}` has no file", r.name),
                )
                .hint(format!("add {file_hint}, or pin a version that has one: {}", versions.join(", ")))
            }
            _ => return None,
        };
        Some(d)
    }

    /// Whether the project being planned has a file for model `m` (or
    /// version `version` of it) that planned no node: it is disabled, and
    /// dbt drops its tests without a word.
    pub(super) fn disabled_here(&self, m: &str, version: Option<&crate::project::versions::Version>) -> bool {
        let project = self.project;
        let file = match version {
            Some(v) => project
                .versions
                .declared
                .iter()
                .find(|d| d.model == m && d.version.v.same(v))
                .and_then(|d| project.versions.file_of(d)),
            None => Some(m),
        };
        file.is_some_and(|f| project.models.iter().any(|x| x.name == f) || project.seeds.iter().any(|s| s.name == f))
    }

    /// `v<v>` of each planned version of model `name`, in dbt's order.
    fn planned_versions(&self, name: &str) -> Vec<String> {
        let mut found: Vec<&ModelVersion> =
            self.nodes.iter().filter(|n| n.name == name).filter_map(|n| n.version.as_ref()).collect();
        found.sort_by(|a, b| a.v.dbt_cmp(&b.v));
        found.iter().map(|v| format!("`{}`", v.v.text)).collect()
    }

    /// dbt's note for an unpinned ref to a versioned model whose greatest
    /// version is newer than the latest (a prerelease): once per node and model.
    fn note_prerelease(&mut self, owner: &str, file: &Path, id: &str) {
        let Some(target) = self.nodes.iter().find(|n| n.id == id) else { return };
        let Some(current) = target.version.as_ref() else { return };
        let newest = self
            .nodes
            .iter()
            .filter(|n| n.name == target.name && n.resource == Resource::Model)
            .filter_map(|n| n.version.as_ref())
            .max_by(|a, b| a.v.dbt_cmp(&b.v));
        let Some(newest) = newest.filter(|n| n.is_prerelease()) else { return };
        let (project, model) = (target.project().to_string(), &target.name);
        let message = format!(
            "while compiling `{owner}`: found an unpinned reference to versioned model `{model}` in project `{project}`; resolving to latest version `{model}.{}`",
            current.v.formatted()
        );
        if self.notes.iter().any(|n| n.message == message && n.file.as_deref() == Some(file)) {
            return;
        }
        let (new, now) = (&newest.v.text, &current.v.text);
        self.notes.push(Diagnostic::in_file(file, message).hint(format!(
            "a prerelease version {new} is available, not yet marked 'latest'; try it out with `{{{{ ref('{project}', '{model}', v='{new}') }}}}` or pin to v{now} with `{{{{ ref('{project}', '{model}', v='{now}') }}}}`"
        )));
    }

    /// dbt's warnings for models with a `deprecation_date`: the model itself
    /// once the date has passed, and each model that refers to it (deprecated,
    /// or slated for deprecation), with the latest version to move to.
    pub(super) fn deprecations(&mut self) {
        let mut out = Vec::new();
        for node in self.nodes.iter().filter(|n| n.resource == Resource::Model) {
            let stem = node.file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            // The node's own project (the root's or a package's) holds its entry.
            let Some(props) = self.root.named(node.project()).and_then(|p| p.model_props_of(&stem)) else { continue };
            let Some(date) = &props.deprecation_date else { continue };
            let shown = node.search_name();
            if date.is_past() {
                out.push(
                    Diagnostic::in_file(
                        &props.file,
                        format!("model `{shown}` has passed its deprecation date of {}", date.iso),
                    )
                    .at(props.line, None)
                    .hint("this model should be disabled or removed"),
                );
            }
            let children =
                self.nodes.iter().filter(|c| c.resource == Resource::Model && c.depends_on.contains(&node.id));
            for child in children {
                let (what, move_to) = if date.is_past() {
                    ("was deprecated on", "migrate now")
                } else {
                    ("is slated for deprecation on", "try it out")
                };
                let mut d = Diagnostic::in_file(
                    &child.file,
                    format!(
                        "while compiling `{}`: found a reference to `{shown}`, which {what} {}",
                        child.name, date.iso
                    ),
                );
                if let Some(v) = node.version.as_ref().filter(|v| !v.is_latest()) {
                    d = d.hint(format!(
                        "a new version of `{}` is available; {move_to}: `{{{{ ref('{}', '{}', v='{}') }}}}`",
                        node.name,
                        node.project(),
                        node.name,
                        v.latest.text
                    ));
                }
                out.push(d);
            }
        }
        self.warnings.extend(out);
    }
}
