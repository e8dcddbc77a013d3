"""Comparison routes (seed 003 paths): Redis compare, config groups, default
config, query history, query logs. The Cassandra routes live in
chalicelib/compare/cassandra (their own blueprint).

Roles (seed 003 RBAC): viewer reads, operator runs comparisons and writes,
admin deletes (config groups, history, logs).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.errors import ValidationError, field_error, field_errors
from chalicelib.web.api import ApiBlueprint, Ctx, LazyModels, Reply, int_param, page_of, parse_json_body

# The services (database, secrets, the Redis engine) are imported inside the
# views, and the request models on the first request, not with app.py (Lambda
# cold start).
if TYPE_CHECKING:
    from chalicelib.compare import models
    from chalicelib.compare.redis import config as redis_models
else:
    models = LazyModels("chalicelib.compare.models")
    redis_models = LazyModels("chalicelib.compare.redis.config")

bp = ApiBlueprint(__name__, tag="compare")


GROUP = {"group_id": "int"}
HISTORY = {"history_id": "int"}


# ---------------------------------------------------------------- Redis


@bp.api("/api/redis/compare", "POST", role="operator", body=redis_models.RedisCompareRequest, errors=(408,),
        summary="Compare keys between two Redis environments (standalone or cluster)")
def redis_compare(ctx: Ctx):
    from .core import deadline
    from .redis import service as redis_service
    raw = parse_json_body(ctx.request) or {}
    req = redis_service.resolve_request(raw)
    by = ctx.principal.key_id if ctx.principal else None
    if req.async_:
        from chalicelib.jobs.routes import submit_for_request
        reply = submit_for_request(ctx, redis_service.JOB_TYPE, redis_service.job_payload(req), req.priority,
                                   "Redis comparison queued")
        job = reply.data
        return Reply({"job_id": str(job["id"]), "status": job["status"], "job": job}, reply.message, 202)
    answer = redis_service.execute(req, created_by=by, progress=deadline.sync_progress(req))
    return Reply(answer, "Redis comparison completed")


# ---------------------------------------------------------------- config


DEFAULT_CONFIG = {
    "pro_config": {"cluster_name": "production-cluster", "datacenter": "datacenter1", "hosts": ["127.0.0.1"],
                   "port": 9042, "username": "", "password": "", "keyspace": "production_ks",
                   "table": "table_name"},
    "test_config": {"cluster_name": "test-cluster", "datacenter": "datacenter1", "hosts": ["127.0.0.1"],
                    "port": 9042, "username": "", "password": "", "keyspace": "test_ks", "table": "table_name"},
    "redis": {
        "cluster1_config": {"name": "production", "nodes": [{"host": "127.0.0.1", "port": 6379}],
                            "password": None, "username": None, "db": 0, "ssl": False, "socket_timeout": 3,
                            "socket_connect_timeout": 3, "max_connections_per_node": 16},
        "cluster2_config": {"name": "test", "nodes": [{"host": "127.0.0.1", "port": 6380}],
                            "password": None, "username": None, "db": 0, "ssl": False, "socket_timeout": 3,
                            "socket_connect_timeout": 3, "max_connections_per_node": 16},
        "query_mode": "specified",
        "sample_config": {"count": 100, "pattern": "*", "source_cluster": "cluster1"},
        "compare_ttl": False, "ttl_tolerance_seconds": 2.0, "recheck_rounds": 1, "batch_size": 500,
    },
}


@bp.api("/api/default-config", "GET", role="viewer", summary="Default comparison configuration")
def default_config(ctx: Ctx):
    import copy
    return Reply(copy.deepcopy(DEFAULT_CONFIG), "default configuration")


@bp.api("/api/config-groups", "POST", role="operator", body=models.ConfigGroupBody, status=201,
        summary="Create a config group (secrets stored encrypted)")
def create_config_group(ctx: Ctx):
    from . import config_groups
    row = config_groups.create(ctx.body.model_dump(exclude_unset=True),
                               created_by=ctx.principal.key_id if ctx.principal else None)
    return Reply({"id": row["id"], "name": row["name"], "group_type": row["group_type"],
                  "created_at": row["created_at"]}, "config group created", 201)


@bp.api("/api/config-groups", "GET", role="viewer", query=models.ConfigGroupQuery,
        summary="List config groups")
def list_config_groups(ctx: Ctx):
    from . import config_groups
    q = ctx.query
    items, total = config_groups.list_groups(q.limit, q.offset, q.group_type)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/config-groups/{group_id}", "GET", path=GROUP, role="viewer", summary="A config group (secrets masked)")
def get_config_group(ctx: Ctx, group_id: str):
    from . import config_groups
    return config_groups.public(config_groups.get_row(int_param(group_id, "group_id")))


@bp.api("/api/config-groups/{group_id}", "PUT", path=GROUP, role="operator", body=models.ConfigGroupUpdate,
        summary="Update a config group (a masked secret keeps its stored value)")
def update_config_group(ctx: Ctx, group_id: str):
    from . import config_groups
    gid = int_param(group_id, "group_id")
    row = config_groups.update(gid, ctx.body.model_dump(exclude_unset=True))
    return Reply(config_groups.public(row), "config group updated")


@bp.api("/api/config-groups/{group_id}", "DELETE", path=GROUP, role="admin", summary="Delete a config group")
def delete_config_group(ctx: Ctx, group_id: str):
    from . import config_groups
    config_groups.delete(int_param(group_id, "group_id"))
    return Reply(None, "config group deleted")


# ---------------------------------------------------------------- history


@bp.api("/api/query-history", "GET", role="viewer", query=models.HistoryQuery,
        summary="List query history")
def list_history(ctx: Ctx):
    from . import history
    q = ctx.query
    items, total = history.list_history(q.limit, q.offset, q.query_type)
    return page_of(items, total, q.limit, q.offset)


@bp.api("/api/query-history", "POST", role="operator", body=models.HistoryBody, status=201,
        summary="Save a query history record (configs stored masked)")
def save_history(ctx: Ctx):
    from . import history
    b: models.HistoryBody = ctx.body
    rs = dict(b.results_summary)
    for k in ("total_keys", "differences_count", "identical_count"):
        v = rs.get(k, (b.raw_results or {}).get(k))
        try:
            rs[k] = max(0, int(v or 0))
        except (TypeError, ValueError):
            raise ValidationError(f"results_summary.{k} must be an integer",
                                  field_errors(field_error(["body", "results_summary", k],
                                                           "not an integer", "int_parsing"))) from None
    row = history.save(name=b.name, description=b.description, query_type=b.query_type,
                       pro_config=b.pro_config, test_config=b.test_config, query_config=b.query_config,
                       query_keys=b.query_keys, results_summary=rs, execution_time=b.execution_time,
                       sharding_config=b.sharding_config, raw_results=b.raw_results,
                       config_group_id=b.config_group_id,
                       created_by=ctx.principal.key_id if ctx.principal else None)
    return Reply({"id": row["id"], "name": row["name"], "created_at": row["created_at"]},
                 "query history saved", 201)


@bp.api("/api/query-history/{history_id}", "GET", path=HISTORY, role="viewer", summary="A query history record")
def get_history(ctx: Ctx, history_id: str):
    from . import history
    return history.get(int_param(history_id, "history_id"))


@bp.api("/api/query-history/{history_id}/results", "GET", path=HISTORY, role="viewer",
        summary="The full results of a query history record")
def get_history_results(ctx: Ctx, history_id: str):
    from . import history
    return history.results(int_param(history_id, "history_id"))


@bp.api("/api/query-history/{history_id}", "DELETE", path=HISTORY, role="admin",
        summary="Delete a query history record and its logs")
def delete_history(ctx: Ctx, history_id: str):
    from . import history
    return Reply(history.delete(int_param(history_id, "history_id")), "query history deleted")


# ---------------------------------------------------------------- logs


@bp.api("/api/query-logs", "GET", role="viewer", query=models.LogsQuery,
        summary="Query logs, newest first")
def list_logs(ctx: Ctx):
    from . import query_logs
    q = ctx.query
    logs, total = query_logs.list_logs(q.limit, q.offset, q.level, q.history_id, q.batch_id)
    return {"logs": logs, "total": total, "has_more": q.offset + len(logs) < total}


@bp.api("/api/query-logs/history/{history_id}", "GET", path=HISTORY, role="viewer",
        summary="The logs of one history record with a summary")
def history_logs(ctx: Ctx, history_id: str):
    from . import history, query_logs
    hid = int_param(history_id, "history_id")
    history.get(hid)
    return query_logs.for_history(hid)


@bp.api("/api/query-logs", "DELETE", role="admin", query=models.LogsDeleteQuery,
        summary="Delete query logs")
def delete_logs(ctx: Ctx):
    from . import query_logs
    q = ctx.query
    before = q.before   # an ISO timestamp (the model refuses anything else)
    n = query_logs.delete_logs(q.history_id, before)
    return Reply({"deleted_count": n}, "query logs deleted")
