//! Rendering hook SQL: a seed's or model's `pre-hook` / `post-hook` in the
//! node's own context (`this`, `ref`, `var`, `run_query`, …), and
//! `on-run-start` / `on-run-end` with dbt's extra names (`results`,
//! `schemas`, `database_schemas` at the end of a run). Also dbt's
//! `before_begin()`, `in_transaction()` and `after_commit()`, which a model's
//! `config(pre_hook=…)` calls while it is parsed. Renders only; which hooks
//! run, and when, is the executor's.

use super::{describe, limits, macros, pyobj, pyops, RenderCtx, Templates};
use crate::diag::Diagnostic;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};

/// Registers dbt's hook helpers; the project's own macros of the same name,
/// registered later, replace them (as a root project's macros do in dbt).
pub(super) fn install(env: &mut Environment<'static>) {
    let config = |transaction: bool| {
        move |sql: String| -> String { serde_json::json!({"sql": sql, "transaction": transaction}).to_string() }
    };
    env.add_function("before_begin", config(false));
    env.add_function("in_transaction", config(true));
    env.add_function("after_commit", config(false));
}

impl Templates {
    /// Renders one hook's SQL. `file` names where it was written, for errors;
    /// `extra` adds names to the context (`results`, `schemas`, … at the end
    /// of a run). Relations resolve as in the node's own render pass.
    pub fn render_hook(
        &self,
        file: &str,
        sql: &str,
        rc: &RenderCtx,
        extra: Vec<(&'static str, Value)>,
    ) -> Result<String, Diagnostic> {
        let scope = rc.package.as_deref();
        let mut ctx = self.base_ctx_in(scope, &rc.this, true, rc.is_incremental);
        self.push_resolving(&mut ctx, &rc.relations, scope, None);
        ctx.push(("config", Value::from_function(|_: Kwargs| -> Result<String, Error> { Ok(String::new()) })));
        ctx.extend(self.run_model(rc.node.as_deref()).map(|m| ("model", m)));
        ctx.extend(extra);
        let text =
            macros::wrap_local_macros(&pyobj::rewrite_mutable_literals(&pyops::rewrite_datetime_arithmetic(sql)));
        // Named so that no extension turns on auto-escaping (minijinja
        // JSON-escapes a template named `*.yml`).
        let name = format!("{file} (hook)");
        limits::render(|| self.env.render_named_str(&name, &text, self.context(ctx)))
            .map(|s| s.trim().to_string())
            .map_err(|e| Diagnostic::in_file(file, describe(&e)))
    }
}

impl Templates {
    /// The package of the macro that replaces context member `name` (`ref`,
    /// `source`, …) for a node of package `scope` (`None`: the root
    /// project), as `members` lays macros over a render's members.
    pub fn member_macro<'a>(&'a self, scope: Option<&'a str>, name: &str) -> Option<&'a str> {
        self.macros.member_override(scope, name)
    }

    /// The package defining the macro `name` (`macro` or `package.macro`)
    /// the root project calls by it; `None` when there is none.
    pub fn macro_package(&self, name: &str) -> Option<String> {
        match name.split_once('.') {
            Some((package, m)) => self.macros.get(package, m).map(|_| package.to_string()),
            None => self.macros.package_of(None, name).map(str::to_string),
        }
    }
}
