"""Through the real server (tests/live.py), as the weakest role that can reach
each route: configurations are refused when saved, bad bodies and offsets
are clean 400s, an unchecked schema never breaks invoke, references recover
with their endpoint, and async work takes priority and Idempotency-Key."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.net.loopback_http import LoopbackServer

SPEC = json.dumps({
    "openapi": "3.0.3", "info": {"title": "live", "version": "1"},
    "paths": {
        "/status": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/delay/{delay}": {"get": {"parameters": [{"name": "delay", "in": "path", "required": True,
                                                   "schema": {"type": "int"}}],
                                   "responses": {"200": {"description": "ok"}}}},
    },
})


@pytest.fixture(scope="module")
def upstream():
    with LoopbackServer(lambda req: (200, {}, {"path": req.path})) as srv:
        yield srv


@pytest.fixture(scope="module")
def operator(live_server):
    return live_server.api(live_server.key("operator"))


@pytest.fixture(scope="module")
def viewer(live_server):
    return live_server.api(live_server.key("viewer"))


@pytest.fixture(scope="module")
def doc(operator, upstream):
    r = operator.post("/api/documents", {"content": SPEC, "base_url": upstream.url(""),
                                         "name": f"live-{uuid.uuid4().hex[:8]}"})
    assert r.status == 201, r.json
    return r.data


def endpoint(doc, path):
    return next(e["id"] for e in doc["endpoints"] if e["path"] == path)


@pytest.mark.parametrize("field,value,loc", [
    ("auth_config", {"type": "digest"}, ["body", "auth_config", "type"]),
    ("auth_config", {"type": "oauth2", "flow": "password", "token_url": "https://t.example/t", "client_id": "c",
                     "client_secret": "s"}, ["body", "auth_config", "flow"]),
    ("rate_limit_config", {"requests": "abc", "per_seconds": -5}, ["body", "rate_limit_config", "requests"]),
    ("timeout_config", {"retries": "x", "connect_ms": -5}, ["body", "timeout_config", "connect_ms"]),
])
def test_an_operator_saving_an_invalid_config_gets_a_400_naming_it(operator, doc, field, value, loc):
    r = operator.put(f"/api/documents/{doc['document']['id']}", {field: value})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == loc
    assert operator.post(f"/api/endpoints/{endpoint(doc, '/status')}/invoke", {}).status == 200  # still callable


def test_a_viewer_cannot_save_a_config_and_nothing_changes(viewer, operator, doc):
    did = doc["document"]["id"]
    r = viewer.put(f"/api/documents/{did}", {"timeout_config": {"retries": 1}})
    assert r.status == 403
    assert operator.get(f"/api/documents/{did}").data["timeout_config"] is None


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000, b'{"timeout_config": {"connect_ms": NaN}}',
                                 b'{"timeout_config": {"connect_ms": 1e999}}', b'{"name": "a\\u0000"}'])
def test_bad_bodies_are_clean_400s_over_http(operator, doc, raw):
    for path in (f"/api/documents/{doc['document']['id']}", f"/api/endpoints/{endpoint(doc, '/status')}/invoke"):
        method = "PUT" if path.startswith("/api/documents") else "POST"
        r = operator.request(method, path, body=raw, headers={"Content-Type": "application/json"})
        assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR" and r.error["message"]


def test_a_huge_offset_is_a_400_naming_it_without_sqlstate(viewer):
    r = viewer.get("/api/documents?offset=99999999999999999999")
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["query", "offset"]
    assert "sqlstate" not in r.body.decode().lower()


def test_an_endpoint_with_an_invalid_schema_is_invoked_unchecked(operator, doc, upstream):
    assert any("'int' is not a JSON Schema type" in w["message"] for w in doc["warnings"])
    r = operator.post(f"/api/endpoints/{endpoint(doc, '/delay/{delay}')}/invoke", {"path_params": {"delay": 2}})
    assert r.status == 200 and r.data["body"] == {"path": "/delay/2"}


def test_a_reference_recovers_when_its_endpoint_is_active_again(operator, viewer, doc):
    eid = endpoint(doc, "/status")
    ref = operator.post("/api/references", {"resource_type": "dashboard", "resource_id": str(uuid.uuid4()),
                                            "api_endpoint_id": eid}).data
    assert viewer.patch(f"/api/endpoints/{eid}", {"status": "inactive"}).status == 403
    assert operator.patch(f"/api/endpoints/{eid}", {"status": "inactive"}).status == 200
    assert operator.post(f"/api/references/{ref['id']}/invoke", {}).status == 409
    assert operator.patch(f"/api/endpoints/{eid}", {"status": "active"}).status == 200
    assert viewer.get(f"/api/references/{ref['id']}").data["status"] == "active"
    assert operator.post(f"/api/references/{ref['id']}/invoke", {}).status == 200


def test_an_async_import_takes_priority_and_idempotency_key_over_http(operator, viewer, upstream):
    name = f"live-job-{uuid.uuid4().hex[:8]}"
    body = {"url": upstream.url("/spec.json"), "async": True, "priority": "critical", "name": name}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = operator.post("/api/templates/import-url", body, headers=key)
    second = operator.post("/api/templates/import-url", body, headers=key)
    assert first.status == 202 and second.status == 202
    assert first.data["priority"] == "critical" and second.data["id"] == first.data["id"]
    assert viewer.post("/api/templates/import-url", body).status == 403
    assert operator.post("/api/templates/import-url", {**body, "asynchronous": True}).status == 400
    job = first.data
    for _ in range(100):
        job = viewer.get(f"/api/jobs/{first.data['id']}").data
        if job["status"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    # the upstream answers JSON that is not a spec: a permanent failure, not retried
    assert job["status"] == "failed" and job["attempts"] == 1
    assert viewer.post(f"/api/jobs/{job['id']}/cancel").status == 403


def test_a_health_check_of_type_endpoint_over_http(operator, viewer, doc, upstream):
    did = doc["document"]["id"]
    assert viewer.post(f"/api/documents/{did}/health-check", {"check_type": "endpoint"}).status == 403
    r = operator.post(f"/api/documents/{did}/health-check", {"check_type": "endpoint"})
    assert r.status == 200 and r.data["check"]["check_type"] == "endpoint"
    assert r.data["check"]["status"] == "success" and r.data["check"]["details"]["url"].endswith("/status")
    again = operator.post(f"/api/documents/{did}/health-check", {"check_type": "endpoint"}).data["document"]
    assert again["previous_health_status"] == "healthy" and again["changed"] is False


def test_cancelling_an_import_url_job_over_http_leaves_no_template(operator, viewer):
    import threading

    fetching, release = threading.Event(), threading.Event()
    spec = json.dumps({"openapi": "3.0.3", "info": {"title": "slow", "version": "1"},
                       "paths": {"/a": {"get": {"responses": {"200": {"description": "ok"}}}}}})

    def slow(req):
        if req.path == "/s.json":
            fetching.set()
            release.wait(10)
        return 200, {"Content-Type": "application/json"}, spec.replace("slow", req.path).encode()

    name = f"live-cancel-{uuid.uuid4().hex[:8]}"
    with LoopbackServer(slow) as srv:
        job = operator.post("/api/templates/import-url", {"url": srv.url("/s.json"), "async": True,
                                                          "name": name}).data
        assert fetching.wait(10)
        assert viewer.post(f"/api/jobs/{job['id']}/cancel").status == 403
        assert operator.post(f"/api/jobs/{job['id']}/cancel").status == 200
        # the server runs jobs one at a time: once a later one is done, the cancelled one has finished
        later = operator.post("/api/templates/import-url", {"url": srv.url("/later.json"), "async": True,
                                                            "name": name + "-later"}).data
        release.set()
        for _ in range(200):
            if viewer.get(f"/api/jobs/{later['id']}").data["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.05)
    assert viewer.get(f"/api/jobs/{later['id']}").data["status"] == "succeeded"
    assert viewer.get(f"/api/jobs/{job['id']}").data["status"] == "cancelled"
    assert viewer.get(f"/api/templates?text={name}").data["total"] == 1  # only the later one
    assert viewer.get(f"/api/templates?text={name}-later").data["total"] == 1


def test_a_viewer_pages_references_and_call_logs_with_the_total_kept_past_the_last_page(operator, viewer, doc):
    eid = endpoint(doc, "/status")
    made = [operator.post("/api/references", {"resource_type": "form", "resource_id": str(uuid.uuid4()),
                                              "api_endpoint_id": eid}).data["id"] for _ in range(3)]
    assert viewer.post("/api/references", {"resource_type": "form", "resource_id": str(uuid.uuid4()),
                                           "api_endpoint_id": eid}).status == 403
    for ref_id in made:
        assert operator.post(f"/api/references/{ref_id}/invoke", {}).status == 200
    first = viewer.get(f"/api/references?endpoint_id={eid}&resource_type=form&limit=2")
    rest = viewer.get(f"/api/references?endpoint_id={eid}&resource_type=form&limit=2&offset=2")
    past = viewer.get(f"/api/references?endpoint_id={eid}&resource_type=form&limit=2&offset=10")
    assert first.data["total"] == rest.data["total"] == past.data["total"] == 3
    assert first.data["has_more"] and not rest.data["has_more"] and past.data["items"] == []
    listed = [r["id"] for r in first.data["items"] + rest.data["items"]]
    assert sorted(listed) == sorted(made) and listed == list(reversed(made))  # newest first
    logs = viewer.get(f"/api/call-logs?reference_id={made[0]}&offset=5")
    assert logs.status == 200 and logs.data["total"] == 1 and logs.data["items"] == []
