//! dbt's Jinja context beyond `ref`/`source`: macros returning values,
//! changeable lists, dispatch, `run_query`, Python methods, modules, docs.

use super::tests::{project, target};
use super::*;
use crate::project::docs::DocBlock;

fn templates(models: &[(&str, &str)], macros: &[(&str, &str)]) -> Templates {
    Templates::build(&project(models, macros), &target(), &Env::default(), Vars::default(), &[]).expect("builds")
}

fn ctx() -> RenderCtx {
    let mut rels = Relations::default();
    rels.by_name.insert("raw".into(), Relation::new("shop", "main", "raw"));
    RenderCtx {
        this: Relation::new("shop", "main", "m"),
        relations: Arc::new(rels),
        is_incremental: false,
        config: Default::default(),
        package: None,
        node: None,
    }
}

fn render(model: &str, macros: &[(&str, &str)]) -> Result<String, Diagnostic> {
    templates(&[("models/m.sql", model)], macros).render("models/m.sql", &ctx())
}

fn ok(model: &str, macros: &[(&str, &str)]) -> String {
    render(model, macros).unwrap_or_else(|d| panic!("render failed: {d}"))
}

#[test]
fn return_hands_back_lists_dicts_and_numbers() {
    let macros = [(
        "macros/r.sql",
        "{% macro cols() %}ignored{{ return(['a', 'b']) }}after{% endmacro %}\n\
         {% macro d() %}{{ return({'k': 1}) }}{% endmacro %}\n\
         {% macro n(x=41) %}{% if x > 100 %}{{ return(0) }}{% endif %}{{ return(x + 1) }}{% endmacro %}",
    )];
    let out = ok(
        "{% set c = cols() %}{{ c | join(',') }}|{{ c | length }}|{{ d()['k'] }}|{{ n() + 1 }}|{{ n(500) }}",
        &macros,
    );
    assert_eq!(out, "a,b|2|1|43|0");
}

#[test]
fn return_from_a_macro_called_by_a_macro_of_the_same_file() {
    let macros = [(
        "macros/r.sql",
        "{% macro outer() %}{% set xs = inner() %}{{ return(xs + [3]) }}{% endmacro %}\
         {% macro inner() %}{{ return([1, 2]) }}{% endmacro %}",
    )];
    assert_eq!(ok("{{ outer() | join('-') }}", &macros), "1-2-3");
}

#[test]
fn return_from_a_macro_defined_in_the_model_file() {
    let model = "{% macro cols(extra) %}{{ return(['a', 'b'] + extra) }}{% endmacro -%}\n\
                 {%- macro twice(x) -%}{{ x }}{{ x }}{%- endmacro %}\n\
                 select {{ cols(['c']) | join(', ') }}, {{ twice('z') }}";
    assert_eq!(ok(model, &[]), "\nselect a, b, c, zz");
}

#[test]
fn call_blocks_and_return_inside_a_loop() {
    let macros = [(
        "macros/c.sql",
        "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}\
         {% macro first_big(xs) %}{% for x in xs %}{% if x > 2 %}{{ return(x) }}{% endif %}{% endfor %}{{ return(none) }}{% endmacro %}",
    )];
    assert_eq!(
        ok("{% call wrap('b') %}hi{% endcall %} {{ first_big([1, 5, 7]) }} {{ first_big([1]) is none }}", &macros),
        "<b>hi</b> 5 True"
    );
}

#[test]
fn macros_without_return_render_text_with_defaults() {
    let macros = [("macros/m.sql", "{% macro cents(col, scale=100) %}{{ col }} / {{ scale }}{% endmacro %}")];
    assert_eq!(ok("{{ cents('a') }}, {{ cents('b', scale=10) }}", &macros), "a / 100, b / 10");
}

#[test]
fn set_literals_accept_append_and_update() {
    let model = "{% set cols = [] %}{% for c in ['x', 'y'] %}{% do cols.append(c | upper) %}{% endfor %}\
                 {%- set d = {'a': 1} -%}{% do d.update({'b': 2}) %}{% do d.update(c=3) %}\
                 {{ cols | join(',') }} {{ cols[-1] }} {{ d | length }} {{ d['b'] }} {{ d.get('zz', 'none') }} {{ d.items() | list | length }}";
    assert_eq!(ok(model, &[]), "X,Y Y 3 2 none 3");
    // A namespace's attribute set to a literal (codegen's unit-test template).
    let model = "{% set ns = namespace(cols=none) %}{% set ns.cols = [] %}{% do ns.cols.append('a') %}{{ ns.cols }}";
    assert_eq!(ok(model, &[]), "['a']");
}

#[test]
fn lists_put_into_a_dict_or_list_stay_changeable() {
    // dbt_utils.union_relations: `relation_columns.update({relation: []})`, then
    // `relation_columns[relation].append(col)`.
    let model = "{% set d = {} %}{% do d.update({'k': []}) %}{% do d['k'].append(1) %}{% do d['k'].append(2) %}\
                 {% set l = [] %}{% do l.append([]) %}{% do l[0].append('x') %}{% do d.setdefault('s', []).append(3) %}\
                 {{ d['k'] | join(',') }} {{ l[0] | join(',') }} {{ d['s'] | join(',') }}";
    assert_eq!(ok(model, &[]), "1,2 x 3");
}

#[test]
fn sets_are_equal_whatever_the_order_of_their_items() {
    let model =
        "{{ set(['b', 'a', 'b']) == set(['a', 'b']) }} {{ set(['a']) != set(['a', 'c']) }} {{ 'a' in set(['a']) }}";
    assert_eq!(ok(model, &[]), "True True True");
}

#[test]
fn changing_a_literal_that_was_not_set_says_how_to_fix_it() {
    let d = render("{% do (ns or [1]).append(2) %}", &[]).expect_err("immutable");
    assert!(d.message.contains("cannot `append`"), "{}", d.message);
    assert!(d.message.contains("{% set x = [] %}"), "{}", d.message);
}

#[test]
fn dispatch_prefers_duckdb_then_default() {
    let macros = [(
        "macros/d.sql",
        "{% macro thing(x) %}{{ return(adapter.dispatch('thing', 'shop')(x)) }}{% endmacro %}\
         {% macro default__thing(x) %}default {{ x }}{% endmacro %}\
         {% macro duckdb__thing(x) %}duck {{ x }}{% endmacro %}\
         {% macro other() %}{{ adapter.dispatch('other')() }}{% endmacro %}\
         {% macro default__other() %}only default{% endmacro %}",
    )];
    assert_eq!(
        ok("{{ thing(3) }} / {{ other() }} / {{ adapter.quote('a\"b') }}", &macros),
        "duck 3 / only default / \"a\"\"b\""
    );
    let d = render("{{ adapter.dispatch('missing')() }}", &[]).expect_err("no candidate");
    assert!(d.message.contains("searched `duckdb__missing`, `default__missing`"), "{}", d.message);
}

#[test]
fn raise_compiler_error_names_the_model_line_and_the_macro() {
    let macros = [("macros/guard.sql", "{% macro guard(x) %}\n{% if not x %}\n{{ exceptions.raise_compiler_error('x is required') }}\n{% endif %}{% endmacro %}")];
    let t = templates(&[("models/m.sql", "select 1\n{{ guard(none) }}")], &macros);
    let d = t.resolve("models/m.sql", &Relation::new("shop", "main", "m")).expect_err("raised");
    assert_eq!((d.file.clone(), d.line), (Some(PathBuf::from("models/m.sql")), Some(2)));
    assert!(d.message.starts_with("compilation error: x is required"), "{}", d.message);
    assert!(d.message.contains("in macro `guard` (macros/guard.sql:3)"), "{}", d.message);
}

#[test]
fn a_macro_name_defined_twice_is_an_error() {
    let p = project(
        &[],
        &[("macros/a.sql", "{% macro x() %}{% endmacro %}"), ("macros/b.sql", "{% macro x() %}{% endmacro %}")],
    );
    let errs = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).err().expect("duplicate");
    assert_eq!(errs[0].file, Some(PathBuf::from("macros/b.sql")));
    assert!(errs[0].message.contains("`x`") && errs[0].message.contains("macros/a.sql"), "{}", errs[0].message);
}

#[test]
fn execute_is_false_while_resolving_and_run_query_is_none() {
    let model = "{% set r = run_query('select 1') %}{{ config(materialized='table' if r is none and not execute else 'view') }}";
    let t = templates(&[("models/m.sql", model)], &[]);
    let rec = t.resolve("models/m.sql", &Relation::new("shop", "main", "m")).expect("resolves");
    assert_eq!(rec.config.get("materialized"), Some(&serde_yaml::Value::String("table".into())));
}

#[test]
fn set_sql_header_records_its_block_while_parsing_and_does_nothing_at_run_time() {
    let model = "{% call set_sql_header(config) %}\ncreate temp macro m(x) as x + {{ var('n', 1) }}; -- {{ this }} {{ execute }}\n{% endcall %}\nselect m(1)";
    let t = templates(&[("models/m.sql", model)], &[]);
    let rec = t.resolve("models/m.sql", &Relation::new("shop", "main", "m")).expect("resolves");
    let header = rec.config.get("sql_header").and_then(serde_yaml::Value::as_str).unwrap_or_default();
    assert_eq!(header, "\ncreate temp macro m(x) as x + 1; -- \"shop\".\"main\".\"m\" False\n");
    // `config.set` records like `config()`; when the model runs both do nothing.
    let rec = templates(&[("models/m.sql", "{% do config.set('alias', 'x') %}")], &[])
        .resolve("models/m.sql", &Relation::new("shop", "main", "m"))
        .expect("resolves");
    assert_eq!(rec.config.get("alias"), Some(&serde_yaml::Value::String("x".into())));
    assert_eq!(ok(model, &[]).trim(), "select m(1)");
}

fn conn() -> query::QueryFn {
    let c = duckdb::Connection::open_in_memory().expect("in-memory duckdb");
    c.execute_batch("create table raw (id integer, name varchar, d date); insert into raw values (1, 'a', '2025-01-02'), (2, 'b', null);")
        .expect("seed");
    query::from_connection(c)
}

#[test]
fn run_query_returns_an_agate_like_table() {
    let model = "{% set t = run_query('select id, name from raw order by id') %}\
                 {{ t.columns[0].values() | join(',') }}|{{ t.column_names | join(',') }}|{{ t.rows[1][1] }}|{{ t[0]['name'] }}|\
                 {% for row in t %}{{ row[0] }}{% endfor %}|{{ t.columns['name'].values() | list }}|{{ t.rows | length }}";
    let t = templates(&[("models/m.sql", model)], &[]);
    let out = t.render_with_query("models/m.sql", &ctx(), conn()).expect("renders");
    assert_eq!(out, "1,2|id,name|b|a|12|['a', 'b']|2");
}

/// `select null as x` has a column of DuckDB's NULL type, which the duckdb
/// crate cannot read (it panicked, taking the worker down): its values are none.
#[test]
fn a_null_typed_column_reads_as_none() {
    let model = "{% set t = run_query('select null as z, 1 as a') %}{{ t.rows[0][0] is none }}|{{ t.rows[0]['a'] }}";
    let t = templates(&[("models/m.sql", model)], &[]);
    let out = t.render_with_query("models/m.sql", &ctx(), conn()).expect("renders");
    assert_eq!(out, "True|1");
}

#[test]
fn a_tables_columns_are_a_mapping_as_agates_are() {
    // dbt_utils.get_query_results_as_dict: `for name, column in table.columns.items()`.
    let model = "{% set t = run_query('select id, name from raw order by id') %}\
                 {% for k, c in t.columns.items() %}{{ k }}={{ c.values() | join(',') }};{% endfor %}\
                 {{ t.columns.keys() | join(',') }}|{{ t.columns.get('name').values() | list }}|{{ t.columns.get('nope', 'none') }}";
    let t = templates(&[("models/m.sql", model)], &[]);
    let out = t.render_with_query("models/m.sql", &ctx(), conn()).expect("renders");
    assert_eq!(out, "id=1,2;name=a,b;id,name|['a', 'b']|none");
}

#[test]
fn adapter_reads_the_catalog_only_when_executing() {
    let model = "{% for c in adapter.get_columns_in_relation(ref('raw')) %}{{ c.name }}:{{ c.data_type }} {% endfor %}\
                 |{{ adapter.get_relation(database='memory', schema='main', identifier='RAW') }}\
                 |{{ load_relation(ref('nope')) is none }}";
    let mut c = ctx();
    let mut rels = (*c.relations).clone();
    rels.by_name.insert("raw".into(), Relation::new("memory", "main", "raw"));
    rels.by_name.insert("nope".into(), Relation::new("memory", "main", "nope"));
    c.relations = Arc::new(rels);
    let t = templates(&[("models/m.sql", model)], &[]);
    let out = t.render_with_query("models/m.sql", &c, conn()).expect("renders");
    assert_eq!(out, "id:INTEGER name:character varying(256) d:DATE |\"memory\".\"main\".\"raw\"|True");
    let rec = t.resolve("models/m.sql", &Relation::new("shop", "main", "m"));
    assert!(rec.is_ok(), "{rec:?}");
}

#[test]
fn columns_are_read_again_at_each_call_and_a_missing_relation_has_none() {
    // The catalog read is prepared once per connection: each call must still
    // see the relation as it is then, and a relation (or its schema, or its
    // database) that is not there has no columns, as in dbt.
    let model = "{{ adapter.get_columns_in_relation(ref('raw')) | length }}\
                 {% do run_query('alter table raw add column extra integer') %}\
                 {{ adapter.get_columns_in_relation(ref('raw')) | map(attribute='name') | join(',') }}\
                 |{{ adapter.get_columns_in_relation(ref('nope')) | length }}\
                 |{{ adapter.get_columns_in_relation(ref('no_schema')) | length }}\
                 |{{ adapter.get_columns_in_relation(ref('no_db')) | length }}";
    let mut c = ctx();
    let mut rels = (*c.relations).clone();
    rels.by_name.insert("raw".into(), Relation::new("memory", "main", "raw"));
    rels.by_name.insert("nope".into(), Relation::new("memory", "main", "nope"));
    rels.by_name.insert("no_schema".into(), Relation::new("memory", "nowhere", "raw"));
    rels.by_name.insert("no_db".into(), Relation::new("no_such_db", "main", "raw"));
    c.relations = Arc::new(rels);
    let t = templates(&[("models/m.sql", model)], &[]);
    let out = t.render_with_query("models/m.sql", &c, conn()).expect("renders");
    assert_eq!(out, "3id,name,d,extra|0|0|0");
}

#[test]
fn run_query_without_a_connection_is_a_clear_error() {
    let d = render("{{ run_query('select 1') }}", &[]).expect_err("no connection");
    assert!(d.message.contains("`run_query` needs a database connection"), "{}", d.message);
}

#[test]
fn statement_and_load_result() {
    let model = "{% call statement('n', fetch_result=True) %}select count(*) as n from raw{% endcall %}\
                 {{ load_result('n')['data'][0][0] }} {{ load_result('n')['table'].columns[0].values()[0] }}";
    let t = templates(&[("models/m.sql", model)], &[]);
    assert_eq!(t.render_with_query("models/m.sql", &ctx(), conn()).expect("renders"), "2 2");
}

#[test]
fn query_values_keep_their_types() {
    let model = "{% set t = run_query(\"select 1.5::double as f, 10::decimal(10,0) as d, date '2025-03-04' as dt, true as b\") %}\
                 {% set r = t.rows[0] %}{{ r[0] + 1 }} {{ r[1] + 1 }} {{ r[2].strftime('%Y/%m/%d') }} {{ r[3] }}";
    let t = templates(&[("models/m.sql", model)], &[]);
    assert_eq!(t.render_with_query("models/m.sql", &ctx(), conn()).expect("renders"), "2.5 11 2025/03/04 True");
}

#[test]
fn python_string_methods() {
    let model =
        "{{ 'a,b'.split(',') | join('|') }} {{ 'x'.upper() }} {{ ' y '.strip() }} {{ 'abc'.startswith('ab') }} \
                 {{ 'a-b'.replace('-', '_') }} {{ '{}_{}'.format('p', 1) }} {{ 'a.b.c'.rsplit('.', 1) | join('|') }} \
                 {{ '7'.zfill(3) }} {{ 'Hi'.lower().endswith('i') }} {{ {'k': 'v'}.items() | list | length }}";
    assert_eq!(ok(model, &[]), "a|b X y True a_b p_1 a.b|c 007 True 1");
}

#[test]
fn dbt_functions_and_filters() {
    let model = "{{ tojson({'a': [1, 2]}) }} {{ fromjson('{\"k\": 3}')['k'] }} {{ fromyaml('x: [1, 2]')['x'][1] }} \
                 {{ zip([1, 2], ['a', 'b']) | list | length }} {{ set([1, 1, 2]) | length }} \
                 {{ '5' | as_number }} {{ 'true' | as_bool }} {{ 42 | as_text + 1 }} {{ [1] | is_list }} {{ 'a' | is_list }}";
    // Outside YAML values dbt's marker filters pass their value through.
    assert_eq!(ok(model, &[]), "{\"a\": [1, 2]} 3 2 2 2 5 true 43 True False");
}

#[test]
fn run_started_at_and_invocation_id() {
    let vals = [("invocation_id", Value::from("inv-7")), ("run_started_at", Value::from("2025-01-02T03:04:05.250Z"))];
    let p = project(
        &[(
            "models/m.sql",
            "{{ invocation_id }}|{{ run_started_at }}|{{ run_started_at.strftime('%Y%m%d %H:%M:%S.%f') }}|\
             {{ run_started_at.isoformat() }}|{{ run_started_at.astimezone(modules.pytz.timezone('Europe/Berlin')).hour }}",
        )],
        &[],
    );
    let t = Templates::build(&p, &target(), &Env::default(), Vars::default(), &vals).expect("builds");
    assert_eq!(t.invocation_id(), "inv-7");
    assert_eq!(
        t.render("models/m.sql", &ctx()).expect("renders"),
        "inv-7|2025-01-02 03:04:05.250000+00:00|20250102 03:04:05.250000|2025-01-02T03:04:05.250000+00:00|4"
    );
}

#[test]
fn modules_datetime_and_re() {
    let model = "{{ modules.datetime.datetime(2025, 2, 3, 4).strftime('%Y-%m-%dT%H') }} \
                 {{ modules.datetime.date(2025, 2, 3).isoformat() }} \
                 {{ modules.re.sub('[^a-z]+', '_', 'Ab Cd') }} {{ modules.re.match('a(b+)', 'abbc').group(1) }} \
                 {{ modules.re.search('z', 'abc') is none }} {{ modules.re.findall('[0-9]+', 'a1b22') | join(',') }} \
                 {{ modules.re.sub('(a)(b)', '\\\\2\\\\1', 'ab') }}";
    assert_eq!(ok(model, &[]), "2025-02-03T04 2025-02-03 _b_d bb True 1,22 ba");
}

#[test]
fn a_list_made_by_the_list_filter_can_be_changed() {
    // Python: 'b' then ['a'] (codegen pops the one node a filter found).
    let model = "{{ (['x', 'b'] | select('ne', 'x') | list).pop() }} \
                 {% set l = ['a', 'b'] | list %}{% do l.pop() %}{{ l }}";
    assert_eq!(ok(model, &[]), "b ['a']");
}

#[test]
fn patterns_are_pythons_with_look_around_and_back_references() {
    // Python: ['a1'], 'x_y', 'aa', ['a', 'b,c'] (codegen's import-CTE macro looks ahead).
    let out = ok(
        "{{ modules.re.findall('[a-z](?=1)\\d', 'a1b2') }} {{ modules.re.sub('(?<=x) (?=y)', '_', 'x y') }} \
         {{ modules.re.search('(a)\\\\1', 'baab').group(0) }} {{ modules.re.split('(?<=a),', 'a,b,c') | length }}",
        &[],
    );
    assert_eq!(out, "['a1'] x_y aa 2");
    // Python: ['a', ',', 'b', ',', 'c'] ['a', '-', None, 'b', None, ',', 'c'] ['a', 'b,c'] ['a', ',', 'b,c'] and
    // a\.b\ c\-d_e/f\#g\~h\&i
    let out = ok(
        "{{ modules.re.split('(,)', 'a,b,c') }} {{ modules.re.split('(-)|(,)', 'a-b,c') }} \
         {{ modules.re.split(',', 'a,b,c', maxsplit=1) }} {{ modules.re.split('(,)', 'a,b,c', 1) }} \
         {{ modules.re.escape('a.b c-d_e/f#g~h&i') }}",
        &[],
    );
    assert_eq!(
        out,
        "['a', ',', 'b', ',', 'c'] ['a', '-', None, 'b', None, ',', 'c'] ['a', 'b,c'] ['a', ',', 'b,c'] a\\.b\\ c\\-d_e/f\\#g\\~h\\&i"
    );
}

#[test]
fn a_kept_pattern_is_kept_with_its_flags() {
    // Compiled patterns are kept between calls: the same text with and
    // without `re.I` must stay two patterns, whichever is compiled first.
    let model =
        "{{ modules.re.search('ab', 'xAB') is none }} {{ modules.re.search('ab', 'xAB', modules.re.I) is none }} \
                 {{ modules.re.search('ab', 'xAB') is none }} {{ modules.re.search('ab', 'xab').group(0) }}";
    assert_eq!(ok(model, &[]), "True False True ab");
}

#[test]
fn re_flags_and_counts_sit_where_python_takes_them() {
    // Python: sub(pattern, repl, string, count, flags), split(pattern, string,
    // maxsplit, flags), compile(pattern, flags), or as keywords.
    let model = "{{ modules.re.sub('ab', '_', 'xABab', 0, modules.re.I) }} \
                 {{ modules.re.sub('ab', '_', 'xABab', flags=modules.re.I) }} {{ modules.re.sub('ab', '_', 'abab', count=1) }} \
                 {{ modules.re.split('a', 'bAcad', 0, modules.re.I) | join('|') }} {{ modules.re.split('a', 'bacad', maxsplit=1) | join('|') }} \
                 {{ modules.re.compile('ab', modules.re.I).search('xAB').group(0) }} {{ modules.re.findall('a', 'aAa', flags=modules.re.I) | length }}";
    assert_eq!(ok(model, &[]), "x__ x__ _ab b|c|d b|cad AB 3");
}

#[test]
fn dbt_version_is_the_version_runner_answers_as() {
    assert_eq!(ok("{{ dbt_version }}", &[]), crate::project::version::DBT_VERSION);
    assert_eq!(ok("{{ dbt_version.split('.')[0] }}", &[]), "1");
}

#[test]
fn log_prints_only_when_executing() {
    // `log` returns '' in both passes; printing is checked end to end in tests/jinja.rs.
    let t = templates(&[("models/m.sql", "a{{ log('hello', info=True) }}b")], &[]);
    assert_eq!(t.render("models/m.sql", &ctx()).expect("renders"), "ab");
    assert!(t.resolve("models/m.sql", &Relation::new("shop", "main", "m")).is_ok());
    assert_eq!(t.render_with_query("models/m.sql", &ctx(), conn()).expect("renders"), "ab");
}

#[test]
fn custom_generic_test_macro_runs_through_eval_arg() {
    let macros = [(
        "tests/generic/positive.sql",
        "{% test positive(model, column_name, allow_zero=false) %}select * from {{ model }} where {{ column_name }} < {{ 0 if allow_zero else 1 }}{% endtest %}",
    )];
    let t = templates(&[], &macros);
    let call = "test_positive(model=ref(\"raw\"), column_name=\"amount\", allow_zero=true)";
    let (_, rec) = t.eval_arg(call, &Relation::new("shop", "main", "raw"), None, None).expect("resolves");
    assert_eq!(rec.refs, vec!["raw"]);
    let (sql, _) =
        t.eval_arg(call, &Relation::new("shop", "main", "raw"), Some(&ctx().relations), None).expect("renders");
    assert_eq!(sql, "select * from \"shop\".\"main\".\"raw\" where amount < 0");
}

#[test]
fn doc_blocks_render_into_descriptions() {
    let mut p = project(&[], &[]);
    p.docs.insert("orders".into(), DocBlock { text: "The orders.".into(), file: "models/d.md".into(), line: 1 });
    let t = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).expect("builds");
    assert_eq!(t.render_description("{{ doc('orders') }} More.").expect("renders"), "The orders. More.");
    assert_eq!(t.render_description("plain {text").expect("plain"), "plain {text");
    let e = t.render_description("{{ doc('nope') }}").expect_err("unknown doc");
    assert!(e.contains("`nope`"), "{e}");
}

#[test]
fn an_unknown_doc_in_yaml_stops_the_build_naming_the_file() {
    let mut p = project(&[("models/m.sql", "select 1")], &[]);
    let props = crate::project::NodeProps {
        description: Some("{{ doc('missing') }}".into()),
        file: PathBuf::from("models/schema.yml"),
        ..Default::default()
    };
    p.model_props.insert("m".into(), props);
    let errs = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).err().expect("unknown doc");
    assert_eq!(errs[0].file, Some(PathBuf::from("models/schema.yml")));
    assert!(errs[0].message.contains("`missing`"), "{}", errs[0].message);
}

#[test]
fn a_list_from_an_argument_can_be_appended_to_after_a_set() {
    let t = templates(
        &[("models/m.sql", "{{ grow(['a']) }}|{% set r = this %}{{ r is mapping }}")],
        &[(
            "macros/g.sql",
            "{% macro grow(cols) %}{% set c = cols %}{% do c.append('b') %}{{ c | join(',') }}{% endmacro %}",
        )],
    );
    assert_eq!(t.render("models/m.sql", &ctx()).expect("renders"), "a,b|True");
}

#[test]
fn implicit_kwargs_and_varargs_catch_undeclared_arguments() {
    let t = templates(
        &[("models/m.sql", "{{ k(1, at_least=0.5) }}|{{ v(1, 2, 3) }}")],
        &[(
            "macros/k.sql",
            "{% macro k(model) %}{{ model }} {{ kwargs.get('at_least') }}{% endmacro %}\
             {% macro v(a) %}{{ a }} {{ varargs | join('+') }}{% endmacro %}",
        )],
    );
    assert_eq!(t.render("models/m.sql", &ctx()).expect("renders"), "1 0.5|1 2+3");
}
