"""Secrets through the management API, tried by the weakest role that can
reach each route: a viewer reading documents, an operator moving a
document's stored secrets to a host of its choice, a caller's own secrets in
call logs, job errors."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib.masking import MASK
from chalicelib.net import outbound
from chalicelib.settings import reset_settings
from tests.conftest import base_settings
from tests.jobwait import wait_for_job
from tests.net.loopback_http import LoopbackServer

OPEN = {"responses": {"200": {"description": "ok"}}}
SPEC = json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                   "paths": {"/echo": {"get": OPEN}}})
BEARER = "bearer-planted-7f3a"
HEADER_SECRET = "hdr-planted-91bc"


def ok(req):
    return 200, {}, {"ok": True}


@pytest.fixture(autouse=True)
def allow_loopback():
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",)))
    yield
    outbound.close_pools()


@pytest.fixture
def upstream():
    with LoopbackServer(ok) as srv:
        yield srv


@pytest.fixture
def attacker():
    """The host an operator would like the stored token to travel to."""
    with LoopbackServer(ok) as srv:
        yield srv


@pytest.fixture
def operator(api, keys):
    return api.as_key(keys["operator"])


@pytest.fixture
def viewer(api, keys):
    return api.as_key(keys["viewer"])


def make_doc(api, base_url: str, auth_config: dict | None) -> dict:
    r = api.post("/api/documents", {"content": SPEC, "name": f"mask-{uuid.uuid4().hex[:8]}", "base_url": base_url,
                                    **({"auth_config": auth_config} if auth_config else {})})
    assert r.status == 201, r.json
    return r.data


def bearer_with_headers() -> dict:
    return {"type": "http", "scheme": "bearer", "token": BEARER, "headers": {"X-Api-Secret": HEADER_SECRET}}


def invoke(api, endpoint_id, **payload):
    return api.post(f"/api/endpoints/{endpoint_id}/invoke", payload)


# ------------------------------------------------------------- viewer reads

def test_viewer_sees_every_auth_header_value_masked_in_the_document_and_the_list(api, viewer, upstream):
    doc = make_doc(api, upstream.url(""), bearer_with_headers())["document"]
    one = viewer.get(f"/api/documents/{doc['id']}")
    assert one.status == 200
    assert one.data["auth_config"] == {"type": "http", "scheme": "bearer", "token": MASK,
                                       "headers": {"X-Api-Secret": MASK}}
    listed = viewer.get(f"/api/documents?text={doc['name']}")
    assert listed.data["items"][0]["auth_config"]["headers"] == {"X-Api-Secret": MASK}
    for r in (one, listed):
        assert BEARER not in r.body.decode() and HEADER_SECRET not in r.body.decode()


def test_audit_rows_never_hold_an_auth_header_and_viewers_cannot_read_them(api, operator, viewer, upstream):
    doc = make_doc(api, upstream.url(""), bearer_with_headers())["document"]
    changed = dict(bearer_with_headers(), headers={"X-Api-Secret": "hdr-rotated-5521"})
    assert operator.put(f"/api/documents/{doc['id']}", {"auth_config": changed}).status == 200
    assert viewer.get(f"/api/audit-logs?record_id={doc['id']}").status == 403
    audit = operator.get(f"/api/audit-logs?record_id={doc['id']}")
    assert audit.status == 200 and audit.data["total"] >= 2
    text = audit.body.decode()
    assert BEARER not in text and HEADER_SECRET not in text and "hdr-rotated-5521" not in text
    assert all(row["new_data"]["auth_config"]["headers"] == {"X-Api-Secret": MASK}
               for row in audit.data["items"] if row["new_data"])


def test_sending_the_mask_back_for_a_header_keeps_its_stored_value(api, operator, upstream):
    seen = []
    upstream.handler = lambda req: (seen.append(dict(req.headers)), ok(req))[1]
    created = make_doc(api, upstream.url(""), bearer_with_headers())
    doc = created["document"]
    shown = operator.get(f"/api/documents/{doc['id']}").data["auth_config"]
    assert operator.put(f"/api/documents/{doc['id']}", {"auth_config": shown}).status == 200
    assert invoke(operator, created["endpoints"][0]["id"]).status == 200
    assert seen[-1]["X-Api-Secret"] == HEADER_SECRET and seen[-1]["Authorization"] == f"Bearer {BEARER}"


# ------------------------------------------------------- origin binding

def test_operator_cannot_move_stored_secrets_to_another_host(api, operator, upstream, attacker):
    created = make_doc(api, upstream.url(""), bearer_with_headers())
    doc = created["document"]
    r = operator.put(f"/api/documents/{doc['id']}", {"base_url": attacker.url("/v1")})
    assert r.status == 409 and r.error["code"] == "CONFLICT"
    assert "auth_config" in r.error["message"] and "bound to their origin" in r.error["message"]
    assert r.error["details"]["errors"][0]["loc"] == ["body", "base_url"]
    # nothing changed, and the next call still goes to the original upstream only
    assert api.get(f"/api/documents/{doc['id']}").data["base_url"] == doc["base_url"]
    assert invoke(operator, created["endpoints"][0]["id"]).status == 200
    assert attacker.requests == [] and len(upstream.requests) == 1


@pytest.mark.parametrize("auth_change", [
    {"type": "http", "scheme": "bearer", "token": MASK, "headers": {"X-Api-Secret": MASK}},
    {"type": "http", "scheme": "bearer", "token": "mine-now-1234", "headers": {"X-Api-Secret": MASK}},
], ids=["all-masked", "one-secret-kept"])
def test_moving_the_origin_with_any_stored_secret_kept_is_refused(api, operator, upstream, attacker, auth_change):
    doc = make_doc(api, upstream.url(""), bearer_with_headers())["document"]
    r = operator.put(f"/api/documents/{doc['id']}", {"base_url": attacker.url(""), "auth_config": auth_change})
    assert r.status == 409 and r.error["details"]["kept_secrets"]


@pytest.mark.parametrize("new_base", ["{scheme}://localhost:{port}", "{scheme}://127.0.0.1:{other}",
                                      "https://127.0.0.1:{port}"], ids=["host", "port", "scheme"])
def test_every_origin_component_counts(api, operator, upstream, new_base):
    doc = make_doc(api, upstream.url(""), bearer_with_headers())["document"]
    url = new_base.format(scheme="http", port=upstream.port, other=upstream.port + 1)
    assert operator.put(f"/api/documents/{doc['id']}", {"base_url": url}).status == 409


def test_operator_may_move_the_origin_when_sending_the_secrets_again(api, operator, upstream, attacker):
    created = make_doc(api, upstream.url(""), bearer_with_headers())
    doc = created["document"]
    fresh = {"type": "http", "scheme": "bearer", "token": "new-host-token-1", "headers": {"X-Api-Secret": "h-2-new"}}
    r = operator.put(f"/api/documents/{doc['id']}", {"base_url": attacker.url(""), "auth_config": fresh})
    assert r.status == 200 and r.data["base_url"] == attacker.url("")
    assert invoke(operator, created["endpoints"][0]["id"]).status == 200
    assert attacker.requests[-1].headers["Authorization"] == "Bearer new-host-token-1"
    assert all(BEARER not in json.dumps(q.headers) for q in attacker.requests)


def test_path_changes_on_the_same_origin_need_no_secrets(api, operator, upstream):
    doc = make_doc(api, upstream.url(""), bearer_with_headers())["document"]
    r = operator.put(f"/api/documents/{doc['id']}", {"base_url": upstream.url("/v2")})
    assert r.status == 200 and r.data["base_url"] == upstream.url("/v2")


def test_a_document_without_secrets_moves_freely(api, operator, upstream, attacker):
    doc = make_doc(api, upstream.url(""), {"type": "none"})["document"]
    assert operator.put(f"/api/documents/{doc['id']}", {"base_url": attacker.url("")}).status == 200


def test_admin_may_move_the_origin_keeping_the_stored_secrets(api, upstream, attacker):
    created = make_doc(api, upstream.url(""), bearer_with_headers())
    doc = created["document"]
    assert api.put(f"/api/documents/{doc['id']}", {"base_url": attacker.url("")}).status == 200
    assert invoke(api, created["endpoints"][0]["id"]).status == 200
    assert attacker.requests[-1].headers["Authorization"] == f"Bearer {BEARER}"


def test_oauth2_client_secret_is_bound_to_its_token_url(api, operator, upstream, attacker):
    cfg = {"type": "oauth2", "flow": "client_credentials", "token_url": upstream.url("/oauth/token"),
           "client_id": "cid", "client_secret": "cs-planted-44aa"}
    doc = make_doc(api, upstream.url(""), cfg)["document"]
    moved = dict(cfg, client_secret=MASK, token_url=attacker.url("/token"))
    r = operator.put(f"/api/documents/{doc['id']}", {"auth_config": moved})
    assert r.status == 409 and r.error["details"]["errors"][0]["loc"] == ["body", "auth_config", "token_url"]
    same_origin = dict(cfg, client_secret=MASK, token_url=upstream.url("/oauth2/token"))
    assert operator.put(f"/api/documents/{doc['id']}", {"auth_config": same_origin}).status == 200


def test_reimport_cannot_move_stored_secrets_either(api, operator, upstream, attacker):
    doc = make_doc(api, upstream.url(""), bearer_with_headers())["document"]
    r = operator.post(f"/api/documents/{doc['id']}/reimport", {"content": SPEC, "base_url": attacker.url("")})
    assert r.status == 409 and "PUT /api/documents" in r.error["message"]
    assert api.post(f"/api/documents/{doc['id']}/reimport",
                    {"content": SPEC, "base_url": attacker.url("")}).status == 200


# ------------------------------------------------------- call logs

def test_a_callers_own_secrets_are_masked_in_the_call_log(api, operator, viewer, upstream):
    created = make_doc(api, upstream.url(""), None)
    endpoint_id = created["endpoints"][0]["id"]
    r = invoke(operator, endpoint_id, query={"token": "caller-tok-8812", "page": "2"},
               headers={"X-Api-Secret": "caller-hdr-3321"})
    assert r.status == 200
    assert upstream.requests[-1].query == [("token", "caller-tok-8812"), ("page", "2")]
    logs = viewer.get(f"/api/call-logs?endpoint_id={endpoint_id}")
    assert logs.status == 200
    item = logs.data["items"][0]
    assert item["request_url"].endswith(f"/echo?token={MASK}&page=2")
    assert item["request_params"]["query"] == {"token": MASK, "page": "2"}
    assert item["request_headers"]["X-Api-Secret"] == MASK
    assert "caller-tok-8812" not in logs.body.decode() and "caller-hdr-3321" not in logs.body.decode()


# ------------------------------------------------------- job errors

def test_a_failed_job_shows_a_summary_not_a_traceback(api, operator, viewer):
    # an async import of a spec URL the guard refuses fails for good
    r = operator.post("/api/templates/import-url", {"url": "http://10.0.0.1/spec.yaml?token=job-tok-77", "async": True})
    assert r.status == 202, r.json
    job = wait_for_job(viewer, r.data["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "VALIDATION_ERROR" and job["error"]["hint"]
    assert "private" in job["error"]["message"] and job["last_error"] == job["error"]["message"]
    shown = viewer.get(f"/api/jobs/{job['id']}").body.decode()
    assert "Traceback" not in shown and ".py" not in shown and "job-tok-77" not in shown
