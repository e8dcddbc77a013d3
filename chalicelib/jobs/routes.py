"""GET /api/jobs, GET /api/jobs/{job_id}, POST /api/jobs/{job_id}/cancel."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.web.api import ApiBlueprint, Ctx, Reply, page_of, uuid_param

if TYPE_CHECKING:
    from chalicelib.jobs.models import JobQuery

# The query model ("chalicelib.jobs.models:JobQuery") is imported on the first request (cold start).
bp = ApiBlueprint(__name__, tag="jobs")


@bp.api("/api/jobs", "GET", role="viewer", query="chalicelib.jobs.models:JobQuery",
        summary="List jobs (filters: type, status, priority)")
def list_jobs(ctx: Ctx):
    from chalicelib.jobs import service
    q: JobQuery = ctx.query
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
