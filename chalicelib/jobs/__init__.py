"""Long jobs: a `jobs` table (`store`), a registry of job types (`registry`),
SQS queues per priority or an in-process runner when no queue URLs are set
(`queue`, messages encoded by `messages`), one dispatcher (`dispatcher`), the
local worker (`worker`), the stuck-job sweep (`sweep`), the DLQ redrive
(`redrive`) and the SQS Lambda handlers (`lambdas`).

Public API for the other domains:

    from chalicelib.jobs import register_job, submit_job, JobContext

    @register_job("catalog.import")           # in the domain's jobs.py, which app.py imports
    def import_spec(ctx: JobContext) -> dict:
        ctx.progress(10, "parsing")            # 0-100 + message; heartbeat; raises
        ...                                    # JobCancelled when the job was cancelled
        return {"document_id": ...}            # stored as the job's result (JSON)

    job = submit_job("catalog.import", {"url": ...}, priority="default",
                     idempotency_key=None)      # -> the job row (dict), status "queued"

Routes (chalicelib.jobs.routes): GET /api/jobs, GET /api/jobs/{id},
POST /api/jobs/{id}/cancel. Nothing here imports boto3 at module level.
"""
from chalicelib.jobs.registry import (  # noqa: F401 - the public API of chalicelib.jobs
    JobCancelled,
    JobContext,
    PermanentJobError,
    register_job,
)

# The service (store, secrets, database) loads on first use, not when a
# module that registers a job type is imported (Lambda cold start).
_SERVICE_NAMES = ("cancel_job", "get_job", "list_jobs", "submit_job")


def __getattr__(name: str):
    if name in _SERVICE_NAMES:
        from chalicelib.jobs import service
        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
