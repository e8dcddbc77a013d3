"""Limits of a synchronous answer: rows (per API and global), response bytes
below Lambda's 6 MB, timeout_ms at most 29 s, and bounded template
evaluation in both engines. Callers try to go past each one."""
from __future__ import annotations

import pytest

from chalicelib.dynamic_api.dialects import get_dialect
from chalicelib.dynamic_api.engines import engines
from chalicelib.settings import reset_settings
from tests.conftest import Api, base_settings
from tests.dynamic_api.helpers import create_api, pool_body, unique


@pytest.fixture(scope="module")
def admin(client, keys) -> Api:
    return Api(client.http, keys["admin"])


@pytest.fixture(scope="module")
def pools(admin, pg_target_params, my_target_params) -> dict:
    return {p.db_type: admin.post("/api/connection-pools", pool_body(p)).data["id"]
            for p in (pg_target_params, my_target_params)}


@pytest.fixture(params=["postgresql", "mysql"])
def pool(request, pools):
    return pools[request.param]


def invoke(caller, d, query=""):
    return caller.get(f"/api/dynamic-api/invoke/{d['name']}{query}")


def assert_told_to_page(r):
    assert r.status == 413, r.json
    assert r.error["code"] == "PAYLOAD_TOO_LARGE" and "page" in r.error["message"]


# --------------------------------------------------------------------------- rows

def test_more_rows_than_the_apis_max_rows_is_413_telling_the_caller_to_page(admin, anon, pool):
    over = create_api(admin, pool, "liquid", "SELECT id, name FROM people ORDER BY id", [], max_rows=5)
    assert_told_to_page(invoke(anon, over))
    assert invoke(anon, over).error["details"]["max_rows"] == 5
    exact = create_api(admin, pool, "liquid", "SELECT id, name FROM people ORDER BY id", [], max_rows=6)
    r = invoke(anon, exact)               # the pool recovered from the refused read
    assert r.status == 200 and [i["id"] for i in r.json["items"]] == [1, 2, 3, 4, 5, 6]


def test_the_global_row_cap_applies_to_apis_without_max_rows_and_bounds_max_rows(admin, anon, pool):
    reset_settings(base_settings(dynamic_api_max_rows=4))
    d = create_api(admin, pool, "jinja2", "SELECT id FROM people", [])
    assert_told_to_page(invoke(anon, d))
    r = admin.post("/api/dynamic-apis", {"name": unique("cap"), "connection_pool_id": pool,
                                         "script_template": "SELECT 1 AS one", "max_rows": 5})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", "max_rows"]


def test_a_paged_api_never_returns_more_than_max_rows_per_page(admin, anon, pool):
    d = create_api(admin, pool, "liquid", "SELECT id FROM people", [], is_paging=True, is_sorting=True,
                   sortable_columns=["id"], default_sorting="id", max_rows=2)
    r = invoke(anon, d, "?maxResultCount=50")
    assert r.status == 200 and r.json["totalCount"] == 6 and [i["id"] for i in r.json["items"]] == [1, 2]


@pytest.mark.parametrize("query", ["?skipCount=100000000000000000000", "?maxResultCount=99999999999999999999"])
def test_a_huge_paging_input_is_400_naming_it(admin, anon, pools, query):
    d = create_api(admin, pools["postgresql"], "liquid", "SELECT id FROM people", [], is_paging=True)
    r = invoke(anon, d, query)
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"][-1] in query and "SQLSTATE" not in r.body.decode()


# --------------------------------------------------------------------------- bytes

WIDE = {"postgresql": "SELECT i, repeat('x', 1000) AS s FROM generate_series(1, {n}) AS i",
        "mysql": "SELECT p1.id, REPEAT('x', 1000) AS s FROM people p1, people p2, people p3, people p4, people p5"}


def test_an_answer_over_the_lambda_limit_is_413_telling_the_caller_to_page(admin, anon, pools):
    d = create_api(admin, pools["postgresql"], "liquid", WIDE["postgresql"].format(n=6500), [])
    r = invoke(anon, d)
    assert_told_to_page(r)
    assert r.error["details"]["limit_bytes"] < 6 * 1024 * 1024 and len(r.body) < 10_000


def test_the_byte_cap_applies_to_invocations_and_draft_tests_on_both_databases(admin, anon, pools):
    reset_settings(base_settings(dynamic_api_max_response_bytes=50_000))
    for db, pool in pools.items():
        d = create_api(admin, pool, "liquid", WIDE[db].format(n=100), [])
        assert_told_to_page(invoke(anon, d))
        assert_told_to_page(admin.post(f"/api/dynamic-apis/{d['id']}/test", {"params": {}}))
        small = create_api(admin, pool, "liquid", "SELECT id FROM people", [])
        assert invoke(anon, small).status == 200


# --------------------------------------------------------------------------- timeout

@pytest.mark.parametrize("timeout,status", [(29000, 201), (29001, 400), (300000, 400), (0, 400)])
def test_timeout_ms_is_at_most_29_seconds(admin, pools, timeout, status):
    r = admin.post("/api/dynamic-apis", {"name": unique("to"), "connection_pool_id": pools["postgresql"],
                                         "script_template": "SELECT 1 AS one", "timeout_ms": timeout})
    assert r.status == status, r.json
    if status == 400:
        assert r.error["details"]["errors"][0]["loc"] == ["body", "timeout_ms"] and "29000" in r.error["message"]


def test_an_update_past_29_seconds_is_400_and_changes_nothing(admin, pools):
    d = create_api(admin, pools["mysql"], "liquid", "SELECT 1 AS one", [], publish=False)
    r = admin.patch(f"/api/dynamic-apis/{d['id']}", {"timeout_ms": 29001})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", "timeout_ms"]
    assert admin.get(f"/api/dynamic-apis/{d['id']}").data["timeout_ms"] == d["timeout_ms"]


# --------------------------------------------------------------------------- template evaluation

BIG = 20_000_000
HOSTILE = [
    ("jinja2", "SELECT {{ 'x' * n }} AS v", "string_length"),
    ("jinja2", "SELECT {{ [1] * n }} AS v", "list_items"),
    ("jinja2", "SELECT {{ q ~ ('y' * 600000) ~ ('y' * 600000) }} AS v", "string_length"),
    ("jinja2", "SELECT {{ ('y' * 999999) + 'yy' }} AS v", "string_length"),
    ("jinja2", "SELECT {{ q | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa')"
               " | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') }} AS v",
     "string_length"),
    ("jinja2", "SELECT {{ (['y' * 1000] * 5000) | join(',') }} AS v", "string_length"),
    ("jinja2", "SELECT {{ '%0999999999d' % 1 }} AS v", "string_length"),
    ("jinja2", "SELECT 1 {% for a in xs %}{% for b in xs %}{% for c in xs %} + {{ c }}{% endfor %}{% endfor %}"
               "{% endfor %} AS v", "loop_iterations"),
    ("jinja2", "SELECT {{ ([[1] * 10000] * 10000) | sum(start=[]) | length }} AS v", "list_items"),
    ("jinja2", "SELECT 1 {% for a in xs %}{% for b in xs %} + 1 " + "/* padding */ " * 100 + "{% endfor %}"
               "{% endfor %} AS v", "sql_length"),
    ("liquid", "SELECT 1 {% for i in (1..n) %} + {{ i }}{% endfor %} AS v", "loop_iterations"),
    ("liquid", "{% assign x = 3 %}{% for i in (1..40) %}{% assign x = x | times: x %}{% endfor %}"
               "SELECT {{ x }} AS v", "number_size"),
    ("liquid", "SELECT 1 {% for a in xs %}{% for b in xs %} + 1 " + "/* padding */ " * 100 + "{% endfor %}"
               "{% endfor %} AS v", "sql_length"),
    ("liquid", "SELECT {{ (1..n) | join: ',' }} AS v", "list_items"),
    ("liquid", "{% assign s = q %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}"
               "SELECT {{ s }} AS v", "string_length"),
    ("liquid", "SELECT {{ q | replace: 'a', 'aaaaaaaaaa' | replace: 'a', 'aaaaaaaaaa' | replace: 'a', 'aaaaaaaaaa'"
               " | replace: 'a', 'aaaaaaaaaa' | replace: 'a', 'aaaaaaaaaa' | replace: 'a', 'aaaaaaaaaa' }} AS v",
     "string_length"),
]


@pytest.mark.parametrize("engine,template,limit", HOSTILE, ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(HOSTILE)])
def test_hostile_template_evaluation_is_stopped_with_the_limit_named(engine, template, limit):
    from chalicelib.dynamic_api.bounds import TemplateLimitExceeded
    with pytest.raises(TemplateLimitExceeded) as err:
        engines.get_engine(engine).render(template, {"n": BIG, "q": "ab", "xs": list(range(90))},
                                          get_dialect("postgresql"))
    assert err.value.status == 400 and err.value.details["limit"] == limit


@pytest.mark.parametrize("engine,template,expected", [
    ("jinja2", "SELECT {{ 'x' * n }} AS v", ["xxx"]),
    ("jinja2", "SELECT {{ q ~ '%' }} AS v", ["ab%"]),
    ("jinja2", "SELECT {{ '%s%%' % q }} AS v", ["ab%"]),
    ("jinja2", "SELECT 1 {% for a in xs %} + {{ a }}{% endfor %} AS v", [0, 1, 2]),
    ("liquid", "SELECT {{ q | append: '%' | replace: 'a', 'A' }} AS v", ["Ab%"]),
    ("liquid", "SELECT 1 {% for i in (1..n) %} + {{ i }}{% endfor %} AS v", [1, 2, 3]),
])
def test_ordinary_templates_render_within_the_limits(engine, template, expected):
    r = engines.get_engine(engine).render(template, {"n": 3, "q": "ab", "xs": [0, 1, 2]}, get_dialect("postgresql"))
    assert r.values == expected


@pytest.mark.parametrize("engine,template", [("jinja2", "SELECT {{ 'x' * n }} AS v"),
                                             ("liquid", "SELECT 1 {% for i in (1..n) %} + {{ i }}{% endfor %} AS v")])
def test_a_caller_cannot_make_a_template_build_huge_values(admin, anon, pools, engine, template):
    d = create_api(admin, pools["postgresql"], engine, template,
                   [{"name": "n", "data_type": "integer", "required": True}], is_multiple_result=False)
    r = invoke(anon, d, f"?n={BIG}")
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR", r.json
    assert r.error["details"]["limit"] in ("string_length", "loop_iterations")
    assert invoke(anon, d, "?n=2").status == 200


RETURNING = {"postgresql": "INSERT INTO audit (who) SELECT {{ tag }} || repeat('y', 1000) FROM generate_series(1, 100) "
                           "RETURNING who",
             "mysql": "INSERT INTO audit (who) SELECT CONCAT({{ tag }}, REPEAT('y', 60)) "
                      "FROM people p1, people p2, people p3 RETURNING who"}


@pytest.mark.parametrize("limit", [{"dynamic_api_max_response_bytes": 5_000}, {"dynamic_api_max_rows": 50}])
def test_a_write_whose_answer_is_refused_commits_nothing(admin, anon, pools, limit):
    reset_settings(base_settings(**limit))
    for db, pool in pools.items():
        d = create_api(admin, pool, "liquid", RETURNING[db], [{"name": "tag", "param_type": "body"}],
                       http_method="POST")
        tag = unique("ret")
        r = anon.post(f"/api/dynamic-api/invoke/{d['name']}", {"tag": tag})
        assert_told_to_page(r)
        count = create_api(admin, pool, "liquid", "SELECT count(*) AS n FROM audit WHERE who LIKE "
                           "{{ tag | append: '%' }}", [{"name": "tag"}], is_multiple_result=False)
        assert anon.get(f"/api/dynamic-api/invoke/{count['name']}?tag={tag}").json == {"n": 0}
