"""A spec's schemas that are not valid JSON Schema (httpbin's `type: int`, a
pattern that does not compile, ...) are stored import warnings naming their
pointer, and invoking such an endpoint sends the call unchecked (never a 500)."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib.settings import reset_settings
from tests.conftest import base_settings
from tests.net.loopback_http import LoopbackServer

HTTPBIN_LIKE = {
    "openapi": "3.0.3", "info": {"title": "httpbin-like", "version": "1"},
    "paths": {
        "/delay/{delay}": {"get": {
            "parameters": [{"name": "delay", "in": "path", "required": True, "schema": {"type": "int"}}],
            "responses": {"200": {"description": "ok"}}}},
        "/anything": {"post": {
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
            "responses": {"200": {"description": "ok"}}}},
        "/search": {"get": {
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "pattern": "([a-z"}}],
            "responses": {"200": {"description": "ok"}}}},
    },
    "components": {"schemas": {"Thing": {"type": "object", "properties": {"n": {"type": "int"},
                                                                          "tags": {"type": "list"}}}}},
}


@pytest.fixture
def upstream():
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",)))
    with LoopbackServer(lambda req: (200, {}, {"path": req.path})) as srv:
        yield srv


@pytest.fixture
def doc(api, upstream):
    r = api.post("/api/documents", {"content": json.dumps(HTTPBIN_LIKE), "base_url": upstream.url(""),
                                    "name": f"httpbin-{uuid.uuid4().hex[:8]}"})
    assert r.status == 201, r.json
    return r.data


def test_invalid_schemas_are_stored_import_warnings_with_their_pointer(api, doc):
    pointers = {w["pointer"]: w["message"] for w in doc["warnings"]}
    assert "/paths/~1delay~1{delay}/get/parameters/delay/schema/type" in pointers
    assert "/components/schemas/Thing/properties/n/type" in pointers
    assert "/components/schemas/Thing/properties/tags/type" in pointers
    assert "/paths/~1search/get/parameters/q/schema/pattern" in pointers
    assert "'int' is not a JSON Schema type" in pointers["/components/schemas/Thing/properties/n/type"]
    stored = api.get(f"/api/documents/{doc['document']['id']}").data
    assert stored["warning_count"] == doc["warning_count"] >= 4
    assert {w["pointer"] for w in stored["warnings"]} >= set(pointers)


@pytest.mark.parametrize("method,path,payload", [
    ("GET", "/delay/{delay}", {"path_params": {"delay": 3}}),
    ("POST", "/anything", {"body": {"n": 1, "tags": ["a"]}}),
    ("GET", "/search", {"query": {"q": "abc"}}),
])
def test_invoking_what_cannot_be_checked_sends_it_unchecked(api, doc, upstream, method, path, payload):
    eid = next(e["id"] for e in doc["endpoints"] if e["method"] == method and e["path"] == path)
    r = api.post(f"/api/endpoints/{eid}/invoke", payload)
    assert r.status == 200, r.json
    assert r.data["status_code"] == 200 and upstream.requests


def test_a_valid_spec_gets_no_schema_warnings(api, upstream):
    spec = {"openapi": "3.0.3", "info": {"title": "fine", "version": "1"},
            "paths": {"/a": {"get": {"parameters": [{"name": "n", "in": "query",
                                                     "schema": {"type": ["integer", "null"], "pattern": "^x"}}],
                                     "responses": {"200": {"description": "ok"}}}}}}
    r = api.post("/api/documents", {"content": json.dumps(spec), "base_url": upstream.url(""),
                                    "name": f"fine-{uuid.uuid4().hex[:8]}"})
    assert r.status == 201 and not [w for w in r.data["warnings"] if "not checked" in w["message"]]
