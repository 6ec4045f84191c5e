//! Raw serde types mirroring each YAML file the user writes.
//!
//! These types are the edge: they accept exactly the keys each file may hold
//! (`deny_unknown_fields`) and nothing else. They never walk directories,
//! render templates or decide defaults; `project` turns them into validated
//! types.

pub mod dag;
pub mod dbt_project;
pub mod profile;
pub mod properties;
pub mod unit_tests;

/// 1-based line of a top-level `key:` in a YAML text, for errors found after
/// parsing (serde only locates syntax and unknown-key errors).
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines().position(|l| l.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':'))).map(|i| i + 1)
}

/// 1-based line of the first line containing `needle`, anywhere in the file.
pub fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_line_finds_top_level_keys_only() {
        let text = "dag_id: x\nvars:\n  schedule: 1\nschedule : '@daily'\n";
        assert_eq!(super::key_line(text, "schedule"), Some(4));
        assert_eq!(super::key_line(text, "dag_id"), Some(1));
        assert_eq!(super::key_line(text, "missing"), None);
    }
}
