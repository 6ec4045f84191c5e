//! Which macro a name means, as dbt's macro resolver decides it.
//!
//! Macros come from three places: runner's built-ins (dbt's global project,
//! the `dbt` namespace), the root project, and installed packages. An
//! unqualified name is the root project's macro, else a built-in (so a
//! project's `generate_schema_name` or `default__type_string` overrides
//! dbt's); a package's macros are reached as `package.macro()`. A package
//! name (and `dbt`, and the root project's own name) is a global whose
//! attributes are that package's macros. `adapter.dispatch` searches these
//! namespaces in the root project's `dispatch:` order. While a package's
//! node renders, that package's macros come first by their plain names
//! ([`Locals`], dbt's "local" namespace), in the node's own template and in
//! every macro it calls.
//!
//! This module only answers "which file defines this name"; calling a macro
//! is [`super::macros::MacroRef`], loading files is the template builder.

use super::macros::MacroRef;
use super::signature::Signature;
use crate::project::packages::Dispatch;
use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The package name of runner's built-in macros: dbt's global project.
pub(crate) const BUILTIN: &str = "dbt";

/// Context key of a package node's [`Locals`], forwarded into macro calls.
pub(crate) const LOCALS: &str = "__runner_locals";

/// Macro name → the template (file) that defines it, and its signature
/// when it takes implicit `kwargs` / `varargs`.
pub(crate) type Macros = BTreeMap<String, (String, Option<Arc<Signature>>)>;

/// Every macro of the run, by package.
#[derive(Debug, Default)]
pub(crate) struct MacroIndex {
    /// The root project's name.
    pub root: String,
    /// Package name → its macros; the root project and [`BUILTIN`] included.
    pub packages: BTreeMap<String, Macros>,
    /// The root project's `dispatch:` search orders.
    pub dispatch: Vec<Dispatch>,
}

impl MacroIndex {
    fn macro_ref(name: &str, (file, signature): &(String, Option<Arc<Signature>>)) -> Value {
        Value::from_object(MacroRef { file: file.clone(), name: name.to_string(), signature: signature.clone() })
    }

    /// `name` in package `package`, as a callable.
    pub fn get(&self, package: &str, name: &str) -> Option<Value> {
        let file = self.packages.get(package)?.get(name)?;
        Some(Self::macro_ref(name, file))
    }

    /// An unqualified name, as a node of the root project sees it.
    pub fn unqualified(&self, name: &str) -> Option<Value> {
        self.get(&self.root, name).or_else(|| self.get(BUILTIN, name))
    }

    /// An unqualified name, as a node of package `scope` sees it: its own
    /// macros first (`None`: a root project node).
    pub fn unqualified_in(&self, scope: Option<&str>, name: &str) -> Option<Value> {
        scope.and_then(|p| self.get(p, name)).or_else(|| self.unqualified(name))
    }

    /// The package [`MacroIndex::unqualified_in`] finds `name` in.
    pub fn package_of<'a>(&'a self, scope: Option<&'a str>, name: &str) -> Option<&'a str> {
        let defines = |p: &str| self.packages.get(p).is_some_and(|m| m.contains_key(name));
        scope.into_iter().chain([self.root.as_str(), BUILTIN]).find(|p| defines(p))
    }

    /// The package of the macro that takes the place of context member
    /// `name` (`ref`, `source`, …) for a node of package `scope`: a
    /// project's or package's macro of that name, never a built-in one.
    pub fn member_override<'a>(&'a self, scope: Option<&'a str>, name: &str) -> Option<&'a str> {
        self.package_of(scope, name).filter(|p| *p != BUILTIN)
    }

    /// The globals: every unqualified macro name and every namespace (a
    /// macro of the same name wins over a namespace, as in dbt).
    pub fn globals(self: &Arc<Self>) -> Vec<(String, Value)> {
        let mut out: BTreeMap<String, Value> = BTreeMap::new();
        for package in [BUILTIN, self.root.as_str()] {
            for (name, file) in self.packages.get(package).into_iter().flatten() {
                out.insert(name.clone(), Self::macro_ref(name, file));
            }
        }
        for package in self.packages.keys() {
            if !out.contains_key(package) {
                let ns = Namespace { package: package.clone(), index: self.clone() };
                out.insert(package.clone(), Value::from_object(ns));
            }
        }
        out.into_iter().collect()
    }

    /// The packages `adapter.dispatch(_, namespace)` searches, in order;
    /// `None` stands for an unqualified lookup (dbt's `_get_search_packages`).
    pub fn search_order(&self, namespace: Option<&str>) -> Vec<Option<String>> {
        let Some(ns) = namespace else { return vec![None] };
        if let Some(d) = self.dispatch.iter().find(|d| d.namespace == ns) {
            return d.search_order.iter().cloned().map(Some).collect();
        }
        if self.packages.contains_key(ns) {
            return vec![Some(self.root.clone()), Some(ns.to_string())];
        }
        vec![None]
    }

    /// dbt's dispatch: the first of `duckdb__<name>`, `default__<name>` in
    /// each searched package; else every name tried, for the error.
    pub fn dispatch(&self, name: &str, namespace: Option<&str>, scope: Option<&str>) -> Result<Value, Vec<String>> {
        let mut tried = Vec::new();
        for package in self.search_order(namespace) {
            for prefix in ["duckdb", "default"] {
                let candidate = format!("{prefix}__{name}");
                let found = match &package {
                    None => self.unqualified_in(scope, &candidate),
                    Some(p) => self.get(p, &candidate),
                };
                if let Some(m) = found {
                    return Ok(m);
                }
                tried.push(match &package {
                    None => candidate,
                    Some(p) => format!("{p}.{candidate}"),
                });
            }
        }
        Err(tried)
    }

    /// The package whose `test_<name>` macro a generic test runs: the one
    /// named, else the test's own package (`scope`), the root project, then
    /// installed packages, then the built-ins (dbt's locality order for
    /// generic tests).
    pub fn generic_test(&self, namespace: Option<&str>, test: &str, scope: Option<&str>) -> Option<String> {
        let name = format!("test_{test}");
        if let Some(ns) = namespace {
            return self.packages.get(ns)?.contains_key(&name).then(|| ns.to_string());
        }
        let own = scope.filter(|p| self.packages.contains_key(*p)).map(str::to_string);
        let installed = self.packages.keys().filter(|p| *p != &self.root && *p != BUILTIN);
        own.iter()
            .chain(std::iter::once(&self.root))
            .chain(installed)
            .chain(std::iter::once(&BUILTIN.to_string()))
            .find(|p| self.packages.get(*p).is_some_and(|m| m.contains_key(&name)))
            .cloned()
    }
}

/// A package's macros by their plain names, as a node of that package sees
/// them (dbt's local namespace): looked up behind the render context (see
/// [`scoped`]), and the root project's and dbt's macros (globals) come
/// after. A context member of a macro's name (`ref`, …) is replaced by
/// the macro before the context is built ([`super::members`]).
#[derive(Debug)]
pub(crate) struct Locals {
    package: String,
    index: Arc<MacroIndex>,
}

impl Locals {
    pub(crate) fn value(package: &str, index: &Arc<MacroIndex>) -> Value {
        Value::from_object(Locals { package: package.to_string(), index: index.clone() })
    }

    /// The package whose node is rendering.
    pub(crate) fn package(&self) -> &str {
        &self.package
    }

    /// The package whose node is rendering, if `ctx` is a package node's context.
    #[cfg(test)]
    pub(crate) fn scope_of(ctx: &Value) -> Option<String> {
        let locals = ctx.get_attr(LOCALS).ok()?;
        locals.downcast_object_ref::<Locals>().map(|l| l.package.clone())
    }

    /// The package whose node is rendering, seen from inside its render.
    pub(crate) fn scope_in(state: &minijinja::State) -> Option<String> {
        let locals = state.lookup(LOCALS)?;
        locals.downcast_object_ref::<Locals>().map(|l| l.package.clone())
    }
}

impl Object for Locals {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.index.get(&self.package, key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Empty
    }
}

/// A render context with a package node's macros behind it, when it holds
/// [`LOCALS`]; else the context as it is.
pub(crate) fn scoped(ctx: Value) -> Value {
    match ctx.get_attr(LOCALS) {
        Ok(locals) if !locals.is_undefined() => minijinja::value::merge_maps([locals, ctx]),
        _ => ctx,
    }
}

/// A package name used as a value: `dbt_utils.star(…)`.
#[derive(Debug)]
struct Namespace {
    package: String,
    index: Arc<MacroIndex>,
}

impl Object for Namespace {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.index.get(&self.package, key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let names: Vec<Value> =
            self.index.packages.get(&self.package).into_iter().flatten().map(|(n, _)| Value::from(n.clone())).collect();
        Enumerator::Values(names)
    }
}

/// A package's namespace with some macros replaced: a unit test's
/// `overrides: macros: {pkg.name: …}`.
#[derive(Debug)]
pub(crate) struct Overridden {
    inner: Value,
    replaced: BTreeMap<String, Value>,
}

impl Overridden {
    pub(crate) fn value(inner: Value, replaced: BTreeMap<String, Value>) -> Value {
        Value::from_object(Overridden { inner, replaced })
    }
}

impl Object for Overridden {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        self.replaced.get(name).cloned().or_else(|| self.inner.get_attr(name).ok().filter(|v| !v.is_undefined()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.inner.try_iter() {
            Ok(keys) => Enumerator::Values(keys.collect()),
            Err(_) => Enumerator::Empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> MacroIndex {
        let macros = |names: &[&str], file: &str| -> Macros {
            names.iter().map(|n| (n.to_string(), (file.to_string(), None))).collect()
        };
        MacroIndex {
            root: "shop".into(),
            packages: BTreeMap::from([
                ("dbt".into(), macros(&["default__hash", "duckdb__hash", "hash"], "builtin")),
                ("shop".into(), macros(&["default__star", "duckdb__hash"], "root")),
                ("dbt_utils".into(), macros(&["default__star", "star", "test_equality"], "utils")),
            ]),
            dispatch: vec![Dispatch {
                namespace: "dbt_utils".into(),
                search_order: vec!["shop".into(), "dbt_utils".into()],
            }],
        }
    }

    fn file(v: Value) -> String {
        v.downcast_object_ref::<MacroRef>().map(|m| m.file.clone()).unwrap_or_default()
    }

    #[test]
    fn dispatch_follows_the_search_order_then_the_prefixes() {
        let ix = index();
        assert_eq!(file(ix.dispatch("star", Some("dbt_utils"), None).expect("found")), "root");
        // Unqualified: the root project overrides the built-in `duckdb__hash`.
        assert_eq!(file(ix.dispatch("hash", Some("dbt"), None).expect("found")), "root");
        assert_eq!(file(ix.dispatch("hash", None, None).expect("found")), "root");
        let tried = ix.dispatch("nope", Some("dbt_utils"), None).expect_err("missing");
        assert_eq!(
            tried,
            ["shop.duckdb__nope", "shop.default__nope", "dbt_utils.duckdb__nope", "dbt_utils.default__nope"]
        );
        assert_eq!(
            ix.dispatch("nope", Some("elsewhere"), None).expect_err("missing"),
            ["duckdb__nope", "default__nope"]
        );
    }

    #[test]
    fn without_a_dispatch_entry_the_root_project_comes_first() {
        let mut ix = index();
        ix.dispatch.clear();
        assert_eq!(ix.search_order(Some("dbt_utils")), [Some("shop".to_string()), Some("dbt_utils".to_string())]);
        assert_eq!(file(ix.dispatch("star", Some("dbt_utils"), None).expect("found")), "root");
    }

    #[test]
    fn generic_tests_prefer_the_named_package_then_root_packages_builtins() {
        let ix = index();
        assert_eq!(ix.generic_test(None, "equality", None).as_deref(), Some("dbt_utils"));
        assert_eq!(ix.generic_test(Some("dbt_utils"), "equality", None).as_deref(), Some("dbt_utils"));
        assert_eq!(ix.generic_test(Some("shop"), "equality", None), None);
        assert_eq!(ix.generic_test(None, "missing", None), None);
    }

    #[test]
    fn a_package_nodes_own_macros_come_first() {
        let ix = index();
        assert_eq!(file(ix.unqualified_in(Some("dbt_utils"), "default__star").expect("own")), "utils");
        assert_eq!(file(ix.unqualified_in(Some("dbt_utils"), "hash").expect("builtin")), "builtin");
        assert_eq!(file(ix.unqualified_in(None, "default__star").expect("root")), "root");
        assert_eq!(ix.package_of(Some("dbt_utils"), "default__star"), Some("dbt_utils"));
        assert_eq!(ix.package_of(Some("dbt_utils"), "hash"), Some("dbt"));
        assert_eq!(ix.package_of(None, "duckdb__hash"), Some("shop"));
        assert_eq!(ix.package_of(None, "star"), None, "another package's macro needs its namespace");
        // Unqualified dispatch from a package's node finds the package's own first.
        assert_eq!(file(ix.dispatch("star", None, Some("dbt_utils")).expect("found")), "utils");
        assert_eq!(ix.generic_test(None, "equality", Some("dbt_utils")).as_deref(), Some("dbt_utils"));
        let ix = Arc::new(ix);
        let ctx = scoped(Value::from_pairs([(LOCALS, Locals::value("dbt_utils", &ix)), ("this", Value::from(1))]));
        assert_eq!(file(ctx.get_attr("star").expect("local")), "utils");
        assert_eq!(ctx.get_attr("this").expect("own name").as_i64(), Some(1));
        assert_eq!(Locals::scope_of(&ctx).as_deref(), Some("dbt_utils"));
    }

    #[test]
    fn globals_are_root_over_builtin_and_namespaces() {
        let ix = Arc::new(index());
        let globals: BTreeMap<String, Value> = ix.globals().into_iter().collect();
        assert_eq!(file(globals["duckdb__hash"].clone()), "root");
        assert_eq!(file(globals["hash"].clone()), "builtin");
        assert!(!globals.contains_key("star"), "a package's macros are reached through its namespace");
        let ns = globals["dbt_utils"].clone();
        assert_eq!(file(ns.get_attr("star").expect("attr")), "utils");
        assert!(globals.contains_key("dbt") && globals.contains_key("shop"));
    }
}
