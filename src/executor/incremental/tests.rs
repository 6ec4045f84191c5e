use super::*;

fn col(name: &str, data_type: &str) -> Column {
    Column { name: name.into(), data_type: data_type.into() }
}

fn cfg(strategy: Strategy, unique_key: UniqueKey) -> Incremental {
    Incremental::plain(strategy, unique_key)
}

const T: &str = "\"db\".\"main\".\"t\"";

#[test]
fn schema_diff_finds_added_removed_and_retyped_columns() {
    let target = [col("id", "INTEGER"), col("a", "VARCHAR"), col("b", "BIGINT")];
    let source = [col("id", "BIGINT"), col("c", "DOUBLE"), col("a", "TEXT")];
    let d = SchemaDiff::of(&source, &target);
    assert_eq!(d.added, vec![col("c", "DOUBLE")]);
    assert_eq!(d.removed, vec![col("b", "BIGINT")]);
    // VARCHAR and TEXT are one type to dbt; INTEGER → BIGINT is a change.
    assert_eq!(d.retyped, vec![(col("id", "BIGINT"), "INTEGER".to_string())]);
    assert!(SchemaDiff::of(&target, &target).is_empty());
}

#[test]
fn each_on_schema_change_mode_plans_its_alters_and_columns() {
    let target = [col("id", "INTEGER"), col("a", "VARCHAR"), col("b", "BIGINT")];
    let source = [col("id", "BIGINT"), col("c", "DOUBLE"), col("a", "VARCHAR")];
    let (alters, dest) = schema_change(OnSchemaChange::Ignore, &source, &target, T).expect("ignore");
    assert!(alters.is_empty());
    assert_eq!(dest, vec!["id", "a", "b"], "ignore writes the table's columns");
    let (alters, dest) = schema_change(OnSchemaChange::AppendNewColumns, &source, &target, T).expect("append");
    assert_eq!(alters, vec![format!("alter table {T} add column \"c\" DOUBLE")]);
    assert_eq!(dest, vec!["id", "c", "a"]);
    let (alters, dest) = schema_change(OnSchemaChange::SyncAllColumns, &source, &target, T).expect("sync");
    assert_eq!(
        alters,
        vec![
            format!("alter table {T} add column \"c\" DOUBLE"),
            format!("alter table {T} drop column \"b\""),
            format!("alter table {T} add column \"id__dbt_alter\" BIGINT"),
            format!("update {T} set \"id__dbt_alter\" = \"id\""),
            format!("alter table {T} drop column \"id\""),
            format!("alter table {T} rename column \"id__dbt_alter\" to \"id\""),
        ]
    );
    assert_eq!(dest, vec!["id", "c", "a"]);
    let diff = schema_change(OnSchemaChange::Fail, &source, &target, T).expect_err("fail refuses");
    let msg = diff.refusal(&Relation::new("db", "main", "t"));
    assert!(msg.contains("`main.t`") && msg.contains("`c` DOUBLE") && msg.contains("`b`"), "{msg}");
    assert!(msg.contains("`id` INTEGER → BIGINT"), "{msg}");
    let same = schema_change(OnSchemaChange::Fail, &target, &target, T).expect("nothing changed");
    assert_eq!(same, (Vec::new(), vec!["id".to_string(), "a".into(), "b".into()]));
}

fn rows(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).expect("prepare");
    let mut out = Vec::new();
    let mut q = stmt.query([]).expect("query");
    while let Some(r) = q.next().expect("row") {
        let cols = r.as_ref().column_count();
        let vals: Vec<String> = (0..cols)
            .map(|i| match r.get::<_, duckdb::types::Value>(i).expect("value") {
                duckdb::types::Value::Null => "NULL".to_string(),
                duckdb::types::Value::Text(t) => t,
                v => format!("{v:?}"),
            })
            .collect();
        out.push(vals.join("|"));
    }
    out
}

fn columns(conn: &Connection) -> Vec<String> {
    rows(conn, "select column_name || ' ' || data_type from information_schema.columns where table_name = 't' order by ordinal_position")
}

#[test]
fn sync_all_columns_runs_on_duckdb_like_dbt() {
    let conn = Connection::open_in_memory().expect("db");
    let rel = Relation::new("memory", "main", "t");
    let mut c = cfg(Strategy::DeleteInsert, UniqueKey::One("id".into()));
    c.on_schema_change = OnSchemaChange::SyncAllColumns;
    let v1 = "select i::int as id, 'a' || i as a, i * 10 as b, 'k' as keep from range(3) t(i)";
    build(&conn, &rel, v1, Existing::None, plain(&c)).expect("first run");
    let v2 = "select i::bigint as id, i * 1.5 as c, 'a' || i as a, 'k2' as keep from range(2, 5) t(i)";
    let e = build(&conn, &rel, v2, Existing::Table, plain(&c)).expect("second run");
    assert_eq!(e.status, crate::events::Status::Success, "{:?}", e.message);
    // What dbt-duckdb produced for the same two runs: `b` dropped, `c`
    // appended, `id` retyped and therefore moved last.
    assert_eq!(columns(&conn), vec!["a VARCHAR", "keep VARCHAR", "c DECIMAL(21,1)", "id BIGINT"]);
    assert_eq!(
        rows(&conn, "select a, keep, c::varchar, id from t order by id"),
        vec![
            "a0|k|NULL|BigInt(0)",
            "a1|k|NULL|BigInt(1)",
            "a2|k2|3.0|BigInt(2)",
            "a3|k2|4.5|BigInt(3)",
            "a4|k2|6.0|BigInt(4)"
        ]
    );
    let temps = rows(&conn, "select count(*) from information_schema.tables where table_catalog = 'temp'");
    assert_eq!(temps, vec!["BigInt(0)"], "the temporary table is dropped");
}

#[test]
fn a_failing_step_leaves_the_table_as_it_was() {
    let conn = Connection::open_in_memory().expect("db");
    let rel = Relation::new("memory", "main", "t");
    let mut c = cfg(Strategy::DeleteInsert, UniqueKey::One("nope".into()));
    c.on_schema_change = OnSchemaChange::AppendNewColumns;
    build(&conn, &rel, "select 1 as id", Existing::None, plain(&c)).expect("first run");
    // The new column is added before the delete fails; all of it rolls back.
    let e = build(&conn, &rel, "select 2 as id, 'x' as extra", Existing::Table, plain(&c)).expect("runs");
    assert_eq!(e.status, crate::events::Status::Error);
    let msg = e.message.unwrap_or_default();
    assert!(msg.contains("\"nope\"") && msg.contains("`unique_key`"), "{msg}");
    assert!(e.sql.last().is_some_and(|s| s.starts_with("delete")), "{:?}", e.sql);
    assert_eq!(columns(&conn), vec!["id INTEGER"]);
    assert_eq!(rows(&conn, "select id from t"), vec!["Int(1)"]);
    c.on_schema_change = OnSchemaChange::Fail;
    c.unique_key = UniqueKey::One("id".into());
    let e = build(&conn, &rel, "select 2 as id, 'x' as extra", Existing::Table, plain(&c)).expect("runs");
    assert_eq!(e.status, crate::events::Status::Error);
    assert!(e.message.unwrap_or_default().contains("`on_schema_change` is `fail`"));
    assert_eq!(columns(&conn), vec!["id INTEGER"]);
}

/// Built-in strategies never ask for a macro.
fn no_custom(name: &str, _: CustomArgs) -> Result<String, String> {
    panic!("no custom strategy expected, got `{name}`")
}

/// An incremental build as most tests need it: no full refresh, no custom
/// strategy, no contract or comments.
fn plain(c: &Incremental) -> How<'_> {
    How { full_refresh: false, cfg: c, custom: &no_custom, ddl: None, header: None }
}

#[test]
fn predicates_limit_what_the_delete_replaces() {
    let conn = Connection::open_in_memory().expect("db");
    let rel = Relation::new("memory", "main", "t");
    let mut c = cfg(Strategy::DeleteInsert, UniqueKey::One("id".into()));
    c.predicates = Some(vec!["day >= 2".into()]);
    let v1 = "select * from (values (1, 1, 'a'), (2, 2, 'b')) t(id, day, v)";
    build(&conn, &rel, v1, Existing::None, plain(&c)).expect("first run");
    // Both ids come again; only the row of day 2 matches the predicate, so
    // id 1's old row stays beside its new one, as under dbt-duckdb.
    let v2 = "select * from (values (1, 1, 'A'), (2, 2, 'B')) t(id, day, v)";
    let e = build(&conn, &rel, v2, Existing::Table, plain(&c)).expect("second run");
    assert_eq!(e.status, crate::events::Status::Success, "{:?}", e.message);
    assert_eq!(rows(&conn, "select concat_ws('|', id, v) from t order by id, v"), vec!["1|A", "1|a", "2|B"]);
}

#[test]
fn the_header_runs_with_each_create_and_before_a_merge() {
    let conn = Connection::open_in_memory().expect("db");
    let rel = Relation::new("memory", "main", "t");
    let c = cfg(Strategy::Merge, UniqueKey::One("id".into()));
    let header = "create or replace temp macro bump(x) as x * 10;";
    let how = |c| How { header: Some(header), ..plain(c) };
    let first = build(&conn, &rel, "select 1 as id, bump(1) as v", Existing::None, how(&c)).expect("first run");
    assert_eq!(
        first.sql,
        vec![format!("{header}\ncreate table \"memory\".\"main\".\"t\" as (\nselect 1 as id, bump(1) as v\n)")]
    );
    let e = build(&conn, &rel, "select 1 as id, bump(2) as v", Existing::Table, how(&c)).expect("second run");
    assert_eq!(e.status, crate::events::Status::Success, "{:?}", e.message);
    assert!(e.sql[0].starts_with(&format!("{header}\ncreate or replace temporary table")), "{:?}", e.sql);
    assert!(e.sql.iter().any(|s| s.starts_with(&format!("{header}\nmerge into"))), "{:?}", e.sql);
    assert_eq!(rows(&conn, "select concat_ws('|', id, v) from t"), vec!["1|20"]);
}
