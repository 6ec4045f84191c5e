//! Moving between runner and Airflow: `runner export airflow` writes a DAG
//! as an Airflow 3 DAG file (a cosmos `DbtDag`, or one task running
//! `runner run`), and `runner import cosmos` reads a cosmos DAG file back into
//! a YAML DAG.
//!
//! Owns the Python on both sides: writing it (`export`, `pywrite`) and
//! reading it statically (`pytoken` → `pyparse` → `pyeval` → `translate`,
//! driven by `import`). Never runs Python, never opens the database, and
//! writes no file: `app` resolves the project and profile and writes the
//! results. The tokenizer is `crate::pytoken`, which Python models
//! (`crate::pymodel`) read with too.

mod export;
mod import;
mod pyeval;
mod pyparse;
mod pywrite;
mod translate;

pub use export::Mode;
pub(crate) use export::{export, Context};
pub(crate) use import::import;

#[cfg(test)]
mod tests;
