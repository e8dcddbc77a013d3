"""Health-check routes: run one now, page a document's history, bulk run (sync or async job)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.web.api import ApiBlueprint, Ctx, LazyModels, Reply, page_of, uuid_param

if TYPE_CHECKING:
    from chalicelib.schedules import models
else:  # imported on the first request that needs them (cold start)
    models = LazyModels("chalicelib.schedules.models")

bp = ApiBlueprint(__name__, tag="health-checks")


@bp.api("/api/documents/{document_id}/health-check", "POST", role="operator",
        body=models.CheckNow,
        summary="Check one document now (check_type connectivity, endpoint or full) and record the result")
def check_now(ctx: Ctx, document_id: str):
    from chalicelib.schedules import health
    return Reply(health.check_one_now(uuid_param(document_id, "document_id"), ctx.body.check_type),
                 "health check recorded")


@bp.api("/api/documents/{document_id}/health-checks", "GET", role="viewer",
        query=models.CheckQuery,
        summary="A document's health-check history, newest first")
def list_checks(ctx: Ctx, document_id: str):
    from chalicelib.schedules import health
    q: models.CheckQuery = ctx.query
    items, total = health.list_checks(uuid_param(document_id, "document_id"), q.status, q.limit, q.offset)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/health-checks/run", "POST", role="operator", body=models.BulkRun,
        summary="Check all active documents (or the given ones); async: true answers 202 with a job")
def run_bulk(ctx: Ctx):
    from chalicelib.schedules import health
    b: models.BulkRun = ctx.body
    ids = [uuid_param(i, "document_ids") for i in b.document_ids] if b.document_ids is not None else None
    if b.async_:
        from chalicelib.jobs.routes import submit_for_request
        return submit_for_request(ctx, "health_checks.run", {"document_ids": ids, "check_type": b.check_type},
                                  b.priority, "health checks queued")
    return health.run_health_checks(ids, deadline_s=health.API_DEADLINE_S, check_type=b.check_type)
