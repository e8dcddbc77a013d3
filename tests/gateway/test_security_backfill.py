"""Endpoints imported before migration 070 (security_schemes and servers NULL)
get their spec's security and servers from the stored document: enforced
after `backfill_endpoint_security` (run by the migrator: CLI `migrate`,
POST /api/init-db), never failing a call. "Imported before 070" is simulated
by setting the two columns NULL: no API can produce that state."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from chalicelib.catalog.backfill import backfill_endpoint_security
from chalicelib.gateway import targets
from chalicelib.settings import reset_settings
from tests.conftest import base_settings
from tests.net.loopback_http import LoopbackServer

OK = {"responses": {"200": {"description": "ok"}}}
NULL_SQL = "UPDATE api_endpoints SET security_schemes = NULL, servers = NULL WHERE api_document_id = CAST(:id AS uuid)"


def spec(base: str, op_server: str | None = None, description: str = "") -> str:
    op = {**OK, "security": [{"TokenAuth": []}]}
    if op_server:
        op["servers"] = [{"url": op_server}]
    return json.dumps({"openapi": "3.0.3", "info": {"title": "old", "version": "1", "description": description}, "servers": [{"url": base}],
                       "components": {"securitySchemes": {"TokenAuth": {"type": "apiKey", "in": "header",
                                                                        "name": "token"}}},
                       "paths": {"/secure": {"get": op}, "/open": {"get": {**OK, "security": []}}}})


def create(api, text, **extra):
    r = api.post("/api/documents", {"content": text, "name": f"bf-{uuid.uuid4().hex[:8]}", **extra})
    assert r.status == 201, r.json
    return r.data["document"]["id"], {e["path"]: e["id"] for e in r.data["endpoints"]}


def as_before_070(db, doc_id):
    db.execute(NULL_SQL, id=doc_id)
    targets.forget_all()


def done_for(report, doc_id):
    return [b["endpoints"] for b in report["backfilled"] if b["document_id"] == doc_id]


def test_an_endpoint_imported_before_070_is_enforced_and_reaches_its_operation_server_after_the_backfill(
        api, keys, db, loopback):
    with LoopbackServer(lambda req: (200, {}, {"op": True})) as op_up:
        doc_id, eps = create(api, spec(loopback.url("/base"), op_up.url("/op")))
        as_before_070(db, doc_id)
        operator = api.as_key(keys["operator"])
        before = operator.post(f"/api/endpoints/{eps['/secure']}/invoke", {})
        assert before.status == 200 and loopback.requests[-1].path == "/base/secure"   # the gap: not checked
        report = backfill_endpoint_security(db)
        assert done_for(report, doc_id) == [2] and doc_id not in report["servers_kept"]
        refused = operator.post(f"/api/endpoints/{eps['/secure']}/invoke", {})
        assert refused.status == 400 and "TokenAuth" in refused.error["message"]
        assert [e["loc"] for e in refused.error["details"]["errors"]] == [["auth_config", "schemes", "TokenAuth"]]
        given = operator.post(f"/api/endpoints/{eps['/secure']}/invoke", {"headers": {"token": "t-1"}})
        assert given.status == 200 and [q.path for q in op_up.requests] == ["/op/secure"]
        assert operator.post(f"/api/endpoints/{eps['/open']}/invoke", {}).status == 200
        row = api.get(f"/api/endpoints/{eps['/secure']}?resolve=false").data
        assert row["security_schemes"] == {"TokenAuth": {"type": "apiKey", "in": "header", "name": "token"}}
        assert done_for(backfill_endpoint_security(db), doc_id) == []     # nothing left: a second run is a no-op


def test_derived_servers_on_an_origin_the_stored_secrets_never_reached_stay_the_document_s(api, db, loopback):
    with LoopbackServer(lambda req: (200, {}, {"op": True})) as op_up:
        cfg = {"type": "apiKey", "in": "header", "name": "token", "value": "secret-token-9"}
        doc_id, eps = create(api, spec(loopback.url("/base"), op_up.url("/op")), auth_config=cfg)
        as_before_070(db, doc_id)   # before 070 the calls went to the base URL: the secret never left it
        report = backfill_endpoint_security(db)
        assert done_for(report, doc_id) == [2] and doc_id in report["servers_kept"]
        r = api.post(f"/api/endpoints/{eps['/secure']}/invoke", {})
        assert r.status == 200 and loopback.requests[-1].path == "/base/secure" and op_up.requests == []
        assert loopback.requests[-1].headers.get("token") == "secret-token-9"
        assert api.get(f"/api/endpoints/{eps['/secure']}?resolve=false").data["servers"] is None


def test_a_document_that_no_longer_parses_is_reported_and_its_calls_still_go_through(api, db, loopback):
    big = spec(loopback.url(""), description="x" * 2000)
    doc_id, eps = create(api, big)
    ok_id, ok_eps = create(api, spec(loopback.url("")))
    as_before_070(db, doc_id)
    as_before_070(db, ok_id)
    # the limits shrank since the import: the larger stored spec no longer parses
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",), max_async_spec_bytes=len(big) - 1))
    report = backfill_endpoint_security(db)
    failed = {f["document_id"]: f["error"] for f in report["failed"]}
    assert doc_id in failed and ok_id not in failed and done_for(report, ok_id) == [2]
    assert api.post(f"/api/endpoints/{ok_eps['/secure']}/invoke", {}).status == 400
    assert api.post(f"/api/endpoints/{eps['/secure']}/invoke", {}).status == 200   # unchecked, as before
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",)))
    report = backfill_endpoint_security(db)
    assert done_for(report, doc_id) == [2] and done_for(report, ok_id) == []
    assert api.post(f"/api/endpoints/{eps['/secure']}/invoke", {}).status == 400


def test_over_http_init_db_backfills_while_concurrent_calls_never_fail_and_only_an_admin_may_run_it(live_server):
    operator = live_server.api(live_server.key("operator"))
    admin = live_server.api()
    with LoopbackServer(lambda req: (200, {}, {"ok": True})) as up:
        doc_id, eps = create(operator, spec(up.url("")))
        live_server.psql(NULL_SQL.replace("CAST(:id AS uuid)", f"'{doc_id}'::uuid"))
        assert operator.post("/api/init-db").status == 403
        assert live_server.api(live_server.key("viewer")).post("/api/init-db").status == 403

        def call(_):
            return operator.post(f"/api/endpoints/{eps['/secure']}/invoke", {}).status

        with ThreadPoolExecutor(6) as pool:
            calls = [pool.submit(call, i) for i in range(18)]
            r = admin.post("/api/init-db")
            statuses = [c.result() for c in calls]
        assert r.status == 200, r.json
        assert [b for b in r.data["endpoint_security_backfill"]["backfilled"] if b["document_id"] == doc_id] == [
            {"document_id": doc_id, "endpoints": 2}]
        assert set(statuses) <= {200, 400}     # before the backfill unchecked, after it refused; never a failure
        refused = operator.post(f"/api/endpoints/{eps['/secure']}/invoke", {})
        assert refused.status == 400 and "TokenAuth" in refused.error["message"]
        assert operator.post(f"/api/endpoints/{eps['/secure']}/invoke", {"headers": {"token": "x"}}).status == 200


def test_the_cli_command_backfills_and_prints_its_report(api, db, loopback, capsys):
    from chalicelib.cli import main

    doc_id, eps = create(api, spec(loopback.url("")))
    as_before_070(db, doc_id)
    assert main(["backfill-endpoint-security"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"document_id": doc_id, "endpoints": 2} in report["backfilled"]
    targets.forget_all()
    assert api.post(f"/api/endpoints/{eps['/secure']}/invoke", {}).status == 400
