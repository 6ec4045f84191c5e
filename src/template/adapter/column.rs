//! dbt's `Column` as dbt-duckdb 1.9 defines it (`DuckDBColumn` over
//! dbt-adapters' base `Column`): what `adapter.get_columns_in_relation`
//! returns and what `api.Column` builds and translates.
//!
//! Packages branch on these answers (`is_string()`, `data_type`, …) to write
//! SQL, so each one follows dbt's rules to the letter, odd ones included: a
//! DuckDB `VARCHAR` column's `data_type` is `character varying(256)` and a
//! `DECIMAL(18,3)` column is not `is_numeric()`, exactly as in dbt. This
//! module only models columns; reading the catalog is the adapter's.

use super::super::context::invalid;
use minijinja::value::{from_args, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use std::fmt;
use std::sync::Arc;

/// One column: dbt's dataclass fields (`char_size`, `numeric_precision` and
/// `numeric_scale` stay Jinja values, `None` included, as dbt prints them).
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) column: String,
    pub(crate) dtype: String,
    pub(crate) char_size: Value,
    pub(crate) numeric_precision: Value,
    pub(crate) numeric_scale: Value,
    /// A `STRUCT(...)` column's fields, parsed from its type as dbt-duckdb does.
    pub(crate) fields: Vec<Column>,
}

/// The integer type names dbt-duckdb's `is_integer` knows.
const INTEGERS: &[&str] = &[
    "tinyint",
    "smallint",
    "integer",
    "bigint",
    "hugeint",
    "utinyint",
    "usmallint",
    "uinteger",
    "ubigint",
    "int1",
    "int2",
    "int4",
    "int8",
    "short",
    "int",
    "signed",
    "long",
];

fn none(v: &Value) -> bool {
    v.is_none() || v.is_undefined()
}

/// dbt's `Column.translate_type`: only `string` has a label (`TEXT`).
pub(crate) fn translate_type(dtype: &str) -> String {
    if dtype.eq_ignore_ascii_case("string") {
        "TEXT".to_string()
    } else {
        dtype.to_string()
    }
}

fn string_type(size: &Value) -> String {
    format!("character varying({size})")
}

fn numeric_type(dtype: &str, precision: &Value, scale: &Value) -> String {
    if none(precision) || none(scale) {
        dtype.to_string()
    } else {
        format!("{dtype}({precision},{scale})")
    }
}

/// Python's `repr` of a string, as a dataclass repr shows it.
fn py_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::from(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

fn py_value(v: &Value) -> String {
    if none(v) {
        "None".to_string()
    } else if let Some(s) = v.as_str() {
        py_repr(s)
    } else {
        v.to_string()
    }
}

/// The `name type` pairs of `STRUCT(name type, …)`, split at top-level commas
/// (a type such as `DECIMAL(10, 2)` holds commas of its own).
fn struct_fields(dtype: &str) -> Vec<Column> {
    let upper = dtype.to_ascii_uppercase();
    // dbt's `re.match(r"STRUCT\((.*)\)")`: anchored at the start, greedy to the last `)`.
    let (Some(open), Some(close)) = (upper.starts_with("STRUCT(").then_some(7), dtype.rfind(')')) else {
        return Vec::new();
    };
    if close < open {
        return Vec::new();
    }
    let content = &dtype[open..close];
    let (mut parts, mut current, mut depth) = (Vec::new(), String::new(), 0i32);
    for c in content.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            parts.push(std::mem::take(&mut current).trim().to_string());
        } else {
            current.push(c);
        }
    }
    parts.push(current.trim().to_string());
    parts
        .iter()
        .map(|f| {
            let (name, ty) = f.split_once(' ').unwrap_or((f.as_str(), ""));
            Column::new(name, ty)
        })
        .collect()
}

impl Column {
    pub(crate) fn new(column: &str, dtype: &str) -> Column {
        Column::with_sizes(column, dtype, Value::from(()), Value::from(()), Value::from(()))
    }

    pub(crate) fn with_sizes(column: &str, dtype: &str, char_size: Value, precision: Value, scale: Value) -> Column {
        Column {
            column: column.to_string(),
            dtype: dtype.to_string(),
            char_size,
            numeric_precision: precision,
            numeric_scale: scale,
            fields: struct_fields(dtype),
        }
    }

    /// dbt's `Column.from_description(name, raw_data_type)`: `varchar(20)`
    /// gives a char size, `decimal(10,2)` a precision and a scale.
    fn from_description(name: &str, raw: &str) -> Result<Column, Error> {
        let Some((base, sizes)) = raw.split_once('(').filter(|(b, _)| !b.is_empty()) else {
            return Ok(Column::new(name, raw));
        };
        let int = |s: &str| -> Result<Value, Error> {
            s.trim().parse::<i64>().map(Value::from).map_err(|_| {
                invalid(format!(
                    "could not interpret data type `{raw}`: `{s}` is not an integer (hint: write sizes as `type(n)` or `type(p,s)`)"
                ))
            })
        };
        let sizes = sizes.split(')').next().unwrap_or_default();
        let parts: Vec<&str> = sizes.split(',').collect();
        let nothing = || Value::from(());
        Ok(match parts.as_slice() {
            [n] => Column::with_sizes(name, base, int(n)?, nothing(), nothing()),
            [p, s] => Column::with_sizes(name, base, nothing(), int(p)?, int(s)?),
            _ => Column::with_sizes(name, base, nothing(), nothing(), nothing()),
        })
    }

    fn lower(&self) -> String {
        self.dtype.to_lowercase()
    }

    fn is_string(&self) -> bool {
        ["text", "character varying", "character", "varchar"].contains(&self.lower().as_str())
    }

    /// dbt-duckdb's list, not the base class's (`double precision` is not in it).
    fn is_float(&self) -> bool {
        ["real", "float", "float4", "float8", "double"].contains(&self.lower().as_str())
    }

    /// dbt-duckdb's list: signed, unsigned and alias integer names.
    fn is_integer(&self) -> bool {
        INTEGERS.contains(&self.lower().as_str())
    }

    fn is_numeric(&self) -> bool {
        ["numeric", "decimal"].contains(&self.lower().as_str())
    }

    fn is_number(&self) -> bool {
        self.is_integer() || self.is_numeric() || self.is_float()
    }

    fn is_struct(&self) -> bool {
        self.lower().starts_with("struct")
    }

    fn string_size(&self) -> Result<Value, Error> {
        if !self.is_string() {
            return Err(invalid(format!(
                "called `string_size()` on non-string column `{}` of type `{}` (hint: check `is_string()` first)",
                self.column, self.dtype
            )));
        }
        if self.dtype == "text" || none(&self.char_size) {
            return Ok(Value::from(256));
        }
        Ok(self.char_size.clone())
    }

    pub(crate) fn data_type(&self) -> Result<String, Error> {
        Ok(if self.is_string() {
            string_type(&self.string_size()?)
        } else if self.is_numeric() {
            numeric_type(&self.dtype, &self.numeric_precision, &self.numeric_scale)
        } else {
            self.dtype.clone()
        })
    }

    /// dbt-duckdb's `flatten()`: a struct's leaves as `parent.child` columns.
    fn flatten(&self) -> Vec<Column> {
        if !self.is_struct() {
            return vec![self.clone()];
        }
        let mut out = Vec::new();
        for f in &self.fields {
            for leaf in f.flatten() {
                out.push(Column::new(&format!("{}.{}", self.column, leaf.column), &leaf.dtype));
            }
        }
        out
    }

    pub(crate) fn to_value(&self) -> Value {
        Value::from_object(self.clone())
    }
}

impl fmt::Display for Column {
    /// The dataclass repr dbt prints for `{{ column }}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<String> = self.fields.iter().map(Column::to_string).collect();
        write!(
            f,
            "DuckDBColumn(column={}, dtype={}, char_size={}, numeric_precision={}, numeric_scale={}, fields=[{}])",
            py_repr(&self.column),
            py_repr(&self.dtype),
            py_value(&self.char_size),
            py_value(&self.numeric_precision),
            py_value(&self.numeric_scale),
            fields.join(", ")
        )
    }
}

impl Object for Column {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "name" | "column" => Value::from(self.column.clone()),
            "quoted" => Value::from(format!("\"{}\"", self.column)),
            "dtype" => Value::from(self.dtype.clone()),
            // An error here (`string_size` of a string column cannot fail) would be a bug; show the raw type.
            "data_type" | "expanded_data_type" => Value::from(self.data_type().unwrap_or_else(|_| self.dtype.clone())),
            "char_size" => self.char_size.clone(),
            "numeric_precision" => self.numeric_precision.clone(),
            "numeric_scale" => self.numeric_scale.clone(),
            "fields" => Value::from(self.fields.iter().map(Column::to_value).collect::<Vec<_>>()),
            _ => return None,
        })
    }

    fn call_method(self: &Arc<Self>, state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let flag = |b: bool| -> Result<Value, Error> {
            let () = from_args(args)?;
            Ok(Value::from(b))
        };
        match method {
            "is_string" => flag(self.is_string()),
            "is_number" => flag(self.is_number()),
            "is_integer" => flag(self.is_integer()),
            "is_float" => flag(self.is_float()),
            "is_numeric" => flag(self.is_numeric()),
            "is_struct" => flag(self.is_struct()),
            "string_size" => {
                let () = from_args(args)?;
                self.string_size()
            }
            "can_expand_to" => {
                let (other,): (Value,) = from_args(args)?;
                let other = other.downcast_object_ref::<Column>().ok_or_else(|| {
                    invalid(format!("`can_expand_to` expects a column, got `{other}` (hint: pass a `Column`)"))
                })?;
                if !self.is_string() || !other.is_string() {
                    return Ok(Value::from(false));
                }
                let (mine, theirs) = (self.string_size()?, other.string_size()?);
                Ok(Value::from(theirs.as_i64().unwrap_or(256) > mine.as_i64().unwrap_or(256)))
            }
            "literal" => {
                let (value,): (Value,) = from_args(args)?;
                Ok(Value::from(format!("{value}::{}", self.data_type()?)))
            }
            "flatten" => {
                let () = from_args(args)?;
                Ok(Value::from(self.flatten().iter().map(Column::to_value).collect::<Vec<_>>()))
            }
            // Class methods reached through an instance, as Python allows.
            _ => ColumnApi.call_class_method(state, method, args),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}

/// `api.Column`: the class. Called, it builds a column
/// (`api.Column(name, dtype, char_size, numeric_precision, numeric_scale)`);
/// its class methods translate and format type names.
#[derive(Debug)]
pub(crate) struct ColumnApi;

impl ColumnApi {
    fn call_class_method(&self, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "translate_type" => {
                let (dtype,): (&str,) = from_args(args)?;
                Ok(Value::from(translate_type(dtype)))
            }
            "create" => {
                let (name, dtype): (&str, &str) = from_args(args)?;
                Ok(Column::new(name, &translate_type(dtype)).to_value())
            }
            "string_type" => {
                let (size,): (Value,) = from_args(args)?;
                Ok(Value::from(string_type(&size)))
            }
            "numeric_type" => {
                let (dtype, precision, scale): (&str, Value, Value) = from_args(args)?;
                Ok(Value::from(numeric_type(dtype, &precision, &scale)))
            }
            "from_description" => {
                let (name, raw): (&str, &str) = from_args(args)?;
                Ok(Column::from_description(name, raw)?.to_value())
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl Object for ColumnApi {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    /// `api.Column(column, dtype, char_size=None, numeric_precision=None, numeric_scale=None)`,
    /// positionally or by keyword, as dbt's `sql_convert_columns_in_relation` calls it.
    fn call(self: &Arc<Self>, _: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs): (&[Value], Kwargs) = from_args(args)?;
        const NAMES: [&str; 5] = ["column", "dtype", "char_size", "numeric_precision", "numeric_scale"];
        if positional.len() > NAMES.len() {
            return Err(invalid(format!(
                "`api.Column` takes at most 5 arguments, got {} (hint: `api.Column(name, dtype, char_size, numeric_precision, numeric_scale)`)",
                positional.len()
            )));
        }
        let mut values: Vec<Value> = Vec::new();
        for (i, name) in NAMES.iter().enumerate() {
            let by_key: Option<Value> = kwargs.get(name)?;
            values.push(positional.get(i).cloned().or(by_key).unwrap_or(Value::from(())));
        }
        kwargs.assert_all_used()?;
        let text = |v: &Value, what: &str| -> Result<String, Error> {
            v.as_str().map(str::to_string).ok_or_else(|| {
                invalid(format!(
                    "`api.Column` needs `{what}` as a string, got `{v}` (hint: `api.Column('id', 'integer')`)"
                ))
            })
        };
        let (column, dtype) = (text(&values[0], "column")?, text(&values[1], "dtype")?);
        Ok(Column::with_sizes(&column, &dtype, values[2].clone(), values[3].clone(), values[4].clone()).to_value())
    }

    fn call_method(self: &Arc<Self>, state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        self.call_class_method(state, method, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_types_give_fields_and_flatten_to_dotted_leaves() {
        let c = Column::new("st", "STRUCT(a INTEGER, b DECIMAL(10, 2), c STRUCT(d VARCHAR))");
        let fields: Vec<(String, String)> = c.fields.iter().map(|f| (f.column.clone(), f.dtype.clone())).collect();
        assert_eq!(
            fields,
            [
                ("a".into(), "INTEGER".into()),
                ("b".into(), "DECIMAL(10, 2)".into()),
                ("c".into(), "STRUCT(d VARCHAR)".into())
            ]
        );
        let flat: Vec<String> = c.flatten().iter().map(|f| format!("{} {}", f.column, f.dtype)).collect();
        assert_eq!(flat, ["st.a INTEGER", "st.b DECIMAL(10, 2)", "st.c.d VARCHAR"]);
        assert!(Column::new("x", "INTEGER[]").fields.is_empty());
    }

    #[test]
    fn from_description_reads_sizes() {
        let c = Column::from_description("s", "varchar(20)").expect("parses");
        assert_eq!((c.dtype.as_str(), c.char_size.as_i64()), ("varchar", Some(20)));
        assert_eq!(c.data_type().expect("string"), "character varying(20)");
        let n = Column::from_description("n", "numeric(10,2)").expect("parses");
        assert_eq!(n.data_type().expect("numeric"), "numeric(10,2)");
        let err = Column::from_description("n", "numeric(x)").expect_err("not a size");
        assert!(err.to_string().contains("`x` is not an integer"), "{err}");
    }

    #[test]
    fn repr_is_dbt_duckdbs_dataclass_repr() {
        let c = Column::with_sizes("it's", "INTEGER", Value::from(()), Value::from(32), Value::from(0));
        assert_eq!(
            c.to_string(),
            "DuckDBColumn(column=\"it's\", dtype='INTEGER', char_size=None, numeric_precision=32, numeric_scale=0, fields=[])"
        );
    }
}
