//! Jinja2's implicit `kwargs` and `varargs` for macros, which minijinja
//! does not have.
//!
//! In Jinja2 (and so in dbt) a macro whose body mentions `kwargs` takes any
//! keyword argument it does not declare into that dict, and one that mentions
//! `varargs` takes extra positional arguments into that list (dbt_utils'
//! `not_null_proportion` reads `kwargs.get('at_least')`). Such a macro's
//! definition gains real `kwargs={}` / `varargs=[]` parameters here, and
//! [`Signature::pack`] moves a call's extra arguments into them. Only macro
//! files are rewritten; what a macro means is decided elsewhere.

use minijinja::value::{from_args, Kwargs, Rest, Value};
use minijinja::Error;
use std::collections::BTreeMap;

/// The parameters of a macro that catches extra arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    pub params: Vec<String>,
    pub kwargs: bool,
    pub varargs: bool,
}

impl Signature {
    /// A call's arguments with the undeclared ones moved into `kwargs` and
    /// `varargs`.
    pub fn pack(&self, args: &[Value]) -> Result<Vec<Value>, Error> {
        let (positional, kwargs): (Rest<Value>, Kwargs) = from_args(args)?;
        let mut positional = positional.0;
        let extra_pos = if self.varargs && positional.len() > self.params.len() {
            positional.split_off(self.params.len())
        } else {
            Vec::new()
        };
        let mut declared: Vec<(String, Value)> = Vec::new();
        let mut extra: BTreeMap<String, Value> = BTreeMap::new();
        for key in kwargs.args().map(str::to_string).collect::<Vec<_>>() {
            let v: Value = kwargs.get(&key)?;
            if self.kwargs && !self.params.contains(&key) {
                extra.insert(key, v);
            } else {
                declared.push((key, v));
            }
        }
        if self.kwargs {
            declared.push(("kwargs".into(), Value::from(extra)));
        }
        if self.varargs {
            declared.push(("varargs".into(), Value::from(extra_pos)));
        }
        positional.push(Value::from(Kwargs::from_iter(declared)));
        Ok(positional)
    }
}

/// Rewrites the definition at `after_name` (just after the macro's name) if
/// `body` mentions `kwargs` or `varargs`: the text to insert before the
/// closing parenthesis, where, and the signature.
pub fn implicit(text: &str, after_name: usize, body: &str) -> Option<(usize, String, Signature)> {
    let kwargs = mentions(body, "kwargs");
    let varargs = mentions(body, "varargs");
    if !kwargs && !varargs {
        return None;
    }
    let (params, close) = parameters(&text[after_name..])?;
    if params.iter().any(|p| p == "kwargs" || p == "varargs") {
        return None;
    }
    let mut extra: Vec<&str> = Vec::new();
    if kwargs {
        extra.push("kwargs={}");
    }
    if varargs {
        extra.push("varargs=[]");
    }
    let sep = if params.is_empty() { "" } else { ", " };
    Some((after_name + close, format!("{sep}{}", extra.join(", ")), Signature { params, kwargs, varargs }))
}

fn mentions(body: &str, word: &str) -> bool {
    body.match_indices(word).any(|(i, _)| {
        let before = body[..i].chars().next_back();
        let after = body[i + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// The parameter names of `(a, b=1, c=[1, 2])` at the start of `s` (after
/// blanks), and the offset of its closing parenthesis.
fn parameters(s: &str) -> Option<(Vec<String>, usize)> {
    let open = s.find(|c: char| !c.is_whitespace())?;
    if !s[open..].starts_with('(') {
        return None;
    }
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut expect_name = true;
    let mut quote: Option<char> = None;
    let mut chars = s.char_indices().skip(open).peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => {
                depth += 1;
                expect_name = depth == 1;
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some((names, i));
                }
            }
            ',' if depth == 1 => expect_name = true,
            c if depth == 1 && expect_name && (c.is_alphabetic() || c == '_') => {
                let mut name = String::from(c);
                while let Some(&(_, n)) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                names.push(name);
                expect_name = false;
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parameter_names_with_defaults() {
        assert_eq!(
            parameters(" (a, b=1, c=[1, (2)], d='x,y')x"),
            Some((vec!["a".into(), "b".into(), "c".into(), "d".into()], 29))
        );
        assert_eq!(parameters("()"), Some((vec![], 1)));
    }

    #[test]
    fn only_a_macro_that_mentions_them_gains_the_parameters() {
        let text = "{% macro m(model, cols=[]) %}{{ kwargs.get('x') }}{% endmacro %}";
        let at = text.find('(').expect("paren");
        let (pos, insert, sig) = implicit(text, at, &text[at..]).expect("rewritten");
        assert_eq!(&text[pos..pos + 1], ")");
        assert_eq!(insert, ", kwargs={}");
        assert_eq!(sig, Signature { params: vec!["model".into(), "cols".into()], kwargs: true, varargs: false });
        assert!(implicit(text, at, "{{ my_kwargs }}").is_none());
    }

    #[test]
    fn packs_undeclared_arguments() {
        let sig = Signature { params: vec!["a".into()], kwargs: true, varargs: true };
        let args = [Value::from(1), Value::from(2), Value::from(Kwargs::from_iter([("a2", Value::from(3))]))];
        let packed = sig.pack(&args).expect("packs");
        assert_eq!(packed.len(), 2);
        let kw = Kwargs::try_from(packed[1].clone()).expect("kwargs");
        assert_eq!(kw.get::<Value>("kwargs").expect("k").to_string(), "{'a2': 3}");
        assert_eq!(kw.get::<Value>("varargs").expect("v").to_string(), "[2]");
    }
}
