"""Where the management API's access-log rows go: written with their request,
or in batches by a long-running server.

    write(row)          # chalicelib.web.access_log.record: queued when started, else written now
    start()             # the local server, once (scripts/run_local.py)
    flush()             # queued rows written now (route metrics read them; shutdown)
    stop()              # flush, then stop the writer thread (the server's shutdown, and atexit)

A row is a dict of api_access_logs columns with its own `created_at` (the
moment its request ended), so a batch lands in the right partition and
window. Started, rows wait at most FLUSH_EVERY_S (0.2 s) or until BATCH_MAX
(200) are queued, then go in ONE insert (asynchronous commit). On a normal shutdown (SIGTERM, Ctrl-C, interpreter exit)
every queued row is written first. Lambda never starts it (one request at a
time per container and no shutdown notice): there each row is sent with its
request as one prepared statement without waiting for the answer (the server
runs and commits it on arrival; the answer is read, and a failure logged,
before the connection's next statement: `Database.execute_nowait`). A write that fails is logged with the number
of rows lost and never fails a request.
"""
from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from chalicelib.db import prepared

log = logging.getLogger("stepflow.access")

FLUSH_EVERY_S = 0.2
BATCH_MAX = 200

_INSERT = (
    "WITH r AS (INSERT INTO api_access_logs (created_at, request_id, method, route, status_code, duration_ms,"
    " api_key_id, role, api_version)"
    " SELECT created_at, request_id, method, route, status_code, duration_ms, api_key_id, role, api_version"
    " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(created_at timestamptz, request_id text, method text,"
    " route text, status_code int, duration_ms float8, api_key_id uuid, role text, api_version text)"
    " RETURNING 1) SELECT set_config('synchronous_commit', 'off', true)")
prepared(_INSERT)   # parsed and planned once per connection (chalicelib.db.wire.run_prepared)

_queue: list[dict] = []
_lock = threading.Lock()          # the queue
_write_lock = threading.Lock()    # one batch written at a time, in order
_wake = threading.Event()
_stop = threading.Event()
_thread: threading.Thread | None = None


def _insert(rows: list[dict], db: Any = None) -> None:
    if not rows:
        return
    try:
        if db is None:
            from chalicelib.db import get_db
            db = get_db()
        from chalicelib.jsontext import dumps
        if len(rows) == 1:   # with its request: sent, its answer read with the connection's next statement
            db.execute_nowait(_INSERT, rows=dumps(rows))
        else:
            db.scalar(_INSERT, rows=dumps(rows))
    except Exception as exc:  # noqa: BLE001 - the access log never fails a request
        log.warning("access log: %d row(s) not written (%s) request_id=%s", len(rows), type(exc).__name__,
                    rows[0].get("request_id"))


def write(row: dict, db: Any = None) -> None:
    if _thread is None or db is not None:
        _insert([row], db)
        return
    with _lock:
        _queue.append(row)
        full = len(_queue) >= BATCH_MAX
    if full:
        _wake.set()


def flush() -> None:
    with _write_lock:
        with _lock:
            rows = _queue[:]
            del _queue[:]
        _insert(rows)


def _run() -> None:
    while not _stop.is_set():
        _wake.wait(FLUSH_EVERY_S)
        _wake.clear()
        flush()


def start() -> None:
    global _thread
    if _thread is not None:
        return
    _stop.clear()
    _thread = threading.Thread(target=_run, name="access-log-writer", daemon=True)
    _thread.start()
    atexit.register(stop)


def stop() -> None:
    global _thread
    thread, _thread = _thread, None   # rows written from now on go straight to the database
    if thread is not None:
        _stop.set()
        _wake.set()
        thread.join(5)
    flush()
