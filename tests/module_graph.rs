//! The top-level modules of `src/` (each `src/X.rs` or `src/X/`) import
//! each other without a cycle, so they read bottom-up in the order
//! `ARCHITECTURE.md` gives. An import is any `crate::X` path (a `use`, a
//! type, a call; `crate::{X, …}` groups and `super::` chains reaching the
//! crate root included) in code that is built into the binary: comments,
//! string literals, `#[cfg(test)]` items and the files of `#[cfg(test)]`
//! modules do not count, as tests may reach anywhere.
//!
//! On a cycle the test fails printing one loop (`a -> b -> c -> a`) and, for
//! each step, the file and line of the import, so the edge to cut is named.

#[path = "module_graph/lex.rs"]
mod lex;

use lex::{item_end, tokens, Tok};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where an import was first seen: the file (relative to `src/`) and line.
type Seen = (PathBuf, usize);

/// `from` → `to` → where `from` first imports `to`.
type Graph = BTreeMap<String, BTreeMap<String, Seen>>;

/// What one file imports from other top-level modules, and the files its
/// `#[cfg(test)] mod x;` declarations bring in (to leave out).
struct FileScan {
    /// (top-level module, line)
    imports: Vec<(String, usize)>,
    test_files: Vec<PathBuf>,
}

/// Scans `text`, the file `rel` (relative to `src/`) of module path `module`
/// (`["nodes", "generic"]` for `src/nodes/generic.rs`).
fn scan(rel: &Path, module: &[String], text: &str, tops: &BTreeSet<String>) -> FileScan {
    let toks = tokens(text);
    let mut imports = Vec::new();
    let mut test_files = Vec::new();
    // The directory a `mod x;` of this file is looked up in.
    let is_mod_rs = matches!(rel.file_name().and_then(|f| f.to_str()), Some("mod.rs" | "lib.rs" | "main.rs"));
    let dir = rel.parent().unwrap_or(Path::new(""));
    let child_dir = if is_mod_rs { dir.to_path_buf() } else { dir.join(rel.file_stem().unwrap_or_default()) };
    // Inline `mod x { … }` blocks open: (brace depth inside, name).
    let mut inline: Vec<(i32, String)> = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Attr(a) if a == "cfg(test)" => {
                // Skip further attributes, then the item they apply to.
                let mut j = i + 1;
                let mut path_attr = None;
                while let Some((Tok::Attr(a), _)) = toks.get(j) {
                    path_attr = a.strip_prefix("path=").map(|p| p.trim_matches('"').to_string()).or(path_attr);
                    j += 1;
                }
                let end = item_end(&toks, j);
                // `mod x;` (maybe `pub(…) mod x;`): its file is test code too.
                let item: Vec<&Tok> = toks[j..end].iter().map(|t| &t.0).collect();
                if let [.., Tok::Ident(kw), Tok::Ident(name), Tok::Punct(';')] = item.as_slice() {
                    if kw == "mod" && inline.is_empty() {
                        match &path_attr {
                            Some(p) => test_files.push(dir.join(p)),
                            None => {
                                test_files.push(child_dir.join(format!("{name}.rs")));
                                test_files.push(child_dir.join(name).join("mod.rs"));
                            }
                        }
                    }
                }
                i = end;
                continue;
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Punct('{'), _))) = (toks.get(i + 1), toks.get(i + 2)) {
                    depth += 1;
                    inline.push((depth, name.clone()));
                    i += 3;
                    continue;
                }
            }
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(d, _)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            Tok::Ident(first) if first == "crate" || first == "super" => {
                // Only a path's first segment: `a::crate` cannot occur, and
                // `self::super` is not written.
                let after_path = i > 0 && toks[i - 1].0 == Tok::Path;
                if !after_path {
                    let line = toks[i].1;
                    let mut j = i;
                    // How many module levels up from here the path starts.
                    let here = module.len() + inline.len();
                    let mut up = 0;
                    if first == "crate" {
                        up = here;
                        j += 1;
                    } else {
                        while toks.get(j).is_some_and(|t| t.0 == Tok::Ident("super".into())) {
                            up += 1;
                            j += 1;
                            if toks.get(j).is_some_and(|t| t.0 == Tok::Path)
                                && toks.get(j + 1).is_some_and(|t| t.0 == Tok::Ident("super".into()))
                            {
                                j += 1;
                            }
                        }
                    }
                    if up == here && toks.get(j).is_some_and(|t| t.0 == Tok::Path) {
                        for name in first_segments(&toks, j + 1) {
                            if tops.contains(&name) && name != module[0] {
                                imports.push((name, line));
                            }
                        }
                    }
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    FileScan { imports, test_files }
}

/// The first segment of the path at `i` (after `crate::`), or of each
/// path of a `{a, b::c, …}` group there.
fn first_segments(toks: &[(Tok, usize)], i: usize) -> Vec<String> {
    match toks.get(i).map(|t| &t.0) {
        Some(Tok::Ident(name)) => vec![name.clone()],
        Some(Tok::Punct('{')) => {
            let mut out = Vec::new();
            let mut depth = 0;
            let mut at_start = true;
            for (t, _) in &toks[i..] {
                match t {
                    Tok::Punct('{') => {
                        depth += 1;
                        at_start = depth == 1;
                    }
                    Tok::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Tok::Punct(',') if depth == 1 => at_start = true,
                    Tok::Ident(name) if at_start && depth == 1 => {
                        out.push(name.clone());
                        at_start = false;
                    }
                    _ => at_start = false,
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

/// The import graph of the top-level modules of the crate whose files are
/// `files` (path relative to `src/`, text).
fn graph(files: &BTreeMap<PathBuf, String>) -> (BTreeSet<String>, Graph) {
    let mut tops = BTreeSet::new();
    for rel in files.keys() {
        let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy().to_string());
        let first = parts.next().unwrap_or_default();
        let top =
            if rel.components().count() == 1 { first.strip_suffix(".rs").unwrap_or(&first).to_string() } else { first };
        if top != "lib" && top != "main" {
            tops.insert(top);
        }
    }
    let module_of = |rel: &Path| -> Vec<String> {
        let mut parts: Vec<String> =
            rel.components().map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string()).collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        parts
    };
    let scans: BTreeMap<&PathBuf, FileScan> = files
        .iter()
        .filter(|(rel, _)| tops.contains(&module_of(rel)[0]))
        .map(|(rel, text)| (rel, scan(rel, &module_of(rel), text, &tops)))
        .collect();
    // Test files, and every file below a test module's folder.
    let test_files: Vec<PathBuf> = scans.values().flat_map(|s| s.test_files.iter().cloned()).collect();
    let is_test = |rel: &Path| {
        test_files.iter().any(|t| {
            rel == t || {
                let dir = if t.file_name().is_some_and(|f| f == "mod.rs") {
                    t.parent().map(Path::to_path_buf)
                } else {
                    Some(t.with_extension(""))
                };
                dir.is_some_and(|d| rel.starts_with(d))
            }
        })
    };
    let mut g = Graph::new();
    for (rel, s) in &scans {
        if is_test(rel) {
            continue;
        }
        let from = module_of(rel)[0].clone();
        for (to, line) in &s.imports {
            g.entry(from.clone()).or_default().entry(to.clone()).or_insert_with(|| ((*rel).clone(), *line));
        }
    }
    (tops, g)
}

/// The strongly connected components of more than one module (Tarjan).
fn components(tops: &BTreeSet<String>, g: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        let g = s.g;
        for w in g.get(v).into_iter().flat_map(|m| m.keys()) {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w.as_str()) {
                let iw = s.index[w.as_str()];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in tops {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// A shortest loop through the first module of `comp`, staying inside it.
fn a_loop(comp: &[String], g: &Graph) -> Vec<String> {
    let start = &comp[0];
    let inside: BTreeSet<&String> = comp.iter().collect();
    let mut came_from: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in g.get(v).into_iter().flat_map(|m| m.keys()).filter(|w| inside.contains(w)) {
            if w == start {
                let mut path = vec![start.clone()];
                let mut at = v;
                while at != start {
                    path.push(at.clone());
                    at = came_from[at];
                }
                path.push(start.clone());
                path.reverse();
                return path;
            }
            if !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    comp.to_vec()
}

/// Every cycle's report: the loop, then where each step imports the next.
fn cycles(files: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let (tops, g) = graph(files);
    components(&tops, &g)
        .iter()
        .map(|comp| {
            let path = a_loop(comp, &g);
            let mut report = format!("module cycle: {}\n", path.join(" -> "));
            for step in path.windows(2) {
                if let Some((file, line)) = g.get(&step[0]).and_then(|m| m.get(&step[1])) {
                    report.push_str(&format!("  {} -> {}: src/{}:{line}\n", step[0], step[1], file.display()));
                }
            }
            report.push_str(&format!("  (all of: {})\n", comp.join(", ")));
            report
        })
        .collect()
}

fn read_dir(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let entries = std::fs::read_dir(root.join(dir)).expect("read src/");
    for entry in entries {
        let entry = entry.expect("entry");
        let rel = dir.join(entry.file_name());
        let ty = entry.file_type().expect("file type");
        if ty.is_dir() {
            read_dir(root, &rel, out);
        } else if rel.extension().is_some_and(|e| e == "rs") {
            out.insert(rel.clone(), std::fs::read_to_string(root.join(&rel)).expect("read a source file"));
        }
    }
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_dir(&src, Path::new(""), &mut files);
    let (tops, g) = graph(&files);
    // The scan sees imports at all: `app` wires the run, `main` is no module.
    assert!(tops.contains("app") && tops.contains("run") && !tops.contains("main"), "{tops:?}");
    assert!(g.get("app").is_some_and(|m| m.contains_key("run")), "app imports run: {g:?}");
    let found = cycles(&files);
    assert!(
        found.is_empty(),
        "the top-level modules of src/ must not import each other in a loop:\n{}",
        found.join("")
    );
}

fn files(list: &[(&str, &str)]) -> BTreeMap<PathBuf, String> {
    list.iter().map(|(p, t)| (PathBuf::from(p), t.to_string())).collect()
}

#[test]
fn a_cycle_is_reported_as_its_loop_with_the_lines_to_cut() {
    let found = cycles(&files(&[
        ("lib.rs", "mod a; mod b; mod c;"),
        ("a.rs", "//! docs name crate::c\nuse crate::b::X;\n"),
        ("b/mod.rs", "mod inner;\npub struct X;\n"),
        ("b/inner.rs", "fn f() {\n    super::super::c::g();\n}\n"),
        ("c.rs", "pub fn g() { let _ = crate::{a::Y}; }\n"),
    ]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("module cycle: a -> b -> c -> a\n"), "{}", found[0]);
    assert!(found[0].contains("  b -> c: src/b/inner.rs:2\n"), "{}", found[0]);
}

#[test]
fn tests_comments_and_strings_are_no_imports() {
    let found = cycles(&files(&[
        ("a/mod.rs", "use crate::b;\n#[cfg(test)]\nmod tests;\n#[cfg(test)]\n#[path = \"x_tests.rs\"]\nmod more;\n"),
        ("a/tests/mod.rs", "mod deeper;\n"),
        ("a/tests/deeper.rs", "use crate::b::Y;\n"),
        ("a/x_tests.rs", "fn t() { crate::b::y(); }\n"),
        // `crate::a` in a comment, a string, a raw string, a test item and a test module.
        (
            "b.rs",
            "/* crate::a /* nested */ crate::a */ fn f() -> &'static str { let _c = '\"'; r#\"crate::a\"# }\n\
             const S: &str = \"crate::a \\\" crate::a\"; const Q: u8 = b'\"'; const Z: &str = \"crate::a\";\n\
             #[cfg(test)]\npub(crate) fn only_tests() { crate::a::f(); }\n\
             #[cfg(test)]\nmod tests {\n    use crate::a;\n    fn g() { if true { crate::a::f() } }\n}\n",
        ),
    ]));
    assert!(found.is_empty(), "{found:?}");
    // The same import outside the test module is one.
    let found = cycles(&files(&[("a.rs", "use crate::b;\n"), ("b.rs", "mod tests { use crate::a; }\n")]));
    assert_eq!(found.len(), 1, "{found:?}");
}
