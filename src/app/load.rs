//! Loading a project as dbt loads it for a command: the profile first (named
//! by the DAG or the project's `profile:`), its target resolved, then every
//! file read with the YAML values rendered against that target
//! (`template::YamlJinja`, the values chosen by `project::render`). Wiring
//! only: what renders and how is theirs.

use crate::cli::Options;
use crate::diag::Diagnostic;
use crate::project::dag::Dag;
use crate::project::{self, env::Env, profile, profile::Target, Project};
use crate::template::{Vars, YamlJinja};
use std::path::Path;
use std::sync::Arc;

/// The target and its `ATTACH`es, when the profile resolved.
pub(super) type Resolved = (Target, Vec<profile::Attachment>);

/// The target (`None` when the profile does not resolve: its error is among
/// the errors), the project and every load error. `vars` are `--vars` and
/// the DAG's; `run_values` give `invocation_id`, `run_started_at` and `flags`.
pub(super) fn project_with_target(
    opts: &Options,
    dag: Option<&Dag>,
    dir: &Path,
    env: &Env,
    vars: &Vars,
    run_values: &[(&'static str, minijinja::Value)],
) -> (Option<Resolved>, Project, Vec<Diagnostic>) {
    let named = dag.and_then(|d| d.profile.clone()).or_else(|| project::profile_name(dir));
    match resolve_target(opts, dag, dir, named.as_deref(), env) {
        Ok((mut target, attachments)) => {
            if let Some(t) = opts.threads {
                target.threads = t;
            }
            let render = Arc::new(YamlJinja::new(&target, env, vars.clone(), run_values));
            let (project, errors) = project::load_rendered(dir, Some(render));
            (Some((target, attachments)), project, errors)
        }
        Err(d) => {
            // The project's own errors are reported with the profile's; its
            // YAML values are read as written, as nothing can render them.
            let (project, mut errors) = project::load_all(dir);
            errors.push(d);
            (None, project, errors)
        }
    }
}

/// The profile's target: `profile` is the name the DAG or `dbt_project.yml`
/// gives (rendered here when it holds Jinja), the target `--target`'s or the DAG's.
pub(super) fn resolve_target(
    opts: &Options,
    dag: Option<&Dag>,
    dir: &Path,
    profile: Option<&str>,
    env: &Env,
) -> Result<Resolved, Diagnostic> {
    let path = profile::find_profiles(opts.profiles_dir.as_deref(), dir).ok_or_else(|| {
        Diagnostic::in_file("profiles.yml", "no `profiles.yml` found")
            .hint("put one in the project directory, pass --profiles-dir, or set DBT_PROFILES_DIR")
    })?;
    let shown_path = path.strip_prefix(dir).map(Path::to_path_buf).unwrap_or_else(|_| path.clone());
    let text = crate::yaml::read(&path).map_err(|e| {
        Diagnostic::in_file(&shown_path, format!("cannot read: {e}"))
            .hint("pass --profiles-dir to point at the right directory")
    })?;
    let target = opts.target.as_deref().or(dag.and_then(|d| d.target.as_deref()));
    let rendered = profile::render(&text, &shown_path, env, profile, target)?;
    let name = rendered.profile.ok_or_else(|| {
        Diagnostic::in_file(&shown_path, "no profile chosen").hint("set `profile:` in the DAG or in dbt_project.yml")
    })?;
    profile::resolve(&rendered.yaml, &shown_path, &text, &name, target, dir)
}
