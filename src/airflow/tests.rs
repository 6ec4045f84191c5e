//! The Python reader end to end on small files: what it evaluates, what it
//! reports, and how each cosmos keyword lands in the YAML DAG.

use super::pyeval::{self, Value};
use super::{import, pyparse};
use crate::pytoken;
use std::path::Path;

fn module(src: &str) -> pyeval::Module {
    let tokens = pytoken::tokenize(src).expect("tokenizes");
    pyeval::evaluate(Path::new("/dags/x.py"), &pyparse::parse(src, &tokens.lines))
}

fn imported(src: &str) -> (String, Vec<String>) {
    let mut dags = import(Path::new("/dags/x.py"), Path::new("x.py"), src).expect("imports");
    assert_eq!(dags.len(), 1);
    let d = dags.remove(0);
    (d.yaml, d.warnings.iter().map(ToString::to_string).collect())
}

fn refused(src: &str) -> String {
    let errs = import(Path::new("/dags/x.py"), Path::new("x.py"), src).expect_err("refused");
    errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

#[test]
fn module_values_are_computed_without_running_the_file() {
    let m = module(
        "import os\nfrom pathlib import Path\nBASE = Path(__file__).parent / 'dbt' / \"shop\"\nP = os.getenv('X', '/a')\nQ = os.environ.get('Y') or 'b'\nD = datetime(2025, 1, 2, 3, tzinfo=timezone.utc)\nT = timedelta(hours=1, minutes=30)\nW = pendulum.duration(days=2)\nS = 'a' 'b' + \"c\"\nN = -3\n",
    );
    assert_eq!(m.names["BASE"], Value::Path("/dags/dbt/shop".into()));
    assert_eq!(m.names["P"], Value::Str("/a".into()));
    assert_eq!(m.names["Q"], Value::Str("b".into()));
    let at = chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap().and_hms_opt(3, 0, 0).unwrap();
    assert_eq!(m.names["D"], Value::DateTime(at, Some("UTC".into())));
    assert_eq!(m.names["T"], Value::Delta(5_400_000_000));
    assert_eq!(m.names["W"], Value::Delta(172_800_000_000));
    assert_eq!(m.names["S"], Value::Str("abc".into()));
    assert_eq!(m.names["N"], Value::Int(-3));
}

#[test]
fn values_known_only_at_import_time_say_why() {
    let m = module(
        "A = datetime.now()\nB = f\"x{y}\"\nC = os.environ['HOME']\nD = [x for x in y]\nif cond:\n    E = 1\nF = 1 if c else 2\nG = os.getenv('Z')\n",
    );
    let why = |k: &str| match &m.names[k] {
        Value::Unknown(w) => w.clone(),
        other => panic!("{k} is {other:?}"),
    };
    assert!(why("A").contains("`datetime.now()` is the time when the file is imported"), "{}", why("A"));
    assert!(why("B").contains("f-string"));
    assert!(why("C").contains("os.environ"));
    assert!(why("D").contains("[x for x in y]"));
    assert!(why("E").contains("inside `if` (line 5)"), "{}", why("E"));
    assert!(why("F").contains("1 if c else 2"));
    assert!(why("G").contains("`Z` is read from the environment and has no default"));
}

const DBT_DAG: &str = r#"
from cosmos import DbtDag, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import TestBehavior
from airflow.timetables.interval import CronDataIntervalTimetable
import pendulum

VARS = {"region": "eu", "days": [1, 2]}
my_dag = DbtDag(
    dag_id="shop_daily",
    description="Shop, daily",
    project_config=ProjectConfig(dbt_project_path="/srv/shop", dbt_vars=VARS),
    profile_config=ProfileConfig(profile_name="shop", target_name="prod", profiles_yml_filepath="/srv/shop/profiles.yml"),
    render_config=RenderConfig(select="tag:daily staging", exclude=["stg_x"], test_behavior=TestBehavior.BUILD),
    schedule=CronDataIntervalTimetable("30 2 * * *", timezone="Europe/Paris"),
    start_date=pendulum.datetime(2025, 3, 1, 6, tz="Europe/Paris"),
    end_date=datetime(2025, 12, 31),
    catchup=True,
    max_active_runs=2,
    max_active_tasks=4,
    default_args={"retries": 3, "retry_delay": timedelta(seconds=90), "retry_exponential_backoff": True,
                  "max_retry_delay": timedelta(hours=1), "execution_timeout": timedelta(minutes=10), "owner": "data"},
    params={"limit": 10},
    tags=["shop"],
    is_paused_upon_creation=True,
)
"#;

#[test]
fn every_cosmos_keyword_lands_on_its_runner_key() {
    let (yaml, warnings) = imported(DBT_DAG);
    let expected = "dag_id: shop_daily\ndescription: Shop, daily\nschedule: 30 2 * * *\ntimezone: Europe/Paris\nstart_date: 2025-03-01T06:00:00\nend_date: 2025-12-31T00:00:00+00:00\ncatchup: true\nmax_active_runs: 2\nmax_active_tasks: 4\nproject_dir: /srv/shop\nprofile: shop\ntarget: prod\nselect:\n- tag:daily\n- staging\nexclude:\n- stg_x\ntest_behavior: build\nvars:\n  region: eu\n  days:\n  - 1\n  - 2\nretries: 3\nretry_delay: 90s\nretry_exponential_backoff: true\nmax_retry_delay: 1h\nexecution_timeout: 10m\nparams:\n  limit: 10\ntags:\n- shop\npaused: true\n";
    assert_eq!(yaml.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n", expected);
    // The naive end date is UTC, as Airflow reads it, so it is written as an instant.
    assert!(
        warnings.iter().any(|w| w.contains("x.py:20: `default_args[\"owner\"]` has no runner equivalent")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("`dbt_project_path` `/srv/shop` holds no `dbt_project.yml`")),
        "{warnings:#?}"
    );
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
}

#[test]
fn a_task_group_takes_its_dag_from_the_with_block() {
    let src = "with DAG('grouped', schedule='@hourly', start_date=datetime(2025, 1, 1)) as dag:\n    start = EmptyOperator(task_id='start')\n    g = DbtTaskGroup(group_id='dbt', project_config=ProjectConfig('/p'), render_config=RenderConfig(test_behavior='after_each'))\n";
    let (yaml, _) = imported(src);
    assert_eq!(yaml, imported(&src.replace("DAG('grouped'", "DAG(dag_id='grouped'")).0, "a positional id is the id");
    assert!(yaml.contains("dag_id: grouped\nschedule: '@hourly'\nstart_date: 2025-01-01\n"), "{yaml}");
    assert!(yaml.contains("test_behavior: after_each"), "{yaml}");
}

#[test]
fn runner_only_keys_come_back_from_their_comments() {
    let src = "# runner: lock_policy: skip\n# runner: lock_timeout: 30s\n# runner: select: x\nd = DbtDag(dag_id='d')\n";
    let (yaml, warnings) = imported(src);
    assert!(yaml.ends_with("lock_timeout: 30s\nlock_policy: skip\n"), "{yaml}");
    assert!(warnings[0].contains("x.py:3: `# runner: select` is not a key runner keeps in a comment"), "{warnings:?}");
}

#[test]
fn computed_values_are_reported_and_left_out() {
    let (yaml, warnings) =
        imported("d = DbtDag(dag_id='d', start_date=days_ago(1), tags=[os.environ['T']], max_active_runs=N)\n");
    assert_eq!(yaml.lines().skip(1).collect::<Vec<_>>(), vec!["dag_id: d"]);
    let all = warnings.join("\n");
    assert!(all.contains("`start_date` not translated: `days_ago()` is the time when the file is imported"), "{all}");
    assert!(all.contains("`tags` not translated"), "{all}");
    assert!(all.contains("`max_active_runs` not translated: `N` is not a value runner reads here"), "{all}");
}

#[test]
fn bad_values_stop_the_import_with_file_line_and_key() {
    assert!(refused("d = DbtDag(\n  dag_id='my dag!')\n").contains("x.py:2: `dag_id`: `my dag!` holds"));
    assert!(refused("d = DbtDag(dag_id='d',\n schedule='61 * * * *')\n").contains("x.py:2: `schedule`:"));
    let tz = refused("d = DbtDag(dag_id='d', schedule=CronDataIntervalTimetable('0 0 * * *', timezone='Mars/Base'))\n");
    assert!(tz.contains("x.py:1: `timezone`: unknown timezone `Mars/Base`"), "{tz}");
    assert!(refused("d = DbtDag(dag_id='d', schedule='@continuous')\n").contains("`@continuous`"));
    assert!(refused("print('hello')\n").contains("x.py: not a cosmos DAG"));
    assert!(refused("x = (1,\n").contains("x.py:2: not a Python file runner can read"));
    assert!(refused("g = DbtTaskGroup(group_id='g')\n").contains("x.py:1: a `DbtTaskGroup` outside any `DAG`"));
    assert!(refused("d = DbtDag(schedule='@daily')\n").contains("x.py:1: no `dag_id`"));
}

#[test]
fn an_airflow_3_backoff_multiplier_is_runners_doubling() {
    let (yaml, warnings) = imported("d = DbtDag(dag_id='d', default_args={'retry_exponential_backoff': 2.0})\n");
    assert!(yaml.ends_with("retry_exponential_backoff: true\n") && warnings.is_empty(), "{yaml}{warnings:?}");
    let (yaml, warnings) = imported("d = DbtDag(dag_id='d', default_args={'retry_exponential_backoff': 0})\n");
    assert!(yaml.ends_with("retry_exponential_backoff: false\n") && warnings.is_empty(), "{yaml}{warnings:?}");
    let (_, warnings) = imported("d = DbtDag(dag_id='d', default_args={'retry_exponential_backoff': 5})\n");
    assert!(warnings[0].contains("the multiplier 5 is read as 2"), "{warnings:?}");
}

#[test]
fn statements_bind_names_only_where_the_file_surely_runs_them() {
    let m = module(
        "A: str = 'typed'\nB = C = 2\nD = 1\nD += 1\nE, F = 1, 2\n@dag(schedule=None)\ndef build():\n    G = 'inside'\nwith DAG(dag_id='x') as dag:\n    H = 'in with'\nif x:\n    I = 1\nelse:\n    I = 2\nJ = {**base, 'k': 1}\nK = {'a': [1, (2, 3)], 'b': None}\n",
    );
    assert_eq!(m.names["A"], Value::Str("typed".into()));
    assert_eq!((&m.names["B"], &m.names["C"]), (&Value::Int(2), &Value::Int(2)));
    assert!(matches!(&m.names["D"], Value::Unknown(w) if w.contains("changed in place")), "{:?}", m.names["D"]);
    assert!(!m.names.contains_key("E"), "a tuple target is not bound");
    assert!(matches!(&m.names["build"], Value::Unknown(w) if w.contains("inside `def`")), "{:?}", m.names["build"]);
    assert!(!m.names.contains_key("G"), "a function body does not run on import");
    assert_eq!(m.names["H"], Value::Str("in with".into()));
    assert!(matches!(&m.names["dag"], Value::Call(c) if c.name() == "DAG"));
    assert!(matches!(&m.names["I"], Value::Unknown(w) if w.contains("inside `else` (line 13)")), "{:?}", m.names["I"]);
    assert!(matches!(&m.names["J"], Value::Unknown(_)));
    let k = Value::Dict(vec![
        (Value::Str("a".into()), Value::List(vec![Value::Int(1), Value::List(vec![Value::Int(2), Value::Int(3)])])),
        (Value::Str("b".into()), Value::None),
    ]);
    assert_eq!(m.names["K"], k);
}
