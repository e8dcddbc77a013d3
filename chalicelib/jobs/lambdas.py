"""The job queues' Lambda entry points, as a Chalice Blueprint that app.py
registers: three SQS consumers, one per priority queue (the schedules are in
chalicelib.schedules.lambdas).

Function names match `.chalice/config.json` (`jobs_critical`, ...; timeouts
900 s / 300 s) and infra/resources.yaml (queue visibility 5400 s = 6 x 900 s,
maxReceiveCount 5). Queue names come from settings (QUEUE_NAME_PREFIX, set per
stage in the config) when app.py is imported: `<prefix>-critical|default|low`.

batch_size=1: a job may run for minutes, and a batch-mate would wait for it.
The handlers are correct for any batch size: `consume()` runs each record
through the dispatcher and answers SQS partial batch responses,
`{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}`, listing the
records to redeliver (a failed attempt before its last delivery, a job row
not committed yet, a database outage); Lambda deletes the others.
infra/finalize_template.py turns on `ReportBatchItemFailures` on every SQS
event source, without which Lambda would ignore the answer. A record to
redeliver gets its visibility shortened to the retry backoff first. The
connection budget caps how many of these containers run at once
(infra/budget.py).
"""
from __future__ import annotations

import logging

from chalice import Blueprint

from chalicelib.settings import get_settings

log = logging.getLogger("stepflow.jobs")
bp = Blueprint(__name__)
_prefix = get_settings().queue_name_prefix
BATCH_SIZE = 1


def _raw(record) -> dict:
    return record.to_dict() if hasattr(record, "to_dict") else dict(record)


def _priority_of(arn: str) -> str:
    """The queue's priority from its ARN (`...:<prefix>-critical`)."""
    return arn.rsplit(":", 1)[-1].rsplit("-", 1)[-1] or "unknown"


def consume(event, queue=None) -> dict:
    """Run an SQS batch; answer the records to redeliver as batchItemFailures."""
    from chalicelib import observability
    from chalicelib.jobs.dispatcher import run_message

    invocation = getattr(getattr(event, "context", None), "aws_request_id", None)
    failures, outcomes = [], []
    for record in event:
        raw = _raw(record)
        arn = raw.get("eventSourceARN", "")
        receive_count = int((raw.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
        with observability.job_scope(queue=_priority_of(arn), function_request_id=invocation):
            outcome = run_message(raw.get("body", ""), receive_count)
        outcomes.append(outcome.status)
        if outcome.action != "retry":
            continue
        failures.append({"itemIdentifier": raw.get("messageId", "")})
        if outcome.delay_s is not None:
            try:
                if queue is None:
                    from chalicelib.jobs.queue import get_queue
                    queue = get_queue()
                queue.delay(queue.url_for_arn(arn), raw.get("receiptHandle", ""), outcome.delay_s)
            except Exception:  # noqa: BLE001 - the queue's own visibility timeout still applies
                log.exception("could not shorten the visibility of a job message to redeliver")
    return {"batchItemFailures": failures, "processed": len(outcomes),
            "acknowledged": len(outcomes) - len(failures), "redelivered": len(failures), "outcomes": outcomes}


@bp.on_sqs_message(queue=f"{_prefix}-critical", batch_size=BATCH_SIZE)
def jobs_critical(event):
    return consume(event)


@bp.on_sqs_message(queue=f"{_prefix}-default", batch_size=BATCH_SIZE)
def jobs_default(event):
    return consume(event)


@bp.on_sqs_message(queue=f"{_prefix}-low", batch_size=BATCH_SIZE)
def jobs_low(event):
    return consume(event)
