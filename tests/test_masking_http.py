"""Secrets through the real HTTP server (tests/live.py), as the weakest role
that reaches each route: a viewer reading a document's secrets, an operator
moving them to a host of its choice, a caller's secrets in the call log, a
failed job's internals."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib.masking import MASK
from tests.jobwait import wait_for_job
from tests.net.loopback_http import LoopbackServer

OPEN = {"responses": {"200": {"description": "ok"}}}
SPEC = json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/echo": {"get": OPEN}}})
TOKEN = f"live-bearer-{uuid.uuid4().hex[:8]}"
HEADER = f"live-header-{uuid.uuid4().hex[:8]}"


def ok(req):
    return 200, {}, {"ok": True}


@pytest.fixture
def upstream():
    with LoopbackServer(ok) as srv:
        yield srv


@pytest.fixture
def attacker():
    with LoopbackServer(ok) as srv:
        yield srv


@pytest.fixture(scope="module")
def roles(live_server):
    return {role: live_server.key(role) for role in ("operator", "viewer")}


def make_doc(live_server, key, base_url: str) -> dict:
    r = live_server.call("POST", "/api/documents", {
        "content": SPEC, "name": f"live-mask-{uuid.uuid4().hex[:8]}", "base_url": base_url,
        "auth_config": {"type": "http", "scheme": "bearer", "token": TOKEN, "headers": {"X-Api-Secret": HEADER}}},
        key=key)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_viewer_over_http_sees_the_token_and_every_auth_header_masked(live_server, roles, upstream):
    doc = make_doc(live_server, roles["operator"], upstream.url(""))["document"]
    for path in (f"/api/documents/{doc['id']}", f"/api/documents?text={doc['name']}"):
        r = live_server.call("GET", path, key=roles["viewer"])
        assert r.status_code == 200
        assert TOKEN not in r.text and HEADER not in r.text
    shown = live_server.call("GET", f"/api/documents/{doc['id']}", key=roles["viewer"]).json()["data"]
    assert shown["auth_config"]["headers"] == {"X-Api-Secret": MASK} and shown["auth_config"]["token"] == MASK


def test_operator_over_http_cannot_send_the_stored_token_to_its_own_host(live_server, roles, upstream, attacker):
    created = make_doc(live_server, roles["operator"], upstream.url(""))
    doc_id, ep_id = created["document"]["id"], created["endpoints"][0]["id"]
    r = live_server.call("PUT", f"/api/documents/{doc_id}", {"base_url": attacker.url("")}, key=roles["operator"])
    assert r.status_code == 409
    assert "auth_config" in r.json()["error"]["message"]
    inv = live_server.call("POST", f"/api/endpoints/{ep_id}/invoke", {}, key=roles["operator"])
    assert inv.status_code == 200
    assert attacker.requests == []
    assert upstream.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_operator_over_http_may_retarget_when_it_brings_its_own_secrets(live_server, roles, upstream, attacker):
    created = make_doc(live_server, roles["operator"], upstream.url(""))
    doc_id, ep_id = created["document"]["id"], created["endpoints"][0]["id"]
    r = live_server.call("PUT", f"/api/documents/{doc_id}", {
        "base_url": attacker.url(""), "auth_config": {"type": "http", "scheme": "bearer", "token": "its-own-1"}},
        key=roles["operator"])
    assert r.status_code == 200, r.text
    assert live_server.call("POST", f"/api/endpoints/{ep_id}/invoke", {}, key=roles["operator"]).status_code == 200
    assert [q.headers["Authorization"] for q in attacker.requests] == ["Bearer its-own-1"]


def test_a_callers_query_token_is_masked_in_the_call_log_and_absent_from_the_server_log(live_server, roles,
                                                                                         upstream):
    created = make_doc(live_server, roles["operator"], upstream.url(""))
    ep_id = created["endpoints"][0]["id"]
    own = f"caller-live-{uuid.uuid4().hex[:8]}"
    inv = live_server.call("POST", f"/api/endpoints/{ep_id}/invoke", {"query": {"access_token": own}},
                           key=roles["operator"])
    assert inv.status_code == 200
    logs = live_server.call("GET", f"/api/call-logs?endpoint_id={ep_id}", key=roles["viewer"])
    assert logs.status_code == 200
    assert logs.json()["data"]["items"][0]["request_url"].endswith(f"?access_token={MASK}")
    assert own not in logs.text and own not in live_server.log_text()


def test_a_failed_job_over_http_shows_a_summary_without_internals(live_server, roles):
    r = live_server.call("POST", "/api/templates/import-url", {"url": "http://192.168.7.7/x.yaml", "async": True},
                         key=roles["operator"])
    assert r.status_code == 202, r.text
    job_id = r.json()["data"]["id"]
    job = wait_for_job(live_server.api(roles["viewer"]), job_id)   # read as the viewer
    assert job["status"] == "failed"
    assert set(job["error"]) == {"code", "message", "hint"} and job["error"]["code"] == "VALIDATION_ERROR"
    text = json.dumps(job)
    assert "Traceback" not in text and "/chalicelib/" not in text and ".py" not in text
