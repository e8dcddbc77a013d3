"""Every schedule of the app, as a Chalice Blueprint that app.py registers.

Function names match `.chalice/config.json` and infra/budget.py (reserved
concurrency 1 each):

- `health_check_schedule` (every 5 minutes): checks the active documents
  (chalicelib.schedules.health);
- `partition_rollover` (daily): the monthly partitions of every log table in
  `partitions.MONTHLY_TABLES` (chalicelib.schedules.partitions);
- `stuck_job_sweep` (every 5 minutes): re-queues or fails jobs whose worker
  was lost (chalicelib.jobs.sweep).

What each one runs is imported when it fires, not with app.py (cold start).
"""
from __future__ import annotations

import logging

from chalice import Blueprint, Rate

log = logging.getLogger("stepflow.schedules")
bp = Blueprint(__name__)


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def health_check_schedule(event):
    from chalicelib.schedules.health import run_health_checks
    report = run_health_checks()
    log.info("scheduled health checks: %s", report)
    return report


@bp.schedule(Rate(1, unit=Rate.DAYS))
def partition_rollover(event):
    from chalicelib.schedules.partitions import rollover_all
    report = rollover_all()
    log.info("partition rollover: %s", report)
    return report


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def stuck_job_sweep(event):
    from chalicelib.jobs.sweep import sweep_stuck_jobs
    return sweep_stuck_jobs()
