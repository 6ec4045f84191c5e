//! `runner debug`: where the project and profile are, whether they load,
//! which database the target names, and whether it can be opened — dbt's
//! `debug`, with its `Connection test: [OK connection ok]` line.
//!
//! Exit 2 when the project or profile is bad, 1 when the connection fails.
//! Opens the database read-only under the shared lock, so it never waits
//! long on a writer and never creates a database file.

use super::load::project_with_target;
use super::shown;
use crate::cli::Options;
use crate::db::{self, Holder, LockMode, LockRequest};
use crate::diag::Diagnostic;
use crate::error::{Error, EXIT_NODE_FAILURE, EXIT_OK};
use crate::project::dag::Dag;
use crate::project::{self, env::Env, profile, profile::Target};
use crate::secrets;
use std::path::Path;
use std::time::Duration;

/// How long `debug` waits for a writer's lock when `--lock-timeout` is not given.
const DEFAULT_WAIT: Duration = Duration::from_secs(10);

fn status(ok: bool, ok_text: &str, err_text: &str) -> String {
    if ok {
        format!("[OK {ok_text}]")
    } else {
        format!("[ERROR {err_text}]")
    }
}

pub(super) fn run(opts: &Options, dag: Option<&Dag>) -> Result<i32, Error> {
    let dir = dag.map(|d| d.project_dir.clone()).unwrap_or_else(|| opts.project_dir.clone());
    println!("runner version: {}", env!("CARGO_PKG_VERSION"));
    println!("Using project dir at {}", dir.display());
    let profiles = profile::find_profiles(opts.profiles_dir.as_deref(), &dir);
    match &profiles {
        Some(p) => println!("Using profiles.yml file at {}", p.display()),
        None => println!("No profiles.yml found (looked in --profiles-dir, $DBT_PROFILES_DIR, the project, ~/.dbt)"),
    }
    let dbt_project = dir.join("dbt_project.yml");
    if dbt_project.exists() {
        println!("Using dbt_project.yml file at {}", dbt_project.display());
    } else {
        println!("No dbt_project.yml at {} (defaults apply)", dir.display());
    }
    println!();

    let mut problems: Vec<Diagnostic> = Vec::new();
    let env = Env::load(&dir).map_err(|d| problems.push(d)).ok();
    let vars =
        crate::template::Vars { layers: vec![opts.vars.clone(), dag.map(|d| d.vars.clone()).unwrap_or_default()] };
    let resolved = match &env {
        Some(env) => {
            let (resolved, _project, errors) = project_with_target(opts, dag, &dir, env, &vars, &[]);
            problems.extend(errors);
            resolved
        }
        None => {
            problems.extend(project::load_all(&dir).1);
            None
        }
    };
    let (target, attachments) = match resolved {
        Some((target, attachments)) => (Some(target), attachments),
        None => (None, Vec::new()),
    };
    let profile_bad = |d: &Diagnostic| d.file.as_deref().is_some_and(|f| f.ends_with("profiles.yml"));
    let profile_ok = target.is_some() && !problems.iter().any(profile_bad);
    let (in_dbt_project, in_files): (Vec<&Diagnostic>, Vec<&Diagnostic>) = problems
        .iter()
        .filter(|d| !profile_bad(*d))
        .partition(|d| d.file.as_deref().is_some_and(|f| f.ends_with("dbt_project.yml")));
    println!("Configuration:");
    println!("  profiles.yml file {}", status(profile_ok, "found and valid", "invalid"));
    println!("  dbt_project.yml file {}", status(in_dbt_project.is_empty(), "found and valid", "invalid"));
    println!("  project files {}", status(in_files.is_empty(), "found and valid", "invalid"));
    println!();

    let Some(target) = target else {
        println!("Connection test skipped since no profile was found");
        return Err(Error::Load(shown(&dir, problems)));
    };
    // As dbt does, what a profile read from a secret env var, or holds under
    // a credential's name, is shown as `*****`.
    let secret_values = env.as_ref().map(|e| e.values_with_prefix(secrets::PREFIX)).unwrap_or_default();
    let masked = |text: &str| secrets::scrub(text, &secret_values);
    println!("Connection:");
    println!("  profile: {}", target.profile_name);
    println!("  target: {}", target.name);
    println!("  database: {}", masked(&target.database));
    println!("  schema: {}", masked(&target.schema));
    println!("  path: {}", masked(&target.path.display().to_string()));
    println!("  threads: {}", opts.threads.unwrap_or(target.threads));
    let settings: Vec<String> =
        target.settings.iter().map(|(k, v)| format!("{k}: {}", secrets::shown_value(k, v, &secret_values))).collect();
    println!("  settings: {{{}}}", settings.join(", "));
    // Secrets by name and type; every value masked.
    if !target.secrets.is_empty() {
        let shown: Vec<String> = target.secrets.iter().map(|s| masked(&s.shown)).collect();
        println!("  secrets: [{}]", shown.join(", "));
    }
    // What reads parquet and JSON, and works with no network: the extensions compiled in.
    match db::setup::built_in_extensions() {
        Ok(names) => println!("  extensions built in: {}", names.join(", ")),
        Err(e) => println!("  extensions built in: [ERROR {e}]"),
    }
    // What `run` checks before it touches the database: a secret whose
    // extension cannot load fails here as it would there (exit 2).
    match db::check_profile(&target.settings, &target.extensions, &attachments, &target.secrets) {
        Ok(()) => println!("  profile check: [OK settings, extensions, attach and secrets load]"),
        Err(e) => {
            println!("  profile check: [ERROR]");
            let message =
                format!("profile `{}`, target `{}`: {}", target.profile_name, target.name, masked(&e.message));
            let d = Diagnostic::in_file("profiles.yml", message);
            problems.push(match e.hint {
                Some(h) => d.hint(h),
                None => d.hint("fix the profile's `settings:`, `extensions:`, `attach:` or `secrets:` (see DuckDB's documentation)"),
            });
        }
    }
    let connection = connection_test(opts, &target);
    match &connection {
        Ok(note) => println!("  Connection test: [OK connection ok]{note}"),
        Err(_) => println!("  Connection test: [ERROR]"),
    }
    println!();
    if !problems.is_empty() {
        return Err(Error::Load(shown(&dir, problems)));
    }
    match connection {
        Ok(_) => {
            println!("All checks passed!");
            Ok(EXIT_OK)
        }
        Err(e) => {
            println!("1 check failed:");
            println!("runner was unable to connect to the database `{}`:", masked(&target.path.display().to_string()));
            println!("  {}", masked(&e).replace('\n', "\n  "));
            Ok(EXIT_NODE_FAILURE)
        }
    }
}

/// Opens the database read-only and runs `select 1`; a file that does not
/// exist yet passes when its directory could be created. `Ok` carries a note.
fn connection_test(opts: &Options, target: &Target) -> Result<String, String> {
    let path = &target.path;
    let in_memory = path == Path::new(":memory:");
    if !in_memory && !path.exists() {
        // A run creates the file, never its folder.
        db::check_path(path).map_err(|d| d.to_string())?;
        return creatable(path).map(|()| " (the file does not exist yet; the first run creates it)".to_string());
    }
    let timeout = Some(opts.lock_timeout.unwrap_or(DEFAULT_WAIT));
    let _lock = if in_memory {
        None
    } else {
        let holder = Holder::current("runner debug".into(), None, None);
        let request = LockRequest { db_path: path.clone(), mode: LockMode::Shared, holder, timeout };
        let guard = db::acquire(request, &mut |h| match h {
            Some(h) => eprintln!("waiting for the lock on `{}`: held by {h}", path.display()),
            None => eprintln!("waiting for the lock on `{}`", path.display()),
        });
        Some(guard.map_err(|e| e.to_string())?)
    };
    let database = db::open(path, !in_memory, &target.settings, timeout, &mut |who| {
        eprintln!("waiting for `{}`: DuckDB reports it is held by {who}, which is not runner", path.display());
    })
    .map_err(|e| e.to_string())?;
    let conn = database.connect().map_err(|e| e.to_string())?;
    conn.execute_batch("select 1").map_err(|e| e.to_string())?;
    if database.catalog() != target.database {
        return Err(format!(
            "DuckDB names the database `{}` but the profile expects `{}`\n(hint: set `database: {}` in the profile's output)",
            database.catalog(),
            target.database,
            database.catalog()
        ));
    }
    // Connections before the database, the database before the lock.
    drop(conn);
    drop(database);
    Ok(String::new())
}

/// Whether a database file could be created at `path`: its nearest existing
/// ancestor must be a writable directory.
fn creatable(path: &Path) -> Result<(), String> {
    let mut dir = path.parent();
    while let Some(d) = dir {
        let d = if d.as_os_str().is_empty() { Path::new(".") } else { d };
        if let Ok(meta) = std::fs::metadata(d) {
            if !meta.is_dir() {
                return Err(format!("cannot create `{}`: `{}` is not a directory", path.display(), d.display()));
            }
            if meta.permissions().readonly() {
                return Err(format!("cannot create `{}`: `{}` is read-only", path.display(), d.display()));
            }
            return Ok(());
        }
        dir = d.parent();
    }
    Err(format!("cannot create `{}`: no existing directory above it", path.display()))
}
