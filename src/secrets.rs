//! Secrets: dbt's secret env vars (`DBT_ENV_SECRET_…`), credential-like
//! profile settings, and the command line other users can read.
//!
//! As in dbt, a secret env var may be read only while rendering
//! `profiles.yml`; a model, macro, test or property file that asks for one is
//! refused (see `template::env_var`), so its value never reaches compiled
//! SQL, artifacts, logs, the run history or the database. What the profile
//! did read is shown masked as `*****`, dbt's mask. The lock file is
//! world-readable, so the command line recorded there keeps flag names and
//! positional arguments but never a flag's value (`--vars` may hold
//! credentials). This module decides what is secret and how it is shown; it
//! reads no files and prints nothing.

/// dbt's prefix of the env vars it treats as secrets.
pub(crate) const PREFIX: &str = "DBT_ENV_SECRET_";

/// What dbt prints in place of a secret.
pub(crate) const MASK: &str = "*****";

/// How to fix a refused secret, shared by the load-time and render-time checks.
pub(crate) const HINT: &str = "dbt allows `DBT_ENV_SECRET_…` variables only in profiles.yml and packages.yml; \
     read the secret in the profile, e.g. under `settings:` or in an `attach:` option, \
     or rename the variable if it holds no secret";

/// Whether `name` is a secret env var in dbt's sense.
pub(crate) fn is_secret(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// The refusal of a secret read outside `profiles.yml` (dbt: "Secret env vars
/// are allowed only in profile or packages.yml").
pub(crate) fn refusal(name: &str) -> String {
    format!("secret env var `{name}` is read outside profiles.yml")
}

/// Parts of a setting's name that say it holds a credential (DuckDB's
/// `s3_secret_access_key`, `s3_session_token`, `azure_storage_connection_string`,
/// MotherDuck's `motherduck_token`, …).
const SECRET_KEY_PARTS: &[&str] =
    &["secret", "password", "passwd", "token", "credential", "connection_string", "access_key", "api_key", "private"];

/// Whether a profile key (a setting's name) looks like it holds a credential.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|p| key.contains(p))
}

/// A profile value as `runner debug` shows it: masked when its key looks
/// secret or when it holds the value of a secret env var.
pub(crate) fn shown_value(key: &str, value: &str, secret_values: &[String]) -> String {
    if is_secret_key(key) && !value.is_empty() {
        return MASK.to_string();
    }
    scrub(value, secret_values)
}

/// `text` with every (non-empty) secret value replaced by [`MASK`], as dbt's
/// `scrub_secrets` does to everything it logs.
pub(crate) fn scrub(text: &str, secret_values: &[String]) -> String {
    let mut out = text.to_string();
    // Longest first, so a secret that contains another is masked whole.
    let mut values: Vec<&String> = secret_values.iter().filter(|v| !v.is_empty()).collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in values {
        out = out.replace(v.as_str(), MASK);
    }
    out
}

/// The command line to record for other users to read: the program's file
/// name, then every flag name and positional argument, with each flag's value
/// shown as `…` (`runner run my_dag --vars …`, `--vars=…`).
///
/// A word after a flag is taken for the flag's value: a positional after a
/// switch such as `--full-refresh` is hidden too, which only ever hides more.
pub(crate) fn command_without_values(args: impl IntoIterator<Item = String>) -> String {
    let mut args = args.into_iter();
    let program = args.next().map(|a| match a.rsplit_once('/') {
        Some((_, name)) => name.to_string(),
        None => a,
    });
    let mut shown: Vec<String> = program.into_iter().collect();
    let mut after_flag = false;
    let mut only_positionals = false;
    for arg in args {
        if only_positionals {
            shown.push("…".into());
            continue;
        }
        if arg == "--" {
            only_positionals = true;
            shown.push(arg);
        } else if let Some(flag) = arg.strip_prefix('-').filter(|f| !f.is_empty()) {
            match flag.split_once('=') {
                Some((name, _)) => {
                    shown.push(format!("-{name}=…"));
                    after_flag = false;
                }
                None if !flag.starts_with('-') && flag.len() > 1 => {
                    // `-sVALUE`: a short flag with its value attached.
                    shown.push(format!("-{}…", &flag[..flag.chars().next().map_or(1, char::len_utf8)]));
                    after_flag = false;
                }
                None => {
                    shown.push(arg);
                    after_flag = true;
                }
            }
        } else if after_flag {
            shown.push("…".into());
            after_flag = false;
        } else {
            shown.push(arg);
        }
    }
    shown.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn flag_values_are_never_shown() {
        assert_eq!(
            command_without_values(args("/usr/bin/runner run my_dag --vars {pw:hunter2} --target prod")),
            "runner run my_dag --vars … --target …"
        );
        assert_eq!(command_without_values(args("runner run my_dag --vars={pw:hunter2}")), "runner run my_dag --vars=…");
        assert_eq!(command_without_values(args("runner run -sstg_x my_dag")), "runner run -s… my_dag");
        assert_eq!(command_without_values(args("runner clear --failed-only run_1")), "runner clear --failed-only …");
        assert_eq!(command_without_values(args("runner run -- x")), "runner run -- …");
    }

    #[test]
    fn secret_keys_and_values_are_masked() {
        let secrets = vec!["hunter2".to_string(), String::new()];
        assert_eq!(shown_value("s3_secret_access_key", "abc", &secrets), MASK);
        assert_eq!(shown_value("S3_SESSION_TOKEN", "abc", &secrets), MASK);
        assert_eq!(shown_value("threads", "4", &secrets), "4");
        assert_eq!(shown_value("s3_endpoint", "u:hunter2@h", &secrets), "u:*****@h");
        assert_eq!(scrub("no secret here", &secrets), "no secret here");
        assert!(is_secret("DBT_ENV_SECRET_PW") && !is_secret("DBT_ENV_PW"));
    }
}
