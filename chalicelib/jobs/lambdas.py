"""The Lambda entry points of issue 5, as a Chalice Blueprint that app.py
registers: three SQS consumers (one per priority queue) and three schedules.

Function names match `.chalice/config.json` (`jobs_critical`, ...; timeouts
900 s / 300 s) and infra/resources.yaml (queue visibility 5400 s = 6 x 900 s,
maxReceiveCount 5). Queue names come from settings (QUEUE_NAME_PREFIX, set per
stage in the config) when app.py is imported: `<prefix>-critical|default|low`.

batch_size=1: a job may run for minutes, and a batch-mate would wait for it.
The handler is still correct for larger batches (it deletes what succeeded
and fails the invocation for the rest; see chalicelib.jobs.dispatcher).
"""
from __future__ import annotations

import logging

from chalice import Blueprint, Rate

from chalicelib.settings import get_settings

log = logging.getLogger("stepflow.jobs")
bp = Blueprint(__name__)
_prefix = get_settings().queue_name_prefix
BATCH_SIZE = 1


@bp.on_sqs_message(queue=f"{_prefix}-critical", batch_size=BATCH_SIZE)
def jobs_critical(event):
    from chalicelib.jobs.dispatcher import handle_sqs_event
    return handle_sqs_event(event)


@bp.on_sqs_message(queue=f"{_prefix}-default", batch_size=BATCH_SIZE)
def jobs_default(event):
    from chalicelib.jobs.dispatcher import handle_sqs_event
    return handle_sqs_event(event)


@bp.on_sqs_message(queue=f"{_prefix}-low", batch_size=BATCH_SIZE)
def jobs_low(event):
    from chalicelib.jobs.dispatcher import handle_sqs_event
    return handle_sqs_event(event)


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def health_check_schedule(event):
    from chalicelib.schedules.health import run_health_checks
    report = run_health_checks()
    log.info("scheduled health checks: %s", report)
    return report


@bp.schedule(Rate(1, unit=Rate.DAYS))
def partition_rollover(event):
    from chalicelib.dynamic_api.store import rollover_log_partitions
    from chalicelib.schedules.partitions import rollover
    report = {"api_call_logs": rollover(), "dynamic_api_invocation_logs": rollover_log_partitions(),
              "api_access_logs": rollover(table="api_access_logs")}
    log.info("partition rollover: %s", report)
    return report


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def stuck_job_sweep(event):
    from chalicelib.jobs.sweep import sweep_stuck_jobs
    return sweep_stuck_jobs()
