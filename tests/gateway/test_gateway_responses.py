"""Responses as the upstream sent them, multipart files, numeric formats.

Real loopback upstreams: one that sends several Set-Cookie lines and binary
bodies (brotli-encoded bytes the gateway cannot decode, gzip it can, a PNG),
one that parses the multipart body it receives, and one that counts what
reaches it when a value overflows its format."""
from __future__ import annotations

import base64
import email.parser
import gzip
import json

import pytest

from chalicelib.masking import MASK
from tests.gateway.helpers import import_spec, spec_text

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
BROTLI_LIKE = bytes([0x8B, 0x7F, 0x80, 0x1B, 0xFF, 0x00, 0xC3, 0x28]) * 32  # not UTF-8, not gzip
OK = {"responses": {"200": {"description": "ok"}}}


def _int(name, where, fmt, **extra):
    return {"name": name, "in": where, "required": where == "path",
            "schema": {"type": "integer", "format": fmt, **extra}}


PATHS = {
    "/raw": {"get": OK},
    "/items/{id}": {"get": {**OK, "parameters": [
        _int("id", "path", "int64"), _int("limit", "query", "int32"), _int("X-Page", "header", "int32")]}},
    "/measure": {"post": {**OK, "requestBody": {"content": {"application/json": {"schema": {
        "type": "object", "properties": {"ratio": {"type": "number", "format": "float"},
                                         "count": {"type": "integer", "format": "int32"},
                                         "big": {"type": "number", "format": "double"}}}}}}}},
    "/upload": {"post": {**OK, "requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"$ref": "#/components/schemas/Upload"},
        "encoding": {"avatar": {"contentType": "image/png"}}}}}}},
}
COMPONENTS = {"schemas": {"Upload": {"type": "object", "required": ["avatar"], "properties": {
    "avatar": {"type": "string", "format": "binary"},
    "attachments": {"type": "array", "items": {"type": "string", "format": "binary"}},
    "scan": {"type": "string", "contentMediaType": "application/pdf"},
    "note": {"type": "string", "maxLength": 20},
    "size": {"type": "integer", "format": "int32"}}}}}


@pytest.fixture
def doc(db, loopback):
    return import_spec(db, spec_text(PATHS, COMPONENTS), base_url=loopback.url(""))


def call(api, doc, method, path, **payload):
    return api.post(f"/api/endpoints/{doc['endpoints'][(method, path)]}/invoke", payload)


def errors_of(r) -> list:
    """The field errors of a 400 (details is a list until the issue-13 shape, {"errors": [...]}, lands)."""
    details = r.error["details"]
    return details["errors"] if isinstance(details, dict) else details


def log_row(db, log_id):
    return db.one("SELECT * FROM api_call_logs WHERE id = CAST(:id AS uuid)", id=log_id)


# ----------------------------------------------------------------- headers and bodies as sent

def test_several_set_cookie_lines_come_back_as_a_list_in_order_and_stay_masked_in_the_log(api, db, doc, loopback):
    loopback.handler = lambda req: (200, {"Set-Cookie": ["a=1; Path=/", "b=2; HttpOnly"],
                                          "Link": ["</p2>; rel=next", "</p9>; rel=last"], "X-One": "x"},
                                    {"ok": True})
    r = call(api, doc, "GET", "/raw")
    assert r.status == 200, r.json
    headers = r.data["headers"]
    assert headers["Set-Cookie"] == ["a=1; Path=/", "b=2; HttpOnly"]
    assert headers["Link"] == ["</p2>; rel=next", "</p9>; rel=last"]
    assert headers["X-One"] == "x"  # a header sent once stays a string
    assert r.data["body"] == {"ok": True} and r.data["body_encoding"] == "json"
    row = log_row(db, r.data["log_id"])
    assert row["response_headers"]["Set-Cookie"] == MASK
    assert row["response_headers"]["Link"] == ["</p2>; rel=next", "</p9>; rel=last"]
    assert "a=1" not in json.dumps(row, default=str)


def test_a_body_under_an_encoding_the_gateway_cannot_decode_is_base64_with_its_encoding(api, db, doc, loopback):
    loopback.handler = lambda req: (200, {"Content-Type": "application/json", "Content-Encoding": "br"},
                                    BROTLI_LIKE)
    r = call(api, doc, "GET", "/raw")
    assert r.data["body_encoding"] == "base64"
    assert base64.b64decode(r.data["body"]) == BROTLI_LIKE  # byte for byte, not lossy text
    assert r.data["headers"]["Content-Encoding"] == "br"
    assert r.data["content_type"] == "application/json"
    row = log_row(db, r.data["log_id"])
    assert row["response_size_bytes"] == len(BROTLI_LIKE)


def test_gzip_the_gateway_decodes_is_returned_as_the_json_it_holds(api, doc, loopback):
    loopback.handler = lambda req: (200, {"Content-Type": "application/json", "Content-Encoding": "gzip"},
                                    gzip.compress(b'{"unzipped": true}'))
    r = call(api, doc, "GET", "/raw")
    assert r.data["body"] == {"unzipped": True} and r.data["body_encoding"] == "json"
    assert "Content-Encoding" not in r.data["headers"]


@pytest.mark.parametrize("ctype,payload", [
    ("image/png", PNG),
    ("application/octet-stream", BROTLI_LIKE),
    ("application/gzip", gzip.compress(b"x" * 100)),
    ("application/json", gzip.compress(b'{"a": 1}')),  # declared JSON, sent gzip bytes without saying so
    ("text/plain", BROTLI_LIKE),  # declared text, not UTF-8
])
def test_binary_or_undecodable_bodies_come_back_base64_with_their_content_type(api, doc, loopback, ctype, payload):
    loopback.handler = lambda req: (200, {"Content-Type": ctype}, payload)
    r = call(api, doc, "GET", "/raw")
    assert r.data["body_encoding"] == "base64", r.data
    assert base64.b64decode(r.data["body"]) == payload
    assert r.data["content_type"] == ctype


def test_text_bodies_stay_text_in_their_charset(api, doc, loopback):
    loopback.handler = lambda req: (200, {"Content-Type": "text/plain; charset=iso-8859-1"}, "café".encode("latin-1"))
    r = call(api, doc, "GET", "/raw")
    assert r.data["body"] == "café" and r.data["body_encoding"] == "text"


# ----------------------------------------------------------------- multipart files

def parts_of(req) -> dict:
    """The multipart body the upstream received: {name: [(filename, content type, bytes)]}."""
    msg = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + req.headers["Content-Type"].encode() + b"\r\n\r\n" + req.body)
    out: dict = {}
    for part in msg.get_payload():
        name = part.get_param("name", header="content-disposition")
        out.setdefault(name, []).append((part.get_filename(), part.get_content_type(), part.get_payload(decode=True)))
    return out


def test_binary_fields_of_a_multipart_body_arrive_as_files(api, doc, loopback):
    received = []
    loopback.handler = lambda req: (received.append(parts_of(req)) or (200, {}, {"ok": True}))
    pdf = b"%PDF-1.4 binary \x00\xff"
    r = call(api, doc, "POST", "/upload", content_type="multipart/form-data", body={
        "avatar": {"base64": base64.b64encode(PNG).decode(), "filename": "me.png"},
        "attachments": [base64.b64encode(b"one").decode(),
                        {"base64": base64.b64encode(b"two").decode(), "filename": "2.txt",
                         "content_type": "text/plain"}],
        "scan": {"base64": base64.b64encode(pdf).decode()},
        "note": "hello", "size": 3})
    assert r.status == 200, r.json
    got = received[0]
    assert got["avatar"] == [("me.png", "image/png", PNG)]  # type from the spec's encoding
    assert got["attachments"] == [("attachments", "application/octet-stream", b"one"),
                                  ("2.txt", "text/plain", b"two")]
    assert got["scan"] == [("scan", "application/pdf", pdf)]  # type from contentMediaType
    assert got["note"] == [(None, "text/plain", b"hello")] and got["size"] == [(None, "text/plain", b"3")]


@pytest.mark.parametrize("avatar,loc", [
    ({"base64": "%%% not base64"}, ["body", "avatar", "base64"]),
    ({"filename": "x.png"}, ["body", "avatar", "base64"]),
    ({"base64": "AAAA", "filename": "a\r\nb"}, ["body", "avatar", "filename"]),
    ({"base64": "AAAA", "content_type": "not a type"}, ["body", "avatar", "content_type"]),
    ({"base64": "AAAA", "path": "/etc/passwd"}, ["body", "avatar", "path"]),
    (17, ["body", "avatar"]),
])
def test_a_malformed_file_is_a_400_naming_it_and_nothing_is_sent(api, doc, loopback, avatar, loc):
    r = call(api, doc, "POST", "/upload", content_type="multipart/form-data", body={"avatar": avatar})
    assert r.status == 400, r.json
    assert loc in [e["loc"] for e in errors_of(r)]
    assert loopback.requests == []


def test_a_file_list_must_be_a_list_and_plain_fields_are_still_checked(api, doc, loopback):
    r = call(api, doc, "POST", "/upload", content_type="multipart/form-data",
             body={"avatar": "AAAA", "attachments": "AAAA", "note": "x" * 21})
    assert r.status == 400
    locs = [e["loc"] for e in errors_of(r)]
    assert ["body", "attachments"] in locs and ["body", "note"] in locs
    assert loopback.requests == []


# ----------------------------------------------------------------- numeric formats

@pytest.mark.parametrize("payload,loc,msg", [
    ({"path_params": {"id": "1"}, "query": {"limit": "2147483648"}}, ["query", "limit"], "must be <= 2147483647"),
    ({"path_params": {"id": "1"}, "query": {"limit": -2147483649}}, ["query", "limit"], "must be >= -2147483648"),
    ({"path_params": {"id": str(2 ** 63)}}, ["path_params", "id"], "must be <= 9223372036854775807"),
    ({"path_params": {"id": "1"}, "headers": {"X-Page": "99999999999"}}, ["headers", "X-Page"],
     "must be <= 2147483647"),
])
def test_an_integer_beyond_its_format_is_refused_before_sending(api, doc, loopback, payload, loc, msg):
    r = call(api, doc, "GET", "/items/{id}", **payload)
    assert r.status == 400, r.json
    errors = errors_of(r)
    assert [e["loc"] for e in errors] == [loc]
    assert msg in errors[0]["msg"] and errors[0]["type"] == "format"
    assert loopback.requests == []  # the upstream saw nothing


def test_integers_at_their_format_bounds_are_sent(api, doc, loopback):
    r = call(api, doc, "GET", "/items/{id}", path_params={"id": str(2 ** 63 - 1)},
             query={"limit": 2147483647}, headers={"X-Page": "-2147483648"})
    assert r.status == 200, r.json
    seen = loopback.requests[0]
    assert seen.path == f"/items/{2 ** 63 - 1}" and ("limit", "2147483647") in seen.query
    assert seen.headers["X-Page"] == "-2147483648"


def test_body_properties_are_checked_against_float_int32_and_double(api, doc, loopback):
    r = call(api, doc, "POST", "/measure", body={"ratio": 3.5e38, "count": 2 ** 31, "big": 1.0})
    assert r.status == 400
    by_loc = {tuple(e["loc"]): e["msg"] for e in errors_of(r)}
    assert "must be <=" in by_loc[("body", "ratio")] and "float" in by_loc[("body", "ratio")]
    assert "must be <= 2147483647" in by_loc[("body", "count")]
    assert loopback.requests == []
    ok = call(api, doc, "POST", "/measure", body={"ratio": 3.4e38, "count": -(2 ** 31), "big": 1e300})
    assert ok.status == 200, ok.json
    assert loopback.requests[0].json() == {"ratio": 3.4e38, "count": -(2 ** 31), "big": 1e300}
