"""The server of `make run`, over real HTTP: requests never see each other's
state, a slow request stalls nobody, database connections stay bounded.

Each test drives the subprocess server of tests/live.py with many threads on
keep-alive connections and checks every answer against what its own request
asked.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

DB_POOL_MAX = 8   # the server's default (settings.db_pool_max)

ECHO_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "echo", "version": "1"},
    "paths": {
        "/echo": {"get": {"operationId": "echo", "parameters": [
            {"name": "who", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the query back"}}}},
        "/slow": {"get": {"operationId": "slow", "responses": {"200": {"description": "after 5 s"}}}},
    },
}


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    slow_release = threading.Event()

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/slow":
            self.slow_release.wait(5)
        body = json.dumps({"path": url.path, "query": parse_qs(url.query)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def echo_upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _Echo.slow_release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def echo_document(live_server, echo_upstream):
    r = live_server.call("POST", "/api/documents", {
        "content": json.dumps(ECHO_SPEC), "name": f"echo-{uuid.uuid4().hex[:6]}", "base_url": echo_upstream})
    assert r.status_code == 201, r.text
    return {f"{e['method']} {e['path']}": e["id"] for e in r.json()["data"]["endpoints"]}


class ConnectionSampler:
    """Samples the server's connections to its own database while a test runs."""

    def __init__(self, live_server):
        self.live = live_server
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        from chalicelib.db import Database
        self._db = Database(live_server.database_url, max_connections=1)
        self.dbname = self._db.scalar("SELECT current_database()")

    def count(self) -> int:
        return int(self._db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND application_name = 'stepflow' "
            "AND pid <> pg_backend_pid()", d=self.dbname))

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.count())
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, self.count())
        self._db.close()


def _hammer(n_threads: int, calls_each: int, work) -> list:
    """Run `work(thread_no, call_no, session)` from n threads with one keep-alive session each;
    answers the list of problems found (empty when every answer was right)."""
    problems: list = []

    def worker(t):
        s = requests.Session()
        try:
            for i in range(calls_each):
                p = work(t, i, s)
                if p:
                    problems.append(p)
        finally:
            s.close()

    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(worker, range(n_threads)))
    return problems


def test_concurrent_viewers_and_admins_only_ever_get_their_own_answers(live_server):
    """The race that leaked the admin-only key list to viewers: 0 wrong answers."""
    viewers = [live_server.key("viewer") for _ in range(6)]
    admins = [live_server.key("admin") for _ in range(6)]
    url = live_server.url

    def work(t, i, s):
        if t < 6:
            r = s.get(url + "/api/keys?limit=1", headers={"Authorization": f"Bearer {viewers[t]}"})
            body = r.json()
            if r.status_code != 403 or body["error"]["code"] != "PERMISSION_DENIED":
                return ("viewer got", r.status_code, r.text[:120])
        else:
            key = admins[t - 6]
            r = s.get(url + "/api/whoami", headers={"X-API-Key": key})
            data = r.json().get("data") or {}
            if r.status_code != 200 or data.get("role") != "admin" or not key.startswith(data.get("key_prefix", "?")):
                return ("admin got", r.status_code, r.text[:120])
        if r.headers["X-Request-Id"] != r.json()["request_id"]:
            return ("request id mismatch", r.headers["X-Request-Id"], r.json()["request_id"])
        return None

    with ConnectionSampler(live_server) as sampler:
        problems = _hammer(12, 250, work)
    assert problems == []
    assert sampler.peak <= DB_POOL_MAX


def test_concurrent_bodies_are_never_mixed_up(live_server):
    """Each POST's body comes back in its own answer (keys named per thread and call)."""
    url, admin = live_server.url, live_server.admin_key

    def work(t, i, s):
        name = f"mix-{t}-{i}-{uuid.uuid4().hex[:6]}"
        r = s.post(url + "/api/keys", json={"role": "viewer", "name": name},
                   headers={"Authorization": f"Bearer {admin}"})
        if r.status_code != 201 or r.json()["data"]["name"] != name:
            return (name, r.status_code, r.text[:160])
        return None

    assert _hammer(8, 25, work) == []


def test_a_gateway_burst_sends_every_caller_s_own_query_upstream(live_server, echo_document):
    endpoint = echo_document["GET /echo"]
    operator = live_server.key("operator")
    url = live_server.url

    def work(t, i, s):
        who = f"caller-{t}-{i}"
        r = s.post(f"{url}/api/endpoints/{endpoint}/invoke", json={"query": {"who": who}},
                   headers={"Authorization": f"Bearer {operator}"})
        if r.status_code != 200:
            return (who, r.status_code, r.text[:200])
        echoed = r.json()["data"]["body"]["query"].get("who")
        if echoed != [who]:
            return (who, "upstream saw", echoed)
        return None

    with ConnectionSampler(live_server) as sampler:
        problems = _hammer(16, 40, work)
    assert problems == []
    assert sampler.peak <= DB_POOL_MAX
    logged = live_server.psql("SELECT count(*) AS n FROM api_call_logs WHERE api_endpoint_id = CAST(:e AS uuid)",
                              e=endpoint)[0]["n"]
    assert logged >= 16 * 40


def test_database_connections_do_not_grow_with_the_number_of_requests(live_server):
    viewer = live_server.key("viewer")

    def work(t, i, s):
        # a fresh connection every 10th call, keep-alive otherwise
        sess = requests if i % 10 == 0 else s
        r = sess.get(live_server.url + "/api/jobs?limit=1", headers={"Authorization": f"Bearer {viewer}"})
        return None if r.status_code == 200 else (r.status_code, r.text[:120])

    with ConnectionSampler(live_server) as sampler:
        assert _hammer(16, 150, work) == []
    assert 1 <= sampler.peak <= DB_POOL_MAX


def test_slow_upstream_calls_do_not_block_health_or_the_console(live_server, echo_document):
    endpoint = echo_document["GET /slow"]
    operator = live_server.key("operator")
    _Echo.slow_release.clear()
    finished: list[float] = []

    def slow_call(_):
        r = requests.post(f"{live_server.url}/api/endpoints/{endpoint}/invoke", json={},
                          headers={"Authorization": f"Bearer {operator}"}, timeout=30)
        finished.append(time.monotonic())
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(slow_call, n) for n in range(8)]
        time.sleep(0.5)          # the 8 calls are now waiting on the upstream
        health = requests.get(live_server.url + "/api/health", timeout=10)
        console = requests.get(live_server.url + "/", timeout=10)
        answered = time.monotonic()
        assert health.status_code == 200 and health.json()["data"]["status"] == "healthy"
        assert console.status_code == 200
        assert finished == []    # health and the console answered while all 8 still waited
        _Echo.slow_release.set()
        assert [f.result() for f in futures] == [200] * 8
    assert min(finished) >= answered


def test_an_unknown_route_on_a_kept_alive_connection_is_a_404_envelope(live_server):
    s = requests.Session()
    for _ in range(3):
        r = s.get(live_server.url + "/api/nope")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "NOT_FOUND"
        assert r.headers["Content-Length"] == str(len(r.content))


def test_the_access_log_leaves_query_strings_out(live_server):
    secret = f"tok-{uuid.uuid4().hex}"
    live_server.call("GET", f"/api/jobs?limit=1&token={secret}")
    time.sleep(0.2)
    log = live_server.log_text()
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{") and '"request"' in x]
    assert any(x.get("route") == "/api/jobs" and x.get("path") == "/api/jobs" and x.get("status") == 200
               for x in lines)
    assert secret not in log


def test_an_oversized_body_is_a_413_envelope(live_server):
    r = requests.post(live_server.url + "/api/keys", data=b"x" * (10 * 1024 * 1024 + 1),
                      headers={"Authorization": f"Bearer {live_server.admin_key}",
                               "Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_a_method_no_route_declares_is_the_405_envelope_not_an_html_page(live_server, method):
    r = live_server.call(method, "/api/keys", key=live_server.key("viewer"))

    assert r.status_code == 405, r.text[:200]
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert {"GET", "POST"} <= set(r.json()["error"]["details"]["allowed_methods"])
    assert "GET" in r.headers["Allow"]
