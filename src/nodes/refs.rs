//! Resolving `ref()` calls to unique ids as dbt's ref lookup does: a name
//! finds a model, seed or snapshot, `ref('m', v=2)` finds version 2 of a
//! versioned model and an unpinned `ref('m')` its latest version. Also what
//! dbt says about references while parsing and compiling: a model past (or
//! near) its `deprecation_date` and the models that refer to it, and an
//! unpinned ref to a model that has a newer prerelease version. Part of the
//! planner; renders nothing.

use super::{AsWritten, ModelRefs, Node, Planner, Resource};
use crate::error::Diagnostic;
use crate::project::versions::ModelVersion;
use crate::template::refs::RefCall;
use std::path::PathBuf;

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

impl Planner<'_> {
    /// Claims a seed's, snapshot's or unversioned model's name for `ref()`.
    pub(super) fn claim_name(&mut self, name: &str, id: &str, file: &PathBuf) -> bool {
        self.claim(name, None, id, file)
    }

    /// Claims the lookup keys of a node named `name` (of `version`, for a
    /// versioned model); a key another node holds is dbt's duplicate error.
    pub(super) fn claim(&mut self, name: &str, version: Option<&ModelVersion>, id: &str, file: &PathBuf) -> bool {
        let mut keys = vec![match version {
            Some(v) => format!("{name}.{}", v.v.formatted()),
            None => name.to_string(),
        }];
        if version.is_some_and(ModelVersion::is_latest) {
            keys.push(name.to_string());
        }
        for key in &keys {
            if let Some(prev) = self.names.get(key) {
                self.errors.push(
                    Diagnostic::in_file(file, format!("duplicate node name `{key}`: `{prev}` already uses it"))
                        .hint("model, seed and snapshot names must be unique across the project"),
                );
                return false;
            }
        }
        for key in keys {
            self.names.insert(key, id.to_string());
        }
        true
    }

    /// Turns recorded ref calls into edges, reporting unknown names with a suggestion.
    pub(super) fn link(&mut self, model_refs: Vec<ModelRefs<'_>>) {
        for (i, refs, sources, text) in model_refs {
            let (file, owner) = (self.nodes[i].file.clone(), self.nodes[i].name.clone());
            let mut ids = Vec::new();
            for r in &refs {
                if let Some(id) = self.resolve_ref(r, &owner, &file, text) {
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
        let mut depends_on: Vec<String> = Vec::new();
        let source_ids = sources.iter().map(|(s, t)| super::fqn::source_id(&self.project.name, s, t));
        for id in source_ids.chain(ids) {
            if !depends_on.contains(&id) {
                depends_on.push(id);
            }
        }
        self.written.insert(self.nodes[i].id.clone(), AsWritten { depends_on, refs, sources });
    }

    /// The unique id a ref call of `owner` (a node name, for messages) finds;
    /// an unknown name or version is an error at its line in `text`.
    pub(super) fn resolve_ref(&mut self, r: &RefCall, owner: &str, file: &PathBuf, text: &str) -> Option<String> {
        if let Some(id) = self.names.get(&r.key()).cloned() {
            if r.version.is_none() {
                self.note_prerelease(owner, file, &id);
            }
            return Some(id);
        }
        let line = crate::config::find_line(text, &format!("'{}'", r.name))
            .or_else(|| crate::config::find_line(text, &format!("\"{}\"", r.name)))
            .or_else(|| crate::config::find_line(text, &r.name));
        let versions = self.planned_versions(&r.name);
        let project = self.project;
        let declared = |v: &crate::project::versions::Version| {
            project.versions.declared.iter().find(|d| d.model == r.name && d.version.v.same(v))
        };
        let found = r.version.as_ref().and_then(declared);
        let d = match (&r.version, project.versions.is_versioned(&r.name), found) {
            // Declared, but no file defines it (or its file is disabled).
            (Some(v), true, Some(d)) => {
                let (why, hint) = match project.versions.file_of(d) {
                    Some(f) => {
                        (format!("its file `{f}.sql` is disabled"), "enable it, or ref another version".to_string())
                    }
                    None => ("no file defines it".to_string(), format!("add `{}.sql`, or set `defined_in:`", d.file)),
                };
                let what = format!(
                    "unknown ref `{}`: version `{}` of model `{}` is not built: {why}",
                    r.written(),
                    v.text,
                    r.name
                );
                Diagnostic::in_file(file, what).hint(hint)
            }
            (Some(v), true, None) => Diagnostic::in_file(
                file,
                format!("unknown ref `{}`: model `{}` has no version `{}`", r.written(), r.name, v.text),
            )
            .hint(match versions.is_empty() {
                true => "none of its versions has a file: add `<model>_v<v>.sql`, or set `defined_in:`".to_string(),
                false => format!("its versions are {}", versions.join(", ")),
            }),
            (Some(_), false, _) if self.names.contains_key(&r.name) => Diagnostic::in_file(
                file,
                format!("unknown ref `{}`: `{}` is not a versioned model", r.written(), r.name),
            )
            .hint("remove `v=` / `version=`, or declare `versions:` for it in a property file"),
            (None, true, _) => {
                let latest = self.project.versions.declared.iter().find(|d| d.model == r.name && d.version.is_latest());
                let file_hint = latest.map(|d| format!("`{}.sql`", d.file)).unwrap_or_default();
                Diagnostic::in_file(
                    file,
                    format!("unknown ref `{}`: the latest version of model `{}` has no file", r.written(), r.name),
                )
                .hint(format!("add {file_hint}, or pin a version that has one: {}", versions.join(", ")))
            }
            _ => {
                let best =
                    crate::error::closest(&r.name, self.names.keys().map(String::as_str).filter(|k| !k.contains(".v")));
                let d = Diagnostic::in_file(
                    file,
                    format!("unknown ref `{}`: no model, seed or snapshot has that name", r.name),
                );
                match best {
                    Some(k) => d.hint(format!("did you mean `{k}`?")),
                    None => d,
                }
            }
        };
        self.errors.push(d.at(line, None));
        None
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
    fn note_prerelease(&mut self, owner: &str, file: &PathBuf, id: &str) {
        let Some(target) = self.nodes.iter().find(|n| n.id == id) else { return };
        let Some(current) = target.version.as_ref() else { return };
        let newest = self
            .nodes
            .iter()
            .filter(|n| n.name == target.name && n.resource == Resource::Model)
            .filter_map(|n| n.version.as_ref())
            .max_by(|a, b| a.v.dbt_cmp(&b.v));
        let Some(newest) = newest.filter(|n| n.is_prerelease()) else { return };
        let (project, model) = (&self.project.name, &target.name);
        let message = format!(
            "while compiling `{owner}`: found an unpinned reference to versioned model `{model}` in project `{project}`; resolving to latest version `{model}.{}`",
            current.v.formatted()
        );
        if self.notes.iter().any(|n| n.message == message && n.file.as_ref() == Some(file)) {
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
        let project = self.project;
        let mut out = Vec::new();
        for node in self.nodes.iter().filter(|n| n.resource == Resource::Model) {
            let stem = node.file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            let Some(props) = project.model_props_of(&stem) else { continue };
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
                        node.name, project.name, node.name, v.latest.text
                    ));
                }
                out.push(d);
            }
        }
        self.warnings.extend(out);
    }
}
