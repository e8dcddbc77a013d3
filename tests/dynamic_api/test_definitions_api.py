"""/api/dynamic-apis: save-time checks, updates, publish, test runs, OpenAPI."""
from __future__ import annotations

import json

import pytest

from tests.conftest import Api
from tests.dynamic_api.helpers import create_api, pool_body, unique


@pytest.fixture(scope="module")
def admin(client, keys) -> Api:
    return Api(client.http, keys["admin"])


@pytest.fixture(scope="module")
def pg_pool(admin, pg_target_params) -> str:
    return admin.post("/api/connection-pools", pool_body(pg_target_params)).data["id"]


@pytest.fixture(scope="module")
def my_pool(admin, my_target_params) -> str:
    return admin.post("/api/connection-pools", pool_body(my_target_params)).data["id"]


def body(pool, **kw):
    out = {"name": unique("def"), "connection_pool_id": pool, "template_engine": "liquid",
           "script_template": "SELECT id, name FROM people WHERE city = {{ city }}",
           "parameters": [{"name": "city", "data_type": "string", "required": True}]}
    out.update(kw)
    return out


def test_definition_is_created_as_draft_with_parameters_and_snake_case_fields(api, pg_pool):
    r = api.post("/api/dynamic-apis", body(pg_pool, remark="people in a city", category="people", rank=3))
    assert r.status == 201, r.json
    d = r.data
    assert d["status"] == "draft" and d["version"] == 1
    assert d["http_method"] == "GET" and d["is_multiple_result"] is True
    assert [p["name"] for p in d["parameters"]] == ["city"]
    assert d["parameters"][0]["param_type"] == "query"
    assert d["stats"]["total_calls"] == 0
    assert api.get(f"/api/dynamic-apis/{d['id']}").data["name"] == d["name"]
    listed = api.get("/api/dynamic-apis?category=people&limit=500").data
    assert d["id"] in [i["id"] for i in listed["items"]]


@pytest.mark.parametrize("engine,template", [
    ("jinja2", "SELECT {{ ''.__class__.__mro__ }}"),
    ("jinja2", "SELECT {{ city.__class__.__base__.__subclasses__() }}"),
    ("jinja2", "SELECT {{ city|attr('__class__') }}"),
    ("liquid", "SELECT {{ city.__class__ }}"),
    ("liquid", "SELECT {{ city['__class__']['__mro__'] }}"),
    ("liquid", "{% include 'x' %}"),
])
def test_sandbox_escapes_are_refused_at_save_time(api, pg_pool, engine, template):
    r = api.post("/api/dynamic-apis", body(pg_pool, template_engine=engine, script_template=template))
    assert r.status == 400
    assert r.error["code"] == "VALIDATION_ERROR"
    assert r.error["details"]["errors"]


@pytest.mark.parametrize("changes,fragment", [
    ({"script_template": "SELECT * FROM people WHERE city = {{ town }}"}, "'town'"),
    ({"script_template": "SELECT 1; SELECT 2"}, "more than one SQL statement"),
    ({"script_template": "SELECT * FROM people WHERE city = '{{ city }}'"}, "inside a string literal"),
    ({"script_template": "{% if city %"}, ""),
    ({"script_template": "DELETE FROM people WHERE city = {{ city }}"}, "GET API cannot run DELETE"),
    ({"template_engine": "razor"}, "razor"),
    ({"name": "has space"}, "URL-safe"),
    ({"name": "semi;colon"}, "URL-safe"),
    ({"is_paging": True, "is_multiple_result": False}, "is_paging implies is_multiple_result"),
    ({"is_sorting": True}, "sortable_columns"),
    ({"sortable_columns": ["id"], "default_sorting": "name"}, "not sortable"),
    ({"sortable_columns": ["id; drop"]}, "plain column name"),
    ({"http_method": "TRACE"}, "http_method"),
    ({"script_type": "macro"}, "script_type"),
    ({"connection_pool_id": "00000000-0000-4000-8000-000000000000"}, "does not exist"),
    ({"parameters": [{"name": "city"}, {"name": "city"}]}, "declared twice"),
    ({"parameters": [{"name": "city", "data_type": "blob"}]}, "data_type"),
    ({"parameters": [{"name": "skipCount"}]}, "built-in"),
    ({"parameters": [{"name": "city", "data_type": "integer", "default_value": "x"}]}, "default_value"),
])
def test_save_time_checks_refuse_bad_definitions_with_a_reason(api, pg_pool, changes, fragment):
    r = api.post("/api/dynamic-apis", body(pg_pool, **changes))
    assert r.status == 400, r.json
    assert fragment in r.error["message"] + json.dumps(r.error["details"])


def test_duplicate_name_is_409(api, pg_pool):
    b = body(pg_pool)
    assert api.post("/api/dynamic-apis", b).status == 201
    assert api.post("/api/dynamic-apis", b).status == 409


def test_updating_the_template_takes_effect_on_the_next_invocation(api, anon, pg_pool):
    d = create_api(api, pg_pool, "liquid", "SELECT name FROM people WHERE id = {{ id }}",
                   [{"name": "id", "data_type": "integer"}], is_multiple_result=False)
    path = f"/api/dynamic-api/invoke/{d['name']}?id=1"
    assert anon.get(path).json == {"name": "Alice"}
    r = api.put(f"/api/dynamic-apis/{d['id']}", {"script_template": "SELECT city FROM people WHERE id = {{ id }}"})
    assert r.status == 200, r.json
    assert r.data["version"] > d["version"] and r.data["status"] == "published"
    assert anon.get(path).json == {"city": "Paris"}


def test_replacing_parameters_is_checked_against_the_template(api, pg_pool):
    d = create_api(api, pg_pool, "jinja2", "SELECT 1 AS one WHERE {{ a }} = 1", [{"name": "a"}], publish=False)
    r = api.patch(f"/api/dynamic-apis/{d['id']}", {"parameters": [{"name": "b"}]})
    assert r.status == 400 and "'a'" in r.error["message"]
    r = api.patch(f"/api/dynamic-apis/{d['id']}", {"parameters": [{"name": "a", "data_type": "integer"}]})
    assert r.status == 200 and r.data["parameters"][0]["data_type"] == "integer"


def test_publish_sets_permissions_and_unpublish_takes_it_offline(api, pg_pool):
    d = create_api(api, pg_pool, "liquid", "SELECT 1 AS one", [], publish=False)
    r = api.post(f"/api/dynamic-apis/{d['id']}/publish", {"permissions": ["b.read", "a.read", "a.read"]})
    assert r.data["status"] == "published" and r.data["permissions"] == ["a.read", "b.read"]
    assert r.data["published_at"]
    assert api.post(f"/api/dynamic-apis/{d['id']}/unpublish").data["status"] == "offline"
    listed = api.get("/api/dynamic-apis?status=offline&limit=500").data["items"]
    assert d["id"] in [i["id"] for i in listed]


@pytest.mark.parametrize("role,status", [("viewer", 403), ("operator", 201)])
def test_definitions_are_written_by_operators(api, keys, pg_pool, role, status):
    assert api.as_key(keys[role]).post("/api/dynamic-apis", body(pg_pool)).status == status


@pytest.mark.parametrize("engine", ["jinja2", "liquid"])
def test_test_run_shows_sql_bound_values_result_and_duration_for_drafts(api, pg_pool, my_pool, engine):
    for pool, placeholder in ((pg_pool, "$1"), (my_pool, "%s")):
        d = create_api(api, pool, engine, "SELECT id, name FROM people WHERE city = {{ city }}",
                       [{"name": "city", "required": True}], publish=False, is_paging=True,
                       is_sorting=True, sortable_columns=["id"], default_sorting="id desc")
        r = api.post(f"/api/dynamic-apis/{d['id']}/test", {"params": {"city": "Berlin", "maxResultCount": 1}})
        assert r.status == 200, r.json
        t = r.data
        assert f"city = {placeholder}" in t["sql"]
        assert t["params"] == ["Berlin", 1, 0]
        assert len(t["statements"]) == 2 and "COUNT(*)" in t["statements"][0]["sql"]
        assert t["result"] == {"totalCount": 2, "items": [{"id": 5, "name": "Eve"}]}
        assert t["duration_ms"] > 0
        r = api.post(f"/api/dynamic-apis/{d['id']}/test", {"params": {}})
        assert r.status == 400 and "'city'" in r.error["message"]


def test_deleting_a_definition_removes_its_parameters(api, db, pg_pool):
    d = create_api(api, pg_pool, "liquid", "SELECT {{ a }} AS a", [{"name": "a"}], publish=False)
    assert api.delete(f"/api/dynamic-apis/{d['id']}").status == 200
    assert db.scalar("SELECT count(*) FROM api_parameters WHERE definition_id = CAST(:id AS uuid)", id=d["id"]) == 0
    assert api.get(f"/api/dynamic-apis/{d['id']}").status == 404


def test_openapi_describes_published_apis_as_valid_openapi_3_1(api, anon, keys, pg_pool):
    from openapi_spec_validator import validate
    d = create_api(api, pg_pool, "liquid", "SELECT id, name FROM people WHERE city = {{ city }}"
                   "{% if ids %} AND id IN {{ ids }}{% endif %}",
                   [{"name": "city", "required": True, "default_value": "Paris"},
                    {"name": "ids", "data_type": "integer", "multiple": True, "default_value": "1,2"},
                    {"name": "since", "data_type": "date", "default_value": "2026-01-01"},
                    ], is_paging=True, is_sorting=True, sortable_columns=["id", "name"],
                   permissions=["people.read"], remark="People by city")
    w = create_api(api, pg_pool, "jinja2", "INSERT INTO audit (who) VALUES ({{ who }})",
                   [{"name": "who", "param_type": "body", "required": True},
                    {"name": "trace", "param_type": "header"}], http_method="POST")
    draft = create_api(api, pg_pool, "liquid", "SELECT 1 AS one", [], publish=False)
    # Public route: each caller sees the APIs it may call (the admin key: all of them).
    assert anon.get("/api/dynamic-api/openapi.json").status == 200
    r = api.get("/api/dynamic-api/openapi.json")
    assert r.status == 200
    doc = r.json
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    op = doc["paths"][f"/api/dynamic-api/invoke/{d['name']}"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["city"]["required"] is True and params["city"]["schema"]["default"] == "Paris"
    assert params["ids"]["schema"] == {"type": "array", "items": {"type": "integer", "format": "int64"},
                                       "default": [1, 2]}
    assert params["since"]["schema"] == {"type": "string", "format": "date", "default": "2026-01-01"}
    assert {"skipCount", "maxResultCount", "sorting"} <= set(params)
    assert op["security"] == [{"bearerAuth": ["people.read"]}, {"apiKeyAuth": ["people.read"]}]
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["required"] == ["totalCount", "items"]
    assert {"400", "404", "408", "413", "422", "503"} <= set(op["responses"])  # the statuses an invocation answers
    wop = doc["paths"][f"/api/dynamic-api/invoke/{w['name']}"]["post"]
    assert wop["requestBody"]["content"]["application/json"]["schema"]["required"] == ["who"]
    assert wop["parameters"][0]["in"] == "header"
    assert wop["security"] == []
    assert f"/api/dynamic-api/invoke/{draft['name']}" not in doc["paths"]


def test_the_catalog_imports_the_dynamic_openapi_like_any_upstream(api, anon, pg_pool, db):
    from chalicelib.catalog import service as catalog
    d = create_api(api, pg_pool, "liquid", "SELECT 1 AS one", [], prefix="cat")
    doc = api.get("/api/dynamic-api/openapi.json").json
    result = catalog.import_document(db, content=json.dumps(doc), name=unique("dynamic-apis"),
                                     version="1.0.0", base_url="https://gateway.example.com",
                                     content_type="json")
    paths = {e["path"] for e in result["endpoints"]}
    assert f"/api/dynamic-api/invoke/{d['name']}" in paths
