//! dbt's package hub (hub.getdbt.com or the registry at
//! `DBT_PACKAGE_HUB_URL`): its index of packages, each package's versions
//! with their download and dependencies, and the choice of one version as
//! `dbt deps` makes it. Documents are fetched once per run.

use super::{fetch, Failure};
use crate::project::packages::Spec;
use crate::semver::{self, Specifier};
use serde_json::Value;
use std::collections::BTreeMap;

/// dbt's default registry.
const DEFAULT_URL: &str = "https://hub.getdbt.com/";
// The dbt release whose behaviour runner follows (the pinned venv's): a
// package version whose `require_dbt_version` excludes it is not installed,
// as `dbt deps` skips it.
use crate::project::version::DBT_VERSION;

/// One version of a package, as the registry describes it.
#[derive(Debug, Clone)]
pub(super) struct Release {
    /// The package's project name (its folder under `dbt_packages/`).
    pub name: String,
    pub version: String,
    pub tarball: String,
    /// What it depends on, as `packages.yml` entries.
    pub packages: Vec<Spec>,
}

pub(super) struct Hub {
    base: String,
    index: Option<Vec<String>>,
    packages: BTreeMap<String, Value>,
}

impl Hub {
    pub(super) fn from_env() -> Hub {
        let base = std::env::var("DBT_PACKAGE_HUB_URL").ok().filter(|u| !u.trim().is_empty());
        Hub::new(base.as_deref().unwrap_or(DEFAULT_URL))
    }

    pub(super) fn new(base: &str) -> Hub {
        let base = if base.ends_with('/') { base.to_string() } else { format!("{base}/") };
        Hub { base, index: None, packages: BTreeMap::new() }
    }

    fn url(&self, name: &str) -> String {
        format!("{}api/v1/{name}.json", self.base)
    }

    fn check_listed(&mut self, package: &str) -> Result<(), Failure> {
        if self.index.is_none() {
            let url = self.url("index");
            let doc = fetch::json(&url)?;
            let list = doc.as_array().ok_or_else(|| {
                (format!("the hub index `{url}` is not a list"), "check `DBT_PACKAGE_HUB_URL`".to_string())
            })?;
            self.index = Some(list.iter().filter_map(Value::as_str).map(str::to_string).collect());
        }
        match &self.index {
            Some(index) if index.iter().any(|p| p == package) => Ok(()),
            _ => Err((
                format!("package `{package}` was not found in the package index"),
                "check the spelling against hub.getdbt.com (`<org>/<package>`)".into(),
            )),
        }
    }

    fn document(&mut self, package: &str) -> Result<&Value, Failure> {
        if !self.packages.contains_key(package) {
            let url = self.url(package);
            let doc = fetch::json(&url)?;
            if doc.get("name").is_none() || !doc.get("versions").is_some_and(Value::is_object) {
                return Err((format!("`{url}` has no `name` and `versions`"), "check `DBT_PACKAGE_HUB_URL`".into()));
            }
            for (key, moved) in [("redirectnamespace", "organisation"), ("redirectname", "name")] {
                if let Some(to) = doc.get(key).and_then(Value::as_str) {
                    eprintln!("warning: package `{package}` has moved (new {moved}: `{to}`); update `packages.yml`");
                }
            }
            self.packages.insert(package.to_string(), doc);
        }
        Ok(&self.packages[package])
    }

    /// The newest version of `package` that every specifier accepts.
    pub(super) fn resolve(&mut self, package: &str, raw: &[String], prerelease: bool) -> Result<Release, Failure> {
        let specs = Specifier::parse_all(raw)
            .map_err(|e| (format!("package `{package}`: {e}"), "fix `version:`".to_string()))?;
        self.check_listed(package)?;
        let doc = self.document(package)?;
        let versions = doc["versions"].as_object().cloned().unwrap_or_default();
        let compatible: Vec<&str> =
            versions.iter().filter(|(_, info)| dbt_compatible(info)).map(|(v, _)| v.as_str()).collect();
        let prerelease = prerelease || specs.iter().any(Specifier::names_prerelease);
        let chosen = semver::choose(&specs, compatible.iter().copied(), prerelease).ok_or_else(|| {
            let wanted = specs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let have = semver::installable(compatible.iter().copied(), prerelease).join(", ");
            (
                format!("no version of `{package}` matches `{wanted}` (versions for dbt {DBT_VERSION}: {have})"),
                "widen the `version:` range; when several packages ask for this one, their ranges must overlap"
                    .to_string(),
            )
        })?;
        release(package, chosen, &versions[chosen])
    }
}

/// Whether a version's `require_dbt_version` admits the dbt runner follows.
fn dbt_compatible(info: &Value) -> bool {
    let raw: Vec<String> = match info.get("require_dbt_version") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => return true,
    };
    match Specifier::parse_all(&raw) {
        Ok(specs) => semver::choose(&specs, [DBT_VERSION], true).is_some(),
        Err(_) => true,
    }
}

fn release(package: &str, version: &str, info: &Value) -> Result<Release, Failure> {
    let bad = |what: &str| {
        (format!("the hub's entry for `{package}` {version} has no {what}"), "check `DBT_PACKAGE_HUB_URL`".to_string())
    };
    let name = info.get("name").and_then(Value::as_str).ok_or_else(|| bad("`name`"))?.to_string();
    let tarball = info
        .pointer("/downloads/tarball")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`downloads.tarball`"))?
        .to_string();
    let mut packages = Vec::new();
    for entry in info.get("packages").and_then(Value::as_array).into_iter().flatten() {
        let yaml: serde_yaml::Value = serde_json::from_value(entry.clone()).map_err(|_| bad("readable `packages`"))?;
        let spec = crate::project::packages::spec(&yaml).map_err(|e| {
            (format!("`{package}` {version} depends on: {e}"), "report it to the package's authors".to_string())
        })?;
        packages.push(spec);
    }
    Ok(Release { name, version: version.to_string(), tarball, packages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_for_another_dbt_are_passed_over() {
        let v = |r: &str| serde_json::json!({ "require_dbt_version": serde_json::from_str::<Value>(r).expect("json") });
        assert!(dbt_compatible(&v(r#"[">=1.3.0", "<2.0.0"]"#)));
        assert!(!dbt_compatible(&v(r#"[">=1.11.0"]"#)));
        assert!(!dbt_compatible(&v(r#"">=0.20.0,<1.0.0""#)));
        assert!(dbt_compatible(&serde_json::json!({})));
    }

    #[test]
    fn a_release_carries_its_name_download_and_dependencies() {
        let info = serde_json::json!({
            "name": "dbt_date", "packages": [{"package": "dbt-labs/dbt_utils", "version": [">=1.0.0", "<2.0.0"]}],
            "downloads": {"tarball": "https://codeload.github.com/x/y/tar.gz/0.10.0"}
        });
        let r = release("godatadriven/dbt_date", "0.10.0", &info).expect("release");
        assert_eq!(r.name, "dbt_date");
        assert_eq!(r.packages.len(), 1);
        assert!(release("a/b", "1.0.0", &serde_json::json!({"name": "b"})).is_err());
    }
}
