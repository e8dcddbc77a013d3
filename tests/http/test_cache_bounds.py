"""The per-container caches on the request path have a bound, through real servers.

Two servers of `make run` share one database, as two Lambda containers do. A
revoked key and a deactivated endpoint take effect at once on the server that
made the change, and on the other one within the cache's documented bound
(chalicelib.keys.service.CACHE_TTL_S, chalicelib.gateway.targets
.TARGET_CACHE_TTL_S): the tests wait for the bound, they do not time it.
"""
from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.http.test_local_server import ECHO_SPEC, echo_upstream  # noqa: F401 - the module's upstream fixture


@pytest.fixture(scope="module")
def other_server(live_server):
    """A second container: its own process and caches, the same database and secret key."""
    from tests.conftest import SECRET_KEY
    from tests.live import start_live_server, stop_live_server
    server = start_live_server(live_server.database_url, SECRET_KEY)
    try:
        yield server
    finally:
        stop_live_server(server.process)


def _echo_endpoint(live_server, upstream: str) -> str:
    r = live_server.call("POST", "/api/documents", {
        "content": json.dumps(ECHO_SPEC), "name": f"bound-{uuid.uuid4().hex[:6]}", "base_url": upstream})
    assert r.status_code == 201, r.text
    return {f"{e['method']} {e['path']}": e["id"] for e in r.json()["data"]["endpoints"]}["GET /echo"]


def _invoke(server, endpoint_id: str, key: str):
    return server.call("POST", f"/api/endpoints/{endpoint_id}/invoke", {"query": {"who": "bound"}}, key=key)


def _at_once(n: int, fn) -> list:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: fn(), range(n)))


def test_a_revoked_key_is_refused_at_once_where_it_was_revoked_and_within_the_key_cache_bound_elsewhere(
        live_server, other_server, echo_upstream):  # noqa: F811 - pytest fixture
    from chalicelib.keys.service import CACHE_TTL_S
    endpoint = _echo_endpoint(live_server, echo_upstream)
    key = live_server.key("operator")
    assert _invoke(other_server, endpoint, key).status_code == 200   # the other container has it cached now
    assert _invoke(live_server, endpoint, key).status_code == 200
    key_id = next(k["id"] for k in live_server.call("GET", "/api/keys?limit=200").json()["data"]["items"]
                  if key.startswith(k["key_prefix"]))
    assert live_server.call("DELETE", f"/api/keys/{key_id}").status_code == 200

    assert _invoke(live_server, endpoint, key).status_code == 401    # the container that revoked it
    time.sleep(CACHE_TTL_S + 0.5)
    statuses = _at_once(6, lambda: _invoke(other_server, endpoint, key).status_code)
    assert statuses == [401] * 6


def test_a_deactivated_endpoint_refuses_calls_at_once_where_changed_and_within_the_target_cache_bound_elsewhere(
        live_server, other_server, echo_upstream):  # noqa: F811 - pytest fixture
    from chalicelib.gateway.targets import TARGET_CACHE_TTL_S
    endpoint = _echo_endpoint(live_server, echo_upstream)
    operator = live_server.key("operator")     # the weakest role that may change an endpoint and call it
    assert _invoke(other_server, endpoint, operator).status_code == 200
    assert _invoke(live_server, endpoint, operator).status_code == 200
    r = live_server.call("PATCH", f"/api/endpoints/{endpoint}", {"status": "inactive"}, key=operator)
    assert r.status_code == 200, r.text

    refused = _invoke(live_server, endpoint, operator)
    assert refused.status_code == 409 and refused.json()["error"]["details"]["endpoint_status"] == "inactive"
    time.sleep(TARGET_CACHE_TTL_S + 0.5)
    statuses = _at_once(6, lambda: _invoke(other_server, endpoint, operator).status_code)
    assert statuses == [409] * 6
    r = live_server.call("PATCH", f"/api/endpoints/{endpoint}", {"status": "active"}, key=operator)
    assert r.status_code == 200, r.text
    assert _invoke(live_server, endpoint, operator).status_code == 200  # active again, at once where changed


def test_a_server_stopped_normally_has_written_the_access_row_of_every_request_it_answered(live_server):
    from tests.conftest import SECRET_KEY
    from tests.live import start_live_server, stop_live_server
    server = start_live_server(live_server.database_url, SECRET_KEY)
    try:
        viewer = server.key("viewer")     # the weakest role: its requests are management requests too
        key_id = next(k["id"] for k in server.call("GET", "/api/keys?limit=200").json()["data"]["items"]
                      if viewer.startswith(k["key_prefix"]))
        statuses = _at_once(4, lambda: [server.call("GET", "/api/documents?limit=1", key=viewer).status_code
                                        for _ in range(15)])
        assert [s for batch in statuses for s in batch] == [200] * 60
    finally:
        assert stop_live_server(server.process) == 0
    rows = live_server.psql("SELECT count(*) AS n FROM api_access_logs WHERE api_key_id = CAST(:k AS uuid)",
                            k=key_id)
    assert rows[0]["n"] == 60
