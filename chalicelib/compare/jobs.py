"""Comparison job types (run by chalicelib.jobs on SQS or in-process),
registered when this module is imported (app.py imports it).

- `compare.redis` {request (sealed), query_mode, key_count, cluster1, cluster2}:
  a Redis comparison submitted with `async: true` (chalicelib.compare.redis.service).
- `compare.cassandra` {request (sealed), query_type, ...}: a single-table or
  sharded Cassandra comparison (chalicelib.compare.cassandra.service).
- `compare.fullrun.segment` (low priority): one slice of a whole-dataset run's
  segment (chalicelib.compare.fullrun.service).

The engines are imported only when a job runs (Lambda cold start).
"""
from __future__ import annotations

from chalicelib.jobs.registry import JobContext, register_job


@register_job("compare.redis", max_attempts=2)
def redis_compare_job(ctx: JobContext) -> dict:
    from chalicelib.compare.redis import service
    return service.redis_compare_job(ctx)


@register_job("compare.cassandra", max_attempts=2)
def cassandra_compare_job(ctx: JobContext) -> dict:
    from chalicelib.compare.cassandra import service
    return service.run_job(ctx)


@register_job("compare.fullrun.segment", priority="low")
def fullrun_segment_job(ctx: JobContext) -> dict:
    from chalicelib.compare.fullrun import service
    return service.segment_job(ctx)
