"""The one JSON encoder: answers, stored jsonb parameters, command reports.

`dumps(value)` writes compact UTF-8 JSON and understands what the code
hands it besides plain JSON: datetimes as ISO 8601 UTC with milliseconds
(`iso`, "...Z"), dates and times, UUIDs and Decimals as text, bytes as
base64, sets and tuples as lists, pydantic models through `model_dump`,
timedeltas as seconds. Anything else is a TypeError (a bug of ours).
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from typing import Any


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


# One encoder (json.dumps with these options would build a new one per call; it keeps no state).
_ENCODER = json.JSONEncoder(default=_default, ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


