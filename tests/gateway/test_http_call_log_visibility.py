"""Through the real server: a call's log row is sent without waiting for the
database's answer (chalicelib.db.pipeline), yet a read made after the answer,
on another connection and so another server thread, always finds it, and the
counters equal the rows, with callers in parallel."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.net.loopback_http import LoopbackServer

WORKERS = 8
CALLS_EACH = 25


def ping_endpoint(live_server, operator_key: str, upstream: LoopbackServer, title: str) -> str:
    """A new document with one GET /ping endpoint at `upstream`, imported through the API; its id."""
    spec = json.dumps({"openapi": "3.0.3", "info": {"title": title, "version": "1"},
                       "paths": {"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}}})
    r = live_server.call("POST", "/api/documents", {"content": spec, "base_url": upstream.url(""),
                                                     "name": f"{title}-{uuid.uuid4().hex[:8]}"}, key=operator_key)
    assert r.status_code == 201, r.text
    return r.json()["data"]["endpoints"][0]["id"]


def test_every_call_log_is_readable_at_once_from_another_connection_with_callers_in_parallel(live_server):
    operator_key, viewer_key = live_server.key("operator"), live_server.key("viewer")
    with LoopbackServer(lambda req: (200, {}, {"ok": True})) as upstream:
        eid = ping_endpoint(live_server, operator_key, upstream, "seen")

        def worker(_: int) -> list[tuple[int, int]]:
            seen = []
            for _ in range(CALLS_EACH):
                call = live_server.call("POST", f"/api/endpoints/{eid}/invoke", {}, key=operator_key)
                assert call.status_code == 200, call.text
                log_id = call.json()["data"]["log_id"]
                read = requests.get(f"{live_server.url}/api/call-logs/{log_id}",   # a new connection
                                    headers={"Authorization": f"Bearer {viewer_key}", "Connection": "close"},
                                    timeout=30)
                seen.append((read.status_code, read.json()["data"]["response_status_code"]
                             if read.status_code == 200 else read.text))
            return seen

        with ThreadPoolExecutor(WORKERS) as pool:
            results = [s for batch in pool.map(worker, range(WORKERS)) for s in batch]
    assert results == [(200, 200)] * (WORKERS * CALLS_EACH)
    endpoint = live_server.call("GET", f"/api/endpoints/{eid}", key=viewer_key).json()["data"]
    logs = live_server.psql("SELECT count(*) AS n FROM api_call_logs WHERE api_endpoint_id = CAST(:e AS uuid)",
                            e=eid)[0]["n"]
    assert endpoint["call_count"] == logs == WORKERS * CALLS_EACH


def test_a_call_answered_while_the_database_holds_its_log_row_back_is_found_by_the_next_read(live_server):
    """The endpoint's counter row is locked by another session: the call is answered at
    once (its log write waits in the database), and a read on another connection made
    right after the answer waits for that write instead of missing the row."""
    import threading

    import pg8000.native

    from chalicelib.db.urls import parse_database_url

    operator_key, viewer_key = live_server.key("operator"), live_server.key("viewer")
    with LoopbackServer(lambda req: (200, {}, {"ok": True})) as upstream:
        eid = ping_endpoint(live_server, operator_key, upstream, "held")
        assert live_server.call("POST", f"/api/endpoints/{eid}/invoke", {}, key=operator_key).status_code == 200
        requests.get(f"{live_server.url}/api/call-logs?endpoint_id={eid}",   # the viewer's key is known now
                     headers={"Authorization": f"Bearer {viewer_key}"}, timeout=30)
        holder = pg8000.native.Connection(**parse_database_url(live_server.database_url))
        holder.run("BEGIN")
        holder.run("SELECT call_count FROM api_endpoints WHERE id = CAST(:e AS uuid) FOR UPDATE", e=eid)
        release = threading.Timer(0.5, lambda: (holder.run("ROLLBACK"), holder.close()))
        try:
            call = live_server.call("POST", f"/api/endpoints/{eid}/invoke", {}, key=operator_key)
            assert call.status_code == 200, call.text
            release.start()
            read = requests.get(f"{live_server.url}/api/call-logs/{call.json()['data']['log_id']}",
                                headers={"Authorization": f"Bearer {viewer_key}", "Connection": "close"},
                                timeout=30)
        finally:
            release.join(5)
    assert read.status_code == 200, read.text
    assert live_server.call("GET", f"/api/endpoints/{eid}", key=viewer_key).json()["data"]["call_count"] == 2
