//! `runner`: one process that runs a dbt-duckdb project's seeds, models and
//! tests against one DuckDB file, on demand or on a schedule.
//!
//! Data flows `cli` → `project` (+ `config`) → `template` → `nodes`/`graph`
//! → `select` → `scheduler` ⇄ `executor` workers → `events` → `report`;
//! `db` is the only module that opens a database file or takes the
//! cross-process lock. See `../shared/docs/architecture.md`.

pub mod airflow;
pub mod app;
pub mod artifacts;
pub mod cli;
pub mod config;
pub mod config_tree;
pub mod data_tests;
pub mod db;
pub(crate) mod deps;
pub mod error;
pub mod events;
pub mod executor;
pub mod graph;
pub mod history;
pub mod hooks;
pub mod inspect;
pub mod interrupt;
pub mod nodes;
pub mod par;
pub mod project;
pub mod pymodel;
pub mod report;
pub mod retry;
pub mod run;
pub mod scheduler;
pub(crate) mod secrets;
pub mod select;
pub mod task_log;
pub mod template;
pub mod timeout;
pub mod timetable;
pub mod ui;
pub mod unit_tests;
pub mod yaml;
