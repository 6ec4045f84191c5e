//! Planning a Python model: its `dbt.*` calls read as dbt's parser reads them
//! (see `crate::pymodel::parse`) stand in for a SQL model's resolve pass, and
//! the materializations dbt-duckdb runs Python in (`table`, the default
//! below a property file's, and `incremental`) are the only ones allowed.
//! No I/O, no SQL.

use super::materialize::config_origin;
use super::Materialized;
use crate::config_tree::ConfigMap;
use crate::diag::Diagnostic;
use crate::project::{NodeProps, Project, SqlFile};
use crate::pymodel::{self, PyModel};
use crate::template::{Recorded, Templates};
use serde_yaml::Value;
use std::sync::Arc;

/// What a Python model's file declares, as the resolve pass records a SQL model's.
pub(super) fn resolve(m: &SqlFile) -> Result<(Recorded, Arc<PyModel>), Vec<Diagnostic>> {
    let parsed = pymodel::parse::parse(&m.path, &m.text)?;
    let rec = Recorded {
        refs: parsed
            .refs
            .iter()
            .map(|r| crate::template::RefCall { package: r.package.clone(), name: r.name.clone(), version: None })
            .collect(),
        sources: parsed.sources.clone(),
        config: pymodel::own_config(&parsed),
    };
    Ok((rec, Arc::new(PyModel::new(&m.text, &parsed))))
}

/// A project's `ref` or `source` macro replaces dbt's in a SQL model
/// (runner too), and dbt compiles a Python model's `dbt.ref`/`dbt.source`
/// through it as well; runner's Python models resolve them as dbt's own
/// `ref`/`source`, and say so rather than differ silently.
pub(super) fn member_overrides(
    templates: &Templates,
    project: &Project,
    root: &Project,
    m: &SqlFile,
) -> Vec<Diagnostic> {
    let scope = (project.name != root.name).then_some(project.name.as_str());
    ["ref", "source"]
        .into_iter()
        .filter(|member| templates.member_macro(scope, member).is_some())
        .map(|member| {
            Diagnostic::in_file(
                &m.path,
                format!(
                    "Python model `{}`: `dbt.{member}` resolves as dbt's own `{member}`, not through the \
                     project's `{member}` macro (dbt compiles it through that macro)",
                    m.name
                ),
            )
            .hint(format!("if the macro changes the relation, read it from a SQL model that uses `{member}`"))
        })
        .collect()
}

/// dbt makes a Python model a `table` at the level of its property file, so
/// `dbt_project.yml`'s `+materialized` does not reach it; its property
/// entry and its own `dbt.config(…)` still do. Nothing for a SQL model.
pub(super) fn default_materialization(python: bool, cfg: &mut ConfigMap, props: Option<&NodeProps>) {
    if python && !props.is_some_and(|p| p.config.contains_key("materialized")) {
        cfg.insert("materialized".into(), Value::String("table".into()));
    }
}

/// dbt-duckdb runs Python only in its `table` and `incremental`
/// materializations; dbt refuses the others when the model runs, runner
/// when it loads. Any is fine for a SQL model.
pub(super) fn check_materialization(
    python: bool,
    project: &Project,
    m: &SqlFile,
    rec: &Recorded,
    materialized: Materialized,
) -> Result<(), Diagnostic> {
    if !python || matches!(materialized, Materialized::Table | Materialized::Incremental) {
        return Ok(());
    }
    let (file, line) = config_origin(project, "materialized", m, rec);
    Err(Diagnostic::in_file(
        file,
        format!(
            "model `{}`: materialization `{}` runs SQL models only; got a Python model",
            m.name,
            materialized.as_str()
        ),
    )
    .at(line, None)
    .hint("a Python model is materialized as `table` (the default) or `incremental`"))
}
