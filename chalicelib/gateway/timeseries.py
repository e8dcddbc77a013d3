"""Call statistics per time bucket, computed by PostgreSQL from api_call_logs.

`timeseries(scope, window_s, bucket_s, until)` answers, for one endpoint, one
document (all its endpoints) or everything, the calls, successes (2xx),
errors (4xx/5xx or a network failure without a status) and the exact
p50/p95/p99/mean response times of every bucket of the window, plus the same
figures over the whole window. One statement, one scan: the buckets and the
totals come from `GROUPING SETS`, so they are exact for any number of calls
(nothing is sampled or capped), and the bound `created_at` range lets
PostgreSQL prune api_call_logs to the monthly partitions the window touches.

Buckets are aligned on `since` (= until - window): bucket i covers
[since + i*bucket, since + (i+1)*bucket). Empty buckets are answered with zero
calls and null latencies, so a chart has every point. Latencies are over the
calls that got an answer (a status code), like the endpoint statistics.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chalicelib.db.where import Where
from chalicelib.errors import NotFound, ValidationError, field_error, field_errors

MAX_BUCKETS = 500
# The bucket a window gets when the caller names none: about 24-60 points.
AUTO_BUCKETS_S = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)

ERROR = "(l.response_status_code >= 400 OR (l.response_status_code IS NULL AND l.error_type IS NOT NULL))"
SUCCESS = "(l.response_status_code >= 200 AND l.response_status_code < 300)"
TIMED = "(l.response_status_code IS NOT NULL)"


@dataclass(frozen=True)
class Scope:
    endpoint_id: str | None = None
    document_id: str | None = None


def auto_bucket(window_s: int) -> int:
    """The smallest usual bucket giving at most 60 points over the window."""
    for b in AUTO_BUCKETS_S:
        if window_s / b <= 60:
            return b
    return -(-window_s // MAX_BUCKETS)


def check_bucket(window_s: int, bucket_s: int) -> None:
    if bucket_s <= 0 or bucket_s > window_s:
        raise ValidationError("bucket must be positive and at most the window",
                              field_errors(field_error(["query", "bucket"], "between 1s and the window", "range")))
    if -(-window_s // bucket_s) > MAX_BUCKETS:
        raise ValidationError(f"window / bucket gives more than {MAX_BUCKETS} buckets: choose a larger bucket",
                              field_errors(field_error(["query", "bucket"],
                                                       f"at most {MAX_BUCKETS} buckets per window", "range")))


def timeseries_sql(scope: Scope) -> str:
    """The statement for a scope (binds :since, :until, :bucket_s and the ids)."""
    w = (Where("l.created_at >= :since", "l.created_at < :until")
         .when(scope.endpoint_id, "l.api_endpoint_id = CAST(:endpoint_id AS uuid)")
         .when(scope.document_id and not scope.endpoint_id,
               "l.api_endpoint_id IN (SELECT id FROM api_endpoints "
               "WHERE api_document_id = CAST(:document_id AS uuid))"))
    return (
        "SELECT l.b, count(*) AS calls, "
        f" count(*) FILTER (WHERE {SUCCESS}) AS successes, count(*) FILTER (WHERE {ERROR}) AS errors, "
        f" avg(l.response_time_ms) FILTER (WHERE {TIMED}) AS avg_ms, "
        " percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY l.response_time_ms) "
        f"   FILTER (WHERE {TIMED}) AS pct, GROUPING(l.b) AS is_total "
        "FROM (SELECT floor(extract(epoch FROM l.created_at - CAST(:since AS timestamptz)) / :bucket_s)::int AS b, "
        "       l.response_status_code, l.error_type, l.response_time_ms "
        f"      FROM api_call_logs l WHERE {w.sql}) l "
        "GROUP BY GROUPING SETS ((l.b), ())"
    )


def _figures(row: dict | None) -> dict:
    if not row:
        return {"calls": 0, "successes": 0, "errors": 0, "error_rate": None,
                "avg_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None}
    calls = int(row["calls"])
    pct = row["pct"] or [None, None, None]

    def num(v):
        return None if v is None else round(float(v), 2)

    return {"calls": calls, "successes": int(row["successes"]), "errors": int(row["errors"]),
            "error_rate": round(int(row["errors"]) / calls, 4) if calls else None,
            "avg_ms": num(row["avg_ms"]), "p50_ms": num(pct[0]), "p95_ms": num(pct[1]), "p99_ms": num(pct[2])}


def _check_scope(db, scope: Scope) -> None:
    if scope.endpoint_id:
        row = db.one("SELECT api_document_id FROM api_endpoints WHERE id = CAST(:id AS uuid)", id=scope.endpoint_id)
        if row is None:
            raise NotFound(f"endpoint {scope.endpoint_id} not found")
        if scope.document_id and str(row["api_document_id"]) != str(scope.document_id):
            raise ValidationError("endpoint_id does not belong to document_id",
                                  field_errors(field_error(["query", "endpoint_id"],
                                                           "not an endpoint of that document", "value")))
    elif scope.document_id:
        if db.scalar("SELECT 1 FROM api_documents WHERE id = CAST(:id AS uuid)", id=scope.document_id) is None:
            raise NotFound(f"document {scope.document_id} not found")


def timeseries(scope: Scope, window_s: int, bucket_s: int | None = None, until: dt.datetime | None = None,
               db=None) -> dict:
    if db is None:
        from chalicelib.db import get_db

        db = get_db()
    bucket_s = bucket_s or auto_bucket(window_s)
    check_bucket(window_s, bucket_s)
    _check_scope(db, scope)
    until = until or dt.datetime.now(dt.timezone.utc)
    if until.tzinfo is None:
        until = until.replace(tzinfo=dt.timezone.utc)
    since = until - dt.timedelta(seconds=window_s)
    params = {"since": since, "until": until, "bucket_s": bucket_s}
    if scope.endpoint_id:
        params["endpoint_id"] = scope.endpoint_id
    elif scope.document_id:
        params["document_id"] = scope.document_id
    rows = db.query(timeseries_sql(scope), **params)
    total = next((r for r in rows if r["is_total"]), None)
    by_bucket = {int(r["b"]): r for r in rows if not r["is_total"]}
    count = -(-window_s // bucket_s)
    buckets = []
    for i in range(count):
        start = since + dt.timedelta(seconds=i * bucket_s)
        buckets.append({"start": start, **_figures(by_bucket.get(i))})
    return {"endpoint_id": scope.endpoint_id, "document_id": scope.document_id,
            "window_seconds": window_s, "bucket_seconds": bucket_s, "since": since, "until": until,
            "totals": _figures(total), "buckets": buckets}
