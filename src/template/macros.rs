//! dbt's macro files made callable by name from any template.
//!
//! Each macro becomes a global callable that renders its own file and calls
//! the macro there, forwarding the caller's per-node context (`this`, `ref`,
//! …). That keeps each file's line numbers in errors and avoids import cycles
//! between macro files. `{% test %}` blocks are rewritten into `test_<name>`
//! macros, as dbt does. This module never decides what a macro means.

use minijinja::value::{Object, Value};
use minijinja::{Error, ErrorKind, State};
use std::sync::Arc;

/// Names a node's context defines and a macro call must carry along.
pub const FORWARDED: &[&str] = &[
    "ref",
    "source",
    "config",
    "this",
    "var",
    "is_incremental",
    "execute",
    "model",
    "run_started_at",
    "invocation_id",
];

/// Rewrites `{% test x(...) %}…{% endtest %}` into `{% macro test_x(...) %}…{% endmacro %}`.
pub fn rewrite_test_blocks(text: &str) -> String {
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
        if let Some(after) =
            trimmed.strip_prefix("endtest").filter(|a| !a.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        {
            out.push_str(open);
            out.push_str("endmacro");
            rest = after;
        } else if let Some(after) = trimmed.strip_prefix("test").filter(|a| a.starts_with(char::is_whitespace)) {
            out.push_str(open);
            out.push_str("macro test_");
            rest = after.trim_start();
        } else {
            out.push_str(&tag[..body_start]);
            rest = body;
        }
    }
    out.push_str(rest);
    out
}

/// Names of the macros a file defines, in order.
pub fn macro_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (i, _) in text.match_indices("{%") {
        let body = text[i + 2..].trim_start_matches('-').trim_start();
        if let Some(after) = body.strip_prefix("macro") {
            if after.starts_with(char::is_whitespace) {
                let name: String =
                    after.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        }
    }
    names
}

/// A global that calls macro `name` defined in template `file`.
#[derive(Debug)]
pub struct MacroRef {
    pub file: String,
    pub name: String,
}

impl Object for MacroRef {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let template = state.env().get_template(&self.file)?;
        let ctx = Value::from_pairs(FORWARDED.iter().filter_map(|k| state.lookup(k).map(|v| (*k, v))));
        let mut captured = template.render_captured(ctx)?;
        let name = self.name.clone();
        captured.with_state_mut(|s| {
            let m = s
                .lookup(&name)
                .ok_or_else(|| Error::new(ErrorKind::UnknownFunction, format!("macro `{name}` is not defined")))?;
            m.call(s, args)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_blocks_become_macros() {
        let src = "{% test positive(model, column_name) %}select * from {{ model }}{%- endtest %}";
        assert_eq!(
            rewrite_test_blocks(src),
            "{% macro test_positive(model, column_name) %}select * from {{ model }}{%- endmacro %}"
        );
        assert_eq!(rewrite_test_blocks("{% if testing %}x{% endif %}"), "{% if testing %}x{% endif %}");
    }

    #[test]
    fn finds_macro_names() {
        let src = "{% macro a(x) %}{% endmacro %}\n{%- macro b_2() -%}{% endmacro %}{% set macro = 1 %}";
        assert_eq!(macro_names(src), vec!["a", "b_2"]);
    }
}
