//! The lineage graph of a run as SVG: a layered layout (each node one layer
//! right of its deepest parent), ordered within layers by a fixed number of
//! barycenter sweeps, so the same graph always gives the same picture.
//!
//! Pure: takes nodes and edges, returns coordinates and SVG text. Knows
//! nothing of the history, the manifest or HTTP.

use super::escape;

pub(crate) const NODE_W: f64 = 180.0;
pub(crate) const NODE_H: f64 = 26.0;
pub(crate) const GAP_X: f64 = 60.0;
pub(crate) const GAP_Y: f64 = 12.0;
pub(crate) const MARGIN: f64 = 10.0;
/// Barycenter sweeps (each one down and one up): enough to untangle the
/// usual dbt project, bounded so a 10,000-node graph stays fast.
const SWEEPS: usize = 4;

/// One node to draw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphNode {
    pub id: String,
    pub label: String,
    /// A task state (`success`, `failed`, …): the node's colour.
    pub state: String,
    /// Where clicking the node leads, if anywhere.
    pub href: Option<String>,
}

/// Where each node goes (top-left corners) and the size of the picture.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub layer: Vec<usize>,
    pub pos: Vec<(f64, f64)>,
    pub width: f64,
    pub height: f64,
}

/// Longest-path layers: a node sits one layer right of its deepest parent.
/// Nodes on a cycle (never in a valid plan) stay in layer 0.
fn layers(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut children = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for &(p, c) in edges {
        if p < n && c < n && p != c {
            children[p].push(c);
            indegree[c] += 1;
        }
    }
    let mut layer = vec![0usize; n];
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    while let Some(v) = ready.pop_first() {
        for &c in &children[v] {
            layer[c] = layer[c].max(layer[v] + 1);
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.insert(c);
            }
        }
    }
    layer
}

/// Orders each layer by the mean position of its neighbours in the layer
/// before (down) or after (up); ties keep the previous order.
fn order(layer: &[usize], edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let depth = layer.iter().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, &l) in layer.iter().enumerate() {
        rows[l].push(i);
    }
    let n = layer.len();
    let (mut parents, mut children) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    for &(p, c) in edges {
        if p < n && c < n && p != c {
            parents[c].push(p);
            children[p].push(c);
        }
    }
    let mut at = vec![0usize; n];
    let index = |rows: &Vec<Vec<usize>>, at: &mut Vec<usize>| {
        for row in rows {
            for (k, &v) in row.iter().enumerate() {
                at[v] = k;
            }
        }
    };
    index(&rows, &mut at);
    let sweep = |row: &mut Vec<usize>, at: &[usize], near: &[Vec<usize>]| {
        let key = |v: usize| {
            let ns = &near[v];
            if ns.is_empty() {
                at[v] as f64
            } else {
                ns.iter().map(|&u| at[u] as f64).sum::<f64>() / ns.len() as f64
            }
        };
        let mut keyed: Vec<(f64, usize, usize)> = row.iter().map(|&v| (key(v), at[v], v)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *row = keyed.into_iter().map(|(_, _, v)| v).collect();
    };
    for _ in 0..SWEEPS {
        for l in 1..depth {
            sweep(&mut rows[l], &at[..], &parents[..]);
            index(&rows, &mut at);
        }
        for l in (0..depth.saturating_sub(1)).rev() {
            sweep(&mut rows[l], &at[..], &children[..]);
            index(&rows, &mut at);
        }
    }
    rows
}

/// The layout of `n` nodes joined by `(parent, child)` edges (indices).
pub(crate) fn layout(n: usize, edges: &[(usize, usize)]) -> Layout {
    let layer = layers(n, edges);
    let rows = order(&layer, edges);
    let tallest = rows.iter().map(Vec::len).max().unwrap_or(0) as f64;
    let column = |count: f64| if count == 0.0 { 0.0 } else { count * NODE_H + (count - 1.0) * GAP_Y };
    let mut pos = vec![(0.0, 0.0); n];
    for (l, row) in rows.iter().enumerate() {
        // Each layer is centred against the tallest one.
        let top = MARGIN + (column(tallest) - column(row.len() as f64)) / 2.0;
        for (k, &v) in row.iter().enumerate() {
            pos[v] = (MARGIN + l as f64 * (NODE_W + GAP_X), top + k as f64 * (NODE_H + GAP_Y));
        }
    }
    let depth = rows.len() as f64;
    let width = if depth == 0.0 { 2.0 * MARGIN } else { 2.0 * MARGIN + depth * NODE_W + (depth - 1.0) * GAP_X };
    Layout { layer, pos, width, height: 2.0 * MARGIN + column(tallest) }
}

/// A CSS class from a state: letters and `_` only.
pub(crate) fn state_class(state: &str) -> String {
    state.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        format!("{}…", label.chars().take(max - 1).collect::<String>())
    }
}

/// The graph as one `<svg>` element (colours come from the page's CSS).
pub(crate) fn svg(nodes: &[GraphNode], edges: &[(usize, usize)]) -> String {
    let l = layout(nodes.len(), edges);
    let mut out = format!(
        "<svg class=\"lineage\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.1} {h:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" data-nodes=\"{n}\"><g class=\"viewport\">",
        w = l.width,
        h = l.height,
        n = nodes.len()
    );
    for &(p, c) in edges {
        let (Some(&(px, py)), Some(&(cx, cy))) = (l.pos.get(p), l.pos.get(c)) else { continue };
        let (x1, y1, x2, y2) = (px + NODE_W, py + NODE_H / 2.0, cx, cy + NODE_H / 2.0);
        let bend = GAP_X / 2.0;
        out.push_str(&format!(
            "<path class=\"edge\" d=\"M{x1:.1} {y1:.1} C{:.1} {y1:.1} {:.1} {y2:.1} {x2:.1} {y2:.1}\"/>",
            x1 + bend,
            x2 - bend
        ));
    }
    for (node, &(x, y)) in nodes.iter().zip(&l.pos) {
        let body = format!(
            "<g class=\"node st-{st}\" data-id=\"{id}\"><title>{id} ({state})</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{NODE_W:.1}\" height=\"{NODE_H:.1}\" rx=\"4\"/><text x=\"{tx:.1}\" y=\"{ty:.1}\">{label}</text></g>",
            st = state_class(&node.state),
            id = escape(&node.id),
            state = escape(&node.state),
            tx = x + 8.0,
            ty = y + NODE_H / 2.0 + 4.0,
            label = escape(&short(&node.label, 24)),
        );
        match &node.href {
            Some(h) => out.push_str(&format!("<a href=\"{}\">{body}</a>", escape(h))),
            None => out.push_str(&body),
        }
    }
    out.push_str("</g></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, state: &str) -> GraphNode {
        GraphNode { id: id.into(), label: id.rsplit('.').next().unwrap_or(id).into(), state: state.into(), href: None }
    }

    #[test]
    fn a_diamond_gets_three_layers_with_exact_coordinates() {
        // a → b, a → c, b → d, c → d
        let l = layout(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        assert_eq!(l.layer, [0, 1, 1, 2]);
        let step_x = NODE_W + GAP_X;
        // Layers of one node are centred against the layer of two.
        let mid = MARGIN + (NODE_H + GAP_Y) / 2.0;
        assert_eq!(
            l.pos,
            [
                (MARGIN, mid),
                (MARGIN + step_x, MARGIN),
                (MARGIN + step_x, MARGIN + NODE_H + GAP_Y),
                (MARGIN + 2.0 * step_x, mid)
            ]
        );
        assert_eq!(l.width, 2.0 * MARGIN + 3.0 * NODE_W + 2.0 * GAP_X);
        assert_eq!(l.height, 2.0 * MARGIN + 2.0 * NODE_H + GAP_Y);
    }

    #[test]
    fn a_node_sits_right_of_its_deepest_parent() {
        // a → b → c and a → c: c is in layer 2, not 1.
        assert_eq!(layout(3, &[(0, 1), (1, 2), (0, 2)]).layer, [0, 1, 2]);
    }

    #[test]
    fn barycenters_uncross_edges() {
        // Two chains given crosswise: a0 → b1, a1 → b0. After the sweeps each
        // child sits level with its parent.
        let l = layout(4, &[(0, 3), (1, 2)]);
        assert_eq!(l.pos[0].1, l.pos[3].1);
        assert_eq!(l.pos[1].1, l.pos[2].1);
    }

    #[test]
    fn a_cycle_does_not_hang_and_empty_graphs_have_a_size() {
        let l = layout(2, &[(0, 1), (1, 0)]);
        assert_eq!(l.layer, [0, 0]);
        let e = layout(0, &[]);
        assert_eq!((e.width, e.height), (2.0 * MARGIN, 2.0 * MARGIN));
    }

    #[test]
    fn the_svg_is_exact_and_deterministic() {
        let nodes = [node("seed.shop.raw", "success"), node("model.shop.orders<x>", "failed")];
        let s = svg(&nodes, &[(0, 1)]);
        assert_eq!(
            s,
            "<svg class=\"lineage\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 440.0 46.0\" width=\"440.0\" height=\"46.0\" data-nodes=\"2\"><g class=\"viewport\">\
             <path class=\"edge\" d=\"M190.0 23.0 C220.0 23.0 220.0 23.0 250.0 23.0\"/>\
             <g class=\"node st-success\" data-id=\"seed.shop.raw\"><title>seed.shop.raw (success)</title><rect x=\"10.0\" y=\"10.0\" width=\"180.0\" height=\"26.0\" rx=\"4\"/><text x=\"18.0\" y=\"27.0\">raw</text></g>\
             <g class=\"node st-failed\" data-id=\"model.shop.orders&lt;x&gt;\"><title>model.shop.orders&lt;x&gt; (failed)</title><rect x=\"250.0\" y=\"10.0\" width=\"180.0\" height=\"26.0\" rx=\"4\"/><text x=\"258.0\" y=\"27.0\">orders&lt;x&gt;</text></g>\
             </g></svg>"
        );
        assert_eq!(s, svg(&nodes, &[(0, 1)]));
    }

    #[test]
    fn a_thousand_node_graph_lays_out_quickly() {
        // Ten chains of 100 with cross links: every node placed, inside the picture.
        let n = 1000;
        let mut edges = Vec::new();
        for i in 0..n {
            if i % 100 != 99 {
                edges.push((i, i + 1));
            }
            if i + 150 < n {
                edges.push((i, i + 150));
            }
        }
        let started = std::time::Instant::now();
        let l = layout(n, &edges);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(l.pos.iter().all(|&(x, y)| x + NODE_W <= l.width && y + NODE_H <= l.height));
        assert_eq!(l, layout(n, &edges), "deterministic");
    }
}
