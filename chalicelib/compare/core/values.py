"""Comparing two values and showing them.

Engine independent: Redis strings and hash fields, Cassandra columns and
anything else that ends up as Python scalars, bytes, lists and dicts.

- `compare_values(a, b)` answers equal / not equal; when both values are
  JSON documents (objects or arrays, given as str/bytes or already parsed)
  key order and whitespace are ignored and the differing JSON paths are
  listed (`$.profile.age`, `$.tags[2]`, `$['odd key']`).
- `shorten(value)` keeps answers small: a value whose JSON rendering is
  longer than the limit is cut, and the size it had is reported beside it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

DEFAULT_MAX_PATHS = 50
DEFAULT_JSON_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_CHARS = 1024

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MISSING = object()


@dataclass(slots=True)
class ValueComparison:
    equal: bool
    is_json: bool = False
    json_paths: list[str] = field(default_factory=list)
    paths_truncated: bool = False
    # equal once parsed as JSON, although the texts differ (key order, spacing)
    json_equal_text_differs: bool = False


_EQUAL = ValueComparison(True)


def as_text(value: Any) -> Any:
    """bytes -> str (undecodable bytes kept as \\x escapes); others unchanged."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    return value


def parse_json_document(value: Any, max_bytes: int = DEFAULT_JSON_MAX_BYTES) -> tuple[bool, Any]:
    """(True, parsed) when value is a JSON object/array given as text, else (False, None).

    Scalars ("12", "true") are deliberately not treated as JSON: comparing
    them as text is what users expect of plain string values.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) > max_bytes:
            return False, None
        stripped = raw.lstrip()
        if not stripped or stripped[:1] not in (b"{", b"["):
            return False, None
        try:
            return True, json.loads(raw)
        except ValueError:
            return False, None
    if isinstance(value, str):
        if len(value) > max_bytes:
            return False, None
        stripped = value.lstrip()
        if not stripped or stripped[0] not in "{[":
            return False, None
        try:
            return True, json.loads(value)
        except ValueError:
            return False, None
    return False, None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def scalar_equal(a: Any, b: Any) -> bool:
    """Equality without Python's surprises: True != 1, b"x" == "x", 1 == 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        try:
            return a == b or Decimal(str(a)) == Decimal(str(b))
        except Exception:  # noqa: BLE001 - NaN and friends
            return False
    if isinstance(a, (bytes, bytearray)) and isinstance(b, str) or isinstance(b, (bytes, bytearray)) and isinstance(a, str):
        return as_text(a) == as_text(b)
    if a is None or b is None:
        return a is None and b is None
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - exotic types refusing comparison
        return False


def _key_path(path: str, key: Any) -> str:
    k = str(key)
    if _IDENT.match(k):
        return f"{path}.{k}"
    return f"{path}[{json.dumps(k, ensure_ascii=False)}]"


def json_diff_paths(a: Any, b: Any, *, max_paths: int = DEFAULT_MAX_PATHS) -> tuple[list[str], bool]:
    """Paths where two parsed JSON documents differ; (paths, truncated)."""
    out: list[str] = []
    truncated = [False]

    def add(p: str) -> bool:
        if len(out) >= max_paths:
            truncated[0] = True
            return False
        out.append(p)
        return True

    def walk(x: Any, y: Any, path: str) -> bool:
        if isinstance(x, dict) and isinstance(y, dict):
            keys = list(x.keys())
            keys += [k for k in y.keys() if k not in x]
            for k in keys:
                xv = x.get(k, _MISSING)
                yv = y.get(k, _MISSING)
                if xv is _MISSING or yv is _MISSING:
                    if not add(_key_path(path, k)):
                        return False
                elif not walk(xv, yv, _key_path(path, k)):
                    return False
            return True
        if isinstance(x, list) and isinstance(y, list):
            for i in range(max(len(x), len(y))):
                p = f"{path}[{i}]"
                if i >= len(x) or i >= len(y):
                    if not add(p):
                        return False
                elif not walk(x[i], y[i], p):
                    return False
            return True
        if isinstance(x, (dict, list)) or isinstance(y, (dict, list)):
            return add(path)
        if not scalar_equal(x, y):
            return add(path)
        return True

    walk(a, b, "$")
    return out, truncated[0]


def compare_values(
    a: Any,
    b: Any,
    *,
    json_strings: bool = True,
    max_paths: int = DEFAULT_MAX_PATHS,
    json_max_bytes: int = DEFAULT_JSON_MAX_BYTES,
) -> ValueComparison:
    """Compare two values; JSON documents as JSON (see module docstring)."""
    if type(a) is type(b) and not isinstance(a, (float, dict, list)):
        try:
            if a == b:
                return _EQUAL
        except Exception:  # noqa: BLE001
            pass
    texty = (str, bytes, bytearray, memoryview)
    if json_strings and isinstance(a, texty) and isinstance(b, texty):
        ok_a, pa = parse_json_document(a, json_max_bytes)
        if ok_a:
            ok_b, pb = parse_json_document(b, json_max_bytes)
            if ok_b:
                paths, cut = json_diff_paths(pa, pb, max_paths=max_paths)
                if not paths:
                    return ValueComparison(True, is_json=True, json_equal_text_differs=True)
                return ValueComparison(False, is_json=True, json_paths=paths, paths_truncated=cut)
        return ValueComparison(scalar_equal(a, b))
    if isinstance(a, (dict, list)) and isinstance(b, (dict, list)):
        paths, cut = json_diff_paths(a, b, max_paths=max_paths)
        return ValueComparison(not paths, json_paths=paths, paths_truncated=cut)
    return ValueComparison(scalar_equal(a, b))


# ---------------------------------------------------------------- display


def _json_len(value: Any) -> int:
    try:
        return len(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return len(str(value))


def to_display(value: Any) -> Any:
    """A JSON-serialisable rendering: bytes as text, sets sorted, tuples as lists."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return as_text(value)
    if isinstance(value, dict):
        return {str(as_text(k)): to_display(v) for k, v in value.items()}
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
    if value is None or isinstance(value, (str, int, float, bool)):
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
