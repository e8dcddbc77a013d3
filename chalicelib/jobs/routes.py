"""GET /api/jobs, GET /api/jobs/{job_id}, POST /api/jobs/{job_id}/cancel, and
`submit_for_request`: what every route that can run as a job answers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.errors import ValidationError, field_error, field_errors
from chalicelib.web.api import ApiBlueprint, Ctx, LazyModels, Reply, page_of, uuid_param

if TYPE_CHECKING:
    from chalicelib.jobs import models
else:  # imported on the first request that needs them (cold start)
    models = LazyModels("chalicelib.jobs.models")

bp = ApiBlueprint(__name__, tag="jobs")


IDEMPOTENCY_HEADER = "Idempotency-Key"


def submit_for_request(ctx: Ctx, type: str, payload: Any, priority: str | None, message: str) -> Reply:
    """What an async route answers: the job (202), submitted at `priority` and,
    with an `Idempotency-Key` header, once per key and caller: a second
    submit with the same key answers the first job (202 again, with its current state)."""
    from chalicelib.jobs.service import MAX_IDEMPOTENCY_KEY, submit
    created_by = getattr(ctx.principal, "key_id", None)
    key = (ctx.headers.get(IDEMPOTENCY_HEADER) or "").strip() or None
    scoped = None
    if key is not None:
        if len(key) > MAX_IDEMPOTENCY_KEY - 40 or not key.isprintable():
            raise ValidationError(f"the {IDEMPOTENCY_HEADER} header must be 1-{MAX_IDEMPOTENCY_KEY - 40} "
                                  "printable characters",
                                  field_errors(field_error(["header", IDEMPOTENCY_HEADER], "invalid key", "string")))
        scoped = f"{created_by or 'public'}:{key}"
    job, created = submit(type, payload, priority, scoped, created_by=created_by)
    if not created:
        return Reply(job, f"a job was already submitted with this {IDEMPOTENCY_HEADER}: it is answered again", 202)
    return Reply(job, message, 202)


@bp.api("/api/jobs", "GET", role="viewer", query=models.JobQuery,
        summary="List jobs (filters: type, status, priority)")
def list_jobs(ctx: Ctx):
    from chalicelib.jobs import service
    q: models.JobQuery = ctx.query
    items, total = service.list_jobs(q.type, q.status, q.priority, q.limit, q.offset)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/jobs/{job_id}", "GET", role="viewer", summary="A job: status, progress, result, last error")
def get_job(ctx: Ctx, job_id: str):
    from chalicelib.jobs import service
    return service.get_job(uuid_param(job_id, "job_id"))


@bp.api("/api/jobs/{job_id}/cancel", "POST", role="operator",
        summary="Cancel a queued or running job (409 when it already finished)")
def cancel_job(ctx: Ctx, job_id: str):
    from chalicelib.jobs import service
    return Reply(service.cancel_job(uuid_param(job_id, "job_id")), "job cancelled")
