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
use crate::nodes::{Node, NodeKind, Plan, Resource};
use crate::project::profile::Target;
use crate::project::{Attached, Project};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
}

/// A description as dbt writes it into the manifest: rendered, `doc()` resolved.
fn describe(inputs: &Inputs, raw: &str) -> String {
    inputs.templates.and_then(|t| t.render_description(raw).ok()).unwrap_or_else(|| raw.to_string())
}

fn props<'p>(project: &'p Project, node: &Node) -> Option<&'p crate::project::NodeProps> {
    match node.resource {
        Resource::Model => project.model_props.get(&node.name),
        Resource::Seed => project.seed_props.get(&node.name),
        Resource::Test => None,
    }
}

/// `target/…` as the manifest spells paths: relative to the project.
pub fn target_rel(project: &Project) -> PathBuf {
    project.target_dir.strip_prefix(&project.root).map(Path::to_path_buf).unwrap_or_else(|_| project.target_dir.clone())
}

fn yaml_json(v: &serde_yaml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// dbt's config of a node: its defaults, then what the project set.
fn config(node: &Node, alias: &str) -> Value {
    let materialized = match &node.kind {
        NodeKind::Model { .. } => crate::scheduler::label(node).materialized,
        NodeKind::Seed { .. } => "seed".into(),
        _ => "test".into(),
    };
    let common = json!({
        "enabled": true, "alias": null, "schema": null, "database": null, "tags": [], "meta": {},
        "group": null, "materialized": materialized,
    });
    let extra = match node.resource {
        Resource::Test => json!({
            "severity": "ERROR", "store_failures": null, "store_failures_as": null, "where": null,
            "limit": null, "fail_calc": "count(*)", "warn_if": "!= 0", "error_if": "!= 0",
            "schema": "dbt_test__audit",
        }),
        _ => json!({
            "persist_docs": {}, "post-hook": [], "pre-hook": [], "quoting": {}, "column_types": {},
            "full_refresh": null, "unique_key": null, "on_schema_change": "ignore",
            "on_configuration_change": "apply", "grants": {}, "packages": [],
            "docs": {"show": true, "node_color": null}, "contract": {"enforced": false, "alias_types": true},
            "incremental_strategy": null, "batch_size": null, "lookback": 1, "begin": null,
            "event_time": null, "concurrent_batches": null,
        }),
    };
    let mut base = Map::new();
    for part in [common, extra] {
        if let Value::Object(m) = part {
            base.extend(m);
        }
    }
    match node.resource {
        Resource::Model => {
            base.insert("access".into(), json!("protected"));
            base.insert("freshness".into(), Value::Null);
        }
        Resource::Seed => {
            base.insert("delimiter".into(), json!(","));
            base.insert("quote_columns".into(), Value::Null);
        }
        Resource::Test => {}
    }
    for (k, v) in &node.config {
        base.insert(k.clone(), yaml_json(v));
    }
    if node.resource == Resource::Test {
        if let Some(s) = base.get("severity").and_then(Value::as_str).map(str::to_ascii_uppercase) {
            base.insert("severity".into(), json!(s));
        }
        if alias != node.name {
            base.insert("alias".into(), json!(alias));
        }
    }
    if let Some(tags) = base.get("tags").filter(|t| t.is_string()).cloned() {
        base.insert("tags".into(), json!([tags]));
    }
    Value::Object(base)
}

/// The fields of a node's entry that name it; [`node_json`] starts from these.
fn identity(node: &Node, project: &Project) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(node.name));
    m.insert("resource_type".into(), json!(node.resource.as_str()));
    m.insert("package_name".into(), json!(project.name));
    m.insert("original_file_path".into(), json!(node.file.display().to_string()));
    m.insert("unique_id".into(), json!(node.id));
    m.insert("fqn".into(), json!(node.fqn()));
    m
}

fn node_json(node: &Node, inputs: &Inputs, layout: &Layout, texts: &Texts) -> Value {
    let project = inputs.project;
    let alias = layout.alias(node);
    // An ephemeral is a CTE: dbt still names the database and schema it
    // would be built in, and no relation.
    let ephemeral_at = node
        .relation
        .as_ref()
        .filter(|r| r.cte)
        .map(|_| crate::nodes::relation_for(inputs.target, &node.config, &node.name));
    let alias = ephemeral_at.as_ref().map(|r| r.identifier.clone()).unwrap_or(alias);
    let relation = ephemeral_at.as_ref().or(node.relation.as_ref());
    let config = config(node, &alias);
    let tags = config.get("tags").cloned().unwrap_or(json!([]));
    let meta = config.get("meta").cloned().unwrap_or(json!({}));
    let (database, schema) = match relation {
        Some(r) => (r.database.clone(), r.schema.clone()),
        None => {
            let custom = config.get("schema").and_then(Value::as_str).unwrap_or("dbt_test__audit");
            (inputs.target.database.clone(), format!("{}_{custom}", inputs.target.schema))
        }
    };
    // `depends_on` holds ref edges (as written: ephemerals too) and the ids of
    // the sources a node reads: in the SQL's order where it was recorded.
    let written = inputs.plan.written.get(&node.id);
    let parents: Vec<String> = match written {
        Some(w) => w.depends_on.clone(),
        None => inputs.plan.declared_deps(node).iter().cloned().collect(),
    };
    let raw_code = match &node.kind {
        NodeKind::Seed { .. } => String::new(),
        NodeKind::GenericTest { .. } => match layout.generic_decl(node) {
            // dbt's generated body; a shortened name adds its alias config.
            Some(d) if alias != node.name => {
                format!("{{{{ test_{}(**_dbt_generic_test_kwargs) }}}}{{{{ config(alias=\"{alias}\") }}}}", d.test)
            }
            Some(d) => format!("{{{{ test_{}(**_dbt_generic_test_kwargs) }}}}", d.test),
            None => String::new(),
        },
        _ => texts.get(node.file.as_path()).map(|t| t.trim_end().to_string()).unwrap_or_default(),
    };
    let Value::Object(mut m) = json!({
        "database": database,
        "schema": schema,
        "path": layout.path(node),
        "alias": alias,
        "config": config,
        "tags": tags,
        "meta": meta,
        "description": props(project, node).and_then(|p| p.description.as_deref()).map(|d| describe(inputs, d)).unwrap_or_default(),
        "columns": columns(inputs, node),
        // Where the node's properties were declared, as dbt spells it.
        "patch_path": props(project, node).map(|p| format!("{}://{}", project.name, p.file.display())),
        "docs": {"show": true, "node_color": null},
        "relation_name": node.relation.as_ref().filter(|r| !r.cte).map(|r| r.to_string()),
        "raw_code": raw_code,
    }) else {
        return Value::Null;
    };
    m.extend(identity(node, project));
    let target = target_rel(project);
    let sql_path = layout.sql_path(node);
    let build_path = inputs.executed.contains(&node.id).then(|| target.join("run").join(&project.name).join(&sql_path));
    m.insert("build_path".into(), json!(build_path.map(|p| p.display().to_string())));
    if node.resource == Resource::Seed {
        m.insert("root_path".into(), json!(project.root.display().to_string()));
        m.insert("depends_on".into(), json!({"macros": []}));
        return Value::Object(m);
    }
    let ref_names: Vec<&str> = match written {
        Some(w) => w.refs.iter().map(String::as_str).collect(),
        None => parents.iter().filter(|id| !id.starts_with("source.")).filter_map(|id| id.rsplit('.').next()).collect(),
    };
    let refs: Vec<Value> =
        ref_names.iter().map(|name| json!({"name": name, "package": null, "version": null})).collect();
    let sources: Vec<Value> = match written {
        Some(w) => w.sources.iter().map(|(s, t)| json!([s, t])).collect(),
        None => parents
            .iter()
            .filter_map(|id| id.strip_prefix(&format!("source.{}.", project.name)))
            .filter_map(|rest| rest.split_once('.'))
            .map(|(s, t)| json!([s, t]))
            .collect(),
    };
    let compiled = inputs.compiled.get(&node.id);
    m.insert("language".into(), json!("sql"));
    if node.resource == Resource::Model {
        // dbt's defaults for what runner does not model: no contracts, no versions.
        m.insert("access".into(), json!("protected"));
        m.insert("contract".into(), json!({"enforced": false, "alias_types": true, "checksum": null}));
        m.insert("constraints".into(), json!([]));
        m.insert("version".into(), Value::Null);
        m.insert("latest_version".into(), Value::Null);
        m.insert("deprecation_date".into(), Value::Null);
        m.insert("primary_key".into(), json!([]));
    }
    m.insert("refs".into(), json!(refs));
    m.insert("sources".into(), json!(sources));
    m.insert("depends_on".into(), json!({"macros": [], "nodes": parents}));
    m.insert("compiled".into(), json!(compiled.is_some()));
    m.insert("compiled_code".into(), json!(compiled));
    let compiled_path = compiled.map(|_| target.join("compiled").join(&project.name).join(&sql_path));
    m.insert("compiled_path".into(), json!(compiled_path.map(|p| p.display().to_string())));
    if let Some(d) = layout.generic_decl(node) {
        let mut kwargs: Map<String, Value> = d.args.iter().map(|(k, v)| (k.clone(), yaml_json(v))).collect();
        if let Some(c) = &d.column {
            kwargs.insert("column_name".into(), json!(c));
        }
        let (attached, key) = match &d.attached {
            Attached::Model(name) => (
                parents.iter().find(|id| id.rsplit('.').next() == Some(name.as_str())).cloned(),
                format!("models.{name}"),
            ),
            Attached::Source(s, t) => (Some(source_id(&project.name, s, t)), format!("sources.{s}")),
        };
        m.insert("column_name".into(), json!(d.column));
        m.insert("attached_node".into(), json!(attached));
        m.insert("file_key_name".into(), json!(key));
        m.insert("test_metadata".into(), json!({"name": d.test, "kwargs": kwargs, "namespace": null}));
    }
    Value::Object(m)
}

/// Each model's and singular test's text by file, built once per manifest.
type Texts<'p> = BTreeMap<&'p Path, &'p str>;

fn texts(project: &Project) -> Texts<'_> {
    project.models.iter().chain(&project.singular_tests).map(|f| (f.path.as_path(), f.text.as_str())).collect()
}

fn columns(inputs: &Inputs, node: &Node) -> Value {
    let props = props(inputs.project, node);
    let cols: Map<String, Value> = props
        .into_iter()
        .flat_map(|p| p.columns.iter().map(move |c| (p, c)))
        .map(|(p, c)| {
            let description = p.column_descriptions.get(c).map(|d| describe(inputs, d)).unwrap_or_default();
            let col = json!({"name": c, "description": description, "meta": {}, "data_type": null,
                "constraints": [], "quote": null, "tags": []});
            (c.clone(), col)
        })
        .collect();
    Value::Object(cols)
}

fn sources_json(inputs: &Inputs, layout: &Layout) -> Map<String, Value> {
    let project = inputs.project;
    let mut out = Map::new();
    for src in project.sources.values() {
        let id = source_id(&project.name, &src.source, &src.table);
        let database = src.database.clone().unwrap_or_else(|| inputs.target.database.clone());
        let relation = crate::template::relation::Relation::new(&database, &src.schema, &src.identifier);
        let file = src.file.display().to_string();
        let entry = json!({
            "database": database,
            "schema": src.schema,
            "name": src.table,
            "resource_type": "source",
            "package_name": project.name,
            "path": file,
            "original_file_path": file,
            "unique_id": id,
            "fqn": layout.source_fqn(src),
            "source_name": src.source,
            "identifier": src.identifier,
            "loader": "",
            "description": "",
            "source_description": "",
            "columns": {},
            "meta": {},
            "source_meta": {},
            "tags": [],
            "config": {"enabled": true, "meta": {}, "tags": []},
            "relation_name": relation.to_string(),
        });
        out.insert(id, entry);
    }
    out
}

/// The manifest, each node's entry built only when it is written or asked
/// for, so a large project's document never sits in memory whole.
pub struct Manifest<'a> {
    inputs: Inputs<'a>,
    layout: Layout<'a>,
    texts: Texts<'a>,
    /// Plan nodes and ephemerals together, sorted by unique id.
    nodes: Vec<&'a Node>,
    sources: Map<String, Value>,
}

impl<'a> Manifest<'a> {
    pub fn new(inputs: Inputs<'a>) -> Manifest<'a> {
        let layout = Layout::new(inputs.project);
        let texts = texts(inputs.project);
        // Ephemeral models never run but are nodes in dbt's manifest.
        let mut nodes: Vec<&'a Node> = inputs.plan.nodes.iter().chain(&inputs.plan.ephemeral.nodes).collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        let sources = sources_json(&inputs, &layout);
        Manifest { inputs, layout, texts, nodes, sources }
    }

    /// The entry of one node or source, and whether it is a source.
    pub fn entry(&self, id: &str) -> Option<(Value, bool)> {
        self.lookup(id, |node| self.node_entry(node))
    }

    /// Like [`Manifest::entry`], but of a node only the fields that name it
    /// (`name`, `fqn`, `original_file_path`, …): what `ls` prints outside
    /// `--output json`, without building the whole entry.
    pub fn brief(&self, id: &str) -> Option<(Value, bool)> {
        self.lookup(id, |node| Value::Object(identity(node, self.inputs.project)))
    }

    /// A node's value made by `of_node`, or a source's entry.
    fn lookup(&self, id: &str, of_node: impl Fn(&Node) -> Value) -> Option<(Value, bool)> {
        match self.nodes.binary_search_by(|n| n.id.as_str().cmp(id)) {
            Ok(i) => Some((of_node(self.nodes[i]), false)),
            Err(_) => self.sources.get(id).map(|s| (s.clone(), true)),
        }
    }

    fn node_entry(&self, node: &Node) -> Value {
        node_json(node, &self.inputs, &self.layout, &self.texts)
    }

    /// `parent_map` and `child_map`: every node and source, with the edges as written.
    fn maps(&self) -> [BTreeMap<&str, BTreeSet<&str>>; 2] {
        let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut children: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for id in self.nodes.iter().map(|n| n.id.as_str()).chain(self.sources.keys().map(String::as_str)) {
            parents.entry(id).or_default();
            children.entry(id).or_default();
        }
        for n in &self.nodes {
            for p in self.inputs.plan.declared_deps(n) {
                parents.entry(&n.id).or_default().insert(p);
                children.entry(p).or_default().insert(&n.id);
            }
        }
        [parents, children]
    }

    fn metadata(&self) -> Value {
        json!({
            "dbt_schema_version": SCHEMA_VERSION,
            "generated_at": super::iso(chrono::Utc::now()),
            "invocation_id": self.inputs.invocation_id,
            "invocation_started_at": super::iso(self.inputs.started_at),
            "env": {},
            "project_name": self.inputs.project.name,
            "adapter_type": "duckdb",
            "quoting": {"database": true, "schema": true, "identifier": true, "column": null},
        })
    }
}

/// The whole manifest document as one value (for tests and small projects):
/// what [`write`] writes, read back.
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
