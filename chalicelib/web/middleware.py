"""HTTP middleware: request id, API version, access log, and the one place
errors become envelopes.

Versions (chalicelib.web.versions): an `Accept` asking for a version this
server does not serve is a 406 before the route runs; every answer carries
`API-Version`; deprecated routes add `Deprecation` and `Sunset`. Each
management request then writes its access-log row (chalicelib.web.access_log).

Answers over Lambda's synchronous payload limit are replaced by a 413 that
points to the paged or exported form (chalicelib.web.answer_size).

Typed errors (AppError) propagate out of views (they derive from Chalice's
ChaliceUnhandledError) and are mapped here. Responses Chalice produces itself
before reaching a view (405 wrong method, 415 content type, its own 500) come
in its `{"Code", "Message"}` shape and are rewritten into the envelope too.
"""
from __future__ import annotations

import json
import logging
import time
from email.utils import format_datetime

from chalice import Response

from chalicelib import observability, spans
from chalicelib.errors import (
    AppError,
    MethodNotAllowed,
    NotAcceptable,
    SystemError_,
    UnsupportedMediaType,
    ValidationError,
    field_error,
    field_errors,
)
from chalicelib.web import access_log, answer_size, envelope, versions

log = logging.getLogger("stepflow")

_CHALICE_CODES = {
    "MethodNotAllowedError": MethodNotAllowed,
    "UnsupportedMediaType": UnsupportedMediaType,
    "BadRequestError": ValidationError,
    "BadRequest": ValidationError,
}


def _chalice_error(response: Response) -> AppError | None:
    body = response.body
    if isinstance(body, str) and body.startswith("{"):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict) or "Code" not in body or "success" in body:
        return None
    cls = _CHALICE_CODES.get(body["Code"])
    if cls is None:
        return SystemError_("internal error; quote the request_id when reporting it")
    err = cls(str(body.get("Message", "")))
    if cls is ValidationError:
        err.details = field_errors(field_error(["body"], err.message or "bad request", "bad_request"))
    if cls is MethodNotAllowed:
        given = response.headers.get("Allow", "")
        allow = ", ".join(given) if isinstance(given, list) else given
        err.message = f"{err.message}; this path allows {allow}"
        err.details = {"allowed_methods": [m.strip() for m in allow.split(",") if m.strip()]}
        err.headers["Allow"] = allow
    return err


_ROUTE_INDEX: tuple[int, dict] = (-1, {})


def _route_meta(resource_path: str | None, method: str):
    global _ROUTE_INDEX
    from chalicelib.web.api import ROUTES
    if _ROUTE_INDEX[0] != len(ROUTES):   # built once, again only if routes were declared since
        _ROUTE_INDEX = (len(ROUTES), {(p, m.method): m for m in ROUTES for p in m.paths})
    return _ROUTE_INDEX[1].get((resource_path, method))


def _deprecation_headers(interval: str) -> dict:
    """`since/sunset` (YYYY-MM-DD/YYYY-MM-DD) as RFC 9745's `Deprecation: @<epoch>` (the day the
    route was deprecated) and RFC 8594's `Sunset` (the day it goes)."""
    import datetime as dt

    def day(text: str) -> dt.datetime:
        return dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)

    since, sunset = interval.split("/")
    return {"Deprecation": f"@{int(day(since).timestamp())}", "Sunset": format_datetime(day(sunset), usegmt=True)}


def http_middleware(event, get_response):
    started = time.perf_counter()
    context = getattr(event, "context", None) or {}
    rid = envelope.set_request_id(context.get("requestId"))
    observability.request_started()
    resource = context.get("resourcePath")
    method = getattr(event, "method", "") or context.get("httpMethod", "")
    asked, media = versions.requested((getattr(event, "headers", None) or {}).get("accept"))
    served = versions.path_version(resource or "") or versions.CURRENT
    if asked is not None and (asked not in versions.SUPPORTED or asked != served):
        response = envelope.error_response(NotAcceptable(
            f"API version {asked} is not served here; supported: {', '.join(versions.SUPPORTED)}"
            + (f" (this path is {served})" if asked in versions.SUPPORTED else ""),
            {"supported_versions": list(versions.SUPPORTED), "requested": asked}))
    else:
        try:
            response = get_response(event)
        except AppError as exc:
            response = envelope.error_response(exc)
        except Exception:  # pragma: no cover - views wrap their own; defensive
            log.exception("unhandled error, request_id=%s", rid)
            response = envelope.error_response(SystemError_("internal error; quote the request_id when reporting it"))
        if response.status_code >= 400:
            mapped = _chalice_error(response)
            if mapped is not None:
                response = envelope.error_response(mapped)
    meta = _route_meta(resource, method)
    too_large = answer_size.check(response, event, meta)
    if too_large is not None:
        response = envelope.error_response(too_large)
    response.headers["X-Request-Id"] = rid
    response.headers["API-Version"] = served
    if media and response.headers.get("Content-Type", "").startswith("application/json"):
        response.headers["Content-Type"] = media
    if meta is not None and meta.deprecated:
        response.headers.update(_deprecation_headers(meta.deprecated))
    if access_log.should_record(resource):
        with spans.span("access log"):
            access_log.record(method=method, route=resource, status=response.status_code,
                              duration_ms=(time.perf_counter() - started) * 1000, request_id=rid,
                              api_version=served)
    observability.access_log(event, response, rid, (time.perf_counter() - started) * 1000)
    return response
