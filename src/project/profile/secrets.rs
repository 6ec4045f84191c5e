//! A profile's `secrets:`: dbt-duckdb's list of `CREATE SECRET` parameters,
//! turned into its statements (`Secret.to_sql` in dbt-duckdb 1.9, each named
//! `_dbt_secret_<n>` unless it has a `name`, as its credentials name them)
//! once, when the profile is resolved. The values never reach a message:
//! [`SecretSql`] prints as its label, and errors are scrubbed of them. Also
//! the error for a secret type whose extension DuckDB could not load. Runs
//! nothing.

use serde_yaml::Value;
use std::fmt;

/// One `CREATE SECRET` statement and what may be said about it.
#[derive(Clone, PartialEq)]
pub struct SecretSql {
    /// The statement as dbt-duckdb writes it.
    pub sql: String,
    /// The same without `PERSISTENT`, for checking the profile without
    /// writing to DuckDB's secret store.
    pub check_sql: String,
    /// ``secret `_dbt_secret_1` (secrets[0], type s3)``: how messages name it.
    pub label: String,
    /// What `runner debug` prints: the name, the type and each parameter's
    /// key with its value masked (`_dbt_secret_1 {type: s3, key_id: *****}`).
    pub shown: String,
    /// Every value given, to scrub from DuckDB's messages.
    values: Vec<String>,
}

impl fmt::Debug for SecretSql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretSql({})", self.label)
    }
}

impl SecretSql {
    /// A DuckDB message about this secret with every value masked.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = message.to_string();
        // Longest first, so a value holding another is masked whole.
        let mut values: Vec<&String> = self.values.iter().filter(|v| v.len() >= 2).collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for v in values {
            out = out.replace(v.as_str(), crate::secrets::MASK);
        }
        out
    }

    /// What to say when DuckDB refused to create this secret: its label and,
    /// when the type needs an extension that could not be loaded (S3, GCS,
    /// R2 and HTTP bearer secrets need `httpfs`, which runner does not build
    /// in), that extension by name. No value is ever part of it.
    pub fn refusal(&self, duckdb_message: &str) -> (String, Option<String>) {
        let message = self.scrub(duckdb_message);
        match missing_extension(&message) {
            Some(ext) => {
                // DuckDB's reason, `(ERROR Could not establish connection)`, when it gives one.
                let why = message
                    .split_once("(ERROR ")
                    .and_then(|(_, rest)| rest.split_once(')'))
                    .map(|(why, _)| format!(": {}", why.trim()))
                    .unwrap_or_default();
                (
                    format!(
                        "{} needs DuckDB's `{ext}` extension, which is not built into runner and could not be loaded{why}",
                        self.label
                    ),
                    Some(format!(
                        "DuckDB installs `{ext}` from extensions.duckdb.org on first use, which needs the network once (`runner debug` checks it); or remove the secret from the profile"
                    )),
                )
            }
            None => (format!("{}: {message}", self.label), None),
        }
    }
}

/// The extension a DuckDB message says it needed (`… the required extension
/// 'httpfs' …`, `… install the httpfs extension …`).
fn missing_extension(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    if !lower.contains("extension") {
        return None;
    }
    let ident = |s: &str| -> Option<String> {
        let name: String = s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        (!name.is_empty()).then_some(name)
    };
    for marker in ["extension '", "extension \"", "extension `"] {
        if let Some(i) = lower.find(marker) {
            return ident(&lower[i + marker.len()..]);
        }
    }
    let i = lower.find(" extension")?;
    lower[..i].rsplit(' ').next().and_then(ident).filter(|w| w != "the" && w != "an")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::Null => "None".into(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// dbt-duckdb's `_format_value`: maps and lists as DuckDB literals; `type`,
/// `provider` and `extra_http_headers` bare; anything else quoted.
fn param(key: &str, v: &Value, values: &mut Vec<String>) -> String {
    match v {
        Value::Mapping(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    values.push(text(v));
                    format!("{}: {}", quoted(&text(k)), quoted(&text(v)))
                })
                .collect();
            format!("{key} map {{{}}}", items.join(", "))
        }
        Value::Sequence(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| {
                    values.push(text(i));
                    quoted(&text(i))
                })
                .collect();
            format!("{key} array [{}]", items.join(", "))
        }
        _ if matches!(key, "type" | "provider" | "extra_http_headers") => format!("{key} {}", text(v)),
        _ => {
            values.push(text(v));
            format!("{key} {}", quoted(&text(v)))
        }
    }
}

/// The statements of a profile's `secrets:` list, in order.
pub fn parse(raw: &Value) -> Result<Vec<SecretSql>, String> {
    let Value::Sequence(entries) = raw else {
        return Err("`secrets` must be a list of secrets, each a map with a `type`".into());
    };
    entries.iter().enumerate().map(|(i, e)| one(i, e)).collect()
}

/// dbt-duckdb's `use_credential_provider: aws`, kept for old profiles: one
/// more secret, `{type: s3, provider: credential_chain}`, after the listed ones.
pub fn credential_provider(provider: &Value, listed: usize) -> Result<SecretSql, String> {
    match provider.as_str() {
        Some("aws") => {
            let entry: Value = serde_yaml::from_str("{type: s3, provider: credential_chain}").map_err(|e| e.to_string())?;
            one(listed, &entry)
        }
        _ => Err(format!(
            "Unsupported value for use_credential_provider: {} (hint: `aws` is the only one, or list the secret under `secrets:`)",
            text(provider)
        )),
    }
}

fn one(i: usize, entry: &Value) -> Result<SecretSql, String> {
    let Value::Mapping(m) = entry else {
        return Err(format!("`secrets[{i}]` must be a map with a `type`"));
    };
    let get = |k: &str| m.get(Value::String(k.into()));
    let kind = get("type").map(text).ok_or_else(|| format!("`secrets[{i}]` has no `type`"))?;
    // Names and types are identifiers in the statement: nothing else passes.
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ident(&kind) {
        return Err(format!("`secrets[{i}]`: `type` `{kind}` is not a secret type name"));
    }
    // dbt-duckdb's credentials name an unnamed secret `_dbt_secret_<n>`; an
    // explicit `name: null` leaves it unnamed.
    let name = match get("name") {
        None => Some(format!("_dbt_secret_{}", i + 1)),
        Some(v) => (!v.is_null()).then(|| text(v)),
    };
    if let Some(n) = name.as_deref().filter(|n| !ident(n)) {
        return Err(format!("`secrets[{i}]`: `name` `{n}` is not a plain name"));
    }
    let persistent = matches!(get("persistent"), Some(Value::Bool(true)));
    let mut values = Vec::new();
    let mut params = Vec::new();
    let mut scopes: Vec<String> = Vec::new();
    // dbt-duckdb's order: type, provider, scope, then the other keys as written;
    // a given scope goes last, one `scope` per entry.
    let mut keys: Vec<(&str, &Value)> = vec![("type", get("type").unwrap_or(&Value::Null))];
    keys.extend(get("provider").filter(|v| !v.is_null()).map(|v| ("provider", v)));
    for (k, v) in m {
        let Some(k) = k.as_str() else { continue };
        if matches!(k, "type" | "provider" | "name" | "persistent") || v.is_null() {
            continue;
        }
        if k == "scope" {
            match v {
                Value::Sequence(items) => scopes.extend(items.iter().map(text)),
                other => scopes.push(text(other)),
            }
            continue;
        }
        if !ident(k) {
            return Err(format!("`secrets[{i}]`: `{k}` is not a parameter name"));
        }
        keys.push((k, v));
    }
    for (k, v) in keys {
        params.push(param(k, v, &mut values));
    }
    params.extend(scopes.iter().map(|s| format!("scope {}", quoted(s))));
    let body = params.join(",\n    ");
    let (or_replace, name_sql) = match &name {
        Some(n) => (" OR REPLACE", format!(" {n}")),
        None => ("", String::new()),
    };
    let mask = crate::secrets::MASK;
    let mut shown_params = vec![format!("type: {kind}")];
    shown_params.extend(m.iter().filter_map(|(k, v)| {
        let k = k.as_str()?;
        (!matches!(k, "type" | "name") && !v.is_null()).then(|| format!("{k}: {mask}"))
    }));
    let shown = format!("{} {{{}}}", name.as_deref().unwrap_or("(unnamed)"), shown_params.join(", "));
    let statement = |persist: &str| format!("CREATE{or_replace}{persist} SECRET{name_sql} (\n    {body}\n)");
    Ok(SecretSql {
        sql: statement(if persistent { " PERSISTENT" } else { "" }),
        check_sql: statement(""),
        label: match &name {
            Some(n) => format!("secret `{n}` (secrets[{i}], type {kind})"),
            None => format!("secret secrets[{i}] (type {kind})"),
        },
        shown,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(yaml: &str) -> Vec<String> {
        parse(&serde_yaml::from_str(yaml).expect("yaml")).expect("secrets").into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn statements_are_dbt_duckdbs() {
        // Expected text printed by dbt-duckdb 1.9.6's `DuckDBCredentials(secrets=…).secrets_sql()`.
        assert_eq!(
            sql("- {type: s3, key_id: AKIA, secret: sh, region: us-east-1}"),
            ["CREATE OR REPLACE SECRET _dbt_secret_1 (\n    type s3,\n    key_id 'AKIA',\n    secret 'sh',\n    region 'us-east-1'\n)"]
        );
        assert_eq!(sql("- {type: s3, name: null}"), ["CREATE SECRET (\n    type s3\n)"]);
        assert_eq!(
            sql("- {type: s3, name: prod, persistent: true, provider: credential_chain, scope: ['s3://a', 's3://b']}"),
            ["CREATE OR REPLACE PERSISTENT SECRET prod (\n    type s3,\n    provider credential_chain,\n    scope 's3://a',\n    scope 's3://b'\n)"]
        );
        assert_eq!(
            sql("- {type: s3}\n- {type: http, extra_http_headers: {A: b}, bearer_token: t}")[1],
            "CREATE OR REPLACE SECRET _dbt_secret_2 (\n    type http,\n    extra_http_headers map {'A': 'b'},\n    bearer_token 't'\n)"
        );
        let aws = credential_provider(&Value::String("aws".into()), 1).expect("aws");
        assert_eq!(aws.sql, "CREATE OR REPLACE SECRET _dbt_secret_2 (\n    type s3,\n    provider credential_chain\n)");
        assert!(credential_provider(&Value::String("gcp".into()), 0).is_err_and(|e| e.contains("gcp")));
    }

    #[test]
    fn a_missing_extension_is_named_and_no_value_shown() {
        let s = &parse(&serde_yaml::from_str("- {type: s3, secret: hunter22}").expect("yaml")).expect("ok")[0];
        let duckdb = "Extension Autoloading Error: An error occurred while trying to automatically install the required extension 'httpfs':\nFailed to download extension \"httpfs\" at URL \"http://extensions.duckdb.org/x\"\n (ERROR Could not establish connection) hunter22";
        let (message, hint) = s.refusal(duckdb);
        assert_eq!(
            message,
            "secret `_dbt_secret_1` (secrets[0], type s3) needs DuckDB's `httpfs` extension, which is not built into runner and could not be loaded: Could not establish connection"
        );
        assert!(!message.contains("hunter22") && hint.is_some_and(|h| h.contains("httpfs")), "{message}");
        assert_eq!(
            missing_extension("Catalog Error: Secret type 'azure' not found, install the azure extension"),
            Some("azure".into())
        );
        let (plain, none) = s.refusal("Invalid Input Error: Unknown parameter 'nope'");
        assert_eq!(
            (plain.as_str(), none),
            ("secret `_dbt_secret_1` (secrets[0], type s3): Invalid Input Error: Unknown parameter 'nope'", None)
        );
    }

    #[test]
    fn values_never_show_and_bad_entries_say_why() {
        let s = &parse(&serde_yaml::from_str("- {type: s3, secret: hunter22}").expect("yaml")).expect("ok")[0];
        assert!(!format!("{s:?}").contains("hunter22"));
        assert_eq!(s.shown, "_dbt_secret_1 {type: s3, secret: *****}");
        assert_eq!(s.scrub("error near 'hunter22'"), "error near '*****'");
        for (bad, why) in [("{type: s3}", "a list"), ("- {key: x}", "no `type`"), ("- {type: 's3; drop'}", "type name")]
        {
            let e = parse(&serde_yaml::from_str(bad).expect("yaml")).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
