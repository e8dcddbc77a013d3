"""POST /api/query (one table) and POST /api/sharding-query (sharded tables), seed 003 2.1.

`async: true` answers 202 with a job (GET /api/jobs/{id} shows progress and
the result). The job type "compare.cassandra" is registered by
chalicelib.compare.jobs (app.py imports it), so any process that imports
app.py can run it. cassandra-driver is imported only when a comparison runs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.web.api import ApiBlueprint, Ctx, LazyModels, Reply

# The request models (pydantic) are imported on the first request (Lambda cold start).
if TYPE_CHECKING:
    from chalicelib.compare.cassandra import config as models
else:
    models = LazyModels("chalicelib.compare.cassandra.config")

bp = ApiBlueprint(__name__, tag="compare")


def _run(ctx: Ctx, query_type: str):
    from chalicelib.compare.core import deadline

    from . import service
    req = ctx.body
    created_by = ctx.principal.key_id if ctx.principal else None
    if req.async_:
        from chalicelib.jobs.routes import submit_for_request
        return submit_for_request(ctx, service.JOB_TYPE, service.job_payload(req, query_type, created_by),
                                  req.priority, "comparison queued as a job")
    answer = service.run_request(req, query_type, created_by=created_by, progress=deadline.sync_progress(req))
    message = "sharded query comparison finished" if query_type == "sharding" else "query comparison finished"
    return Reply(answer, message)


@bp.api("/api/query", "POST", role="operator", body=models.QueryRequest, errors=(408,),
        summary="Compare one Cassandra table between production and test")
def cassandra_query(ctx: Ctx):
    return _run(ctx, "single")


@bp.api("/api/sharding-query", "POST", role="operator", body=models.ShardingQueryRequest, errors=(408,),
        summary="Compare sharded Cassandra tables (<table>_<n>, shard from the key's timestamp)")
def cassandra_sharding_query(ctx: Ctx):
    return _run(ctx, "sharding")
