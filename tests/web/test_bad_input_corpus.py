"""Bad input is never a 500: every route of the registry (chalicelib.web.api
ROUTES) that takes a body or a query gets each input of the corpus, and
answers a 4xx with the error envelope and a message, showing no SQLSTATE,
traceback or SQL.

Inputs: deep nesting, NaN, 1e999, a huge offset, wrong types, unknown fields,
invalid UTF-8, NUL bytes, an empty body, a wrong content type. Each is sent
the way it reaches that kind of route: in the body of a route that reads one,
in the query string of one that reads only a query. Routes whose path has
ids get random UUIDs: the input is judged before the id is looked up.
"""
from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest

import app  # noqa: F401  (registers every route)
from chalicelib.web.api import ROUTES

JSON = {"Content-Type": "application/json"}
HUGE = "1" + "0" * 25  # beyond 64 bits


def takes_body(route) -> bool:
    return route.body_ref is not None or route.content_types != ["application/json"]


def takes_input(route) -> bool:
    return takes_body(route) or route.query_ref is not None


def accepts_empty_body(route) -> bool:
    """An empty body is valid input for a body model whose fields are all optional."""
    model = route.body
    return model is not None and not any(f.is_required() for f in model.model_fields.values())


def body_inputs(route) -> dict:
    """name -> (body bytes, headers, query string)."""
    inputs = {
        "deep_nesting": (b'{"a": ' + b"[" * 200 + b"]" * 200 + b"}", JSON, ""),
        "nan": (b'{"limit": NaN, "name": NaN}', JSON, ""),
        "1e999": (b'{"limit": 1e999, "timeout_ms": 1e999}', JSON, ""),
        "huge_offset": (b'{"offset": ' + HUGE.encode() + b', "limit": ' + HUGE.encode() + b"}", JSON,
                        f"offset={HUGE}"),
        "wrong_types": (b"[1, 2, 3]", JSON, ""),
        "unknown_fields": (b'{"no_such_field_zz": 1, "content": "x"}', JSON, ""),
        "invalid_utf8": (b'{"name": "\xff\xfe\xfd"}', JSON, ""),
        "nul_bytes": (b'{"name": "a\\u0000b", "content": "x\\u0000"}', JSON, ""),
        "wrong_content_type": (b"<xml>not json</xml>", {"Content-Type": "application/xml"}, ""),
    }
    if not accepts_empty_body(route) or "{" in route.path:
        inputs["empty_body"] = (b"", JSON, "")
    return inputs


def query_inputs(route) -> dict:
    return {
        "deep_nesting": (b"", {}, "limit=" + quote("[" * 200 + "]" * 200)),
        "nan": (b"", {}, "limit=NaN&offset=NaN"),
        "1e999": (b"", {}, "limit=1e999"),
        "huge_offset": (b"", {}, f"offset={HUGE}"),
        "wrong_types": (b"", {}, "limit=abc&offset=-1"),
        "unknown_fields": (b"", {}, "no_such_param_zz=1"),
        "invalid_utf8": (b"", {}, "limit=%FF%FE"),
        "nul_bytes": (b"", {}, "limit=1%00"),
        "empty_body": (b"", JSON, "limit="),
        "wrong_content_type": (b"<xml/>", {"Content-Type": "application/xml"}, "limit=x"),
    }


def corpus() -> list:
    cases = []
    for route in ROUTES:
        if not takes_input(route):
            continue
        inputs = body_inputs(route) if takes_body(route) else query_inputs(route)
        for name, (body, headers, qs) in inputs.items():
            cases.append(pytest.param(route.method, route.path, body, headers, qs,
                                      id=f"{route.method} {route.path} {name}"))
    return cases


CORPUS = corpus()


def concrete(path: str) -> str:
    out = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            part = "no-such-api" if part == "{name}" else str(uuid.uuid4())
        out.append(part)
    return "/".join(out)


def test_the_corpus_covers_every_route_that_takes_input():
    routes = {(r.method, r.path) for r in ROUTES if takes_input(r)}
    covered = {(c.values[0], c.values[1]) for c in CORPUS}
    assert covered == routes and len(routes) >= 50
    print(f"bad-input corpus: {len(routes)} routes, {len(CORPUS)} requests")


def assert_clean_4xx(r) -> None:
    assert 400 <= r.status < 500, (r.status, r.body[:500])
    envelope = r.json
    assert envelope["success"] is False and envelope["error"]["code"] and envelope["error"]["message"]
    text = r.body.decode("utf-8", "replace")
    for leak in ("sqlstate", "SQLSTATE", "Traceback", "SELECT ", "/work/", "site-packages"):
        assert leak not in text, text


@pytest.mark.parametrize("method,path,body,headers,qs", CORPUS)
def test_bad_input_is_a_4xx_with_the_envelope_and_a_message(api, method, path, body, headers, qs):
    url = concrete(path) + (f"?{qs}" if qs else "")
    assert_clean_4xx(api.request(method, url, body=body, headers=headers))


@pytest.fixture(scope="module")
def http_api(live_server):
    return live_server.api("admin")


@pytest.mark.parametrize("method,path,body,headers,qs", CORPUS)
def test_bad_input_through_the_real_server_is_a_4xx_with_the_envelope(http_api, method, path, body, headers, qs):
    url = concrete(path) + (f"?{qs}" if qs else "")
    assert_clean_4xx(http_api.request(method, url, body=body, headers=headers))


@pytest.mark.parametrize("path", ["/api/documents", "/api/templates", "/api/endpoints", "/api/call-logs",
                                  "/api/jobs", "/api/references", "/api/audit-logs"])
@pytest.mark.parametrize("offset", ["100000000000", "9223372036854775808", HUGE])
def test_a_huge_offset_is_a_400_naming_the_parameter(api, path, offset):
    r = api.get(f"{path}?offset={offset}")
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"] == ["query", "offset"], r.json


INVOKE = f"/api/endpoints/{uuid.uuid4()}/invoke"


@pytest.mark.parametrize("path,depth", [
    (INVOKE, 101), (INVOKE, 200), (INVOKE, 100_000),  # request bodies: at most 100 levels
    ("/api/documents", 501), ("/api/documents", 100_000),  # a raw spec: the spec limit (YAML_MAX_DEPTH)
    ("/api/templates", 501), ("/api/templates", 100_000),
])
def test_a_deeply_nested_body_is_a_400_at_any_depth(api, path, depth):
    body = b"[" * depth + b"]" * depth
    r = api.request("POST", path, body=body, headers=JSON)
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR", r.json
    assert "levels" in r.error["message"] or "deep" in r.error["message"]


@pytest.mark.parametrize("path,body", [
    ("/api/templates/import-url", {"url": "https://example.com/spec.yaml", "asynchronous": True}),
    ("/api/templates/import-url", {"url": "https://example.com/spec.yaml", "async": True, "prio": "low"}),
    ("/api/health-checks/run", {"document_ids": [], "asynchronous": True}),
])
def test_unknown_fields_are_refused_on_every_route_naming_the_field(api, path, body):
    r = api.post(path, body)
    assert r.status == 400 and r.error["details"]["errors"][0]["type"] == "extra_forbidden"
    unknown = next(k for k in body if k not in ("url", "async", "document_ids"))
    assert r.error["details"]["errors"][0]["loc"] == ["body", unknown]
