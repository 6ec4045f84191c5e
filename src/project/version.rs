//! `require-dbt-version`, checked as dbt checks it for the root project and
//! every installed package: against the dbt release whose behaviour runner
//! follows ([`DBT_VERSION`], also what the manifest reports), refusing a
//! range that no release can meet and one that excludes this release.
//! dbt's `--no-version-check` is the `DBT_VERSION_CHECK=false` environment
//! variable or `flags: {version_check: false}` in the root `dbt_project.yml`.
//! Reads no files; the error joins the load's.

use super::Walk;
use crate::config::dbt_project::RawDbtProject;
use crate::diag::Diagnostic;
use crate::semver::Specifier;
use serde_yaml::Value;
use std::path::Path;

/// The dbt-core release runner behaves as (the pinned venv's).
pub(crate) const DBT_VERSION: &str = "1.10.23";

/// Whether the check is turned off: dbt's `DBT_VERSION_CHECK` (any of
/// `0`, `false`, `f`, `no`, `n`, `off`, as click reads a boolean) or the root
/// project's `flags: {version_check: false}`.
pub(crate) fn disabled(root_flags: Option<&Value>) -> bool {
    let env_off = std::env::var("DBT_VERSION_CHECK")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "f" | "no" | "n" | "off"));
    let flag_off = root_flags.and_then(|f| f.get("version_check")).and_then(Value::as_bool) == Some(false);
    env_off || flag_off
}

/// The `require-dbt-version` of one project (`file` its `dbt_project.yml`,
/// `text` that file) checked, unless the root project's `flags` or the
/// environment turn the check off; a problem joins `w.errors`.
pub(super) fn check(
    w: &mut Walk,
    raw: &RawDbtProject,
    text: &str,
    file: &Path,
    project: &str,
    root_flags: Option<&Value>,
) {
    if disabled(root_flags) {
        return;
    }
    if let Some(d) = problem(raw.require_dbt_version.as_ref(), text, file, project) {
        w.errors.push(d);
    }
}

/// What is wrong with a `require-dbt-version`, if anything, worded as dbt's
/// error (file and line of the key).
pub(crate) fn problem(required: Option<&Value>, text: &str, file: &Path, project: &str) -> Option<Diagnostic> {
    let raw: Vec<String> = match required? {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_default()).collect(),
        other => vec![serde_yaml::to_string(other).unwrap_or_default().trim().to_string()],
    };
    let line = crate::config::key_line(text, "require-dbt-version");
    let at = |msg: String| Diagnostic::in_file(file, msg).at(line, None);
    let specs = match Specifier::parse_all(&raw) {
        Ok(s) => s,
        Err(e) => return Some(at(format!("`require-dbt-version`: {e}"))),
    };
    let shown: Vec<String> = specs.iter().map(|s| format!("'{}'", s.dbt_string())).collect();
    let shown = format!("[{}]", shown.join(", "));
    let hint = format!(
        "check for a different version of the `{project}` package, or set `DBT_VERSION_CHECK=false` to run anyway (dbt's --no-version-check)"
    );
    if !crate::semver::satisfiable(&specs) {
        return Some(
            at(format!(
                "the package version requirement can never be satisfied for the `{project}` package: required versions of dbt for `{project}`: {shown}"
            ))
            .hint(hint),
        );
    }
    let installed = crate::semver::Version::parse(DBT_VERSION)?;
    if !specs.iter().all(|s| s.accepts(&installed)) {
        return Some(
            at(format!(
                "this version of dbt is not supported with the `{project}` package: installed version of dbt: ={DBT_VERSION}, required version of dbt for `{project}`: {shown}"
            ))
            .hint(hint),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Option<String> {
        let v: Value = serde_yaml::from_str(yaml).expect("yaml");
        problem(Some(&v), "name: p\nrequire-dbt-version: x\n", Path::new("dbt_project.yml"), "p").map(|d| {
            assert_eq!(d.line, Some(2));
            d.message
        })
    }

    #[test]
    fn ranges_that_admit_this_release_pass() {
        assert_eq!(check("'>=1.0.0'"), None);
        assert_eq!(check("['>=1.3.0', '<2.0.0']"), None);
        assert_eq!(check("'>=1.10.0,<1.11.0'"), None);
        assert_eq!(check(&format!("'{DBT_VERSION}'")), None);
    }

    #[test]
    fn unmet_and_impossible_ranges_are_dbts_errors() {
        let m = check("['>=1.11.0', '<2.0.0']").expect("unmet");
        assert_eq!(
            m,
            "this version of dbt is not supported with the `p` package: installed version of dbt: =1.10.23, \
             required version of dbt for `p`: ['>=1.11.0', '<2.0.0']"
        );
        let m = check("'<1.5.0'").expect("unmet");
        assert!(m.contains("['<1.5.0']"), "{m}");
        let m = check("'>=2.0.0,<1.0.0'").expect("impossible");
        assert!(m.starts_with("the package version requirement can never be satisfied for the `p` package"), "{m}");
        assert!(m.contains("['>=2.0.0', '<1.0.0']"), "{m}");
        assert!(check("'1.0.0'").expect("exact").contains("['=1.0.0']"));
        assert!(check("'banana'").expect("bad").contains("is not a version"));
    }
}
