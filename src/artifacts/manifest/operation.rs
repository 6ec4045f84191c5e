//! `on-run-start` / `on-run-end` hooks of the root project and its packages
//! as dbt-core 1.10 puts them in the manifest: one `operation` node each
//! (`operation.<project>.<project>-on-run-start-0`, in the declaring project),
//! with the fields of dbt's `HookNode` — the hook's SQL as `raw_code`, its
//! `index` in its list, the phase as its tag, `hooks/<name>.sql` as its path,
//! `./dbt_project.yml` as its file (and its project's file's checksum), a model's
//! config defaults. They depend on nothing and nothing depends on them.
//! Hooks render right before they run, after the manifest is written, so
//! their entries are not compiled. Builds JSON; reads nothing.

use super::checksum::{project_file, Checksums};
use super::entry::config_defaults;
use super::fields::{object_value, s, Fields, DOCS, F, NULL};
use super::Inputs;
use crate::nodes::Resource;
use serde_json::Value;

/// Each run hook's unique id and entry, sorted by id.
pub(super) fn entries(inputs: &Inputs, checksums: &Checksums) -> Vec<(String, Value)> {
    let hooks = &inputs.plan.run_hooks;
    let checksum_of = |project: &str| {
        let file = inputs.project.named(project).map(project_file);
        let sum = file.and_then(|f| checksums.files.get(f.as_path())).map(|(_, sum)| sum.clone());
        F::Obj(Fields::from([
            ("name", s(if sum.is_some() { "sha256" } else { "none" })),
            ("checksum", s(sum.unwrap_or_default())),
        ]))
    };
    let mut out: Vec<(String, Value)> = hooks
        .start
        .iter()
        .chain(&hooks.end)
        .map(|hook| {
            let project = hook.project.as_str();
            let name = hook.node_name();
            let id = hook.unique_id();
            // dbt's `NodeConfig`: a model's defaults (materialized `view`), nothing of a model's own.
            let mut config: Fields = config_defaults(Resource::Model).clone();
            config.insert("materialized", s("view"));
            let config = Fields(config.0.into_iter().filter(|(k, _)| !matches!(*k, "access" | "freshness")).collect());
            let fields = Fields::from([
                ("database", s(inputs.target.database.as_str())),
                ("schema", s(inputs.target.schema.as_str())),
                ("name", s(name.clone())),
                ("resource_type", s("operation")),
                ("package_name", s(project)),
                ("path", s(format!("hooks/{name}.sql"))),
                ("original_file_path", s("./dbt_project.yml")),
                ("unique_id", s(id.clone())),
                ("fqn", F::List(vec![s(project), s("hooks"), s(name.clone())])),
                ("alias", s(name)),
                ("checksum", checksum_of(project)),
                ("config", F::Obj(config)),
                ("tags", F::List(vec![s(hook.phase.key())])),
                ("description", s("")),
                ("columns", F::Raw("{}")),
                ("meta", F::Raw("{}")),
                ("group", NULL),
                ("docs", DOCS),
                ("patch_path", NULL),
                ("build_path", NULL),
                ("unrendered_config", F::Raw("{}")),
                ("relation_name", NULL),
                ("raw_code", s(hook.sql.as_str())),
                ("doc_blocks", F::Raw("[]")),
                ("language", s("sql")),
                ("refs", F::Raw("[]")),
                ("sources", F::Raw("[]")),
                ("metrics", F::Raw("[]")),
                ("depends_on", F::Raw(r#"{"macros":[],"nodes":[]}"#)),
                ("compiled_path", NULL),
                ("compiled", F::Raw("false")),
                ("compiled_code", NULL),
                ("extra_ctes_injected", F::Raw("false")),
                ("extra_ctes", F::Raw("[]")),
                ("contract", F::Raw(r#"{"alias_types":true,"checksum":null,"enforced":false}"#)),
                ("index", F::Value(Value::from(hook.index))),
            ]);
            (id, object_value(&fields))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
