"""Published dynamic APIs invoked through the app: both engines x both databases."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.conftest import Api
from tests.dynamic_api.helpers import create_api, like, pool_body

ENGINES = ["jinja2", "liquid"]
DBS = ["postgresql", "mysql"]


@pytest.fixture(scope="module")
def admin(client, keys) -> Api:
    return Api(client.http, keys["admin"])


@pytest.fixture(scope="module")
def pools(admin, pg_target_params, my_target_params) -> dict:
    out = {}
    for params in (pg_target_params, my_target_params):
        r = admin.post("/api/connection-pools", pool_body(params))
        assert r.status == 201, r.json
        out[params.db_type] = r.data["id"]
    return out


@pytest.fixture(params=[(e, d) for e in ENGINES for d in DBS], ids=lambda p: f"{p[0]}-{p[1]}")
def combo(request, pools):
    engine, db = request.param
    return engine, db, pools[db]


def people_search(engine):
    return ("SELECT id, name, city, born, score, active FROM people WHERE 1=1"
            "{% if city %} AND city = {{ city }}{% endif %}"
            "{% if ids %} AND id IN {{ ids }}{% endif %}"
            "{% if q %} AND name LIKE " + like(engine, "q") + "{% endif %}"
            "{% if born_after %} AND born >= {{ born_after }}{% endif %}")


SEARCH_PARAMS = [
    {"name": "city", "data_type": "string"},
    {"name": "ids", "data_type": "integer", "multiple": True},
    {"name": "q", "data_type": "string"},
    {"name": "born_after", "data_type": "date"},
]


def names(resp) -> list[str]:
    return sorted(i["name"] for i in resp.json["items"])


@pytest.fixture
def search(admin, combo):
    engine, db, pool = combo
    return create_api(admin, pool, engine, people_search(engine), SEARCH_PARAMS, is_sorting=True,
                      sortable_columns=["id", "name", "born"])


def invoke(anon, name, query=None, method="GET", **kw):
    path = f"/api/dynamic-api/invoke/{name}"
    if query:
        path += "?" + (query if isinstance(query, str) else urlencode(query, doseq=True))
    return anon.request(method, path, **kw)


def test_equality_filter_returns_matching_rows_with_total(anon, search):
    r = invoke(anon, search["name"], {"city": "Paris"})
    assert r.status == 200, r.json
    assert r.json["totalCount"] == 2
    assert names(r) == ["Alice", "Chloé"]


def test_optional_filters_left_out_return_everything(anon, search):
    r = invoke(anon, search["name"])
    assert r.json["totalCount"] == 6


@pytest.mark.parametrize("query", ["ids=1,3", "ids=1&ids=3", "ids=1,3&ids=3"])
def test_in_list_from_comma_list_or_repeated_keys(anon, search, query):
    r = invoke(anon, search["name"], query)
    assert names(r) == ["Alice", "Chloé"]


def test_like_filter_with_quote_in_value(anon, search):
    assert names(invoke(anon, search["name"], {"q": "O'N"})) == ["Dan O'Neil"]
    assert names(invoke(anon, search["name"], {"q": "100%"})) == ["Frank 100%"]


def test_date_filter_and_json_serialisation_of_dates_and_decimals(anon, search):
    r = invoke(anon, search["name"], {"born_after": "1995-01-01", "sorting": "born"})
    assert [i["name"] for i in r.json["items"]] == ["Eve", "Chloé"]
    eve = r.json["items"][0]
    assert eve["born"] == "1995-07-20"
    assert eve["score"] == "50.10"


def test_sorting_input_orders_rows(anon, search):
    r = invoke(anon, search["name"], {"sorting": "name desc"})
    assert [i["id"] for i in r.json["items"]] == [6, 5, 4, 3, 2, 1]


def test_sorting_by_undeclared_column_is_400(anon, search):
    r = invoke(anon, search["name"], {"sorting": "city"})
    assert r.status == 400
    assert r.error["code"] == "VALIDATION_ERROR"
    assert r.error["details"]["errors"][0]["loc"][-1] == "sorting"


@pytest.mark.parametrize("query,param", [("ids=1,x", "ids"), ("born_after=31/12/2000", "born_after")])
def test_type_errors_are_400_naming_the_parameter(anon, search, query, param):
    r = invoke(anon, search["name"], query)
    assert r.status == 400
    assert f"'{param}'" in r.error["message"]


def test_paging_returns_total_and_the_requested_page(admin, anon, combo):
    engine, db, pool = combo
    d = create_api(admin, pool, engine, "SELECT id, name FROM people WHERE active = {{ active }}",
                   [{"name": "active", "data_type": "boolean", "default_value": True}], is_paging=True,
                   is_sorting=True, sortable_columns=["id", "name"], default_sorting="id", max_page_size=2)
    r = invoke(anon, d["name"], {"skipCount": 1, "maxResultCount": 50})
    assert r.status == 200, r.json
    assert r.json["totalCount"] == 4
    assert [i["id"] for i in r.json["items"]] == [3, 4]            # capped at max_page_size 2
    r = invoke(anon, d["name"], {"page": 2, "pageSize": 2, "sorting": "name desc"})
    assert [i["name"] for i in r.json["items"]] == ["Chloé", "Alice"]
    r = invoke(anon, d["name"], {"active": "false"})
    assert r.json["totalCount"] == 2


def test_single_result_returns_the_entity_or_404(admin, anon, combo):
    engine, db, pool = combo
    d = create_api(admin, pool, engine, "SELECT id, name, ext_id FROM people WHERE id = {{ id }}",
                   [{"name": "id", "data_type": "integer", "required": True}], is_multiple_result=False)
    r = invoke(anon, d["name"], {"id": 2})
    assert r.status == 200
    assert r.json == {"id": 2, "name": "Bob", "ext_id": "0b8e3c4d-1a2b-4c3d-8e9f-0a1b2c3d4e5f"}
    assert invoke(anon, d["name"], {"id": 999}).status == 404
    missing = invoke(anon, d["name"])
    assert missing.status == 400 and "'id'" in missing.error["message"]


def test_uuid_parameter_binds_on_both_databases(admin, anon, combo):
    engine, db, pool = combo
    d = create_api(admin, pool, engine, "SELECT name FROM people WHERE ext_id = {{ ext }}",
                   [{"name": "ext", "data_type": "uuid", "required": True}], is_multiple_result=False)
    r = invoke(anon, d["name"], {"ext": "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"})
    assert r.json == {"name": "Eve"}


def test_write_runs_in_a_transaction_and_answers_affected_rows(admin, anon, combo):
    engine, db, pool = combo
    who = f"w-{engine}-{db}"
    ins = create_api(admin, pool, engine, "INSERT INTO audit (who, amount) VALUES ({{ who }}, {{ amount }})",
                     [{"name": "who", "param_type": "body", "required": True},
                      {"name": "amount", "data_type": "number", "param_type": "body"}], http_method="POST")
    r = invoke(anon, ins["name"], method="POST", json_body={"who": who, "amount": 12.5})
    assert r.status == 200, r.json
    assert r.json == {"affectedRows": 1}
    upd = create_api(admin, pool, engine, "UPDATE audit SET amount = amount + 1 WHERE who = {{ who }}",
                     [{"name": "who", "param_type": "form", "required": True}], http_method="PUT")
    r = invoke(anon, upd["name"], method="PUT", body=urlencode({"who": who}),
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.json == {"affectedRows": 1}
    check = create_api(admin, pool, engine, "SELECT amount FROM audit WHERE who = {{ who }}",
                       [{"name": "who", "param_type": "header", "required": True}], is_multiple_result=False)
    r = invoke(anon, check["name"], headers={"who": who})
    assert r.json == {"amount": "13.50"}


def test_a_failing_write_is_rolled_back(admin, anon, combo):
    engine, db, pool = combo
    d = create_api(admin, pool, engine, "UPDATE people SET name = {{ name }} WHERE id = {{ id }}",
                   [{"name": "name", "param_type": "body"}, {"name": "id", "data_type": "integer",
                                                              "param_type": "body"}], http_method="PATCH")
    r = invoke(anon, d["name"], method="PATCH", json_body={"name": None, "id": 1})   # NOT NULL violation
    assert r.status == 422 and r.json["error"]["code"] == "QUERY_ERROR"  # the target refused it: not our bug
    assert r.json["success"] is False
    search = create_api(admin, pool, engine, "SELECT name FROM people WHERE id = 1", [], is_multiple_result=False)
    assert invoke(anon, search["name"]).json == {"name": "Alice"}


def test_method_other_than_the_definitions_is_405(anon, search):
    r = invoke(anon, search["name"], method="POST", json_body={})
    assert r.status == 405
    assert r.error["code"] == "METHOD_NOT_ALLOWED"


def test_procedures_and_functions_are_called(admin, anon, combo):
    engine, db, pool = combo
    d = create_api(admin, pool, engine, "people_in_city({{ city }})", [{"name": "city", "required": True}],
                   script_type="procedure")
    r = invoke(anon, d["name"], {"city": "Berlin"})
    assert r.status == 200, r.json
    assert [i["name"] for i in r.json["items"]] == ["Bob", "Eve"]
    w = create_api(admin, pool, engine, "add_audit({{ who }}, {{ amount }})",
                   [{"name": "who", "param_type": "body"}, {"name": "amount", "data_type": "number",
                                                             "param_type": "body"}],
                   script_type="procedure", http_method="POST")
    r = invoke(anon, w["name"], method="POST", json_body={"who": f"proc-{engine}", "amount": "1.00"})
    assert r.status == 200, r.json


def test_body_parameters_accept_json_and_form_encoding(admin, anon, combo):
    engine, db, pool = combo
    d = create_api(admin, pool, engine, "SELECT id FROM people WHERE city = {{ city }} AND id IN {{ ids }}",
                   [{"name": "city", "param_type": "body"},
                    {"name": "ids", "param_type": "body", "data_type": "integer", "multiple": True}],
                   http_method="POST")
    r = invoke(anon, d["name"], method="POST", json_body={"city": "Paris", "ids": [1, 2, 3]})
    assert [i["id"] for i in r.json["items"]] == [1, 3]
    r = invoke(anon, d["name"], method="POST", body="city=Paris&ids=3&ids=2",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert [i["id"] for i in r.json["items"]] == [3]


def test_unpublished_and_unknown_apis_are_404(admin, anon, pools):
    d = create_api(admin, pools["postgresql"], "liquid", "SELECT 1 AS one", [], publish=False)
    assert invoke(anon, d["name"]).status == 404
    assert admin.post(f"/api/dynamic-apis/{d['id']}/publish", {}).status == 200
    assert invoke(anon, d["name"]).json == {"totalCount": 1, "items": [{"one": 1}]}
    assert admin.post(f"/api/dynamic-apis/{d['id']}/unpublish").status == 200
    assert invoke(anon, d["name"]).status == 404
    assert invoke(anon, "no-such-api").status == 404


def test_permissions_empty_is_public_otherwise_every_permission_is_needed(admin, anon, client, pools):
    from chalicelib.keys.service import create_key
    d = create_api(admin, pools["postgresql"], "jinja2", "SELECT 1 AS one", [],
                   permissions=["reports.read", "people.read"])
    assert invoke(anon, d["name"]).status == 401
    partial = create_key("viewer", ["reports.read"], "partial")["key"]
    full = create_key("viewer", ["reports.read", "people.read", "other"], "full")["key"]
    assert invoke(anon, d["name"], headers={"Authorization": f"Bearer {partial}"}).status == 403
    assert invoke(anon, d["name"], headers={"X-API-Key": full}).status == 200
    assert invoke(anon, d["name"], headers={"X-API-Key": "sfk_bogus"}).status == 401


def test_invocations_are_logged_with_sensitive_values_masked_and_counted(admin, anon, pools):
    d = create_api(admin, pools["postgresql"], "liquid",
                   "SELECT id FROM people WHERE name <> {{ secret }} AND city = {{ city }}",
                   [{"name": "secret", "sensitive": True}, {"name": "city"}])
    for _ in range(3):
        assert invoke(anon, d["name"], {"secret": "hunter2", "city": "Paris"}).status == 200
    assert invoke(anon, d["name"], {"secret": "x", "city": "Paris", "sorting": "x"}).status == 200
    logs = admin.get(f"/api/dynamic-apis/{d['id']}/logs").data
    assert logs["total"] == 4
    assert all(item["params"]["secret"] == "********" for item in logs["items"])
    assert logs["items"][0]["params"]["city"] == "Paris"
    assert "hunter2" not in json.dumps(logs)
    stats = admin.get(f"/api/dynamic-apis/{d['id']}").data["stats"]
    assert stats["total_calls"] == 4 and stats["success_calls"] == 4
    assert stats["avg_duration_ms"] > 0


def test_log_rows_land_in_the_month_partition(db, admin, anon, pools):
    d = create_api(admin, pools["postgresql"], "liquid", "SELECT 1 AS one", [])
    invoke(anon, d["name"])
    part = db.scalar("SELECT tableoid::regclass::text FROM dynamic_api_invocation_logs "
                     "WHERE definition_id = CAST(:id AS uuid)", id=d["id"])
    assert part.startswith("dynamic_api_invocation_logs_20")


def test_log_partitions_roll_over_with_the_shared_monthly_rollover(db):
    from datetime import datetime, timezone

    from chalicelib.dynamic_api.store import rollover_log_partitions
    report = rollover_log_partitions(datetime.now(timezone.utc), db=db, months_ahead=6, retention_months=120)
    names = {r["relname"] for r in db.query(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'dynamic_api_invocation_logs'")}
    now = datetime.now(timezone.utc)
    idx = now.year * 12 + now.month - 1 + 6
    assert f"dynamic_api_invocation_logs_{idx // 12:04d}_{idx % 12 + 1:02d}" in names
    assert "dynamic_api_invocation_logs_default" in names
    assert isinstance(report, dict)
