"""Comparing two values and showing them.

Engine independent: Redis strings and hash fields, Cassandra columns and
anything else that ends up as Python scalars, bytes, lists and dicts.

`compare_values(a, b, mode=...)` gives one verdict per pair:

- **equal**: exactly equal (same bytes; same typed value, a decimal with
  its scale: 1.50 is not 1.5; sets and maps compare without order).
- **format_only**: not equal, but equal once formatting is normalised. The
  kinds found are listed with the paths where they occur:
  `json_key_order`, `json_whitespace`, `json_number_format` (1.0 vs 1),
  `json_string_escape` (\\u00e9 vs é) inside JSON documents, and
  `surrounding_whitespace`, `number_format` ("1.50" vs "1.5", decimal
  scale) for scalars. JSON with duplicate keys or NaN is never
  normalised: its text is compared as text.
- otherwise **different**, with the differing JSON paths when both sides
  are JSON documents (`$.profile.age`, `$.tags[2]`, `$['odd key']`).

The mode decides which formatting the caller tolerates (`tolerated`):
`exact` (default) none, `json` the JSON kinds, `normalized` all of them.
Formatting-only pairs are reported as their own class whatever the mode.

`shorten(value)` keeps answers small: a value whose JSON rendering is
longer than the limit is cut, and the size it had is reported beside it.
Bytes are shown in the binary-safe form of `core.binary`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .binary import display_bytes, label
from .display import DEFAULT_MAX_CHARS as DEFAULT_MAX_CHARS  # re-exported: callers read values and display as one
from .display import shorten as shorten
from .display import to_display as to_display

DEFAULT_MAX_PATHS = 50
DEFAULT_JSON_MAX_BYTES = 4 * 1024 * 1024

MODES = ("exact", "json", "normalized")
JSON_KINDS = frozenset({"json_key_order", "json_whitespace", "json_number_format", "json_string_escape"})
FORMAT_KINDS = JSON_KINDS | {"surrounding_whitespace", "number_format"}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_MISSING = object()


@dataclass(slots=True)
class ValueComparison:
    equal: bool                     # exactly equal
    is_json: bool = False
    json_paths: list[str] = field(default_factory=list)  # differing paths, or formatting paths
    paths_truncated: bool = False
    format_only: bool = False       # not equal, equal once formatting is normalised
    format_kinds: list[str] = field(default_factory=list)

    @property
    def json_equal_text_differs(self) -> bool:
        return self.format_only and self.is_json

    def matches(self, mode: str = "exact") -> bool:
        """Equal, or formatting-only in a way the mode tolerates."""
        return self.equal or (self.format_only and tolerated(self.format_kinds, mode))


def tolerated(kinds, mode: str) -> bool:
    if mode == "normalized":
        return True
    if mode == "json":
        return set(kinds) <= JSON_KINDS
    return False


_EQUAL = ValueComparison(True)


def as_text(value: Any) -> Any:
    """bytes/str -> display text, or {"base64": ...} when not clean UTF-8 text."""
    return display_bytes(value)


def _key_path(path: str, key: Any) -> str:
    k = key if isinstance(key, str) else label(key)
    if _IDENT.match(k):
        return f"{path}.{k}"
    return f"{path}[{json.dumps(k, ensure_ascii=False)}]"


# ---------------------------------------------------------------- JSON parsing

class _Obj(list):
    """A JSON object as its ordered (key, value) pairs."""


class _Num(str):
    """A JSON number kept as its text."""


class _NotComparable(ValueError):
    pass


def _pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _NotComparable("duplicate keys")
    return _Obj(pairs)


def _no_constant(name):
    raise _NotComparable(name)


def _strict_loads(text: str):
    return json.loads(text, object_pairs_hook=_pairs, parse_float=_Num, parse_int=_Num,
                      parse_constant=_no_constant)


def parse_json_document(value: Any, max_bytes: int = DEFAULT_JSON_MAX_BYTES) -> tuple[bool, Any]:
    """(True, parsed) when value is a JSON object/array given as text, else (False, None).

    Scalars ("12", "true") are deliberately not treated as JSON: they are
    compared as text. Parsed with plain json (dicts, numbers)."""
    text = _text_of(value, max_bytes)
    if text is None:
        return False, None
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def _text_of(value: Any, max_bytes: int) -> str | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) > max_bytes:
            return None
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str) or len(value) > max_bytes:
        return None
    stripped = value.lstrip()
    if not stripped or stripped[0] not in "{[":
        return None
    return value


def _strict_document(value: Any, max_bytes: int):
    text = _text_of(value, max_bytes)
    if text is None:
        return _MISSING
    try:
        return _strict_loads(text)
    except (ValueError, RecursionError):
        return _MISSING


def _outside_strings(text: str) -> tuple[str, int]:
    """(text without whitespace outside string literals, how much whitespace that was)."""
    out, spaces, in_str, escaped = [], 0, False, False
    for ch in text:
        if in_str:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch in " \t\r\n":
            spaces += 1
        else:
            out.append(ch)
            in_str = ch == '"'
    return "".join(out), spaces


# ---------------------------------------------------------------- walking

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def _decimal(v: Any) -> Decimal | None:
    try:
        d = Decimal(str(v).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


class _Walk:
    def __init__(self, max_paths: int):
        self.max_paths = max_paths
        self.real: list[str] = []
        self.formats: list[str] = []
        self.kinds: set = set()
        self.truncated = False

    def _add(self, target: list, path: str) -> bool:
        if len(target) >= self.max_paths:
            self.truncated = True
            return target is self.formats  # a full format list does not stop the walk
        if path not in target:
            target.append(path)
        return True

    def real_at(self, path: str) -> bool:
        return self._add(self.real, path)

    def format_at(self, path: str, kind: str) -> bool:
        self.kinds.add(kind)
        return self._add(self.formats, path)

    def walk(self, x: Any, y: Any, path: str = "$") -> bool:
        if isinstance(x, _Obj) and isinstance(y, _Obj):
            dx, dy = dict(x), dict(y)
            for k in list(dx) + [k for k in dy if k not in dx]:
                if k not in dx or k not in dy:
                    if not self.real_at(_key_path(path, k)):
                        return False
                elif not self.walk(dx[k], dy[k], _key_path(path, k)):
                    return False
            if set(dx) == set(dy) and [k for k, _ in x] != [k for k, _ in y]:
                self.format_at(path, "json_key_order")
            return True
        if isinstance(x, dict) and isinstance(y, dict):
            for k in list(x) + [k for k in y if k not in x]:
                xv, yv = x.get(k, _MISSING), y.get(k, _MISSING)
                if xv is _MISSING or yv is _MISSING:
                    if not self.real_at(_key_path(path, k)):
                        return False
                elif not self.walk(xv, yv, _key_path(path, k)):
                    return False
            return True
        if isinstance(x, list) and isinstance(y, list) and not isinstance(x, _Obj) and not isinstance(y, _Obj):
            for i in range(max(len(x), len(y))):
                p = f"{path}[{i}]"
                if i >= len(x) or i >= len(y):
                    if not self.real_at(p):
                        return False
                elif not self.walk(x[i], y[i], p):
                    return False
            return True
        if isinstance(x, (dict, list)) or isinstance(y, (dict, list)):
            return self.real_at(path)
        if isinstance(x, _Num) and isinstance(y, _Num):
            if str(x) == str(y):
                return True
            nx, ny = _decimal(x), _decimal(y)
            if nx is not None and nx == ny:
                return self.format_at(path, "json_number_format")
            return self.real_at(path)
        return self._scalar(x, y, path)

    def _scalar(self, x: Any, y: Any, path: str) -> bool:
        if isinstance(x, bool) or isinstance(y, bool):
            return True if (type(x) is type(y) and x == y) else self.real_at(path)
        if x is None or y is None:
            return True if x is y else self.real_at(path)
        if _is_number(x) and _is_number(y):
            if type(x) is type(y) and x == y and str(x) == str(y):
                return True
            if isinstance(x, float) and isinstance(y, float) and (x == y or (x != x and y != y)):
                return True  # -0.0 == 0.0 and NaN == NaN: the same stored value on both sides
            nx, ny = _decimal(x), _decimal(y)
            if nx is not None and nx == ny:
                return self.format_at(path, "number_format")
            return self.real_at(path)
        if isinstance(x, (bytes, bytearray)) or isinstance(y, (bytes, bytearray)):
            xb = bytes(x) if isinstance(x, (bytes, bytearray)) else str(x).encode("utf-8", "surrogatepass")
            yb = bytes(y) if isinstance(y, (bytes, bytearray)) else str(y).encode("utf-8", "surrogatepass")
            if xb == yb:
                return True
            try:
                x, y = xb.decode("utf-8"), yb.decode("utf-8")
            except UnicodeDecodeError:
                return self.real_at(path)
        if isinstance(x, str) and isinstance(y, str):
            if x == y:
                return True
            if x.strip() == y.strip():
                return self.format_at(path, "surrounding_whitespace")
            if _NUMBER.match(x) and _NUMBER.match(y) and _decimal(x) == _decimal(y):
                return self.format_at(path, "number_format")
            return self.real_at(path)
        try:
            return True if (type(x) is type(y) and x == y) else self.real_at(path)
        except Exception:  # noqa: BLE001 - exotic types refusing comparison
            return self.real_at(path)


def scalar_equal(a: Any, b: Any) -> bool:
    """Exact equality without Python's surprises: True != 1, 1.50 != 1.5 (decimal scale)."""
    w = _Walk(1)
    w._scalar(a, b, "$")
    return not w.real and not w.kinds


def json_diff_paths(a: Any, b: Any, *, max_paths: int = DEFAULT_MAX_PATHS) -> tuple[list[str], bool]:
    """Paths where two parsed JSON documents differ (formatting not counted); (paths, truncated)."""
    w = _Walk(max_paths)
    w.walk(a, b)
    return w.real, w.truncated


def _verdict(w: _Walk, is_json: bool, scalar: bool = False) -> ValueComparison:
    if w.real:
        return ValueComparison(False, is_json=is_json, json_paths=[] if scalar else w.real,
                               paths_truncated=w.truncated)
    if w.kinds:
        return ValueComparison(False, is_json=is_json, json_paths=w.formats, paths_truncated=w.truncated,
                               format_only=True, format_kinds=sorted(w.kinds))
    return _EQUAL if not is_json else ValueComparison(True, is_json=True)


def compare_values(
    a: Any,
    b: Any,
    *,
    mode: str = "exact",
    json_strings: bool = True,
    max_paths: int = DEFAULT_MAX_PATHS,
    json_max_bytes: int = DEFAULT_JSON_MAX_BYTES,
) -> ValueComparison:
    """One verdict for a pair of values (see module docstring). `mode` only
    matters to `ValueComparison.matches`; detection is the same in every mode."""
    if type(a) is type(b) and not isinstance(a, (float, dict, list, Decimal)):
        try:
            if a == b:
                return _EQUAL
        except Exception:  # noqa: BLE001 - a value whose == fails is compared by the rules below
            pass
    texty = (str, bytes, bytearray, memoryview)
    if isinstance(a, texty) and isinstance(b, texty):
        if json_strings:
            pa = _strict_document(a, json_max_bytes)
            pb = _strict_document(b, json_max_bytes) if pa is not _MISSING else _MISSING
            if pa is not _MISSING and pb is not _MISSING:
                w = _Walk(max_paths)
                w.walk(pa, pb)
                if not w.real:
                    ta, tb = _text_of(a, json_max_bytes), _text_of(b, json_max_bytes)
                    if ta is not None and tb is not None:  # both parsed, so both are text
                        _text_formats(w, ta, tb)
                return _verdict(w, True)
        w = _Walk(max_paths)
        w._scalar(bytes(a) if isinstance(a, memoryview) else a, bytes(b) if isinstance(b, memoryview) else b, "$")
        return _verdict(w, False, scalar=True)
    w = _Walk(max_paths)
    w.walk(a, b)
    return _verdict(w, False, scalar=not isinstance(a, (dict, list)) or not isinstance(b, (dict, list)))


_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')


def _text_formats(w: _Walk, ta: str, tb: str) -> None:
    """Whitespace and string-escape differences of two JSON texts whose parsed values agree."""
    (sa, na), (sb, nb) = _outside_strings(ta), _outside_strings(tb)
    if na != nb or sa == sb:
        w.format_at("$", "json_whitespace")
    if sorted(_STRING_LITERAL.findall(sa)) != sorted(_STRING_LITERAL.findall(sb)):
        w.format_at("$", "json_string_escape")

