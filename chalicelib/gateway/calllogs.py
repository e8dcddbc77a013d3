"""api_call_logs rows, endpoint statistics, and reading them back.

`record()` writes the log row, updates the endpoint's counters (call,
success = 2xx, error = 4xx/5xx/network failure, exact mean response time
from a running sum) and, for a resource reference, its usage - in ONE
statement, hence one transaction. It is sent without waiting for the answer
(chalicelib.db.pipeline: the server runs it on arrival, before the call's
answer leaves; reads through the same server see it); if it fails, or its
connection breaks before the answer is read, it is written again once with
`rewrite`, which inserts the row (and counts it) only when that id is not
there yet. `record(..., rewrite=True)` waits and is that idempotent form.

Listing always bounds `created_at` (default: the last 24 hours) so PostgreSQL
prunes the monthly partitions to the ones the range touches.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib import spans
from chalicelib.db import get_db, prepared
from chalicelib.db.where import Where
from chalicelib.errors import NotFound, ValidationError, field_error, field_errors, invalid_input

log = logging.getLogger("stepflow")


@dataclass
class LogEntry:
    endpoint_id: str
    method: str
    url: str
    request_headers: dict | None = None
    request_params: dict | None = None
    request_body: str | None = None
    request_size: int | None = None
    status_code: int | None = None
    response_headers: dict | None = None
    response_body: str | None = None
    response_size: int | None = None
    response_time_ms: int | None = None
    error_message: str | None = None
    error_type: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    reference_id: str | None = None
    cache_status: str | None = None  # "hit" / "miss" (response cache), None: not a cached endpoint
    deprecated: bool = False  # the endpoint called is deprecated
    log_id: str | None = None  # made by the first write; a re-write keeps it
    created_at: dt.datetime | None = None  # the moment the call ended (the app's clock), kept by a re-write


# The row travels as one JSON parameter that jsonb_populate_record spreads
# over the table's columns (a new column needs no change here); the id is
# made by the caller. The function sits in FROM: `(f(...)).*` would run it
# once per column (~1 ms a call).
_INSERT = """
WITH log AS (
    INSERT INTO api_call_logs
    SELECT r.* FROM jsonb_populate_record(NULL::api_call_logs,
            CAST(:row AS jsonb)) AS r
    RETURNING id
), s AS (
    UPDATE api_endpoints SET call_count = call_count + 1, success_count = success_count + :ok,
        error_count = error_count + :err, total_response_time_ms = total_response_time_ms + :ms,
        timed_call_count = timed_call_count + :t,
        avg_response_time_ms = CASE WHEN timed_call_count + :t > 0
            THEN round((total_response_time_ms + :ms)::numeric / (timed_call_count + :t))::int
            ELSE avg_response_time_ms END
    WHERE id = CAST(:e AS uuid) RETURNING id
), r AS (
    UPDATE resource_references SET usage_count = usage_count + 1, last_used_at = clock_timestamp()
    WHERE id = CAST(:r AS uuid) RETURNING id
)
SELECT log.id, set_config('synchronous_commit', :sc, true) AS _commit_mode FROM log
"""
prepared(_INSERT)   # parsed and planned once per connection (chalicelib.db.wire.run_prepared)
# The same, written only when the row is not there yet (a re-write after a failure
# whose outcome is unknown must not count a call twice).
_ONLY_NEW = ("AS r\n    WHERE NOT EXISTS (SELECT 1 FROM api_call_logs WHERE id = CAST(:id AS uuid)"
             " AND created_at = CAST(:at AS timestamptz))\n    RETURNING id")
_REWRITE = _INSERT.replace("AS r\n    RETURNING id", _ONLY_NEW)
for _target in ("WHERE id = CAST(:e AS uuid)", "WHERE id = CAST(:r AS uuid)"):   # counted only with its row
    _REWRITE = _REWRITE.replace(f"{_target} RETURNING id", f"{_target} AND EXISTS (SELECT 1 FROM log) RETURNING id")
if _REWRITE.count("EXISTS") != 3:
    raise RuntimeError("the call log's re-write lost its guards")
# Log rows and their statistics commit together in one statement; by default
# without waiting for the WAL flush (a PostgreSQL crash may lose the last
# fraction of a second of logs and their counts - together, never one
# without the other). Set to "on" for synchronous durability.
LOG_SYNCHRONOUS_COMMIT = "off"


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.split("%", 1)[0]))
    except ValueError:
        return None


def record(entry: LogEntry, db=None, rewrite: bool = False) -> str:
    """Send the row and the statistics (one statement); returns the log id. With
    `rewrite`, wait for the answer and write them only if the id is not there yet."""
    db = db or get_db()
    status = entry.status_code
    is_success = 1 if status is not None and 200 <= status < 300 else 0
    is_error = 1 if (status is not None and status >= 400) or (status is None and entry.error_type) else 0
    timed = 1 if status is not None and entry.response_time_ms is not None else 0
    log_id = entry.log_id or str(uuid.uuid4())
    entry.log_id = log_id
    # The moment the call ended, by the app's clock (as the access log's rows, and the
    # windows a read computes): the row is sent without waiting, and the server may run
    # it after the caller's next request began.
    entry.created_at = entry.created_at or utcnow()
    created_at = entry.created_at.isoformat()
    row = {
        "id": log_id, "api_endpoint_id": entry.endpoint_id, "resource_reference_id": entry.reference_id,
        "request_method": entry.method, "request_url": entry.url, "request_headers": entry.request_headers,
        "request_body": entry.request_body, "request_params": entry.request_params,
        "response_status_code": status, "response_headers": entry.response_headers,
        "response_body": entry.response_body, "response_time_ms": entry.response_time_ms,
        "request_size_bytes": entry.request_size, "response_size_bytes": entry.response_size,
        "error_message": entry.error_message, "error_type": entry.error_type, "client_ip": _ip(entry.client_ip),
        "user_agent": entry.user_agent[:1000] if entry.user_agent else None, "cache_status": entry.cache_status,
        "deprecated": entry.deprecated, "created_at": created_at,
    }
    values = dict(row=json.dumps(row, ensure_ascii=False, default=str),
                  ok=is_success, err=is_error, ms=int(entry.response_time_ms or 0) if timed else 0, t=timed,
                  e=entry.endpoint_id, r=entry.reference_id, sc=LOG_SYNCHRONOUS_COMMIT)
    with spans.span("log write"):
        if rewrite:
            db.one(_REWRITE, id=log_id, at=created_at, **values)
        else:
            db.execute_nowait(_INSERT, _on_lost=lambda d: _written_again(d, log_id, created_at, values), **values)
    return log_id


def _written_again(db, log_id: str, created_at: str, values: dict) -> None:
    """The re-write of a row whose first write failed or has an unknown outcome."""
    try:
        written = db.one(_REWRITE, id=log_id, at=created_at, **values)
    except Exception:
        log.error("call log %s lost: its write failed and so did the re-write", log_id)
        raise
    if written is not None:   # else the first write had run: nothing was lost
        log.warning("call log %s written again after its first write was lost", log_id)


# ------------------------------------------------------------------ reading

_WINDOW = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_WINDOW_S = 366 * 86400


def parse_window(text: str | None, default_s: int = 86400) -> int:
    """`90s`, `15m`, `24h`, `7d`, `2w` or plain seconds."""
    if text is None or text == "":
        return default_s
    text = str(text).strip().lower()
    if text.isdigit():
        seconds = int(text)
    else:
        m = _WINDOW.match(text)
        if not m:
            raise ValidationError(f"window must look like 15m, 24h or 7d, got {text!r}",
                                  field_errors(field_error(["query", "window"], "e.g. 15m, 24h, 7d", "format")))
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if not 0 < seconds <= MAX_WINDOW_S:
        raise invalid_input(["query", "window"], "window must be between 1 second and 366 days", "range")
    return seconds


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


LIST_COLUMNS = (
    "l.id, l.api_endpoint_id, l.resource_reference_id, l.request_method, l.request_url, l.request_headers, "
    "l.request_params, l.request_body, l.response_status_code, l.response_headers, l.response_body, "
    "l.response_time_ms, l.request_size_bytes, l.response_size_bytes, l.error_message, l.error_type, "
    "host(l.client_ip) AS client_ip, l.user_agent, l.cache_status, l.deprecated, l.created_at"
)


LIST_ORDER = "created_at DESC, id"


def list_sql(filters: dict) -> tuple[str, dict[str, Any]]:
    """The list statement (unordered, unpaged) for the given filters, and its parameters."""
    sc_lo = int(filters["status_class"][0]) * 100 if filters.get("status_class") else None
    error_type = filters.get("error_type")
    w = (Where("l.created_at >= :since", "l.created_at < :until", since=filters["since"], until=filters["until"])
         .when(filters.get("endpoint_id"), "l.api_endpoint_id = CAST(:endpoint_id AS uuid)",
               endpoint_id=filters.get("endpoint_id"))
         .when(filters.get("document_id"),
               "l.api_endpoint_id IN (SELECT id FROM api_endpoints WHERE api_document_id = CAST(:document_id AS uuid))",
               document_id=filters.get("document_id"))
         .when(filters.get("reference_id"), "l.resource_reference_id = CAST(:reference_id AS uuid)",
               reference_id=filters.get("reference_id"))
         .when(filters.get("status_code") is not None, "l.response_status_code = :status_code",
               status_code=filters.get("status_code"))
         .when(sc_lo is not None, "l.response_status_code >= :sc_lo AND l.response_status_code < :sc_hi",
               sc_lo=sc_lo, sc_hi=(sc_lo or 0) + 100)
         .when(filters.get("cache_status"), "l.cache_status = :cache_status", cache_status=filters.get("cache_status"))
         .when(filters.get("deprecated") is not None, "l.deprecated = :deprecated",
               deprecated=filters.get("deprecated"))
         .when(error_type == "none", "l.error_type IS NULL")
         .when(error_type and error_type != "none", "l.error_type = :error_type", error_type=error_type))
    return f"SELECT {LIST_COLUMNS} FROM api_call_logs l WHERE {w.sql}", dict(w.params)


def time_range(since: dt.datetime | None, until: dt.datetime | None, default_s: int = 86400) -> tuple:
    until = _aware(until) if until else utcnow()
    since = _aware(since) if since else until - dt.timedelta(seconds=default_s)
    if since >= until:
        raise ValidationError("`since` must be before `until`",
                              field_errors(field_error(["query", "since"], "must be before until", "range")))
    return since, until


def list_logs(filters: dict, db=None) -> tuple[list[dict], int]:
    db = db or get_db()
    sql, params = list_sql(filters)
    return db.page(sql, order_by=LIST_ORDER, limit=filters.get("limit", 50), offset=filters.get("offset", 0),
                   **params)


def get_log(log_id: str, db=None) -> dict:
    db = db or get_db()
    row = db.one(f"SELECT {LIST_COLUMNS} FROM api_call_logs l WHERE l.id = CAST(:id AS uuid)", id=log_id)
    if row is None:
        raise NotFound(f"call log {log_id} not found")
    return row


def endpoint_stats(endpoint_id: str, window_s: int, db=None) -> dict:
    """Counts, success rate, mean and p50/p95/p99 over the window, plus the
    endpoint's lifetime counters."""
    db = db or get_db()
    ep = db.one(
        "SELECT id, api_document_id, path, method, call_count, success_count, error_count, avg_response_time_ms, "
        "total_response_time_ms, timed_call_count FROM api_endpoints WHERE id = CAST(:id AS uuid)", id=endpoint_id)
    if ep is None:
        raise NotFound(f"endpoint {endpoint_id} not found")
    until = utcnow()
    since = until - dt.timedelta(seconds=window_s)
    row = db.one(
        "SELECT count(*) AS calls, "
        " count(*) FILTER (WHERE response_status_code >= 200 AND response_status_code < 300) AS successes, "
        " count(*) FILTER (WHERE response_status_code >= 400"
        "   OR (response_status_code IS NULL AND error_type IS NOT NULL)) AS errors, "
        " count(*) FILTER (WHERE response_status_code IS NULL AND error_type IS NOT NULL) AS network_errors, "
        " avg(response_time_ms) FILTER (WHERE response_status_code IS NOT NULL) AS avg_ms, "
        " percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY response_time_ms) "
        "   FILTER (WHERE response_status_code IS NOT NULL) AS pct, "
        " min(response_time_ms) FILTER (WHERE response_status_code IS NOT NULL) AS min_ms, "
        " max(response_time_ms) FILTER (WHERE response_status_code IS NOT NULL) AS max_ms, "
        " count(*) FILTER (WHERE cache_status = 'hit') AS cache_hits, "
        " count(*) FILTER (WHERE cache_status = 'miss') AS cache_misses "
        "FROM api_call_logs WHERE api_endpoint_id = CAST(:id AS uuid) AND created_at >= :since AND created_at < :until",
        id=endpoint_id, since=since, until=until)
    by_status = db.query(
        "SELECT response_status_code AS status_code, error_type, count(*) AS calls FROM api_call_logs "
        "WHERE api_endpoint_id = CAST(:id AS uuid) AND created_at >= :since AND created_at < :until "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1", id=endpoint_id, since=since, until=until)
    calls = int(row["calls"])
    pct = row["pct"] or [None, None, None]

    def num(v):
        return None if v is None else round(float(v), 2)

    return {
        "endpoint_id": str(ep["id"]),
        "window_seconds": window_s,
        "since": since,
        "until": until,
        "calls": calls,
        "successes": int(row["successes"]),
        "errors": int(row["errors"]),
        "network_errors": int(row["network_errors"]),
        "success_rate": round(int(row["successes"]) / calls, 4) if calls else None,
        "avg_response_time_ms": num(row["avg_ms"]),
        "p50_ms": num(pct[0]),
        "p95_ms": num(pct[1]),
        "p99_ms": num(pct[2]),
        "min_ms": row["min_ms"],
        "max_ms": row["max_ms"],
        "cache_hits": int(row["cache_hits"]),
        "cache_misses": int(row["cache_misses"]),
        "by_status": [{"status_code": r["status_code"], "error_type": r["error_type"], "calls": int(r["calls"])}
                      for r in by_status],
        "lifetime": {
            "call_count": int(ep["call_count"]),
            "success_count": int(ep["success_count"]),
            "error_count": int(ep["error_count"]),
            "avg_response_time_ms": ep["avg_response_time_ms"],
            "exact_avg_response_time_ms": (round(int(ep["total_response_time_ms"]) / int(ep["timed_call_count"]), 3)
                                           if ep["timed_call_count"] else None),
        },
    }
