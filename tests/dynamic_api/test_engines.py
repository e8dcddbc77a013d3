"""Both template engines compile every output expression into a bound value."""
from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.dynamic_api.binding import BUILTIN_VARIABLES, TemplateError
from chalicelib.dynamic_api.dialects import get_dialect
from chalicelib.dynamic_api.engines import engines
from chalicelib.errors import QueryError, ValidationError

PG, MY = get_dialect("postgresql"), get_dialect("mysql")

FILTERED = {
    "jinja2": ("SELECT id FROM people WHERE 1=1"
               "{% if name %} AND name = {{ name }}{% endif %}"
               "{% if ids %} AND id IN {{ ids }}{% endif %}"
               "{% if q %} AND name LIKE {{ '%' ~ q ~ '%' }}{% endif %}"),
    "liquid": ("SELECT id FROM people WHERE 1=1"
               "{% if name %} AND name = {{ name }}{% endif %}"
               "{% if ids %} AND id IN {{ ids }}{% endif %}"
               "{% if q %} AND name LIKE {{ q | prepend: '%' | append: '%' }}{% endif %}"),
}
DECLARED = ["name", "ids", "q"]


def render(engine, source, values, dialect=PG, declared=None):
    compiled = engines.get_engine(engine).compile(source, declared if declared is not None else list(values))
    return compiled.render(values, dialect).statement()


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_output_expression_becomes_a_postgres_positional_parameter(engine):
    stmt = render(engine, FILTERED[engine], {"name": "Alice", "ids": None, "q": None})
    assert stmt.sql == "SELECT id FROM people WHERE 1=1 AND name = $1"
    assert stmt.params == ("Alice",)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_output_expression_becomes_a_pymysql_format_parameter(engine):
    stmt = render(engine, FILTERED[engine], {"name": "Alice", "ids": None, "q": None}, MY)
    assert stmt.sql == "SELECT id FROM people WHERE 1=1 AND name = %s"
    assert stmt.params == ("Alice",)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_list_value_expands_to_a_parenthesised_placeholder_list(engine):
    stmt = render(engine, FILTERED[engine], {"name": None, "ids": [3, 1, 2], "q": None})
    assert stmt.sql == "SELECT id FROM people WHERE 1=1 AND id IN ($1, $2, $3)"
    assert stmt.params == (3, 1, 2)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_empty_list_binds_a_single_null_so_in_matches_nothing(engine):
    src = "SELECT id FROM people WHERE id IN {{ ids }}"
    stmt = render(engine, src, {"ids": []})
    assert stmt.sql == "SELECT id FROM people WHERE id IN ($1)"
    assert stmt.params == (None,)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_like_pattern_is_built_in_the_expression_and_bound_whole(engine):
    stmt = render(engine, FILTERED[engine], {"name": None, "ids": None, "q": "li"})
    assert stmt.sql.endswith("AND name LIKE $1")
    assert stmt.params == ("%li%",)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_if_blocks_shape_the_sql_and_placeholders_number_in_order(engine):
    stmt = render(engine, FILTERED[engine], {"name": "A", "ids": [1, 2], "q": "x"})
    assert stmt.sql == ("SELECT id FROM people WHERE 1=1 AND name = $1 AND id IN ($2, $3)"
                        " AND name LIKE $4")
    assert stmt.params == ("A", 1, 2, "%x%")


@pytest.mark.parametrize("engine,src", [
    ("jinja2", "SELECT id FROM people WHERE 1=0{% for c in cities %} OR city = {{ c }}{% endfor %}"),
    ("liquid", "SELECT id FROM people WHERE 1=0{% for c in cities %} OR city = {{ c }}{% endfor %}"),
])
def test_loops_repeat_sql_text_with_a_new_placeholder_each_time(engine, src):
    stmt = render(engine, src, {"cities": ["Paris", "Lyon"]})
    assert stmt.sql == "SELECT id FROM people WHERE 1=0 OR city = $1 OR city = $2"
    assert stmt.params == ("Paris", "Lyon")


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_literal_percent_signs_survive_pymysql_interpolation(engine):
    stmt = render(engine, "SELECT id FROM people WHERE name LIKE '%100%%' AND id = {{ id }}", {"id": 6}, MY)
    assert stmt.sql == "SELECT id FROM people WHERE name LIKE '%%100%%%%' AND id = %s"
    # what PyMySQL will send: the template's own text, value escaped by the driver
    assert stmt.sql % ("6",) == "SELECT id FROM people WHERE name LIKE '%100%%' AND id = 6"


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_casts_and_colons_in_template_text_are_left_alone_on_postgres(engine):
    stmt = render(engine, "SELECT '10:30'::time AS t, {{ d }}::date AS d", {"d": dt.date(2026, 1, 2)})
    assert stmt.sql == "SELECT '10:30'::time AS t, $1::date AS d"
    assert stmt.params == (dt.date(2026, 1, 2),)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_constant_output_is_bound_too(engine):
    stmt = render(engine, "SELECT {{ 'abc' }} AS x", {})
    assert stmt.sql == "SELECT $1 AS x"
    assert stmt.params == ("abc",)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_assigned_variables_are_bound_when_output(engine):
    src = ("{% set n = name | upper %}SELECT {{ n }}" if engine == "jinja2"
           else "{% assign n = name | upcase %}SELECT {{ n }}")
    stmt = render(engine, src, {"name": "x' OR '1'='1"})
    assert stmt.sql == "SELECT $1"
    assert stmt.params == ("X' OR '1'='1",)


def test_liquid_echo_tag_is_bound_like_output():
    src = "SELECT 1 WHERE 1=1 {% liquid\nif a\necho a\nendif %}"
    stmt = render("liquid", src, {"a": "v"})
    assert stmt.sql == "SELECT 1 WHERE 1=1 $1"
    assert stmt.params == ("v",)


PAYLOAD = "x'); DROP TABLE canary; --"


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_no_available_filter_splices_the_value_into_sql_text(engine):
    eng = engines.get_engine(engine)
    names = sorted(eng.env.filters)
    rendered = 0
    for name in names:
        src = f"SELECT {{{{ v | {name} }}}} AS x"
        try:
            compiled = eng.compile(src, ["v"])
            text, binds = compiled.render_text({"v": PAYLOAD})
        except (TemplateError, QueryError):
            continue            # filters that need arguments or other types: not rendered at all
        assert "DROP" not in text, name
        assert text.startswith("SELECT ") and text.endswith(" AS x"), name
        assert binds, name
        rendered += 1
    assert rendered >= len(names) // 2      # the rest need arguments; they bind the same way


@pytest.mark.parametrize("engine,src", [
    ("jinja2", "SELECT {{ ''.__class__.__mro__ }}"),
    ("jinja2", "SELECT {{ x.__class__ }}"),
    ("jinja2", "SELECT {{ x['__class__'] }}"),
    ("jinja2", "SELECT {{ x|attr('__class__') }}"),
    ("jinja2", "SELECT {{ lipsum.__globals__ }}"),
    ("jinja2", "SELECT {{ cycler.__init__.__globals__.os }}"),
    ("jinja2", "SELECT {{ x.format('{0.__class__}') }}"),
    ("jinja2", "SELECT {{ range(10) }}"),
    ("jinja2", "SELECT {{ self }}"),
    ("jinja2", "{% macro m() %}x{% endmacro %}SELECT {{ m() }}"),
    ("jinja2", "{% filter replace('A', x) %}SELECT A{% endfilter %}"),
    ("jinja2", "{% set s %}SELECT {{ x }}{% endset %}{{ s }}"),
    ("jinja2", "{% include 'other' %}"),
    ("jinja2", "{% extends 'base' %}"),
    ("jinja2", "{% import 'm' as m %}SELECT 1"),
    ("liquid", "SELECT {{ x.__class__ }}"),
    ("liquid", "SELECT {{ x['__class__'] }}"),
    ("liquid", "SELECT {{ x.__class__.__mro__ }}"),
    ("liquid", "SELECT {{ x | safe }}"),
    ("liquid", "SELECT {% cycle x, 'b' %}"),
    ("liquid", "SELECT {% increment x %}"),
    ("liquid", "{% capture s %}{{ x }}{% endcapture %}SELECT {{ s }}"),
    ("liquid", "{% include 'other' %}"),
    ("liquid", "{% render 'other' %}"),
    ("liquid", "{% tablerow i in x %}{{ i }}{% endtablerow %}"),
    ("liquid", "{% ifchanged %}{{ x }}{% endifchanged %}"),
])
def test_sandbox_escapes_and_raw_writing_tags_are_refused_at_compile_time(engine, src):
    with pytest.raises(TemplateError) as err:
        engines.get_engine(engine).compile(src, ["x"])
    assert err.value.status == 400
    assert err.value.details["errors"]


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_undeclared_variable_is_refused_with_its_name(engine):
    with pytest.raises(TemplateError) as err:
        engines.get_engine(engine).compile("SELECT {{ secret }} FROM t WHERE a = {{ a }}", ["a"])
    assert "'secret'" in err.value.message


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
@pytest.mark.parametrize("name", sorted(BUILTIN_VARIABLES))
def test_builtin_paging_variables_need_no_declaration(engine, name):
    engines.get_engine(engine).compile(f"SELECT 1 {{% if {name} %}}WHERE 1=1{{% endif %}}", [])


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_loop_variables_are_local_not_undeclared(engine):
    loopvar = "loop.index" if engine == "jinja2" else "forloop.index"
    engines.get_engine(engine).compile(
        f"SELECT 1 WHERE 1=0{{% for c in cs %}} OR x = {{{{ c }}}} + {{{{ {loopvar} }}}}{{% endfor %}}", ["cs"])


@pytest.mark.parametrize("engine,src", [
    ("jinja2", "SELECT {{ x "),
    ("jinja2", "{% if x %}SELECT 1"),
    ("liquid", "SELECT {{ x "),
    ("liquid", "{% if x %}SELECT 1"),
    ("liquid", "SELECT {{ x | nosuchfilter }}"),
    ("jinja2", "SELECT {{ x | nosuchfilter }}"),
])
def test_template_that_does_not_compile_is_a_validation_error(engine, src):
    with pytest.raises(ValidationError):
        engines.get_engine(engine).compile(src, ["x"])


def test_unknown_engine_lists_the_registered_ones():
    with pytest.raises(ValidationError) as err:
        engines.get_engine("razor")
    assert err.value.details["supported"] == ["jinja2", "liquid"]


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_object_values_cannot_be_bound(engine):
    compiled = engines.get_engine(engine).compile("SELECT {{ x }}", ["x"])
    with pytest.raises(QueryError):
        compiled.render({"x": {"a": 1}}, PG)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_rendered_sql_with_two_statements_is_refused_at_render_time(engine):
    # a loop body ending in ';' is caught at save time by check_template; the
    # render-time scan refuses it too, whatever slipped through
    compiled = engines.get_engine(engine).compile("{% for i in xs %}SELECT {{ i }};{% endfor %}", ["xs"])
    compiled.render({"xs": [1]}, PG)
    with pytest.raises(QueryError):
        compiled.render({"xs": [1, 2]}, PG)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_trailing_semicolon_is_cut_from_the_statement(engine):
    stmt = render(engine, "SELECT {{ a }} ;  -- done\n", {"a": 1})
    assert stmt.sql == "SELECT $1"


def test_rendering_is_independent_between_concurrent_threads():
    import threading
    compiled = engines.get_engine("jinja2").compile(
        "SELECT 1 WHERE 1=0{% for c in cs %} OR x = {{ c }}{% endfor %}", ["cs"])
    errors = []

    def work(n):
        for _ in range(200):
            r = compiled.render({"cs": list(range(n))}, PG)
            if r.values != list(range(n)) or r.marked.count("\x00") != n:
                errors.append(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("engine,expr", [
    ("jinja2", "'a' | replace('a', v)"),
    ("jinja2", "[v, v] | join(', ')"),
    ("jinja2", "v | default(v) | trim"),
    ("liquid", "'a' | replace: 'a', v"),
    ("liquid", "v | append: v | prepend: v"),
    ("liquid", "v | split: ',' | join: ') OR ('"),
    ("liquid", "v | default: v | slice: 0, 20"),
])
def test_filters_with_value_arguments_still_produce_one_bound_value(engine, expr):
    stmt = render(engine, f"SELECT {{{{ {expr} }}}} AS x", {"v": PAYLOAD})
    assert stmt.sql == "SELECT $1 AS x"
    assert len(stmt.params) == 1


PLAIN = ["SELECT * FROM t WHERE id = {{ id }}",
         "SELECT * FROM t WHERE id = {{id}} AND b = {{ b }}{{ b }}\n",
         "SELECT * FROM t WHERE id = {{- id -}} \n AND x IN {{ xs }}\r\n",
         "SELECT 1 {# note #} WHERE a = {{ id }}\n",
         "SELECT {{ id }}, {{ skipCount }} FROM t;",
         "SELECT 'a {{ id }}'"]
NOT_PLAIN = {"jinja2": ["SELECT {{ id | int }}", "SELECT {{ b.x }}", "SELECT {{ xs[0] }}", "SELECT {{ 'lit' }}",
                        "SELECT 1{% if id %} WHERE a = {{ id }}{% endif %}", "SELECT {{ id ~ b }}"],
             "liquid": ["SELECT {{ id | plus: 1 }}", "SELECT {{ b.x }}", "SELECT {{ xs[0] }}", "SELECT {{ 'lit' }}",
                        "SELECT 1{% if id %} WHERE a = {{ id }}{% endif %}", "SELECT {% echo id | upcase %}"]}
PLAIN_VALUES = [{"id": 5, "b": "x", "xs": [1, 2], "skipCount": None},
                {"id": None, "b": dt.date(2020, 1, 1), "xs": [], "skipCount": 3},
                {"id": {"no": "dict"}, "b": "x" * 10, "xs": ("a",), "skipCount": None},
                {"b": "missing id", "xs": [[1]]}]


def _outcome(compiled, values):
    try:
        r = compiled.render(values, PG)
    except Exception as exc:  # the same error, class and message
        return type(exc), str(exc)
    return r.marked, r.values, r.first_keyword


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
@pytest.mark.parametrize("source", PLAIN)
def test_a_plain_template_renders_without_its_engine_to_the_engines_answer(engine, source):
    from chalicelib.dynamic_api.binding import CompiledTemplate
    compiled = engines.get_engine(engine).compile(source, ["id", "b", "xs"])
    assert compiled.plain is not None
    through_engine = CompiledTemplate(engine, source, compiled.engine_render, compiled.skeleton)
    for values in PLAIN_VALUES:
        assert _outcome(compiled, values) == _outcome(through_engine, values)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_filters_attributes_literals_and_tags_are_rendered_by_the_engine(engine):
    for source in NOT_PLAIN[engine]:
        assert engines.get_engine(engine).compile(source, ["id", "b", "xs"]).plain is None, source
