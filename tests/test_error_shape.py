"""The one error shape (README, "Using the API"): the checker every error
answer of the suite goes through (tests/error_shape.py) refuses each wrong
shape, AppError refuses them where they are made, and one error of every
code in chalicelib/errors.py, driven through the real app, has the shape."""
from __future__ import annotations

import json
import socket
import uuid

import pytest

from chalicelib import errors
from chalicelib.errors import AppError, ValidationError, details_problems, field_error, field_errors
from tests import error_shape
from tests.conftest import _admin, _db_url, base_settings
from tests.error_shape import envelope_problems


def envelope(code="VALIDATION_ERROR", details=None, **over) -> bytes:
    doc = {"success": False, "error": {"code": code, "message": "bad input", "details": details},
           "timestamp": "2026-12-01T10:00:00.000Z", "request_id": "r-1"}
    doc.update(over)
    return json.dumps(doc).encode()


GOOD = field_errors(field_error(["body", "name"], "Field required", "missing"))


def test_the_checker_accepts_the_one_shape():
    assert envelope_problems(400, envelope(details=GOOD)) == []
    assert envelope_problems(404, envelope("NOT_FOUND")) == []
    assert envelope_problems(405, envelope("METHOD_NOT_ALLOWED", {"allowed_methods": ["GET"]})) == []
    spec = field_errors(field_error(["spec", "paths", "/a"], "not a mapping", "spec_invalid", pointer="/paths/~1a"),
                        problem_count=1)
    assert envelope_problems(400, envelope(details=spec)) == []


@pytest.mark.parametrize("details, why", [
    ([{"loc": ["body", "name"], "type": "missing", "msg": "Field required"}], "not null or an object"),
    ({"field": "keys", "issue": "empty"}, "'field'"),
    ({"problems": [{"pointer": "", "message": "x"}], "problem_count": 1}, "'problems'"),
    ({"parameter": "skipCount"}, "'parameter'"),
    ({"errors": []}, "non-empty list"),
    ({"errors": {"loc": ["body"]}}, "non-empty list"),
    ({"errors": ["body.name is required"]}, "not an object"),
    ({"errors": [{"type": "missing", "msg": "Field required"}]}, "loc"),
    ({"errors": [{"loc": "body.name", "type": "missing", "msg": "x"}]}, "loc"),
    ({"errors": [{"loc": ["body", True], "type": "missing", "msg": "x"}]}, "loc"),
    ({"errors": [{"loc": ["body", 1.5], "type": "missing", "msg": "x"}]}, "loc"),
    ({"errors": [{"loc": ["body"], "type": "minLength", "msg": "x"}]}, "snake_case"),
    ({"errors": [{"loc": ["body"], "msg": "x"}]}, "snake_case"),
    ({"errors": [{"loc": ["body"], "type": "missing", "msg": ""}]}, "msg"),
    ({"errors": [{"loc": ["body"], "type": "missing", "msg": "x", "parameter": "a"}]}, "'parameter'"),
    ({"errors": [{"loc": ["body"], "type": "missing", "msg": "x", "pointer": "paths"}]}, "JSON pointer"),
])
def test_the_checker_and_app_error_refuse_each_wrong_details_shape(details, why):
    problems = envelope_problems(400, envelope(details=details))
    assert any(why in p for p in problems), problems
    assert details_problems(details)
    with pytest.raises(TypeError, match="not the one shape"):
        ValidationError("bad input", details)
    ok = ValidationError("bad input", GOOD)
    with pytest.raises(TypeError):
        ok.details = details
    assert ok.details == GOOD


@pytest.mark.parametrize("status, body, why", [
    (400, envelope(details=None), "no details.errors"),
    (400, envelope(details={"allowed": 1}), "no details.errors"),
    (404, envelope("VALIDATION_ERROR", GOOD), "answers [400], not 404"),
    (418, envelope("TEAPOT"), "not one of"),
    (400, envelope(details=GOOD, success=True), "success is not false"),
    (400, envelope(details=GOOD, request_id=""), "request_id"),
    (400, envelope(details=GOOD, extra=1), "unknown keys"),
    (400, json.dumps({"Code": "BadRequestError", "Message": "x"}).encode(), "lacks"),
    (400, json.dumps({"success": False, "error": "bad", "timestamp": "t", "request_id": "r"}).encode(), "object"),
    (500, b"<html>Internal Server Error</html>", "not JSON"),
    (400, b"[1, 2]", "JSON list"),
])
def test_the_checker_refuses_a_wrong_envelope(status, body, why):
    problems = envelope_problems(status, body)
    assert any(why in p for p in problems), problems


def test_the_hook_fails_the_moment_a_wrong_answer_is_received():
    tally = error_shape.Tally()
    tally.check("in-process", "GET /x", 200, b"not even json")       # successes are not error answers
    tally.check("in-process", "GET /x", 404, envelope("NOT_FOUND"))
    with pytest.raises(AssertionError, match="breaks the one shape"):
        tally.check("http", "GET /y", 400, envelope(details={"field": "x", "issue": "y"}))
    assert tally.checked == {"in-process": 1, "http": 1} and len(tally.violations) == 1


def test_field_errors_flattens_items_and_keeps_context_beside_them():
    items = [field_error(["query", n], "unknown parameter", "extra_forbidden") for n in ("a", "b")]
    d = field_errors(items, field_error("body", "too deep", "too_deep"), supported=["x"])
    assert d == {"errors": [*items, {"loc": ["body"], "type": "too_deep", "msg": "too deep"}], "supported": ["x"]}
    assert errors.invalid_input(["body", 0], "bad", "enum", max=3).details == {
        "errors": [{"loc": ["body", 0], "type": "enum", "msg": "bad"}], "max": 3}


# ---- one error of every code, through the real app ------------------------------------------------------

def all_codes() -> set[str]:
    return {cls.code for cls in vars(errors).values()
            if isinstance(cls, type) and issubclass(cls, AppError)}


@pytest.fixture(scope="module")
def target_db():
    """A PostgreSQL database a connection pool may reach (not the gateway's own)."""
    name = f"errshape_{uuid.uuid4().hex[:8]}"
    admin = _admin()
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    yield name
    admin = _admin()
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pool(api, target_db, **extra) -> dict:
    from urllib.parse import urlparse
    u = urlparse(_db_url(target_db))
    body = {"display_text": f"errshape {uuid.uuid4().hex[:6]}", "db_type": "postgresql", "host": u.hostname,
            "port": u.port or 5432, "username": u.username or "postgres", "password": None,
            "database": target_db, "pool_size": 1, "max_concurrency": 2}
    body.update(extra)
    r = api.post("/api/connection-pools", body)
    assert r.status == 201, r.json
    return r.data


def _published(api, pool_id: str, template: str, **fields) -> str:
    from tests.dynamic_api.helpers import create_api
    return create_api(api, pool_id, "liquid", template, [], **fields)["name"]


def test_one_error_of_every_code_has_the_one_shape(api, anon, keys, target_db):
    from chalicelib import secrets as secret_store
    from chalicelib.settings import reset_settings
    seen: dict[str, object] = {}

    def expect(code: str, r) -> None:
        assert r.json["error"]["code"] == code, r.json
        assert envelope_problems(r.status, r.body) == []
        seen[code] = r.error["details"]

    viewer = api.as_key(keys["viewer"])
    expect("VALIDATION_ERROR", api.post("/api/keys", {"role": "nobody", "name": "x"}))
    assert seen["VALIDATION_ERROR"]["errors"][0]["loc"] == ["body", "role"]
    expect("AUTH_ERROR", anon.get("/api/keys"))
    expect("PERMISSION_DENIED", viewer.post("/api/keys", {"role": "viewer", "name": "x"}))
    expect("NOT_FOUND", api.get("/api/no-such-route"))
    expect("METHOD_NOT_ALLOWED", api.put("/api/health"))
    assert "GET" in seen["METHOD_NOT_ALLOWED"]["allowed_methods"]
    expect("NOT_ACCEPTABLE", api.get("/api/keys", headers={"Accept": "application/vnd.stepflow.v9+json"}))
    expect("UNSUPPORTED_MEDIA_TYPE", api.post("/api/keys", body="role=viewer", headers={"Content-Type": "text/csv"}))
    limited = api.post("/api/keys", {"role": "viewer", "name": "errshape limited", "rate_per_minute": 1}).data["key"]
    assert api.as_key(limited).get("/api/whoami").status == 200
    expect("RATE_LIMITED", api.as_key(limited).get("/api/whoami"))

    pool = _pool(api, target_db)
    slow = _published(api, pool["id"], "SELECT pg_sleep(3) IS NULL AS slept", timeout_ms=150)
    expect("TIMEOUT_ERROR", anon.get(f"/api/dynamic-api/invoke/{slow}"))
    broken = _published(api, pool["id"], "SELECT * FROM no_such_table_here")
    expect("QUERY_ERROR", anon.get(f"/api/dynamic-api/invoke/{broken}"))
    expect("CONFLICT", api.delete(f"/api/connection-pools/{pool['id']}"))
    dead = _pool(api, target_db, port=_closed_port())
    expect("CONNECTION_ERROR", api.post(f"/api/connection-pools/{dead['id']}/test"))

    spec = {"openapi": "3.0.3", "info": {"title": "errshape", "version": "1"},
            "paths": {"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    doc = api.post("/api/documents", {"name": f"errshape {uuid.uuid4().hex[:6]}", "content": json.dumps(spec),
                                      "base_url": f"http://127.0.0.1:{_closed_port()}"})
    assert doc.status == 201, doc.json
    endpoint = api.get(f"/api/endpoints?document_id={doc.data['document']['id']}").data["items"][0]
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",)))   # the closed port is on loopback
    expect("UPSTREAM_ERROR", api.post(f"/api/endpoints/{endpoint['endpoint_id']}/invoke", {}))

    reset_settings(base_settings(max_sync_body_bytes=64))
    expect("PAYLOAD_TOO_LARGE", api.post("/api/keys", {"role": "viewer", "name": "x" * 100}))
    reset_settings(base_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0"))
    expect("SERVICE_UNAVAILABLE", anon.get("/api/health"))
    reset_settings(base_settings(secret_keys=()))
    secret_store.set_box(None)
    expect("SYSTEM_ERROR", api.post("/api/connection-pools", {
        "display_text": "errshape secret", "db_type": "postgresql", "host": "127.0.0.1", "port": 5432,
        "username": "postgres", "password": "needs-a-key", "database": target_db}))

    assert set(seen) == all_codes(), all_codes() - set(seen)


def test_error_answers_over_http_have_the_one_shape_and_are_counted(live_server):
    before = error_shape.TALLY.checked["http"]
    viewer = live_server.key("viewer")
    answers = [
        live_server.call("POST", "/api/keys", {"role": "nobody", "name": "x"}),
        live_server.call("GET", "/api/keys", key=None),
        live_server.call("POST", "/api/keys", {"role": "viewer", "name": "x"}, key=viewer),
        live_server.call("GET", f"/api/keys/{uuid.uuid4()}/nothing"),
        live_server.call("PUT", "/api/health"),
        live_server.call("GET", "/api/keys", headers={"Accept": "application/vnd.stepflow.v9+json"}),
        live_server.call("POST", "/api/keys", data=b"{not json", headers={"Content-Type": "application/json"}),
    ]
    codes = [r.json()["error"]["code"] for r in answers]
    assert codes == ["VALIDATION_ERROR", "AUTH_ERROR", "PERMISSION_DENIED", "NOT_FOUND", "METHOD_NOT_ALLOWED",
                     "NOT_ACCEPTABLE", "VALIDATION_ERROR"]
    assert answers[-1].json()["error"]["details"]["errors"][0]["type"] == "json_invalid"
    assert error_shape.TALLY.checked["http"] - before >= len(answers)
