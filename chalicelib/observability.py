"""Structured logs and metrics an operator can query: one JSON object per line.

Log lines have the AWS Lambda Powertools Logger shape, so Logs Insights
queries and dashboards written for Powertools work unchanged:

    {"level": "INFO", "location": "access_log:123", "message": "request",
     "timestamp": "2026-12-01 08:55:00,123+0000", "service": "stepflow-gateway",
     "cold_start": true, "function_name": "...", "function_memory_size": "512",
     "function_arn": "...", "function_request_id": "...", "xray_trace_id": "...",
     ...the event's own fields}

* every HTTP request: `access_log()` (called by the HTTP middleware) writes
  message "request" with request_id, method, route, path, role, status and
  duration_ms; the role is the caller's as authentication recorded it
  (`set_principal()`, read back by `current_principal()`), "anonymous" when
  no key was accepted. `request_started()` clears it first: a warm Lambda
  container runs every invocation in the same context, so an anonymous
  request must not inherit the previous request's caller;
* the request context lives here, below every layer that reads it: the
  request id (`set_request_id()`, `request_id()`; the envelope and the logs
  quote it) and the caller (`set_principal()`, `current_principal()`);
* every job attempt: `logged_job` wraps the dispatcher's `run_job` and writes
  message "job" with job_id, queue, status, action, attempts, duration_ms.

Metrics use CloudWatch Embedded Metric Format (an `_aws` block in the same
kind of line; CloudWatch extracts the metrics, no PutMetricData call, nothing
to wait for at the end of an invocation), namespace METRICS_NAMESPACE:

* `Invocations`, `Errors`, `Latency` (ms) per `Endpoint`: one line per
  gateway invoke (`record_invoke`, Endpoint = the endpoint id) and per
  dynamic-API invoke (Endpoint = "dynamic-api:<name>", from the access log).
  Errors counts calls that got no answer (timeout, refused, guard) or a 5xx.
* `Jobs` (count) and `JobDuration` (ms) per `Queue` and `Outcome`
  (succeeded, failed, retrying, cancelled, skipped, error).

Each distinct Endpoint value is one custom metric in CloudWatch (billed per
metric): a deployment with thousands of endpoints may prefer to filter.

Lines go to stderr, which Lambda ships to the function's log group line by
line as is (EMF must be the whole log event: a logging-module prefix would
hide it); stdout stays free for what commands print (`chalicelib.cli`
reports, the local server's banner). `set_sink()` installs another writer
(tests). Nothing here imports more than the standard library.
"""
from __future__ import annotations

import contextvars
import functools
import json
import os
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable

SERVICE = "stepflow-gateway"
DYNAMIC_INVOKE_ROUTE = "/api/dynamic-api/invoke/{name}"
MAX_ERROR_CHARS = 500

_job_scope: contextvars.ContextVar[dict | None] = contextvars.ContextVar("obs_job_scope", default=None)
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_principal: contextvars.ContextVar[Any] = contextvars.ContextVar("access_principal", default=None)
_cold = True
_sink: Callable[[str], None] | None = None


def _write_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def set_sink(sink: Callable[[str], None] | None) -> None:
    """Where lines go (one str per line, no newline); None = stderr."""
    global _sink
    _sink = sink


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)   # stateless: one for every line
_second: tuple[int, str] = (-1, "")   # the last second formatted, and its text


def _emit(obj: dict) -> None:
    (_sink or _write_stderr)(_ENCODER.encode(obj))


def _timestamp(now: float) -> str:
    global _second
    ms = int(now * 1000) % 1000
    sec, text = _second
    if sec != int(now):
        sec, text = int(now), time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
        _second = (sec, text)
    return text + f",{ms:03d}+0000"


def _namespace() -> str:
    from chalicelib.settings import get_settings
    return get_settings().metrics_namespace


def log_line(message: str, *, level: str = "INFO", location: str = "", function_request_id: str | None = None,
             **fields: Any) -> dict:
    """A Powertools-shaped record (not written; see `write`)."""
    global _cold
    env = os.environ
    record = {
        "level": level, "location": location, "message": message, "timestamp": _timestamp(time.time()),
        "service": SERVICE, "cold_start": _cold,
        "function_name": env.get("AWS_LAMBDA_FUNCTION_NAME"),
        "function_memory_size": env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
        "function_arn": None, "function_request_id": function_request_id,
        "xray_trace_id": env.get("_X_AMZN_TRACE_ID"),
    }
    record.update(fields)
    _cold = False
    return record


def with_metrics(record: dict, dimensions: dict[str, str], metrics: dict[str, tuple[float, str]]) -> dict:
    """Add an EMF `_aws` block: dimension values and metric values become top-level keys."""
    record["_aws"] = {
        "Timestamp": int(time.time() * 1000),
        "CloudWatchMetrics": [{
            "Namespace": _namespace(),
            "Dimensions": [list(dimensions)],
            "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()],
        }],
    }
    record.update(dimensions)
    record.update({name: value for name, (value, _) in metrics.items()})
    return record


def write(record: dict) -> None:
    try:
        _emit(record)
    except Exception:  # noqa: BLE001 - logging must never break a request or a job
        pass


# ---------------------------------------------------------------- requests

def set_request_id(value: str | None) -> str:
    """The current request's id: `value`, or a new UUID when none was given."""
    import uuid
    rid = value or str(uuid.uuid4())
    _request_id.set(rid)
    return rid


def request_id() -> str:
    rid = _request_id.get()
    return rid if rid else set_request_id(None)


def set_principal(principal: Any) -> None:
    """The caller authentication accepted (or None) for the rest of the request."""
    _principal.set(principal)


def current_principal() -> Any:
    return _principal.get()


def request_started() -> None:
    """Start of an HTTP request: no caller known yet (see the module docstring)."""
    set_principal(None)


def _role() -> str:
    return getattr(current_principal(), "role", None) or "anonymous"


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _context_of(event: Any) -> dict:
    return getattr(event, "context", None) or {}


def _path_of(event: Any, ctx: dict) -> str | None:
    """The request's path without the query string. The event's own `path`
    has no API Gateway stage prefix, unlike requestContext.path."""
    original = getattr(event, "to_original_event", None)
    raw = original() if callable(original) else {}
    return (raw or {}).get("path") or ctx.get("path")


def access_log(event: Any, response: Any, request_id: str, duration_ms: float) -> None:
    """The one line per HTTP request (plus the invoke metric of a dynamic API)."""
    ctx = _context_of(event)
    route = ctx.get("resourcePath") or getattr(event, "path", None)
    status = int(getattr(response, "status_code", 0) or 0)
    duration = round(float(duration_ms), 1)
    lambda_ctx = getattr(event, "lambda_context", None)
    record = log_line(
        "request", level="ERROR" if status >= 500 else "INFO", location="access_log",
        function_request_id=getattr(lambda_ctx, "aws_request_id", None),
        request_id=request_id, method=getattr(event, "method", None), route=route,
        path=_path_of(event, ctx), role=_role(),
        status=status, duration_ms=duration)
    if route == DYNAMIC_INVOKE_ROUTE:
        name = (getattr(event, "uri_params", None) or {}).get("name", "")
        record = with_metrics(record, {"Service": SERVICE, "Endpoint": f"dynamic-api:{name}"},
                              _invoke_values(status, duration))
    write(record)


# ------------------------------------------------------------------ invoke

def _invoke_values(status: int | None, duration_ms: float) -> dict[str, tuple[float, str]]:
    error = status is None or status >= 500
    return {"Invocations": (1, "Count"), "Errors": (1 if error else 0, "Count"),
            "Latency": (duration_ms, "Milliseconds")}


def record_invoke(target: Any, response: Any, failure: Any, duration_ms: float) -> None:
    """One gateway call of `target` (an endpoint); `response` None when no answer came."""
    endpoint_id = str(getattr(target, "id", ""))
    status = getattr(response, "status_code", None)
    record = log_line("invoke", location="record_invoke", request_id=request_id(), endpoint_id=endpoint_id,
                      method=getattr(target, "method", None), endpoint_path=getattr(target, "path", None),
                      upstream_status=status, error_type=getattr(failure, "error_type", None) if failure else None,
                      duration_ms=duration_ms, role=_role())
    write(with_metrics(record, {"Service": SERVICE, "Endpoint": endpoint_id}, _invoke_values(status, duration_ms)))


# -------------------------------------------------------------------- jobs

@contextmanager
def job_scope(queue: str | None = None, function_request_id: str | None = None):
    """What a job line cannot know from the job id alone (the consuming queue, the invocation)."""
    token = _job_scope.set({"queue": queue, "function_request_id": function_request_id})
    try:
        yield
    finally:
        _job_scope.reset(token)


def _masked(error: str | None) -> str | None:
    """An error text as the log may hold it: through the one masker, cut short."""
    if not error:
        return None
    from chalicelib.masking import mask_text
    return mask_text(error)[:MAX_ERROR_CHARS]


def record_job(job_id: str | None, status: str, action: str | None, attempts: int | None, duration_ms: float,
               error: str | None = None) -> None:
    scope = _job_scope.get() or {}
    queue = scope.get("queue") or "unknown"
    failed = status in ("failed", "error")
    record = log_line(
        "job", level="ERROR" if failed else ("WARNING" if status == "retrying" else "INFO"),
        location="record_job", function_request_id=scope.get("function_request_id"),
        job_id=job_id, queue=queue, status=status, action=action, attempts=attempts, duration_ms=duration_ms,
        error=_masked(error))
    write(with_metrics(record, {"Service": SERVICE, "Queue": queue, "Outcome": status},
                       {"Jobs": (1, "Count"), "JobDuration": (duration_ms, "Milliseconds")}))


def logged_job(run_job: Callable) -> Callable:
    """Decorator for `run_job(job_id, receive_count)`: one job line per attempt, whatever happens."""
    @functools.wraps(run_job)
    def wrapper(job_id, *args, **kwargs):
        started = time.perf_counter()
        try:
            outcome = run_job(job_id, *args, **kwargs)
        except Exception as exc:
            record_job(job_id, "error", None, None, _elapsed_ms(started), f"{type(exc).__name__}: {exc}")
            raise
        record_job(job_id, outcome.status, outcome.action, outcome.attempts, _elapsed_ms(started), outcome.error)
        return outcome
    return wrapper
