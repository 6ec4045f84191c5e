//! dbt's macro files made callable by name from any template.
//!
//! Each macro becomes a global callable that renders its own file and calls
//! the macro there, forwarding the caller's per-node context (`this`, `ref`,
//! …). That keeps each file's line numbers in errors and avoids import cycles
//! between macro files. `{% test %}` blocks are rewritten into `test_<name>`
//! macros, as dbt does.
//!
//! Every definition is renamed to `<name>__runner_impl`, so that even a call
//! between two macros of one file goes through [`MacroRef`]: that call is
//! where dbt's `return(x)` is caught (it travels as an error carrying `x`)
//! and where an error gains an "in macro" frame. This module never decides
//! what a macro means.

use super::context::{returned, RUNTIME};
use super::limits;
use super::signature::Signature;
use minijinja::value::{from_args, Kwargs, Object, Rest, Value};
use minijinja::{Error, ErrorKind, State};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Suffix of the renamed definitions; users call the plain name.
pub const IMPL_SUFFIX: &str = "__runner_impl";

/// Context key of a unit test's macro overrides (name → what each call returns).
pub const MACRO_OVERRIDES: &str = "__runner_macro_overrides";

/// Names a node's context defines and a macro call must carry along.
/// `env_var` is a global, forwarded so a unit test's `env_vars` override reaches macros.
/// A package node's macros ([`super::namespaces::LOCALS`]) go along too.
pub const FORWARDED: &[&str] = &[
    "ref",
    "source",
    "config",
    "this",
    "var",
    "is_incremental",
    "execute",
    "model",
    "graph",
    "selected_resources",
    "project_name",
    "database",
    "schema",
    "env_var",
    "thread_id",
    RUNTIME,
    super::namespaces::LOCALS,
    super::members::BUILTINS,
    super::members::CONTEXT,
];

/// Rewrites `{% test x(...) %}…{% endtest %}` into `{% macro test_x(...) %}…{% endmacro %}`,
/// and `{% materialization x, adapter='duckdb' %}…{% endmaterialization %}`
/// (or `…, default`) into `{% macro materialization_x_duckdb() %}…{% endmacro %}`,
/// the names dbt gives them. A materialization macro is never run (runner
/// builds models itself, see `nodes::materialize`): the rewrite lets a
/// file that defines one load, as it does in dbt.
pub fn rewrite_blocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("{%") {
        out.push_str(&rest[..i]);
        let tag = &rest[i..];
        let body_start = if tag.starts_with("{%-") { 3 } else { 2 };
        let body = &tag[body_start..];
        let trimmed = body.trim_start();
        let ws = body.len() - trimmed.len();
        let open = &tag[..body_start + ws];
        let word_end = |a: &str| !a.starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if let Some(after) =
            ["endtest", "endmaterialization"].iter().find_map(|end| trimmed.strip_prefix(end).filter(|a| word_end(a)))
        {
            out.push_str(open);
            out.push_str("endmacro");
            rest = after;
        } else if let Some(after) = trimmed.strip_prefix("test").filter(|a| a.starts_with(char::is_whitespace)) {
            out.push_str(open);
            out.push_str("macro test_");
            rest = after.trim_start();
        } else if let Some((name, after)) = trimmed
            .strip_prefix("materialization")
            .filter(|a| a.starts_with(char::is_whitespace))
            .and_then(materialization_header)
        {
            out.push_str(open);
            out.push_str(&format!("macro {name}()"));
            rest = after;
        } else {
            out.push_str(&tag[..body_start]);
            rest = body;
        }
    }
    out.push_str(rest);
    out
}

/// `my_table, adapter='duckdb', supported_languages=['sql'] %}…` → the
/// macro name `materialization_my_table_duckdb` and the text from the
/// tag's closing `%}` (or `-%}`) on.
fn materialization_header(header: &str) -> Option<(String, &str)> {
    let close = header.find("%}")?;
    let close = if header[..close].ends_with('-') { close - 1 } else { close };
    let (args, after) = header.split_at(close);
    let mut parts = args.split(',').map(str::trim);
    let name = parts.next().filter(|n| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_'))?;
    let adapter = parts.find_map(|p| {
        if p == "default" {
            return Some("default".to_string());
        }
        let v = p.strip_prefix("adapter")?.trim_start().strip_prefix('=')?.trim();
        Some(v.trim_matches(|c| c == '\'' || c == '"').to_string())
    })?;
    Some((format!("materialization_{name}_{adapter}"), after))
}

/// Names of the macros a file defines, in order.
pub fn macro_names(text: &str) -> Vec<String> {
    macro_defs(text).into_iter().map(|(_, name)| name).collect()
}

/// Byte offset just after each `{% macro ` keyword, with the macro's name.
fn macro_defs(text: &str) -> Vec<(usize, String)> {
    let mut defs = Vec::new();
    for (i, _) in text.match_indices("{%") {
        let rest = &text[i + 2..];
        let body = rest.trim_start_matches(['-', '+']).trim_start();
        if let Some(after) = body.strip_prefix("macro") {
            let trimmed = after.trim_start();
            if trimmed.len() < after.len() {
                let name: String = trimmed.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    defs.push((text.len() - trimmed.len(), name));
                }
            }
        }
    }
    defs
}

/// Renames every `{% macro name(` to `{% macro name__runner_impl(`, and
/// gives a macro that mentions `kwargs` or `varargs` those parameters (see
/// [`super::signature`]); returns the text and those macros' signatures.
pub fn rename_definitions(text: &str) -> (String, BTreeMap<String, Signature>) {
    let defs = macro_defs(text);
    let mut out = String::with_capacity(text.len() + 64);
    let mut signatures = BTreeMap::new();
    let mut last = 0;
    for (i, (at, name)) in defs.iter().enumerate() {
        let end = at + name.len();
        out.push_str(&text[last..end]);
        out.push_str(IMPL_SUFFIX);
        last = end;
        let body_end = defs.get(i + 1).map(|(next, _)| *next).unwrap_or(text.len());
        if let Some((close, insert, sig)) = super::signature::implicit(text, end, &text[end..body_end]) {
            out.push_str(&text[last..close]);
            out.push_str(&insert);
            last = close;
            signatures.insert(name.clone(), sig);
        }
    }
    out.push_str(&text[last..]);
    (out, signatures)
}

/// Name of the global that wraps a macro defined in a model or singular test file.
pub const LOCAL_WRAPPER: &str = "__runner_local_macro";

/// A macro defined inside a model (or singular test) lives in that file's own
/// render, so it cannot go through [`MacroRef`]. Its definition is renamed like
/// a macro file's, and right after its `endmacro` the plain name is bound to a
/// [`LocalMacro`] that catches `return(x)`. Tags are found as minijinja reads
/// them (comments and raw blocks skipped); only top-level macros are wrapped,
/// a macro nested in another stays as written. Only tags are inserted, never
/// newlines, so error lines stay those of the file.
pub fn wrap_local_macros(text: &str) -> String {
    use super::pyops::lex::{scan, Kind};
    // (where the name ends, where the closing tag ends, the name, whether it strips after)
    let mut edits: Vec<(usize, usize, String, bool)> = Vec::new();
    let mut depth = 0usize;
    let mut open: Option<(usize, String)> = None;
    for b in scan(text).iter().filter(|b| b.tag) {
        match b.toks.first().map(|t| t.text(text)) {
            Some("macro") => {
                if depth == 0 {
                    open = b.toks.get(1).filter(|t| t.kind == Kind::Ident).map(|t| (t.end, t.text(text).to_string()));
                }
                depth += 1;
            }
            Some("endmacro") => {
                depth = depth.saturating_sub(1);
                if let Some((at, name)) = open.take_if(|_| depth == 0) {
                    let strip = text[b.end..].starts_with('-');
                    let after = b.end + if strip || text[b.end..].starts_with('+') { 3 } else { 2 };
                    edits.push((at, after.min(text.len()), name, strip));
                }
            }
            _ => {}
        }
    }
    if edits.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 96 * edits.len());
    let mut last = 0;
    for (at, after, name, strip) in edits {
        out.push_str(&text[last..at]);
        out.push_str(IMPL_SUFFIX);
        out.push_str(&text[at..after]);
        let close = if strip { "-%}" } else { "%}" };
        out.push_str(&format!("{{% set {name} = {LOCAL_WRAPPER}({name}{IMPL_SUFFIX}, \"{name}\") {close}"));
        last = after;
    }
    out.push_str(&text[last..]);
    out
}

/// A macro of a model file, called by its plain name; see [`wrap_local_macros`].
#[derive(Debug)]
pub struct LocalMacro {
    pub name: String,
    pub inner: Value,
}

impl Object for LocalMacro {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        match self.inner.call(state, args) {
            Ok(v) => Ok(v),
            Err(e) => returned(&e).ok_or(e),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<macro {}>", self.name)
    }
}

/// Where an error raised inside a macro happened, kept as the error's source.
#[derive(Debug)]
pub struct InMacro {
    pub name: String,
    pub file: String,
    pub line: Option<usize>,
    pub inner: Error,
}

impl fmt::Display for InMacro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "in macro `{}` ({}:{l})", self.name, self.file),
            None => write!(f, "in macro `{}` ({})", self.name, self.file),
        }
    }
}

impl std::error::Error for InMacro {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.inner)
    }
}

/// A global that calls macro `name` defined in template `file`.
#[derive(Debug)]
pub struct MacroRef {
    pub file: String,
    pub name: String,
    /// Set when the macro takes Jinja2's implicit `kwargs` / `varargs`.
    pub signature: Option<Arc<Signature>>,
}

impl Object for MacroRef {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        // Outside the frame below: a call refused for its depth never started.
        let call = limits::Call::enter(state, &self.name)?;
        match self.invoke(state, args, call) {
            Ok(v) => Ok(v),
            Err(e) => match returned(&e) {
                Some(v) => Ok(v),
                None => {
                    let detail = e.detail().unwrap_or_default().to_string();
                    let (file, line) = (e.name().unwrap_or(&self.file).to_string(), e.line());
                    let frame = InMacro { name: self.name.clone(), file, line, inner: e };
                    Err(Error::new(frame.inner.kind(), detail).with_source(frame))
                }
            },
        }
    }
}

impl MacroRef {
    /// The macro runs in a new state of its file's template, where
    /// minijinja's own recursion limit and fuel start afresh: [`limits::Call`]
    /// carries both across the calls.
    fn invoke(&self, state: &mut State<'_, '_>, args: &[Value], call: limits::Call) -> Result<Value, Error> {
        let mut args = with_rendered_caller(state, args)?;
        if let Some(sig) = &self.signature {
            args = sig.pack(&args)?;
        }
        let args = args.as_slice();
        let template = state.env().get_template(&self.file)?;
        let mut pairs: Vec<(Value, Value)> =
            FORWARDED.iter().filter_map(|k| state.lookup(k).map(|v| (Value::from(*k), v))).collect();
        // A unit test's macro overrides reach every macro it calls, as in dbt.
        if let Some(overrides) = state.lookup(MACRO_OVERRIDES) {
            for name in overrides.try_iter()? {
                pairs.push((name.clone(), overrides.get_item(&name)?));
            }
            pairs.push((Value::from(MACRO_OVERRIDES), overrides));
        }
        let ctx = super::namespaces::scoped(Value::from_pairs(pairs));
        let mut captured = template.render_captured(ctx)?;
        let name = format!("{}{IMPL_SUFFIX}", self.name);
        let (result, used) = captured.with_state_mut(|s| {
            let result = s
                .lookup(&name)
                .ok_or_else(|| Error::new(ErrorKind::UnknownFunction, format!("macro `{}` is not defined", self.name)))
                .and_then(|m| m.call(s, args));
            (result, limits::consumed(s))
        });
        match (result, call.finish(used)) {
            // An error from inside the macro carries its line: it wins.
            (Err(e), _) if returned(&e).is_none() => Err(e),
            (result, Ok(())) => result,
            (_, Err(spent)) => Err(spent),
        }
    }
}

/// A `{% call m() %}body{% endcall %}` hands `m` a `caller` bound to the
/// calling template's state, which the macro's own file cannot call. So the
/// body is rendered here, in the caller's state, and `caller()` returns it.
fn with_rendered_caller(state: &mut State<'_, '_>, args: &[Value]) -> Result<Vec<Value>, Error> {
    let (positional, kwargs): (Rest<Value>, Kwargs) = from_args(args)?;
    if !kwargs.has("caller") {
        return Ok(args.to_vec());
    }
    let mut pairs: Vec<(String, Value)> = Vec::new();
    for key in kwargs.args().map(str::to_string).collect::<Vec<_>>() {
        let mut v: Value = kwargs.get(&key)?;
        if key == "caller" {
            let body = v.call(state, &[])?;
            v = Value::from_function(move |_: Rest<Value>| -> Result<Value, Error> { Ok(body.clone()) });
        }
        pairs.push((key, v));
    }
    let mut out = positional.0;
    out.push(Value::from(Kwargs::from_iter(pairs)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_blocks_become_macros() {
        let src = "{% test positive(model, column_name) %}select * from {{ model }}{%- endtest %}";
        assert_eq!(
            rewrite_blocks(src),
            "{% macro test_positive(model, column_name) %}select * from {{ model }}{%- endmacro %}"
        );
        assert_eq!(rewrite_blocks("{% if testing %}x{% endif %}"), "{% if testing %}x{% endif %}");
    }

    #[test]
    fn materialization_blocks_become_macros_of_dbts_names() {
        let src = "{% materialization my_table, adapter='duckdb', supported_languages=['sql'] -%}\nx\n{%- endmaterialization %}";
        assert_eq!(rewrite_blocks(src), "{% macro materialization_my_table_duckdb()-%}\nx\n{%- endmacro %}");
        let src = "{%- materialization insert_by_period, default %}y{% endmaterialization -%}";
        assert_eq!(rewrite_blocks(src), "{%- macro materialization_insert_by_period_default()%}y{% endmacro -%}");
        // Not a header dbt reads: left for the compiler to report.
        assert_eq!(rewrite_blocks("{% materialization %}"), "{% materialization %}");
    }

    #[test]
    fn local_macros_are_rebound_after_their_definition() {
        let src = "{% macro a(x) %}{{ x }}{% endmacro %}\n{%- macro b() -%}b{%- endmacro -%}\nselect 1";
        assert_eq!(
            wrap_local_macros(src),
            "{% macro a__runner_impl(x) %}{{ x }}{% endmacro %}\
             {% set a = __runner_local_macro(a__runner_impl, \"a\") %}\n\
             {%- macro b__runner_impl() -%}b{%- endmacro -%}\
             {% set b = __runner_local_macro(b__runner_impl, \"b\") -%}\nselect 1"
        );
        assert_eq!(wrap_local_macros("select {{ 1 }}"), "select {{ 1 }}");
    }

    #[test]
    fn comments_raw_blocks_and_nested_macros_are_left_as_written() {
        let src = "{# {% macro old() %} #}{% raw %}{% macro r() %}{% endmacro %}{% endraw %}\
                   {% macro outer() %}{% macro inner() %}i{% endmacro %}{{ inner() }}{% endmacro %}";
        assert_eq!(
            wrap_local_macros(src),
            "{# {% macro old() %} #}{% raw %}{% macro r() %}{% endmacro %}{% endraw %}\
             {% macro outer__runner_impl() %}{% macro inner() %}i{% endmacro %}{{ inner() }}{% endmacro %}\
             {% set outer = __runner_local_macro(outer__runner_impl, \"outer\") %}"
        );
    }

    #[test]
    fn finds_macro_names() {
        let src = "{% macro a(x) %}{% endmacro %}\n{%- macro b_2() -%}{% endmacro %}{% set macro = 1 %}";
        assert_eq!(macro_names(src), vec!["a", "b_2"]);
    }

    #[test]
    fn renames_definitions_only() {
        let src = "{% macro a(x) %}{{ a(1) }}{% endmacro %}\n{%- macro  b() -%}{% endmacro %}";
        assert_eq!(
            rename_definitions(src).0,
            "{% macro a__runner_impl(x) %}{{ a(1) }}{% endmacro %}\n{%- macro  b__runner_impl() -%}{% endmacro %}"
        );
        let src = "{% macro a(x) %}{{ kwargs }}{% endmacro %}{% macro b() %}{{ varargs }}{% endmacro %}";
        let (text, sigs) = rename_definitions(src);
        assert_eq!(
            text,
            "{% macro a__runner_impl(x, kwargs={}) %}{{ kwargs }}{% endmacro %}\
             {% macro b__runner_impl(varargs=[]) %}{{ varargs }}{% endmacro %}"
        );
        assert_eq!(sigs.len(), 2);
    }
}
