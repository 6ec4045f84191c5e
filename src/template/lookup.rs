//! What `ref` and `source` point at: a `ref()` call as written
//! ([`RefCall`]), dbt's search order over the root project and installed
//! packages ([`packages_to_search`]), and the relations of every project's
//! nodes and sources ([`Relations`]) that a render resolves against. Owns
//! only lookups; the planner fills [`Relations`] and reports unknown names.

use super::relation::Relation;
use std::collections::BTreeMap;

/// One `ref()` call: `ref('name')` or `ref('package', 'name')`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RefCall {
    pub package: Option<String>,
    pub name: String,
}

impl RefCall {
    /// `ref(a)` is `ref(name)`; `ref(a, b)` is `ref(package, name)`.
    pub fn of(a: String, b: Option<String>) -> RefCall {
        match b {
            Some(name) => RefCall { package: Some(a), name },
            None => RefCall { package: None, name: a },
        }
    }
}

impl PartialEq<&str> for RefCall {
    fn eq(&self, other: &&str) -> bool {
        self.package.is_none() && self.name == *other
    }
}

impl std::fmt::Display for RefCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.package {
            Some(p) => write!(f, "ref('{p}', '{}')", self.name),
            None => write!(f, "ref('{}')", self.name),
        }
    }
}

/// The packages dbt searches for a `ref` or `source` (its
/// `_packages_to_search`): the one named; else the root project, then the
/// calling node's own package, then any package (`None`).
pub fn packages_to_search<'a>(root: &'a str, target: Option<&'a str>, node: Option<&'a str>) -> Vec<Option<&'a str>> {
    match (target, node) {
        (Some(t), _) => vec![Some(t)],
        (None, Some(n)) if n != root => vec![Some(root), Some(n), None],
        _ => vec![Some(root), None],
    }
}

/// Where every `ref` and `source` points at run time.
#[derive(Debug, Clone, Default)]
pub struct Relations {
    /// The root project's name: `ref('<root>', 'x')` is `by_name`.
    pub root: String,
    /// The root project's models, seeds and snapshots by name.
    pub by_name: BTreeMap<String, Relation>,
    /// The root project's sources.
    pub sources: BTreeMap<(String, String), Relation>,
    /// Each installed package's nodes and sources.
    pub packages: BTreeMap<String, PackageRelations>,
    /// Ephemeral models: CTE name (`__dbt__cte__<alias>`) → template, rendered
    /// into every query that mentions the CTE (see [`ephemeral`]).
    pub ephemerals: BTreeMap<String, String>,
}

/// One installed package's part of [`Relations`].
#[derive(Debug, Clone, Default)]
pub struct PackageRelations {
    pub by_name: BTreeMap<String, Relation>,
    pub sources: BTreeMap<(String, String), Relation>,
}

impl Relations {
    /// The nodes and sources of package `p` (the root project's included).
    fn of(&self, p: &str) -> Option<(&BTreeMap<String, Relation>, &BTreeMap<(String, String), Relation>)> {
        if p == self.root {
            return Some((&self.by_name, &self.sources));
        }
        self.packages.get(p).map(|r| (&r.by_name, &r.sources))
    }

    /// Every package's part, the root project first.
    fn all(&self) -> impl Iterator<Item = (&BTreeMap<String, Relation>, &BTreeMap<(String, String), Relation>)> {
        std::iter::once((&self.by_name, &self.sources)).chain(self.packages.values().map(|r| (&r.by_name, &r.sources)))
    }

    /// What `ref` names, called from a node of `scope` (`None`: the root
    /// project), searched as dbt searches.
    pub fn find_ref(&self, call: &RefCall, scope: Option<&str>) -> Option<&Relation> {
        packages_to_search(&self.root, call.package.as_deref(), scope).into_iter().find_map(|p| match p {
            Some(p) => self.of(p)?.0.get(&call.name),
            None => self.all().find_map(|(nodes, _)| nodes.get(&call.name)),
        })
    }

    /// Source `s.t` as declared by project `p` itself.
    pub fn source_in(&self, p: &str, s: &str, t: &str) -> Option<&Relation> {
        self.of(p)?.1.get(&(s.to_string(), t.to_string()))
    }

    /// What `source(s, t)` names, called from a node of `scope`.
    pub fn find_source(&self, s: &str, t: &str, scope: Option<&str>) -> Option<&Relation> {
        let key = (s.to_string(), t.to_string());
        packages_to_search(&self.root, None, scope).into_iter().find_map(|p| match p {
            Some(p) => self.of(p)?.1.get(&key),
            None => self.all().find_map(|(_, sources)| sources.get(&key)),
        })
    }
}
