"""`sample` mode: pick keys with SCAN on every master of the source side.

Never KEYS. Masters are scanned round-robin, one SCAN call each in turn,
so a sample spreads over the cluster instead of draining the first node.
A master that fails mid-scan is left out and reported.
"""
from __future__ import annotations

from .config import SampleConfig
from .topology import Side


def sample_keys(side: Side, cfg: SampleConfig) -> tuple[list, list[str]]:
    """(keys, failed master node ids)."""
    import redis.exceptions as rex
    from chalicelib.web.errors import QueryError

    cursors = {m: 0 for m in side.masters()}
    finished: set = set()
    failed: list[str] = []
    keys: dict = {}
    while len(keys) < cfg.count and len(finished) < len(cursors):
        for node in list(cursors):
            if node in finished or len(keys) >= cfg.count:
                continue
            args = ["SCAN", cursors[node], "MATCH", cfg.pattern, "COUNT", cfg.scan_count]
            if cfg.type:
                args += ["TYPE", cfg.type]
            try:
                cursor, page = side.client(node).execute_command(*args)
            except rex.NoPermissionError as exc:
                raise QueryError(
                    f"Redis {side.label} '{side.config.name}': the user may not run SCAN",
                    {"query": "SCAN", "error_detail": side.scrub(exc),
                     "suggestions": ["Allow SCAN (+scan) for this ACL user, or use query_mode 'specified'"]},
                ) from exc
            except (rex.ConnectionError, rex.TimeoutError, OSError) as exc:
                finished.add(node)
                failed.append(node)
                side.down_nodes.add(node)
                for st in side.nodes_status:
                    if f"{st.host}:{st.port}" == node:
                        st.status, st.error = "unreachable", side.scrub(exc)
                continue
            for k in page:
                if len(keys) >= cfg.count:
                    break
                keys.setdefault(k, None)
            cursors[node] = int(cursor)
            if int(cursor) == 0:
                finished.add(node)
    return list(keys), failed
