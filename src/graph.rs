//! The dependency graph: node indices, edges, depth, deterministic order and
//! cycle detection.
//!
//! Plain data over string ids; it knows nothing of SQL, files or the database,
//! so every function here is a pure function of its input.

use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct Graph {
    /// Sorted: a node's index is found by binary search.
    ids: Vec<String>,
    parents: Vec<BTreeSet<usize>>,
    children: Vec<BTreeSet<usize>>,
    depth: Vec<usize>,
}

impl Graph {
    /// Builds the graph from `(id, parent ids)`; parents that are not nodes are
    /// ignored (they were validated upstream). A cycle returns its loop.
    pub fn new<S: AsRef<str> + Sync, D: std::borrow::Borrow<BTreeSet<String>> + Sync>(
        nodes: &[(S, D)],
    ) -> Result<Graph, Vec<String>> {
        let mut ids: Vec<String> = nodes.iter().map(|(id, _)| id.as_ref().to_string()).collect();
        ids.sort();
        // Callers reject duplicate ids first; a duplicate here would make node
        // indices and graph indices disagree, so report it as a loop on itself.
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(vec![w[0].clone(), w[0].clone()]);
        }
        let index = |id: &str| ids.binary_search_by(|probe| probe.as_str().cmp(id)).ok();
        // The lookups are most of the work, and independent: on every core.
        let found = crate::par::map(nodes, |(id, deps)| {
            let parents: BTreeSet<usize> = deps.borrow().iter().filter_map(|d| index(d)).collect();
            index(id.as_ref()).map(|i| (i, parents))
        });
        let mut parents = vec![BTreeSet::new(); ids.len()];
        let mut children = vec![BTreeSet::new(); ids.len()];
        for (i, ps) in found.into_iter().flatten() {
            for &p in &ps {
                children[p].insert(i);
            }
            parents[i].extend(ps);
        }
        let mut g = Graph { ids, parents, children, depth: Vec::new() };
        if let Some(cycle) = g.find_cycle() {
            return Err(cycle);
        }
        g.depth = g.compute_depth();
        Ok(g)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ids.binary_search_by(|probe| probe.as_str().cmp(id)).ok()
    }

    pub fn parents(&self, i: usize) -> &BTreeSet<usize> {
        &self.parents[i]
    }

    pub fn children(&self, i: usize) -> &BTreeSet<usize> {
        &self.children[i]
    }

    /// Longest path from a root: what dbt orders ready nodes by.
    pub fn depth(&self, i: usize) -> usize {
        self.depth[i]
    }

    /// Every node reachable downstream of `i` (excluding `i`).
    pub fn descendants(&self, i: usize) -> BTreeSet<usize> {
        self.walk(i, &self.children)
    }

    /// Every node upstream of `i` (excluding `i`).
    pub fn ancestors(&self, i: usize) -> BTreeSet<usize> {
        self.walk(i, &self.parents)
    }

    fn walk(&self, start: usize, edges: &[BTreeSet<usize>]) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for &m in &edges[n] {
                if seen.insert(m) {
                    stack.push(m);
                }
            }
        }
        seen
    }

    /// A topological order, ties broken by depth then id: the same input always
    /// gives the same order.
    pub fn order(&self) -> Vec<usize> {
        let mut indeg: Vec<usize> = self.parents.iter().map(BTreeSet::len).collect();
        let mut ready: BTreeSet<(usize, usize)> =
            (0..self.len()).filter(|&i| indeg[i] == 0).map(|i| (self.depth[i], i)).collect();
        let mut out = Vec::with_capacity(self.len());
        while let Some(first) = ready.pop_first() {
            let i = first.1;
            out.push(i);
            for &c in &self.children[i] {
                indeg[c] -= 1;
                if indeg[c] == 0 {
                    ready.insert((self.depth[c], c));
                }
            }
        }
        out
    }

    fn compute_depth(&self) -> Vec<usize> {
        let mut depth = vec![0; self.len()];
        let mut indeg: Vec<usize> = self.parents.iter().map(BTreeSet::len).collect();
        let mut queue: Vec<usize> = (0..self.len()).filter(|&i| indeg[i] == 0).collect();
        while let Some(i) = queue.pop() {
            for &c in &self.children[i] {
                depth[c] = depth[c].max(depth[i] + 1);
                indeg[c] -= 1;
                if indeg[c] == 0 {
                    queue.push(c);
                }
            }
        }
        depth
    }

    /// The first cycle found by a depth-first search in id order, closed:
    /// `[a, b, c, a]`.
    fn find_cycle(&self) -> Option<Vec<String>> {
        // 0 = unvisited, 1 = on the stack, 2 = done.
        let mut state = vec![0u8; self.len()];
        for start in 0..self.len() {
            if state[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, self.children[start].iter().copied().collect())];
            state[start] = 1;
            while let Some((node, pending)) = stack.last_mut() {
                let node = *node;
                match pending.pop() {
                    None => {
                        state[node] = 2;
                        stack.pop();
                    }
                    Some(next) if state[next] == 1 => {
                        let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[from..].iter().map(|(n, _)| self.ids[*n].clone()).collect();
                        cycle.push(self.ids[next].clone());
                        return Some(cycle);
                    }
                    Some(next) if state[next] == 0 => {
                        state[next] = 1;
                        let mut kids: Vec<usize> = self.children[next].iter().copied().collect();
                        kids.reverse();
                        stack.push((next, kids));
                    }
                    Some(_) => {}
                }
            }
        }
        None
    }
}

/// `a → b → c → a`, with backticks, for a cycle returned by [`Graph::new`].
pub fn cycle_text(cycle: &[String]) -> String {
    cycle.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(edges: &[(&str, &[&str])]) -> Result<Graph, Vec<String>> {
        let nodes: Vec<(String, BTreeSet<String>)> =
            edges.iter().map(|(n, ps)| (n.to_string(), ps.iter().map(|p| p.to_string()).collect())).collect();
        Graph::new(&nodes)
    }

    fn names(g: &Graph, order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| g.id(i).to_string()).collect()
    }

    #[test]
    fn order_respects_edges_and_breaks_ties_by_depth_then_id() {
        let g = g(&[("d", &["b", "c"]), ("c", &["a"]), ("b", &["a"]), ("a", &[]), ("z", &[])]).expect("acyclic");
        assert_eq!(names(&g, &g.order()), vec!["a", "z", "b", "c", "d"]);
        assert_eq!(g.depth(g.index_of("d").expect("d")), 2);
    }

    #[test]
    fn ancestors_and_descendants() {
        let g = g(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("x", &[])]).expect("acyclic");
        let b = g.index_of("b").expect("b");
        assert_eq!(names(&g, &g.descendants(b).into_iter().collect::<Vec<_>>()), vec!["c"]);
        assert_eq!(names(&g, &g.ancestors(b).into_iter().collect::<Vec<_>>()), vec!["a"]);
    }

    #[test]
    fn cycle_error_shows_the_whole_loop() {
        let err = g(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"]), ("d", &["a"])]).expect_err("cycle");
        assert_eq!(cycle_text(&err), "`a` → `b` → `c` → `a`");
    }

    #[test]
    fn self_reference_is_a_cycle() {
        let err = g(&[("a", &["a"])]).expect_err("cycle");
        assert_eq!(cycle_text(&err), "`a` → `a`");
    }
}
