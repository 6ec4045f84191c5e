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
    let table = Sql { cfg: &c }.build_table("select 1");
    assert!(
        table.contains(
            "md5(coalesce(cast(id as varchar ), '') || '|' || coalesce(cast(u as varchar ), '')) as dbt_scd_id"
        ),
        "{table}"
    );
    assert!(table.contains("coalesce(nullif(u, u), null)\n  as dbt_valid_to"), "{table}");
    let mut c = cfg(Strategy::Check { cols: CheckCols::All, updated_at: None }, HardDeletes::NewRecord);
    c.unique_key = Key::Many(vec!["a".into(), "b".into()]);
    let table = Sql { cfg: &c }.build_table("select 1");
    assert!(table.contains("cast(a as varchar ), '') || '|' || coalesce(cast(b as varchar ), '') || '|' || coalesce(cast(now()::timestamp"), "{table}");
    assert!(table.contains(", 'False' as dbt_is_deleted"), "{table}");
}

#[test]
fn row_changed_follows_the_strategy() {
    let c = cfg(timestamp(), HardDeletes::Ignore);
    assert_eq!(Sql { cfg: &c }.row_changed(None), "(snapshotted_data.dbt_valid_from < source_data.u)");
    let c = cfg(Strategy::Check { cols: CheckCols::All, updated_at: None }, HardDeletes::Ignore);
    assert_eq!(Sql { cfg: &c }.row_changed(Some((true, &["\"a\"".to_string()]))), "(TRUE)");
    let changed = Sql { cfg: &c }.row_changed(Some((false, &["\"a\"".to_string(), "\"b\"".to_string()])));
    assert!(changed.starts_with("(snapshotted_data.\"a\" != source_data.\"a\""), "{changed}");
    assert!(changed.contains(" or snapshotted_data.\"b\" != source_data.\"b\""), "{changed}");
}

#[test]
fn helper_columns_of_the_staging_table_are_never_copied() {
    assert!(is_helper("dbt_change_type", &Key::One("id".into())));
    assert!(is_helper("dbt_unique_key", &Key::One("id".into())));
    assert!(!is_helper("dbt_unique_key_1", &Key::One("id".into())));
    assert!(is_helper("dbt_unique_key_2", &Key::Many(vec!["a".into(), "b".into()])));
    assert!(!is_helper("dbt_unique_key_3", &Key::Many(vec!["a".into(), "b".into()])));
}

#[test]
fn a_target_without_meta_columns_is_named() {
    let col = |n: &str| Column { name: n.into(), data_type: "VARCHAR".into() };
    let c = cfg(timestamp(), HardDeletes::NewRecord);
    let have = [col("id"), col("DBT_SCD_ID"), col("dbt_valid_from")];
    assert_eq!(missing_meta_columns(&c, &have), vec!["dbt_valid_to".to_string(), "dbt_is_deleted".to_string()]);
}

/// Takes snapshot `t` of `source` on an in-memory database.
fn take(conn: &Connection, c: &SnapshotConfig, source: &str) -> Execution {
    take_with(conn, c, source, None)
}

/// [`take`] with a `sql_header`.
fn take_with(conn: &Connection, c: &SnapshotConfig, source: &str, header: Option<&str>) -> Execution {
    let rel = Relation::new("memory", "main", "t");
    let existing =
        match conn.prepare("select 1 from duckdb_tables() where table_name = 't'").and_then(|mut s| s.exists([])) {
            Ok(true) => Existing::Table,
            _ => Existing::None,
        };
    build(conn, &rel, source, existing, c, None, header).expect("no conflict")
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

#[test]
fn the_header_runs_with_the_first_build_and_with_each_staging_table() {
    let conn = Connection::open_in_memory().expect("duckdb");
    let c = cfg(timestamp(), HardDeletes::Ignore);
    let source = "select 1 as id, getvariable('v') as v, timestamp '2024-01-01' + to_days(getvariable('v')) as u";
    let first = take_with(&conn, &c, source, Some("set variable v = 1;"));
    assert_eq!(first.status, crate::events::Status::Success, "{:?}", first.message);
    assert!(first.sql.last().is_some_and(|s| s.starts_with("set variable v = 1;\ncreate table")), "{:?}", first.sql);
    let later = take_with(&conn, &c, source, Some("set variable v = 2;"));
    assert_eq!(later.status, crate::events::Status::Success, "{:?}", later.message);
    assert!(later.sql.iter().any(|s| s.starts_with("set variable v = 2;\ncreate or replace temporary table")));
    assert_eq!(rows(&conn, "select cast(v as varchar) from t order by v"), vec!["1", "2"]);
}

#[test]
fn a_first_build_reads_its_columns_before_the_header_runs_as_dbt_does() {
    let conn = Connection::open_in_memory().expect("duckdb");
    let c = cfg(timestamp(), HardDeletes::Ignore);
    let source = "select 1 as id, tripled(2) as v, timestamp '2024-01-01' as u";
    let e = take_with(&conn, &c, source, Some("create temp macro tripled(x) as x * 3;"));
    assert_eq!(e.status, crate::events::Status::Error);
    let message = e.message.unwrap_or_default();
    assert!(message.contains("Scalar Function with name tripled does not exist"), "{message}");
    assert!(rows(&conn, "select table_name from duckdb_tables()").is_empty(), "nothing was built");
}
