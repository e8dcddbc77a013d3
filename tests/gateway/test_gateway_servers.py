"""Servers as OpenAPI defines them (operation over path item over document,
variables with their defaults), the document's choice among the spec's
servers beside its base_url override, and deprecated endpoints (a
`Deprecation` header and a flag in the call log)."""
from __future__ import annotations

import json
import uuid

from chalicelib.settings import reset_settings
from tests.conftest import base_settings

OK = {"responses": {"200": {"description": "ok"}}}


def doc_spec(servers, paths) -> str:
    return json.dumps({"openapi": "3.0.3", "info": {"title": "srv", "version": "1"}, "servers": servers,
                       "paths": paths})


def create(api, text, **extra):
    r = api.post("/api/documents", {"content": text, "name": f"srv-{uuid.uuid4().hex[:8]}", **extra})
    assert r.status == 201, r.json
    return r.data, {(e["method"], e["path"]): e["id"] for e in r.data["endpoints"]}


def invoke(api, endpoint_id, **payload):
    return api.post(f"/api/endpoints/{endpoint_id}/invoke", payload)


def test_the_call_reaches_the_operation_s_server_then_the_path_s_then_the_document_s(api, loopback):
    text = doc_spec([{"url": loopback.url("/doc")}], {
        "/p": {"servers": [{"url": loopback.url("/path-level")}],
               "get": {**OK, "servers": [{"url": loopback.url("/op-level")}, {"url": loopback.url("/other")}]},
               "post": OK},
        "/d": {"get": OK},
        "/rel": {"get": {**OK, "servers": [{"url": "/relative"}]}}})
    data, eps = create(api, text)
    assert data["document"]["base_url"] == loopback.url("/doc") and data["document"]["server_index"] == 0
    for key in (("GET", "/p"), ("POST", "/p"), ("GET", "/d"), ("GET", "/rel")):
        r = invoke(api, eps[key])
        assert r.status == 200 and r.data["status_code"] == 200, r.json
    assert [r.path for r in loopback.requests] == ["/op-level/p", "/path-level/p", "/doc/d", "/relative/rel"]
    ep = api.get(f"/api/endpoints/{eps[('GET', '/p')]}").data
    assert [s["url"] for s in ep["servers"]] == [loopback.url("/op-level"), loopback.url("/other")]
    assert api.get(f"/api/endpoints/{eps[('GET', '/d')]}").data["servers"] is None


def test_server_variables_take_their_defaults_and_a_default_outside_the_enum_is_a_warning(api, loopback):
    port = loopback.url("").rsplit(":", 1)[1]
    text = doc_spec([{"url": "http://{host}:{port}/{version}", "variables": {
        "host": {"default": "127.0.0.1"}, "port": {"default": port},
        "version": {"default": "v3", "enum": ["v1", "v2"]}}}], {"/x": {"get": OK}})
    data, eps = create(api, text)
    assert data["document"]["base_url"] == loopback.url("/v3")
    assert any("'v3' is not in its enum" in w["message"] for w in data["warnings"])
    assert invoke(api, eps[("GET", "/x")]).data["status_code"] == 200
    assert loopback.requests[-1].path == "/v3/x"


def test_a_document_chooses_among_the_spec_s_servers_and_keeps_a_base_url_override(api, loopback):
    servers = [{"url": loopback.url("/a")}, {"url": loopback.url("/b"), "description": "second"}]
    data, eps = create(api, doc_spec(servers, {"/x": {"get": OK}}), server_index=1)
    doc_id = data["document"]["id"]
    assert (data["document"]["base_url"], data["document"]["server_index"]) == (loopback.url("/b"), 1)
    invoke(api, eps[("GET", "/x")])
    r = api.put(f"/api/documents/{doc_id}", {"server_url": loopback.url("/a") + "/"})
    assert r.status == 200 and (r.data["base_url"], r.data["server_index"]) == (loopback.url("/a"), 0)
    invoke(api, eps[("GET", "/x")])
    assert [q.path for q in loopback.requests] == ["/b/x", "/a/x"]
    # a URL that is not in the list, an index out of range, both at once: 400 naming the field
    r = api.put(f"/api/documents/{doc_id}", {"server_url": "https://elsewhere.example.com"})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", "server_url"]
    assert r.error["details"]["servers"] == [loopback.url("/a"), loopback.url("/b")]
    r = api.put(f"/api/documents/{doc_id}", {"server_index": 2})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", "server_index"]
    r = api.put(f"/api/documents/{doc_id}", {"server_index": 1, "base_url": loopback.url("/c")})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["body", "base_url"]
    # an override: kept through a re-import whose servers moved; a chosen server follows the spec
    r = api.put(f"/api/documents/{doc_id}", {"base_url": loopback.url("/override")})
    assert r.status == 200 and r.data["server_index"] is None
    moved = doc_spec([{"url": loopback.url("/a2")}, {"url": loopback.url("/b2")}], {"/x": {"get": OK}})
    r = api.post(f"/api/documents/{doc_id}/reimport", {"content": moved})
    assert r.status == 200 and r.data["document"]["base_url"] == loopback.url("/override")
    api.put(f"/api/documents/{doc_id}", {"server_index": 1})
    r = api.post(f"/api/documents/{doc_id}/reimport",
                 {"content": doc_spec([{"url": loopback.url("/a3")}, {"url": loopback.url("/b3")}],
                                      {"/x": {"get": OK}})})
    assert r.status == 200 and r.data["document"]["base_url"] == loopback.url("/b3")


def test_an_operation_server_still_passes_the_outbound_guard(api, loopback):
    reset_settings(base_settings(outbound_allowlist=()))  # loopback no longer admitted
    text = doc_spec([{"url": "https://api.example.com"}],
                    {"/x": {"get": {**OK, "servers": [{"url": loopback.url("/op")}]}}})
    _, eps = create(api, text)
    r = invoke(api, eps[("GET", "/x")])
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR", r.json
    assert r.error["details"]["error_type"] == "refused" and "/op/x" in r.error["details"]["url"]
    assert loopback.requests == []


def test_a_deprecated_endpoint_answers_a_deprecation_header_and_its_log_is_flagged(api, loopback):
    text = doc_spec([{"url": loopback.url("")}], {"/old": {"get": {**OK, "deprecated": True}},
                                                  "/new": {"get": OK}})
    _, eps = create(api, text)
    old = invoke(api, eps[("GET", "/old")])
    assert old.status == 200 and old.headers.get("deprecation", "").startswith("@") and old.data["deprecated"] is True
    new = invoke(api, eps[("GET", "/new")])
    assert new.status == 200 and "deprecation" not in new.headers and "deprecated" not in new.data
    assert api.get(f"/api/call-logs/{old.data['log_id']}").data["deprecated"] is True
    assert api.get(f"/api/call-logs/{new.data['log_id']}").data["deprecated"] is False
    flagged = api.get(f"/api/call-logs?endpoint_id={eps[('GET', '/old')]}&deprecated=true").data
    assert [x["id"] for x in flagged["items"]] == [old.data["log_id"]]
    assert api.get(f"/api/call-logs?endpoint_id={eps[('GET', '/old')]}&deprecated=false").data["total"] == 0
    # an endpoint an operator marks deprecated answers the same
    assert api.patch(f"/api/endpoints/{eps[('GET', '/new')]}", {"status": "deprecated"}).status == 200
    again = invoke(api, eps[("GET", "/new")])
    assert again.headers.get("deprecation", "").startswith("@")
    assert api.get(f"/api/call-logs/{again.data['log_id']}").data["deprecated"] is True
