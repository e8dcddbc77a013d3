"""The one JSON reader for request bodies (`parse_json`), used by every route
through chalicelib.web.api and by any route that reads its body itself.

Rules: UTF-8 only; nesting bounded (`MAX_JSON_DEPTH`, measured without
recursion before parsing, so 100,000 levels fail in microseconds); NaN,
Infinity, numbers that overflow to infinity and integers beyond 64 bits
refused; no NUL characters in strings or keys (PostgreSQL text and jsonb
cannot hold them). Every refusal is a ValidationError (400) naming what is
wrong, with `loc`.
"""
from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

from chalicelib.errors import ValidationError, field_error, field_errors

MAX_JSON_DEPTH = 100  # nesting levels of a request body (arrays + objects)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS_ONLY = bytes(range(256)).translate(None, b"[]{}")
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays/objects in JSON text (brackets inside
    strings are not counted). Linear, and no recursion whatever the input."""
    if raw.count(b"[") + raw.count(b"{") <= 1:
        return raw.count(b"[") + raw.count(b"{")
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _BRACKETS_ONLY)
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _not_json_number(text: str):
    raise ValidationError(f"{text} is not a JSON number (NaN and Infinity are refused)",
                          field_errors(field_error(["body"], f"{text} is not allowed", "finite_number")))


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValidationError(f"the number {text[:40]} is out of range (it would be infinite)",
                              field_errors(field_error(["body"], "number out of range", "finite_number")))
    return value


def _bounded_int(text: str) -> int:
    from chalicelib.validation import INT64
    if len(text.lstrip("-")) > 19 or not -INT64 <= int(text) <= INT64:
        raise ValidationError(f"the integer {text[:40]}{'...' if len(text) > 40 else ''} is out of range",
                              field_errors(field_error(["body"], "out of the 64-bit range", "int_range")))
    return int(text)


def _nul_at(value: Any, loc: list) -> list | None:
    """The location of the first string (key or value) holding a NUL character."""
    stack = [(value, loc)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return at
        elif isinstance(node, dict):
            for k, v in node.items():
                if "\x00" in k:
                    return at + [k]
                stack.append((v, at + [k]))
        elif isinstance(node, list):
            stack.extend((v, at + [i]) for i, v in enumerate(node))
    return None


def refuse_nul(value: Any, where: str) -> None:
    at = _nul_at(value, [where])
    if at is not None:
        name = ".".join(str(p) for p in at)
        raise ValidationError(f"{name}: text may not contain NUL characters (\\u0000)",
                              field_errors(field_error(at, "NUL characters are not allowed", "string_nul")))


# One decoder (json.loads with these hooks would build a new one per call; it keeps no state between calls).
_DECODER = json.JSONDecoder(parse_constant=_not_json_number, parse_float=_finite_float, parse_int=_bounded_int)


def parse_json(raw: bytes | str, where: str = "body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The one JSON reader for request bodies: UTF-8 only, nesting bounded
    (deeper than `max_depth` is a 400), NaN / Infinity / 1e999 refused, no
    NUL characters in strings. Every failure is a ValidationError (400)
    naming what is wrong; None for an empty body."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"the {where} is not UTF-8 text (invalid byte at offset {exc.start})",
                              field_errors(field_error([where], "invalid UTF-8", "utf8"))) from None
    depth = json_depth(raw)
    if depth > max_depth:
        raise ValidationError(f"the {where} nests {depth} levels deep; the limit is {max_depth}",
                              field_errors(field_error([where], f"more than {max_depth} levels", "too_deep")))
    try:
        if text.startswith("\ufeff"):   # what json.loads refuses before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        data = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"malformed JSON {where}: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field_errors(field_error([where], exc.msg, "json_invalid"), line=exc.lineno, column=exc.colno)) from None
    except RecursionError:
        raise ValidationError(f"the {where} nests too deeply",
                              field_errors(field_error([where], "too deep", "too_deep"))) from None
    if "\\u0000" in text or "\x00" in text:
        refuse_nul(data, where)
    return data
