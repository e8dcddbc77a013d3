"""Document health checks against loopback servers that answer, fail, hang and refuse."""
from __future__ import annotations

import json
import socket
import time
import uuid

import pytest

from chalicelib.db import get_db
from chalicelib.schedules import health
from chalicelib.settings import reset_settings
from tests.conftest import base_settings
from tests.net.loopback_http import LoopbackServer


@pytest.fixture(autouse=True)
def loopback_allowed():
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1/32",)))


def make_document(base_url: str, config: dict | None = None) -> str:
    return str(get_db().scalar(
        """INSERT INTO api_documents (name, version, base_url, parsed_spec, original_content, content_type,
                                      health_check_config)
           VALUES (:name, '1', :url, CAST('{}' AS jsonb), '{}', 'json', CAST(:cfg AS jsonb)) RETURNING id""",
        name=f"health-{uuid.uuid4().hex[:8]}", url=base_url, cfg=json.dumps(config) if config else None))


def document(doc_id: str) -> dict:
    return get_db().one("SELECT health_status, last_health_check, health_consecutive_failures "
                        "FROM api_documents WHERE id = CAST(:id AS uuid)", id=doc_id)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def answer(status: int, head_status: int | None = None):
    def handler(req):
        if req.method == "HEAD" and head_status is not None:
            return head_status, {}, b""
        return status, {"Content-Type": "text/plain"}, b"ok"
    return handler


def hang(req):
    time.sleep(3)
    return 200, {}, b"late"


def test_connectivity_check_uses_head_and_records_success():
    with LoopbackServer(answer(200)) as srv:
        doc_id = make_document(srv.url("/"))
        out = health.check_one_now(doc_id)
        assert [r.method for r in srv.requests] == ["HEAD"]
    assert out["check"]["status"] == "success" and out["check"]["check_type"] == "connectivity"
    assert out["document"]["health_status"] == "healthy" and document(doc_id)["last_health_check"] is not None


def test_connectivity_falls_back_to_get_when_head_is_not_allowed():
    with LoopbackServer(answer(200, head_status=405)) as srv:
        out = health.check_one_now(make_document(srv.url("/")))
        assert [r.method for r in srv.requests] == ["HEAD", "GET"]
    assert out["check"]["status"] == "success" and out["check"]["details"]["method"] == "GET"


@pytest.mark.parametrize("config, status, expected", [
    ({"path": "/health", "expected_status": 200}, 200, "success"),
    ({"path": "/health", "expected_status": [200, 204]}, 204, "success"),
    ({"path": "/health", "expected_status": 200}, 503, "failed"),
    ({"path": "/health"}, 404, "failed"),
])
def test_configured_endpoint_must_answer_an_expected_status(config, status, expected):
    with LoopbackServer(answer(status)) as srv:
        out = health.check_one_now(make_document(srv.url("/api"), config))
        assert srv.requests[0].path == "/api/health"
    assert out["check"]["check_type"] == "endpoint" and out["check"]["status"] == expected


def test_hanging_upstream_is_a_timeout():
    with LoopbackServer(hang) as srv:
        out = health.check_one_now(make_document(srv.url("/"), {"path": "/", "timeout_s": 0.5}))
    assert out["check"]["status"] == "timeout" and out["check"]["response_time_ms"] < 2500


def test_refused_connection_is_a_failure():
    out = health.check_one_now(make_document(closed_port_url()))
    assert out["check"]["status"] == "failed" and out["check"]["details"]["error_type"] == "connection"


def test_outbound_guard_refuses_loopback_without_the_allowlist():
    reset_settings(base_settings())
    with LoopbackServer(answer(200)) as srv:
        out = health.check_one_now(make_document(srv.url("/")))
        assert srv.requests == []
    assert out["check"]["status"] == "failed" and out["check"]["details"]["error_type"] == "refused"


def test_document_turns_unhealthy_after_two_failures_and_healthy_after_one_success():
    state = {"status": 500}
    with LoopbackServer(lambda req: (state["status"], {}, b"")) as srv:
        doc_id = make_document(srv.url("/"))
        seen = []
        for status in (200, 500, 500, 500, 200):
            state["status"] = status
            seen.append(health.check_one_now(doc_id)["document"]["health_status"])
    assert seen == ["healthy", "healthy", "unhealthy", "unhealthy", "healthy"]


def test_hysteresis_thresholds_come_from_settings():
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1/32",), health_failures_unhealthy=1,
                                 health_successes_healthy=2))
    state = {"status": 500}
    with LoopbackServer(lambda req: (state["status"], {}, b"")) as srv:
        doc_id = make_document(srv.url("/"))
        seen = []
        for status in (500, 200, 200):
            state["status"] = status
            seen.append(health.check_one_now(doc_id)["document"]["health_status"])
    assert seen == ["unhealthy", "unhealthy", "healthy"]


def test_scheduled_run_checks_documents_concurrently_within_its_deadline():
    with LoopbackServer(answer(200)) as ok, LoopbackServer(hang) as slow:
        ids = [make_document(ok.url("/")), make_document(closed_port_url()),
               make_document(slow.url("/"), {"path": "/", "timeout_s": 30})]
        started = time.monotonic()
        report = health.run_health_checks(ids, deadline_s=1.0, concurrency=4)
        elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert report["documents"] == 3 and report["success"] == 1 and report["failed"] == 1
    assert report["timeout"] + report["skipped_deadline"] == 1
    rows = get_db().query("SELECT api_document_id, status FROM api_health_checks "
                          "WHERE api_document_id = ANY(CAST(:ids AS uuid[]))", ids=ids)
    assert len(rows) >= 2


def test_health_check_routes_run_one_page_history_and_queue_a_bulk_job(api, keys, anon):
    from chalicelib.jobs import queue as job_queue
    q = job_queue.InlineQueue()
    job_queue.set_queue(q)
    try:
        with LoopbackServer(answer(200)) as srv:
            doc_id = make_document(srv.url("/"))
            assert api.post(f"/api/documents/{doc_id}/health-check").status == 200
            assert api.post(f"/api/documents/{doc_id}/health-check").data["check"]["status"] == "success"
            page = api.get(f"/api/documents/{doc_id}/health-checks?limit=1").data
            assert page["total"] == 2 and len(page["items"]) == 1 and page["has_more"] is True
            r = api.post("/api/health-checks/run", {"async": True, "document_ids": [doc_id]})
            assert r.status == 202 and r.data["type"] == "health_checks.run"
            assert q.wait_idle(10)
            job = api.get(f"/api/jobs/{r.data['id']}").data
            assert job["status"] == "succeeded" and job["result"]["success"] == 1
    finally:
        job_queue.set_queue(None)
    missing = "00000000-0000-4000-8000-000000000000"
    assert api.post(f"/api/documents/{missing}/health-check").status == 404
    assert api.get(f"/api/documents/{missing}/health-checks").status == 404
    assert api.as_key(keys["viewer"]).post(f"/api/documents/{doc_id}/health-check").status == 403
    assert anon.get(f"/api/documents/{doc_id}/health-checks").status == 401


# ------------------------------------------------------------ check types and history

CHECKED_SPEC = {
    "openapi": "3.0.3", "info": {"title": "checked", "version": "1"},
    "paths": {
        "/items": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/status": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/items/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": True,
                                                 "schema": {"type": "string"}}],
                                "responses": {"200": {"description": "ok"}}}},
        "/search": {"get": {"parameters": [{"name": "q", "in": "query", "required": True,
                                             "schema": {"type": "string"}}],
                            "responses": {"200": {"description": "ok"}}}},
        "/orders": {"post": {"responses": {"201": {"description": "made"}}}},
    },
}


def imported(api, base_url: str) -> str:
    r = api.post("/api/documents", {"content": json.dumps(CHECKED_SPEC), "base_url": base_url,
                                    "name": f"checked-{uuid.uuid4().hex[:8]}"})
    assert r.status == 201, r.json
    return r.data["document"]["id"]


def by_path(statuses: dict):
    def handler(req):
        return statuses.get(req.path, 404), {}, b"x"
    return handler


def test_endpoint_check_calls_a_declared_parameter_free_get_and_needs_2xx_or_3xx(api):
    statuses = {"/status": 200, "/items": 200}
    with LoopbackServer(by_path(statuses)) as srv:
        doc_id = imported(api, srv.url(""))
        r = api.post(f"/api/documents/{doc_id}/health-check", {"check_type": "endpoint"})
        assert r.status == 200, r.json
        assert r.data["check"]["check_type"] == "endpoint" and r.data["check"]["status"] == "success"
        assert [(q.method, q.path) for q in srv.requests] == [("GET", "/status")]  # the health-like path first
        statuses["/status"] = 404
        r = api.post(f"/api/documents/{doc_id}/health-check", {"check_type": "endpoint"})
    assert r.data["check"]["status"] == "failed" and "404" in r.data["check"]["error_message"]


def test_full_check_calls_every_parameter_free_get_and_fails_when_one_does(api):
    statuses = {"/status": 200, "/items": 302}
    with LoopbackServer(by_path(statuses)) as srv:
        doc_id = imported(api, srv.url(""))
        ok = api.post(f"/api/documents/{doc_id}/health-check", {"check_type": "full"}).data["check"]
        assert sorted(q.path for q in srv.requests) == ["/items", "/status"]  # never /items/{id}, /search, POST
        statuses["/items"] = 500
        bad = api.post(f"/api/documents/{doc_id}/health-check", {"check_type": "full"}).data["check"]
    assert ok["check_type"] == "full" and ok["status"] == "success"
    assert bad["status"] == "failed" and "/items" in bad["error_message"]
    assert {e["path"]: e["ok"] for e in bad["details"]["endpoints"]} == {"/items": False, "/status": True}


def test_a_document_check_type_is_stored_through_the_document_route(api):
    with LoopbackServer(by_path({"/status": 200, "/items": 200})) as srv:
        doc_id = imported(api, srv.url(""))
        r = api.put(f"/api/documents/{doc_id}", {"health_check_config": {"check_type": "full"}})
        assert r.status == 200, r.json
        assert api.post(f"/api/documents/{doc_id}/health-check").data["check"]["check_type"] == "full"
    bad = api.put(f"/api/documents/{doc_id}", {"health_check_config": {"check_type": "deep"}})
    assert bad.status == 400 and bad.error["details"]["errors"][0]["loc"] == ["health_check_config", "check_type"]


def test_previous_status_is_the_one_before_the_check_and_changed_only_on_a_real_change():
    state = {"status": 200}
    with LoopbackServer(lambda req: (state["status"], {}, b"")) as srv:
        doc_id = make_document(srv.url("/"))
        seen = []
        for status in (200, 200, 500, 500, 500, 200):
            state["status"] = status
            d = health.check_one_now(doc_id)["document"]
            seen.append((d["previous_health_status"], d["health_status"], d["changed"]))
    assert seen == [("unknown", "healthy", True), ("healthy", "healthy", False), ("healthy", "healthy", False),
                    ("healthy", "unhealthy", True), ("unhealthy", "unhealthy", False),
                    ("unhealthy", "healthy", True)]


def test_a_bulk_run_lists_only_documents_whose_status_changed(api):
    with LoopbackServer(answer(200)) as srv:
        ids = [make_document(srv.url("/")) for _ in range(2)]
        first = api.post("/api/health-checks/run", {"document_ids": ids}).data
        second = api.post("/api/health-checks/run", {"document_ids": ids}).data
    assert sorted(first["became_healthy"]) == sorted(ids)
    assert second["became_healthy"] == [] and second["became_unhealthy"] == []
