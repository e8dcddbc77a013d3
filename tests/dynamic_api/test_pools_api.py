"""/api/connection-pools: admin CRUD, encrypted password never returned, /test."""
from __future__ import annotations

import json

import pytest

from tests.dynamic_api.helpers import create_api, pool_body


@pytest.fixture(params=["postgresql", "mysql"])
def tparams(request):
    return request.getfixturevalue("pg_target_params" if request.param == "postgresql" else "my_target_params")


def test_pool_is_created_with_password_encrypted_and_never_returned(api, db, tparams):
    r = api.post("/api/connection-pools", pool_body(tparams, password="Sup3r-secret!"))
    assert r.status == 201, r.json
    pool = r.data
    assert "password" not in pool and "password_enc" not in pool
    assert pool["has_password"] is True
    stored = db.scalar("SELECT password_enc::text FROM connection_pools WHERE id = CAST(:id AS uuid)", id=pool["id"])
    assert "Sup3r-secret!" not in stored and "_enc" in stored
    for resp in (api.get(f"/api/connection-pools/{pool['id']}"), api.get("/api/connection-pools?limit=500")):
        assert "Sup3r-secret!" not in resp.body.decode()
        assert b"password_enc" not in resp.body


def test_unsupported_db_type_is_400_listing_supported_ones(api, pg_target_params):
    r = api.post("/api/connection-pools", pool_body(pg_target_params, db_type="oracle"))
    assert r.status == 400
    assert r.error["details"]["supported"] == ["postgresql", "mysql"]


def test_pool_test_endpoint_connects_and_reports_time(api, tparams):
    pool = api.post("/api/connection-pools", pool_body(tparams)).data
    r = api.post(f"/api/connection-pools/{pool['id']}/test")
    assert r.status == 200, r.json
    assert r.data["connected"] is True
    assert r.data["duration_ms"] >= 0
    assert r.data["server_version"]


def test_pool_test_of_an_unreachable_database_is_a_connection_error_with_suggestions(api, tparams):
    pool = api.post("/api/connection-pools", pool_body(tparams, port=1)).data
    r = api.post(f"/api/connection-pools/{pool['id']}/test")
    assert r.status == 503 and r.headers["retry-after"] == "1"
    assert r.error["code"] == "CONNECTION_ERROR"
    details = r.error["details"]
    assert details["hosts"] == [f"{tparams.host}:1"]
    assert details["suggestions"] and details["error_detail"]


def test_update_keeps_the_password_when_sent_back_masked_and_bumps_version(api, db, pg_target_params):
    pool = api.post("/api/connection-pools", pool_body(pg_target_params, password="first")).data
    before = db.scalar("SELECT password_enc::text FROM connection_pools WHERE id = CAST(:id AS uuid)", id=pool["id"])
    r = api.put(f"/api/connection-pools/{pool['id']}", {"password": "********", "pool_size": 3})
    assert r.status == 200, r.json
    assert r.data["pool_size"] == 3 and r.data["version"] == pool["version"] + 1
    after = db.scalar("SELECT password_enc::text FROM connection_pools WHERE id = CAST(:id AS uuid)", id=pool["id"])
    assert after == before
    r = api.put(f"/api/connection-pools/{pool['id']}", {"password": None})
    assert r.data["has_password"] is False


def test_editing_a_pool_invalidates_its_connections_for_the_next_invocation(api, anon, pg_target_params):
    pool = api.post("/api/connection-pools", pool_body(pg_target_params)).data
    d = create_api(api, pool["id"], "liquid", "SELECT pg_backend_pid() AS pid", [], is_multiple_result=False)
    path = f"/api/dynamic-api/invoke/{d['name']}"
    pid1 = anon.get(path).json["pid"]
    assert anon.get(path).json["pid"] == pid1          # reused
    api.put(f"/api/connection-pools/{pool['id']}", {"remark": "edited"})
    assert anon.get(path).json["pid"] != pid1


def test_invocation_survives_a_pooled_connection_killed_by_the_server(api, anon, pg_target_params):
    from chalicelib.dynamic_api.dialects import BoundStatement
    from chalicelib.dynamic_api.drivers import connect
    pool = api.post("/api/connection-pools", pool_body(pg_target_params)).data
    d = create_api(api, pool["id"], "jinja2", "SELECT pg_backend_pid() AS pid", [], is_multiple_result=False)
    path = f"/api/dynamic-api/invoke/{d['name']}"
    pid = anon.get(path).json["pid"]
    admin = connect(pg_target_params)
    admin.execute(BoundStatement(f"SELECT pg_terminate_backend({int(pid)})", (), "postgresql"))
    admin.close()
    r = anon.get(path)
    assert r.status == 200, r.json
    assert r.json["pid"] != pid


def test_slow_query_over_the_api_timeout_is_408(api, anon, tparams):
    pool = api.post("/api/connection-pools", pool_body(tparams)).data
    sleep = "pg_sleep" if tparams.db_type == "postgresql" else "SLEEP"
    d = create_api(api, pool["id"], "liquid", f"SELECT {sleep}({{{{ s }}}}) AS x",
                   [{"name": "s", "data_type": "number", "default_value": "3"}], timeout_ms=150)
    r = anon.get(f"/api/dynamic-api/invoke/{d['name']}")
    assert r.status == 408
    assert r.error["code"] == "TIMEOUT_ERROR"
    r = anon.get(f"/api/dynamic-api/invoke/{d['name']}?s=0")     # the pooled connection still works
    assert r.status == 200, r.json


def test_pool_in_use_cannot_be_deleted(api, pg_target_params):
    pool = api.post("/api/connection-pools", pool_body(pg_target_params)).data
    d = create_api(api, pool["id"], "liquid", "SELECT 1 AS one", [], publish=False)
    r = api.delete(f"/api/connection-pools/{pool['id']}")
    assert r.status == 409
    assert r.error["details"]["definitions"][0]["id"] == d["id"]
    assert api.delete(f"/api/dynamic-apis/{d['id']}").status == 200
    assert api.delete(f"/api/connection-pools/{pool['id']}").status == 200
    assert api.get(f"/api/connection-pools/{pool['id']}").status == 404


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_connection_pools_are_admin_only(api, keys, role, pg_target_params):
    other = api.as_key(keys[role])
    assert other.get("/api/connection-pools").status == 403
    assert other.post("/api/connection-pools", pool_body(pg_target_params)).status == 403


def test_inactive_pool_refuses_invocations(api, anon, pg_target_params):
    pool = api.post("/api/connection-pools", pool_body(pg_target_params)).data
    d = create_api(api, pool["id"], "liquid", "SELECT 1 AS one", [])
    api.put(f"/api/connection-pools/{pool['id']}", {"is_active": False})
    r = anon.get(f"/api/dynamic-api/invoke/{d['name']}")
    assert r.status == 503 and r.error["code"] == "CONNECTION_ERROR"
    assert json.loads(r.body)["success"] is False


def test_invocation_over_max_concurrency_is_503_after_a_bounded_wait(api, anon, pg_target_params, monkeypatch):
    import threading

    from chalicelib.dynamic_api.connections import manager
    pool = api.post("/api/connection-pools", pool_body(pg_target_params, max_concurrency=1)).data
    d = create_api(api, pool["id"], "liquid", "SELECT pg_sleep({{ s }}) IS NULL AS slept",
                   [{"name": "s", "data_type": "number", "default_value": "0"}])
    path = f"/api/dynamic-api/invoke/{d['name']}"
    assert anon.get(path).status == 200              # the pool exists in this container now
    monkeypatch.setattr(manager, "acquire_timeout_s", 0.05)
    state = manager._pools[pool["id"]]
    results = {}
    slow = threading.Thread(target=lambda: results.setdefault("slow", anon.get(path + "?s=1").status))
    slow.start()
    for _ in range(2000):                           # until the slow call holds the only slot
        if state.sem._value == 0:
            break
        threading.Event().wait(0.005)
    r = anon.get(path)
    slow.join()
    assert r.status == 503
    assert r.error["code"] == "SERVICE_UNAVAILABLE"
    assert r.headers["retry-after"] == "1"
    assert results["slow"] == 200


@pytest.mark.parametrize("field, value, reason", [
    ("password", "not-the-password", "credentials"),
    ("database", "no_such_database_here", "database"),
])
def test_a_pool_the_server_refuses_as_configured_is_a_422_not_a_retry(api, tparams, field, value, reason):
    if field == "password" and tparams.db_type == "postgresql":
        pytest.skip("the test PostgreSQL trusts loopback connections: any password is accepted")
    r = api.post("/api/connection-pools", pool_body(tparams, **{field: value}))
    if r.status == 201:   # saved without connecting: the pool test connects
        r = api.post(f"/api/connection-pools/{r.data['id']}/test")
    assert r.status == 422, r.json
    assert r.error["code"] == "CONNECTION_ERROR" and r.error["details"]["reason"] == reason
    assert "retry-after" not in r.headers and "not-the-password" not in r.body.decode()
