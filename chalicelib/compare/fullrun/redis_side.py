"""The Redis engine as a whole-dataset run sees it: the one place that calls
into chalicelib.compare.redis (connect, batch compare, raw node commands),
so that a change there is absorbed here.

    s1, s2 = connect(req)                       # both sides, ConnectionFailed naming the side
    page = scan(side, node, cursor, pattern, count, type_) -> (next_cursor, [raw keys])
    absent = absent_on(side, keys)              # keys that do not exist on `side` (EXISTS, pipelined)
    result = compare_batch(s1, s2, keys, opts, rounds, delay)
    failing(side) -> str | None                 # why a side must pause the run

`compare_batch` runs the engine's own batch comparison (pipelined reads,
paged big values, JSON-aware values, TTL, rechecks) with every difference
listed, and returns the listing, the identical count per value type and the
notes; nothing of the batch outlives the call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

L1, L2 = "cluster1", "cluster2"


class SideFailure(Exception):
    """A side stopped answering: the run pauses instead of hammering it.
    `detail` names the side and its config name ("cluster2 'test': ...")."""

    def __init__(self, side: str, detail: str):
        super().__init__(detail)
        self.side = side
        self.detail = detail


def _fail(side, detail: str) -> SideFailure:
    return SideFailure(side.label, f"{side.label} '{side.config.name}': {detail}")


@dataclass
class BatchResult:
    differences: list = field(default_factory=list)     # the engine's difference items
    identical: int = 0
    identical_by_type: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)          # [{"key", "reason"}]
    notes: dict = field(default_factory=dict)


def connect(req) -> tuple[Any, Any]:
    from chalicelib.compare.redis.engine import connect_both
    return connect_both(req.cluster1_config, req.cluster2_config)


def close(*sides) -> None:
    for s in sides:
        if s is None:
            continue
        pool = getattr(s, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)
        s.close()


def masters(side) -> list[str]:
    return list(side.masters())


def dbsize(side, node: str) -> int:
    try:
        return int(side.client(node).dbsize())
    except Exception:  # noqa: BLE001 - an estimate only
        return 0


def instance_id(side, node: str) -> str | None:
    """The node's INFO run_id (changes when the server restarts); None when not allowed."""
    try:
        return str(side.client(node).info("server").get("run_id")) or None
    except Exception:  # noqa: BLE001 - an ACL user without INFO: restarts go undetected
        return None


def failing(side) -> str | None:
    if side.down_nodes:
        errors = [f"{st.host}:{st.port}: {st.error}" for st in side.nodes_status
                  if f"{st.host}:{st.port}" in side.down_nodes and st.error]
        return f"{side.label} '{side.config.name}': master(s) {', '.join(sorted(side.down_nodes))} " \
               "not answering" + (f" ({'; '.join(errors)})" if errors else "")
    return None


def scan(side, node: str, cursor: int, pattern: str, count: int, type_: str | None) -> tuple[int, list]:
    import redis.exceptions as rex
    if node not in side.clients:
        raise _fail(side, f"node {node} is no longer a master (topology changed; start a new run)")
    args: list = ["SCAN", cursor, "MATCH", pattern, "COUNT", count]
    if type_:
        args += ["TYPE", type_]
    try:
        nxt, keys = side.client(node).execute_command(*args)
    except (rex.ConnectionError, rex.TimeoutError, OSError) as exc:
        side.down_nodes.add(node)
        raise _fail(side, f"SCAN on {node} failed: {side.scrub(exc)}") from exc
    except rex.ResponseError as exc:
        raise _fail(side, f"SCAN on {node} refused: {side.scrub(exc)}") from exc
    return int(nxt), list(keys)


def absent_on(side, keys: list) -> list:
    """Keys of `keys` that `side` does not hold (unreadable ones count as absent
    so that the comparison looks at them and reports why)."""
    from chalicelib.compare.redis.reader import NodeFailure, run_cmds
    out: list = []
    for node, node_keys in side.group_by_node(keys).items():
        if node is None or node in side.down_nodes:
            raise _fail(side, f"no reachable master for {len(node_keys)} key(s)")
        try:
            replies = run_cmds(side, node, [("EXISTS", k) for k in node_keys])
        except NodeFailure as exc:
            side.down_nodes.add(node)
            raise _fail(side, f"EXISTS on {node} failed: {exc.detail}") from exc
        out.extend(k for k, r in zip(node_keys, replies, strict=True) if r != 1)
    return out


def compare_batch(s1, s2, keys: list, opts, rounds: int, delay: float) -> BatchResult:
    from chalicelib.compare.redis.engine import run_comparison
    if not keys:
        return BatchResult()
    o = opts.model_copy(update={"recheck_rounds": rounds, "recheck_delay_seconds": delay,
                                "max_listed": len(keys) + 1, "include_identical": False})
    answer = run_comparison(s1, s2, keys, o)
    for side in (s1, s2):
        why = failing(side)
        if why:
            raise SideFailure(side.label, why)
    summary = answer.get("summary") or {}
    by_type = {cat: c.get("identical", 0) for cat, c in (summary.get("type_analysis") or {}).items()
               if c.get("identical")}
    notes = dict(summary.get("notes") or {})
    # formatting-only differences are their own class: kept (and exported) beside the others
    return BatchResult(differences=list(answer.get("differences") or []) + list(answer.get("format_only") or []),
                       identical=int(answer.get("identical_count") or 0), identical_by_type=by_type,
                       skipped=list(answer.get("skipped_keys") or []), notes=notes)


def commands_per_key(opts) -> int:
    """Round-A commands a key costs on one side (the rate limit's unit is a command)."""
    return 2 if opts.compare_ttl else 1
