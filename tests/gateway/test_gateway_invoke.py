"""Invoke behaviour against loopback upstreams: upstream auth of each kind,
timeouts, retries, redirects, path encoding, body handling, inactive
endpoints, connection failures - and no secret ever shown or logged."""
from __future__ import annotations

import base64
import json
import threading
import time

import pytest

from chalicelib.gateway import upstream_auth
from chalicelib.masking import MASK
from tests.gateway.helpers import import_spec, set_document, spec_text

OPEN = {"responses": {"200": {"description": "ok"}}}
PATHS = {
    "/echo": {"get": OPEN, "post": OPEN, "put": OPEN},
    "/items/{name}": {"get": {**OPEN, "parameters": [{"name": "name", "in": "path", "required": True,
                                                      "schema": {"type": "string"}}]}},
    "/oauth/token": {"post": OPEN},
}


def echo(req):
    return 200, {"Set-Cookie": "sid=abc"}, {
        "method": req.method, "path": req.path, "raw_target": req.raw_target, "query": req.query,
        "headers": {k.lower(): v for k, v in req.headers.items()}, "body": req.body.decode("utf-8", "replace")}


@pytest.fixture
def doc(db, loopback):
    loopback.handler = echo
    return import_spec(db, spec_text(PATHS), base_url=loopback.url(""))


def eid(doc, method="GET", path="/echo"):
    return doc["endpoints"][(method, path)]


def call(api, endpoint_id, **payload):
    return api.post(f"/api/endpoints/{endpoint_id}/invoke", payload)


def log_row(db, log_id):
    return db.one("SELECT * FROM api_call_logs WHERE id = CAST(:id AS uuid)", id=log_id)


def assert_secret_hidden(db, secret: str, *responses):
    for r in responses:
        assert secret not in r.body.decode(), r.body
    rows = db.query("SELECT * FROM api_call_logs WHERE created_at > now() - interval '1 hour'")
    assert secret not in json.dumps(rows, default=str)


# ----------------------------------------------------------------- upstream auth

AUTH_CASES = [
    ({"type": "apiKey", "in": "header", "name": "X-Upstream-Key", "value": "k-header-secret"},
     lambda seen: seen["headers"]["x-upstream-key"] == "k-header-secret", "k-header-secret"),
    ({"type": "apiKey", "in": "query", "name": "api_key", "value": "k-query-secret"},
     lambda seen: ["api_key", "k-query-secret"] in seen["query"], "k-query-secret"),
    ({"type": "apiKey", "in": "cookie", "name": "auth", "value": "k-cookie-secret"},
     lambda seen: "auth=k-cookie-secret" in seen["headers"]["cookie"], "k-cookie-secret"),
    ({"type": "http", "scheme": "bearer", "token": "bearer-secret-1"},
     lambda seen: seen["headers"]["authorization"] == "Bearer bearer-secret-1", "bearer-secret-1"),
    ({"type": "http", "scheme": "basic", "username": "svc", "password": "basic-secret-1"},
     lambda seen: seen["headers"]["authorization"] == "Basic " + base64.b64encode(b"svc:basic-secret-1").decode(),
     "basic-secret-1"),
    ({"type": "http", "scheme": "bearer", "token": "bearer-secret-2", "headers": {"X-Tenant": "tenant-secret-9"}},
     lambda seen: seen["headers"]["x-tenant"] == "tenant-secret-9", "tenant-secret-9"),
]


@pytest.mark.parametrize("cfg,check,secret", AUTH_CASES, ids=lambda v: v.get("in") or v.get("scheme") if isinstance(v, dict) else "")
def test_each_auth_kind_reaches_the_upstream_and_never_the_logs(api, db, doc, cfg, check, secret):
    set_document(api, doc["document_id"], auth_config=cfg)
    r = call(api, eid(doc), query={"q": 1})
    assert r.status == 200, r.json
    # what the upstream saw (the echo is data: check it, then keep it out of our assertion)
    seen = r.data["body"]
    assert check(seen)
    row = log_row(db, r.data["log_id"])
    assert secret not in json.dumps(row, default=str)
    for name in ("authorization", "x-upstream-key", "x-tenant", "cookie"):
        for k, v in (row["request_headers"] or {}).items():
            if k.lower() == name:
                assert v == MASK
    if cfg.get("in") == "query":
        assert f"api_key={MASK}" in row["request_url"]
    # the stored document never shows the secret either
    stored = db.one("SELECT auth_config::text AS a FROM api_documents WHERE id = CAST(:id AS uuid)", id=doc["document_id"])
    assert secret not in stored["a"]
    logs = api.get(f"/api/call-logs?endpoint_id={eid(doc)}")
    assert secret not in logs.body.decode()


def test_callers_authorization_header_is_not_forwarded_unless_allowed(api, db, doc):
    r = call(api, eid(doc), headers={"Authorization": "Bearer caller-own", "X-Other": "1"})
    assert "authorization" not in r.data["body"]["headers"]
    assert r.data["body"]["headers"]["x-other"] == "1"
    set_document(api, doc["document_id"], auth_config={"type": "none", "forward_authorization": True})
    r = call(api, eid(doc), headers={"Authorization": "Bearer caller-own"})
    assert r.data["body"]["headers"]["authorization"] == "Bearer caller-own"
    assert log_row(db, r.data["log_id"])["request_headers"]["Authorization"] == MASK


def test_oauth2_client_credentials_token_is_cached_and_refreshed_once_on_401(api, db, doc, loopback):
    upstream_auth.clear_token_cache()
    issued = []
    revoked = set()

    def handler(req):
        if req.path == "/oauth/token":
            assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:oauth-secret-7").decode()
            assert "grant_type=client_credentials" in req.body.decode() and "scope=read+write" not in req.body.decode()
            token = f"tok-{len(issued) + 1}"
            issued.append(token)
            return 200, {}, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] in revoked:
            return 401, {}, {"error": "invalid_token"}
        return echo(req)

    loopback.handler = handler
    set_document(api, doc["document_id"], auth_config={
        "type": "oauth2", "flow": "client_credentials", "token_url": loopback.url("/oauth/token"),
        "client_id": "cid", "client_secret": "oauth-secret-7", "scopes": ["read", "write"]})
    r1 = call(api, eid(doc))
    r2 = call(api, eid(doc))
    assert r1.data["body"]["headers"]["authorization"] == "Bearer tok-1"
    assert r2.data["body"]["headers"]["authorization"] == "Bearer tok-1"
    assert issued == ["tok-1"]  # cached

    revoked.add("tok-1")  # the upstream stops accepting it before it expires
    r3 = call(api, eid(doc))
    assert r3.data["status_code"] == 200
    assert r3.data["body"]["headers"]["authorization"] == "Bearer tok-2"
    assert issued == ["tok-1", "tok-2"]

    revoked.add("tok-2")
    revoked.add("tok-3")  # still refused after one refresh: the 401 is returned as data
    r4 = call(api, eid(doc))
    assert r4.data["status_code"] == 401
    assert issued == ["tok-1", "tok-2", "tok-3"]
    assert_secret_hidden(db, "oauth-secret-7", r1, r2, r3, r4)


def test_oauth2_token_endpoint_failure_is_an_upstream_error(api, db, doc, loopback):
    upstream_auth.clear_token_cache()
    loopback.handler = lambda req: (400, {}, {"error": "invalid_client"})
    set_document(api, doc["document_id"], auth_config={
        "type": "oauth2", "flow": "client_credentials", "token_url": loopback.url("/oauth/token"),
        "client_id": "cid", "client_secret": "oauth-secret-8"})
    r = call(api, eid(doc))
    assert r.status == 502 and r.error["code"] == "UPSTREAM_ERROR"
    assert r.error["details"]["error_type"] == "auth"
    assert_secret_hidden(db, "oauth-secret-8", r)


# ----------------------------------------------------------------- failures


def test_slow_upstream_is_a_408_and_is_logged(api, db, doc, loopback):
    def slow(req):
        time.sleep(1.0)
        return echo(req)

    loopback.handler = slow
    r = call(api, eid(doc), timeout_ms=200)
    assert r.status == 408 and r.error["code"] == "TIMEOUT_ERROR"
    row = log_row(db, r.error["details"]["log_id"])
    assert row["error_type"] == "timeout" and row["response_status_code"] is None


def test_document_read_timeout_applies(api, db, doc, loopback):
    def slow(req):
        time.sleep(1.0)
        return echo(req)

    loopback.handler = slow
    set_document(api, doc["document_id"], timeout_config={"connect_ms": 500, "read_ms": 150})
    r = call(api, eid(doc))
    assert r.status == 408


def test_connection_failure_is_a_502_with_details_and_counts_as_error(api, db):
    from tests.net.loopback_http import LoopbackServer

    with LoopbackServer(echo) as srv:
        base = srv.url("")
    d = import_spec(db, spec_text(PATHS), base_url=base)
    r = call(api, eid(d))
    assert r.status == 502 and r.error["code"] == "UPSTREAM_ERROR"
    details = r.error["details"]
    assert details["error_type"] == "connection" and details["log_id"]
    counts = db.one("SELECT call_count, success_count, error_count, timed_call_count FROM api_endpoints "
                    "WHERE id = CAST(:id AS uuid)", id=eid(d))
    assert counts == {"call_count": 1, "success_count": 0, "error_count": 1, "timed_call_count": 0}


def test_retries_are_opt_in_and_only_for_idempotent_methods(api, db, doc, loopback):
    hits = {"n": 0}

    def flaky(req):
        hits["n"] += 1
        if hits["n"] % 3 != 0:
            return 503, {}, {"error": "busy"}
        return echo(req)

    loopback.handler = flaky
    r = call(api, eid(doc))
    assert r.data["status_code"] == 503 and hits["n"] == 1  # no retries by default

    hits["n"] = 0
    set_document(api, doc["document_id"], timeout_config={"retries": 3, "retry_backoff_ms": 5})
    r = call(api, eid(doc))
    assert r.data["status_code"] == 200 and r.data["attempts"] == 3 and hits["n"] == 3

    hits["n"] = 0
    r = call(api, eid(doc, "POST"), body={"a": 1})
    assert r.data["status_code"] == 503 and hits["n"] == 1  # POST is never retried


def test_connection_errors_are_retried_then_reported(api, db):
    from tests.net.loopback_http import LoopbackServer

    with LoopbackServer(echo) as srv:
        base = srv.url("")
    d = import_spec(db, spec_text(PATHS), base_url=base, timeout_config={"retries": 2, "retry_backoff_ms": 1})
    r = call(api, eid(d))
    assert r.status == 502 and r.error["details"]["attempts"] == 3


def test_redirect_to_a_refused_address_is_not_followed(api, db, doc, loopback):
    loopback.handler = lambda req: (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    r = call(api, eid(doc))
    assert r.status == 502
    assert r.error["details"]["error_type"] == "refused"
    assert r.error["details"]["address_class"] == "link-local (cloud metadata)"
    assert log_row(db, r.error["details"]["log_id"])["error_type"] == "refused"


def test_redirect_within_the_upstream_is_followed(api, doc, loopback):
    loopback.handler = lambda req: ((301, {"Location": "/items/moved"}, b"") if req.path == "/echo" else echo(req))
    r = call(api, eid(doc))
    assert r.data["status_code"] == 200 and r.data["body"]["path"] == "/items/moved"
    assert len(r.data["redirects"]) == 1


def test_path_parameter_with_dot_dot_slash_stays_in_its_segment(api, doc, loopback):
    r = call(api, eid(doc, "GET", "/items/{name}"), path_params={"name": "../../admin?x=1"})
    assert r.data["body"]["raw_target"] == "/items/..%2F..%2Fadmin%3Fx%3D1"
    r = call(api, eid(doc, "GET", "/items/{name}"), path_params={"name": ".."})
    assert r.data["body"]["raw_target"] == "/items/%2E%2E"


def test_oversized_upstream_body_is_a_502(api, db, doc, loopback):
    from chalicelib.settings import reset_settings
    from tests.conftest import base_settings

    loopback.handler = lambda req: (200, {"Content-Type": "text/plain"}, (b"x" * 1024 for _ in range(600)))
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",), gateway_max_response_bytes=256 * 1024))
    r = call(api, eid(doc))
    assert r.status == 502 and r.error["details"]["error_type"] == "too_large"


def test_the_gateway_response_limit_is_a_setting_read_from_the_environment():
    from chalicelib.settings import Settings

    assert Settings.from_env({}).gateway_max_response_bytes == 4 * 1024 * 1024
    assert Settings.from_env({"GATEWAY_MAX_RESPONSE_BYTES": "1024"}).gateway_max_response_bytes == 1024


def test_large_bodies_are_truncated_in_the_log_with_the_size_kept(api, db, doc, loopback):
    big = "y" * (200 * 1024)
    loopback.handler = lambda req: (200, {"Content-Type": "text/plain"}, big)
    r = call(api, eid(doc, "POST"), body={"blob": "z" * (100 * 1024)})
    assert r.data["body"] == big  # the caller gets it all
    row = log_row(db, r.data["log_id"])
    assert row["response_size_bytes"] == len(big)
    assert len(row["response_body"].encode()) < 64 * 1024 + 100
    assert "truncated" in row["response_body"]
    assert row["request_size_bytes"] > 100 * 1024 and len(row["request_body"]) < 64 * 1024 + 100


def test_malformed_upstream_json_comes_back_as_text_with_a_warning(api, doc, loopback):
    loopback.handler = lambda req: (200, {"Content-Type": "application/json"}, b'{"a": 1,')
    r = call(api, eid(doc))
    assert r.status == 200
    assert r.data["body"] == '{"a": 1,' and r.data["body_encoding"] == "text"
    assert "malformed" in r.data["warning"]


def test_binary_upstream_body_comes_back_as_base64(api, doc, loopback):
    payload = bytes(range(256))
    loopback.handler = lambda req: (200, {"Content-Type": "image/png"}, payload)
    r = call(api, eid(doc))
    assert r.data["body_encoding"] == "base64"
    assert base64.b64decode(r.data["body"]) == payload


def test_upstream_errors_are_data_and_counted_as_errors(api, db, doc, loopback):
    loopback.handler = lambda req: (500, {}, {"boom": True})
    r = call(api, eid(doc))
    assert r.status == 200 and r.data["status_code"] == 500 and r.data["body"] == {"boom": True}
    row = log_row(db, r.data["log_id"])
    assert row["error_type"] == "upstream_status"


@pytest.mark.parametrize("what", ["endpoint", "document"])
def test_inactive_endpoint_or_document_refuses_calls(api, db, doc, loopback, what):
    if what == "endpoint":
        assert api.patch(f"/api/endpoints/{eid(doc)}", {"status": "inactive"}).status == 200
    else:
        set_document(api, doc["document_id"], status="inactive")
    r = call(api, eid(doc))
    assert r.status == 409 and r.error["code"] == "CONFLICT"
    assert loopback.requests == []


def test_unknown_endpoint_is_404_and_malformed_id_400(api):
    assert call(api, "00000000-0000-0000-0000-000000000000").status == 404
    assert call(api, "not-a-uuid").status == 400


def test_statistics_keep_an_exact_mean(api, db, doc, loopback):
    delays = iter([0.0, 0.05, 0.2])

    def handler(req):
        time.sleep(next(delays))
        return echo(req)

    loopback.handler = handler
    times = [call(api, eid(doc)).data["response_time_ms"] for _ in range(3)]
    row = db.one("SELECT call_count, success_count, total_response_time_ms, timed_call_count, avg_response_time_ms "
                 "FROM api_endpoints WHERE id = CAST(:id AS uuid)", id=eid(doc))
    assert row["call_count"] == 3 and row["success_count"] == 3
    assert row["total_response_time_ms"] == sum(times)
    assert row["avg_response_time_ms"] == round(sum(times) / 3)


def test_concurrent_calls_keep_exact_counters(db, doc, loopback):
    from chalicelib.gateway.invoke import invoke_endpoint
    from chalicelib.gateway.request_builder import InvokeInput

    errors = []

    def worker():
        try:
            for _ in range(5):
                invoke_endpoint(eid(doc), InvokeInput())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    row = db.one("SELECT call_count, success_count FROM api_endpoints WHERE id = CAST(:id AS uuid)", id=eid(doc))
    assert row == {"call_count": 40, "success_count": 40}
    n = db.scalar("SELECT count(*) FROM api_call_logs WHERE api_endpoint_id = CAST(:id AS uuid)", id=eid(doc))
    assert n == 40


def test_nul_bytes_in_bodies_do_not_break_the_log(api, db, doc, loopback):
    loopback.handler = lambda req: (200, {"Content-Type": "text/plain"}, "a\x00b \\u0000 c")
    r = call(api, eid(doc))
    assert r.status == 200 and r.data["body"] == "a\x00b \\u0000 c"
    assert log_row(db, r.data["log_id"])["response_body"] == "a\\u0000b \\u0000 c"


def test_document_base_url_on_a_private_address_is_refused_and_logged(api, db):
    d = import_spec(db, spec_text(PATHS), base_url="http://10.0.0.1:8080")
    r = call(api, eid(d))
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR"
    assert "OUTBOUND_ALLOWLIST" in r.error["message"]
    assert log_row(db, r.error["details"]["log_id"])["error_type"] == "refused"
