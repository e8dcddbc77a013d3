"""What a call log may hold: secrets masked, bodies truncated.

Headers Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-API-Key and
every header / query parameter / cookie named by the auth config become
`***`; JSON body fields with secret names (password, token, client_secret, ...)
too; any clear secret value of the auth config still present in a text is
replaced. Bodies are cut at the log limit (default 64 KB); the original size
is kept in the size columns.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping
from urllib.parse import unquote

from chalicelib.gateway.upstream_auth import Sensitive

MASK = "***"
BODY_SECRET_FIELDS = frozenset({
    "password", "passwd", "secret", "client_secret", "token", "access_token", "refresh_token", "id_token",
    "api_key", "apikey", "private_key", "authorization",
})


def scrub(text: str | None, values: Iterable[str]) -> str | None:
    if not text:
        return text
    for v in values:
        if v and len(v) >= 4 and v in text:
            text = text.replace(v, MASK)
    return text


def mask_headers(headers: Mapping[str, str] | None, sensitive: Sensitive) -> dict:
    out = {}
    for k, v in (headers or {}).items():
        out[k] = MASK if k.lower() in sensitive.headers else scrub(str(v), sensitive.values)
    return out


def mask_query_pieces(pieces: list[str], sensitive: Sensitive) -> list[str]:
    out = []
    for piece in pieces:
        name, sep, _value = piece.partition("=")
        if unquote(name) in sensitive.query:
            out.append(f"{name}={MASK}")
        else:
            out.append(piece)
    return out


def mask_url(url: str, sensitive: Sensitive) -> str:
    base, sep, query = url.partition("?")
    if not sep:
        return scrub(url, sensitive.values)
    return base + "?" + "&".join(mask_query_pieces(query.split("&"), sensitive))


def mask_mapping(values: Mapping[str, Any] | None, names: set[str]) -> dict:
    return {k: (MASK if k in names else v) for k, v in (values or {}).items()}


def _mask_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and k.lower() in BODY_SECRET_FIELDS and not isinstance(v, (dict, list))
                    else _mask_json(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    return value


def body_for_log(data: bytes | None, content_type: str | None, limit: int, sensitive: Sensitive) -> str | None:
    """The body as log text: secret JSON fields masked, clear secrets
    scrubbed, cut at `limit` bytes with a marker."""
    if data is None or data == b"":
        return None
    ctype = (content_type or "").lower()
    text: str
    if "json" in ctype and len(data) <= 4 * limit:
        try:
            text = json.dumps(_mask_json(json.loads(data)), ensure_ascii=False, separators=(",", ":"))
        except ValueError:
            text = data.decode("utf-8", errors="replace")
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
    text = scrub(text, sensitive.values) or ""
    encoded = text.encode("utf-8")
    if len(encoded) > limit:
        text = encoded[:limit].decode("utf-8", errors="ignore") + f"…[truncated; {len(data)} bytes in total]"
    return text.replace("\x00", "\\u0000")
