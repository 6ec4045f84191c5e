//! The `dbt_project.yml` settings that change how a run goes, beyond paths
//! and config trees: `on-run-start` / `on-run-end` and `flags:` (whose
//! `version_check` is `project::version`'s), and the run hooks of a project
//! and its packages in dbt's order ([`Project::run_hooks`]).
//!
//! Each is read once here, into typed values, with errors at the key's line.
//! A flag dbt acts on and `runner` does not is a warning naming it; flags that
//! only steer dbt's own logging, parsing or telemetry are accepted with no
//! effect, as they change nothing in the warehouse. Renders and runs nothing.

use super::Project;
use crate::config::dbt_project::RawDbtProject;
use crate::diag::Diagnostic;
use crate::hooks::{self, Phase, RunHook, RunHooks};
use serde_yaml::Value;

#[derive(Debug)]
pub(super) struct Settings {
    pub on_run_start: Vec<RunHook>,
    pub on_run_end: Vec<RunHook>,
    pub skip_nodes_if_on_run_start_fails: bool,
    pub warnings: Vec<Diagnostic>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            on_run_start: Vec::new(),
            on_run_end: Vec::new(),
            // runner's default: a failing `on-run-start` runs no node (dbt 1.10
            // still runs them unless this flag is set; see README).
            skip_nodes_if_on_run_start_fails: true,
            warnings: Vec::new(),
        }
    }
}

/// Flags that steer only dbt's own logging, parsing, caching or telemetry,
/// or behaviour changes of features `runner` gives their new behaviour.
const INERT_FLAGS: &[&str] = &[
    "cache_selected_only",
    "debug",
    "log_format",
    "log_format_file",
    "log_level",
    "log_level_file",
    "partial_parse",
    "populate_cache",
    "printer_width",
    "send_anonymous_usage_stats",
    "static_parser",
    "use_colors",
    "use_colors_file",
    "use_experimental_parser",
    "write_json",
    "require_batched_execution_for_custom_microbatch_strategy",
    "require_event_names_in_deprecations",
    "require_explicit_package_overrides_for_builtin_materializations",
    "require_resource_names_without_spaces",
    "source_freshness_run_project_hooks",
    "state_modified_compare_more_unrendered_values",
    "state_modified_compare_vars",
    "require_yaml_configuration_for_mf_time_spines",
    "require_nested_cumulative_type_params",
    "validate_macro_args",
    "require_all_warnings_handled_by_warn_error",
    "require_generic_test_arguments_property",
];

/// Flags dbt acts on that `runner` does not (yet), with what to do instead.
const UNSUPPORTED_FLAGS: &[(&str, &str)] = &[
    ("fail_fast", "runner has no fail-fast mode: a failing node skips only what depends on it"),
    ("warn_error", "runner does not turn warnings into errors"),
    ("warn_error_options", "runner does not turn warnings into errors"),
    ("indirect_selection", "runner selects tests eagerly (dbt's default `eager`)"),
];

/// The settings of the root project `name`'s `dbt_project.yml`.
pub(super) fn read(raw: &RawDbtProject, text: &str, name: &str, errors: &mut Vec<Diagnostic>) -> Settings {
    let mut s = Settings::default();
    let at = |key: &str| crate::config::key_line(text, key);
    for (phase, value) in [(Phase::Start, &raw.on_run_start), (Phase::End, &raw.on_run_end)] {
        match hooks::run_hooks(name, phase, value.as_ref()) {
            Ok(list) if phase == Phase::Start => s.on_run_start = list,
            Ok(list) => s.on_run_end = list,
            Err(e) => errors.push(
                Diagnostic::in_file("dbt_project.yml", e)
                    .at(at(phase.key()), None)
                    .hint("write the hook as a SQL string, or a list of them"),
            ),
        }
    }
    let flags = match &raw.flags {
        None | Some(Value::Null) => return s,
        Some(Value::Mapping(m)) => m,
        Some(_) => {
            errors.push(
                Diagnostic::in_file("dbt_project.yml", "`flags` must be a map of flag names to values")
                    .at(at("flags"), None),
            );
            return s;
        }
    };
    for (k, v) in flags {
        let Some(name) = k.as_str() else { continue };
        let line = crate::config::find_line(text, &format!("{name}:")).or(at("flags"));
        match (name, v) {
            ("skip_nodes_if_on_run_start_fails", Value::Bool(b)) => s.skip_nodes_if_on_run_start_fails = *b,
            ("skip_nodes_if_on_run_start_fails", _) => errors.push(
                Diagnostic::in_file("dbt_project.yml", "`skip_nodes_if_on_run_start_fails` must be `true` or `false`")
                    .at(line, None),
            ),
            // Read by `project::version` (dbt's `--no-version-check`).
            ("version_check", Value::Bool(_)) => {}
            ("version_check", _) => errors.push(
                Diagnostic::in_file("dbt_project.yml", "`version_check` must be `true` or `false`").at(line, None),
            ),
            ("indirect_selection", Value::String(mode)) if mode == "eager" => {}
            // An explicit "off" changes nothing either.
            ("fail_fast" | "warn_error", Value::Bool(false)) => {}
            _ if INERT_FLAGS.contains(&name) => {}
            _ => {
                let why = UNSUPPORTED_FLAGS
                    .iter()
                    .find(|(f, _)| *f == name)
                    .map(|(_, why)| why.to_string())
                    .unwrap_or_else(|| "dbt-core 1.10 has no such flag".to_string());
                s.warnings.push(
                    Diagnostic::in_file("dbt_project.yml", format!("flag `{name}` has no effect in runner: {why}"))
                        .at(line, None),
                );
            }
        }
    }
    s
}

impl Project {
    /// The `on-run-start` and `on-run-end` hooks of this root project and its
    /// packages, in the order dbt runs them, and what a failing `on-run-start`
    /// does to the nodes.
    ///
    /// dbt-core 1.10 orders each phase by (project, index), its root project
    /// sorting before every package (`RunTask._hook_keyfunc` keys it with a
    /// name that compares less than any other), the packages by name. A hook
    /// is an operation node configured by the `models:` trees along
    /// `[project, hooks, <name>]`, so `models: my_pkg: +enabled: false` (how
    /// a package is switched off) disables its hooks too, as in dbt.
    pub fn run_hooks(&self) -> RunHooks {
        let project = self;
        let mut packages: Vec<&Project> = project.packages.iter().map(|p| &p.project).collect();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        let owners = || std::iter::once(project).chain(packages.iter().copied());
        let folders = ["hooks".to_string()];
        let enabled = |owner: &Project, h: &RunHook| {
            let cfg = project.node_config(owner, |p| p.model_tree.as_ref(), &folders, &h.node_name(), []);
            cfg.get("enabled").and_then(Value::as_bool) != Some(false)
        };
        let phase = |list: fn(&Project) -> &Vec<RunHook>| -> Vec<RunHook> {
            owners().flat_map(|p| list(p).iter().filter(move |h| enabled(p, h)).cloned()).collect()
        };
        RunHooks {
            start: phase(|p| &p.on_run_start),
            end: phase(|p| &p.on_run_end),
            skip_nodes_on_start_failure: project.skip_nodes_if_on_run_start_fails,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> (Settings, Vec<Diagnostic>) {
        let raw: RawDbtProject = serde_yaml::from_str(text).expect("yaml");
        let mut errors = Vec::new();
        let s = read(&raw, text, "p", &mut errors);
        (s, errors)
    }

    #[test]
    fn run_hooks_and_the_skip_flag_are_read() {
        let (s, errors) = settings(
            "name: p\non-run-start: create table a (x int)\non-run-end: [x, y]\nflags:\n  skip_nodes_if_on_run_start_fails: false\n  send_anonymous_usage_stats: false\n",
        );
        assert!(errors.is_empty() && s.warnings.is_empty(), "{errors:?} {:?}", s.warnings);
        assert_eq!((s.on_run_start.len(), s.on_run_end.len()), (1, 2));
        assert!(!s.skip_nodes_if_on_run_start_fails);
        assert!(Settings::default().skip_nodes_if_on_run_start_fails);
    }

    #[test]
    fn a_bad_hook_is_an_error_at_its_key_and_an_unsupported_flag_a_warning() {
        let (_, errors) = settings("name: p\non-run-end:\n  - {sql: x}\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(2));
        let (s, errors) = settings("name: p\nflags:\n  fail_fast: true\n  warn_error: false\n  no_such_flag: 1\n");
        assert!(errors.is_empty());
        let shown: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("dbt_project.yml:3: flag `fail_fast`"), "{shown:?}");
        assert!(shown[1].contains("`no_such_flag`"), "{shown:?}");
    }
}
