use super::*;
use crate::nodes::snapshot::MetaColumns;

fn cfg(strategy: Strategy, hard_deletes: HardDeletes) -> SnapshotConfig {
    SnapshotConfig {
        strategy,
        unique_key: Key::One("id".into()),
        hard_deletes,
        valid_to_current: None,
        columns: MetaColumns::default(),
    }
}

fn timestamp() -> Strategy {
    Strategy::Timestamp { updated_at: "u".into() }
}

#[test]
fn the_scd_id_hashes_key_and_stamp_as_dbt_does() {
    let c = cfg(timestamp(), HardDeletes::Ignore);
    let table = Sql { cfg: &c, answer: None }.build_table("select 1");
    assert!(
        table.contains(
            "md5(coalesce(cast(id as varchar ), '') || '|' || coalesce(cast(u as varchar ), '')) as dbt_scd_id"
        ),
        "{table}"
    );
    assert!(table.contains("coalesce(nullif(u, u), null)\n  as dbt_valid_to"), "{table}");
    let mut c = cfg(Strategy::Check { cols: CheckCols::All, updated_at: None }, HardDeletes::NewRecord);
    c.unique_key = Key::Many(vec!["a".into(), "b".into()]);
    let table = Sql { cfg: &c, answer: None }.build_table("select 1");
    assert!(table.contains("cast(a as varchar ), '') || '|' || coalesce(cast(b as varchar ), '') || '|' || coalesce(cast(now()::timestamp"), "{table}");
    assert!(table.contains(", 'False' as dbt_is_deleted"), "{table}");
}

#[test]
fn row_changed_follows_the_strategy() {
    let c = cfg(timestamp(), HardDeletes::Ignore);
    assert_eq!(Sql { cfg: &c, answer: None }.row_changed(None), "(snapshotted_data.dbt_valid_from < source_data.u)");
    let c = cfg(Strategy::Check { cols: CheckCols::All, updated_at: None }, HardDeletes::Ignore);
    assert_eq!(Sql { cfg: &c, answer: None }.row_changed(Some((true, &["\"a\"".to_string()]))), "(TRUE)");
    let changed = Sql { cfg: &c, answer: None }.row_changed(Some((false, &["\"a\"".to_string(), "\"b\"".to_string()])));
    assert!(changed.starts_with("(snapshotted_data.\"a\" != source_data.\"a\""), "{changed}");
    assert!(changed.contains(" or snapshotted_data.\"b\" != source_data.\"b\""), "{changed}");
}

#[test]
fn helper_columns_of_the_staging_table_are_never_copied() {
    assert!(is_helper("dbt_change_type", 0));
    assert!(is_helper("dbt_unique_key", 0));
    assert!(!is_helper("dbt_unique_key_1", 0));
    assert!(is_helper("dbt_unique_key_2", 2));
    assert!(is_helper("DBT_UNIQUE_KEY_2", 2));
    assert!(!is_helper("dbt_unique_key_3", 2));
}

fn answer(unique_key: Key, hard_deletes: HardDeletes) -> Answer {
    Answer {
        unique_key,
        updated_at: "s".into(),
        row_changed: "(snapshotted_data.s < source_data.s)".into(),
        scd_id: "md5(id || s)".into(),
        hard_deletes,
    }
}

/// A strategy macro's answer replaces the config's key, stamp, hash, change
/// test and delete handling; the meta column names stay the config's.
#[test]
fn the_strategy_macros_answer_wins_over_the_config() {
    let mut c = cfg(timestamp(), HardDeletes::Ignore);
    c.columns.valid_from = "vf".into();
    let a = answer(Key::Many(vec!["id".into(), "r".into()]), HardDeletes::NewRecord);
    let q = Sql { cfg: &c, answer: Some(&a) };
    let table = q.build_table("select 1");
    assert!(table.contains("md5(id || s) as dbt_scd_id,\n    s as dbt_updated_at,\n    s as vf"), "{table}");
    assert!(table.contains(", 'False' as dbt_is_deleted"), "{table}");
    assert_eq!(q.row_changed(None), a.row_changed);
    let staging = q.staging("select 1", "t", &q.row_changed(None), &[], &[]);
    assert!(staging.contains("id as dbt_unique_key_1, r as dbt_unique_key_2"), "{staging}");
    assert!(staging.contains("deletion_records as"), "{staging}");
    // dbt numbers the helper key columns only when the config's key is a list.
    assert_eq!(q.numbered_keys(), 0);
    c.unique_key = Key::Many(vec!["id".into()]);
    assert_eq!(Sql { cfg: &c, answer: Some(&a) }.numbered_keys(), 2);
    let one = answer(Key::One("abc".into()), HardDeletes::Ignore);
    assert_eq!(Sql { cfg: &c, answer: Some(&one) }.numbered_keys(), 3, "a string key counts its characters");
    let without = Sql { cfg: &c, answer: Some(&one) }.staging("select 1", "t", "(FALSE)", &[], &[]);
    assert!(!without.contains("deletes as"), "the answer ignores deletes: {without}");
}

#[test]
fn a_target_without_meta_columns_is_named() {
    let col = |n: &str| Column { name: n.into(), data_type: "VARCHAR".into() };
    let c = cfg(timestamp(), HardDeletes::NewRecord);
    let have = [col("id"), col("DBT_SCD_ID"), col("dbt_valid_from")];
    assert_eq!(
        missing_meta_columns(&c, c.hard_deletes, &have),
        vec!["dbt_valid_to".to_string(), "dbt_is_deleted".to_string()]
    );
}

/// Takes snapshot `t` of `source` on an in-memory database.
fn take(conn: &Connection, c: &SnapshotConfig, source: &str) -> Execution {
    take_with(conn, c, None, source, None)
}

/// [`take`] with a strategy macro's answer and a `sql_header`.
fn take_with(
    conn: &Connection,
    c: &SnapshotConfig,
    a: Option<&Answer>,
    source: &str,
    header: Option<&str>,
) -> Execution {
    let rel = Relation::new("memory", "main", "t");
    let existing =
        match conn.prepare("select 1 from duckdb_tables() where table_name = 't'").and_then(|mut s| s.exists([])) {
            Ok(true) => Existing::Table,
            _ => Existing::None,
        };
    build(conn, &rel, source, existing, (c, a), None, header).expect("no conflict")
}

fn rows(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).expect("prepare");
    let out = stmt.query_map([], |r| r.get::<_, String>(0)).expect("query");
    out.map(|r| r.expect("row")).collect()
}

#[test]
fn timestamp_history_with_updates_and_invalidated_deletes() {
    let conn = Connection::open_in_memory().expect("duckdb");
    let c = cfg(timestamp(), HardDeletes::Invalidate);
    let day1 = "select * from (values (1, 'a', timestamp '2024-01-01'), (2, 'b', timestamp '2024-01-01')) t(id, v, u)";
    let day2 = "select * from (values (1, 'A', timestamp '2024-01-02')) t(id, v, u)";
    assert_eq!(take(&conn, &c, day1).status, crate::events::Status::Success);
    assert_eq!(take(&conn, &c, day2).status, crate::events::Status::Success);
    let history = rows(
        &conn,
        "select concat_ws('|', id, v, dbt_valid_from, coalesce(cast(dbt_valid_to as varchar), 'open'), \
         dbt_valid_to is not null and dbt_valid_to > timestamp '2025-01-01') from t order by id, dbt_valid_from",
    );
    assert_eq!(
        history,
        vec![
            "1|a|2024-01-01 00:00:00|2024-01-02 00:00:00|false",
            "1|A|2024-01-02 00:00:00|open|false",
            // Deleted: closed at the snapshot time.
            format!(
                "2|b|2024-01-01 00:00:00|{}|true",
                rows(&conn, "select cast(dbt_valid_to as varchar) from t where id = 2")[0]
            )
            .as_str(),
        ]
    );
    // Nothing left behind: the staging table was temporary and dropped.
    assert!(rows(&conn, "select table_name from duckdb_tables() where table_name like '%dbt_tmp%'").is_empty());
}

#[test]
fn a_failure_midway_keeps_the_previous_history() {
    let conn = Connection::open_in_memory().expect("duckdb");
    let c = cfg(timestamp(), HardDeletes::Ignore);
    take(&conn, &c, "select 1 as id, 'a' as v, timestamp '2024-01-01' as u");
    let before = rows(&conn, "select concat_ws('|', id, v, dbt_valid_to) from t order by all");
    // The staging query fails at run time, after the transaction began.
    let bad = "select 1 as id, 'b' as v, cast('not a time' as timestamp) as u";
    let e = take(&conn, &c, bad);
    assert_eq!(e.status, crate::events::Status::Error, "{:?}", e.message);
    assert_eq!(rows(&conn, "select concat_ws('|', id, v, dbt_valid_to) from t order by all"), before);
}

#[test]
fn new_record_adds_a_deleted_version_and_reinserts_a_returning_key() {
    let conn = Connection::open_in_memory().expect("duckdb");
    let c = cfg(Strategy::Check { cols: CheckCols::List(vec!["v".into()]), updated_at: None }, HardDeletes::NewRecord);
    take(&conn, &c, "select * from (values (1, 'a'), (2, 'b')) t(id, v)");
    take(&conn, &c, "select * from (values (1, 'a')) t(id, v)");
    let deleted = "select concat_ws('|', id, v, dbt_is_deleted, dbt_valid_to is null) from t order by all";
    assert_eq!(rows(&conn, deleted), vec!["1|a|False|true", "2|b|False|false", "2|b|True|true"]);
    take(&conn, &c, "select * from (values (1, 'a'), (2, 'b')) t(id, v)");
    assert_eq!(rows(&conn, deleted), vec!["1|a|False|true", "2|b|False|false", "2|b|False|true", "2|b|True|false"]);
}

/// A custom strategy's history: versions follow its change test and stamp,
/// and deletes follow its answer, whatever the config says.
#[test]
fn a_strategy_macros_answer_takes_the_snapshot() {
    let conn = Connection::open_in_memory().expect("duckdb");
    let c = cfg(Strategy::Macro("seq".into()), HardDeletes::Ignore);
    let a = answer(Key::One("id".into()), HardDeletes::Invalidate);
    let day = |rows: &str| format!("select id, v, date '2024-01-01' + n as s from (values {rows}) t(id, v, n)");
    let ok = |e: Execution| assert_eq!(e.status, crate::events::Status::Success, "{:?}", e.message);
    ok(take_with(&conn, &c, Some(&a), &day("(1, 'a', 1), (2, 'b', 1)"), None));
    // 1 changes without its stamp growing (no version), 2 leaves.
    ok(take_with(&conn, &c, Some(&a), &day("(1, 'A', 1)"), None));
    ok(take_with(&conn, &c, Some(&a), &day("(1, 'AA', 2)"), None));
    let history = "select concat_ws('|', id, v, dbt_valid_from, dbt_scd_id = md5(id || dbt_valid_from), \
                   coalesce(cast(dbt_valid_to as varchar), 'open')) from t order by all";
    let deleted = rows(&conn, "select cast(dbt_valid_to as varchar) from t where id = 2");
    assert_eq!(
        rows(&conn, history),
        vec![
            "1|AA|2024-01-03|true|open".to_string(),
            "1|a|2024-01-02|true|2024-01-03".to_string(),
            format!("2|b|2024-01-02|true|{}", deleted[0]),
        ]
    );
    assert!(deleted[0].starts_with("20"), "invalidated at the snapshot time: {deleted:?}");
}

#[test]
fn the_header_runs_with_the_first_build_and_with_each_staging_table() {
    let conn = Connection::open_in_memory().expect("duckdb");
    let c = cfg(timestamp(), HardDeletes::Ignore);
    let source = "select 1 as id, getvariable('v') as v, timestamp '2024-01-01' + to_days(getvariable('v')) as u";
    let first = take_with(&conn, &c, None, source, Some("set variable v = 1;"));
    assert_eq!(first.status, crate::events::Status::Success, "{:?}", first.message);
    assert!(first.sql.last().is_some_and(|s| s.starts_with("set variable v = 1;\ncreate table")), "{:?}", first.sql);
    let later = take_with(&conn, &c, None, source, Some("set variable v = 2;"));
    assert_eq!(later.status, crate::events::Status::Success, "{:?}", later.message);
    assert!(later.sql.iter().any(|s| s.starts_with("set variable v = 2;\ncreate or replace temporary table")));
    assert_eq!(rows(&conn, "select cast(v as varchar) from t order by v"), vec!["1", "2"]);
}

#[test]
fn a_first_build_reads_its_columns_before_the_header_runs_as_dbt_does() {
    let conn = Connection::open_in_memory().expect("duckdb");
    let c = cfg(timestamp(), HardDeletes::Ignore);
    let source = "select 1 as id, tripled(2) as v, timestamp '2024-01-01' as u";
    let e = take_with(&conn, &c, None, source, Some("create temp macro tripled(x) as x * 3;"));
    assert_eq!(e.status, crate::events::Status::Error);
    let message = e.message.unwrap_or_default();
    assert!(message.contains("Scalar Function with name tripled does not exist"), "{message}");
    assert!(rows(&conn, "select table_name from duckdb_tables()").is_empty(), "nothing was built");
}
