"""Document health checks (seed 000 api_health_checks; issue 5).

A check of one document is either
* `connectivity` (no `health_check_config`): HEAD on the base URL, falling back
  to GET when HEAD is not supported (405/501) — any answer below 500 is a
  success; or
* `endpoint` (`health_check_config` = {"path": "/health", "method": "GET",
  "expected_status": 200 | [200, 204], "timeout_s": 5}): the answer must have
  an expected status (default: any 2xx).

Every call goes through the outbound guard (chalicelib.net.outbound): private
and loopback targets fail unless OUTBOUND_ALLOWLIST admits them. Each check
writes an api_health_checks row (status success / failed / timeout) and moves
the document's health_status with hysteresis: unhealthy after N consecutive
failures, healthy after M consecutive successes (HEALTH_CHECK_FAILURES_UNHEALTHY,
HEALTH_CHECK_SUCCESSES_HEALTHY; defaults 2 and 1), last_health_check set.

The scheduled run (`run_health_checks`) checks every active document with
bounded concurrency and an overall deadline below the function timeout; the
HTTP calls run in a thread pool, the database writes on the calling thread.
"""
from __future__ import annotations

import json
import logging
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from typing import Any

from chalicelib.db import get_db
from chalicelib.jobs.registry import JobContext
from chalicelib.web.errors import NotFound, ValidationError

log = logging.getLogger("stepflow.health")

DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 30.0
CONCURRENCY = 8
# The schedule function runs for at most 300 s (.chalice/config.json); stop
# starting checks well before that so the run always records what it did.
SCHEDULE_DEADLINE_S = 240.0
API_DEADLINE_S = 20.0  # a synchronous bulk run from the API (29 s gateway limit)
HEAD_FALLBACK_STATUSES = (405, 501)
CHECK_COLUMNS = ("id, api_document_id, check_type, status, response_time_ms, error_message, details, checked_at")


# ------------------------------------------------------------------ checking

def _config(raw: Any) -> dict | None:
    if raw in (None, {}):
        return None
    cfg = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return cfg


def validate_config(cfg: dict | None) -> dict | None:
    """Normalised health_check_config, or ValidationError (for the catalog's document routes too)."""
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise ValidationError("health_check_config must be an object")
    path = cfg.get("path", "/")
    method = str(cfg.get("method", "GET")).upper()
    expected = cfg.get("expected_status")
    timeout = cfg.get("timeout_s", DEFAULT_TIMEOUT_S)
    if not isinstance(path, str) or "://" in path or not path.startswith("/"):
        raise ValidationError("health_check_config.path must be a path starting with / (it is joined to base_url)")
    if method not in ("GET", "HEAD"):
        raise ValidationError("health_check_config.method must be GET or HEAD")
    if expected is not None:
        codes = expected if isinstance(expected, list) else [expected]
        if not codes or not all(isinstance(c, int) and 100 <= c <= 599 for c in codes):
            raise ValidationError("health_check_config.expected_status must be a status code or a list of them")
        expected = codes
    if not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise ValidationError(f"health_check_config.timeout_s must be in (0, {MAX_TIMEOUT_S}]")
    return {"path": path, "method": method, "expected_status": expected, "timeout_s": float(timeout)}


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/") if path != "/" else base_url


def check_document(doc: dict, *, timeout_s: float | None = None, policy: Any = None) -> dict:
    """Run one check (no database). Returns the api_health_checks fields."""
    from chalicelib.net import outbound

    policy = policy or outbound.policy_from_settings(max_redirects=3, max_bytes=64 * 1024)
    try:
        cfg = validate_config(_config(doc.get("health_check_config")))
    except ValidationError as exc:
        return {"check_type": "endpoint", "status": "failed", "response_time_ms": None,
                "error_message": f"invalid health_check_config: {exc.message}", "details": {"error_type": "config"}}
    limit = cfg["timeout_s"] if cfg else DEFAULT_TIMEOUT_S
    if timeout_s is not None:
        limit = min(limit, timeout_s)
    limit = max(limit, 0.05)
    check_type = "endpoint" if cfg else "connectivity"
    url = _join(doc["base_url"], cfg["path"]) if cfg else doc["base_url"]
    methods = [cfg["method"]] if cfg else ["HEAD", "GET"]
    started = time.perf_counter()
    details: dict = {"url": url}
    try:
        deadline = started + limit
        resp = None
        for method in methods:
            left = max(deadline - time.perf_counter(), 0.05)
            resp = outbound.fetch(url, method=method, policy=policy, connect_timeout=left, read_timeout=left,
                                  total_timeout=left)
            details["method"] = method
            if method == "HEAD" and resp.status_code in HEAD_FALLBACK_STATUSES and len(methods) > 1:
                details["head_status"] = resp.status_code
                continue
            break
        elapsed = int((time.perf_counter() - started) * 1000)
        details["status_code"] = resp.status_code
        if cfg:
            expected = cfg["expected_status"]
            ok = resp.status_code in expected if expected else 200 <= resp.status_code < 300
            details["expected_status"] = expected or "2xx"
        else:
            ok = resp.status_code < 500
        return {"check_type": check_type, "status": "success" if ok else "failed", "response_time_ms": elapsed,
                "error_message": None if ok else f"unexpected status {resp.status_code}", "details": details}
    except outbound.OutboundFailure as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        details["error_type"] = exc.error_type
        status = "timeout" if exc.error_type == "timeout" else "failed"
        return {"check_type": check_type, "status": status, "response_time_ms": elapsed,
                "error_message": getattr(exc, "message", str(exc)), "details": details}
    except Exception as exc:  # noqa: BLE001 - a check never raises; it records the failure
        elapsed = int((time.perf_counter() - started) * 1000)
        details["error_type"] = type(exc).__name__
        return {"check_type": check_type, "status": "failed", "response_time_ms": elapsed,
                "error_message": str(exc)[:1000], "details": details}


# ------------------------------------------------------------------ recording

def record_check(document_id: str, result: dict, checked_at: datetime | None = None) -> dict:
    """Insert the check row and apply the hysteresis, in one transaction."""
    from chalicelib.settings import get_settings
    s = get_settings()
    checked_at = checked_at or datetime.now(timezone.utc)
    ok = result["status"] == "success"
    db = get_db()
    with db.transaction():
        doc = db.one(
            """WITH old AS (SELECT health_status FROM api_documents WHERE id = CAST(:id AS uuid) FOR UPDATE)
               UPDATE api_documents SET
                   health_consecutive_failures = CASE WHEN :ok THEN 0 ELSE health_consecutive_failures + 1 END,
                   health_consecutive_successes = CASE WHEN :ok THEN health_consecutive_successes + 1 ELSE 0 END,
                   health_status = CASE
                       WHEN :ok AND health_consecutive_successes + 1 >= :m THEN 'healthy'
                       WHEN NOT :ok AND health_consecutive_failures + 1 >= :n THEN 'unhealthy'
                       ELSE health_status END,
                   last_health_check = :at, updated_at = NOW()
               WHERE id = CAST(:id AS uuid)
               RETURNING id, health_status, (SELECT health_status FROM old) AS previous_health_status,
                         last_health_check, health_consecutive_failures, health_consecutive_successes""",
            id=document_id, ok=ok, m=s.health_successes_healthy, n=s.health_failures_unhealthy, at=checked_at)
        if doc is None:
            raise NotFound(f"document {document_id} not found")
        check = db.one(
            f"""INSERT INTO api_health_checks
                   (api_document_id, check_type, status, response_time_ms, error_message, details, checked_at)
               VALUES (CAST(:id AS uuid), :check_type, :status, :rt, :err, CAST(:details AS jsonb), :at)
               RETURNING {CHECK_COLUMNS}""",
            id=document_id, check_type=result["check_type"], status=result["status"],
            rt=result["response_time_ms"], err=result["error_message"],
            details=json.dumps(result.get("details") or {}, default=str), at=checked_at)
    doc["changed"] = doc["health_status"] != doc["previous_health_status"]
    return {"check": check, "document": doc}


def _load_document(document_id: str) -> dict:
    doc = get_db().one(
        "SELECT id, name, base_url, status, health_status, health_check_config FROM api_documents "
        "WHERE id = CAST(:id AS uuid)", id=document_id)
    if doc is None:
        raise NotFound(f"document {document_id} not found")
    return doc


def check_one_now(document_id: str) -> dict:
    """POST /api/documents/{id}/health-check: check and record one document now."""
    doc = _load_document(document_id)
    return record_check(str(doc["id"]), check_document(doc, timeout_s=API_DEADLINE_S))


def run_health_checks(document_ids: list[str] | None = None, *, deadline_s: float = SCHEDULE_DEADLINE_S,
                      concurrency: int = CONCURRENCY, progress: Any = None) -> dict:
    """Check active documents (all, or the given ones) with bounded concurrency and an overall deadline."""
    db = get_db()
    docs = db.query(
        "SELECT id, name, base_url, health_check_config FROM api_documents WHERE status = 'active' "
        "AND (CAST(:ids AS uuid[]) IS NULL OR id = ANY(CAST(:ids AS uuid[]))) ORDER BY last_health_check NULLS FIRST",
        ids=list(document_ids) if document_ids is not None else None)
    started = time.monotonic()
    deadline = started + deadline_s
    report = {"documents": len(docs), "checked": 0, "success": 0, "failed": 0, "timeout": 0,
              "skipped_deadline": 0, "became_unhealthy": [], "became_healthy": []}
    if not docs:
        return report
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(docs))), thread_name_prefix="stepflow-health")
    try:
        futures = {}
        for doc in docs:
            futures[pool.submit(_bounded_check, doc, deadline)] = doc
        pending = set(futures)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            done, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
            for fut in done:
                result = fut.result()
                if result is None:  # started after the deadline
                    report["skipped_deadline"] += 1
                    continue
                doc = futures[fut]
                rec = record_check(str(doc["id"]), result)
                report["checked"] += 1
                report[result["status"]] += 1
                if rec["document"]["changed"]:
                    key = "became_unhealthy" if rec["document"]["health_status"] == "unhealthy" else "became_healthy"
                    report[key].append(str(doc["id"]))
                if progress is not None:
                    progress(int(100 * report["checked"] / len(docs)), f"{report['checked']}/{len(docs)} checked")
        for fut in pending:
            fut.cancel()
            report["skipped_deadline"] += 1
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    report["elapsed_ms"] = int((time.monotonic() - started) * 1000)
    return report


def _bounded_check(doc: dict, deadline: float) -> dict | None:
    left = deadline - time.monotonic()
    if left <= 0.05:
        return None
    return check_document(doc, timeout_s=left)


def list_checks(document_id: str, statuses: list[str], limit: int, offset: int) -> tuple[list[dict], int]:
    _load_document(document_id)
    db = get_db()
    cond = ("api_document_id = CAST(:id AS uuid) AND "
            "(cardinality(CAST(:st AS text[])) = 0 OR status = ANY(CAST(:st AS text[])))")
    total = db.scalar(f"SELECT count(*) FROM api_health_checks WHERE {cond}", id=document_id, st=list(statuses))
    rows = db.query(f"SELECT {CHECK_COLUMNS} FROM api_health_checks WHERE {cond} "
                    "ORDER BY checked_at DESC, id LIMIT :limit OFFSET :offset",
                    id=document_id, st=list(statuses), limit=limit, offset=offset)
    return rows, int(total)


def health_checks_job(ctx: JobContext) -> dict:
    """The async bulk run (POST /api/health-checks/run with async: true); the
    `health_checks.run` job type is registered by chalicelib.schedules.routes."""
    ids = (ctx.payload or {}).get("document_ids")
    return run_health_checks(ids, progress=ctx.progress)
