"""The management API's access log (seed 003 section 7.2) and its metrics (7.1).

One `api_access_logs` row per request to a management route (`/api/...`,
published dynamic APIs excluded: they have their own invocation logs): the
route template (never the concrete path or query, which may carry ids or
secrets), method, status, duration, the caller's key id and role, and the
API version served. The row is written after the answer is built, committed
asynchronously (`synchronous_commit=off` for that statement only), by
chalicelib.web.access_writer (in batches in the long-running local server);
a failure to write it is logged and never fails the request.

`route_metrics(...)` aggregates the rows of a window per route (and per key
when asked): request count, error count and rate (status >= 400; 5xx
separately), average, p95 and p99 latency, throughput per minute.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from chalicelib.observability import current_principal, set_principal
from chalicelib.web import access_writer

__all__ = ["current_principal", "set_principal", "should_record", "record", "route_metrics", "WINDOWS"]



def should_record(route: str | None) -> bool:
    return route is not None and route.startswith("/api/") and "/dynamic-api/invoke/" not in route


def record(*, method: str, route: str, status: int, duration_ms: float, request_id: str,
           api_version: str, db: Any = None) -> None:
    p = current_principal()
    access_writer.write({
        "created_at": datetime.now(timezone.utc).isoformat(), "request_id": request_id, "method": method,
        "route": route[:300], "status_code": int(status), "duration_ms": float(duration_ms),
        "api_key_id": p.key_id if p else None, "role": p.role if p else None, "api_version": api_version}, db)


WINDOWS = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}


def route_metrics(window_s: int, *, route: str | None = None, method: str | None = None,
                  api_key_id: str | None = None, by_key: bool = False, db: Any = None) -> list[dict]:
    access_writer.flush()   # this container's queued rows count too
    if db is None:
        from chalicelib.db import get_db
        db = get_db()
    key_cols = ", api_key_id, role" if by_key else ""
    rows = db.query(
        "SELECT route, method" + key_cols + ", count(*) AS requests, "
        " count(*) FILTER (WHERE status_code >= 400) AS errors, "
        " count(*) FILTER (WHERE status_code >= 500) AS server_errors, "
        " avg(duration_ms) AS avg_ms, "
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms, "
        " percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms, "
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99_ms, "
        " min(created_at) AS first_at, max(created_at) AS last_at "
        "FROM api_access_logs "
        "WHERE created_at >= now() - make_interval(secs => :w) "
        " AND (CAST(:route AS text) IS NULL OR route = :route) "
        " AND (CAST(:method AS text) IS NULL OR method = :method) "
        " AND (CAST(:k AS uuid) IS NULL OR api_key_id = CAST(:k AS uuid)) "
        "GROUP BY route, method" + key_cols + " ORDER BY count(*) DESC, route, method",
        w=float(window_s), route=route, method=method.upper() if method else None, k=api_key_id)
    out = []
    for r in rows:
        n = int(r["requests"])
        item = {"route": r["route"], "method": r["method"], "requests": n, "errors": int(r["errors"]),
                "server_errors": int(r["server_errors"]),
                "success_rate": round((n - int(r["errors"])) / n, 4) if n else None,
                "error_rate": round(int(r["errors"]) / n, 4) if n else None,
                "avg_ms": round(float(r["avg_ms"]), 3), "p50_ms": round(float(r["p50_ms"]), 3),
                "p95_ms": round(float(r["p95_ms"]), 3), "p99_ms": round(float(r["p99_ms"]), 3),
                "throughput_per_min": round(n / (window_s / 60), 4)}
        if by_key:
            item["api_key_id"] = str(r["api_key_id"]) if r["api_key_id"] else None
            item["role"] = r["role"]
        out.append(item)
    return out
