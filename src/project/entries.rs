//! Checks and extras around the entries of property files: unit test
//! fixture files (named by stem, as dbt names them) and dbt's warning for an
//! entry that names no node. The parsing of property files is `properties`.

use super::{stem, Project, Walk};
use crate::diag::Diagnostic;
use std::collections::BTreeMap;

/// Unit test fixtures under each `<test-path>/fixtures/`, by file stem as
/// dbt names them; one name in two files is an error naming both.
pub(super) fn fixture_files(w: &mut Walk, test_paths: &[String]) -> BTreeMap<String, super::unit_tests::FixtureFile> {
    use super::unit_tests::{FixtureFile, Format};
    let dirs: Vec<String> = test_paths.iter().map(|t| format!("{t}/fixtures")).collect();
    let mut out: BTreeMap<String, FixtureFile> = BTreeMap::new();
    for (p, _) in w.files(&dirs, &["csv", "sql"], &[]) {
        let Some(text) = w.read(&p) else { continue };
        let format = if p.extension().is_some_and(|e| e == "sql") { Format::Sql } else { Format::Csv };
        let file = FixtureFile { path: w.rel(&p), text, format };
        if let Some(first) = out.get(&stem(&p)) {
            w.errors.push(
                Diagnostic::in_file(
                    &file.path,
                    format!("unit test fixture `{}` is also `{}`", stem(&p), first.path.display()),
                )
                .hint("fixture names are file names without the extension: rename one"),
            );
            continue;
        }
        out.insert(stem(&p), file);
    }
    out
}

/// dbt's warning for a property entry that names no model, seed or snapshot
/// ("Did not find matching node for patch with name …"): a typo there would
/// otherwise drop its tests and config without a word.
pub(super) fn unmatched(project: &Project) -> Vec<Diagnostic> {
    use std::collections::BTreeSet;
    let models: BTreeSet<&str> = project.models.iter().map(|m| m.name.as_str()).collect();
    let seeds: BTreeSet<&str> = project.seeds.iter().map(|s| s.name.as_str()).collect();
    let snapshots: BTreeSet<&str> = project.snapshots.iter().map(|s| s.name.as_str()).collect();
    let sections = [
        ("models", &project.model_props, models),
        ("seeds", &project.seed_props, seeds),
        ("snapshots", &project.snapshot_props, snapshots),
    ];
    let mut out = Vec::new();
    for (section, props, known) in sections {
        // A versioned model's entry is matched version by version (`versions::resolve`).
        let unknown = |(name, entry): &(&String, &super::NodeProps)| !entry.versioned && !known.contains(name.as_str());
        for (name, entry) in props.iter().filter(unknown) {
            let close = crate::diag::closest(name, known.iter().copied());
            let what = format!("did not find a node named `{name}` for this entry of `{section}`");
            let d = Diagnostic::in_file(&entry.file, what).at(entry.line, None);
            out.push(match close {
                Some(c) => d.hint(format!("did you mean `{c}`? its tests and config apply to nothing")),
                None => d.hint("its tests and config apply to nothing: fix the name or remove the entry"),
            });
        }
    }
    out
}
