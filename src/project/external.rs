//! dbt-duckdb's sources on files: a source table whose `meta` or `config`
//! holds `external_location` is read from that location instead of a table.
//!
//! Owns dbt-duckdb 1.9's rules (`DuckDBRelation.create_from_source`): the
//! source's and the table's `meta`, then their `config`, merged, later winning;
//! the location formatted with `formatter` `newstyle` (`{name}`, the default),
//! `oldstyle` (`%(name)s`) or `template` (`$name`) over `name`, `identifier`,
//! `schema`, `database`, `tags` and every merged key; then single-quoted
//! unless it is a call or quoted already. A `plugin` source is refused: it
//! needs dbt-duckdb's Python plugins. Pure text work; reads no file.

use serde_yaml::Value;
use std::collections::BTreeMap;

/// What a source table's relation renders as, when it is a file.
pub(crate) struct Source<'a> {
    pub name: &'a str,
    pub identifier: &'a str,
    pub schema: &'a str,
    pub database: Option<&'a str>,
    pub tags: Vec<String>,
    /// Source meta, table meta, source config, table config: dbt merges the
    /// meta, then dbt-duckdb lays the config's extra keys over it.
    pub layers: [Option<&'a Value>; 4],
}

/// The merged keys of the four layers, later ones winning.
fn merged(layers: &[Option<&Value>; 4]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for layer in layers.iter().flatten() {
        if let Value::Mapping(m) = layer {
            for (k, v) in m {
                if let Some(k) = k.as_str() {
                    // dbt's `meta` inside `config` is meta too.
                    if k == "meta" {
                        if let Value::Mapping(inner) = v {
                            for (ik, iv) in inner {
                                if let Some(ik) = ik.as_str() {
                                    out.insert(ik.to_string(), iv.clone());
                                }
                            }
                        }
                        continue;
                    }
                    out.insert(k.to_string(), v.clone());
                }
            }
        }
    }
    out
}

/// Python's `str()` of a value, as `format_map` prints it.
fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Sequence(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => format!("'{s}'"),
                    other => py_str(other),
                })
                .collect();
            format!("[{}]", inner.join(", "))
        }
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

/// `Ok(None)` for a table, else the text its relation renders as.
pub(crate) fn location(src: &Source<'_>) -> Result<Option<String>, String> {
    let keys = merged(&src.layers);
    if keys.contains_key("plugin") {
        return Err("a source with `plugin` needs dbt-duckdb's Python plugins, which runner does not run".into());
    }
    let Some(template) = keys.get("external_location") else { return Ok(None) };
    let Some(template) = template.as_str() else {
        return Err("`external_location` must be a string".into());
    };
    // The source's Jinja is rendered already (`super::render`), as dbt
    // renders it before dbt-duckdb formats the location.
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("name".into(), src.name.into());
    vars.insert("identifier".into(), src.identifier.into());
    vars.insert("schema".into(), src.schema.into());
    vars.insert("database".into(), src.database.map_or("None".into(), str::to_string));
    vars.insert("tags".into(), py_str(&Value::Sequence(src.tags.iter().cloned().map(Value::String).collect())));
    // dbt-duckdb lets the keys above override meta keys of the same name; `as_dict` puts meta last.
    for (k, v) in &keys {
        vars.insert(k.clone(), py_str(v));
    }
    let formatter = keys.get("formatter").and_then(Value::as_str).unwrap_or("newstyle");
    let text = match formatter {
        "newstyle" => newstyle(template, &vars)?,
        "oldstyle" => oldstyle(template, &vars)?,
        "template" => dollar(template, &vars)?,
        other => {
            return Err(format!("formatter `{other}` is not one of `newstyle`, `oldstyle` or `template`"));
        }
    };
    // A call (`read_parquet(…)`) or a quoted string is used as written.
    Ok(Some(if text.contains('(') || text.starts_with('\'') { text } else { format!("'{text}'") }))
}

fn missing(key: &str) -> String {
    format!("`external_location` names `{key}`, which the source does not have")
}

/// Python's `str.format_map` for plain `{key}` fields and `{{`/`}}`.
fn newstyle(t: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let key: String = chars.by_ref().take_while(|&c| c != '}').collect();
                if key.contains([':', '!', '[', '.']) {
                    return Err(format!("`external_location`: `{{{key}}}` uses a format this runner does not read"));
                }
                out.push_str(vars.get(&key).ok_or_else(|| missing(&key))?);
            }
            '}' => return Err("`external_location`: a single `}` (write `}}`)".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Python's `%` formatting with `%(key)s` and `%%`.
fn oldstyle(t: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = t;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('%') {
            out.push('%');
            rest = r;
        } else if let Some(r) = after.strip_prefix('(') {
            let close = r.find(")s").ok_or("`external_location`: `%(` without `)s`")?;
            out.push_str(vars.get(&r[..close]).ok_or_else(|| missing(&r[..close]))?);
            rest = &r[close + 2..];
        } else {
            return Err("`external_location`: `%` must be `%(key)s` or `%%`".into());
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Python's `string.Template.substitute`: `$key`, `${key}` and `$$`.
fn dollar(t: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = t;
    let ident = |s: &str| s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('{') {
            let close = r.find('}').ok_or("`external_location`: `${` without `}`")?;
            out.push_str(vars.get(&r[..close]).ok_or_else(|| missing(&r[..close]))?);
            rest = &r[close + 1..];
        } else {
            let n = ident(after);
            if n == 0 {
                return Err("`external_location`: `$` must start `$key`, `${key}` or `$$`".into());
            }
            out.push_str(vars.get(&after[..n]).ok_or_else(|| missing(&after[..n]))?);
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).expect("yaml")
    }

    fn loc(layers: [Option<&Value>; 4]) -> Result<Option<String>, String> {
        location(&Source {
            name: "orders",
            identifier: "orders_v2",
            schema: "raw",
            database: None,
            tags: vec!["a".into()],
            layers,
        })
    }

    #[test]
    fn a_location_is_formatted_and_quoted_as_dbt_duckdb_does() {
        let meta = yaml("external_location: 'data/{name}.parquet'");
        assert_eq!(loc([Some(&meta), None, None, None]), Ok(Some("'data/orders.parquet'".into())));
        // A call stays as written; the table's config beats the source's meta.
        let table = yaml("external_location: \"read_csv('data/{identifier}.csv', header = true)\"");
        assert_eq!(
            loc([Some(&meta), None, None, Some(&table)]),
            Ok(Some("read_csv('data/orders_v2.csv', header = true)".into()))
        );
        let old = yaml("external_location: 's3://b/%(schema)s/%(name)s.parquet'\nformatter: oldstyle");
        assert_eq!(loc([None, None, Some(&old), None]), Ok(Some("'s3://b/raw/orders.parquet'".into())));
        let tpl = yaml("external_location: '${root}/$name.json'\nformatter: template\nroot: /data");
        assert_eq!(loc([Some(&tpl), None, None, None]), Ok(Some("'/data/orders.json'".into())));
        assert_eq!(loc([None, None, None, None]), Ok(None), "a plain table");
    }

    #[test]
    fn what_it_cannot_do_it_says() {
        assert!(loc([Some(&yaml("plugin: excel")), None, None, None]).is_err_and(|e| e.contains("plugin")));
        assert!(
            loc([Some(&yaml("external_location: 'x/{nope}'")), None, None, None]).is_err_and(|e| e.contains("nope"))
        );
        let bad = yaml("external_location: x\nformatter: fancy");
        assert!(loc([Some(&bad), None, None, None]).is_err_and(|e| e.contains("fancy")));
        // Braces left by rendered Jinja are `str.format`'s: `{{` is `{`.
        let braces = yaml("external_location: \"x{{y}}/{name}.csv\"");
        assert_eq!(loc([Some(&braces), None, None, None]), Ok(Some("'x{y}/orders.csv'".into())));
    }
}
