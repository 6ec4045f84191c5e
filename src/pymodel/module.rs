//! The compiled form of a Python model: its file as written, followed by the
//! `dbtObj` class that builds the `dbt` object `model(dbt, session)` receives
//! — `ref` and `source` (each key mapped to the relation's name), `config.get`
//! (the values of the keys the file reads, as dbt computes them when it
//! compiles), `this` and `is_incremental` — as dbt-core compiles a Python
//! model, so `target/compiled/…/<model>.py` and the manifest's
//! `compiled_code` read as dbt's do. The file's own lines keep their numbers.
//! Only `dbtObj` is added to the module's names (dbt also adds `ref`,
//! `source`, `config`, `this`, …, replacing a model's own names).
//! Pure: text in, text out.

use super::PyModel;
use crate::config_tree::ConfigMap;
use crate::data_tests::naming::{py_repr, py_repr_str};
use crate::template::relation::Relation;
use crate::template::Relations;
use serde_yaml::Value;

/// What the compiled module needs to know besides the model.
pub(crate) struct ModuleCtx<'a> {
    pub this: &'a Relation,
    pub relations: &'a Relations,
    pub config: &'a ConfigMap,
    pub is_incremental: bool,
    /// dbt's default of a model config field, `None` for a key that is no
    /// field of dbt's `ModelConfig`: `artifacts::manifest::model_config_default`,
    /// handed in by the caller, because `artifacts` sits above this module
    /// (the plan holds Python models, and the manifest is written from the plan).
    pub config_default: ConfigDefault,
}

/// See [`ModuleCtx::config_default`].
pub(crate) type ConfigDefault = fn(&str) -> Option<serde_json::Value>;

/// The model's text and the `dbtObj` it is run with.
pub(crate) fn text(model: &PyModel, ctx: &ModuleCtx) -> String {
    let refs: Vec<(String, String)> =
        model.refs.iter().filter_map(|r| Some((r.key(), ctx.relations.by_name.get(&r.name)?.to_string()))).collect();
    let sources: Vec<(String, String)> = model
        .sources
        .iter()
        .filter_map(|(s, t)| {
            Some((format!("{s}.{t}"), ctx.relations.sources.get(&(s.clone(), t.clone()))?.to_string()))
        })
        .collect();
    let values: Vec<(String, String)> = config_values(ctx.config, ctx.config_default)
        .into_iter()
        .map(|(k, v)| (py_repr_str(&k), py_repr(&v)))
        .collect();
    let dict = |pairs: &[(String, String)], quote: bool| {
        let items: Vec<String> = pairs
            .iter()
            .map(|(k, v)| if quote { format!("{}: {}", py_repr_str(k), py_repr_str(v)) } else { format!("{k}: {v}") })
            .collect();
        format!("{{{}}}", items.join(", "))
    };
    let this = ctx.this;
    format!(
        r#"{code}


# ---------------------------------------------------------------------------
# Added by runner, not part of the model's file: the `dbt` object that
# `model(dbt, session)` receives.


class dbtObj:
    def __init__(self, load_df_function):
        refs = {refs}
        sources = {sources}
        config_values = {values}

        def ref(*args, **kwargs):
            key = ".".join(args)
            version = kwargs.get("v") or kwargs.get("version")
            if version:
                key += ".v" + str(version)
            return load_df_function(refs[key])

        def source(*args):
            return load_df_function(sources[".".join(args)])

        class config:
            def __init__(self, *args, **kwargs):
                pass

            @staticmethod
            def get(key, default=None):
                return config_values.get(key, default)

            @staticmethod
            def meta_get(key, default=None):
                return default

        class this:
            database = {database}
            schema = {schema}
            identifier = {identifier}

            def __repr__(self):
                return {relation}

        self.ref = ref
        self.source = source
        self.config = config
        self.this = this()
        self.is_incremental = {is_incremental}
"#,
        code = model.code.trim_end(),
        refs = dict(&refs, true),
        sources = dict(&sources, true),
        values = dict(&values, false),
        database = py_repr_str(&this.database),
        schema = py_repr_str(&this.schema),
        identifier = py_repr_str(&this.identifier),
        relation = py_repr_str(&this.to_string()),
        is_incremental = if ctx.is_incremental { "True" } else { "False" },
    )
}

/// What `dbt.config.get(key)` returns for each key the file reads, as dbt
/// computes it: the model's config value; else the default of a config
/// field dbt knows (`on_schema_change` is `"ignore"`); else the default
/// written in the call. Later keys replace earlier ones, as in a dict.
pub(crate) fn config_values(config: &ConfigMap, config_default: ConfigDefault) -> Vec<(String, Value)> {
    let list = |key: &str| config.get(key).and_then(Value::as_sequence).cloned().unwrap_or_default();
    let (keys, defaults) = (list(super::KEYS_USED), list(super::KEYS_DEFAULTS));
    let mut out: Vec<(String, Value)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let Some(key) = key.as_str() else { continue };
        let value = match config.get(key) {
            Some(v) => v.clone(),
            None => match config_default(key) {
                Some(json) => serde_yaml::to_value(json).unwrap_or(Value::Null),
                None => defaults.get(i).cloned().unwrap_or(Value::Null),
            },
        };
        match out.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => out.push((key.to_string(), value)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::manifest::model_config_default;
    use crate::pymodel::parse::RefCall;

    fn cfg(yaml: &str) -> ConfigMap {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    #[test]
    fn config_get_reads_the_models_value_then_dbts_default_then_the_calls() {
        let c = cfg(
            "materialized: table\nthreshold: 20\nconfig_keys_used: [threshold, on_schema_change, missing, materialized, missing]\nconfig_keys_defaults: [1, x, fallback, null, again]",
        );
        let got: Vec<(String, String)> =
            config_values(&c, model_config_default).into_iter().map(|(k, v)| (k, py_repr(&v))).collect();
        let want = [
            ("threshold", "20"),
            ("on_schema_change", "'ignore'"),
            ("missing", "'again'"),
            ("materialized", "'table'"),
        ];
        assert_eq!(got, want.map(|(k, v)| (k.to_string(), v.to_string())));
    }

    #[test]
    fn the_module_is_the_file_then_dbt_obj() {
        let mut relations = Relations::default();
        relations.by_name.insert("stg".into(), Relation::new("wh", "main", "stg"));
        relations.sources.insert(("raw".into(), "o".into()), Relation::new("wh", "raw", "o's"));
        let model = PyModel {
            code: "def model(dbt, session):\n    return dbt.ref('stg')\n\n".into(),
            refs: vec![RefCall { package: Some("shop".into()), name: "stg".into() }],
            sources: vec![("raw".into(), "o".into())],
        };
        let this = Relation::new("wh", "main", "m");
        let config = cfg("config_keys_used: [k]\nconfig_keys_defaults: [1]");
        let text = text(
            &model,
            &ModuleCtx {
                this: &this,
                relations: &relations,
                config: &config,
                is_incremental: true,
                config_default: model_config_default,
            },
        );
        assert!(text.starts_with("def model(dbt, session):\n    return dbt.ref('stg')\n\n\n# ---"), "{text}");
        assert!(text.contains(r#"refs = {'shop.stg': '"wh"."main"."stg"'}"#), "{text}");
        assert!(text.contains(r#"sources = {'raw.o': '"wh"."raw"."o\'s"'}"#), "{text}");
        assert!(text.contains("config_values = {'k': 1}"), "{text}");
        assert!(text.contains("identifier = 'm'") && text.contains(r#"return '"wh"."main"."m"'"#), "{text}");
        assert!(text.contains("self.is_incremental = True"), "{text}");
    }
}
