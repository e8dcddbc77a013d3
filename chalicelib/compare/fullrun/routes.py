"""Routes of whole-dataset comparison runs, and their segment job type.

    POST /api/compare-runs                      operator: start a run (202)
    GET  /api/compare-runs                      viewer: list (state, engine)
    GET  /api/compare-runs/{run_id}             viewer: state, progress, rate, ETA, segments, summary
    POST /api/compare-runs/{run_id}/cancel      operator
    POST /api/compare-runs/{run_id}/resume      operator: re-runs unfinished and failed segments
    GET  /api/compare-runs/{run_id}/differences viewer: paged, difference_type filter
    GET  /api/compare-runs/{run_id}/export      viewer: csv | jsonl pages (X-Next-After / Link)

Nothing heavy is imported here (Lambda cold start): services and models
load on the first request or job.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.web.api import ApiBlueprint, Ctx, LazyModels, Reply, page_of, uuid_param

if TYPE_CHECKING:
    from chalicelib.compare.fullrun import models
else:  # imported on the first request that needs them (cold start)
    models = LazyModels("chalicelib.compare.fullrun.models")

bp = ApiBlueprint(__name__, tag="compare-runs")


def _by(ctx: Ctx) -> str | None:
    return ctx.principal.key_id if ctx.principal else None


@bp.api("/api/compare-runs", "POST", role="operator", body=models.CreateRun, status=202,
        summary="Start a whole-dataset comparison run (segments on the job queues)")
def create_run(ctx: Ctx):
    from . import service
    return Reply(service.create(ctx.body, created_by=_by(ctx)), "compare run started", 202)


@bp.api("/api/compare-runs", "GET", role="viewer", query=models.RunsQuery, summary="List compare runs")
def list_runs(ctx: Ctx):
    from . import service
    q = ctx.query
    items, total = service.list_runs(q.limit, q.offset, q.state, q.engine)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/compare-runs/{run_id}", "GET", role="viewer", summary="A compare run with its progress")
def get_run(ctx: Ctx, run_id: str):
    from . import service
    return service.view(uuid_param(run_id, "run_id"))


@bp.api("/api/compare-runs/{run_id}/cancel", "POST", role="operator", summary="Cancel a compare run")
def cancel_run(ctx: Ctx, run_id: str):
    from . import service
    return Reply(service.cancel(uuid_param(run_id, "run_id")), "compare run cancelled")


@bp.api("/api/compare-runs/{run_id}/resume", "POST", role="operator",
        summary="Resume a paused, cancelled or failed compare run")
def resume_run(ctx: Ctx, run_id: str):
    from . import service
    return Reply(service.resume(uuid_param(run_id, "run_id"), created_by=_by(ctx)), "compare run resumed")


@bp.api("/api/compare-runs/{run_id}/differences", "GET", role="viewer", query=models.DifferencesQuery,
        export="/api/compare-runs/{run_id}/export", summary="Differences found by a compare run (paged)")
def run_differences(ctx: Ctx, run_id: str):
    from . import journal, service
    rid = uuid_param(run_id, "run_id")
    service.view(rid, segments=False)
    q = ctx.query
    items, total = journal.differences(rid, q.limit, q.offset, q.difference_type)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/compare-runs/{run_id}/export", "GET", role="viewer", query=models.ExportQuery, raw_response=True,
        summary="Every difference of a run as CSV or JSON Lines, page by page")
def export_run(ctx: Ctx, run_id: str):
    from chalice import Response

    from chalicelib.errors import NotFound

    from . import export, journal
    rid = uuid_param(run_id, "run_id")
    if journal.get_run(rid) is None:
        raise NotFound(f"compare run {rid} not found")
    q = ctx.query
    body, nxt = export.page(rid, q.format, q.after, q.limit, q.difference_type)
    headers: dict[str, str | list[str]] = {"Content-Type": export.MEDIA[q.format],
               "Content-Disposition": f'attachment; filename="compare-run-{rid}.{q.format}"'}
    if nxt is not None:
        headers["X-Next-After"] = str(nxt)
        dtype = f"&difference_type={q.difference_type}" if q.difference_type else ""
        headers["Link"] = (f'</api/compare-runs/{rid}/export?format={q.format}&limit={q.limit}'
                           f'&after={nxt}{dtype}>; rel="next"')
    return Response(body=body, status_code=200, headers=headers)
