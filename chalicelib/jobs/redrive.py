"""DLQ redrive: move the messages of a priority's dead-letter queue back to
its queue, so their jobs run again (`python -m chalicelib.cli redrive-dlq`).

A message lands in the DLQ after MAX_RECEIVE_COUNT deliveries, when its job
is already `failed` (the dispatcher marks it on the last delivery), so moving
the message alone would make the consumer skip it. For each message:

* its job is `failed`: the job goes back to `queued` with its attempts reset
  (one conditional UPDATE), the message is sent to the source queue, then
  deleted from the DLQ -> "redriven";
* its job succeeded or was cancelled meanwhile, or no longer exists: the
  message is deleted from the DLQ -> "dropped" (nothing left to do);
* its job is queued or running (someone already retried it): left alone
  in the DLQ -> "kept";
* the body is not a job message: left in the DLQ -> "kept".

`dry_run` only reports. The DLQ is found from the queue's RedrivePolicy.
Run it where both the queues and the database are reachable (in AWS: a host
in the VPC with credentials that may read the DLQ; the functions' roles may
not, by design).
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib.jobs import store
from chalicelib.jobs.messages import decode_message, encode_message
from chalicelib.jobs.registry import PRIORITIES


def dlq_url_of(sqs: Any, queue_url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attrs:
        raise ValueError(f"{queue_url} has no dead-letter queue (no RedrivePolicy)")
    arn = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"]
    return sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]


def redrive(priority: str, sqs: Any, queue_urls: dict[str, str], *, limit: int = 1000,
            dry_run: bool = False) -> dict:
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
    source = queue_urls.get(priority)
    if not source:
        raise ValueError(f"no queue URL configured for {priority} (QUEUE_URL_{priority.upper()})")
    dlq = dlq_url_of(sqs, source)
    report: dict[str, Any] = {"priority": priority, "dlq": dlq, "dry_run": dry_run,
                              "redriven": [], "dropped": [], "kept": []}
    seen = 0
    while seen < limit:
        # A short visibility: what is kept (or seen in a dry run) shows up again soon.
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=min(10, limit - seen),
                                       VisibilityTimeout=30, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            break
        for m in messages:
            seen += 1
            _one(m, sqs, source, dlq, report, dry_run)
        if dry_run:
            break
    report["counts"] = {k: len(report[k]) for k in ("redriven", "dropped", "kept")}
    return report


def _one(message: dict, sqs: Any, source: str, dlq: str, report: dict, dry_run: bool) -> None:
    try:
        job_id = decode_message(message["Body"])
    except ValueError:
        report["kept"].append({"message_id": message.get("MessageId"), "reason": "not a job message"})
        return
    job = store.get(job_id)
    status = job["status"] if job else None
    if status in ("queued", "running"):
        report["kept"].append({"job_id": job_id, "reason": f"job is {status}"})
        return
    if dry_run:
        report["redriven" if status == "failed" else "dropped"].append({"job_id": job_id, "status": status})
        return
    if job is not None and status == "failed" and store.requeue_failed(job_id) is not None:
        sqs.send_message(QueueUrl=source, MessageBody=encode_message(job_id, job["type"]))
        report["redriven"].append({"job_id": job_id, "type": job["type"]})
    else:
        report["dropped"].append({"job_id": job_id, "status": status})
    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
