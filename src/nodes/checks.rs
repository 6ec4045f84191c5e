//! The checks only the whole, sorted node list can make: two nodes with one
//! unique id, and a dependency cycle (shown as its loop). Part of the
//! planner; reads the nodes, changes nothing.

use super::{fqn, Node};
use crate::diag::Diagnostic;
use crate::graph::{cycle_text, Graph};
use std::collections::BTreeSet;

/// Two nodes with one unique id (two `assert_x.sql` in different folders, a
/// test listed twice on a column) would make the graph and the node list
/// disagree; dbt refuses them too. `nodes` are sorted by id.
pub(super) fn unique_ids(nodes: &[Node]) -> Result<(), Vec<Diagnostic>> {
    let dups: Vec<Diagnostic> = nodes
        .windows(2)
        .filter(|w| w[0].id == w[1].id)
        .map(|w| {
            Diagnostic::in_file(
                &w[1].file,
                format!("two nodes are named `{}`: also in `{}`", w[1].name, w[0].file.display()),
            )
            .hint("rename one of them, or give the test a `name:`")
        })
        .collect();
    if dups.is_empty() {
        Ok(())
    } else {
        Err(dups)
    }
}

/// The graph of `nodes`, or the cycle that forbids it, named as `ref` names them.
pub(super) fn graph_of(nodes: &[Node]) -> Result<Graph, Vec<Diagnostic>> {
    let edges: Vec<(&str, &BTreeSet<String>)> = nodes.iter().map(|n| (n.id.as_str(), &n.depends_on)).collect();
    Graph::new(&edges).map_err(|cycle| {
        let short: Vec<String> = cycle
            .iter()
            .map(|id| match nodes.iter().find(|n| &n.id == id) {
                Some(n) => n.search_name(),
                None => fqn::short_name(id).to_string(),
            })
            .collect();
        let first = nodes.iter().find(|n| n.id == cycle[0]).map(|n| n.file.clone());
        let mut d = Diagnostic::new(format!("dependency cycle: {}", cycle_text(&short)))
            .hint("remove one of these `ref()` calls to break the loop");
        d.file = first;
        vec![d]
    })
}
