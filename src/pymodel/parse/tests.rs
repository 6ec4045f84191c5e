use super::*;

fn ok(src: &str) -> Parsed {
    parse(Path::new("models/m.py"), src).unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(src: &str) -> Vec<(Option<usize>, String)> {
    parse(Path::new("models/m.py"), src).expect_err("refused").into_iter().map(|d| (d.line, d.message)).collect()
}

fn yaml(s: &str) -> Value {
    serde_yaml::from_str(s).expect("yaml")
}

#[test]
fn calls_anywhere_in_the_file_are_found_in_order() {
    let p = ok(r#"
import pandas as pd

def helper(dbt):
    return dbt.source('raw', "orders").df()

def model(dbt, session):
    dbt.config(materialized="incremental", unique_key=["id", "day"])
    dbt.config({"tags": ("a", "b")})
    limit = dbt.config.get("limit", 10)
    other = dbt.config.get('other')
    df = dbt.ref("stg").df().merge(dbt.ref("shop", "customers").df(), on="id")
    if dbt.is_incremental:
        df = df[df.id > 1]
    return df
"#);
    assert_eq!(p.sources, vec![("raw".to_string(), "orders".to_string())]);
    let refs: Vec<String> = p.refs.iter().map(RefCall::key).collect();
    assert_eq!(refs, ["stg", "shop.customers"]);
    assert_eq!(p.refs[1].name, "customers");
    assert_eq!(p.config.get("materialized"), Some(&yaml("incremental")));
    assert_eq!(p.config.get("unique_key"), Some(&yaml("[id, day]")));
    assert_eq!(p.config.get("tags"), Some(&yaml("[a, b]")));
    assert_eq!(p.keys_used, vec![("limit".into(), yaml("10")), ("other".into(), Value::Null)]);
}

#[test]
fn names_that_only_look_like_dbt_calls_are_not_calls() {
    let p = ok("def model(dbt, session):\n    x = my.dbt.ref('a')\n    s = \"dbt.ref('b')\"  # dbt.ref('c')\n    return dbt.ref\n");
    assert!(p.refs.is_empty(), "{:?}", p.refs);
}

#[test]
fn the_model_function_is_checked_as_dbt_checks_it() {
    let one = "a Python model defines exactly one function `model(dbt, session)`";
    assert!(errors("def helper():\n    pass\n")[0].1.starts_with(one));
    let two = errors("def model(dbt, s):\n    return 1\n\ndef model(dbt, s):\n    return 2\n");
    assert_eq!(two[0].0, Some(4));
    assert!(two[0].1.ends_with("this file has 2"), "{two:?}");
    // Nested in another function it is not the model; in a class or an `if` it is.
    assert!(errors("def outer():\n    def model(dbt, s):\n        return 1\n    return 2\n")[0].1.starts_with(one));
    ok("if True:\n    def model(dbt, session):\n        return 1\n");
    let three: Vec<String> = errors("def model(session, dbt, x):\n    x = 1\n").into_iter().map(|e| e.1).collect();
    assert_eq!(
        three,
        [
            "the first argument of `model` must be `dbt`",
            "`model` takes two arguments: `dbt` and a session to the warehouse",
            "`model` must end with `return` of one DataFrame or relation",
        ]
    );
    for tuple in ["return a, b", "return (a, b)", "return ()", "return a,"] {
        let e = errors(&format!("def model(dbt, session):\n    {tuple}\n"));
        assert_eq!(e.len(), 1, "{tuple}: {e:?}");
    }
    for single in ["return (a)", "return", "x = 1; return x", "return f(a, b)"] {
        ok(&format!("def model(dbt, session):\n    {single}\n"));
    }
    ok("def model(dbt, session): return dbt.ref('a')\n");
    ok("\u{feff}def model(dbt, session):\n    return 1\n");
    ok("@decorated\ndef model(dbt, session) -> object:\n    if x:\n        pass\n    return y\n");
    assert_eq!(errors("def model(dbt, session):\n    if x:\n        return a\n    else:\n        return b\n").len(), 1);
    // `*args` and keyword-only arguments are not among the two.
    assert_eq!(errors("def model(dbt, *, session):\n    return 1\n").len(), 1);
    ok("def model(dbt, session, *more, **kw):\n    return 1\n");
}

#[test]
fn arguments_must_be_literals() {
    let e = errors("def model(dbt, session):\n    name = 'a'\n    return dbt.ref(name)\n");
    assert_eq!(e, [(Some(3), "`dbt.ref()`: the name `name` is not a Python literal".to_string())]);
    let e = errors("def model(dbt, session):\n    dbt.config(materialized=f'{x}')\n    return 1\n");
    assert_eq!(e[0].1, "`dbt.config()`: an f-string is not a Python literal");
    let e = errors("def model(dbt, session):\n    return dbt.source(*names)\n");
    assert_eq!(e[0].1, "`dbt.source()`: `*` unpacking is not a Python literal");
}

#[test]
fn calls_dbt_refuses_are_refused() {
    let only = |body: &str| errors(&format!("def model(dbt, session):\n    {body}\n    return 1\n"))[0].1.clone();
    assert_eq!(only("dbt.ref('a', 'b', 'c')"), "`dbt.ref()` takes one or two arguments, not 3");
    assert_eq!(only("dbt.ref()"), "`dbt.ref()` takes one or two arguments, not 0");
    assert!(only("dbt.ref('a', v=2)").contains("model versions"));
    assert_eq!(only("dbt.ref(1)"), "`dbt.ref()` takes names as strings");
    assert!(only("dbt.source('only_one')").starts_with("`dbt.source()` takes two arguments"));
    assert_eq!(only("dbt.config.get()"), "`dbt.config.get()` needs the key to read");
    assert_eq!(only("dbt.config.get('a', 1, 2)"), "`dbt.config.get()` takes at most 2 arguments (3 given)");
    assert!(only("dbt.config('table')").starts_with("`dbt.config()` takes keyword arguments"));
}

#[test]
fn jinja_and_unreadable_python_are_load_errors() {
    let e = errors("def model(dbt, session):\n    x = \"{{ var('a') }}\"\n    return x\n");
    assert_eq!(e, [(Some(2), "no Jinja is allowed in a Python model".to_string())]);
    let e = errors("def model(dbt, session):\n    return f(\n");
    assert!(e[0].1.starts_with("cannot read this Python"), "{e:?}");
}
