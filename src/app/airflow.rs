//! Wiring of `runner export airflow` and `runner import cosmos`: load the DAG,
//! project and profile (or read the Python file), call `crate::airflow`, print
//! its warnings and write its files.
//!
//! Neither command opens the database or takes its lock.

use super::load::project_with_target;
use super::{find_dag, shown};
use crate::airflow::{self, Mode};
use crate::cli::Options;
use crate::diag::{io_at, Diagnostic};
use crate::error::{Error, EXIT_OK};
use crate::project::{self, env::Env, profile};
use std::path::{Path, PathBuf};

pub(super) fn export(
    opts: &Options,
    name: &str,
    out: &Path,
    mode: Mode,
    runner_bin: Option<&str>,
) -> Result<i32, Error> {
    // A bad schedule, time zone or id fails here, naming the DAG file and key.
    let dag = find_dag(opts, name)?;
    let dag_text = crate::yaml::read(&opts.project_dir.join(&dag.file)).unwrap_or_default();
    let base = absolute(&opts.project_dir);
    let project_dir = absolute(&dag.project_dir);
    let fail = |diags: Vec<Diagnostic>| Error::Load(shown(&project_dir, diags));
    let env = Env::load(&project_dir).map_err(|d| fail(vec![d]))?;
    let vars = crate::template::Vars { layers: vec![opts.vars.clone(), dag.vars.clone()] };
    let (target, _project, errors) = project_with_target(opts, Some(&dag), &project_dir, &env, &vars, &[]);
    let (Some((target, _)), true) = (target, errors.is_empty()) else {
        return Err(fail(errors));
    };
    let profiles_yml = profile::find_profiles(opts.profiles_dir.as_deref(), &project_dir)
        .map(|p| absolute(&p))
        .unwrap_or_else(|| project_dir.join("profiles.yml"));
    let cx = airflow::Context {
        dag: &dag,
        dag_text: &dag_text,
        base,
        project_dir,
        profiles_yml: profiles_yml.clone(),
        profile: target.profile_name.clone(),
        target: target.name.clone(),
        database: target.path.clone(),
        runner_bin: runner_bin.unwrap_or("runner").to_string(),
    };
    let (python, mut warnings) =
        airflow::export(&cx, mode).map_err(|d| Error::Load(shown(&opts.project_dir, vec![d])))?;
    if mode == Mode::Cosmos {
        // cosmos runs dbt in a temporary copy of the project: a relative path
        // in the profile would put the warehouse there, and lose it.
        let text = std::fs::read_to_string(&profiles_yml).unwrap_or_default();
        if !text.contains("DUCKDB_DATABASE_PATH") {
            warnings.push(
                Diagnostic::in_file(&profiles_yml, "the profile does not read `DUCKDB_DATABASE_PATH`, which the exported DAG sets to the warehouse's absolute path")
                    .hint("write `path: \"{{ env_var('DUCKDB_DATABASE_PATH', '…') }}\"`, as dbt resolves a relative path against cosmos' temporary copy of the project"),
            );
        }
    }
    for w in shown(&opts.project_dir, warnings) {
        eprintln!("warning: {w}");
    }
    let path = out.join(format!("{}.py", dag.id));
    write(&path, &python)?;
    println!("wrote {}", path.display());
    Ok(EXIT_OK)
}

pub(super) fn import(opts: &Options, file: &Path, out: Option<&Path>) -> Result<i32, Error> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Error::load(Diagnostic::in_file(file, format!("cannot read: {e}")).hint("name a cosmos DAG file (`.py`)"))
    })?;
    let text = crate::yaml::strip_bom(&text);
    let imported = airflow::import(&absolute(file), file, text).map_err(Error::Load)?;
    let out: PathBuf = out.map(Path::to_path_buf).unwrap_or_else(|| opts.project_dir.join("dags"));
    let mut errors = Vec::new();
    for dag in &imported {
        let path = out.join(format!("{}.yml", dag.dag_id));
        // The YAML must load as runner loads it; a value the translator let
        // through but the DAG loader refuses is still reported against the `.py`.
        if let Err(diags) = project::dag::parse(&path, &path, &dag.yaml, &opts.project_dir) {
            errors.extend(diags.into_iter().map(|d| Diagnostic {
                file: Some(file.to_path_buf()),
                line: None,
                column: None,
                ..d
            }));
        }
        if path.exists() {
            errors.push(
                Diagnostic::in_file(
                    &path,
                    format!("already exists; `runner import cosmos` does not overwrite DAG `{}`", dag.dag_id),
                )
                .hint("remove it, or pass `--out` another folder"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(Error::Load(errors));
    }
    for dag in &imported {
        for w in &dag.warnings {
            eprintln!("warning: {w}");
        }
        let path = out.join(format!("{}.yml", dag.dag_id));
        write(&path, &dag.yaml)?;
        println!("wrote {}", path.display());
    }
    Ok(EXIT_OK)
}

/// `path` made absolute, as the exported file is read on other machines and
/// from other folders; resolved through links when it exists.
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_path_buf())
}

/// Writes through a temporary file and a rename, so a scheduler watching the
/// folder never parses half a file.
fn write(path: &Path, text: &str) -> Result<(), Error> {
    let what = format!("cannot write `{}`", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_at(dir)).map_err(|source| Error::Io { what: what.clone(), source })?;
    }
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path)).map_err(io_at(path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io { what, source: e }
    })
}
