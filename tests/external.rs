//! dbt-duckdb's `external` materialization through the binary: files land
//! under the project (whatever directory runner is started from), downstream
//! models and tests read them back through the view, `--full-refresh`
//! rewrites them, the console names the materialization as dbt does, and
//! what dbt-duckdb refuses (or needs its Python plugins for) is a load error
//! naming the file, the line and the key. The rows themselves are compared
//! with dbt-duckdb's in `differential/external`.

mod common;
use common::{rejects, Fixture};

const PROFILE: &str = "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n      threads: 2\n      external_root: exports\n";

fn shop_with_exports() -> Fixture {
    let f = Fixture::shop();
    f.write("profiles.yml", PROFILE);
    f.write("exports/.keep", "");
    f.write(
        "models/marts/orders_file.sql",
        "{{ config(materialized='external') }}\nselect order_id, status, amount from {{ ref('stg_orders') }}\n",
    );
    f.write(
        "models/marts/status_csv.sql",
        "{{ config(materialized='external', format='csv', options={'partition_by': 'status', 'overwrite': true}) }}\nselect status, count(*) as n from {{ ref('orders_file') }} group by 1\n",
    );
    f.write(
        "models/marts/from_files.sql",
        "{{ config(materialized='table') }}\nselect o.status, sum(o.amount) as amount, max(s.n) as n\nfrom {{ ref('orders_file') }} o join {{ ref('status_csv') }} s using (status) group by 1\n",
    );
    f.write(
        "models/files.yml",
        "version: 2\nmodels:\n  - name: orders_file\n    columns:\n      - name: order_id\n        data_tests: [unique, not_null]\n",
    );
    f
}

#[test]
fn external_models_write_under_the_project_and_are_read_back_downstream() {
    let f = shop_with_exports();
    // The test process runs in the crate's folder, not the project's.
    let r = f.run(&["build", "my_dag"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK created sql external model main.orders_file"), "{}", r.stdout);
    let orders = f.path().join("exports/orders_file.parquet");
    assert!(orders.is_file(), "{:?}", common::tree(f.path()));
    let placed = f.path().join("exports/status_csv/status=placed");
    assert!(placed.is_dir(), "{:?}", common::tree(f.path()));
    assert!(!std::path::Path::new("exports").exists() && !std::path::Path::new("orders_file.parquet").exists());
    assert_eq!(
        f.query("select table_type from information_schema.tables where table_name = 'orders_file'"),
        vec![vec!["VIEW"]]
    );
    // The test process is elsewhere: the view reads the file by its absolute path.
    assert_eq!(f.query("select count(*) from main.orders_file"), vec![vec!["4"]]);
    let rows = f.query("select status, amount, n from main.from_files order by status");
    assert_eq!(rows, vec![vec!["placed", "8", "2"], vec!["returned", "9", "1"], vec!["shipped", "7", "1"]]);
    assert!(r.stdout.contains("PASS unique_orders_file_order_id"), "{}", r.stdout);

    // Every build writes the file again; --full-refresh changes nothing for
    // an external model (dbt-duckdb's materialization has no incremental path).
    let before = std::fs::metadata(&orders).and_then(|m| m.modified()).expect("mtime");
    std::thread::sleep(std::time::Duration::from_millis(20));
    f.write("seeds/raw_orders.csv", "id,customer_id,status,amount\n10,1,placed,5\n");
    let r = f.run(&["build", "my_dag", "--full-refresh"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let after = std::fs::metadata(&orders).and_then(|m| m.modified()).expect("mtime");
    assert!(after > before, "the file was written again");
    assert_eq!(f.query("select status, amount, n from main.from_files"), vec![vec!["placed", "5", "1"]]);
}

#[test]
fn a_missing_folder_or_a_partition_folder_in_the_way_says_what_to_do() {
    let f = shop_with_exports();
    f.write(
        "models/marts/orders_file.sql",
        "{{ config(materialized='external', location='nowhere/orders.parquet') }}\nselect 1 as order_id\n",
    );
    f.write(
        "models/marts/status_csv.sql",
        "{{ config(materialized='external', options={'partition_by': 'status'}) }}\nselect 'placed' as status, 1 as n\n",
    );
    f.remove("models/marts/from_files.sql");
    let r = f.run(&["run", "my_dag"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("nowhere` (relative paths are the project's)"), "{all}");
    let r = f.run(&["run", "my_dag", "--select", "status_csv"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("hint: add `overwrite: true`"), "{all}");
}

#[test]
fn what_dbt_duckdb_refuses_or_needs_python_for_is_a_load_error() {
    let f = shop_with_exports();
    f.write(
        "models/marts/orders_file.sql",
        "{{ config(materialized='external', format='xlsx') }}\nselect 1 as order_id\n",
    );
    rejects(
        &f,
        &["run", "my_dag"],
        &["models/marts/orders_file.sql:1", "Invalid format: xlsx. Allowed formats are: csv, parquet, json"],
    );
    f.write(
        "models/marts/orders_file.sql",
        "{{ config(materialized='external', options='partition_by day') }}\nselect 1 as order_id\n",
    );
    rejects(&f, &["run", "my_dag"], &["models/marts/orders_file.sql:1", "The options argument must be a dictionary"]);
    f.write("models/marts/orders_file.sql", "{{ config(materialized='external') }}\nselect 1 as order_id\n");
    f.write("models/files.yml", "version: 2\nmodels:\n  - name: orders_file\n    config:\n      glue_register: true\n");
    rejects(&f, &["run", "my_dag"], &["models/files.yml", "`glue_register`", "Python plugins"]);
}
