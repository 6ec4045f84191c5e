//! Nodes and plans built by hand for other modules' unit tests (the
//! dispatcher's, selection's): no project, no templates, nothing planned.
//! Test-only; owns nothing the product uses.

use super::{Materialized, ModelSettings, Node, NodeKind, Plan, Resource, TestSql};
use crate::config_tree::ConfigMap;
use crate::data_tests::TestConfig;
use crate::graph::Graph;
use std::path::PathBuf;

/// A node of `resource` named `name` in `file`: a ready generic test, or a
/// plain model of `materialized`; no relation, hooks or settings.
pub(crate) fn node(
    id: String,
    name: &str,
    resource: Resource,
    file: &str,
    deps: &[&str],
    materialized: Materialized,
    config: ConfigMap,
) -> Node {
    let kind = match resource {
        Resource::Test => {
            NodeKind::GenericTest { sql: TestSql::Ready(String::new()), cfg: TestConfig::default(), decl: 0 }
        }
        _ => NodeKind::Model { template: String::new(), materialized, settings: ModelSettings::Plain, python: None },
    };
    Node {
        id,
        name: name.to_string(),
        resource,
        file: PathBuf::from(file),
        original_file_path: PathBuf::from(file),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        relation: None,
        config,
        kind,
        hooks: Default::default(),
        version: None,
        run: Default::default(),
        build: Default::default(),
        ddl: None,
    }
}

/// A plan of `nodes` (sorted by id, as planning leaves them) and their edges.
pub(crate) fn plan(mut nodes: Vec<Node>) -> Plan {
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    let edges: Vec<_> = nodes.iter().map(|n| (n.id.clone(), n.depends_on.clone())).collect();
    Plan {
        graph: Graph::new(&edges).expect("acyclic"),
        nodes,
        relations: Default::default(),
        ephemeral: Default::default(),
        written: Default::default(),
        warnings: Vec::new(),
        run_hooks: Default::default(),
        notes: Vec::new(),
        exposures: Vec::new(),
    }
}
