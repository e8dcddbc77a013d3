"""Job types -> handler functions, and the context handlers receive."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from chalicelib.errors import invalid_input

PRIORITIES = ("critical", "default", "low")
# Deliveries of one SQS message before it moves to its dead-letter queue.
# Must equal MaxReceiveCount in infra/resources.yaml (tests/jobs checks it):
# the handler marks the job failed on this delivery, then SQS moves the message.
MAX_RECEIVE_COUNT = 5
DEFAULT_MAX_ATTEMPTS = MAX_RECEIVE_COUNT


class JobCancelled(Exception):
    """Raised by JobContext.progress()/heartbeat() when the job was cancelled meanwhile."""


class PermanentJobError(Exception):
    """A handler raises this for an error retrying cannot fix: the job fails at once.
    `details`: what the error it stands for said (kept for the job's summary)."""

    details: Any = None


@dataclass(frozen=True)
class JobType:
    name: str
    handler: Callable[["JobContext"], Any]
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    default_priority: str = "default"


_REGISTRY: dict[str, JobType] = {}


def register_job(name: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                 priority: str = "default") -> Callable:
    """Decorator: `@register_job("catalog.import")` on `def handler(ctx: JobContext) -> result`."""
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {PRIORITIES}")
    if not 1 <= max_attempts <= MAX_RECEIVE_COUNT:
        # More attempts than SQS deliveries could never happen on AWS.
        raise ValueError(f"max_attempts must be between 1 and {MAX_RECEIVE_COUNT}")

    def decorator(fn: Callable) -> Callable:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.handler is not fn and \
                (existing.handler.__module__, existing.handler.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"job type {name!r} is already registered by {existing.handler.__module__}")
        _REGISTRY[name] = JobType(name, fn, max_attempts, priority)
        return fn

    return decorator


def get_job_type(name: str) -> JobType | None:
    return _REGISTRY.get(name)


def require_job_type(name: str) -> JobType:
    jt = _REGISTRY.get(name)
    if jt is None:
        raise invalid_input(["type"], f"unknown job type {name!r}", "enum", known_types=sorted(_REGISTRY))
    return jt


def job_types() -> list[str]:
    return sorted(_REGISTRY)


@dataclass
class JobContext:
    """What a handler gets: the job's id, payload and attempt, and progress reporting."""

    job_id: str
    type: str
    payload: Any
    attempt: int
    priority: str
    _report: Callable[[str, int | None, str | None], bool] | None = field(repr=False, default=None)
    _finish: Callable[[str, Any], Any] | None = field(repr=False, default=None)
    committed: bool = False

    def commit(self, work: Callable[[], Any], summary: Callable[[Any], Any] = lambda out: out) -> Any:
        """Run `work` (the job's writes) in one database transaction that also
        marks the job succeeded with `summary(work's output)` as its result,
        committed only if the job is still running. A cancel that came first
        rolls the writes back (JobCancelled); one that comes later finds the
        job succeeded (409). Returns the summary (return it from the handler)."""
        from chalicelib.db import get_db
        with get_db().transaction():
            result = summary(work())
            if self._finish is not None and self._finish(self.job_id, result) is None:
                raise JobCancelled(self.job_id)  # rolls back everything work wrote
        self.committed = True
        return result

    def progress(self, percent: int | float, message: str | None = None) -> None:
        """Record progress (0-100, clamped) and a message; also a heartbeat.

        Raises JobCancelled if the job was cancelled: stop and clean up."""
        pct = max(0, min(100, int(percent)))
        if self._report is not None and not self._report(self.job_id, pct, message):
            raise JobCancelled(self.job_id)

    def heartbeat(self) -> None:
        """Tell the stuck-job sweep this job is alive (call at least every few minutes)."""
        if self._report is not None and not self._report(self.job_id, None, None):
            raise JobCancelled(self.job_id)
