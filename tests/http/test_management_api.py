"""The management API as seed 003 describes it, through the real server:
every route under /api/v1, Accept negotiation, per-key quotas shared by
concurrent clients, and route metrics equal to the requests made."""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.http.test_local_server import ECHO_SPEC


def _concrete(path: str) -> str:
    import re
    return re.sub(r"{[^}]+}", "00000000-0000-4000-8000-000000000000", path)


def _routes():
    """The product's routes (other tests declare toy routes in the same registry)."""
    import app
    from chalicelib.web.api import ROUTES
    return [m for m in ROUTES if m.method in app.app.routes.get(m.path, {})]


def test_every_route_answers_under_api_v1_and_says_its_version(live_server):
    from chalicelib.web.versions import versioned_paths
    checked = 0
    for meta in _routes():
        for alias in versioned_paths(meta.path):
            r = requests.request(meta.method, live_server.url + _concrete(alias),
                                 headers={"Content-Type": "application/json"}, timeout=30)
            assert r.headers.get("API-Version") == "v1", (meta.method, alias)
            if meta.role is None:
                # public: health (503 only when a dependency is down) and the two descriptions
                expected = (200, 503) if meta.path == "/api/health" else (200,)
                assert r.status_code in expected, (meta.method, alias, r.status_code, r.text[:200])
            else:
                # routed (not a 404) and guarded: no key is a 401 envelope
                assert r.status_code == 401, (meta.method, alias, r.status_code, r.text[:200])
                assert r.json()["error"]["code"] == "AUTH_ERROR"
            checked += 1
    assert checked >= 60


def test_an_accept_header_selects_v1_and_refuses_other_versions(live_server):
    viewer = live_server.key("viewer")
    ok = live_server.call("GET", "/api/jobs?limit=1", key=viewer,
                          headers={"Accept": "application/vnd.datatools.v1+json"})
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/vnd.datatools.v1+json"
    for path in ("/api/jobs?limit=1", "/api/v1/jobs?limit=1"):
        r = live_server.call("GET", path, key=viewer, headers={"Accept": "application/vnd.stepflow.v9+json"})
        assert r.status_code == 406
        assert r.json()["error"]["details"]["supported_versions"] == ["v1"]


def _wait_for_a_fresh_minute(margin_s: float = 12) -> None:
    """Quotas count per clock minute: start a burst well inside one."""
    left = 60 - (time.time() % 60)
    if left < margin_s:
        time.sleep(left + 0.2)


def test_a_key_s_rate_is_shared_by_concurrent_clients_and_other_keys_are_unaffected(live_server):
    r = live_server.call("POST", "/api/keys", {"role": "operator", "name": "quota-30", "rate_per_minute": 30,
                                               "max_concurrent": 0})
    assert r.status_code == 201, r.text
    limited, key_id = r.json()["data"]["key"], r.json()["data"]["id"]
    other = live_server.key("operator")
    _wait_for_a_fresh_minute()
    statuses: list[int] = []
    refused: list[requests.Response] = []
    lock = threading.Lock()

    def client(n):
        s = requests.Session()
        for _ in range(10):
            r = s.get(live_server.url + "/api/jobs?limit=1", headers={"Authorization": f"Bearer {limited}"})
            with lock:
                statuses.append(r.status_code)
                if r.status_code == 429:
                    refused.append(r)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(client, range(8)))
    assert statuses.count(200) == 30
    assert statuses.count(429) == 50
    r = refused[0]
    assert r.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["RateLimit-Limit"] == "30" and r.headers["RateLimit-Remaining"] == "0"
    assert r.headers["RateLimit-Policy"] == "30;w=60"
    # another key is not affected
    assert live_server.call("GET", "/api/jobs?limit=1", key=other).status_code == 200
    # an admin lifts the limit; it takes effect within the key cache's 5 s
    assert live_server.call("PATCH", f"/api/keys/{key_id}", {"rate_per_minute": 0}).status_code == 200
    time.sleep(5.2)
    assert live_server.call("GET", "/api/jobs?limit=1", key=limited).status_code == 200


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        time.sleep(1.5)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def slow_endpoint(live_server):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    r = live_server.call("POST", "/api/documents", {"content": __import__("json").dumps(ECHO_SPEC),
                                                    "name": f"slow-{uuid.uuid4().hex[:6]}",
                                                    "base_url": f"http://127.0.0.1:{server.server_address[1]}"})
    assert r.status_code == 201, r.text
    yield {f"{e['method']} {e['path']}": e["id"] for e in r.json()["data"]["endpoints"]}["GET /slow"]
    server.shutdown()
    server.server_close()


def six_at_once(live_server, endpoint: str, key: str) -> list:
    """Six invokes of `endpoint` with `key`, released together from six threads."""
    barrier = threading.Barrier(6)

    def call(_):
        barrier.wait()
        return requests.post(f"{live_server.url}/api/endpoints/{endpoint}/invoke", json={},
                             headers={"Authorization": f"Bearer {key}"}, timeout=30)

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(call, range(6)))


def test_a_key_s_concurrency_limit_holds_across_clients(live_server, slow_endpoint):
    r = live_server.call("POST", "/api/keys", {"role": "operator", "name": "two-at-once", "max_concurrent": 2,
                                               "rate_per_minute": 0})
    key = r.json()["data"]["key"]
    answers = six_at_once(live_server, slow_endpoint, key)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 429, 429, 429, 429]
    refused = [a for a in answers if a.status_code == 429][0]
    assert refused.json()["error"]["details"]["scope"] == "api_key_concurrency"
    assert refused.headers["Retry-After"] == "1"
    # the slots came back
    assert live_server.call("GET", "/api/jobs?limit=1", key=key).status_code == 200


def test_a_key_with_both_limits_counts_every_call_and_refuses_by_either(live_server, slow_endpoint):
    """Admission in one round trip: a call refused for the concurrency still counts
    in the window; one refused by the rate takes no slot."""
    r = live_server.call("POST", "/api/keys", {"role": "operator", "name": "seven-two", "max_concurrent": 2,
                                               "rate_per_minute": 7})
    key = r.json()["data"]["key"]
    _wait_for_a_fresh_minute(15)
    answers = six_at_once(live_server, slow_endpoint, key)
    assert sorted(a.status_code for a in answers) == [200, 200, 429, 429, 429, 429]
    assert {a.json()["error"]["details"]["scope"] for a in answers if a.status_code == 429} == {
        "api_key_concurrency"}
    assert sorted(int(a.headers["RateLimit-Remaining"]) for a in answers) == [1, 2, 3, 4, 5, 6]
    # the slots came back: the 7th call of the minute passes, the 8th and 9th are over the rate
    codes = [live_server.call("GET", "/api/jobs?limit=1", key=key) for _ in range(3)]
    assert [c.status_code for c in codes] == [200, 429, 429]
    over = codes[1].json()["error"]
    assert over["code"] == "RATE_LIMITED" and over["details"]["scope"] == "api_key"
    assert int(codes[1].headers["Retry-After"]) == over["details"]["retry_after_seconds"]
    assert codes[2].headers["RateLimit-Policy"] == "7;w=60" and codes[2].headers["RateLimit-Remaining"] == "0"


def test_whoami_shows_the_key_s_limits_and_what_is_left(live_server):
    r = live_server.call("POST", "/api/keys", {"role": "viewer", "rate_per_minute": 500, "max_concurrent": 4})
    key = r.json()["data"]["key"]
    _wait_for_a_fresh_minute(3)
    first = live_server.call("GET", "/api/whoami", key=key).json()["data"]["limits"]
    second = live_server.call("GET", "/api/whoami", key=key).json()["data"]["limits"]
    assert first["rate_per_minute"] == 500 and first["max_concurrent"] == 4
    assert second["remaining_this_minute"] == first["remaining_this_minute"] - 1
    assert 1 <= second["reset_seconds"] <= 60


def test_route_metrics_equal_the_requests_made(live_server):
    key_row = live_server.call("POST", "/api/keys", {"role": "viewer", "name": "metered"}).json()["data"]
    key, key_id = key_row["key"], key_row["id"]
    for _ in range(7):
        assert live_server.call("GET", "/api/jobs?limit=1", key=key).status_code == 200
    for _ in range(3):
        assert live_server.call("GET", "/api/keys", key=key).status_code == 403
    for _ in range(2):
        assert live_server.call("GET", "/api/v1/jobs?limit=2", key=key).status_code == 200
    r = live_server.call("GET", f"/api/metrics/routes?window=1h&by_key=true&api_key_id={key_id}")
    assert r.status_code == 200, r.text
    items = {(i["route"], i["method"]): i for i in r.json()["data"]["items"]}
    jobs, v1jobs, keys = items[("/api/jobs", "GET")], items[("/api/v1/jobs", "GET")], items[("/api/keys", "GET")]
    assert (jobs["requests"], jobs["errors"]) == (7, 0)
    assert (v1jobs["requests"], v1jobs["errors"]) == (2, 0)
    assert (keys["requests"], keys["errors"], keys["error_rate"]) == (3, 3, 1.0)
    assert jobs["api_key_id"] == key_id and jobs["role"] == "viewer"
    assert 0 < jobs["p50_ms"] <= jobs["p95_ms"] <= jobs["p99_ms"]
    # an operator may not read them
    assert live_server.call("GET", "/api/metrics/routes", key=live_server.key("operator")).status_code == 403


@pytest.fixture(scope="module")
def default_quota_server(live_server):
    """A second real server with the role-default quotas, on its own database."""
    from tests.conftest import own_live_server
    with own_live_server("quota", {"KEY_DEFAULT_RATE_PER_MINUTE": "", "KEY_DEFAULT_MAX_CONCURRENT": ""}) as server:
        yield server


def test_viewer_keys_default_to_100_a_minute_and_admin_keys_are_unlimited(default_quota_server):
    viewer = default_quota_server.key("viewer")
    _wait_for_a_fresh_minute(15)
    codes = [default_quota_server.call("GET", "/api/jobs?limit=1", key=viewer).status_code for _ in range(105)]
    assert codes.count(200) == 100 and codes[100:] == [429] * 5
    admin_codes = {default_quota_server.call("GET", "/api/jobs?limit=1").status_code for _ in range(120)}
    assert admin_codes == {200}


def test_an_operator_key_s_default_quota_holds_under_concurrent_clients(default_quota_server):
    """100 a minute and 10 at once, one round trip each: 8 clients never exceed the
    concurrency, so exactly 100 calls of the 120 pass and the rest are over the rate."""
    operator = default_quota_server.key("operator")
    _wait_for_a_fresh_minute(15)

    def client(_):
        s = requests.Session()
        return [s.get(default_quota_server.url + "/api/jobs?limit=1", timeout=30,
                      headers={"Authorization": f"Bearer {operator}"}) for _ in range(15)]

    with ThreadPoolExecutor(8) as pool:
        answers = [a for batch in pool.map(client, range(8)) for a in batch]
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 100 and codes.count(429) == 20
    assert {a.json()["error"]["details"]["scope"] for a in answers if a.status_code == 429} == {"api_key"}
    assert sorted(int(a.headers["RateLimit-Remaining"]) for a in answers if a.status_code == 200) == list(
        range(100))
