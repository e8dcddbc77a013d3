"""Health-check job types (run by chalicelib.jobs on SQS or in-process),
registered when this module is imported (app.py imports it).

- `health_checks.run` {document_ids?, check_type?}: the async bulk run
  (POST /api/health-checks/run with async: true).

chalicelib.schedules.health (outbound HTTP, threads) is imported when the
job runs, not with app.py (Lambda cold start).
"""
from __future__ import annotations

from chalicelib.jobs.registry import JobContext, register_job


@register_job("health_checks.run")
def health_checks_job(ctx: JobContext) -> dict:
    from chalicelib.schedules import health
    return health.health_checks_job(ctx)
