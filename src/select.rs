//! dbt's node selection grammar over the plan.
//!
//! Space-separated criteria are a union, a comma inside one is an
//! intersection, `exclude` is subtracted last. A criterion is dbt's
//! `[@][N+][method:]value[+N]`; methods are the fqn (the default: `stg_orders`,
//! `staging`, `staging.*`, `shop.staging.stg_orders`, matched segment by
//! segment as dbt does), `tag:`, `path:`, `file:`, `resource_type:`,
//! `config.<key>:`, `source:`, `exposure:`, `test_type:`, `test_name:` and
//! `package:`. Sources, ephemeral models and exposures are not plan nodes,
//! so they take part here as extra graph members (sources from `depends_on`,
//! ephemerals from `Plan::ephemeral`, whose edges as written lead through
//! them, as in dbt's graph; exposures from `Plan::exposures`, children of
//! what they name); all three are reported apart from what runs.
//! Tests come along when any parent is selected (dbt's eager mode). Pure: no
//! I/O; warnings are returned for the caller to print.

mod methods;

use crate::graph::Graph;
use crate::nodes::fqn::parse_source_id;
use crate::nodes::{Node, Plan};
use methods::{matches, Member};
use std::collections::{BTreeMap, BTreeSet};

pub use methods::fnmatch;

/// dbt's wording when a selection leaves nothing to run.
pub const NOTHING_TO_DO: &str = "Nothing to do. Try checking your model configs and model specification args";

/// The selected plan nodes and dbt's warnings about the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Indices into `Plan::nodes`: what runs.
    pub nodes: BTreeSet<usize>,
    /// Unique ids of the selected ephemeral models: listed by `ls`, never run.
    pub ephemerals: BTreeSet<String>,
    /// Unique ids of the selected sources (those some node reads): listed by `ls`.
    pub sources: BTreeSet<String>,
    /// Unique ids of the selected exposures: listed by `ls`, never run.
    pub exposures: BTreeSet<String>,
    /// `The selection criterion 'x' does not match any enabled nodes`, and
    /// [`NOTHING_TO_DO`] when the selection is empty.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Criterion {
    raw: String,
    at: bool,
    ancestors: Option<usize>,
    descendants: Option<usize>,
    method: String,
    value: String,
}

fn depth(digits: &str, raw: &str) -> Result<usize, String> {
    if digits.is_empty() {
        return Ok(usize::MAX);
    }
    digits.parse().map_err(|_| format!("bad graph depth `{digits}` in `{raw}`"))
}

/// dbt's `\A(@)?(\d*\+)?(([\w.]+):)?(.*?)(\+\d*)?\Z`.
fn parse_criterion(raw: &str) -> Result<Criterion, String> {
    let mut s = raw;
    let at = s.starts_with('@');
    if at {
        s = &s[1..];
    }
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    let ancestors = match s[digits..].strip_prefix('+') {
        Some(rest) => {
            let d = depth(&s[..digits], raw)?;
            s = rest;
            Some(d)
        }
        None => None,
    };
    if at && ancestors.is_some() {
        return Err(format!("`{raw}`: the `@` and `+` prefixes cannot be combined"));
    }
    let tail = s.chars().rev().take_while(char::is_ascii_digit).count();
    let descendants = match s[..s.len() - tail].strip_suffix('+') {
        Some(rest) => {
            let d = depth(&s[s.len() - tail..], raw)?;
            s = rest;
            Some(d)
        }
        None => None,
    };
    let (method, value) = match s.split_once(':') {
        Some((m, v)) if !m.is_empty() && m.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') => (m, v),
        _ => ("", s),
    };
    if value.is_empty() {
        return Err(format!("`{raw}` has no value to select by"));
    }
    let method = if method.is_empty() {
        // dbt's default method: a path when it has a slash, a file name when it
        // ends like one, the fqn otherwise.
        if value.contains('/') {
            "path"
        } else if [".sql", ".py", ".csv"].iter().any(|e| value.to_ascii_lowercase().ends_with(e)) {
            "file"
        } else {
            "fqn"
        }
    } else {
        method
    };
    methods::check(method, value).map_err(|e| format!("`{raw}`: {e}"))?;
    Ok(Criterion {
        raw: raw.to_string(),
        at,
        ancestors,
        descendants,
        method: method.to_string(),
        value: value.to_string(),
    })
}

/// The plan's nodes, then its ephemeral models, then the sources they read,
/// with the edges as written (through ephemerals) both ways.
struct Universe<'a> {
    plan: &'a Plan,
    sources: Vec<String>,
    edges: Edges<'a>,
}

/// Without ephemerals the edges as written between plan nodes are the plan
/// graph's (whose indices are the plan's), so only the edges from sources are
/// built; at 10k models that saves a third of selection's time.
enum Edges<'a> {
    Graph {
        graph: &'a Graph,
        /// Member → its parents that are sources, or an exposure's parents.
        extra_parents: BTreeMap<usize, BTreeSet<usize>>,
        /// Source → the plan nodes reading it; member → the exposures on it.
        extra_children: BTreeMap<usize, BTreeSet<usize>>,
    },
    Owned {
        parents: Vec<BTreeSet<usize>>,
        children: Vec<BTreeSet<usize>>,
    },
}

impl<'a> Universe<'a> {
    fn new(plan: &'a Plan) -> Universe<'a> {
        Universe::build(plan, plan.ephemeral.nodes.is_empty() && plan.ephemeral.declared.is_empty())
    }

    /// `from_graph` only when the plan has no ephemerals (tests compare both ways).
    fn build(plan: &'a Plan, from_graph: bool) -> Universe<'a> {
        let nodes: Vec<&Node> = plan.nodes.iter().chain(&plan.ephemeral.nodes).collect();
        let deps = |n: &'a Node| plan.declared_deps(n);
        let is_source = |d: &&String| d.starts_with("source.");
        let sources: Vec<String> = nodes
            .iter()
            .flat_map(|&n| deps(n).iter().filter(is_source).cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let first_source = nodes.len();
        let source_index = |d: &String| sources.binary_search(d).ok().map(|s| first_source + s);
        let index: BTreeMap<&str, usize> = nodes.iter().map(|n| n.id.as_str()).zip(0..).collect();
        let member = |d: &String| index.get(d.as_str()).copied().or_else(|| source_index(d));
        // Exposures come last: children of what they name, parents of nothing.
        let first_exposure = first_source + sources.len();
        let exposure_edges = plan
            .exposures
            .iter()
            .enumerate()
            .flat_map(|(j, e)| e.depends_on.iter().filter_map(member).map(move |p| (p, first_exposure + j)));
        let edges = if from_graph {
            let mut extra_parents: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
            let mut extra_children: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
            let source_edges = nodes.iter().enumerate().flat_map(|(i, &node)| {
                deps(node).iter().filter(is_source).filter_map(source_index).map(move |p| (p, i))
            });
            for (p, c) in source_edges.chain(exposure_edges) {
                extra_parents.entry(c).or_default().insert(p);
                extra_children.entry(p).or_default().insert(c);
            }
            Edges::Graph { graph: &plan.graph, extra_parents, extra_children }
        } else {
            let len = first_exposure + plan.exposures.len();
            let mut parents = vec![BTreeSet::new(); len];
            let mut children = vec![BTreeSet::new(); len];
            let node_edges = nodes
                .iter()
                .enumerate()
                .flat_map(|(i, &node)| deps(node).iter().filter_map(member).map(move |p| (p, i)));
            for (p, c) in node_edges.chain(exposure_edges) {
                parents[c].insert(p);
                children[p].insert(c);
            }
            Edges::Owned { parents, children }
        };
        Universe { plan, sources, edges }
    }

    fn len(&self) -> usize {
        self.first_exposure() + self.plan.exposures.len()
    }

    fn first_exposure(&self) -> usize {
        self.plan.nodes.len() + self.plan.ephemeral.nodes.len() + self.sources.len()
    }

    /// Member `i`'s parents (`up`) or children.
    fn edges(&self, i: usize, up: bool) -> impl Iterator<Item = usize> + '_ {
        let (graph_edges, extra) = match &self.edges {
            Edges::Graph { graph, extra_parents, extra_children } => {
                let own = (i < self.plan.nodes.len()).then(|| if up { graph.parents(i) } else { graph.children(i) });
                (own, if up { extra_parents.get(&i) } else { extra_children.get(&i) })
            }
            Edges::Owned { parents, children } => (Some(if up { &parents[i] } else { &children[i] }), None),
        };
        graph_edges.into_iter().chain(extra).flatten().copied()
    }

    fn ephemerals(&self) -> std::ops::Range<usize> {
        let n = self.plan.nodes.len();
        n..n + self.plan.ephemeral.nodes.len()
    }

    fn member(&self, i: usize) -> Member<'_> {
        let e = self.ephemerals();
        if i < e.start {
            Member::Node(self.plan.node(i))
        } else if e.contains(&i) {
            Member::Node(&self.plan.ephemeral.nodes[i - e.start])
        } else if i < self.first_exposure() {
            let (project, source, table) = parse_source_id(&self.sources[i - e.end]).unwrap_or(("", "", ""));
            Member::Source { project, source, table }
        } else {
            Member::Exposure(&self.plan.exposures[i - self.first_exposure()])
        }
    }

    fn walk(&self, start: usize, max_depth: usize, up: bool) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut frontier = vec![start];
        let mut level = 0;
        while !frontier.is_empty() && level < max_depth {
            let mut next = Vec::new();
            for n in frontier {
                for m in self.edges(n, up) {
                    if seen.insert(m) {
                        next.push(m);
                    }
                }
            }
            frontier = next;
            level += 1;
        }
        seen
    }

    fn criterion_set(&self, c: &Criterion) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        for i in (0..self.len()).filter(|&i| matches(&self.member(i), &c.method, &c.value)) {
            out.insert(i);
            if let Some(d) = c.ancestors {
                out.extend(self.walk(i, d, true));
            }
            if let Some(d) = c.descendants {
                out.extend(self.walk(i, d, false));
            }
            if c.at {
                for d in self.walk(i, usize::MAX, false).into_iter().chain([i]) {
                    out.insert(d);
                    out.extend(self.walk(d, usize::MAX, true));
                }
            }
        }
        out
    }

    /// Union of space-separated criteria, each an intersection of comma parts.
    fn evaluate(&self, selectors: &[String], warnings: &mut Vec<String>) -> Result<BTreeSet<usize>, String> {
        let mut union = BTreeSet::new();
        for sel in selectors.iter().flat_map(|s| s.split_whitespace()) {
            let mut inter: Option<BTreeSet<usize>> = None;
            for part in sel.split(',') {
                if part.is_empty() {
                    return Err(format!("`{sel}` has an empty part between commas"));
                }
                let c = parse_criterion(part)?;
                let set = self.criterion_set(&c);
                if set.is_empty() {
                    warnings.push(format!("The selection criterion '{}' does not match any enabled nodes", c.raw));
                }
                inter = Some(match inter {
                    None => set,
                    Some(prev) => prev.intersection(&set).copied().collect(),
                });
            }
            union.extend(inter.unwrap_or_default());
        }
        Ok(union)
    }

    /// Adds tests any of whose parents (nodes or sources) is in `set` (eager).
    fn with_tests(&self, mut set: BTreeSet<usize>) -> BTreeSet<usize> {
        let tests: Vec<usize> = (0..self.plan.nodes.len())
            .filter(|&i| self.plan.node(i).resource.is_test())
            .filter(|&i| self.edges(i, true).any(|p| set.contains(&p)))
            .collect();
        set.extend(tests);
        set
    }
}

/// The selected nodes with dbt's warnings. An empty `select` means everything.
pub fn selection(plan: &Plan, select: &[String], exclude: &[String]) -> Result<Selection, String> {
    selection_in(&Universe::new(plan), select, exclude)
}

fn selection_in(u: &Universe, select: &[String], exclude: &[String]) -> Result<Selection, String> {
    let plan = u.plan;
    let mut warnings = Vec::new();
    let chosen = if select.is_empty() { (0..u.len()).collect() } else { u.evaluate(select, &mut warnings)? };
    let chosen = u.with_tests(chosen);
    let excluded = u.with_tests(u.evaluate(exclude, &mut Vec::new())?);
    let kept: BTreeSet<usize> = chosen.difference(&excluded).copied().collect();
    let nodes: BTreeSet<usize> = kept.iter().copied().filter(|&i| i < plan.nodes.len()).collect();
    let ephemerals: BTreeSet<String> = kept
        .iter()
        .filter(|i| u.ephemerals().contains(i))
        .map(|&i| plan.ephemeral.nodes[i - plan.nodes.len()].id.clone())
        .collect();
    let (first_source, first_exposure) = (u.ephemerals().end, u.first_exposure());
    let sources: BTreeSet<String> =
        kept.range(first_source..first_exposure).map(|&i| u.sources[i - first_source].clone()).collect();
    let exposures: BTreeSet<String> =
        kept.range(first_exposure..).map(|&i| plan.exposures[i - first_exposure].id.clone()).collect();
    // dbt stays silent when only ephemerals are selected: it ran "nothing" on purpose.
    if nodes.is_empty() && ephemerals.is_empty() {
        warnings.push(NOTHING_TO_DO.to_string());
    }
    Ok(Selection { nodes, ephemerals, sources, exposures, warnings })
}

/// The selected node indices. An empty `select` means everything.
pub fn select(plan: &Plan, select: &[String], exclude: &[String]) -> Result<BTreeSet<usize>, String> {
    selection(plan, select, exclude).map(|s| s.nodes)
}

#[cfg(test)]
mod tests;
