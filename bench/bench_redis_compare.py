"""Redis comparison throughput.

Two local redis-server processes (started here on free loopback ports) hold
the same 100,000 string keys and 10,000 hashes of 20 fields (with a few
differences). We time, in one run:

- the floor: a plain pipelined GET (strings) / HGETALL (hashes) of the same
  keys from both servers, batches of 500, nothing compared;
- the comparison: `specified` mode through the engine (pipelined reads of
  both sides, type detection, JSON-aware comparison, report building).

Printed: keys per second of each and the ratio comparison / floor.
Goals: >= 50,000 string keys/s (RedisFullCheck's default rate is 15,000/s)
and >= 0.5 of the floor's rate.
"""
from __future__ import annotations

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

N_STRINGS = int(os.environ.get("BENCH_REDIS_STRINGS", 100_000))
N_HASHES = int(os.environ.get("BENCH_REDIS_HASHES", 10_000))
FIELDS = 20
BATCH = 500


def load(r, strings: list[str], hashes: list[str], variant: int) -> None:
    pipe = r.pipeline(transaction=False)
    for i, k in enumerate(strings):
        v = f'{{"id":{i},"name":"user {i}","active":true}}'
        if variant and i % 10_000 == 0:
            v = f'{{"id":{i},"name":"user {i}","active":false}}'
        pipe.set(k, v)
        if len(pipe) >= 5000:
            pipe.execute()
    for i, k in enumerate(hashes):
        mapping = {f"f{j}": f"value-{i}-{j}" for j in range(FIELDS)}
        if variant and i % 1000 == 0:
            mapping["f3"] = "changed"
        pipe.hset(k, mapping=mapping)
        if len(pipe) >= 2000:
            pipe.execute()
    pipe.execute()


def floor(clients, keys: list[str], cmd: str) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(keys), BATCH):
        chunk = keys[i:i + BATCH]
        for c in clients:
            p = c.pipeline(transaction=False)
            for k in chunk:
                p.execute_command(cmd, k)
            p.execute()
    return time.perf_counter() - t0


def ours(cfg1: dict, cfg2: dict, keys: list[str]) -> tuple[float, dict]:
    from chalicelib.compare.redis import RedisCompareRequest, compare_redis
    req = RedisCompareRequest.model_validate({
        "cluster1_config": cfg1, "cluster2_config": cfg2, "query_mode": "specified", "keys": keys,
        "batch_size": BATCH, "recheck_delay_seconds": 0})
    t0 = time.perf_counter()
    answer = compare_redis(req)
    return time.perf_counter() - t0, answer


def main() -> None:
    from tests.compare import redis_servers as rs

    s1, s2 = rs.start_server(), rs.start_server()
    try:
        c1, c2 = s1.client(), s2.client()
        strings = [f"user:{i}" for i in range(N_STRINGS)]
        hashes = [f"profile:{i}" for i in range(N_HASHES)]
        t0 = time.perf_counter()
        load(c1, strings, hashes, 0)
        load(c2, strings, hashes, 1)
        print(f"loaded {N_STRINGS} strings + {N_HASHES} hashes x {FIELDS} fields into two servers "
              f"in {time.perf_counter() - t0:.1f}s")
        cfg1 = {"name": "env1", "nodes": [{"host": "127.0.0.1", "port": s1.port}]}
        cfg2 = {"name": "env2", "nodes": [{"host": "127.0.0.1", "port": s2.port}]}

        rows = []
        for label, keys, cmd in (("strings", strings, "GET"), ("hashes", hashes, "HGETALL")):
            floor(( c1, c2), keys[: min(len(keys), 5000)], cmd)  # warm up
            f_s = floor((c1, c2), keys, cmd)
            o_s, answer = ours(cfg1, cfg2, keys)
            f_rate, o_rate = len(keys) / f_s, len(keys) / o_s
            rows.append((label, len(keys), f_rate, o_rate))
            print(f"{label:8s} {len(keys):7d} keys | floor {f_rate:10,.0f} keys/s ({f_s:.2f}s) | "
                  f"compare {o_rate:10,.0f} keys/s ({o_s:.2f}s) | ratio {o_rate / f_rate:.2f} | "
                  f"differences {answer['differences_count']}")
        all_keys = strings + hashes
        f_s = floor((c1, c2), strings, "GET") + floor((c1, c2), hashes, "HGETALL")
        o_s, answer = ours(cfg1, cfg2, all_keys)
        f_rate, o_rate = len(all_keys) / f_s, len(all_keys) / o_s
        print(f"{'mixed':8s} {len(all_keys):7d} keys | floor {f_rate:10,.0f} keys/s ({f_s:.2f}s) | "
              f"compare {o_rate:10,.0f} keys/s ({o_s:.2f}s) | ratio {o_rate / f_rate:.2f} | "
              f"differences {answer['differences_count']}")
        s_rate = rows[0][3]
        print(f"goal: strings >= 50,000 keys/s -> {'met' if s_rate >= 50_000 else 'MISSED'} ({s_rate:,.0f}); "
              f"ratio >= 0.5 -> {'met' if min(o / f for _, _, f, o in rows) >= 0.5 else 'MISSED'}")
    finally:
        s1.stop()
        s2.stop()


if __name__ == "__main__":
    main()
