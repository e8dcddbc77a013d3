"""Typed errors, domain-neutral. Each carries its envelope code and HTTP status.

Raise these anywhere (the database layer and domain code included);
`chalicelib.web.middleware` turns them into the one error envelope, in one
place.
"""
from __future__ import annotations

from typing import Any

from chalice.app import ChaliceUnhandledError

__all__ = ["AppError", "ValidationError", "AuthError", "PermissionDenied", "NotFound", "MethodNotAllowed",
           "RequestTimeout", "Conflict", "PayloadTooLarge", "UnsupportedMediaType", "RateLimited", "ConnectionFailed",
           "QueryError", "QueryRefused", "QueryUnavailable", "RetryLater", "SystemError_", "UpstreamError",
           "NotAcceptable", "ServiceUnavailable", "StorageUnavailable", "retryable", "RETRYABLE_STATUSES"]


class AppError(ChaliceUnhandledError):
    """Base of every error the service answers with on purpose.

    It derives from ChaliceUnhandledError so that Chalice lets it propagate
    out of a view to `chalicelib.web.middleware`, the one place that maps
    errors to the envelope.
    """
    code = "SYSTEM_ERROR"
    status = 500

    def __init__(self, message: str, details: Any = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def with_headers(self, headers: dict) -> "AppError":
        """Add response headers (e.g. RateLimit-*); answers self for `raise ....with_headers(...)`."""
        self.headers.update(headers)
        return self


class ValidationError(AppError):
    code, status = "VALIDATION_ERROR", 400


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

    def __init__(self, message: str, retry_after: int, details: Any = None):
        super().__init__(message, details, {"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class RetryLater(AppError):
    """A dependency's fault (DESIGN 17): 503 with Retry-After (seconds); the caller may retry."""
    status = 503
    retry_after = 1

    def __init__(self, message: str, details: Any = None, headers: dict | None = None):
        merged = {"Retry-After": str(self.retry_after)}
        merged.update(headers or {})
        super().__init__(message, details, merged)


class ConnectionFailed(RetryLater):
    """A database / cluster / pool the caller asked us to reach could not be reached
    (refused, unreachable, lost, not enough replicas, bad credentials): 503."""
    code = "CONNECTION_ERROR"


class QueryError(AppError):
    """An operation our own code could not run (our database, an invariant broken): 500."""
    code, status = "QUERY_ERROR", 500


class QueryRefused(QueryError):
    """The caller's target (its database, cluster, template) refused the query as the
    request or its configuration defines it; retrying the same cannot help: 422."""
    status = 422


class QueryUnavailable(RetryLater, QueryError):
    """The caller's target accepted the query but failed to answer it (replicas failed): 503."""
    status = 503


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
