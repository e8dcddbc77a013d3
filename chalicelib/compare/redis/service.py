"""Running a Redis comparison for the API: config groups, query logs,
history, and async jobs (`compare.redis`).

Job payloads hold the request sealed (it contains passwords); the job
result holds the history id and the summary (the full results live in the
history record; with save_history false, in the job result).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from chalicelib.errors import AppError, ValidationError, field_error, field_errors, retryable
from chalicelib.jobs import JobContext, PermanentJobError, submit_job

from ..runs import ComparisonRun
from .config import RedisCompareRequest

JOB_TYPE = "compare.redis"


def resolve_request(body: dict) -> RedisCompareRequest:
    """Validate a request body, filling it from its config group when it names one."""
    from chalicelib.validation import validate

    data = dict(body)
    gid = data.get("config_group_id")
    if gid is not None:
        from .. import config_groups
        try:
            gid = int(gid)
        except (TypeError, ValueError):
            raise ValidationError("config_group_id must be an integer",
                                  field_errors(field_error(["body", "config_group_id"],
                                                           "not an integer", "int_parsing"))) from None
        group = config_groups.get_for_use(gid, expected_type="redis")
        data.setdefault("cluster1_config", group["pro_config"])
        data.setdefault("cluster2_config", group["test_config"])
        for k, v in (group.get("query_config") or {}).items():
            if k not in ("cluster1_config", "cluster2_config", "config_group_id"):
                data.setdefault(k, v)
        if data.get("cluster1_config") is None:
            data["cluster1_config"] = group["pro_config"]
        if data.get("cluster2_config") is None:
            data["cluster2_config"] = group["test_config"]
    req = validate(RedisCompareRequest, data, "body")
    req.sides()
    if req.query_mode == "specified" and not req.keys:
        raise ValidationError("keys must not be empty when query_mode is 'specified'",
                              field_errors(field_error(["body", "keys"], "empty", "too_short")))
    return req


def _query_config(req: RedisCompareRequest) -> dict:
    cfg = req.options().model_dump()
    cfg["query_mode"] = req.query_mode
    if req.query_mode == "sample":
        cfg["sample_config"] = req.sample_config.model_dump()
    return cfg


def execute(req: RedisCompareRequest, *, progress: Optional[Callable[[int, int, str], None]] = None,
            created_by: str | None = None, job_id: str | None = None) -> dict:
    """Run the comparison, writing query logs (always) and history (unless save_history false)."""
    from .engine import compare_redis

    c1, c2 = req.sides()
    run = ComparisonRun("redis", log_query_type="redis", name=req.name, description=req.description,
                        save_history=req.save_history, created_by=created_by, job_id=job_id,
                        config_group_id=req.config_group_id,
                        secrets=[c1.password_value(), c2.password_value()])
    with run:
        answer = compare_redis(req, progress=progress, log=run)
        keys = req.keys if req.query_mode == "specified" else []
        run.finish(answer, pro_config=c1.public(), test_config=c2.public(), query_config=_query_config(req),
                   query_keys=keys, execution_time=answer["performance_summary"]["total_execution_time"],
                   name=req.name or f"Redis {c1.name} vs {c2.name}")
    return answer


def submit(req: RedisCompareRequest, body: dict, created_by: str | None = None) -> dict:
    """Queue the comparison as a job; the payload keeps the request sealed."""
    return submit_job(JOB_TYPE, job_payload(req), priority=req.priority or "default", created_by=created_by)


def job_payload(req: RedisCompareRequest) -> dict:
    """The job payload of an async comparison: the request sealed, a summary in clear."""
    from chalicelib.secrets import get_box

    c1, c2 = req.sides()
    full = req.model_dump(mode="json", by_alias=True)
    full["cluster1_config"]["password"] = c1.password_value()
    full["cluster2_config"]["password"] = c2.password_value()
    full["async"] = False
    payload = {
        "request": get_box().seal(full),
        "query_mode": req.query_mode,
        "key_count": len(req.keys),
        "cluster1": c1.name,
        "cluster2": c2.name,
    }
    return payload


def job_progress(ctx: JobContext) -> Callable[[int, int, str], None]:
    def report(done: int, total: int, stage: str) -> None:
        if stage == "connecting":
            ctx.progress(1, "connecting")
        elif stage == "done":
            ctx.progress(99, f"compared {total} keys; saving results")
        elif stage == "comparing":
            pct = 5 + int(85 * done / total) if total else 90
            ctx.progress(pct, f"compared {done} of {total} keys")
        else:
            ctx.progress(92, stage)
    return report


def redis_compare_job(ctx: JobContext) -> dict:
    """The `compare.redis` job (registered by chalicelib.compare.jobs, which
    imports this module only when a job runs)."""
    from chalicelib.secrets import get_box

    body = get_box().unseal(ctx.payload["request"])
    try:
        req = RedisCompareRequest.model_validate(body)
        from ..core import deadline
        answer = execute(req, progress=deadline.job_progress(req, job_progress(ctx)), job_id=ctx.job_id)
    except AppError as exc:
        if retryable(exc):  # a side unreachable, a timeout: a later attempt may work
            raise
        raise PermanentJobError(f"{exc.code}: {exc.message}") from exc
    result: dict[str, Any] = {
        "history_id": answer.get("history_id"),
        "batch_id": answer.get("batch_id"),
        "total_keys": answer["total_keys"],
        "differences_count": answer["differences_count"],
        "identical_count": answer["identical_count"],
        "summary": answer["summary"],
        "performance_summary": answer["performance_summary"],
    }
    if answer.get("history_id") is None:
        result["results"] = answer
    return result
