"""The synchronous answer limit: Lambda returns at most 6 MB (6,291,456 bytes) from
a synchronous invocation, so the API never tries to send more.

`check(response, request, meta)` runs at the edge (chalicelib.web.middleware),
on every answer, after it is serialised. It measures what Lambda would return:
the body as it is escaped into the proxy response (JSON string escapes, every
non-ASCII character as `\\uXXXX`; a binary body as base64) plus the headers.
Above `max_sync_response_bytes` (MAX_SYNC_RESPONSE_BYTES, default 6,291,456)
the answer is replaced by a 413 PAYLOAD_TOO_LARGE envelope whose message and
details point to the form that fits:

- a route declaring `export=` (RouteMeta.export, e.g. a comparison run's
  differences): that route with the same path parameters (`details.export`);
- a paged route (its query model has `limit` and `offset`, or an export's
  `after`): a `limit` that would fit, at the same position (`details.paging`);
- otherwise: narrow the request. `details.size_bytes` / `limit_bytes` always.

Small answers cost one length test: the exact measure runs only for bodies
that could be over the limit once escaped (over a sixth of it).
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import PayloadTooLarge

_ESCAPE_WORST = 6     # one byte of text can become at most six (`\u00XX`)
_PROXY_OVERHEAD = 256  # statusCode, isBase64Encoded and the wrapper's punctuation


def payload_bytes(response: Any, limit: int) -> int:
    """What Lambda would return for `response`; exact once it could exceed `limit`."""
    body = response.body
    headers = sum(len(str(k)) + len(str(v)) + 8 for k, v in (response.headers or {}).items())
    if isinstance(body, (bytes, bytearray)):
        return (len(body) + 2) // 3 * 4 + headers + _PROXY_OVERHEAD
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    if len(text) * _ESCAPE_WORST + headers + _PROXY_OVERHEAD <= limit:
        return len(text.encode("utf-8")) + headers + _PROXY_OVERHEAD
    return len(json.dumps(text)) + headers + _PROXY_OVERHEAD


def check(response: Any, request: Any, meta: Any) -> PayloadTooLarge | None:
    """The 413 that replaces `response` when it is over the synchronous limit, else None."""
    from chalicelib.settings import get_settings
    limit = get_settings().max_sync_response_bytes
    size = payload_bytes(response, limit)
    if size <= limit:
        return None
    head = f"the answer would be {size} bytes, over the {limit}-byte limit of a synchronous answer"
    details: dict[str, Any] = {"size_bytes": size, "limit_bytes": limit}
    paged = _paged(meta)
    hints = []
    if meta is not None and meta.export:
        path = _fill(meta.export, getattr(request, "uri_params", None) or {})
        details["export"] = {"method": "GET", "path": path}
        hints.append(f"download it from GET {path}")
    if paged:
        default, top, cursor = paged
        params = getattr(request, "query_params", None) or {}
        at = _int(params.get(cursor), 0)
        items = _items(response.body)
        if items:
            # each item as it would be escaped into the proxy response; the rest of the answer is fixed
            from chalicelib.jsontext import dumps  # the body's own encoder, so the parts add up to the whole
            sizes = [len(json.dumps(dumps(i))) - 1 for i in items]
            fits = max(1, (limit - (size - sum(sizes))) // max(sizes))   # a page of the largest items seen fits
        else:
            count = _int(params.get("limit"), default)
            fits = max(1, int(count * limit * 0.8 / size))
        details["paging"] = {"limit": fits, cursor: at, "max_limit": top}
        hints.append(f"ask for fewer items (e.g. limit={fits}&{cursor}={at}) and page on")
    if not hints:
        hints.append("narrow the request (fewer items or fields), or run it with \"async\": true where "
                     "the route offers it")
    return PayloadTooLarge(f"{head}; {', or '.join(hints)}", details)


def _paged(meta: Any) -> tuple[int, int, str] | None:
    """(default limit, largest limit, cursor parameter) of a route whose query model pages
    with `limit` and `offset` (or `after`, an export's cursor)."""
    model = meta.query if meta is not None else None
    fields = getattr(model, "model_fields", {}) if model is not None else {}
    cursor = next((c for c in ("offset", "after") if c in fields), None)
    if "limit" not in fields or cursor is None:
        return None
    f = fields["limit"]
    top = next((m.le for m in f.metadata if getattr(m, "le", None) is not None), None)
    return int(f.default), int(top) if top is not None else int(f.default), cursor


def _items(body: Any) -> list | None:
    """The items of a paged envelope (`data.items`), when the body is one."""
    try:
        data = json.loads(body)["data"] if isinstance(body, (str, bytes)) else None
    except (ValueError, KeyError, TypeError):
        return None
    items = data.get("items") if isinstance(data, dict) else None
    return items if isinstance(items, list) else None


def _fill(template: str, params: dict) -> str:
    for name, value in params.items():
        template = template.replace("{" + name + "}", str(value))
    return template


def _int(value: Any, default: int) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default
