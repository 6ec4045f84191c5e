//! Planning exposures: each declared exposure configured from the
//! `exposures:` tree of `dbt_project.yml` as dbt 1.10 configures it (each
//! deeper level and the entry's own `config:` replace a key whole; the
//! manifest's `tags` are then the sorted union of the entry's and the
//! config's, its `meta` the entry's with the config's over it), a disabled
//! one left out, and its `depends_on` resolved as dbt resolves them: every
//! `ref`, `source` and `metric` must name something enabled, else a load
//! error at its line. Exposures never run; the plan keeps them for the
//! manifest, `graph.exposures`, `ls` and selection (`+exposure:weekly`).
//! Part of the planner; no I/O.

use super::fqn::source_id;
use super::Planner;
use crate::config_tree::ConfigMap;
use crate::diag::Diagnostic;
use crate::project::exposures::ExposureDecl;
use crate::project::Project;
use crate::template::relation::Relation;
use crate::template::RefCall;
use serde_yaml::{Mapping, Value};

/// An enabled exposure with what it depends on resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    /// `exposure.<project>.<name>`.
    pub id: String,
    /// The project (root or package) that declares it.
    pub package: String,
    pub decl: ExposureDecl,
    /// Its file below its project's folder (dbt's `original_file_path`).
    pub original_file_path: String,
    /// The config dbt computes (`enabled`, `tags`, `meta`), and as written.
    pub config: ConfigMap,
    pub unrendered_config: ConfigMap,
    /// Sorted, unique: the entry's tags and the config's.
    pub tags: Vec<String>,
    pub meta: Mapping,
    /// Parents in dbt's manifest order: sources, then refs, then nothing
    /// for metrics (runner reads none).
    pub depends_on: Vec<String>,
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    /// Each `metric(…)` call's arguments.
    pub metrics: Vec<Vec<String>>,
}

impl Exposure {
    /// dbt's fqn: the project, the folders below the resource path, the name.
    pub fn fqn(&self) -> Vec<String> {
        let mut fqn = vec![self.package.clone()];
        fqn.extend(self.decl.folders.iter().cloned());
        fqn.push(self.decl.name.clone());
        fqn
    }

    /// dbt's `path`: the file below its resource path (`marts/exposures.yml`).
    pub fn path(&self) -> String {
        let file = self.decl.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        self.decl.folders.iter().cloned().chain([file]).collect::<Vec<_>>().join("/")
    }
}

/// The tree's config along `path`, each level's keys replacing the
/// shallower ones whole (dbt's `ExposureConfig` merges nothing).
fn tree_config(tree: Option<&Value>, path: &[String]) -> ConfigMap {
    let mut out = ConfigMap::new();
    let mut level = tree;
    for segment in path {
        let Some(node) = level.and_then(|l| l.get(segment.as_str())) else { break };
        if let Value::Mapping(m) = node {
            for (k, v) in m {
                if let Some(key) = k.as_str().and_then(|k| k.strip_prefix('+')) {
                    out.insert(key.to_string(), v.clone());
                }
            }
        }
        level = Some(node);
    }
    out
}

/// `metric('name')` or `metric('package', 'name')`: the arguments, when
/// `expr` is such a call with plain string arguments.
fn metric_call(expr: &str) -> Option<Vec<String>> {
    let inner = expr.trim().strip_prefix("metric(")?.strip_suffix(')')?;
    inner
        .split(',')
        .map(|a| {
            let a = a.trim();
            let q = a.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            a.strip_prefix(q)?.strip_suffix(q).filter(|s| !s.contains(['\'', '"', '\\'])).map(str::to_string)
        })
        .collect()
}

impl Planner<'_> {
    /// The enabled exposures of the project being planned.
    pub(super) fn exposures(&mut self) -> Vec<Exposure> {
        let project = self.project;
        let mut out: Vec<Exposure> = Vec::new();
        let mut seen: std::collections::BTreeMap<&str, &ExposureDecl> = Default::default();
        for decl in &project.exposures {
            let path: Vec<String> =
                [vec![project.name.clone()], decl.folders.clone(), vec![decl.name.clone()]].concat();
            let mut config = tree_config(project.exposure_tree.as_ref(), &path);
            if project.is_package() {
                config.extend(tree_config(self.root.exposure_tree.as_ref(), &path));
            }
            config.extend(decl.config.clone());
            if config.get("enabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            if let Some(first) = seen.insert(&decl.name, decl) {
                let at = format!("{}:{}", first.file.display(), first.line.unwrap_or(1));
                self.errors.push(
                    Diagnostic::in_file(&decl.file, format!("two exposures are named `{}`", decl.name))
                        .at(decl.line, None)
                        .hint(format!("rename one of them; the other is at {at}")),
                );
                continue;
            }
            if let Some(e) = self.exposure(project, decl, config) {
                out.push(e);
            }
        }
        out
    }

    fn exposure(&mut self, project: &Project, decl: &ExposureDecl, unrendered: ConfigMap) -> Option<Exposure> {
        let mut tags: Vec<String> =
            decl.tags.iter().cloned().chain(crate::config_tree::as_strings(unrendered.get("tags"))).collect();
        tags.sort();
        tags.dedup();
        let mut meta = decl.meta.clone();
        if let Some(Value::Mapping(m)) = unrendered.get("meta") {
            meta.extend(m.clone());
        }
        let mut config = unrendered.clone();
        config.entry("enabled".into()).or_insert(Value::Bool(true));
        config.insert("tags".into(), Value::Sequence(tags.iter().cloned().map(Value::String).collect()));
        config.insert("meta".into(), Value::Mapping(meta.clone()));
        let mut e = Exposure {
            id: format!("exposure.{}.{}", project.name, decl.name),
            package: project.name.clone(),
            decl: decl.clone(),
            original_file_path: self.original(&decl.file).display().to_string(),
            config,
            unrendered_config: unrendered,
            tags,
            meta,
            depends_on: Vec::new(),
            refs: Vec::new(),
            sources: Vec::new(),
            metrics: Vec::new(),
        };
        let errors = self.errors.len();
        let mut ids = Vec::new();
        for (expr, line) in &decl.depends_on {
            let here = |msg: String| {
                Diagnostic::in_file(&decl.file, format!("exposure `{}` {msg}", decl.name)).at(*line, None)
            };
            if let Some(args) = metric_call(expr) {
                // Runner reads no metrics: one that a property file declares is
                // taken on trust (the `note:` about unread metrics says so).
                if !self.root.all().any(|p| p.unread.contains("metrics")) {
                    let name = args.last().cloned().unwrap_or_default();
                    self.errors.push(here(format!("depends on a metric named `{name}` which was not found")));
                }
                e.metrics.push(args);
                continue;
            }
            let placeholder = Relation::new(&self.target.database, &self.target.schema, &decl.name);
            let rec = match self.templates.eval_arg(expr, &placeholder, None, self.scope()) {
                Ok((_, rec)) => rec,
                Err(err) => {
                    let d = here(format!("cannot evaluate `depends_on` entry `{expr}`: {err}"));
                    self.errors.push(d.hint("write `ref('model')`, `source('source', 'table')` or `metric('name')`"));
                    continue;
                }
            };
            for (s, t) in &rec.sources {
                match self.source_owner(s, t, &project.name) {
                    Some(owner) => e.depends_on.push(source_id(owner, s, t)),
                    None => self.errors.push(
                        here(format!("depends on a source named `{s}.{t}` which was not found"))
                            .hint("declare it under `sources:` in a property YAML file"),
                    ),
                }
                e.sources.push((s.clone(), t.clone()));
            }
            for r in rec.refs {
                match self.names.find(&r, &project.name) {
                    Some(id) => ids.push(id.clone()),
                    None => self.errors.push(self.missing_ref(&r, here)),
                }
                e.refs.push(r);
            }
        }
        e.depends_on.extend(ids);
        let mut seen = std::collections::BTreeSet::new();
        e.depends_on.retain(|id| seen.insert(id.clone()));
        (self.errors.len() == errors).then_some(e)
    }

    /// dbt's error for an exposure's `ref` that finds no enabled node.
    fn missing_ref(&self, r: &RefCall, here: impl Fn(String) -> Diagnostic) -> Diagnostic {
        // A file of that name that planned no node is disabled.
        let has_file = |p: &Project| {
            p.models.iter().any(|m| m.name == r.name)
                || p.seeds.iter().any(|s| s.name == r.name)
                || p.snapshots.iter().any(|s| s.name == r.name)
        };
        if self.root.all().any(has_file) {
            return here(format!("depends on a node named `{}` which is disabled", r.name))
                .hint("enable it, or remove it from `depends_on`");
        }
        let d = here(format!("depends on a node named `{}` which was not found", r.name));
        match crate::diag::closest(&r.name, self.names.known()) {
            Some(k) => d.hint(format!("did you mean `{k}`?")),
            None => d.hint("`ref` names a model, seed or snapshot"),
        }
    }
}
