//! YAML descriptions rendered as dbt renders them: `{{ doc('name') }}` becomes
//! the `{% docs name %}` block's text; `var`, `env_var` and `target` work too.
//!
//! Every model and seed description is checked when the templates are built,
//! so an unknown doc name stops the run (exit 2) naming the YAML file. The
//! manifest writer asks [`Templates::render_description`] for the text.

use super::relation::Relation;
use super::{describe, Templates};
use crate::diag::Diagnostic;
use crate::project::docs::DocBlock;
use crate::project::Project;
use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Registers `doc(name)` / `doc(package, name)`.
pub(super) fn install(env: &mut Environment<'static>, docs: &BTreeMap<String, DocBlock>) {
    let docs: Arc<BTreeMap<String, String>> = Arc::new(docs.iter().map(|(k, v)| (k.clone(), v.text.clone())).collect());
    env.add_function("doc", move |a: String, b: Option<String>| -> Result<Value, Error> {
        let name = b.unwrap_or(a);
        docs.get(&name).map(|t| Value::from(t.clone())).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("documentation for `{name}` not found (hint: define it with `{{% docs {name} %}}…{{% enddocs %}}` in a `.md` file)"),
            )
        })
    });
}

impl Templates {
    /// A description as written in YAML, rendered; plain text comes back as is.
    pub fn render_description(&self, raw: &str) -> Result<String, String> {
        if !raw.contains("{{") && !raw.contains("{%") {
            return Ok(raw.to_string());
        }
        let ctx = self.base_ctx(&Relation::new("", "", ""), false, false);
        super::limits::render(|| self.env.render_str(raw, Value::from_pairs(ctx))).map_err(|e| describe(&e))
    }

    /// Renders every model and seed description once; each failure names its YAML file.
    pub(super) fn check_descriptions(&self, project: &Project) -> Vec<Diagnostic> {
        let mut errors = Vec::new();
        let versions = project
            .all()
            .flat_map(|p| p.versions.declared.iter())
            .map(|d| (format!("{}.{}", d.model, d.version.v.formatted()), &d.props));
        let props = project
            .all()
            .flat_map(|p| p.model_props.iter().chain(p.seed_props.iter()))
            .map(|(n, p)| (n.clone(), p))
            .chain(versions);
        for (name, props) in props {
            let texts = props
                .description
                .iter()
                .map(|d| (None, d))
                .chain(props.column_descriptions.iter().map(|(c, d)| (Some(c), d)));
            for (column, text) in texts {
                if let Err(e) = self.render_description(text) {
                    let line = crate::config::find_line(
                        &std::fs::read_to_string(project.root.join(&props.file)).unwrap_or_default(),
                        text,
                    );
                    let owner = match column {
                        Some(c) => format!("column `{c}` of `{name}`"),
                        None => format!("`{name}`"),
                    };
                    errors
                        .push(Diagnostic::in_file(&props.file, format!("description of {owner}: {e}")).at(line, None));
                }
            }
        }
        errors
    }
}
