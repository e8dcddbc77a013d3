"""What a call log may hold: secrets masked (by the one masker,
`chalicelib.masking`), bodies truncated.

On top of the masker's rule for names (Authorization, Cookie, X-Api-Key,
`token`, `password`, ... anywhere: headers, the URL's query, the caller's
query parameters, JSON and form bodies in both directions), the invoked
document's auth config adds its own names (`Sensitive`: the apiKey query or
cookie name, its extra headers) and clear values, which are scrubbed from any
text still holding them. Bodies are cut at the log limit (default 64 KB); the
original size is kept in the size columns.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from chalicelib import masking
from chalicelib.gateway.upstream_auth import Sensitive

MASK = masking.MASK
_LOG_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))   # stateless: one for every body


def scrub(text: str | None, values: Iterable[str]) -> str | None:
    return masking.scrub(masking.mask_text(text) if text else text, values)


def mask_headers(headers: Mapping[str, Any] | None, sensitive: Sensitive) -> dict:
    return masking.mask_headers(headers, sensitive.headers, sensitive.values)


def mask_url(url: str, sensitive: Sensitive) -> str:
    return masking.scrub(masking.mask_url(url, sensitive.query), sensitive.values) or url


_UNPARSED: Any = object()


def body_for_log(data: bytes | None, content_type: str | None, limit: int, sensitive: Sensitive,
                 parsed: Any = _UNPARSED) -> str | None:
    """The body as log text: secret JSON / form fields masked, clear secrets
    scrubbed, cut at `limit` bytes with a marker. `parsed`: `json.loads(data)`
    when the caller already has it (not parsed twice)."""
    if data is None or data == b"":
        return None
    ctype = (content_type or "").lower()
    text: str
    if "json" in ctype and len(data) <= 4 * limit:
        try:
            value = json.loads(data) if parsed is _UNPARSED else parsed
            text = _LOG_JSON.encode(masking.mask(value, sensitive.query))
        except ValueError:
            text = masking.mask_text(data.decode("utf-8", errors="replace"))
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            import base64

            head = data[: max(0, (limit // 4) * 3)]
            text = "base64:" + base64.b64encode(head).decode("ascii")
            if len(head) < len(data):
                text += f"…[truncated; {len(data)} bytes in total]"
            return text
        if "x-www-form-urlencoded" in ctype:
            text = masking.mask_query(text, sensitive.query)
        else:
            text = masking.mask_text(text)
    text = masking.scrub(text, sensitive.values) or ""
    encoded = text.encode("utf-8")
    if len(encoded) > limit:
        text = encoded[:limit].decode("utf-8", errors="ignore") + f"…[truncated; {len(data)} bytes in total]"
    return text.replace("\x00", "\\u0000")
