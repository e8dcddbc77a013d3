"""Request building: validation (OAS 3.0 nullable, 3.1), URL and query
serialisation, path-parameter encoding."""
from __future__ import annotations

import pytest

from chalicelib.gateway import schemas
from chalicelib.gateway.request_builder import (InvokeInput, build_request, serialize_path, serialize_query)
from chalicelib.errors import ValidationError

BASE = "http://up.example/v1"


def param(name, where="query", schema=None, **kw):
    return {"name": name, "in": where, "schema": schema or {"type": "string"}, **kw}


@pytest.mark.parametrize(
    "value,style,explode,expected",
    [
        (5, "form", True, ["id=5"]),
        ([3, 4, 5], "form", True, ["id=3", "id=4", "id=5"]),
        ([3, 4, 5], "form", False, ["id=3,4,5"]),
        ([3, 4, 5], "spaceDelimited", False, ["id=3%204%205"]),
        ([3, 4, 5], "pipeDelimited", False, ["id=3%7C4%7C5"]),
        ({"role": "admin", "first": "Alex"}, "form", True, ["role=admin", "first=Alex"]),
        ({"role": "admin", "first": "Alex"}, "form", False, ["id=role,admin,first,Alex"]),
        ({"role": "admin", "first": "Alex"}, "deepObject", True, ["id%5Brole%5D=admin", "id%5Bfirst%5D=Alex"]),
        ("a b&c=d/é", "form", True, ["id=a%20b%26c%3Dd%2F%C3%A9"]),
        (True, "form", True, ["id=true"]),
        (None, "form", True, []),
    ],
)
def test_query_parameters_follow_style_and_explode(value, style, explode, expected):
    assert serialize_query("id", value, style, explode) == expected


def test_allow_reserved_keeps_reserved_characters():
    assert serialize_query("q", "a/b?c", "form", True, allow_reserved=True) == ["q=a/b?c"]


@pytest.mark.parametrize(
    "value,style,explode,expected",
    [
        (5, "simple", False, "5"),
        ([3, 4, 5], "simple", False, "3,4,5"),
        ([3, 4, 5], "label", False, ".3,4,5"),
        ([3, 4, 5], "label", True, ".3.4.5"),
        ([3, 4, 5], "matrix", False, ";id=3,4,5"),
        ([3, 4, 5], "matrix", True, ";id=3;id=4;id=5"),
        ({"role": "admin", "first": "Alex"}, "simple", False, "role,admin,first,Alex"),
        ({"role": "admin", "first": "Alex"}, "simple", True, "role=admin,first=Alex"),
        (5, "matrix", False, ";id=5"),
        (5, "label", False, ".5"),
    ],
)
def test_path_parameters_follow_style_and_explode(value, style, explode, expected):
    assert serialize_path("id", value, style, explode) == expected


@pytest.mark.parametrize(
    "value,segment",
    [
        ("../../admin", "..%2F..%2Fadmin"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("a/b?c#d", "a%2Fb%3Fc%23d"),
        ("%2e%2e", "%252e%252e"),
        ("name with space", "name%20with%20space"),
    ],
)
def test_path_parameter_values_cannot_change_the_path(value, segment):
    built = build_request("GET", "/files/{name}/meta", [param("name", "path", required=True)], None, BASE,
                          InvokeInput(path_params={"name": value}))
    assert built.url == f"{BASE}/files/{segment}/meta"


def test_every_problem_is_listed_with_its_location():
    params = [
        param("id", "path", {"type": "integer", "minimum": 1}, required=True),
        param("limit", "query", {"type": "integer", "maximum": 100}),
        param("X-Trace", "header", {"type": "string", "pattern": "^[a-f0-9]+$"}, required=True),
    ]
    body = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}}}}
    with pytest.raises(ValidationError) as info:
        build_request("POST", "/things/{id}", params, body, BASE,
                      InvokeInput(path_params={"id": 0}, query={"limit": "500"}, body={"age": "x"}))
    locs = sorted(tuple(p["loc"]) for p in info.value.details["errors"])
    assert locs == [("body",), ("body", "age"), ("headers", "X-Trace"), ("path_params", "id"), ("query", "limit")]


def test_text_values_are_coerced_to_declared_scalar_types():
    params = [param("id", "path", {"type": "integer"}, required=True), param("flag", "query", {"type": "boolean"}),
              param("ids", "query", {"type": "array", "items": {"type": "integer"}}, explode=False)]
    built = build_request("GET", "/t/{id}", params, None, BASE,
                          InvokeInput(path_params={"id": "7"}, query={"flag": "true", "ids": "1,2"}))
    assert built.url == f"{BASE}/t/7?flag=true&ids=1,2"


@pytest.mark.parametrize("openapi,schema", [
    ("3.0", {"type": "string", "nullable": True, "enum": ["a", "b"]}),
    ("3.1", {"type": ["string", "null"], "enum": ["a", "b", None]}),
])
def test_null_is_accepted_where_the_schema_allows_it(openapi, schema):
    assert schemas.problems(schema, None, ["body"]) == []
    assert schemas.problems(schema, "a", ["body"]) == []
    assert schemas.problems(schema, "c", ["body"])


def test_nullable_without_type_and_exclusive_bounds_are_converted():
    assert schemas.problems({"allOf": [{"type": "object"}], "nullable": True}, None, []) == []
    assert schemas.problems({"type": "integer", "minimum": 1, "exclusiveMinimum": True}, 1, [])
    assert schemas.problems({"type": "integer", "minimum": 1, "exclusiveMinimum": True}, 2, []) == []
    assert schemas.problems({"type": "integer", "exclusiveMinimum": 1}, 1, [])  # 3.1 numeric form


def test_read_only_properties_are_not_required_in_requests():
    schema = {"type": "object", "required": ["id", "name"],
              "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}}}
    assert schemas.problems(schema, {"name": "x"}, ["body"]) == []


def test_refs_resolve_against_the_documents_components():
    comps = schemas.convert_components({"schemas": {
        "Pet": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "tag": {"type": "string", "nullable": True},
            "parent": {"$ref": "#/components/schemas/Pet"}}}}})
    schema = {"$ref": "#/components/schemas/Pet"}
    assert schemas.problems(schema, {"name": "a", "tag": None, "parent": {"name": "b"}}, ["body"], comps, key=("t", 1)) == []
    found = schemas.problems(schema, {"parent": {"tag": 3}}, ["body"], comps, key=("t", 1))
    assert {tuple(p["loc"]) for p in found} == {("body",), ("body", "parent"), ("body", "parent", "tag")}


def test_hop_by_hop_headers_cannot_be_set_by_the_caller():
    with pytest.raises(ValidationError) as info:
        build_request("GET", "/x", [], None, BASE, InvokeInput(headers={"Host": "evil", "Content-Length": "1"}))
    assert {tuple(p["loc"]) for p in info.value.details["errors"]} == {("headers", "Host"), ("headers", "Content-Length")}


def test_form_and_json_bodies_are_encoded_for_their_media_type():
    body = {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}}
    built = build_request("POST", "/f", [], body, BASE, InvokeInput(body={"a": "1 2", "b": [1, 2]}))
    assert built.body == b"a=1%202&b=1&b=2"
    assert built.headers["Content-Type"] == "application/x-www-form-urlencoded"
    built = build_request("POST", "/f", [], None, BASE, InvokeInput(body={"a": "é"}))
    assert built.body == '{"a":"é"}'.encode() and built.headers["Content-Type"] == "application/json"


def test_content_type_the_endpoint_does_not_accept_is_refused():
    body = {"content": {"application/json": {"schema": {"type": "object"}}}}
    with pytest.raises(ValidationError) as info:
        build_request("POST", "/f", [], body, BASE, InvokeInput(body="x", content_type="text/plain"))
    assert info.value.details["errors"][0]["loc"] == ["content_type"]


def test_undeclared_path_parameter_is_refused():
    with pytest.raises(ValidationError) as info:
        build_request("GET", "/x", [], None, BASE, InvokeInput(path_params={"nope": 1}))
    assert info.value.details["errors"][0]["loc"] == ["path_params", "nope"]
