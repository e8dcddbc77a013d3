"""Gateway overhead: a GET invoked through the app in-process (chalice test
client, API-key auth, validation, upstream auth, outbound guard, log row +
statistics write) versus a direct `requests.Session` GET to the same loopback
upstream, in one run, interleaved. Prints p50/p95 of both and the p50
overhead (goal: <= 2 ms including the log write), then calls per second with
8 concurrent threads.

Own database (created and dropped); the upstream is seed 001's loopback
server; nothing leaves 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLES = 600
WARMUP = 60
THREADS = 8
THROUGHPUT_SECONDS = 4.0
TOKEN = "bench-token"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(q * (len(values) - 1)))))
    return values[k]


def main() -> None:
    import requests

    from chalicelib.db import Database, quote_ident, set_db
    from chalicelib.db.migrate import migrate
    from chalicelib.keys.service import create_key
    from chalicelib.net import outbound
    from chalicelib.secrets import generate_key, set_box
    from chalicelib.settings import Settings, reset_settings
    from chalicelib.web.local import ApiTestClient
    from tests.gateway.helpers import SEED001, import_spec
    from tests.gateway.seed001_upstream import Seed001Upstream

    admin_url = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"stepflow_bench_gateway_{uuid.uuid4().hex[:8]}"
    db_url = admin_url.split("?")[0].rsplit("/", 1)[0] + "/" + name
    if "?" in admin_url:
        db_url += "?" + admin_url.split("?", 1)[1]
    admin = Database(admin_url)
    admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    upstream = Seed001Upstream(token=TOKEN).__enter__()
    try:
        db = Database(db_url)
        migrate(db)
        set_db(db)
        reset_settings(Settings(database_url=db_url, secret_keys=(generate_key(),), outbound_allowlist=("127.0.0.1",),
                                stage="bench"))
        set_box(None)
        doc = import_spec(db, SEED001.read_text(), base_url=upstream.base_url,
                          auth_config={"type": "apiKey", "in": "header", "name": "token", "value": TOKEN})
        endpoint_id = doc["endpoints"][("GET", "/health")]
        key = create_key("operator", name="bench", db=db)["key"]
        import app as app_module

        def make_client():
            return ApiTestClient(app_module.app, project_dir=str(ROOT)).http

        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        body = json.dumps({"query": {}}).encode()
        path = f"/api/endpoints/{endpoint_id}/invoke"
        http = make_client()
        session = requests.Session()
        direct_url = upstream.base_url + "/health"

        def via_gateway(client=http):
            r = client.request("POST", path, headers=headers, body=body)
            assert r.status_code == 200, r.body[:300]

        def direct():
            r = session.get(direct_url, headers={"token": TOKEN}, timeout=5)
            assert r.status_code == 200
            r.json()

        for _ in range(WARMUP):
            via_gateway()
            direct()
        gw, dr = [], []
        for _ in range(SAMPLES):
            t = time.perf_counter()
            via_gateway()
            gw.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            direct()
            dr.append((time.perf_counter() - t) * 1000)
        gw50, gw95, d50, d95 = pct(gw, .5), pct(gw, .95), pct(dr, .5), pct(dr, .95)
        print(f"invoke GET through the app:   p50 {gw50:6.2f} ms   p95 {gw95:6.2f} ms   (n={SAMPLES})")
        print(f"direct requests.Session GET:  p50 {d50:6.2f} ms   p95 {d95:6.2f} ms")
        print(f"p50 overhead: {gw50 - d50:.2f} ms (goal <= 2 ms, log write included)   ratio {gw50 / d50:.2f}x")

        # breakdown: the service call without the HTTP layer of the app
        from chalicelib.gateway.invoke import invoke_endpoint
        from chalicelib.gateway.request_builder import InvokeInput
        svc = []
        for _ in range(200):
            t = time.perf_counter()
            invoke_endpoint(endpoint_id, InvokeInput())
            svc.append((time.perf_counter() - t) * 1000)
        print(f"invoke_endpoint() alone:      p50 {pct(svc, .5):6.2f} ms   p95 {pct(svc, .95):6.2f} ms")

        # throughput with 8 threads, each with its own client (and DB connection)
        counts = [0] * THREADS
        stop = time.perf_counter() + THROUGHPUT_SECONDS
        errors: list[BaseException] = []

        def worker(i: int):
            client = make_client()
            try:
                while time.perf_counter() < stop:
                    via_gateway(client)
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
        print(f"{THREADS} threads through the app: {total / elapsed:7.1f} calls/s ({total} calls in {elapsed:.1f} s)")
        logged = int(db.scalar("SELECT count(*) FROM api_call_logs"))
        calls = int(db.scalar("SELECT call_count FROM api_endpoints WHERE id = CAST(:id AS uuid)", id=endpoint_id))
        print(f"log rows {logged}, endpoint call_count {calls} (equal: {logged == calls})")
        stats = statistics.mean(gw)
        print(f"mean via gateway {stats:.2f} ms")
    finally:
        upstream.__exit__(None, None, None)
        outbound.close_pools()
        set_db(None)
        try:
            db.close()
        except Exception:
            pass
        admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        admin.close()


if __name__ == "__main__":
    main()
