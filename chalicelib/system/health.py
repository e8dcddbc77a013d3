"""Dependency probes for GET /api/health, each bounded in time.

Probes run in parallel threads; the answer waits at most `health_timeout_s`
in total, so a dependency that accepts connections and never answers makes
the service report it down, not hang.
"""
from __future__ import annotations

import concurrent.futures as cf
import resource
import time

from chalicelib.settings import Settings

STARTED_AT = time.time()
_pool: cf.ThreadPoolExecutor | None = None


def _executor() -> cf.ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = cf.ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")
    return _pool


def probe_postgres(settings: Settings) -> dict:
    from chalicelib.db.database import Database
    started = time.perf_counter()
    db = Database(settings.database_url, statement_timeout_ms=int(settings.health_timeout_s * 1000),
                  connect_timeout_s=settings.health_timeout_s, application_name="stepflow-health")
    conn = db.connect(timeout=settings.health_timeout_s)
    try:
        conn.run("SELECT 1")
    finally:
        conn.close()
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def probe_redis(settings: Settings) -> dict:
    if not settings.redis_url:
        return {"status": "not_configured"}
    import redis
    started = time.perf_counter()
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=settings.health_timeout_s,
                                  socket_timeout=settings.health_timeout_s)
    try:
        client.ping()
    finally:
        client.close()
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _uptime_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    return f"{days} days, {hours} hours, {mins} minutes"


def _memory() -> dict:
    used_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return {"used_mb": round(used_kb / 1024, 1), "available_mb": available}


def check(settings: Settings, probes: dict | None = None) -> tuple[dict, bool]:
    """Returns (report, healthy). A configured dependency that is down or
    does not answer in time makes the service unhealthy."""
    probes = probes or {"postgresql": probe_postgres, "redis": probe_redis}
    futures = {name: _executor().submit(fn, settings) for name, fn in probes.items()}
    done, _ = cf.wait(futures.values(), timeout=settings.health_timeout_s)
    parts = {}
    for name, fut in futures.items():
        if fut not in done:
            parts[name] = {"status": "down", "error": f"no answer within {settings.health_timeout_s}s"}
            continue
        try:
            parts[name] = fut.result()
        except Exception as exc:  # any failure of a probe means "down", with why
            detail = getattr(exc, "details", None) or {}
            parts[name] = {"status": "down", "error": detail.get("error_detail") or str(exc) or type(exc).__name__}
    healthy = all(p["status"] in ("up", "not_configured") for p in parts.values())
    uptime = time.time() - STARTED_AT
    report = {
        "status": "healthy" if healthy else "unhealthy",
        "version": settings.app_version,
        "uptime": _uptime_text(uptime),
        "uptime_seconds": round(uptime, 1),
        "database": {"postgresql": parts.get("postgresql")},
        "postgres": parts.get("postgresql", {}).get("status"),
        "redis": parts.get("redis", {}).get("status"),
        "dependencies": parts,
        "memory_usage": _memory(),
    }
    return report, healthy
