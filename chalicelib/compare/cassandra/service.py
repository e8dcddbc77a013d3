"""Running a Cassandra comparison: from a validated request to an answer.

    answer = run_request(req, "single" | "sharding", created_by=...)   # synchronous
    job = submit_request(req, "single" | "sharding", created_by=...)   # async: a job

Both resolve the configs (inline or from a config group), run the engine,
and record query logs and (unless save_history is false) a history record.
The job payload holds the request sealed (encrypted): passwords are never
stored in clear, and answers/logs/history only ever show masked configs.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from chalicelib.errors import AppError, ValidationError, field_error, field_errors

from .config import CassandraConfig, QueryRequest, ShardingConfig, ShardingQueryRequest

JOB_TYPE = "compare.cassandra"
LOG_QUERY_TYPES = {"single": "cassandra_single", "sharding": "cassandra_sharding"}


def _config(data: Any, where: str) -> CassandraConfig:
    from chalicelib.validation import validate
    return validate(CassandraConfig, data, where)


def build_plan(req: QueryRequest, query_type: str):
    """(ComparePlan, public description) with configs resolved from the request or its config group."""
    from .engine import ComparePlan

    pro, test = req.pro_config, req.test_config
    keys, fields, exclude = list(req.keys), list(req.fields_to_compare), list(req.exclude_fields)
    sharding: Optional[ShardingConfig] = getattr(req, "sharding_config", None)
    if req.config_group_id is not None:
        from chalicelib.compare.config_groups import get_for_use
        group = get_for_use(_group_id(req.config_group_id), "cassandra")
        pro = pro or _config(group.get("pro_config") or {}, "config_group.pro_config")
        test = test or _config(group.get("test_config") or {}, "config_group.test_config")
        query_cfg = group.get("query_config") or {}
        keys = keys or list(query_cfg.get("keys") or [])
        fields = fields or list(query_cfg.get("fields_to_compare") or [])
        exclude = exclude or list(query_cfg.get("exclude_fields") or [])
        if query_type == "sharding" and sharding is None and group.get("sharding_config"):
            from chalicelib.validation import validate
            sharding = validate(ShardingConfig, group["sharding_config"], "config_group.sharding_config")
    if not keys:
        raise ValidationError("keys is required: the key column name(s) of the table",
                              field_errors(field_error(["body", "keys"], "Field required", "missing")))
    if pro is None or test is None:
        missing = "pro_config" if pro is None else "test_config"
        raise ValidationError(f"{missing} is required: give it or a config group that holds it",
                              field_errors(field_error(["body", missing], "Field required", "missing")))
    if query_type == "sharding" and sharding is None:
        sharding = ShardingConfig.model_validate({})
    plan = ComparePlan(pro=pro, test=test, keys=keys, values=list(req.values), fields_to_compare=fields,
                       exclude_fields=exclude, sharding=sharding if query_type == "sharding" else None,
                       batch_size=req.batch_size, concurrency=req.concurrency, max_raw_rows=req.max_raw_rows,
                       compare_mode=req.compare_mode, recheck_rounds=req.recheck_rounds,
                       recheck_delay_seconds=req.recheck_delay_seconds, max_listed=req.max_listed)
    return plan


def _group_id(value: Any) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise ValidationError(f"config_group_id must be an integer id, got {value!r}",
                          field_errors(field_error(["body", "config_group_id"], "not an id", "int_parsing")))


def run_request(req: QueryRequest, query_type: str, *, created_by: str | None = None,
                job_id: str | None = None, progress=None) -> dict:
    """Run one comparison; query logs and history go through the comparison core's ComparisonRun."""
    from chalicelib.compare.runs import ComparisonRun

    from .engine import compare_cassandra

    group_id = req.config_group_id
    run = ComparisonRun(query_type, log_query_type=LOG_QUERY_TYPES[query_type], name=req.name,
                        description=req.description, save_history=req.save_history, created_by=created_by,
                        job_id=job_id,
                        config_group_id=int(group_id) if group_id is not None and str(group_id).isdigit() else None,
                        secrets=[c.secret() for c in (req.pro_config, req.test_config) if c is not None])
    with run:
        plan = build_plan(req, query_type)
        run.add_secrets(plan.pro.secret(), plan.test.secret())
        answer = compare_cassandra(plan, progress=progress, log=run)
        run.finish(answer, pro_config=plan.pro.public(), test_config=plan.test.public(),
                   query_config={"keys": plan.keys, "fields_to_compare": plan.fields_to_compare,
                                 "exclude_fields": plan.exclude_fields, "compare_mode": plan.compare_mode,
                                 "recheck_rounds": plan.recheck_rounds},
                   query_keys=plan.values, sharding_config=plan.sharding.model_dump() if plan.sharding else None,
                   execution_time=answer["execution_time"], name=req.name or _default_name(plan, query_type))
    return answer


def _default_name(plan, query_type: str) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    kind = "sharded " if query_type == "sharding" else ""
    return f"Cassandra {kind}comparison {plan.pro.keyspace}.{plan.pro.table} vs " \
           f"{plan.test.keyspace}.{plan.test.table} {stamp}"


# ---------------------------------------------------------------- async (jobs)

def submit_request(req: QueryRequest, query_type: str, *, created_by: str | None = None) -> dict:
    from chalicelib.jobs import submit_job
    return submit_job(JOB_TYPE, job_payload(req, query_type, created_by), priority=req.priority or "default",
                      created_by=created_by)


def job_payload(req: QueryRequest, query_type: str, created_by: str | None = None) -> dict:
    """The job payload of an async comparison: the request sealed, a summary in clear."""
    from chalicelib.secrets import get_box

    body = req.model_dump(mode="python", by_alias=True)
    for side in ("pro_config", "test_config"):
        cfg = getattr(req, side)
        if cfg is not None:
            body[side] = {**cfg.model_dump(mode="json"), "password": cfg.secret()}
    body["async"] = False
    if body.get("sharding_config") is not None:
        body["sharding_config"] = dict(body["sharding_config"])
    payload = {"query_type": query_type, "request": get_box().seal(body), "created_by": created_by,
               "summary": {"keys": len(req.values), "pro": _where(req.pro_config), "test": _where(req.test_config),
                           "config_group_id": req.config_group_id}}
    return payload


def _where(cfg: CassandraConfig | None) -> str | None:
    return f"{cfg.keyspace}.{cfg.table}" if cfg is not None else None


def run_job(ctx) -> dict:
    """The job handler: unseal, validate, run with progress."""
    from chalicelib.errors import retryable
    from chalicelib.jobs import PermanentJobError
    from chalicelib.secrets import get_box

    query_type = ctx.payload.get("query_type", "single")
    body = get_box().unseal(ctx.payload["request"])
    model = ShardingQueryRequest if query_type == "sharding" else QueryRequest
    try:
        req = model.model_validate(body)
    except Exception as exc:  # noqa: BLE001 - a stored payload that no longer validates
        raise PermanentJobError(f"invalid stored request: {exc}") from None

    def progress(done: int, total: int, stage: str) -> None:
        share = {"connecting": (0, 5), "fetching": (5, 85), "comparing": (85, 98), "done": (100, 100)}
        low, high = share.get(stage, (0, 100))
        pct = low + (high - low) * (done / total if total else 1)
        ctx.progress(pct, stage)

    try:
        from chalicelib.compare.core import deadline
        return run_request(req, query_type, created_by=ctx.payload.get("created_by"), job_id=ctx.job_id,
                           progress=deadline.job_progress(req, progress))
    except AppError as exc:
        if retryable(exc):  # unreachable, not enough replicas, timed out: may work on a later attempt
            raise
        raise PermanentJobError(f"{exc.code}: {exc.message}") from exc
