"""Dynamic-API trust boundaries through the real server (tests/live.py), as
the weakest role that can reach each route trying to go further."""
from __future__ import annotations

import pytest

from chalicelib.db.urls import parse_database_url
from tests.dynamic_api.helpers import create_api, pool_body, unique


@pytest.fixture(scope="module")
def admin(live_server):
    return live_server.api("admin")


@pytest.fixture(scope="module")
def operator(live_server):
    return live_server.api(live_server.key("operator"))


@pytest.fixture(scope="module")
def anon(live_server):
    return live_server.api(None)


@pytest.fixture(scope="module")
def open_pool(admin, pg_target_params):
    """A pool on the target database whose access lets operators define writes too."""
    r = admin.post("/api/connection-pools", pool_body(pg_target_params, pool_size=1, max_concurrency=2,
                                                      access={"write_roles": ["admin", "operator"]}))
    assert r.status == 201, r.json
    return r.data["id"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_over_http_a_pool_on_the_servers_own_database_is_refused(live_server, admin, host):
    own = parse_database_url(live_server.database_url)
    body = {"display_text": unique("own"), "db_type": "postgresql", "host": host, "port": own["port"],
            "username": own["user"], "database": own["database"]}
    r = admin.post("/api/connection-pools", body)
    assert r.status == 403 and r.error["details"]["reason"] == "gateway_database", r.json
    assert live_server.psql("SELECT count(*) AS n FROM connection_pools WHERE database = :d",
                            d=own["database"])[0]["n"] == 0


def test_over_http_an_operator_can_neither_create_pools_nor_write_apis_on_a_default_pool(
        admin, operator, pg_target_params):
    assert operator.post("/api/connection-pools", pool_body(pg_target_params)).status == 403
    pool = admin.post("/api/connection-pools", pool_body(pg_target_params)).data["id"]
    r = operator.post("/api/dynamic-apis", {"name": unique("w"), "connection_pool_id": pool, "http_method": "POST",
                                            "script_template": "DELETE FROM victim"})
    assert r.status == 403 and r.error["details"]["access"] == "write_roles"


PROBE = {"postgresql": "SELECT pg_backend_pid() AS pid, current_setting('app.leak', true) AS leak, "
                        "current_user = session_user AS own_role",
         "mysql": "SELECT CONNECTION_ID() AS pid, @leak AS leak, 1 AS own_role"}


@pytest.mark.parametrize("dbname", ["postgresql", "mysql"])
def test_over_http_session_state_planted_by_one_api_is_gone_for_the_next(admin, operator, request, dbname):
    params = request.getfixturevalue("pg_target_params" if dbname == "postgresql" else "my_target_params")
    pool = admin.post("/api/connection-pools", pool_body(params, pool_size=1, max_concurrency=1,
                                                         access={"write_roles": ["operator"]})).data["id"]
    plant = create_api(operator, pool, "liquid", "plant_session_state()", [], http_method="POST",
                       script_type="procedure", is_multiple_result=False)
    probe = create_api(operator, pool, "liquid", PROBE[dbname], [], is_multiple_result=False)
    pid = operator.post(f"/api/dynamic-api/invoke/{plant['name']}").json["pid"]
    after = operator.get(f"/api/dynamic-api/invoke/{probe['name']}").json
    assert after["pid"] == pid and after["leak"] in (None, "") and after["own_role"]


def test_over_http_a_get_api_cannot_delete_and_a_draft_test_never_commits(operator, open_pool, pg_target_params):
    get = create_api(operator, open_pool, "liquid",
                     "WITH d AS (DELETE FROM victim RETURNING id) SELECT count(*) AS n FROM d", [],
                     is_multiple_result=False)
    r = operator.get(f"/api/dynamic-api/invoke/{get['name']}")
    assert r.status == 403 and "read-only" in r.error["message"]
    draft = create_api(operator, open_pool, "liquid", "DELETE FROM victim", [], http_method="DELETE", publish=False)
    r = operator.post(f"/api/dynamic-apis/{draft['id']}/test", {"params": {}})
    assert r.status == 200 and r.data["rolled_back"] is True and r.data["affected_rows"] >= 1
    probe = create_api(operator, open_pool, "liquid", "SELECT count(*) AS n FROM victim", [],
                       is_multiple_result=False)
    assert operator.get(f"/api/dynamic-api/invoke/{probe['name']}").json["n"] == r.data["affected_rows"]


def test_over_http_limits_hold(operator, anon, open_pool):
    r = operator.post("/api/dynamic-apis", {"name": unique("slow"), "connection_pool_id": open_pool,
                                            "script_template": "SELECT 1 AS one", "timeout_ms": 300000})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", "timeout_ms"]
    big = create_api(operator, open_pool, "liquid",
                     "SELECT i, repeat('x', 1000) AS s FROM generate_series(1, 6500) AS i", [])
    r = anon.get(f"/api/dynamic-api/invoke/{big['name']}")
    assert r.status == 413 and "page" in r.error["message"] and len(r.body) < 10_000
    rows = create_api(operator, open_pool, "liquid", "SELECT id FROM people", [], max_rows=2)
    assert anon.get(f"/api/dynamic-api/invoke/{rows['name']}").status == 413
    tpl = create_api(operator, open_pool, "jinja2", "SELECT {{ 'x' * n }} AS v",
                     [{"name": "n", "data_type": "integer"}], is_multiple_result=False)
    r = anon.get(f"/api/dynamic-api/invoke/{tpl['name']}?n=20000000")
    assert r.status == 400 and r.error["details"]["limit"] == "string_length"


def test_over_http_a_connection_string_password_is_never_shown_or_logged(live_server, admin, pg_target_params):
    secret = "Http-" + unique("pw")
    r = admin.post("/api/connection-pools", pool_body(
        pg_target_params, connection_string=f"postgresql://postgres:{secret}@127.0.0.1/{pg_target_params.database}"))
    assert r.status == 201 and "********" in r.data["connection_string"]
    viewer = live_server.api(live_server.key("viewer"))
    assert viewer.get(f"/api/connection-pools/{r.data['id']}").status == 403
    for resp in (admin.get(f"/api/connection-pools/{r.data['id']}"), admin.get("/api/connection-pools?limit=500")):
        assert secret not in resp.body.decode()
    stored = live_server.psql("SELECT connection_string FROM connection_pools WHERE id = CAST(:id AS uuid)",
                              id=r.data["id"])[0]["connection_string"]
    assert secret not in stored and secret not in live_server.log_text()


def test_over_http_the_dynamic_openapi_shows_an_anonymous_caller_only_public_apis(live_server, admin, anon,
                                                                                 open_pool):
    public = create_api(admin, open_pool, "liquid", "SELECT 1 AS one", [], prefix="pub")
    guarded = create_api(admin, open_pool, "liquid", "SELECT 2 AS two", [], prefix="guard", permissions=["ops"])
    names = {p.rsplit("/", 1)[-1] for p in anon.get("/api/dynamic-api/openapi.json").json["paths"]}
    assert public["name"] in names and guarded["name"] not in names
    r = admin.post("/api/keys", {"role": "viewer", "name": unique("holder"), "permissions": ["ops"]})
    assert r.status == 201, r.json
    for key, sees in ((live_server.key("viewer"), False), (r.data["key"], True), (live_server.admin_key, True)):
        paths = live_server.api(key).get("/api/dynamic-api/openapi.json").json["paths"]
        assert (f"/api/dynamic-api/invoke/{guarded['name']}" in paths) is sees


def test_over_http_a_viewer_pages_definitions_by_status_and_category_and_their_logs(
        live_server, admin, open_pool, anon):
    viewer = live_server.api(live_server.key("viewer"))
    category = unique("cat")
    made = [create_api(admin, open_pool, "jinja2", "SELECT 1 AS one", publish=i < 2, category=category, rank=i)
            for i in range(3)]
    assert viewer.post("/api/dynamic-apis", {"name": unique("v"), "connection_pool_id": open_pool,
                                             "script_template": "SELECT 1"}).status == 403
    first = viewer.get(f"/api/dynamic-apis?category={category}&status=published&limit=1")
    past = viewer.get(f"/api/dynamic-apis?category={category}&status=published&limit=1&offset=5")
    assert first.data["total"] == past.data["total"] == 2 and first.data["has_more"] and past.data["items"] == []
    assert first.data["items"][0]["id"] == made[0]["id"]   # ordered by category, rank, name
    assert viewer.get(f"/api/dynamic-apis?category={category}").data["total"] == 3
    for _ in range(2):
        assert anon.get(f"/api/dynamic-api/invoke/{made[1]['name']}").status == 200
    logs = viewer.get(f"/api/dynamic-apis/{made[1]['id']}/logs?limit=1")
    assert logs.data["total"] == 2 and len(logs.data["items"]) == 1 and logs.data["has_more"]


def test_over_http_a_query_the_target_refuses_is_422_and_an_unreachable_pool_503_with_retry_after(
        admin, operator, anon, open_pool, pg_target_params):
    broken = create_api(operator, open_pool, "liquid", "SELECT nope FROM no_such_table_here", [],
                        is_multiple_result=False)
    r = anon.get(f"/api/dynamic-api/invoke/{broken['name']}")
    assert r.status == 422 and r.error["code"] == "QUERY_ERROR", r.json
    assert "no_such_table_here" in r.error["message"] and "retry-after" not in r.headers
    down = admin.post("/api/connection-pools", pool_body(pg_target_params, port=1))
    assert down.status == 201, down.json
    assert operator.post(f"/api/connection-pools/{down.data['id']}/test").status == 403  # testing pools is admin's
    t = admin.post(f"/api/connection-pools/{down.data['id']}/test")
    assert t.status == 503 and t.error["code"] == "CONNECTION_ERROR" and t.headers["retry-after"] == "1", t.json
