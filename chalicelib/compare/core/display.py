"""Showing values in answers: JSON-serialisable, bytes in the binary-safe form, cut to a size.

`to_display(value)` renders any compared value as JSON data; `shorten`
cuts a long rendering and reports the size the value had.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from .binary import display_bytes, label

DEFAULT_MAX_CHARS = 1024




def _json_len(value: Any) -> int:
    try:
        return len(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return len(str(value))


def to_display(value: Any) -> Any:
    """A JSON-serialisable rendering: bytes and unclean text in the binary form, sets sorted,
    tuples as lists, dict keys as text (a binary key as the JSON text of its binary form)."""
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        return display_bytes(value)
    if isinstance(value, dict):
        return {k if isinstance(k, str) and display_bytes(k) == k else label(k) if isinstance(
            k, (str, bytes, bytearray, memoryview)) else str(k): to_display(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        items = [to_display(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, (list, tuple)):
        return [to_display(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return "NaN"
    if value is None or isinstance(value, (int, float, bool)):
        return value
    return str(value)


def shorten(value: Any, max_chars: int = DEFAULT_MAX_CHARS, *, size_bytes: int | None = None,
            items: int | None = None) -> tuple[Any, dict | None]:
    """Display form of `value`, cut to about `max_chars` characters of JSON.

    Returns (shown, info); info is None when nothing was cut, else
    {"truncated": True, "size_bytes": <full size>, "items"?: <full length>,
    "shown_items"?/"shown_chars"?}. `size_bytes`/`items` describe the full
    value when the caller only holds a preview of it (paged collections).
    """
    shown = to_display(value)
    cut_by_caller = (items is not None and isinstance(shown, (list, dict)) and len(shown) < items)
    if isinstance(shown, str):
        full = size_bytes if size_bytes is not None else len(shown.encode("utf-8", "surrogatepass"))
        if len(shown) <= max_chars and size_bytes in (None, len(shown.encode("utf-8", "surrogatepass"))):
            return shown, None
        text = shown[:max_chars]
        return text + "…", {"truncated": True, "size_bytes": full, "shown_chars": len(text)}
    if isinstance(shown, (list, dict)):
        total_len = _json_len(shown)
        if total_len <= max_chars and not cut_by_caller:
            return shown, None
        budget = max_chars
        if isinstance(shown, list):
            kept: Any = []
            for item in shown:
                budget -= _json_len(item) + 2
                if budget < 0 and kept:
                    break
                kept.append(item if budget >= 0 else shorten(item, max(16, max_chars // 4))[0])
            n_kept = len(kept)
        else:
            kept = {}
            for k, v in shown.items():
                budget -= _json_len(k) + _json_len(v) + 4
                if budget < 0 and kept:
                    break
                kept[k] = v if budget >= 0 else shorten(v, max(16, max_chars // 4))[0]
            n_kept = len(kept)
        info = {
            "truncated": True,
            "size_bytes": size_bytes if size_bytes is not None else total_len,
            "items": items if items is not None else len(shown),
            "shown_items": n_kept,
        }
        return kept, info
    return shown, None
