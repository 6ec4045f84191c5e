//! dbt's node selection grammar over the plan.
//!
//! Space-separated criteria are a union, a comma inside one is an
//! intersection, `exclude` is subtracted last; methods are bare names and
//! globs, `tag:`, `path:`, `resource_type:`, `config.materialized:`, with the
//! graph operators `+m`, `m+`, `N+m`, `m+N` and `@m`. Tests come along when
//! any parent is selected (dbt's eager mode). Pure: no I/O.

use crate::config_tree::as_strings;
use crate::nodes::{Plan, Resource};
use std::collections::BTreeSet;

/// `*` and `?` glob match.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

struct Criterion<'a> {
    ancestors: Option<usize>,
    descendants: Option<usize>,
    at: bool,
    method: &'a str,
    value: &'a str,
}

fn parse_criterion(text: &str) -> Result<Criterion<'_>, String> {
    let mut s = text;
    let mut c = Criterion { ancestors: None, descendants: None, at: false, method: "", value: "" };
    if let Some(rest) = s.strip_prefix('@') {
        c.at = true;
        s = rest;
    } else if let Some(plus) = s.find('+').filter(|&i| s[..i].chars().all(|ch| ch.is_ascii_digit())) {
        let depth = &s[..plus];
        c.ancestors = Some(if depth.is_empty() {
            usize::MAX
        } else {
            depth.parse().map_err(|_| format!("bad depth in `{text}`"))?
        });
        s = &s[plus + 1..];
    }
    if let Some(plus) = s.rfind('+').filter(|&i| s[i + 1..].chars().all(|ch| ch.is_ascii_digit())) {
        let depth = &s[plus + 1..];
        c.descendants = Some(if depth.is_empty() {
            usize::MAX
        } else {
            depth.parse().map_err(|_| format!("bad depth in `{text}`"))?
        });
        s = &s[..plus];
    }
    let (method, value) = match s.split_once(':') {
        Some((m, v)) => (m, v),
        None => ("", s),
    };
    if value.is_empty() {
        return Err(format!("selector `{text}` selects nothing"));
    }
    if !matches!(method, "" | "fqn" | "tag" | "path" | "resource_type" | "config.materialized") {
        return Err(format!("unknown selector method `{method}` in `{text}`"));
    }
    c.method = method;
    c.value = value;
    Ok(c)
}

fn matches(plan: &Plan, i: usize, c: &Criterion) -> bool {
    let n = plan.node(i);
    match c.method {
        "" | "fqn" => glob(c.value, &n.name) || n.id.ends_with(&format!(".{}", c.value)),
        "tag" => as_strings(n.config.get("tags")).iter().any(|t| glob(c.value, t)),
        "path" => {
            let path = n.file.display().to_string();
            let v = c.value.trim_end_matches('/');
            glob(v, &path) || path.starts_with(&format!("{v}/"))
        }
        "resource_type" => n.resource.as_str() == c.value,
        "config.materialized" => crate::config_tree::get_str(&n.config, "materialized") == Some(c.value),
        _ => false,
    }
}

fn within(plan: &Plan, start: usize, depth: usize, up: bool) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut frontier = vec![start];
    for _ in 0..depth {
        let mut next = Vec::new();
        for n in frontier {
            let edges = if up { plan.graph.parents(n) } else { plan.graph.children(n) };
            for &m in edges {
                if seen.insert(m) {
                    next.push(m);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    seen
}

fn criterion_set(plan: &Plan, c: &Criterion) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    for i in (0..plan.nodes.len()).filter(|&i| matches(plan, i, c)) {
        out.insert(i);
        if let Some(d) = c.ancestors {
            out.extend(within(plan, i, d, true));
        }
        if let Some(d) = c.descendants {
            out.extend(within(plan, i, d, false));
        }
        if c.at {
            for d in plan.graph.descendants(i).into_iter().chain([i]) {
                out.insert(d);
                out.extend(plan.graph.ancestors(d));
            }
        }
    }
    out
}

/// Union of space-separated criteria, each an intersection of comma parts.
fn evaluate(plan: &Plan, selectors: &[String]) -> Result<BTreeSet<usize>, String> {
    let mut union = BTreeSet::new();
    for sel in selectors.iter().flat_map(|s| s.split_whitespace()) {
        let mut inter: Option<BTreeSet<usize>> = None;
        for part in sel.split(',') {
            let set = criterion_set(plan, &parse_criterion(part)?);
            inter = Some(match inter {
                None => set,
                Some(prev) => prev.intersection(&set).copied().collect(),
            });
        }
        union.extend(inter.unwrap_or_default());
    }
    Ok(union)
}

/// Adds tests any of whose parents is in `set` (dbt's eager indirect selection).
fn with_tests(plan: &Plan, mut set: BTreeSet<usize>) -> BTreeSet<usize> {
    let tests: Vec<usize> = (0..plan.nodes.len())
        .filter(|&i| plan.node(i).resource == Resource::Test)
        .filter(|&i| plan.graph.parents(i).iter().any(|p| set.contains(p)))
        .collect();
    set.extend(tests);
    set
}

/// The selected node indices. An empty `select` means everything.
pub fn select(plan: &Plan, select: &[String], exclude: &[String]) -> Result<BTreeSet<usize>, String> {
    let chosen = if select.is_empty() { (0..plan.nodes.len()).collect() } else { evaluate(plan, select)? };
    let chosen = with_tests(plan, chosen);
    let excluded = with_tests(plan, evaluate(plan, exclude)?);
    Ok(chosen.difference(&excluded).copied().collect())
}

#[cfg(test)]
mod tests;
