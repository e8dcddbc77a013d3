"""The one response envelope (DESIGN decision 3) and JSON encoding."""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from typing import Any

from chalice import Response

from chalicelib.errors import AppError
from chalicelib.observability import request_id, set_request_id

__all__ = ["request_id", "set_request_id", "utc_now_iso", "iso", "dumps", "json_response", "success",
           "error_body", "error_response"]


def utc_now_iso() -> str:
    return iso(dt.datetime.now(dt.timezone.utc))


def iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    hdrs = {"Content-Type": "application/json"}
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
