use super::*;

fn cfg(strategy: Strategy, unique_key: UniqueKey) -> Incremental {
    Incremental::plain(strategy, unique_key)
}

const T: &str = "\"db\".\"main\".\"t\"";

#[test]
fn delete_insert_deletes_by_key_then_inserts() {
    let dest = vec!["id".to_string(), "v".into()];
    let one = strategy_sql(&cfg(Strategy::DeleteInsert, UniqueKey::One("id".into())), T, "tmp", &dest);
    assert_eq!(one.len(), 2);
    assert_eq!(one[0], format!("delete from {T}\nwhere (id) in (\n    select (id)\n    from tmp\n)"));
    assert_eq!(one[1], format!("insert into {T} (\"id\", \"v\")\n(\n    select \"id\", \"v\"\n    from tmp\n)"));
    let many =
        strategy_sql(&cfg(Strategy::DeleteInsert, UniqueKey::Many(vec!["a".into(), "b".into()])), T, "tmp", &dest);
    assert_eq!(
        many[0],
        format!("delete from {T} as DBT_INCREMENTAL_TARGET\nusing tmp\nwhere (tmp.a = DBT_INCREMENTAL_TARGET.a\n    and tmp.b = DBT_INCREMENTAL_TARGET.b\n)")
    );
    // No key, or `append`: insert only.
    assert_eq!(strategy_sql(&cfg(Strategy::DeleteInsert, UniqueKey::None), T, "tmp", &dest), vec![one[1].clone()]);
    assert_eq!(
        strategy_sql(&cfg(Strategy::Append, UniqueKey::One("id".into())), T, "tmp", &dest),
        vec![one[1].clone()]
    );
}

#[test]
fn merge_updates_matches_and_inserts_the_rest() {
    let dest = vec!["id".to_string(), "v".into(), "w".into()];
    let sql = strategy_sql(&cfg(Strategy::Merge, UniqueKey::One("id".into())), T, "tmp", &dest);
    assert_eq!(
        sql,
        vec![format!(
            "merge into {T} as DBT_INTERNAL_DEST\nusing tmp as DBT_INTERNAL_SOURCE\non (DBT_INTERNAL_SOURCE.id = DBT_INTERNAL_DEST.id)\n\
             when matched then update set \"id\" = DBT_INTERNAL_SOURCE.\"id\", \"v\" = DBT_INTERNAL_SOURCE.\"v\", \"w\" = DBT_INTERNAL_SOURCE.\"w\"\n\
             when not matched then insert (\"id\", \"v\", \"w\") values (\"id\", \"v\", \"w\")"
        )]
    );
    let none = strategy_sql(&cfg(Strategy::Merge, UniqueKey::None), T, "tmp", &dest);
    assert!(none[0].contains("on (FALSE)\nwhen not matched"), "{}", none[0]);
    let mut c = cfg(Strategy::Merge, UniqueKey::Many(vec!["id".into(), "v".into()]));
    c.merge_exclude_columns = Some(vec!["W".into()]);
    let sql = strategy_sql(&c, T, "tmp", &dest);
    assert!(
        sql[0].contains(
            "on (DBT_INTERNAL_SOURCE.id = DBT_INTERNAL_DEST.id) and (DBT_INTERNAL_SOURCE.v = DBT_INTERNAL_DEST.v)"
        ),
        "{}",
        sql[0]
    );
    assert!(
        sql[0].contains("update set \"id\" = DBT_INTERNAL_SOURCE.\"id\", \"v\" = DBT_INTERNAL_SOURCE.\"v\"\n"),
        "{}",
        sql[0]
    );
}

#[test]
fn predicates_follow_the_delete_key_match_as_dbt_duckdb_writes_them() {
    let dest = vec!["id".to_string()];
    let preds = Some(vec!["day > 1".to_string(), "DBT_INCREMENTAL_TARGET.v or true".to_string()]);
    let mut c = cfg(Strategy::DeleteInsert, UniqueKey::One("id".into()));
    c.predicates = preds.clone();
    assert_eq!(
        strategy_sql(&c, T, "tmp", &dest)[0],
        format!("delete from {T}\nwhere (id) in (\n    select (id)\n    from tmp\n)\n    and day > 1\n    and DBT_INCREMENTAL_TARGET.v or true")
    );
    // A list key: inside the `where (…)`, after the key columns.
    let mut c = cfg(Strategy::DeleteInsert, UniqueKey::Many(vec!["a".into(), "b".into()]));
    c.predicates = preds.clone();
    assert_eq!(
        strategy_sql(&c, T, "tmp", &dest)[0],
        format!(
            "delete from {T} as DBT_INCREMENTAL_TARGET\nusing tmp\nwhere (tmp.a = DBT_INCREMENTAL_TARGET.a\n    and tmp.b = DBT_INCREMENTAL_TARGET.b\n    and day > 1\n    and DBT_INCREMENTAL_TARGET.v or true\n)"
        )
    );
    // No key: no delete, so nothing to add them to; `append` never uses them.
    let mut c = cfg(Strategy::DeleteInsert, UniqueKey::None);
    c.predicates = preds.clone();
    assert_eq!(strategy_sql(&c, T, "tmp", &dest).len(), 1);
    c.strategy = Strategy::Append;
    assert!(!strategy_sql(&c, T, "tmp", &dest)[0].contains("day > 1"));
}

#[test]
fn predicates_come_first_in_the_merge_on_each_in_parentheses() {
    let dest = vec!["id".to_string()];
    let mut c = cfg(Strategy::Merge, UniqueKey::One("id".into()));
    c.predicates = Some(vec!["DBT_INTERNAL_DEST.day > 1".into(), "a or b".into()]);
    let sql = strategy_sql(&c, T, "tmp", &dest);
    assert!(
        sql[0].contains(
            "\non (DBT_INTERNAL_DEST.day > 1) and (a or b) and (DBT_INTERNAL_SOURCE.id = DBT_INTERNAL_DEST.id)\n"
        ),
        "{}",
        sql[0]
    );
    c.unique_key = UniqueKey::None;
    assert!(
        strategy_sql(&c, T, "tmp", &dest)[0].contains("\non (DBT_INTERNAL_DEST.day > 1) and (a or b) and (FALSE)\n")
    );
}

#[test]
fn macros_get_the_same_text_joined_and_a_merge_gets_the_header() {
    let args = |header: Option<&str>| MacroArgs {
        target: T.into(),
        source: "tmp".into(),
        unique_key: UniqueKey::One("id".into()),
        dest: vec!["id".into()],
        predicates: Some(vec!["x > 1".into()]),
        merge_update_columns: None,
        merge_exclude_columns: None,
        sql_header: header.map(str::to_string),
    };
    let mut c = cfg(Strategy::DeleteInsert, UniqueKey::One("id".into()));
    c.predicates = Some(vec!["x > 1".into()]);
    let want = strategy_sql(&c, T, "tmp", &["id".to_string()]).join(";\n");
    assert_eq!(for_macro("delete+insert", args(Some("set a = 1;"))), Some(want), "the header is only the merge's");
    let merge = for_macro("merge", args(Some("set a = 1;"))).expect("merge");
    assert!(merge.starts_with("set a = 1;\nmerge into"), "{merge}");
    assert!(for_macro("append", args(None)).is_some_and(|s| s.starts_with("insert into")));
    assert_eq!(for_macro("insert_overwrite", args(None)), None);
}
