//! Which `{{ … }}` of a YAML value Jinja2 folds into text when it compiles
//! the value, as dbt's native renderer compiles it: an expression of literals
//! alone (`{{ false }}`, `{{ 3 }}`, `{{ [1, 2] }}`, `{{ 'a' ~ 'b' }}`) is
//! evaluated at compile time and written out as Python's `str()` of it, so
//! dbt reads `enabled: "{{ false }}"` as the text `False`. An expression that
//! reads a name, calls anything or ends in one of dbt's marker filters keeps
//! its value. This module only tells the two apart and rewrites the folded
//! ones; rendering is the parent's.

use crate::template::pyops::lex::{scan, Kind, Tok};

/// The function the rewritten constant blocks call: Python's `str()` of a value.
pub(super) const STR_FN: &str = "__runner_yaml_str";

/// Filters whose result is dbt's marker, never folded.
const MARKERS: &[&str] = &["as_bool", "as_number", "as_native", "as_text"];

/// Filters Jinja2 passes the render context to, which it never folds.
const CONTEXT_FILTERS: &[&str] = &["map", "select", "reject", "selectattr", "rejectattr"];

/// Names that are literals, not lookups.
const LITERALS: &[&str] = &["true", "false", "none", "True", "False", "None"];

/// Names that are literals or operators, not lookups.
const WORDS: &[&str] =
    &["true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else"];

/// `text` with each constant `{{ expr }}` made `{{ STR_FN((expr)) }}`.
pub(super) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for block in scan(text).iter().filter(|b| !b.tag && !b.toks.is_empty()) {
        if constant(text, &block.toks) {
            out.push_str(&text[last..block.start]);
            out.push_str(&format!(" {STR_FN}(({})) ", text[block.start..block.end].trim()));
            last = block.end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Whether Jinja2 folds the expression `toks` at compile time.
fn constant(text: &str, toks: &[Tok]) -> bool {
    let word = |i: usize| toks.get(i).filter(|t| t.kind == Kind::Ident).map(|t| t.text(text));
    let op = |i: usize| toks.get(i).filter(|t| t.kind == Kind::Op).map(|t| t.text(text));
    for (i, t) in toks.iter().enumerate() {
        let prev = i.checked_sub(1);
        match t.kind {
            Kind::Ident => {
                let name = t.text(text);
                let filter = prev.and_then(op) == Some("|");
                let test = prev.and_then(word) == Some("is")
                    || (prev.and_then(word) == Some("not")
                        && prev.and_then(|p| p.checked_sub(1)).and_then(word) == Some("is"));
                let kwarg = op(i + 1) == Some("=");
                if filter && (MARKERS.contains(&name) || CONTEXT_FILTERS.contains(&name)) {
                    return false;
                }
                if !(filter || test || kwarg || WORDS.contains(&name)) {
                    return false;
                }
            }
            // `x.y` and `f(…)`: a lookup or a call; `(` after a filter or
            // test name is that filter's arguments.
            Kind::Op if t.text(text) == "." => return false,
            Kind::Open if t.text(text) == "(" => {
                let literal = prev.and_then(word).is_some_and(|w| LITERALS.contains(&w));
                let after_value = prev.is_some_and(|p| matches!(toks[p].kind, Kind::Close | Kind::Str | Kind::Num));
                if literal || after_value {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(expr: &str) -> bool {
        let text = format!("{{{{ {expr} }}}}");
        fold(&text).contains(STR_FN)
    }

    #[test]
    fn literals_and_operators_on_them_fold() {
        for e in [
            "false",
            "3",
            "[1, 2]",
            "none",
            "'a' ~ 'b'",
            "1 + 2",
            "{'a': 1}",
            "'x' if true else 'y'",
            "'5' | int",
            "[1, 2] | join(',')",
            "1 is number",
            "none is not none",
            "1.5 | round(1, method='floor')",
        ] {
            assert!(folded(e), "{e}");
        }
    }

    #[test]
    fn lookups_calls_and_markers_keep_their_value() {
        for e in [
            "target.name == 'dev'",
            "x",
            "var('v')",
            "'False' | as_bool",
            "'a'.upper()",
            "[1] | map('string') | list",
            "env_var('X', '1')",
            "(1)(2)",
            "none()",
        ] {
            assert!(!folded(e), "{e}");
        }
    }

    #[test]
    fn only_expression_blocks_are_rewritten() {
        let text = "{% set x = 1 %}a{{- 2 -}}{{ x }}";
        assert_eq!(fold(text), format!("{{% set x = 1 %}}a{{{{- {STR_FN}((2)) -}}}}{{{{ x }}}}"));
        assert!(folded("not (1 == 2)"));
    }
}
