"""Gateway overhead (`make bench BENCH=gateway`), in one run, interleaved:

  in-process  POST /api/endpoints/{id}/invoke through the app (chalice's
              LocalGateway, no sockets): API-key auth, target load, validation
              and request building, upstream auth, the outbound guard, the log
              row + statistics write, the access-log row (the goal's figure);
              also the Lambda handler called with an API Gateway proxy event
              (as bench_dynamic_api does: no local emulation of API Gateway);
  HTTP        the same request through the real local server (`make run`,
              tests/live.py, a subprocess) on a keep-alive connection;
  direct      a `requests.Session` GET to the same loopback upstream (the
              gateway's own client library).

Two interleaved passes: in-process, Lambda and direct (the overheads), then
in-process and HTTP (HTTP over in-process): the local server's work after
each answer (its log writes, run by PostgreSQL once the answer has left)
must not land on the in-process calls it is compared with on this 2-core
machine.

Prints p50/p95 of each, the p50 overhead in-process over direct (goal <= 1.0
ms, log write included) and HTTP over in-process (goal <= 1 ms), then where
an in-process call's time goes (chalicelib.spans: auth/key lookup, target
load, validate/build, prepare, upstream, log write, access log; the rest is
the framework) and calls per second with 8 threads. The key is an operator key
without a quota (the live server's default for benches and tests): a key
with a quota adds its counters' round trips (shown as `quota` when present).
An extra line gives the in-process p50 overhead with a quota of the operator
default's shape (a rate and 10 in flight; the rate set high enough that the
bench is never refused: the counting is the same) on PostgreSQL counters,
and on Redis counters when TEST_REDIS_URL or REDIS_URL is set (`make bench`
sets TEST_REDIS_URL), interleaved with the unlimited key and direct again.

Own database (bench/scratch.py); the upstream is seed 001's loopback server;
nothing leaves 127.0.0.1.
"""
from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLES = 1200
WARMUP = 100
THREADS = 8
THROUGHPUT_SECONDS = 3.0
BREAKDOWN_CALLS = 400
QUOTA_SAMPLES = 600
QUOTA_RATE = 1_000_000   # a minute: the operator default's counters, never refusing the bench
TOKEN = "bench-token"
PARTS = [("auth", None), ("quota", None), ("load", None), ("build", None), ("prepare", None),
         ("upstream", None), ("finish", None), ("log write", "finish"), ("access log", None)]


def main() -> None:
    from bench.scratch import scratch_database
    with scratch_database("gateway") as (db_url, _name):
        _run(db_url)


def _run(db_url: str) -> None:
    import requests

    from bench.timing import breakdown, discarding_sink, interleave, line, p50
    from chalicelib import observability
    from chalicelib.db import Database, set_db
    from chalicelib.db.migrate import migrate
    from chalicelib.net import outbound
    from chalicelib.secrets import generate_key, set_box
    from chalicelib.settings import Settings, reset_settings
    from chalicelib.web.local import ApiTestClient
    from tests.gateway.helpers import SEED001, import_spec
    from tests.gateway.seed001_upstream import Seed001Upstream
    from tests.live import start_live_server, stop_live_server

    secret = generate_key()
    upstream = Seed001Upstream(token=TOKEN).__enter__()
    server = None
    db = None
    try:
        server = start_live_server(db_url, secret)
        reset_settings(Settings(database_url=db_url, secret_keys=(secret,), outbound_allowlist=("127.0.0.1",),
                                stage="bench", key_default_rate_per_minute=0, key_default_max_concurrent=0))
        set_box(None)
        observability.set_sink(discarding_sink())   # the log lines, written, not shown
        db = Database(db_url)
        migrate(db)
        set_db(db)
        doc = import_spec(db, SEED001.read_text(), base_url=upstream.base_url,
                          auth_config={"type": "apiKey", "in": "header", "name": "token", "value": TOKEN})
        endpoint_id = doc["endpoints"][("GET", "/health")]
        key = server.key("operator")   # no quota on the live server (tests/live.py): nor in-process
        import app as app_module

        def make_client():
            return ApiTestClient(app_module.app, project_dir=str(ROOT)).http

        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        body = json.dumps({"query": {}}).encode()
        path = f"/api/endpoints/{endpoint_id}/invoke"
        client = make_client()
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        session = requests.Session()
        direct_url = upstream.base_url + "/health"

        def in_process(c=client):
            r = c.request("POST", path, headers=headers, body=body)
            assert r.status_code == 200, r.body[:300]

        def lambda_event() -> dict:
            hdrs = {**headers, "Host": "bench.local"}
            return {"resource": "/api/endpoints/{endpoint_id}/invoke", "path": path, "httpMethod": "POST",
                    "headers": hdrs, "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
                    "queryStringParameters": None, "multiValueQueryStringParameters": None,
                    "pathParameters": {"endpoint_id": endpoint_id}, "stageVariables": None,
                    "requestContext": {"resourcePath": "/api/endpoints/{endpoint_id}/invoke", "httpMethod": "POST",
                                       "requestId": str(uuid.uuid4()), "stage": "api",
                                       "identity": {"sourceIp": "127.0.0.1"}},
                    "body": body.decode(), "isBase64Encoded": False}

        def in_lambda():
            r = app_module.app(lambda_event(), None)
            assert r["statusCode"] == 200, r["body"][:300]

        def over_http():
            conn.request("POST", path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            assert r.status == 200, data[:300]

        def direct():
            r = session.get(direct_url, headers={"token": TOKEN}, timeout=5)
            assert r.status_code == 200
            r.json()

        for _ in range(WARMUP):
            in_process()
            in_lambda()
            over_http()
            direct()
        # Two passes (see the module doc): in-process and Lambda against direct, then in-process against HTTP.
        got = interleave({"in-process": in_process, "lambda": in_lambda, "direct": direct}, SAMPLES)
        beside = interleave({"in-process": in_process, "http": over_http}, SAMPLES)
        inp, lam, dr = got["in-process"], got["lambda"], got["direct"]
        htp, inp2 = beside["http"], beside["in-process"]
        print(f"POST {path.replace(endpoint_id, '{id}')} -> GET /health upstream, n={SAMPLES} each, interleaved")
        print(line("invoke in-process (app)", inp))
        print(line("invoke via the Lambda handler", lam))
        print(line("invoke through the HTTP server", htp))
        print(line("in-process, beside the HTTP calls", inp2))
        print(line("direct requests.Session GET", dr))
        over, over_http_ms = p50(inp) - p50(dr), p50(htp) - p50(inp2)
        print(f"p50 overhead in-process over direct : {over:6.3f} ms (goal <= 1.0 ms) "
              f"-> {'OK' if over <= 1.0 else 'OVER'}   ratio {p50(inp) / p50(dr):.2f}x")
        print(f"p50 HTTP server over in-process     : {over_http_ms:6.3f} ms (goal <= 1 ms) "
              f"-> {'OK' if over_http_ms <= 1.0 else 'OVER'}")
        print(f"p50 HTTP overhead over direct       : {over + over_http_ms:6.3f} ms (the two added)")
        print(f"p50 Lambda handler over direct      : {p50(lam) - p50(dr):6.3f} ms (without chalice's "
              "local API Gateway emulation)")
        _quota_line(in_process, direct, db, path, body, make_client)
        for text in breakdown(in_process, BREAKDOWN_CALLS, PARTS, direct_ms=p50(dr)):
            print(text)

        counts = [0] * THREADS
        stop = time.perf_counter() + THROUGHPUT_SECONDS
        errors: list[BaseException] = []

        def worker(i: int):
            c = make_client()
            try:
                while time.perf_counter() < stop:
                    in_process(c)
                    counts[i] += 1
            except BaseException as exc:  # noqa: BLE001 - any failure of a worker thread is reported by the run
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        if errors:
            raise errors[0]
        total = sum(counts)
        print(f"{THREADS} threads in-process: {total / elapsed:7.1f} calls/s ({total} calls in {elapsed:.1f} s)")
        logged = int(db.scalar("SELECT count(*) FROM api_call_logs"))
        calls = int(db.scalar("SELECT call_count FROM api_endpoints WHERE id = CAST(:id AS uuid)", id=endpoint_id))
        print(f"log rows {logged}, endpoint call_count {calls} (equal: {logged == calls})")
        conn.close()
    finally:
        observability.set_sink(None)
        if server is not None:
            stop_live_server(server.process)
        upstream.__exit__(None, None, None)
        outbound.close_pools()
        set_db(None)
        if db is not None:
            db.close()


def _quota_line(unlimited, direct, db, path: str, body: bytes, make_client) -> None:
    """In-process p50 overhead with a limited operator key (PostgreSQL counters, and
    Redis counters when a Redis URL is in the environment), interleaved with the
    unlimited key and direct."""
    import dataclasses
    import os

    from bench.timing import interleave, p50
    from chalicelib.keys.service import create_key
    from chalicelib.settings import Settings, get_settings, reset_settings

    key = create_key("operator", name="bench-quota", db=db, rate_per_minute=QUOTA_RATE,
                     max_concurrent=Settings.key_default_max_concurrent)["key"]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    client = make_client()
    pg = get_settings()
    redis_url = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    on_redis = dataclasses.replace(pg, redis_url=redis_url) if redis_url else None

    def limited_pg():
        r = client.request("POST", path, headers=headers, body=body)
        assert r.status_code == 200, r.body[:300]

    def limited_redis():
        reset_settings(on_redis)
        try:
            limited_pg()
        finally:
            reset_settings(pg)

    calls = {"unlimited": unlimited, "postgresql": limited_pg, "direct": direct}
    if on_redis is not None:
        calls["redis"] = limited_redis
    for _ in range(20):
        for fn in calls.values():
            fn()
    got = interleave(calls, QUOTA_SAMPLES)
    dr, free = p50(got["direct"]), p50(got["unlimited"])
    figures = "  ".join(f"{store} counters {p50(got[store]) - dr:6.3f} ms (+{p50(got[store]) - free:5.3f})"
                        for store in ("postgresql", "redis") if store in got)
    print(f"p50 overhead, operator key with quota : {figures}  [n={QUOTA_SAMPLES}, +x over the unlimited "
          f"key {free - dr:.3f} ms{'' if on_redis else '; no Redis URL: PostgreSQL only'}]")


if __name__ == "__main__":
    main()
