"""Swagger 2.0 -> OpenAPI 3 conversion details."""

import pytest

from chalicelib.catalog.spec import parse_spec
from chalicelib.catalog.swagger2 import convert
from tests.shared import SPECS

SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "Pets", "version": "2.1"},
    "host": "pets.example.com:8443",
    "basePath": "/api",
    "schemes": ["http", "https"],
    "consumes": ["application/json", "application/xml"],
    "produces": ["application/json"],
    "securityDefinitions": {
        "basic": {"type": "basic"},
        "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
        "oauth": {"type": "oauth2", "flow": "application", "tokenUrl": "https://auth.example.com/token",
                  "scopes": {"read": "read"}},
        "code": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://a/auth",
                 "tokenUrl": "https://a/token", "scopes": {}},
    },
    "security": [{"key": []}],
    "parameters": {
        "Limit": {"name": "limit", "in": "query", "type": "integer", "maximum": 100},
        "PetBody": {"name": "pet", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Pet"}},
    },
    "responses": {"NotFound": {"description": "missing", "schema": {"$ref": "#/definitions/Error"}}},
    "definitions": {
        "Pet": {"type": "object", "discriminator": "kind", "properties": {
            "id": {"type": "integer"}, "owner": {"$ref": "#/definitions/Owner"},
            "nickname": {"type": "string", "x-nullable": True},
            "default": {"$ref": "#/definitions/Owner"}}},
        "Owner": {"type": "object"},
        "Error": {"type": "object"},
    },
    "paths": {
        "/pets": {
            "parameters": [{"$ref": "#/parameters/Limit"}],
            "get": {
                "parameters": [{"name": "tags", "in": "query", "type": "array", "items": {"type": "string"},
                                "collectionFormat": "multi"},
                               {"name": "ids", "in": "query", "type": "array", "items": {"type": "integer"},
                                "collectionFormat": "csv"}],
                "responses": {"200": {"description": "ok", "schema": {"type": "array",
                                                                      "items": {"$ref": "#/definitions/Pet"}},
                                      "headers": {"X-Rate": {"type": "integer", "description": "left"}},
                                      "examples": {"application/json": [{"id": 1}]}},
                              "404": {"$ref": "#/responses/NotFound"}},
            },
            "post": {"parameters": [{"$ref": "#/parameters/PetBody"}],
                     "responses": {"201": {"description": "created"}}},
        },
        "/pets/{id}/photo": {
            "put": {
                "consumes": ["multipart/form-data"],
                "produces": ["image/png"],
                "parameters": [{"name": "id", "in": "path", "required": True, "type": "string"},
                               {"name": "file", "in": "formData", "type": "file", "required": True},
                               {"name": "caption", "in": "formData", "type": "string"}],
                "responses": {"200": {"description": "ok", "schema": {"type": "file"}}},
            },
            "patch": {"consumes": ["text/plain"],
                      "parameters": [{"name": "note", "in": "formData", "type": "string"}],
                      "responses": {"204": {"description": "ok"}}},
        },
    },
}


@pytest.fixture
def oas3():
    import copy
    out, warnings = convert(copy.deepcopy(SWAGGER))
    assert warnings == []
    return out


def test_host_basepath_and_schemes_become_servers_https_first(oas3):
    assert oas3["openapi"].startswith("3.0")
    assert oas3["servers"] == [{"url": "https://pets.example.com:8443/api"},
                               {"url": "http://pets.example.com:8443/api"}]


def test_definitions_parameters_responses_move_to_components_with_refs_rewritten(oas3):
    comps = oas3["components"]
    assert set(comps["schemas"]) == {"Pet", "Owner", "Error"}
    assert comps["schemas"]["Pet"]["properties"]["owner"] == {"$ref": "#/components/schemas/Owner"}
    # a property named like a data keyword is still a schema
    assert comps["schemas"]["Pet"]["properties"]["default"] == {"$ref": "#/components/schemas/Owner"}
    assert comps["parameters"]["Limit"] == {"name": "limit", "in": "query",
                                            "schema": {"type": "integer", "maximum": 100}}
    assert comps["requestBodies"]["PetBody"]["content"]["application/xml"]["schema"] == {
        "$ref": "#/components/schemas/Pet"}
    assert comps["responses"]["NotFound"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert oas3["paths"]["/pets"]["parameters"] == [{"$ref": "#/components/parameters/Limit"}]
    assert oas3["paths"]["/pets"]["get"]["responses"]["404"] == {"$ref": "#/components/responses/NotFound"}


def test_schema_dialect_differences_are_fixed(oas3):
    pet = oas3["components"]["schemas"]["Pet"]
    assert pet["discriminator"] == {"propertyName": "kind"}
    assert pet["properties"]["nickname"]["nullable"] is True and "x-nullable" not in pet["properties"]["nickname"]


def test_security_definitions_become_security_schemes(oas3):
    schemes = oas3["components"]["securitySchemes"]
    assert schemes["basic"] == {"type": "http", "scheme": "basic"}
    assert schemes["key"] == {"type": "apiKey", "name": "X-Key", "in": "header"}
    assert schemes["oauth"] == {"type": "oauth2", "flows": {"clientCredentials": {
        "scopes": {"read": "read"}, "tokenUrl": "https://auth.example.com/token"}}}
    assert set(schemes["code"]["flows"]["authorizationCode"]) == {"scopes", "authorizationUrl", "tokenUrl"}
    assert oas3["security"] == [{"key": []}]


def test_parameters_get_a_schema_and_collection_format_becomes_style(oas3):
    params = {p["name"]: p for p in oas3["paths"]["/pets"]["get"]["parameters"]}
    assert params["tags"] == {"name": "tags", "in": "query", "style": "form", "explode": True,
                              "schema": {"type": "array", "items": {"type": "string"}}}
    assert (params["ids"]["style"], params["ids"]["explode"]) == ("form", False)


def test_responses_get_content_per_produces_with_headers_and_examples(oas3):
    ok = oas3["paths"]["/pets"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["application/json"]
    assert ok["content"]["application/json"]["example"] == [{"id": 1}]
    assert ok["content"]["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/Pet"}
    assert ok["headers"]["X-Rate"] == {"schema": {"type": "integer"}, "description": "left"}


def test_body_parameter_becomes_request_body_per_consumes(oas3):
    post = oas3["paths"]["/pets"]["post"]
    assert post["requestBody"] == {"$ref": "#/components/requestBodies/PetBody"}
    assert "parameters" not in post


def test_form_data_becomes_a_multipart_or_urlencoded_request_body(oas3):
    put = oas3["paths"]["/pets/{id}/photo"]["put"]
    assert [p["name"] for p in put["parameters"]] == ["id"]
    schema = put["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["file"] == {"type": "string", "format": "binary"}
    assert schema["required"] == ["file"]
    assert put["responses"]["200"]["content"]["image/png"]["schema"] == {"type": "string", "format": "binary"}
    patch = oas3["paths"]["/pets/{id}/photo"]["patch"]
    assert list(patch["requestBody"]["content"]) == ["application/x-www-form-urlencoded"]


def test_converted_spec_extracts_endpoints_with_request_bodies_and_auth():
    import json
    parsed = parse_spec(json.dumps(SWAGGER))
    assert parsed.converted and parsed.spec_format == "swagger" and parsed.spec_version == "2.0"
    assert parsed.base_url == "https://pets.example.com:8443/api"
    eps = {(e["method"], e["path"]): e for e in parsed.endpoints}
    assert len(eps) == 4
    post = eps[("POST", "/pets")]
    assert post["request_body_schema"]["required"] is True
    assert set(post["request_body_schema"]["content"]) == {"application/json", "application/xml"}
    assert post["auth_required"] is True
    get = eps[("GET", "/pets")]
    assert {p["name"] for p in get["parameters"]} == {"limit", "tags", "ids"}


def test_docker_swagger_converts_with_no_definitions_refs_left():
    parsed = parse_spec((SPECS / "docker_engine_swagger2.yaml").read_bytes())
    import json
    text = json.dumps(parsed.spec)
    assert '"#/definitions/' not in text
    create = next(e for e in parsed.endpoints if e["operation_id"] == "ContainerCreate")
    assert set(create["request_body_schema"]["content"]) == {"application/json", "application/octet-stream"}
    assert parsed.text.startswith("#") or "swagger" in parsed.text[:2000]  # original kept as is
