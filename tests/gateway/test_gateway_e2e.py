"""End to end: seed 001's spec imported, a loopback upstream behaving as it
describes (token header included), every operation invoked through the app,
then logs and statistics read back."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib.masking import MASK
from tests.gateway.helpers import SEED001

TOKEN = "seed-token-1"


@pytest.fixture
def seed_doc(api, seed001):
    """Imported through the catalog's API, as a user would."""
    r = api.post("/api/documents", {
        "content": SEED001.read_text(), "name": f"seed001-{uuid.uuid4().hex[:8]}", "base_url": seed001.base_url,
        "auth_config": {"type": "apiKey", "in": "header", "name": "token", "value": TOKEN}})
    assert r.status == 201, r.json
    assert TOKEN not in r.body.decode()
    data = r.data
    return {"document_id": data["document"]["id"],
            "endpoints": {(e["method"], e["path"]): e["id"] for e in data["endpoints"]}}


def ep(doc, method, path):
    return doc["endpoints"][(method, path)]


def invoke(api, endpoint_id, **payload):
    return api.post(f"/api/endpoints/{endpoint_id}/invoke", payload)


def test_every_seed001_operation_is_invoked_logged_and_counted(api, db, seed001, seed_doc):
    responses = []

    r = invoke(api, ep(seed_doc, "GET", "/health"))
    assert r.status == 200, r.json
    assert r.data["status_code"] == 200
    assert r.data["body"] == {"status": "ok", "postgres": "up", "redis": "up"}
    responses.append(r)

    r = invoke(api, ep(seed_doc, "POST", "/users"),
               body={"username": "alice_1", "email": "alice@example.com", "password": "password123"})
    assert r.data["status_code"] == 200, r.data
    user = r.data["body"]["data"]
    assert user["username"] == "alice_1" and user["id"] == 1
    responses.append(r)

    r = invoke(api, ep(seed_doc, "GET", "/users"), query={"page": 1, "page_size": 10, "status": "active"})
    assert r.data["body"]["data"]["total"] == 1
    responses.append(r)

    r = invoke(api, ep(seed_doc, "GET", "/users/{id}"), path_params={"id": 1})
    assert r.data["body"]["data"]["email"] == "alice@example.com"
    responses.append(r)

    r = invoke(api, ep(seed_doc, "PUT", "/users/{id}"), path_params={"id": "1"},
               body={"status": "suspended"})
    assert r.data["body"]["data"]["status"] == "suspended"
    responses.append(r)

    r = invoke(api, ep(seed_doc, "POST", "/tasks/email"),
               body={"to": "bob@example.com", "subject": "hi", "body": "hello", "priority": "critical"})
    assert r.data["body"]["data"]["queue"] == "critical"
    responses.append(r)

    r = invoke(api, ep(seed_doc, "POST", "/tasks/sync"),
               body={"sync_type": "sim_status", "start_date": "2025-11-01", "end_date": "2025-11-12"})
    assert r.data["body"]["data"]["queue"] == "default"
    responses.append(r)

    r = invoke(api, ep(seed_doc, "DELETE", "/users/{id}"), path_params={"id": 1})
    assert r.data["status_code"] == 200
    responses.append(r)

    r = invoke(api, ep(seed_doc, "GET", "/users/{id}"), path_params={"id": 1})
    assert r.status == 200 and r.data["status_code"] == 404  # an upstream 4xx is data
    assert r.data["body"]["code"] == 1003
    responses.append(r)

    # every operation of the spec went through the gateway
    invoked = {row["api_endpoint_id"] for row in
               db.query("SELECT DISTINCT api_endpoint_id::text FROM api_call_logs WHERE api_endpoint_id = ANY(CAST(:ids AS uuid[]))",
                        ids=list(seed_doc["endpoints"].values()))}
    assert invoked == set(seed_doc["endpoints"].values())

    # the token header reached the upstream on every protected call
    protected = [q for q in seed001.requests if not q.path.endswith("/health")]
    assert protected and all(q.headers.get("token") == TOKEN for q in protected)

    # logs: one per call, found through the list API by document
    logs = api.get(f"/api/call-logs?document_id={seed_doc['document_id']}&limit=100")
    assert logs.status == 200
    assert logs.data["total"] == len(responses)
    ids = {r.data["log_id"] for r in responses}
    assert {item["id"] for item in logs.data["items"]} == ids
    for item in logs.data["items"]:
        if item["request_url"].endswith("/health"):
            continue
        assert item["request_headers"]["token"] == MASK

    # stats for GET /users/{id}: one 200, one 404
    stats = api.get(f"/api/endpoints/{ep(seed_doc, 'GET', '/users/{id}')}/stats?window=1h")
    assert stats.status == 200
    s = stats.data
    assert s["calls"] == 2 and s["successes"] == 1 and s["errors"] == 1
    assert s["success_rate"] == 0.5
    assert s["p50_ms"] is not None and s["p95_ms"] >= s["p50_ms"]
    lifetime = s["lifetime"]
    assert (lifetime["call_count"], lifetime["success_count"], lifetime["error_count"]) == (2, 1, 1)

    # the token never shows in an answer or a stored row
    for r in responses + [logs, stats]:
        assert TOKEN not in r.body.decode()
    rows = db.query("SELECT l.* FROM api_call_logs l JOIN api_endpoints e ON e.id = l.api_endpoint_id "
                    "WHERE e.api_document_id = CAST(:d AS uuid)", d=seed_doc["document_id"])
    assert TOKEN not in json.dumps(rows, default=str)
    # the password sent to createUser is masked in the log too
    assert "password123" not in json.dumps(rows, default=str)


def test_invalid_input_is_refused_before_any_upstream_call(api, seed001, seed_doc):
    r = invoke(api, ep(seed_doc, "POST", "/users"),
               body={"username": "x!", "email": "not-an-email", "password": "short"})
    assert r.status == 400
    assert r.error["code"] == "VALIDATION_ERROR"
    locs = {tuple(d["loc"]) for d in r.error["details"]["errors"]}
    assert {("body", "username"), ("body", "email"), ("body", "password")} <= locs
    r = invoke(api, ep(seed_doc, "GET", "/users"), query={"page": 0, "page_size": 1000, "status": "gone"})
    assert r.status == 400
    assert {tuple(d["loc"]) for d in r.error["details"]["errors"]} == {("query", "page"), ("query", "page_size"),
                                                               ("query", "status")}
    r = invoke(api, ep(seed_doc, "GET", "/users/{id}"))
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["path_params", "id"]
    assert seed001.requests == []
