"""SQL on the `jobs` table. Every state change is one conditional UPDATE, so
two workers (or a worker and a cancel, or a worker and the sweep) can race
without a job running twice or a cancelled job being resurrected.

A failure is stored in `last_error` as a summary, the JSON text of
{"code", "message", "hint"} (no traceback, secrets masked). Rows read here
carry it twice: `error` (the object, or None) and `last_error` (its message,
for a one-line display).

A payload holding anything the masker calls secret (a password field, a URL
with a token, ...) is stored encrypted whole, {"_sealed_payload": {"_enc"}},
and opened again when read here; callers mask it before showing it.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

from chalicelib.db import get_db
from chalicelib.db.where import Where

COLUMNS = ("id, type, status, priority, payload, result, progress, progress_message, attempts, max_attempts, "
           "last_error, idempotency_key, heartbeat_at, created_by, created_at, updated_at, started_at, finished_at")
_J_COLUMNS = ", ".join("j." + c.strip() for c in COLUMNS.split(","))  # COLUMNS of `jobs j`
MAX_ERROR_CHARS = 4000


def _json(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def error_text(summary: dict | str) -> str:
    """The stored form of a failure summary (a plain text becomes its message)."""
    from chalicelib.masking import mask_text
    if not isinstance(summary, dict):
        summary = {"code": "JOB_ERROR", "message": str(summary).split("\n", 1)[0], "hint": None}
    out = {"code": str(summary.get("code") or "JOB_ERROR"),
           "message": mask_text(str(summary.get("message") or ""))[:MAX_ERROR_CHARS],
           "hint": summary.get("hint")}
    return _json(out)


def read_error(stored: str | None) -> dict | None:
    """The summary object of a stored `last_error` (older plain texts: their first line)."""
    if not stored:
        return None
    if stored.startswith('{"code"'):
        try:
            value = json.loads(stored)
            if isinstance(value, dict):
                return {"code": value.get("code"), "message": value.get("message"), "hint": value.get("hint")}
        except ValueError:
            pass
    return {"code": "JOB_ERROR", "message": stored.split("\n", 1)[0], "hint": None}


SEALED_PAYLOAD = "_sealed_payload"


def _payload_in(payload: Any) -> Any:
    from chalicelib.masking import mask
    if mask(payload) == payload:
        return payload
    from chalicelib.secrets import get_box
    return {SEALED_PAYLOAD: get_box().seal(payload)}


def _payload_out(stored: Any) -> Any:
    if isinstance(stored, dict) and set(stored) == {SEALED_PAYLOAD}:
        from chalicelib.secrets import get_box
        return get_box().unseal(stored[SEALED_PAYLOAD])
    return stored


def _row(row: dict) -> dict:
    """A row as read here: payload opened, `error` (the summary) and `last_error` (its message)."""
    row = dict(row)
    if "payload" in row:
        row["payload"] = _payload_out(row["payload"])
    row["error"] = read_error(row.get("last_error"))
    row["last_error"] = row["error"]["message"] if row["error"] else None
    return row


def _one(sql: str, **params: Any) -> dict | None:
    row = get_db().one(sql, **params)
    return None if row is None else _row(row)


def insert(type_: str, priority: str, payload: Any, max_attempts: int, idempotency_key: str | None,
           created_by: str | None) -> dict | None:
    """The new row, or None when the idempotency key is taken."""
    return _one(
        f"""INSERT INTO jobs (type, priority, payload, max_attempts, idempotency_key, created_by)
            VALUES (:type, :priority, CAST(:payload AS jsonb), :max_attempts, :key, CAST(:created_by AS uuid))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING {COLUMNS}""",
        type=type_, priority=priority, payload=_json(_payload_in(payload)), max_attempts=max_attempts,
        key=idempotency_key, created_by=created_by)


def get(job_id: str) -> dict | None:
    return _one(f"SELECT {COLUMNS} FROM jobs WHERE id = CAST(:id AS uuid)", id=job_id)


def by_idempotency_key(key: str) -> dict | None:
    return _one(f"SELECT {COLUMNS} FROM jobs WHERE idempotency_key = :key", key=key)


def list_jobs(types: Sequence[str], statuses: Sequence[str], priorities: Sequence[str], limit: int, offset: int
              ) -> tuple[list[dict], int]:
    w = (Where()
         .when(types, "type = ANY(CAST(:jtypes AS text[]))", jtypes=list(types))
         .when(statuses, "status = ANY(CAST(:statuses AS text[]))", statuses=list(statuses))
         .when(priorities, "priority = ANY(CAST(:prios AS text[]))", prios=list(priorities)))
    rows, total = get_db().page(f"SELECT {COLUMNS} FROM jobs WHERE {w.sql}", order_by="created_at DESC, id",
                                limit=limit, offset=offset, **w.params)
    return [_row(r) for r in rows], total


def claim(job_id: str, stale_after_s: int) -> dict | None:
    """queued (or running with a stale heartbeat) -> running, attempts + 1; None if not claimable."""
    return _one(
        f"""UPDATE jobs SET status = 'running', attempts = attempts + 1, heartbeat_at = NOW(),
                   started_at = COALESCE(started_at, NOW()), updated_at = NOW()
            WHERE id = CAST(:id AS uuid) AND attempts < max_attempts
              AND (status = 'queued'
                   OR (status = 'running' AND heartbeat_at < NOW() - make_interval(secs => :stale)))
            RETURNING {COLUMNS}""",
        id=job_id, stale=stale_after_s)


def report(job_id: str, progress: int | None, message: str | None) -> bool:
    """Progress and/or heartbeat; False when the job is no longer running (cancelled)."""
    return get_db().scalar(
        """UPDATE jobs SET progress = COALESCE(:progress, progress),
                   progress_message = COALESCE(:message, progress_message),
                   heartbeat_at = NOW(), updated_at = NOW()
            WHERE id = CAST(:id AS uuid) AND status = 'running' RETURNING id""",
        id=job_id, progress=progress, message=message) is not None


def succeed(job_id: str, result: Any) -> dict | None:
    return _one(
        f"""UPDATE jobs SET status = 'succeeded', result = CAST(:result AS jsonb), progress = 100,
                   last_error = NULL, finished_at = NOW(), heartbeat_at = NOW(), updated_at = NOW()
            WHERE id = CAST(:id AS uuid) AND status = 'running' RETURNING {COLUMNS}""",
        id=job_id, result=_json(result))


def fail(job_id: str, error: dict | str, final: bool) -> dict | None:
    """A failed attempt: back to queued for a retry, or failed for good.
    `error`: the summary {code, message, hint}."""
    return _one(
        f"""UPDATE jobs SET status = :status, last_error = :error, updated_at = NOW(),
                   finished_at = CASE WHEN :final THEN NOW() ELSE NULL END
            WHERE id = CAST(:id AS uuid) AND status IN ('running', 'queued') RETURNING {COLUMNS}""",
        id=job_id, status="failed" if final else "queued", error=error_text(error), final=final)


def note_error(job_id: str, error: dict | str) -> None:
    get_db().execute("UPDATE jobs SET last_error = :error, updated_at = NOW() WHERE id = CAST(:id AS uuid)",
                     id=job_id, error=error_text(error))


def cancel(job_id: str) -> dict | None:
    return _one(
        f"""UPDATE jobs SET status = 'cancelled', finished_at = NOW(), updated_at = NOW()
            WHERE id = CAST(:id AS uuid) AND status IN ('queued', 'running') RETURNING {COLUMNS}""",
        id=job_id)


def take_stuck_running(stale_after_s: int, limit: int = 500) -> list[dict]:
    """Running jobs whose heartbeat is older than the threshold: re-queued (attempts left) or failed."""
    rows = get_db().query(
        f"""UPDATE jobs j SET
                   status = CASE WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,
                   last_error = jsonb_build_object(
                       'code', 'WORKER_LOST',
                       'message', 'no heartbeat for ' || :stale || ' s (worker lost or timed out)'
                                || CASE WHEN j.attempts >= j.max_attempts THEN '; attempts exhausted'
                                        ELSE '; re-queued' END
                                || COALESCE('; previous error: ' || CASE WHEN j.last_error LIKE '{{"code"%'
                                       THEN CAST(j.last_error AS jsonb) ->> 'message'
                                       ELSE split_part(j.last_error, E'\n', 1) END, ''),
                       'hint', 'the job ran longer than its heartbeat allows, or its worker died')::text,
                   finished_at = CASE WHEN j.attempts >= j.max_attempts THEN NOW() ELSE NULL END,
                   updated_at = NOW()
            FROM (SELECT id FROM jobs WHERE status = 'running'
                    AND heartbeat_at < NOW() - make_interval(secs => :stale)
                  ORDER BY heartbeat_at LIMIT :limit FOR UPDATE SKIP LOCKED) s
            WHERE j.id = s.id RETURNING {_J_COLUMNS}""",
        stale=stale_after_s, limit=limit)
    return [_row(r) for r in rows]


def take_idle_queued(idle_after_s: int, limit: int = 500) -> list[dict]:
    """Queued jobs nobody touched for a while (lost message, failed enqueue): to be re-sent."""
    rows = get_db().query(
        f"""UPDATE jobs j SET updated_at = NOW()
            FROM (SELECT id FROM jobs WHERE status = 'queued'
                    AND updated_at < NOW() - make_interval(secs => :idle)
                  ORDER BY updated_at LIMIT :limit FOR UPDATE SKIP LOCKED) s
            WHERE j.id = s.id RETURNING {_J_COLUMNS}""",
        idle=idle_after_s, limit=limit)
    return [_row(r) for r in rows]


def requeue_failed(job_id: str) -> dict | None:
    """failed -> queued with its attempts reset (a DLQ redrive); None when the job is not failed."""
    return _one(
        f"""UPDATE jobs SET status = 'queued', attempts = 0, finished_at = NULL, heartbeat_at = NULL,
                   updated_at = NOW()
            WHERE id = CAST(:id AS uuid) AND status = 'failed' RETURNING {COLUMNS}""",
        id=job_id)
