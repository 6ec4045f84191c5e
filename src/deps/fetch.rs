//! Getting package files over the network: `curl` for HTTP(S) and `tar` to
//! unpack a `.tar.gz` the way dbt does (every entry under the destination,
//! the one top folder renamed to the package's name), as the `git` command
//! is used for git packages.
//!
//! Why commands and not crates: any crate here that DuckDB's build script
//! also uses (an HTTP/TLS stack, `tar`, `flate2`) changes that build's
//! features and recompiles DuckDB (45 minutes) on every machine; `curl`
//! also honours the machine's proxy and CA settings, and GNU tar refuses
//! entries that would land outside the folder (`..`, absolute paths).
//! Owns no package logic.

use super::Failure;
use std::path::{Path, PathBuf};
use std::process::Command;

fn curl(url: &str, out: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let mut cmd = Command::new("curl");
    cmd.args(["--fail", "--silent", "--show-error", "--location", "--retry", "3", "--max-time", "120"]);
    if let Some(out) = out {
        cmd.arg("--output").arg(out);
    }
    let output = cmd.arg(url).output().map_err(|e| {
        (
            format!("cannot run `curl` ({e})"),
            "install curl, or download the package yourself and list it as `local:`".into(),
        )
    })?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err((
            format!("cannot download `{url}`: {err}"),
            "check the network, or the hub's address in `DBT_PACKAGE_HUB_URL`".into(),
        ));
    }
    Ok(output.stdout)
}

/// The JSON document at `url`.
pub(super) fn json(url: &str) -> Result<serde_json::Value, Failure> {
    let body = curl(url, None)?;
    serde_json::from_slice(&body)
        .map_err(|e| (format!("`{url}` is not JSON ({e})"), "check the hub's address in `DBT_PACKAGE_HUB_URL`".into()))
}

/// Downloads the `.tar.gz` at `url` and unpacks it into `into/<name>`:
/// the archive's one top folder becomes that folder, as dbt renames it.
pub(super) fn tarball(url: &str, downloads: &Path, name: &str) -> Result<PathBuf, Failure> {
    let archive = downloads.join(format!("{name}.tar.gz"));
    curl(url, Some(&archive))?;
    let unpacked = downloads.join(format!("{name}.unpacked"));
    let _ = std::fs::remove_dir_all(&unpacked);
    unpack(&archive, &unpacked)
        .map_err(|e| (format!("cannot unpack `{url}`: {e}"), "the download is not a .tar.gz archive".into()))?;
    let top = single_top(&unpacked)
        .map_err(|e| (format!("cannot unpack `{url}`: {e}"), "a package archive holds one top folder".into()))?;
    Ok(top)
}

fn unpack(archive: &Path, into: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(into)?;
    let out = Command::new("tar").arg("-xzf").arg(archive).arg("-C").arg(into).output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    Ok(())
}

/// The folder an archive's entries share, as dbt takes `commonprefix` of them.
fn single_top(dir: &Path) -> std::io::Result<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.retain(|p| p.file_name().is_some_and(|n| n != "pax_global_header"));
    match entries.as_slice() {
        [one] if one.is_dir() => Ok(one.clone()),
        _ => Ok(dir.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tar -czf` of `entries` (paths relative to a scratch folder, as written).
    fn archive(dir: &Path, entries: &[(&str, &str)]) -> PathBuf {
        let src = dir.join("src");
        for (name, body) in entries {
            let p = src.join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, body).expect("write");
        }
        let path = dir.join("a.tar.gz");
        let names: Vec<&str> = entries.iter().map(|(n, _)| *n).collect();
        let ok = Command::new("tar").arg("-czf").arg(&path).arg("-C").arg(&src).args(&names).status().expect("tar");
        assert!(ok.success());
        path
    }

    #[test]
    fn the_one_top_folder_is_the_package() {
        let tmp = tempfile::tempdir().expect("tmp");
        let a = archive(
            tmp.path(),
            &[("dbt-utils-1.3.0/dbt_project.yml", "name: dbt_utils\n"), ("dbt-utils-1.3.0/macros/m.sql", "")],
        );
        let into = tmp.path().join("out");
        unpack(&a, &into).expect("unpack");
        let top = single_top(&into).expect("top");
        assert_eq!(top, into.join("dbt-utils-1.3.0"));
        assert!(top.join("macros/m.sql").is_file());
    }

    #[test]
    fn entries_outside_the_folder_are_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let inner = tmp.path().join("a/b");
        std::fs::create_dir_all(&inner).expect("mkdir");
        std::fs::write(tmp.path().join("a/evil.sql"), "x").expect("write");
        let path = tmp.path().join("evil.tar.gz");
        // -P keeps the `../` in the member name, as a hostile archive would have it.
        let ok =
            Command::new("tar").current_dir(&inner).arg("-czPf").arg(&path).arg("../evil.sql").status().expect("tar");
        assert!(ok.success());
        std::fs::remove_file(tmp.path().join("a/evil.sql")).expect("rm");
        let into = inner.join("out");
        let _ = unpack(&path, &into);
        assert!(!inner.join("evil.sql").exists() && !tmp.path().join("a/evil.sql").exists());
    }
}
