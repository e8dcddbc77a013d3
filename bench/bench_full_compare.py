"""Whole-dataset Redis comparison runs end to end (`make bench BENCH=full_compare`).

Two local redis-server processes hold N string keys plus N/20 hashes (10
fields) per side, with 0.1% planted differences (values changed, keys only
in cluster1, keys only in cluster2). A run is started through the service
(as POST /api/compare-runs does), its segment jobs go to SQS on a local
moto_server, and 1 then 2 worker *processes* (chalicelib.compare.fullrun.
workers, the jobs system's LocalWorker) drain them. Printed:

- keys/s end to end (run created -> completed, keys of the union compared);
- peak RSS of each worker process (VmHWM), at a small and at the full size:
  flat memory means the ratio stays near 1;
- the floor: a bare SCAN of both sides with pipelined reads (DUMP of each
  cluster1 key on both sides, EXISTS on cluster1 of each cluster2 key), no
  comparison, same machine, same run; and the ratio run / floor;
- whether exactly the planted differences were found.

Sizes: BENCH_FULL_KEYS (default 1,000,000 string keys per side, about three
minutes in all on a 2-core machine) and BENCH_FULL_SMALL (default 100,000)
for the memory comparison.

Cassandra: BENCH_FULL_ROWS (default 200,000) rows per side on two CQL test
servers (tests/cqlserver, in this process), 0.1% planted differences, 32
token ranges, 1 then 2 worker processes: rows/s end to end, against the
floor of a bare paged read of every range on both sides. Differing rows are
read again once (BENCH_FULL_RECHECK, default 1; 0 turns rechecks off).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_FULL = int(os.environ.get("BENCH_FULL_KEYS", 1_000_000))
N_SMALL = int(os.environ.get("BENCH_FULL_SMALL", 100_000))
N_ROWS = int(os.environ.get("BENCH_FULL_ROWS", 200_000))
RECHECK = int(os.environ.get("BENCH_FULL_RECHECK", 1))  # Cassandra recheck_rounds (the product's default: 1)
FIELDS = 10


def load(c1, c2, n: int) -> dict:
    """Fill both sides; returns the planted differences {key: (type, missing_in)}."""
    c1.flushall()
    c2.flushall()
    expected: dict = {}
    n_hash = n // 20
    for c, side in ((c1, 1), (c2, 2)):
        p = c.pipeline(transaction=False)
        for i in range(n):
            v = f'{{"id":{i},"name":"user {i}","active":true}}'
            if side == 2 and i % 1000 == 7:
                v = v.replace("true", "false")
                expected[f"user:{i}"] = ("value_mismatch", None)
            if side == 2 and i % 2000 == 11:
                expected[f"user:{i}"] = ("missing", "cluster2")
            else:
                p.set(f"user:{i}", v)
            if len(p) >= 10_000:
                p.execute()
        for i in range(n_hash):
            m = {f"f{j}": f"value-{i}-{j}" for j in range(FIELDS)}
            if side == 2 and i % 1000 == 3:
                m["f3"] = "changed"
                expected[f"profile:{i}"] = ("value_mismatch", None)
            p.hset(f"profile:{i}", mapping=m)
            if len(p) >= 5_000:
                p.execute()
        if side == 2:
            for i in range(n // 2000):
                p.set(f"extra:{i}", "only here")
                expected[f"extra:{i}"] = ("missing", "cluster1")
        p.execute()
    return expected


def floor(c1, c2) -> tuple[float, int]:
    """Bare SCAN + pipelined reads of both sides (no comparison): seconds, keys."""
    t0 = time.perf_counter()
    seen = 0
    for src, other, cmd in ((c1, c2, "DUMP"), (c2, c1, "EXISTS")):
        cursor = 0
        while True:
            cursor, keys = src.scan(cursor, count=1000)
            seen += len(keys) if cmd == "DUMP" else 0
            for c in ((src, other) if cmd == "DUMP" else (other,)):
                p = c.pipeline(transaction=False)
                for k in keys:
                    p.execute_command(cmd, k)
                p.execute()
            if cursor == 0:
                break
    return time.perf_counter() - t0, seen


def peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def start_workers(n: int, env: dict) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-m", "chalicelib.compare.fullrun.workers", "1"], cwd=str(ROOT),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(n)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "worker ready"
    return procs


def one_run(cfg1: dict, cfg2: dict, workers: int, env: dict, body: dict | None = None) -> dict:
    from chalicelib.compare.fullrun import journal, service
    from chalicelib.compare.fullrun.models import CreateRun
    procs = start_workers(workers, env)
    idle_rss = [peak_rss_kb(p.pid) for p in procs]
    try:
        t0 = time.perf_counter()
        request = CreateRun.model_validate(body or {"cluster1_config": cfg1, "cluster2_config": cfg2,
                                                    "scan_count": 1000, "step_keys": 5000, "slice_seconds": 20,
                                                    "max_listed": 1000})
        run = service.create(request)
        rid = str(run["id"])
        while journal.run_state(rid) == "running":
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        rss = [peak_rss_kb(p.pid) for p in procs]
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    view = service.view(rid, segments=False)
    diffs, after = {}, 0
    while True:
        rows = journal.differences_after(rid, after, 5000)
        if not rows:
            break
        diffs.update({(r["key"] if r["field"] is None else (r["key"], r["field"])): (r["difference_type"],
                                                                                  r["missing_in"]) for r in rows})
        after = rows[-1]["id"]
    return {"state": view["state"], "seconds": elapsed, "keys": view["progress"]["keys_compared"],
            "diffs": diffs, "rss_kb": rss, "idle_rss_kb": idle_rss}


def load_cql(n: int):
    """Two CQL test servers with n rows each (0.1% differing); (pro, test, expected)."""
    import json

    from tests.cqlserver import CqlTestServer
    pro, test = CqlTestServer(cluster_name="production"), CqlTestServer(cluster_name="test")
    cols = {"user_id": "int", "name": "text", "email": "text", "score": "double"}
    expected: dict = {}
    for s in (pro, test):
        s.create_table("ks", "users", cols, primary_key=["user_id"])
    for i in range(n):
        row = {"user_id": i, "name": f"user {i}", "email": f"u{i}@example.com", "score": i / 7}
        pro.insert("ks", "users", row)
        key = json.dumps({"user_id": i}, separators=(",", ":"))
        if i % 2000 == 9:
            expected[key] = ("missing", "test")
            continue
        if i % 1000 == 5:
            row = dict(row, email="changed@example.com")
            expected[(key, "email")] = ("value_mismatch", None)
        test.insert("ks", "users", row)
    for i in range(n, n + n // 2000):
        test.insert("ks", "users", {"user_id": i, "name": "new", "email": "n@example.com", "score": 0.0})
        expected[json.dumps({"user_id": i}, separators=(",", ":"))] = ("missing", "pro")
    pro.start()
    test.start()
    return pro, test, expected


def cql_floor(cfgs: list[dict], split_count: int) -> tuple[float, int]:
    """A bare paged read of every token range of both sides (no comparison)."""
    from chalicelib.compare.cassandra.config import CassandraConfig
    from chalicelib.compare.fullrun import cassandra_side as cs
    t0 = time.perf_counter()
    n = 0
    for i, c in enumerate(cfgs):
        cfg = CassandraConfig.model_validate(c)
        sess = cs.connect(cfg, f"side{i}")
        try:
            reader = cs.RangeReader(sess, cfg, ["user_id"], [], [], 1000)
            for a, b in cs.split(cs.ring_tokens(sess), split_count):
                n += sum(1 for _ in reader.rows(a, b))
        finally:
            sess.release()
    return time.perf_counter() - t0, n


def cassandra_part(env: dict) -> None:
    pro, test, expected = load_cql(N_ROWS)
    try:
        cfgs = [{"cluster_name": s.catalog.cluster_name, "hosts": [s.host], "port": s.port, "keyspace": "ks",
                 "table": "users", "datacenter": "datacenter1"} for s in (pro, test)]
        fl_s, fl_rows = cql_floor(cfgs, 32)
        union = N_ROWS + N_ROWS // 2000
        for w in (1, 2):
            r = one_run({}, {}, w, env, {"engine": "cassandra", "pro_config": cfgs[0], "test_config": cfgs[1],
                                         "split_count": 32, "page_size": 1000, "step_keys": 2000,
                                         "slice_seconds": 20, "recheck_rounds": RECHECK})
            ok = r["diffs"] == expected and r["keys"] == union and r["state"] == "completed"
            floor_rate = fl_rows / 2 / fl_s
            print(f"Cassandra {N_ROWS:,} rows per side, recheck_rounds {RECHECK}, {w} worker(s): "
                  f"{r['state']}, {r['keys']:,} rows in "
                  f"{r['seconds']:.1f}s = {r['keys'] / r['seconds']:,.0f} rows/s; floor (bare paged range reads of "
                  f"both sides) {floor_rate:,.0f} rows/s; ratio {r['keys'] / r['seconds'] / floor_rate:.2f}; "
                  f"peak RSS per worker {', '.join(f'{x / 1024:.0f} MB' for x in r['rss_kb'])}; "
                  f"planted differences {len(expected)}, found {len(r['diffs'])}, exact: {ok}", flush=True)
    finally:
        pro.stop()
        test.stop()


def main() -> None:
    from bench.scratch import scratch_database
    with scratch_database("full") as (db_url, _name):
        _run(db_url)


def _run(db_url: str) -> None:
    import app  # noqa: F401 - registers the segment job type, as the API process does
    from chalicelib import aws
    from chalicelib.db import Database, set_db
    from chalicelib.db.migrate import migrate
    from chalicelib.jobs import queue as job_queue
    from chalicelib.secrets import generate_key
    from chalicelib.settings import Settings, reset_settings
    from tests.compare import redis_servers as rs
    from tests.jobs.conftest import AWS_ENV, create_queues, start_moto_server

    for k, v in AWS_ENV.items():
        os.environ.setdefault(k, v)
    moto, endpoint = start_moto_server()
    s1, s2 = rs.start_server(), rs.start_server()
    db = Database(db_url)
    try:
        migrate(db)
        set_db(db)
        key = generate_key()
        settings = Settings(database_url=db_url, secret_keys=(key,), aws_endpoint_url=endpoint, job_retry_delay_s=0)
        reset_settings(settings)
        aws.reset_clients()
        urls, _ = create_queues(aws.client("sqs"), f"bench{uuid.uuid4().hex[:6]}-jobs", visibility_s=120)
        reset_settings(Settings(**{**settings.__dict__, "queue_urls": urls}))
        job_queue.set_queue(job_queue.SqsQueue(urls))
        env = dict(os.environ, DATABASE_URL=db_url, SECRET_KEYS=key, PYTHONPATH=str(ROOT), AWS_ENDPOINT_URL=endpoint,
                   JOB_RETRY_DELAY_S="0", QUEUE_URL_CRITICAL=urls["critical"], QUEUE_URL_DEFAULT=urls["default"],
                   QUEUE_URL_LOW=urls["low"])
        c1, c2 = s1.client(), s2.client()
        cfg1 = {"name": "production", "nodes": [f"127.0.0.1:{s1.port}"]}
        cfg2 = {"name": "test", "nodes": [f"127.0.0.1:{s2.port}"]}

        results = []
        for n, worker_counts in ((N_SMALL, (1,)), (N_FULL, (1, 2))):
            expected = load(c1, c2, n)
            union = c1.dbsize() + sum(1 for v in expected.values() if v[1] == "cluster1")
            fl_s, _ = floor(c1, c2)
            for w in worker_counts:
                r = one_run(cfg1, cfg2, w, env)
                ok = r["diffs"] == expected and r["keys"] == union and r["state"] == "completed"
                results.append((n, w, r, union / fl_s, ok))
                print(f"{n:>9,} strings + {n // 20:,} hashes per side, {w} worker(s): {r['state']}, "
                      f"{r['keys']:,} keys in {r['seconds']:.1f}s = {r['keys'] / r['seconds']:,.0f} keys/s; "
                      f"floor {union / fl_s:,.0f} keys/s; ratio {r['keys'] / r['seconds'] / (union / fl_s):.2f}; "
                      f"peak RSS per worker {', '.join(f'{x / 1024:.0f} MB' for x in r['rss_kb'])} "
                      f"(idle {', '.join(f'{x / 1024:.0f} MB' for x in r['idle_rss_kb'])}); "
                      f"planted differences {len(expected)}, found {len(r['diffs'])}, exact: {ok}", flush=True)
        small = next(r for n, w, r, _, _ in results if n == N_SMALL)
        large = next(r for n, w, r, _, _ in results if n == N_FULL and w == 1)
        print(f"peak RSS per worker, {N_FULL:,} vs {N_SMALL:,} keys: "
              f"{max(large['rss_kb']) / max(small['rss_kb']):.2f}x (goal: within 1.2x)")
        two = next(r for n, w, r, _, _ in results if n == N_FULL and w == 2)
        print(f"2 workers vs 1: {large['seconds'] / two['seconds']:.2f}x faster (2 cores shared with redis, "
              "PostgreSQL and moto)")
        if N_ROWS:
            cassandra_part(env)
    finally:
        set_db(None)
        db.close()
        s1.stop()
        s2.stop()
        moto.terminate()
