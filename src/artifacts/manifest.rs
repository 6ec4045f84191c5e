//! `target/manifest.json` as dbt writes it (schema v12): every planned seed,
//! model and test under `nodes` (ephemeral models too, though they never
//! run), the declared `sources`, and the `parent_map` / `child_map` between
//! them with the edges as written, through ephemerals.
//!
//! Only the fields tools read are filled in; the rest of dbt's top-level keys
//! are present and empty so strict readers accept the file. Builds JSON from
//! the plan and what the caller compiled; it renders nothing and never opens
//! the database.

use super::layout::Layout;
use crate::nodes::fqn::source_id;
use crate::nodes::{Node, Plan, Resource};
use crate::project::profile::Target;
use crate::project::Project;
pub use crate::template::GraphEntries;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod checksum;
mod contract;
mod entry;
mod exposure;
mod fields;
mod operation;
mod sha256;
pub(crate) use entry::{model_config_default, render_config};
mod unit;
mod write;

pub const SCHEMA_VERSION: &str = "https://schemas.getdbt.com/dbt/manifest/v12.json";

/// What one invocation knows beyond the plan.
pub struct Inputs<'a> {
    pub project: &'a Project,
    pub target: &'a Target,
    pub plan: &'a Plan,
    /// Unique id → SQL compiled by this invocation.
    pub compiled: &'a BTreeMap<String, String>,
    /// Unique ids this invocation runs; their executed SQL goes to `target/run/` (`build_path`).
    pub executed: &'a BTreeSet<String>,
    pub invocation_id: &'a str,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Renders `{{ doc('x') }}` in descriptions; without it they stay as written.
    pub templates: Option<&'a crate::template::Templates>,
    /// `metadata.env`: the `DBT_ENV_CUSTOM_ENV_*` variables, without the prefix.
    pub metadata_env: Option<&'a BTreeMap<String, String>>,
}

/// A description as dbt writes it into the manifest: rendered, `doc()` resolved.
fn describe(inputs: &Inputs, raw: &str) -> String {
    inputs.templates.and_then(|t| t.render_description(raw).ok()).unwrap_or_else(|| raw.to_string())
}

/// The project (root or package) a node belongs to.
fn owner<'p>(root: &'p Project, node: &Node) -> &'p Project {
    root.named(node.project()).unwrap_or(root)
}

/// A node's property-file entry, in its own project's files.
fn props<'p>(root: &'p Project, node: &Node) -> Option<&'p crate::project::NodeProps> {
    let project = owner(root, node);
    match node.resource {
        Resource::Model => {
            let stem = node.file.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
            project.model_props_of(&stem)
        }
        Resource::Seed => project.seed_props.get(&node.name),
        Resource::Snapshot => project.snapshot_props.get(&node.name),
        Resource::Test | Resource::UnitTest => None,
    }
}

/// The plan node (an ephemeral model included) with this unique id.
fn node_by_id<'p>(plan: &'p Plan, id: &str) -> Option<&'p Node> {
    match plan.nodes.binary_search_by(|n| n.id.as_str().cmp(id)) {
        Ok(i) => Some(&plan.nodes[i]),
        Err(_) => plan.ephemeral.nodes.iter().find(|n| n.id == id),
    }
}

/// `target/…` as the manifest spells paths: relative to the project.
pub fn target_rel(project: &Project) -> PathBuf {
    project.target_dir.strip_prefix(&project.root).map(Path::to_path_buf).unwrap_or_else(|_| project.target_dir.clone())
}

fn yaml_json(v: &serde_yaml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Each model's and singular test's text by file, built once per manifest.
type Texts<'p> = BTreeMap<&'p Path, &'p str>;

fn texts(project: &Project) -> Texts<'_> {
    project
        .all()
        .flat_map(|p| p.models.iter().chain(&p.singular_tests))
        .map(|f| (f.path.as_path(), f.text.as_str()))
        .collect()
}

fn sources_json(inputs: &Inputs, layout: &Layout) -> Map<String, Value> {
    let mut out = Map::new();
    for (project, src) in inputs.project.all().flat_map(|p| p.sources.values().map(move |s| (p, s))) {
        let id = source_id(&project.name, &src.source, &src.table);
        let database = src.database.clone().unwrap_or_else(|| inputs.target.database.clone());
        let relation = crate::template::relation::Relation::new(&database, &src.schema, &src.identifier);
        let file = crate::project::resources::below(&project.dir, &src.file).display().to_string();
        let docs = &src.docs;
        let entry = json!({
            "database": database,
            "schema": src.schema,
            "name": src.table,
            "resource_type": "source",
            "package_name": project.name,
            "path": file,
            "original_file_path": file,
            "unique_id": id,
            "fqn": layout.source_fqn(project, src),
            "source_name": src.source,
            "identifier": src.identifier,
            "loader": docs.loader.clone().unwrap_or_default(),
            "description": docs.description.as_deref().map(|d| describe(inputs, d)).unwrap_or_default(),
            "source_description": docs.source_description.as_deref().map(|d| describe(inputs, d)).unwrap_or_default(),
            "columns": source_columns(inputs, &docs.columns),
            "meta": docs.meta,
            "source_meta": docs.source_meta,
            "tags": docs.tags,
            "config": {"enabled": true, "meta": docs.meta, "tags": docs.tags},
            "relation_name": relation.to_string(),
        });
        out.insert(id, entry);
    }
    out
}

/// A source table's `columns`, as dbt writes a node's (descriptions rendered).
fn source_columns(inputs: &Inputs, columns: &[crate::project::SourceColumn]) -> Value {
    let mut out = Map::new();
    for c in columns {
        let entry = json!({
            "name": c.name,
            "description": c.description.as_deref().map(|d| describe(inputs, d)).unwrap_or_default(),
            "meta": c.meta,
            "data_type": c.data_type,
            "constraints": [],
            "quote": c.quote,
            "config": {"meta": c.meta, "tags": c.tags},
            "tags": c.tags,
            "granularity": null,
            "doc_blocks": [],
        });
        out.insert(c.name.clone(), entry);
    }
    Value::Object(out)
}

/// `parent_map` and `child_map` as lists beside `ids` (sorted).
struct Maps<'a> {
    ids: Vec<&'a str>,
    parents: Vec<Vec<&'a str>>,
    children: Vec<Vec<&'a str>>,
}

/// The manifest, each node's entry built only when it is written or asked
/// for, so a large project's document never sits in memory whole.
pub struct Manifest<'a> {
    inputs: Inputs<'a>,
    layout: Layout<'a>,
    texts: Texts<'a>,
    checksums: checksum::Checksums<'a>,
    /// Plan nodes and ephemerals together, sorted by unique id (unit tests apart).
    nodes: Vec<&'a Node>,
    /// Unit tests, sorted by unique id: the `unit_tests` section.
    units: Vec<&'a Node>,
    /// Run hooks' `operation` nodes, sorted by unique id.
    operations: Vec<(String, Value)>,
    sources: Map<String, Value>,
    /// Exposures' entries by unique id.
    exposures: Map<String, Value>,
}

impl<'a> Manifest<'a> {
    pub fn new(inputs: Inputs<'a>) -> Manifest<'a> {
        let layout = Layout::new(inputs.project);
        let texts = texts(inputs.project);
        // Ephemeral models never run but are nodes in dbt's manifest.
        let (units, mut nodes): (Vec<&'a Node>, Vec<&'a Node>) = inputs
            .plan
            .nodes
            .iter()
            .chain(&inputs.plan.ephemeral.nodes)
            .partition(|n| n.resource == Resource::UnitTest);
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        let checksums = checksum::of_project(inputs.project, &nodes);
        let sources = sources_json(&inputs, &layout);
        let operations = operation::entries(&inputs, &checksums);
        let exposures = inputs.plan.exposures.iter().map(|e| (e.id.clone(), exposure::entry(e, &inputs))).collect();
        Manifest { inputs, layout, texts, checksums, nodes, units, operations, sources, exposures }
    }

    /// This manifest for what the invocation then compiled and runs: what
    /// [`Manifest::new`] computed (checksums, sources, operations) is kept,
    /// since neither depends on them.
    pub fn with_compiled<'b>(
        self,
        compiled: &'b BTreeMap<String, String>,
        executed: &'b BTreeSet<String>,
    ) -> Manifest<'b>
    where
        'a: 'b,
    {
        let mut m: Manifest<'b> = self;
        m.inputs.compiled = compiled;
        m.inputs.executed = executed;
        m
    }

    /// The entry of one node or source, and whether it is a source.
    pub fn entry(&self, id: &str) -> Option<(Value, bool)> {
        self.lookup(id, |node| fields::object_value(&self.node_fields(node)))
    }

    /// Like [`Manifest::entry`], but of a node only the fields that name it
    /// (`name`, `fqn`, `original_file_path`, …): what `ls` prints outside
    /// `--output json`, without building the whole entry.
    pub fn brief(&self, id: &str) -> Option<(Value, bool)> {
        self.lookup(id, |node| fields::object_value(&entry::identity(node)))
    }

    /// A node's value made by `of_node`, or a source's entry.
    fn lookup(&self, id: &str, of_node: impl Fn(&Node) -> Value) -> Option<(Value, bool)> {
        match self.nodes.binary_search_by(|n| n.id.as_str().cmp(id)) {
            Ok(i) => Some((of_node(self.nodes[i]), false)),
            Err(_) => match self.units.binary_search_by(|n| n.id.as_str().cmp(id)) {
                Ok(i) => Some((self.unit_entry(self.units[i]), false)),
                Err(_) => match self.operations.binary_search_by(|(o, _)| o.as_str().cmp(id)) {
                    Ok(i) => Some((self.operations[i].1.clone(), false)),
                    Err(_) => match self.sources.get(id) {
                        Some(s) => Some((s.clone(), true)),
                        None => self.exposures.get(id).map(|e| (e.clone(), false)),
                    },
                },
            },
        }
    }

    /// dbt's flat graph (templates' `graph`): every node's entry, run
    /// hooks' operations included, every source's and every exposure's, by unique id.
    pub fn flat_graph(&self) -> GraphEntries {
        let mut nodes: Vec<(String, Value)> =
            self.nodes.iter().map(|n| (n.id.clone(), fields::object_value(&self.node_fields(n)))).collect();
        nodes.extend(self.operations.iter().cloned());
        let pairs = |m: &Map<String, Value>| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        GraphEntries { nodes, sources: pairs(&self.sources), exposures: pairs(&self.exposures) }
    }

    fn unit_entry(&self, node: &Node) -> Value {
        unit::entry(node, &self.inputs)
    }

    fn node_fields<'s>(&'s self, node: &'a Node) -> fields::Fields<'s> {
        entry::node(node, &self.inputs, &self.layout, &self.texts, &self.checksums)
    }

    /// `parent_map` and `child_map`: every node and source in id order, each
    /// with its parents or children as written, sorted. Nodes are sorted by
    /// id and a node's parents are a sorted set, so children gathered in node
    /// order come out sorted too: no map keyed by strings is built (at 10k
    /// models those took a tenth of `runner ls`).
    fn maps(&self) -> Maps<'_> {
        let plan = self.inputs.plan;
        let mut members: Vec<(&str, Option<&Node>)> =
            self.nodes.iter().chain(&self.units).map(|n| (n.id.as_str(), Some(*n))).collect();
        // Sources and run hooks' operations: no parents, and no node reads an operation.
        members.extend(self.sources.keys().map(|s| (s.as_str(), None)));
        members.extend(self.operations.iter().map(|(o, _)| (o.as_str(), None)));
        // Two sorted runs: the sort merges them in one pass.
        members.sort_by(|a, b| a.0.cmp(b.0));
        let mut ids: Vec<&str> = members.iter().map(|m| m.0).collect();
        let mut parents: Vec<Vec<&str>> = members
            .iter()
            .map(|m| m.1.map(|n| plan.declared_deps(n).iter().map(String::as_str).collect()).unwrap_or_default())
            .collect();
        // Exposures (sorted, and sorted before `model.`) have parents, no children.
        let exposures = plan.exposures.iter().map(|e| {
            let mut p: Vec<&str> = e.depends_on.iter().map(String::as_str).collect();
            p.sort_unstable();
            (e.id.as_str(), p)
        });
        let at = ids.partition_point(|id| *id < "exposure.");
        let (exposure_ids, exposure_parents): (Vec<&str>, Vec<Vec<&str>>) = exposures.unzip();
        ids.splice(at..at, exposure_ids);
        parents.splice(at..at, exposure_parents);
        let mut children: Vec<Vec<&str>> = vec![Vec::new(); ids.len()];
        for (i, list) in parents.iter().enumerate() {
            // The planner rejects a parent that is neither a node nor a source.
            for j in list.iter().filter_map(|p| ids.binary_search(p).ok()) {
                children[j].push(ids[i]);
            }
        }
        Maps { ids, parents, children }
    }

    fn metadata(&self) -> Value {
        json!({
            "dbt_schema_version": SCHEMA_VERSION,
            "dbt_version": crate::project::version::DBT_VERSION,
            "generated_at": super::iso(chrono::Utc::now()),
            "invocation_id": self.inputs.invocation_id,
            "invocation_started_at": super::iso(self.inputs.started_at),
            "env": self.inputs.metadata_env.cloned().unwrap_or_default(),
            "project_name": self.inputs.project.name,
            "adapter_type": "duckdb",
            "quoting": {"database": true, "schema": true, "identifier": true, "column": null},
        })
    }
}

/// The whole manifest document as one value (for tests and small projects):
/// what [`write`] writes, read back.
#[cfg(test)]
pub fn build(inputs: Inputs) -> Value {
    let mut out = Vec::new();
    match write::document(&Manifest::new(inputs), &mut out) {
        Ok(()) => serde_json::from_slice(&out).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

/// The document built `window` entries at a time (for tests: the bytes must not depend on it).
#[cfg(test)]
pub(super) fn document_windowed(m: &Manifest, window: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    write::windowed(m, &mut out, window)?;
    Ok(out)
}

/// Writes `target/manifest.json` atomically (several processes may write it).
pub fn write(project: &Project, manifest: &Manifest) -> std::io::Result<()> {
    super::write_atomic_with(&project.target_dir.join("manifest.json"), |w| write::document(manifest, w))
}
