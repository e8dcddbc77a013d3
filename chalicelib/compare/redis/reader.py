"""Reading keys from one side with pipelined batches, memory bounded.

Per node, a batch of keys costs a few pipelined round trips:

  A  GETRANGE key 0 L (+ PTTL key)   strings arrive whole in one command;
                                     other types answer WRONGTYPE
  B  TYPE / STRLEN                   only for keys A could not settle
  C  HSCAN|SSCAN|ZSCAN 0 COUNT n,    collections, at most ~n elements each:
     LRANGE 0 n, XRANGE - + COUNT n+1  small ones are complete after this
  D  HLEN|SCARD|ZCARD|LLEN|XLEN      sizes of the big ones

A string longer than L bytes or a collection longer than n elements is
marked `paged`: only a preview is held, and `collections.compare_paged`
compares it page by page later. So a batch holds at most about
batch_size x (L bytes or n elements) per side.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .config import CompareOptions
from .topology import Side, classify_error

TYPES = ("string", "hash", "list", "set", "zset", "stream")
_SIZE_CMD = {"hash": "HLEN", "set": "SCARD", "zset": "ZCARD", "list": "LLEN", "stream": "XLEN", "string": "STRLEN"}


class NodeFailure(Exception):
    def __init__(self, node: str, detail: str):
        super().__init__(detail)
        self.node = node
        self.detail = detail


@dataclass(slots=True)
class KeyState:
    exists: bool = False
    type: str | None = None
    value: Any = None          # whole value, or a preview when paged
    size: int | None = None    # bytes (string) or elements (collections)
    paged: bool = False
    ttl_ms: int | None = None  # -1 no expiry, None not read
    error: str | None = None   # could not be read (node down, permission, ...)
    node: str | None = None


def _kb(k) -> bytes:
    return k if isinstance(k, bytes) else str(k).encode("utf-8")


def pack_round_a(keys: list, max_bytes: int, ttl: bool) -> bytes:
    """RESP for GETRANGE key 0 max_bytes (+ PTTL key) per key, built in one go
    (redis-py's generic packer costs more than the whole comparison)."""
    n = str(max_bytes).encode()
    tail = b"\r\n$1\r\n0\r\n$" + str(len(n)).encode() + b"\r\n" + n + b"\r\n"
    head = b"*4\r\n$8\r\nGETRANGE\r\n$"
    parts = []
    for k in keys:
        kb = _kb(k)
        ln = str(len(kb)).encode()
        parts.append(head + ln + b"\r\n" + kb + tail)
        if ttl:
            parts.append(b"*2\r\n$4\r\nPTTL\r\n$" + ln + b"\r\n" + kb + b"\r\n")
    return b"".join(parts)


def run_packed(side: Side, node: str, packed: bytes, n_replies: int) -> list:
    """Send pre-packed commands on one pooled connection and read n replies;
    error replies come back as exception instances (like a pipeline)."""
    import redis.exceptions as rex
    pool = side.client(node).connection_pool
    t0 = time.perf_counter()
    conn = pool.get_connection()
    try:
        conn.send_packed_command([packed], check_health=False)
        parser = conn._parser
        read = parser.read_response
        out = [read(disable_decoding=True) for _ in range(n_replies)]
    except (rex.ConnectionError, rex.TimeoutError, OSError) as exc:
        conn.disconnect()
        raise NodeFailure(node, side.scrub(exc)) from exc
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)
    side.timed(time.perf_counter() - t0)
    return out


def pack_commands(cmds: list[tuple]) -> bytes:
    parts = []
    for c in cmds:
        parts.append(b"*%d\r\n" % len(c))
        for a in c:
            b = a if isinstance(a, bytes) else str(a).encode("utf-8")
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


def run_cmds(side: Side, node: str, cmds: list[tuple]) -> list:
    """Commands in one round trip; raw replies (no redis-py callbacks)."""
    return run_packed(side, node, pack_commands(cmds), len(cmds))


def _collection_cmd(t: str, k, n: int) -> tuple:
    if t == "hash":
        return ("HSCAN", k, 0, "COUNT", n)
    if t == "set":
        return ("SSCAN", k, 0, "COUNT", n)
    if t == "zset":
        return ("ZSCAN", k, 0, "COUNT", n)
    if t == "list":
        return ("LRANGE", k, 0, n)
    return ("XRANGE", k, "-", "+", "COUNT", n + 1)


def _pairs(flat: list) -> list:
    it = iter(flat)
    return list(zip(it, it, strict=False))


def _take_collection(st: KeyState, t: str, r: Any, n_items: int, need_size: list, k) -> int:
    """Store a raw bounded collection reply in st; returns its byte size."""
    value: Any
    if t in ("hash", "set", "zset"):
        cursor, items = r
        if t == "hash":
            value = dict(_pairs(items))
        elif t == "set":
            value = set(items)
        else:
            value = {m: float(sc) for m, sc in _pairs(items)}
        nbytes = sum(map(len, items)) if t != "zset" else sum(len(m) + 8 for m in value)
        if int(cursor) == 0:
            st.value, st.size = value, len(value)
        else:
            st.value, st.paged = value, True
            need_size.append((t, k))
        return nbytes
    if t == "stream":
        r = [(i, dict(_pairs(f or []))) for i, f in r]
        nbytes = sum(len(i) + sum(map(len, f)) + sum(map(len, f.values())) for i, f in r)
    else:
        nbytes = sum(map(len, r))
    if len(r) > n_items:
        st.value, st.paged = r[:n_items], True
        need_size.append((t, k))
    else:
        st.value, st.size = r, len(r)
    return nbytes


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _nbytes(value: Any) -> int:
    """Approximate payload size of a reply (for data_transferred_kb)."""
    if isinstance(value, (bytes, str)):
        return len(value)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
        value = value[1]  # (cursor, items) of a SCAN-family reply
    if isinstance(value, dict):
        vals = value.values()
        first = next(iter(vals), b"")
        if isinstance(first, (bytes, str)):
            return sum(map(len, value)) + sum(map(len, vals))
        return sum(_nbytes(k) + _nbytes(v) for k, v in value.items())
    if isinstance(value, (list, set, tuple)):
        first = next(iter(value), b"")
        if isinstance(first, (bytes, str)):
            return sum(map(len, value))
        return sum(_nbytes(v) for v in value)
    if isinstance(value, (int, float)):
        return 8
    return 0


def _is_moved(exc: Any) -> bool:
    import redis.exceptions as rex
    return isinstance(exc, (rex.MovedError, rex.AskError, rex.TryAgainError))


def read_keys(side: Side, keys: list, opts: CompareOptions, _depth: int = 0) -> dict:
    """{key: KeyState} for every key, reading each master's keys with pipelines."""
    out: dict = {}
    groups = side.group_by_node(keys)
    moved: list = []
    jobs = []
    for node, node_keys in groups.items():
        if node is None:
            for k in node_keys:
                out[k] = KeyState(error="slot not covered by any master")
        elif node in side.down_nodes:
            for k in node_keys:
                out[k] = KeyState(error=f"node {node} unreachable", node=node)
        else:
            jobs.append((node, node_keys))

    def work(job):
        node, node_keys = job
        try:
            return node, _read_node(side, node, node_keys, opts)
        except NodeFailure as exc:
            return node, exc

    if len(jobs) > 1:
        results = list(side_pool(side).map(work, jobs))
    else:
        results = [work(j) for j in jobs]
    for (node, node_keys), (_, res) in zip(jobs, results, strict=False):
        if isinstance(res, NodeFailure):
            side.down_nodes.add(node)
            for st in side.nodes_status:
                if f"{st.host}:{st.port}" == node:
                    st.status, st.error = "unreachable", res.detail
            for k in node_keys:
                out[k] = KeyState(error=f"node {node} unreachable: {res.detail}", node=node)
            continue
        states, node_moved = res
        out.update(states)
        moved.extend(node_moved)
    if moved:
        if _depth < 2:
            side.refresh_slots()
            out.update(read_keys(side, moved, opts, _depth + 1))
        else:
            for k in moved:
                out[k] = KeyState(error="slot kept moving (resharding in progress)")
    return out


def side_pool(side: Side):
    pool = side._pool
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(max_workers=max(1, min(8, len(side.clients))),
                                  thread_name_prefix=f"redis-{side.label}")
        side._pool = pool
    return pool


def _read_node(side: Side, node: str, keys: list, opts: CompareOptions) -> tuple[dict, list]:

    L = opts.inline_max_bytes
    n_items = opts.inline_max_items
    ttl = opts.compare_ttl
    states: dict = {}
    moved: list = []
    nbytes = 0

    # ---- round A: optimistic string read (+ TTL)
    step = 2 if ttl else 1
    res = run_packed(side, node, pack_round_a(keys, L, ttl), len(keys) * step)
    need_type: list = []
    need_strlen: list = []
    for i, k in enumerate(keys):
        r = res[i * step]
        st = KeyState(node=node)
        if ttl:
            t = res[i * step + 1]
            if isinstance(t, int):
                st.ttl_ms = t
        if isinstance(r, bytes):
            if r:
                st.exists, st.type = True, "string"
                nbytes += len(r)
                if len(r) > L:
                    st.paged = True
                    st.value = r[:L]
                    need_strlen.append(k)
                else:
                    st.value, st.size = r, len(r)
            elif st.ttl_ms == -2:
                pass  # missing
            elif st.ttl_ms is not None:
                st.exists, st.type, st.value, st.size = True, "string", b"", 0
            else:
                need_type.append(k)
        elif isinstance(r, Exception):
            if _is_moved(r):
                moved.append(k)
                continue
            if "WRONGTYPE" in str(r):
                st.exists = True
                need_type.append(k)
            else:
                st.error = _key_error(side, r)
        states[k] = st

    # ---- round B: TYPE for the unsettled (with a guessed collection read
    # beside it: the run's most common collection type so far), STRLEN for
    # big strings
    guess = side.type_guess()
    cmds: list[tuple] = []
    for k in need_type:
        cmds.append(("TYPE", k))
        cmds.append(_collection_cmd(guess, k, n_items))
    cmds += [("STRLEN", k) for k in need_strlen]
    collections: dict[str, list] = {}
    need_size: list = []
    if cmds:
        res = run_cmds(side, node, cmds)
        for i, k in enumerate(need_type):
            r, spec = res[2 * i], res[2 * i + 1]
            st = states[k]
            if isinstance(r, Exception):
                if _is_moved(r):
                    moved.append(k)
                    del states[k]
                else:
                    st.error = _key_error(side, r)
                continue
            t = _s(r)
            if t == "none":
                st.exists = False
            elif t == "string":
                st.exists, st.type, st.value, st.size = True, "string", b"", 0
            elif t in TYPES:
                st.exists, st.type = True, t
                side.saw_type(t)
                if t == guess and not isinstance(spec, Exception):
                    nbytes += _take_collection(st, t, spec, n_items, need_size, k)
                else:
                    collections.setdefault(t, []).append(k)
            else:
                st.exists, st.type = True, t
                st.error = f"unsupported type '{t}'"
        for k, r in zip(need_strlen, res[2 * len(need_type):], strict=False):
            if isinstance(r, int):
                states[k].size = r

    # ---- round C: bounded reads of collections the guess missed
    order = [(t, k) for t, ks in collections.items() for k in ks]
    if order:
        res = run_cmds(side, node, [_collection_cmd(t, k, n_items) for t, k in order])
        for (t, k), r in zip(order, res, strict=False):
            st = states[k]
            if isinstance(r, Exception):
                if _is_moved(r):
                    moved.append(k)
                    del states[k]
                elif "WRONGTYPE" in str(r):
                    st.error = "key changed type while being read"
                else:
                    st.error = _key_error(side, r)
                continue
            nbytes += _take_collection(st, t, r, n_items, need_size, k)

    # ---- round D: sizes of big collections
    if need_size:
        res = run_cmds(side, node, [(_SIZE_CMD[t], k) for t, k in need_size])
        for (_, k), r in zip(need_size, res, strict=False):
            if isinstance(r, int):
                states[k].size = r

    side.add_bytes(nbytes)
    return states, moved


def _key_error(side: Side, exc: BaseException) -> str:
    kind = classify_error(exc)
    if kind == "permission_denied":
        return f"permission denied: {side.scrub(exc)}"
    return side.scrub(exc)
