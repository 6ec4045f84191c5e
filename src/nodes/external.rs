//! dbt-duckdb 1.9's `external` materialization, its settings and the text it
//! derives from them: where the file goes (`location`, else
//! `<external_root>/<alias>.<format>`), the `COPY` options
//! (`adapter.external_write_options`), where the view reads it back
//! (`adapter.external_read_location`: a glob under a `partition_by` folder)
//! and with which reader (`read_parquet`, `read_csv` or `read_json` and their
//! `*_read_options`). Settings are checked once at plan time (bad values are
//! load errors); the executor renders the Jinja in `location` and option
//! values, then asks [`files`] for the text. What needs dbt-duckdb's Python
//! plugins (`plugin`, `glue_register`) is refused here. Pure: no I/O, no SQL run.

use super::materialize::{bad, ConfigError};
use crate::config_tree::ConfigMap;
use crate::data_tests::naming::py_str;
use serde_yaml::Value;

/// The formats dbt-duckdb writes, in its error message's order.
pub const FORMATS: [&str; 3] = ["csv", "parquet", "json"];

/// An external model's settings as configured; Jinja in `location`, the
/// options, `format` and `delimiter` is rendered when the model runs.
#[derive(Debug, Clone, PartialEq)]
pub struct External {
    pub location: Option<String>,
    /// `format`, one of [`FORMATS`]: how the file is read back.
    pub format: Option<String>,
    pub delimiter: Option<String>,
    /// `options`, in config order, each value as Python's `str()` gives it
    /// (what dbt-duckdb's `render` receives).
    pub options: Vec<(String, String)>,
    /// `parquet_read_options`, `csv_read_options`, `json_read_options`, each
    /// as the `, key=value` text the view's reader call gets.
    pub parquet_read: String,
    pub csv_read: String,
    pub json_read: String,
}

/// One build's files, once Jinja is rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Files {
    /// Where `COPY` writes (a folder with `partition_by`).
    pub location: String,
    /// `COPY`'s option list, without the parentheses.
    pub write_options: String,
    /// The path or glob the view reads.
    pub read_location: String,
    /// `read_parquet('…', union_by_name=False)`: the view's `from`.
    pub reader: String,
}

/// A config value that may be absent: dbt's `config.get(key)` is falsy for
/// null, `''` and `false` alike.
fn truthy(cfg: &ConfigMap, key: &str) -> Option<Value> {
    cfg.get(key).filter(|v| !matches!(v, Value::Null | Value::Bool(false)) && v.as_str() != Some("")).cloned()
}

/// `key=value` pairs for a reader call, as dbt-duckdb's materialization
/// writes them: text quoted, anything else as Python prints it.
fn read_options(cfg: &ConfigMap, key: &'static str, default: (&str, bool)) -> Result<String, ConfigError> {
    let pairs: Vec<(String, Value)> = match cfg.get(key) {
        None => vec![(default.0.to_string(), Value::Bool(default.1))],
        Some(Value::Mapping(m)) => m.iter().map(|(k, v)| (py_str(k), v.clone())).collect(),
        Some(_) => return Err(bad(key, format!("`{key}` must be a map of reader options"), "")),
    };
    Ok(pairs
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!(", {k}='{s}'"),
            other => format!(", {k}={}", py_str(other)),
        })
        .collect())
}

impl External {
    /// The external settings of a model's merged config.
    pub fn from_config(cfg: &ConfigMap) -> Result<External, ConfigError> {
        if truthy(cfg, "glue_register").is_some() {
            return Err(bad(
                "glue_register",
                "`glue_register` registers the file in AWS Glue through dbt-duckdb's Python plugins, which runner does not run".into(),
                "remove `glue_register`; the file and the view are written without it",
            ));
        }
        if cfg.get("plugin").is_some_and(|v| !v.is_null()) {
            return Err(bad(
                "plugin",
                "`plugin` hands the file to one of dbt-duckdb's Python plugins, which runner does not run".into(),
                "remove `plugin`; the file and the view are written without it",
            ));
        }
        let location = match cfg.get("location") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(bad("location", "`location` must be a path such as `out/orders.parquet`".into(), ""))
            }
        };
        let format = match truthy(cfg, "format") {
            None => None,
            Some(v) => {
                let f = py_str(&v);
                if !FORMATS.contains(&f.as_str()) {
                    // dbt-duckdb's own words.
                    return Err(bad(
                        "format",
                        format!("Invalid format: {f}. Allowed formats are: {}", FORMATS.join(", ")),
                        "",
                    ));
                }
                Some(f)
            }
        };
        let options = match cfg.get("options") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Mapping(m)) => m.iter().map(|(k, v)| (py_str(k), py_str(v))).collect(),
            Some(_) => {
                return Err(bad(
                    "options",
                    "The options argument must be a dictionary".into(),
                    "e.g. `options: {partition_by: day}`",
                ));
            }
        };
        Ok(External {
            location,
            format,
            delimiter: truthy(cfg, "delimiter").map(|v| py_str(&v)),
            options,
            parquet_read: read_options(cfg, "parquet_read_options", ("union_by_name", false))?,
            csv_read: read_options(cfg, "csv_read_options", ("auto_detect", true))?,
            json_read: read_options(cfg, "json_read_options", ("auto_detect", true))?,
        })
    }

    /// dbt-duckdb's `external_location` macro: `<root>/<alias>.<format>`, or
    /// the folder `<root>/<alias>` when `options` has a `partition_by`.
    pub fn default_location(&self, root: &str, identifier: &str) -> String {
        if self.options.iter().any(|(k, v)| k == "partition_by" && v != "None") {
            format!("{root}/{identifier}")
        } else {
            format!("{root}/{identifier}.{}", self.format.as_deref().unwrap_or("parquet"))
        }
    }
}

/// Python's `os.path.splitext(path)[1]`: the last extension of the file
/// name, leading dots of the name not counting.
fn extension(path: &str) -> &str {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    let name = &path[name_start..];
    match name.rfind('.') {
        Some(dot) if name[..dot].chars().any(|c| c != '.') => &name[dot..],
        _ => "",
    }
}

/// The files of one build: `location` and the option values rendered (`format`
/// and `delimiter` too, when set), as dbt-duckdb's `render_write_options`,
/// `external_write_options` and `external_read_location` derive them.
pub fn files(ext: &External, location: String, mut options: Vec<(String, String)>) -> Files {
    let set = |options: &mut Vec<(String, String)>, key: &str, value: String| match options
        .iter_mut()
        .find(|(k, _)| k == key)
    {
        Some(slot) => slot.1 = value,
        None => options.push((key.to_string(), value)),
    };
    let get = |options: &[(String, String)], key: &str| options.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    if let Some(f) = &ext.format {
        set(&mut options, "format", f.clone());
    }
    if let Some(d) = &ext.delimiter {
        set(&mut options, "delimiter", d.clone());
    }
    if get(&options, "format").is_none() {
        let ext = extension(&location).to_lowercase();
        let format = if !ext.is_empty() {
            ext[1..].to_string()
        } else if get(&options, "delimiter").is_some() {
            "csv".into()
        } else {
            "parquet".into()
        };
        set(&mut options, "format", format);
    }
    if get(&options, "format").as_deref() == Some("csv") && get(&options, "header").is_none() {
        set(&mut options, "header", "1".into());
    }
    if let Some(p) = get(&options, "partition_by") {
        if p.contains(',') && !p.starts_with('(') {
            set(&mut options, "partition_by", format!("({p})"));
        }
    }
    let write_options = options
        .iter()
        .map(|(k, v)| {
            let quoted = matches!(k.to_lowercase().as_str(), "delimiter" | "quote" | "escape" | "null");
            if quoted && !v.starts_with('\'') {
                format!("{k} '{v}'")
            } else {
                format!("{k} {v}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Python's truth of a rendered option: any text but the empty one.
    let partition_by = get(&options, "partition_by").filter(|p| !p.is_empty());
    let per_thread = get(&options, "per_thread_output").is_some_and(|p| !p.is_empty());
    let read_location = if partition_by.is_some() || per_thread {
        let mut globs = vec![location.clone(), "*".into()];
        if let Some(p) = &partition_by {
            globs.extend(std::iter::repeat_n("*".to_string(), p.split(',').count()));
        }
        format!("{}.{}", globs.join("/"), get(&options, "format").unwrap_or_else(|| "parquet".into()))
    } else {
        location.clone()
    };
    // The reader: `format`, else the location's last `.` part when it is one
    // of dbt-duckdb's formats, else parquet (the materialization's own rule).
    let format = ext.format.clone().unwrap_or_else(|| {
        let last = location.rsplit('.').next().unwrap_or("").to_lowercase();
        if location.contains('.') && FORMATS.contains(&last.as_str()) {
            last
        } else {
            "parquet".into()
        }
    });
    let (function, opts) = match format.as_str() {
        "json" => ("read_json", &ext.json_read),
        "csv" => ("read_csv", &ext.csv_read),
        _ => ("read_parquet", &ext.parquet_read),
    };
    let reader = format!("{function}({}{opts})", literal(&read_location));
    Files { location, write_options, read_location, reader }
}

/// A SQL string literal. dbt-duckdb writes paths between quotes as they are;
/// a quote inside is doubled here, so such a path works instead of breaking
/// the statement.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(yaml: &str) -> External {
        External::from_config(&serde_yaml::from_str(yaml).expect("yaml")).expect("valid")
    }

    fn built(yaml: &str, root: &str) -> Files {
        let e = ext(yaml);
        let location = e.location.clone().unwrap_or_else(|| e.default_location(root, "orders"));
        files(&e, location, e.options.clone())
    }

    #[test]
    fn defaults_are_dbt_duckdbs() {
        let f = built("materialized: external", ".");
        assert_eq!(f.location, "./orders.parquet");
        assert_eq!(f.write_options, "format parquet");
        assert_eq!(f.reader, "read_parquet('./orders.parquet', union_by_name=False)");
        let f = built("format: csv\ndelimiter: '|'", "out");
        assert_eq!(
            (f.location.as_str(), f.write_options.as_str()),
            ("out/orders.csv", "format csv, delimiter '|', header 1")
        );
        assert_eq!(f.reader, "read_csv('out/orders.csv', auto_detect=True)");
        let f = built("location: out/x.JSON", ".");
        assert_eq!(
            (f.write_options.as_str(), f.reader.as_str()),
            ("format json", "read_json('out/x.JSON', auto_detect=True)")
        );
        // A location whose extension is no format: written as that, read as parquet (as dbt-duckdb does).
        assert_eq!(built("location: out/x.txt", ".").write_options, "format txt");
        assert!(built("location: out/x.txt", ".").reader.starts_with("read_parquet("));
        assert_eq!(built("location: out/x\ndelimiter: ';'", ".").write_options, "delimiter ';', format csv, header 1");
        assert_eq!(built("location: out.d/.hidden", ".").write_options, "format parquet");
    }

    #[test]
    fn partitions_are_written_to_a_folder_and_read_through_a_glob() {
        let f = built("options: {partition_by: 'day, kind', overwrite: true}", "out");
        assert_eq!(f.location, "out/orders");
        assert_eq!(f.write_options, "partition_by (day, kind), overwrite True, format parquet");
        assert_eq!(f.read_location, "out/orders/*/*/*.parquet");
        let f = built("options: {per_thread_output: true}\nformat: csv", "out");
        assert_eq!((f.location.as_str(), f.read_location.as_str()), ("out/orders.csv", "out/orders.csv/*.csv"));
        let f = built("csv_read_options: {header: true, delim: ','}\nformat: csv", ".");
        assert_eq!(f.reader, "read_csv('./orders.csv', header=True, delim=',')");
    }

    #[test]
    fn what_dbt_duckdb_refuses_or_runner_cannot_do_is_a_config_error() {
        let err = |yaml: &str| External::from_config(&serde_yaml::from_str(yaml).expect("yaml")).expect_err(yaml);
        let e = err("format: xlsx");
        assert_eq!(
            (e.key, e.message.as_str()),
            ("format", "Invalid format: xlsx. Allowed formats are: csv, parquet, json")
        );
        assert_eq!(err("options: abc").key, "options");
        assert_eq!(err("glue_register: true").key, "glue_register");
        assert_eq!(err("plugin: excel").key, "plugin");
        assert_eq!(err("json_read_options: [a]").key, "json_read_options");
        assert_eq!(err("location: [a]").key, "location");
        assert!(External::from_config(&serde_yaml::from_str("glue_register: false").expect("yaml")).is_ok());
    }

    #[test]
    fn extensions_follow_pythons_splitext() {
        assert_eq!(extension("a/b.tar.gz"), ".gz");
        assert_eq!(extension("a.b/c"), "");
        assert_eq!(extension("a/.hidden"), "");
        assert_eq!(extension("a/..x.csv"), ".csv");
    }
}
