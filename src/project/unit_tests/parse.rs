//! From a property file's raw `unit_tests:` list to [`UnitTestDecl`]s:
//! dbt's rules for what one entry may say (known keys only, a `format` of
//! `dict`, `csv` or `sql` whose rows have the matching shape, inputs written
//! as `ref(…)`, `source(…)` or `this`), each problem a diagnostic at the
//! entry's line. Pure: one file's text in, declarations and errors out.

use super::{Cell, Format, Given, Input, Overrides, Row, Rows, UnitTestDecl};
use crate::config::unit_tests::{RawInput, RawUnitTest};
use crate::data_tests::naming::py_repr;
use crate::diag::Diagnostic;
use crate::project::versions::Version;
use serde_yaml::Value;
use std::path::Path;

/// Every entry of `unit_tests:` in `file`, with the errors of the bad ones.
pub fn declarations(file: &Path, text: &str, section: &Value) -> (Vec<UnitTestDecl>, Vec<Diagnostic>) {
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    let entries = match section {
        Value::Sequence(items) => items.as_slice(),
        Value::Null => &[],
        _ => {
            let line = crate::config::key_line(text, "unit_tests");
            errors.push(Diagnostic::in_file(file, "`unit_tests` must be a list of unit tests").at(line, None));
            return (out, errors);
        }
    };
    let mut cursor = 0;
    for entry in entries {
        let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
        let line = entry_line(text, cursor, name);
        cursor = line.unwrap_or(cursor);
        let at = |msg: String| Diagnostic::in_file(file, msg).at(line, None);
        let raw: RawUnitTest = match serde_yaml::from_value(entry.clone()) {
            Ok(r) => r,
            Err(e) => {
                let what = if name.is_empty() { "a unit test".to_string() } else { format!("unit test `{name}`") };
                errors.push(at(format!("{what}: {e}")).hint(
                    "a unit test has `name`, `model`, `given`, `expect` and optionally `description`, `overrides`, `config`, `versions`",
                ));
                continue;
            }
        };
        match decl(raw, file, line) {
            Ok(d) => out.push(d),
            Err(e) => errors.push(at(e)),
        }
    }
    (out, errors)
}

/// The line of `name: <name>` at or after line `from` (1-based), else anywhere.
fn entry_line(text: &str, from: usize, name: &str) -> Option<usize> {
    let is_entry = |l: &str| {
        let l = l.trim_start().trim_start_matches("- ").trim_start();
        l.strip_prefix("name:").is_some_and(|rest| rest.trim().trim_matches(['"', '\'']) == name)
    };
    let lines: Vec<&str> = text.lines().collect();
    let found = |skip: usize| lines.iter().enumerate().skip(skip).find(|(_, l)| is_entry(l)).map(|(i, _)| i + 1);
    found(from).or_else(|| found(0)).or_else(|| crate::config::key_line(text, "unit_tests"))
}

fn decl(raw: RawUnitTest, file: &Path, line: Option<usize>) -> Result<UnitTestDecl, String> {
    let name = raw.name.clone();
    let versions = match &raw.versions {
        Some(v) => unit_versions(&name, v)?,
        None => None,
    };
    let mut given = Vec::new();
    for g in &raw.given {
        given.push(given_entry(&name, g)?);
    }
    let format = format_of(raw.expect.format.as_deref())?;
    let expect = rows(&name, "expected", format, raw.expect.rows.as_ref(), raw.expect.fixture.as_deref())?;
    if expect == Rows::Seed {
        return Err(format!("unit test `{name}` has expected rows which do not match format dict"));
    }
    let over = raw.overrides.unwrap_or_default();
    let overrides = Overrides {
        macros: over.macros.unwrap_or_default(),
        vars: over.vars.unwrap_or_default(),
        env_vars: over.env_vars.unwrap_or_default().into_iter().map(|(k, v)| (k, py_str(&v))).collect(),
    };
    let config = raw.config.unwrap_or_default();
    if let Some(v) = config.get("enabled").filter(|v| !v.is_bool()) {
        return Err(format!("unit test `{name}`: `config.enabled` is `{}`, not true or false", py_str(v)));
    }
    Ok(UnitTestDecl {
        name,
        model: raw.model.trim().to_string(),
        description: raw.description.unwrap_or_default(),
        given,
        expect,
        expect_format: format,
        overrides,
        config,
        file: file.to_path_buf(),
        line,
        versions,
    })
}

/// `versions: {include: [...]}` or `{exclude: [...]}` of a unit test: which
/// versions of a versioned model it tests (the planner refuses it for an
/// unversioned model, as dbt does).
fn unit_versions(name: &str, v: &Value) -> Result<Option<super::VersionChoice>, String> {
    use super::VersionChoice;
    let list = |key: &str| -> Result<Option<Vec<Version>>, String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|i| Version::from_yaml(i).map_err(|e| format!("unit test `{name}`: `versions.{key}`: {e}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(format!("unit test `{name}`: `versions.{key}` must be a list of versions")),
        }
    };
    if let Some(k) = v.as_mapping().and_then(|m| m.keys().find(|k| !matches!(k.as_str(), Some("include" | "exclude"))))
    {
        return Err(format!("unit test `{name}`: `versions` takes `include` or `exclude`, not `{}`", py_str(k)));
    }
    match (list("include")?, list("exclude")?) {
        (Some(_), Some(_)) => Err(format!("unit test `{name}`: unit tests can not both include and exclude versions")),
        (Some(i), None) => Ok(Some(VersionChoice::Include(i))),
        (None, Some(e)) => Ok(Some(VersionChoice::Exclude(e))),
        (None, None) => Ok(None),
    }
}

fn given_entry(test: &str, g: &RawInput) -> Result<Given, String> {
    let input = input(&g.input).ok_or_else(|| {
        format!("unit test given inputs must be either a 'ref', 'source' or 'this' call. Got: '{}'", g.input)
    })?;
    let format = format_of(g.format.as_deref())?;
    let rows = rows(test, "input", format, g.rows.as_ref(), g.fixture.as_deref())?;
    if rows == Rows::Seed && !matches!(input, Input::Ref(_)) {
        return Err(format!("unit test `{test}` has input rows which do not match format dict"));
    }
    Ok(Given { input, written: g.input.trim().to_string(), format, rows })
}

fn format_of(text: Option<&str>) -> Result<Format, String> {
    match text {
        None | Some("dict") => Ok(Format::Dict),
        Some("csv") => Ok(Format::Csv),
        Some("sql") => Ok(Format::Sql),
        Some(other) => Err(format!("`format: {other}` is not one of `csv`, `dict`, `sql`")),
    }
}

/// The rows of a `given` or `expect` entry in its `format`, with dbt's words
/// when their shape does not match it.
fn rows(test: &str, what: &str, format: Format, rows: Option<&Value>, fixture: Option<&str>) -> Result<Rows, String> {
    let mismatch = |expected: &str| {
        format!(
            "unit test `{test}` has {what} rows or fixtures which do not match format {}{expected}",
            format.as_str()
        )
    };
    match format {
        Format::Dict => match (rows, fixture) {
            (None | Some(Value::Null), None) => Ok(Rows::Seed),
            (Some(Value::Sequence(items)), _) => {
                items.iter().map(|r| dict_row(test, what, r)).collect::<Result<_, _>>().map(Rows::Given)
            }
            // dbt reads fixture files only for `csv` and `sql`.
            _ => Err(format!("unit test `{test}` has {what} rows which do not match format dict")),
        },
        Format::Csv => match (rows, fixture) {
            (_, Some(f)) => Ok(Rows::Fixture { name: f.to_string(), format }),
            (Some(Value::String(text)), None) => csv_rows(text, true).map(Rows::Given),
            _ => Err(mismatch(".  Expected string.")),
        },
        Format::Sql => match (rows, fixture) {
            (_, Some(f)) => Ok(Rows::Fixture { name: f.to_string(), format }),
            (Some(Value::String(text)), None) => Ok(Rows::Sql(text.clone())),
            _ => Err(mismatch(".  Expected string.")),
        },
    }
}

fn dict_row(test: &str, what: &str, row: &Value) -> Result<Row, String> {
    let Value::Mapping(m) = row else {
        return Err(format!("unit test `{test}` has {what} rows which do not match format dict"));
    };
    Ok(m.iter().map(|(k, v)| (py_str(k), cell(v))).collect())
}

/// A YAML value as `format_row` treats it: strings are quoted later, the
/// rest is spliced in as Python prints it.
fn cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::String(s) => Cell::Text(s.clone()),
        Value::Tagged(t) => cell(&t.value),
        other => Cell::Literal(py_repr(other)),
    }
}

/// csv text read as Python's `csv.DictReader` reads it; with `empty_is_null`
/// an empty field is null, as dbt makes it for `format: csv`.
pub fn csv_rows(text: &str, empty_is_null: bool) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> =
        reader.headers().map_err(|e| format!("invalid csv: {e}"))?.iter().map(str::to_string).collect();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("invalid csv: {e}"))?;
        // DictReader skips rows with no fields at all.
        if record.iter().all(str::is_empty) && record.len() <= 1 {
            continue;
        }
        let row = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let cell = match record.get(i) {
                    None => Cell::Null,
                    Some("") if empty_is_null => Cell::Null,
                    Some(v) => Cell::Text(v.to_string()),
                };
                (h.clone(), cell)
            })
            .collect();
        out.push(row);
    }
    Ok(out)
}

/// `str(value)` in Python, for keys and env var overrides.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// `ref('m')`, `ref("pkg", "m")`, `ref('m', v=2)`, `source('s', 't')` or `this`.
fn input(text: &str) -> Option<Input> {
    let t = text.trim();
    if t == "this" {
        return Some(Input::This);
    }
    let (func, rest) = t.split_once('(')?;
    let args = rest.trim_end().strip_suffix(')')?;
    let positional: Vec<String> = args
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty() && !a.contains('='))
        .map(|a| unquote(a))
        .collect::<Option<_>>()?;
    // `v=2` / `version='2'`: the input stands in for that version (`<name>.v<v>` in the ref lookup).
    let mut version = None;
    for kw in args.split(',').filter_map(|a| a.split_once('=')) {
        let (key, value) = (kw.0.trim(), kw.1.trim());
        if matches!(key, "v" | "version") && version.is_none() {
            let json = match unquote(value) {
                Some(text) => serde_json::Value::String(text),
                None => serde_json::from_str::<serde_json::Number>(value).ok().map(serde_json::Value::Number)?,
            };
            version = Some(Version::from_json(json)).filter(|v| !v.text.is_empty() && v.text != "0");
        }
    }
    let key = |name: &String| match &version {
        Some(v) => format!("{name}.{}", v.formatted()),
        None => name.clone(),
    };
    match (func.trim(), positional.as_slice()) {
        ("ref", [name]) | ("ref", [_, name]) => Some(Input::Ref(key(name))),
        ("source", [s, t]) => Some(Input::Source(s.clone(), t.clone())),
        _ => None,
    }
}

fn unquote(a: &str) -> Option<String> {
    let q = a.chars().next()?;
    (matches!(q, '\'' | '"') && a.len() >= 2 && a.ends_with(q)).then(|| a[1..a.len() - 1].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> (Vec<UnitTestDecl>, Vec<Diagnostic>) {
        let doc: Value = serde_yaml::from_str(yaml).expect("yaml");
        declarations(Path::new("models/ut.yml"), yaml, doc.get("unit_tests").expect("section"))
    }

    #[test]
    fn reads_each_format_and_input_kind() {
        let (d, errors) = parse(
            "unit_tests:
  - name: t
    model: m
    given:
      - input: ref('a')
        rows:
          - {id: 1, name: x, ok: true, amount: 10.0, note: null}
      - input: source(\"raw\", \"b\")
        format: csv
        rows: |
          id,name
          1,
      - input: this
        format: sql
        rows: select 1 as id
      - input: ref('seed')
    expect:
      format: csv
      fixture: expected_rows
    overrides:
      macros: {is_incremental: true}
      env_vars: {N: 3}
",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let t = &d[0];
        assert_eq!(t.line, Some(2));
        assert_eq!(t.given[0].input, Input::Ref("a".into()));
        let Rows::Given(rows) = &t.given[0].rows else { panic!("dict rows") };
        assert_eq!(
            rows[0],
            vec![
                ("id".to_string(), Cell::Literal("1".into())),
                ("name".to_string(), Cell::Text("x".into())),
                ("ok".to_string(), Cell::Literal("True".into())),
                ("amount".to_string(), Cell::Literal("10.0".into())),
                ("note".to_string(), Cell::Null),
            ]
        );
        assert_eq!(t.given[1].input, Input::Source("raw".into(), "b".into()));
        // An empty csv field is null; every other csv value is text.
        assert_eq!(
            t.given[1].rows,
            Rows::Given(vec![vec![("id".into(), Cell::Text("1".into())), ("name".into(), Cell::Null)]])
        );
        assert_eq!(t.given[2].rows, Rows::Sql("select 1 as id".into()));
        assert_eq!(t.given[3].rows, Rows::Seed);
        assert_eq!(t.expect, Rows::Fixture { name: "expected_rows".into(), format: Format::Csv });
        assert_eq!(t.overrides.env_vars.get("N").map(String::as_str), Some("3"));
    }

    #[test]
    fn bad_entries_are_errors_at_their_line() {
        let (d, errors) = parse(
            "unit_tests:
  - name: good
    model: m
    given: []
    expect: {rows: []}
  - name: bad_input
    model: m
    given:
      - input: m2
        rows: []
    expect: {rows: []}
  - name: bad_format
    model: m
    given: []
    expect: {format: xml, rows: []}
  - name: csv_not_text
    model: m
    given:
      - input: ref('a')
        format: csv
        rows: [{id: 1}]
    expect: {rows: []}
  - name: unknown_key
    model: m
    bogus: 1
    given: []
    expect: {rows: []}
",
        );
        assert_eq!(d.len(), 1);
        let lines: Vec<Option<usize>> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![Some(6), Some(12), Some(16), Some(23)]);
        assert!(errors[0].message.contains("Got: 'm2'"), "{}", errors[0].message);
        assert!(errors[1].message.contains("xml"), "{}", errors[1].message);
        assert!(errors[2].message.contains("Expected string"), "{}", errors[2].message);
        assert!(errors[3].message.contains("bogus"), "{}", errors[3].message);
    }

    #[test]
    fn inputs_are_read_as_dbt_extracts_them() {
        assert_eq!(input("ref('pkg', 'm')"), Some(Input::Ref("m".into())));
        // A pinned version is its own input: dbt's ref lookup key `<name>.v<v>`.
        assert_eq!(input(" ref(\"m\", v=2) "), Some(Input::Ref("m.v2".into())));
        assert_eq!(input("ref('m', version='1.5')"), Some(Input::Ref("m.v1.5".into())));
        assert_eq!(input("ref('m', v=0)"), Some(Input::Ref("m".into())));
        assert_eq!(input("this"), Some(Input::This));
        assert_eq!(input("source('s')"), None);
        assert_eq!(input("ref(m)"), None);
    }
}
