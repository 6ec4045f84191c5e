//! Property files (`models/**/*.yml`, `seeds/**/*.yml`, `snapshots/**/*.yml`):
//! what one file declares — model, seed and snapshot properties, YAML-defined
//! snapshots, sources, generic test and unit test declarations — with the
//! line of each entry for messages.
//!
//! Parsing is a pure function of one file's path and text (and how its Jinja
//! renders), so [`super::load_all`] parses files on several threads and
//! merges what they declare in path order. This module walks no directories;
//! which values render is `super::render`'s.

use super::lines::Lines;
use super::test_entries::{self, Attached, TestDecl};
use super::{ColumnProps, NodeProps, SourceTable};
use crate::config::properties::{RawColumn, RawProperties, RawSource, RawSourceTable};
use crate::diag::Diagnostic;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Everything one property file declares, in file order.
#[derive(Debug, Default)]
pub struct Declared {
    pub models: Vec<(String, NodeProps)>,
    pub seeds: Vec<(String, NodeProps)>,
    /// `snapshots:` entries; one with `relation:` defines a snapshot.
    pub snapshots: Vec<(String, NodeProps, Option<String>)>,
    pub sources: Vec<SourceTable>,
    pub tests: Vec<TestDecl>,
    pub unit_tests: Vec<super::unit_tests::UnitTestDecl>,
    /// `groups:` entries' names.
    pub groups: Vec<String>,
    pub exposures: Vec<super::exposures::ExposureDecl>,
    /// The sections dbt reads and runner accepts without reading
    /// (`metrics`, `semantic_models`, …) that this file fills.
    pub unread: Vec<&'static str>,
    /// Each version of each versioned model, in file order.
    pub versions: Vec<super::versions::VersionDecl>,
    pub errors: Vec<Diagnostic>,
    /// Declarations runner loads but does not act on.
    pub warnings: Vec<Diagnostic>,
}

/// Parses one property file, its Jinja rendered as dbt renders it with
/// `render` (as written without); a file that is not valid YAML of the
/// expected shape, or whose values cannot render, declares nothing and
/// reports why.
pub fn parse(rel: &Path, text: &str, render: Option<super::render::Properties<'_>>) -> Declared {
    let mut out = parse_rendered(rel, text, render);
    if let Some(r) = render {
        // dbt renders a test's configs when it builds the test.
        for t in &mut out.tests {
            let owner = match &t.attached {
                Attached::Model(m) => m.clone(),
                Attached::Source(s, table) => format!("{s}.{table}"),
            };
            let column = t.column.as_ref().map(|c| format!(".{c}")).unwrap_or_default();
            let label = format!("{owner}{column}.{}", t.custom_name.as_deref().unwrap_or(&t.test));
            let errors = super::render::test_config(&mut t.config, &label, rel, text, r);
            out.errors.extend(errors);
        }
    }
    out
}

fn parse_rendered(rel: &Path, text: &str, render: Option<super::render::Properties<'_>>) -> Declared {
    let mut out = Declared::default();
    let props: RawProperties = match super::render::properties(text, rel, render) {
        Ok(p) => p,
        Err(errors) => {
            out.errors.extend(errors);
            return out;
        }
    };
    let file = rel.to_path_buf();
    out.warnings.extend(other_sections(&file, text));
    let groups = props.groups.as_ref().and_then(Value::as_sequence).into_iter().flatten();
    out.groups = groups.filter_map(|g| g.get("name").and_then(Value::as_str).map(str::to_string)).collect();
    let filled = |v: &Option<Value>| v.as_ref().and_then(Value::as_sequence).is_some_and(|s| !s.is_empty());
    let unread = [
        ("metrics", &props.metrics),
        ("semantic models", &props.semantic_models),
        ("saved queries", &props.saved_queries),
    ];
    out.unread = unread.into_iter().filter(|(_, v)| filled(v)).map(|(k, _)| k).collect();
    if let Some(section) = &props.exposures {
        let (decls, errors, warnings) = super::exposures::declarations(&file, text, section);
        out.exposures = decls;
        out.errors.extend(errors);
        out.warnings.extend(warnings);
    }
    if let Some(section) = &props.unit_tests {
        let (decls, errors) = super::unit_tests::parse::declarations(&file, text, section);
        out.unit_tests = decls;
        out.errors.extend(errors);
    }
    // Each entry's line is searched from its owner's line: one pass per file.
    let lines = Lines::new(text);
    for (is_seed, list) in [(false, &props.models), (true, &props.seeds)] {
        let mut cursor = 0;
        for m in list {
            let attached = Attached::Model(m.name.clone());
            let line = lines.entry(cursor, &m.name).unwrap_or(1);
            cursor = line;
            if is_seed {
                refuse_model_only_keys(&mut out, &file, line, m);
            }
            let versioned = m.versions.as_ref().is_some_and(|v| !v.is_empty());
            if versioned && !is_seed {
                super::versions::declare(&file, &lines, m, line, &mut out);
            } else {
                if !is_seed && m.latest_version.as_ref().is_some_and(|l| !l.is_null()) {
                    out.errors.push(
                        Diagnostic::in_file(
                            &file,
                            format!("model `{}`: `latest_version` is set but it has no `versions:`", m.name),
                        )
                        .at(Some(line), None)
                        .hint("list its versions under `versions:`, or remove `latest_version`"),
                    );
                }
                push_tests(
                    &mut out,
                    &lines,
                    &file,
                    m.data_tests.as_ref().or(m.tests.as_ref()),
                    &attached,
                    None,
                    line,
                    &None,
                );
                for c in &m.columns {
                    let col = lines.entry(line, &c.name).unwrap_or(line);
                    push_column_tests(&mut out, &lines, &file, c, &attached, col, &None);
                }
            }
            let column_lines: Vec<usize> =
                m.columns.iter().map(|c| lines.entry(line, &c.name).unwrap_or(line)).collect();
            let mut entry = node_props(&file, line, &m.config, &m.columns, &m.description);
            entry.column_props = column_props(&m.columns, &column_lines);
            entry.constraints =
                m.constraints.clone().map(|c| (c, lines.key_of_entry(line, "constraints").unwrap_or(line)));
            entry.versioned = versioned && !is_seed;
            if !is_seed && !entry.versioned {
                match m.deprecation_date.as_ref().map(super::versions::DeprecationDate::parse).transpose() {
                    Ok(d) => entry.deprecation_date = d,
                    Err(e) => out
                        .errors
                        .push(Diagnostic::in_file(&file, format!("model `{}`: {e}", m.name)).at(Some(line), None)),
                }
            }
            let list = if is_seed { &mut out.seeds } else { &mut out.models };
            list.push((m.name.clone(), entry));
        }
    }
    let mut cursor = 0;
    for s in &props.snapshots {
        let attached = Attached::Model(s.name.clone());
        let line = lines.entry(cursor, &s.name).unwrap_or(1);
        cursor = line;
        push_tests(&mut out, &lines, &file, s.data_tests.as_ref().or(s.tests.as_ref()), &attached, None, line, &None);
        let mut column_lines = Vec::new();
        for c in &s.columns {
            let col = lines.entry(line, &c.name).unwrap_or(line);
            column_lines.push(col);
            push_column_tests(&mut out, &lines, &file, c, &attached, col, &None);
        }
        let mut entry = node_props(&file, line, &s.config, &s.columns, &s.description);
        entry.column_props = column_props(&s.columns, &column_lines);
        out.snapshots.push((s.name.clone(), entry, s.relation.clone()));
    }
    let mut cursor = 0;
    for s in &props.sources {
        let source_line = lines.entry(cursor, &s.name).unwrap_or(1);
        cursor = source_line;
        let mut table_cursor = source_line;
        for t in &s.tables {
            let attached = Attached::Source(s.name.clone(), t.name.clone());
            let line = lines.entry(table_cursor, &t.name).unwrap_or(source_line);
            table_cursor = line;
            push_tests(
                &mut out,
                &lines,
                &file,
                t.data_tests.as_ref().or(t.tests.as_ref()),
                &attached,
                None,
                line,
                &None,
            );
            for c in &t.columns {
                let col = lines.entry(line, &c.name).unwrap_or(line);
                push_column_tests(&mut out, &lines, &file, c, &attached, col, &None);
            }
            let schema = s.schema.clone().unwrap_or_else(|| s.name.clone());
            let identifier = t.identifier.clone().unwrap_or_else(|| t.name.clone());
            let tags: Vec<String> = [&s.tags, &t.tags].into_iter().flatten().flat_map(tag_list).collect();
            let file_source = super::external::Source {
                name: &t.name,
                identifier: &identifier,
                schema: &schema,
                database: s.database.as_deref(),
                tags: tags.clone(),
                layers: [s.meta.as_ref(), t.meta.as_ref(), s.config.as_ref(), t.config.as_ref()],
            };
            let external = super::external::location(&file_source).unwrap_or_else(|e| {
                out.errors.push(
                    Diagnostic::in_file(&file, format!("source `{}.{}`: {e}", s.name, t.name)).at(Some(line), None),
                );
                None
            });
            out.sources.push(SourceTable {
                source: s.name.clone(),
                table: t.name.clone(),
                database: s.database.clone(),
                schema,
                identifier,
                file: file.clone(),
                line: Some(line),
                external,
                docs: source_docs(s, t, tags),
            });
        }
    }
    out
}

/// Decodes the tests of column `c` (at line `line`) into `out`; each gets
/// the column's tags before its own, as dbt gives them (`dbt ls -s tag:pii`
/// lists them).
pub(super) fn push_column_tests(
    out: &mut Declared,
    lines: &Lines,
    file: &Path,
    c: &RawColumn,
    attached: &Attached,
    line: usize,
    version: &Option<super::versions::Version>,
) {
    let sql = test_entries::column_sql(&c.name, c.quote);
    let from = out.tests.len();
    push_tests(out, lines, file, column_tests(c), attached, Some(&sql), line, version);
    let Some(column_tags) = c.tags.as_ref().map(tag_list).filter(|t| !t.is_empty()) else { return };
    for t in out.tests.iter_mut().skip(from) {
        let mut tags = column_tags.clone();
        for own in t.config.get("tags").map(tag_list).unwrap_or_default() {
            if !tags.contains(&own) {
                tags.push(own);
            }
        }
        t.config.insert("tags".into(), Value::Sequence(tags.into_iter().map(Value::String).collect()));
    }
}

/// `tags:` as written: one tag or a list of them.
fn tag_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(one) => vec![one.clone()],
        Value::Sequence(items) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

fn mapping(v: Option<&Value>) -> serde_yaml::Mapping {
    v.and_then(Value::as_mapping).cloned().unwrap_or_default()
}

/// What the manifest says of a source table besides where it is.
fn source_docs(s: &RawSource, t: &RawSourceTable, tags: Vec<String>) -> super::SourceDocs {
    let mut meta = mapping(s.meta.as_ref());
    meta.extend(mapping(t.meta.as_ref()));
    let columns = t
        .columns
        .iter()
        .map(|c| super::SourceColumn {
            name: c.name.clone(),
            description: c.description.clone(),
            data_type: c.data_type.clone(),
            meta: mapping(c.meta.as_ref()),
            tags: c.tags.as_ref().map(tag_list).unwrap_or_default(),
            quote: c.quote,
        })
        .collect();
    super::SourceDocs {
        description: t.description.clone(),
        source_description: s.description.clone(),
        loader: s.loader.clone(),
        meta,
        source_meta: mapping(s.meta.as_ref()),
        tags,
        columns,
    }
}

/// Decodes the test entries of one owner (a model, version, column, source
/// table) into `out`, each at its line below the owner's; `version` is the
/// model version they test, when the model is versioned.
#[allow(clippy::too_many_arguments)]
pub(super) fn push_tests(
    out: &mut Declared,
    lines: &Lines,
    file: &Path,
    entries: Option<&Vec<Value>>,
    attached: &Attached,
    column: Option<&str>,
    owner: usize,
    version: &Option<super::versions::Version>,
) {
    let file = file.to_path_buf();
    for entry in entries.into_iter().flatten() {
        let line = lines.test(owner, entry);
        match test_entries::decode(entry, attached, column, &file, line) {
            Ok(mut t) => {
                t.version = version.clone();
                out.tests.push(t)
            }
            Err(d) => out.errors.push(d),
        }
    }
}

/// dbt's seed entries have no versions or deprecation: those keys are refused, not dropped.
/// A warning for each top-level key dbt does not read (`x-defaults:`
/// holding anchors, or a typo such as `model:`): dbt ignores them silently.
fn other_sections(file: &Path, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with([' ', '\t', '#', '-', '\'', '"', '{', '[']) {
            continue;
        }
        let Some((key, _)) = line.split_once(':') else { continue };
        let key = key.trim();
        if key.is_empty() || key.starts_with("<<") || crate::config::properties::SECTIONS.contains(&key) {
            continue;
        }
        out.push(
            Diagnostic::in_file(
                file,
                format!("top-level key `{key}` is no dbt section; it is ignored, as dbt ignores it"),
            )
            .at(Some(i + 1), None)
            .hint(format!("dbt reads {}", crate::config::properties::SECTIONS.join(", "))),
        );
    }
    out
}

fn refuse_model_only_keys(out: &mut Declared, file: &Path, line: usize, m: &crate::config::properties::RawModelProps) {
    let set = [
        ("versions", m.versions.is_some()),
        ("latest_version", m.latest_version.is_some()),
        ("deprecation_date", m.deprecation_date.is_some()),
    ];
    for (key, _) in set.iter().filter(|(_, set)| *set) {
        out.errors.push(
            Diagnostic::in_file(file, format!("seed `{}`: `{key}` is a property of models only", m.name))
                .at(Some(line), None)
                .hint(format!("remove `{key}` from this `seeds:` entry")),
        );
    }
}

/// A model's, seed's or snapshot's property entry: its config, columns and descriptions.
pub(super) fn node_props(
    file: &Path,
    line: usize,
    config: &Option<BTreeMap<String, Value>>,
    columns: &[RawColumn],
    description: &Option<String>,
) -> NodeProps {
    NodeProps {
        config: config.clone().unwrap_or_default(),
        columns: columns.iter().map(|c| c.name.clone()).collect(),
        description: description.clone(),
        column_descriptions: columns.iter().filter_map(|c| Some((c.name.clone(), c.description.clone()?))).collect(),
        column_props: Vec::new(),
        constraints: None,
        file: file.to_path_buf(),
        line: Some(line),
        versioned: false,
        deprecation_date: None,
    }
}

/// The columns' data types, quoting and constraints, each with its line.
pub(super) fn column_props(columns: &[RawColumn], lines: &[usize]) -> Vec<ColumnProps> {
    columns
        .iter()
        .zip(lines)
        .map(|(c, line)| ColumnProps {
            name: c.name.clone(),
            data_type: c.data_type.clone(),
            quote: c.quote.unwrap_or(false),
            constraints: c.constraints.clone(),
            line: *line,
            meta: mapping(c.meta.as_ref()),
            tags: c.tags.as_ref().map(tag_list).unwrap_or_default(),
        })
        .collect()
}

fn column_tests(c: &RawColumn) -> Option<&Vec<Value>> {
    c.data_tests.as_ref().or(c.tests.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_top_level_key_dbt_does_not_read_is_a_warning_at_its_line() {
        let text = "version: 2\nx-defaults: &d\n  a: 1\n# note: here\nmodel:\n  - name: m\nmodels: []\n";
        let d = parse(Path::new("models/p.yml"), text, None);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        let shown: Vec<(Option<usize>, String)> = d.warnings.iter().map(|w| (w.line, w.message.clone())).collect();
        assert_eq!(
            shown,
            [
                (Some(2), "top-level key `x-defaults` is no dbt section; it is ignored, as dbt ignores it".to_string()),
                (Some(5), "top-level key `model` is no dbt section; it is ignored, as dbt ignores it".to_string()),
            ]
        );
    }

    const TWO_MODELS: &str = "version: 2
models:
  - name: a
    columns:
      - name: id
        data_tests:
          - unique
  - name: b
    description: the second
    data_tests:
      - not_null_proportion
    columns:
      - name: id
        description: b's key
        data_tests:
          - not_null
          - unique
sources:
  - name: raw
    tables:
      - name: events
        columns:
          - name: id
            data_tests: [unique]
";

    #[test]
    fn declares_models_sources_and_tests_in_file_order() {
        let d = parse(Path::new("models/schema.yml"), TWO_MODELS, None);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        let tests: Vec<(&str, Option<usize>)> = d.tests.iter().map(|t| (t.test.as_str(), t.line)).collect();
        // `b`'s tests point below `b`, not at `a`'s column of the same name.
        assert_eq!(
            tests,
            vec![
                ("unique", Some(7)),
                ("not_null_proportion", Some(11)),
                ("not_null", Some(16)),
                ("unique", Some(17)),
                ("unique", Some(24))
            ]
        );
        assert_eq!(d.models.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(d.models[1].1.description.as_deref(), Some("the second"));
        assert_eq!(d.models[1].1.column_descriptions.get("id").map(String::as_str), Some("b's key"));
        assert_eq!((d.sources[0].source.as_str(), d.sources[0].schema.as_str()), ("raw", "raw"));
        assert!(d.seeds.is_empty());
    }

    #[test]
    fn invalid_yaml_declares_nothing_and_names_the_file() {
        let d = parse(Path::new("models/bad.yml"), "models:\n  - name: x\n   bad_indent: 1\n", None);
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].file.as_deref(), Some(Path::new("models/bad.yml")));
        assert!(d.models.is_empty() && d.tests.is_empty());
    }
}
