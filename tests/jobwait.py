"""Waiting for a job through the API, in-process (`Api`) or over HTTP (`live_server.api(key)`)."""
from __future__ import annotations

import time

FINISHED = ("succeeded", "failed", "cancelled")


def wait_for_job(api, job_id: str, timeout_s: float = 30) -> dict:
    """The job once it has finished, read with `api`'s key; an AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = api.get(f"/api/jobs/{job_id}").data
        if job["status"] in FINISHED:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")
