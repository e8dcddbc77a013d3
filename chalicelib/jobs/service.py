"""submit / get / list / cancel: what the routes and the other domains call.

What an async route answers (`submit_for_request`, the job as a 202 with
the Idempotency-Key header honoured) is request handling: it lives in
chalicelib.jobs.routes."""
from __future__ import annotations

import logging
from typing import Any, Sequence

from chalicelib.errors import Conflict, NotFound, ValidationError, field_error, field_errors, invalid_input
from chalicelib.jobs import store
from chalicelib.jobs.registry import PRIORITIES, require_job_type
from chalicelib.secrets import mask_config

log = logging.getLogger("stepflow.jobs")
MAX_IDEMPOTENCY_KEY = 255


def public(row: dict) -> dict:
    """The API shape of a job row (payload secrets masked)."""
    out = dict(row)
    out["payload"] = mask_config(row.get("payload"))
    return out


def submit_job(type: str, payload: Any = None, priority: str | None = None, idempotency_key: str | None = None,
               *, max_attempts: int | None = None, created_by: str | None = None) -> dict:
    """Record a job and enqueue it; returns the job (status "queued").

    With an `idempotency_key` already used, returns that job instead of a new
    one (409 if it was submitted for another type). Call it outside a
    transaction: the worker must see the committed row (it re-delivers
    otherwise, but later)."""
    return submit(type, payload, priority, idempotency_key, max_attempts=max_attempts, created_by=created_by)[0]


def submit(type: str, payload: Any = None, priority: str | None = None, idempotency_key: str | None = None,
           *, max_attempts: int | None = None, created_by: str | None = None) -> tuple[dict, bool]:
    """submit_job, and whether this call created the job (False: the key's earlier job)."""
    jt = require_job_type(type)
    priority = priority or jt.default_priority
    if priority not in PRIORITIES:
        raise ValidationError(f"priority must be one of {', '.join(PRIORITIES)}",
                              field_errors(field_error(["priority"], f"got {priority!r}", "enum")))
    if idempotency_key is not None and not (0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY):
        raise invalid_input(["idempotency_key"], f"idempotency_key must be 1-{MAX_IDEMPOTENCY_KEY} characters",
                            "string_length")
    attempts = jt.max_attempts if max_attempts is None else max_attempts
    if not 1 <= attempts <= jt.max_attempts:
        raise invalid_input(["max_attempts"], f"max_attempts must be between 1 and {jt.max_attempts} for {type}",
                            "range")
    row = store.insert(type, priority, {} if payload is None else payload, attempts, idempotency_key, created_by)
    if row is None and idempotency_key is not None:
        existing = store.by_idempotency_key(idempotency_key)
        if existing is None:  # deleted in between: extremely unlikely; try once more
            row = store.insert(type, priority, payload, attempts, idempotency_key, created_by)
        elif existing["type"] != type:
            raise Conflict(f"idempotency_key was used for a {existing['type']} job",
                           {"job_id": str(existing["id"])})
        else:
            return public(existing), False
    if row is None:
        raise Conflict("idempotency_key is being used by another submit right now; send the request again",
                       {"idempotency_key": idempotency_key})
    _enqueue(row)
    return public(store.get(str(row["id"])) or row), True


def _enqueue(row: dict) -> None:
    from chalicelib.jobs.queue import get_queue
    try:
        get_queue().send(row["priority"], str(row["id"]), row["type"])
    except Exception as exc:  # noqa: BLE001 - the sweep re-sends queued jobs nobody picked up
        log.exception("could not enqueue job %s", row["id"])
        store.note_error(str(row["id"]), f"enqueue failed (the stuck-job sweep re-sends it): {exc}")


def get_job(job_id: str) -> dict:
    row = store.get(job_id)
    if row is None:
        raise NotFound(f"job {job_id} not found")
    return public(row)


def list_jobs(types: Sequence[str] = (), statuses: Sequence[str] = (), priorities: Sequence[str] = (),
              limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    rows, total = store.list_jobs(types, statuses, priorities, limit, offset)
    return [public(r) for r in rows], total


def cancel_job(job_id: str) -> dict:
    """queued/running -> cancelled. A running handler stops at its next progress() call."""
    row = store.cancel(job_id)
    if row is not None:
        return public(row)
    current = store.get(job_id)
    if current is None:
        raise NotFound(f"job {job_id} not found")
    raise Conflict(f"job {job_id} is already {current['status']}", {"status": current["status"]})
