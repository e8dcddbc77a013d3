"""Nothing is lost once an upstream call was made, even when the database
drops the app's connections: a burst of invokes against a loopback upstream
while another connection terminates the app's own backends
(pg_terminate_backend on its application_name) again and again.

Counts: no 500 at all; every call the upstream saw has its log row (or, if
both writes failed, an answer saying so: log_id null and a warning); every
other answer is a 503 with Retry-After, made before any upstream call.
"""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from chalicelib.db import Database, get_db, set_db
from chalicelib.gateway import calllogs
from chalicelib.gateway.calllogs import LogEntry
from tests.conftest import ADMIN_URL, TEST_DATABASE_URL
from tests.gateway.helpers import import_spec, spec_text

CALLS = 1000
KILL_EVERY_S = 0.3
MIN_KILLS = 5          # a burst goes on past CALLS until this many backends were terminated ...
MAX_BURST_S = 30.0     # ... for at most this long


def burst(calls: int, kills: list, min_kills: int = MIN_KILLS):
    """Call indexes for a burst: `calls` of them at least, more until `min_kills` kills happened."""
    import itertools
    deadline = time.monotonic() + MAX_BURST_S
    for i in itertools.count():
        if i >= calls and (sum(kills) >= min_kills or time.monotonic() > deadline):
            return
        yield i


@pytest.fixture
def own_backends(db):
    """The app's database under an application_name of its own (only its backends are terminated)."""
    app_name = f"stepflow-fault-{uuid.uuid4().hex[:8]}"
    faulty = Database(TEST_DATABASE_URL, application_name=app_name)
    set_db(faulty)
    yield app_name
    faulty.close()
    set_db(db)


def terminate_repeatedly(app_name: str, stop: threading.Event, kills: list, database: str | None = None) -> None:
    """Terminate the backends of `app_name` (in `database` only, when given) every KILL_EVERY_S."""
    admin = Database(ADMIN_URL, application_name="stepflow-fault-killer")
    try:
        while not stop.is_set():
            kills.append(admin.scalar(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :app "
                "AND (CAST(:db AS text) IS NULL OR datname = CAST(:db AS text))", app=app_name, db=database))
            time.sleep(KILL_EVERY_S)
    finally:
        admin.close()


def test_killing_the_apps_backends_mid_burst_loses_no_log_row_and_answers_no_500(api, db, loopback, own_backends):
    hits = []
    loopback.handler = lambda req: (hits.append(req.headers.get("X-Call")), (200, {}, {"ok": True}))[1]
    doc = import_spec(db, spec_text({"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}}),
                      base_url=loopback.url(""))
    eid = doc["endpoints"][("GET", "/ping")]
    stop, kills = threading.Event(), []
    killer = threading.Thread(target=terminate_repeatedly, args=(own_backends, stop, kills), daemon=True)
    statuses, unlogged, no_retry_after = [], 0, 0
    killer.start()
    try:
        for i in burst(CALLS, kills):
            r = api.post(f"/api/endpoints/{eid}/invoke", {"headers": {"X-Call": str(i)}})
            statuses.append(r.status)
            if r.status == 200 and r.data["log_id"] is None:
                unlogged += 1
                assert "call log" in r.data["warning"]
            elif r.status == 503:
                no_retry_after += not r.headers.get("retry-after")
            elif r.status == 500:
                print("500:", r.json["error"])
    finally:
        stop.set()
        killer.join(5)
    rows = db.scalar("SELECT count(*) FROM api_call_logs WHERE api_endpoint_id = CAST(:e AS uuid)", e=eid)
    print(f"db fault burst: {CALLS} calls, {sum(kills)} backends terminated, {statuses.count(500)} x 500, "
          f"{statuses.count(503)} x 503, {len(hits)} upstream hits, {rows} log rows, {unlogged} unlogged")
    assert sum(kills) >= MIN_KILLS  # the faults really happened
    assert statuses.count(500) == 0
    assert set(statuses) <= {200, 503}
    assert rows + unlogged == len(hits) == statuses.count(200)
    assert unlogged == 0
    assert no_retry_after == 0


def test_a_log_write_that_fails_twice_is_reported_in_the_answer(api, db, loopback, monkeypatch):
    doc = import_spec(db, spec_text({"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}}),
                      base_url=loopback.url(""))
    eid = doc["endpoints"][("GET", "/ping")]
    attempts = []

    def failing_record(entry: LogEntry, db=None, rewrite=False):
        attempts.append(entry.endpoint_id)
        raise OSError("connection reset")

    monkeypatch.setattr(calllogs, "record", failing_record)
    r = api.post(f"/api/endpoints/{eid}/invoke", {})
    assert r.status == 200 and r.data["status_code"] == 200
    assert r.data["log_id"] is None and "could not be written" in r.data["warning"]
    assert attempts == [eid, eid]  # retried once


def test_a_log_write_that_fails_once_is_retried_and_kept(api, db, loopback, monkeypatch):
    doc = import_spec(db, spec_text({"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}}),
                      base_url=loopback.url(""))
    eid = doc["endpoints"][("GET", "/ping")]
    real = calllogs.record
    failures = [OSError("connection reset")]

    def flaky_record(entry: LogEntry, db=None, rewrite=False):
        if failures:
            raise failures.pop()
        return real(entry, db, rewrite=rewrite)

    monkeypatch.setattr(calllogs, "record", flaky_record)
    r = api.post(f"/api/endpoints/{eid}/invoke", {})
    assert r.status == 200 and r.data["log_id"] and "warning" not in r.data
    assert get_db().scalar("SELECT count(*) FROM api_call_logs WHERE id = CAST(:id AS uuid)", id=r.data["log_id"]) == 1


def test_through_the_real_server_killed_backends_lose_no_log_row_and_answer_no_500(live_server, loopback):
    """The same burst over HTTP against the server `make run` starts (its own database)."""
    from chalicelib.db.urls import parse_database_url

    hits = []
    loopback.handler = lambda req: (hits.append(1), (200, {}, {"ok": True}))[1]
    operator = live_server.api(live_server.key("operator"))
    spec = spec_text({"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}})
    r = operator.post("/api/documents", {"content": spec, "base_url": loopback.url(""),
                                         "name": f"fault-{uuid.uuid4().hex[:8]}"})
    assert r.status == 201, r.json
    eid = r.data["endpoints"][0]["id"]
    stop, kills = threading.Event(), []
    live_db = parse_database_url(live_server.database_url)["database"]
    killer = threading.Thread(target=terminate_repeatedly, args=("stepflow", stop, kills, live_db), daemon=True)
    statuses, unlogged = [], 0
    killer.start()
    try:
        for _ in burst(CALLS // 2, kills, min_kills=3):
            resp = operator.post(f"/api/endpoints/{eid}/invoke", {})
            statuses.append(resp.status)
            if resp.status == 200 and resp.data["log_id"] is None:
                unlogged += 1
            elif resp.status == 503:
                assert resp.headers.get("retry-after"), resp.json
    finally:
        stop.set()
        killer.join(5)
    rows = live_server.psql("SELECT count(*) AS n FROM api_call_logs WHERE api_endpoint_id = CAST(:e AS uuid)",
                            e=eid)[0]["n"]
    print(f"db fault burst over HTTP: {len(statuses)} calls, {sum(kills)} backends terminated, "
          f"{statuses.count(500)} x 500, {statuses.count(503)} x 503, {len(hits)} upstream hits, {rows} log rows, "
          f"{unlogged} unlogged")
    assert sum(kills) >= 3
    assert statuses.count(500) == 0 and set(statuses) <= {200, 503}
    assert rows + unlogged == len(hits) == statuses.count(200)
    assert unlogged == 0


def test_a_call_log_written_again_after_an_unknown_outcome_is_kept_and_counted_once(db, loopback):
    """The re-write of a lost write (gateway.calllogs) inserts only a row that is not there yet."""
    doc = import_spec(db, spec_text({"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}}),
                      base_url=loopback.url(""))
    eid = doc["endpoints"][("GET", "/ping")]
    entry = LogEntry(endpoint_id=eid, method="GET", url=loopback.url("/ping"), status_code=200, response_time_ms=4)
    log_id = calllogs.record(entry, db)          # sent without waiting, as a call does
    calllogs.record(entry, db, rewrite=True)     # its outcome unknown: written again (twice)
    calllogs.record(entry, db, rewrite=True)
    assert db.scalar("SELECT count(*) FROM api_call_logs WHERE id = CAST(:id AS uuid)", id=log_id) == 1
    row = db.one("SELECT call_count, success_count, avg_response_time_ms FROM api_endpoints "
                 "WHERE id = CAST(:e AS uuid)", e=eid)
    assert (row["call_count"], row["success_count"], row["avg_response_time_ms"]) == (1, 1, 4)
