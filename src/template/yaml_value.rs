//! Jinja inside a YAML value (`+schema: "{{ env_var('S', 'x') }}"`), rendered
//! as dbt renders `dbt_project.yml` and property files while parsing.
//!
//! dbt renders those values with its native renderer: a value that is one
//! `{{ expression }}` and nothing else keeps the expression's type (`{{
//! target.name == 'dev' }}` is a boolean, `{{ 3 }}` a number), anything else
//! becomes text. The context is dbt's parse-time one: `env_var`, `target`, and
//! `var`, which in `dbt_project.yml` sees only the command line's (and the
//! DAG's) vars, and in a property file the projects' vars too (read as
//! written: a var's own Jinja is not rendered there, as dbt does not). Which keys are
//! rendered is the caller's (`nodes::yaml_jinja`); this owns only how one
//! value renders.

use super::*;

/// Whether `text` holds Jinja at all (dbt's own quick test before rendering).
pub(crate) fn has_jinja(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The expression of a value that is exactly one `{{ … }}` (whitespace
/// control marks dropped), or `None` when there is text around it.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    // `{{ a }} and {{ b }}` starts and ends like one expression but is two.
    (!inner.contains("}}") && !inner.contains("{{")).then_some(inner)
}

impl Templates {
    /// Renders one YAML string value of `dbt_project.yml` (`project_file`)
    /// or of a property file of package `scope` (`None`: the root project).
    /// A value without Jinja comes back as it is.
    pub fn render_yaml_value(
        &self,
        scope: Option<&str>,
        project_file: bool,
        text: &str,
    ) -> Result<serde_yaml::Value, String> {
        if !has_jinja(text) {
            return Ok(serde_yaml::Value::String(text.to_string()));
        }
        let vars = match project_file {
            true => self.cli_vars.clone(),
            false => self.vars_for(self.scope(scope)),
        };
        let mut ctx = self.base_ctx_with(&Relation::new("", "", ""), false, false, vars.clone());
        if !project_file {
            // dbt's property files read a var as written, Jinja and all.
            ctx.retain(|(k, _)| *k != "var");
            ctx.push(("var", var_function(vars, false)));
        }
        let ctx = self.context(ctx);
        if let Some(expr) = single_expression(text) {
            // A native value; an expression minijinja cannot read alone (a
            // filter block, say) falls back to text, as a template renders it.
            if let Ok(compiled) = self.env.compile_expression(expr) {
                let out = limits::render(|| compiled.eval(ctx.clone())).map_err(|e| describe(&e))?;
                return Ok(match out.is_undefined() {
                    true => serde_yaml::Value::String(String::new()),
                    false => to_yaml(&out),
                });
            }
        }
        limits::render(|| self.env.render_str(text, ctx)).map(serde_yaml::Value::String).map_err(|e| describe(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::single_expression;

    #[test]
    fn one_expression_is_told_from_text_around_it() {
        assert_eq!(single_expression("{{ target.name }}"), Some(" target.name "));
        assert_eq!(single_expression("{{- x -}}"), Some(" x "));
        assert_eq!(single_expression("{{ a }}_{{ b }}"), None);
        assert_eq!(single_expression("pre_{{ a }}"), None);
        assert_eq!(single_expression(" {{ a }}"), None);
    }
}
