"""A document's `server_variables`: values for the spec's server variables
(checked against their enums; a 400 naming the variable otherwise), used for
the document's, path items' and operations' servers, changed with PUT (the
endpoints' servers and a chosen base URL follow) and kept through re-import."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.net.loopback_http import LoopbackServer

OK = {"responses": {"200": {"description": "ok"}}}


def spec(port: str, versions=("v1", "v2")) -> str:
    variables = {"port": {"default": port}, "version": {"default": "v1", "enum": list(versions)}}
    return json.dumps({
        "openapi": "3.0.3", "info": {"title": "vars", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:{port}/{version}", "variables": variables}],
        "paths": {"/x": {"get": OK},
                  "/y": {"get": {**OK, "servers": [{"url": "http://127.0.0.1:{port}/op/{region}", "variables": {
                      "port": {"default": port}, "region": {"default": "eu"}}}]}}}})


def port_of(srv) -> str:
    return srv.url("").rsplit(":", 1)[1]


def create(api, text, **extra):
    r = api.post("/api/documents", {"content": text, "name": f"vars-{uuid.uuid4().hex[:8]}", **extra})
    return r, {e["path"]: e["id"] for e in (r.data or {}).get("endpoints", [])} if r.status == 201 else {}


def paths_reached(api, srv, eps) -> list[str]:
    start = len(srv.requests)
    for p in ("/x", "/y"):
        r = api.post(f"/api/endpoints/{eps[p]}/invoke", {})
        assert r.status == 200 and r.data["status_code"] == 200, r.json
    return [q.path for q in srv.requests[start:]]


def test_a_document_s_server_variables_choose_the_document_and_operation_servers(api, loopback):
    r, eps = create(api, spec(port_of(loopback)), server_variables={"version": "v2", "region": "us"})
    assert r.status == 201, r.json
    doc = r.data["document"]
    assert doc["server_variables"] == {"version": "v2", "region": "us"}
    assert doc["base_url"] == loopback.url("/v2") and doc["server_index"] == 0
    assert paths_reached(api, loopback, eps) == ["/v2/x", "/op/us/y"]
    r, eps = create(api, spec(port_of(loopback)))   # none given: the spec's defaults
    assert r.data["document"]["server_variables"] is None
    assert paths_reached(api, loopback, eps) == ["/v1/x", "/op/eu/y"]


def test_a_value_outside_the_enum_or_an_undefined_variable_is_a_400_naming_it(api, db, loopback):
    before = db.scalar("SELECT COUNT(*) FROM api_documents")
    r, _ = create(api, spec(port_of(loopback)), server_variables={"version": "v9", "nope": "x"})
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR"
    errors = {tuple(e["loc"]): e["type"] for e in r.error["details"]["errors"]}
    assert errors == {("body", "server_variables", "version"): "enum",
                      ("body", "server_variables", "nope"): "unknown_variable"}
    assert r.error["details"]["allowed"] == {"version": ["v1", "v2"]}
    r, _ = create(api, spec(port_of(loopback)), server_variables={"version": "v1/../{x}"})
    assert r.status == 400 and r.error["details"]["errors"][0]["loc"][:2] == ["body", "server_variables"]
    assert db.scalar("SELECT COUNT(*) FROM api_documents") == before


def test_put_moves_the_endpoints_and_the_chosen_server_and_null_goes_back_to_the_defaults(api, keys, loopback):
    r, eps = create(api, spec(port_of(loopback)))
    doc_id = r.data["document"]["id"]
    operator, viewer = api.as_key(keys["operator"]), api.as_key(keys["viewer"])
    assert viewer.put(f"/api/documents/{doc_id}", {"server_variables": {"version": "v2"}}).status == 403
    put = operator.put(f"/api/documents/{doc_id}", {"server_variables": {"version": "v2", "region": "ap"}})
    assert put.status == 200, put.json
    assert put.data["base_url"] == loopback.url("/v2") and put.data["server_variables"]["region"] == "ap"
    assert paths_reached(api, loopback, eps) == ["/v2/x", "/op/ap/y"]
    bad = operator.put(f"/api/documents/{doc_id}", {"server_variables": {"version": "v3"}})
    assert bad.status == 400 and bad.error["details"]["errors"][0]["loc"] == ["body", "server_variables", "version"]
    assert paths_reached(api, loopback, eps) == ["/v2/x", "/op/ap/y"]   # the refused PUT changed nothing
    assert operator.put(f"/api/documents/{doc_id}", {"server_variables": None}).data["server_variables"] is None
    assert paths_reached(api, loopback, eps) == ["/v1/x", "/op/eu/y"]
    # a base_url override stays; the operation's server still follows the variables
    operator.put(f"/api/documents/{doc_id}", {"base_url": loopback.url("/fixed")})
    operator.put(f"/api/documents/{doc_id}", {"server_variables": {"version": "v2", "region": "us"}})
    assert paths_reached(api, loopback, eps) == ["/fixed/x", "/op/us/y"]


def test_re_import_keeps_the_values_and_refuses_a_spec_whose_enum_drops_one(api, loopback):
    port = port_of(loopback)
    r, eps = create(api, spec(port), server_variables={"version": "v2", "region": "us"})
    doc_id = r.data["document"]["id"]
    again = api.post(f"/api/documents/{doc_id}/reimport", {"content": spec(port, ("v1", "v2", "v3"))})
    assert again.status == 200, again.json
    assert again.data["document"]["server_variables"] == {"version": "v2", "region": "us"}
    assert again.data["document"]["base_url"] == loopback.url("/v2")
    assert paths_reached(api, loopback, eps) == ["/v2/x", "/op/us/y"]
    refused = api.post(f"/api/documents/{doc_id}/reimport", {"content": spec(port, ("v1",))})
    assert refused.status == 400 and refused.error["details"]["errors"][0]["loc"] == ["server_variables", "version"]
    assert paths_reached(api, loopback, eps) == ["/v2/x", "/op/us/y"]


def test_over_http_an_operator_sets_variables_that_concurrent_callers_then_follow(live_server):
    operator = live_server.api(live_server.key("operator"))
    viewer = live_server.api(live_server.key("viewer"))
    with LoopbackServer(lambda req: (200, {}, {"ok": True})) as up:
        r, eps = create(operator, spec(port_of(up)), server_variables={"region": "us"})
        assert r.status == 201, r.json
        doc_id = r.data["document"]["id"]
        assert viewer.put(f"/api/documents/{doc_id}", {"server_variables": {"version": "v2"}}).status == 403
        bad = operator.put(f"/api/documents/{doc_id}", {"server_variables": {"version": "v7"}})
        assert bad.status == 400 and bad.error["details"]["errors"][0]["loc"] == ["body", "server_variables",
                                                                                 "version"]
        assert operator.put(f"/api/documents/{doc_id}", {"server_variables": {"version": "v2"}}).status == 200

        def call(i):
            return operator.post(f"/api/endpoints/{eps[('/x', '/y')[i % 2]]}/invoke", {}).status

        with ThreadPoolExecutor(6) as pool:
            assert set(pool.map(call, range(12))) == {200}
        assert sorted({q.path for q in up.requests}) == ["/op/eu/y", "/v2/x"]   # region back to its default


def test_variables_that_move_stored_secrets_to_another_origin_need_an_admin(api, keys, loopback):
    with LoopbackServer(lambda req: (200, {}, {"other": True})) as other:
        cfg = {"type": "apiKey", "in": "header", "name": "token", "value": "bound-secret-1"}
        r, eps = create(api, spec(port_of(loopback)), auth_config=cfg)
        doc_id = r.data["document"]["id"]
        operator = api.as_key(keys["operator"])
        moved = operator.put(f"/api/documents/{doc_id}", {"server_variables": {"port": port_of(other)}})
        assert moved.status == 409 and moved.error["code"] == "CONFLICT", moved.json
        assert "bound-secret-1" not in json.dumps(moved.json)
        assert paths_reached(api, loopback, eps) == ["/v1/x", "/op/eu/y"] and other.requests == []
        assert api.put(f"/api/documents/{doc_id}", {"server_variables": {"port": port_of(other)}}).status == 200
        assert paths_reached(api, other, eps) == ["/v1/x", "/op/eu/y"]
        assert other.requests[-1].headers.get("token") == "bound-secret-1"


def test_an_import_queued_as_a_job_keeps_its_server_variables(api, loopback):
    from tests.test_masking_api import wait_for_job

    r = api.post("/api/documents", {"content": spec(port_of(loopback)), "name": f"vars-{uuid.uuid4().hex[:8]}",
                                    "async": True, "server_variables": {"version": "v2"}})
    assert r.status == 202, r.json
    job = wait_for_job(api, r.data["id"])
    assert job["status"] == "succeeded", job
    doc = api.get(f"/api/documents/{job['result']['document_id']}").data
    assert doc["server_variables"] == {"version": "v2"} and doc["base_url"] == loopback.url("/v2")
