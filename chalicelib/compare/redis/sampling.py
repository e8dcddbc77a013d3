"""`sample` mode: a uniform random sample of the keys matching a pattern, repeatable by seed.

Method (bottom-k sampling): every master of the source side is SCANned
(never KEYS) to the end; each matching key gets a pseudo-random rank, the
first 8 bytes of BLAKE2b(seed, key), and the `count` keys of lowest rank
are the sample. Every subset of `count` keys is equally likely, the sample
does not depend on SCAN order, and the same seed over the same keys gives
the same sample: the seed used is reported (`sample_info.seed`) and can be
given back (`sample_config.seed`). `source_cluster: "both"` ranks the
union of both sides' keys, so keys that exist on one side only are drawn
too. A master that fails mid-scan is left out and reported.
"""
from __future__ import annotations

import hashlib
import heapq
import secrets

from .config import SampleConfig
from .topology import Side

METHOD = "bottom-k by keyed BLAKE2b rank over a full SCAN (uniform, without replacement)"


def new_seed() -> int:
    return secrets.randbits(63)


def _rank(seed_bytes: bytes, key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(key, digest_size=8, key=seed_bytes).digest(), "big")


def _scan_side(side: Side, cfg: SampleConfig, visit, failed: list) -> int:
    import redis.exceptions as rex

    from chalicelib.errors import QueryRefused

    scanned = 0
    for node in list(side.masters()):
        cursor = 0
        while True:
            args = ["SCAN", cursor, "MATCH", cfg.pattern, "COUNT", cfg.scan_count]
            if cfg.type:
                args += ["TYPE", cfg.type]
            try:
                cursor, page = side.client(node).execute_command(*args)
            except rex.NoPermissionError as exc:
                raise QueryRefused(
                    f"Redis {side.label} '{side.config.name}': the user may not run SCAN",
                    {"query": "SCAN", "error_detail": side.scrub(exc), "reason": "permission_denied",
                     "suggestions": ["Allow SCAN (+scan) for this ACL user, or use query_mode 'specified'"]},
                ) from exc
            except (rex.ConnectionError, rex.TimeoutError, OSError) as exc:
                failed.append(f"{side.label}:{node}")
                side.down_nodes.add(node)
                for st in side.nodes_status:
                    if f"{st.host}:{st.port}" == node:
                        st.status, st.error = "unreachable", side.scrub(exc)
                break
            for k in page:
                scanned += 1
                visit(k)
            cursor = int(cursor)
            if cursor == 0:
                break
    return scanned


def sample_keys(sides: Side | list, cfg: SampleConfig, seed: int | None = None) -> tuple[list, list[str], dict]:
    """(keys, failed nodes, info): the sample from one side or from the union of several."""
    sides = sides if isinstance(sides, list) else [sides]
    seed = cfg.seed if seed is None and cfg.seed is not None else (seed if seed is not None else new_seed())
    seed_bytes = seed.to_bytes(8, "big")
    heap: list = []        # (-rank, key): the count lowest ranks seen so far
    chosen: set = set()
    seen_union: set | None = set() if len(sides) > 1 else None

    def visit(key) -> None:
        kb = key if isinstance(key, bytes) else str(key).encode("utf-8")
        if seen_union is not None:
            if kb in seen_union:
                return
            seen_union.add(kb)
        if kb in chosen:
            return
        rank = _rank(seed_bytes, kb)
        if len(heap) < cfg.count:
            heapq.heappush(heap, (-rank, kb))
            chosen.add(kb)
        elif rank < -heap[0][0]:
            _, dropped = heapq.heapreplace(heap, (-rank, kb))
            chosen.discard(dropped)
            chosen.add(kb)

    failed: list[str] = []
    scanned = sum(_scan_side(side, cfg, visit, failed) for side in sides)
    keys = [kb for _, kb in sorted(heap, key=lambda item: -item[0])]
    info = {"seed": seed, "method": METHOD, "scanned": scanned,
            "population": len(seen_union) if seen_union is not None else scanned}
    return keys, failed, info
