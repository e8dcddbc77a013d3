"""How long a comparison may run (seed 003 section 6.1; issue 22).

A synchronous comparison answers within API Gateway's 29 s integration
limit: its `timeout` (seconds) defaults to 29 and may not exceed it (a 400
naming `timeout` that says to send `"async": true`). When the work outlives
it, the comparison stops at its next progress step and answers 408
TIMEOUT_ERROR, again pointing to `"async": true`, rather than running on
after the caller was cut off.

A comparison run as a job (`"async": true`) has `timeout` or else
JOB_TIMEOUT_S (settings, default 120 s: seed 003's query timeout), at most
MAX_JOB_TIMEOUT_S (inside the jobs Lambda's 900 s); past it the job fails
with TIMEOUT_ERROR (not retried: it would time out again).

The check runs in the engines' progress callback (chalicelib.compare.core.
progress: at least every half second while keys are read and compared), so
a comparison stops within one step (one batch, bounded by the cluster's own
socket/request timeouts) of its deadline.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

from chalicelib.errors import RequestTimeout, ValidationError, field_error, field_errors

MAX_SYNC_TIMEOUT_S = 29.0     # API Gateway's integration timeout
MAX_JOB_TIMEOUT_S = 840.0     # the jobs Lambda runs 900 s at most; leave room to save the result

ProgressCallback = Callable[[int, int, str], None]


def sync_seconds(req: Any) -> float:
    """The time budget of a synchronous comparison: `timeout`, at most 29 s (a 400 beyond)."""
    timeout = getattr(req, "timeout", None)
    if timeout is None:
        return MAX_SYNC_TIMEOUT_S
    if timeout > MAX_SYNC_TIMEOUT_S:
        raise ValidationError(
            f"timeout {timeout:g} s is over the {MAX_SYNC_TIMEOUT_S:g} s a synchronous answer may take; "
            f"send \"async\": true to run the comparison as a job (timeout up to {MAX_JOB_TIMEOUT_S:g} s)",
            field_errors(field_error(["body", "timeout"], f"at most {MAX_SYNC_TIMEOUT_S:g} without \"async\": true",
                                     "less_than_equal")))
    return float(timeout)


def job_seconds(req: Any) -> float:
    """The time budget of a comparison job: `timeout`, else JOB_TIMEOUT_S."""
    from chalicelib.settings import get_settings
    timeout = getattr(req, "timeout", None)
    return float(timeout) if timeout is not None else float(get_settings().job_timeout_s)


def guarded(seconds: float, expired: Callable[[float], Exception],
            progress: Optional[ProgressCallback] = None) -> ProgressCallback:
    """`progress` (may be None) that first raises `expired(seconds)` once `seconds` have passed."""
    end = time.monotonic() + seconds

    def report(done: int, total: int, stage: str) -> None:
        if time.monotonic() >= end:
            raise expired(seconds)
        if progress is not None:
            progress(done, total, stage)
    return report


def sync_progress(req: Any, progress: Optional[ProgressCallback] = None) -> ProgressCallback:
    """The progress callback of a synchronous comparison: 408 past its `timeout`."""
    def expired(seconds: float) -> Exception:
        return RequestTimeout(
            f"the comparison did not finish within its timeout of {seconds:g} s and was stopped; "
            "send \"async\": true to run it as a job", {"timeout_s": seconds, "async_hint": {"async": True}})
    return guarded(sync_seconds(req), expired, progress)


def job_progress(req: Any, progress: Optional[ProgressCallback] = None) -> ProgressCallback:
    """The progress callback of a comparison job: it fails (for good) past its timeout."""
    from chalicelib.jobs import PermanentJobError

    def expired(seconds: float) -> Exception:
        return PermanentJobError(f"TIMEOUT_ERROR: the comparison did not finish within its timeout of "
                                 f"{seconds:g} s")
    return guarded(job_seconds(req), expired, progress)
