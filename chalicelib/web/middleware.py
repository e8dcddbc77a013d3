"""HTTP middleware: request id, and the one place errors become envelopes.

Typed errors (AppError) propagate out of views (they derive from Chalice's
ChaliceUnhandledError) and are mapped here. Responses Chalice produces itself
before reaching a view (405 wrong method, 415 content type, its own 500) come
in its `{"Code", "Message"}` shape and are rewritten into the envelope too.
"""
from __future__ import annotations

import json
import logging

from chalice import Response

from chalicelib import observability
from chalicelib.web import envelope
from chalicelib.web.errors import AppError, MethodNotAllowed, SystemError_, UnsupportedMediaType, ValidationError

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
    if cls is MethodNotAllowed:
        allow = response.headers.get("Allow", "")
        err.message = f"{err.message}; this path allows {allow}"
        err.details = {"allowed_methods": [m.strip() for m in allow.split(",") if m.strip()]}
        err.headers["Allow"] = allow
    return err


def http_middleware(event, get_response):
    context = getattr(event, "context", None) or {}
    rid = envelope.set_request_id(context.get("requestId"))
    observability.request_started()
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
    response.headers["X-Request-Id"] = rid
    observability.access_log(event, response, rid)
    return response
