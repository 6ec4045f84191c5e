//! `__runner_strategy_sql`, what the built-in strategy macros of
//! `builtins/incremental.sql` (`get_incremental_merge_sql(arg_dict)`,
//! `get_merge_sql(…)`, `get_delete_insert_merge_sql(…)`, …) call: the
//! arguments dbt's macros take, read from Jinja values, and the statements
//! the incremental materialization itself runs ([`crate::strategy`]),
//! so a project's own strategy that delegates to one writes the same SQL.
//! Owns only reading the arguments.

use crate::strategy::{for_macro, MacroArgs, UniqueKey};
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

pub(super) const FUNCTION: &str = "__runner_strategy_sql";

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// A list of texts, or none; `what` names the argument in the error.
fn texts(v: &Value, what: &str) -> Result<Option<Vec<String>>, Error> {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => Ok(None),
        ValueKind::Seq => Ok(Some(v.try_iter()?.map(|i| i.to_string()).collect())),
        _ => Err(invalid(format!("`{what}` must be a list, not `{v}`"))),
    }
}

/// `unique_key` as dbt reads it: a string is one SQL expression, a list is
/// columns compared one by one; none (or empty) is no key.
fn unique_key(v: &Value) -> Result<UniqueKey, Error> {
    Ok(match v.kind() {
        ValueKind::Undefined | ValueKind::None => UniqueKey::None,
        ValueKind::String if v.as_str().is_some_and(|s| s.trim().is_empty()) => UniqueKey::None,
        ValueKind::String => UniqueKey::One(v.to_string()),
        _ => match texts(v, "unique_key")? {
            Some(keys) if !keys.is_empty() => UniqueKey::Many(keys),
            _ => UniqueKey::None,
        },
    })
}

/// A column's name: a map's `name` or an object's attribute.
fn column_name(c: &Value) -> Result<String, Error> {
    let name = c.get_attr("name").ok().filter(|n| !n.is_undefined() && !n.is_none());
    let name = match name {
        Some(n) => n,
        None => c.get_item(&Value::from("name"))?,
    };
    match name.as_str() {
        Some(n) => Ok(n.to_string()),
        None => Err(invalid(format!("`dest_columns` holds `{c}`, which has no `name`"))),
    }
}

/// `__runner_strategy_sql(strategy, target, source, unique_key, dest_columns,
/// incremental_predicates, merge_update_columns, merge_exclude_columns,
/// sql_header)`; the last four may be left out.
fn strategy_sql(strategy: String, args: Rest<Value>) -> Result<String, Error> {
    let none = Value::from(());
    let arg = |i: usize| args.get(i).unwrap_or(&none);
    let dest = arg(3)
        .try_iter()
        .map_err(|_| invalid("`dest_columns` must be a list of columns".into()))?
        .map(|c| column_name(&c));
    let header = arg(7);
    let args = MacroArgs {
        target: arg(0).to_string(),
        source: arg(1).to_string(),
        unique_key: unique_key(arg(2))?,
        dest: dest.collect::<Result<_, _>>()?,
        predicates: texts(arg(4), "incremental_predicates")?,
        merge_update_columns: texts(arg(5), "merge_update_columns")?,
        merge_exclude_columns: texts(arg(6), "merge_exclude_columns")?,
        sql_header: (!header.is_none() && !header.is_undefined()).then(|| header.to_string()),
    };
    for_macro(&strategy, args).ok_or_else(|| invalid(format!("no built-in incremental strategy `{strategy}`")))
}

pub(super) fn install(env: &mut Environment<'static>) {
    env.add_function(FUNCTION, strategy_sql);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, ctx: Value) -> Result<String, Error> {
        let mut env = Environment::new();
        install(&mut env);
        env.render_str(template, ctx)
    }

    #[test]
    fn arguments_are_read_as_dbts_macros_take_them() {
        let ctx = Value::from(minijinja::value::Serde(serde_json::json!({
            "cols": [{"name": "id"}, {"name": "v"}],
            "preds": ["DBT_INTERNAL_DEST.v > 0"],
        })));
        let sql = render(
            "{{ __runner_strategy_sql('merge', 't', 's', ['id'], cols, preds, none, ['v'], 'set a = 1;') }}",
            ctx.clone(),
        )
        .expect("renders");
        assert!(sql.starts_with("set a = 1;\nmerge into t as DBT_INTERNAL_DEST\nusing s as DBT_INTERNAL_SOURCE\non (DBT_INTERNAL_DEST.v > 0) and (DBT_INTERNAL_SOURCE.id = DBT_INTERNAL_DEST.id)"), "{sql}");
        assert!(sql.contains("update set \"id\" = DBT_INTERNAL_SOURCE.\"id\"\n"), "{sql}");
        let sql = render("{{ __runner_strategy_sql('delete+insert', 't', 's', 'id', cols, none) }}", ctx.clone())
            .expect("renders");
        assert!(
            sql.starts_with("delete from t\nwhere (id) in (") && sql.contains(";\ninsert into t (\"id\", \"v\")"),
            "{sql}"
        );
        let e = render("{{ __runner_strategy_sql('append', 't', 's', none, cols, 'a > 1') }}", ctx.clone())
            .expect_err("a string");
        assert!(e.to_string().contains("`incremental_predicates` must be a list"), "{e}");
        let e = render("{{ __runner_strategy_sql('upsert', 't', 's', none, cols) }}", ctx).expect_err("unknown");
        assert!(e.to_string().contains("no built-in incremental strategy `upsert`"), "{e}");
    }
}
