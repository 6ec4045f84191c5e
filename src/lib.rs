//! `runner`: one process that runs a dbt-duckdb project's seeds, models and
//! tests against one DuckDB file, on demand or on a schedule.
//!
//! Data flows `cli` → `project` (+ `config`) → `template` → `nodes`/`graph`
//! → `select` → `run` (the dispatcher) ⇄ `executor` workers → `events` →
//! `report`/`artifacts`/`history`; `app::session` owns the lock → open →
//! dispatch → close → unlock order, and `db` is the only module that opens a
//! database file or takes the cross-process lock. `ARCHITECTURE.md` says what
//! each module owns and the layers they import each other in: no import
//! cycle between top-level modules (`tests/module_graph.rs` checks it).
//! Modules are crate-private except what `main`, the integration tests and
//! the benchmarks use.

pub(crate) mod airflow;
pub mod app;
pub(crate) mod artifacts;
pub mod cli;
pub(crate) mod config;
pub(crate) mod config_tree;
pub mod cron;
pub(crate) mod data_tests;
pub mod db;
pub(crate) mod deps;
pub mod diag;
pub mod error;
pub mod events;
pub(crate) mod executor;
pub(crate) mod graph;
pub mod history;
pub(crate) mod hooks;
pub(crate) mod inspect;
pub(crate) mod interrupt;
pub(crate) mod limits;
pub mod nodes;
pub(crate) mod par;
pub mod project;
pub(crate) mod pymodel;
pub(crate) mod pytoken;
pub(crate) mod report;
pub mod retry;
pub mod run;
pub(crate) mod scheduler;
pub(crate) mod secrets;
pub mod select;
pub(crate) mod semver;
pub(crate) mod strategy;
pub mod task_log;
pub(crate) mod template;
pub(crate) mod timeout;
pub mod timetable;
pub(crate) mod ui;
pub(crate) mod unit_tests;
pub(crate) mod yaml;
