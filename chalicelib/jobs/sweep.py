"""Stuck-job sweep (scheduled every 5 minutes).

* running with a heartbeat older than STUCK_JOB_AFTER_S (the worker died or hit
  the Lambda timeout): re-queued and re-sent while attempts remain, else failed;
* queued and untouched for as long (its message was lost, or enqueueing failed):
  re-sent.
Duplicated messages are harmless: the dispatcher's claim is idempotent.
"""
from __future__ import annotations

import logging

from chalicelib.jobs import store

log = logging.getLogger("stepflow.jobs")


def sweep_stuck_jobs(stuck_after_s: int | None = None) -> dict:
    from chalicelib.jobs.queue import get_queue
    from chalicelib.settings import get_settings
    stale = stuck_after_s if stuck_after_s is not None else get_settings().stuck_job_after_s
    stuck = store.take_stuck_running(stale)
    idle = store.take_idle_queued(stale)
    queue = get_queue()
    resent, failed, send_errors = [], [], []
    for row in stuck + idle:
        job_id = str(row["id"])
        if row["status"] == "failed":
            failed.append(job_id)
            continue
        try:
            queue.send(row["priority"], job_id, row["type"])
            resent.append(job_id)
        except Exception as exc:  # noqa: BLE001 - next sweep tries again
            log.exception("sweep: could not re-send job %s", job_id)
            send_errors.append({"job_id": job_id, "error": str(exc)})
    report = {"stuck_running": len(stuck), "idle_queued": len(idle), "requeued": resent, "failed": failed,
              "send_errors": send_errors}
    if stuck or idle:
        log.info("stuck-job sweep: %s", report)
    return report
