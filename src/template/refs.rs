//! dbt's `ref()` arguments: `ref('m')`, `ref('package', 'm')` and a model
//! version as `v=` or `version=` (`ref('m', v=2)`), read the way dbt-core's
//! `BaseRefResolver` reads them into a [`RefCall`]. Every `ref` of the Jinja
//! context (the resolve pass, the render pass, test arguments, unit tests)
//! parses its arguments here; what a call resolves to is `lookup`'s.

use super::lookup::RefCall;
use crate::project::versions::Version;
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, ErrorKind};

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// The arguments of one `ref(…)` call (positional values, then minijinja's
/// keyword-argument map when there is one).
pub fn parse(args: &[Value]) -> Result<RefCall, Error> {
    let (kwargs, positional) = match args.split_last() {
        Some((last, rest)) if last.is_kwargs() => (Some(Kwargs::try_from(last.clone())?), rest),
        _ => (None, args),
    };
    let text = |v: &Value, what: &str| -> Result<String, Error> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| invalid(format!("the {what} argument to `ref()` must be a string, got `{v}`")))
    };
    let (package, name) = match positional {
        [name] => (None, text(name, "name")?),
        [package, name] => (Some(text(package, "package")?), text(name, "name")?),
        _ => return Err(invalid(format!("`ref()` takes at most two arguments ({} given)", positional.len()))),
    };
    let mut version = None;
    if let Some(kwargs) = kwargs {
        // dbt reads `version` first, then `v`; other keyword arguments are ignored, as dbt ignores them.
        for key in ["version", "v"] {
            let given: Option<Value> = kwargs.get(key)?;
            if let Some(v) = given.filter(Value::is_true) {
                version = Some(version_of(&v)?);
                break;
            }
        }
    }
    Ok(RefCall { package, name, version })
}

/// A version argument: a string or a number, as dbt's `validate_args` accepts.
fn version_of(v: &Value) -> Result<Version, Error> {
    let json = match v.kind() {
        ValueKind::String => serde_json::Value::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Number => match i64::try_from(v.clone()) {
            Ok(i) if !v.to_string().contains(['.', 'e', 'E']) => serde_json::Value::from(i),
            _ => f64::try_from(v.clone()).ok().map(serde_json::Value::from).unwrap_or(serde_json::Value::Null),
        },
        _ => {
            return Err(invalid(format!(
                "the version argument to `ref()` must be a string, int, float, or none - got `{v}`"
            )))
        }
    };
    Ok(Version::from_json(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `key|package|version as JSON` of one call, or its error.
    fn call(expr: &str) -> Result<String, String> {
        let mut env = minijinja::Environment::new();
        env.add_function(
            "ref",
            |args: minijinja::value::Rest<minijinja::value::ValueOrKwargs>| -> Result<Value, Error> {
                let c = parse(&args.into_values())?;
                let version = c.version.as_ref().map(|v| v.json.to_string()).unwrap_or_default();
                Ok(Value::from(format!("{}|{}|{version}", c.key(), c.package.unwrap_or_default())))
            },
        );
        env.render_str(&format!("{{{{ {expr} }}}}"), ()).map_err(|e| e.to_string())
    }

    #[test]
    fn versions_by_either_keyword_keep_their_type() {
        assert_eq!(call("ref('m', v=2)").as_deref(), Ok("m.v2||2"));
        assert_eq!(call("ref('m', version='3')").as_deref(), Ok("m.v3||\"3\""));
        assert_eq!(call("ref('pkg', 'm', v=1.5)").as_deref(), Ok("m.v1.5|pkg|1.5"));
        assert_eq!(call("ref('m', v=1.0)").as_deref(), Ok("m.v1.0||1.0"));
        // dbt reads a falsy version as no version.
        assert_eq!(call("ref('m', v=0)").as_deref(), Ok("m||"));
        assert_eq!(call("ref('m')").as_deref(), Ok("m||"));
    }

    #[test]
    fn bad_arguments_are_dbt_errors() {
        assert!(call("ref('a', 'b', 'c')").expect_err("three").contains("at most two arguments (3 given)"));
        assert!(call("ref('m', v=[1])").expect_err("list").contains("must be a string, int, float"));
        assert!(call("ref(1)").expect_err("number").contains("name argument"));
    }

    #[test]
    fn written_as_a_user_writes_it() {
        let v = |j| Some(Version::from_json(j));
        let c = RefCall { name: "m".into(), package: Some("p".into()), version: v(serde_json::json!("2")) };
        assert_eq!(c.to_string(), "ref('p', 'm', v='2')");
        assert_eq!(RefCall { version: v(serde_json::json!(2)), ..RefCall::named("m") }.to_string(), "ref('m', v=2)");
    }
}
