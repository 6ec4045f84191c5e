//! Unit tests of argument parsing and validation into `Options`.

use super::*;
use clap::Parser;

fn parse(args: &[&str]) -> Result<Options, Error> {
    let mut argv = vec!["runner"];
    argv.extend_from_slice(args);
    Options::from_raw(RawCli::try_parse_from(argv).expect("clap parses"))
}

#[test]
fn run_with_every_common_flag() {
    let o = parse(&[
        "run",
        "my_dag",
        "--project-dir",
        "/p",
        "--vars",
        "{a: 1}",
        "--select",
        "a",
        "b",
        "--threads",
        "4",
        "--lock-timeout",
        "2s",
        "--full-refresh",
    ])
    .expect("valid");
    assert_eq!(o.command, Command::Run { dag: Some("my_dag".into()) });
    assert_eq!(o.project_dir, PathBuf::from("/p"));
    assert_eq!(o.vars.get("a"), Some(&serde_yaml::Value::from(1)));
    assert_eq!(o.select, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(o.threads, Some(4));
    assert_eq!(o.lock_timeout, Some(Duration::from_secs(2)));
    assert!(o.full_refresh);
}

#[test]
fn bad_vars_threads_and_timeout_are_usage_errors() {
    for args in [&["test", "--vars", "[1, 2]"][..], &["test", "--threads", "0"], &["test", "--lock-timeout", "soon"]] {
        let e = parse(args).expect_err("invalid");
        assert!(matches!(e, Error::Usage(_)), "{args:?}");
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
    }
}

#[test]
fn ls_options_are_validated() {
    let o = parse(&["ls", "my_dag", "--resource-type", "seed", "test", "--output", "json", "--output-keys", "name"])
        .expect("valid");
    let Command::Ls { dag, list } = o.command else { panic!("not ls: {:?}", o.command) };
    assert_eq!(dag.as_deref(), Some("my_dag"));
    assert_eq!(list.resource_types.iter().map(String::as_str).collect::<Vec<_>>(), ["seed", "test"]);
    assert_eq!(list.output, ListOutput::Json);
    assert_eq!(list.output_keys, ["name"]);
    // dbt takes `--output-keys "name tags"` as two keys.
    let o = parse(&["ls", "--output", "json", "--output-keys", "name tags", "config"]).expect("valid");
    let Command::Ls { list, .. } = o.command else { panic!("not ls") };
    assert_eq!(list.output_keys, ["name", "tags", "config"]);
    let all = parse(&["list", "--resource-type", "all"]).expect("`list` is an alias");
    let Command::Ls { list, .. } = all.command else { panic!("not ls") };
    assert_eq!(list.resource_types.len(), 6, "model, seed, snapshot, test, source, unit_test");
    assert_eq!(list.output, ListOutput::Selector);
    for args in [&["ls", "--output", "yaml"][..], &["ls", "--resource-type", "modle"], &["ls", "--output-keys", "name"]]
    {
        let e = parse(args).expect_err("invalid");
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE, "{args:?}");
    }
}

#[test]
fn dbt_commands_take_an_optional_dag() {
    assert_eq!(parse(&["seed"]).expect("valid").command, Command::Seed { dag: None });
    assert_eq!(
        parse(&["snapshot", "my_dag"]).expect("valid").command,
        Command::Snapshot { dag: Some("my_dag".into()) }
    );
    assert_eq!(parse(&["build", "d"]).expect("valid").command, Command::Build { dag: Some("d".into()) });
    assert_eq!(parse(&["compile", "-s", "m"]).expect("valid").select, Some(vec!["m".to_string()]));
    assert_eq!(parse(&["debug"]).expect("valid").command.name(), "debug");
    assert_eq!(parse(&["run"]).expect("valid").command, Command::Run { dag: None });
    assert_eq!(parse(&["run", "-s", "m"]).expect("valid").select, Some(vec!["m".to_string()]));
}
