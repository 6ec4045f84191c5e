//! dbt's context members as a render sees them: `builtins`, and a macro
//! that takes a member's name.
//!
//! dbt builds a render's context from its members (`ref`, `source`,
//! `config`, `var`, `this`, `log`, `adapter`, …), keeps them all in
//! `builtins`, and then lays the macro namespace over the context, so a
//! project's macro named `ref` (dbt's documented way to redirect refs)
//! replaces the member while `builtins.ref` still reaches the original.
//! [`context`] does the same with a render's pairs: a member that a macro
//! visible to the node (its package's, then the root project's) shares a
//! name with becomes that macro. Runner's own built-in macros never replace
//! a member. This module decides no member's meaning; it only arranges them.

use super::namespaces::{self, Locals, MacroIndex, LOCALS};
use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The context key of [`Builtins`], forwarded into macro calls.
pub(crate) const BUILTINS: &str = "builtins";

/// The context key of [`Context`], forwarded into macro calls.
pub(crate) const CONTEXT: &str = "context";

/// The environment's globals that are dbt context members (not macros):
/// `log`, `run_query`, `adapter`, `target`, …, taken once per environment.
pub(crate) type Globals = Arc<BTreeMap<String, Value>>;

/// A render's members as its context pairs them (a few dozen: a scan
/// finds one faster than a map of new strings is built for every render).
type Members = Vec<(Value, Value)>;

fn member(members: &Members, key: &str) -> Option<Value> {
    members.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v.clone())
}

/// The sorted, distinct names of `members` and `globals`.
fn names(members: &Members, globals: &Globals) -> Enumerator {
    let mut keys: Vec<&str> =
        members.iter().filter_map(|(k, _)| k.as_str()).chain(globals.keys().map(String::as_str)).collect();
    keys.sort_unstable();
    keys.dedup();
    Enumerator::Values(keys.into_iter().map(Value::from).collect())
}

/// dbt's `builtins`: the render's own members first, then the globals.
#[derive(Debug)]
struct Builtins {
    members: Members,
    globals: Globals,
}

impl Object for Builtins {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        member(&self.members, key).or_else(|| self.globals.get(key).cloned())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        names(&self.members, &self.globals)
    }
}

/// dbt's `context`: the render's whole context as a dict (its members,
/// the macros the node sees, then the globals).
#[derive(Debug)]
struct Context {
    members: Members,
    scope: Option<String>,
    index: Arc<MacroIndex>,
    globals: Globals,
}

impl Object for Context {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        if key == CONTEXT {
            return Some(Value::from_dyn_object(self.clone()));
        }
        member(&self.members, key)
            .or_else(|| self.index.unqualified_in(self.scope.as_deref(), key))
            .or_else(|| self.globals.get(key).cloned())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        names(&self.members, &self.globals)
    }
}

/// Whether `key` is runner's own bookkeeping rather than a dbt member.
fn internal(key: &str) -> bool {
    key.starts_with("__")
}

/// The dbt members among a render's pairs.
fn members_of(pairs: &[(Value, Value)]) -> Members {
    pairs.iter().filter(|(k, _)| k.as_str().is_some_and(|k| !internal(k))).cloned().collect()
}

/// The render context of `pairs`: `builtins` added (unless the pairs carry
/// one, as a macro call's forwarded context does), members a visible macro
/// replaces replaced, and a package node's macros behind it.
pub(crate) fn context(index: &Arc<MacroIndex>, globals: &Globals, mut pairs: Vec<(Value, Value)>) -> Value {
    let has_builtins = pairs.iter().any(|(k, _)| k.as_str() == Some(BUILTINS));
    if !has_builtins {
        let members = members_of(&pairs);
        let builtins = Builtins { members, globals: globals.clone() };
        let scope = pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(LOCALS))
            .and_then(|(_, v)| v.downcast_object_ref::<Locals>().map(|l| l.package().to_string()));
        // A unit test's macro overrides stay what the test says.
        let overridden: Vec<Value> = pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(super::macros::MACRO_OVERRIDES))
            .and_then(|(_, v)| v.try_iter().ok())
            .map(Iterator::collect)
            .unwrap_or_default();
        for (k, v) in pairs.iter_mut() {
            let Some(name) = k.as_str().filter(|n| !internal(n)) else { continue };
            if overridden.contains(k) {
                continue;
            }
            if index.member_override(scope.as_deref(), name).is_some() {
                if let Some(m) = index.unqualified_in(scope.as_deref(), name) {
                    *v = m;
                }
            }
        }
        pairs.push((Value::from(BUILTINS), Value::from_object(builtins)));
        let members = members_of(&pairs);
        let whole = Context { members, scope, index: index.clone(), globals: globals.clone() };
        pairs.push((Value::from(CONTEXT), Value::from_object(whole)));
    }
    namespaces::scoped(Value::from_pairs(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::macros::MacroRef;

    fn index() -> MacroIndex {
        let one = |name: &str| (name.to_string(), (format!("{name}.sql"), None));
        MacroIndex {
            root: "shop".into(),
            packages: BTreeMap::from([
                ("shop".to_string(), BTreeMap::from([one("ref")])),
                ("pkg".to_string(), BTreeMap::from([one("source")])),
                (namespaces::BUILTIN.to_string(), BTreeMap::from([one("config")])),
            ]),
            dispatch: Vec::new(),
        }
    }

    fn pairs(extra: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
        let mut p: Vec<(Value, Value)> = ["ref", "source", "config", "this"]
            .iter()
            .map(|k| (Value::from(*k), Value::from(format!("own {k}"))))
            .collect();
        p.extend(extra);
        p
    }

    fn macro_name(v: &Value) -> Option<String> {
        v.downcast_object_ref::<MacroRef>().map(|m| m.name.clone())
    }

    #[test]
    fn a_root_macro_replaces_the_member_and_builtins_keep_the_original() {
        let globals: Globals = Arc::new(BTreeMap::from([("log".to_string(), Value::from("the log"))]));
        let ctx = context(&Arc::new(index()), &globals, pairs(vec![]));
        assert_eq!(macro_name(&ctx.get_attr("ref").expect("attribute")).as_deref(), Some("ref"));
        // A package's macro is not the root node's; runner's built-in never replaces.
        assert_eq!(ctx.get_attr("source").expect("attribute").as_str(), Some("own source"));
        assert_eq!(ctx.get_attr("config").expect("attribute").as_str(), Some("own config"));
        let builtins = ctx.get_attr(BUILTINS).expect("attribute");
        assert_eq!(builtins.get_attr("ref").expect("attribute").as_str(), Some("own ref"));
        assert_eq!(builtins.get_attr("log").expect("attribute").as_str(), Some("the log"));
        assert!(builtins.get_attr("nope").expect("attribute").is_undefined());
        // `context` is the whole: the replacing macro, the globals, itself.
        let whole = ctx.get_attr(CONTEXT).expect("attribute");
        assert_eq!(macro_name(&whole.get_attr("ref").expect("attribute")).as_deref(), Some("ref"));
        assert_eq!(macro_name(&whole.get_attr("config").expect("attribute")).as_deref(), None);
        assert_eq!(whole.get_attr("log").expect("attribute").as_str(), Some("the log"));
        assert!(whole.get_attr(CONTEXT).expect("attribute").get_attr("this").is_ok());
    }

    #[test]
    fn a_package_node_sees_its_own_packages_macro_first() {
        let ix = Arc::new(index());
        let locals = vec![(Value::from(LOCALS), Locals::value("pkg", &ix))];
        let ctx = context(&ix, &Globals::default(), pairs(locals));
        assert_eq!(macro_name(&ctx.get_attr("source").expect("attribute")).as_deref(), Some("source"));
        assert_eq!(macro_name(&ctx.get_attr("ref").expect("attribute")).as_deref(), Some("ref"));
        assert!(ctx.get_attr(BUILTINS).expect("attribute").get_attr(LOCALS).expect("attribute").is_undefined());
    }

    #[test]
    fn a_forwarded_context_keeps_the_callers_builtins() {
        let theirs = (Value::from(BUILTINS), Value::from("caller's"));
        let ctx = context(&Arc::new(index()), &Globals::default(), pairs(vec![theirs]));
        assert_eq!(ctx.get_attr(BUILTINS).expect("attribute").as_str(), Some("caller's"));
        // A macro call's context holds what its caller resolved: kept as it is.
        assert_eq!(ctx.get_attr("ref").expect("attribute").as_str(), Some("own ref"));
    }
}
