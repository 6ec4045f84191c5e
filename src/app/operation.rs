//! `runner run-operation <macro> --args '{…}'`: dbt's `run-operation`. The
//! macro (the root project's, a package's as `package.macro`, or a
//! built-in) is called with the arguments as keywords, in a render with
//! `execute` true on a connection of its own; each statement it runs
//! commits as it runs, so what ran before a failure stays, as with
//! dbt-duckdb (dbt keeps the table a failing operation created before it
//! raised). What the macro renders is thrown away; what it runs
//! (`run_query`, `statement`) and logs is what it does. No nodes, hooks or
//! history: only the lock and the database a run would have, and
//! run_results.json with the operation's one result, as dbt writes it.

use super::Prepared;
use crate::artifacts::RunResults;
use crate::cli::Options;
use crate::db::SetupError;
use crate::diag::Diagnostic;
use crate::error::{Error, EXIT_NODE_FAILURE, EXIT_OK};
use crate::template::query;
use crate::template::relation::Relation;
use crate::template::RenderCtx;
use minijinja::value::{Serde, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Whether `name` can only be a macro's name (`a_b`, `pkg.a_b`): it goes
/// into a template as written.
fn is_macro_name(name: &str) -> bool {
    let part = |p: &str| {
        p.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match name.split_once('.') {
        Some((package, m)) => part(package) && part(m),
        None => part(name),
    }
}

/// Calls macro `name` with `args`; the exit code.
pub(super) fn run(
    opts: &Options,
    prep: &Prepared,
    name: &str,
    args: &BTreeMap<String, serde_yaml::Value>,
) -> Result<i32, Error> {
    let Some(package) = prep.templates.macro_package(name).filter(|_| is_macro_name(name)) else {
        return Err(Error::Usage(
            Diagnostic::new(format!("no macro named `{name}` in the project, its packages or dbt's built-ins"))
                .hint("name a macro defined under `macros/`, or a package's as `package.macro`"),
        ));
    };
    let unique_id = format!("macro.{package}.{}", name.rsplit('.').next().unwrap_or(name));
    // dbt's `args` of an operation: the invocation's, with the macro and its arguments.
    let mut invocation_args = prep.invocation.args.clone();
    if let Some(map) = invocation_args.as_object_mut() {
        map.insert("macro".into(), serde_json::json!(name));
        map.insert("args".into(), serde_json::json!(args));
    }
    let mut results = RunResults::new(&prep.project.target_dir, prep.templates.invocation_id())
        .with_invocation(&invocation_args, &prep.invocation.metadata_env);
    let started = std::time::Instant::now();
    // The macro sees dbt's graph (codegen lists models from it); nothing is selected.
    let (nothing, none) = (BTreeMap::new(), BTreeSet::new());
    let manifest = super::compile::manifest_for(prep, &nothing, &none, prep.templates.invocation_id());
    super::compile::set_graph(prep, &BTreeSet::new(), &manifest);
    super::session::with_database(opts, prep, |database| {
        let conn = Rc::new(database.connect().map_err(SetupError::Connect)?);
        let rc = RenderCtx {
            this: Relation::new("", "", name),
            relations: prep.plan.relations.clone(),
            is_incremental: false,
            config: Default::default(),
            package: None,
            node: None,
        };
        // dbt's `this` is `None` in an operation.
        let extra = vec![("this", Value::from(())), ("__runner_args", Value::from(Serde(args)))];
        let sql = format!("{{{{ {name}(**__runner_args) }}}}");
        let q = query::on_connection(conn.clone());
        let rendered = query::with_local_query(q, || prep.templates.render_hook("run-operation", &sql, &rc, extra));
        if let Err(e) = &rendered {
            eprintln!("error: running operation `{name}`: {e}");
        }
        if let Err(e) = results.write_operation(&unique_id, rendered.is_ok(), started.elapsed()) {
            eprintln!("warning: {e}");
        }
        Ok(if rendered.is_ok() { EXIT_OK } else { EXIT_NODE_FAILURE })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_name_or_a_package_qualified_name_is_a_macro_name() {
        assert!(is_macro_name("grant_select") && is_macro_name("codegen.generate_source") && is_macro_name("_x1"));
        for bad in ["", "1x", "a.b.c", "a b", "a)}}{{x", "pkg."] {
            assert!(!is_macro_name(bad), "{bad}");
        }
    }
}
