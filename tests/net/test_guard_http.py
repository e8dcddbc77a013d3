"""The outbound guard through the real HTTP server: an operator pointing
spec import or a document at an address the registries refuse."""
from __future__ import annotations

import json
import uuid

import pytest

SPEC = json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                   "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}}})


@pytest.fixture(scope="module")
def operator(live_server):
    return live_server.key("operator")


@pytest.mark.parametrize("host,address_class", [
    ("[::ffff:0:7f00:1]", "IPv4-translated IPv6"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped IPv6"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.100", "reserved (IETF protocol assignments)"),
    ("[100::1]", "discard-only"),
    ("[2001:db8::1]", "documentation"),
    ("240.0.0.1", "reserved"),
])
def test_operator_cannot_import_a_spec_from_a_refused_address(live_server, operator, host, address_class):
    r = live_server.call("POST", "/api/templates/import-url", {"url": f"http://{host}:9/spec.json"}, key=operator)
    assert r.status_code == 400
    assert r.json()["error"]["details"]["address_class"] == address_class


def test_invoke_refuses_a_document_on_an_ipv4_translated_loopback(live_server, operator):
    r = live_server.call("POST", "/api/documents", {"content": SPEC, "name": f"guard-{uuid.uuid4().hex[:8]}",
                                                    "base_url": "http://[::ffff:0:7f00:1]:9"}, key=operator)
    assert r.status_code == 201, r.text
    ep = r.json()["data"]["endpoints"][0]["id"]
    inv = live_server.call("POST", f"/api/endpoints/{ep}/invoke", {}, key=operator)
    assert inv.status_code == 400
    assert inv.json()["error"]["details"]["address_class"] == "IPv4-translated IPv6"
