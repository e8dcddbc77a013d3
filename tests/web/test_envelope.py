"""One canonical envelope for every answer, success or error."""
from __future__ import annotations

import re

import pytest
from chalice import Chalice
from pydantic import BaseModel

from chalicelib.errors import Conflict
from chalicelib.web.api import ApiBlueprint, Ctx
from chalicelib.web.local import ApiTestClient
from chalicelib.web.middleware import http_middleware
from tests.conftest import Api

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class Thing(BaseModel):
    name: str
    size: int


def _toy_app() -> Chalice:
    toy = Chalice(app_name="toy")
    toy.register_middleware(http_middleware, "http")
    bp = ApiBlueprint(__name__ + ".toy", tag="toy")

    @bp.api("/things", "POST", role=None, body=Thing, status=201)
    def create(ctx: Ctx):
        return {"name": ctx.body.name}

    @bp.api("/named-things", "POST", role=None, body="tests.web.test_envelope:Thing",
            query="chalicelib.web.models:PageQuery", status=201)
    def create_named(ctx: Ctx):
        return {"name": ctx.body.name, "limit": ctx.query.limit}

    @bp.api("/boom", "GET", role=None)
    def boom(ctx: Ctx):
        raise RuntimeError("secret internal detail")

    @bp.api("/conflict", "GET", role=None)
    def conflict(ctx: Ctx):
        raise Conflict("already there", {"name": "x"})

    toy.register_blueprint(bp)
    return toy


@pytest.fixture(scope="module")
def toy() -> Api:
    return Api(ApiTestClient(_toy_app()).http)


def assert_error_envelope(resp, status: int, code: str):
    assert resp.status == status, resp.body
    body = resp.json
    assert set(body) == {"success", "error", "timestamp", "request_id"}
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert ISO_Z.match(body["timestamp"])
    assert body["request_id"] == resp.headers["x-request-id"]


def test_success_has_envelope_and_request_id(toy):
    r = toy.post("/things", {"name": "a", "size": 1})
    assert r.status == 201
    assert r.json["success"] is True and r.json["data"] == {"name": "a"}
    assert ISO_Z.match(r.json["timestamp"])
    assert r.json["request_id"] == r.headers["x-request-id"]


def test_malformed_json_body_returns_400(toy):
    r = toy.post("/things", body="{not json", headers={"Content-Type": "application/json"})
    assert_error_envelope(r, 400, "VALIDATION_ERROR")
    assert "malformed JSON" in r.error["message"]


def test_wrong_content_type_returns_415(toy):
    r = toy.post("/things", body="name=a", headers={"Content-Type": "text/csv"})
    assert_error_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_pydantic_failure_lists_loc_type_msg_without_internals(toy):
    r = toy.post("/things", {"name": "a", "size": "big"})
    assert_error_envelope(r, 400, "VALIDATION_ERROR")
    details = r.error["details"]
    assert details == {"errors": [{"loc": ["body", "size"], "type": "int_parsing",
                                   "msg": "Input should be a valid integer, unable to parse string as an integer"}]}
    assert "pydantic" not in r.body.decode()


def test_missing_field_is_named(toy):
    r = toy.post("/things", {"name": "a"})
    assert_error_envelope(r, 400, "VALIDATION_ERROR")
    assert r.error["details"]["errors"][0]["loc"] == ["body", "size"]
    assert r.error["details"]["errors"][0]["type"] == "missing"


def test_models_named_by_string_validate_the_request(toy):
    r = toy.post("/named-things?limit=7", {"name": "a", "size": 1})
    assert r.status == 201 and r.data == {"name": "a", "limit": 7}
    bad = toy.post("/named-things?limit=0", {"name": "a", "size": "big"})
    assert_error_envelope(bad, 400, "VALIDATION_ERROR")
    assert bad.error["details"]["errors"][0]["loc"] == ["query", "limit"]
    assert toy.post("/named-things", {"name": "a"}).error["details"]["errors"][0]["loc"] == ["body", "size"]


@pytest.mark.parametrize("ref", ["Thing", "tests.web.test_envelope:", ":Thing"])
def test_malformed_model_reference_is_refused_when_the_route_is_declared(ref):
    bp = ApiBlueprint(__name__ + ".bad", tag="toy")
    with pytest.raises(ValueError, match="package.module:ClassName"):
        bp.api("/bad", "POST", role=None, body=ref)


def test_unknown_route_returns_404(toy):
    assert_error_envelope(toy.get("/nope/nothing"), 404, "NOT_FOUND")


def test_wrong_method_returns_405_with_allow(toy):
    r = toy.request("DELETE", "/things")
    assert_error_envelope(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == "POST"


def test_unexpected_exception_is_500_without_stack_trace(toy):
    r = toy.get("/boom")
    assert_error_envelope(r, 500, "SYSTEM_ERROR")
    assert "secret internal detail" not in r.body.decode()
    assert "Traceback" not in r.body.decode()
    assert r.json["request_id"] in r.error["message"] or "request_id" in r.error["message"]


def test_typed_error_maps_to_its_status(toy):
    r = toy.get("/conflict")
    assert_error_envelope(r, 409, "CONFLICT")
    assert r.error["details"] == {"name": "x"}


def test_request_id_comes_from_api_gateway_context(chalice_app):
    event = {"requestContext": {"httpMethod": "GET", "resourcePath": "/api/health", "requestId": "rid-123",
                                "identity": {"sourceIp": "127.0.0.1"}, "path": "/api/health"},
             "headers": {}, "pathParameters": {}, "multiValueQueryStringParameters": None,
             "stageVariables": {}, "body": None}
    out = chalice_app(event, None)
    assert out["headers"]["X-Request-Id"] == "rid-123"


def test_real_app_unknown_route_and_oversized_body(api):
    assert_error_envelope(api.get("/api/does-not-exist"), 404, "NOT_FOUND")
    from chalicelib.settings import reset_settings
    from tests.conftest import base_settings
    reset_settings(base_settings(max_sync_body_bytes=100))
    r = api.post("/api/keys", {"role": "viewer", "name": "x" * 200})
    assert_error_envelope(r, 413, "PAYLOAD_TOO_LARGE")
