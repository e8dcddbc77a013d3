"""RFC 9745 deprecation of gateway endpoints: `Deprecation: @<unix seconds>` of
the moment the endpoint became deprecated (recorded on import, re-import and
status change, kept while it stays deprecated, cleared when it is not), and
`Link: <url>; rel="deprecation"` only for the spec's externalDocs URL."""
from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from tests.net.loopback_http import LoopbackServer

OK = {"responses": {"200": {"description": "ok"}}}


def doc_spec(base: str, paths: dict, **top) -> str:
    return json.dumps({"openapi": "3.0.3", "info": {"title": "dep", "version": "1"},
                       "servers": [{"url": base}], "paths": paths, **top})


def create(api, text):
    r = api.post("/api/documents", {"content": text, "name": f"dep-{uuid.uuid4().hex[:8]}"})
    assert r.status == 201, r.json
    return r.data["document"]["id"], {e["path"]: e["id"] for e in r.data["endpoints"]}


def deprecated_at(api, endpoint_id):
    return api.get(f"/api/endpoints/{endpoint_id}?resolve=false").data["deprecated_at"]


def epoch(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def test_a_spec_deprecated_endpoint_answers_the_moment_it_was_deprecated_as_an_rfc_9745_date(api, loopback):
    before = int(time.time())
    _, eps = create(api, doc_spec(loopback.url(""), {"/old": {"get": {**OK, "deprecated": True}},
                                                     "/new": {"get": OK}}))
    after = int(time.time())
    stored = deprecated_at(api, eps["/old"])
    assert stored is not None and before <= epoch(stored) <= after
    assert deprecated_at(api, eps["/new"]) is None
    r = api.post(f"/api/endpoints/{eps['/old']}/invoke", {})
    assert r.status == 200 and r.headers["deprecation"] == f"@{epoch(stored)}"
    assert epoch(r.data["deprecated_at"]) == epoch(stored) and r.data["deprecated"] is True
    assert "link" not in r.headers and "deprecation_link" not in r.data   # no externalDocs: no Link
    fresh = api.post(f"/api/endpoints/{eps['/new']}/invoke", {})
    assert "deprecation" not in fresh.headers and "deprecated_at" not in fresh.data


def test_the_link_is_the_operation_s_external_docs_else_the_document_s_and_only_an_absolute_web_url(api, loopback):
    paths = {"/op": {"get": {**OK, "deprecated": True, "externalDocs": {"url": "https://docs.example.com/op"}}},
             "/doc": {"get": {**OK, "deprecated": True}},
             "/bad": {"get": {**OK, "deprecated": True, "externalDocs": {"url": "javascript:alert(1)"}}},
             "/live": {"get": OK}}
    _, eps = create(api, doc_spec(loopback.url(""), paths, externalDocs={"url": "https://docs.example.com/all"}))
    links = {p: api.post(f"/api/endpoints/{eps[p]}/invoke", {}).headers.get("link") for p in eps}
    assert links == {"/op": '<https://docs.example.com/op>; rel="deprecation"',
                     "/doc": '<https://docs.example.com/all>; rel="deprecation"',
                     "/bad": None, "/live": None}   # a URL that is not http(s): no Link at all
    r = api.post(f"/api/endpoints/{eps['/op']}/invoke", {})
    assert r.data["deprecation_link"] == "https://docs.example.com/op"


def test_re_import_keeps_the_moment_while_deprecated_clears_it_after_and_sets_it_anew(api, loopback):
    base = loopback.url("")
    doc_id, eps = create(api, doc_spec(base, {"/x": {"get": {**OK, "deprecated": True}}}))
    first = deprecated_at(api, eps["/x"])

    def reimport(op):
        r = api.post(f"/api/documents/{doc_id}/reimport", {"content": doc_spec(base, {"/x": {"get": op}})})
        assert r.status == 200, r.json
        return r

    r = reimport({**OK, "deprecated": True, "summary": "changed"})   # still deprecated, other fields change
    assert r.data["diff"]["changed"][0]["changes"] == ["summary"]
    assert deprecated_at(api, eps["/x"]) == first
    reimport({**OK, "summary": "changed"})                            # no longer deprecated
    assert deprecated_at(api, eps["/x"]) is None
    r = api.post(f"/api/endpoints/{eps['/x']}/invoke", {})
    assert "deprecation" not in r.headers
    reimport({**OK, "deprecated": True})                              # deprecated again: a new moment
    again = deprecated_at(api, eps["/x"])
    assert again is not None and again != first
    assert api.post(f"/api/endpoints/{eps['/x']}/invoke", {}).headers["deprecation"] == f"@{epoch(again)}"


def test_an_operator_s_status_sets_and_clears_the_moment_and_a_viewer_cannot(api, keys, loopback):
    _, eps = create(api, doc_spec(loopback.url(""), {"/x": {"get": OK}, "/spec": {"get": {**OK, "deprecated": True}}}))
    operator, viewer = api.as_key(keys["operator"]), api.as_key(keys["viewer"])
    assert viewer.patch(f"/api/endpoints/{eps['/x']}", {"status": "deprecated"}).status == 403
    assert deprecated_at(api, eps["/x"]) is None
    r = operator.patch(f"/api/endpoints/{eps['/x']}", {"status": "deprecated"})
    assert r.status == 200 and r.data["deprecated_at"] is not None
    set_at = r.data["deprecated_at"]
    assert operator.patch(f"/api/endpoints/{eps['/x']}", {"timeout_ms": 5000}).data["deprecated_at"] == set_at
    assert operator.patch(f"/api/endpoints/{eps['/x']}", {"status": "deprecated"}).data["deprecated_at"] == set_at
    assert operator.patch(f"/api/endpoints/{eps['/x']}", {"status": "active"}).data["deprecated_at"] is None
    # the spec still says deprecated: an active status keeps the spec's moment and the header
    spec_at = deprecated_at(api, eps["/spec"])
    assert operator.patch(f"/api/endpoints/{eps['/spec']}", {"status": "active"}).data["deprecated_at"] == spec_at
    assert operator.post(f"/api/endpoints/{eps['/spec']}/invoke", {}).headers["deprecation"] == f"@{epoch(spec_at)}"


def test_over_http_concurrent_callers_of_a_deprecated_endpoint_all_get_its_date_and_link(live_server):
    operator = live_server.api(live_server.key("operator"))
    with LoopbackServer(lambda req: (200, {}, {"ok": True})) as up:
        text = doc_spec(up.url(""), {"/old": {"get": {**OK, "deprecated": True,
                                                       "externalDocs": {"url": "https://docs.example.com/m"}}}})
        _, eps = create(operator, text)
        stored = deprecated_at(operator, eps["/old"])
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: operator.post(f"/api/endpoints/{eps['/old']}/invoke", {}), range(12)))
        for r in answers:
            assert r.status == 200 and r.data["status_code"] == 200, r.json
            assert r.headers["deprecation"] == f"@{epoch(stored)}"
            assert r.headers["link"] == '<https://docs.example.com/m>; rel="deprecation"'
        assert len(up.requests) == 12
