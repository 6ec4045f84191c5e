//! What `ref` and `source` point at: a `ref()` call as written
//! ([`RefCall`]), dbt's search order over the root project and installed
//! packages ([`packages_to_search`]), and the relations of every project's
//! nodes and sources ([`Relations`]) that a render resolves against. Owns
//! only lookups; the planner fills [`Relations`] and reports unknown names.

use super::relation::Relation;
use crate::project::versions::Version;
use std::collections::BTreeMap;

/// One `ref()` call: `ref('name')` or `ref('package', 'name')`, with a
/// model version as `v=` / `version=` (`ref('m', v=2)`; see [`super::refs::parse`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RefCall {
    pub package: Option<String>,
    pub name: String,
    /// A falsy version (`0`, `''`, `none`) pins nothing, as in dbt.
    pub version: Option<Version>,
}

impl RefCall {
    /// `ref(a)` is `ref(name)`; `ref(a, b)` is `ref(package, name)`.
    pub fn of(a: String, b: Option<String>) -> RefCall {
        match b {
            Some(name) => RefCall { package: Some(a), name, version: None },
            None => RefCall { package: None, name: a, version: None },
        }
    }

    /// A call with only a name: `ref('name')`.
    pub fn named(name: &str) -> RefCall {
        RefCall { package: None, name: name.to_string(), version: None }
    }

    /// dbt's ref lookup key within a project: the name (a versioned model's
    /// latest version answers it), or `<name>.v<v>` for a pinned version.
    pub fn key(&self) -> String {
        match &self.version {
            Some(v) => format!("{}.{}", self.name, v.formatted()),
            None => self.name.clone(),
        }
    }
}

impl PartialEq<&str> for RefCall {
    fn eq(&self, other: &&str) -> bool {
        self.package.is_none() && self.version.is_none() && self.name == *other
    }
}

/// The call as a user writes it: `ref('p', 'm', v='2')`.
impl std::fmt::Display for RefCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ref(")?;
        if let Some(p) = &self.package {
            write!(f, "'{p}', ")?;
        }
        write!(f, "'{}'", self.name)?;
        match self.version.as_ref().map(|v| (&v.json, &v.text)) {
            Some((serde_json::Value::String(s), _)) => write!(f, ", v='{s}')"),
            Some((_, text)) => write!(f, ", v={text})"),
            None => write!(f, ")"),
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
    /// The root project's models, seeds and snapshots by ref key (a model
    /// version's `<name>.v<v>`, and its name for the latest version).
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
            Some(p) => self.of(p)?.0.get(&call.key()),
            None => self.all().find_map(|(nodes, _)| nodes.get(&call.key())),
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
