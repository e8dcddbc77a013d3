"""The Redis comparison agrees key by key with a straightforward implementation written
here with plain redis-py (the oracle), standalone vs standalone and cluster vs standalone,
over a generated dataset of all six types with every kind of difference: values, types,
TTLs, keys missing on either side or both, formatting-only JSON, binary values and keys
(NUL, invalid UTF-8), big values compared page by page. Sample mode draws from both sides
with a reported seed, and its binary keys can be sent back in specified mode."""
from __future__ import annotations

import json
import random

import pytest

from chalicelib.compare.redis import RedisCompareRequest, compare_redis

TYPES = ("string", "hash", "list", "set", "zset", "stream")
KINDS = ("identical", "value", "type", "ttl", "missing_1", "missing_2", "format", "binary", "big")


def _write(r, key, t, value, ttl=None):
    if t == "string":
        r.set(key, value)
    elif t == "hash":
        r.hset(key, mapping=value)
    elif t == "list":
        r.rpush(key, *value)
    elif t == "set":
        r.sadd(key, *value)
    elif t == "zset":
        r.zadd(key, value)
    else:
        for i, fields in enumerate(value, 1):
            r.xadd(key, fields, id=f"{i}-1")
    if ttl:
        r.expire(key, ttl)


def _value(t, n, rnd, big=False):
    size = 700 if big else 4
    if t == "string":
        return json.dumps({"n": n, "name": f"v{n}"}, separators=(",", ":")) if not big else "x" * 70_000
    if t == "hash":
        return {f"f{i}": f"{n}-{i}" for i in range(size)}
    if t == "list":
        return [f"{n}-{i}" for i in range(size)]
    if t == "set":
        return {f"{n}-{i}" for i in range(size)}
    if t == "zset":
        return {f"m{i}": float(i) for i in range(size)}
    return [{"f": f"{n}-{i}"} for i in range(size)]


def _changed(t, v):
    if t == "string":
        return v[:-1] + "!" if isinstance(v, str) else v + b"!"
    if t == "hash":
        return {**v, "f0": "changed"}
    if t == "list":
        return v[:-1] + ["changed"]
    if t == "set":
        return (set(v) - {sorted(v)[0]}) | {"changed"}
    if t == "zset":
        return {**v, "m0": 99.0}
    return v[:-1] + [{"f": "changed"}]


def build(r1, r2, seed: int = 7) -> list:
    """Writes the dataset; returns every key (bytes) including some that exist nowhere."""
    rnd = random.Random(seed)
    keys = []
    n = 0
    for t in TYPES:
        for kind in KINDS:
            for copy in range(6):
                n += 1
                key = f"{t}:{kind}:{copy}".encode()
                if kind == "binary" and copy % 2:
                    key = b"bin\x00\xff:" + key       # a binary key
                keys.append(key)
                v = _value(t, n, rnd, big=kind == "big")
                if kind == "binary" and t == "string":
                    v = b"\x00\x80\xff" + bytes([copy])
                if kind == "identical" or kind == "binary" and t != "string":
                    _write(r1, key, t, v)
                    _write(r2, key, t, v)
                elif kind == "binary":
                    _write(r1, key, t, v)
                    _write(r2, key, t, v if copy < 3 else b"\x00\x80\xfe")
                elif kind in ("value", "big"):
                    _write(r1, key, t, v)
                    _write(r2, key, t, _changed(t, v) if copy % 2 == 0 else v)
                elif kind == "type":
                    _write(r1, key, t, v)
                    other = TYPES[(TYPES.index(t) + 1) % len(TYPES)]
                    _write(r2, key, other, _value(other, n, rnd))
                elif kind == "ttl":
                    _write(r1, key, t, v, ttl=1000)
                    _write(r2, key, t, v, ttl=1000 if copy % 2 else 5000)
                elif kind == "missing_1":
                    _write(r2, key, t, v)
                elif kind == "missing_2":
                    _write(r1, key, t, v)
                elif kind == "format":
                    if t == "string":
                        _write(r1, key, t, v)
                        _write(r2, key, t, json.dumps(dict(reversed(list(json.loads(v).items())))))
                    elif t == "hash":
                        _write(r1, key, t, {"doc": '{"a":1,"b":2}'})
                        _write(r2, key, t, {"doc": '{"b":2,"a":1}'})
                    else:
                        _write(r1, key, t, v)
                        _write(r2, key, t, v)
    keys += [b"nowhere:1", b"nowhere:2"]
    return keys


def _read(r, key):
    t = r.type(key).decode()
    if t == "none":
        return None, None, None
    value = {"string": lambda: r.get(key), "hash": lambda: r.hgetall(key), "list": lambda: r.lrange(key, 0, -1),
             "set": lambda: r.smembers(key), "zset": lambda: r.zrange(key, 0, -1, withscores=True),
             "stream": lambda: r.xrange(key)}[t]()
    return t, value, r.pttl(key)


def _json_equal(a: bytes, b: bytes) -> bool:
    try:
        return json.loads(a) == json.loads(b) and a.lstrip()[:1] in (b"{", b"[")
    except ValueError:
        return False


def oracle(r1, r2, keys, tolerance_ms=2000) -> dict:
    """{displayed key: class} with plain redis-py reads."""
    out = {}
    for key in keys:
        t1, v1, ttl1 = _read(r1, key)
        t2, v2, ttl2 = _read(r2, key)
        if t1 is None or t2 is None:
            out[key] = "missing_in_both" if t1 is None and t2 is None else \
                "missing_in_cluster1" if t1 is None else "missing_in_cluster2"
        elif t1 != t2:
            out[key] = "type_mismatch"
        elif v1 != v2:
            if t1 == "string" and _json_equal(v1, v2):
                out[key] = "format_only"
            elif t1 == "hash" and v1.keys() == v2.keys() and all(
                    v1[f] == v2[f] or _json_equal(v1[f], v2[f]) for f in v1):
                out[key] = "format_only"
            else:
                out[key] = "value_mismatch"
        elif (ttl1 < 0) != (ttl2 < 0) or abs(ttl1 - ttl2) > tolerance_ms:
            out[key] = "ttl_mismatch"
        else:
            out[key] = "identical"
    return out


def shown(key: bytes):
    try:
        text = key.decode()
        if "\x00" not in text:
            return text
    except UnicodeDecodeError:
        pass
    import base64
    return {"base64": base64.b64encode(key).decode()}


def _ident(key) -> str:
    return json.dumps(key, sort_keys=True)


def product_view(a: dict) -> dict:
    out = {}
    for item in a["identical"]:
        out[_ident(item["key"])] = "identical"
    for item in a["format_only"]:
        out[_ident(item["key"])] = "format_only"
    both = {_ident(k) for k in a["missing_in_both"]}
    for k in both:
        out[k] = "missing_in_both"
    for side in ("cluster1", "cluster2"):
        for k in a[f"missing_in_{side}"]:
            if _ident(k) not in both:
                out[_ident(k)] = f"missing_in_{side}"
    for d in a["differences"]:
        if d["difference_type"] != "missing":
            out[_ident(d["key"])] = d["difference_type"]
    return out


def _compare(c1, c2, **kw):
    body = {"cluster1_config": c1, "cluster2_config": c2, "compare_ttl": True, "inline_max_items": 64,
            "inline_max_bytes": 4096, "batch_size": 37, "recheck_delay_seconds": 0, **kw}
    return compare_redis(RedisCompareRequest.model_validate(body))


@pytest.mark.parametrize("topology", ["standalone", "cluster"])
def test_product_and_oracle_agree_on_every_key(topology, cfg1, cfg2, env1, env2, request):
    if topology == "cluster":
        first, cfg_first = request.getfixturevalue("cluster"), request.getfixturevalue("cfg_cluster")
    else:
        first, cfg_first = env1, cfg1
    keys = build(first, env2)
    expected = {_ident(shown(k)): c for k, c in oracle(first, env2, keys).items()}
    assert set(expected.values()) == {"identical", "value_mismatch", "type_mismatch", "ttl_mismatch",
                                      "missing_in_cluster1", "missing_in_cluster2", "missing_in_both",
                                      "format_only"}

    a = _compare(cfg_first, cfg2, keys=[shown(k) for k in keys])

    assert len(keys) == a["total_keys"] == len(expected) > 300
    assert product_view(a) == expected
    counts = a["summary"]["counts"]
    assert sum(counts[c] for c in ("identical_keys", "different_keys", "format_only_keys", "missing_in_cluster1",
                                   "missing_in_cluster2", "missing_in_both", "skipped_keys")) == len(keys)
    assert counts["missing_in_both"] == 2
    assert a["summary"]["overview"].startswith(f"Compared {len(keys)} keys: {counts['identical_keys']} identical")


def test_sample_from_both_sides_is_repeatable_by_seed_and_its_keys_go_back_in_specified_mode(
        cfg1, cfg2, env1, env2):
    keys = build(env1, env2)
    existing = {_ident(shown(k)) for k in keys if env1.exists(k) or env2.exists(k)}

    first = _compare(cfg1, cfg2, query_mode="sample", sample_config={"count": 40, "source_cluster": "both"})
    seed = first["sample_info"]["seed"]
    again = _compare(cfg1, cfg2, query_mode="sample",
                     sample_config={"count": 40, "source_cluster": "both", "seed": seed})
    other = _compare(cfg1, cfg2, query_mode="sample",
                     sample_config={"count": 40, "source_cluster": "both", "seed": seed + 1})

    drawn = product_view(first)
    assert len(drawn) == 40 and set(drawn) <= existing
    assert product_view(again) == drawn
    assert set(product_view(other)) != set(drawn)
    assert first["sample_info"]["population"] == len(existing)
    everything = _compare(cfg1, cfg2, query_mode="sample",
                          sample_config={"count": 10_000, "source_cluster": "both", "scan_count": 25})
    view = product_view(everything)
    assert {"missing_in_cluster1", "missing_in_cluster2"} <= set(view.values())  # one-sided keys are drawn
    binary = [json.loads(k) for k in view if k.startswith("{")]
    assert binary
    back = _compare(cfg1, cfg2, keys=binary)
    assert product_view(back) == {k: c for k, c in view.items() if k.startswith("{")}


def test_sample_mode_draws_uniformly_not_the_first_keys_in_scan_order(cfg1, cfg2, env1, env2):
    for i in range(400):
        env1.set(f"u:{i}", "v")
    hits = {}
    for seed in range(30):
        a = _compare(cfg1, cfg2, query_mode="sample", sample_config={"count": 10, "seed": seed})
        for k in product_view(a):
            hits[k] = hits.get(k, 0) + 1
    # 300 draws of 10 out of 400: a first-N sampler would hit the same 10 keys 30 times
    assert len(hits) > 150 and max(hits.values()) < 10
