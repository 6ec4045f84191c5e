//! Rendering a model under a unit test, as dbt's unit test context does:
//! `ref`/`source` of a given input render its CTE name (and nothing else
//! resolves: dbt's unit test manifest holds only the inputs), `this` is the
//! `this` input's CTE or none, `var` sees the test's `vars` over every other
//! layer, `env_var` its `env_vars`, and an overridden macro returns the
//! given value. The render says which inputs the model used, in the order
//! it used them (`this` first, as dbt's context resolves it up front): only
//! their fixtures are built ([`with_ctes`] puts them in front). Renders only.

use super::relation::Relation;
use super::{config_obj, context, ephemeral, jinja_error, limits, lock, Templates, Vars};
use crate::diag::Diagnostic;
use crate::project::unit_tests::Overrides;
use minijinja::value::{Rest, Serde, Value};
use minijinja::{Error, ErrorKind};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What a unit test puts in place of the model's inputs.
pub struct UnitRender<'a> {
    /// The unit test's unique id and file, for dbt's "not found" message.
    pub test_id: &'a str,
    pub file: &'a str,
    /// `ref` lookup key (`name`, or `name.v<v>` for a pinned version) → the input's CTE name.
    pub refs: BTreeMap<String, String>,
    /// `(source, table)` → the input's CTE name.
    pub sources: BTreeMap<(String, String), String>,
    /// The `this` input's CTE name.
    pub this: Option<String>,
    pub is_incremental: bool,
    pub config: Arc<crate::config_tree::ConfigMap>,
    pub overrides: &'a Overrides,
}

/// CTE names in the order the model first used them.
type Used = Arc<Mutex<Vec<String>>>;

fn note(used: &Used, cte: &str) {
    let mut u = lock(used);
    if !u.iter().any(|n| n == cte) {
        u.push(cte.to_string());
    }
}

fn cte_value(cte: &str) -> Value {
    Relation::cte(cte.strip_prefix(super::relation::CTE_PREFIX).unwrap_or(cte)).to_value()
}

/// `sql` with `ctes` (name, body) in front, joining its own `with`.
pub fn with_ctes(sql: &str, ctes: &[(String, String)]) -> String {
    ephemeral::prepend(sql, ctes)
}

impl Templates {
    /// The model's SQL with its inputs' CTE names, and the inputs it used.
    pub fn render_unit_test(&self, template: &str, u: &UnitRender) -> Result<(String, Vec<String>), Diagnostic> {
        // A package's model renders with its package's vars and macros.
        let scope = self.scope(self.scopes.get(template).map(String::as_str));
        let mut vars = Vars { layers: vec![u.overrides.vars.clone()] };
        vars.layers.extend(self.vars_for(scope).layers.iter().cloned());
        let this = Relation::cte("");
        let mut ctx: Vec<(Value, Value)> = self
            .base_ctx_with(&this, true, u.is_incremental, Arc::new(vars))
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect();
        if let Some(p) = scope {
            ctx.push((Value::from(super::namespaces::LOCALS), super::namespaces::Locals::value(p, &self.macros)));
        }
        let used: Used = Arc::default();
        let this_value = match &u.this {
            Some(cte) => {
                note(&used, cte);
                cte_value(cte)
            }
            None => Value::from(()),
        };
        set(&mut ctx, "this", this_value);
        let (refs, used_r) = (u.refs.clone(), used.clone());
        let (id, file) = (u.test_id.to_string(), u.file.to_string());
        let not_found = move |what: &str, name: &str| {
            jinja_error(
                ErrorKind::InvalidOperation,
                format!("Unit_Test '{id}' ({file}) depends on a {what} named '{name}' which was not found"),
            )
        };
        let nf = not_found.clone();
        set(
            &mut ctx,
            "ref",
            Value::from_function(
                move |args: minijinja::value::Rest<minijinja::value::ValueOrKwargs>| -> Result<Value, Error> {
                    let call = super::refs::parse(&args.into_values())?;
                    let cte = refs.get(&call.key()).ok_or_else(|| nf("node", &call.name))?;
                    note(&used_r, cte);
                    Ok(cte_value(cte))
                },
            ),
        );
        let (sources, used_s) = (u.sources.clone(), used.clone());
        set(
            &mut ctx,
            "source",
            Value::from_function(move |s: String, t: String| -> Result<Value, Error> {
                let cte =
                    sources.get(&(s.clone(), t.clone())).ok_or_else(|| not_found("source", &format!("{s}.{t}")))?;
                note(&used_s, cte);
                Ok(cte_value(cte))
            }),
        );
        set(&mut ctx, "config", config_obj::ConfigObj::value(None, u.config.clone()));
        let original_env = self.env.globals().find(|(k, _)| *k == "env_var").map(|(_, v)| v);
        let env_over = u.overrides.env_vars.clone();
        set(
            &mut ctx,
            "env_var",
            Value::from_function(move |state: &mut minijinja::State, args: Rest<Value>| -> Result<Value, Error> {
                let key = args.first().and_then(Value::as_str).unwrap_or_default().to_string();
                if let Some(v) = env_over.get(&key) {
                    return Ok(Value::from(v.clone()));
                }
                match &original_env {
                    Some(f) => f.call(state, &args),
                    None => Err(jinja_error(ErrorKind::UnknownFunction, "`env_var` is not defined".into())),
                }
            }),
        );
        let mut overrides = Vec::new();
        let mut qualified: BTreeMap<&str, BTreeMap<String, Value>> = BTreeMap::new();
        for (name, value) in &u.overrides.macros {
            let name = name.strip_prefix("dbt.").unwrap_or(name);
            if name == "is_incremental" {
                continue;
            }
            let value = Value::from(Serde(value.clone()));
            let f = Value::from_function(move |_args: Rest<Value>| -> Result<Value, Error> { Ok(value.clone()) });
            match name.split_once('.') {
                Some((package, m)) => {
                    qualified.entry(package).or_default().insert(m.to_string(), f);
                }
                None => {
                    set(&mut ctx, name, f.clone());
                    overrides.push((name.to_string(), f));
                }
            }
        }
        // `pkg.macro` overrides: the package's namespace with those macros
        // replaced, as dbt replaces them in `ctx[pkg]`; a package that does
        // not exist is ignored, as in dbt.
        for (package, replaced) in qualified {
            let Some(inner) = self.env.globals().find(|(k, _)| *k == package).map(|(_, v)| v) else { continue };
            let ns = super::namespaces::Overridden::value(inner, replaced);
            set(&mut ctx, package, ns.clone());
            overrides.push((package.to_string(), ns));
        }
        // Forwarded into every macro the model calls (see `macros::MACRO_OVERRIDES`).
        if !overrides.is_empty() {
            set(&mut ctx, super::macros::MACRO_OVERRIDES, Value::from_pairs(overrides));
        }
        set(&mut ctx, context::RUNTIME, context::Runtime::new(None, false));
        let t = match self.texts.get(template) {
            Some(text) => self.env.template_from_named_str(template, text),
            None => self.env.get_template(template),
        }
        .map_err(|e| self.diagnostic(template, &e))?;
        let ctx = self.context_of(ctx);
        let sql = limits::render(|| t.render(ctx)).map_err(|e| self.diagnostic(template, &e))?;
        let used = lock(&used).clone();
        Ok((ephemeral::trim_sql(&sql).to_string(), used))
    }
}

/// Sets `key` in a render context, replacing an earlier value.
fn set(ctx: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match ctx.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        Some(slot) => slot.1 = value,
        None => ctx.push((Value::from(key), value)),
    }
}
