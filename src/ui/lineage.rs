//! The lineage graph of a run as SVG: a layered layout (each node one layer
//! right of its deepest parent), ordered within layers by a fixed number of
//! barycenter sweeps, so the same graph always gives the same picture.
//!
//! Sized for 10,000-node runs, where every element costs the browser time
//! (about 15 µs each to parse, style and lay out): layout is linear in nodes
//! and edges per sweep; all edges are one `<path>`, and the boxes one
//! `<path>` per state. What the page's script needs to open a node's task
//! on click, show its tooltip, find it by name and label it follows the SVG
//! as JSON (`<script type="application/json" class="graph-data">`: id, label,
//! state, x, y per node). Up to [`FAR`] nodes the labels are `<text>` in the
//! SVG; a larger graph, whose labels would be too small to read when fitted
//! to the page, starts without them (class `far`) and the script writes the
//! labels of the nodes in view once zoomed in.
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
/// Above this many nodes the whole graph, fitted to the page, is too small
/// to read: labels start hidden.
pub(crate) const FAR: usize = 300;

/// One node to draw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphNode {
    pub id: String,
    pub label: String,
    /// A task state (`success`, `failed`, …): the node's colour.
    pub state: String,
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
    // Only the row just swept moves: re-indexing every row after each one
    // made a sweep quadratic in a deep graph.
    let index = |row: &[usize], at: &mut Vec<usize>| {
        for (k, &v) in row.iter().enumerate() {
            at[v] = k;
        }
    };
    for row in &rows {
        index(row, &mut at);
    }
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
            index(&rows[l], &mut at);
        }
        for l in (0..depth.saturating_sub(1)).rev() {
            sweep(&mut rows[l], &at[..], &children[..]);
            index(&rows[l], &mut at);
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

/// A coordinate as SVG text, to a tenth, whole numbers without decimals.
/// Written from integers: `format!("{:.1}")` takes the slow exact path of
/// float formatting, most of a 10,000-node graph's time.
pub(crate) fn num(v: f64) -> String {
    let tenths = (v * 10.0).round();
    if !tenths.is_finite() || tenths.abs() >= 1e15 {
        return format!("{v:.1}");
    }
    let t = tenths as i64;
    let sign = if t < 0 { "-" } else { "" };
    match (t.abs() / 10, t.abs() % 10) {
        (whole, 0) => format!("{sign}{whole}"),
        (whole, tenth) => format!("{sign}{whole}.{tenth}"),
    }
}

/// JSON for the page's script, after an SVG: `<` is escaped so no value
/// can end the element.
pub(crate) fn data_block(class: &str, rows: &serde_json::Value) -> String {
    format!("<script type=\"application/json\" class=\"{class}\">{}</script>", rows.to_string().replace('<', "\\u003c"))
}

/// The graph as one `<svg>` element and its data (colours come from the
/// page's CSS). `href` is what a node's percent-encoded id is appended to
/// when it is clicked (a task page's path, or an anchor in a report).
pub(crate) fn svg(nodes: &[GraphNode], edges: &[(usize, usize)], href: &str) -> String {
    use std::fmt::Write;
    let l = layout(nodes.len(), edges);
    let labelled = nodes.len() <= FAR;
    let mut out = String::with_capacity(300 + edges.len() * 50 + nodes.len() * 100);
    let _ = write!(
        out,
        "<svg class=\"lineage{far}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" data-nodes=\"{n}\" data-href=\"{href}\"><g class=\"viewport\"><path class=\"edge\" d=\"",
        far = if labelled { "" } else { " far" },
        w = num(l.width),
        h = num(l.height),
        n = nodes.len(),
        href = escape(href),
    );
    for &(p, c) in edges {
        let (Some(&(px, py)), Some(&(cx, cy))) = (l.pos.get(p), l.pos.get(c)) else { continue };
        let (x1, y1, x2, y2) = (px + NODE_W, py + NODE_H / 2.0, cx, cy + NODE_H / 2.0);
        let bend = GAP_X / 2.0;
        let _ = write!(
            out,
            "M{} {} C{} {} {} {} {} {}",
            num(x1),
            num(y1),
            num(x1 + bend),
            num(y1),
            num(x2 - bend),
            num(y2),
            num(x2),
            num(y2)
        );
    }
    out.push_str("\"/>");
    let mut boxes: std::collections::BTreeMap<String, String> = Default::default();
    for (node, &(x, y)) in nodes.iter().zip(&l.pos) {
        let d = boxes.entry(state_class(&node.state)).or_default();
        let _ = write!(d, "M{} {}h{NODE_W}v{NODE_H}h-{NODE_W}z", num(x), num(y));
    }
    for (state, d) in &boxes {
        let _ = write!(out, "<path class=\"node st-{state}\" d=\"{d}\"/>");
    }
    out.push_str("<g class=\"labels\">");
    if labelled {
        for (node, &(x, y)) in nodes.iter().zip(&l.pos) {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                num(x + 8.0),
                num(y + NODE_H / 2.0 + 4.0),
                escape(&short(&node.label, 24))
            );
        }
    }
    out.push_str("</g></g></svg>");
    let rows: Vec<serde_json::Value> = nodes
        .iter()
        .zip(&l.pos)
        .map(|(n, &(x, y))| serde_json::json!([n.id, short(&n.label, 24), state_class(&n.state), x, y]))
        .collect();
    out.push_str(&data_block("graph-data", &serde_json::Value::Array(rows)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, state: &str) -> GraphNode {
        GraphNode { id: id.into(), label: id.rsplit('.').next().unwrap_or(id).into(), state: state.into() }
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
        let s = svg(&nodes, &[(0, 1)], "/dags/d/runs/r/tasks/");
        assert_eq!(
            s,
            "<svg class=\"lineage\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 440 46\" width=\"440\" height=\"46\" data-nodes=\"2\" data-href=\"/dags/d/runs/r/tasks/\"><g class=\"viewport\">\
             <path class=\"edge\" d=\"M190 23 C220 23 220 23 250 23\"/>\
             <path class=\"node st-failed\" d=\"M250 10h180v26h-180z\"/>\
             <path class=\"node st-success\" d=\"M10 10h180v26h-180z\"/>\
             <g class=\"labels\"><text x=\"18\" y=\"27\">raw</text><text x=\"258\" y=\"27\">orders&lt;x&gt;</text></g>\
             </g></svg>\
             <script type=\"application/json\" class=\"graph-data\">\
             [[\"seed.shop.raw\",\"raw\",\"success\",10.0,10.0],[\"model.shop.orders\\u003cx>\",\"orders\\u003cx>\",\"failed\",250.0,10.0]]\
             </script>"
        );
        assert_eq!(s, svg(&nodes, &[(0, 1)], "/dags/d/runs/r/tasks/"));
        let many: Vec<GraphNode> = (0..=FAR).map(|i| node(&format!("model.p.m{i}"), "success")).collect();
        let big = svg(&many, &[], "#");
        assert!(big.starts_with("<svg class=\"lineage far\""), "labels start hidden");
        assert!(big.contains("<g class=\"labels\"></g>"), "and are left to the script");
        let nums: Vec<String> = [12.0, 12.5, -3.75, 0.04, -0.06, 26933.0, 0.96].into_iter().map(num).collect();
        assert_eq!(nums, ["12", "12.5", "-3.8", "0", "-0.1", "26933", "1"]);
    }

    #[test]
    fn a_deep_chain_lays_out_in_linear_time() {
        // 20,000 nodes in one chain: 20,000 layers of one node. Re-indexing
        // every layer after each layer's sweep made this 3 billion steps.
        let n = 20_000;
        let edges: Vec<(usize, usize)> = (1..n).map(|i| (i - 1, i)).collect();
        let started = std::time::Instant::now();
        let l = layout(n, &edges);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(l.layer[n - 1], n - 1);
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
