//! The built-in macros against real dbt: each case's expected text is what
//! `dbt compile` printed for the same Jinja under dbt-core 1.10.23 +
//! dbt-duckdb 1.9.6 (whitespace aside), so a change to a macro file that
//! alters its SQL fails here. Also: a project's macros override the
//! built-ins the dbt way, and `api.Column` answers as dbt-duckdb's Column.

use super::super::query;
use super::super::tests::{project, target};
use super::super::*;

fn templates(models: &[(&str, &str)], macros: &[(&str, &str)]) -> Templates {
    Templates::build(&project(models, macros), &target(), &Env::default(), Vars::default(), &[])
        .unwrap_or_else(|e| panic!("builds: {e:?}"))
}

fn ctx() -> RenderCtx {
    let mut rels = Relations::default();
    rels.by_name.insert("src".into(), Relation::new("memory", "main", "src"));
    RenderCtx {
        this: Relation::new("memory", "main", "m"),
        relations: Arc::new(rels),
        is_incremental: false,
        config: Default::default(),
        package: None,
        node: None,
    }
}

/// One column of each common DuckDB type: the table dbt-duckdb listed the
/// columns of for the expected text below.
fn conn() -> query::QueryFn {
    let c = duckdb::Connection::open_in_memory().expect("in-memory duckdb");
    c.execute_batch(
        "create table src as select 1::integer as i, 2::bigint as b, 'x'::varchar as s, 1.5::double as f, \
         1.25::decimal(18,3) as n, 1.5::float as r, '2025-01-01'::date as d, now()::timestamp as ts, now() as tz, \
         true as bo, {'a': 1, 'b': 'x'} as st, [1,2] as li, 3::hugeint as h",
    )
    .expect("create src");
    query::from_connection(c)
}

/// Whitespace aside: runs collapse, and none is kept next to punctuation
/// (`( x )` and `(x)` compare equal), only between two words.
fn normalize(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        let joins_words = |a: Option<char>, b: Option<char>| {
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '\'');
            word(a) && word(b)
        };
        if !out.is_empty() && joins_words(out.chars().last(), w.chars().next()) {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// (case, Jinja, what dbt compiled it to).
const CASES: &[(&str, &str, &str)] = &[
    ("dateadd_day", r#"{{ dateadd('day', 1, "'2025-01-31'::date") }}"#, "('2025-01-31'::date + cast(1 as bigint) * interval 1 day)"),
    ("dateadd_month", "{{ dateadd('month', '-2', 'd') }}", "(d + cast(-2 as bigint) * interval 1 month)"),
    ("dateadd_quarter", "{{ dateadd('quarter', 1, 'd') }}", "(d + (cast(1 as bigint) * 3) * interval 1 month)"),
    ("dateadd_week", "{{ dbt.dateadd('week', 'n', 'd') }}", "(d + (cast(n as bigint) * 7) * interval 1 day)"),
    ("dateadd_upper", "{{ dateadd('Hour', 3, 'ts') }}", "(ts + cast(3 as bigint) * interval 1 hour)"),
    ("datediff_day", r#"{{ datediff("'2025-01-01'", "'2025-03-01'", 'day') }}"#, "(date_diff('day', '2025-01-01'::timestamp, '2025-03-01'::timestamp ))"),
    ("datediff_week", "{{ datediff('a', 'b', 'week') }}", "( (date_diff('day', a::timestamp, b::timestamp )) // 7 + case when date_part('dow', (a)::timestamp) <= date_part('dow', (b)::timestamp) then case when a <= b then 0 else -1 end else case when a <= b then 1 else 0 end end)"),
    ("date_trunc", "{{ date_trunc('month', 'd') }}", "date_trunc('month', d)"),
    ("last_day_month", "{{ last_day('d', 'month') }}", "cast( ( (date_trunc('month', d) + cast(1 as bigint) * interval 1 month) + cast(-1 as bigint) * interval 1 day) as date)"),
    // dbt-duckdb also prints a `-- duckdb dateadd does not support quarter interval.` line first; runner prints no comment.
    ("last_day_quarter", "{{ last_day('d', 'quarter') }}", "cast( ( (date_trunc('quarter', d) + cast(3 as bigint) * interval 1 month) + cast(-1 as bigint) * interval 1 day) as date)"),
    ("last_day_year", "{{ dbt.last_day('d', 'year') }}", "cast( ( (date_trunc('year', d) + cast(1 as bigint) * interval 1 year) + cast(-1 as bigint) * interval 1 day) as date)"),
    ("type_string", "{{ type_string() }}", "TEXT"),
    ("type_int", "{{ type_int() }}", "integer"),
    ("type_bigint", "{{ type_bigint() }}", "bigint"),
    ("type_float", "{{ type_float() }}", "float"),
    ("type_numeric", "{{ type_numeric() }}", "numeric(28,6)"),
    ("type_timestamp", "{{ type_timestamp() }}", "timestamp"),
    ("type_boolean", "{{ type_boolean() }}", "boolean"),
    ("dbt_type_string", "{{ dbt.type_string() }}", "TEXT"),
    ("safe_cast", r#"{{ safe_cast("'1'", type_int()) }}"#, "cast('1' as integer)"),
    ("cast", r#"{{ cast("'1'", 'integer') }}"#, "cast('1' as integer)"),
    ("hash", "{{ hash('x') }}", "md5(cast(x as TEXT))"),
    ("concat", r#"{{ concat(['a', "'-'", 'b']) }}"#, "a || '-' || b"),
    ("split_part", r#"{{ split_part('s', "','", 2) }}"#, "string_split(s, ',')[ 2 ]"),
    ("split_part_neg", r#"{{ split_part('s', "','", -1) }}"#, "string_split(s, ',')[ -1 ]"),
    ("split_part_negative", r#"{{ _split_part_negative('s', "','", -1) }}"#, "split_part( s, ',', length(s) - length( replace(s, ',', '') ) + 2 + -1 )"),
    ("listagg", "{{ listagg('x') }}", "string_agg( x, ',' )"),
    ("listagg_order", r#"{{ listagg('x', "'|'", 'order by x') }}"#, "string_agg( x, '|' order by x )"),
    ("listagg_limit", r#"{{ listagg('x', "', '", 'order by x desc', 2) }}"#, "list_aggr( (array_agg( x order by x desc ))[1:2], 'string_agg', ', ' )"),
    ("listagg_limit_noorder", "{{ listagg(measure='x', limit_num=3) }}", "list_aggr( (array_agg( x ))[1:3], 'string_agg', ',' )"),
    ("any_value", "{{ any_value('x') }}", "arbitrary(x)"),
    ("bool_or", "{{ bool_or('x > 1') }}", "bool_or(x > 1)"),
    ("cast_bool_to_text", "{{ cast_bool_to_text('b') }}", "cast(b as TEXT)"),
    ("current_timestamp", "{{ current_timestamp() }}", "now()"),
    ("current_timestamp_backcompat", "{{ current_timestamp_backcompat() }}", "current_timestamp::timestamp"),
    ("current_timestamp_in_utc_backcompat", "{{ current_timestamp_in_utc_backcompat() }}", "current_timestamp::timestamp"),
    ("snapshot_get_time", "{{ snapshot_get_time() }}", "now()::timestamp"),
    ("escape_single_quotes", r#"{{ escape_single_quotes("it's") }}"#, "it''s"),
    ("except", "{{ except() }}", "except"),
    ("intersect", "{{ intersect() }}", "intersect"),
    ("length", "{{ length('s') }}", "length( s )"),
    ("position", r#"{{ position("'b'", 's') }}"#, "position( 'b' in s )"),
    ("replace", r#"{{ replace('s', "'a'", "'b'") }}"#, "replace( s, 'a', 'b' )"),
    ("right", "{{ right('s', 2) }}", "right( s, 2 )"),
    ("string_literal", "{{ string_literal('abc') }}", "'abc'"),
    ("equals", "{{ equals('a', 'b') }}", "(a = b)"),
    ("date", "{{ date(2025, 1, 31) }}", "to_date('2025-01-31', 'YYYY-MM-DD')"),
    ("array_construct", "{{ array_construct(['1', '2', '3']) }}", "array[ 1 , 2 , 3 ]"),
    ("array_construct_empty", "{{ array_construct([]) }}", "array[]::integer[]"),
    ("array_construct_typed", "{{ array_construct([], type_string()) }}", "array[]::TEXT[]"),
    ("array_append", "{{ array_append('arr', '4') }}", "array_append(arr, 4)"),
    ("array_concat", "{{ array_concat('a1', 'a2') }}", "array_cat(a1, a2)"),
    ("get_powers_of_two", "{{ get_powers_of_two(5) }}", "3"),
    ("get_powers_of_two_1", "{{ get_powers_of_two(1) }}", "1"),
    ("generate_series", "{{ generate_series(5) }}", "with p as ( select 0 as generated_number union all select 1 ), unioned as ( select p0.generated_number * power(2, 0) + p1.generated_number * power(2, 1) + p2.generated_number * power(2, 2) + 1 as generated_number from p as p0 cross join p as p1 cross join p as p2 ) select * from unioned where generated_number <= 5 order by generated_number"),
    ("intervals_between", r#"{{ get_intervals_between("'2025-01-01'::date", "'2025-01-10'::date", 'day') }}"#, "9"),
    ("date_spine", r#"{{ date_spine('day', "'2025-01-01'::date", "'2025-01-05'::date") }}"#, "with rawdata as ( with p as ( select 0 as generated_number union all select 1 ), unioned as ( select p0.generated_number * power(2, 0) + p1.generated_number * power(2, 1) + 1 as generated_number from p as p0 cross join p as p1 ) select * from unioned where generated_number <= 4 order by generated_number ), all_periods as ( select ( ('2025-01-01'::date + cast(row_number() over (order by 1) - 1 as bigint) * interval 1 day) ) as date_day from rawdata ), filtered as ( select * from all_periods where date_day <= '2025-01-05'::date ) select * from filtered"),
    ("translate_type", "{{ api.Column.translate_type('string') }}|{{ api.Column.translate_type('Integer') }}|{{ api.Column.translate_type('text') }}", "TEXT|Integer|text"),
    ("string_type", "{{ api.Column.string_type(10) }}|{{ api.Column.numeric_type('decimal', 10, 2) }}|{{ api.Column.numeric_type('decimal', none, 2) }}", "character varying(10)|decimal(10,2)|decimal"),
    ("column_create", "{% set c = api.Column.create('Amount', 'string') %}{{ c.name }}|{{ c.quoted }}|{{ c.dtype }}|{{ c.data_type }}|{{ c.is_string() }}|{{ c.is_number() }}|{{ c.string_size() }}|{{ c.column }}", "Amount|\"Amount\"|TEXT|character varying(256)|True|False|256|Amount"),
    ("column_create_num", "{% set c = api.Column.create('n', 'decimal') %}{{ c.data_type }}|{{ c.is_numeric() }}|{{ c.is_number() }}|{{ c.is_integer() }}|{{ c.is_float() }}", "decimal|True|True|False|False"),
    ("column_ctor", "{% set c = api.Column('n', 'varchar', 20) %}{{ c.data_type }}|{{ c.string_size() }}|{{ c.char_size }}|{{ c.literal('1') }}", "character varying(20)|20|20|1::character varying(20)"),
    ("column_repr", "{{ api.Column.create('a', 'integer') }}", "DuckDBColumn(column='a', dtype='integer', char_size=None, numeric_precision=None, numeric_scale=None, fields=[])"),
];

#[test]
fn every_builtin_renders_the_sql_dbt_compiles() {
    let models: Vec<(String, &str)> = CASES.iter().map(|(n, jinja, _)| (format!("models/{n}.sql"), *jinja)).collect();
    let refs: Vec<(&str, &str)> = models.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let t = templates(&refs, &[]);
    let mut wrong = Vec::new();
    for (name, _, want) in CASES {
        let got = t.render_with_query(&format!("models/{name}.sql"), &ctx(), conn());
        match got {
            Ok(sql) if normalize(&sql) == normalize(want) => {}
            Ok(sql) => wrong.push(format!("{name}:\n   dbt    {}\n   runner {}", normalize(want), normalize(&sql))),
            Err(e) => wrong.push(format!("{name}: {e}")),
        }
    }
    assert!(wrong.is_empty(), "{} of {} differ from dbt:\n{}", wrong.len(), CASES.len(), wrong.join("\n"));
}

/// dbt's strategy macros, for a project's strategy to build on: what dbt
/// 1.10 compiled for the same calls in a snapshot with the same config.
#[test]
fn snapshot_strategies_answer_as_dbts_do() {
    let model = "{% set s = snapshot_timestamp_strategy(none, 'snapshotted_data', 'source_data', none, false) %}\
        A {{ s.row_changed }}|{{ s.scd_id }}|{{ s.hard_deletes }}|{{ s.invalidate_hard_deletes }}|{{ s.unique_key }}|{{ s.updated_at }}\n\
        {% set c = snapshot_check_strategy(none, 'snapshotted_data', 'source_data', none, false) %}\
        B {{ c.row_changed }}|{{ c.scd_id }}|{{ c.hard_deletes }}|{{ c.updated_at }}\n\
        C {{ snapshot_hash_arguments(['id', 'u']) }}|{{ get_true_sql() }}|{{ api.Relation.scd_args(['a', 'b'], 'u') | join(',') }}|\
        {{ api.Relation.scd_args('id', 'u') | join(',') }}\n\
        D {{ get_columns_in_query('select 1 as a, 2 as \"B\"') | join(',') }}|\
        {{ adapter.get_hard_deletes_behavior({'invalidate_hard_deletes': true}) }}|{{ adapter.get_hard_deletes_behavior({}) }}|\
        {{ config.get('snapshot_table_column_names').dbt_valid_from }}|{{ config.get('snapshot_table_column_names').dbt_scd_id }}\n";
    let t = templates(&[("models/m.sql", model)], &[]);
    let config: crate::config_tree::ConfigMap = serde_yaml::from_str(
        "materialized: snapshot\nstrategy: timestamp\nunique_key: id\nupdated_at: u\nhard_deletes: new_record\n\
         snapshot_meta_column_names: {dbt_valid_from: vf, dbt_scd_id: null}",
    )
    .expect("yaml");
    let rc = RenderCtx { config: Arc::new(config), ..ctx() };
    let out = t.render_with_query("models/m.sql", &rc, conn()).expect("renders");
    let hash = "md5(coalesce(cast(id as varchar ), '') || '|' || coalesce(cast(u as varchar ), ''))";
    let dbt = [
        format!("A (snapshotted_data.vf < source_data.u)|{hash}|new_record|False|id|u"),
        format!("B ()|{hash}|new_record|u"),
        format!("C {hash}|TRUE|a,b,u|id,u"),
        "D a,B|invalidate|ignore|vf|dbt_scd_id".to_string(),
    ];
    let lines: Vec<String> = out.lines().map(normalize).collect();
    assert_eq!(lines, dbt.iter().map(|l| normalize(l)).collect::<Vec<_>>());

    // Over an existing table: the columns it has are compared, and a
    // column it lacks makes every row changed.
    let model = "{% set node = {'database': 'memory', 'schema': 'main', 'alias': 'src', \
                 'compiled_code': 'select i, s, 1 as extra from main.src'} %}\
        {% set c = snapshot_check_strategy(node, 'snapshotted_data', 'source_data', none, true) %}\
        E {{ c.row_changed }}|{{ c.scd_id }}|{{ c.hard_deletes }}|{{ c.invalidate_hard_deletes }}|{{ c.updated_at }}\n\
        {% set found = snapshot_check_all_get_existing_columns(node, true, 'all') %}F {{ found[0] }}|{{ found[1] | join(',') }}";
    let t = templates(&[("models/m.sql", model)], &[]);
    let config: crate::config_tree::ConfigMap = serde_yaml::from_str(
        "materialized: snapshot\nstrategy: check\nunique_key: [i, s]\ncheck_cols: [i, s]\ninvalidate_hard_deletes: true",
    )
    .expect("yaml");
    let rc = RenderCtx { config: Arc::new(config), ..ctx() };
    let out = t.render_with_query("models/m.sql", &rc, conn()).expect("renders");
    let changed = |c: &str| {
        format!(
            "snapshotted_data.\"{c}\" != source_data.\"{c}\" or ( ((snapshotted_data.\"{c}\" is null) and not \
             (source_data.\"{c}\" is null)) or ((not snapshotted_data.\"{c}\" is null) and (source_data.\"{c}\" is null)) )"
        )
    };
    let dbt = [
        format!(
            "E ({} or {})|md5(coalesce(cast(i as varchar ), '') || '|' || coalesce(cast(s as varchar ), '') || '|' || \
             coalesce(cast(now()::timestamp as varchar ), ''))|invalidate|True|now()::timestamp",
            changed("i"),
            changed("s")
        ),
        "F True|\"i\",\"s\"".to_string(),
    ];
    let lines: Vec<String> = out.lines().map(normalize).collect();
    assert_eq!(lines, dbt.iter().map(|l| normalize(l)).collect::<Vec<_>>());
}

#[test]
fn normalize_ignores_only_whitespace() {
    assert_eq!(normalize("( a  +\n b )"), normalize("(a + b)"));
    assert_ne!(normalize("cast(x as int)"), normalize("cast(xas int)"));
    assert_ne!(normalize("a || b"), normalize("a | b"));
}

#[test]
fn get_intervals_between_is_one_while_parsing_as_in_dbt() {
    // While parsing (`execute` false, no connection) the statement does not
    // run; `config(n=…)` records what the macro answered then.
    let between = r#"get_intervals_between("'2025-01-01'::date", "'2025-01-10'::date", 'day')"#;
    let model = format!("{{{{ config(n={between}) }}}}{{{{ {between} }}}}");
    let t = templates(&[("models/m.sql", &model)], &[]);
    let rec = t.resolve("models/m.sql", &Relation::new("memory", "main", "m")).expect("resolves");
    assert_eq!(rec.config.get("n"), Some(&serde_yaml::Value::from(1)));
    let parsed = t.render("models/m.sql", &ctx());
    assert!(parsed.is_err(), "rendering for real without a connection says so: {parsed:?}");
    // The render pass with a connection asks the database.
    assert_eq!(t.render_with_query("models/m.sql", &ctx(), conn()).expect("renders"), "9");
}

#[test]
fn columns_in_a_relation_are_dbt_duckdbs_column_objects() {
    let model = "{% for c in adapter.get_columns_in_relation(ref('src')) %}\
                 {{ c.name }}|{{ c.dtype }}|{{ c.data_type }}|{{ c.is_string() }}|{{ c.is_number() }}|{{ c.is_integer() }}|\
                 {{ c.is_float() }}|{{ c.is_numeric() }}|{{ c.char_size }}|{{ c.numeric_precision }}|{{ c.numeric_scale }}\n\
                 {% endfor %}{{ adapter.get_columns_in_relation(ref('src'))[10] }}";
    let t = templates(&[("models/m.sql", model)], &[]);
    let out = t.render_with_query("models/m.sql", &ctx(), conn()).expect("renders");
    // What dbt-duckdb 1.9.6 printed for the same table.
    let dbt = "i|INTEGER|INTEGER|False|True|True|False|False|None|32|0
b|BIGINT|BIGINT|False|True|True|False|False|None|64|0
s|VARCHAR|character varying(256)|True|False|False|False|False|None|None|None
f|DOUBLE|DOUBLE|False|True|False|True|False|None|53|0
n|DECIMAL(18,3)|DECIMAL(18,3)|False|False|False|False|False|None|18|3
r|FLOAT|FLOAT|False|True|False|True|False|None|24|0
d|DATE|DATE|False|False|False|False|False|None|None|None
ts|TIMESTAMP|TIMESTAMP|False|False|False|False|False|None|None|None
tz|TIMESTAMP WITH TIME ZONE|TIMESTAMP WITH TIME ZONE|False|False|False|False|False|None|None|None
bo|BOOLEAN|BOOLEAN|False|False|False|False|False|None|None|None
st|STRUCT(a INTEGER, b VARCHAR)|STRUCT(a INTEGER, b VARCHAR)|False|False|False|False|False|None|None|None
li|INTEGER[]|INTEGER[]|False|False|False|False|False|None|None|None
h|HUGEINT|HUGEINT|False|True|True|False|False|None|128|0
DuckDBColumn(column='st', dtype='STRUCT(a INTEGER, b VARCHAR)', char_size=None, numeric_precision=None, numeric_scale=None, \
fields=[DuckDBColumn(column='a', dtype='INTEGER', char_size=None, numeric_precision=None, numeric_scale=None, fields=[]), \
DuckDBColumn(column='b', dtype='VARCHAR', char_size=None, numeric_precision=None, numeric_scale=None, fields=[])])";
    assert_eq!(out, dbt);
}

#[test]
fn where_subquery_and_store_failures_read_the_config() {
    // `config` as a dict stands in for the node's config object: both answer `.get`.
    let model = "{% set config = {'where': 'x > 1', 'store_failures': true} %}\
                 {{ get_where_subquery(ref('src')) }}|{{ should_store_failures() }}";
    let t = templates(&[("models/m.sql", model)], &[]);
    let out = t.render("models/m.sql", &ctx()).expect("renders");
    assert_eq!(out, "(select * from \"memory\".\"main\".\"src\" where x > 1) dbt_subquery|True");
    let plain = "{% set config = {} %}{{ get_where_subquery(ref('src')) }}";
    let t = templates(&[("models/m.sql", plain)], &[]);
    assert_eq!(t.render("models/m.sql", &ctx()).expect("renders"), "\"memory\".\"main\".\"src\"");
}

#[test]
fn date_checks_the_day_as_python_does() {
    let t = templates(&[("models/m.sql", "{{ date(2025, 2, 30) }}")], &[]);
    assert!(t.render("models/m.sql", &ctx()).is_err(), "February 30th is not a date");
    let t = templates(&[("models/m.sql", "{{ get_powers_of_two(0) }}")], &[]);
    let err = t.render("models/m.sql", &ctx()).expect_err("not positive");
    assert!(err.message.contains("upper bound must be positive"), "{}", err.message);
}

#[test]
fn a_projects_default_or_duckdb_implementation_wins_over_the_builtin() {
    let macros = [(
        "macros/overrides.sql",
        "{% macro default__type_string() %}{{ return('varchar') }}{% endmacro %}\
         {% macro duckdb__dateadd(datepart, interval, from_date_or_timestamp) %}my_add({{ from_date_or_timestamp }}){% endmacro %}",
    )];
    let model = "{{ type_string() }}|{{ dbt.type_string() }}|{{ hash('x') }}|{{ dateadd('day', 1, 'd') }}|\
                 {{ dbt.dateadd('day', 1, 'd') }}|{{ last_day('d', 'month') }}";
    let t = templates(&[("models/m.sql", model)], &macros);
    let out = t.render("models/m.sql", &ctx()).expect("renders");
    // `hash` asks `api.Column` directly, not `type_string`, as in dbt; `last_day`
    // dispatches its inner `dbt.dateadd` calls, so it sees the override too.
    assert_eq!(
        out,
        "varchar|varchar|md5(cast(x as TEXT))|my_add(d)|my_add(d)|cast(my_add(my_add(date_trunc('month', d))) as date)"
    );
}

#[test]
fn a_projects_public_macro_replaces_the_builtin_but_not_dbt_dot() {
    let macros =
        [("macros/dateadd.sql", "{% macro dateadd(datepart, interval, from_date_or_timestamp) %}mine{% endmacro %}")];
    let model = "{{ dateadd('day', 1, 'd') }}|{{ dbt.dateadd('day', 1, 'd') }}";
    let t = templates(&[("models/m.sql", model)], &macros);
    let out = t.render("models/m.sql", &ctx()).expect("renders");
    assert_eq!(normalize(&out), "mine|(d+cast(1 as bigint)*interval 1 day)");
}
