//! Reading a Python model as dbt-core 1.10's parser reads it, without running
//! it: no Jinja in the file; exactly one top-level `def model(dbt, session)`
//! whose body ends in `return` of one value; and every `dbt.ref(…)`,
//! `dbt.source(…)`, `dbt.config(…)` and `dbt.config.get(…)` call, whose
//! arguments must be Python literals. Those calls are what dbt knows of a
//! Python model: its parents, its config, and the config keys its code reads.
//!
//! dbt walks Python's syntax tree; runner reads `pytoken`'s tokens, so a call
//! is found wherever it is written (dbt misses one nested in arithmetic and
//! then fails at run time), and Python's own syntax errors surface when the
//! model runs. Pure: text in, the calls or diagnostics out.

use super::literal;
use crate::diag::Diagnostic;
use crate::pytoken::{tokenize, Kind, Line, Tok};
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What a Python model's `dbt.*` calls declare, in the order they are written.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Parsed {
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    /// `dbt.config(…)` keys, a later call's over an earlier one's.
    pub config: BTreeMap<String, Value>,
    /// `dbt.config.get(key, default)` calls: dbt's `config_keys_used` and
    /// `config_keys_defaults`, repeats included.
    pub keys_used: Vec<(String, Value)>,
}

/// One `dbt.ref(…)` call: `dbt.ref("name")` or `dbt.ref("package", "name")`.
#[derive(Debug, Clone, PartialEq)]
pub struct RefCall {
    pub package: Option<String>,
    pub name: String,
}

impl RefCall {
    /// How the compiled module looks it up: the arguments joined with `.`, as dbt joins them.
    pub fn key(&self) -> String {
        match &self.package {
            Some(p) => format!("{p}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

const HINT_LITERAL: &str =
    "dbt reads these calls without running the model: write the value out (a string, number, list or dict)";

/// Parses a Python model's text; every problem is a diagnostic naming `path` and the line.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Parsed, Vec<Diagnostic>> {
    let text = without_bom(text);
    let at = |line: usize, msg: String| Diagnostic::in_file(path, msg).at(Some(line), None);
    // dbt renders the file as Jinja and refuses it when that changes anything.
    if let Some(pos) = ["{{", "{%", "{#"].iter().filter_map(|m| text.find(m)).min() {
        let line = text[..pos].matches('\n').count() + 1;
        return Err(vec![at(line, "no Jinja is allowed in a Python model".into())
            .hint("read values with `dbt.config.get(\"key\")` and set them in `dbt_project.yml` or a property file")]);
    }
    let tokens = tokenize(text).map_err(|(line, m)| {
        vec![at(line, format!("cannot read this Python: {m}")).hint("check the file runs as Python")]
    })?;
    let mut errors = check_model_def(&tokens.lines).into_iter().map(|(l, m)| at(l, m)).collect::<Vec<_>>();
    let mut parsed = Parsed::default();
    for line in &tokens.lines {
        for call in calls(&line.toks) {
            if let Err(m) = record(&mut parsed, &call) {
                let d = at(call.line, m);
                errors.push(if call.literal_error { d.hint(HINT_LITERAL) } else { d });
            }
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(errors)
    }
}

/// `text` without a leading byte order mark, which Python skips in a file.
pub(crate) fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// dbt's checks of `def model`: (line, message) for each problem.
fn check_model_def(lines: &[Line]) -> Vec<(usize, String)> {
    // A `def` nested in another function is not seen by dbt; one inside a
    // class or an `if` is.
    let mut enclosing: Vec<usize> = Vec::new();
    let mut defs = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        while enclosing.last().is_some_and(|&d| d >= l.indent) {
            enclosing.pop();
        }
        let def_at = usize::from(l.toks[0].is_name("async"));
        if l.toks.get(def_at).is_some_and(|t| t.is_name("def")) {
            if def_at == 0 && enclosing.is_empty() && l.toks.get(1).is_some_and(|t| t.is_name("model")) {
                defs.push(i);
            }
            enclosing.push(l.indent);
        }
    }
    let line_of = |i: usize| lines[i].toks[0].line;
    let [i] = defs[..] else {
        let line = defs.get(1).map_or(1, |&i| line_of(i));
        return vec![(
            line,
            format!("a Python model defines exactly one function `model(dbt, session)`; this file has {}", defs.len()),
        )];
    };
    let toks = &lines[i].toks;
    let mut problems = Vec::new();
    let close = toks.get(2).filter(|t| t.is_op("(")).and_then(|_| matching(toks, 2));
    let Some(close) = close else { return vec![(line_of(i), "cannot read the arguments of `model`".into())] };
    let args = arg_names(&toks[3..close]);
    if args.first().is_some_and(|a| a != "dbt") {
        problems.push((line_of(i), "the first argument of `model` must be `dbt`".into()));
    }
    if args.len() != 2 {
        problems.push((line_of(i), "`model` takes two arguments: `dbt` and a session to the warehouse".into()));
    }
    if !ends_in_one_return(lines, i, close) {
        problems.push((line_of(i), "`model` must end with `return` of one DataFrame or relation".into()));
    }
    problems
}

/// The names dbt counts as `model`'s arguments: the positional ones, not
/// those before `/`, nor `*args`, keyword-only ones or `**kwargs`.
fn arg_names(params: &[Tok]) -> Vec<String> {
    let mut names = Vec::new();
    for p in split(params, ",") {
        match p.first() {
            None => {}
            Some(t) if t.is_op("/") => names.clear(),
            Some(t) if t.is_op("*") || t.is_op("**") => break,
            Some(t) => names.push(t.text.clone()),
        }
    }
    names
}

/// Whether the last statement of the `def` on `lines[i]` (its `(` closed at
/// `close`) is `return` of something other than a tuple.
fn ends_in_one_return(lines: &[Line], i: usize, close: usize) -> bool {
    let toks = &lines[i].toks;
    let colon = (close + 1..toks.len()).find(|&k| toks[k].is_op(":") && depth_at(toks, k) == 0);
    let inline = colon.map_or(&[][..], |c| &toks[c + 1..]);
    let last_line: &[Tok] = if !inline.is_empty() {
        inline
    } else {
        let indent = lines[i].indent;
        let body: Vec<&Line> = lines[i + 1..].iter().take_while(|l| l.indent > indent).collect();
        let Some(first) = body.first() else { return false };
        match body.iter().rev().find(|l| l.indent == first.indent) {
            Some(l) => &l.toks,
            None => return false,
        }
    };
    let Some(last) = split(last_line, ";").into_iter().rev().find(|s| !s.is_empty()) else { return false };
    if !last[0].is_name("return") {
        return false;
    }
    let value = &last[1..];
    let is_tuple = split(value, ",").len() > 1
        || (value.first().is_some_and(|t| t.is_op("("))
            && matching(value, 0) == Some(value.len() - 1)
            && (value.len() == 2 || split(&value[1..value.len() - 1], ",").len() > 1));
    !is_tuple
}

/// One `dbt.<fn>(…)` call as written.
struct Call {
    /// `ref`, `source`, `config` or `get` (`dbt.config.get`).
    func: &'static str,
    line: usize,
    args: Result<(Vec<Value>, Vec<(String, Value)>), String>,
    literal_error: bool,
}

/// Every `dbt.ref(`, `dbt.source(`, `dbt.config(` and `dbt.config.get(` in a
/// logical line, with its arguments read as literals.
fn calls(toks: &[Tok]) -> Vec<Call> {
    let mut out = Vec::new();
    for k in 0..toks.len() {
        if !toks[k].is_name("dbt")
            || (k > 0 && toks[k - 1].is_op("."))
            || !toks.get(k + 1).is_some_and(|t| t.is_op("."))
        {
            continue;
        }
        let name = |j: usize, n: &str| toks.get(j).is_some_and(|t| t.is_name(n));
        let open = |j: usize| toks.get(j).is_some_and(|t| t.is_op("("));
        let (func, paren) = if name(k + 2, "ref") && open(k + 3) {
            ("ref", k + 3)
        } else if name(k + 2, "source") && open(k + 3) {
            ("source", k + 3)
        } else if name(k + 2, "config") && open(k + 3) {
            ("config", k + 3)
        } else if name(k + 2, "config")
            && toks.get(k + 3).is_some_and(|t| t.is_op("."))
            && name(k + 4, "get")
            && open(k + 5)
        {
            ("get", k + 5)
        } else {
            continue;
        };
        let Some(close) = matching(toks, paren) else { continue };
        let args = arguments(&toks[paren + 1..close]);
        let literal_error = args.is_err();
        out.push(Call { func, line: toks[k].line, args, literal_error });
    }
    out
}

/// A call's positional and keyword arguments, each a literal.
fn arguments(inner: &[Tok]) -> Result<(Vec<Value>, Vec<(String, Value)>), String> {
    let (mut args, mut kwargs) = (Vec::new(), Vec::new());
    let mut parts = split(inner, ",");
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    for part in parts {
        let what = |e: String| format!("{e} is not a Python literal");
        match part {
            [] => return Err("an empty argument".into()),
            [star, ..] if star.is_op("*") || star.is_op("**") => {
                return Err(format!("`{}` unpacking is not a Python literal", star.text))
            }
            [key, eq, value @ ..] if key.kind == Kind::Name && eq.is_op("=") => {
                kwargs.push((key.text.clone(), literal::eval(value).map_err(what)?));
            }
            _ => args.push(literal::eval(part).map_err(what)?),
        }
    }
    Ok((args, kwargs))
}

/// Applies one call as dbt's parse context does, or says what dbt refuses.
fn record(parsed: &mut Parsed, call: &Call) -> Result<(), String> {
    let (args, kwargs) = match &call.args {
        Ok(a) => a,
        Err(e) => return Err(format!("`{}`: {e}", shown(call.func))),
    };
    let strings = || -> Result<Vec<String>, String> {
        args.iter()
            .map(|a| {
                a.as_str().map(str::to_string).ok_or_else(|| format!("`{}` takes names as strings", shown(call.func)))
            })
            .collect()
    };
    match call.func {
        "ref" => {
            if let Some((k, _)) = kwargs.first() {
                return Err(match k.as_str() {
                    "v" | "version" => "`dbt.ref()` with a version: runner pins model versions in SQL models only, not yet in Python models".into(),
                    other => format!("`dbt.ref()` got an unexpected keyword argument `{other}`"),
                });
            }
            match &strings()?[..] {
                [name] => parsed.refs.push(RefCall { package: None, name: name.clone() }),
                [package, name] => parsed.refs.push(RefCall { package: Some(package.clone()), name: name.clone() }),
                other => return Err(format!("`dbt.ref()` takes one or two arguments, not {}", other.len())),
            }
        }
        "source" => match (&strings()?[..], kwargs.is_empty()) {
            ([source, table], true) => parsed.sources.push((source.clone(), table.clone())),
            _ => return Err("`dbt.source()` takes two arguments: the source's name and the table's".into()),
        },
        "config" => {
            let mut entries: Vec<(String, Value)> = kwargs.clone();
            match &args[..] {
                [] => {}
                [Value::Mapping(m)] if kwargs.is_empty() => {
                    for (k, v) in m {
                        let key = k.as_str().ok_or("`dbt.config()` takes a dict with string keys")?;
                        entries.push((key.to_string(), v.clone()));
                    }
                }
                _ => {
                    return Err(
                        "`dbt.config()` takes keyword arguments, e.g. `dbt.config(materialized=\"table\")`".into()
                    )
                }
            }
            parsed.config.extend(entries);
        }
        _ => {
            let key = match args.first() {
                None => return Err("`dbt.config.get()` needs the key to read".into()),
                Some(Value::String(k)) => k.clone(),
                Some(_) => return Err("`dbt.config.get()` takes the key as a string".into()),
            };
            if args.len() > 2 {
                return Err(format!("`dbt.config.get()` takes at most 2 arguments ({} given)", args.len()));
            }
            // dbt keeps the second positional argument as the default; a
            // `default=` keyword is not seen when parsing.
            parsed.keys_used.push((key, args.get(1).cloned().unwrap_or(Value::Null)));
        }
    }
    Ok(())
}

fn shown(func: &str) -> &'static str {
    match func {
        "ref" => "dbt.ref()",
        "source" => "dbt.source()",
        "config" => "dbt.config()",
        _ => "dbt.config.get()",
    }
}

/// Bracket depth just before token `k`.
fn depth_at(toks: &[Tok], k: usize) -> usize {
    let mut depth = 0usize;
    for t in &toks[..k] {
        if t.kind == Kind::Op {
            match t.text.as_str() {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    depth
}

/// The index of the bracket closing the one at `open`.
fn matching(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if t.kind != Kind::Op {
            continue;
        }
        match t.text.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// `toks` split at `sep` outside brackets (an empty input is one empty part).
fn split<'t>(toks: &'t [Tok], sep: &str) -> Vec<&'t [Tok]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (k, t) in toks.iter().enumerate() {
        if t.kind != Kind::Op {
            continue;
        }
        match t.text.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth = depth.saturating_sub(1),
            s if s == sep && depth == 0 => {
                parts.push(&toks[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start..]);
    parts
}

#[cfg(test)]
mod tests;
