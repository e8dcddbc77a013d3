"""Sorting from the `sorting` input only; paging builders per dialect."""
from __future__ import annotations

import pytest

from chalicelib.dynamic_api.cache import TemplateCache
from chalicelib.dynamic_api.dialects import get_dialect
from chalicelib.dynamic_api.engines import engines
from chalicelib.dynamic_api.paging import (
    check_sortable_columns,
    count_statement,
    page_statement,
    parse_sorting,
    resolve_paging,
    sorted_statement,
)
from chalicelib.errors import ValidationError

SORTABLE = ["id", "name", "City"]


@pytest.mark.parametrize("sorting,expected", [
    ("name desc, id", [("name", "DESC"), ("id", "ASC")]),
    ("NAME DESC", [("name", "DESC")]),
    ("city asc", [("City", "ASC")]),
    ("  id  ", [("id", "ASC")]),
    ("", []),
    (None, []),
])
def test_sorting_is_parsed_and_matched_to_declared_columns(sorting, expected):
    assert parse_sorting(sorting, SORTABLE) == expected


@pytest.mark.parametrize("payload", [
    "password", "name; DROP TABLE canary", "name desc; --", "(SELECT 1)", "name DESC NULLS FIRST",
    "name asc, id sideways", "1", "id, id", "pg_sleep(5)", "name/**/desc", "\"name\"", "`name`",
    "name\x00", "ｎａｍｅ", "name collate \"C\"", "case when 1=1 then id end",
])
def test_anything_but_declared_column_and_direction_is_refused(payload):
    with pytest.raises(ValidationError) as err:
        parse_sorting(payload, SORTABLE)
    assert err.value.details["errors"][0]["loc"][-1] == "sorting"


def test_sortable_columns_must_be_plain_names():
    assert check_sortable_columns(["id", "name"]) == ["id", "name"]
    for bad in (["a b"], ["x;y"], ["id", "ID"], ['"q"']):
        with pytest.raises(ValidationError):
            check_sortable_columns(bad)


@pytest.mark.parametrize("inputs,cap,skip,take", [
    ({}, 100, 0, 10),
    ({"skipCount": "20", "maxResultCount": "5"}, 100, 20, 5),
    ({"maxResultCount": "1000"}, 50, 0, 50),
    ({"page": "3", "pageSize": "20"}, 100, 40, 20),
    ({"page": "2"}, 100, 10, 10),
    ({"page": "1", "pageSize": "500"}, 100, 0, 100),
    ({"skipCount": "5", "page": "9"}, 100, 5, 10),
    ({}, 5, 0, 5),
])
def test_paging_inputs_resolve_to_skip_and_capped_take(inputs, cap, skip, take):
    p = resolve_paging(inputs, cap)
    assert (p.skip, p.take) == (skip, take)


@pytest.mark.parametrize("inputs,name", [
    ({"skipCount": "-1"}, "skipCount"), ({"maxResultCount": "0"}, "maxResultCount"),
    ({"page": "0"}, "page"), ({"pageSize": "ten"}, "pageSize"), ({"skipCount": "1; DROP"}, "skipCount"),
])
def test_bad_paging_input_is_a_400_naming_it(inputs, name):
    with pytest.raises(ValidationError) as err:
        resolve_paging(inputs, 100)
    assert err.value.details["errors"][0]["loc"][-1] == name


def _rendered(db):
    compiled = engines.get_engine("jinja2").compile(
        "SELECT id, name FROM people WHERE city = {{ city }};", ["city"])
    return compiled.render({"city": "Paris"}, get_dialect(db))


def test_postgres_count_and_page_queries_wrap_the_statement_with_bound_limit_offset():
    r = _rendered("postgresql")
    order = parse_sorting("name desc, id", SORTABLE)
    count = count_statement(r)
    page = page_statement(r, order, resolve_paging({"skipCount": "10", "maxResultCount": "5"}, 100))
    assert count.sql == ("SELECT COUNT(*) AS total_count FROM (SELECT id, name FROM people WHERE city = $1\n"
                         ") AS dyn_count")
    assert count.params == ("Paris",)
    assert page.sql == ('SELECT * FROM (SELECT id, name FROM people WHERE city = $1\n) AS dyn_page '
                        'ORDER BY "name" DESC, "id" ASC LIMIT $2 OFFSET $3')
    assert page.params == ("Paris", 5, 10)


def test_mysql_page_query_quotes_with_backticks():
    r = _rendered("mysql")
    page = page_statement(r, parse_sorting("city", SORTABLE), resolve_paging({}, 100))
    assert page.sql.endswith(") AS dyn_page ORDER BY `City` ASC LIMIT %s OFFSET %s")
    assert page.params == ("Paris", 10, 0)


def test_page_without_any_sorting_orders_by_the_first_column_for_stable_pages():
    page = page_statement(_rendered("postgresql"), [], resolve_paging({}, 100))
    assert "ORDER BY 1 LIMIT $2 OFFSET $3" in page.sql


def test_sorting_without_paging_wraps_only_with_order_by():
    stmt = sorted_statement(_rendered("postgresql"), [("id", "DESC")])
    assert stmt.sql.endswith(') AS dyn_sorted ORDER BY "id" DESC')


def test_compiled_templates_are_cached_per_definition_version():
    cache = TemplateCache()
    a = cache.get("def-1", 1, "liquid", "SELECT {{ a }}", ["a"])
    b = cache.get("def-1", 1, "liquid", "SELECT {{ a }}", ["a"])
    c = cache.get("def-1", 2, "liquid", "SELECT {{ a }} + 1", ["a"])
    assert a is b and c is not a
    assert (cache.hits, cache.misses) == (1, 2)
    cache.invalidate("def-1")
    assert cache.get("def-1", 2, "liquid", "SELECT {{ a }} + 1", ["a"]) is not c
