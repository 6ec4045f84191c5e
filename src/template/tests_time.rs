//! Python's `datetime` arithmetic and `itertools` in templates. Expected
//! strings were checked against Jinja2 rendering the same templates with
//! dbt's `modules` (Python `datetime`, `pytz`, `itertools`).

use super::tests::{project, target};
use super::*;

const STARTED: &str = "2025-01-02T03:04:05Z";

fn build(models: &[(&str, &str)], macros: &[(&str, &str)]) -> Templates {
    let ds = BTreeMap::from([("ds".to_string(), serde_yaml::Value::from("2025-01-10"))]);
    let vars = Vars { layers: vec![ds] };
    let run = [("run_started_at", Value::from(STARTED))];
    Templates::build(&project(models, macros), &target(), &Env::default(), vars, &run).expect("builds")
}

fn ctx() -> RenderCtx {
    RenderCtx {
        this: Relation::new("shop", "main", "m"),
        relations: Arc::new(Relations::default()),
        is_incremental: false,
        config: Default::default(),
        package: None,
        node: None,
    }
}

fn render(model: &str, macros: &[(&str, &str)]) -> Result<String, Diagnostic> {
    build(&[("models/m.sql", model)], macros).render("models/m.sql", &ctx())
}

fn ok(model: &str) -> String {
    render(model, &[]).unwrap_or_else(|d| panic!("render failed: {d}"))
}

fn failure(model: &str) -> Diagnostic {
    match render(model, &[]) {
        Ok(out) => panic!("expected an error, rendered {out:?}"),
        Err(d) => d,
    }
}

#[test]
fn timedelta_constructs_and_renders_like_python() {
    let model = "{{ modules.datetime.timedelta(days=3) }}|{{ modules.datetime.timedelta(hours=-1) }}|\
        {{ modules.datetime.timedelta(hours=6) }}|{{ modules.datetime.timedelta(1, 2, 3) }}|\
        {{ modules.datetime.timedelta(days=1.5, milliseconds=1) }}|{{ modules.datetime.timedelta(weeks=1, minutes=-0.5) }}|\
        {% set d = modules.datetime.timedelta(hours=30) %}{{ d.days }} {{ d.seconds }} {{ d.microseconds }} {{ d.total_seconds() }}|\
        {{ modules.datetime.timedelta(microseconds=-1).days }} {{ modules.datetime.timedelta(microseconds=-1).seconds }}";
    assert_eq!(
        ok(model),
        "3 days, 0:00:00|-1 day, 23:00:00|6:00:00|1 day, 0:00:02.000003|1 day, 12:00:00.001000|6 days, 23:59:30|\
         1 21600 0 108000.0|-1 86399"
    );
}

#[test]
fn dbt_style_date_arithmetic() {
    let model = "{% set start = (run_started_at - modules.datetime.timedelta(days=3)).strftime('%Y-%m-%d') %}{{ start }}|\
        {% set d = modules.datetime.datetime.strptime(var('ds'), '%Y-%m-%d') + modules.datetime.timedelta(hours=6) %}{{ d }}|\
        {% set other_dt = modules.datetime.datetime(2024, 12, 25, tzinfo=modules.pytz.utc) %}\
        {% if (run_started_at - other_dt).days > 2 %}old{% else %}new{% endif %}|{{ run_started_at - other_dt }}";
    assert_eq!(ok(model), "2024-12-30|2025-01-10 06:00:00|old|8 days, 3:04:05");
}

#[test]
fn dates_timedeltas_and_numbers_combine_as_in_python() {
    let model = "{% set td = modules.datetime.timedelta %}{% set day = modules.datetime.date(2024, 1, 2) %}\
        {{ day - td(hours=1) }} {{ day + td(hours=-1) }} {{ day - td(hours=25) }} {{ td(hours=25) + day }}|\
        {{ day - modules.datetime.date(2023, 12, 25) }}|{{ td(hours=1) + td(minutes=30) }} {{ td(hours=1) - td(hours=3) }} \
        {{ td(hours=1) * 3 }} {{ 2 * td(hours=1) }} {{ td(hours=1) * 1.5 }} {{ td(hours=1) / 2 }} {{ td(days=1) / td(hours=1) }} \
        {{ td(days=1) // td(hours=5) }} {{ td(days=1) // 7 }} {{ -td(hours=1) }} {{ - td(hours=1) * 2 }}";
    assert_eq!(
        ok(model),
        "2024-01-02 2024-01-01 2024-01-01 2024-01-03|8 days, 0:00:00|1:30:00 -1 day, 22:00:00 3:00:00 2:00:00 1:30:00 \
         0:30:00 24.0 4 3:25:42.857142 -1 day, 23:00:00 -1 day, 22:00:00"
    );
}

#[test]
fn time_zones_survive_arithmetic() {
    let model = "{% set berlin = run_started_at.astimezone(modules.pytz.timezone('Europe/Berlin')) %}\
        {{ berlin + modules.datetime.timedelta(hours=1) }}|{{ berlin - run_started_at }}|\
        {{ (run_started_at + modules.datetime.timedelta(days=1, minutes=-5)).isoformat() }}|\
        {{ run_started_at.date() - modules.datetime.timedelta(days=1) }}";
    assert_eq!(ok(model), "2025-01-02 05:04:05+01:00|0:00:00|2025-01-03T02:59:05+00:00|2025-01-01");
}

#[test]
fn today_minus_a_day() {
    let want = chrono::Local::now().date_naive() - chrono::TimeDelta::days(1);
    let out = ok("{{ (modules.datetime.date.today() - modules.datetime.timedelta(days=1)) }}");
    // A run across midnight may see the next day; both answers are right.
    let next = want + chrono::TimeDelta::days(1);
    assert!(out == want.to_string() || out == next.to_string(), "{out} vs {want}");
}

#[test]
fn comparisons_and_truthiness() {
    let model =
        "{% set utc = modules.pytz.utc %}{{ run_started_at > modules.datetime.datetime(2025, 1, 1, tzinfo=utc) }} \
        {{ run_started_at < modules.datetime.datetime(2025, 1, 1, tzinfo=utc) }} \
        {{ modules.datetime.timedelta(days=1) == modules.datetime.timedelta(hours=24) }} \
        {{ modules.datetime.timedelta(days=1) > modules.datetime.timedelta(hours=23) }} \
        {{ modules.datetime.date(2024, 1, 1) < modules.datetime.date(2024, 1, 2) }} \
        {{ run_started_at == run_started_at.astimezone(modules.pytz.timezone('Asia/Tokyo')) }} \
        {{ [modules.datetime.date(2024, 3, 1), modules.datetime.date(2023, 5, 1)] | sort | join(',') }} \
        {{ modules.datetime.timedelta(0) is true }}{% if modules.datetime.timedelta(0) %}T{% else %}F{% endif %}";
    assert_eq!(ok(model), "True False True True True True 2023-05-01,2024-03-01 FalseF");
}

#[test]
fn rewritten_operators_keep_minijinja_meaning_for_other_values() {
    let model = "{% set y = run_started_at.year %}{{ (y - 2000) * 2 + 0.5 }} {{ y // 4 - y / 5 }} \
        {{ 'a' + 'b' if run_started_at else '' }} {{ ([1] + [2]) | join(',') if run_started_at }} {{ -y }} {{ - -y }} \
        {{ y - -1 }} {{ 'x' * 3 if run_started_at }} {{ (('a', 1) + ('b',)) | join if run_started_at }} \
        {{ [y - 1, y + 1] | join('/') }} {{ y ~ '-' ~ (y - 1) }}";
    assert_eq!(ok(model), "50.5 101.0 ab 1,2 -2025 2025 2026 xxx a1b 2024/2026 2025-2024");
    // A failing operation reads the same whether or not it was rewritten.
    let rewritten = failure("{{ run_started_at.year + 'x' }}");
    let plain = failure("{% set y = 2025 %}{{ y + 'x' }}");
    assert_eq!(rewritten.message, plain.message);
}

#[test]
fn names_set_from_dates_are_rewritten_too() {
    let model = "{% set start = run_started_at %}{% set end_ = start %}{% set later = end_ %}{{ later - start }}|\
        {% for x in [run_started_at] %}{{ x - start }}{% endfor %}";
    assert_eq!(ok(model), "0:00:00|0:00:00");
}

#[test]
fn macros_do_date_arithmetic() {
    let macros = [(
        "macros/d.sql",
        "{% macro days_ago(n) %}{{ return(run_started_at - modules.datetime.timedelta(days=n)) }}{% endmacro %}",
    )];
    let out = render("{{ days_ago(2).date() }} {{ days_ago(-1).strftime('%d') }}", &macros).expect("renders");
    assert_eq!(out, "2024-12-31 03");
}

#[test]
fn python_errors_name_the_line() {
    let d = failure("select 1\n{% set t = modules.datetime.datetime(2025, 1, 1) %}\n{{ run_started_at - t }}");
    assert!(d.message.contains("can't subtract offset-naive and offset-aware datetimes"), "{}", d.message);
    assert_eq!(d.line, Some(3));
    let d = failure(
        "{{ run_started_at\n - modules.datetime.timedelta(days=1) }}\n{{ modules.datetime.date(2024, 1, 1) - 1 }}",
    );
    assert!(d.message.contains("unsupported operand type(s) for -"), "{}", d.message);
    assert_eq!(d.line, Some(3));
    let d = failure("{{ modules.datetime.timedelta(days=1000000000) }}");
    assert!(d.message.contains("must have magnitude <= 999999999"), "{}", d.message);
}

#[test]
fn sql_text_strings_and_raw_blocks_are_not_rewritten() {
    let model = "select 3 - 1 as n, '{{ \"a - b\" }}' as s {% raw %}{{ run_started_at - 1 }}{% endraw %} \
        {{ (run_started_at - modules.datetime.timedelta(days=1)).strftime('%Y-%m-%d') }}";
    assert_eq!(ok(model), "select 3 - 1 as n, 'a - b' as s {{ run_started_at - 1 }} 2025-01-01");
}

#[test]
fn replace_and_ordinal() {
    let model = "{{ run_started_at.replace(hour=0, minute=0, second=0) }}|{{ run_started_at.replace(day=1).date() }}|\
        {{ modules.datetime.date(2024, 2, 10).replace(day=29) }}|{{ modules.datetime.date(2024, 1, 1).toordinal() }}";
    assert_eq!(ok(model), "2025-01-02 00:00:00+00:00|2025-01-01|2024-02-29|738886");
}

#[test]
fn itertools_functions() {
    let model = "{% set it = modules.itertools %}{% for a, b in it.product([1, 2], ['x', 'y']) %}{{ a }}{{ b }} {% endfor %}|\
        {{ it.product('ab', repeat=2) | map('join') | join(',') }}|{{ it.chain([1, 2], [3], 'ab') | join(',') }}|\
        {{ it.chain.from_iterable([[1], [2, 3]]) | join(',') }}|{{ it.combinations('abcd', 2) | map('join') | join(',') }}|\
        {{ it.permutations('abc') | map('join') | join(',') }}|{{ it.permutations('abc', 2) | list | length }}|\
        {{ it.combinations_with_replacement('ab', 2) | map('join') | join(',') }}|\
        {{ it.islice('abcdefg', 2) | join }} {{ it.islice('abcdefg', 2, 5) | join }} {{ it.islice('abcdefg', 0, none, 3) | join }}|\
        {% for k, g in it.groupby('aabccc') %}{{ k }}{{ g | list | length }} {% endfor %}|\
        {{ it.zip_longest('ab', 'xyz', fillvalue='-') | map('join') | join(',') }}|{{ it.repeat('z', 3) | join }}|\
        {{ it.combinations('ab', 3) | list | length }} {{ it.combinations('ab', 0) | list | length }}";
    assert_eq!(
        ok(model),
        "1x 1y 2x 2y |aa,ab,ba,bb|1,2,3,a,b|1,2,3|ab,ac,ad,bc,bd,cd|abc,acb,bac,bca,cab,cba|6|aa,ab,bb|ab cde adg|\
         a2 b1 c3 |ax,by,-z|zzz|0 1"
    );
    let d = failure("{{ modules.itertools.repeat('z') }}");
    assert!(d.message.contains("never ends"), "{}", d.message);
}

#[test]
fn a_pytz_zone_handed_to_the_constructor_keeps_pytzs_local_mean_time() {
    // Python with pytz (dbt_date's integration models render this): a zone
    // given as `tzinfo=` is not localized, so its first offset applies.
    let model = "{% set la = modules.pytz.timezone('America/Los_Angeles') %}\
                 {{ modules.datetime.datetime(1997, 9, 29, 6, 14, 0, tzinfo=la) }}|\
                 {% set d = modules.datetime.datetime(year=2020, month=1, day=2, hour=3, tzinfo=modules.pytz.timezone('Europe/Berlin')) %}\
                 {{ d.isoformat() }}|{{ d.strftime('%Z %z') }}|{{ d.astimezone(modules.pytz.utc) }}|\
                 {{ modules.datetime.datetime(2020, 1, 2).replace(tzinfo=modules.pytz.timezone('Asia/Kolkata')) }}|\
                 {{ modules.datetime.date(year=2020, month=3, day=4) }}|{{ la.localize(modules.datetime.datetime(1997, 9, 29)) }}";
    assert_eq!(
        ok(model),
        "1997-09-29 06:14:00-07:53|2020-01-02T03:00:00+00:53|LMT +0053|2020-01-02 02:07:00+00:00|\
         2020-01-02 00:00:00+05:53|2020-03-04|1997-09-29 00:00:00-07:00"
    );
    let e = failure("{{ modules.datetime.datetime(2020, 1, 2, 3, 4, 5, 6, none, 9) }}");
    assert!(e.to_string().contains("datetime() takes at most 8 arguments (9 given)"), "{e}");
}
