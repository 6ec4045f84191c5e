use super::*;

#[test]
fn a_real_write_write_conflict_is_retried_until_it_resolves() {
    let root = Connection::open_in_memory().expect("db");
    root.execute_batch("create table t as select 1 as x").expect("setup");
    let other = root.try_clone().expect("clone");
    // Another worker's open transaction has changed the same row.
    other.execute_batch("begin transaction; update t set x = 2").expect("other writes");
    let mine = root.try_clone().expect("clone");
    let (first, _) = retry_conflicts(Backoff { retries: 0, ..CONFLICT_RETRY }, || {
        transaction(&mine, &["update t set x = 3".to_string()])
    });
    let err = first.expect_err("conflicts while the other transaction is open");
    assert!(is_conflict(&err), "{err}");
    let committer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(60));
        other.execute_batch("commit").expect("other commits");
    });
    let (result, attempts) =
        retry_conflicts(CONFLICT_RETRY, || transaction(&mine, &["update t set x = 3".to_string()]));
    committer.join().expect("thread");
    result.expect("succeeds once the other transaction committed");
    assert!(attempts > 1, "it had to retry");
    let x: i32 = mine.query_row("select x from t", [], |r| r.get(0)).expect("read");
    assert_eq!(x, 3);
}

#[test]
fn other_errors_are_not_retried() {
    let conn = Connection::open_in_memory().expect("db");
    let (r, attempts) = retry_conflicts(CONFLICT_RETRY, || transaction(&conn, &["select * from missing".to_string()]));
    assert!(r.is_err());
    assert_eq!(attempts, 1);
}
