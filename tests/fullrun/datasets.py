"""Datasets with planted differences of every kind, for two Redis sides.

`plant(c1, c2, n_identical)` writes identical keys of every type plus one or
more keys per difference kind (values of each type, JSON documents, a type
change, TTLs, keys only in cluster1, keys only in cluster2) and returns
{key: (difference_type, missing_in)} of what a run must report, nothing else.
"""
from __future__ import annotations


def _write(pipe, key: str, kind: str, variant: int = 0) -> None:
    if kind == "string":
        pipe.set(key, f"value-{key}-{variant}")
    elif kind == "json":
        pipe.set(key, f'{{"id":"{key}","n":{variant},"tags":["a","b"]}}')
    elif kind == "hash":
        pipe.hset(key, mapping={"f1": "one", "f2": f"two-{variant}", "f3": "three"})
    elif kind == "list":
        pipe.rpush(key, "a", "b", f"c{variant}")
    elif kind == "set":
        pipe.sadd(key, "x", "y", f"z{variant}")
    elif kind == "zset":
        pipe.zadd(key, {"m1": 1, "m2": 2 + variant})


KINDS = ("string", "json", "hash", "list", "set", "zset")


def plant(c1, c2, n_identical: int = 300, n_per_kind: int = 2) -> dict:
    p1, p2 = c1.pipeline(transaction=False), c2.pipeline(transaction=False)
    for i in range(n_identical):
        kind = KINDS[i % len(KINDS)]
        key = f"same:{kind}:{i}"
        _write(p1, key, kind)
        _write(p2, key, kind)
    expected: dict = {}
    for kind in KINDS:
        for j in range(n_per_kind):
            key = f"diff:{kind}:{j}"
            _write(p1, key, kind, 0)
            _write(p2, key, kind, 1)
            expected[key] = ("value_mismatch", None)
    for j in range(n_per_kind):
        key = f"type:{j}"
        p1.set(key, "a string")
        p2.hset(key, mapping={"a": "hash"})
        expected[key] = ("type_mismatch", None)
        key = f"ttl:{j}"
        p1.set(key, "same", ex=10_000)
        p2.set(key, "same")
        expected[key] = ("ttl_mismatch", None)
    for kind in KINDS:
        for j in range(n_per_kind):
            key = f"only1:{kind}:{j}"
            _write(p1, key, kind)
            expected[key] = ("missing", "cluster2")
            key = f"only2:{kind}:{j}"
            _write(p2, key, kind)
            expected[key] = ("missing", "cluster1")
    p1.execute()
    p2.execute()
    return expected


def union_size(c1, c2) -> int:
    keys = set()
    for c in (c1, c2):
        keys.update(c.scan_iter(count=1000))
    return len(keys)
