"""Document health checks (seed 000 api_health_checks), run now, in bulk, or on the schedule.

A check of one document has a `check_type` (seed 000), from the request, the
document's `health_check_config.check_type`, or `connectivity` by default:
* `connectivity`: TCP (+ TLS for https) to the base URL and a HEAD, falling
  back to GET when HEAD is not supported (405/501): the server is reachable
  when it answers below 500;
* `endpoint`: one GET of a declared parameter-free GET endpoint (a health-like
  path such as /health or /status first, else the shortest), or of the
  configured `path`: 2xx/3xx is a success (or the configured
  `expected_status`). A document with no such endpoint is checked for
  connectivity (details say so);
* `full`: every declared parameter-free GET endpoint (at most
  MAX_FULL_ENDPOINTS): a success when all answer 2xx/3xx; details list each.
`health_check_config` = {"check_type", "path", "method", "expected_status":
200 | [200, 204], "timeout_s": 5}.

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
from typing import Any, Sequence

from chalicelib.db import get_db
from chalicelib.db.where import Where
from chalicelib.errors import NotFound, ValidationError, field_error, field_errors, invalid_input
from chalicelib.jobs.registry import JobContext

log = logging.getLogger("stepflow.health")

DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 30.0
CONCURRENCY = 8
# The schedule function runs for at most 300 s (.chalice/config.json); stop
# starting checks well before that so the run always records what it did.
SCHEDULE_DEADLINE_S = 240.0
API_DEADLINE_S = 20.0  # a synchronous bulk run from the API (29 s gateway limit)
HEAD_FALLBACK_STATUSES = (405, 501)
CHECK_TYPES = ("connectivity", "endpoint", "full")
MAX_FULL_ENDPOINTS = 20
_HEALTH_LIKE = ("/health", "/healthz", "/healthcheck", "/health-check", "/status", "/ping", "/ready", "/live",
                "/livez", "/readyz")
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
        raise invalid_input(["health_check_config"], "health_check_config must be an object", "dict_type")
    unknown = sorted(set(cfg) - {"check_type", "path", "method", "expected_status", "timeout_s"})
    if unknown:
        raise ValidationError(f"health_check_config: unknown field(s) {', '.join(unknown)}",
                              field_errors(field_error(["health_check_config", u], "Extra inputs are not permitted",
                                                       "extra_forbidden") for u in unknown))
    check_type = cfg.get("check_type")
    if check_type is not None and check_type not in CHECK_TYPES:
        raise ValidationError("health_check_config.check_type must be connectivity, endpoint or full",
                              field_errors(field_error(["health_check_config", "check_type"],
                                                       "connectivity, endpoint or full", "enum")))
    path = cfg.get("path")
    method = str(cfg.get("method", "GET")).upper()
    expected = cfg.get("expected_status")
    timeout = cfg.get("timeout_s", DEFAULT_TIMEOUT_S)
    if path is not None and (not isinstance(path, str) or "://" in path or not path.startswith("/")):
        raise invalid_input(["health_check_config", "path"],
                            "health_check_config.path must be a path starting with / (it is joined to base_url)")
    if method not in ("GET", "HEAD"):
        raise invalid_input(["health_check_config", "method"], "health_check_config.method must be GET or HEAD", "enum")
    if expected is not None:
        codes = expected if isinstance(expected, list) else [expected]
        if not codes or not all(isinstance(c, int) and 100 <= c <= 599 for c in codes):
            raise invalid_input(["health_check_config", "expected_status"],
                                "health_check_config.expected_status must be a status code or a list of them")
        expected = codes
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise invalid_input(["health_check_config", "timeout_s"],
                            f"health_check_config.timeout_s must be in (0, {MAX_TIMEOUT_S}]",
                            "range")
    if check_type is None:
        check_type = "endpoint" if path is not None else None
    return {"check_type": check_type, "path": path, "method": method, "expected_status": expected,
            "timeout_s": float(timeout)}


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/") if path != "/" else base_url


def _pick_endpoint(paths: list[str]) -> str | None:
    if not paths:
        return None
    def rank(p: str):
        low = p.lower().rstrip("/")
        healthy = any(low.endswith(h) for h in _HEALTH_LIKE)
        return (0 if healthy else 1, len(p), p)
    return sorted(paths, key=rank)[0]


def _call(url: str, methods: list[str], deadline: float, policy: Any, details: dict):
    from chalicelib.net import outbound
    resp = None
    for method in methods:
        left = max(deadline - time.perf_counter(), 0.05)
        resp = outbound.fetch(url, method=method, policy=policy.with_limits(
            connect_timeout=left, read_timeout=left, total_timeout=left))
        details["method"] = method
        if method == "HEAD" and resp.status_code in HEAD_FALLBACK_STATUSES and len(methods) > 1:
            details["head_status"] = resp.status_code
            continue
        break
    if resp is None:
        raise ValueError("a check calls at least one method")
    details["status_code"] = resp.status_code
    return resp


def _ok_status(status: int, expected: list | None) -> bool:
    return status in expected if expected else 200 <= status < 400


def check_document(doc: dict, *, timeout_s: float | None = None, policy: Any = None,
                   check_type: str | None = None) -> dict:
    """Run one check (no database). `doc` has base_url, health_check_config and
    `get_paths` (its declared parameter-free GET paths). Returns the
    api_health_checks fields."""
    from chalicelib.net import outbound

    policy = policy or outbound.policy_from_settings(max_redirects=3, max_bytes=64 * 1024)
    try:
        cfg = validate_config(_config(doc.get("health_check_config"))) or {}
    except ValidationError as exc:
        return {"check_type": check_type or "endpoint", "status": "failed", "response_time_ms": None,
                "error_message": f"invalid health_check_config: {exc.message}", "details": {"error_type": "config"}}
    limit = cfg.get("timeout_s") or DEFAULT_TIMEOUT_S
    if timeout_s is not None:
        limit = min(limit, timeout_s)
    limit = max(limit, 0.05)
    kind = check_type or cfg.get("check_type") or "connectivity"
    paths = list(doc.get("get_paths") or [])
    details: dict = {}
    if kind == "endpoint":
        path = cfg.get("path") or _pick_endpoint(paths)
        targets = [path] if path else []
    elif kind == "full":
        targets = sorted(paths)[:MAX_FULL_ENDPOINTS]
        if len(paths) > MAX_FULL_ENDPOINTS:
            details["endpoints_skipped"] = len(paths) - MAX_FULL_ENDPOINTS
    else:
        targets = []
    if kind != "connectivity" and not targets:
        details["note"] = "no declared parameter-free GET endpoint: checked connectivity instead"
    started = time.perf_counter()
    deadline = started + limit
    try:
        if not targets:
            details["url"] = doc["base_url"]
            resp = _call(doc["base_url"], ["HEAD", "GET"], deadline, policy, details)
            ok = resp.status_code < 500
            error = None if ok else f"unexpected status {resp.status_code}"
        elif kind == "endpoint":
            url = _join(doc["base_url"], targets[0])
            details["url"] = url
            resp = _call(url, [cfg.get("method") or "GET"], deadline, policy, details)
            ok = _ok_status(resp.status_code, cfg.get("expected_status"))
            details["expected_status"] = cfg.get("expected_status") or "2xx/3xx"
            error = None if ok else f"unexpected status {resp.status_code}"
        else:
            results = []
            for path in targets:
                item: dict = {"path": path}
                try:
                    r = _call(_join(doc["base_url"], path), ["GET"], deadline, policy, item)
                    item["ok"] = _ok_status(r.status_code, None)
                except outbound.OutboundFailure as exc:
                    item.update(ok=False, error_type=exc.error_type)
                results.append(item)
            details["endpoints"] = results
            failed = [r["path"] for r in results if not r["ok"]]
            ok = not failed
            error = None if ok else f"{len(failed)} of {len(results)} endpoints failed: {', '.join(failed[:5])}"
        elapsed = int((time.perf_counter() - started) * 1000)
        return {"check_type": kind, "status": "success" if ok else "failed", "response_time_ms": elapsed,
                "error_message": error, "details": details}
    except outbound.OutboundFailure as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        details["error_type"] = exc.error_type
        status = "timeout" if exc.error_type == "timeout" else "failed"
        return {"check_type": kind, "status": status, "response_time_ms": elapsed,
                "error_message": getattr(exc, "message", str(exc)), "details": details}
    except Exception as exc:  # noqa: BLE001 - a check never raises; it records the failure
        elapsed = int((time.perf_counter() - started) * 1000)
        details["error_type"] = type(exc).__name__
        return {"check_type": kind, "status": "failed", "response_time_ms": elapsed,
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
        # The previous status is read (and the row locked) by its own statement:
        # a CTE of the UPDATE would see the row after the update.
        previous = db.one("SELECT health_status FROM api_documents WHERE id = CAST(:id AS uuid) FOR UPDATE",
                          id=document_id)
        if previous is None:
            raise NotFound(f"document {document_id} not found")
        doc = db.one(
            """UPDATE api_documents SET
                   health_consecutive_failures = CASE WHEN :ok THEN 0 ELSE health_consecutive_failures + 1 END,
                   health_consecutive_successes = CASE WHEN :ok THEN health_consecutive_successes + 1 ELSE 0 END,
                   health_status = CASE
                       WHEN :ok AND health_consecutive_successes + 1 >= :m THEN 'healthy'
                       WHEN NOT :ok AND health_consecutive_failures + 1 >= :n THEN 'unhealthy'
                       ELSE health_status END,
                   last_health_check = :at, updated_at = NOW()
               WHERE id = CAST(:id AS uuid)
               RETURNING id, health_status, last_health_check, health_consecutive_failures,
                         health_consecutive_successes""",
            id=document_id, ok=ok, m=s.health_successes_healthy, n=s.health_failures_unhealthy, at=checked_at)
        if doc is None:  # the row is locked above: only a bug gets here
            raise NotFound(f"document {document_id} not found")
        doc["previous_health_status"] = previous["health_status"]
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


# Declared GET endpoints a check can call: no path template, no required or $ref'd parameter.
_GET_PATHS_SQL = (
    "SELECT api_document_id, path FROM api_endpoints WHERE api_document_id = ANY(CAST(:ids AS uuid[])) "
    "AND method = 'GET' AND status <> 'inactive' AND strpos(path, '{') = 0 "
    "AND NOT jsonb_path_exists(COALESCE(parameters, '[]'::jsonb), "
    "'$[*] ? (@.required == true || exists(@.\"$ref\"))') ORDER BY path")


def _attach_get_paths(docs: list[dict]) -> None:
    by_doc: dict[str, list[str]] = {str(d["id"]): [] for d in docs}
    if not by_doc:
        return
    for row in get_db().query(_GET_PATHS_SQL, ids=list(by_doc)):
        by_doc[str(row["api_document_id"])].append(row["path"])
    for d in docs:
        d["get_paths"] = by_doc[str(d["id"])]


def set_config(document_id: str, cfg: dict | None, db=None) -> dict | None:
    """Store a document's health_check_config (validated; None clears it)."""
    cfg = validate_config(cfg)
    stored = None if cfg is None else {k: v for k, v in cfg.items() if v is not None}
    (db or get_db()).execute("UPDATE api_documents SET health_check_config = CAST(:cfg AS jsonb), updated_at = NOW() "
                             "WHERE id = CAST(:id AS uuid)", id=document_id,
                             cfg=None if stored is None else json.dumps(stored))
    return stored


def _load_document(document_id: str) -> dict:
    doc = get_db().one(
        "SELECT id, name, base_url, status, health_status, health_check_config FROM api_documents "
        "WHERE id = CAST(:id AS uuid)", id=document_id)
    if doc is None:
        raise NotFound(f"document {document_id} not found")
    return doc


def check_one_now(document_id: str, check_type: str | None = None) -> dict:
    """POST /api/documents/{id}/health-check: check and record one document now."""
    doc = _load_document(document_id)
    _attach_get_paths([doc])
    return record_check(str(doc["id"]), check_document(doc, timeout_s=API_DEADLINE_S, check_type=check_type))


def run_health_checks(document_ids: list[str] | None = None, *, deadline_s: float = SCHEDULE_DEADLINE_S,
                      concurrency: int = CONCURRENCY, progress: Any = None, check_type: str | None = None) -> dict:
    """Check active documents (all, or the given ones) with bounded concurrency and an overall deadline."""
    db = get_db()
    docs = db.query(
        "SELECT id, name, base_url, health_check_config FROM api_documents WHERE status = 'active' "
        "AND (CAST(:ids AS uuid[]) IS NULL OR id = ANY(CAST(:ids AS uuid[]))) ORDER BY last_health_check NULLS FIRST",
        ids=list(document_ids) if document_ids is not None else None)
    _attach_get_paths(docs)
    started = time.monotonic()
    deadline = started + deadline_s
    report: dict[str, Any] = {"documents": len(docs), "checked": 0, "success": 0, "failed": 0, "timeout": 0,
              "skipped_deadline": 0, "became_unhealthy": [], "became_healthy": []}
    if not docs:
        return report
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(docs))), thread_name_prefix="stepflow-health")
    try:
        futures = {}
        for doc in docs:
            futures[pool.submit(_bounded_check, doc, deadline, check_type)] = doc
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


def _bounded_check(doc: dict, deadline: float, check_type: str | None = None) -> dict | None:
    left = deadline - time.monotonic()
    if left <= 0.05:
        return None
    return check_document(doc, timeout_s=left, check_type=check_type)


def list_checks(document_id: str, statuses: Sequence[str], limit: int, offset: int) -> tuple[list[dict], int]:
    _load_document(document_id)
    w = Where("api_document_id = CAST(:id AS uuid)", id=document_id).when(
        statuses, "status = ANY(CAST(:st AS text[]))", st=list(statuses))
    return get_db().page(f"SELECT {CHECK_COLUMNS} FROM api_health_checks WHERE {w.sql}",
                         order_by="checked_at DESC, id", limit=limit, offset=offset, **w.params)


def health_checks_job(ctx: JobContext) -> dict:
    """The async bulk run (POST /api/health-checks/run with async: true); the
    `health_checks.run` job type is registered by chalicelib.schedules.jobs."""
    payload = ctx.payload or {}
    return run_health_checks(payload.get("document_ids"), progress=ctx.progress, check_type=payload.get("check_type"))
