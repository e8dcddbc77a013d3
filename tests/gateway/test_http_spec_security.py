"""Through the real server over HTTP, as the weakest role each route allows
(operator; viewers only read): the spec's security served to concurrent
callers, operation-level servers, the Deprecation header, a dry-run
re-import that writes nothing, and an operator trying what only an admin
may do (moving stored secrets to another origin through the spec's servers)."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.gateway.scheme_upstream import SECRETS, SchemeUpstream, full_config, spec

OK = {"responses": {"200": {"description": "ok"}}}


def test_over_http_concurrent_callers_each_send_every_scheme_of_an_and_requirement(live_server):
    operator, viewer = live_server.api(live_server.key("operator")), live_server.api(live_server.key("viewer"))
    with SchemeUpstream() as up:
        r = operator.post("/api/documents", {"content": spec(), "name": f"h-{uuid.uuid4().hex[:8]}",
                                             "base_url": up.url(""),
                                             "auth_config": full_config(up.url("/oauth/token"))})
        assert r.status == 201, r.json
        assert r.data["auth_check"]["unsatisfied"] == []
        eps = {e["path"]: e["id"] for e in r.data["endpoints"]}

        def call(i):
            path = ("/and", "/oauth2", "/apikey-cookie")[i % 3]
            return path, operator.post(f"/api/endpoints/{eps[path]}/invoke", {})

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, range(24)))
        wanted = {"/and": ["Bearer", "HeaderKey"], "/oauth2": ["OAuth"], "/apikey-cookie": ["CookieKey"]}
        for path, res in results:
            assert res.status == 200 and res.data["status_code"] == 200, (path, res.json)
            assert res.data["body"]["presented"] == wanted[path]
        assert len(up.requests) == 24
        # a viewer may not call; nothing reaches the upstream
        assert viewer.post(f"/api/endpoints/{eps['/and']}/invoke", {}).status == 403
        assert len(up.requests) == 24
        # with the Bearer entry dropped the AND requirement is refused up front, naming it
        cfg = full_config(up.url("/oauth/token"))
        del cfg["schemes"]["Bearer"]
        put = operator.put(f"/api/documents/{r.data['document']['id']}", {"auth_config": cfg})
        assert put.status == 200 and put.data["auth_check"]["unsatisfied"] == [
            {"method": "GET", "path": "/and", "missing": [["Bearer"]]},
            {"method": "GET", "path": "/bearer", "missing": [["Bearer"]]}]
        refused = operator.post(f"/api/endpoints/{eps['/and']}/invoke", {})
        assert refused.status == 400 and "Bearer (http bearer)" in refused.error["message"]
        assert len(up.requests) == 24
        text = json.dumps([refused.json, put.json, r.json])
        assert SECRETS["Bearer"] not in text and SECRETS["HeaderKey"] not in text


def test_over_http_an_operation_server_is_reached_and_a_deprecated_one_says_so(live_server):
    operator = live_server.api(live_server.key("operator"))
    with SchemeUpstream() as doc_up, SchemeUpstream() as op_up:
        text = json.dumps({"openapi": "3.0.3", "info": {"title": "s", "version": "1"},
                           "servers": [{"url": doc_up.url("/base")}],
                           "paths": {"/open": {"get": {**OK, "deprecated": True,
                                                       "servers": [{"url": op_up.url("/op")}]}}}})
        r = operator.post("/api/documents", {"content": text, "name": f"h-{uuid.uuid4().hex[:8]}"})
        assert r.status == 201, r.json
        ep = r.data["endpoints"][0]["id"]
        res = operator.post(f"/api/endpoints/{ep}/invoke", {})
        assert res.status == 200 and res.data["status_code"] == 200
        assert res.headers.get("deprecation", "").startswith("@") and "link" not in res.headers
        assert [q.path for q in op_up.requests] == ["/op/open"] and doc_up.requests == []
        log = operator.get(f"/api/call-logs/{res.data['log_id']}").data
        assert log["deprecated"] is True and log["request_url"].endswith("/op/open")


def _counts(live_server) -> dict:
    rows = live_server.psql(
        "SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND c.relname <> 'api_access_logs'")
    return {r["t"]: live_server.psql(f'SELECT COUNT(*) AS n FROM "{r["t"]}"')[0]["n"] for r in rows}


def test_over_http_a_dry_run_reimport_writes_nothing_and_a_viewer_cannot_run_one(live_server):
    operator, viewer = live_server.api(live_server.key("operator")), live_server.api(live_server.key("viewer"))
    title = f"h-{uuid.uuid4().hex[:8]}"
    v1 = {"openapi": "3.0.3", "info": {"title": title, "version": "1"}, "servers": [{"url": "https://a.example.com"}],
          "paths": {"/a": {"get": OK}, "/b": {"get": OK}}}
    r = operator.post("/api/documents", {"content": json.dumps(v1)})
    assert r.status == 201, r.json
    doc_id = r.data["document"]["id"]
    v2 = {**v1, "info": {"title": title, "version": "2"}, "paths": {"/a": {"get": {**OK, "summary": "A"}},
                                                                  "/c": {"get": OK}}}
    before = _counts(live_server)
    assert viewer.post(f"/api/documents/{doc_id}/reimport?dry_run=true", {"content": json.dumps(v2)}).status == 403
    preview = operator.post(f"/api/documents/{doc_id}/reimport?dry_run=true&mode=overwrite",
                            {"content": json.dumps(v2)})
    assert preview.status == 200, preview.json
    assert preview.data["counts"] == {"added": 1, "changed": 1, "removed": 1, "unchanged": 0}
    assert _counts(live_server) == before
    real = operator.post(f"/api/documents/{doc_id}/reimport?mode=overwrite", {"content": json.dumps(v2)})
    assert real.status == 200 and real.data["counts"] == preview.data["counts"]
    after = _counts(live_server)
    assert after["api_endpoints"] == before["api_endpoints"]  # one added, one deleted


def test_over_http_an_operator_cannot_send_stored_secrets_to_another_origin_through_the_spec(live_server):
    operator = live_server.api(live_server.key("operator"))
    admin = live_server.api("admin")
    with SchemeUpstream() as home, SchemeUpstream() as other:
        title = f"h-{uuid.uuid4().hex[:8]}"
        doc = {"openapi": "3.0.3", "info": {"title": title, "version": "1"},
               "servers": [{"url": home.url("")}, {"url": other.url("")}],
               "paths": {"/apikey-header": {"get": {**OK, "security": [{"HeaderKey": []}]}}},
               "components": {"securitySchemes": {"HeaderKey": {"type": "apiKey", "in": "header", "name": "X-Key"}}}}
        cfg = {"schemes": {"HeaderKey": {"type": "apiKey", "in": "header", "name": "X-Key",
                                         "value": SECRETS["HeaderKey"]}}}
        r = operator.post("/api/documents", {"content": json.dumps(doc), "auth_config": cfg})
        assert r.status == 201, r.json
        doc_id, ep = r.data["document"]["id"], r.data["endpoints"][0]["id"]
        # choosing the spec's other server moves the secret's origin: an admin's call
        moved = operator.put(f"/api/documents/{doc_id}", {"server_index": 1})
        assert moved.status == 409 and moved.error["details"]["errors"][0]["loc"] == ["body", "base_url"]
        # so is a re-import whose operation server is on another origin (also as a dry run)
        sneaky = dict(doc, paths={"/apikey-header": {"get": {**OK, "security": [{"HeaderKey": []}],
                                                             "servers": [{"url": other.url("/x")}]}}})
        for q in ("?dry_run=true", ""):
            res = operator.post(f"/api/documents/{doc_id}/reimport{q}", {"content": json.dumps(sneaky)})
            assert res.status == 409 and res.error["details"]["errors"][0]["loc"] == ["spec", "servers"], res.json
        assert operator.post(f"/api/endpoints/{ep}/invoke", {}).data["status_code"] == 200
        assert other.requests == [] and len(home.requests) == 1
        # and keys are an admin's: the operator cannot mint one to go further
        assert operator.post("/api/keys", {"role": "admin", "name": "escalate"}).status == 403
        # the admin may
        assert admin.put(f"/api/documents/{doc_id}", {"server_index": 1}).status == 200
        assert operator.post(f"/api/endpoints/{ep}/invoke", {}).data["status_code"] == 200
        assert len(other.requests) == 1 and other.requests[0].headers.get("X-Key") == SECRETS["HeaderKey"]
