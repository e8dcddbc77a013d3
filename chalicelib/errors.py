"""Typed errors, domain-neutral. Each carries its envelope code and HTTP status.

Raise these anywhere (the database layer and domain code included);
`chalicelib.web.middleware` turns them into the one error envelope, in one
place.

`error.details` has one shape (README, "Using the API"): null or a JSON
object. An error about inputs carries `"errors"`, a list built with
`field_error` (`{"loc": [str|int, ...], "type": "snake_case", "msg": "..."}`,
plus `"pointer"`, a JSON pointer into a submitted document, where there is
one); other context goes in named keys beside it:

    raise ValidationError("name is required",
                          field_errors(field_error(["body", "name"], "Field required", "missing")))
    raise MethodNotAllowed("...", {"allowed_methods": ["GET"]})

`details_problems(details)` is the rule itself; AppError applies it.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from chalice.app import ChaliceUnhandledError

__all__ = ["field_error", "field_errors", "details_problems", "invalid_input",
           "AppError", "ValidationError", "AuthError", "PermissionDenied", "NotFound", "MethodNotAllowed",
           "RequestTimeout", "Conflict", "PayloadTooLarge", "UnsupportedMediaType", "RateLimited", "ConnectionFailed",
           "ConnectionRejected",
           "QueryError", "QueryRefused", "QueryUnavailable", "RetryLater", "SystemError_", "UpstreamError",
           "NotAcceptable", "ServiceUnavailable", "StorageUnavailable", "retryable", "RETRYABLE_STATUSES"]


TYPE_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")   # snake_case, matched whole
ITEM_KEYS = frozenset({"loc", "type", "msg", "pointer"})
# Keys of the shapes this one replaced; what they said belongs in `errors` items.
LEGACY_KEYS = frozenset({"field", "issue", "problems", "parameter", "loc", "msg"})


def field_error(loc: str | int | Sequence[str | int], msg: str, type: str = "value_error", *,
                pointer: str | None = None) -> dict[str, Any]:
    """One input problem. `loc` is where the input is (`["body", "name"]`, `["query", "limit"]`,
    `["spec", "paths", "/pets"]`); a lone str or int is a one-element loc. `pointer`, when given,
    is a JSON pointer into a submitted document ("" is the whole document)."""
    item: dict[str, Any] = {"loc": [loc] if isinstance(loc, (str, int)) else list(loc), "type": type, "msg": msg}
    if pointer is not None:
        item["pointer"] = pointer
    return item


def field_errors(*errors: dict[str, Any] | Iterable[dict[str, Any]], **context: Any) -> dict[str, Any]:
    """`details` of an error about inputs: `{"errors": [...], **context}`. Items are `field_error`s
    (or iterables of them); `context` holds named keys such as `supported` or `problem_count`."""
    items: list[dict[str, Any]] = []
    for e in errors:
        items.extend([e] if isinstance(e, dict) else e)
    return {"errors": items, **context}


# The same shape as JSON Schema, for the OpenAPI descriptions (web/openapi.py, dynamic_api/openapi_doc.py).
DETAILS_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "null, or context in named keys; an error about inputs lists them in `errors`",
    "properties": {"errors": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["loc", "type", "msg"], "additionalProperties": False,
        "properties": {"loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                       "type": {"type": "string", "pattern": f"^{TYPE_RE.pattern}$"},
                       "msg": {"type": "string", "minLength": 1},
                       "pointer": {"type": "string", "description": "JSON pointer into the submitted document"}}}}},
}


def _item_problems(i: int, item: Any) -> list[str]:
    if not isinstance(item, dict):
        return [f"errors[{i}] is not an object"]
    out = [f"errors[{i}] has key {k!r} (only loc, type, msg, pointer)" for k in item if k not in ITEM_KEYS]
    loc = item.get("loc")
    if not isinstance(loc, list) or not all(isinstance(p, (str, int)) and not isinstance(p, bool) for p in loc):
        out.append(f"errors[{i}].loc is not a list of strings and integers")
    if not isinstance(item.get("type"), str) or not TYPE_RE.fullmatch(item["type"]):
        out.append(f"errors[{i}].type is not a snake_case string")
    if not isinstance(item.get("msg"), str) or not item["msg"]:
        out.append(f"errors[{i}].msg is not a non-empty string")
    ptr = item.get("pointer")
    if "pointer" in item and not (isinstance(ptr, str) and (ptr == "" or ptr.startswith("/"))):
        out.append(f"errors[{i}].pointer is not a JSON pointer")
    return out


def details_problems(details: Any) -> list[str]:
    """What keeps `details` from being the one shape; [] when it is."""
    if details is None:
        return []
    if not isinstance(details, dict):
        return [f"details is a {type(details).__name__}, not null or an object"]
    out = [f"details has a non-string key {k!r}" for k in details if not isinstance(k, str)]
    out += [f"details has {k!r}: say it in errors[].loc/type/msg" for k in details if k in LEGACY_KEYS]
    if "errors" in details:
        errors = details["errors"]
        if not isinstance(errors, list) or not errors:
            out.append("details.errors is not a non-empty list")
        else:
            for i, item in enumerate(errors):
                out += _item_problems(i, item)
    return out


class AppError(ChaliceUnhandledError):
    """Base of every error the service answers with on purpose.

    It derives from ChaliceUnhandledError so that Chalice lets it propagate
    out of a view to `chalicelib.web.middleware`, the one place that maps
    errors to the envelope.

    `details` must already be the one shape (see the module docstring); any
    other value is refused with TypeError where it is given (constructor or
    assignment), never normalised: a wrong shape is our bug, and it shows as
    one in the tests rather than as a second shape in answers.
    """
    code = "SYSTEM_ERROR"
    status = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    @property
    def details(self) -> dict[str, Any] | None:
        return self._details

    @details.setter
    def details(self, value: dict[str, Any] | None) -> None:
        problems = details_problems(value)
        if problems:
            raise TypeError(f"{type(self).__name__} details are not the one shape: {'; '.join(problems)}")
        self._details = value

    def with_headers(self, headers: dict) -> "AppError":
        """Add response headers (e.g. RateLimit-*); answers self for `raise ....with_headers(...)`."""
        self.headers.update(headers)
        return self


class ValidationError(AppError):
    code, status = "VALIDATION_ERROR", 400


def invalid_input(loc: str | int | Sequence[str | int], message: str, type: str = "value_error",
                  **context: Any) -> ValidationError:
    """A 400 about one input at `loc`; `message` is also the item's msg, `context` named keys beside it."""
    return ValidationError(message, field_errors(field_error(loc, message, type), **context))


class AuthError(AppError):
    code, status = "AUTH_ERROR", 401


class PermissionDenied(AppError):
    code, status = "PERMISSION_DENIED", 403


class NotFound(AppError):
    code, status = "NOT_FOUND", 404


class MethodNotAllowed(AppError):
    code, status = "METHOD_NOT_ALLOWED", 405


class RequestTimeout(AppError):
    code, status = "TIMEOUT_ERROR", 408


class Conflict(AppError):
    code, status = "CONFLICT", 409


class PayloadTooLarge(AppError):
    code, status = "PAYLOAD_TOO_LARGE", 413


class UnsupportedMediaType(AppError):
    code, status = "UNSUPPORTED_MEDIA_TYPE", 415


class RateLimited(AppError):
    code, status = "RATE_LIMITED", 429

    def __init__(self, message: str, retry_after: int, details: dict[str, Any] | None = None):
        super().__init__(message, details, {"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class RetryLater(AppError):
    """A dependency's fault (DESIGN 17): 503 with Retry-After (seconds); the caller may retry."""
    code, status = "SERVICE_UNAVAILABLE", 503
    retry_after = 1

    def __init__(self, message: str, details: dict[str, Any] | None = None, headers: dict | None = None):
        merged = {"Retry-After": str(self.retry_after)}
        merged.update(headers or {})
        super().__init__(message, details, merged)


class ConnectionFailed(RetryLater):
    """A database / cluster / pool the caller asked us to reach could not be reached
    (refused, unreachable, lost, not enough replicas): 503."""
    code = "CONNECTION_ERROR"


class ConnectionRejected(ConnectionFailed):
    """The target answered and refused the connection as it is configured (wrong credentials,
    a datacenter or database it does not have): the caller's configuration, which a retry cannot
    fix. 422 without Retry-After, code CONNECTION_ERROR; still a ConnectionFailed for callers
    that treat every failed connection alike (a run pauses, a pool test reports it)."""
    status = 422

    def __init__(self, message: str, details: dict[str, Any] | None = None, headers: dict | None = None):
        AppError.__init__(self, message, details, headers)


class QueryError(AppError):
    """An operation our own code could not run (our database, an invariant broken): 500."""
    code, status = "QUERY_ERROR", 500


class QueryRefused(QueryError):
    """The caller's target (its database, cluster, template) refused the query as the
    request or its configuration defines it; retrying the same cannot help: 422."""
    status = 422


class QueryUnavailable(RetryLater, QueryError):
    """The caller's target accepted the query but failed to answer it (replicas failed): 503."""
    code, status = "QUERY_ERROR", 503


class SystemError_(AppError):
    code, status = "SYSTEM_ERROR", 500


class UpstreamError(AppError):
    code, status = "UPSTREAM_ERROR", 502


class NotAcceptable(AppError):
    code, status = "NOT_ACCEPTABLE", 406


class ServiceUnavailable(RetryLater):
    """A dependency's fault: the caller may retry (Retry-After, seconds)."""
    code = "SERVICE_UNAVAILABLE"


class StorageUnavailable(ServiceUnavailable):
    """The project's own PostgreSQL is unreachable."""


RETRYABLE_STATUSES = (408, 502, 503)


def retryable(exc: BaseException) -> bool:
    """A dependency's fault (timeout, bad upstream answer, unavailable): a later
    attempt may succeed. The jobs system retries these and fails others at once."""
    return isinstance(exc, AppError) and exc.status in RETRYABLE_STATUSES
