//! Jinja inside a YAML value (`+schema: "{{ env_var('S', 'x') }}"`), rendered
//! as dbt renders `dbt_project.yml` and property files while parsing, with
//! the context dbt gives those files: `env_var`, `target`, `var`, the
//! property files' `project_name`, and the node-independent globals
//! (`modules`, `fromjson`, `invocation_id`, …); no macros, `ref`, `this` or
//! `adapter`.
//!
//! dbt renders them with Jinja2's native renderer, and so does [`YamlJinja`]:
//! when the value's output is one piece, an expression's value keeps its type
//! (`{{ target.name == 'dev' }}` is a boolean), while an expression of
//! literals alone is folded to text when compiled (`{{ false }}` is the text
//! `False`, see [`constant`]); one of dbt's marker filters makes the piece
//! Python's `literal_eval` of its text (`{{ 'False' | as_bool }}` is
//! `false`, `{{ 'false' | as_bool }}` an error, see [`literal`]); output of
//! several pieces is their text joined. Which keys render, and with which
//! `var()`, is `project::render`'s; this owns how one value renders.

mod constant;
mod literal;

use super::*;
pub(crate) use crate::project::render::has_jinja;
use crate::project::render::Render;
use minijinja::value::{Object, ObjectRepr};
use std::fmt;

/// Renders YAML values for one invocation (see the module comment).
pub struct YamlJinja {
    env: Environment<'static>,
    /// `var()` of the root project's `dbt_project.yml`: `--vars` and the DAG's.
    cli_vars: Arc<Vars>,
    /// Whether a missing var without a default is an error (dbt's
    /// `require_vars`, off only for `dbt deps`).
    require_vars: bool,
}

/// `target` where dbt has no profile (`dbt deps`): every field is empty text.
#[derive(Debug)]
struct NoTarget;

impl Object for NoTarget {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        Some(Value::from(""))
    }
}

/// Context key of the pieces one render writes.
const PIECES: &str = "__runner_yaml_pieces";

/// Written in place of each `{{ … }}` while its value is kept aside; a
/// private-use character no YAML value of a project holds.
const SEPARATOR: char = '\u{10fffd}';

/// The values a render's `{{ … }}` wrote, in order.
#[derive(Debug, Default)]
struct Pieces(Arc<Mutex<Vec<Value>>>);

impl Object for Pieces {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

/// What dbt's `as_bool`, `as_number`, `as_native` and `as_text` return: the
/// value's text, marked for how a native render reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mark {
    Bool,
    Number,
    Native,
    Text,
}

#[derive(Debug)]
struct Marked {
    mark: Mark,
    text: String,
}

impl Object for Marked {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }

    /// It is a Python `str`: true unless empty.
    fn is_true(self: &Arc<Self>) -> bool {
        !self.text.is_empty()
    }
}

impl YamlJinja {
    /// The renderer of one run: `cli_vars` are `--vars` and the DAG's;
    /// `run_values` give `invocation_id`, `run_started_at` and `flags`.
    pub fn new(target: &Target, env: &Env, cli_vars: Vars, run_values: &[(&'static str, Value)]) -> YamlJinja {
        YamlJinja::build(target_value(target), env, cli_vars, run_values, true)
    }

    /// The renderer of `deps`, which dbt runs without a profile: every field
    /// of `target` is empty text and a missing var is `none`.
    pub fn without_profile(env: &Env, cli_vars: Vars) -> YamlJinja {
        YamlJinja::build(Value::from_object(NoTarget), env, cli_vars, &[], false)
    }

    fn build(
        target: Value,
        env: &Env,
        cli_vars: Vars,
        run_values: &[(&'static str, Value)],
        require_vars: bool,
    ) -> YamlJinja {
        let mut jinja = Environment::new();
        jinja.set_recursion_limit(200);
        jinja.set_fuel(Some(limits::MAX_INSTRUCTIONS));
        jinja.add_function("env_var", env_var::function(env.clone()));
        jinja.add_global("target", target);
        // dbt renders YAML on its main thread.
        jinja.add_global("thread_id", "MainThread");
        if let Some((_, flags)) = run_values.iter().find(|(k, _)| *k == "flags") {
            jinja.add_global("flags", flags.clone());
        }
        let (invocation_id, run_started_at) = diagnostics::run_identity(run_values);
        context::install(&mut jinja, &invocation_id, &pytime::PyDateTime::utc(run_started_at));
        for (name, mark) in
            [("as_bool", Mark::Bool), ("as_number", Mark::Number), ("as_native", Mark::Native), ("as_text", Mark::Text)]
        {
            jinja.add_filter(name, move |v: Value| Value::from_object(Marked { mark, text: v.to_string() }));
        }
        jinja.add_function(constant::STR_FN, |v: Value| v.to_string());
        jinja.set_formatter(|out, state, value| {
            match state.lookup(PIECES).and_then(|p| p.downcast_object::<Pieces>()) {
                Some(pieces) => {
                    lock(&pieces.0).push(value.clone());
                    fmt::Write::write_char(out, SEPARATOR)
                        .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write"))
                }
                None => minijinja::escape_formatter(out, state, value),
            }
        });
        YamlJinja { env: jinja, cli_vars: Arc::new(cli_vars), require_vars }
    }

    /// One value rendered with `ctx`, natively (see the module comment).
    fn render(&self, text: &str, mut ctx: Vec<(&'static str, Value)>) -> Result<serde_yaml::Value, String> {
        if !has_jinja(text) {
            return Ok(serde_yaml::Value::String(text.to_string()));
        }
        // Date arithmetic (`… - modules.datetime.timedelta(2)`) as in a model.
        let rewritten = pyops::rewrite_datetime_arithmetic(text);
        let text = rewritten.as_str();
        // dbt's `builtins` (its YAML contexts have it too): the members by
        // name, so `builtins.var(…)` works where a value names it.
        if text.contains("builtins") {
            let mut members: BTreeMap<String, Value> =
                self.env.globals().map(|(k, v)| (k.to_string(), v)).filter(|(k, _)| !k.starts_with("__")).collect();
            members.extend(ctx.iter().map(|(k, v)| (k.to_string(), v.clone())));
            ctx.push(("builtins", Value::from(members)));
        }
        if captures(text) {
            // Output captured by a macro, call, filter or set block is text
            // before it is written: the value is text, as dbt's is.
            let out = limits::render(|| self.env.render_str(text, Value::from_pairs(ctx)));
            return out.map(serde_yaml::Value::String).map_err(|e| describe(&e));
        }
        let pieces = Arc::new(Mutex::new(Vec::new()));
        ctx.push((PIECES, Value::from_object(Pieces(pieces.clone()))));
        let folded = constant::fold(text);
        let out = limits::render(|| self.env.render_str(&folded, Value::from_pairs(ctx))).map_err(|e| describe(&e))?;
        let values = std::mem::take(&mut *lock(&pieces));
        native(&out, values)
    }
}

impl Render for YamlJinja {
    fn project_value(&self, text: &str, root: bool) -> Result<serde_yaml::Value, String> {
        // dbt renders a package's `dbt_project.yml` without the command line's vars.
        let vars = if root { self.cli_vars.clone() } else { Arc::new(Vars::default()) };
        self.render(text, vec![("var", var_function_with(vars, true, self.require_vars))])
    }

    fn property_value(
        &self,
        text: &str,
        project: &str,
        vars: &[BTreeMap<String, serde_yaml::Value>],
    ) -> Result<serde_yaml::Value, String> {
        let mut layers = self.cli_vars.layers.clone();
        layers.extend(vars.iter().cloned());
        // dbt's property-file `var()` reads a var as written, Jinja and all.
        let var = var_function(Arc::new(Vars { layers }), false);
        self.render(text, vec![("var", var), ("project_name", Value::from(project))])
    }
}

/// Whether a template captures output before writing it (`{% macro %}`,
/// `{% call %}`, `{% filter %}`, `{% set x %}…{% endset %}`).
fn captures(text: &str) -> bool {
    use super::pyops::lex::{scan, Kind};
    scan(text).iter().filter(|b| b.tag).any(|b| {
        let word = b.toks.first().filter(|t| t.kind == Kind::Ident).map(|t| t.text(text));
        match word {
            Some("macro" | "call" | "filter") => true,
            Some("set") => !b.toks.iter().any(|t| t.kind == Kind::Op && t.text(text) == "="),
            _ => false,
        }
    })
}

/// The value of a native render whose output is `out`, each
/// [`SEPARATOR`] standing for the next of `values`.
fn native(out: &str, values: Vec<Value>) -> Result<serde_yaml::Value, String> {
    let mut pieces: Vec<Result<&str, Value>> = Vec::new();
    let mut values = values.into_iter();
    for (i, text) in out.split(SEPARATOR).enumerate() {
        if i > 0 {
            pieces.push(Err(values.next().unwrap_or_default()));
        }
        if !text.is_empty() {
            pieces.push(Ok(text));
        }
    }
    match pieces.as_slice() {
        [] => Ok(serde_yaml::Value::String(String::new())),
        [Ok(text)] => Ok(serde_yaml::Value::String(text.to_string())),
        [Err(v)] => one(v),
        many => Ok(serde_yaml::Value::String(
            many.iter()
                .map(|p| match p {
                    Ok(text) => text.to_string(),
                    Err(v) => v.to_string(),
                })
                .collect(),
        )),
    }
}

/// The value of a render whose output is the one value `v`.
fn one(v: &Value) -> Result<serde_yaml::Value, String> {
    if v.is_undefined() {
        return Err("it renders to an undefined value".into());
    }
    let Some(marked) = v.downcast_object_ref::<Marked>() else { return Ok(to_yaml(v)) };
    let text = &marked.text;
    let read = literal::eval(text);
    let wrong = |kind: &str| format!("could not convert value `{text}` into type `{kind}`");
    match (marked.mark, read) {
        (Mark::Text, _) => Ok(serde_yaml::Value::String(text.clone())),
        (Mark::Bool, Some(b @ serde_yaml::Value::Bool(_))) => Ok(b),
        (Mark::Bool, _) => Err(wrong("bool")),
        (Mark::Number, Some(n @ serde_yaml::Value::Number(_))) => Ok(n),
        (Mark::Number, _) => Err(wrong("number")),
        (Mark::Native, Some(v)) => Ok(v),
        (Mark::Native, None) => Ok(serde_yaml::Value::String(text.clone())),
    }
}

#[cfg(test)]
mod tests;
