//! Macro files into the Jinja environment: runner's built-in package, the
//! project's and each installed package's, rewritten for the Python-style
//! values runner emulates, compiled once, with a name defined twice in one
//! package reported at its line. Decides nothing about which macro a call
//! resolves to (that is [`super::namespaces`]).

use super::{builtins, macros, namespaces, pyobj, pyops};
use crate::diag::Diagnostic;
use crate::project::Project;
use minijinja::{Environment, Error};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Compiles every macro file (runner's built-ins, the project's, each
/// package's) and registers the globals [`namespaces::MacroIndex`] decides;
/// a name defined twice in one package is an error naming both files.
pub(super) fn load_macros(
    jinja: &mut Environment<'static>,
    files: &mut BTreeMap<String, PathBuf>,
    errors: &mut Vec<Diagnostic>,
    project: &Project,
) -> Arc<namespaces::MacroIndex> {
    let mut index =
        namespaces::MacroIndex { root: project.name.clone(), dispatch: project.dispatch.clone(), ..Default::default() };
    let builtins: Vec<crate::project::SqlFile> = builtins::files();
    let sets =
        std::iter::once((namespaces::BUILTIN, &builtins)).chain(project.all().map(|p| (p.name.as_str(), &p.macros)));
    for (package, macro_files) in sets {
        let owners = index.packages.entry(package.to_string()).or_default();
        for m in macro_files {
            let name = m.path.display().to_string();
            let text =
                pyobj::rewrite_mutable_literals(&macros::rewrite_blocks(&pyops::rewrite_datetime_arithmetic(&m.text)));
            let (renamed, mut signatures) = macros::rename_definitions(&text);
            for macro_name in macros::macro_names(&text) {
                if let Some((prev, _)) = owners.get(&macro_name) {
                    let line = crate::config::find_line(&text, &macro_name);
                    errors.push(
                        Diagnostic::in_file(&m.path, format!("macro `{macro_name}` is also defined in `{prev}`"))
                            .at(line, None)
                            .hint("macro names must be unique within a project or package"),
                    );
                    continue;
                }
                let signature = signatures.remove(&macro_name).map(Arc::new);
                owners.insert(macro_name, (name.clone(), signature));
            }
            add(jinja, files, errors, name, renamed, m.path.clone());
        }
    }
    let index = Arc::new(index);
    for (name, value) in index.globals() {
        jinja.add_global(name, value);
    }
    index
}

fn add(
    jinja: &mut Environment<'static>,
    files: &mut BTreeMap<String, PathBuf>,
    errors: &mut Vec<Diagnostic>,
    name: String,
    text: String,
    path: PathBuf,
) {
    if let Err(e) = jinja.add_template_owned(name.clone(), text) {
        errors.push(compile_error(&e, &path));
    }
    files.insert(name, path);
}

/// A template's syntax error, at its line in `path`.
pub(super) fn compile_error(e: &Error, path: &Path) -> Diagnostic {
    let msg = e.detail().map(|d| format!("{}: {d}", e.kind())).unwrap_or_else(|| e.kind().to_string());
    Diagnostic::in_file(path, msg).at(e.line(), None)
}
