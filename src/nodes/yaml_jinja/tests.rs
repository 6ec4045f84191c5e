//! Jinja in `dbt_project.yml` trees, property `config:` and sources, rendered
//! before planning with the context dbt renders each file with.

use crate::nodes::tests::{target, write};
use crate::nodes::{self, Plan};
use crate::project::{self, env::Env};
use crate::template::{Templates, Vars};
use std::collections::BTreeMap;

fn planned(files: &[(&str, &str)], cli: &[(&str, &str)]) -> Result<Plan, Vec<String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        write(dir.path(), rel, text);
    }
    let mut project = project::load(dir.path()).expect("loads");
    let target = target(dir.path());
    let cli: BTreeMap<String, serde_yaml::Value> =
        cli.iter().map(|(k, v)| (k.to_string(), serde_yaml::Value::String(v.to_string()))).collect();
    let vars = Vars { layers: vec![cli] };
    let templates = Templates::build(&project, &target, &Env::default(), vars, &[]).expect("templates");
    let text = |d: Vec<crate::diag::Diagnostic>| d.iter().map(|d| d.to_string()).collect::<Vec<_>>();
    let errors = nodes::yaml_jinja::render(&mut project, &templates);
    if !errors.is_empty() {
        return Err(text(errors));
    }
    nodes::plan(&project, &target, &templates).map_err(text)
}

/// `schema.identifier` of node `id`, or `None` when it is not planned.
fn relation(plan: &Plan, id: &str) -> Option<String> {
    let n = plan.nodes.iter().find(|n| n.id == id)?;
    n.relation.as_ref().map(|r| format!("{}.{}", r.schema, r.identifier))
}

const PROJECT: &str = r#"name: shop
profile: shop
vars:
  pv: from_project
  jv: "{{ env_var('RUNNER_T_YJ_UNSET', 'fromenv') }}"
models:
  shop:
    +schema: "{{ env_var('RUNNER_T_YJ_UNSET', 'envdflt') }}"
    sub:
      +schema: "{{ var('pv', 'cli_default') }}"
      +alias: "{{ target.name }}_alias"
    byname:
      +enabled: "{{ target.name == 'prod' }}"
    mat:
      +materialized: "{{ 'table' if target.name == 'dev' else 'view' }}"
      +tags: ["{{ target.name }}", static]
      +post-hook: "select '{{ this }}'"
"#;

const PROPS: &str = r#"version: 2
models:
  - name: p_cfg
    config:
      schema: "{{ var('pv') }}"
      alias: "{{ env_var('RUNNER_T_YJ_UNSET', 'p_alias') }}"
      tags: ["{{ target.name }}_tag"]
  - name: m_jv
    config:
      alias: "jv_{{ var('jv') }}"
"#;

fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("dbt_project.yml", PROJECT),
        ("models/m_env.sql", "select 1 as x"),
        ("models/sub/m_var.sql", "select 2 as x"),
        ("models/byname/m_off.sql", "select 3 as x"),
        ("models/mat/m_mat.sql", "select 4 as x"),
        ("models/p_cfg.sql", "select 5 as x"),
        ("models/m_jv.sql", "select 6 as x"),
        ("models/schema.yml", PROPS),
    ]
}

#[test]
fn project_file_values_render_with_env_var_target_and_only_cli_vars() {
    let plan = planned(&files(), &[]).expect("plans");
    assert_eq!(relation(&plan, "model.shop.m_env").as_deref(), Some("main_envdflt.m_env"));
    // dbt renders dbt_project.yml before reading `vars:`: only --vars count.
    assert_eq!(relation(&plan, "model.shop.m_var").as_deref(), Some("main_cli_default.dev_alias"));
    assert_eq!(relation(&plan, "model.shop.m_off"), None, "`{{ target.name == 'prod' }}` is false");
    let mat = plan.nodes.iter().find(|n| n.id == "model.shop.m_mat").expect("m_mat");
    assert_eq!(crate::config_tree::get_str(&mat.config, "materialized"), Some("table"));
    assert_eq!(crate::config_tree::as_strings(mat.config.get("tags")), ["dev", "static"]);
    // Hooks render when they run, with `this`.
    let hooks = serde_yaml::to_string(&mat.config.get("post-hook")).expect("yaml");
    assert!(hooks.contains("{{ this }}"), "{hooks}");
    let plan = planned(&files(), &[("pv", "from_cli")]).expect("plans");
    assert_eq!(relation(&plan, "model.shop.m_var").as_deref(), Some("main_from_cli.dev_alias"));
}

#[test]
fn property_config_renders_with_the_projects_vars() {
    let plan = planned(&files(), &[]).expect("plans");
    assert_eq!(relation(&plan, "model.shop.p_cfg").as_deref(), Some("main_from_project.p_alias"));
    let p = plan.nodes.iter().find(|n| n.id == "model.shop.p_cfg").expect("p_cfg");
    assert!(crate::config_tree::as_strings(p.config.get("tags")).contains(&"dev_tag".to_string()));
}

#[test]
fn an_enabled_that_renders_to_text_is_an_error_naming_file_and_key() {
    let mut f = files();
    let project = PROJECT.replace("\"{{ target.name == 'prod' }}\"", "\"{{ env_var('RUNNER_T_YJ_UNSET', 'false') }}\"");
    f[0].1 = Box::leak(project.into_boxed_str());
    let errs = planned(&f, &[]).err().expect("refused");
    assert!(
        errs.iter().any(|e| e.contains("dbt_project.yml")
            && e.contains("models.shop.byname.+enabled")
            && e.contains("not a boolean")),
        "{errs:?}"
    );
}

#[test]
fn a_value_that_cannot_render_is_an_error_not_a_name() {
    let mut f = files();
    f.push((
        "models/more.yml",
        "version: 2\nmodels:\n  - name: m_env\n    config:\n      alias: \"{{ env_var('RUNNER_T_YJ_UNSET') }}\"\n",
    ));
    let errs = planned(&f, &[]).err().expect("refused");
    assert!(
        errs.iter()
            .any(|e| e.contains("models/more.yml") && e.contains("config.alias") && e.contains("RUNNER_T_YJ_UNSET")),
        "{errs:?}"
    );
}

#[test]
fn source_names_render() {
    let mut f = files();
    f.push((
        "models/src.yml",
        "version: 2\nsources:\n  - name: raw\n    schema: \"{{ env_var('RUNNER_T_YJ_UNSET', 'landing') }}\"\n    tables:\n      - name: t\n        identifier: \"{{ target.name }}_t\"\n",
    ));
    f.push(("models/from_src.sql", "select * from {{ source('raw', 't') }}"));
    let plan = planned(&f, &[]).expect("plans");
    let src = plan.relations.find_source("raw", "t", None).expect("source");
    assert_eq!((src.schema.as_str(), src.identifier.as_str()), ("landing", "dev_t"));
}

#[test]
fn a_property_file_reads_a_var_as_written() {
    // dbt's property-file `var()` does not render the var's own Jinja (a
    // model's does): the relation is named with it, as dbt names it.
    let plan = planned(&files(), &[]).expect("plans");
    let want = "main_envdflt.jv_{{ env_var('RUNNER_T_YJ_UNSET', 'fromenv') }}";
    assert_eq!(relation(&plan, "model.shop.m_jv").as_deref(), Some(want));
}
