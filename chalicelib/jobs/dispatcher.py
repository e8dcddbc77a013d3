"""One dispatcher for every way a job message arrives: the Lambda SQS handlers,
the local worker (`make run` with queue URLs) and the in-process runner.

`run_job(job_id, receive_count)` claims the job row and runs its handler once:

* Idempotent. The claim is one conditional UPDATE (queued, or running with a
  stale heartbeat -> running). A redelivered message for a job that already
  succeeded/failed/was cancelled, or that is running elsewhere with a fresh
  heartbeat, claims nothing and is acknowledged without running anything.
* A handler that raises puts the job back to `queued` with the error and asks
  for a retry (the message is not deleted; its visibility is shortened to the
  backoff). On the delivery that reaches MAX_RECEIVE_COUNT (= the queue's
  maxReceiveCount), or when the job's attempts are used up, the job becomes
  `failed` with the error, and SQS moves the message to the dead-letter queue
  on its next receive. `PermanentJobError` fails the job at once.
* Cancel is cooperative: `ctx.progress()` raises JobCancelled, and a handler
  that writes through `ctx.commit(work)` commits its writes only together with
  the job's success, so a cancelled job leaves nothing written.
* What a caller sees of a failure is a summary (`summarise`: code, message,
  hint), stored as the job's `last_error`; the traceback goes to the server
  log (logger "stepflow.jobs", with the job id) and nowhere else.
* `run_message(body, receive_count)` is what every consumer calls (the Lambda
  SQS handlers in chalicelib.jobs.lambdas, the local worker): it never
  raises; a failure before the handler ran (the database is down) is a
  retry after the backoff.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.jobs import store
from chalicelib.jobs.messages import decode_message
from chalicelib.jobs.registry import MAX_RECEIVE_COUNT, JobCancelled, JobContext, PermanentJobError, get_job_type
from chalicelib.observability import logged_job

log = logging.getLogger("stepflow.jobs")
UNKNOWN_JOB_RETRY_S = 5  # a message may arrive before its row commits


@dataclass
class Outcome:
    action: str                 # "ack" (delete the message) or "retry" (leave it, redeliver later)
    status: str                 # succeeded | failed | retrying | cancelled | skipped
    job_id: str | None = None
    error: str | None = None
    final: bool = False         # the job is finished (for "retry": it goes to the DLQ)
    attempts: int = 0
    delay_s: int | None = None  # visibility to set before redelivery


def retry_delay(attempts: int) -> int:
    """Backoff before the next attempt: base * 2^(attempts-1), capped at 15 min."""
    from chalicelib.settings import get_settings
    base = get_settings().job_retry_delay_s
    return int(min(base * (2 ** max(0, attempts - 1)), 900))


def _stale_after_s() -> int:
    from chalicelib.settings import get_settings
    return get_settings().stuck_job_after_s


def summarise(exc: BaseException, job_id: str) -> dict:
    """What a caller may see of a handler's failure: {code, message, hint}.
    A typed error (`chalicelib.errors`) shows its code and message; any
    other exception only its kind, since its text may hold internals."""
    from chalicelib.errors import AppError, retryable
    from chalicelib.masking import mask_text

    cause = exc.__cause__ if isinstance(exc, PermanentJobError) and isinstance(exc.__cause__, AppError) else exc
    if isinstance(cause, AppError):
        if isinstance(exc, PermanentJobError):
            hint = "retrying cannot fix this: correct the input and submit a new job"
        elif cause.status < 500:
            hint = "correct the input and submit a new job"
        elif retryable(cause):
            hint = "a dependency failed; the job is retried while attempts remain, or submit it again later"
        else:
            hint = f"an internal error; the server log has the details under job {job_id}"
        return {"code": cause.code, "message": mask_text(cause.message), "hint": hint}
    if isinstance(exc, PermanentJobError):
        return {"code": "JOB_FAILED", "message": mask_text(str(exc)),
                "hint": "retrying cannot fix this: correct the input and submit a new job"}
    return {"code": "SYSTEM_ERROR", "message": f"the job failed with an unexpected internal error "
                                               f"({type(exc).__name__})",
            "hint": f"the server log has the traceback under job {job_id}; retrying may help if it was transient"}


@logged_job
def run_job(job_id: str, receive_count: int | None = None) -> Outcome:
    """Claim and run one job; what to do with its message is in the Outcome."""
    row = store.claim(job_id, _stale_after_s())
    if row is None:
        current = store.get(job_id)
        if current is None:
            # Not committed yet (submitted inside a transaction) or deleted: try later;
            # a message that never finds its job ends in the DLQ.
            return Outcome("retry", "skipped", job_id, "job row not found", delay_s=UNKNOWN_JOB_RETRY_S)
        if current["status"] in ("queued", "running") and current["attempts"] >= current["max_attempts"]:
            store.fail(job_id, {"code": "ATTEMPTS_EXHAUSTED",
                                "message": f"attempts exhausted ({current['attempts']}); "
                                           f"last error: {current['last_error']}",
                                "hint": "submit the job again once the cause is fixed"}, final=True)
            return Outcome("ack", "failed", job_id, current["last_error"], final=True, attempts=current["attempts"])
        # succeeded / failed / cancelled, or running elsewhere with a fresh heartbeat: nothing to do.
        return Outcome("ack", "skipped", job_id, attempts=current["attempts"])

    attempts = row["attempts"]
    job_type = get_job_type(row["type"])
    if job_type is None:
        store.fail(job_id, {"code": "UNKNOWN_JOB_TYPE",
                            "message": f"unknown job type {row['type']!r} (not registered in this deployment)",
                            "hint": "deploy the code that registers this job type, then submit it again"},
                   final=True)
        return Outcome("ack", "failed", job_id, "unknown job type", final=True, attempts=attempts)

    ctx = JobContext(job_id=job_id, type=row["type"], payload=row["payload"], attempt=attempts,
                     priority=row["priority"], _report=store.report, _finish=store.succeed)
    try:
        result = job_type.handler(ctx)
    except JobCancelled:
        return Outcome("ack", "cancelled", job_id, final=True, attempts=attempts)
    except PermanentJobError as exc:
        log.warning("job %s (%s) failed for good: %s", job_id, row["type"], exc, exc_info=True)
        summary = summarise(exc, job_id)
        store.fail(job_id, summary, final=True)
        return Outcome("ack", "failed", job_id, summary["message"], final=True, attempts=attempts)
    except Exception as exc:  # noqa: BLE001 - any handler error is a failed attempt
        last_delivery = receive_count is not None and receive_count >= MAX_RECEIVE_COUNT
        final = attempts >= row["max_attempts"] or last_delivery
        log.warning("job %s (%s) attempt %s failed%s: %s", job_id, row["type"], attempts,
                    " for good" if final else "", exc, exc_info=True)
        store.fail(job_id, summarise(exc, job_id), final=final)
        # Leave the message: redelivered after the backoff, or (last delivery) moved to the DLQ.
        return Outcome("retry", "failed" if final else "retrying", job_id, str(exc), final=final,
                       attempts=attempts, delay_s=0 if final else retry_delay(attempts))
    if ctx.committed:  # the handler's ctx.commit() marked it succeeded with its writes
        return Outcome("ack", "succeeded", job_id, final=True, attempts=attempts)
    done = store.succeed(job_id, result)
    if done is None:  # cancelled while it ran: the result is dropped
        return Outcome("ack", "cancelled", job_id, final=True, attempts=attempts)
    return Outcome("ack", "succeeded", job_id, final=True, attempts=attempts)


def run_message(body: str, receive_count: int | None) -> Outcome:
    """Run the job a message names; what to do with the message is in the Outcome."""
    try:
        job_id = decode_message(body)
    except ValueError as exc:
        # Not ours (or corrupted): nothing can ever process it; drop it loudly.
        log.error("dropping message: %s", exc)
        return Outcome("ack", "skipped", None, str(exc))
    try:
        return run_job(job_id, receive_count)
    except Exception as exc:  # noqa: BLE001 - e.g. the database is down: redeliver after the backoff
        log.exception("job message failed before its handler ran")
        return Outcome("retry", "retrying", job_id, str(exc), delay_s=retry_delay(receive_count or 1))
