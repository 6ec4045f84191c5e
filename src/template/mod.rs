//! The minijinja environment and dbt's Jinja context.
//!
//! Owns the two passes over every model and test: the resolve pass records
//! `ref`/`source`/`config` calls (edges and config), the render pass produces
//! the SQL that runs. The environment is built once and shared by every
//! worker. dbt's context beyond `ref`/`source`/`config` lives in the
//! submodules: macros and `return` ([`macros`]), globals ([`context`]),
//! `adapter` ([`adapter`]), `run_query` tables ([`query`]), Python-style
//! values ([`pytime`], [`pydelta`], [`pyre`], [`pyitertools`]) and the
//! source rewrite that gives them arithmetic ([`pyops`]), descriptions
//! ([`docs`]), what `ref` and `source` point at ([`lookup`]) and what a
//! package's node sees of its package ([`scope`]). This module orders and
//! runs nothing.

pub mod adapter;
mod builtins;
mod calls;
mod config_obj;
pub mod context;
mod diagnostics;
pub mod docs;
mod env_var;
pub mod ephemeral;
mod graph;
pub use graph::GraphEntries;
mod hooks;
mod lookup;
mod macro_files;
pub mod macros;
mod members;
pub(crate) mod namespaces;
mod print_table;
pub(crate) mod provider;
mod pydelta;
mod pyitertools;
mod pyobj;
mod pyops;
pub mod pyre;
pub mod pytime;
pub mod query;
pub mod refs;
pub mod relation;
mod scope;
mod signature;
mod strategies;
pub mod unit;
mod yaml_value;
pub use yaml_value::YamlJinja;

use crate::diag::Diagnostic;
// Submodules bound their renders with it (`super::limits`).
use crate::limits;
use crate::project::{env::Env, profile::Target, Project};
use chrono::{DateTime, Utc};
pub use diagnostics::{describe, run_identity};
pub use lookup::{packages_to_search, PackageRelations, RefCall, Relations};
use minijinja::value::{Serde, Value};
use minijinja::{Environment, Error, ErrorKind};
use relation::Relation;
pub use scope::Vars;
use scope::{scoped_vars, var_function, var_function_with};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the resolve pass saw a template call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    /// `ref()` calls in order, repeats included.
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    pub config: BTreeMap<String, serde_yaml::Value>,
}

/// The per-node part of the render context.
#[derive(Debug, Clone)]
pub struct RenderCtx {
    pub this: Relation,
    pub relations: Arc<Relations>,
    pub is_incremental: bool,
    /// The node's config, for `config.get` / `config.require`.
    pub config: Arc<crate::config_tree::ConfigMap>,
    /// The project (root or package) the node belongs to: its macros come
    /// first, its vars apply, its refs and sources are searched first.
    /// `None` (or the root project's name) is the root project.
    pub package: Option<String>,
    /// The node's unique id: its `model` is its entry in the graph.
    pub node: Option<String>,
}

pub struct Templates {
    env: Environment<'static>,
    /// `var()` of the root project's nodes.
    vars: Arc<Vars>,
    /// `var()` of each package's nodes (see [`scoped_vars`]).
    package_vars: BTreeMap<String, Arc<Vars>>,
    /// Template name → the package it belongs to, for package templates.
    scopes: BTreeMap<String, String>,
    /// Template name → file, for error locations.
    files: BTreeMap<String, PathBuf>,
    /// dbt's `invocation_id` and `run_started_at` for this run.
    invocation_id: String,
    run_started_at: DateTime<Utc>,
    /// Model and singular test name → its text as rendered (rewritten for
    /// minijinja); compiled at each render, see [`Templates::build`].
    texts: BTreeMap<String, String>,
    /// Model and singular test name → its resolve pass, run by `build` on
    /// the template it compiled anyway, with the planner's placeholder `this`;
    /// taken by [`Templates::resolve_file`].
    resolved: Mutex<BTreeMap<String, (Relation, Result<Recorded, Diagnostic>)>>,
    /// Every macro by package, for generic tests and `adapter.dispatch`.
    macros: Arc<namespaces::MacroIndex>,
    /// The globals that are dbt context members, for `builtins`.
    globals: members::Globals,
    /// The invocation's `graph`, once handed in ([`Templates::set_graph`]).
    graph: std::sync::OnceLock<graph::RunGraph>,
    /// Model, singular test and snapshot template → its parse-time `model`.
    parse_models: BTreeMap<String, Value>,
    /// Model, singular test and snapshot template → the `ref` calls its
    /// parse (resolve pass) made: the only ones its render may make.
    parse_refs: BTreeMap<String, Vec<RefCall>>,
    /// Whether a model, test, snapshot or macro file (runner's own macros
    /// aside) may read `graph` or `model` ([`graph::reads_graph`]).
    reads_graph: bool,
    /// The profile's `external_root` and the project's directory: where external models write.
    external: (String, PathBuf),
    /// The target's database and schema: `database` and `schema` where a render has no relation.
    target_location: (String, String),
}

/// A model, singular test or snapshot template to compile and resolve.
struct Source<'a> {
    /// Its template name.
    key: String,
    path: &'a PathBuf,
    text: &'a str,
    name: &'a str,
    /// dbt's `resource_type`.
    resource: &'static str,
}

fn jinja_error(kind: ErrorKind, msg: String) -> Error {
    Error::new(kind, msg)
}

/// dbt's `target`: the profile's selected output.
fn target_value(target: &Target) -> Value {
    Value::from(Serde(BTreeMap::from([
        ("name", serde_json::json!(target.name)),
        ("profile_name", serde_json::json!(target.profile_name)),
        ("schema", serde_json::json!(target.schema)),
        ("database", serde_json::json!(target.database)),
        ("type", serde_json::json!(target.kind)),
        ("threads", serde_json::json!(target.threads)),
        ("path", serde_json::json!(target.path.display().to_string())),
    ])))
}

fn to_yaml(v: &Value) -> serde_yaml::Value {
    serde_yaml::to_value(v).unwrap_or(serde_yaml::Value::Null)
}

impl Templates {
    /// Compiles every model, singular test and macro file; all syntax errors are collected.
    /// `run_values` are the run's Airflow template values (`ds`, `run_id`, `params`, …).
    pub fn build(
        project: &Project,
        target: &Target,
        env: &Env,
        vars: Vars,
        run_values: &[(&'static str, Value)],
    ) -> Result<Templates, Vec<Diagnostic>> {
        let mut jinja = Environment::new();
        // A run without a DAG still renders `params`, as an empty map.
        jinja.add_global("params", Value::from(BTreeMap::<String, Value>::new()));
        // dbt's `flags`; the invocation passes its own among `run_values`.
        jinja.add_global(
            "flags",
            Value::from_pairs([
                ("WHICH", Value::from("run")),
                ("FULL_REFRESH", Value::from(false)),
                ("STORE_FAILURES", Value::from(false)),
            ]),
        );
        for (k, v) in run_values {
            jinja.add_global(*k, v.clone());
        }
        jinja.set_recursion_limit(200);
        // Per render state; `limits` carries the count across macro calls.
        jinja.set_fuel(Some(limits::MAX_INSTRUCTIONS));
        let mut files = BTreeMap::new();
        let mut errors = Vec::new();
        jinja.add_function("env_var", env_var::function(env.clone()));
        jinja.add_global("target", target_value(target));
        let (invocation_id, run_started_at) = diagnostics::run_identity(run_values);
        context::install(&mut jinja, &invocation_id, &pytime::PyDateTime::utc(run_started_at));
        docs::install(&mut jinja, &project.docs);
        provider::install(&mut jinja, &env.metadata_envs());
        jinja.add_function(macros::LOCAL_WRAPPER, |inner: Value, name: String| {
            Value::from_object(macros::LocalMacro { name, inner })
        });
        hooks::install(&mut jinja);
        strategies::install(&mut jinja);
        // Taken before the macros become globals: `builtins` holds no macro.
        let mut globals: BTreeMap<String, Value> =
            jinja.globals().filter(|(k, _)| !k.starts_with("__")).map(|(k, v)| (k.to_string(), v)).collect();
        let macro_index = macro_files::load_macros(&mut jinja, &mut files, &mut errors, project);
        let adapter = adapter::Adapter { macros: macro_index.clone(), external_root: target.external_root.clone() };
        let macro_index = macro_index.clone();
        jinja.add_global("adapter", Value::from_object(adapter.clone()));
        jinja.add_function("load_relation", move |state: &minijinja::State, rel: Value| {
            adapter.load_relation(state, &rel)
        });
        jinja.add_global("api", adapter::api(&target.database));
        // dbt's `column` (the adapter's Column class) and `env` (the target, deprecated).
        jinja.add_global("column", adapter::api(&target.database).get_attr("Column").unwrap_or_default());
        jinja.add_global("env", target_value(target));
        for name in ["adapter", "load_relation", "api", "column", "env"] {
            globals.extend(jinja.globals().filter(|(k, _)| *k == name).map(|(k, v)| (k.to_string(), v)));
        }
        // Model and singular test templates are compiled here on every core,
        // for their syntax errors and the planner's resolve pass, and again at
        // each render. minijinja gives every compiled template 12 KB of
        // instruction buffers whatever its size, so keeping them (as
        // `add_template` or a loader does) held 118 MB at 10k models; a compile
        // costs less than the memory did.
        // Models, singular tests and snapshots: each with its template name
        // (a model's is its path; a snapshot's is unique within its file).
        let mut scopes = BTreeMap::new();
        let mut parse_models = BTreeMap::new();
        let mut sources: Vec<Source<'_>> = Vec::new();
        for owner in project.all() {
            let before = sources.len();
            sources.extend(
                owner
                    .models
                    .iter()
                    // A Python model is no template (dbt refuses Jinja in one).
                    .filter(|m| !m.is_python())
                    .chain(&owner.singular_tests)
                    .map(|f| Source {
                        key: f.path.display().to_string(),
                        path: &f.path,
                        text: &f.text,
                        name: &f.name,
                        resource: if owner.singular_tests.iter().any(|t| std::ptr::eq(t, f)) {
                            "test"
                        } else {
                            "model"
                        },
                    })
                    .chain(owner.snapshots.iter().map(|s| Source {
                        key: s.template(),
                        path: &s.path,
                        text: &s.text,
                        name: &s.name,
                        resource: "snapshot",
                    })),
            );
            if owner.is_package() {
                scopes.extend(sources[before..].iter().map(|f| (f.key.clone(), owner.name.clone())));
            }
            // A package's `original_file_path` is relative to the package.
            let base = owner.root.strip_prefix(&project.root).unwrap_or(Path::new(""));
            parse_models.extend(sources[before..].iter().map(|f| {
                let path = f.path.strip_prefix(base).unwrap_or(f.path).display().to_string();
                (f.key.clone(), graph::parse_model(f.name, f.resource, &owner.name, &path))
            }));
            for f in &owner.macros {
                errors.extend(env_var::secret_uses(&f.text, &f.path));
            }
        }
        for f in &sources {
            errors.extend(env_var::secret_uses(f.text, f.path));
        }
        let reads_graph = sources
            .iter()
            .map(|f| f.text)
            .chain(project.all().flat_map(|p| &p.macros).map(|m| m.text.as_str()))
            .any(graph::reads_graph);
        let texts = crate::par::map(&sources, |f| {
            let text = pyops::rewrite_datetime_arithmetic(f.text);
            (f.key.clone(), macros::wrap_local_macros(&pyobj::rewrite_mutable_literals(&text)))
        });
        for ((name, _), f) in texts.iter().zip(&sources) {
            files.insert(name.clone(), f.path.clone());
        }
        let texts: BTreeMap<String, String> = texts.into_iter().collect();
        let package_vars = project
            .packages
            .iter()
            .map(|p| (p.name.clone(), Arc::new(scoped_vars(&vars, project, &p.project))))
            .collect();
        let mut templates = Templates {
            env: jinja,
            vars: Arc::new(scoped_vars(&vars, project, project)),
            package_vars,
            scopes,
            files,
            invocation_id,
            run_started_at,
            texts,
            resolved: Mutex::default(),
            macros: macro_index,
            globals: Arc::new(globals),
            graph: std::sync::OnceLock::new(),
            parse_models,
            parse_refs: BTreeMap::new(),
            reads_graph,
            external: (target.external_root.clone(), project.root.clone()),
            target_location: (target.database.clone(), target.schema.clone()),
        };
        let this = &templates;
        let checked = crate::par::map(&sources, |f| {
            let name = f.key.clone();
            let text = this.texts.get(&name).map(String::as_str).unwrap_or_default();
            match this.env.template_from_named_str(&name, text) {
                Err(e) => (name, Err(macro_files::compile_error(&e, f.path))),
                Ok(t) => {
                    let placeholder = Relation::new(&target.database, &target.schema, f.name);
                    let (ctx, rec) = this.resolve_ctx(&name, &placeholder);
                    let outcome =
                        limits::render(|| t.render(this.context(ctx))).map_err(|e| this.diagnostic(&name, &e));
                    (name, Ok((placeholder, outcome.map(|_| lock(&rec).clone()))))
                }
            }
        });
        let (mut resolved, mut parse_refs) = (BTreeMap::new(), BTreeMap::new());
        for (name, outcome) in checked {
            match outcome {
                Ok(r) => {
                    if let (_, Ok(rec)) = &r {
                        parse_refs.insert(name.clone(), rec.refs.clone());
                    }
                    resolved.insert(name, r);
                }
                Err(d) => errors.push(d),
            }
        }
        templates.resolved = Mutex::new(resolved);
        templates.parse_refs = parse_refs;
        errors.extend(templates.check_descriptions(project));
        if errors.is_empty() {
            Ok(templates)
        } else {
            Err(errors)
        }
    }

    fn diagnostic(&self, name: &str, e: &Error) -> Diagnostic {
        let file = e.name().and_then(|n| self.files.get(n)).or_else(|| self.files.get(name)).cloned();
        let mut d = Diagnostic::new(describe(e)).at(e.line(), None);
        d.file = file;
        d
    }

    /// The macro a generic test `namespace.test` (or plain `test`) of
    /// package `scope` calls, as an expression (`dbt_utils.test_equality`),
    /// or none when no package defines `test_<test>`.
    pub fn generic_test_macro(&self, namespace: Option<&str>, test: &str, scope: Option<&str>) -> Option<String> {
        let package = self.macros.generic_test(namespace, test, self.scope(scope))?;
        let unqualified = package == self.macros.root || package == namespaces::BUILTIN;
        Some(if unqualified { format!("test_{test}") } else { format!("{package}.test_{test}") })
    }

    /// The profile's `external_root` and the project's directory, which a
    /// relative external location is taken from.
    pub fn external_roots(&self) -> (&str, &Path) {
        (&self.external.0, &self.external.1)
    }

    /// dbt's `invocation_id` of this run (a UUID unless the run supplied one).
    pub fn invocation_id(&self) -> &str {
        &self.invocation_id
    }

    /// dbt's `run_started_at`: when the templates were built for this run.
    pub fn run_started_at(&self) -> DateTime<Utc> {
        self.run_started_at
    }

    /// The render pass with `run_query`, `statement` and the `adapter`'s
    /// catalog lookups answered by `query` (the executor's connection).
    pub fn render_with_query(
        &self,
        template: &str,
        rc: &RenderCtx,
        query: query::QueryFn,
    ) -> Result<String, Diagnostic> {
        query::with_query(query, || self.render(template, rc))
    }

    fn base_ctx(&self, this: &Relation, execute: bool, is_incremental: bool) -> Vec<(&'static str, Value)> {
        self.base_ctx_with(this, execute, is_incremental, self.vars.clone())
    }

    /// [`Templates::base_ctx`] with `vars` in place of the run's (a unit test's overrides).
    fn base_ctx_with(
        &self,
        this: &Relation,
        execute: bool,
        is_incremental: bool,
        vars: Arc<Vars>,
    ) -> Vec<(&'static str, Value)> {
        let mut ctx = vec![
            ("this", this.to_value()),
            ("execute", Value::from(execute)),
            (context::RUNTIME, context::Runtime::new(None, false)),
            ("is_incremental", Value::from_function(move || -> Result<bool, Error> { Ok(is_incremental) })),
            ("var", var_function(vars, true)),
            ("thread_id", provider::thread_id()),
        ];
        self.push_invocation(&mut ctx, this);
        ctx
    }

    /// The resolve pass of a model or singular test file: the one `build`
    /// ran if it used this `this` (each is taken once), else a new one.
    pub fn resolve_file(&self, template: &str, this: &Relation) -> Result<Recorded, Diagnostic> {
        match lock(&self.resolved).remove(template) {
            Some((placeholder, outcome)) if &placeholder == this => outcome,
            _ => self.resolve(template, this),
        }
    }

    /// The resolve pass: renders with recording `ref`/`source`/`config`.
    pub fn resolve(&self, template: &str, this: &Relation) -> Result<Recorded, Diagnostic> {
        let (ctx, rec) = self.resolve_ctx(template, this);
        self.render_with(template, ctx)?;
        let out = lock(&rec).clone();
        Ok(out)
    }

    /// The resolve pass's context, and where it records what the template calls.
    fn resolve_ctx(&self, template: &str, this: &Relation) -> (Vec<(&'static str, Value)>, Arc<Mutex<Recorded>>) {
        let rec = Arc::new(Mutex::new(Recorded::default()));
        let mut ctx = self.base_ctx_in(self.scopes.get(template).map(String::as_str), this, false, false);
        ctx.extend(self.parse_model_of(template).map(|m| ("model", m)));
        let (r1, r2, r3) = (rec.clone(), rec.clone(), rec.clone());
        let placeholder = this.clone();
        ctx.push((
            "ref",
            Value::from_function(
                move |args: minijinja::value::Rest<minijinja::value::ValueOrKwargs>| -> Result<Value, Error> {
                    let call = refs::parse(&args.into_values())?;
                    let rel = Relation::new(&placeholder.database, &placeholder.schema, &call.name);
                    lock(&r1).refs.push(call);
                    Ok(rel.to_value())
                },
            ),
        ));
        let placeholder = this.clone();
        ctx.push((
            "source",
            Value::from_function(move |s: String, t: String| -> Result<Value, Error> {
                let rel = Relation::new(&placeholder.database, &s, &t);
                lock(&r2).sources.push((s, t));
                Ok(rel.to_value())
            }),
        ));
        ctx.push(("config", config_obj::ConfigObj::value(Some(r3), Arc::default())));
        (ctx, rec)
    }

    /// The render pass: the SQL that runs.
    pub fn render(&self, template: &str, rc: &RenderCtx) -> Result<String, Diagnostic> {
        let scope = rc.package.as_deref().or_else(|| self.scopes.get(template).map(String::as_str));
        let mut ctx = self.base_ctx_in(scope, &rc.this, true, rc.is_incremental);
        self.push_resolving(&mut ctx, &rc.relations, scope, self.parse_refs.get(template).map(Vec::as_slice));
        ctx.push(("config", config_obj::ConfigObj::value(None, rc.config.clone())));
        let model = self.run_model(rc.node.as_deref()).or_else(|| self.parse_model_of(template));
        ctx.extend(model.map(|m| ("model", m)));
        self.render_with(template, ctx)
    }

    fn render_with(&self, template: &str, ctx: Vec<(&'static str, Value)>) -> Result<String, Diagnostic> {
        // Macro files stay compiled in the environment; they are few.
        let t = match self.texts.get(template) {
            Some(text) => self.env.template_from_named_str(template, text),
            None => self.env.get_template(template),
        }
        .map_err(|e| self.diagnostic(template, &e))?;
        limits::render(|| t.render(self.context(ctx))).map_err(|e| self.diagnostic(template, &e))
    }
}

/// A poisoned recorder only means another render panicked; its data is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_jinja;
#[cfg(test)]
mod tests_time;
