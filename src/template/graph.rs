//! dbt's `graph`, `model`, `selected_resources`, `project_name`,
//! `database` and `schema`: what a render sees of the whole invocation.
//!
//! dbt builds its flat graph once, after parsing: every node's and source's
//! manifest entry by unique id. While it parses, the graph is empty and a
//! node's `model` holds only what parsing knows of it (so dbt's docs guard
//! both with `execute`). Runner does the same: [`Templates::set_graph`] is
//! handed the entries (built by `artifacts::manifest`, which this module
//! never imports) once per command, before anything renders with `execute`
//! true; until then the graph's sections are empty and `model` is the
//! node's parse-time identity. This module builds no entry itself.

use super::relation::Relation;
use super::Templates;
use minijinja::value::{Serde, Value};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The names whose use makes a command build the graph.
const GRAPH_NAMES: &[&str] = &["graph", "model"];

/// Whether `text` uses `name` as a whole identifier (not `model_id`, `my_graph`).
fn names(text: &str, name: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(name)
        .any(|(i, _)| !word(text[..i].chars().next_back()) && !word(text[i + name.len()..].chars().next()))
}

/// Whether `text` may read `graph` or `model` (over-approximate: a comment
/// or a generic test's `model` argument counts too).
pub(super) fn reads_graph(text: &str) -> bool {
    GRAPH_NAMES.iter().any(|n| names(text, n))
}

/// The invocation's graph, as [`Templates::set_graph`] received it.
#[derive(Debug)]
pub(crate) struct RunGraph {
    /// `graph` itself: `nodes`, `sources` and dbt's other (empty) sections;
    /// all empty when no template reads it.
    graph: Value,
    /// Unique id → its entry: a node's `model`.
    nodes: BTreeMap<String, Value>,
    selected: Value,
}

/// The sections of dbt's flat graph runner has no entries for.
const EMPTY_SECTIONS: &[&str] = &["groups", "metrics", "semantic_models", "saved_queries"];

/// The manifest entries a graph is made of, each section by unique id.
#[derive(Debug, Default)]
pub struct GraphEntries {
    pub nodes: Vec<(String, Json)>,
    pub sources: Vec<(String, Json)>,
    pub exposures: Vec<(String, Json)>,
}

fn graph_of(nodes: Value, sources: Value, exposures: Value) -> Value {
    let mut sections: BTreeMap<&str, Value> =
        EMPTY_SECTIONS.iter().map(|s| (*s, Value::from(BTreeMap::<String, Value>::new()))).collect();
    sections.insert("nodes", nodes);
    sections.insert("sources", sources);
    sections.insert("exposures", exposures);
    Value::from(sections)
}

/// The graph while parsing: every section empty (one value, shared).
pub(super) fn parse_graph() -> Value {
    static EMPTY: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let empty = || Value::from(BTreeMap::<String, Value>::new());
    EMPTY.get_or_init(|| graph_of(empty(), empty(), empty())).clone()
}

/// What parsing knows of a model, test or snapshot file: its `model`
/// before the graph exists.
pub(super) fn parse_model(name: &str, resource_type: &str, package: &str, path: &str) -> Value {
    Value::from(Serde(serde_json::json!({
        "name": name,
        "resource_type": resource_type,
        "package_name": package,
        "original_file_path": path,
        "config": {},
        "tags": [],
    })))
}

impl Templates {
    /// Whether a command must build the graph: some model, test, snapshot
    /// or macro file of the project or its packages, or one of `hooks`,
    /// may read `graph` or `model`.
    pub fn reads_graph<'t>(&self, mut hooks: impl Iterator<Item = &'t str>) -> bool {
        self.reads_graph || hooks.any(reads_graph)
    }

    /// Hands in the invocation's graph: each node's and each source's
    /// manifest entry (`None`: no template reads them), and the unique ids
    /// the command selected. Taken once; a later call is ignored (one
    /// command, one graph).
    pub fn set_graph(&self, entries: Option<GraphEntries>, selected: Vec<String>) {
        let entries = entries.unwrap_or_default();
        let section = |list: Vec<(String, Json)>| -> BTreeMap<String, Value> {
            list.into_iter().map(|(id, e)| (id, Value::from(Serde(e)))).collect()
        };
        let nodes = section(entries.nodes);
        let graph = graph_of(
            Value::from(nodes.clone()),
            Value::from(section(entries.sources)),
            Value::from(section(entries.exposures)),
        );
        let selected = Value::from(selected);
        // A second command in one process would build the same graph.
        let _ = self.graph.set(RunGraph { graph, nodes, selected });
    }

    /// `graph`, `selected_resources` and `project_name` for every render,
    /// and `database` / `schema`: where the node is built (`this`), else
    /// the target's (tests, run hooks), as dbt's model context has them.
    pub(super) fn push_invocation(&self, ctx: &mut Vec<(&'static str, Value)>, this: &Relation) {
        let (db, schema) = match this.database.is_empty() {
            true => (self.target_location.0.clone(), self.target_location.1.clone()),
            false => (this.database.clone(), this.schema.clone()),
        };
        ctx.push(("database", Value::from(db)));
        ctx.push(("schema", Value::from(schema)));
        match self.graph.get() {
            Some(g) => {
                ctx.push(("graph", g.graph.clone()));
                ctx.push(("selected_resources", g.selected.clone()));
            }
            None => {
                ctx.push(("graph", parse_graph()));
                ctx.push(("selected_resources", Value::from(Vec::<Value>::new())));
            }
        }
        ctx.push(("project_name", Value::from(self.macros.root.clone())));
    }

    /// A node's `model` at run time: its graph entry, else (no graph handed
    /// in, or a node the graph does not hold) nothing.
    pub(super) fn run_model(&self, node: Option<&str>) -> Option<Value> {
        self.graph.get()?.nodes.get(node?).cloned()
    }

    /// A file's `model` while it is parsed (see [`parse_model`]).
    pub(super) fn parse_model_of(&self, template: &str) -> Option<Value> {
        self.parse_models.get(template).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parse_graph_has_dbts_sections_all_empty() {
        let g = parse_graph();
        for s in ["nodes", "sources", "exposures", "groups", "metrics", "semantic_models", "saved_queries"] {
            let section = g.get_attr(s).expect("attribute");
            assert_eq!(section.len(), Some(0), "{s}");
        }
    }

    #[test]
    fn graph_and_model_count_only_as_whole_names() {
        assert!(reads_graph("{% for n in graph.nodes.values() %}"));
        assert!(reads_graph("'{{ model.name }}'"));
        assert!(reads_graph("{{ builtins.model }}"));
        assert!(!reads_graph("select model_id, my_graph, remodel from t"));
    }

    #[test]
    fn a_parse_model_names_the_node() {
        let m = parse_model("orders", "model", "shop", "models/orders.sql");
        assert_eq!(m.get_attr("name").expect("attribute").as_str(), Some("orders"));
        assert_eq!(m.get_attr("package_name").expect("attribute").as_str(), Some("shop"));
        assert_eq!(m.get_attr("config").expect("attribute").len(), Some(0));
    }
}
