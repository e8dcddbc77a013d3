"""The one response envelope (DESIGN decision 3); JSON text comes from chalicelib.jsontext."""
from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.errors import AppError
from chalicelib.jsontext import dumps, iso, utc_now_iso
from chalicelib.observability import request_id, set_request_id

__all__ = ["request_id", "set_request_id", "utc_now_iso", "iso", "dumps", "json_response", "success",
           "error_body", "error_response"]


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    hdrs: dict[str, str | list[str]] = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    return Response(body=dumps(body), status_code=status, headers=hdrs)


def success(data: Any = None, message: str = "ok", status: int = 200, headers: dict | None = None,
            **extra: Any) -> Response:
    body = {"success": True, "data": data, "message": message}
    body.update(extra)
    body["timestamp"] = utc_now_iso()
    body["request_id"] = request_id()
    return json_response(body, status, headers)


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": details},
        "timestamp": utc_now_iso(),
        "request_id": request_id(),
    }


def error_response(exc: AppError) -> Response:
    return json_response(error_body(exc.code, exc.message, exc.details), exc.status, exc.headers)
