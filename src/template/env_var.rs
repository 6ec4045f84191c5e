//! `env_var()` for models, macros, tests and property files, and the
//! load-time check that none of them names a secret.
//!
//! dbt refuses a secret env var (`DBT_ENV_SECRET_…`) anywhere but
//! `profiles.yml`; so does this function, whatever the default, before it
//! looks the variable up. A refusal at render time only fails the node that
//! asked, and a call behind `{% if execute %}` would be seen only then, so
//! [`secret_uses`] also finds every call with a literal secret name when the
//! templates are built: a load error (exit 2) naming the file and line, before
//! anything runs. `profiles.yml` has its own `env_var` (`project::profile`).

use super::pyops::lex::{scan, Kind};
use crate::diag::Diagnostic;
use crate::project::env::Env;
use crate::secrets;
use minijinja::{Error, ErrorKind};
use std::path::Path;

/// The `env_var(name, default=none)` global of the project's templates.
pub(crate) fn function(env: Env) -> impl Fn(String, Option<String>) -> Result<String, Error> + Send + Sync + 'static {
    move |key: String, default: Option<String>| {
        if secrets::is_secret(&key) {
            return Err(refused(&key));
        }
        env.get(&key).or(default).ok_or_else(|| {
            Error::new(ErrorKind::InvalidOperation, format!("env var `{key}` is not set and has no default"))
        })
    }
}

fn refused(name: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{} (hint: {})", secrets::refusal(name), secrets::HINT))
}

/// Every `env_var('DBT_ENV_SECRET_…')` with a literal name in a template
/// (comments and raw blocks skipped), as a load error at its line.
pub(crate) fn secret_uses(text: &str, path: &Path) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for block in scan(text) {
        for w in block.toks.windows(3) {
            let named = w[0].kind == Kind::Ident && w[0].text(text) == "env_var";
            let called = w[1].kind == Kind::Open && w[1].text(text) == "(";
            if !(named && called && w[2].kind == Kind::Str) {
                continue;
            }
            let literal = w[2].text(text);
            let name = &literal[1..literal.len().saturating_sub(1).max(1)];
            if secrets::is_secret(name) {
                let line = text[..w[2].start].matches('\n').count() + 1;
                // Worded as the render-time refusal, so the two collapse into
                // one error when a model's resolve pass meets the same call.
                found.push(Diagnostic::in_file(path, super::describe(&refused(name))).at(Some(line), None));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_literal_secret_names_outside_comments() {
        let text = "select 1\n{# env_var('DBT_ENV_SECRET_OLD') #}\n{% if execute %}{{ env_var( \"DBT_ENV_SECRET_PW\" ) }}\
                    {% endif %}\n{{ env_var('DBT_ENV_PLAIN', 'x') }}{% raw %}{{ env_var('DBT_ENV_SECRET_RAW') }}{% endraw %}";
        let found = secret_uses(text, Path::new("models/m.sql"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, Some(3));
        assert!(found[0].message.contains("`DBT_ENV_SECRET_PW` is read outside"), "{}", found[0].message);
        assert_eq!(found[0].message, super::super::describe(&refused("DBT_ENV_SECRET_PW")));
    }

    #[test]
    fn refuses_secrets_even_with_a_default() {
        let f = function(Env::default());
        let e = f("DBT_ENV_SECRET_PW".into(), Some("d".into())).expect_err("refused");
        assert!(e.to_string().contains("outside profiles.yml"), "{e}");
        assert_eq!(f("RUNNER_T_NEVER_SET".into(), Some("d".into())).ok().as_deref(), Some("d"));
    }
}
