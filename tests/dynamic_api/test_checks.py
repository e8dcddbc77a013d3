"""Save-time checks of a template, and the SQL text scanner behind them."""
from __future__ import annotations

import pytest

from chalicelib.dynamic_api import sqltext
from chalicelib.dynamic_api.binding import TemplateError
from chalicelib.dynamic_api.checks import check_template
from chalicelib.dynamic_api.sqltext import MARK

M = MARK


@pytest.mark.parametrize("dialect,text,first,problems", [
    ("postgresql", f"SELECT * FROM t WHERE a = {M}", "SELECT", 0),
    ("postgresql", f"  with x as (select 1) select * from x where a = {M};  ", "WITH", 0),
    ("postgresql", f"SELECT 1; SELECT {M}", "SELECT", 1),
    ("postgresql", f"SELECT ';' , \"a;b\", $$;{M}$$", "SELECT", 1),
    ("postgresql", f"SELECT * FROM t WHERE a = '{M}'", "SELECT", 1),
    ("postgresql", f"SELECT * FROM t -- {M}\nWHERE 1=1", "SELECT", 1),
    ("postgresql", f"SELECT * FROM t /* {M} */", "SELECT", 1),
    ("postgresql", "SELECT * FROM t WHERE a = $1", "SELECT", 1),
    ("postgresql", "SELECT 'unterminated", "SELECT", 1),
    ("postgresql", "SELECT E'it\\'s; fine' AS x", "SELECT", 0),
    ("postgresql", f"/* lead */ DELETE FROM t WHERE id = {M}", "DELETE", 0),
    ("mysql", f"SELECT * FROM t WHERE a = {M} AND b = 'it\\'s; ok'", "SELECT", 0),
    ("mysql", f"SELECT * FROM t WHERE a = \"{M}\"", "SELECT", 1),
    ("mysql", f"SELECT `a;b` FROM t # {M}\n", "SELECT", 1),
    ("mysql", "SELECT 1 /*! ; DROP TABLE t */", "SELECT", 1),
    ("mysql", "SELECT 1; SELECT 2", "SELECT", 1),
    ("mysql", "SELECT 1;-- trailing comment", "SELECT", 0),
])
def test_sql_scanner_reports_statements_quotes_and_first_keyword(dialect, text, first, problems):
    shape = sqltext.analyze(text, dialect)
    assert shape.first_keyword == first
    assert len(shape.problems) == problems, shape.problems


def check(src, engine="jinja2", declared=("a", "b"), db="postgresql", method="GET", script_type="sql"):
    return check_template(engine, src, declared, db, method, script_type)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
@pytest.mark.parametrize("db", ["postgresql", "mysql"])
def test_a_plain_filtered_select_passes_save_time_checks(engine, db):
    compiled = check("SELECT * FROM people WHERE 1=1 {% if a %}AND name = {{ a }}{% endif %};", engine, db=db)
    assert compiled.engine == engine


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_two_statements_are_refused(engine):
    with pytest.raises(TemplateError, match="more than one SQL statement"):
        check("SELECT 1; DELETE FROM people", engine)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_a_statement_repeated_by_a_loop_is_refused(engine):
    with pytest.raises(TemplateError, match="more than one SQL statement"):
        check("{% for x in a %}SELECT {{ x }};{% endfor %}", engine)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_a_second_statement_hidden_in_an_else_branch_is_refused(engine):
    with pytest.raises(TemplateError, match="more than one SQL statement"):
        check("SELECT 1 {% if a %}WHERE x = {{ a }}{% else %}; DROP TABLE people{% endif %}", engine)


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_output_expression_inside_quotes_is_refused_with_a_hint(engine):
    with pytest.raises(TemplateError, match="inside a string literal") as err:
        check("SELECT * FROM people WHERE name = '{{ a }}'", engine)
    assert "= {{ x }}" in err.value.message


@pytest.mark.parametrize("engine,src", [
    ("liquid", "{% assign sql_query = \"SELECT * FROM your_table WHERE 1=1\" %}"
               "{% if a != null %}{% assign sql_query = sql_query | append: \" AND column1 = '\" | append: a "
               "| append: \"'\" %}{% endif %}{{ sql_query }}"),
    ("jinja2", "{% set q = 'SELECT * FROM t WHERE c = ' ~ a %}{{ q }}"),
])
def test_seed_002_append_style_is_refused_and_the_message_shows_the_safe_form(engine, src):
    with pytest.raises(TemplateError) as err:
        check(src, engine)
    assert "{% if p1 %}" in err.value.message


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_are_allowed_on_write_methods(method):
    check("UPDATE people SET city = {{ a }} WHERE id = {{ b }}", method=method)


def test_a_get_api_cannot_write():
    with pytest.raises(TemplateError, match="GET API cannot run DELETE"):
        check("DELETE FROM people WHERE id = {{ a }}")


@pytest.mark.parametrize("src", ["DROP TABLE people", "CREATE TABLE x (a int)", "GRANT ALL ON people TO x",
                                 "SET ROLE postgres", "CALL add_audit({{ a }}, {{ b }})"])
def test_ddl_and_session_statements_are_refused(src):
    with pytest.raises(TemplateError, match="starts with"):
        check(src, method="POST")


@pytest.mark.parametrize("src", ["people_in_city({{ a }})", "public.people_in_city({{ a }});",
                                 "CALL add_audit({{ a }}, {{ b }})"])
def test_procedure_templates_are_routine_calls(src):
    check(src, script_type="procedure", method="POST")


def test_procedure_template_that_is_not_a_call_is_refused():
    with pytest.raises(TemplateError, match="routine call"):
        check("SELECT * FROM people", script_type="procedure")


def test_all_problems_are_reported_together():
    with pytest.raises(TemplateError) as err:
        check("SELECT '{{ a }}'; SELECT 2")
    assert len(err.value.details["errors"]) == 2
