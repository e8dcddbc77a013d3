"""The local server's cost over the app itself (`make bench BENCH=http`).

In one run, over loopback, 2,000 requests each of `GET /api/keys?limit=1`:
through the real server that `make run` starts (tests/live.py, a subprocess)
on one keep-alive connection and on a fresh connection per request, the same
route called in-process (chalice's LocalGateway, no sockets), and 16 threads
at once on keep-alive connections. Prints p50/p95 of each, the HTTP overhead
over in-process at p50 (goal: at most 1 ms, keep-alive and fresh), the peak
number of the server's PostgreSQL connections (never above DB_POOL_MAX) and
the cross-talk answers seen in the concurrent run (must be 0: half of the
threads use a viewer key, whose answer must be 403, the others an admin key).

The client is http.client (requests adds ~0.3 ms of its own per call).
Own databases (created and dropped).
"""
from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = 2000
WARMUP = 100
THREADS = 16
PATH = "/api/keys?limit=1"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(q * (len(values) - 1)))))]


def _timed_keepalive(port: int, key: str, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", PATH, headers=headers)
        r = conn.getresponse()
        r.read()
        out.append(time.perf_counter() - t)
        assert r.status == 200, r.status
    conn.close()
    return out


def _timed_fresh(port: int, key: str, n: int) -> list[float]:
    out = []
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
    for _ in range(n):
        t = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", PATH, headers=headers)
        r = conn.getresponse()
        r.read()
        conn.close()
        out.append(time.perf_counter() - t)
        assert r.status == 200, r.status
    return out


def _timed_inprocess(http, key: str, n: int) -> list[float]:
    out = []
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(n):
        t = time.perf_counter()
        r = http.request("GET", PATH, headers=headers, body=b"")
        out.append(time.perf_counter() - t)
        assert r.status_code == 200, r.status_code
    return out


def _concurrent(port: int, admin: str, viewer: str) -> tuple[list[float], int, float]:
    per_thread = N // THREADS
    wrong = []
    lat: list[float] = []
    lock = threading.Lock()

    def worker(t: int):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        key, expect = (admin, 200) if t % 2 else (viewer, 403)
        mine = []
        for _ in range(per_thread):
            s = time.perf_counter()
            conn.request("GET", PATH, headers={"Authorization": f"Bearer {key}"})
            r = conn.getresponse()
            body = json.loads(r.read())
            mine.append(time.perf_counter() - s)
            if r.status != expect or body.get("request_id") != r.getheader("X-Request-Id"):
                wrong.append((t, r.status))
        conn.close()
        with lock:
            lat.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))
    elapsed = time.perf_counter() - started
    return lat, len(wrong), per_thread * THREADS / elapsed


def main() -> None:
    from bench.scratch import scratch_database
    with scratch_database("http") as (db_url, name):
        _run(db_url, name)


def _run(db_url: str, name: str) -> None:
    from chalicelib import secrets as secret_store
    from chalicelib.db import Database, set_db
    from chalicelib.db.migrate import migrate
    from chalicelib.settings import DB_POOL_MAX, Settings, reset_settings
    from tests.live import start_live_server, stop_live_server

    secret = secret_store.generate_key()
    server = None
    try:
        server = start_live_server(db_url, secret)
        admin_key = server.admin_key
        viewer_key = server.key("viewer")
        pool_max = int(os.environ.get(DB_POOL_MAX) or Settings.db_pool_max)

        # in-process: the same app, the same database, chalice's LocalGateway without sockets
        reset_settings(Settings(database_url=db_url, secret_keys=(secret,), stage="bench"))
        db = Database(db_url)
        migrate(db)
        set_db(db)
        import app as app_module
        from chalicelib.web.local import ApiTestClient
        http = ApiTestClient(app_module.app, project_dir=str(ROOT)).http

        peak = [0]
        stop = threading.Event()
        sampler_db = Database(db_url, max_connections=1)

        def sample():
            while not stop.is_set():
                n = sampler_db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                                      "AND application_name = 'stepflow' AND pid <> pg_backend_pid()", d=name)
                peak[0] = max(peak[0], int(n))
                stop.wait(0.01)

        # The in-process app shares the database: count only the server's connections
        # by stopping the in-process pool before sampling.
        _timed_inprocess(http, admin_key, WARMUP)
        _timed_keepalive(server.port, admin_key, WARMUP)
        _timed_fresh(server.port, admin_key, WARMUP)
        inproc, keep, fresh = [], [], []
        for _ in range(4):   # interleaved rounds: the same machine noise on each
            inproc += _timed_inprocess(http, admin_key, N // 4)
            keep += _timed_keepalive(server.port, admin_key, N // 4)
            fresh += _timed_fresh(server.port, admin_key, N // 4)
        db.close()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        conc, wrong, rps = _concurrent(server.port, admin_key, viewer_key)
        stop.set()
        sampler.join(2)
        sampler_db.close()

        ms = lambda v: v * 1000
        p50_in = statistics.median(inproc)
        print(f"{N} requests each, GET {PATH}")
        print(f"in-process            p50 {ms(p50_in):6.2f} ms  p95 {ms(pct(inproc, 0.95)):6.2f} ms")
        print(f"HTTP keep-alive       p50 {ms(statistics.median(keep)):6.2f} ms  p95 {ms(pct(keep, 0.95)):6.2f} ms"
              f"  overhead p50 {ms(statistics.median(keep) - p50_in):+.2f} ms (goal <= 1 ms)")
        print(f"HTTP fresh connection p50 {ms(statistics.median(fresh)):6.2f} ms  p95 {ms(pct(fresh, 0.95)):6.2f} ms"
              f"  overhead p50 {ms(statistics.median(fresh) - p50_in):+.2f} ms (goal <= 1 ms)")
        print(f"HTTP {THREADS} threads       p50 {ms(statistics.median(conc)):6.2f} ms  "
              f"p95 {ms(pct(conc, 0.95)):6.2f} ms"
              f"  {rps:.0f} requests/s")
        print(f"peak PostgreSQL connections of the server: {peak[0]} (bound DB_POOL_MAX={pool_max})")
        print(f"cross-talk answers: {wrong} (must be 0)")
    finally:
        if server is not None:
            stop_live_server(server.process)
        set_db(None)


if __name__ == "__main__":
    main()
