"""Responses as sent and the response cache through the real server
(tests/live.py), as an operator - the weakest role that may invoke: several
Set-Cookie lines, binary bodies, multipart files and an int32 overflow over
HTTP; cache settings refused beyond their bounds; concurrent callers on one
cached endpoint, each key served only answers the upstream gave it."""
from __future__ import annotations

import base64
import email.parser
import itertools
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.net.loopback_http import LoopbackServer

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
OK = {"responses": {"200": {"description": "ok"}}}
SPEC = json.dumps({
    "openapi": "3.0.3", "info": {"title": "live responses", "version": "1"},
    "paths": {
        "/cookies": {"get": OK},
        "/png": {"get": OK},
        "/counted": {"get": OK, "post": OK},
        "/page": {"get": {**OK, "parameters": [{"name": "size", "in": "query",
                                                "schema": {"type": "integer", "format": "int32"}}]}},
        "/upload": {"post": {**OK, "requestBody": {"content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": {"file": {"type": "string", "format": "binary"},
                                             "title": {"type": "string"}}}}}}}},
    },
})


class Upstream:
    def __init__(self):
        self.seq = itertools.count(1)
        self.lock = threading.Lock()
        self.counted = 0
        self.uploads: list = []

    def __call__(self, req):
        if req.path == "/cookies":
            return 200, {"Set-Cookie": ["a=1", "b=2"]}, {"ok": True}
        if req.path == "/png":
            return 200, {"Content-Type": "image/png"}, PNG
        if req.path == "/upload":
            msg = email.parser.BytesParser().parsebytes(
                b"Content-Type: " + req.headers["Content-Type"].encode() + b"\r\n\r\n" + req.body)
            self.uploads.append({p.get_param("name", header="content-disposition"):
                                 (p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
                                 for p in msg.get_payload()})
            return 200, {}, {"ok": True}
        with self.lock:
            self.counted += 1
            n = next(self.seq)
        return 200, {}, {"n": n}


@pytest.fixture(scope="module")
def upstream():
    handler = Upstream()
    with LoopbackServer(handler) as srv:
        srv.state = handler
        yield srv


@pytest.fixture(scope="module")
def operator(live_server):
    return live_server.api(live_server.key("operator"))


@pytest.fixture(scope="module")
def doc(operator, upstream):
    r = operator.post("/api/documents", {"content": SPEC, "base_url": upstream.url(""),
                                         "name": f"live-{uuid.uuid4().hex[:8]}"})
    assert r.status == 201, r.json
    return {(e["method"], e["path"]): e["id"] for e in r.data["endpoints"]}


def invoke(api, endpoint_id, **payload):
    return api.post(f"/api/endpoints/{endpoint_id}/invoke", payload)


def errors_of(r) -> list:
    details = r.error["details"]
    return details["errors"] if isinstance(details, dict) else details


def test_an_operator_gets_several_cookies_as_a_list_and_binary_as_base64_over_http(operator, doc):
    r = invoke(operator, doc[("GET", "/cookies")])
    assert r.status == 200, r.json
    assert r.data["headers"]["Set-Cookie"] == ["a=1", "b=2"]
    png = invoke(operator, doc[("GET", "/png")])
    assert png.data["body_encoding"] == "base64" and png.data["content_type"] == "image/png"
    assert base64.b64decode(png.data["body"]) == PNG


def test_a_multipart_file_arrives_as_a_file_over_http(operator, doc, upstream):
    r = invoke(operator, doc[("POST", "/upload")], content_type="multipart/form-data",
               body={"file": {"base64": base64.b64encode(PNG).decode(), "filename": "x.png",
                              "content_type": "image/png"}, "title": "t"})
    assert r.status == 200, r.json
    got = upstream.state.uploads[-1]
    assert got["file"] == ("x.png", "image/png", PNG) and got["title"] == (None, "text/plain", b"t")


def test_an_int32_overflow_is_refused_over_http_and_never_sent(operator, doc, upstream):
    before = len(upstream.requests)
    r = invoke(operator, doc[("GET", "/page")], query={"size": "2147483648"})
    assert r.status == 400
    assert [(e["loc"], e["type"]) for e in errors_of(r)] == [(["query", "size"], "format")]
    assert "must be <= 2147483647" in r.error["message"]
    assert len(upstream.requests) == before


def test_an_operator_cannot_push_cache_settings_past_their_bounds_or_onto_a_post(live_server, operator, doc):
    viewer = live_server.api(live_server.key("viewer"))
    get_id, post_id = doc[("GET", "/counted")], doc[("POST", "/counted")]
    assert viewer.patch(f"/api/endpoints/{get_id}", {"cache_ttl_seconds": 60}).status == 403
    too_long = operator.patch(f"/api/endpoints/{get_id}", {"cache_ttl_seconds": 10 ** 6})
    assert too_long.status == 400 and ["body", "cache_ttl_seconds"] in [e["loc"] for e in errors_of(too_long)]
    too_many = operator.patch(f"/api/endpoints/{get_id}", {"cache_ttl_seconds": 60, "cache_max_entries": 10 ** 6})
    assert too_many.status == 400
    post = operator.patch(f"/api/endpoints/{post_id}", {"cache_ttl_seconds": 60})
    assert post.status == 400 and "only GET and HEAD" in post.error["message"]
    shown = operator.get(f"/api/endpoints/{get_id}?resolve=false").data
    assert shown["cache_config"] is None
    assert live_server.psql("SELECT cache_config FROM api_endpoints WHERE id = CAST(:e AS uuid)",
                            e=post_id) == [{"cache_config": None}]


def test_concurrent_callers_with_two_keys_are_each_served_only_their_own_answers(live_server, operator, doc,
                                                                                 upstream):
    eid = doc[("GET", "/counted")]
    r = operator.patch(f"/api/endpoints/{eid}", {"cache_ttl_seconds": 300})
    assert r.status == 200, r.json
    keys = {"a": live_server.key("operator"), "b": live_server.key("operator")}
    before = upstream.state.counted

    def one(who):
        res = live_server.call("POST", f"/api/endpoints/{eid}/invoke", {}, key=keys[who])
        assert res.status_code == 200, res.text
        data = res.json()["data"]
        return who, data["cache"], data["body"]["n"]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, ["a", "b"] * 12))
    misses = [r for r in results if r[1] == "miss"]
    assert upstream.state.counted - before == len(misses)  # every miss, and only a miss, reached the upstream
    assert len(misses) < len(results)
    for who in keys:
        own = {n for w, status, n in results if w == who and status == "miss"}
        served = {n for w, status, n in results if w == who and status == "hit"}
        assert own and served <= own  # a hit is always one of this key's own upstream answers
    stats = operator.get(f"/api/endpoints/{eid}/stats?window=1h").data
    assert stats["cache_hits"] == len(results) - len(misses) and stats["cache_misses"] == len(misses)
    rows = live_server.psql("SELECT count(*) AS n FROM api_endpoint_cache WHERE endpoint_id = CAST(:e AS uuid)",
                            e=eid)
    assert rows == [{"n": 2}]  # one entry per key


def test_over_http_an_operator_purges_a_cache_while_callers_hit_it_and_a_viewer_may_not(live_server, operator, doc,
                                                                                        upstream):
    eid = doc[("GET", "/counted")]
    assert operator.patch(f"/api/endpoints/{eid}", {"cache_ttl_seconds": 300}).status == 200
    assert invoke(operator, eid).status == 200
    viewer = live_server.api(live_server.key("viewer"))
    assert viewer.delete(f"/api/endpoints/{eid}/cache").status == 403
    count = "SELECT count(*) AS n FROM api_endpoint_cache WHERE endpoint_id = CAST(:e AS uuid)"
    assert live_server.psql(count, e=eid)[0]["n"] >= 1   # the viewer removed nothing

    def call(_):
        return invoke(operator, eid)

    with ThreadPoolExecutor(6) as pool:
        calls = [pool.submit(call, i) for i in range(18)]
        purges = [operator.delete(f"/api/endpoints/{eid}/cache") for _ in range(3)]
        answers = [c.result() for c in calls]
    assert all(a.status == 200 and a.data["status_code"] == 200 for a in answers)
    assert all(p.status == 200 and p.data["endpoint_id"] == eid for p in purges)
    # after the callers are done, a purge removes exactly what is there and leaves nothing
    there = live_server.psql(count, e=eid)[0]["n"]
    last = operator.delete(f"/api/endpoints/{eid}/cache")
    assert last.status == 200 and last.data["removed"] == there and there >= 1
    assert live_server.psql(count, e=eid)[0]["n"] == 0
    assert invoke(operator, eid).data["cache"] == "miss"
