"""The import pipeline without a database: versions, extraction, $refs,
servers, problems with pointers, and every real spec in ../shared/specs."""
import json

import pytest

from chalicelib.catalog.problems import Problems
from chalicelib.catalog.refs import RefIndex, resolve_inline
from chalicelib.catalog.spec import Limits, parse_spec, server_base_url
from chalicelib.errors import PayloadTooLarge, ValidationError
from tests.shared import SPECS


REAL_SPECS = [
    ("openai.yaml", 288, "3.1.0", "https://api.openai.com/v1"),
    ("pagerduty_rest.json", 465, "3.0.2", "https://api.pagerduty.com"),
    ("twilio_api_v2010.yaml", 197, "3.0.1", "https://api.twilio.com"),
    ("docker_engine_swagger2.yaml", 108, "2.0", None),  # no host: base_url must be given
    # 5 paths, 8 operations in the file (the issue text says 7)
    ("seed001_gorm_asynq.yaml", 8, "3.0.3", "http://localhost:8080/api/v1"),
    ("oai_petstore.yaml", 3, "3.0.0", "http://petstore.swagger.io/v1"),
    ("oai_petstore-expanded.yaml", 4, "3.0.0", "https://petstore.swagger.io/v2"),
    ("oai_uspto.yaml", 3, "3.0.1", "https://developer.uspto.gov/ds-api"),
    ("oai_api-with-examples.yaml", 2, "3.0.0", None),
    ("oai_callback-example.yaml", 1, "3.0.0", None),
    ("oai_link-example.yaml", 6, "3.0.0", None),
]


def spec_doc(paths=None, **extra) -> str:
    doc = {"openapi": "3.0.3", "info": {"title": "T", "version": "1.0"},
           "paths": paths if paths is not None else {"/pets": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    doc.update(extra)
    return json.dumps(doc)


def problems_of(exc) -> list[dict]:
    return exc.value.details["errors"]


def test_every_real_spec_file_is_covered_by_the_table():
    assert {p.name for p in SPECS.iterdir() if p.suffix in (".yaml", ".json")} == {r[0] for r in REAL_SPECS}


@pytest.mark.parametrize("name, operations, version, base_url", REAL_SPECS)
def test_real_spec_parses_with_the_expected_operation_count(name, operations, version, base_url):
    parsed = parse_spec((SPECS / name).read_bytes())
    assert len(parsed.endpoints) == operations
    assert parsed.spec_version == version
    assert parsed.base_url == base_url
    assert len({(e["path"], e["method"]) for e in parsed.endpoints}) == operations
    # what is stored per endpoint is JSON (no NaN, no Python-only types) and small
    rows = json.dumps([[e["parameters"], e["request_body_schema"], e["response_schemas"]]
                       for e in parsed.endpoints], allow_nan=False)
    assert len(rows) < 2 * parsed.size_bytes


def test_relative_swagger_server_resolves_against_the_import_url():
    parsed = parse_spec((SPECS / "docker_engine_swagger2.yaml").read_bytes(),
                        import_url="https://docs.example.com/engine/api/swagger.yaml")
    assert parsed.base_url == "https://docs.example.com/v1.56"


# ---- the bad-input corpus ------------------------------------------------------------------

@pytest.mark.parametrize("body, pointer, words", [
    ('{"info": {"title": "x"}}', "", "no 'openapi' or 'swagger' key"),
    ('{"swagger": "1.2", "paths": {}}', "/swagger", "1.2"),
    ('{"swaggerVersion": "1.2", "apis": []}', "/swaggerVersion", "1.2"),
    ('{"openapi": "2.0", "paths": {}}', "/openapi", "not supported"),
    ('{"openapi": "3.0.0", "info": {}}', "/paths", "no paths"),
    ('{"openapi": "3.0.0", "paths": ["/a"]}', "/paths", "must be a mapping"),
    ('{"openapi": "3.0.0", "paths": {}}', "/paths", "empty"),
    ('{"openapi": "3.0.0", "paths": {"/a": {"get": "nope"}}}', "/paths/~1a/get", "must be a mapping"),
    ('{"openapi": "3.0.0", "paths": {"/a": 5}}', "/paths/~1a", "must be a mapping"),
])
def test_a_spec_that_cannot_be_extracted_is_refused_with_a_pointer(body, pointer, words):
    with pytest.raises(ValidationError) as exc:
        parse_spec(body)
    assert problems_of(exc)[0]["pointer"] == pointer
    assert words in problems_of(exc)[0]["msg"]


def test_an_external_ref_is_refused_naming_its_pointer():
    body = spec_doc({"/pets": {"get": {"responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": {"$ref": "https://example.com/schemas.json#/Pet"}}}}}}}})
    with pytest.raises(ValidationError) as exc:
        parse_spec(body)
    problem = problems_of(exc)[0]
    assert problem["pointer"] == "/paths/~1pets/get/responses/200/content/application~1json/schema/$ref"
    assert "external $ref" in problem["msg"]


def test_a_dangling_ref_is_refused_naming_its_pointer_even_deep_inside_a_component():
    body = spec_doc({"/pets": {"post": {
        "requestBody": {"$ref": "#/components/requestBodies/Pet"},
        "responses": {"201": {"description": "ok"}}}}},
        components={"requestBodies": {"Pet": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Pet"}}}}},
            "schemas": {"Pet": {"type": "object", "properties": {"owner": {"$ref": "#/components/schemas/Owner"}}}}})
    with pytest.raises(ValidationError) as exc:
        parse_spec(body)
    problem = problems_of(exc)[0]
    assert problem["pointer"] == "/components/schemas/Pet/properties/owner/$ref"
    assert "#/components/schemas/Owner" in problem["msg"] and "does not resolve" in problem["msg"]


def test_a_dangling_ref_in_yaml_is_found_by_the_walk():
    body = ("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n"
            "      parameters:\n        - $ref: '#/components/parameters/Missing'\n"
            "      responses: {'200': {description: ok}}\n")
    with pytest.raises(ValidationError) as exc:
        parse_spec(body)
    assert problems_of(exc)[0]["pointer"] == "/paths/~1a/get/parameters/0/$ref"


def test_problems_are_capped_at_twenty_with_the_total_counted():
    paths = {f"/p{i}": {"get": f"not an operation {i}"} for i in range(30)}
    with pytest.raises(ValidationError) as exc:
        parse_spec(spec_doc(paths))
    assert len(problems_of(exc)) == 20 and exc.value.details["problem_count"] == 30


def test_refs_inside_examples_are_data_and_a_property_named_example_is_a_schema():
    body = spec_doc({"/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
        "schema": {"type": "object", "properties": {"example": {"$ref": "#/components/schemas/X"}}},
        "example": {"$ref": "not/a/ref"}}}}}}}}, components={"schemas": {"X": {"type": "string"}}})
    assert len(parse_spec(body).endpoints) == 1
    bad = body.replace("#/components/schemas/X", "#/components/schemas/Y")
    with pytest.raises(ValidationError):
        parse_spec(bad)


def test_an_over_limit_body_is_payload_too_large():
    with pytest.raises(PayloadTooLarge):
        parse_spec(spec_doc(), limits=Limits(max_bytes=100))


def test_the_reference_walk_refuses_a_used_schema_nested_deeper_than_the_limit():
    # JSON nesting is otherwise bounded by the decoder (see test_loader); the
    # walk applies max_depth to what endpoints use. A \\u escape forces the walk.
    schema: dict = {"type": "string", "description": "caf\u00e9"}
    for _ in range(60):
        schema = {"type": "array", "items": schema}
    body = spec_doc({"/a": {"get": {"responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": schema}}}}}}})
    assert "\\u00e9" in body
    with pytest.raises(ValidationError, match="nesting deeper than 50"):
        parse_spec(body, limits=Limits(max_depth=50))
    assert len(parse_spec(body, limits=Limits(max_depth=80)).endpoints) == 1


# ---- cycles ----------------------------------------------------------------------------------

CIRCULAR = spec_doc({"/nodes": {"get": {"responses": {"200": {"description": "ok", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}},
    components={"schemas": {
        "Node": {"type": "object", "properties": {
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            "parent": {"$ref": "#/components/schemas/Parent"}}},
        "Parent": {"type": "object", "properties": {"node": {"$ref": "#/components/schemas/Node"}}}}})


def test_circular_refs_import_and_keep_their_ref_in_the_stored_schema():
    parsed = parse_spec(CIRCULAR)
    schema = parsed.endpoints[0]["response_schemas"]["200"]["content"]["application/json"]
    assert schema == {"$ref": "#/components/schemas/Node"}


def test_inline_resolution_marks_cycles_instead_of_expanding_forever():
    parsed = parse_spec(CIRCULAR)
    index = RefIndex(parsed.spec)
    schema = parsed.endpoints[0]["response_schemas"]["200"]["content"]["application/json"]
    resolved = resolve_inline(schema, index.lookup)
    assert resolved["type"] == "object"
    assert resolved["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node", "x-circular": True}
    assert resolved["properties"]["parent"]["properties"]["node"]["x-circular"] is True


def test_inline_resolution_stops_at_its_budget():
    schemas = {f"S{i}": {"type": "object", "properties": {
        "a": {"$ref": f"#/components/schemas/S{i + 1}"}, "b": {"$ref": f"#/components/schemas/S{i + 1}"}}}
        for i in range(30)}
    schemas["S30"] = {"type": "string"}
    index = RefIndex({"components": {"schemas": schemas}})
    resolved = resolve_inline({"$ref": "#/components/schemas/S0"}, index.lookup, budget=500)
    assert "x-unexpanded" in json.dumps(resolved) and len(json.dumps(resolved)) < 100_000


def test_inline_resolution_leaves_a_broken_ref_marked():
    index = RefIndex({"components": {}})
    out = resolve_inline({"$ref": "#/components/schemas/Gone"}, index.lookup)
    assert "does not resolve" in out["x-unresolved"]


# ---- endpoints ---------------------------------------------------------------------------------

def test_endpoint_fields_are_extracted():
    body = spec_doc({
        "/pets/{id}": {
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "verbose", "in": "query", "schema": {"type": "boolean"}, "description": "path level"},
            ],
            "get": {
                "operationId": "getPet", "summary": "Get", "description": "Long", "tags": ["pets", 7],
                "parameters": [{"name": "verbose", "in": "query", "schema": {"type": "integer"}},
                               {"name": "verbose", "in": "header", "schema": {"type": "string"}},
                               {"$ref": "#/components/parameters/Trace"}],
                "responses": {"200": {"description": "ok", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}},
                    "application/xml": {"schema": {"type": "string"}}}},
                    "404": {"$ref": "#/components/responses/NotFound"}},
                "security": [],
            },
            "put": {"deprecated": True, "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}, "example": {"a": 1}}}},
                "responses": {"204": {"description": "done"}}},
            "trace": {"responses": {"200": {"description": "ok"}}},
        }},
        security=[{"key": []}],
        components={"schemas": {"Pet": {"type": "object"}},
                    "parameters": {"Trace": {"name": "X-Trace", "in": "header", "schema": {"type": "string"}}},
                    "responses": {"NotFound": {"description": "missing", "content": {
                        "application/json": {"schema": {"type": "object"}}}}},
                    "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}})
    parsed = parse_spec(body)
    by_method = {e["method"]: e for e in parsed.endpoints}
    assert set(by_method) == {"GET", "PUT"}
    assert parsed.skipped == [{"path": "/pets/{id}", "method": "TRACE", "reason": "method not supported by the gateway"}]
    assert any("TRACE" in w["message"] for w in parsed.warnings)

    get = by_method["GET"]
    assert (get["operation_id"], get["summary"], get["description"]) == ("getPet", "Get", "Long")
    assert get["tags"] == ["pets"]
    params = {(p["name"], p["in"]): p for p in get["parameters"]}
    assert set(params) == {("id", "path"), ("verbose", "query"), ("verbose", "header"), ("X-Trace", "header")}
    assert params[("verbose", "query")]["schema"] == {"type": "integer"}  # operation wins by (name, in)
    assert get["response_schemas"]["200"]["content"] == {
        "application/json": {"$ref": "#/components/schemas/Pet"}, "application/xml": {"type": "string"}}
    assert get["response_schemas"]["404"] == {"description": "missing",
                                              "content": {"application/json": {"type": "object"}}}
    assert get["auth_required"] is False  # security: [] overrides the global requirement
    assert get["request_body_schema"] is None

    put = by_method["PUT"]
    assert put["auth_required"] is True  # global security applies
    assert put["is_deprecated"] is True and put["status"] == "deprecated"
    assert put["request_body_schema"] == {"required": True, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}


@pytest.mark.parametrize("security, required", [
    (None, False), ([], False), ([{}], False), ([{"key": []}], True),
    ([{"key": []}, {}], False), ([{"key": [], "other": []}], True),
])
def test_auth_required_follows_the_security_requirement(security, required):
    op = {"responses": {"200": {"description": "ok"}}}
    if security is not None:
        op["security"] = security
    assert parse_spec(spec_doc({"/a": {"get": op}})).endpoints[0]["auth_required"] is required


def test_yaml_status_codes_are_strings_and_duplicate_operation_ids_warn():
    body = ("openapi: '3.0.0'\ninfo: {title: t, version: '1'}\npaths:\n"
            "  /a: {get: {operationId: x, responses: {200: {description: ok}}}}\n"
            "  /b: {get: {operationId: x, responses: {default: {description: ok}}}}\n")
    parsed = parse_spec(body)
    assert list(parsed.endpoints[0]["response_schemas"]) == ["200"]
    assert any("also used by GET /a" in w["message"] for w in parsed.warnings)


def test_what_does_not_stop_extraction_is_a_warning():
    body = spec_doc({"/a": {"get": {"parameters": [{"in": "query"}], "responses": "bad"},
                            "x-internal": True}, "b": {"post": {}}})
    parsed = parse_spec(body)
    assert len(parsed.endpoints) == 2
    messages = " ".join(w["message"] for w in parsed.warnings)
    assert "needs a name" in messages and "should start with '/'" in messages and "no responses" in messages


# ---- servers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("servers, import_url, expected", [
    ([{"url": "https://api.example.com/v1/"}], None, "https://api.example.com/v1"),
    ([{"url": "https://{region}.example.com/{base}", "variables": {
        "region": {"default": "eu", "enum": ["eu", "us"]}, "base": {"default": "v2"}}}], None,
     "https://eu.example.com/v2"),
    ([{"url": "/api/v3"}], "https://petstore3.swagger.io/api/v3/openapi.json", "https://petstore3.swagger.io/api/v3"),
    ([{"url": "/api/v3"}], None, None),
    (None, None, None),
    (None, "https://x.example.com/specs/openapi.yaml", "https://x.example.com"),
    ([{"url": "ftp://files.example.com"}], None, None),
    ([{"url": "https://{tenant}.example.com"}], None, None),
])
def test_default_base_url_comes_from_the_first_server(servers, import_url, expected):
    spec = {} if servers is None else {"servers": servers}
    assert server_base_url(spec, import_url, Problems())[1] == expected


@pytest.mark.parametrize("ref, tokens", [
    ("#/components/schemas/A~1B", ["components", "schemas", "A/B"]),
    ("#/components/schemas/A~0B", ["components", "schemas", "A~B"]),
    ("#/components/schemas/A~01", ["components", "schemas", "A~1"]),  # ~0 is decoded last (RFC 6901)
    ("#/paths/~1pets~1%7Bid%7D/get", ["paths", "/pets/{id}", "get"]),  # a URI fragment: percent-decoded first
    ("#", []),
])
def test_a_local_ref_decodes_to_its_json_pointer_tokens(ref, tokens):
    from chalicelib.catalog.refs import ref_tokens
    assert ref_tokens(ref) == tokens


def test_swagger2_parameter_refs_with_escaped_names_find_their_converted_component():
    doc = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "host": "api.example.com",
           "parameters": {"a/b": {"name": "q", "in": "query", "type": "string"}},
           "paths": {"/x": {"get": {"parameters": [{"$ref": "#/parameters/a~1b"}],
                                    "responses": {"200": {"description": "ok"}}}}}}
    parsed = parse_spec(json.dumps(doc), "json", limits=Limits())
    assert parsed.spec["components"]["parameters"]["a/b"]["name"] == "q"
    [endpoint] = parsed.endpoints
    assert [p["name"] for p in endpoint["parameters"]] == ["q"]
