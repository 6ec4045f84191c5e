//! What a node sees of its own project while it renders: `var()` scoped as
//! dbt scopes vars (the command line's, the root project's for the node's
//! package and its own, the package's), a package node's macros by their
//! plain names ([`super::namespaces::Locals`]), and `ref` / `source`
//! searched from its package. The root project's nodes render with scope
//! `None`. Renders nothing itself.

use super::lookup::Relations;
use super::relation::Relation;
use super::{jinja_error, namespaces, yaml_value, Templates};
use crate::project::Project;
use minijinja::value::{Serde, Value};
use minijinja::{Error, ErrorKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Variables for `var()`, highest precedence first (`--vars`, DAG, project).
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub layers: Vec<BTreeMap<String, serde_yaml::Value>>,
}

impl Vars {
    pub fn get(&self, key: &str) -> Option<&serde_yaml::Value> {
        self.layers.iter().find_map(|l| l.get(key))
    }
}

/// `var()` as dbt resolves it for a node of `owner` (`root` the root
/// project): the command line's and the DAG's `base` layers, then the root
/// project's vars scoped to the node's package (`vars: {<package>: {…}}`)
/// and its global ones, then, for a package's node, the package's own
/// scoped and global vars.
pub(super) fn scoped_vars(base: &Vars, root: &Project, owner: &Project) -> Vars {
    let scoped = |p: &Project| -> BTreeMap<String, serde_yaml::Value> {
        match p.vars.get(&owner.name) {
            Some(serde_yaml::Value::Mapping(m)) => {
                m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone()))).collect()
            }
            _ => BTreeMap::new(),
        }
    };
    let mut layers = base.layers.clone();
    layers.push(scoped(root));
    layers.push(root.vars.clone());
    if owner.is_package() {
        layers.push(scoped(owner));
        layers.push(owner.vars.clone());
    }
    layers.retain(|l| !l.is_empty());
    Vars { layers }
}

impl Templates {
    /// The package a node of `package` renders in: `None` for the root project.
    pub(super) fn scope<'a>(&self, package: Option<&'a str>) -> Option<&'a str> {
        package.filter(|p| *p != self.macros.root && self.package_vars.contains_key(*p))
    }

    /// `var()` as a node of `scope` sees it.
    pub(super) fn vars_for(&self, scope: Option<&str>) -> Arc<Vars> {
        scope.and_then(|p| self.package_vars.get(p)).cloned().unwrap_or_else(|| self.vars.clone())
    }

    /// [`Templates::base_ctx`] for a node of `scope`: that package's vars,
    /// and its macros reachable by their plain names (see [`namespaces::Locals`]).
    pub(super) fn base_ctx_in(
        &self,
        scope: Option<&str>,
        this: &Relation,
        execute: bool,
        is_incremental: bool,
    ) -> Vec<(&'static str, Value)> {
        let scope = self.scope(scope);
        let mut ctx = self.base_ctx_with(this, execute, is_incremental, self.vars_for(scope));
        if let Some(p) = scope {
            ctx.push((namespaces::LOCALS, namespaces::Locals::value(p, &self.macros)));
        }
        ctx
    }

    /// The render context of `pairs`: dbt's `builtins`, members a visible
    /// macro replaces replaced, a package's macros behind it when it holds
    /// them (see [`super::members`]).
    pub(super) fn context(&self, pairs: Vec<(&'static str, Value)>) -> Value {
        self.context_of(pairs.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
    }

    /// [`Templates::context`] of pairs whose names are values.
    pub(super) fn context_of(&self, pairs: Vec<(Value, Value)>) -> Value {
        super::members::context(&self.macros, &self.globals, pairs)
    }

    /// `ref` and `source` resolving to relations, searched from `scope` as
    /// dbt searches. With `parsed` (the `ref` calls the file's parse made),
    /// `ref` also refuses, as dbt's runtime resolver does, a relation none
    /// of them named: it is behind `execute` or another condition, so the
    /// node is not ordered after it and could read it before it is built.
    pub(super) fn push_resolving(
        &self,
        ctx: &mut Vec<(&'static str, Value)>,
        relations: &Arc<Relations>,
        scope: Option<&str>,
        parsed: Option<&[super::RefCall]>,
    ) {
        let (rels, rels2) = (relations.clone(), relations.clone());
        let scope = self.scope(scope).map(str::to_string);
        let scope2 = scope.clone();
        let allowed: Option<Vec<Relation>> =
            parsed.map(|calls| calls.iter().filter_map(|c| relations.find_ref(c, scope.as_deref()).cloned()).collect());
        ctx.push((
            "ref",
            Value::from_function(
                move |args: minijinja::value::Rest<minijinja::value::ValueOrKwargs>| -> Result<Value, Error> {
                    let call = super::refs::parse(&args.into_values())?;
                    let Some(rel) = rels.find_ref(&call, scope.as_deref()) else {
                        return Err(jinja_error(
                            ErrorKind::InvalidOperation,
                            format!("`{call}` points to no model or seed"),
                        ));
                    };
                    if allowed.as_ref().is_some_and(|a| !a.contains(rel)) {
                        let msg = format!(
                            "cannot infer all dependencies: `{call}` is only reached when the node runs, not while it is parsed, so the node is not ordered after it (hint: add `-- depends_on: {{{{ {call} }}}}` at the top of the file, as dbt asks)"
                        );
                        return Err(jinja_error(ErrorKind::InvalidOperation, msg));
                    }
                    Ok(rel.to_value())
                },
            ),
        ));
        ctx.push((
            "source",
            Value::from_function(move |s: String, t: String| -> Result<Value, Error> {
                rels2
                    .find_source(&s, &t, scope2.as_deref())
                    .map(Relation::to_value)
                    .ok_or_else(|| jinja_error(ErrorKind::InvalidOperation, format!("source `{s}.{t}` is not defined")))
            }),
        ));
    }
}

/// dbt's `var()` over `vars`. With `rendered`, a value holding Jinja (`vars:
/// {day: "{{ env_var('DAY') }}"}`) is rendered when read, as dbt renders it
/// for nodes and in `dbt_project.yml`; property files read it as written
/// (dbt's `ConfiguredVar` does not render it).
pub(super) fn var_function(vars: Arc<Vars>, rendered: bool) -> Value {
    var_function_with(vars, rendered, true)
}

/// [`var_function`]; a var that is not `required` (dbt's `require_vars`
/// off, as `dbt deps` renders `dbt_project.yml`) is `none` when missing.
pub(super) fn var_function_with(vars: Arc<Vars>, rendered: bool, required: bool) -> Value {
    Value::from_function(
        move |state: &minijinja::State<'_, '_>,
              key: String,
              rest: minijinja::value::Rest<Value>|
              -> Result<Value, Error> {
            // `var('x', none)` has a default, `none`: `Option` would read it as none given.
            let default = match rest.first() {
                Some(kw) if kw.is_kwargs() => kw.get_attr("default").ok().filter(|d| !d.is_undefined()),
                other => other.cloned(),
            };
            match (vars.get(&key), default) {
                (Some(serde_yaml::Value::String(text)), _) if rendered && yaml_value::has_jinja(text) => {
                    // `env_var` and `target` are globals: the value sees them as dbt's does.
                    state.env().render_str(text, ()).map(Value::from)
                }
                (Some(v), _) => Ok(Value::from(Serde(v.clone()))),
                (None, Some(d)) => Ok(d),
                (None, None) if !required => Ok(Value::from(())),
                (None, None) => Err(jinja_error(
                    ErrorKind::InvalidOperation,
                    format!("required var `{key}` not found (hint: set it under `vars:` in the DAG or dbt_project.yml, or pass --vars)"),
                )),
            }
        },
    )
}
