"""Every route that can run as a job: `priority` routes it to the critical /
default / low SQS queue (moto_server), an `Idempotency-Key` header makes a
retried submit answer the first job, one spelling (`async`), and a cancel is
safe: a cancelled import leaves no template; a permanent failure is not retried."""
from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from chalicelib.jobs import JobContext, register_job, submit_job
from chalicelib.jobs.registry import PRIORITIES
from chalicelib.settings import reset_settings
from tests.conftest import base_settings
from tests.net.loopback_http import LoopbackServer

SPEC = json.dumps({"openapi": "3.0.3", "info": {"title": "jobs", "version": "1"},
                   "paths": {"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}}})


def async_routes() -> list:
    return [
        ("/api/templates/import-url", lambda: {"url": "https://specs.example.com/a.yaml", "async": True}),
        ("/api/documents", lambda: {"content": SPEC, "base_url": "https://api.example.com",
                                    "name": f"j-{uuid.uuid4().hex[:8]}", "async": True}),
        ("/api/health-checks/run", lambda: {"document_ids": [], "async": True}),
    ]


ROUTES = async_routes()


@pytest.mark.parametrize("priority", PRIORITIES)
@pytest.mark.parametrize("path,body", ROUTES, ids=[r[0] for r in ROUTES])
def test_priority_routes_the_job_to_its_queue(api, sqs_env, path, body, priority):
    before = {p: sqs_env.count(sqs_env.urls[p]) for p in PRIORITIES}
    r = api.post(path, {**body(), "priority": priority})
    assert r.status == 202, r.json
    assert r.data["priority"] == priority and r.data["status"] == "queued"
    after = {p: sqs_env.count(sqs_env.urls[p]) for p in PRIORITIES}
    assert {p: after[p] - before[p] for p in PRIORITIES} == {p: int(p == priority) for p in PRIORITIES}


@pytest.mark.parametrize("path,body", ROUTES, ids=[r[0] for r in ROUTES])
def test_without_a_priority_the_job_is_default_and_an_unknown_one_is_refused(api, sqs_env, path, body):
    assert api.post(path, body()).data["priority"] == "default"
    r = api.post(path, {**body(), "priority": "urgent"})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", "priority"]


@pytest.mark.parametrize("path,body", ROUTES, ids=[r[0] for r in ROUTES])
def test_a_second_submit_with_the_same_idempotency_key_answers_the_first_job(api, keys, sqs_env, path, body):
    key = {"Idempotency-Key": f"retry-{uuid.uuid4().hex}"}
    first = api.post(path, body(), headers=key)
    second = api.post(path, body(), headers=key)
    assert first.status == 202 and second.status == 202
    assert second.data["id"] == first.data["id"]
    assert "already submitted" in second.json["message"]
    assert sum(sqs_env.count(u) for u in sqs_env.urls.values()) == 1  # enqueued once
    other_caller = api.as_key(keys["operator"]).post(path, body(), headers=key)
    assert other_caller.status == 202 and other_caller.data["id"] != first.data["id"]  # keys are per caller
    fresh = api.post(path, body(), headers={"Idempotency-Key": f"other-{uuid.uuid4().hex}"})
    assert fresh.data["id"] != first.data["id"]


def test_an_oversized_idempotency_key_is_a_400_naming_the_header(api, sqs_env):
    r = api.post("/api/health-checks/run", {"async": True}, headers={"Idempotency-Key": "k" * 300})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["header", "Idempotency-Key"]


def test_the_old_asynchronous_spelling_is_an_unknown_field(api, sqs_env):
    r = api.post("/api/templates/import-url", {"url": "https://specs.example.com/a.yaml", "asynchronous": True})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", "asynchronous"]
    assert sum(sqs_env.count(u) for u in sqs_env.urls.values()) == 0


@pytest.fixture
def loopback_jobs(inline_queue):
    reset_settings(base_settings(job_retry_delay_s=0, outbound_allowlist=("127.0.0.1",)))
    return inline_queue


def test_a_cancelled_import_url_job_leaves_no_template(api, loopback_jobs):
    fetching, release = threading.Event(), threading.Event()

    def slow_spec(req):
        fetching.set()
        release.wait(10)
        return 200, {"Content-Type": "application/json"}, SPEC.encode()

    name = f"cancelled-{uuid.uuid4().hex[:8]}"
    with LoopbackServer(slow_spec) as srv:
        r = api.post("/api/templates/import-url", {"url": srv.url("/spec.json"), "async": True, "name": name})
        assert r.status == 202
        job_id = r.data["id"]
        assert fetching.wait(10)
        assert api.post(f"/api/jobs/{job_id}/cancel").status == 200
        release.set()
        assert loopback_jobs.wait_idle(20)
    assert api.get(f"/api/jobs/{job_id}").data["status"] == "cancelled"
    assert api.get(f"/api/templates?text={name}").data["total"] == 0


def test_an_import_url_job_that_finished_cannot_be_cancelled_and_keeps_its_template(api, loopback_jobs):
    name = f"kept-{uuid.uuid4().hex[:8]}"
    with LoopbackServer(lambda req: (200, {"Content-Type": "application/json"}, SPEC.encode())) as srv:
        r = api.post("/api/templates/import-url", {"url": srv.url("/spec.json"), "async": True, "name": name,
                                                    "priority": "critical"})
        assert loopback_jobs.wait_idle(20)
    job = api.get(f"/api/jobs/{r.data['id']}").data
    assert job["status"] == "succeeded" and job["result"]["name"] == name
    assert api.post(f"/api/jobs/{r.data['id']}/cancel").status == 409
    assert api.get(f"/api/templates?text={name}").data["total"] == 1


def test_an_import_url_that_answers_404_fails_at_once_without_retries(api, loopback_jobs):
    with LoopbackServer(lambda req: (404, {}, b"gone")) as srv:
        r = api.post("/api/templates/import-url", {"url": srv.url("/missing.json"), "async": True})
        assert loopback_jobs.wait_idle(20)
        hits = len(srv.requests)
    job = api.get(f"/api/jobs/{r.data['id']}").data
    assert job["status"] == "failed" and job["attempts"] == 1 and hits == 1
    assert "404" in job["last_error"]


GATE_WRITES = threading.Event()


def _write_marker(marker: str) -> str:
    from chalicelib.db import get_db
    get_db().execute("INSERT INTO test_job_writes (marker) VALUES (:m)", m=marker)
    return marker


@register_job("test.jobs.commits", max_attempts=1)
def committing_job(ctx: JobContext):
    GATE_WRITES.wait(10)
    return ctx.commit(lambda: _write_marker(ctx.payload["marker"]), lambda m: {"marker": m})


@pytest.mark.parametrize("cancel", [True, False])
def test_a_handler_committing_through_ctx_commit_writes_nothing_once_cancelled(api, db, inline_queue, cancel):
    db.execute("CREATE TABLE IF NOT EXISTS test_job_writes (marker text)")
    GATE_WRITES.clear()
    marker = uuid.uuid4().hex
    job = submit_job("test.jobs.commits", {"marker": marker})
    for _ in range(200):  # running: the handler waits at the gate
        if api.get(f"/api/jobs/{job['id']}").data["status"] == "running":
            break
        time.sleep(0.02)
    if cancel:
        assert api.post(f"/api/jobs/{job['id']}/cancel").status == 200
    GATE_WRITES.set()
    assert inline_queue.wait_idle(10)
    written = db.scalar("SELECT count(*) FROM test_job_writes WHERE marker = :m", m=marker)
    done = api.get(f"/api/jobs/{job['id']}").data
    if cancel:
        assert written == 0 and done["status"] == "cancelled"
    else:
        assert written == 1 and done["status"] == "succeeded" and done["result"] == {"marker": marker}
        assert api.post(f"/api/jobs/{job['id']}/cancel").status == 409
